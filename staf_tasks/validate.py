"""Every check of a command's settings before it writes anything, in one place.

A check that fails raises :class:`~staf_tasks.errors.StafUserError` with one line naming the problem (the flag and
its value) and the fix; the commands print it and exit 2. Nothing here writes a file, so a refused command leaves
every folder exactly as it was.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from staf_nerfstudio.io import to_plain
from staf_tasks.errors import StafUserError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
"""File types ``staf-render`` writes images as."""


def flag(key: str) -> str:
    """The command-line flag of a dotted config key: ``train.batch_size`` -> ``--train.batch-size``."""
    return "--" + key.replace("_", "-")


def _finite_positive(v: Any) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v) and v > 0


def _at_least(low: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and v >= low


#: (dotted key, test, what the value must be). Keys a task's config does not have are skipped.
NUMBER_RULES: List[Tuple[str, Callable[[Any], bool], str]] = [
    ("train.epochs", _at_least(1), "at least 1"),
    ("train.batch_size", _at_least(0), "0 (full batch) or a positive number of coordinates"),
    ("train.lr", _finite_positive, "a positive number"),
    ("train.lr_decay", _finite_positive, "a positive factor (1 = constant learning rate)"),
    ("train.activation_lr_scale", _finite_positive, "a positive factor"),
    ("train.eval_every", _at_least(1), "at least 1"),
    ("train.checkpoint_every", _at_least(1), "at least 1"),
    ("train.eval_chunk", _at_least(1), "at least 1"),
    ("train.device", lambda v: v in ("auto", "cpu", "cuda") or str(v).startswith("cuda:"), "auto, cpu or cuda"),
    ("hidden_features", _at_least(1), "at least 1"),
    ("hidden_layers", _at_least(0), "0 or more"),
    ("seed", _at_least(0), "0 or more"),
    ("size", lambda v: v is None or all(isinstance(s, int) and s >= 2 for s in v), "WIDTH HEIGHT of at least 2 each"),
    ("max_side", lambda v: v is None or (isinstance(v, int) and v >= 2), "at least 2"),
    ("factor", _at_least(1), "at least 1"),
    ("photon_scale", _finite_positive, "a positive number"),
    ("read_noise", lambda v: isinstance(v, (int, float)) and math.isfinite(v) and v >= 0, "0 or more"),
    ("max_seconds", lambda v: v is None or _finite_positive(v), "a positive number of seconds"),
    ("resolution", _at_least(4), "at least 4"),
    ("chamfer_points", _at_least(1), "at least 1"),
]

#: Settings a ``--resume`` may change: how long to train and how often to evaluate and save, not what is trained.
RESUMABLE_CHANGES = {
    "train.epochs", "train.eval_every", "train.checkpoint_every", "train.eval_chunk", "train.device", "progress",
    "resume", "config", "overwrite", "output_dir", "name",
}


def flatten(data: Dict[str, Any], prefix: str = "") -> Dict[str, Any]:
    """Nested plain config data as ``{"train.epochs": 10, ...}``."""
    out: Dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def _value(cfg: Any, key: str) -> Tuple[bool, Any]:
    for part in key.split("."):
        if not hasattr(cfg, part):
            return False, None
        cfg = getattr(cfg, part)
    return True, cfg


def check_fit_config(cfg: Any) -> None:
    """Refuses a value that cannot train (0 epochs, a negative learning rate, a zero-width network, ...)."""
    default = type(cfg)()
    for key, ok, need in NUMBER_RULES:
        present, value = _value(cfg, key)
        if present and not ok(value):
            _, example = _value(default, key)
            shown = " ".join(map(str, example)) if isinstance(example, (tuple, list)) else example
            hint = f"e.g. {flag(key)} {shown} (the default)" if example is not None else f"omit {flag(key)}"
            raise StafUserError(f"{flag(key)} must be {need}, got {_show(value)}; {hint}")


def _show(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return " ".join(map(str, value))
    return str(value)


def check_output_folder(folder: Path, option: str = "--output-dir") -> None:
    """Refuses a folder that cannot be created or written: a path through a file, or no write permission."""
    folder = Path(folder)
    for existing in (folder, *folder.parents):
        if existing.exists() or existing.is_symlink():
            break
    else:  # pragma: no cover - the root always exists
        return
    if not existing.is_dir():
        where = "" if existing == folder else f" (on the way to {folder})"
        raise StafUserError(f"{existing} is a file, not a folder{where}; choose another {option} or move the file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise StafUserError(f"cannot write in {existing} (permission denied); choose another {option} or change "
                            "its permissions")


def check_resume(run_dir: Path, saved: Any, cfg: Any, epochs_done: Optional[int]) -> None:
    """Refuses a ``--resume`` whose settings differ from the run's in what is trained (model, network shape, data,
    optimizer), or that asks for fewer epochs than the checkpoint holds."""
    old, new = flatten(to_plain(saved)), flatten(to_plain(cfg))
    changed = [k for k in new if k not in RESUMABLE_CHANGES and old.get(k) != new[k]]
    if changed:
        key = changed[0]
        others = f" (also {', '.join(flag(k) for k in changed[1:])})" if len(changed) > 1 else ""
        raise StafUserError(
            f"--resume {run_dir}: {flag(key)} {_show(new[key])} differs from the run's {_show(old.get(key))}{others}, "
            f"and the checkpoint was trained with the run's; drop {flag(key)} to continue the run, or start a new "
            "run with --name"
        )
    if epochs_done is not None and cfg.train.epochs < epochs_done:
        raise StafUserError(
            f"--resume {run_dir}: --train.epochs {cfg.train.epochs} is fewer than the {epochs_done} epochs its "
            f"checkpoint already holds; pass --train.epochs {epochs_done} or more, or omit it"
        )


def check_resumed_task(run_dir: Path, run_task: str, task: str) -> None:
    if run_task != task:
        raise StafUserError(f"--resume {run_dir} is a run of task {run_task}, not {task}; continue it with "
                            f"`staf-fit {run_task} --resume {run_dir}`")


def check_render_request(task: str, request: Any, run_dir: Path) -> None:
    """Refuses render options that do not apply to the run's task or cannot be rendered (0, NaN, a bad suffix)."""
    applies = {"scale": ("image", "sr", "denoise"), "size": ("image", "sr", "denoise"), "samplerate": ("audio",),
               "resolution": ("shape",)}
    for name, tasks in applies.items():
        value = getattr(request, name)
        if value is not None and task not in tasks:
            usable = [f"--{n}" for n, t in applies.items() if task in t]
            raise StafUserError(f"--{name} does not apply to {run_dir}, a {task} run; use {' or '.join(usable)}")
    if request.scale is not None and not _finite_positive(request.scale):
        raise StafUserError(f"--scale must be a positive finite factor, got {request.scale}; e.g. --scale 2")
    if request.size is not None and min(request.size) < 2:
        raise StafUserError(f"--size {_show(request.size)} is too small; give WIDTH HEIGHT of at least 2 each")
    if request.samplerate is not None and request.samplerate < 1:
        raise StafUserError(f"--samplerate must be positive, got {request.samplerate}; e.g. --samplerate 44100")
    if request.resolution is not None and request.resolution < 4:
        raise StafUserError(f"--resolution must be at least 4, got {request.resolution}; e.g. --resolution 256")
    if request.output is not None:
        out = Path(request.output)
        suffixes = {"audio": (".wav", ".flac"), "shape": (".ply", ".obj")}.get(task, IMAGE_SUFFIXES)
        if out.suffix.lower() not in suffixes:
            raise StafUserError(f"--output {out}: a {task} run renders to {' or '.join(suffixes)}; end the file name "
                                f"with one of them")
        if out.is_dir():
            raise StafUserError(f"--output {out} is a folder; give a file name ending in {suffixes[0]}")
        check_output_folder(out.parent if str(out.parent) else Path("."), "--output")

