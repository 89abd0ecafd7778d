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
