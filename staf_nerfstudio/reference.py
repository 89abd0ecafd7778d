"""The STAF activation in plain torch: the broadcast reference and the memory-lean autograd path.

``sigma(z) = sum_i a_i * sin(w_i * z + p_i)`` over ``tau`` terms; ``a``, ``w``, ``p`` have shape ``(tau,)`` (shared by
every neuron of a layer) or ``(F, tau)`` (one set per neuron) and ``z`` has shape ``(..., F)``.

This module is a leaf: it imports nothing of the package. The dispatcher (:mod:`staf_nerfstudio.functional`) and the
fused kernels (:mod:`staf_nerfstudio.kernels`) build on it, never the reverse, so the reference every fast path is
tested against cannot depend on those fast paths.
"""

from __future__ import annotations

import math
from typing import Callable, Tuple

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


def fused_function(
    name: str,
    forward: StafImpl,
    backward: Callable[[Tensor, Tensor, Tensor, Tensor, Tensor], Tuple[Tensor, Tensor, Tensor, Tensor]],
) -> type:
    """An autograd Function around a fused kernel pair (C++, Triton): saves only ``z`` and the parameters.

    ``forward(z, a, w, p)`` gives the activation; ``backward(grad_out, z, a, w, p)`` its four gradients. A double
    backward (``create_graph=True``) goes through the differentiable :func:`staf_loop_backward` instead.
    """

    class _FusedStaf(torch.autograd.Function):
        @staticmethod
        def forward(ctx, z: Tensor, amplitudes: Tensor, frequencies: Tensor, phases: Tensor) -> Tensor:  # type: ignore[override]
            ctx.save_for_backward(z, amplitudes, frequencies, phases)
            return forward(z, amplitudes, frequencies, phases)

        @staticmethod
        def backward(ctx, grad_out: Tensor):  # type: ignore[override]
            z, amplitudes, frequencies, phases = ctx.saved_tensors
            grads = staf_loop_backward if torch.is_grad_enabled() else backward
            gz, ga, gw, gp = grads(grad_out, z, amplitudes, frequencies, phases)
            need = ctx.needs_input_grad
            return (
                gz.to(z.dtype) if need[0] else None,
                ga.to(amplitudes.dtype) if need[1] else None,
                gw.to(frequencies.dtype) if need[2] else None,
                gp.to(phases.dtype) if need[3] else None,
            )

    _FusedStaf.__name__ = _FusedStaf.__qualname__ = name
    return _FusedStaf


def staf_autograd(z: Tensor, amplitudes: Tensor, frequencies: Tensor, phases: Tensor) -> Tensor:
    """The memory-lean activation (see :class:`StafFunction`)."""
    check_shapes(z, amplitudes, frequencies, phases)
    return StafFunction.apply(z, amplitudes, frequencies, phases)


def traced(*tensors: Tensor) -> bool:
    """Inside ``torch.compile`` or a ``torch.func`` transform, where only plain torch ops (no fused kernel) can run."""
    return torch.compiler.is_compiling() or any(torch._C._functorch.is_functorch_wrapped_tensor(t) for t in tensors)
