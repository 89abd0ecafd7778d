"""Learning-rate schedules whose state holds only plain Python numbers.

nerfstudio 1.1.5's own schedulers compute their factors with numpy, so numpy scalars end up in the learning rates the
optimizer and scheduler state dicts save, and ``torch.load``'s default ``weights_only=True`` (torch >= 2.6) refuses
those checkpoints (nerfstudio issue 3683). This schedule is the same exponential decay with warm-up, in ``math``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Type

from nerfstudio.engine.schedulers import ExponentialDecaySchedulerConfig, Scheduler
from torch.optim import Optimizer, lr_scheduler


@dataclass
class StafExponentialDecaySchedulerConfig(ExponentialDecaySchedulerConfig):
    """Exponential decay from the optimizer's lr to ``lr_final`` over ``max_steps``, after an optional warm-up."""

    _target: Type = field(default_factory=lambda: StafExponentialDecayScheduler)
    """target class to instantiate"""


def exponential_decay_factor(step: int, lr_init: float, config: ExponentialDecaySchedulerConfig) -> float:
    """Multiplier of ``lr_init`` at ``step`` (a Python float)."""
    lr_final = lr_init if config.lr_final is None else config.lr_final
    if step < config.warmup_steps:
        progress = min(max(step / config.warmup_steps, 0.0), 1.0)
        ramp = math.sin(0.5 * math.pi * progress) if config.ramp == "cosine" else progress
        lr = config.lr_pre_warmup + (lr_init - config.lr_pre_warmup) * ramp
    else:
        span = max(config.max_steps - config.warmup_steps, 1)
        t = min(max((step - config.warmup_steps) / span, 0.0), 1.0)
        lr = math.exp(math.log(lr_init) * (1.0 - t) + math.log(lr_final) * t)
    return float(lr / lr_init)


class StafExponentialDecayScheduler(Scheduler):
    """:class:`torch.optim.lr_scheduler.LambdaLR` with :func:`exponential_decay_factor`."""

    config: StafExponentialDecaySchedulerConfig

    def get_scheduler(self, optimizer: Optimizer, lr_init: float) -> lr_scheduler.LRScheduler:
        config = self.config
        return lr_scheduler.LambdaLR(optimizer, lr_lambda=lambda step: exponential_decay_factor(step, lr_init, config))
