"""The glue between a fused kernel pair (C++, Triton) and autograd."""

from __future__ import annotations

from typing import Callable, Tuple

import torch
from torch import Tensor

from staf_nerfstudio.autograd_path import staf_loop_backward
from staf_nerfstudio.reference import StafImpl


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
