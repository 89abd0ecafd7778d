"""The empirical neural tangent kernel of a network on a grid of inputs, and its spectrum.

For a network ``f(x; theta)`` the empirical NTK is ``K(x, x') = sum_o <d f_o(x) / d theta, d f_o(x') / d theta>``
(summed over outputs ``o``; for the usual scalar-output network that is the plain NTK). On ``N`` inputs it is the
Gram matrix ``K = J J^T`` of the ``(N, P)`` Jacobian. The Jacobian of a 2-128x3-1 network on a 64x64 grid is
``4096 x 50k`` (1.6 GB in float64), so it is never stored whole: the parameters are cut into *pieces* (row slices of
the parameter tensors) whose Jacobian fits ``max_jacobian_bytes``; each piece's Jacobian is built with
``torch.func.vmap(torch.func.jacrev(...))`` over chunks of the inputs and added into ``K`` as ``J_piece J_piece^T``.
Peak memory is about ``K`` plus one piece's Jacobian; the result is exact (no sketching).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from jaxtyping import Float
from torch import Tensor, nn
from torch.func import functional_call, jacrev, vmap


@dataclass(frozen=True)
class ParameterPiece:
    """Rows ``start:stop`` (along the first dimension) of the parameter called ``name``."""

    name: str
    start: int
    stop: int


def parameter_pieces(params: Dict[str, Tensor], max_numel: int) -> List[List[ParameterPiece]]:
    """Packs parameter row slices into groups of at most ``max_numel`` elements (at least one row each)."""
    groups: List[List[ParameterPiece]] = []
    current: List[ParameterPiece] = []
    used = 0
    for name, tensor in params.items():
        rows = tensor.shape[0] if tensor.dim() > 0 else 1
        row_numel = max(tensor.numel() // max(rows, 1), 1)
        start = 0
        while start < rows:
            room = max_numel - used
            take = min(rows - start, max(room // row_numel, 0))
            if take == 0:
                if current:
                    groups.append(current)
                current, used = [], 0
                take = min(rows - start, max(max_numel // row_numel, 1))
            current.append(ParameterPiece(name, start, start + take))
            used += take * row_numel
            start += take
    if current:
        groups.append(current)
    return groups


def _assemble(
    params: Dict[str, Tensor], pieces: Sequence[ParameterPiece], values: Sequence[Tensor]
) -> Dict[str, Tensor]:
    """``params`` with the rows of each piece replaced by the corresponding (differentiable) value."""
    out = dict(params)
    by_name: Dict[str, List[Tuple[ParameterPiece, Tensor]]] = {}
    for piece, value in zip(pieces, values, strict=True):
        by_name.setdefault(piece.name, []).append((piece, value))
    for name, items in by_name.items():
        full = params[name]
        if full.dim() == 0:
            out[name] = items[0][1].reshape(())
            continue
        parts, cursor = [], 0
        for piece, value in sorted(items, key=lambda item: item[0].start):
            if piece.start > cursor:
                parts.append(full[cursor : piece.start])
            parts.append(value)
            cursor = piece.stop
        if cursor < full.shape[0]:
            parts.append(full[cursor:])
        out[name] = torch.cat(parts, dim=0) if len(parts) > 1 else parts[0]
    return out


def _slice(params: Dict[str, Tensor], piece: ParameterPiece) -> Tensor:
    tensor = params[piece.name]
    return tensor.reshape(1) if tensor.dim() == 0 else tensor[piece.start : piece.stop]


def _piece_budget(model: nn.Module, inputs: Tensor, max_jacobian_bytes: int) -> Tuple[int, int]:
    """``(outputs per input, parameter elements per group)`` for a Jacobian block of at most the byte budget."""
    with torch.no_grad():
        num_outputs = model(inputs[:1]).reshape(-1).numel()
    per_element = inputs.shape[0] * num_outputs * inputs.element_size()
    return num_outputs, max(int(max_jacobian_bytes // per_element), 1)


def _trainable(model: nn.Module) -> Dict[str, Tensor]:
    """The parameters the NTK differentiates: those with ``requires_grad`` (frozen ones act as constants)."""
    return {name: p.detach() for name, p in model.named_parameters() if p.requires_grad}


def jacobian_groups(
    model: nn.Module, inputs: Float[Tensor, "N in_features"], max_jacobian_bytes: int = 256 * 2**20
) -> List[List[ParameterPiece]]:
    """The parameter groups :func:`iter_jacobian_blocks` visits (each one Jacobian block of at most the budget)."""
    return parameter_pieces(_trainable(model), _piece_budget(model, inputs, max_jacobian_bytes)[1])


def iter_jacobian_blocks(
    model: nn.Module,
    inputs: Float[Tensor, "N in_features"],
    max_jacobian_bytes: int = 256 * 2**20,
    sample_chunk: int = 1024,
) -> Iterator[Float[Tensor, "N outputs P_group"]]:
    """Yields the Jacobian of ``model`` on ``inputs`` one parameter group at a time (see :func:`jacobian_groups`).

    Concatenating the blocks along the last axis gives the full ``(N, outputs, P)`` Jacobian with respect to the
    trainable parameters (``requires_grad``), in ``model.named_parameters()`` order, each flattened row-major.
    """
    params = {name: p.detach() for name, p in model.named_parameters()}
    buffers = {name: b.detach() for name, b in model.named_buffers()}
    num_outputs, max_numel = _piece_budget(model, inputs, max_jacobian_bytes)
    for group in parameter_pieces(_trainable(model), max_numel):
        values = tuple(_slice(params, piece) for piece in group)

        def single(vals: Tuple[Tensor, ...], x: Tensor, group=group) -> Tensor:
            state = {**_assemble(params, group, vals), **buffers}
            return functional_call(model, state, (x.unsqueeze(0),)).reshape(-1)

        per_sample = vmap(jacrev(single), in_dims=(None, 0))
        blocks: List[Tensor] = []
        for start in range(0, inputs.shape[0], sample_chunk):
            jac = per_sample(values, inputs[start : start + sample_chunk])  # tuple of (n, O, *piece_shape)
            blocks.append(torch.cat([j.reshape(j.shape[0], num_outputs, -1) for j in jac], dim=-1))
        yield torch.cat(blocks, dim=0)


def empirical_ntk(
    model: nn.Module,
    inputs: Float[Tensor, "N in_features"],
    max_jacobian_bytes: int = 256 * 2**20,
    sample_chunk: int = 1024,
    progress: Optional[Callable[[int, int], None]] = None,
) -> Float[Tensor, "N N"]:
    """The empirical NTK Gram matrix ``K = sum_o J_o J_o^T`` of ``model`` on ``inputs``.

    Args:
        model: Any module mapping ``(n, in_features)`` to ``(n, outputs)``; its parameters' dtype is used as is.
        inputs: ``(N, in_features)`` points (same dtype and device as the model).
        max_jacobian_bytes: Budget for one parameter group's Jacobian (the dominant memory besides ``K``).
        sample_chunk: Inputs per ``vmap`` call.
        progress: Called as ``progress(done_groups, total_groups)`` after each parameter group.

    Returns:
        The symmetric ``(N, N)`` kernel matrix.
    """
    if inputs.dim() != 2:
        raise ValueError(f"inputs must have shape (N, in_features), got {tuple(inputs.shape)}")
    total = len(jacobian_groups(model, inputs, max_jacobian_bytes))
    kernel = torch.zeros(inputs.shape[0], inputs.shape[0], dtype=inputs.dtype, device=inputs.device)
    blocks = iter_jacobian_blocks(model, inputs, max_jacobian_bytes, sample_chunk)
    for done, jac in enumerate(blocks, start=1):
        flat = jac.reshape(jac.shape[0], -1)  # (N, O * P_group): sum over outputs and parameters at once
        kernel.addmm_(flat, flat.T)
        if progress is not None:
            progress(done, total)
    return 0.5 * (kernel + kernel.T)


@dataclass
class NtkSpectrum:
    """Eigen-decomposition of an NTK Gram matrix, eigenvalues in descending order."""

    eigenvalues: Float[Tensor, " N"]
    """All eigenvalues, largest first (tiny negative rounding values clipped to 0)."""
    eigenvectors: Float[Tensor, "N k"]
    """The ``k`` leading unit eigenvectors (columns): the NTK's eigenfunctions sampled on the inputs."""

    def summary(self) -> Dict[str, float]:
        """Trace, largest eigenvalue, effective rank and decay indices (scale-free measures of the decay)."""
        values = self.eigenvalues.double()
        total = values.sum().item()
        p = values / values.sum()
        p = p[p > 0]
        effective_rank = math.exp(-(p * p.log()).sum().item())
        top = values[0].item()
        out = {"trace": total, "largest": top, "effective_rank": effective_rank}
        for threshold in (1e-2, 1e-4, 1e-6):
            out[f"count_above_{threshold:g}_of_largest"] = int((values > threshold * top).sum().item())
        cumulative = values.cumsum(0) / total
        out["count_for_99pct_of_trace"] = int((cumulative < 0.99).sum().item()) + 1
        return out


def ntk_spectrum(kernel: Float[Tensor, "N N"], num_eigenvectors: int = 8) -> NtkSpectrum:
    """Eigenvalues (descending) and the leading eigenvectors of a symmetric kernel matrix."""
    values, vectors = torch.linalg.eigh(kernel)
    values = values.flip(0).clamp_min(0.0)
    vectors = vectors.flip(1)[:, :num_eigenvectors]
    return NtkSpectrum(values, vectors)
