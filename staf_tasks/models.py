"""One registry of implicit-neural-representation models by name: STAF and the authors' baselines.

Every model maps coordinates ``(..., in_features) -> (..., out_features)`` (any leading batch dimensions, float32 or
float64) and has the same shape of network: a first layer ``in -> W``, ``hidden_layers`` x ``W -> W``, then a linear
read-out ``W -> out`` (``hidden_layers`` means the same as in :class:`staf_nerfstudio.StafMLP`).

=========  ==========================================================================================================
name       model
=========  ==========================================================================================================
staf       :class:`staf_nerfstudio.StafMLP` (Morsali et al., "STAF: Sinusoidal Trainable Activation Functions for
           Implicit Neural Representation", arXiv 2502.00869).
siren      :class:`SineLayer` network (Sitzmann et al., "Implicit Neural Representations with Periodic Activation
           Functions", NeurIPS 2020).
wire       :class:`GaborLayer` network (Saragadam et al., "WIRE: Wavelet Implicit Neural Representations", CVPR 2023).
finer      :class:`FinerLayer` network (Liu et al., "FINER: Flexible spectral-bias tuning in Implicit NEural
           Representation by Variable-periodic Activation Functions", CVPR 2024).
gauss      :class:`GaussLayer` network (Ramasinghe & Lucey, "Beyond Periodicity: Towards a Unifying Framework for
           Activations in Coordinate-MLPs", ECCV 2022).
relu-pe    :class:`FourierFeatures` then a :class:`ReluLayer` network (Tancik et al., "Fourier Features Let Networks
           Learn High Frequency Functions in Low Dimensional Domains", NeurIPS 2020).
=========  ==========================================================================================================

The defaults are the baseline settings the STAF authors used (SIREN and FINER omega 30/30, FINER first-layer bias
scale 5, WIRE omega 30 and sigma 10, Gauss sigma 10, ReLU + 256 Gaussian Fourier features of scale 10).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional, Sequence

import torch
from jaxtyping import Float
from torch import Tensor, nn

from staf_nerfstudio import StafMLP

MODEL_NAMES = ("staf", "siren", "wire", "finer", "gauss", "relu-pe")
"""Names :func:`build_model` accepts."""


# --------------------------------------------------------------------------------------------------------------------
# Per-model settings
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class StafModelConfig:
    """STAF network settings (see :class:`staf_nerfstudio.StafMLP`)."""

    tau: int = 5
    """Sine terms per activation."""
    first_omega: float = 30.0
    """Range the first activation's frequencies are drawn from (omega * U[0, 1)); it does not multiply z."""
    hidden_omega: float = 30.0
    """Range the other activations' frequencies are drawn from."""
    skip: bool = False
    """Add the pre-activation back in every non-first layer (the authors' image-fitting setting)."""
    sharing: str = "layer"
    """Activation parameter sharing: "layer" (the paper's choice), "neuron" or "network"."""
    init: str = "official"
    """Amplitude init: "official" (authors' code, post-activations N(0, 1/4)) or "unit" (the theorem's N(0, 1))."""
    implementation: str = "auto"
    """Activation implementation: "auto" or a name from staf_nerfstudio.functional.available_implementations()."""


@dataclass
class SirenModelConfig:
    """SIREN settings: ``sin(omega * (W x + b))`` with SIREN's initialization."""

    first_omega: float = 30.0
    """Frequency factor of the first layer."""
    hidden_omega: float = 30.0
    """Frequency factor of the other layers (also scales the read-out's init)."""


@dataclass
class FinerModelConfig:
    """FINER settings: ``sin(omega * (|z| + 1) * z)`` with SIREN's weight init and a wide first-layer bias."""

    first_omega: float = 30.0
    """Frequency factor of the first layer."""
    hidden_omega: float = 30.0
    """Frequency factor of the other layers (also scales the read-out's init)."""
    first_bias_scale: float = 5.0
    """First-layer biases are drawn from U(-k, k) with this k (FINER's spectral-bias knob)."""
    scale_requires_grad: bool = False
    """Backpropagate through the (|z| + 1) factor; the FINER reference code detaches it (False)."""


@dataclass
class WireModelConfig:
    """WIRE settings: complex Gabor wavelet ``exp(j omega z - |sigma z|^2)``."""

    omega: float = 30.0
    """Frequency of the Gabor wavelet (the STAF authors' setting; WIRE's own default is 20)."""
    sigma: float = 10.0
    """Width (scale) of the Gabor wavelet's Gaussian window."""


@dataclass
class GaussModelConfig:
    """Gaussian-activation settings: ``exp(-(sigma z)^2)``."""

    sigma: float = 10.0
    """Inverse width of the Gaussian bump."""


@dataclass
class ReluPeModelConfig:
    """ReLU + positional encoding settings: fixed Gaussian random Fourier features, then a ReLU network."""

    num_frequencies: int = 256
    """Number of random frequencies; the encoding has 2 x this many features (cos and sin)."""
    sigma: float = 10.0
    """Standard deviation of the random frequencies (the encoding is cos/sin(2 pi B x), B ~ N(0, sigma^2))."""


@dataclass
class ModelsConfig:
    """Per-model settings; a task config holds one of these and :func:`build_model` picks the named model's part."""

    staf: StafModelConfig = field(default_factory=StafModelConfig)
    """STAF settings."""
    siren: SirenModelConfig = field(default_factory=SirenModelConfig)
    """SIREN settings."""
    wire: WireModelConfig = field(default_factory=WireModelConfig)
    """WIRE settings."""
    finer: FinerModelConfig = field(default_factory=FinerModelConfig)
    """FINER settings."""
    gauss: GaussModelConfig = field(default_factory=GaussModelConfig)
    """Gauss settings."""
    relu_pe: ReluPeModelConfig = field(default_factory=ReluPeModelConfig)
    """ReLU + positional encoding settings (model name "relu-pe")."""


# --------------------------------------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------------------------------------


def siren_uniform_(weight: Tensor, omega: float, is_first: bool) -> Tensor:
    """SIREN's weight init, in place: ``U(-1/in, 1/in)`` for a first layer, else ``U(-sqrt(6/in)/omega, +)``."""
    fan_in = weight.shape[1]
    bound = 1.0 / fan_in if is_first else math.sqrt(6.0 / fan_in) / omega
    with torch.no_grad():
        return weight.uniform_(-bound, bound)


class SineLayer(nn.Module):
    """``sin(omega * (W x + b))`` with SIREN's weight init (Sitzmann et al., NeurIPS 2020).

    Args:
        in_features: Inputs per point.
        out_features: Outputs per point.
        omega: Frequency factor multiplying the pre-activation.
        is_first: Use the first-layer init ``U(-1/in, 1/in)`` instead of ``U(-sqrt(6/in)/omega, sqrt(6/in)/omega)``.
    """

    def __init__(self, in_features: int, out_features: int, omega: float = 30.0, is_first: bool = False) -> None:
        super().__init__()
        self.omega = float(omega)
        self.is_first = is_first
        self.linear = nn.Linear(in_features, out_features)
        siren_uniform_(self.linear.weight, self.omega, is_first)

    def forward(self, x: Float[Tensor, "*batch in_features"]) -> Float[Tensor, "*batch out_features"]:
        return torch.sin(self.omega * self.linear(x))


class FinerLayer(nn.Module):
    """``sin(omega * (|z| + 1) * z)``, ``z = W x + b`` (Liu et al., "FINER", CVPR 2024).

    Weights use SIREN's init; a first layer may draw its biases from ``U(-first_bias_scale, first_bias_scale)`` so
    that large ``|z|`` reach the high-frequency part of the variable-periodic sine.

    Args:
        in_features: Inputs per point.
        out_features: Outputs per point.
        omega: Frequency factor.
        is_first: First-layer weight init (see :func:`siren_uniform_`).
        first_bias_scale: Bias range of the layer; ``None`` keeps PyTorch's default bias init.
        scale_requires_grad: Backpropagate through ``|z| + 1``; the FINER reference detaches it.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        omega: float = 30.0,
        is_first: bool = False,
        first_bias_scale: Optional[float] = None,
        scale_requires_grad: bool = False,
    ) -> None:
        super().__init__()
        self.omega = float(omega)
        self.is_first = is_first
        self.scale_requires_grad = scale_requires_grad
        self.linear = nn.Linear(in_features, out_features)
        siren_uniform_(self.linear.weight, self.omega, is_first)
        if first_bias_scale is not None:
            with torch.no_grad():
                self.linear.bias.uniform_(-first_bias_scale, first_bias_scale)

    def forward(self, x: Float[Tensor, "*batch in_features"]) -> Float[Tensor, "*batch out_features"]:
        z = self.linear(x)
        scale = z.abs() + 1 if self.scale_requires_grad else z.detach().abs() + 1
        return torch.sin(self.omega * scale * z)


class GaussLayer(nn.Module):
    """``exp(-(sigma * (W x + b))^2)`` with PyTorch's default linear init (Ramasinghe & Lucey, ECCV 2022).

    Args:
        in_features: Inputs per point.
        out_features: Outputs per point.
        sigma: Inverse width of the Gaussian.
    """

    def __init__(self, in_features: int, out_features: int, sigma: float = 10.0) -> None:
        super().__init__()
        self.sigma = float(sigma)
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x: Float[Tensor, "*batch in_features"]) -> Float[Tensor, "*batch out_features"]:
        return torch.exp(-(self.sigma * self.linear(x)).square())


class ComplexLinear(nn.Module):
    """Complex affine map ``W x + b`` stored as real parameters (WIRE's complex layers).

    Real and imaginary parts are separate real parameters, so ``model.double()`` / ``model.to(dtype)`` and every
    optimizer treat them like any other weight (``nn.Linear(dtype=torch.cfloat)`` would be cast to real by
    ``model.to(torch.float64)``). The init is what PyTorch gives a complex ``nn.Linear``: real and imaginary parts each
    ``U(-1/sqrt(in), 1/sqrt(in))``. A real input is promoted to complex.
    """

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(in_features)
        self.weight_real = nn.Parameter(torch.empty(out_features, in_features).uniform_(-bound, bound))
        self.weight_imag = nn.Parameter(torch.empty(out_features, in_features).uniform_(-bound, bound))
        self.bias_real = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound))
        self.bias_imag = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound))

    def forward(self, x: Tensor) -> Tensor:
        weight = torch.complex(self.weight_real, self.weight_imag)
        bias = torch.complex(self.bias_real, self.bias_imag)
        if not x.is_complex():
            x = x.to(weight.dtype)
        return nn.functional.linear(x, weight, bias)


class GaborLayer(nn.Module):
    """Complex Gabor wavelet ``exp(j omega z - |sigma z|^2)`` (Saragadam et al., "WIRE", CVPR 2023).

    As in the WIRE reference code, a first layer maps real inputs with a real ``nn.Linear`` and the others are complex
    (:class:`ComplexLinear`); omega and sigma are fixed. The output is complex.

    Args:
        in_features: Inputs per point.
        out_features: Outputs per point.
        omega: Wavelet frequency.
        sigma: Wavelet window scale.
        is_first: Real linear map (real input) instead of a complex one.
    """

    def __init__(
        self, in_features: int, out_features: int, omega: float = 30.0, sigma: float = 10.0, is_first: bool = False
    ) -> None:
        super().__init__()
        self.omega = float(omega)
        self.sigma = float(sigma)
        self.is_first = is_first
        self.linear = nn.Linear(in_features, out_features) if is_first else ComplexLinear(in_features, out_features)

    def forward(self, x: Tensor) -> Tensor:
        z = self.linear(x)
        magnitude2 = z.real.square() + z.imag.square() if z.is_complex() else z.square()
        return torch.exp(1j * self.omega * z - self.sigma**2 * magnitude2)


class ReluLayer(nn.Module):
    """``relu(W x + b)`` with PyTorch's default linear init."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x: Float[Tensor, "*batch in_features"]) -> Float[Tensor, "*batch out_features"]:
        return torch.relu(self.linear(x))


class FourierFeatures(nn.Module):
    """Gaussian random Fourier features ``[cos(2 pi B x), sin(2 pi B x)]``, ``B ~ N(0, sigma^2)`` (Tancik et al. 2020).

    ``B`` has shape ``(num_frequencies, in_features)``, is drawn once from torch's global RNG (so ``torch.manual_seed``
    fixes it) and is a persistent buffer: never trained, saved in checkpoints, moved by ``.to()``.
    """

    def __init__(self, in_features: int, num_frequencies: int = 256, sigma: float = 10.0) -> None:
        super().__init__()
        self.register_buffer("frequencies", torch.randn(num_frequencies, in_features) * sigma)
        self.out_features = 2 * num_frequencies

    def forward(self, x: Float[Tensor, "*batch in_features"]) -> Float[Tensor, "*batch out_features"]:
        angles = 2 * math.pi * x @ self.frequencies.T
        return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)


# --------------------------------------------------------------------------------------------------------------------
# Networks
# --------------------------------------------------------------------------------------------------------------------


class BaselineMLP(nn.Module):
    """Optional input encoding, activation layers, then a linear read-out (a complex read-out returns its real part).

    Same attribute names as :class:`staf_nerfstudio.StafMLP` (``layers``, ``head``), so code that walks the layers of
    one model works on all.

    Args:
        layers: The activation layers, first one included.
        head: The read-out (``nn.Linear`` or :class:`ComplexLinear`).
        in_features: Inputs per point.
        out_features: Outputs per point.
        encoding: A fixed input encoding applied first (e.g. :class:`FourierFeatures`).
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
    head = nn.Linear(hidden_features, out_features)
    siren_uniform_(head.weight, omega, is_first=False)
    return head


def _build_siren(i: int, o: int, width: int, depth: int, cfg: SirenModelConfig) -> nn.Module:
    layers = [SineLayer(i, width, cfg.first_omega, is_first=True)]
    layers += [SineLayer(width, width, cfg.hidden_omega) for _ in range(depth)]
    return BaselineMLP(layers, _siren_head(width, o, cfg.hidden_omega), i, o)


def _build_finer(i: int, o: int, width: int, depth: int, cfg: FinerModelConfig) -> nn.Module:
    grad = cfg.scale_requires_grad
    layers = [FinerLayer(i, width, cfg.first_omega, True, cfg.first_bias_scale, grad)]
    layers += [FinerLayer(width, width, cfg.hidden_omega, scale_requires_grad=grad) for _ in range(depth)]
    return BaselineMLP(layers, _siren_head(width, o, cfg.hidden_omega), i, o)


def _build_wire(i: int, o: int, width: int, depth: int, cfg: WireModelConfig) -> nn.Module:
    width = int(width / math.sqrt(2))  # as the WIRE reference: complex weights hold two reals each
    layers = [GaborLayer(i, width, cfg.omega, cfg.sigma, is_first=True)]
    layers += [GaborLayer(width, width, cfg.omega, cfg.sigma) for _ in range(depth)]
    return BaselineMLP(layers, ComplexLinear(width, o), i, o)


def _build_gauss(i: int, o: int, width: int, depth: int, cfg: GaussModelConfig) -> nn.Module:
    layers = [GaussLayer(i, width, cfg.sigma)] + [GaussLayer(width, width, cfg.sigma) for _ in range(depth)]
    return BaselineMLP(layers, nn.Linear(width, o), i, o)


def _build_relu_pe(i: int, o: int, width: int, depth: int, cfg: ReluPeModelConfig) -> nn.Module:
    encoding = FourierFeatures(i, cfg.num_frequencies, cfg.sigma)
    layers = [ReluLayer(encoding.out_features, width)] + [ReluLayer(width, width) for _ in range(depth)]
    return BaselineMLP(layers, nn.Linear(width, o), i, o, encoding=encoding)


def _build_staf(i: int, o: int, width: int, depth: int, cfg: StafModelConfig) -> nn.Module:
    return StafMLP(
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
    )


def _check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")


def build_model(
    name: str,
    in_features: int,
    out_features: int,
    hidden_features: int = 256,
    hidden_layers: int = 3,
    config: Optional[ModelsConfig] = None,
) -> nn.Module:
    """Builds the named model (one of :data:`MODEL_NAMES`) with its settings from ``config``.

    Args:
        name: ``"staf"``, ``"siren"``, ``"wire"``, ``"finer"``, ``"gauss"`` or ``"relu-pe"``.
        in_features: Coordinates per point.
        out_features: Values per point.
        hidden_features: Width W (WIRE uses ``int(W / sqrt(2))`` complex units, as its reference code does).
        hidden_layers: Number of W -> W layers after the first (``StafMLP``'s meaning).
        config: Per-model settings; ``None`` gives the defaults (the STAF authors' baseline settings).

    Returns:
        A module mapping ``(..., in_features) -> (..., out_features)``, initialized from torch's global RNG.

    Raises:
        ValueError: An unknown name or an invalid size or setting.
    """
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; allowed: {', '.join(MODEL_NAMES)}")
    for label, value in (("in_features", in_features), ("out_features", out_features)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{label} must be an integer >= 1, got {value!r}")
    if not isinstance(hidden_features, int) or hidden_features < 2:
        raise ValueError(f"hidden_features must be an integer >= 2, got {hidden_features!r}")
    if not isinstance(hidden_layers, int) or hidden_layers < 0:
        raise ValueError(f"hidden_layers must be an integer >= 0, got {hidden_layers!r}")
    config = config if config is not None else ModelsConfig()
    args = (in_features, out_features, hidden_features, hidden_layers)
    if name == "staf":
        return _build_staf(*args, config.staf)
    if name == "siren":
        _check_positive("siren.first_omega", config.siren.first_omega)
        _check_positive("siren.hidden_omega", config.siren.hidden_omega)
        return _build_siren(*args, config.siren)
    if name == "finer":
        _check_positive("finer.first_omega", config.finer.first_omega)
        _check_positive("finer.hidden_omega", config.finer.hidden_omega)
        _check_positive("finer.first_bias_scale", config.finer.first_bias_scale)
        return _build_finer(*args, config.finer)
    if name == "wire":
        _check_positive("wire.sigma", config.wire.sigma)
        return _build_wire(*args, config.wire)
    if name == "gauss":
        _check_positive("gauss.sigma", config.gauss.sigma)
        return _build_gauss(*args, config.gauss)
    if not isinstance(config.relu_pe.num_frequencies, int) or config.relu_pe.num_frequencies < 1:
        raise ValueError(f"relu_pe.num_frequencies must be an integer >= 1, got {config.relu_pe.num_frequencies!r}")
    _check_positive("relu_pe.sigma", config.relu_pe.sigma)
    return _build_relu_pe(*args, config.relu_pe)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable real values: shared parameters once, a complex parameter as two; buffers not counted."""
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters() if p.requires_grad)
