"""WIRE's complex Gabor wavelet layer.

Saragadam, LeJeune, Tan, Balakrishnan, Veeraraghavan, Baraniuk, "WIRE: Wavelet Implicit Neural Representations",
CVPR 2023 (arXiv 2301.05187).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from staf_nerfstudio.settings import WireSettings


class ComplexLinear(nn.Module):
    """Complex affine map ``W x + b`` stored as real parameters (WIRE's complex layers).

    Real and imaginary parts are separate real parameters, so ``model.double()`` / ``model.to(dtype)`` and every
    optimizer treat them like any other weight (an ``nn.Linear(dtype=torch.cfloat)`` loses its imaginary part under
    ``model.to(torch.float64)``). The init is what PyTorch gives a complex ``nn.Linear``: real and imaginary parts each
    ``U(-1/sqrt(in), 1/sqrt(in))``. A real input is promoted to complex.
    """

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(in_features)
        self.weight_real = nn.Parameter(torch.empty(out_features, in_features).uniform_(-bound, bound))
        self.weight_imag = nn.Parameter(torch.empty(out_features, in_features).uniform_(-bound, bound))
        self.bias_real = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound))
        self.bias_imag = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound))

    def forward(self, x: Tensor) -> Tensor:
        weight = torch.complex(self.weight_real, self.weight_imag)
        bias = torch.complex(self.bias_real, self.bias_imag)
        if not x.is_complex():
            x = x.to(weight.dtype)
        return nn.functional.linear(x, weight, bias)


class GaborLayer(nn.Module):
    """Complex Gabor wavelet ``exp(j omega z - |sigma z|^2)`` of ``z = W x + b``; the output is complex.

    As in the WIRE reference code, a first layer maps real inputs with a real ``nn.Linear`` and the others are complex
    (:class:`ComplexLinear`); omega and sigma are fixed.

    Args:
        in_features: Inputs per point.
        out_features: Outputs per point.
        omega: Wavelet frequency.
        sigma: Wavelet window scale.
        is_first: Real linear map (real input) instead of a complex one.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        omega: float = WireSettings.omega,
        sigma: float = WireSettings.sigma,
        is_first: bool = False,
    ) -> None:
        super().__init__()
        self.omega = float(omega)
        self.sigma = float(sigma)
        self.is_first = is_first
        self.linear = nn.Linear(in_features, out_features) if is_first else ComplexLinear(in_features, out_features)

    def forward(self, x: Tensor) -> Tensor:
        z = self.linear(x)
        magnitude2 = z.real.square() + z.imag.square() if z.is_complex() else z.square()
        return torch.exp(1j * self.omega * z - self.sigma**2 * magnitude2)
