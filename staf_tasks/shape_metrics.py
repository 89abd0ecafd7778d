"""The paper's shape metric (occupancy IoU) and the Chamfer distance between two meshes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from torch import Tensor

if TYPE_CHECKING:
    import trimesh


def iou(pred: np.ndarray | Tensor, target: np.ndarray | Tensor, threshold: float = 0.5) -> float:
    """Intersection over union of two occupancy grids (any equal shapes).

    Boolean inputs are used as they are; numeric inputs count as occupied where ``> threshold`` (the authors'
    ``get_IoU`` at their marching-cubes level 0.5). Two empty grids are identical: IoU 1.
    """
    p = _as_bool(pred, threshold)
    t = _as_bool(target, threshold)
    if p.shape != t.shape:
        raise ValueError(f"occupancy grids differ in shape: {p.shape} vs {t.shape}")
    union = np.count_nonzero(p | t)
    return 1.0 if union == 0 else np.count_nonzero(p & t) / union


def chamfer_distance(
    mesh_a: "trimesh.Trimesh", mesh_b: "trimesh.Trimesh", num_points: int = 100_000, seed: int = 0
) -> float:
    """Symmetric Chamfer distance between two surfaces, "Chamfer-L1" as in Occupancy Networks (Mescheder et al.).

    ``num_points`` points are sampled uniformly (by area) on each surface; the result is
    ``(mean_a min_b |a - b| + mean_b min_a |a - b|) / 2`` with Euclidean (not squared) distances, in the units of
    the meshes (the [-1, 1] grid frame for this project's meshes: the input is scaled to fit in [-0.9, 0.9]^3).
    Deterministic for a given ``seed``. An empty mesh against a non-empty one gives ``inf``.
    """
    import trimesh
    from scipy.spatial import cKDTree

    if len(mesh_a.faces) == 0 or len(mesh_b.faces) == 0:
        return 0.0 if len(mesh_a.faces) == len(mesh_b.faces) else float("inf")
    pts_a, _ = trimesh.sample.sample_surface(mesh_a, num_points, seed=seed)
    pts_b, _ = trimesh.sample.sample_surface(mesh_b, num_points, seed=seed + 1)
    d_ab, _ = cKDTree(pts_b).query(pts_a, workers=-1)
    d_ba, _ = cKDTree(pts_a).query(pts_b, workers=-1)
    return float((d_ab.mean() + d_ba.mean()) / 2.0)


def _as_bool(x: np.ndarray | Tensor, threshold: float) -> np.ndarray:
    if isinstance(x, Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    return x if x.dtype == np.bool_ else x > threshold
