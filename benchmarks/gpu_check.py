"""The GPU check as one prepared run for an offline GPU machine: kernel tests on CUDA, the ``auto`` dispatch, the
step benchmark (SIREN, the default STAF, the authors' STAF on every path), ``staf`` / ``vanilla-nerf`` / ``nerfacto`` /
``staf-hash`` and the SIREN, FINER and ReLU+PE fields of ``staf`` trained for one step budget on a generated scene and
evaluated, the NeRF-field benchmark, then the faster methods again at nerfacto's training time (equal wall time); one
JSON and one markdown table under ``--out`` ($OUT when set).

    bash benchmarks/gpu_check.sh                        # on the GPU machine (installs the carried wheels first)
    bash benchmarks/gpu_check.sh --dry-run              # the same steps on this CPU at toy sizes (GPU_CHECK_DRY_RUN=1)
    python benchmarks/gpu_check.py --plan [--dry-run]   # print the steps and their commands; run nothing

Every step is a subprocess with its own timeout under one overall budget (``--budget-s``), in order of importance;
a step that fails or hangs is recorded (and killed with its children) and the next one runs. The JSON and the table
are rewritten atomically after every step, so whatever finished is under ``--out`` even if the whole call is cut.
The script only orchestrates: the numbers come from ``bench_staf.py`` (step cost, ``--nerf`` field throughput) and
``bench_nerf.py`` (``ns-train`` / ``ns-eval``, ``--device cuda --method-defaults``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"

# Goals (512x512 full-batch image fit; NeRF field step at equal rays).
GOAL_STEP_X_SIREN = 1.3
GOAL_MEM_X_SIREN = 1.2
# NeRF runs in order of importance (labels of bench_nerf.py); staf-hash runs on tiny-cuda-nn's grid where it imports,
# on its exact torch port otherwise.
NERF_RUNS = [
    "staf",
    "vanilla-nerf",
    "nerfacto",
    "staf-hash",
    "staf (siren field)",
    "staf (finer field)",
    "staf (relu+PE field)",
    "staf-paper",
]
# The first four are the methods compared at equal steps and at equal wall time: the faster ones run again right after
# them at nerfacto's training-loop time (its steps / its it/s) when at least this much faster than nerfacto.
EQUAL_WALL_RUNS = ["staf", "staf-hash", "vanilla-nerf"]
EQUAL_WALL_MIN_SPEEDUP = 1.2
EQUAL_WALL_MAX_ITERS = 20000
TCNN_NOTE = (
    "tiny-cuda-nn is not on PyPI (https://pypi.org/simple/tinycudann/ and /tiny-cuda-nn/ answer 404, checked "
    "2026-12-02): it installs only by building NVlabs/tiny-cuda-nn from GitHub with nvcc, which the offline GPU "
    "machine cannot fetch (and a carried source build takes minutes of the device budget); staf-hash uses its exact "
    "torch port there"
)


@dataclass
class Settings:
    """What one run does (GPU sizes, or toy sizes with ``dry_run``)."""

    dry_run: bool = False
    out: Path = Path("outputs/gpu_check")
    work: Path = Path(tempfile.gettempdir()) / "staf_gpu_check"
    budget_s: float = 480.0
    iters: int = 200
    rays: int = 4096
    res: int = 100
    views: List[int] = field(default_factory=lambda: [60, 10, 10])

    @property
    def device(self) -> str:
        return "cpu" if self.dry_run else "cuda"


@dataclass
class Step:
    """One subprocess of the check."""

    name: str
    cmd: List[str]
    time_limit: float
    env: Dict[str, str] = field(default_factory=dict)
    background: bool = False  # started at the beginning, waited for at its place in the order
    kind: str = "plain"  # how its output is read: plain, pytest, json, nerf
    results: Optional[Path] = None  # nerf: the bench_nerf.py folder whose results.json holds its numbers


@dataclass
class Result:
    name: str
    status: str  # ok, failed, timeout, skipped
    seconds: float = 0.0
    returncode: Optional[int] = None
    detail: str = ""
    data: Any = None


def settings_from_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dry-run",
        action="store_true",
        default=os.environ.get("GPU_CHECK_DRY_RUN") == "1",
        help="the same steps on the CPU at toy sizes (also GPU_CHECK_DRY_RUN=1)",
    )
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "outputs/gpu_check")))
    parser.add_argument("--work", type=Path, default=None, help="scratch folder for runs (default: a temp folder)")
    parser.add_argument("--budget-s", type=float, default=None, help="overall time budget (480 s; dry run 1800 s)")
    parser.add_argument("--iters", type=int, default=None, help="ns-train steps per method (200; dry run 3)")
    parser.add_argument("--rays", type=int, default=None, help="rays per batch (4096; dry run 64)")
    parser.add_argument("--res", type=int, default=None, help="scene resolution (100; dry run 16)")
    parser.add_argument("--views", type=int, nargs=3, default=None, help="train/val/test views (60 10 10; dry 4 2 2)")
    parser.add_argument("--skip", nargs="*", default=[], help="step names to leave out (see --plan)")
    parser.add_argument("--plan", action="store_true", help="print the steps and their commands, run nothing")
    parser.add_argument("--dispatch-check", metavar="DEVICE", help=argparse.SUPPRESS)
    parser.add_argument("--env-report", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tcnn-check", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def make_settings(args: argparse.Namespace) -> Settings:
    dry = args.dry_run
    defaults = Settings(dry_run=dry)
    if dry:
        defaults = dataclasses.replace(defaults, budget_s=1800.0, iters=3, rays=64, res=16, views=[4, 2, 2])
    work = args.work or defaults.work / ("dry" if dry else "gpu")
    return dataclasses.replace(
        defaults,
        out=args.out,
        work=work,
        budget_s=args.budget_s or defaults.budget_s,
        iters=args.iters or defaults.iters,
        rays=args.rays or defaults.rays,
        res=args.res or defaults.res,
        views=args.views or defaults.views,
    )


def plan(s: Settings, nerf_runs: Optional[List[str]] = None) -> List[Step]:
    """The steps in order of importance, with per-step timeouts (GPU numbers; the dry run allows more for CPU)."""
    py = sys.executable
    dry = s.dry_run
    t = (lambda gpu, cpu: cpu) if dry else (lambda gpu, cpu: gpu)  # noqa: E731
    no_interp = {"TRITON_INTERPRET": ""}  # the kernels compile for the device, no interpreter
    views = [str(v) for v in s.views]
    scene = s.work / "nerf" / "scene"
    bench_small = ["--size", "16", "--steps", "1", "--warmup", "1"] if dry else []
    nerf_small = ["--nerf-samples", "512", "--steps", "1", "--warmup", "1"] if dry else []

    def bench_step(name: str, args: List[str], out: str, timeout: float) -> Step:
        cmd = [py, str(BENCH / "bench_staf.py"), "--device", s.device, *args, "--out", str(s.work / out)]
        return Step(name, cmd, timeout, env=no_interp, kind="json")

    steps = [
        Step("env", [py, __file__, "--env-report"], 60, kind="json"),
        Step("dispatch", [py, __file__, "--dispatch-check", s.device], 90, env=no_interp, kind="json"),
        Step(
            "kernel-tests",
            [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/core/test_kernels.py"],
            t(150, 240),
            env=no_interp,
            kind="pytest",
        ),
        Step(
            "kernel-tests-triton",
            [
                py,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "tests/core/test_kernels_triton.py",
                "--deselect",
                "tests/core/test_kernels_triton.py::test_triton_kernels_under_interpreter",
            ],
            t(150, 120),
            env=no_interp,
            kind="pytest",
        ),  # fmt: skip
        bench_step("bench-staf", ["--tf32", "both", *bench_small], "bench_staf.json", t(150, 240)),
        # CPU work, started with the first step and waited for here, before the NeRF runs need it
        Step(
            "scene",
            [py, "-m", "staf_nerfstudio.scene", str(scene), "--res", str(s.res), "--views", *views],
            t(240, 120),
            background=True,
        ),
    ]
    steps += [nerf_step(s, label) for label in nerf_runs or NERF_RUNS]
    steps += [
        bench_step("bench-nerf-field", ["--nerf", *nerf_small], "bench_nerf_field.json", t(120, 180)),
        Step("tcnn", [py, __file__, "--tcnn-check"], 60, env=no_interp, kind="json"),
    ]
    return steps


def nerf_step(s: Settings, label: str, iters: Optional[int] = None, name: Optional[str] = None) -> Step:
    """``bench_nerf.py`` training and evaluating one method (``label``) for ``iters`` steps (default ``s.iters``);
    runs at another step count go to their own folder (``nerf_<iters>``, the same scene) and results file."""
    iters = iters or s.iters
    out = s.work / "nerf" if iters == s.iters else s.work / f"nerf_{iters}"
    views = [str(v) for v in s.views]
    cmd = [
        sys.executable,
        str(BENCH / "bench_nerf.py"),
        "--out",
        str(out),
        "--device",
        s.device,
        "--method-defaults",
        "--bounded",  # the generated scene is bounded: staf rows train on its box (nerfstudio's methods keep theirs)
        "--decay-over-run",  # every method's learning rates decay over these steps, as in a full-length run
        "--iters",
        str(iters),
        "--rays",
        str(s.rays),
        "--res",
        str(s.res),
        "--views",
        *views,
        "--only",
        label,
    ]  # fmt: skip
    timeout = (420 if s.dry_run else 200) if iters == s.iters else (600 if s.dry_run else 300)
    return Step(name or f"nerf: {label}", cmd, timeout, env={"TRITON_INTERPRET": ""}, kind="nerf", results=out)


def equal_wall_steps(s: Settings, results: Dict[str, "Result"]) -> List[Step]:
    """The faster methods again, for as many steps as they make in nerfacto's training-loop time (its steps over its
    it/s, start-up and evaluation left out): the equal-wall-time rows. None when nerfacto has no rate."""
    nerfacto = (results.get("nerf: nerfacto") or Result("", "")).data or {}
    rate = _nan(nerfacto.get("it_per_s"))
    if not rate > 0:
        return []
    seconds = s.iters / rate
    steps = []
    for label in EQUAL_WALL_RUNS:
        own = (results.get(f"nerf: {label}") or Result("", "")).data or {}
        own_rate = _nan(own.get("it_per_s"))
        if not own_rate >= EQUAL_WALL_MIN_SPEEDUP * rate:
            continue
        iters = min(int(round(own_rate * seconds)), EQUAL_WALL_MAX_ITERS if not s.dry_run else 3 * s.iters)
        steps.append(nerf_step(s, label, iters, name=f"equal wall: {label} ({iters} steps in {seconds:.0f} s)"))
    return steps


# ---------------------------------------------------------------------------------------------------------- workers
def env_report() -> Dict[str, Any]:
    """Versions and the device (run as a step, so a broken CUDA set-up is a recorded failure)."""
    import torch

    report: Dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cuda_available": torch.cuda.is_available(),
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor() or "cpu",
        "cpu_count": os.cpu_count(),
    }
    try:
        import triton

        report["triton"] = triton.__version__
    except ImportError:
        report["triton"] = None
    try:
        from importlib.metadata import version

        import nerfstudio  # noqa: F401

        report["nerfstudio"] = version("nerfstudio")
    except Exception as err:  # noqa: BLE001  (reported, not fatal here)
        report["nerfstudio"] = f"unavailable: {err}"
    try:
        smi = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        report["nvidia_smi"] = smi.stdout.strip() or smi.stderr.strip()
    except (OSError, subprocess.TimeoutExpired) as err:
        report["nvidia_smi"] = f"unavailable: {err}"
    return report


def dispatch_check(device: str) -> Dict[str, Any]:
    """What ``implementation="auto"`` picks per dtype on ``device``, against what it should pick; and that a StafMLP
    forward/backward on ``device`` runs through it."""
    import torch

    from staf_nerfstudio import StafMLP
    from staf_nerfstudio.functional import select_implementation

    if device == "cuda":
        expected = {"float32": "triton", "float64": "triton", "float16": "triton", "bfloat16": "triton"}
    else:
        from staf_nerfstudio.kernels.cpu_staf import cpu_kernel_available

        cpu = "cpp" if cpu_kernel_available() else "autograd"
        expected = {"float32": cpu, "float64": cpu, "float16": "autograd", "bfloat16": "autograd"}
    z = torch.zeros(8, 4, device=device)
    picked = {name: select_implementation(z.to(getattr(torch, name))) for name in expected}
    net = StafMLP(3, 32, 2, 2, tau=5).to(device)
    x = torch.rand(1024, 3, device=device, requires_grad=True)
    net(x).square().sum().backward()
    finite = bool(torch.isfinite(x.grad).all())
    return {"device": device, "picked": picked, "expected": expected, "ok": picked == expected and finite}


def tcnn_check() -> Dict[str, Any]:
    """Whether tiny-cuda-nn imports; if it does, its hash encoding against the torch port (same parameters)."""
    try:
        import tinycudann  # noqa: F401
    except Exception as err:  # noqa: BLE001  (ImportError, or a broken CUDA build)
        return {"available": False, "reason": f"{type(err).__name__}: {err}", "note": TCNN_NOTE, "ok": True}
    import torch

    from staf_nerfstudio.nerf.hash_grid import HashGridEncoding

    if not torch.cuda.is_available():
        return {"available": True, "reason": "no CUDA device to compare on", "ok": True}
    torch.manual_seed(0)
    grid = HashGridEncoding(init_scale=1e-1).cuda()
    x = torch.rand(65536, 3, device="cuda")
    fast, port = grid(x), grid.forward_torch(x)
    used_tcnn = bool(grid._tcnn)
    err = (fast - port).abs().max().item()
    return {"available": True, "used_tcnn": used_tcnn, "max_abs_diff": err, "ok": used_tcnn and err < 1e-4}


# ----------------------------------------------------------------------------------------------------------- runner
def parse_pytest(output: str) -> Dict[str, int]:
    """Counts from pytest's summary line ("3 passed, 1 skipped in 2.0s")."""
    counts = {k: 0 for k in ("passed", "failed", "skipped", "error", "deselected")}
    summary = [line for line in output.splitlines() if re.search(r"\d+ (passed|failed|skipped|error|deselected)", line)]
    if summary:
        for number, word in re.findall(r"(\d+) (passed|failed|skipped|errors?|deselected)", summary[-1]):
            counts["error" if word.startswith("error") else word] += int(number)
    return counts


def _kill_group(proc: subprocess.Popen) -> None:
    """Ends the step's own process group (the step and its children), politely first."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


class Runner:
    """Runs steps under one deadline, logging their output and keeping the result files current."""

    def __init__(self, s: Settings, log_path: Path) -> None:
        self.s = s
        self.deadline = time.monotonic() + s.budget_s
        self.log_path = log_path
        self.background: Dict[str, tuple] = {}

    def _start(self, step: Step) -> tuple:
        env = {**os.environ, **step.env, "PYTHONUNBUFFERED": "1"}
        env = {k: v for k, v in env.items() if v != ""}  # an empty value in step.env unsets the variable
        log = tempfile.TemporaryFile(mode="w+")
        proc = subprocess.Popen(
            step.cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )
        ended: List[float] = []  # when it exited (a background step may end long before it is waited for)
        threading.Thread(target=lambda: (proc.wait(), ended.append(time.monotonic())), daemon=True).start()
        return proc, log, time.monotonic(), ended

    def start_background(self, steps: List[Step]) -> None:
        for step in steps:
            if step.background:
                self.background[step.name] = self._start(step)

    def run(self, step: Step) -> Result:
        remaining = self.deadline - time.monotonic()
        if step.name not in self.background and remaining < 30:  # too little left to start one usefully
            return Result(step.name, "skipped", detail="overall budget spent")
        proc, log, started, ended = self.background.pop(step.name, None) or self._start(step)
        timeout = max(min(step.time_limit - (time.monotonic() - started), remaining), 1.0)
        try:
            rc = proc.wait(timeout=timeout)
            status = "ok" if rc == 0 else "failed"
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            rc, status = None, "timeout"
        time.sleep(0.01)  # let the waiting thread note the exit time
        seconds = (ended[0] if ended and status != "timeout" else time.monotonic()) - started
        log.seek(0)
        output = log.read()
        log.close()
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(f"\n===== {step.name} ({status}, {seconds:.1f} s): {' '.join(step.cmd)}\n{output[-20000:]}")
        last = (output.strip().splitlines() or [""])[-1][-300:]
        detail = f"killed after {timeout:.0f} s; last output: {last}" if status == "timeout" else last
        return Result(step.name, status, seconds, rc, detail, data=output)

    def stop_background(self) -> None:
        for proc, log, _, _ in self.background.values():
            _kill_group(proc)
            log.close()
        self.background.clear()


def interpret(step: Step, result: Result, s: Settings) -> Result:
    """Turns a step's output into data (and a failure where the output says the check failed)."""
    output = result.data or ""
    result.data = None
    if step.kind == "pytest":
        counts = parse_pytest(output)
        result.data = counts
        result.detail = ", ".join(f"{v} {k}" for k, v in counts.items() if v) or result.detail
        if result.returncode == 5 or (result.status == "ok" and counts["passed"] == 0):
            # nothing ran: on the GPU that is a failure (no CUDA cases), on the dry run the expected skip
            result.status = "skipped" if s.dry_run else "failed"
            result.detail = f"no test ran ({result.detail}); needs Triton and a CUDA device"
    elif step.kind == "json" and step.name in ("env", "dispatch", "tcnn"):
        lines = [line for line in output.splitlines() if line.startswith("{")]
        if lines:
            result.data = d = json.loads(lines[-1])
            if result.status == "ok" and not d.get("ok", True):
                result.status = "failed"
            if step.name == "env":
                result.detail = f"{d['device']}; torch {d['torch']}, CUDA {d['cuda']}, Triton {d['triton']}"
            elif step.name == "dispatch":
                picked = ", ".join(f"{k} {v}" for k, v in d["picked"].items())
                result.detail = f"auto picks {picked}" + ("" if d["ok"] else f"; expected {d['expected']}")
            elif d.get("available"):
                result.detail = f"tiny-cuda-nn vs torch port: max |diff| {d.get('max_abs_diff')}"
            else:
                result.detail = "tiny-cuda-nn not installed (not on PyPI; see the note below)"
    elif step.kind == "json":
        path = s.work / ("bench_staf.json" if step.name == "bench-staf" else "bench_nerf_field.json")
        if result.status == "ok" and path.exists():
            result.data = json.loads(path.read_text())
            result.data["table"] = [line for line in output.splitlines() if line.startswith("|")]
            rows = result.data.get("rows") or result.data.get("nerf") or []
            result.detail = f"{len(rows)} rows on {result.data.get('device', '?')}"
    elif step.kind == "nerf":
        label = step.cmd[step.cmd.index("--only") + 1]
        path = (step.results or s.work / "nerf") / "results.json"
        runs = json.loads(path.read_text()) if path.exists() else {}
        key = bench_key(runs, label)
        if result.status == "ok" and key is not None:
            result.data = d = runs[key]
            result.detail = f"test PSNR {d['psnr']:.2f} dB, {_nan(d.get('it_per_s')):.2f} it/s"
    return result


def bench_key(runs: Dict[str, Any], label: str) -> Optional[str]:
    """The key of ``label``'s row in a bench_nerf.py results.json: the label itself, or the label with the suffixes
    bench_nerf.py adds for its options (``staf [bounded] [decay over run]``)."""
    if label in runs:
        return label
    return next((key for key in runs if key.split(" [")[0] == label), None)


# ----------------------------------------------------------------------------------------------------------- report
def _nan(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else float("nan")


def goals(results: Dict[str, Result]) -> List[Dict[str, Any]]:
    """The goals against the measured numbers (missing numbers: NaN, not met): the default STAF and the authors'
    STAF on the path ``auto`` picks against SIREN, step time and peak memory; the staf field's it/s against
    vanilla-nerf's."""
    rows = []
    bench = results.get("bench-staf")
    for r in (bench.data or {}).get("rows", []) if bench else []:
        if r["config"] not in ("default", "triton") and not r.get("auto"):
            continue
        group = {x["config"]: x for x in bench.data["rows"] if x["tf32"] == r["tf32"]}
        siren = group.get("siren")
        if siren is None:
            continue
        tag = {None: "", False: " fp32", True: " TF32"}[r["tf32"]]
        step_x, mem_x = r["ms"] / siren["ms"], r["peak_mib"] / siren["peak_mib"]
        ref = group.get("reference")
        ref_note = (
            f"reference: step {ref['ms'] / siren['ms']:.2f}x, memory {ref['peak_mib'] / siren['peak_mib']:.2f}x SIREN"
            if ref
            else ""
        )
        rows.append(
            {"goal": f"STAF step <= {GOAL_STEP_X_SIREN}x SIREN ({r['config']}{tag})", "value": step_x,
             "met": step_x <= GOAL_STEP_X_SIREN, "note": ref_note}
        )  # fmt: skip
        rows.append(
            {"goal": f"STAF peak memory <= {GOAL_MEM_X_SIREN}x SIREN ({r['config']}{tag})", "value": mem_x,
             "met": mem_x <= GOAL_MEM_X_SIREN, "note": ref_note}
        )  # fmt: skip
    staf, vanilla = results.get("nerf: staf"), results.get("nerf: vanilla-nerf")
    if staf and vanilla and staf.data and vanilla.data:
        ratio = _nan(staf.data.get("it_per_s")) / _nan(vanilla.data.get("it_per_s"))
        rows.append(
            {"goal": "staf it/s >= vanilla-nerf it/s (equal rays)", "value": ratio, "met": ratio >= 1.0,
             "note": f"{staf.data['it_per_s']:.2f} vs {vanilla.data['it_per_s']:.2f} it/s"}
        )  # fmt: skip
    return rows


def _fmt(value: Any, digits: int = 2) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.{digits}f}"
    return "-" if value is None else str(value)


def markdown(s: Settings, results: Dict[str, Result], started: str) -> str:
    env = (results.get("env") or Result("env", "")).data or {}
    where = "CPU DRY RUN (toy sizes; numbers mean nothing)" if s.dry_run else "GPU"
    lines = [
        f"# STAF GPU check ({where})",
        "",
        f"Started {started}; {env.get('device', '?')}; nvidia-smi: {env.get('nvidia_smi', '-')}; torch "
        f"{env.get('torch', '?')}, CUDA {env.get('cuda')}, Triton {env.get('triton')}, nerfstudio "
        f"{env.get('nerfstudio')}, Python {env.get('python')}. Budget {s.budget_s:.0f} s.",
        "",
        "| step | status | seconds | detail |",
        "|---|---|---|---|",
    ]
    for r in results.values():
        detail = str(r.detail).replace("|", "/").replace("\n", " ")[:160]
        lines.append(f"| {r.name} | {r.status} | {r.seconds:.1f} | {detail} |")
    dispatch = results.get("dispatch")
    if dispatch and dispatch.data:
        lines += ["", f"`auto` dispatch on {dispatch.data['device']}: {dispatch.data['picked']} "
                  f"(expected {dispatch.data['expected']})"]  # fmt: skip
    for name, title in (("bench-staf", "Training step (bench_staf.py)"), ("bench-nerf-field", "NeRF field step")):
        r = results.get(name)
        if r and r.data and r.data.get("table"):
            lines += ["", f"## {title}", ""] + r.data["table"]
        elif r and r.data and r.data.get("nerf"):
            lines += ["", f"## {title}", "", "| config | ms/step | M samples/s | peak MiB |", "|---|---|---|---|"]
            lines += [
                f"| {x['config']} | {x['ms']:.1f} | {x['samples_per_s'] / 1e6:.3f} | {_fmt(x.get('peak_mib'), 0)} |"
                for x in r.data["nerf"]
            ]
    nerf = [(r.name.split(": ", 1)[1], r) for r in results.values() if r.name.startswith(("nerf: ", "equal wall: "))]
    if nerf:
        lines += [
            "",
            f"## NeRF: {s.iters} steps of {s.rays} rays, scene `staf-make-scene --res {s.res} --views "
            f"{' '.join(map(str, s.views))}`, each method's defaults otherwise; the last rows: the faster methods for "
            "as many steps as they make in nerfacto's training-loop time (equal wall time)",
            "",
            "| method | status | steps | test PSNR (dB) | SSIM | it/s | rays/s | peak GPU MiB | train wall s "
            "| eval wall s |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for label, r in nerf:
            d = r.data or {}
            lines.append(
                f"| {label} | {r.status} | {_fmt(d.get('iters'))} | {_fmt(d.get('psnr'))} | {_fmt(d.get('ssim'), 3)} | "
                f"{_fmt(d.get('it_per_s'))} | {_fmt(d.get('rays_per_s'), 0)} | {_fmt(d.get('gpu_mem_mib'), 0)} | "
                f"{_fmt(d.get('train_wall_s'), 1)} | {_fmt(d.get('eval_wall_s'), 1)} |"
            )
    goal_rows = goals(results)
    if goal_rows:
        lines += ["", "## Goals", "", "| goal | measured | met | note |", "|---|---|---|---|"]
        lines += [
            f"| {g['goal']} | {_fmt(g['value'])}x | {'yes' if g['met'] else 'NO'} | {g['note']} |" for g in goal_rows
        ]
    tcnn = results.get("tcnn")
    if tcnn and tcnn.data:
        d = tcnn.data
        text = (
            f"imports; encoding vs the torch port: max |diff| {_fmt(d.get('max_abs_diff'), 8)}"
            if d.get("available")
            else f"not installed ({d.get('reason')}). {d.get('note', '')}"
        )
        lines += ["", f"tiny-cuda-nn: {text}"]
    return "\n".join(lines) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def write_reports(s: Settings, results: Dict[str, Result], started: str) -> None:
    data = {
        "started": started,
        "settings": {**dataclasses.asdict(s), "out": str(s.out), "work": str(s.work), "device": s.device},
        "steps": {name: dataclasses.asdict(r) for name, r in results.items()},
        "goals": goals(results),
    }
    _write_atomic(s.out / "gpu_check.json", json.dumps(data, indent=2, default=str))
    _write_atomic(s.out / "gpu_check.md", markdown(s, results, started))


def main(argv: Optional[List[str]] = None) -> int:
    args = settings_from_args(argv)
    for flag, worker in (("env_report", env_report), ("tcnn_check", tcnn_check)):
        if getattr(args, flag):
            print(json.dumps(worker()))
            return 0
    if args.dispatch_check:
        report = dispatch_check(args.dispatch_check)
        print(json.dumps(report))
        return 0 if report["ok"] else 1
    s = make_settings(args)
    steps = [step for step in plan(s) if step.name not in args.skip]
    if args.plan:
        for step in steps:
            env = " ".join(f"{k}={v!r}" for k, v in step.env.items())
            print(f"{step.name} (timeout {step.time_limit:.0f} s{', background' if step.background else ''}): "
                  f"{env + ' ' if env else ''}{shlex.join(step.cmd)}")  # fmt: skip
        return 0
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    s.out.mkdir(parents=True, exist_ok=True)
    s.work.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(s.work / "nerf", ignore_errors=True)  # each check starts its scene and NeRF table afresh
    log_path = s.out / "gpu_check.log"
    log_path.write_text(f"STAF GPU check, started {started}\n")
    runner = Runner(s, log_path)
    runner.start_background(steps)
    results: Dict[str, Result] = {}
    # the equal-wall-time runs go right after the four methods they compare (before the other fields' runs)
    core = [i for i, step in enumerate(steps) if step.name in {f"nerf: {label}" for label in NERF_RUNS[:4]}]
    last_core = max(core, default=None)
    try:
        i = 0
        while i < len(steps):
            step = steps[i]
            if step.results is not None and step.results != s.work / "nerf":  # another step count, the same scene
                step.results.mkdir(parents=True, exist_ok=True)
                if not (step.results / "scene").exists():
                    (step.results / "scene").symlink_to((s.work / "nerf" / "scene").resolve())
            print(f"== {step.name}", flush=True)
            result = interpret(step, runner.run(step), s)
            results[step.name] = result
            print(f"   {result.status} in {result.seconds:.1f} s: {result.detail}", flush=True)
            if i == last_core:
                wall = [w for w in equal_wall_steps(s, results) if "equal wall" not in args.skip]
                steps[i + 1 : i + 1] = wall
            write_reports(s, results, started)
            i += 1
    finally:
        runner.stop_background()
    report = (s.out / "gpu_check.md").read_text()
    print(report)
    return 0 if all(r.status in ("ok", "skipped") for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
