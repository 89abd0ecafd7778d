"""Figures of the theory commands: init histograms, NTK spectra and NTK eigenfunctions (headless matplotlib)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np
from torch import Tensor

from staf_nerfstudio.io import atomic_path
from staf_nerfstudio.plotting import pyplot, save_figure
from staf_nerfstudio.theory.init_stats import LayerStatistics


def _save(fig, path: Path | str, dpi: int = 100, palette: bool = False) -> Path:
    """Saves (atomically) and closes ``fig``; ``palette`` rewrites a PNG with 256 colours (3-4x smaller for images)."""
    path = save_figure(fig, path, dpi=dpi)
    if palette and path.suffix.lower() == ".png":
        from PIL import Image

        with Image.open(path) as image:
            quantized = image.convert("RGB").quantize(256)
        with atomic_path(path) as tmp:
            quantized.save(tmp, format="PNG", optimize=True)
    return path


def plot_init_histograms(
    path: Path | str,
    samples: Dict[str, List[Tensor]],
    statistics: Dict[str, List[LayerStatistics]],
    max_points: int = 200_000,
    title: str = "",
) -> Path:
    """One panel per layer: histograms of each init's post-activations and the exact Gaussian law as a line.

    Args:
        path: Output image (PNG by extension).
        samples: Init name -> per-layer ``(networks, N, width)`` post-activations.
        statistics: Init name -> per-layer statistics (for the expected variance and the legend).
        max_points: Values drawn per histogram (a fixed random subset keeps the figure fast and small).
        title: Figure title.
    """
    plt = pyplot()
    num_layers = max(len(v) for v in samples.values())
    fig, axes = plt.subplots(1, num_layers, figsize=(3.2 * num_layers, 3.0), squeeze=False, sharey=True)
    rng = np.random.default_rng(0)
    colors = {"official": "tab:blue", "unit": "tab:orange"}
    for layer in range(num_layers):
        ax = axes[0, layer]
        for init, per_layer in samples.items():
            values = per_layer[layer].reshape(-1).double().numpy()
            if values.size > max_points:
                values = rng.choice(values, max_points, replace=False)
            stat = statistics[init][layer]
            std = math.sqrt(stat.expected_variance)
            color = colors.get(init)
            ax.hist(values, bins=np.linspace(-4, 4, 81), density=True, alpha=0.45, color=color,
                    label=f"{init}: var {stat.variance:.3f}")
            grid = np.linspace(-4, 4, 400)
            ax.plot(grid, np.exp(-0.5 * (grid / std) ** 2) / (std * math.sqrt(2 * math.pi)), color=color, lw=1.2)
        ax.set_title(f"layer {layer + 1}")
        ax.set_xlabel("post-activation sigma(z)")
        ax.legend(fontsize=7, loc="upper right")
    axes[0, 0].set_ylabel("density (lines: exact N(0, tau s/2))")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def plot_spectra(path: Path | str, eigenvalues: Dict[str, np.ndarray]) -> Path:
    """Log eigenvalue vs index, one curve per model: absolute (left) and divided by the largest (right).

    Eigenvalues below the float64 rounding floor of a Gram matrix (``N * eps * largest``) are numerically zero and are
    not drawn; the floor is the dashed line on the right.
    """
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    eps = float(np.finfo(np.float64).eps)
    floor = 1.0
    for name, values in eigenvalues.items():
        values = np.asarray(values, dtype=np.float64)
        floor = values.size * eps
        keep = values > floor * values[0]
        index = np.arange(1, values.size + 1)
        axes[0].semilogy(index[keep], values[keep], label=name, lw=1.3)
        axes[1].semilogy(index[keep], values[keep] / values[0], label=name, lw=1.3)
    axes[1].axhline(floor, color="gray", ls="--", lw=0.8, label="float64 floor")
    axes[0].set_title("NTK eigenvalues")
    axes[1].set_title("NTK eigenvalues / largest")
    for ax in axes:
        ax.set_xlabel("index k (descending)")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("lambda_k")
    axes[1].set_ylim(bottom=floor / 10, top=2.0)
    fig.tight_layout()
    return _save(fig, path)


def plot_eigenfunctions(
    path: Path | str, eigenvectors: Dict[str, np.ndarray], resolution: int, dims: int, titles: Sequence[str] = ()
) -> Path:
    """Leading eigenvectors of each model's NTK on the grid: one row per model (images for 2-D, curves for 1-D).

    Args:
        path: Output image.
        eigenvectors: Model name -> ``(N, k)`` leading eigenvectors (columns, descending eigenvalue).
        resolution: Grid points per axis.
        dims: 1 or 2.
        titles: Optional row labels (default: the model names).
    """
    plt = pyplot()
    names = list(eigenvectors)
    k = max(v.shape[1] for v in eigenvectors.values())
    # About one screen pixel per grid point (at 100 dpi) keeps noise-like eigenfunctions, which PNG cannot compress,
    # small on disk; 1-D curves get a fixed panel size.
    panel = min(1.6, max(0.64, resolution / 100)) if dims == 2 else 1.6
    fig, axes = plt.subplots(len(names), k, figsize=(panel * k + 0.4, (panel + 0.15) * len(names)), squeeze=False)
    for row, name in enumerate(names):
        vectors = eigenvectors[name]
        for col in range(k):
            ax = axes[row, col]
            if col >= vectors.shape[1]:
                ax.axis("off")
                continue
            v = vectors[:, col]
            v = v * np.sign(v[np.argmax(np.abs(v))])  # eigenvectors have no sign; show the largest entry positive
            if dims == 2:
                scale = np.abs(v).max() or 1.0
                ax.imshow(v.reshape(resolution, resolution), cmap="RdBu_r", vmin=-scale, vmax=scale,
                          origin="lower", extent=(-1, 1, -1, 1))
                ax.set_xticks([])
                ax.set_yticks([])
            else:
                ax.plot(np.linspace(-1, 1, v.size), v, lw=1.0)
                ax.set_yticks([])
                ax.set_xticks([-1, 0, 1])
            if row == 0:
                ax.set_title(f"k = {col + 1}", fontsize=7)
        label = titles[row] if row < len(titles) else name
        axes[row, 0].set_ylabel(label.replace(" ", "\n"), fontsize=7)
    fig.tight_layout(pad=0.3, w_pad=0.2, h_pad=0.3)
    return _save(fig, path, dpi=100, palette=True)
