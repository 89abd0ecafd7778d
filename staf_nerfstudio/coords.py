"""Coordinate grids on [-1, 1]: the inputs the networks are fitted and analysed on (tasks and theory alike)."""

from __future__ import annotations

import torch
from torch import Tensor


def grid_coords(height: int, width: int) -> Tensor:
    """Pixel-centre coordinates in [-1, 1], shape ``(H * W, 2)`` as ``(x, y)``, row-major like ``image.reshape``.

    Pixel centres are used so that a grid of another resolution samples the same continuous square.
    """
    ys = (torch.arange(height, dtype=torch.float32) + 0.5) / height * 2 - 1
    xs = (torch.arange(width, dtype=torch.float32) + 0.5) / width * 2 - 1
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx, gy], dim=-1).reshape(-1, 2)
