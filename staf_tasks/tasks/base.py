"""What every task shares: the common config fields and the interface a task implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Literal, Optional

from torch import nn

from staf_nerfstudio.settings import ModelsConfig
from staf_tasks.training import FitProblem, FitResult, TrainConfig

ModelName = Literal["staf", "siren", "wire", "finer", "gauss", "relu-pe"]


@dataclass
class FitConfig:
    """Settings common to every task."""

    data: Optional[str] = None
    """Signal to fit: a file path, or a built-in name; unset = the task's built-in default (no download)."""
    model: ModelName = "staf"
    """Network to fit with: STAF or one of the authors' baselines."""
    models: ModelsConfig = field(default_factory=ModelsConfig)
    """Per-model settings (only the chosen model's are used)."""
    hidden_features: int = 256
    """Width of every hidden layer."""
    hidden_layers: int = 3
    """Hidden W -> W layers after the first (3 = the paper's 2-256x4-3 shape for images)."""
    train: TrainConfig = field(default_factory=TrainConfig)
    """Optimization settings."""
    seed: int = 0
    """Fixes the initialization, the minibatch order and any synthetic noise: same seed, same machine, same metrics."""
    output_dir: Path = Path("outputs")
    """Folder that receives the run folder."""
    name: Optional[str] = None
    """Run folder name under output_dir (default: TASK-MODEL)."""
    overwrite: bool = False
    """Start afresh even if the run folder already holds a checkpoint."""
    resume: Optional[Path] = None
    """Continue the run in this folder from its last checkpoint; its config.yml is the default for every flag."""
    config: Optional[Path] = None
    """A YAML preset (e.g. configs/image.yaml) whose keys override the defaults; flags override it in turn."""
    progress: bool = True
    """Show a progress bar with the live metric."""


@dataclass
class Prepared:
    """A task's data, ready for the training loop."""

    problem: FitProblem
    in_features: int
    out_features: int
    info: Dict[str, Any] = field(default_factory=dict)
    """Facts about the signal for metrics.json (size, source, ...)."""
    state: Dict[str, Any] = field(default_factory=dict)
    """Whatever the task's writer needs (targets, noisy inputs, meshes, ...)."""


@dataclass
class RenderRequest:
    """What ``staf-render`` asks of a trained run (each task reads the fields that apply to it)."""

    scale: Optional[float] = None
    size: Optional[tuple] = None
    samplerate: Optional[int] = None
    resolution: Optional[int] = None
    output: Optional[Path] = None


class Task(ABC):
    """One kind of signal: how to load it, what to measure, what to write, how to render at a new resolution."""

    name: str
    config_cls: type
    primary_metric: str = "psnr"
    preview_file: str = "reconstruction.png"
    """The picture of a run that staf-bench shows side by side."""

    @abstractmethod
    def prepare(self, cfg: Any) -> Prepared:
        """Loads the signal named by ``cfg`` and builds the :class:`FitProblem`."""

    @abstractmethod
    def write_outputs(self, cfg: Any, run_dir: Path, prepared: Prepared, result: FitResult) -> Dict[str, str]:
        """Writes the reconstruction and pictures; returns ``{label: file name}``."""

    @abstractmethod
    def render(self, cfg: Any, model: nn.Module, run_dir: Path, request: RenderRequest, info: Dict[str, Any]) -> Path:
        """Queries the trained network at a new resolution and writes the file (``info``: the run's signal facts)."""
