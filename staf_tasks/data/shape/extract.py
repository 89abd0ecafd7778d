"""From a network's values on the grid to a mesh file: marching cubes and mesh output."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from torch import Tensor

from staf_nerfstudio.io import atomic_path
from staf_tasks.errors import StafUserError

if TYPE_CHECKING:  # trimesh is imported lazily
    import trimesh

def extract_mesh(values: np.ndarray | Tensor, level: float = 0.5, offset: float = 0.0) -> "trimesh.Trimesh":
    """Marching cubes (scikit-image) of a ``(R, R, R)`` grid of occupancy values sampled at :func:`shape_coords`.

    Vertices are mapped back to the [-1, 1] frame. The grid is padded by one layer of "outside", so the surface is
    closed even where the shape touches the border; faces point outward (inside = values above ``level``).
    Returns an empty mesh when no value crosses ``level``. ``offset``: the grid's, see :func:`grid_axis`.
    """
    import trimesh
    from skimage.measure import marching_cubes

    if isinstance(values, Tensor):
        values = values.detach().cpu().numpy()
    vol = np.asarray(values, dtype=np.float32)
    if vol.ndim != 3 or len(set(vol.shape)) != 1:
        raise ValueError(f"extract_mesh needs a cubic (R, R, R) grid, got shape {vol.shape}")
    res = vol.shape[0]
    if not np.nanmax(vol) > level:
        return trimesh.Trimesh(np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64), process=False)
    pad = float(min(np.nanmin(vol), level)) - 1.0
    vol = np.pad(np.nan_to_num(vol, nan=pad), 1, mode="constant", constant_values=pad)
    step = 2.0 / (res - 1)
    verts, faces, _, _ = marching_cubes(vol, level=level, spacing=(step, step, step))
    verts = verts - (1.0 + step) + offset * step  # padded index 1 is grid_axis[0]
    mesh = trimesh.Trimesh(verts, faces, process=True)
    if mesh.volume < 0:
        mesh.invert()
    return mesh


def write_mesh(path: Path | str, mesh: "trimesh.Trimesh") -> Path:
    """Writes ``mesh`` atomically; the format follows the extension (``.ply`` binary, ``.obj``, ``.off``, ``.stl``)."""
    path = Path(path)
    kind = path.suffix.lower().lstrip(".")
    if kind not in ("ply", "obj", "off", "stl", "glb"):
        raise StafUserError(f"cannot write a mesh as '{path.suffix}': {path}; use .ply or .obj")
    data = mesh.export(file_type=kind)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path
