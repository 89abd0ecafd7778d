"""Console commands: ``staf-fit``, ``staf-render``, ``staf-bench`` and ``staf-activations``.

User errors (a missing file, a bad option) print one line and exit with status 2, without a traceback. Flags are
parsed (and help printed) before torch is imported: the configs come from the torch-free
:mod:`staf_tasks.task_configs`, and the modules that train are imported only to run.
"""

from __future__ import annotations

import contextlib
import errno
import io
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Callable, List, Optional, Sequence, Tuple

import tyro

from staf_tasks.errors import StafUserError, StafWarning

#: errno values that mean the file system refused a write the user asked for (not a bug): one line, exit 2.
_USER_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.ENOTDIR, errno.EISDIR, errno.EEXIST,
                errno.EDQUOT, errno.ENAMETOOLONG}


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings in one line: ``warning: MESSAGE`` (ours, :class:`StafWarning`) or ``warning (Category): MESSAGE``."""
    label = "warning" if issubclass(category, StafWarning) else f"warning ({category.__name__})"
    print(f"{label}: {' '.join(str(message).split())}", file=sys.stderr)


if TYPE_CHECKING:
    from staf_tasks.sweep import RayOptions


def _guard(main: Callable[[List[str]], int]) -> Callable[[Optional[Sequence[str]]], None]:
    def entry(argv: Optional[Sequence[str]] = None) -> None:
        args = list(sys.argv[1:] if argv is None else argv)
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _show_warning
                code = main(args)
        except StafUserError as err:
            print(f"error: {' '.join(str(err).split())}", file=sys.stderr)
            raise SystemExit(2) from None
        except OSError as err:
            if err.errno not in _USER_ERRNOS:
                raise
            print(f"error: {err.filename or 'a file'}: {err.strerror}; check the path and its permissions, or choose "
                  "another path", file=sys.stderr)
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


def _cli(cls, args: List[str], prog: str, **kwargs):
    """``tyro.cli`` whose parse errors (an unknown flag or choice, a value of the wrong type) become one line."""
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured):
            return tyro.cli(cls, args=args, prog=prog, **kwargs)
    except SystemExit as exit_:
        if exit_.code in (0, None):
            raise
        lines = [line.strip(" │╭╮╰╯") for line in captured.getvalue().splitlines()]
        message = []
        for line in lines[1:]:
            if not line or set(line) <= set("─"):
                break
            message.append(line)
        text = " ".join(" ".join(message).split()) or "cannot parse the options"
        raise StafUserError(f"{text.rstrip('.')}; see `{prog} --help`") from None


def _task_usage(command: str, extra: str = "") -> str:
    from staf_tasks.task_configs import TASK_CONFIGS

    lines = [f"usage: {command} TASK [options]{extra}", "", "tasks:"]
    for name, config_cls in TASK_CONFIGS.items():
        doc = (config_cls.__doc__ or "").strip().splitlines()[0]
        lines.append(f"  {name:<9} {doc}")
    lines.append(f"\n'{command} TASK --help' lists a task's options.")
    return "\n".join(lines)


def _parse_task_config(command: str, args: List[str]):
    """``TASK [flags]`` -> (task name, config); defaults come from --resume's run, then --config (a YAML file, a
    preset name or a run folder), then flags."""
    from staf_tasks.config import config_with_preset
    from staf_tasks.task_configs import task_config_class

    if not args or args[0] in ("-h", "--help"):
        print(_task_usage(command))
        raise SystemExit(0 if args else 2)
    task_name, config_cls = args[0], task_config_class(args[0])
    rest = args[1:]
    preset = _option_value(rest, "--config")
    resume = _option_value(rest, "--resume")
    default = config_with_preset(task_name, preset, Path(resume) if resume else None)
    cfg = _cli(config_cls, rest, f"{command} {task_name}", default=default, description=config_cls.__doc__)
    return task_name, cfg


def _fit_main(args: List[str]) -> int:
    task_name, cfg = _parse_task_config("staf-fit", args)
    from staf_tasks.runner import run_task

    summary = run_task(task_name, cfg)
    final = ", ".join(f"{k} {v:.4f}" for k, v in summary.metrics["final"].items() if isinstance(v, float))
    print(f"{task_name} with {cfg.model} ({summary.metrics['parameters']:,} parameters): {final}")
    print(f"wrote {summary.run_dir}/ (metrics.json, config.yml, checkpoint.pt, pictures)")
    return 0


fit_entrypoint = _guard(_fit_main)


@dataclass
class RenderConfig:
    """Query a trained INR at any resolution and write the file."""

    run_dir: tyro.conf.Positional[Path]
    """A run folder written by staf-fit."""
    scale: Annotated[Optional[float], tyro.conf.arg(metavar="FACTOR")] = None
    """Images: multiply the fitted resolution by this factor (e.g. 2.0)."""
    size: Annotated[Optional[Tuple[int, int]], tyro.conf.arg(metavar="WIDTH HEIGHT")] = None
    """Images: an explicit WIDTH HEIGHT in pixels (every command takes sizes as width, then height)."""
    samplerate: Annotated[Optional[int], tyro.conf.arg(metavar="HZ")] = None
    """Audio: the sample rate to render at (the clip keeps its duration)."""
    resolution: Annotated[Optional[int], tyro.conf.arg(metavar="N")] = None
    """Shapes: the grid resolution for marching cubes."""
    output: Annotated[Optional[Path], tyro.conf.arg(metavar="PATH")] = None
    """Output file (default: inside the run folder)."""


def _render_main(args: List[str]) -> int:
    cfg = _cli(RenderConfig, args, "staf-render")
    from staf_tasks.config import load_run_config
    from staf_tasks.runner import load_run
    from staf_tasks.tasks import RenderRequest
    from staf_tasks.validate import check_render_request

    request = RenderRequest(cfg.scale, cfg.size, cfg.samplerate, cfg.resolution, cfg.output)
    task_name, _ = load_run_config(cfg.run_dir)
    check_render_request(task_name, request, cfg.run_dir)
    task, run_cfg, model, info = load_run(cfg.run_dir)
    path = task.render(run_cfg, model, Path(cfg.run_dir), request, info)
    print(f"wrote {path}")
    return 0


render_entrypoint = _guard(_render_main)


BENCH_USAGE = """
staf-bench options (before or after the task's own flags, which apply to every model):
  --models M1,M2,...   models to compare (default: staf,siren,wire,finer,gauss,relu-pe)
  --seeds N            seeds per model: --seed, --seed+1, ... (default: 1)
  --resume             finish the sweep in OUTPUT_DIR/bench-TASK/: keep the (signal, model, seed) runs that finished
                       with the same settings, continue interrupted ones (an existing folder is refused without
                       --resume or --overwrite)
  --overwrite          replace the sweep in OUTPUT_DIR/bench-TASK/ (every run is trained again)
  --data A [B ...]     one or several signals (files or built-in names); each is fitted by every model and seed
  --ray [ADDRESS]      run each (signal, model, seed) fit as a Ray task: without ADDRESS on a local Ray with this
                       machine's cores, else on the cluster at ADDRESS (auto, HOST:6379, ray://HOST:10001; every
                       node needs this package installed); needs: pip install 'staf-nerfstudio[ray]'
  --ray-retries N      restarts of a fit whose Ray worker died before it is reported as failed (default: 3)
Writes OUTPUT_DIR/bench-TASK/: table.md, results.json, curves.png, reconstructions.png and one run folder per
model and seed (with several signals: per signal, model and seed, under a folder per signal). A fit that fails is
listed in the table and the command exits with status 1."""


def _option_values(args: List[str], name: str) -> Optional[List[str]]:
    """The values of ``--name V1 V2 ...`` (up to the next option), taken out of ``args``; None if absent."""
    for i, arg in enumerate(args):
        if arg == name or arg.startswith(name + "="):
            j = i + 1
            values = [arg.split("=", 1)[1]] if "=" in arg else []
            while j < len(args) and not args[j].startswith("-"):
                values.append(args[j])
                j += 1
            del args[i:j]
            return values
    return None


def _ray_option(args: List[str]) -> Optional[RayOptions]:
    """``--ray [ADDRESS]`` and ``--ray-retries N`` taken out of ``args``; None without --ray."""
    from staf_tasks.sweep import RayOptions, require_ray
    from staf_tasks.task_configs import TASK_CONFIGS

    retries = _option_value(args, "--ray-retries", remove=True)
    if retries is not None and not retries.isdigit():
        raise StafUserError(f"--ray-retries must be a non-negative integer, got {retries!r}")
    for i, arg in enumerate(args):
        if arg == "--ray" or arg.startswith("--ray="):
            address = arg.split("=", 1)[1] if "=" in arg else None
            following = args[i + 1] if i + 1 < len(args) else "-"
            if address is None and not following.startswith("-") and following not in TASK_CONFIGS:
                address = args.pop(i + 1)
            del args[i]
            require_ray()
            return RayOptions(address=address or None, max_retries=int(retries) if retries is not None else 3)
    if retries is not None:
        raise StafUserError("--ray-retries applies to --ray only; add --ray")
    return None


def _bench_main(args: List[str]) -> int:
    from staf_tasks.bench import format_table, parse_models, run_bench
    from staf_tasks.models import MODEL_NAMES

    if not args or args[0] in ("-h", "--help"):
        print(_task_usage("staf-bench") + BENCH_USAGE)
        return 0 if args else 2
    args = list(args)
    models = parse_models(_option_value(args, "--models", remove=True) or ",".join(MODEL_NAMES))
    resume = "--resume" in args
    args = [a for a in args if a != "--resume"]
    seeds_text = _option_value(args, "--seeds", remove=True) or "1"
    if not seeds_text.isdigit():
        raise StafUserError(f"--seeds must be a positive integer, got {seeds_text!r}; e.g. --seeds 3")
    signals = _option_values(args, "--data")
    if signals == []:
        raise StafUserError("--data needs at least one signal (a file or a built-in name)")
    ray = _ray_option(args)
    if "-h" in args or "--help" in args:
        print(BENCH_USAGE.strip() + "\n")
    task_name, cfg = _parse_task_config("staf-bench", args)
    from staf_tasks.tasks import get_task

    results = run_bench(get_task(task_name), cfg, models, int(seeds_text), signals=signals, ray=ray, resume=resume)
    print(format_table(results["rows"], results["metric"], task_name, results["seeds"], len(results["signals"])))
    print(f"wrote {results['output_dir']}/ (table.md, results.json, curves.png, reconstructions.png); "
          f"{len(results['fits'])} fits in {results['sweep_wall_time_s']:.1f} s ({results['executor']})")
    failures = [f for f in results["fits"] if f["status"] != "ok"]
    if failures:
        print(f"{len(failures)} of {len(results['fits'])} fits failed (listed in table.md)", file=sys.stderr)
        return 1
    return 0


bench_entrypoint = _guard(_bench_main)


@dataclass
class ActivationsConfig:
    """Plot the learned activations sigma(z) of every layer of a STAF run (dashed: the same network at init)."""

    run_dir: tyro.conf.Positional[Path]
    """A run folder written by staf-fit with --model staf."""
    output: Annotated[Optional[Path], tyro.conf.arg(metavar="PATH")] = None
    """Output picture (default: RUN_DIR/activations.png)."""


def _activations_main(args: List[str]) -> int:
    cfg = _cli(ActivationsConfig, args, "staf-activations")
    from staf_tasks.activation_plot import plot_activations
    from staf_tasks.runner import load_run, make_model

    _, run_cfg, model, _ = load_run(cfg.run_dir)
    init = make_model(run_cfg, model.in_features, model.out_features) if run_cfg.model == "staf" else None
    path = plot_activations(cfg.output or Path(cfg.run_dir) / "activations.png", model, init)
    print(f"wrote {path}")
    return 0


activations_entrypoint = _guard(_activations_main)
