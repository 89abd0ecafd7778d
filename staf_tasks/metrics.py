"""The paper's signal metrics: PSNR and SSIM (images), computed on values in a known range."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor


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
