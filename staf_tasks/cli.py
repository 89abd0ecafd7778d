"""Console commands: ``staf-fit``, ``staf-render``, ``staf-bench`` and ``staf-activations``.

User errors (a missing file, a bad option) print one line and exit with status 2, without a traceback.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

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
            print("interrupted; the last checkpoint in the run folder is intact (continue with --resume)", file=sys.stderr)
            raise SystemExit(130) from None
        raise SystemExit(code)

    return entry


def _pop_option(args: List[str], name: str) -> Optional[str]:
    """Reads ``--name VALUE`` / ``--name=VALUE`` without removing it (tyro parses it again)."""
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
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
    import tyro

    from staf_tasks.runner import config_with_preset
    from staf_tasks.tasks import get_task

    if not args or args[0] in ("-h", "--help"):
        print(_task_usage(command))
        raise SystemExit(0 if args else 2)
    task = get_task(args[0])
    rest = args[1:]
    preset = _pop_option(rest, "--config")
    resume = _pop_option(rest, "--resume")
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

    run_dir: Path
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
    import tyro

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
