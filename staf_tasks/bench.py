"""``staf-bench``: train several models on one task (one or many signals) under the same budget and seeds, in this
process or on Ray (:mod:`staf_tasks.sweep`); write a table and figures."""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence

import numpy as np

from staf_nerfstudio.io import write_json, write_text
from staf_nerfstudio.plotting import pyplot, save_figure
from staf_nerfstudio.settings import MODEL_NAMES
from staf_tasks.errors import StafUserError, interrupt_hint
from staf_tasks.sweep import (
    RayOptions,
    Runner,
    describe,
    finished_result,
    run_fits,
    run_one,
    signal_labels,
    sweep_configs,
)
from staf_tasks.task_configs import FitConfig
from staf_tasks.validate import check_fit_config, check_output_folder, check_resume, check_run_options

if TYPE_CHECKING:
    from staf_tasks.tasks import Task


def parse_models(text: str) -> List[str]:
    names = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in names if m not in MODEL_NAMES]
    if not names or unknown:
        raise StafUserError(f"--models: unknown model(s) {unknown or text!r}; choose from {','.join(MODEL_NAMES)}")
    return names


def _mean_spread(values: List[float]) -> tuple:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return math.nan, math.nan
    return statistics.fmean(finite), (statistics.stdev(finite) if len(finite) > 1 else 0.0)


def plan_runs(base: FitConfig, bench_dir: Path, configs: Sequence[FitConfig], resume: bool,
              task_name: Optional[str] = None, locked: bool = False) -> List[str]:
    """Which runs of a sweep (one config per signal, model and seed) still have to be done, checked before anything
    is written.

    Returns one of ``"done" | "resume" | "run"`` per config: ``done`` runs (finished with the sweep's settings) are
    reused, ``resume`` runs continue from their checkpoint, ``run`` runs start afresh. An existing ``bench_dir`` is
    refused unless ``resume`` or ``base.overwrite``; with ``resume``, a run folder trained with other settings is
    refused (see :func:`staf_tasks.validate.check_resume`); so is a sweep or run folder another process is writing,
    and (with ``task_name``) a fit whose tensors would not fit in memory.
    """
    from staf_nerfstudio.locking import LOCK_NAME
    from staf_tasks.config import RUN_CONFIG_NAME
    from staf_tasks.runner import (
        METRICS_NAME,
        busy_check,
        check_fit_memory,
        checkpoint_epoch,
        load_run_config,
    )
    from staf_tasks.tasks import get_task
    from staf_tasks.training import CHECKPOINT_NAME

    check_fit_config(base)
    check_run_options(base)
    check_output_folder(bench_dir)
    if resume and base.overwrite:
        raise StafUserError("staf-bench: pass --resume (keep finished runs) or --overwrite (replace them), not both")
    if resume and not bench_dir.is_dir():
        raise StafUserError(f"staf-bench --resume: {bench_dir} does not exist; start the sweep without --resume")
    if not locked:  # (``locked``: this process holds the sweep folder's lock)
        busy_check(bench_dir, "sweep folder")
    held = bench_dir.is_dir() and any(p.name != LOCK_NAME for p in bench_dir.iterdir())
    if not resume and not base.overwrite and held:
        raise StafUserError(f"{bench_dir} already holds a sweep's results; pass --resume to finish it (finished runs "
                            "are kept), --overwrite to replace it, or --name for a new folder")
    task = get_task(task_name) if task_name else None
    plan = []
    for cfg in configs:
        run_dir = Path(cfg.output_dir) / cfg.name
        busy_check(run_dir, "run folder")
        if task is not None:
            check_fit_memory(task, cfg)
        state = "run"
        if resume and (run_dir / CHECKPOINT_NAME).exists() and (run_dir / RUN_CONFIG_NAME).exists():
            _, saved = load_run_config(run_dir)
            done = checkpoint_epoch(run_dir)
            check_resume(run_dir, saved, resumed(cfg), done)
            state = "done" if (run_dir / METRICS_NAME).exists() and done == cfg.train.epochs else "resume"
        plan.append(state)
    return plan


def resumed(cfg: FitConfig) -> FitConfig:
    """The config of a sweep's run that continues from the checkpoint in its folder."""
    return dataclasses.replace(cfg, resume=Path(cfg.output_dir) / cfg.name, overwrite=False)


def _aggregate(results: List[Dict], models: List[str], primary: str, seeds: int) -> List[Dict]:
    """One row per model over the given fits (mean and spread of the final metric, failed fits listed)."""
    rows = []
    for model in models:
        fits = [r for r in results if r["model"] == model]
        done = [r["metrics"] for r in fits if r["status"] == "ok"]
        finals = [m["final"][primary] for m in done]
        mean, spread = _mean_spread(finals)
        best_mean, _ = _mean_spread([m["best_during_training"].get(primary, math.nan) for m in done])
        row = {"model": model, f"{primary}_mean": mean, f"{primary}_std": spread, f"best_{primary}_during_training":
               best_mean, "parameters": done[0]["parameters"] if done else None,
               "wall_time_s": statistics.fmean(m["wall_time_s"] for m in done) if done else math.nan,
               "seeds": seeds, "per_seed": finals,
               "failed": [{"signal": r["signal"], "seed": r["seed"], "error": r["error"]} for r in fits
                          if r["status"] != "ok"]}
        extra: Dict[str, List[float]] = {}
        for m in done:
            for key, value in m["final"].items():
                if key != primary and isinstance(value, (int, float)):
                    extra.setdefault(key, []).append(float(value))
        for key, values in extra.items():
            row[f"{key}_mean"], row[f"{key}_std"] = _mean_spread(values)
        rows.append(row)
    rows.sort(key=lambda r: -r[f"{primary}_mean"] if math.isfinite(r[f"{primary}_mean"]) else math.inf)
    return rows


def _curves(results: List[Dict], models: List[str], primary: str) -> tuple:
    """Mean curve per model over its finished fits that share the first one's evaluation steps; min-max bands."""
    curves, bands = {}, {}
    for model in models:
        histories = [r["metrics"]["history"] for r in results if r["model"] == model and r["status"] == "ok"]
        if not histories:
            continue
        steps = [row["step"] for row in histories[0]]
        histories = [h for h in histories if [row["step"] for row in h] == steps]
        stacked = np.array([[row.get(primary, np.nan) for row in h] for h in histories])
        curves[model] = [{"step": s, primary: v} for s, v in zip(steps, np.nanmean(stacked, axis=0))]
        if len(histories) > 1:
            bands[model] = (steps, np.nanmin(stacked, axis=0), np.nanmax(stacked, axis=0))
    return curves, bands


def run_bench(
    task: Task,
    base: FitConfig,
    models: List[str],
    seeds: int,
    signals: Optional[Sequence[Optional[str]]] = None,
    ray: Optional[RayOptions] = None,
    runner: Runner = run_one,
    log: Callable[[str], None] = print,
    resume: bool = False,
) -> Dict:
    """Fits every signal x model x seed (seeds ``base.seed .. base.seed + seeds - 1``; signals default to
    ``base.data``), one after another or as Ray tasks; returns the results dict it writes.

    With ``resume``, the runs in the sweep's folder that finished with the same settings are kept (their results
    read from their metrics.json) and interrupted ones continued; without it (or ``base.overwrite``) an existing
    sweep folder is refused before anything is written.
    """
    if seeds < 1:
        raise StafUserError(f"--seeds must be >= 1, got {seeds}")
    signals = list(signals) if signals else [base.data]
    bench_dir = Path(base.output_dir) / (base.name or f"bench-{task.name}")
    if ray is not None:
        base = dataclasses.replace(base, progress=False)  # the sweep logs one line per finished fit instead
    configs = sweep_configs(base, signals, models, seeds, bench_dir)
    plan = plan_runs(base, bench_dir, configs, resume, task.name)
    from staf_tasks.runner import writer_lock

    created = not bench_dir.exists()
    bench_dir.mkdir(parents=True, exist_ok=True)
    try:
        with writer_lock(bench_dir, "sweep folder"):
            # What was checked before the lock may have changed meanwhile (another sweep finished): plan again.
            plan = plan_runs(base, bench_dir, configs, resume, locked=True)
            with interrupt_hint(lambda: f"the finished runs stay in {bench_dir}; continue the sweep with the same "
                                        "command and --resume"):
                return _run_sweep(task, base, models, seeds, signals, ray, runner, log, bench_dir, configs, plan)
    except BaseException:
        if created and not any(bench_dir.iterdir()):
            bench_dir.rmdir()  # refused or stopped before any run was written: leave no empty folder behind
        raise


def _run_sweep(task: Task, base: FitConfig, models: List[str], seeds: int, signals: List[Optional[str]],
               ray: Optional[RayOptions], runner: Runner, log: Callable[[str], None], bench_dir: Path,
               configs: List[FitConfig], plan: List[str]) -> Dict:
    primary = task.primary_metric
    per_signal = len(models) * seeds
    previews = [i < per_signal and cfg.seed == base.seed for i, cfg in enumerate(configs)]
    results: List[Optional[Dict]] = [
        finished_result(task.name, cfg, preview) if state == "done" else None
        for cfg, preview, state in zip(configs, previews, plan)
    ]
    todo = [i for i, state in enumerate(plan) if state != "done"]
    for i in range(len(configs)):
        if results[i] is not None:
            log(f"[kept] {describe(results[i], primary)}")
    started = time.perf_counter()
    fitted = run_fits(task.name, [resumed(configs[i]) if plan[i] == "resume" else configs[i] for i in todo],
                      [previews[i] for i in todo], ray=ray, runner=runner,
                      on_result=lambda r, done, total: log(f"[{done}/{total}] {describe(r, primary)}")) if todo else []
    sweep_s = time.perf_counter() - started
    for i, result in zip(todo, fitted):
        results[i] = result
    rows = _aggregate(results, models, primary, seeds)
    out = {"task": task.name, "metric": primary, "seeds": seeds, "signals": signals, "rows": rows,
           "output_dir": str(bench_dir), "executor": "ray" if ray is not None else "sequential",
           "ray_address": (ray.address or "local") if ray is not None else None, "sweep_wall_time_s": sweep_s,
           "config": dataclasses.asdict(dataclasses.replace(base, output_dir=str(base.output_dir))),
           "fits": [{k: r.get(k) for k in ("signal", "model", "seed", "status", "error", "run_dir")}
                    | {"final": r["metrics"]["final"] if r["status"] == "ok" else None} for r in results]}
    text = format_table(rows, primary, task.name, seeds, len(signals))
    if len(signals) > 1:
        labels = signal_labels(signals)
        out["per_signal"] = {label: _aggregate(results[i * per_signal : (i + 1) * per_signal], models, primary,
                                               seeds) for i, label in enumerate(labels)}
        text += "\n" + "\n".join(format_table(r, primary, f"{task.name} on {label}", seeds)
                                  for label, r in out["per_signal"].items())
    write_json(bench_dir / "results.json", out)
    write_text(bench_dir / "table.md", text)
    from staf_tasks.plots import plot_curves  # imports torch: only once the fits have run

    curves, bands = _curves(results, models, primary)
    plot_curves(bench_dir / "curves.png", curves, metric=primary, title=f"{task.name}: clean evaluation "
                f"passes, mean over {seeds} seed(s)" + (" (band: min-max)" if bands else ""), bands=bands)
    pictures = {r["model"]: r["preview"] for r in results if r.get("preview")}
    if pictures:
        plot_previews(bench_dir / "reconstructions.png", pictures, {r["model"]: r for r in rows}, primary)
    return out


def format_table(rows: List[Dict], primary: str, task: str, seeds: int, signals: int = 1) -> str:
    others = sorted({k[: -len("_mean")] for r in rows for k in r if k.endswith("_mean") and k != f"{primary}_mean"})
    any_failed = any(r.get("failed") for r in rows)
    head = ["model", f"{primary} (mean ± std)"] + others + [f"best {primary} during training", "parameters",
                                                            "wall time (s)"] + (["failed fits"] if any_failed else [])
    over = f"{seeds} seed(s)" + (f" x {signals} signals" if signals > 1 else "")
    lines = [f"{task}: clean evaluation pass after training, {over}", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["model"], f"{r[f'{primary}_mean']:.3f} ± {r[f'{primary}_std']:.3f}"]
        cells += [f"{r.get(f'{o}_mean', math.nan):.4f}" for o in others]
        params = f"{r['parameters']:,}" if r["parameters"] is not None else "-"
        cells += [f"{r[f'best_{primary}_during_training']:.3f}", params, f"{r['wall_time_s']:.1f}"]
        if any_failed:
            cells.append("; ".join(f"{f['signal'] or 'default'} seed {f['seed']}: {f['error']}".replace("|", "/")
                                   for f in r.get("failed", [])) or "0")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_previews(path: Path, previews: Dict[str, bytes], rows: Dict[str, Dict], primary: str) -> Path:
    """The preview picture of each model (PNG bytes) side by side, titled with its metric."""
    import imageio.v3 as iio

    plt = pyplot()
    fig, axes = plt.subplots(1, len(previews), figsize=(3.6 * len(previews), 3.9), squeeze=False)
    for ax, (model, png) in zip(axes[0], previews.items()):
        image = iio.imread(png, extension=".png")
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
        ax.set_title(f"{model}: {rows[model][f'{primary}_mean']:.3f}", fontsize=10)
        ax.axis("off")
    return save_figure(fig, path)
