"""Running a task end to end: run folder, config.yml, training, metrics.json, pictures; and reloading a run."""

from __future__ import annotations

import contextlib
import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple

import numpy as np
import torch
from torch import nn

from staf_nerfstudio.io import remove_stale_temp_files, write_json
from staf_nerfstudio.locking import LOCK_NAME, FolderBusyError, FolderLock, check_not_busy
from staf_nerfstudio.networks import build_model, count_parameters
from staf_tasks.config import (
    RUN_CONFIG_NAME,
    apply_overrides,
    config_with_preset,
    load_run_config,
    save_config,
    to_plain,
)
from staf_tasks.errors import StafUserError, interrupt_hint
from staf_tasks.plots import plot_curves
from staf_tasks.task_configs import task_config_class
from staf_tasks.tasks import FitConfig, Prepared, Task, get_task
from staf_tasks.training import CHECKPOINT_NAME, FitResult, fit
from staf_tasks.validate import (
    check_fit_config,
    check_memory,
    check_output_folder,
    check_resume,
    check_resumed_task,
    check_run_options,
    fit_memory_terms,
)

METRICS_NAME = "metrics.json"


def seed_everything(seed: int) -> None:
    """Seeds Python, NumPy and torch (CPU and CUDA) so the same seed on the same machine gives the same run."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def make_model(cfg: FitConfig, in_features: int, out_features: int) -> nn.Module:
    seed_everything(cfg.seed)
    return build_model(cfg.model, in_features, out_features, cfg.hidden_features, cfg.hidden_layers, cfg.models)


def run_dir_for(task: Task, cfg: FitConfig) -> Path:
    if cfg.resume is not None:
        return Path(cfg.resume)
    return Path(cfg.output_dir) / (cfg.name or f"{task.name}-{cfg.model}")


@dataclass
class RunSummary:
    run_dir: Path
    metrics: Dict[str, Any]
    result: FitResult


def read_checkpoint(run_dir: Path) -> Dict[str, Any]:
    """The run folder's checkpoint, read once (it is replaced atomically, so this is the last complete one, whatever
    a writer is doing); a damaged one is a user error naming the fix."""
    path = Path(run_dir) / CHECKPOINT_NAME
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        int(state["epoch"])
        return state
    except FileNotFoundError:
        raise StafUserError(f"{run_dir} has no {CHECKPOINT_NAME} (no finished training); give a folder staf-fit "
                            "trained") from None
    except Exception as err:  # torch raises many types for a damaged file
        raise StafUserError(f"cannot read {path} ({' '.join(str(err).split())[:120]}); the checkpoint is damaged: "
                            f"start the run afresh with --overwrite") from None


def checkpoint_epoch(run_dir: Path) -> int:
    """The epoch the run folder's checkpoint holds (a damaged checkpoint is a user error naming the fix)."""
    return int(read_checkpoint(run_dir)["epoch"])


def _load_weights(model: nn.Module, state: Dict[str, Any], run_dir: Path, model_name: str, fix: str) -> None:
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, KeyError, TypeError):
        raise StafUserError(f"{run_dir}/{CHECKPOINT_NAME} does not hold the network its {RUN_CONFIG_NAME} describes "
                            f"(model {model_name}): it was copied from another run or changed by hand; {fix}") from None


def busy_check(folder: Path, what: str) -> None:
    try:
        check_not_busy(folder, what)
    except FolderBusyError as err:
        raise StafUserError(str(err)) from None


def _enter(lock: FolderLock) -> None:
    try:
        lock.__enter__()
    except FolderBusyError as err:
        raise StafUserError(str(err)) from None


@contextlib.contextmanager
def writer_lock(folder: Path, what: str) -> Iterator[FolderLock]:
    """Holds ``folder``'s writer lock (a second writer gets one line naming the holder, see
    :mod:`staf_nerfstudio.locking`)."""
    lock = FolderLock(folder, what)
    _enter(lock)
    try:
        yield lock
    finally:
        lock.__exit__(None, None, None)


def _network_flag(cfg: FitConfig) -> Tuple[str, str]:
    """The network flag that most exceeds its default (what a too-large network's message names)."""
    default = type(cfg)()
    candidates = [("--hidden-features", cfg.hidden_features, default.hidden_features),
                  ("--hidden-layers", cfg.hidden_layers + 1, default.hidden_layers + 1)]
    if cfg.model == "staf":
        candidates.append(("--models.staf.tau", cfg.models.staf.tau, default.models.staf.tau))
    if cfg.model == "relu-pe":
        candidates.append(("--models.relu-pe.num-frequencies", cfg.models.relu_pe.num_frequencies,
                           default.models.relu_pe.num_frequencies))
    name, value, _ = max(candidates, key=lambda c: c[1] / max(1, c[2]))
    return name, str(value - 1 if name == "--hidden-layers" else value)


def parameter_count(cfg: FitConfig, in_features: int = 3, out_features: int = 3) -> float:
    """The network's parameter count, from a build on torch's meta device (shapes only, nothing allocated)."""
    try:
        with torch.device("meta"):
            model = build_model(cfg.model, in_features, out_features, cfg.hidden_features, cfg.hidden_layers,
                                cfg.models)
        return float(sum(p.numel() for p in model.parameters()))
    except Exception:  # noqa: BLE001 - an init the meta device cannot run: estimate the linear layers
        width = float(cfg.hidden_features)
        return width * width * (cfg.hidden_layers + 1) + width * (in_features + out_features)


def check_fit_memory(task: Task, cfg: FitConfig, prepared: Optional[Prepared] = None) -> None:
    """Refuses a fit whose tensors would not fit in memory: before the signal is read (from the sizes the flags
    give), and with ``prepared`` once it is (from its real size), before the network and the training allocate."""
    points = None
    if prepared is not None:
        points = (float(prepared.problem.train_coords.shape[0]), float(prepared.problem.eval_coords.shape[0]))
        count = parameter_count(cfg, prepared.in_features, prepared.out_features)
    else:
        count = parameter_count(cfg)
    check_memory(fit_memory_terms(task.name, cfg, count, _network_flag(cfg), points))


def check_run_task(task: Task, cfg: FitConfig) -> Optional[Dict[str, Any]]:
    """Every check of a fit before anything is written (see :mod:`staf_tasks.validate`); returns the checkpoint a
    ``--resume`` continues from (read and checked against the run's settings), else None."""
    check_fit_config(cfg)
    check_run_options(cfg)
    run_dir = run_dir_for(task, cfg)
    if cfg.resume is None:
        check_output_folder(run_dir)
        busy_check(run_dir, "run folder")
        if (run_dir / CHECKPOINT_NAME).exists() and not cfg.overwrite:
            raise StafUserError(
                f"run folder {run_dir} already holds a trained run; pass --resume {run_dir} to continue it, "
                "--name to start another, or --overwrite to replace it"
            )
        check_fit_memory(task, cfg)
        return None
    if not (run_dir / CHECKPOINT_NAME).exists():
        raise StafUserError(f"--resume {run_dir}: no {CHECKPOINT_NAME} there; start the run without --resume")
    saved_task, saved = load_run_config(run_dir)
    check_resumed_task(run_dir, saved_task, task.name)
    check_output_folder(run_dir, "--resume folder")
    busy_check(run_dir, "run folder")
    state = read_checkpoint(run_dir)
    check_resume(run_dir, saved, cfg, int(state["epoch"]))
    check_fit_memory(task, cfg)
    return state


def _check_signal(prepared: Prepared) -> None:
    count = int(prepared.problem.train_coords.shape[0])
    if count < 2:
        raise StafUserError(f"the signal has {count} sample{'s' if count != 1 else ''} to fit; an INR needs at least "
                            "2 (images: 2x2 pixels); pass a longer clip or a larger signal")


def _clear_folder(run_dir: Path) -> None:
    """Empties a run folder for --overwrite, keeping the writer lock held inside it."""
    for path in run_dir.iterdir():
        if path.name == LOCK_NAME:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def run_task(task_name: str, cfg: FitConfig) -> RunSummary:
    """Fits ``cfg.model`` to the task's signal and writes everything into the run folder.

    Every check runs before the first write (a ``--resume`` reads and checks its checkpoint against the network
    first, and writes config.yml only after); the run folder's writer lock is held from the first write to the last,
    so a second writer is refused; a start that fails before its first checkpoint removes the folders it created,
    so a refused or failed command leaves the output folder as it was.
    """
    task = get_task(task_name)
    resume_state = check_run_task(task, cfg)
    run_dir = run_dir_for(task, cfg)
    prepared = task.prepare(cfg)
    _check_signal(prepared)
    check_fit_memory(task, cfg, prepared)
    model = make_model(cfg, prepared.in_features, prepared.out_features)
    if resume_state is not None:
        _load_weights(model, resume_state, run_dir, cfg.model, "start a new run with --name, or train this one "
                      "again with --overwrite (without --resume)")
    created = next((d for d in reversed([run_dir, *run_dir.parents]) if not d.exists()), None)
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = FolderLock(run_dir, "run folder")
    try:
        _enter(lock)
    except BaseException:
        if created is not None:
            _remove_if_empty(created)
        raise
    try:
        return _write_run(task, cfg, run_dir, prepared, model, resume_state, created)
    finally:
        lock.__exit__(None, None, None)


def _remove_if_empty(created: Path) -> None:
    """Removes the folders a refused start made (only if nothing else was put in them meanwhile)."""
    for folder in sorted([p for p in created.rglob("*") if p.is_dir()] + [created], key=lambda p: -len(p.parts)):
        try:
            folder.rmdir()
        except OSError:
            pass


def _write_run(task: Task, cfg: FitConfig, run_dir: Path, prepared: Prepared, model: nn.Module,
               resume_state: Optional[Dict[str, Any]], created: Optional[Path]) -> RunSummary:
    task_name = task.name
    resume = resume_state is not None
    if resume:  # what was checked before the lock may have changed while another writer held it: check again
        if read_checkpoint(run_dir)["epoch"] != resume_state["epoch"]:
            raise StafUserError(f"--resume {run_dir}: its checkpoint changed while this command started (another "
                                "writer finished); run the command again")
    elif (run_dir / CHECKPOINT_NAME).exists():
        if not cfg.overwrite:
            raise StafUserError(f"run folder {run_dir} already holds a trained run (another writer finished it "
                                f"meanwhile); pass --resume {run_dir} to continue it, or --name to start another")
        _clear_folder(run_dir)  # --overwrite (checked above)
    remove_stale_temp_files(run_dir)
    run_info = {"task": task_name, "config": to_plain(cfg), "in_features": prepared.in_features,
                "out_features": prepared.out_features, "signal": prepared.info}
    resume_hint = f"continue with `staf-fit {task_name} --resume {run_dir}`"

    def hint() -> str:
        if (run_dir / CHECKPOINT_NAME).exists():
            return f"the last checkpoint is {run_dir / CHECKPOINT_NAME}; {resume_hint}"
        return "stopped before the first checkpoint, so nothing was kept; run the command again"

    written = []

    def write_config() -> None:
        if not written:
            save_config(run_dir / RUN_CONFIG_NAME, cfg, extra={"task": task_name})
            written.append(True)

    try:
        with interrupt_hint(hint):
            if not resume:
                write_config()
            # A resume writes its config.yml with its first new checkpoint: a resume that fails before (a full disk,
            # Ctrl-C) leaves the folder byte for byte as it was.
            result = fit(
                model, prepared.problem, cfg.train, out_dir=run_dir, resume=resume, progress=cfg.progress,
                description=f"{task_name} {cfg.model}", seed=cfg.seed, resume_state=resume_state, run_info=run_info,
                on_checkpoint=write_config,
            )
            write_config()
    except BaseException:
        if created is not None and not (run_dir / CHECKPOINT_NAME).exists():
            shutil.rmtree(created, ignore_errors=True)  # nothing to resume: leave no half-made folder behind
        raise
    files = task.write_outputs(cfg, run_dir, prepared, result)  # may add metrics measured on its outputs
    best_clean = max(result.history, key=lambda r: r.get(task.primary_metric, -np.inf)) if result.history else {}
    metrics = {
        "task": task_name,
        "model": cfg.model,
        "parameters": count_parameters(model),
        "in_features": prepared.in_features,
        "out_features": prepared.out_features,
        "final": result.final,
        "best_clean_eval": {k: best_clean[k] for k in best_clean if k not in ("loss", "lr", "time_s")},
        "best_during_training": result.best_during_training,
        "metric_notes": {
            "final": "clean evaluation pass over the full signal after training (the honest number)",
            "best_clean_eval": "best of the clean evaluation passes made every eval_every epochs",
            "best_during_training": "best over epochs of the reconstruction assembled from minibatch outputs "
            "during training (how the authors report)",
        },
        "epochs": result.epochs_done,
        "wall_time_s": result.wall_time_s,
        "signal": prepared.info,
        "history": result.history,
    }
    plot_curves(
        run_dir / "curves.png", {cfg.model: result.history}, metric=task.primary_metric,
        title=f"{task_name}: {cfg.model} (clean evaluation passes)",
    )
    metrics["files"] = {**files, "curves": "curves.png", "checkpoint": CHECKPOINT_NAME, "config": RUN_CONFIG_NAME}
    write_json(run_dir / METRICS_NAME, metrics)
    return RunSummary(run_dir, metrics, result)


def load_run(run_dir: Path) -> Tuple[Task, FitConfig, nn.Module, Dict[str, Any]]:
    """Rebuilds the trained network of a run folder from its checkpoint, read once.

    A checkpoint holds the task, the config and the signal's facts it was trained with, so the network comes from
    that one file: a reader never mixes the config of one run with the weights of another, even while a writer
    replaces the run. Checkpoints written before they held these are read with the folder's config.yml and
    metrics.json.
    """
    run_dir = Path(run_dir)
    load_run_config(run_dir)  # a folder that is no run folder is refused by name
    if not (run_dir / CHECKPOINT_NAME).exists():
        raise StafUserError(f"{run_dir} has no finished training (missing {CHECKPOINT_NAME}); train it with "
                            "staf-fit, or give the folder staf-fit printed")
    state = read_checkpoint(run_dir)
    saved = state.get("run")
    if saved is not None:
        task_name = saved["task"]
        cfg = apply_overrides(task_config_class(task_name)(), {k: v for k, v in saved["config"].items()})
        in_features, out_features, info = saved["in_features"], saved["out_features"], saved["signal"]
    else:
        task_name, cfg = load_run_config(run_dir)
        metrics_path = run_dir / METRICS_NAME
        if not metrics_path.exists():
            raise StafUserError(f"{run_dir} has no finished training (missing {METRICS_NAME}); finish it with "
                                f"`staf-fit {task_name} --resume {run_dir}`")
        metrics = json.loads(metrics_path.read_text())
        in_features, out_features, info = metrics["in_features"], metrics["out_features"], metrics["signal"]
    task = get_task(task_name)
    model = make_model(cfg, in_features, out_features)
    _load_weights(model, state, run_dir, cfg.model, "train it again with --overwrite")
    model.eval()
    return task, cfg, model, info


def run_files(run_dir: Path) -> set:
    """The files a run folder's training wrote (what staf-render must not replace)."""
    names = {RUN_CONFIG_NAME, CHECKPOINT_NAME, METRICS_NAME, "curves.png"}
    try:
        names |= set(json.loads((Path(run_dir) / METRICS_NAME).read_text()).get("files", {}).values())
    except (OSError, ValueError, AttributeError):
        pass
    return {Path(run_dir) / n for n in names}


__all__ = ["run_task", "load_run", "load_run_config", "config_with_preset", "to_plain", "RunSummary"]
