"""Pictures of learned STAF activations: sigma(z) of every layer after training, beside the same network at init."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Tuple

import torch

from staf_nerfstudio import StafMLP
from staf_nerfstudio.plotting import pyplot, save_figure
from staf_nerfstudio.reference import staf_reference
from staf_tasks.errors import StafUserError


@torch.no_grad()
def preactivation_ranges(net: StafMLP, samples: int = 4096, quantile: float = 0.01) -> List[Tuple[float, float]]:
    """The central (1 - 2*quantile) range of each layer's pre-activation z for inputs uniform in [-1, 1]^in."""
    x = torch.rand(samples, net.in_features, generator=torch.Generator().manual_seed(0)) * 2 - 1
    x = x.to(next(net.parameters()))
    ranges = []
    for block in net.layers:
        z = block.linear(x).flatten()
        ranges.append((torch.quantile(z.float(), quantile).item(), torch.quantile(z.float(), 1 - quantile).item()))
        x = block(x)
    return ranges


@torch.no_grad()
def plot_activations(path: Path | str, net: StafMLP, init_net: Optional[StafMLP] = None, points: int = 1000) -> Path:
    """One panel per layer: the learned ``sigma(z)`` (solid) and, if given, the initial one (dashed), over the range
    the layer's pre-activations actually cover; a shaded band marks that range within a wider window."""
    if not isinstance(net, StafMLP):
        raise StafUserError("only STAF networks have trainable activations to plot (this run used another model); "
                            "give a run trained with --model staf")
    plt = pyplot()
    ranges = preactivation_ranges(net)
    n = len(net.layers)
    fig, axes = plt.subplots(1, n, figsize=(3.4 * n, 3.0), squeeze=False)
    for i, (ax, block, (lo, hi)) in enumerate(zip(axes[0], net.layers, ranges)):
        pad = 0.25 * (hi - lo + 1e-6)
        z = torch.linspace(lo - pad, hi + pad, points, dtype=torch.float64)
        act = block.activation
        params = [t.detach().double().cpu() for t in (act.amplitudes, act.frequencies, act.phases)]
        zz = z[:, None].expand(-1, act.num_features) if act.sharing == "neuron" else z[:, None]
        y = staf_reference(zz, *params)
        if act.sharing == "neuron":
            for j in range(min(4, y.shape[1])):
                ax.plot(z, y[:, j], lw=1.0)
        else:
            ax.plot(z, y[:, 0], lw=1.4, label="learned")
        if init_net is not None and act.sharing != "neuron":
            a0 = init_net.layers[i].activation
            p0 = [t.detach().double().cpu() for t in (a0.amplitudes, a0.frequencies, a0.phases)]
            y0 = staf_reference(z[:, None], *p0)[:, 0]
            ax.plot(z, y0, lw=1.0, ls="--", color="gray", label="init")
        ax.axvspan(lo, hi, color="tab:orange", alpha=0.08, lw=0)
        ax.set_title(f"layer {i}: tau={act.tau}" + (" (first 4 neurons)" if act.sharing == "neuron" else ""),
                     fontsize=9)
        ax.set_xlabel("z")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("sigma(z)")
    if init_net is not None:
        axes[0][0].legend(fontsize=8)
    fig.suptitle("learned STAF activations (shaded: 98% of pre-activations for inputs in [-1, 1])", fontsize=10, y=1.04)
    return save_figure(fig, path)
