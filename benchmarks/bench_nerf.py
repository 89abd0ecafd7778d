"""NeRF comparison on one generated scene and one iteration budget: staf (STAF / SIREN / ReLU+PE fields), staf-hash,
nerfacto and vanilla-nerf. Prints (and writes) a markdown table of test-view PSNR/SSIM with exact commands and wall
times. Runs are sequential ``ns-train`` / ``ns-eval`` subprocesses, CPU flags by default.

    python benchmarks/bench_nerf.py --out /tmp/nerf_bench --iters 600 --rays 512 --table nerf_results.md
    python benchmarks/bench_nerf.py --only staf --seeds 1 --flags="--pipeline.model.tau 8"   # one setting changed
    python benchmarks/bench_nerf.py --device cuda --method-defaults --rays 4096 --iters 200   # GPU defaults
    python benchmarks/bench_nerf.py --only "staf (siren field)" --seeds 1 --jobs 8 --device cuda \\
        --flag-sets "" "--pipeline.model.proposal-activation relu"                             # one factor at a time
    staf-make-scene scenes/detail --kind detail && python benchmarks/bench_nerf.py --scene scenes/detail ...

Literature protocol (``--protocol literature``): the pure-MLP fields (STAF, SIREN, FINER, ReLU+PE) on a bounded
scene without contraction, 256-wide 4-layer trunks, 64 proposal + 128 field samples, trained in resumable pieces:

    staf-make-scene scenes/detail --kind detail
    python benchmarks/bench_nerf.py --protocol literature --scene scenes/detail --out runs/lit --iters 37500 \\
        --rays 1024 --piece 2000 --seeds 1          # stop at any time; the same command resumes

``it/s`` is nerfstudio's own running average of the iteration time (its last 20 iterations, read from the run's
tensorboard events), so it leaves out start-up and evaluation; the wall times include them.

nerfstudio's own models build torchmetrics' LPIPS at construction, which downloads AlexNet weights; offline that
fails, so for ``nerfacto`` and ``vanilla-nerf`` only, the commands run through a wrapper that replaces LPIPS by a
NaN-returning stub (LPIPS is not reported for any method), and their ``ns-eval`` needs
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` (numpy scalars in their checkpoints,
https://github.com/nerfstudio-project/nerfstudio/issues/3683). The STAF methods need neither.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Tuple

from staf_nerfstudio.io import write_json
from staf_nerfstudio.locking import FolderBusyError, FolderLock
from staf_nerfstudio.scene import BOUNDED_FLAG

LPIPS_STUB = (
    "import sys, torch, torchmetrics.image.lpip as m\n"
    "class NoLpips(torch.nn.Module):\n"
    "    def __init__(self, *a, **k): super().__init__()\n"
    "    def forward(self, a, b): return torch.tensor(float('nan'))\n"
    "m.LearnedPerceptualImagePatchSimilarity = NoLpips\n"
    "sys.argv = [sys.argv[1]] + sys.argv[2:]\n"
    "from nerfstudio.scripts.{module} import entrypoint\n"
    "entrypoint()\n"
)


def variants(
    iters: int, rays: int, device: str = "cpu", method_defaults: bool = False
) -> List[Tuple[str, List[str], bool]]:
    """(label, ns-train arguments, needs the LPIPS stub) per run.

    ``method_defaults``: each method keeps its own field size and sample counts (its GPU defaults); only the scene
    (near/far planes, white background, uniform initial sampler), the budget with its proposal schedules and the rays
    are set. nerfacto's mixed precision is turned off on the CPU only.
    """
    common = (
        f"--machine.device-type {device} --vis tensorboard --max-num-iterations {iters} --steps-per-save {iters} "
        f"--steps-per-eval-batch {iters + 1} --steps-per-eval-image {iters + 1} "
        f"--steps-per-eval-all-images {iters + 1} "
        f"--pipeline.datamanager.train-num-rays-per-batch {rays} --logging.local-writer.enable False"
    )
    scene = (
        "--pipeline.model.near-plane 2 --pipeline.model.far-plane 6 --pipeline.model.background-color white "
        "--pipeline.model.proposal-initial-sampler uniform"
    )
    samples = "--pipeline.model.num-proposal-samples-per-ray 64 32 --pipeline.model.num-nerf-samples-per-ray 32"
    schedule = (
        f"--pipeline.model.proposal-warmup {max(iters // 2, 1)} "
        f"--pipeline.model.proposal-weights-anneal-max-num-iters {max(iters // 4, 1)}"
    )
    staf_small = "--pipeline.model.hidden-dim 64 --pipeline.model.num-layers 2"
    vanilla_samples = "--pipeline.model.num-coarse-samples 32 --pipeline.model.num-importance-samples 64"
    if method_defaults:
        samples = staf_small = vanilla_samples = ""
    proposal = f"{scene} {samples} {schedule}"
    nerfacto_precision = "--mixed-precision False" if device == "cpu" or not method_defaults else ""
    runs = [
        ("staf", f"staf {common} {proposal} {staf_small}", False),
        ("staf-paper", f"staf-paper {common} {proposal} {staf_small}", False),
        (
            "staf (siren field)",
            f"staf {common} {proposal} {staf_small} --pipeline.model.activation siren "
            "--pipeline.model.first-omega 30 --pipeline.model.hidden-omega 30",
            False,
        ),
        ("staf (relu+PE field)", f"staf {common} {proposal} {staf_small} --pipeline.model.activation relu", False),
        (
            "staf (finer field)",
            f"staf {common} {proposal} {staf_small} --pipeline.model.activation finer "
            "--pipeline.model.first-omega 30 --pipeline.model.hidden-omega 30",
            False,
        ),
        ("staf-hash", f"staf-hash {common} {proposal}", False),
        (
            "nerfacto",
            f"nerfacto {common} {proposal} {nerfacto_precision} --pipeline.model.camera-optimizer.mode off",
            True,
        ),
        ("vanilla-nerf", f"vanilla-nerf {common} {vanilla_samples}", True),
    ]
    return [(label, shlex.split(args), stub) for label, args, stub in runs]


def extra_variants(
    iters: int, rays: int, device: str = "cpu", method_defaults: bool = False
) -> List[Tuple[str, List[str], bool]]:
    """Sensitivity runs of the comparison fields (run only when named in ``--only``)."""
    base = {label: args for label, args, _ in variants(iters, rays, device, method_defaults)}
    lr = ["--optimizers.fields.optimizer.lr", "1e-3", "--optimizers.proposal-networks.optimizer.lr", "1e-3"]
    return [
        ("staf (siren field, lr 1e-3)", base["staf (siren field)"] + lr, False),
        (
            "staf (siren field, omega 10)",
            base["staf"]
            + ["--pipeline.model.activation", "siren", "--pipeline.model.first-omega", "10"]
            + ["--pipeline.model.hidden-omega", "10"],
            False,
        ),
        ("staf (relu+PE field, lr 1e-3)", base["staf (relu+PE field)"] + lr, False),
        (
            "vanilla-nerf (128 rays/batch)",
            [a if a != str(rays) else "128" for a in base["vanilla-nerf"]],
            True,
        ),
        ("staf (lr 1e-3)", base["staf"] + lr + ["--optimizers.staf-activations.optimizer.lr", "1e-3"], False),
        (
            "staf (activation lr x10)",
            base["staf"]
            + [
                "--optimizers.staf-activations.optimizer.lr",
                "5e-2",
                "--optimizers.staf-activations.scheduler.lr-final",
                "5e-4",
            ],
            False,
        ),
    ]


LITERATURE_SAMPLES = (
    "--pipeline.model.num-proposal-iterations 1 --pipeline.model.num-proposal-samples-per-ray 64 "
    "--pipeline.model.num-nerf-samples-per-ray 128"
)
"""Literature protocol sampling: 64 uniform samples for one density-only proposal field, then 128 for the main field
(the published pure-MLP comparisons use NeRF's 64 coarse + 128 fine samples with a coarse network of the same kind;
nerfstudio's proposal sampler is the closest this model has)."""


STAF_METHODS = ("staf", "staf-paper", "staf-hash")
"""This package's nerfstudio methods."""

_STAF_GROUPS = ("fields", "proposal-networks", "staf-activations")
SCHEDULED_GROUPS = {**{method: _STAF_GROUPS for method in STAF_METHODS}, "nerfacto": ("fields", "proposal-networks")}
"""Optimizer groups with an exponential-decay scheduler, per method (``--optimizers.GROUP.scheduler.max-steps``)."""


def decay_over_run_flags(method: str, iters: int) -> List[str]:
    """``ns-train`` arguments that stretch the learning-rate decay of ``method`` over ``iters`` steps (or none)."""
    groups = SCHEDULED_GROUPS.get(method, ())
    return [a for g in groups for a in (f"--optimizers.{g}.scheduler.max-steps", str(iters))]


def literature_variants(iters: int, rays: int, device: str = "cpu") -> List[Tuple[str, List[str], bool]]:
    """The pure-MLP fields under the literature protocol (``--protocol literature``).

    Bounded scene without contraction (positions normalized by the Blender scene box), no hash grid, a 256-wide
    trunk of 4 layers (3 hidden after the first), :data:`LITERATURE_SAMPLES`, each method's own learning rates with
    the decay stretched over ``iters``. Meant for the detail scene at 200x200 (100 training views) and long budgets
    in resumable pieces (``--piece``); the SL2A-INR comparison ran 37.5k iterations of Blender lego at 200x200.
    """
    schedule = " ".join(decay_over_run_flags("staf", iters))
    common = (
        f"--machine.device-type {device} --vis tensorboard --max-num-iterations {iters} --steps-per-save {iters} "
        f"--steps-per-eval-batch {iters + 1} --steps-per-eval-image {iters + 1} "
        f"--steps-per-eval-all-images {iters + 1} --save-only-latest-checkpoint True "
        f"--pipeline.datamanager.train-num-rays-per-batch {rays} --logging.local-writer.enable False "
        "--pipeline.model.near-plane 2 --pipeline.model.far-plane 6 --pipeline.model.background-color white "
        f"--pipeline.model.proposal-initial-sampler uniform {BOUNDED_FLAG} "
        f"{LITERATURE_SAMPLES} --pipeline.model.proposal-warmup {max(iters // 10, 1)} "
        f"--pipeline.model.proposal-weights-anneal-max-num-iters {max(iters // 20, 1)} "
        f"--pipeline.model.hidden-dim 256 --pipeline.model.num-layers 3 {schedule}"
    )
    sine = "--pipeline.model.first-omega 30 --pipeline.model.hidden-omega 30"
    runs = [
        ("literature: staf", f"staf {common}"),
        ("literature: staf-paper", f"staf-paper {common}"),
        ("literature: siren field", f"staf {common} --pipeline.model.activation siren {sine}"),
        ("literature: finer field", f"staf {common} --pipeline.model.activation finer {sine}"),
        ("literature: relu+PE field", f"staf {common} --pipeline.model.activation relu"),
    ]
    return [(label, shlex.split(a), False) for label, a in runs]


def _latest_step(run_root: Path) -> int:
    """Highest checkpoint step saved under ``run_root`` (any of its timestamped runs), -1 if none."""
    steps = [int(p.stem.split("-")[-1]) for p in run_root.glob("*/*/nerfstudio_models/step-*.ckpt")]
    return max(steps, default=-1)


def _with_value(train_args: List[str], flag: str, value: str) -> List[str]:
    out = list(train_args)
    out[out.index(flag) + 1] = value
    return out


def tool_path(tool: str) -> str:
    """A console script beside this interpreter, else on ``PATH`` (wheels installed with ``pip --target``)."""
    beside = Path(sys.executable).parent / tool
    found = str(beside) if beside.exists() else shutil.which(tool)
    if found is None:
        raise SystemExit(f"{tool}: not beside {sys.executable} nor on PATH; install nerfstudio and this package")
    return found


def train_rates(run_dir: Path) -> Dict[str, float]:
    """it/s and rays/s (nerfstudio's running averages at the last logged step) and the peak GPU memory (MiB) from
    the run's tensorboard events; NaN where absent."""
    rates = {"it_per_s": float("nan"), "rays_per_s": float("nan"), "gpu_mem_mib": float("nan")}
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        return rates
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    tags = events.Tags().get("scalars", [])
    if "Train Iter (time)" in tags:
        rates["it_per_s"] = 1.0 / max(events.Scalars("Train Iter (time)")[-1].value, 1e-9)
    if "Train Rays / Sec" in tags:
        rates["rays_per_s"] = events.Scalars("Train Rays / Sec")[-1].value
    if "GPU Memory (MB)" in tags:
        rates["gpu_mem_mib"] = max(e.value for e in events.Scalars("GPU Memory (MB)"))
    return rates


def _command(tool: str, args: List[str], stub: bool) -> List[str]:
    if not stub:
        return [tool_path(tool), *args]
    module = {"ns-train": "train", "ns-eval": "eval"}[tool]
    return [sys.executable, "-c", LPIPS_STUB.replace("{module}", module), tool, *args]


def _slug(label: str) -> str:
    return "".join(c for c in label.replace(" ", "_") if c.isalnum() or c in "_-.")[:200]


def run_one(
    out: Path, scene: Path, label: str, method: str, seed, train_args: List[str], stub: bool, args: argparse.Namespace
) -> Dict:
    """Trains and evaluates one run; returns its result row."""
    slug = _slug(label)
    data_args = ["--data", str(scene), "--output-dir", str(out / "runs"), "--experiment-name", slug]
    dataparser = [] if train_args[0] == "vanilla-nerf" else ["blender-data"]
    command = shlex.join(["ns-train", *train_args, *data_args, *dataparser])
    print(f"== {label}: {command}", flush=True)
    start = time.perf_counter()
    if not args.piece:
        train_cmd = _command("ns-train", [*train_args, *data_args, *dataparser], stub)
        subprocess.run(train_cmd, check=True, stdout=subprocess.DEVNULL)
    else:  # resumable: each piece continues from the last checkpoint (ns-train --load-dir), done pieces are skipped
        while (done := _latest_step(out / "runs" / slug) + 1) < args.iters:
            n = min(args.piece, args.iters - done)
            piece_args = _with_value(train_args, "--max-num-iterations", str(n))
            piece_args = _with_value(piece_args, "--steps-per-save", str(n))
            if done > 0:
                models = max(
                    (out / "runs" / slug).glob("*/*/nerfstudio_models/step-*.ckpt"), key=lambda p: int(p.stem[5:])
                ).parent
                piece_args += ["--load-dir", str(models)]
            print(f"   {label}: iterations {done}-{done + n - 1}", flush=True)
            subprocess.run(_command("ns-train", [*piece_args, *data_args, *dataparser], stub), check=True,
                           stdout=subprocess.DEVNULL)  # fmt: skip
    wall = time.perf_counter() - start
    config = max((out / "runs" / slug).glob("*/*/config.yml"), key=lambda p: p.stat().st_mtime)
    eval_json = config.parent / "eval.json"
    env = dict(os.environ, TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1") if stub else dict(os.environ)
    eval_args = ["--load-config", str(config), "--output-path", str(eval_json)]
    start = time.perf_counter()
    subprocess.run(_command("ns-eval", eval_args, stub), check=True, env=env, stdout=subprocess.DEVNULL)
    eval_wall = time.perf_counter() - start
    metrics = json.loads(eval_json.read_text())["results"]
    row = {
        "psnr": metrics["psnr"],
        "ssim": metrics.get("ssim", metrics.get("fine_ssim", float("nan"))),
        "train_wall_s": wall,
        "eval_wall_s": eval_wall,
        **train_rates(config.parent),
        "train_psnr_curve": train_curve(config.parent),
        "iters": args.iters,
        "rays": args.rays,
        "device": args.device,
        "scene": str(scene),
        "command": command,
        "config": str(config),
        "stub": stub,
        "method": method,
        "seed": seed,
    }
    print(f"   {label}: psnr {metrics['psnr']:.2f}, {row['it_per_s']:.2f} it/s, train wall {wall:.0f} s", flush=True)
    return row


def train_curve(run_dir: Path, points: int = 60) -> List[Tuple[int, float]]:
    """Training PSNR (nerfstudio's per-batch ``Train Metrics Dict/psnr``) at up to ``points`` logged steps."""
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        return []
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    if "Train Metrics Dict/psnr" not in events.Tags().get("scalars", []):
        return []
    values = events.Scalars("Train Metrics Dict/psnr")
    stride = max(len(values) // points, 1)
    return [(int(e.step), round(float(e.value), 3)) for e in values[::stride]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("outputs/nerf_bench"))
    parser.add_argument("--iters", type=int, default=600)
    parser.add_argument("--rays", type=int, default=512)
    parser.add_argument("--res", type=int, default=100)
    parser.add_argument("--views", type=int, nargs=3, default=[60, 5, 5])
    parser.add_argument(
        "--kind", choices=["basic", "detail"], default="basic", help="staf-make-scene --kind of a generated scene"
    )
    parser.add_argument(
        "--scene", type=Path, default=None, help="an existing Blender-format scene instead of generating OUT/scene"
    )
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="--machine.device-type of every run")
    parser.add_argument(
        "--method-defaults",
        action="store_true",
        help="each method's own field size, sample counts and precision (its GPU defaults) instead of CPU-scale ones",
    )
    parser.add_argument("--only", nargs="*", default=None, help="labels to run (default: all)")
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="*",
        default=None,
        help="run each method once per seed (--machine.seed); the table adds mean and spread",
    )
    parser.add_argument(
        "--flags",
        default="",
        help='extra ns-train arguments for every chosen run (added to its label): --flags="--pipeline.model.tau 8"',
    )
    parser.add_argument(
        "--flag-sets",
        nargs="*",
        default=None,
        help='run every chosen method once per set of extra ns-train arguments ("" = none): one factor at a time',
    )
    parser.add_argument(
        "--bounded",
        action="store_true",
        help="every staf / staf-hash row without scene contraction (--pipeline.model.disable-scene-contraction True: "
        "the field is zero outside the Blender scene box); sine fields need it on bounded scenes (see the NeRF docs)",
    )
    parser.add_argument(
        "--decay-over-run",
        action="store_true",
        help="learning rates decay over this run's --iters (each optimizer group's scheduler.max-steps = --iters, as "
        "in a full-length run and in staf-demo) instead of over the method's default 30000 steps, which a short run "
        "stops at most of the initial rate; staf, staf-paper, staf-hash and nerfacto rows",
    )
    parser.add_argument(
        "--protocol",
        choices=["cpu", "literature"],
        default="cpu",
        help="cpu: the CPU-sized comparison (64x2 fields, 64+32 proposal samples, 32 field samples, contraction); "
        "literature: pure-MLP fields as the published comparisons train them (see literature_variants)",
    )
    parser.add_argument(
        "--piece",
        type=int,
        default=0,
        help="train in resumable pieces of this many iterations (ns-train --load-dir); rerunning the same command "
        "continues where it stopped",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="runs at once (a machine with many cores or a GPU; timings then share it)"
    )
    parser.add_argument("--table", type=Path, default=None, help="also write the markdown table here")
    parser.add_argument("--figure", type=Path, default=None, help="write test view 0 of every run side by side here")
    args = parser.parse_args()

    scene = args.scene if args.scene is not None else args.out / "scene"
    if not (scene / "transforms_test.json").exists():
        if args.scene is not None:
            raise SystemExit(f"--scene {scene}: no transforms_test.json there; give a folder staf-make-scene wrote")
        subprocess.run(
            [tool_path("staf-make-scene"), str(scene), "--kind", args.kind, "--res", str(args.res), "--views",
             *map(str, args.views)], check=True,
        )  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        with FolderLock(args.out, "benchmark folder"):
            run_benchmark(args, scene)
    except FolderBusyError as err:
        raise SystemExit(f"error: {err}") from None


def run_benchmark(args: argparse.Namespace, scene: Path) -> None:
    """Runs the chosen rows into ``args.out`` (whose writer lock the caller holds) and prints the table."""
    results_path = args.out / "results.json"
    results: Dict[str, Dict] = json.loads(results_path.read_text()) if results_path.exists() else {}
    extras = extra_variants(args.iters, args.rays, args.device, args.method_defaults)
    base = variants(args.iters, args.rays, args.device, args.method_defaults)
    if args.protocol == "literature":
        base, extras = literature_variants(args.iters, args.rays, args.device), []
    chosen = [
        (label, train_args, stub)
        for label, train_args, stub in base + extras
        if (label in args.only if args.only else not any(label == e[0] for e in extras))
    ]
    if args.bounded:
        bounded = shlex.split(BOUNDED_FLAG)
        chosen = [
            (f"{label} [bounded]", a + bounded, stub) if a[0] in STAF_METHODS else (label, a, stub)
            for label, a, stub in chosen
        ]
    if args.decay_over_run:
        chosen = [
            (f"{label} [decay over run]", a + decay_over_run_flags(a[0], args.iters), stub) for label, a, stub in chosen
        ]
    if args.flags:
        chosen = [(f"{label} [{args.flags}]", a + shlex.split(args.flags), stub) for label, a, stub in chosen]
    if args.flag_sets is not None:
        chosen = [
            (f"{label} [{flags}]" if flags else label, a + shlex.split(flags), stub)
            for label, a, stub in chosen
            for flags in args.flag_sets
        ]
    # (result label, method label, seed or None, ns-train arguments, needs the LPIPS stub)
    runs = [(label, label, None, train_args, stub) for label, train_args, stub in chosen]
    if args.seeds:
        runs = [
            (f"{label} [seed {seed}]", label, seed, train_args + ["--machine.seed", str(seed)], stub)
            for label, train_args, stub in chosen
            for seed in args.seeds
        ]
    lock = threading.Lock()

    def work(run) -> None:
        label, method, seed, train_args, stub = run
        try:
            row = run_one(args.out, scene, label, method, seed, train_args, stub, args)
        except subprocess.CalledProcessError as err:
            print(f"   {label}: FAILED ({err})", flush=True)
            return
        with lock:
            results[label] = row
            write_json(results_path, results)

    with ThreadPoolExecutor(max_workers=max(args.jobs, 1)) as pool:
        list(pool.map(work, runs))

    lines = [
        f"Scene: `{scene}`"
        + (
            ""
            if args.scene is not None
            else f" (`staf-make-scene --kind {args.kind} --res {args.res} --views {' '.join(map(str, args.views))}`)"
        )
        + f"; {args.iters} iterations, {args.rays} rays/batch, {args.device.upper()}"
        f"{' (method defaults)' if args.method_defaults else ''}"
        f"{f', {args.jobs} runs at once' if args.jobs > 1 else ''}; test-view PSNR/SSIM from `ns-eval`.",
        "",
        "| method | test PSNR (dB) | SSIM | it/s | train wall time (s) |",
        "|---|---|---|---|---|",
    ]
    for label, r in results.items():
        rate = r.get("it_per_s", float("nan"))
        lines.append(f"| {label} | {r['psnr']:.2f} | {r['ssim']:.3f} | {rate:.2f} | {r['train_wall_s']:.0f} |")
    lines += seed_summary(results)
    lines += ["", "Commands:", ""] + [f"- {label}: `{r['command']}`" for label, r in results.items()]
    table = "\n".join(lines)
    print(table)
    if args.table is not None:
        args.table.write_text(table + "\n")
    if args.figure is not None:
        make_figure(results, args.figure)


def seed_summary(results: Dict[str, Dict]) -> List[str]:
    """Mean, sample standard deviation and range of PSNR per method over its seeded runs (none: no lines)."""
    groups: Dict[str, List[float]] = {}
    for r in results.values():
        if r.get("seed") is not None:
            groups.setdefault(r["method"], []).append(r["psnr"])
    if not groups:
        return []
    lines = ["", "| method | seeds | PSNR mean | std | min | max |", "|---|---|---|---|---|---|"]
    for label, values in groups.items():
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        lines.append(
            f"| {label} | {len(values)} | {statistics.fmean(values):.2f} | {std:.2f} | {min(values):.2f} | "
            f"{max(values):.2f} |"
        )
    return lines


def make_figure(results: Dict[str, Dict], path: Path, view: int = 0) -> None:
    """Ground truth and every run's render of test view ``view``, with that view's PSNR."""
    import torchmetrics.image.lpip as lpip_module

    from staf_nerfstudio.nerf.demo import render_test_view
    from staf_nerfstudio.plotting import pyplot

    plt = pyplot()

    panels = []
    for label, r in results.items():
        if r.get("stub"):  # nerfstudio's own models: no LPIPS download, numpy scalars in their checkpoints
            os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = "1"
            original = lpip_module.LearnedPerceptualImagePatchSimilarity
            lpip_module.LearnedPerceptualImagePatchSimilarity = lambda *a, **k: None
        try:
            output = "rgb_fine" if "vanilla-nerf" in r["command"].split()[1] else "rgb"
            rendered = render_test_view(Path(r["config"]), view, output)
        finally:
            if r.get("stub"):
                os.environ.pop("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD")
                lpip_module.LearnedPerceptualImagePatchSimilarity = original
        if not panels:
            panels.append(("ground truth", rendered["gt"]))
        panels.append((f"{label}\n{rendered['psnr']:.1f} dB", rendered["rgb"]))
    fig, axes = plt.subplots(1, len(panels), figsize=(1.6 * len(panels), 2.0))
    for ax, (title, image) in zip(axes, panels):
        ax.imshow(image)
        ax.set_title(title, fontsize=7)
        ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"figure: {path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
