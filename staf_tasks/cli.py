"""Console commands: ``staf-fit``, ``staf-render``, ``staf-bench`` and ``staf-activations``.

User errors (a missing file, a bad option) print one line and exit with status 2, without a traceback.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

import tyro

from staf_tasks.errors import StafUserError


def _guard(main: Callable[[List[str]], int]) -> Callable[[Optional[Sequence[str]]], None]:
    def entry(argv: Optional[Sequence[str]] = None) -> None:
        args = list(sys.argv[1:] if argv is None else argv)
        try:
            code = main(args)
        except StafUserError as err:
            print(f"error: {err}", file=sys.stderr)
            raise SystemExit(2) from None
        except KeyboardInterrupt:
            print("interrupted; the run folder keeps its last checkpoint (continue with --resume)", file=sys.stderr)
            raise SystemExit(130) from None
        raise SystemExit(code)

    return entry


def _option_value(args: List[str], name: str, remove: bool = False) -> Optional[str]:
    """VALUE of ``--name VALUE`` / ``--name=VALUE`` in ``args``; with ``remove`` the option is taken out of ``args``
    (otherwise it stays for tyro to parse again)."""
    for i, arg in enumerate(args):
        if arg == name:
            if i + 1 >= len(args):
                raise StafUserError(f"{name} needs a value")
            value = args[i + 1]
            if remove:
                del args[i : i + 2]
            return value
        if arg.startswith(name + "="):
            if remove:
                del args[i]
            return arg.split("=", 1)[1]
    return None


def _task_usage(command: str, extra: str = "") -> str:
    from staf_tasks.tasks import TASKS

    lines = [f"usage: {command} TASK [options]{extra}", "", "tasks:"]
    for name, task in TASKS.items():
        doc = (task.config_cls.__doc__ or "").strip().splitlines()[0]
        lines.append(f"  {name:<9} {doc}")
    lines.append(f"\n'{command} TASK --help' lists a task's options.")
    return "\n".join(lines)


def _parse_task_config(command: str, args: List[str]):
    """``TASK [flags]`` -> (task, config); defaults come from --resume's run, then --config's YAML, then flags."""
    from staf_tasks.runner import config_with_preset
    from staf_tasks.tasks import get_task

    if not args or args[0] in ("-h", "--help"):
        print(_task_usage(command))
        raise SystemExit(0 if args else 2)
    task = get_task(args[0])
    rest = args[1:]
    preset = _option_value(rest, "--config")
    resume = _option_value(rest, "--resume")
    default = config_with_preset(task, Path(preset) if preset else None, Path(resume) if resume else None)
    cfg = tyro.cli(task.config_cls, args=rest, default=default, prog=f"{command} {task.name}",
                   description=task.config_cls.__doc__)
    return task, cfg


def _fit_main(args: List[str]) -> int:
    from staf_tasks.runner import run_task

    task, cfg = _parse_task_config("staf-fit", args)
    summary = run_task(task.name, cfg)
    final = ", ".join(f"{k} {v:.4f}" for k, v in summary.metrics["final"].items() if isinstance(v, float))
    print(f"{task.name} with {cfg.model} ({summary.metrics['parameters']:,} parameters): {final}")
    print(f"wrote {summary.run_dir}/ (metrics.json, config.yml, checkpoint.pt, pictures)")
    return 0


fit_entrypoint = _guard(_fit_main)


@dataclass
class RenderConfig:
    """Query a trained INR at any resolution and write the file."""

    run_dir: tyro.conf.Positional[Path]
    """A run folder written by staf-fit."""
    scale: Optional[float] = None
    """Images: multiply the fitted resolution by this factor (e.g. 2.0)."""
    size: Optional[Tuple[int, int]] = None
    """Images: an explicit WIDTH HEIGHT."""
    samplerate: Optional[int] = None
    """Audio: the sample rate to render at (the clip keeps its duration)."""
    resolution: Optional[int] = None
    """Shapes: the grid resolution for marching cubes."""
    output: Optional[Path] = None
    """Output file (default: inside the run folder)."""


def _render_main(args: List[str]) -> int:
    from staf_tasks.runner import load_run
    from staf_tasks.tasks import RenderRequest

    cfg = tyro.cli(RenderConfig, args=args, prog="staf-render")
    if cfg.scale is not None and cfg.scale <= 0:
        raise StafUserError(f"--scale must be positive, got {cfg.scale}")
    task, run_cfg, model, info = load_run(cfg.run_dir)
    request = RenderRequest(cfg.scale, cfg.size, cfg.samplerate, cfg.resolution, cfg.output)
    path = task.render(run_cfg, model, Path(cfg.run_dir), request, info)
    print(f"wrote {path}")
    return 0


render_entrypoint = _guard(_render_main)


BENCH_USAGE = """
staf-bench options (before or after the task's own flags, which apply to every model):
  --models M1,M2,...   models to compare (default: staf,siren,wire,finer,gauss,relu-pe)
  --seeds N            seeds per model: --seed, --seed+1, ... (default: 1)
Writes OUTPUT_DIR/bench-TASK/: table.md, results.json, curves.png, reconstructions.png and one run folder per
model and seed."""


def _bench_main(args: List[str]) -> int:
    from staf_tasks.bench import format_table, parse_models, run_bench
    from staf_tasks.models import MODEL_NAMES

    if not args or args[0] in ("-h", "--help"):
        print(_task_usage("staf-bench") + BENCH_USAGE)
        return 0 if args else 2
    args = list(args)
    models = parse_models(_option_value(args, "--models", remove=True) or ",".join(MODEL_NAMES))
    seeds_text = _option_value(args, "--seeds", remove=True) or "1"
    if not seeds_text.isdigit():
        raise StafUserError(f"--seeds must be a positive integer, got {seeds_text!r}")
    if "-h" in args or "--help" in args:
        print(BENCH_USAGE.strip() + "\n")
    task, cfg = _parse_task_config("staf-bench", args)
    results = run_bench(task, cfg, models, int(seeds_text))
    print(format_table(results["rows"], results["metric"], task.name, results["seeds"]))
    print(f"wrote {results['output_dir']}/ (table.md, results.json, curves.png, reconstructions.png)")
    return 0


bench_entrypoint = _guard(_bench_main)


@dataclass
class ActivationsConfig:
    """Plot the learned activations sigma(z) of every layer of a STAF run (dashed: the same network at init)."""

    run_dir: tyro.conf.Positional[Path]
    """A run folder written by staf-fit with --model staf."""
    output: Optional[Path] = None
    """Output picture (default: RUN_DIR/activations.png)."""


def _activations_main(args: List[str]) -> int:
    from staf_tasks.activation_plot import plot_activations
    from staf_tasks.runner import load_run, make_model

    cfg = tyro.cli(ActivationsConfig, args=args, prog="staf-activations")
    _, run_cfg, model, _ = load_run(cfg.run_dir)
    init = make_model(run_cfg, model.in_features, model.out_features) if run_cfg.model == "staf" else None
    path = plot_activations(cfg.output or Path(cfg.run_dir) / "activations.png", model, init)
    print(f"wrote {path}")
    return 0


activations_entrypoint = _guard(_activations_main)
