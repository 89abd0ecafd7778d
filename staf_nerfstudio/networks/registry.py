"""``build_model``: every model of the registry by name, with the same network shape, and ``count_parameters``."""

from __future__ import annotations

import math
from typing import Callable, Dict, Optional, Sequence

import torch
from jaxtyping import Float
from torch import Tensor, nn

from staf_nerfstudio.mlp import StafMLP
from staf_nerfstudio.networks.finer import FinerLayer
from staf_nerfstudio.networks.gauss import GaussLayer
from staf_nerfstudio.networks.relu_pe import FourierFeatures, ReluLayer, relu_mlp
from staf_nerfstudio.networks.siren import SineLayer, siren_uniform_
from staf_nerfstudio.networks.wire import ComplexLinear, GaborLayer
from staf_nerfstudio.settings import (
    FinerSettings,
    GaussSettings,
    ModelsConfig,
    ReluPeSettings,
    SirenSettings,
    StafSettings,
    WireSettings,
    check_model_name,
)


class BaselineMLP(nn.Module):
    """Optional fixed input encoding, activation layers, then a linear read-out (a complex one returns its real part).

    Same attribute names as :class:`staf_nerfstudio.StafMLP` (``layers``, ``head``, ``in_features``,
    ``out_features``), so code that walks the layers of one model works on all.

    Args:
        layers: The activation layers, first one included.
        head: The read-out (``nn.Linear`` or :class:`~staf_nerfstudio.networks.wire.ComplexLinear`).
        in_features: Inputs per point.
        out_features: Outputs per point.
        encoding: A fixed input encoding applied first (e.g. :class:`~.relu_pe.FourierFeatures`).
    """

    def __init__(
        self,
        layers: Sequence[nn.Module],
        head: nn.Module,
        in_features: int,
        out_features: int,
        encoding: Optional[nn.Module] = None,
    ) -> None:
        super().__init__()
        self.encoding = encoding
        self.layers = nn.ModuleList(layers)
        self.head = head
        self.in_features = in_features
        self.out_features = out_features

    def forward(self, x: Float[Tensor, "*batch in_features"]) -> Float[Tensor, "*batch out_features"]:
        if self.encoding is not None:
            x = self.encoding(x)
        for layer in self.layers:
            x = layer(x)
        y = self.head(x)
        return y.real if y.is_complex() else y


def _siren_head(hidden_features: int, out_features: int, omega: float) -> nn.Linear:
    """Read-out with SIREN's hidden-layer weight init, as the SIREN and FINER reference codes do."""
    head = nn.Linear(hidden_features, out_features)
    siren_uniform_(head.weight, omega, is_first=False)
    return head


def scale_weights_(model: nn.Module, weight_scale: float) -> nn.Module:
    """Weight scaling (Yeom, Lee, Lee, ICLR 2025, arXiv 2410.04779), in place: multiplies the weight of every
    activation layer's linear map (``model.layers[k].linear``) by ``weight_scale``; the read-out and every bias keep
    their init. A scale of 1 leaves the model untouched, bit for bit.

    Args:
        model: A registry model (:class:`BaselineMLP` or :class:`~staf_nerfstudio.StafMLP`).
        weight_scale: The factor (> 0).

    Returns:
        ``model``.
    """
    _check_positive("weight_scale", weight_scale)
    if weight_scale != 1.0:
        with torch.no_grad():
            for layer in model.layers:
                layer.linear.weight.mul_(weight_scale)
    return model


def _build_staf(i: int, o: int, width: int, depth: int, cfg: StafSettings) -> nn.Module:
    _check_positive("staf.weight_scale", cfg.weight_scale)
    net = StafMLP(
        i,
        width,
        depth,
        o,
        tau=cfg.tau,
        first_omega=cfg.first_omega,
        hidden_omega=cfg.hidden_omega,
        skip=cfg.skip,
        sharing=cfg.sharing,
        init=cfg.init,
        implementation=cfg.implementation,
        extra_amplitude=cfg.extra_amplitude,
        first_extra_amplitude=cfg.first_extra_amplitude,
    )
    return scale_weights_(net, cfg.weight_scale)


def _build_siren(i: int, o: int, width: int, depth: int, cfg: SirenSettings) -> nn.Module:
    _check_positive("siren.first_omega", cfg.first_omega)
    _check_positive("siren.hidden_omega", cfg.hidden_omega)
    _check_positive("siren.weight_scale", cfg.weight_scale)
    layers = [SineLayer(i, width, cfg.first_omega, is_first=True)]
    layers += [SineLayer(width, width, cfg.hidden_omega) for _ in range(depth)]
    return scale_weights_(BaselineMLP(layers, _siren_head(width, o, cfg.hidden_omega), i, o), cfg.weight_scale)


def _build_wire(i: int, o: int, width: int, depth: int, cfg: WireSettings) -> nn.Module:
    _check_positive("wire.sigma", cfg.sigma)
    width = max(1, int(width / math.sqrt(2)))  # as the WIRE reference: a complex weight holds two reals
    layers = [GaborLayer(i, width, cfg.omega, cfg.sigma, is_first=True)]
    layers += [GaborLayer(width, width, cfg.omega, cfg.sigma) for _ in range(depth)]
    return BaselineMLP(layers, ComplexLinear(width, o), i, o)


def _build_finer(i: int, o: int, width: int, depth: int, cfg: FinerSettings) -> nn.Module:
    _check_positive("finer.first_omega", cfg.first_omega)
    _check_positive("finer.hidden_omega", cfg.hidden_omega)
    _check_positive("finer.first_bias_scale", cfg.first_bias_scale)
    _check_positive("finer.weight_scale", cfg.weight_scale)
    grad = cfg.scale_requires_grad
    layers = [FinerLayer(i, width, cfg.first_omega, True, cfg.first_bias_scale, grad)]
    layers += [FinerLayer(width, width, cfg.hidden_omega, scale_requires_grad=grad) for _ in range(depth)]
    return scale_weights_(BaselineMLP(layers, _siren_head(width, o, cfg.hidden_omega), i, o), cfg.weight_scale)


def _build_gauss(i: int, o: int, width: int, depth: int, cfg: GaussSettings) -> nn.Module:
    _check_positive("gauss.sigma", cfg.sigma)
    layers = [GaussLayer(i, width, cfg.sigma)] + [GaussLayer(width, width, cfg.sigma) for _ in range(depth)]
    return BaselineMLP(layers, nn.Linear(width, o), i, o)


def _build_relu_pe(i: int, o: int, width: int, depth: int, cfg: ReluPeSettings) -> nn.Module:
    if isinstance(cfg.num_frequencies, bool) or not isinstance(cfg.num_frequencies, int) or cfg.num_frequencies < 0:
        raise ValueError(
            f"relu_pe.num_frequencies must be an integer >= 0 (0: no encoding), got {cfg.num_frequencies!r}"
        )
    if cfg.num_frequencies == 0:
        return relu_mlp(i, width, depth, o)
    _check_positive("relu_pe.sigma", cfg.sigma)
    encoding = FourierFeatures(i, cfg.num_frequencies, cfg.sigma)
    layers = [ReluLayer(encoding.out_features, width)] + [ReluLayer(width, width) for _ in range(depth)]
    return BaselineMLP(layers, nn.Linear(width, o), i, o, encoding=encoding)


_BUILDERS: Dict[str, Callable[..., nn.Module]] = {
    "staf": _build_staf,
    "siren": _build_siren,
    "wire": _build_wire,
    "finer": _build_finer,
    "gauss": _build_gauss,
    "relu-pe": _build_relu_pe,
}


def _check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")


def _check_size(name: str, value: int, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def build_model(
    name: str,
    in_features: int,
    out_features: int,
    hidden_features: int = 256,
    hidden_layers: int = 3,
    config: Optional[ModelsConfig] = None,
) -> nn.Module:
    """Builds the named model with its settings from ``config``.

    Args:
        name: One of ``"staf"``, ``"siren"``, ``"wire"``, ``"finer"``, ``"gauss"``, ``"relu-pe"``.
        in_features: Coordinates per point.
        out_features: Values per point.
        hidden_features: Width W (WIRE uses ``int(W / sqrt(2))`` complex units, as its reference code does, which
            keeps its parameter count close to the others').
        hidden_layers: Number of W -> W layers after the first (:class:`staf_nerfstudio.StafMLP`'s meaning).
        config: Per-model settings; ``None`` gives the defaults (the STAF authors' baseline settings).

    Returns:
        A module mapping ``(..., in_features) -> (..., out_features)``, initialized from torch's global RNG.

    Raises:
        ValueError: An unknown name, or an invalid size or setting.
    """
    check_model_name(name)
    _check_size("in_features", in_features, 1)
    _check_size("out_features", out_features, 1)
    _check_size("hidden_features", hidden_features, 2)
    _check_size("hidden_layers", hidden_layers, 0)
    config = config if config is not None else ModelsConfig()
    return _BUILDERS[name](in_features, out_features, hidden_features, hidden_layers, config.settings(name))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable real values: shared parameters once, a complex parameter as two; buffers not counted."""
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters() if p.requires_grad)
