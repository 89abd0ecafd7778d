"""The demo behind ``make demo``: fit scikit-image's astronaut (512x512) with STAF (the package's default) and with
SIREN under the same budget, on a budget that finishes in a few minutes on 2 CPU cores, and write the pictures
(side by side, PSNR curves) and metrics; then train ``ns-train staf`` briefly on a generated scene.

The terminal shows the package's own progress (a bar per image fit, one line per NeRF stage) and the summary;
nerfstudio's output (its config dump, deprecation warnings, profiler report) goes to ``nerf/nerfstudio.log`` in the
demo's folder."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, TextIO

from staf_nerfstudio.io import write_json
from staf_tasks.compare import compare_curves, compare_images
from staf_tasks.errors import command_entry
from staf_tasks.tasks.image import ImageFitConfig

DEMO_MODELS = ("staf", "siren")
"""The demo's image fits, in the order they are shown."""


@dataclass
class DemoConfig:
    """Fit the built-in astronaut with STAF and SIREN (the image defaults, a short budget)."""

    output_dir: Path = Path("outputs/demo")
    """Folder for everything the demo writes."""
    epochs: int = 10
    """Passes over the 262,144 pixels (the paper uses 501; 10 takes a few minutes on 2 CPU cores)."""
    quick: bool = False
    """A smoke-test budget (64x64 image, 2 epochs; a smaller NeRF scene): well under a minute per part."""
    nerf: bool = True
    """Also train `ns-train staf` briefly on a generated scene and render a test view (--no-nerf skips it)."""


NERF_LOG = "nerfstudio.log"
"""The file in the demo's ``nerf/`` folder that receives everything nerfstudio prints."""


@contextlib.contextmanager
def output_to_log(path: Path) -> Iterator[TextIO]:
    """Sends everything printed inside the block to ``path`` (appended): Python's ``sys.stdout`` / ``sys.stderr``,
    the warnings shown through them, and the process's file descriptors 1 and 2 (the output of C code and of child
    processes). Yields a stream that still reaches the terminal, for the caller's progress lines."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", buffering=1) as log:
        saved = []
        for fd in (1, 2):
            try:
                saved.append((fd, os.dup(fd)))
            except OSError:  # not open
                continue
        try:
            stdout_is_fd1 = sys.stdout.fileno() == 1
        except (AttributeError, OSError, io.UnsupportedOperation):  # a captured stream (pytest, a notebook)
            stdout_is_fd1 = False
        copies = dict(saved)
        terminal = os.fdopen(os.dup(copies[1]), "w", buffering=1) if stdout_is_fd1 and 1 in copies else sys.stdout
        for fd, _ in saved:
            os.dup2(log.fileno(), fd)
        previous = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = log
        try:
            yield terminal
        finally:
            sys.stdout, sys.stderr = previous
            log.flush()
            for fd, copy in saved:
                os.dup2(copy, fd)
                os.close(copy)
            if terminal is not previous[0]:
                terminal.close()


def _run_nerf(out_dir: Path, quick: bool) -> dict:
    """The NeRF part, quiet: one line per stage on the terminal, nerfstudio's output in ``out_dir/nerfstudio.log``."""
    log_path = out_dir / NERF_LOG
    log_path.unlink(missing_ok=True)  # this run's output only
    start = time.perf_counter()
    print(f"\nTraining the nerfstudio method `staf` on a generated scene (CPU) -> {out_dir}/ "
          f"(nerfstudio's output: {log_path})", flush=True)
    try:
        with output_to_log(log_path) as terminal:

            def stage(line: str) -> None:
                print(f"  NeRF, {time.perf_counter() - start:4.0f} s: {line}", file=terminal, flush=True)

            from staf_nerfstudio.nerf.demo import run_nerf_demo

            nerf = run_nerf_demo(out_dir, quick=quick, progress=stage)
    except BaseException:
        print(f"The NeRF part stopped; nerfstudio's output is in {log_path}", file=sys.stderr)
        raise
    print(f"  NeRF, {time.perf_counter() - start:4.0f} s: done (test-view PSNR {nerf['psnr']:.2f} dB)")
    return nerf


def _main(args) -> int:
    import tyro

    from staf_tasks.runner import run_task

    cfg = tyro.cli(DemoConfig, args=args, prog="staf-demo")
    start = time.perf_counter()
    report = {}
    summaries = {}
    for model in DEMO_MODELS:
        image_cfg = ImageFitConfig(output_dir=cfg.output_dir, name=f"image-{model}", model=model, overwrite=True)
        image_cfg = dataclasses.replace(
            image_cfg,
            size=(64, 64) if cfg.quick else None,
            train=dataclasses.replace(image_cfg.train, epochs=2 if cfg.quick else cfg.epochs, eval_every=1),
        )
        print(f"Fitting astronaut {'64x64' if cfg.quick else '512x512'} with {model.upper()} "
              f"({image_cfg.train.epochs} epochs of 4096-pixel batches) -> {cfg.output_dir}/image-{model}/")
        summary = summaries[model] = run_task("image", image_cfg)
        final = summary.metrics["final"]
        report[f"image_{model}"] = {
            "run_dir": str(summary.run_dir),
            "psnr": final["psnr"],
            "ssim": final["ssim"],
            "epochs": image_cfg.train.epochs,
            "wall_time_s": summary.metrics["wall_time_s"],
        }
    runs = [(summaries[m].run_dir, m.upper()) for m in DEMO_MODELS]
    side_by_side = compare_images(cfg.output_dir / "staf_vs_siren.png", runs)
    curves = compare_curves(cfg.output_dir / "staf_vs_siren_curves.png", runs, title="astronaut: PSNR against step")
    if cfg.nerf:
        nerf = _run_nerf(cfg.output_dir / "nerf", cfg.quick)
        report["nerf"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in nerf.items()}
    report["wall_time_s"] = time.perf_counter() - start
    write_json(cfg.output_dir / "summary.json", report)
    print()
    for model in DEMO_MODELS:
        image = report[f"image_{model}"]
        print(f"Image, {model.upper():5s}: PSNR {image['psnr']:.2f} dB, SSIM {image['ssim']:.3f} after "
              f"{image['epochs']} epochs ({image['wall_time_s']:.0f} s)")
    print(f"Pictures: {side_by_side} (target | STAF | SIREN), {curves}; each run's folder holds comparison.png, "
          "reconstruction.png, curves.png and metrics.json")
    if cfg.nerf:
        print(f"NeRF: test-view PSNR {nerf['psnr']:.2f} dB after {nerf['iterations']} iterations "
              f"({nerf['wall_time_s']:.0f} s); rendered | ground truth: {nerf['image']}")
        print(f"      enlarged 4x with labels: {nerf['image_x4']}; an orbit around the scene: {nerf['orbit']}")
        print(f"      the run works with ns-eval / ns-render / ns-export: --load-config {nerf['config']}")
        print(f"      nerfstudio's own output (config, warnings, profiler): {cfg.output_dir / 'nerf' / NERF_LOG}")
    print(f"Demo finished in {report['wall_time_s']:.0f} s; outputs under {cfg.output_dir}/")
    return 0


entrypoint = command_entry(_main)
