"""Config files: dataclass configs <-> YAML (plain data, safe to load), with clear errors for unknown keys; the presets
shipped in ``staf_tasks/presets/`` by name, and a run folder's own ``config.yml``."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Type, TypeVar

import yaml

from staf_nerfstudio.io import to_plain, write_text
from staf_tasks.errors import StafUserError
from staf_tasks.validate import check_resumed_task

T = TypeVar("T")

RUN_CONFIG_NAME = "config.yml"
"""The config a run folder keeps (its task name plus every setting)."""
PRESETS_DIR = Path(__file__).parent / "presets"
"""The presets shipped with the package: ``--config NAME`` reads ``PRESETS_DIR/NAME.yaml``."""
RUN_ONLY_KEYS = ("name", "resume", "overwrite", "config")
"""Keys of a run's config.yml that say where and how that run was started, not what it fits: a new run started
from it with --config does not take them."""


def _yaml(value: Any) -> str:
    """A value as it was written in YAML (``null``, ``[16, 16, 3]``, ``'8'``)."""
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def _shape_error(key: str, need: str, value: Any, example: str) -> StafUserError:
    return StafUserError(f"config key {key!r} must be {need}, got {_yaml(value)}; e.g. {example}")


def _convert(value: Any, annotation: Any, key: str) -> Any:
    """``value`` read from YAML as the type ``annotation`` of the config field ``key``; a value of another shape
    (a mapping set to null, a scalar where a list belongs, a number in quotes) raises :class:`StafUserError` naming
    the key and the shape it needs."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    name = key.rsplit(".", 1)[-1]
    if origin is typing.Annotated:
        return _convert(value, args[0], key)
    if origin is typing.Union or str(origin) == "types.UnionType":
        non_none = [a for a in args if a is not type(None)]
        if value is None and len(non_none) < len(args):
            return None
        return _convert(value, non_none[0], key) if len(non_none) == 1 else value
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, dict):
            fields = [f.name for f in dataclasses.fields(annotation)][:2]
            example = f"{name}: {{{', '.join(f'{f}: ...' for f in fields)}}} (or leave {name} out for its defaults)"
            raise _shape_error(key, "a mapping of its settings", value, example)
        return apply_overrides(annotation(), value, prefix=f"{key}.")
    if value is None:
        raise _shape_error(key, _need(annotation), value, f"leave {name} out for its default")
    if origin is typing.Literal:
        if value not in args:
            raise StafUserError(f"config key {key!r} must be one of {', '.join(map(str, args))}, got {_yaml(value)}; "
                                f"e.g. {name}: {args[0]}")
        return value
    if origin in (tuple, list):
        inner = [a for a in args if a is not Ellipsis]
        fixed = origin is tuple and Ellipsis not in args
        if not isinstance(value, (list, tuple)) or (fixed and len(value) != len(inner)):
            count = f"{len(inner)} " if fixed else ""
            example = f"{name}: [{', '.join(['256'] * len(inner))}]" if fixed else f"{name}: [a, b]"
            raise _shape_error(key, f"a list of {count}values", value, example)
        items = [_convert(v, inner[i if i < len(inner) else 0], key) if inner else v for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if annotation is bool:
        if not isinstance(value, bool):
            raise _shape_error(key, "true or false", value, f"{name}: true")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            hint = f"{name}: {value}" if isinstance(value, str) and value.strip().lstrip("-").isdigit() \
                else f"{name}: 8"
            raise _shape_error(key, "a whole number (without quotes)", value, hint)
        return value
    if annotation is float:
        if isinstance(value, str):  # YAML 1.1 reads 1e-3 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                raise _shape_error(key, "a number", value, f"{name}: 0.001") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _shape_error(key, "a number", value, f"{name}: 0.001")
        return float(value)
    if annotation in (str, Path):
        if isinstance(value, (dict, list)):
            raise _shape_error(key, "a single value", value, f"{name}: some-name")
        return Path(str(value)) if annotation is Path else str(value)
    return value


def _need(annotation: Any) -> str:
    if annotation is int:
        return "a whole number"
    if annotation is float:
        return "a number"
    if annotation is bool:
        return "true or false"
    if typing.get_origin(annotation) in (tuple, list):
        return "a list of values"
    return "a value (not null)"


def apply_overrides(config: T, overrides: Dict[str, Any], prefix: str = "") -> T:
    """A copy of ``config`` with nested ``overrides`` applied; an unknown key raises :class:`StafUserError`."""
    hints = typing.get_type_hints(type(config))
    names = {f.name for f in dataclasses.fields(config)}
    changes = {}
    for key, value in overrides.items():
        if key not in names:
            raise StafUserError(
                f"unknown config key {prefix + key!r}; known keys here: {', '.join(sorted(names))}"
            )
        current = getattr(config, key)
        if dataclasses.is_dataclass(current) and isinstance(value, dict):
            changes[key] = apply_overrides(current, value, prefix=f"{prefix}{key}.")
        else:
            changes[key] = _convert(value, hints[key], prefix + key)
    return dataclasses.replace(config, **changes)


def load_yaml(path: Path | str) -> Dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise StafUserError(f"config file not found: {path}; check the path (the presets are in configs/)")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise StafUserError(f"config file {path} is not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise StafUserError(f"config file {path} must hold a mapping of keys to values")
    return data


def load_config(cls: Type[T], path: Path | str, base: T | None = None) -> T:
    """``cls`` defaults (or ``base``) with the overrides in a YAML file."""
    return apply_overrides(base if base is not None else cls(), load_yaml(path))


def save_config(path: Path | str, config: Any, extra: Dict[str, Any] | None = None) -> Path:
    data = {**(extra or {}), **to_plain(config)}
    return write_text(path, yaml.safe_dump(data, sort_keys=False))


def preset_names() -> List[str]:
    """The names ``--config`` accepts for the shipped presets."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def resolve_config_path(text: str) -> Path:
    """What ``--config TEXT`` names: a YAML file, a run folder (its config.yml) or a shipped preset by name."""
    path = Path(text).expanduser()
    if path.is_dir():
        if not (path / RUN_CONFIG_NAME).exists():
            raise StafUserError(f"--config {text}: a folder without {RUN_CONFIG_NAME}; give a YAML file, a run "
                                "folder or a preset name")
        return path / RUN_CONFIG_NAME
    if path.exists():
        return path
    preset = PRESETS_DIR / (text if text.endswith(".yaml") else f"{text}.yaml")
    if "/" not in text and preset.exists():
        return preset
    raise StafUserError(f"config file not found: {text}; give a YAML file, a run folder or a preset name: "
                        f"{', '.join(preset_names())}")


def load_run_config(run_dir: Path | str) -> Tuple[str, Any]:
    """The task name and config of a finished (or checkpointed) run folder."""
    from staf_tasks.task_configs import task_config_class

    path = Path(run_dir) / RUN_CONFIG_NAME
    if not path.exists():
        raise StafUserError(f"{run_dir} is not a run folder (no {RUN_CONFIG_NAME}); give the folder staf-fit printed")
    data = load_yaml(path)
    task_name = data.pop("task", None)
    if task_name is None:
        raise StafUserError(f"{path} names no task")
    return task_name, apply_overrides(task_config_class(task_name)(), data)


def config_with_preset(task_name: str, preset: Optional[str], resume: Optional[Path]) -> Any:
    """The defaults a command line starts from: the run's saved config (resume), else the task defaults, then a
    preset on top (a YAML file, a preset name, or another run's config.yml without its run-only keys)."""
    from staf_tasks.task_configs import task_config_class

    cfg = task_config_class(task_name)()
    if resume is not None:
        if not (Path(resume) / RUN_CONFIG_NAME).exists():
            raise StafUserError(f"--resume {resume} is not a run folder (no {RUN_CONFIG_NAME}); give a folder "
                                "staf-fit wrote")
        saved_task = load_yaml(Path(resume) / RUN_CONFIG_NAME).get("task")
        check_resumed_task(resume, saved_task, task_name)
        _, cfg = load_run_config(resume)
    if preset is not None:
        path = resolve_config_path(preset)
        data = load_yaml(path)
        if "task" in data:  # a run's own config.yml
            if data["task"] != task_name:
                raise StafUserError(f"--config {preset} holds a {data['task']!r} run's settings; use them with "
                                    f"`{data['task']}` instead of `{task_name}`")
            data = {k: v for k, v in data.items() if k != "task" and k not in RUN_ONLY_KEYS}
        cfg = apply_overrides(cfg, data)
    return cfg
