"""One picture of several runs: image-task runs (image, sr, denoise) side by side (the task's input, the clean target
and each run's reconstruction with its PSNR/SSIM), or with --curves the metric-vs-step curves of runs of any task on
one plot. Used for the README's pictures.

    python benchmarks/compare_runs.py docs/images/sr.png RUN_DIR[=LABEL] RUN_DIR[=LABEL] ...
    python benchmarks/compare_runs.py --curves docs/images/curves.png RUN_DIR[=LABEL] ...
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import imageio.v3 as iio
import numpy as np

from staf_tasks.plots import plot_curves, plot_side_by_side
from staf_tasks.runner import load_run_config
from staf_tasks.tasks import get_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="picture to write (PNG or JPEG)")
    parser.add_argument("runs", nargs="+", help="run folders written by staf-fit / staf-bench, each optionally =LABEL")
    parser.add_argument("--curves", action="store_true", help="plot the runs' metric against step instead")
    args = parser.parse_args()

    runs = []
    for spec in args.runs:
        path, _, label = spec.partition("=")
        runs.append((Path(path), label or load_run_config(Path(path))[1].model))
    if args.curves:
        curves = {}
        for run_dir, label in runs:
            metrics = json.loads((run_dir / "metrics.json").read_text())
            curves[label] = metrics["history"]
        metric = "psnr" if "psnr" in metrics["final"] else "iou"
        plot_curves(args.out, curves, metric=metric, title=f"{metrics['task']}: clean evaluation passes")
        print(f"wrote {args.out}")
        return
    task_name, cfg = load_run_config(runs[0][0])
    task = get_task(task_name)
    prepared = task.prepare(cfg)
    target = prepared.state["target"]
    images, titles = task.reference_panels(prepared)
    for run_dir, label in runs:
        final = json.loads((run_dir / "metrics.json").read_text())["final"]
        recon = iio.imread(run_dir / "reconstruction.png").astype(np.float32) / 255.0
        if recon.shape != target.shape:
            raise SystemExit(f"{run_dir}: reconstruction {recon.shape} does not match the target {target.shape}")
        images.append(recon)
        titles.append(f"{label}\n{final['psnr']:.2f} dB, SSIM {final['ssim']:.3f}")
    plot_side_by_side(args.out, images, titles)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
