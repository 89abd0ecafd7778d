"""Console commands: ``staf-fit``, ``staf-render``, ``staf-bench`` and ``staf-activations``.

Each command is a tyro dataclass and a ``main(args) -> exit code``; how errors end a command (one line, exit 2) is
:mod:`staf_tasks.errors`' job. Flags are parsed (and help printed) before torch is imported: the configs come from the
torch-free :mod:`staf_tasks.task_configs`, and the modules that train are imported only to run.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, List, Optional, Tuple

import tyro

from staf_tasks.errors import StafUserError, command_entry


def _flag_of(event: Any) -> str:
    argument = getattr(event, "argument", None)
    try:
        return str(argument.lowered.name_or_flags[0])
    except (AttributeError, IndexError, TypeError):
        return "an option"


def _parse_error_line(event: Any, prog: str) -> str:
    """One line for a flag tyro cannot parse, built from tyro's parse-error event (not from its printed box)."""
    kind = type(event).__name__
    if kind == "UnrecognizedArgs":
        problem = f"unknown option {' '.join(getattr(event, 'tokens', []) or ['?'])}"
    elif kind == "InvalidChoice":
        problem = f"{_flag_of(event)} {event.value!r} is not one of {', '.join(event.choices)}"
    elif kind == "InstantiationFailure":
        detail = str(getattr(event, "message", "")).splitlines()[0].replace("[bold]", "").replace("[/bold]", "")
        problem = f"{_flag_of(event)}: {detail.rstrip('.')}"
    elif kind == "BadValue":
        problem = f"{_flag_of(event)} needs {'more values' if event.reason == 'too_few_values' else 'no value'}"
    elif kind == "MissingArgs":
        names = [arg.arg.lowered.name_or_flags[0] for arg in event.missing_arguments]
        problem = f"missing {', '.join(names)}"
    else:
        problem = "cannot parse the options"
    return f"{' '.join(problem.split())}; see `{prog} --help`"


def parse(cls, args: List[str], prog: str, **kwargs):
    """``tyro.cli`` whose parse errors (an unknown flag or choice, a value of the wrong type) become one line, from
    tyro's parse-error hook; a tyro without the hook prints its own message (and exits 2)."""
    try:
        from tyro._errors import on_parse_error
    except ImportError:  # pragma: no cover - an older tyro
        return tyro.cli(cls, args=args, prog=prog, **kwargs)

    def hook(event: Any) -> None:
        raise StafUserError(_parse_error_line(event, prog))

    with on_parse_error(hook):
        return tyro.cli(cls, args=args, prog=prog, **kwargs)


def _task_usage(command: str) -> str:
    from staf_tasks.task_configs import TASK_CONFIGS

    lines = [f"usage: {command} TASK [options]", "", "tasks:"]
    for name, config_cls in TASK_CONFIGS.items():
        doc = (config_cls.__doc__ or "").strip().splitlines()[0]
        lines.append(f"  {name:<9} {doc}")
    lines.append(f"\n'{command} TASK --help' lists a task's options.")
    return "\n".join(lines)


def _task_and_rest(command: str, args: List[str]) -> Tuple[str, List[str]]:
    """``TASK [flags]``: the task name (checked) and its flags; no task or --help alone prints the tasks."""
    from staf_tasks.task_configs import task_config_class

    if not args or args[0] in ("-h", "--help"):
        print(_task_usage(command))
        raise SystemExit(0 if args else 2)
    task_config_class(args[0])
    return args[0], args[1:]


def _defaults(task_name: str, cls, args: List[str], prog: str, resume_is_a_folder: bool = True):
    """The defaults a task's flags apply to: --resume's run, then --config (a YAML file, a preset name or a run
    folder). Both are read by a first parse of the same dataclass, so their values are parsed as every flag is."""
    from staf_tasks.config import config_with_preset

    first = parse(cls, args, prog)
    resume = getattr(first, "resume", None) if resume_is_a_folder else None
    preset = str(first.config) if first.config is not None else None
    return config_with_preset(task_name, preset, Path(resume) if resume else None)


def _parse_task_config(command: str, args: List[str]):
    """``TASK [flags]`` -> (task name, config); defaults come from --resume's run, then --config, then flags."""
    from staf_tasks.task_configs import task_config_class

    task_name, rest = _task_and_rest(command, args)
    config_cls = task_config_class(task_name)
    prog = f"{command} {task_name}"
    if "-h" in rest or "--help" in rest:
        return task_name, parse(config_cls, rest, prog, description=config_cls.__doc__)
    default = _defaults(task_name, config_cls, rest, prog)
    return task_name, parse(config_cls, rest, prog, default=default, description=config_cls.__doc__)


def _fit_main(args: List[str]) -> int:
    task_name, cfg = _parse_task_config("staf-fit", args)
    from staf_tasks.runner import run_task

    summary = run_task(task_name, cfg)
    final = ", ".join(f"{k} {v:.4f}" for k, v in summary.metrics["final"].items() if isinstance(v, float))
    print(f"{task_name} with {cfg.model} ({summary.metrics['parameters']:,} parameters): {final}")
    print(f"wrote {summary.run_dir}/ (metrics.json, config.yml, checkpoint.pt, pictures)")
    return 0


fit_entrypoint = command_entry(_fit_main)


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
    """Output file (default: inside the run folder; the run's own files are never replaced)."""


def _render_main(args: List[str]) -> int:
    cfg = parse(RenderConfig, args, "staf-render")
    from staf_tasks.config import load_run_config
    from staf_tasks.runner import load_run, run_files
    from staf_tasks.tasks import RenderRequest
    from staf_tasks.validate import check_memory, check_render_output, check_render_request, render_memory_terms

    request = RenderRequest(cfg.scale, cfg.size, cfg.samplerate, cfg.resolution, cfg.output)
    task_name, _ = load_run_config(cfg.run_dir)
    check_render_request(task_name, request, cfg.run_dir)
    task, run_cfg, model, info = load_run(cfg.run_dir)
    check_memory(render_memory_terms(task_name, request, info))
    check_render_output(request, run_files(cfg.run_dir))
    path = task.render(run_cfg, model, Path(cfg.run_dir), request, info)
    print(f"wrote {path}")
    return 0


render_entrypoint = command_entry(_render_main)


#: The options staf-bench adds to a task's flags: (field, type, default, help). ``models`` is spelled --models
#: (the field cannot be called that: the task config's --models.NAME.* settings live there).
BENCH_FIELDS = [
    ("compare", Annotated[str, tyro.conf.arg(name="models", metavar="M1,M2,...",
                                             help="models to compare, comma-separated")],
     "staf,siren,wire,finer,gauss,relu-pe"),
    ("seeds", Annotated[int, tyro.conf.arg(metavar="N", help="seeds per model: --seed, --seed+1, ...")], 1),
    ("resume", Annotated[bool, tyro.conf.arg(
        help="finish the sweep in OUTPUT_DIR/bench-TASK/: keep the (signal, model, seed) runs that finished with the "
             "same settings, continue interrupted ones (an existing folder is refused without --resume or "
             "--overwrite)")], False),
    ("data", Annotated[Optional[Tuple[str, ...]], tyro.conf.arg(
        metavar="A [B ...]", help="one or several signals (files or built-in names); each is fitted by every model "
                                  "and seed", help_behavior_hint="(default: the task's built-in signal)")], None),
    ("ray", Annotated[Optional[str], tyro.conf.arg(
        metavar="[ADDRESS]", help="run each (signal, model, seed) fit as a Ray task: alone (or 'local') on a local "
                                  "Ray with this machine's cores, else on the cluster at ADDRESS (auto, HOST:6379, "
                                  "ray://HOST:10001; every node needs this package installed); needs: pip install "
                                  "'staf-nerfstudio[ray]'", help_behavior_hint="(default: no Ray)")], None),
    ("ray_retries", Annotated[int, tyro.conf.arg(
        metavar="N", help="restarts of a fit whose Ray worker died before it is reported as failed (with --ray)")],
     3),
]
BENCH_ONLY = {name for name, _, _ in BENCH_FIELDS}
LOCAL_RAY = "local"


def bench_config_class(task_name: str) -> type:
    """The dataclass of ``staf-bench TASK``: the task's config (whose flags apply to every fit) plus the sweep's
    options (--models, --seeds, --resume, --data A B ..., --ray [ADDRESS], --ray-retries)."""
    from staf_tasks.task_configs import ModelName, task_config_class

    base = task_config_class(task_name)
    fields = [(name, kind, dataclasses.field(default=default)) for name, kind, default in BENCH_FIELDS]
    fields.append(("model", tyro.conf.Suppress[ModelName], dataclasses.field(default="staf")))
    cls = dataclasses.make_dataclass(f"{base.__name__}Sweep", fields, bases=(base,))
    cls.__doc__ = (f"Train several models on the {task_name} task under the same budget and seeds; the task's flags "
                   "apply to every model. Writes OUTPUT_DIR/bench-TASK/: table.md, results.json, curves.png, "
                   "reconstructions.png and one run folder per model and seed (with several signals, under a folder "
                   "per signal). A fit that fails is listed in the table and the command exits with status 1.")
    cls.__module__ = __name__
    return cls


def _bare_ray_flag(args: List[str]) -> List[str]:
    """``--ray`` without an address (at the end, or before another option) means a local Ray: ``--ray local``."""
    out = list(args)
    for i, arg in enumerate(out):
        if arg == "--ray" and (i + 1 == len(out) or out[i + 1].startswith("-")):
            out.insert(i + 1, LOCAL_RAY)
            break
    return out


def _fit_config(sweep: Any, task_name: str):
    """The task config every fit of the sweep starts from (the sweep's own options taken out)."""
    from staf_tasks.task_configs import task_config_class

    base = task_config_class(task_name)
    values = {f.name: getattr(sweep, f.name) for f in dataclasses.fields(base) if f.name not in ("resume", "data")}
    return base(**values, resume=None, data=sweep.data[0] if sweep.data and len(sweep.data) == 1 else None)


def _bench_main(args: List[str]) -> int:
    task_name, rest = _task_and_rest("staf-bench", args)
    cls = bench_config_class(task_name)
    prog = f"staf-bench {task_name}"
    rest = _bare_ray_flag(rest)
    if "-h" in rest or "--help" in rest:
        parse(cls, rest, prog, description=cls.__doc__)
        return 0
    task_default = _defaults(task_name, cls, rest, prog, resume_is_a_folder=False)
    kept = [f.name for f in dataclasses.fields(task_default) if f.name not in BENCH_ONLY | {"model"}]
    default = cls(**{name: getattr(task_default, name) for name in kept})
    sweep = parse(cls, rest, prog, default=default, description=cls.__doc__)
    from staf_tasks.bench import format_table, parse_models, run_bench
    from staf_tasks.sweep import RayOptions, require_ray

    models = parse_models(sweep.compare)
    if sweep.data is not None and not sweep.data:
        raise StafUserError("--data needs at least one signal (a file or a built-in name); e.g. --data camera")
    if sweep.seeds < 1:
        raise StafUserError(f"--seeds must be a positive integer, got {sweep.seeds}; e.g. --seeds 3")
    if sweep.seed + sweep.seeds - 1 >= 2**64:
        raise StafUserError(f"--seed {sweep.seed} with --seeds {sweep.seeds} goes past the last seed 2**64 - 1; "
                            "choose a smaller --seed")
    if sweep.ray_retries < 0:
        raise StafUserError(f"--ray-retries must be a non-negative integer, got {sweep.ray_retries}")
    if sweep.ray is None and sweep.ray_retries != 3:
        raise StafUserError("--ray-retries applies to --ray only; add --ray")
    ray = None
    if sweep.ray is not None:
        require_ray()
        ray = RayOptions(address=None if sweep.ray == LOCAL_RAY else sweep.ray, max_retries=sweep.ray_retries)
    base = _fit_config(sweep, task_name)
    from staf_tasks.tasks import get_task

    results = run_bench(get_task(task_name), base, models, sweep.seeds, signals=list(sweep.data or []) or None, ray=ray,
                        resume=sweep.resume)
    print(format_table(results["rows"], results["metric"], task_name, results["seeds"], len(results["signals"])))
    print(f"wrote {results['output_dir']}/ (table.md, results.json, curves.png, reconstructions.png); "
          f"{len(results['fits'])} fits in {results['sweep_wall_time_s']:.1f} s ({results['executor']})")
    failures = [f for f in results["fits"] if f["status"] != "ok"]
    if failures:
        print(f"{len(failures)} of {len(results['fits'])} fits failed (listed in table.md)", file=sys.stderr)
        return 1
    return 0


bench_entrypoint = command_entry(_bench_main)


@dataclass
class ActivationsConfig:
    """Plot the learned activations sigma(z) of every layer of a STAF run (dashed: the same network at init)."""

    run_dir: tyro.conf.Positional[Path]
    """A run folder written by staf-fit with --model staf."""
    output: Annotated[Optional[Path], tyro.conf.arg(metavar="PATH")] = None
    """Output picture (default: RUN_DIR/activations.png)."""


def _activations_main(args: List[str]) -> int:
    cfg = parse(ActivationsConfig, args, "staf-activations")
    from staf_tasks.activation_plot import plot_activations
    from staf_tasks.runner import load_run, make_model, run_files
    from staf_tasks.validate import check_output_folder

    _, run_cfg, model, _ = load_run(cfg.run_dir)
    output = Path(cfg.output or Path(cfg.run_dir) / "activations.png")
    if output in run_files(cfg.run_dir) or output.is_dir():
        raise StafUserError(f"--output {output} is {'a folder' if output.is_dir() else 'one of the run files'}; "
                            "give another file name")
    check_output_folder(output.parent, "--output")
    init = make_model(run_cfg, model.in_features, model.out_features) if run_cfg.model == "staf" else None
    path = plot_activations(output, model, init)
    print(f"wrote {path}")
    return 0


activations_entrypoint = command_entry(_activations_main)
