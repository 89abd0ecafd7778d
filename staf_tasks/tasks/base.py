"""What every task shares: the common config fields and the interface a task implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional

from torch import nn

from staf_tasks.training import FitProblem, FitResult


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
