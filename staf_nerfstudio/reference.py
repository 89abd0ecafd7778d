"""The STAF activation's reference: the authors' broadcast formulation in plain torch.

``sigma(z) = sum_i a_i * sin(w_i * z + p_i)`` over ``tau`` terms; ``a``, ``w``, ``p`` have shape ``(tau,)`` (shared by
every neuron of a layer) or ``(F, tau)`` (one set per neuron) and ``z`` has shape ``(..., F)``.

This module is a leaf: it imports nothing of the package. The memory-lean autograd path
(:mod:`staf_nerfstudio.autograd_path`), the fused kernels (:mod:`staf_nerfstudio.kernels`) and the dispatcher
(:mod:`staf_nerfstudio.functional`) build on it, never the reverse, so the reference every fast path is tested against
cannot depend on those fast paths.
"""

from __future__ import annotations

from typing import Callable

import torch
from jaxtyping import Float
from torch import Tensor

StafImpl = Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]


def check_shapes(z: Tensor, amplitudes: Tensor, frequencies: Tensor, phases: Tensor) -> None:
    if not (amplitudes.shape == frequencies.shape == phases.shape):
        raise ValueError(
            "STAF amplitudes, frequencies and phases must have the same shape, got "
            f"{tuple(amplitudes.shape)}, {tuple(frequencies.shape)}, {tuple(phases.shape)}"
        )
    if amplitudes.dim() == 2 and (z.dim() == 0 or amplitudes.shape[0] != z.shape[-1]):
        raise ValueError(
            f"neuron-wise STAF parameters of shape {tuple(amplitudes.shape)} need an input whose last dimension is "
            f"{amplitudes.shape[0]}, got input shape {tuple(z.shape)}"
        )
    if amplitudes.dim() not in (1, 2):
        raise ValueError(f"STAF parameters must have shape (tau,) or (features, tau), got {tuple(amplitudes.shape)}")


def staf_reference(
    z: Float[Tensor, "*batch features"],
    amplitudes: Float[Tensor, "*features tau"],
    frequencies: Float[Tensor, "*features tau"],
    phases: Float[Tensor, "*features tau"],
) -> Float[Tensor, "*batch features"]:
    """The authors' broadcast formulation: ``(a * sin(w * z[..., None] + p)).sum(-1)``.

    Plain torch autograd differentiates it; it stores ``(..., F, tau)`` tensors and is kept as the reference.
    """
    check_shapes(z, amplitudes, frequencies, phases)
    return (amplitudes * torch.sin(frequencies * z.unsqueeze(-1) + phases)).sum(-1)
