"""Post-activation statistics of freshly initialized STAF networks (STAF paper, arXiv 2502.00869).

The init draws ``a = sign(Y) sqrt|Y|`` with ``Y ~ Laplace(0, s)``, frequencies ``omega U[0, 1)`` and phases
``U(-pi, pi)``, which makes ``sigma(z) = sum_i a_i sin(w_i z + p_i)`` exactly ``N(0, tau s / 2)`` *for any fixed z*.
A layer's pre-activation ``z`` depends only on earlier layers and the layer's own linear weights, all independent
of the layer's ``(a, w, p)``, so the law holds conditionally on ``z`` and therefore for every layer of the network:
``N(0, 1/4)`` with ``init="official"``, ``N(0, 1)`` with ``init="unit"``.

Dependence, which decides what a sample can test:

* ``sharing="neuron"``: at one input, the post-activations of all neurons of all layers are i.i.d. (each neuron has
  its own ``(a, w, p)``, independent of its ``z``).
* ``sharing="layer"``: the neurons of one layer share ``(a, w, p)`` and are dependent; one neuron per network and
  layer is an independent draw, so independent samples come from independent networks.
* ``sharing="network"``: layer ``l > 1`` reuses the ``(a, w, p)`` that produced its own input, so ``z`` is *not*
  independent of them and the theorem does not apply beyond the first layer; the statistics show what happens.

:func:`layer_statistics` therefore pools every value (unbiased for the marginal moments in every case) for the mean,
variance and kurtosis, and runs the normality tests only on a sample that is independent by the argument above: at
the first input point, all neurons of each network with neuron-wise sharing, one neuron per network otherwise.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable, List, Sequence

import numpy as np
import torch
from jaxtyping import Float
from scipy import stats
from torch import Tensor

from staf_nerfstudio.activation import amplitude_laplace_scale
from staf_nerfstudio.mlp import StafMLP
from staf_nerfstudio.settings import StafSettings


@dataclass
class LayerStatistics:
    """Statistics of one layer's post-activations ``sigma(z)`` (before the skip adds ``z``)."""

    layer: int
    """Layer index (0 = first STAF layer)."""
    init: str
    """``"official"`` or ``"unit"``."""
    tau: int
    """Sine terms of the layer's activation."""
    expected_variance: float
    """``tau * s / 2``: 0.25 for "official", 1.0 for "unit"."""
    samples: int
    """Values pooled for mean, variance and kurtosis (networks x inputs x neurons)."""
    mean: float
    """Sample mean (expected 0)."""
    variance: float
    """Sample variance (expected ``expected_variance``)."""
    excess_kurtosis: float
    """Fisher kurtosis (0 for a Gaussian)."""
    independent_samples: int
    """Size of the independent sample the tests use (see the module docstring)."""
    variance_standard_error: float
    """``expected_variance * sqrt(2 / (independent_samples - 1))``: standard error of the variance of the
    independent sample (Gaussian fourth moment)."""
    independent_variance: float
    """Variance of the independent sample."""
    normaltest_pvalue: float
    """D'Agostino-Pearson K^2 test of normality (any mean and variance) on the independent sample."""
    ks_pvalue: float
    """Kolmogorov-Smirnov test against the exact law ``N(0, expected_variance)`` on the independent sample."""

    def to_dict(self) -> dict:
        return asdict(self)


def sample_post_activations(
    make_network: Callable[[], StafMLP],
    inputs: Float[Tensor, "N in_features"],
    num_networks: int,
    seed: int = 0,
) -> List[Float[Tensor, "networks N width"]]:
    """Post-activations ``sigma(z)`` of every layer of ``num_networks`` independently initialized networks.

    Each network is built by ``make_network()`` under its own seed (``seed + k``) inside :func:`torch.random.fork_rng`,
    so the caller's global RNG state is left untouched.

    Returns:
        One ``(num_networks, N, width)`` tensor per layer, on the CPU, in the inputs' dtype.
    """
    if num_networks < 1:
        raise ValueError(f"num_networks must be >= 1, got {num_networks}")
    per_layer: List[List[Tensor]] = []
    for k in range(num_networks):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + k)
            net = make_network().to(dtype=inputs.dtype, device=inputs.device)
        if not isinstance(net, StafMLP):
            raise TypeError(f"make_network must return a StafMLP, got {type(net).__name__}")
        outputs: List[Tensor] = []

        def record(_module, _inputs, out: Tensor, outputs: List[Tensor] = outputs) -> None:
            outputs.append(out.detach().cpu())

        handles = [act.register_forward_hook(record) for act in net.activations()]
        try:
            with torch.no_grad():
                net(inputs)
        finally:
            for handle in handles:
                handle.remove()
        if not per_layer:
            per_layer = [[] for _ in outputs]
        for layer, out in enumerate(outputs):
            per_layer[layer].append(out)
    return [torch.stack(values) for values in per_layer]


def independent_sample(values: Float[Tensor, "networks N width"], sharing: str) -> np.ndarray:
    """Entries of one layer's post-activations that are mutually independent (see the module docstring)."""
    first_input = values[:, 0, :]
    chosen = first_input.reshape(-1) if sharing == "neuron" else first_input[:, 0]
    return chosen.double().numpy()


def layer_statistics(
    post_activations: Sequence[Float[Tensor, "networks N width"]], tau: int, init: str, sharing: str
) -> List[LayerStatistics]:
    """Mean, variance, kurtosis and normality tests of each layer (see :class:`LayerStatistics`)."""
    expected = tau * amplitude_laplace_scale(tau, init) / 2.0
    results = []
    for layer, values in enumerate(post_activations):
        pooled = values.reshape(-1).double()
        mean = pooled.mean().item()
        variance = pooled.var().item()
        centered = pooled - mean
        kurtosis = ((centered**4).mean() / centered.square().mean() ** 2).item() - 3.0
        indep = independent_sample(values, sharing)
        normal_p = float(stats.normaltest(indep).pvalue) if indep.size >= 20 else float("nan")
        ks_p = float(stats.kstest(indep, "norm", args=(0.0, math.sqrt(expected))).pvalue)
        results.append(
            LayerStatistics(
                layer=layer,
                init=init,
                tau=tau,
                expected_variance=expected,
                samples=pooled.numel(),
                mean=mean,
                variance=variance,
                excess_kurtosis=kurtosis,
                independent_samples=int(indep.size),
                variance_standard_error=expected * math.sqrt(2.0 / max(indep.size - 1, 1)),
                independent_variance=float(indep.var(ddof=1)) if indep.size > 1 else float("nan"),
                normaltest_pvalue=normal_p,
                ks_pvalue=ks_p,
            )
        )
    return results


def init_statistics(
    inputs: Float[Tensor, "N in_features"],
    init: str,
    num_networks: int = 16,
    hidden_features: int = 256,
    hidden_layers: int = 3,
    tau: int = StafSettings.tau,
    first_omega: float = StafSettings.first_omega,
    hidden_omega: float = StafSettings.hidden_omega,
    sharing: str = StafSettings.sharing,
    skip: bool = StafSettings.skip,
    seed: int = 0,
) -> tuple[List[LayerStatistics], List[Tensor]]:
    """Samples ``num_networks`` fresh STAF networks on ``inputs`` and returns per-layer statistics and the samples.

    The networks are ``StafMLP(in_features, hidden_features, hidden_layers, 1, ...)`` with the given settings.
    """
    def make() -> StafMLP:
        return StafMLP(inputs.shape[-1], hidden_features, hidden_layers, 1, tau=tau, first_omega=first_omega,
                       hidden_omega=hidden_omega, skip=skip, sharing=sharing, init=init)

    samples = sample_post_activations(make, inputs, num_networks, seed)
    return layer_statistics(samples, tau, init, sharing), samples
