"""``staf-bench``: train several models on one task under the same budget and seeds; write a table and figures."""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from staf_nerfstudio.io import write_json, write_text
from staf_nerfstudio.plotting import pyplot, save_figure
from staf_tasks.errors import StafUserError
from staf_tasks.models import MODEL_NAMES
from staf_tasks.plots import plot_curves
from staf_tasks.tasks import FitConfig, Task
from staf_tasks.validate import check_fit_config, check_output_folder, check_resume


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


def run_config(base: FitConfig, bench_dir: Path, model: str, seed: int, resume: Optional[Path] = None) -> FitConfig:
    """The config of one (model, seed) run of a sweep: its folder is ``bench_dir/MODEL-seedSEED``."""
    return dataclasses.replace(base, model=model, seed=seed, output_dir=bench_dir, name=f"{model}-seed{seed}",
                               overwrite=resume is None, resume=resume, config=None)


def plan_runs(task: Task, base: FitConfig, bench_dir: Path, models: List[str], seeds: int,
              resume: bool) -> Dict[Tuple[str, int], str]:
    """Which (model, seed) runs a sweep still has to do, checked before anything is written.

    Returns ``{(model, seed): "done" | "resume" | "run"}``: ``done`` runs (finished with the sweep's settings) are
    reused, ``resume`` runs continue from their checkpoint, ``run`` runs start afresh. An existing ``bench_dir`` is
    refused unless ``resume`` or ``base.overwrite``; with ``resume``, a run folder trained with other settings is
    refused (see :func:`staf_tasks.validate.check_resume`).
    """
    from staf_tasks.runner import CONFIG_NAME, METRICS_NAME, checkpoint_epoch, load_run_config
    from staf_tasks.training import CHECKPOINT_NAME

    if seeds < 1:
        raise StafUserError(f"--seeds must be >= 1, got {seeds}")
    check_fit_config(base)
    check_output_folder(bench_dir)
    if resume and base.overwrite:
        raise StafUserError("staf-bench: pass --resume (keep finished runs) or --overwrite (replace them), not both")
    if resume and not bench_dir.is_dir():
        raise StafUserError(f"staf-bench --resume: {bench_dir} does not exist; start the sweep without --resume")
    if not resume and not base.overwrite and bench_dir.is_dir() and any(bench_dir.iterdir()):
        raise StafUserError(f"{bench_dir} already holds a sweep's results; pass --resume to finish it (finished runs "
                            "are kept), --overwrite to replace it, or --name for a new folder")
    plan = {}
    for model in models:
        for seed in range(base.seed, base.seed + seeds):
            run_dir = bench_dir / f"{model}-seed{seed}"
            state = "run"
            if resume and (run_dir / CHECKPOINT_NAME).exists() and (run_dir / CONFIG_NAME).exists():
                _, saved = load_run_config(run_dir)
                done = checkpoint_epoch(run_dir)
                check_resume(run_dir, saved, run_config(base, bench_dir, model, seed, run_dir), done)
                state = "done" if (run_dir / METRICS_NAME).exists() and done == base.train.epochs else "resume"
            plan[(model, seed)] = state
    return plan


def run_bench(task: Task, base: FitConfig, models: List[str], seeds: int, resume: bool = False) -> Dict:
    """Fits every model with seeds ``base.seed .. base.seed + seeds - 1``; returns the results dict it writes.

    With ``resume``, finished (model, seed) runs in the sweep's folder are kept and interrupted ones continued.
    """
    from staf_tasks.runner import METRICS_NAME, run_task

    bench_dir = Path(base.output_dir) / (base.name or f"bench-{task.name}")
    plan = plan_runs(task, base, bench_dir, models, seeds, resume)
    primary = task.primary_metric
    rows, curves, bands, previews = [], {}, {}, {}
    for model in models:
        finals, bests, times, histories, params = [], [], [], [], None
        extra: Dict[str, List[float]] = {}
        for k in range(seeds):
            seed = base.seed + k
            run_dir = bench_dir / f"{model}-seed{seed}"
            if plan[(model, seed)] == "done":
                m = json.loads((run_dir / METRICS_NAME).read_text())
            else:
                cfg = run_config(base, bench_dir, model, seed, run_dir if plan[(model, seed)] == "resume" else None)
                m = run_task(task.name, cfg).metrics
            params = m["parameters"]
            finals.append(m["final"][primary])
            bests.append(m["best_during_training"].get(primary, math.nan))
            times.append(m["wall_time_s"])
            histories.append(m["history"])
            for key, value in m["final"].items():
                if key != primary and isinstance(value, (int, float)):
                    extra.setdefault(key, []).append(float(value))
            if k == 0:
                previews[model] = run_dir / task.preview_file
        mean, spread = _mean_spread(finals)
        best_mean, _ = _mean_spread(bests)
        row = {"model": model, f"{primary}_mean": mean, f"{primary}_std": spread, f"best_{primary}_during_training":
               best_mean, "parameters": params, "wall_time_s": statistics.fmean(times), "seeds": seeds,
               "per_seed": finals}
        for key, values in extra.items():
            row[f"{key}_mean"], row[f"{key}_std"] = _mean_spread(values)
        rows.append(row)
        # Mean curve over seeds (rows share their evaluation steps).
        steps = [r["step"] for r in histories[0]]
        stacked = np.array([[r.get(primary, np.nan) for r in h[: len(steps)]] for h in histories])
        curves[model] = [{"step": s, primary: v} for s, v in zip(steps, np.nanmean(stacked, axis=0))]
        if seeds > 1:
            bands[model] = (steps, np.nanmin(stacked, axis=0), np.nanmax(stacked, axis=0))
    rows.sort(key=lambda r: -r[f"{primary}_mean"] if math.isfinite(r[f"{primary}_mean"]) else math.inf)
    results = {"task": task.name, "metric": primary, "seeds": seeds, "rows": rows, "output_dir": str(bench_dir),
               "config": dataclasses.asdict(dataclasses.replace(base, output_dir=str(base.output_dir)))}
    write_json(bench_dir / "results.json", results)
    write_text(bench_dir / "table.md", format_table(rows, primary, task.name, seeds))
    plot_curves(bench_dir / "curves.png", curves, metric=primary, title=f"{task.name}: clean evaluation "
                f"passes, mean over {seeds} seed(s)" + (" (band: min-max)" if seeds > 1 else ""), bands=bands)
    plot_previews(bench_dir / "reconstructions.png", previews, {r["model"]: r for r in rows}, primary)
    return results


def format_table(rows: List[Dict], primary: str, task: str, seeds: int) -> str:
    others = sorted({k[: -len("_mean")] for r in rows for k in r if k.endswith("_mean") and k != f"{primary}_mean"})
    head = ["model", f"{primary} (mean ± std)"] + others + [f"best {primary} during training", "parameters",
                                                            "wall time (s)"]
    lines = [f"{task}: clean evaluation pass after training, {seeds} seed(s)", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["model"], f"{r[f'{primary}_mean']:.3f} ± {r[f'{primary}_std']:.3f}"]
        cells += [f"{r.get(f'{o}_mean', math.nan):.4f}" for o in others]
        cells += [f"{r[f'best_{primary}_during_training']:.3f}", f"{r['parameters']:,}", f"{r['wall_time_s']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_previews(path: Path, previews: Dict[str, Path], rows: Dict[str, Dict], primary: str) -> Path:
    import imageio.v3 as iio

    plt = pyplot()
    fig, axes = plt.subplots(1, len(previews), figsize=(3.6 * len(previews), 3.9), squeeze=False)
    for ax, (model, file) in zip(axes[0], previews.items()):
        image = iio.imread(file)
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
        ax.set_title(f"{model}: {rows[model][f'{primary}_mean']:.3f}", fontsize=10)
        ax.axis("off")
    return save_figure(fig, path)
