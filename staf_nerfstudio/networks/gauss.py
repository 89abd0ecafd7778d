"""The Gaussian-activation layer.

Ramasinghe, Lucey, "Beyond Periodicity: Towards a Unifying Framework for Activations in Coordinate-MLPs", ECCV 2022
(arXiv 2111.15135).
"""

from __future__ import annotations

import torch
from jaxtyping import Float
from torch import Tensor, nn

from staf_nerfstudio.settings import GaussSettings


class GaussLayer(nn.Module):
    """``exp(-(sigma * (W x + b))^2)`` with PyTorch's default linear init (as the WIRE repository's Gauss baseline).

    Args:
        in_features: Inputs per point.
        out_features: Outputs per point.
        sigma: Inverse width of the Gaussian.
    """

    def __init__(self, in_features: int, out_features: int, sigma: float = GaussSettings.sigma) -> None:
        super().__init__()
        self.sigma = float(sigma)
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x: Float[Tensor, "*batch in_features"]) -> Float[Tensor, "*batch out_features"]:
        return torch.exp(-(self.sigma * self.linear(x)).square())
