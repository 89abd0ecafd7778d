"""Atomic file writing: every output is written to a temporary file beside it, flushed to disk and renamed into place.

The one implementation for the whole package: the tasks, the theory commands, the NeRF demo, the scene generator and
the benchmarks all write through :func:`atomic_path`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

TEMP_MARK = ".tmp-"
"""Marks the temporary files :func:`atomic_path` writes: ``.NAME.tmp-XXXXXXXX.SUFFIX`` beside the target."""


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yields a temporary path in the same folder; on success it replaces ``path`` (never a half-written file).

    The temporary file is flushed to disk (fsync) before the rename and the folder after it, so a crash or power
    loss leaves either the old file or the new one. On an exception the temporary file is removed; one left by a
    killed process is removed by :func:`remove_stale_temp_files` when the folder is next used.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}{TEMP_MARK}", suffix=path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; give outputs the usual permissions
        _fsync(tmp)  # the data reaches the disk before the rename makes it visible
        os.replace(tmp, path)
        _fsync(path.parent)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def to_plain(obj: Any) -> Any:
    """Dataclasses, tuples and paths as plain YAML/JSON data."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    return obj


def _fsync(path: Path | str) -> None:
    """Flushes a file, or a folder's entries, to disk (folders cannot be opened on Windows: skipped there)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except (IsADirectoryError, PermissionError):
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temp_files(folder: Path | str) -> list[Path]:
    """Deletes the temporary files a killed writer left in ``folder`` (``.NAME.tmp-*``, and ``.checkpoint.*.pt``
    from versions before the mark); returns them. Call it only when no other process writes into ``folder``."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    stale = [p for p in folder.iterdir() if p.is_file() and p.name.startswith(".")
             and (TEMP_MARK in p.name or (p.name.startswith(".checkpoint.") and p.suffix == ".pt"))]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def write_json(path: Path | str, data: Any) -> Path:
    """Writes ``data`` as indented JSON (numpy scalars become Python numbers)."""

    def default(obj: Any) -> Any:
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, Path):
            return str(obj)
        raise TypeError(f"cannot write {type(obj).__name__} to JSON")

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, default=default) + "\n")
    return Path(path)


def write_text(path: Path | str, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_image(path: Path | str, image: np.ndarray) -> Path:
    """Writes an ``(H, W)`` or ``(H, W, C)`` float image in [0, 1] (or uint8) as PNG/JPEG by extension."""
    import imageio.v3 as iio

    if image.dtype != np.uint8:
        image = (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    path = Path(path)
    with atomic_path(path) as tmp:
        iio.imwrite(tmp, image, extension=path.suffix)
    return path


def save_torch(path: Path | str, obj: Any) -> Path:
    """``torch.save`` atomically (a crash mid-write leaves the previous checkpoint intact)."""
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)
