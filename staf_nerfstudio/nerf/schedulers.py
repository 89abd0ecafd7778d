"""Learning rates: schedules whose state holds only plain Python numbers, and an Adam that honours per-parameter
learning-rate factors.

nerfstudio 1.1.5's own schedulers compute their factors with numpy, so numpy scalars end up in the learning rates the
optimizer and scheduler state dicts save, and ``torch.load``'s default ``weights_only=True`` (torch >= 2.6) refuses
those checkpoints (https://github.com/nerfstudio-project/nerfstudio/issues/3683). This schedule is the same exponential
decay with warm-up, in ``math``.

:class:`StafAdamOptimizerConfig` is nerfstudio's Adam, except that parameters carrying a :data:`LR_SCALE_ATTR`
attribute go into their own torch param group at that multiple of the group's learning rate (the schedule's factor
applies to both). The NeRF field tags its SIREN-initialized MLPs with it (see ``StafModelConfig.sine_lr_scale``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Type

import torch
from nerfstudio.engine.optimizers import AdamOptimizerConfig
from nerfstudio.engine.schedulers import ExponentialDecaySchedulerConfig, Scheduler
from torch.optim import Optimizer, lr_scheduler

LR_SCALE_ATTR = "staf_lr_scale"
"""Attribute of a parameter: its learning rate is this multiple of its optimizer's (honoured by
:class:`StafAdamOptimizerConfig`)."""


def lr_scaled_groups(params: Iterable[torch.nn.Parameter], lr: float) -> List[Dict]:
    """torch param groups: the untagged parameters at ``lr``, then one group per :data:`LR_SCALE_ATTR` value."""
    by_scale: Dict[float, List[torch.nn.Parameter]] = {}
    for p in params:
        by_scale.setdefault(float(getattr(p, LR_SCALE_ATTR, 1.0)), []).append(p)
    groups = [{"params": by_scale.pop(1.0)}] if 1.0 in by_scale else []
    return groups + [{"params": ps, "lr": lr * scale} for scale, ps in sorted(by_scale.items())]


@dataclass
class StafAdamOptimizerConfig(AdamOptimizerConfig):
    """nerfstudio's Adam; parameters tagged with a learning-rate factor get their own group at ``lr`` times it."""

    _target: Type = torch.optim.Adam
    """The optimizer class to use."""

    def setup(self, params) -> torch.optim.Optimizer:
        kwargs = vars(self).copy()
        kwargs.pop("_target")
        kwargs.pop("max_norm")
        return self._target(lr_scaled_groups(params, self.lr), **kwargs)


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
