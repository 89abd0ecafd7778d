"""Running a task end to end: run folder, config.yml, training, metrics.json, pictures; and reloading a run."""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Tuple

import numpy as np
import torch
from torch import nn

from staf_nerfstudio.io import remove_stale_temp_files, write_json
from staf_tasks.config import RUN_CONFIG_NAME, config_with_preset, load_run_config, save_config, to_plain
from staf_tasks.errors import StafUserError
from staf_tasks.models import build_model, count_parameters
from staf_tasks.plots import plot_curves
from staf_tasks.tasks import FitConfig, Task, get_task
from staf_tasks.training import CHECKPOINT_NAME, FitResult, fit
from staf_tasks.validate import (
    check_fit_config,
    check_output_folder,
    check_resume,
    check_resumed_task,
)

CONFIG_NAME = RUN_CONFIG_NAME
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


def checkpoint_epoch(run_dir: Path) -> int:
    """The epoch the run folder's checkpoint holds (a damaged checkpoint is a user error naming the fix)."""
    path = Path(run_dir) / CHECKPOINT_NAME
    try:
        return int(torch.load(path, map_location="cpu", weights_only=True)["epoch"])
    except Exception as err:  # torch raises many types for a damaged file
        raise StafUserError(f"cannot read {path} ({' '.join(str(err).split())[:120]}); the checkpoint is damaged: "
                            f"start the run afresh with --overwrite") from None


def check_run_task(task: Task, cfg: FitConfig) -> None:
    """Every check of a fit before anything is written (see :mod:`staf_tasks.validate`)."""
    check_fit_config(cfg)
    run_dir = run_dir_for(task, cfg)
    if cfg.resume is None:
        check_output_folder(run_dir)
        if (run_dir / CHECKPOINT_NAME).exists() and not cfg.overwrite:
            raise StafUserError(
                f"run folder {run_dir} already holds a trained run; pass --resume {run_dir} to continue it, "
                "--name to start another, or --overwrite to replace it"
            )
        return
    if not (run_dir / CHECKPOINT_NAME).exists():
        raise StafUserError(f"--resume {run_dir}: no {CHECKPOINT_NAME} there; start the run without --resume")
    saved_task, saved = load_run_config(run_dir)
    check_resumed_task(run_dir, saved_task, task.name)
    check_output_folder(run_dir, "--resume folder")
    check_resume(run_dir, saved, cfg, checkpoint_epoch(run_dir))


def run_task(task_name: str, cfg: FitConfig) -> RunSummary:
    """Fits ``cfg.model`` to the task's signal and writes everything into the run folder.

    Every check runs before the first write, and a start that fails before its first checkpoint removes the folders
    it created, so a refused or failed command leaves the output folder as it was.
    """
    task = get_task(task_name)
    check_run_task(task, cfg)
    run_dir = run_dir_for(task, cfg)
    resume = cfg.resume is not None
    prepared = task.prepare(cfg)
    if not resume and (run_dir / CHECKPOINT_NAME).exists():  # --overwrite (checked above)
        shutil.rmtree(run_dir)
    created = next((d for d in reversed([run_dir, *run_dir.parents]) if not d.exists()), None)
    run_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(run_dir)
    try:
        model = make_model(cfg, prepared.in_features, prepared.out_features)
        save_config(run_dir / CONFIG_NAME, cfg, extra={"task": task_name})
        result = fit(
            model, prepared.problem, cfg.train, out_dir=run_dir, resume=resume, progress=cfg.progress,
            description=f"{task_name} {cfg.model}", seed=cfg.seed,
        )
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
    metrics["files"] = {**files, "curves": "curves.png", "checkpoint": CHECKPOINT_NAME, "config": CONFIG_NAME}
    write_json(run_dir / METRICS_NAME, metrics)
    return RunSummary(run_dir, metrics, result)


def load_run(run_dir: Path) -> Tuple[Task, FitConfig, nn.Module, Dict[str, Any]]:
    """Rebuilds the trained network of a run folder from its config.yml and checkpoint."""
    run_dir = Path(run_dir)
    task_name, cfg = load_run_config(run_dir)
    task = get_task(task_name)
    metrics_path = run_dir / METRICS_NAME
    if not metrics_path.exists() or not (run_dir / CHECKPOINT_NAME).exists():
        raise StafUserError(f"{run_dir} has no finished training (missing {METRICS_NAME} or {CHECKPOINT_NAME})")
    metrics = json.loads(metrics_path.read_text())
    info = metrics["signal"]
    model = make_model(cfg, metrics["in_features"], metrics["out_features"])
    state = torch.load(run_dir / CHECKPOINT_NAME, map_location="cpu", weights_only=True)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError:
        raise StafUserError(f"{run_dir}/{CHECKPOINT_NAME} does not hold the network its {CONFIG_NAME} describes "
                            f"(model {cfg.model}); the folder was changed by hand or by an old staf-fit: train it "
                            "again with --overwrite") from None
    model.eval()
    return task, cfg, model, info


__all__ = ["run_task", "load_run", "load_run_config", "config_with_preset", "to_plain", "RunSummary"]
