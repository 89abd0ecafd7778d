"""Multiresolution hash encoding (Mueller et al., Instant-NGP) with one parameter layout for both backends.

The parameters are one flat ``params`` tensor in tiny-cuda-nn's ``HashGrid`` layout: level after level, each level
``min(next_multiple(res^3, 8), 2^log2_hashmap_size)`` entries of ``features_per_level`` values; a level whose grid
fits is indexed densely (``x + res * (y + res * z)``), a larger one through tiny-cuda-nn's coherent prime hash.
The torch path below computes exactly that function, so a checkpoint trained with tiny-cuda-nn loads on a machine
without it and the other way round. tiny-cuda-nn is used only when it is importable and the input is on a CUDA
device; it is imported at the first such forward, never at module import.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional

import torch
from jaxtyping import Float
from torch import Tensor, nn

_PRIMES = (1, 2654435761, 805459861)
_UINT32 = 0xFFFFFFFF


def _next_multiple(value: int, multiple: int) -> int:
    return (value + multiple - 1) // multiple * multiple


class HashGridEncoding(nn.Module):
    """Trilinearly interpolated multiresolution hash grid over inputs in ``[0, 1]^3``.

    Args:
        num_levels: Number of grid levels.
        features_per_level: Features stored per grid vertex.
        log2_hashmap_size: log2 of the most entries a level may hold.
        base_resolution: Resolution of the coarsest level.
        max_resolution: Resolution of the finest level (sets the per-level growth factor).
        implementation: ``"auto"`` (tiny-cuda-nn on CUDA when installed, torch otherwise) or ``"torch"``.
        init_scale: Parameters start uniform in ``(-init_scale, init_scale)`` (tiny-cuda-nn's 1e-4).
    """

    def __init__(
        self,
        num_levels: int = 16,
        features_per_level: int = 2,
        log2_hashmap_size: int = 19,
        base_resolution: int = 16,
        max_resolution: int = 2048,
        implementation: str = "auto",
        init_scale: float = 1e-4,
    ) -> None:
        super().__init__()
        if implementation not in ("auto", "torch"):
            raise ValueError(f"hash grid implementation must be 'auto' or 'torch', got {implementation!r}")
        if num_levels < 1 or features_per_level < 1 or base_resolution < 2 or max_resolution < base_resolution:
            raise ValueError(
                "hash grid needs num_levels >= 1, features_per_level >= 1 and 2 <= base_resolution <= max_resolution, "
                f"got {num_levels}, {features_per_level}, {base_resolution}, {max_resolution}"
            )
        self.num_levels = num_levels
        self.features_per_level = features_per_level
        self.log2_hashmap_size = log2_hashmap_size
        self.base_resolution = base_resolution
        self.implementation = implementation
        self.per_level_scale = (
            math.exp((math.log(max_resolution) - math.log(base_resolution)) / (num_levels - 1))
            if num_levels > 1
            else 1.0
        )
        hashmap_size = 1 << log2_hashmap_size
        scales, sizes, offsets, coefs, use_hash = [], [], [], [], []
        offset = 0
        for level in range(num_levels):
            scale = 2.0 ** (level * math.log2(self.per_level_scale)) * base_resolution - 1.0
            res = int(math.ceil(scale)) + 1
            size = min(_next_multiple(res**3, 8), hashmap_size)
            # tiny-cuda-nn's grid_index: add dense strides while stride <= size; hash when the dense grid does not fit.
            stride, coef = 1, [0, 0, 0]
            for dim in range(3):
                if stride > size:
                    break
                coef[dim] = stride
                stride *= res
            scales.append(scale)
            sizes.append(size)
            offsets.append(offset)
            coefs.append(coef)
            use_hash.append(size < stride)
            offset += size
        self.num_entries = offset
        self.register_buffer("_scales", torch.tensor(scales, dtype=torch.float32), persistent=False)
        self.register_buffer("_sizes", torch.tensor(sizes, dtype=torch.int64), persistent=False)
        self.register_buffer("_offsets", torch.tensor(offsets, dtype=torch.int64), persistent=False)
        self.register_buffer("_coefs", torch.tensor(coefs, dtype=torch.int64), persistent=False)
        self.register_buffer("_use_hash", torch.tensor(use_hash, dtype=torch.bool), persistent=False)
        self.params = nn.Parameter(torch.empty(offset * features_per_level).uniform_(-init_scale, init_scale))
        self._tcnn: List[Any] = []  # holds the tiny-cuda-nn module, outside the state dict; built lazily
        self._tcnn_failed = False

    def get_out_dim(self) -> int:
        """Output features: ``num_levels * features_per_level``."""
        return self.num_levels * self.features_per_level

    def tcnn_config(self) -> Dict[str, Any]:
        """The tiny-cuda-nn encoding config with the same layout as :attr:`params`."""
        return {
            "otype": "HashGrid",
            "n_levels": self.num_levels,
            "n_features_per_level": self.features_per_level,
            "log2_hashmap_size": self.log2_hashmap_size,
            "base_resolution": self.base_resolution,
            "per_level_scale": self.per_level_scale,
            "interpolation": "Linear",
        }

    def _tcnn_module(self) -> Optional[Any]:
        if self.implementation != "auto" or self._tcnn_failed:
            return None
        if not self._tcnn:
            try:
                import tinycudann as tcnn  # noqa: PLC0415  (optional accelerator)

                module = tcnn.Encoding(3, self.tcnn_config(), dtype=torch.float32)
            except Exception:  # not installed, no CUDA build, ...: the torch path computes the same function
                self._tcnn_failed = True
                return None
            if module.params.numel() != self.params.numel():
                self._tcnn_failed = True
                return None
            self._tcnn.append(module)
        return self._tcnn[0]

    def forward(self, x: Float[Tensor, "*batch 3"]) -> Float[Tensor, "*batch out_dim"]:
        if x.is_cuda:
            module = self._tcnn_module()
            if module is not None:
                module.params = self.params  # share the one parameter; the state dict holds only ``params``
                return module(x.reshape(-1, 3)).view(*x.shape[:-1], -1).to(x.dtype)
        return self.forward_torch(x)

    def forward_torch(self, x: Float[Tensor, "*batch 3"]) -> Float[Tensor, "*batch out_dim"]:
        """The pure-torch path (same function and parameters as tiny-cuda-nn's ``HashGrid``)."""
        shape = x.shape[:-1]
        x = x.reshape(-1, 1, 3).float()
        pos = x * self._scales[None, :, None] + 0.5  # (N, L, 3)
        grid = torch.floor(pos)
        frac = pos - grid
        grid = grid.long()
        table = self.params.view(-1, self.features_per_level)
        out = x.new_zeros(x.shape[0], self.num_levels, self.features_per_level)
        for corner in range(8):
            bits = torch.tensor([(corner >> d) & 1 for d in range(3)], device=x.device)
            vertex = grid + bits
            weight = torch.where(bits.bool(), frac, 1.0 - frac).prod(dim=-1, keepdim=True)  # (N, L, 1)
            dense = (vertex * self._coefs).sum(dim=-1)
            hashed = (vertex[..., 0] * _PRIMES[0]) ^ (vertex[..., 1] * _PRIMES[1]) ^ (vertex[..., 2] * _PRIMES[2])
            index = torch.where(self._use_hash, hashed & _UINT32, dense & _UINT32) % self._sizes + self._offsets
            out = out + weight * table[index]
        return out.reshape(*shape, self.get_out_dim())
