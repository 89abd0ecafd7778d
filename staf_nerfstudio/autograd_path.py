"""The memory-lean STAF activation in plain torch: a loop over the ``tau`` terms that saves only ``z`` and the
parameters and recomputes every term in its backward (no ``(..., F, tau)`` tensor is ever stored).

It is the ``"autograd"`` implementation, the fallback of every fused kernel, and the differentiable backward that a
double backward through a fused kernel goes through. It builds on the reference's shape check only.
"""

from __future__ import annotations

import math
from typing import Tuple

import torch
from torch import Tensor

from staf_nerfstudio.reference import check_shapes


def _term(params: Tensor, i: int) -> Tensor:
    """The i-th term's parameter: a scalar tensor (shared) or an ``(F,)`` vector (neuron-wise)."""
    return params[..., i]


def _reduce_to(grad: Tensor, like: Tensor) -> Tensor:
    """Sums a ``(..., F)`` per-element gradient to the shape of one term's parameter (``()`` or ``(F,)``)."""
    if like.dim() == 0:
        return grad.sum()
    return grad.reshape(math.prod(grad.shape[:-1]), grad.shape[-1]).sum(0)  # not -1: F may be 0


def staf_loop_forward(z: Tensor, amplitudes: Tensor, frequencies: Tensor, phases: Tensor) -> Tensor:
    """Forward of the activation as a loop over the tau terms; peak extra memory is two ``z``-sized tensors."""
    out = None
    for i in range(amplitudes.shape[-1]):
        term = torch.sin(torch.addcmul(_term(phases, i), _term(frequencies, i), z)) * _term(amplitudes, i)
        out = term if out is None else out + term
    return out


def staf_loop_backward(
    grad_out: Tensor, z: Tensor, amplitudes: Tensor, frequencies: Tensor, phases: Tensor
) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Gradients of ``sum(grad_out * sigma(z))`` w.r.t. ``z``, amplitudes, frequencies and phases.

    ``d sigma / dz = sum_i a_i w_i cos(w_i z + p_i)``; ``dL/da_i = sum g sin(.)``; ``dL/dp_i = a_i sum g cos(.)``;
    ``dL/dw_i = a_i sum g z cos(.)``. Each term is recomputed from ``z``; nothing of size ``tau * z`` exists.
    """
    grad_z = torch.zeros_like(grad_out)
    ga, gw, gp = [], [], []
    for i in range(amplitudes.shape[-1]):
        a_i, w_i, p_i = _term(amplitudes, i), _term(frequencies, i), _term(phases, i)
        arg = torch.addcmul(p_i, w_i, z)
        g_cos = grad_out * torch.cos(arg)
        grad_z = grad_z + g_cos * (a_i * w_i)
        ga.append(_reduce_to(grad_out * torch.sin(arg), a_i))
        g_cos_sum = _reduce_to(g_cos, a_i)
        gp.append(a_i * g_cos_sum)
        gw.append(a_i * _reduce_to(g_cos * z, a_i))
    return grad_z, torch.stack(ga, -1), torch.stack(gw, -1), torch.stack(gp, -1)


class StafFunction(torch.autograd.Function):
    """Memory-lean STAF activation: saves ``z`` and the parameters, recomputes every term in backward.

    The backward is written in differentiable torch ops, so double backward and ``torch.func`` transforms
    (``vmap``, ``jacrev``) work through it.
    """

    generate_vmap_rule = True

    @staticmethod
    def forward(z: Tensor, amplitudes: Tensor, frequencies: Tensor, phases: Tensor) -> Tensor:  # type: ignore[override]
        return staf_loop_forward(z, amplitudes, frequencies, phases)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:  # type: ignore[override]
        ctx.save_for_backward(*inputs)

    @staticmethod
    def backward(ctx, grad_out: Tensor):  # type: ignore[override]
        z, amplitudes, frequencies, phases = ctx.saved_tensors
        gz, ga, gw, gp = staf_loop_backward(grad_out, z, amplitudes, frequencies, phases)
        return (
            gz.to(z.dtype) if ctx.needs_input_grad[0] else None,
            ga.to(amplitudes.dtype) if ctx.needs_input_grad[1] else None,
            gw.to(frequencies.dtype) if ctx.needs_input_grad[2] else None,
            gp.to(phases.dtype) if ctx.needs_input_grad[3] else None,
        )


def staf_autograd(z: Tensor, amplitudes: Tensor, frequencies: Tensor, phases: Tensor) -> Tensor:
    """The memory-lean activation (see :class:`StafFunction`)."""
    check_shapes(z, amplitudes, frequencies, phases)
    return StafFunction.apply(z, amplitudes, frequencies, phases)


def traced(*tensors: Tensor) -> bool:
    """Inside ``torch.compile`` or a ``torch.func`` transform, where only plain torch ops (no fused kernel) can run."""
    return torch.compiler.is_compiling() or any(torch._C._functorch.is_functorch_wrapped_tensor(t) for t in tensors)
