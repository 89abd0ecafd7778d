"""The one check every loader runs on a user's data path before reading it."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from staf_tasks.errors import StafUserError


def check_data_file(path: Path, kind: str, formats: str, builtins: Sequence[str]) -> None:
    """Refuses a ``--data`` path that is missing, a folder or empty, in one line that names the fix.

    Args:
        path: The path the user gave.
        kind: What the file should hold, as a noun (``"image"``, ``"audio"``, ``"mesh"``).
        formats: The accepted file types in words (``"PNG or JPEG"``).
        builtins: The built-in names ``--data`` accepts instead of a path.

    Raises:
        StafUserError: The path does not exist, is a folder, or is an empty file.
    """
    if not path.exists():
        raise StafUserError(
            f"{kind} file not found: {path}; check the path ({formats}), or give a built-in name instead "
            f"({', '.join(builtins)})"
        )
    if path.is_dir():
        article = "an" if kind[:1] in "aeiou" else "a"
        raise StafUserError(f"{path} is a folder, not {article} {kind} file; pass a {formats} file")
    if path.stat().st_size == 0:
        raise StafUserError(f"{kind} file is empty (0 bytes): {path}; pass a {formats} file with data in it")
