"""Figures written by the commands: side-by-side reconstructions and metric-vs-step curves (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from staf_tasks.io import atomic_path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path | str, dpi: int = 110) -> Path:
    """Saves and closes a matplotlib figure atomically (format by extension)."""
    plt = _pyplot()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return path


def plot_side_by_side(path: Path | str, images: Sequence[np.ndarray], titles: Sequence[str]) -> Path:
    """Images in [0, 1] in one row with titles (gray images drawn in gray)."""
    plt = _pyplot()
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
    plt = _pyplot()
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
