"""The trainable sinusoidal activation module and its initialization."""

from __future__ import annotations

import math
from typing import Optional, get_args

import torch
from jaxtyping import Float
from torch import Tensor, nn

from staf_nerfstudio.functional import available_implementations, staf_activation
from staf_nerfstudio.settings import StafInit, StafSettings, StafSharing

SHARING_MODES = get_args(StafSharing)
INIT_SCHEMES = get_args(StafInit)
LAPLACE_INITS = ("official", "unit")
"""The inits that draw Laplace amplitudes (the paper's Gaussian post-activation theorem is about these)."""


def amplitude_laplace_scale(tau: int, init: str) -> float:
    """Scale ``s`` of the Laplace draw behind the amplitudes.

    ``a = sign(Y) sqrt(|Y|)`` with ``Y ~ Laplace(0, s)`` makes ``a * sin(theta)`` (uniform phase) exactly
    ``N(0, s / 2)``, so the activation is ``N(0, tau * s / 2)``: ``"official"`` (the authors' code, ``s = 1/(2 tau)``)
    gives ``N(0, 1/4)``; ``"unit"`` (the paper's theorem, ``s = 2 / tau``) gives ``N(0, 1)``.
    """
    check_init(init)
    if init not in LAPLACE_INITS:
        raise ValueError(f"init {init!r} draws no Laplace amplitudes (only {', '.join(LAPLACE_INITS)} do)")
    return 1.0 / (2.0 * tau) if init == "official" else 2.0 / tau


def check_sharing(sharing: str) -> None:
    if sharing not in SHARING_MODES:
        raise ValueError(f"unknown STAF sharing {sharing!r}; allowed: {', '.join(SHARING_MODES)}")


def check_init(init: str) -> None:
    if init not in INIT_SCHEMES:
        raise ValueError(f"unknown STAF init {init!r}; allowed: {', '.join(INIT_SCHEMES)}")


class StafActivation(nn.Module):
    """Sinusoidal trainable activation ``sigma(z) = sum_{i<tau} a_i sin(w_i z + p_i)``.

    Args:
        tau: Number of sine terms.
        omega: Frequencies are drawn from ``omega * U[0, 1)`` (``init="siren"``: ``omega, 2 omega, ...``); omega does
            not multiply ``z``.
        sharing: ``"layer"`` (one ``(tau,)`` set per layer, the paper's choice), ``"neuron"`` (``(num_features, tau)``)
            or ``"network"`` (a ``(tau,)`` set that :class:`~staf_nerfstudio.StafMLP` shares between all layers).
        num_features: Width of the layer; required for ``"neuron"`` sharing.
        init: ``"official"`` (post-activations ``N(0, 1/4)``, as the authors' code), ``"unit"`` (``N(0, 1)``) or
            ``"siren"``: the first term is ``sin(omega z)`` (amplitude 1, frequency omega, phase 0), term ``k`` (k = 2
            .. tau) the harmonic ``k omega`` with amplitude ``U(-extra_amplitude, extra_amplitude)`` and a random
            phase. With ``extra_amplitude=0`` the activation is exactly SIREN's ``sin(omega z)``.
        extra_amplitude: Amplitude range of the harmonic terms of ``init="siren"``.
        implementation: ``"auto"`` or a name from :func:`~staf_nerfstudio.functional.available_implementations`.
    """

    def __init__(
        self,
        tau: int = StafSettings.tau,
        omega: float = StafSettings.first_omega,
        sharing: str = StafSettings.sharing,
        num_features: Optional[int] = None,
        init: str = StafSettings.init,
        implementation: str = StafSettings.implementation,
        extra_amplitude: float = StafSettings.extra_amplitude,
    ) -> None:
        super().__init__()
        if not isinstance(tau, int) or tau < 1:
            raise ValueError(f"STAF tau must be an integer >= 1 (the number of sine terms), got {tau!r}")
        check_sharing(sharing)
        check_init(init)
        if sharing == "neuron" and (num_features is None or num_features < 1):
            raise ValueError("STAF sharing='neuron' needs num_features (the layer width), e.g. num_features=256")
        if implementation != "auto" and implementation not in available_implementations():
            raise ValueError(
                f"unknown STAF implementation {implementation!r}; choose 'auto' or one of "
                f"{sorted(available_implementations())}"
            )
        self.tau = tau
        self.omega = float(omega)
        self.sharing = sharing
        self.num_features = num_features
        if not extra_amplitude >= 0:
            raise ValueError(f"STAF extra_amplitude must be >= 0, got {extra_amplitude!r}")
        self.init = init
        self.extra_amplitude = float(extra_amplitude)
        self.implementation = implementation
        shape = (num_features, tau) if sharing == "neuron" else (tau,)
        self.amplitudes = nn.Parameter(torch.empty(shape))
        self.frequencies = nn.Parameter(torch.empty(shape))
        self.phases = nn.Parameter(torch.empty(shape))
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self, generator: Optional[torch.Generator] = None) -> None:
        """Draws frequencies ``omega * U[0,1)``, phases ``U(-pi, pi)``, amplitudes ``sign(Y) sqrt|Y|``, Y Laplace
        (``init="siren"``: ``sin(omega z)`` plus small harmonics, see the class docstring)."""
        if self.init == "siren":
            self._reset_siren(generator)
            return
        scale = amplitude_laplace_scale(self.tau, self.init)
        shape = self.amplitudes.shape
        # Laplace(0, s) by inverse CDF of a uniform in (-1/2, 1/2); clamp avoids log(0).
        u = torch.rand(shape, generator=generator, dtype=torch.float64) - 0.5
        y = -scale * torch.sign(u) * torch.log1p(-2.0 * u.abs()).clamp_min(-745.0)
        self.amplitudes.copy_(torch.sign(y) * y.abs().sqrt())
        self.frequencies.copy_(self.omega * torch.rand(shape, generator=generator, dtype=torch.float64))
        self.phases.copy_(math.pi * (2.0 * torch.rand(shape, generator=generator, dtype=torch.float64) - 1.0))

    def _reset_siren(self, generator: Optional[torch.Generator]) -> None:
        shape = self.amplitudes.shape
        harmonic = torch.arange(1, self.tau + 1, dtype=torch.float64).expand(shape)
        extra = harmonic > 1
        u = 2.0 * torch.rand(shape, generator=generator, dtype=torch.float64) - 1.0
        v = 2.0 * torch.rand(shape, generator=generator, dtype=torch.float64) - 1.0
        self.amplitudes.copy_(torch.where(extra, self.extra_amplitude * u, torch.ones_like(u)))
        self.frequencies.copy_(self.omega * harmonic)
        self.phases.copy_(torch.where(extra, math.pi * v, torch.zeros_like(v)))

    def forward(self, z: Float[Tensor, "*batch features"]) -> Float[Tensor, "*batch features"]:
        return staf_activation(z, self.amplitudes, self.frequencies, self.phases, self.implementation)

    def extra_repr(self) -> str:
        feats = f", num_features={self.num_features}" if self.sharing == "neuron" else ""
        extra = f", extra_amplitude={self.extra_amplitude}" if self.init == "siren" else ""
        return f"tau={self.tau}, omega={self.omega}, sharing={self.sharing!r}{feats}, init={self.init!r}{extra}"
