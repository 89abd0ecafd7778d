"""One training loop for every task and model: Adam on MSE, the authors' ``lr * b^min(t/T, 1)`` decay, minibatches
of coordinates, clean evaluation passes, atomic checkpoints and resume."""

from __future__ import annotations

import errno
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import torch
from torch import Tensor, nn

from staf_nerfstudio.io import save_torch
from staf_tasks.errors import StafUserError, disk_full_error
from staf_tasks.progress import progress_bar
from staf_tasks.task_configs import TrainConfig

CHECKPOINT_NAME = "checkpoint.pt"


@dataclass
class FitProblem:
    """What one task hands to the loop: training pairs, where and how to evaluate."""

    train_coords: Tensor
    """``(N, in)`` coordinates in [-1, 1]."""
    train_values: Tensor
    """``(N, out)`` target values."""
    eval_coords: Tensor
    """``(M, in)`` coordinates of the clean evaluation pass (the full signal; for super-resolution the HR grid)."""
    evaluate: Callable[[Tensor], Dict[str, float]]
    """Maps the prediction at ``eval_coords`` (on the CPU) to metrics."""
    primary: str = "psnr"
    """The metric curves and "best" refer to (higher is better)."""
    train_evaluate: Optional[Callable[[Tensor], Dict[str, float]]] = None
    """Metrics of the reconstruction assembled from the minibatch outputs of one epoch (the authors' number)."""


@dataclass
class FitResult:
    history: List[Dict[str, float]] = field(default_factory=list)
    """One row per evaluation: epoch, step, loss, lr and the clean-pass metrics."""
    best_during_training: Dict[str, float] = field(default_factory=dict)
    """Best primary metric of the reconstruction assembled from minibatch outputs (the authors' way), and its epoch."""
    final: Dict[str, float] = field(default_factory=dict)
    """Metrics of a clean evaluation pass after the last epoch."""
    final_prediction: Optional[Tensor] = None
    """The clean pass's prediction at ``eval_coords`` (on the CPU)."""
    model: Optional[nn.Module] = None
    """The trained network (for writers that query it elsewhere, e.g. marching cubes)."""
    wall_time_s: float = 0.0
    epochs_done: int = 0


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise StafUserError("--train.device cuda was asked for, but torch sees no CUDA device; use --train.device cpu")
    return torch.device(name)


def param_groups(model: nn.Module, cfg: TrainConfig) -> List[dict]:
    """Adam groups: STAF activation parameters (lr scaled by ``activation_lr_scale``) and everything else."""
    act_params = list(model.activation_parameters()) if hasattr(model, "activation_parameters") else []
    act_ids = {id(p) for p in act_params}
    other = [p for p in model.parameters() if id(p) not in act_ids]
    groups = [{"params": other, "lr": cfg.lr, "name": "linear"}]
    if act_params:
        groups.append({"params": act_params, "lr": cfg.lr * cfg.activation_lr_scale, "name": "activation"})
    return groups


@torch.no_grad()
def predict(model: nn.Module, coords: Tensor, chunk: int = 65536) -> Tensor:
    """Model output at ``coords`` in chunks, returned on the CPU."""
    device = next(model.parameters()).device
    outs = [model(coords[i : i + chunk].to(device)).float().cpu() for i in range(0, coords.shape[0], chunk)]
    return torch.cat(outs) if outs else torch.zeros(0)


def fit(
    model: nn.Module,
    problem: FitProblem,
    cfg: TrainConfig,
    out_dir: Optional[Path] = None,
    resume: bool = False,
    progress: bool = True,
    description: str = "fit",
    on_checkpoint: Optional[Callable[[], None]] = None,
    seed: int = 0,
    resume_state: Optional[Dict[str, Any]] = None,
    run_info: Optional[Dict[str, Any]] = None,
) -> FitResult:
    """Trains ``model`` on ``problem``; writes ``checkpoint.pt`` under ``out_dir`` and resumes from it if asked.

    Args:
        resume_state: A checkpoint already read (and checked against ``model``) by the caller; continues from it
            (``resume`` reads ``out_dir``'s checkpoint instead).
        run_info: Saved in every checkpoint under ``"run"`` (the task, the config and the signal's facts), so that a
            reader rebuilds the network from the checkpoint alone, never from a mix of two runs' files.
    """
    device = resolve_device(cfg.device)
    model.to(device)
    coords = problem.train_coords.to(device)
    values = problem.train_values.to(device)
    n = coords.shape[0]
    if n == 0:
        raise StafUserError("the signal has no samples to fit")
    batch = n if cfg.batch_size <= 0 else min(cfg.batch_size, n)
    steps_per_epoch = math.ceil(n / batch)
    total_steps = max(1, cfg.epochs * steps_per_epoch)
    optimizer = torch.optim.Adam(param_groups(model, cfg))
    decay = cfg.lr_decay
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: decay ** min(step / total_steps, 1.0))
    generator = torch.Generator().manual_seed(seed)
    result = FitResult()
    start_epoch = 0
    ckpt_path = out_dir / CHECKPOINT_NAME if out_dir is not None else None
    if resume and resume_state is None:
        if ckpt_path is None or not ckpt_path.exists():
            raise StafUserError(f"--resume: no checkpoint at {ckpt_path}; run without --resume first")
        resume_state = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    if resume_state is not None:
        state = resume_state
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"])
        result.history = state["history"]
        result.best_during_training = state["best_during_training"]
        result.wall_time_s = state["wall_time_s"]
        start_epoch = state["epoch"]

    def save_checkpoint(epoch: int) -> None:
        if ckpt_path is None:
            return
        state = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "generator": generator.get_state(),
            "history": result.history,
            "best_during_training": result.best_during_training,
            "wall_time_s": result.wall_time_s,
            "epoch": epoch,
        }
        if run_info is not None:
            state["run"] = {**run_info, "epochs": cfg.epochs}
        save_checkpoint_file(ckpt_path, state)
        if on_checkpoint is not None:
            on_checkpoint()

    assembled = torch.zeros_like(values) if problem.train_evaluate is not None else None
    last_prediction: Optional[Tensor] = None
    t_start = time.perf_counter() - result.wall_time_s
    loss_value = float("nan")
    with progress_bar(progress, description, steps_per_epoch=steps_per_epoch) as bar:
        task = bar.add_task(description, total=cfg.epochs, completed=start_epoch, status="")
        for epoch in range(start_epoch + 1, cfg.epochs + 1):
            model.train()
            order = torch.randperm(n, generator=generator).to(device) if batch < n else None
            epoch_loss = 0.0
            for i in range(steps_per_epoch):
                idx = order[i * batch : (i + 1) * batch] if order is not None else slice(None)
                pred = model(coords[idx])
                loss = torch.mean((pred - values[idx]) ** 2)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                epoch_loss += loss.item()
                if assembled is not None:
                    assembled[idx] = pred.detach().to(assembled.dtype)
            loss_value = epoch_loss / steps_per_epoch
            if not math.isfinite(loss_value):
                raise StafUserError(f"training diverged at epoch {epoch} (loss {loss_value}); lower --train.lr")
            if assembled is not None:
                train_metrics = problem.train_evaluate(assembled.cpu())
                best = result.best_during_training.get(problem.primary, -math.inf)
                if train_metrics[problem.primary] > best:
                    result.best_during_training = {**train_metrics, "epoch": epoch}
            last = epoch == cfg.epochs
            if last or epoch % cfg.eval_every == 0 or epoch == 1:
                model.eval()
                last_prediction = predict(model, problem.eval_coords, cfg.eval_chunk)
                metrics = problem.evaluate(last_prediction)
                result.wall_time_s = time.perf_counter() - t_start
                row = {"epoch": epoch, "step": epoch * steps_per_epoch, "loss": loss_value,
                       "lr": optimizer.param_groups[0]["lr"], "time_s": result.wall_time_s, **metrics}
                result.history.append(row)
                bar.update(task, status=f"loss {loss_value:.2e}  {problem.primary} {metrics[problem.primary]:.2f}")
            bar.update(task, completed=epoch)
            result.wall_time_s = time.perf_counter() - t_start
            if last or epoch % cfg.checkpoint_every == 0:
                save_checkpoint(epoch)
    model.eval()
    if last_prediction is None:  # resumed a finished run: nothing was trained in this call
        last_prediction = predict(model, problem.eval_coords, cfg.eval_chunk)
    result.final_prediction = last_prediction
    result.model = model
    result.final = problem.evaluate(last_prediction)
    result.epochs_done = cfg.epochs
    return result


def save_checkpoint_file(path: Path, state: Dict[str, Any]) -> None:
    """Writes a checkpoint atomically; a full disk is reported as the ``OSError`` it is (torch's writer raises a
    ``RuntimeError`` for it), naming the checkpoint's folder. The previous checkpoint stays as it was."""
    try:
        save_torch(path, state)
    except RuntimeError as err:  # torch's C++ writer: "file write failed", "basic_ios::clear: iostream error", ...
        free = shutil.disk_usage(path.parent).free if path.parent.exists() else 0
        if free < _tensor_bytes(state) + (1 << 20) or "no space" in str(err).lower():
            raise disk_full_error(path, f"no space left on device, {free / 1e6:.1f} MB free") from None
        raise
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EDQUOT) and not err.filename:
            raise disk_full_error(path) from None
        raise


def _tensor_bytes(obj: Any) -> int:
    """The bytes of the tensors in a (nested) checkpoint: about what writing it needs on disk."""
    if isinstance(obj, Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, dict):
        return sum(_tensor_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_tensor_bytes(v) for v in obj)
    return 0
