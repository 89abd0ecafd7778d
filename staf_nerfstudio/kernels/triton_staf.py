"""Fused STAF activation for CUDA: Triton kernels for the forward and the backward.

* Forward: each program loads a ``(BLOCK_M, BLOCK_F)`` tile of ``z`` once, sums the ``tau`` terms in registers and
  writes the output once.
* Backward: each program walks a strided set of row tiles, writes ``grad_z`` once per tile and keeps the per-feature
  sums ``sum g sin``, ``sum g cos`` and ``sum g z cos`` (amplitude, phase and frequency gradients) in registers; it
  stores them once as a ``(programs, 3, tau, F)`` partial that torch reduces (deterministic, no atomics).

No ``(N, F, tau)`` tensor exists. float16/bfloat16/float32 inputs compute and accumulate in float32, float64 in
float64. Shared ``(tau,)`` and neuron-wise ``(F, tau)`` parameters are read through strides (stride 0 over features
for shared ones), so nothing is expanded in memory.

This module imports Triton; :mod:`staf_nerfstudio.functional` imports it only when a CUDA tensor needs it. With
``TRITON_INTERPRET=1`` set before Triton is imported, the same kernels run on CPU tensors through Triton's
interpreter (that is how CI tests them without a GPU).
"""

from __future__ import annotations

import math
import os
from typing import Tuple

import torch
import triton
import triton.language as tl
from torch import Tensor

from staf_nerfstudio.autograd_path import staf_autograd, traced
from staf_nerfstudio.kernels import TRITON_DTYPES
from staf_nerfstudio.kernels.fused import fused_function
from staf_nerfstudio.reference import check_shapes


def interpreter_enabled() -> bool:
    """Whether Triton runs kernels through its CPU interpreter (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


@triton.jit
def _staf_forward_kernel(
    z_ptr, a_ptr, w_ptr, p_ptr, out_ptr,
    rows, features, param_stride_f,
    TAU: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_F: tl.constexpr,
):  # fmt: skip
    offs_m = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_f = tl.program_id(1) * BLOCK_F + tl.arange(0, BLOCK_F)
    mask_f = offs_f < features
    mask = (offs_m[:, None] < rows) & mask_f[None, :]
    offsets = offs_m[:, None].to(tl.int64) * features + offs_f[None, :]
    z = tl.load(z_ptr + offsets, mask=mask, other=0.0).to(a_ptr.dtype.element_ty)
    acc = tl.zeros((BLOCK_M, BLOCK_F), dtype=a_ptr.dtype.element_ty)
    for i in tl.static_range(TAU):
        param = offs_f * param_stride_f + i
        a = tl.load(a_ptr + param, mask=mask_f, other=0.0)
        w = tl.load(w_ptr + param, mask=mask_f, other=0.0)
        p = tl.load(p_ptr + param, mask=mask_f, other=0.0)
        acc += a[None, :] * tl.sin(w[None, :] * z + p[None, :])
    tl.store(out_ptr + offsets, acc.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _staf_backward_kernel(
    g_ptr, z_ptr, a_ptr, w_ptr, p_ptr, gz_ptr, part_ptr,
    rows, features, param_stride_f,
    TAU: tl.constexpr, TAU_P2: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_F: tl.constexpr,
):  # fmt: skip
    pid_m = tl.program_id(0)
    programs_m = tl.num_programs(0)
    offs_f = tl.program_id(1) * BLOCK_F + tl.arange(0, BLOCK_F)
    mask_f = offs_f < features
    terms = tl.arange(0, TAU_P2)
    # Per-feature sums of g sin(.), g cos(.), g z cos(.) for every term, kept in registers over all row tiles.
    acc_sin = tl.zeros((TAU_P2, BLOCK_F), dtype=a_ptr.dtype.element_ty)
    acc_cos = tl.zeros((TAU_P2, BLOCK_F), dtype=a_ptr.dtype.element_ty)
    acc_zcos = tl.zeros((TAU_P2, BLOCK_F), dtype=a_ptr.dtype.element_ty)
    for start in range(pid_m * BLOCK_M, rows, programs_m * BLOCK_M):
        offs_m = start + tl.arange(0, BLOCK_M)
        mask = (offs_m[:, None] < rows) & mask_f[None, :]
        offsets = offs_m[:, None].to(tl.int64) * features + offs_f[None, :]
        z = tl.load(z_ptr + offsets, mask=mask, other=0.0).to(a_ptr.dtype.element_ty)
        g = tl.load(g_ptr + offsets, mask=mask, other=0.0).to(a_ptr.dtype.element_ty)  # 0 outside: adds nothing
        gz = tl.zeros((BLOCK_M, BLOCK_F), dtype=a_ptr.dtype.element_ty)
        for i in tl.static_range(TAU):
            param = offs_f * param_stride_f + i
            a = tl.load(a_ptr + param, mask=mask_f, other=0.0)
            w = tl.load(w_ptr + param, mask=mask_f, other=0.0)
            p = tl.load(p_ptr + param, mask=mask_f, other=0.0)
            arg = w[None, :] * z + p[None, :]
            g_cos = g * tl.cos(arg)
            gz += (a * w)[None, :] * g_cos
            is_term = (terms == i)[:, None]
            acc_sin += tl.where(is_term, tl.sum(g * tl.sin(arg), axis=0)[None, :], 0.0)
            acc_cos += tl.where(is_term, tl.sum(g_cos, axis=0)[None, :], 0.0)
            acc_zcos += tl.where(is_term, tl.sum(g_cos * z, axis=0)[None, :], 0.0)
        tl.store(gz_ptr + offsets, gz.to(gz_ptr.dtype.element_ty), mask=mask)
    part = part_ptr + pid_m.to(tl.int64) * 3 * TAU * features + terms[:, None] * features + offs_f[None, :]
    part_mask = (terms < TAU)[:, None] & mask_f[None, :]
    tl.store(part, acc_sin, mask=part_mask)
    tl.store(part + TAU * features, acc_cos, mask=part_mask)
    tl.store(part + 2 * TAU * features, acc_zcos, mask=part_mask)


def _compute_dtype(z: Tensor) -> torch.dtype:
    return torch.float64 if z.dtype == torch.float64 else torch.float32


def _params(z: Tensor, *params: Tensor) -> Tuple[Tuple[Tensor, ...], int]:
    """Parameters in the compute dtype, contiguous, and their stride over features (0 when shared)."""
    dtype = _compute_dtype(z)
    converted = tuple(t.detach().to(dtype).contiguous() for t in params)
    return converted, (params[0].shape[-1] if params[0].dim() == 2 else 0)


def _blocks(features: int) -> Tuple[int, int]:
    block_f = min(triton.next_power_of_2(max(features, 1)), 64)
    return max(1, 2048 // block_f), block_f


def triton_forward(z: Tensor, amplitudes: Tensor, frequencies: Tensor, phases: Tensor) -> Tensor:
    """``sum_i a_i sin(w_i z + p_i)`` by the fused forward kernel (no autograd)."""
    features, tau = z.shape[-1], amplitudes.shape[-1]
    z2 = z.contiguous().view(math.prod(z.shape[:-1]), features)
    out = torch.empty_like(z2)
    rows = z2.shape[0]
    if rows and features:
        (a, w, p), stride_f = _params(z, amplitudes, frequencies, phases)
        block_m, block_f = _blocks(features)
        grid = (triton.cdiv(rows, block_m), triton.cdiv(features, block_f))
        _staf_forward_kernel[grid](
            z2, a, w, p, out, rows, features, stride_f, TAU=tau, BLOCK_M=block_m, BLOCK_F=block_f
        )
    return out.view(z.shape)


def _backward_programs(rows: int, block_m: int, feature_blocks: int, device: torch.device) -> int:
    """Row programs of the backward: enough to fill the GPU a few times over, few enough to keep partials small."""
    if device.type == "cuda":
        target = 8 * torch.cuda.get_device_properties(device).multi_processor_count
    else:  # the interpreter: few programs, each running the strided loop
        target = 4
    return max(1, min(triton.cdiv(rows, block_m), triton.cdiv(target, feature_blocks)))


def triton_backward(
    grad_out: Tensor, z: Tensor, amplitudes: Tensor, frequencies: Tensor, phases: Tensor
) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Gradients w.r.t. ``z`` (dtype of ``z``) and the parameters (float32, float64 for float64 ``z``)."""
    features, tau = z.shape[-1], amplitudes.shape[-1]
    z2 = z.contiguous().view(math.prod(z.shape[:-1]), features)
    g2 = grad_out.to(z.dtype).contiguous().view(z2.shape)
    rows = z2.shape[0]
    grad_z = torch.empty_like(z2)
    dtype = _compute_dtype(z)
    (a, w, p), stride_f = _params(z, amplitudes, frequencies, phases)
    if rows and features:
        block_m, block_f = _blocks(features)
        feature_blocks = triton.cdiv(features, block_f)
        programs = _backward_programs(rows, block_m, feature_blocks, z.device)
        partials = torch.empty(programs, 3, tau, features, dtype=dtype, device=z.device)
        _staf_backward_kernel[(programs, feature_blocks)](
            g2, z2, a, w, p, grad_z, partials, rows, features, stride_f,
            TAU=tau, TAU_P2=triton.next_power_of_2(tau), BLOCK_M=block_m, BLOCK_F=block_f,
        )  # fmt: skip
        sums = partials.sum(0)  # (3, tau, F)
    else:
        sums = torch.zeros(3, tau, features, dtype=dtype, device=z.device)
    sums = sums.sum(-1) if amplitudes.dim() == 1 else sums.transpose(1, 2)  # (3, tau) or (3, F, tau)
    return grad_z.view(z.shape), sums[0], a * sums[2], a * sums[1]


#: The STAF activation through the Triton kernels; saves only ``z`` and the parameters.
StafTritonFunction = fused_function("StafTritonFunction", triton_forward, triton_backward)


def triton_supports(z: Tensor, *params: Tensor) -> bool:
    """Whether the Triton kernels can run on these inputs (CUDA, or CPU under the interpreter)."""
    device_ok = z.is_cuda or (interpreter_enabled() and z.device.type == "cpu")
    if not device_ok or z.dtype not in TRITON_DTYPES or any(t.device != z.device for t in params):
        return False
    return not traced(z, *params)


def staf_triton(z: Tensor, amplitudes: Tensor, frequencies: Tensor, phases: Tensor) -> Tensor:
    """The STAF activation through the Triton kernels (the autograd path where they cannot run)."""
    check_shapes(z, amplitudes, frequencies, phases)
    if not triton_supports(z, amplitudes, frequencies, phases):
        return staf_autograd(z, amplitudes, frequencies, phases)
    return StafTritonFunction.apply(z, amplitudes, frequencies, phases)
