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
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low


def _finite_at_least_0(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0


def _seed(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**64


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
    ("seed", _seed, "0 or more and below 2**64 (the range torch seeds with)"),
    ("size", lambda v: v is None or all(isinstance(s, int) and s >= 2 for s in v), "WIDTH HEIGHT of at least 2 each"),
    ("max_side", lambda v: v is None or (isinstance(v, int) and v >= 2), "at least 2"),
    ("factor", _at_least(1), "at least 1"),
    ("photon_scale", _finite_positive, "a positive number"),
    ("read_noise", lambda v: isinstance(v, (int, float)) and math.isfinite(v) and v >= 0, "0 or more"),
    ("max_seconds", lambda v: v is None or _finite_positive(v), "a positive number of seconds"),
    ("resolution", _at_least(4), "at least 4"),
    ("chamfer_points", _at_least(1), "at least 1"),
    # Network settings (only the chosen model's are checked): the networks would refuse them with a traceback,
    # or train on NaN.
    ("models.staf.tau", _at_least(1), "a whole number of sine terms, at least 1"),
    ("models.staf.first_omega", _finite_positive, "a positive finite frequency"),
    ("models.staf.hidden_omega", _finite_positive, "a positive finite frequency"),
    ("models.staf.extra_amplitude", _finite_at_least_0, "0 or a positive finite amplitude"),
    ("models.staf.first_extra_amplitude", _finite_at_least_0, "0 or a positive finite amplitude"),
    ("models.siren.first_omega", _finite_positive, "a positive finite frequency"),
    ("models.siren.hidden_omega", _finite_positive, "a positive finite frequency"),
    ("models.finer.first_omega", _finite_positive, "a positive finite frequency"),
    ("models.finer.hidden_omega", _finite_positive, "a positive finite frequency"),
    ("models.finer.first_bias_scale", _finite_at_least_0, "0 or a positive finite scale"),
    ("models.wire.omega", _finite_positive, "a positive finite frequency"),
    ("models.wire.sigma", _finite_positive, "a positive finite width"),
    ("models.gauss.sigma", _finite_positive, "a positive finite width"),
    ("models.relu_pe.num_frequencies", _at_least(1), "at least 1"),
    ("models.relu_pe.sigma", _finite_positive, "a positive finite scale"),
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
    model = getattr(cfg, "model", None)
    for key, ok, need in NUMBER_RULES:
        if key.startswith("models.") and model is not None and key.split(".")[1] != model.replace("-", "_"):
            continue  # another network's settings: not used by this run
        present, value = _value(cfg, key)
        if present and not ok(value):
            _, example = _value(default, key)
            shown = " ".join(map(str, example)) if isinstance(example, (tuple, list)) else example
            hint = f"e.g. {flag(key)} {shown} (the default)" if example is not None else f"omit {flag(key)}"
            raise StafUserError(f"{flag(key)} must be {need}, got {_show(value)}; {hint}")


def check_run_options(cfg: Any) -> None:
    """Refuses contradictory or unsafe run options: --resume with --overwrite, a --name that is not one folder
    name (``../x``, ``a/b``, an absolute path would put the run outside --output-dir)."""
    if getattr(cfg, "resume", None) is not None and getattr(cfg, "overwrite", False):
        raise StafUserError(f"--resume {cfg.resume} continues the run in that folder and --overwrite replaces it; "
                            "pass one of them, not both")
    name = getattr(cfg, "name", None)
    if name is not None:
        text = str(name)
        if not text or text in (".", "..") or "/" in text or os.sep in text or (os.altsep or "/") in text \
                or "\0" in text:
            raise StafUserError(f"--name {text!r} must be one folder name (no '/', '.' or '..'), the run folder "
                                "made under --output-dir; choose where it goes with --output-dir instead")


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



def check_render_output(request: Any, run_files: Any) -> None:
    """Refuses a ``staf-render --output`` that would replace one of the files the run's training wrote (its
    reconstruction, checkpoint, config, metrics, pictures)."""
    if request.output is None:
        return
    out = Path(request.output)
    own = {Path(os.path.abspath(p)) for p in run_files}
    if Path(os.path.abspath(out)) in own:
        raise StafUserError(f"--output {out} is one of the files the run's training wrote; give another file name "
                            "(the default writes render_*.EXT beside them)")


# Memory: every size-like flag is checked against the memory this process may use before anything is allocated.
# The estimates are lower bounds (the tensors the command cannot do without), so a refused size would certainly not
# fit, and a size that passes may still be slow.

FLOAT = 4
"""Bytes per float32 value."""


def memory_budget() -> Tuple[int, str]:
    """The bytes this process may allocate and what limits them: the machine's memory, or a smaller limit on the
    process (``ulimit -v``) or its container (cgroup ``memory.max``)."""
    budget = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    what = "this machine's memory"
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY and soft < budget:
            budget, what = soft, "this process's memory limit (ulimit -v)"
    except (ImportError, ValueError, OSError):  # pragma: no cover - not on Linux
        pass
    try:
        text = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if text.isdigit() and int(text) < budget:
            budget, what = int(text), "this container's memory limit"
    except OSError:
        pass
    return budget, what


def format_bytes(count: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if count < 1000 or unit == "PB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} PB"  # pragma: no cover


#: One term of an estimate: (flag, its value as typed, bytes, what those bytes hold).
MemoryTerm = Tuple[str, str, float, str]


def check_memory(terms: List[MemoryTerm], budget: Optional[Tuple[int, str]] = None) -> None:
    """Refuses the command when its lower-bound memory estimate exceeds the budget, naming the flag of the largest
    term and the estimate."""
    terms = [t for t in terms if t[2] > 0]
    if not terms:
        return
    limit, what = budget or memory_budget()
    total = sum(t[2] for t in terms)
    if total <= limit:
        return
    key, shown, size, holds = max(terms, key=lambda t: t[2])
    others = f", {format_bytes(total)} in all" if total > size * 1.01 else ""
    raise StafUserError(f"{key} {shown} needs at least {format_bytes(size)} of memory ({holds}{others}), more than "
                        f"{what} ({format_bytes(limit)}); choose a smaller {key}")


def _signal_points(task: str, cfg: Any) -> Tuple[float, float, int, int, str, str]:
    """(training points, evaluation points, inputs, outputs, flag, its value) a fit's settings fix before the signal
    is read; 0 points when the signal file decides (it is in memory already, so it fits)."""
    if task in ("image", "denoise", "sr") and getattr(cfg, "size", None) is not None:
        width, height = cfg.size
        full = float(width) * float(height)
        train = full / max(1, cfg.factor) ** 2 if task == "sr" else full
        return train, full, 2, 1, "--size", _show(cfg.size)
    if task == "shape":
        points = float(cfg.resolution) ** 3
        return points, 0.0, 3, 1, "--resolution", str(cfg.resolution)
    return 0.0, 0.0, 0, 0, "", ""


def fit_memory_terms(task: str, cfg: Any, parameters: float, largest_network_flag: Tuple[str, str],
                     points: Optional[Tuple[float, float]] = None) -> List[MemoryTerm]:
    """The lower-bound estimate of a fit: the signal's tensors, the network's parameters with their gradients and
    Adam's two moments, and one layer's activations for a training batch and an evaluation chunk.

    Before the signal is read, its size is what the flags fix (--size, --resolution); ``points`` (training and
    evaluation points of the loaded signal) gives it afterwards, when the signal itself is in memory already.
    """
    if points is None:
        train, evaluate, ins, outs, size_flag, size_value = _signal_points(task, cfg)
    else:
        (train, evaluate), ins, outs, size_flag, size_value = points, 0, 0, "--data", str(cfg.data or "default")
    width = float(cfg.hidden_features)
    terms: List[MemoryTerm] = []
    if train and ins:
        data = (train * (ins + outs) + evaluate * (ins + outs)) * FLOAT
        terms.append((size_flag, size_value, data, "the coordinates and values of the signal"))
    terms.append((*largest_network_flag, parameters * 4 * FLOAT,
                  f"{parameters:,.0f} network parameters with their gradients and Adam's moments"))
    if train:  # a batch larger than the signal is the whole signal
        batch = min(float(cfg.train.batch_size), train) if cfg.train.batch_size > 0 else train
        batch_flag = ("--train.batch-size", str(cfg.train.batch_size) + (" (full batch)" if batch == train and
                                                                         cfg.train.batch_size <= 0 else ""))
        terms.append((*batch_flag, batch * width * 2 * FLOAT, "one hidden layer's activations for a training batch"))
    chunk = min(float(cfg.train.eval_chunk), evaluate) if evaluate else 0.0
    terms.append(("--train.eval-chunk", str(cfg.train.eval_chunk), chunk * width * FLOAT,
                  "one hidden layer's activations for an evaluation chunk"))
    if task == "shape":
        terms.append(("--chamfer-points", str(cfg.chamfer_points), float(cfg.chamfer_points) * 3 * 2 * 8,
                      "the surface samples of the Chamfer distance"))
    return terms


def render_memory_terms(task: str, request: Any, info: Dict[str, Any]) -> List[MemoryTerm]:
    """The lower-bound estimate of ``staf-render``: the query coordinates and the values it writes."""
    if task in ("image", "sr", "denoise"):
        if request.size is not None:
            pixels, flag_value = float(request.size[0]) * float(request.size[1]), ("--size", _show(request.size))
        else:
            scale = request.scale or 1.0
            pixels = float(info.get("width", 0)) * float(info.get("height", 0)) * scale * scale
            flag_value = ("--scale", f"{scale:g}")
        return [(*flag_value, pixels * (2 + info.get("channels", 1)) * FLOAT, "the pixel coordinates and colours")]
    if task == "audio" and request.samplerate is not None:
        samples = float(info.get("num_samples", 0)) * request.samplerate / max(1, info.get("samplerate", 1))
        return [("--samplerate", str(request.samplerate), samples * 2 * FLOAT, "the sample times and values")]
    if task == "shape" and request.resolution is not None:
        return [("--resolution", str(request.resolution), float(request.resolution) ** 3 * 4 * FLOAT,
                 "the grid's coordinates and occupancy values")]
    return []
