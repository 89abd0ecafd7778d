"""One picture of several runs: image-task runs (image, sr, denoise) side by side (the task's input, the clean target
and each run's reconstruction with its PSNR/SSIM), or with --curves the metric-vs-step curves of runs of any task on
one plot. Used for the pictures in docs/images/

    python benchmarks/compare_runs.py docs/images/sr.png RUN_DIR[=LABEL] RUN_DIR[=LABEL] ...
    python benchmarks/compare_runs.py --curves docs/images/curves.png [--title TITLE] RUN_DIR[=LABEL] ...
"""

from __future__ import annotations

import argparse
from pathlib import Path

from staf_tasks.compare import compare_curves, compare_images
from staf_tasks.errors import StafUserError
from staf_tasks.runner import load_run_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="picture to write (PNG or JPEG)")
    parser.add_argument("runs", nargs="+", help="run folders written by staf-fit / staf-bench, each optionally =LABEL")
    parser.add_argument("--curves", action="store_true", help="plot the runs' metric against step instead")
    parser.add_argument("--title", default=None, help="title of the curves plot (default: the task's name)")
    args = parser.parse_args()

    runs = []
    for spec in args.runs:
        path, _, label = spec.partition("=")
        runs.append((Path(path), label or load_run_config(Path(path))[1].model))
    try:
        if args.curves:
            compare_curves(args.out, runs, title=args.title)
        else:
            compare_images(args.out, runs)
    except StafUserError as err:  # e.g. runs of different sizes: one line, as before, not a traceback
        raise SystemExit(str(err)) from None
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
