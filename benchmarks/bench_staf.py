"""Cost of one STAF training step on every implementation, next to SIREN; and a same-seed PSNR check.

The step is the full-batch image fit of the paper's image setting: a 2-256x4-3 network (``StafMLP(2, 256, 3, 3)``,
tau 5, omega 60/30, skip, layer sharing), MSE loss, ``backward``, one Adam step, on every pixel of a 128x128 image
(CPU) or 512x512 (CUDA). Rows: SIREN of the same shape (the floor: one sine per unit), the authors' broadcast
formulation (``reference``) and every STAF path that runs on the device; ``(auto)`` marks the one
``implementation="auto"`` picks. Columns: median ms/step, peak memory (CUDA allocator peak; on CPU the process's
max RSS, each configuration in a fresh process, and its growth over the RSS before the first step) and the ratios.

    python benchmarks/bench_staf.py                      # CPU at 128^2 (or CUDA at 512^2 when a GPU is visible)
    python benchmarks/bench_staf.py --device cuda        # fp32 and TF32 rows (--tf32 off|on|both)
    python benchmarks/bench_staf.py --psnr               # fit with the default path and the reference, same seed
    python benchmarks/bench_staf.py --psnr --psnr-dtype float32 --psnr-lr 1e-3   # the same at the authors' lr
    python benchmarks/bench_staf.py --nerf               # samples/s of the staf NeRF field per path
    python benchmarks/bench_staf.py --ratios             # default STAF / SIREN: step and memory at 128^2, 512^2, 4096
    python benchmarks/bench_staf.py --out results.json   # also write the numbers

This is a measurement script, not a test: it prints a table and asserts nothing about speed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Literal, Optional

import torch
import tyro

from staf_nerfstudio import StafMLP
from staf_nerfstudio.coords import grid_coords
from staf_nerfstudio.functional import select_implementation
from staf_nerfstudio.io import write_json
from staf_nerfstudio.networks import build_model
from staf_tasks.data.image import image_to_values, load_image
from staf_tasks.metrics import psnr

PSNR_AGREEMENT_DB = 0.05


@dataclass
class BenchConfig:
    """Benchmark settings."""

    device: Literal["auto", "cpu", "cuda"] = "auto"
    """Where to run: ``auto`` is CUDA when a GPU is visible, else CPU."""
    size: Optional[int] = None
    """Image side in pixels (full batch = size^2 points); default 128 on CPU, 512 on CUDA."""
    steps: Optional[int] = None
    """Timed steps per configuration (median reported); default 5 on CPU, 30 on CUDA."""
    warmup: int = 2
    """Untimed steps first (kernel builds, Triton JIT, allocator warm-up)."""
    batch: Optional[int] = None
    """Points per step: a fresh random minibatch of this many pixels each step (the image preset trains on 4096);
    default: every pixel (full batch)."""
    ratios: bool = False
    """Instead of the per-path table: the default STAF (registry defaults) against SIREN of the same shape on three
    workloads, full batch 128^2 and 512^2 and a 4096-pixel minibatch of the 512^2 image; each pair timed
    ``ratio_repeats`` times in alternating order (fresh processes on CPU), the median of the per-pair ratios of step
    time and of peak memory (CPU: RSS growth over the process before the first step; CUDA: allocator peak)."""
    ratio_repeats: int = 3
    """Pairs per workload in ``--ratios``."""
    configs: str = "all"
    """Comma-separated rows: siren, default (the registry's default STAF, ``build_model("staf", ...)``, on the path
    ``auto`` picks), reference, autograd, cpp, triton (the authors' setting on that path), compile (torch.compile of
    the autograd path); ``all`` = siren, default and every path that runs on the device (compile only with
    --compile)."""
    compile: bool = False
    """Also time ``torch.compile`` of the network on the autograd path (compile time shows in 'first step')."""
    tf32: Literal["off", "on", "both"] = "both"
    """CUDA: TensorFloat-32 matmuls off (fp32), on, or a row set for each. Ignored on CPU."""
    isolate: Optional[bool] = None
    """Each configuration in a fresh process (default on CPU, where peak RSS is per process)."""
    psnr: bool = False
    """Instead of timing: fit the image (64^2 on CPU, 256^2 on CUDA unless --size) from the same seed with the default
    path, the reference and (as a control) the autograd path; print the PSNR curves and whether the final PSNRs agree
    to 0.05 dB (exit status 1 if not). The defaults (float64, lr 1e-4) make a fit that does not amplify rounding, so
    a difference means the paths compute different things; at the authors' lr 1e-3 the fit is chaotic: no two
    formulations of the same math agree after a few dozen steps, in float32 or float64 (docs/performance.md)."""
    nerf: bool = False
    """Instead: throughput (samples/s) of a training step (forward + backward) of the ``staf`` NeRF field
    (:class:`staf_nerfstudio.nerf.field.StafField`, 256-wide trunk) per STAF path, next to the SIREN field."""
    nerf_samples: Optional[int] = None
    """Samples per NeRF-field step; default 16384 on CPU, 262144 on CUDA."""
    psnr_steps: int = 200
    """Adam steps of the PSNR fit."""
    psnr_every: int = 20
    """Print the PSNR curves every this many steps."""
    psnr_dtype: Literal["float32", "float64"] = "float64"
    """Precision of the PSNR fits."""
    psnr_lr: float = 1e-4
    """Adam learning rate of the PSNR fits (the image preset's is 1e-3)."""
    image: str = "astronaut"
    """Image to fit: a bundled scikit-image name or a file."""
    seed: int = 0
    """Seed of the network's initialization."""
    lr: float = 1e-3
    """Adam learning rate of the timed steps."""
    out: Optional[Path] = None
    """Optional JSON file for the results."""


STAF_PATHS = ("reference", "autograd", "cpp", "triton")


def _resolve(cfg: BenchConfig) -> BenchConfig:
    device = cfg.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is visible to torch")
    on_cuda = device == "cuda"
    return dataclasses.replace(
        cfg,
        device=device,
        size=cfg.size or ((256 if on_cuda else 64) if cfg.psnr else (512 if on_cuda else 128)),
        steps=cfg.steps or (30 if on_cuda else 5),
        isolate=(not on_cuda) if cfg.isolate is None else cfg.isolate,
    )


def _config_names(cfg: BenchConfig) -> List[str]:
    if cfg.configs != "all":
        names = [c.strip() for c in cfg.configs.split(",") if c.strip()]
        unknown = [c for c in names if c not in ("siren", "default", "compile", *STAF_PATHS)]
        if unknown:
            raise SystemExit(
                f"--configs: unknown {unknown}; choose from siren, default, compile, {', '.join(STAF_PATHS)}"
            )
        return names
    names = ["siren", "default", "reference", "autograd", "triton" if cfg.device == "cuda" else "cpp"]
    return names + (["compile"] if cfg.compile else [])


def device_name(device: str) -> str:
    if device == "cuda":
        return f"{torch.cuda.get_device_name()} (torch {torch.__version__}, CUDA {torch.version.cuda})"
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    except OSError:
        pass
    return f"{model}, {torch.get_num_threads()} threads (torch {torch.__version__})"


def image_data(cfg: BenchConfig, device: str):
    """Pixel coordinates in [-1, 1] and RGB values in [-1, 1] of the ``size x size`` image."""
    image = load_image(cfg.image, size=(cfg.size, cfg.size))
    return grid_coords(cfg.size, cfg.size).to(device), image_to_values(image).to(device)


def build(name: str, seed: int, device: str) -> torch.nn.Module:
    """The network of one row, initialized from ``seed``."""
    torch.manual_seed(seed)
    if name in ("siren", "default"):
        model = "siren" if name == "siren" else "staf"
        return build_model(model, 2, 3, hidden_features=256, hidden_layers=3).to(device)
    impl = "autograd" if name == "compile" else name
    net = StafMLP(2, 256, 3, 3, tau=5, first_omega=60.0, hidden_omega=30.0, skip=True, init="official",
                  implementation=impl)
    net = net.to(device)
    return torch.compile(net) if name == "compile" else net


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _rss_mib() -> float:
    try:
        with open("/proc/self/statm", encoding="utf-8") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def _max_rss_mib() -> float:
    """Peak resident set size of this process (``ru_maxrss`` is KiB on Linux, bytes on macOS)."""
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return max_rss / 2**20 if sys.platform == "darwin" else max_rss / 2**10


def time_config(name: str, cfg: BenchConfig, tf32: bool) -> Dict:
    """Times ``cfg.steps`` training steps of one row (after ``cfg.warmup``) in this process."""
    device = cfg.device
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        torch.cuda.empty_cache()
    coords, values = image_data(cfg, device)
    model = build(name, cfg.seed, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    rss_before = _rss_mib()

    gen = torch.Generator(device=device).manual_seed(cfg.seed)

    def step() -> float:
        optimizer.zero_grad(set_to_none=True)
        if cfg.batch:
            idx = torch.randint(0, coords.shape[0], (cfg.batch,), device=device, generator=gen)
            loss = torch.nn.functional.mse_loss(model(coords[idx]), values[idx])
        else:
            loss = torch.nn.functional.mse_loss(model(coords), values)
        loss.backward()
        optimizer.step()
        return loss

    start = time.perf_counter()
    step()
    _sync(device)
    first = time.perf_counter() - start
    for _ in range(max(0, cfg.warmup - 1)):
        step()
    _sync(device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(cfg.steps):
        start = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - start)
    result = {
        "config": name,
        "tf32": tf32 if device == "cuda" else None,
        "ms": 1e3 * statistics.median(times),
        "first_s": first,
        "auto": name in STAF_PATHS and name == select_implementation(coords),
    }
    if device == "cuda":
        result["peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
    else:
        result["peak_mib"] = _max_rss_mib()
        result["rss_growth_mib"] = result["peak_mib"] - rss_before
    return result


def _run_isolated(name: str, cfg: BenchConfig, tf32: bool) -> Dict:
    payload = json.dumps({"name": name, "tf32": tf32, "cfg": {**dataclasses.asdict(cfg), "out": None}})
    proc = subprocess.run([sys.executable, __file__, "--worker-json", payload], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"configuration {name} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _fmt_ratio(value: float) -> str:
    return f"{value:.2f}x" if math.isfinite(value) else "-"


def print_table(results: List[Dict], cfg: BenchConfig) -> None:
    on_cpu = cfg.device == "cpu"
    mem = "max RSS MiB" if on_cpu else "peak alloc MiB"
    header = ["config", "ms/step", "x SIREN", "ref / this", mem, "mem x SIREN", "mem x ref"]
    header += ["RSS growth MiB"] if on_cpu else []
    header += ["first step s"]
    rows = []
    for tf32 in sorted({r["tf32"] for r in results}, key=lambda v: (v is not None, v)):
        group = [r for r in results if r["tf32"] == tf32]
        base = {r["config"]: r for r in group}
        siren, ref = base.get("siren"), base.get("reference")
        for r in group:
            label = r["config"] if r["config"] in ("siren", "compile") else f"staf {r['config']}"
            label = "staf default (registry)" if r["config"] == "default" else label
            label = "staf torch.compile(autograd)" if r["config"] == "compile" else label
            label += " (auto)" if r["auto"] else ""
            label += "" if tf32 is None else (" [TF32]" if tf32 else " [fp32]")
            row = [
                label,
                f"{r['ms']:.1f}",
                _fmt_ratio(r["ms"] / siren["ms"]) if siren else "-",
                _fmt_ratio(ref["ms"] / r["ms"]) if ref else "-",
                f"{r['peak_mib']:.0f}",
                _fmt_ratio(r["peak_mib"] / siren["peak_mib"]) if siren else "-",
                _fmt_ratio(r["peak_mib"] / ref["peak_mib"]) if ref else "-",
            ]
            row += [f"{r['rss_growth_mib']:.0f}"] if on_cpu else []
            row += [f"{r['first_s']:.1f}"]
            rows.append(row)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))


def bench(cfg: BenchConfig) -> List[Dict]:
    names = _config_names(cfg)
    tf32_modes = [None] if cfg.device == "cpu" else {"off": [False], "on": [True], "both": [False, True]}[cfg.tf32]
    print(f"device: {device_name(cfg.device)}")
    print(
        f"task: full-batch {cfg.size}x{cfg.size} image fit ({cfg.size**2} points), 2-256x4-3, tau 5, Adam; "
        f"median of {cfg.steps} steps after {cfg.warmup} warm-up; load average {os.getloadavg()[0]:.2f}"
    )
    results = []
    for tf32 in tf32_modes:
        for name in names:
            flag = bool(tf32)
            result = _run_isolated(name, cfg, flag) if cfg.isolate else time_config(name, cfg, flag)
            if tf32 is None:
                result["tf32"] = None
            results.append(result)
            print(
                f"  {name:>9}{'' if tf32 is None else (' TF32' if tf32 else ' fp32')}: {result['ms']:.1f} ms/step",
                file=sys.stderr,
                flush=True,
            )
    print_table(results, cfg)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return results


def fit_psnr(cfg: BenchConfig, implementation: str) -> List[float]:
    """PSNRs (dB, image in [0, 1]; clean evaluation passes) every ``cfg.psnr_every`` of ``cfg.psnr_steps`` full-batch
    Adam steps, in ``cfg.psnr_dtype``."""
    dtype = getattr(torch, cfg.psnr_dtype)
    coords, values = (t.to(dtype) for t in image_data(cfg, cfg.device))
    model = build(implementation, cfg.seed, cfg.device).to(dtype)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.psnr_lr)
    curve = []
    for step in range(1, cfg.psnr_steps + 1):
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.mse_loss(model(coords), values).backward()
        optimizer.step()
        if step % cfg.psnr_every == 0 or step == cfg.psnr_steps:
            with torch.no_grad():
                curve.append(psnr((model(coords) + 1) / 2, (values + 1) / 2))
    return curve


def check_psnr(cfg: BenchConfig) -> Dict:
    """Same-seed fits with the default path, the reference, and (as a control) the plain-torch autograd path."""
    fast = select_implementation(torch.zeros(1, device=cfg.device, dtype=getattr(torch, cfg.psnr_dtype)))
    paths = [fast, "reference"] + (["autograd"] if fast != "autograd" else [])
    print(f"device: {device_name(cfg.device)}")
    print(
        f"fit: {cfg.image} {cfg.size}x{cfg.size}, {cfg.psnr_steps} full-batch Adam steps, lr {cfg.psnr_lr}, "
        f"seed {cfg.seed}, {cfg.psnr_dtype}"
    )
    curves = {}
    for impl in paths:
        start = time.perf_counter()
        curves[impl] = fit_psnr(cfg, impl)
        print(f"  {impl:>9}: PSNR {curves[impl][-1]:.4f} dB ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    steps = [min(cfg.psnr_steps, (i + 1) * cfg.psnr_every) for i in range(len(curves[fast]))]
    print("| step | " + " | ".join(f"{p} PSNR" for p in paths) + f" | {fast} - reference |")
    print("|---" * (len(paths) + 2) + "|")
    for i, step in enumerate(steps):
        cells = [f"{curves[p][i]:.3f}" for p in paths] + [f"{curves[fast][i] - curves['reference'][i]:+.1e}"]
        print(f"| {step} | " + " | ".join(cells) + " |")
    diff = abs(curves[fast][-1] - curves["reference"][-1])
    agree = diff <= PSNR_AGREEMENT_DB
    print(
        f"|{fast} - reference| = {diff:.1e} dB after {cfg.psnr_steps} steps: "
        f"{'agree' if agree else 'DISAGREE'} (bound {PSNR_AGREEMENT_DB} dB)"
    )
    summary = {"fast": fast, "steps": steps, "psnr": curves, "difference_db": diff, "agree": agree}
    if "autograd" in curves and fast != "autograd":
        control = abs(curves["autograd"][-1] - curves["reference"][-1])
        summary["control_difference_db"] = control
        print(
            f"control: |autograd - reference| = {control:.1e} dB (two plain-torch formulations of the same math; "
            "when this also exceeds the bound, the fit amplifies rounding differences at this budget)"
        )
    return summary


def nerf_throughput(cfg: BenchConfig) -> List[Dict]:
    """Samples/s of one field step (density + colour forward, backward of their sum) per activation path."""
    from nerfstudio.cameras.rays import Frustums, RaySamples
    from nerfstudio.field_components.field_heads import FieldHeadNames

    from staf_nerfstudio.activation import StafActivation
    from staf_nerfstudio.nerf.field import StafField

    device = cfg.device
    samples = cfg.nerf_samples or (262144 if device == "cuda" else 16384)
    gen = torch.Generator().manual_seed(cfg.seed)
    origins = (torch.rand(samples, 3, generator=gen) * 2 - 1).to(device)
    directions = torch.nn.functional.normalize(torch.randn(samples, 3, generator=gen), dim=-1).to(device)
    starts = torch.rand(samples, 1, generator=gen).to(device)
    frustums = Frustums(origins, directions, starts, starts + 0.01, torch.full_like(starts, 1e-4))
    ray_samples = RaySamples(frustums=frustums, camera_indices=torch.zeros(samples, 1, dtype=torch.long, device=device))
    aabb = torch.tensor([[-1.5, -1.5, -1.5], [1.5, 1.5, 1.5]], device=device)
    paths = ["reference", "autograd", "triton" if device == "cuda" else "cpp"]
    rows = [("siren", None)] + [("staf", p) for p in paths]
    print(f"device: {device_name(device)}")
    print(f"NeRF field step: {samples} samples, forward (density + colour) and backward, median of {cfg.steps}")
    results = []
    for activation, path in rows:
        torch.manual_seed(cfg.seed)
        field = StafField(aabb, num_images=1, activation=activation).to(device)
        for module in field.modules():
            if isinstance(module, StafActivation):
                module.implementation = path
        if device == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        times = []
        for index in range(cfg.warmup + cfg.steps):
            field.zero_grad(set_to_none=True)
            _sync(device)
            start = time.perf_counter()
            outputs = field(ray_samples)
            (outputs[FieldHeadNames.DENSITY].sum() + outputs[FieldHeadNames.RGB].sum()).backward()
            _sync(device)
            if index >= cfg.warmup:
                times.append(time.perf_counter() - start)
        seconds = statistics.median(times)
        label = activation if path is None else f"staf {path}"
        result = {"config": label, "ms": 1e3 * seconds, "samples_per_s": samples / seconds}
        if device == "cuda":
            result["peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
        results.append(result)
        memory = f", peak {result['peak_mib']:.0f} MiB" if device == "cuda" else ""
        print(f"  {label:>15}: {result['ms']:.1f} ms/step, {result['samples_per_s'] / 1e6:.3f} M samples/s{memory}")
    return results


RATIO_WORKLOADS = (
    ("full batch 128x128", 128, None),
    ("full batch 512x512", 512, None),
    ("4096-pixel minibatch", 512, 4096),
)


def ratios(cfg: BenchConfig) -> List[Dict]:
    """The default STAF against SIREN: step time and peak memory ratios per workload (see ``BenchConfig.ratios``)."""
    print(f"device: {device_name(cfg.device)}; load average {os.getloadavg()[0]:.2f}")
    rows = []
    for label, size, batch in RATIO_WORKLOADS:
        sub = dataclasses.replace(cfg, size=size, batch=batch)
        pairs = []
        for repeat in range(cfg.ratio_repeats):
            order = ("siren", "default") if repeat % 2 == 0 else ("default", "siren")
            got = {}
            for name in order:
                got[name] = _run_isolated(name, sub, False) if cfg.isolate else time_config(name, sub, False)
            pairs.append(got)
        mem_key = "rss_growth_mib" if cfg.device == "cpu" else "peak_mib"
        step_x = statistics.median(p["default"]["ms"] / p["siren"]["ms"] for p in pairs)
        mem_x = statistics.median(p["default"][mem_key] / max(p["siren"][mem_key], 1e-9) for p in pairs)
        row = {
            "workload": label,
            "siren_ms": statistics.median(p["siren"]["ms"] for p in pairs),
            "staf_ms": statistics.median(p["default"]["ms"] for p in pairs),
            "step_x_siren": step_x,
            "siren_mem_mib": statistics.median(p["siren"][mem_key] for p in pairs),
            "staf_mem_mib": statistics.median(p["default"][mem_key] for p in pairs),
            "mem_x_siren": mem_x,
        }
        rows.append(row)
        print(f"  {label}: step {step_x:.2f}x, memory {mem_x:.2f}x", file=sys.stderr, flush=True)
    mem = "RSS growth MiB" if cfg.device == "cpu" else "peak alloc MiB"
    print(f"default STAF (build_model('staf', 2, 3, 256, 3)) vs SIREN, {cfg.steps} timed steps after {cfg.warmup}, "
          f"median of {cfg.ratio_repeats} alternating pairs; load average after {os.getloadavg()[0]:.2f}")  # fmt: skip
    print(f"| workload | SIREN ms | STAF ms | step x SIREN | SIREN {mem} | STAF {mem} | memory x SIREN |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['workload']} | {r['siren_ms']:.1f} | {r['staf_ms']:.1f} | {r['step_x_siren']:.2f}x | "
            f"{r['siren_mem_mib']:.0f} | {r['staf_mem_mib']:.0f} | {r['mem_x_siren']:.2f}x |"
        )
    return rows


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker-json"]:  # one isolated configuration (see _run_isolated)
        payload = json.loads(argv[1])
        cfg = BenchConfig(**{**payload["cfg"], "out": None})
        print(json.dumps(time_config(payload["name"], cfg, payload["tf32"])))
        return 0
    cfg = _resolve(tyro.cli(BenchConfig, args=argv, description=__doc__.split("\n\n")[0]))
    if cfg.psnr:
        summary = check_psnr(cfg)
        ok = summary["agree"]
    elif cfg.nerf:
        summary = {"device": device_name(cfg.device), "nerf": nerf_throughput(cfg)}
        ok = True
    elif cfg.ratios:
        summary = {"device": device_name(cfg.device), "ratios": ratios(cfg)}
        ok = True
    else:
        summary = {"device": device_name(cfg.device), "config": dataclasses.asdict(cfg), "rows": bench(cfg)}
        ok = True
    if cfg.out is not None:
        write_json(cfg.out, json.loads(json.dumps(summary, default=str)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
