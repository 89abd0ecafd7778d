"""Weight initializations shared by the STAF network and the sine baselines (a leaf: imports only torch)."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def siren_uniform_(weight: Tensor, omega: float, is_first: bool) -> Tensor:
    """SIREN's weight init, in place: ``U(-1/in, 1/in)`` for a first layer, else ``U(-sqrt(6/in)/omega, +)``.

    Biases keep PyTorch's default init, as in the SIREN reference code.
    """
    fan_in = weight.shape[1]
    bound = 1.0 / fan_in if is_first else math.sqrt(6.0 / fan_in) / omega
    with torch.no_grad():
        return weight.uniform_(-bound, bound)
