"""benchmarks/gpu_check.py: its plan (what runs on the GPU and in the CPU dry run), its step runner (timeouts kill a
step and the next one runs), what it reads back (pytest counts, bench JSON, tensorboard rates) and its reports.

The whole dry run (``bash benchmarks/gpu_check.sh --dry-run``) takes several minutes on two CPU cores, so the suite
checks the parts; docs/performance.md gives the command.
"""

import importlib.metadata
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_nerf  # noqa: E402
import gpu_check  # noqa: E402


def _settings(argv):
    return gpu_check.make_settings(gpu_check.settings_from_args(argv))


def _by_name(steps):
    return {step.name: step for step in steps}


def test_gpu_plan_runs_cuda_paths_at_gpu_sizes(monkeypatch):
    monkeypatch.delenv("GPU_CHECK_DRY_RUN", raising=False)
    s = _settings([])
    assert (s.device, s.iters, s.rays, s.res, s.views, s.budget_s) == ("cuda", 200, 4096, 100, [60, 10, 10], 480.0)
    steps = _by_name(gpu_check.plan(s))
    triton = steps["kernel-tests-triton"]
    assert triton.env == {"TRITON_INTERPRET": ""}  # compiled for the device, not interpreted
    assert "tests/core/test_kernels_triton.py::test_triton_kernels_under_interpreter" in triton.cmd
    assert steps["dispatch"].cmd[-2:] == ["--dispatch-check", "cuda"]
    assert steps["bench-staf"].cmd[2:6] == ["--device", "cuda", "--tf32", "both"]
    assert "--nerf" in steps["bench-nerf-field"].cmd and "cuda" in steps["bench-nerf-field"].cmd
    scene = steps["scene"]
    assert scene.background and scene.cmd[-6:] == ["--res", "100", "--views", "60", "10", "10"]
    nerf = [name for name in steps if name.startswith("nerf: ")]
    assert nerf == [f"nerf: {label}" for label in gpu_check.NERF_RUNS]
    cmd = steps["nerf: staf"].cmd
    for flag, value in (("--device", "cuda"), ("--iters", "200"), ("--rays", "4096"), ("--only", "staf")):
        assert cmd[cmd.index(flag) + 1] == value
    assert "--method-defaults" in cmd
    # the NeRF runs come after everything they do not depend on; the scene is waited for just before them
    names = list(steps)
    assert names.index("scene") == names.index("nerf: staf") - 1


@pytest.mark.parametrize("how", ["flag", "env"])
def test_dry_run_plan_is_the_same_steps_on_the_cpu(monkeypatch, how):
    monkeypatch.delenv("GPU_CHECK_DRY_RUN", raising=False)
    gpu = _by_name(gpu_check.plan(_settings([])))
    if how == "env":
        monkeypatch.setenv("GPU_CHECK_DRY_RUN", "1")
    s = _settings(["--dry-run"] if how == "flag" else [])
    assert (s.device, s.iters, s.rays, s.res) == ("cpu", 3, 64, 16)
    dry = _by_name(gpu_check.plan(s))
    assert list(dry) == list(gpu)
    assert dry["dispatch"].cmd[-1] == "cpu" and dry["bench-staf"].cmd[3] == "cpu"
    assert dry["nerf: nerfacto"].cmd[dry["nerf: nerfacto"].cmd.index("--device") + 1] == "cpu"


def test_method_defaults_drop_the_cpu_scale_flags_only():
    cpu = {label: args for label, args, _ in bench_nerf.variants(600, 512)}
    assert "--pipeline.model.hidden-dim" in cpu["staf"] and "--mixed-precision" in cpu["nerfacto"]
    assert "--pipeline.model.num-coarse-samples" in cpu["vanilla-nerf"]
    gpu = {label: args for label, args, _ in bench_nerf.variants(200, 4096, "cuda", method_defaults=True)}
    for label, args in gpu.items():
        joined = " ".join(args)
        assert "--machine.device-type cuda" in joined and "train-num-rays-per-batch 4096" in joined, label
        assert "hidden-dim" not in joined and "num-proposal-samples" not in joined and "num-coarse" not in joined
    assert "--mixed-precision" not in gpu["nerfacto"]  # nerfacto's own default (on) on the GPU
    assert "--pipeline.model.near-plane" in gpu["staf"] and "--pipeline.model.proposal-warmup" in gpu["staf"]
    dry = {label: args for label, args, _ in bench_nerf.variants(3, 64, "cpu", method_defaults=True)}
    assert "--mixed-precision" in dry["nerfacto"]  # no autocast on the CPU


def test_runner_kills_a_hanging_step_and_runs_the_next(tmp_path):
    s = gpu_check.Settings(dry_run=True, out=tmp_path, work=tmp_path, budget_s=60)
    marker = tmp_path / "child_alive"
    child = tmp_path / "child.py"  # outlives its parent unless the whole process group is killed
    child.write_text(f"import time\ntime.sleep(2)\nopen({str(marker)!r}, 'w').close()\n")
    parent = tmp_path / "parent.py"
    parent.write_text(
        f"import subprocess, sys, time\nsubprocess.Popen([sys.executable, {str(child)!r}])\n"
        "print('started', flush=True)\ntime.sleep(60)\n"
    )
    hang = gpu_check.Step("hang", [sys.executable, str(parent)], time_limit=1.5)
    quick = gpu_check.Step("quick", [sys.executable, "-c", "print('fine')"], time_limit=30)
    runner = gpu_check.Runner(s, tmp_path / "log")
    start = time.monotonic()
    first = runner.run(hang)
    assert first.status == "timeout" and first.returncode is None and "started" in first.detail
    assert time.monotonic() - start < 15
    second = runner.run(quick)
    assert (second.status, second.detail) == ("ok", "fine") and second.seconds < 10
    time.sleep(2.5)
    assert not marker.exists(), "the hanging step's child outlived the timeout"
    log = (tmp_path / "log").read_text()
    assert "===== hang (timeout" in log and "===== quick (ok" in log


def test_background_step_reports_its_own_duration(tmp_path):
    s = gpu_check.Settings(dry_run=True, out=tmp_path, work=tmp_path, budget_s=60)
    step = gpu_check.Step("bg", [sys.executable, "-c", "print('made')"], time_limit=30, background=True)
    runner = gpu_check.Runner(s, tmp_path / "log")
    runner.start_background([step])
    time.sleep(3)
    result = runner.run(step)
    assert (result.status, result.detail) == ("ok", "made") and result.seconds < 2.5


def test_runner_skips_steps_once_the_budget_is_spent(tmp_path):
    s = gpu_check.Settings(dry_run=True, out=tmp_path, work=tmp_path, budget_s=0)
    result = gpu_check.Runner(s, tmp_path / "log").run(gpu_check.Step("late", [sys.executable, "-c", ""], 10))
    assert (result.status, result.detail) == ("skipped", "overall budget spent")


def test_parse_pytest_counts_and_an_empty_gpu_test_run_fails(tmp_path):
    out = "....s\n2 failed, 40 passed, 3 skipped, 1 deselected, 1 error in 12.3s\n"
    assert gpu_check.parse_pytest(out) == {"passed": 40, "failed": 2, "skipped": 3, "error": 1, "deselected": 1}
    step = gpu_check.Step("kernel-tests-triton", ["x"], 1, kind="pytest")
    nothing = "1 skipped in 0.1s\n"
    gpu = gpu_check.interpret(step, gpu_check.Result(step.name, "ok", 1, 0, data=nothing), gpu_check.Settings())
    assert gpu.status == "failed" and "no test ran" in gpu.detail
    dry_settings = gpu_check.Settings(dry_run=True)
    dry = gpu_check.interpret(step, gpu_check.Result(step.name, "failed", 1, 5, data=nothing), dry_settings)
    assert dry.status == "skipped"


def _bench_rows(triton_ms, triton_mib):
    rows = []
    for tf32 in (False, True):
        rows += [
            {"config": "siren", "tf32": tf32, "ms": 10.0, "peak_mib": 1000.0, "auto": False},
            {"config": "default", "tf32": tf32, "ms": 14.0, "peak_mib": 1100.0, "auto": False},
            {"config": "reference", "tf32": tf32, "ms": 57.0, "peak_mib": 5700.0, "auto": False},
            {"config": "triton", "tf32": tf32, "ms": triton_ms, "peak_mib": triton_mib, "auto": True},
        ]
    return rows


def test_goals_and_reports(tmp_path):
    s = gpu_check.Settings(out=tmp_path, work=tmp_path)
    results = {
        "env": gpu_check.Result("env", "ok", 1, 0, data={"device": "NVIDIA H200", "torch": "2.11", "cuda": "13.0"}),
        "bench-staf": gpu_check.Result("bench-staf", "ok", 9, 0, data={"rows": _bench_rows(12.0, 1300.0)}),
        "nerf: staf": gpu_check.Result(
            "nerf: staf", "ok", 60, 0, data={"psnr": 20.0, "ssim": 0.8, "it_per_s": 9.0, "iters": 200}
        ),
        "nerf: vanilla-nerf": gpu_check.Result(
            "nerf: vanilla-nerf", "ok", 60, 0, data={"psnr": 18.0, "ssim": 0.7, "it_per_s": 10.0}
        ),
        "nerf: nerfacto": gpu_check.Result("nerf: nerfacto", "timeout", 200, None, "killed after 200 s"),
    }
    goals = {g["goal"]: g for g in gpu_check.goals(results)}
    step = goals["STAF step <= 1.3x SIREN (triton fp32)"]
    assert (
        step["value"] == pytest.approx(1.2)
        and step["met"]
        and step["note"] == "reference: step 5.70x, memory 5.70x SIREN"
    )
    default = goals["STAF step <= 1.3x SIREN (default TF32)"]
    assert default["value"] == pytest.approx(1.4) and not default["met"]
    assert goals["STAF peak memory <= 1.2x SIREN (default fp32)"]["met"]
    memory = goals["STAF peak memory <= 1.2x SIREN (triton TF32)"]
    assert memory["value"] == pytest.approx(1.3) and not memory["met"]
    speed = goals["staf it/s >= vanilla-nerf it/s (equal rays)"]
    assert speed["value"] == pytest.approx(0.9) and not speed["met"]
    gpu_check.write_reports(s, results, "now")
    data = json.loads((tmp_path / "gpu_check.json").read_text())
    assert data["steps"]["nerf: nerfacto"]["status"] == "timeout" and len(data["goals"]) == 9
    table = (tmp_path / "gpu_check.md").read_text()
    assert "| staf | ok | 200 | 20.00 | 0.800 | 9.00 |" in table
    assert "| nerfacto | timeout | - |" in table
    assert "| STAF peak memory <= 1.2x SIREN (triton TF32) | 1.30x | NO |" in table
    assert not list(tmp_path.glob("*.tmp"))


def test_train_rates_read_nerfstudios_running_averages(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(tmp_path))
    for step, seconds in enumerate([1.0, 0.5, 0.25]):
        writer.add_scalar("Train Iter (time)", seconds, step)
        writer.add_scalar("Train Rays / Sec", 4096 / seconds, step)
        writer.add_scalar("GPU Memory (MB)", 100.0 * (step + 1), step)
    writer.close()
    rates = bench_nerf.train_rates(tmp_path)
    assert rates["it_per_s"] == pytest.approx(4.0) and rates["rays_per_s"] == pytest.approx(16384.0)
    assert rates["gpu_mem_mib"] == pytest.approx(300.0)


def test_dispatch_and_tcnn_workers_on_this_machine():
    report = gpu_check.dispatch_check("cpu")
    assert report["ok"] and report["picked"]["bfloat16"] == "autograd"
    tcnn = gpu_check.tcnn_check()
    if not tcnn["available"]:
        assert tcnn["ok"] and "not on PyPI" in tcnn["note"]


@pytest.mark.skipif(
    not any(d.metadata["Name"] == "staf-nerfstudio" for d in importlib.metadata.distributions()),
    reason="the script would install this package first",
)
def test_shell_wrapper_prints_the_plan(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "GPU_WHEELS": str(tmp_path / "none")}
    proc = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--plan", "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "installing" not in proc.stdout
    assert "nerf: staf (relu+PE field)" in proc.stdout and "--device cpu" in proc.stdout


def test_equal_wall_time_runs_take_nerfactos_training_time(tmp_path):
    s = gpu_check.Settings(out=tmp_path, work=tmp_path, iters=200)

    def nerf(label, rate):
        return gpu_check.Result(f"nerf: {label}", "ok", 1, 0, data={"psnr": 20.0, "it_per_s": rate})

    assert gpu_check.equal_wall_steps(s, {}) == []  # no nerfacto rate, no equal-wall rows
    results = {r.name: r for r in (nerf("nerfacto", 2.0), nerf("staf", 30.0), nerf("staf-hash", 2.1))}
    results["nerf: vanilla-nerf"] = gpu_check.Result("nerf: vanilla-nerf", "failed", 1, 1)
    steps = gpu_check.equal_wall_steps(s, results)
    # staf: 30 it/s for nerfacto's 200 / 2.0 = 100 s; staf-hash is not 1.2x faster; vanilla-nerf has no rate
    assert [step.name for step in steps] == ["equal wall: staf (3000 steps in 100 s)"]
    cmd = steps[0].cmd
    assert cmd[cmd.index("--iters") + 1] == "3000" and cmd[cmd.index("--only") + 1] == "staf"
    assert steps[0].results == tmp_path / "nerf_3000" and cmd[cmd.index("--out") + 1] == str(tmp_path / "nerf_3000")
    results["nerf: staf"] = nerf("staf", 1e6)
    capped = gpu_check.equal_wall_steps(s, results)[0]
    assert capped.cmd[capped.cmd.index("--iters") + 1] == str(gpu_check.EQUAL_WALL_MAX_ITERS)


def test_nerf_rows_are_found_under_the_labels_bench_nerf_gives_them():
    runs = {"staf-hash [bounded] [decay over run]": {}, "staf (siren field) [bounded] [decay over run]": {},
            "staf [bounded] [decay over run]": {}, "nerfacto [decay over run]": {}}  # fmt: skip
    assert gpu_check.bench_key(runs, "staf") == "staf [bounded] [decay over run]"
    assert gpu_check.bench_key(runs, "nerfacto") == "nerfacto [decay over run]"
    assert gpu_check.bench_key(runs, "staf (siren field)") == "staf (siren field) [bounded] [decay over run]"
    assert gpu_check.bench_key({**runs, "staf": {}}, "staf") == "staf"
    assert gpu_check.bench_key(runs, "vanilla-nerf") is None


def test_nerf_steps_train_bounded_with_the_decay_over_the_run():
    steps = _by_name(gpu_check.plan(_settings(["--dry-run"])))
    cmd = steps["nerf: staf"].cmd
    assert "--bounded" in cmd and "--decay-over-run" in cmd
