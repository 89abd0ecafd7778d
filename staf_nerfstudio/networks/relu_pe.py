"""Random Fourier features and the ReLU layer behind the "ReLU + positional encoding" baseline.

Tancik, Srinivasan, Mildenhall, Fridovich-Keil, Raghavan, Singhal, Ramamoorthi, Barron, Ng, "Fourier Features Let
Networks Learn High Frequency Functions in Low Dimensional Domains", NeurIPS 2020 (arXiv 2006.10739).
"""

from __future__ import annotations

import math
from typing import List

import torch
from jaxtyping import Float
from torch import Tensor, nn

from staf_nerfstudio.settings import ReluPeSettings


class FourierFeatures(nn.Module):
    """Gaussian random Fourier features ``[cos(2 pi B x), sin(2 pi B x)]``, ``B ~ N(0, sigma^2)``.

    ``B`` has shape ``(num_frequencies, in_features)``, is drawn once from torch's global RNG (so ``torch.manual_seed``
    fixes it) and is a persistent buffer: never trained, saved in checkpoints, moved and cast by ``.to()``.
    """

    def __init__(
        self,
        in_features: int,
        num_frequencies: int = ReluPeSettings.num_frequencies,
        sigma: float = ReluPeSettings.sigma,
    ) -> None:
        super().__init__()
        self.register_buffer("frequencies", torch.randn(num_frequencies, in_features) * sigma)
        self.out_features = 2 * num_frequencies

    def forward(self, x: Float[Tensor, "*batch in_features"]) -> Float[Tensor, "*batch out_features"]:
        angles = 2 * math.pi * x @ self.frequencies.T
        return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)


class ReluLayer(nn.Module):
    """``relu(W x + b)`` with PyTorch's default linear init."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x: Float[Tensor, "*batch in_features"]) -> Float[Tensor, "*batch out_features"]:
        return torch.relu(self.linear(x))


def relu_mlp(in_features: int, hidden_features: int, hidden_layers: int, out_features: int) -> nn.Sequential:
    """A plain ReLU network (``relu-pe`` without an encoding): ``hidden_layers + 1`` ReLU layers, a linear read-out.

    An ``nn.Sequential`` of ``Linear, ReLU, ..., Linear``, so its state-dict keys (``0.weight``, ``2.weight``, ...)
    are those of the NeRF fields' ReLU colour heads in checkpoints written before the registry served the field.
    """
    layers: List[nn.Module] = []
    width = in_features
    for _ in range(hidden_layers + 1):
        layers += [nn.Linear(width, hidden_features), nn.ReLU()]
        width = hidden_features
    return nn.Sequential(*layers, nn.Linear(width, out_features))
