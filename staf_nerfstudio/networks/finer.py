"""FINER's variable-periodic sine layer.

Liu, Zhu, Zhang, Liu, Xu, Ma, Cao, "FINER: Flexible spectral-bias tuning in Implicit NEural Representation by
Variable-periodic Activation Functions", CVPR 2024 (arXiv 2312.02434).
"""

from __future__ import annotations

from typing import Optional

import torch
from jaxtyping import Float
from torch import Tensor, nn

from staf_nerfstudio.networks.siren import siren_uniform_
from staf_nerfstudio.settings import FinerSettings


class FinerLayer(nn.Module):
    """``sin(omega * (|z| + 1) * z)``, ``z = W x + b``.

    Weights use SIREN's init; a first layer draws its biases from ``U(-first_bias_scale, first_bias_scale)`` so that
    large ``|z|`` reach the high-frequency part of the variable-periodic sine. As in the FINER reference code, the
    factor ``|z| + 1`` is detached from the graph unless ``scale_requires_grad``.

    Args:
        in_features: Inputs per point.
        out_features: Outputs per point.
        omega: Frequency factor.
        is_first: First-layer weight init (see :func:`~staf_nerfstudio.networks.siren.siren_uniform_`).
        first_bias_scale: Bias range of the layer; ``None`` keeps PyTorch's default bias init.
        scale_requires_grad: Backpropagate through ``|z| + 1``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        omega: float = FinerSettings.first_omega,
        is_first: bool = False,
        first_bias_scale: Optional[float] = None,
        scale_requires_grad: bool = False,
    ) -> None:
        super().__init__()
        self.omega = float(omega)
        self.is_first = is_first
        self.scale_requires_grad = scale_requires_grad
        self.linear = nn.Linear(in_features, out_features)
        siren_uniform_(self.linear.weight, self.omega, is_first)
        if first_bias_scale is not None:
            with torch.no_grad():
                self.linear.bias.uniform_(-first_bias_scale, first_bias_scale)

    def forward(self, x: Float[Tensor, "*batch in_features"]) -> Float[Tensor, "*batch out_features"]:
        z = self.linear(x)
        scale = z.abs() + 1 if self.scale_requires_grad else z.detach().abs() + 1
        return torch.sin(self.omega * scale * z)
