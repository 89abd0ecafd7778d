"""Several finished runs in one picture: image-task runs (image, sr, denoise) side by side with the task's reference
panels, or the metric-vs-step curves of runs of any task on one plot. Used by ``staf-demo`` and
``benchmarks/compare_runs.py``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional, Sequence, Tuple

import imageio.v3 as iio
import numpy as np

from staf_tasks.errors import StafUserError
from staf_tasks.plots import plot_curves, plot_side_by_side

RunSpec = Tuple[Path, str]
"""A run folder and the label to show for it."""


def _metrics(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / "metrics.json").read_text())


def compare_images(path: Path | str, runs: Sequence[RunSpec]) -> Path:
    """The task's reference panels (input, clean target, ...) and each run's reconstruction with its PSNR/SSIM.

    Raises:
        StafUserError: a reconstruction's size differs from the first run's target.
    """
    from staf_tasks.runner import load_run_config
    from staf_tasks.tasks import get_task

    task_name, cfg = load_run_config(runs[0][0])
    task = get_task(task_name)
    prepared = task.prepare(cfg)
    target = prepared.state["target"]
    images, titles = task.reference_panels(prepared)
    for run_dir, label in runs:
        final = _metrics(run_dir)["final"]
        recon = iio.imread(Path(run_dir) / "reconstruction.png").astype(np.float32) / 255.0
        if recon.shape != target.shape:
            raise StafUserError(f"{run_dir}: reconstruction {recon.shape} does not match the target {target.shape}; "
                                "compare runs of the same signal and size")
        images.append(recon)
        titles.append(f"{label}\n{final['psnr']:.2f} dB, SSIM {final['ssim']:.3f}")
    return plot_side_by_side(path, images, titles)


def compare_curves(path: Path | str, runs: Sequence[RunSpec], title: Optional[str] = None) -> Path:
    """Each run's clean-evaluation metric (PSNR, or IoU for shapes) against step, on one plot."""
    curves = {}
    for run_dir, label in runs:
        metrics = _metrics(run_dir)
        curves[label] = metrics["history"]
    metric = "psnr" if "psnr" in metrics["final"] else "iou"
    return plot_curves(path, curves, metric=metric, title=title or f"{metrics['task']}: clean evaluation passes")
