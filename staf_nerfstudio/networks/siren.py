"""SIREN's sine layer (its weight init lives in :mod:`staf_nerfstudio.initializers`).

Sitzmann, Martel, Bergman, Lindell, Wetzstein, "Implicit Neural Representations with Periodic Activation Functions",
NeurIPS 2020 (arXiv 2006.09661).
"""

from __future__ import annotations

import torch
from jaxtyping import Float
from torch import Tensor, nn

from staf_nerfstudio.initializers import siren_uniform_
from staf_nerfstudio.settings import SirenSettings


class SineLayer(nn.Module):
    """``sin(omega * (W x + b))`` with SIREN's weight init.

    Args:
        in_features: Inputs per point.
        out_features: Outputs per point.
        omega: Frequency factor multiplying the pre-activation.
        is_first: Use the first-layer init ``U(-1/in, 1/in)`` instead of ``U(-sqrt(6/in)/omega, sqrt(6/in)/omega)``.
    """

    def __init__(
        self, in_features: int, out_features: int, omega: float = SirenSettings.first_omega, is_first: bool = False
    ) -> None:
        super().__init__()
        self.omega = float(omega)
        self.is_first = is_first
        self.linear = nn.Linear(in_features, out_features)
        siren_uniform_(self.linear.weight, self.omega, is_first)

    def forward(self, x: Float[Tensor, "*batch in_features"]) -> Float[Tensor, "*batch out_features"]:
        return torch.sin(self.omega * self.linear(x))
