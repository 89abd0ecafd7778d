"""The shapes' frame: meshes fit in [-0.9, 0.9]^3 and the grid samples [-1, 1]^3 at ``linspace(-1, 1, R)`` per axis.

Index order ``[ix, iy, iz]`` = ``(x, y, z)``, the authors' ``get_mgrid``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from jaxtyping import Float
from torch import Tensor

from staf_tasks.errors import StafUserError

if TYPE_CHECKING:  # trimesh is imported lazily
    import trimesh

HALF_EXTENT = 0.9
"""Meshes are scaled so that their bounding box's largest half side is this (the grid spans [-1, 1])."""


def grid_axis(resolution: int, offset: float = 0.0) -> np.ndarray:
    """The ``resolution`` sample positions along each axis: ``linspace(-1, 1, resolution)`` (float64).

    ``offset`` shifts every position by that fraction of the spacing: ``offset=0.5`` gives a held-out grid whose
    points sit between the training grid's points (it reaches half a step past 1; the shape ends at 0.9).
    """
    if resolution < 2:
        raise StafUserError(f"the grid resolution must be at least 2, got {resolution}")
    return np.linspace(-1.0, 1.0, resolution) + offset * 2.0 / (resolution - 1)


def shape_coords(resolution: int, offset: float = 0.0) -> Float[Tensor, "num_points 3"]:
    """All grid points, ``(R^3, 3)`` float32, row ``(ix * R + iy) * R + iz`` is ``(x[ix], y[iy], z[iz])``.

    ``occupancy_grid(mesh, R).reshape(-1)`` lines up with these rows; ``values.reshape(R, R, R)`` turns a network's
    outputs on them back into a grid for :func:`extract_mesh`.
    """
    axis = torch.from_numpy(grid_axis(resolution, offset).astype(np.float32))
    grids = torch.meshgrid(axis, axis, axis, indexing="ij")
    return torch.stack(grids, dim=-1).reshape(-1, 3)


def normalize_mesh(mesh: "trimesh.Trimesh", half_extent: float = HALF_EXTENT) -> "trimesh.Trimesh":
    """A copy of ``mesh`` centered at the origin (bounding-box center) and scaled to fit in [-half_extent, ...]^3."""
    lo, hi = mesh.bounds
    center = (lo + hi) / 2.0
    size = float(np.max(hi - lo)) / 2.0
    if not size > 0:
        raise StafUserError("the mesh has zero size (all vertices coincide); pass a real mesh")
    scale = half_extent / size
    out = mesh.copy()
    out.apply_translation(-center)
    out.apply_scale(scale)
    out.metadata["staf_normalization"] = {"center": center.tolist(), "scale": scale}
    return out
