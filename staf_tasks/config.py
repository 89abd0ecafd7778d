"""Config files: dataclass configs <-> YAML (plain data, safe to load), with clear errors for unknown keys."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any, Dict, Type, TypeVar

import yaml

from staf_nerfstudio.io import to_plain, write_text
from staf_tasks.errors import StafUserError

T = TypeVar("T")


def _convert(value: Any, annotation: Any, key: str) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if value is None:
        return None
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, dict):
            raise StafUserError(f"config key {key!r} must be a mapping, got {value!r}")
        return apply_overrides(annotation(), value, prefix=f"{key}.")
    if origin is typing.Union or str(origin) == "types.UnionType":
        non_none = [a for a in args if a is not type(None)]
        return _convert(value, non_none[0], key) if len(non_none) == 1 else value
    if origin in (tuple, list):
        inner = [a for a in args if a is not Ellipsis]
        items = [_convert(v, inner[i if i < len(inner) else 0], key) if inner else v for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if annotation is Path:
        return Path(value)
    if annotation is float and isinstance(value, int):
        return float(value)
    return value


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
