"""Figures written by the commands: side-by-side reconstructions, metric-vs-step curves and audio waveforms.

matplotlib set-up and saving: :mod:`staf_nerfstudio.plotting`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
from torch import Tensor

from staf_nerfstudio.io import atomic_path
from staf_nerfstudio.plotting import pyplot, save_figure
from staf_tasks.metrics import audio_psnr


def plot_side_by_side(path: Path | str, images: Sequence[np.ndarray], titles: Sequence[str]) -> Path:
    """Images in [0, 1] in one row with titles (gray images drawn in gray)."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(images), figsize=(4 * len(images), 4.3), squeeze=False)
    for ax, image, title in zip(axes[0], images, titles):
        ax.imshow(np.clip(image, 0, 1), cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1)
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    return save_figure(fig, path)


def plot_curves(
    path: Path | str,
    curves: Dict[str, List[Dict[str, float]]],
    metric: str = "psnr",
    x: str = "step",
    title: Optional[str] = None,
    ylabel: Optional[str] = None,
    bands: Optional[Dict[str, tuple]] = None,
) -> Path:
    """One line per label: ``metric`` against ``x`` from history rows; ``bands`` adds (x, low, high) spreads."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for label, rows in curves.items():
        rows = [r for r in rows if metric in r and np.isfinite(r[metric])]
        if not rows:
            continue
        (line,) = ax.plot([r[x] for r in rows], [r[metric] for r in rows], label=label, lw=1.8)
        if bands and label in bands:
            xs, low, high = bands[label]
            ax.fill_between(xs, low, high, color=line.get_color(), alpha=0.2, lw=0)
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel or metric.upper())
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    if title:
        ax.set_title(title, fontsize=10)
    return save_figure(fig, path)


def plot_waveforms(
    path: Path | str,
    target: np.ndarray | Tensor,
    pred: np.ndarray | Tensor,
    samplerate: int,
    title: str | None = None,
    zoom_seconds: float = 0.02,
) -> Path:
    """Saves a PNG: the target, the reconstruction, their error, and a zoom where the error is largest.

    Args:
        path: Output PNG (written atomically).
        target: ``(T,)`` ground-truth samples.
        pred: ``(T,)`` reconstructed samples.
        samplerate: Samples per second (the x axis is in seconds).
        title: Figure title; the PSNR is appended.
        zoom_seconds: Width of the zoomed window (centered on the largest local error) in the last panel.
    """
    plt = pyplot()

    target_np = _as_1d(target)
    pred_np = _as_1d(pred)
    err = pred_np - target_np
    t = np.arange(target_np.shape[0]) / samplerate
    value = audio_psnr(pred_np, target_np)
    fig, axes = plt.subplots(4, 1, figsize=(11, 8), constrained_layout=True)
    axes[0].plot(t, target_np, lw=0.5, color="tab:blue")
    axes[0].set_title("target")
    axes[1].plot(t, pred_np, lw=0.5, color="tab:orange")
    axes[1].set_title("reconstruction")
    for ax in axes[:2]:
        ax.set_ylim(-1.05, 1.05)
    axes[2].plot(t, err, lw=0.5, color="tab:red")
    lim = max(1e-6, float(np.max(np.abs(err))))
    axes[2].set_ylim(-1.05 * lim, 1.05 * lim)
    axes[2].set_title(f"error (reconstruction - target), max |error| {lim:.3g}")
    width = max(2, int(zoom_seconds * samplerate))
    if target_np.shape[0] > width:
        local = np.convolve(err**2, np.ones(width), mode="valid")
        start = int(np.argmax(local))
    else:
        start, width = 0, target_np.shape[0]
    sl = slice(start, start + width)
    axes[3].plot(t[sl], target_np[sl], lw=1.2, label="target")
    axes[3].plot(t[sl], pred_np[sl], lw=1.0, ls="--", label="reconstruction")
    axes[3].legend(loc="upper right")
    axes[3].set_title(f"zoom: {1000 * width / samplerate:.0f} ms where the error is largest")
    axes[3].set_xlabel("time (s)")
    fig.suptitle(f"{title + ' - ' if title else ''}PSNR {value:.2f} dB")
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def _as_1d(x: np.ndarray | Tensor) -> np.ndarray:
    if isinstance(x, Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float32).reshape(-1)
