"""benchmarks/bench_nerf.py: the flags it adds to ``ns-train`` name real optimizer groups of each method."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_nerf  # noqa: E402


@pytest.mark.parametrize("method", sorted(bench_nerf.SCHEDULED_GROUPS))
def test_decay_over_run_sets_the_scheduler_of_every_group_the_method_has(method):
    from nerfstudio.configs.method_configs import all_methods

    config = all_methods[method]
    flags = bench_nerf.decay_over_run_flags(method, 1234)
    groups = {flag.split(".")[1].replace("-", "_") for flag in flags[::2]}
    scheduled = {name for name, entry in config.optimizers.items() if entry.get("scheduler") is not None}
    assert groups <= set(config.optimizers), f"{method}: no optimizer group {groups - set(config.optimizers)}"
    assert groups >= scheduled - {"camera_opt"}, f"{method}: groups left on the default schedule"
    assert flags[1::2] == ["1234"] * len(groups)


def test_decay_over_run_leaves_methods_without_a_scheduler_alone():
    assert bench_nerf.decay_over_run_flags("vanilla-nerf", 600) == []


def test_a_second_benchmark_into_the_same_folder_is_refused_in_one_line(tmp_path):
    import subprocess

    from staf_nerfstudio.locking import FolderLock

    scene, out = tmp_path / "scene", tmp_path / "bench"
    scene.mkdir()
    (scene / "transforms_test.json").write_text("{}")
    out.mkdir()
    (out / "results.json").write_text('{"kept": {}}')
    command = [sys.executable, str(ROOT / "benchmarks" / "bench_nerf.py"), "--out", str(out), "--scene", str(scene)]
    with FolderLock(out, "benchmark folder"):
        proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "is being written by" in lines[0] and str(out) in lines[0], proc.stderr
    assert (out / "results.json").read_text() == '{"kept": {}}'
