"""The paper's metrics in one place: PSNR and SSIM (images), audio PSNR, occupancy IoU and the Chamfer distance
between meshes (shapes).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

if TYPE_CHECKING:
    import trimesh


def psnr(pred: Tensor | np.ndarray, target: Tensor | np.ndarray, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio ``10 log10(range^2 / MSE)`` in dB (``inf`` for an exact match)."""
    pred_t = torch.as_tensor(pred, dtype=torch.float64)
    target_t = torch.as_tensor(target, dtype=torch.float64)
    mse = torch.mean((pred_t - target_t) ** 2).item()
    return math.inf if mse == 0 else 10.0 * math.log10(data_range**2 / mse)


def ssim(pred: np.ndarray, target: np.ndarray, data_range: float = 1.0) -> float:
    """Structural similarity of two ``(H, W)`` or ``(H, W, C)`` images (scikit-image, Wang et al.'s window)."""
    from skimage.metrics import structural_similarity

    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    channel_axis = -1 if pred.ndim == 3 else None
    side = min(pred.shape[:2])
    if side >= 11:
        window = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    else:  # images smaller than the Gaussian window: the largest odd uniform window that fits
        window = dict(win_size=max(3, side - (1 - side % 2)))
    return float(structural_similarity(target, pred, data_range=data_range, channel_axis=channel_axis, **window))


def audio_psnr(pred: Tensor | np.ndarray, target: Tensor | np.ndarray) -> float:
    """The paper's audio PSNR in dB: ``-10 log10(MSE)``, i.e. ``10 log10(1 / MSE)`` (peak 1, signal in [-1, 1]).

    This is the authors' definition (``psnr = -10 * log10(mse)`` in their audio notebook, on a peak-normalized
    clip). With the peak-to-peak range 2 as the peak (``10 log10(4 / MSE)``) every value would be 6.02 dB higher.
    """
    pred_arr = pred.detach().cpu().reshape(-1) if isinstance(pred, Tensor) else np.asarray(pred).reshape(-1)
    target_arr = target.detach().cpu().reshape(-1) if isinstance(target, Tensor) else np.asarray(target).reshape(-1)
    if pred_arr.shape != target_arr.shape:
        raise ValueError(f"pred has {pred_arr.shape[0]} samples, target {target_arr.shape[0]}")
    return psnr(pred_arr, target_arr, data_range=1.0)


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
