"""Network settings: one dataclass per network, gathered in :class:`ModelsConfig` (a task config holds one).

This is the one place the networks' defaults are written down: :class:`~staf_nerfstudio.StafActivation`,
:class:`~staf_nerfstudio.StafMLP`, :func:`staf_nerfstudio.networks.build_model`, the NeRF field and the theory commands
take theirs from here. It imports nothing of the package, so every module can use it.

STAF's default is the SIREN-exact start (init "siren": SIREN's linear init, each activation sin(omega z) plus small
harmonics), tau 5, omega 30/30, no skip; the authors' own settings are one flag away (init "official", and the
tasks' ``--config <task>_paper``). The baselines keep the settings the STAF authors used: SIREN and FINER omega
30/30, FINER first-layer bias scale 5, WIRE omega 30 and sigma 10, Gauss sigma 10, ReLU + 256 Gaussian Fourier
features of scale 10 (for coordinates in [-1, 1]); no weight scaling (``weight_scale`` 1). The baselines at their own
papers' settings are the tasks' presets (``--config image_finer`` ...). A task or the NeRF method overrides them where
its signal needs other values (e.g. the NeRF method's omega 10 and Fourier-feature sigma 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union, get_args

StafSharing = Literal["layer", "neuron", "network"]
"""Who shares one set of STAF activation parameters: every neuron of a layer, each neuron alone, or every layer."""
StafInit = Literal["official", "unit", "siren"]
"""STAF init: "official" (authors' code, post-activations N(0, 1/4)), "unit" (the theorem's N(0, 1)) or "siren"
(exactly a SIREN at step 0 plus small harmonic terms)."""

ModelName = Literal["staf", "siren", "wire", "finer", "gauss", "relu-pe"]
"""A network of the registry: what ``--model`` takes and :func:`staf_nerfstudio.networks.build_model` builds."""
MODEL_NAMES = get_args(ModelName)
"""The same names as a tuple (for messages and loops)."""


@dataclass
class StafSettings:
    """STAF network settings (see :class:`staf_nerfstudio.StafMLP`)."""

    tau: int = 5
    """Sine terms per activation."""
    first_omega: float = 30.0
    """First activation: with init "siren", SIREN's omega_0 (its first term is sin(omega z), the harmonics k*omega);
    with "official"/"unit", the range its frequencies are drawn from (omega * U[0, 1)), which does not multiply z."""
    hidden_omega: float = 30.0
    """The same for the other activations (init "siren" also scales their linear init as SIREN does). With
    "official"/"unit" and torch's default Linear init the sine arguments w*z of a hidden layer have an RMS of about
    omega/6 (about 5 at 30, where SIREN's are about 1.4): 10 matches SIREN (see docs/results-tasks.md)."""
    skip: bool = False
    """Add the pre-activation back in every non-first layer (the authors' image-fitting setting)."""
    sharing: StafSharing = "layer"
    """Activation parameter sharing: "layer" (the paper's choice), "neuron" or "network"."""
    init: StafInit = "siren"
    """Init: "siren" (the default: SIREN's linear init; each activation starts as sin(omega z) plus tau-1 harmonics
    k*omega, k = 2..tau, of small random amplitude and random phase: a SIREN at step 0 that learns its activations),
    "official" (the authors' code: torch's Linear init, random activation draws, post-activations N(0, 1/4)) or
    "unit" (the same with the theorem's N(0, 1))."""
    extra_amplitude: float = 0.1
    """init "siren": the harmonic terms' amplitudes are drawn from U(-k, k) with this k (0 gives an exact SIREN)."""
    first_extra_amplitude: float = 0.3
    """init "siren": the same k for the first activation (its harmonics add input frequencies)."""
    weight_scale: float = 1.0
    """Weight scaling: every layer's initial weights but the read-out's are multiplied by this factor, biases kept
    (Yeom, Lee, Lee, "Fast Training of Sinusoidal Neural Fields via Scaling Initialization", ICLR 2025, arXiv
    2410.04779: "multiplying each weight (except for the last layer) by a constant"). 1 = no scaling."""
    implementation: str = "auto"
    """Activation implementation: "auto" or a name from staf_nerfstudio.functional.available_implementations()."""


@dataclass
class SirenSettings:
    """SIREN settings: ``sin(omega * (W x + b))`` with SIREN's initialization."""

    first_omega: float = 30.0
    """Frequency factor of the first layer."""
    hidden_omega: float = 30.0
    """Frequency factor of the other layers (also scales the read-out's init)."""
    weight_scale: float = 1.0
    """Weight scaling: every layer's initial weights but the read-out's are multiplied by this factor, biases kept
    (Yeom, Lee, Lee, "Fast Training of Sinusoidal Neural Fields via Scaling Initialization", ICLR 2025, arXiv
    2410.04779: "multiplying each weight (except for the last layer) by a constant"). 1 = no scaling."""


@dataclass
class FinerSettings:
    """FINER settings: ``sin(omega * (|z| + 1) * z)`` with SIREN's weight init and a wide first-layer bias."""

    first_omega: float = 30.0
    """Frequency factor of the first layer."""
    hidden_omega: float = 30.0
    """Frequency factor of the other layers (also scales the read-out's init)."""
    first_bias_scale: float = 5.0
    """First-layer biases are drawn from U(-k, k) with this k (FINER's spectral-bias knob; 5 is the STAF authors'
    setting, 20 with lr 1e-4 FINER's protocol in SL2A-INR: the image_finer preset)."""
    scale_requires_grad: bool = False
    """Backpropagate through the (|z| + 1) factor; the FINER reference code detaches it (False)."""
    weight_scale: float = 1.0
    """Weight scaling: every layer's initial weights but the read-out's are multiplied by this factor, biases kept
    (Yeom, Lee, Lee, "Fast Training of Sinusoidal Neural Fields via Scaling Initialization", ICLR 2025, arXiv
    2410.04779: "multiplying each weight (except for the last layer) by a constant"). 1 = no scaling."""


@dataclass
class WireSettings:
    """WIRE settings: complex Gabor wavelet ``exp(j omega z - |sigma z|^2)`` in every layer."""

    omega: float = 30.0
    """Frequency of the Gabor wavelet (the STAF authors' setting; WIRE's reference code uses 20 with sigma 30 for
    image representation: the image_wire preset)."""
    sigma: float = 10.0
    """Scale of the Gabor wavelet's Gaussian window."""


@dataclass
class GaussSettings:
    """Gaussian-activation settings: ``exp(-(sigma z)^2)``."""

    sigma: float = 10.0
    """Inverse width of the Gaussian bump."""


@dataclass
class ReluPeSettings:
    """ReLU + positional encoding settings: fixed Gaussian random Fourier features, then a ReLU network."""

    num_frequencies: int = 256
    """Number of random frequencies; the encoding has 2 x this many features (cos and sin)."""
    sigma: float = 10.0
    """Standard deviation of the random frequencies (the encoding is cos/sin(2 pi B x), B ~ N(0, sigma^2))."""


NetworkSettings = Union[
    StafSettings, SirenSettings, WireSettings, FinerSettings, GaussSettings, ReluPeSettings
]


@dataclass
class ModelsConfig:
    """Per-model settings; a task config holds one of these and ``build_model`` picks the named model's part."""

    staf: StafSettings = field(default_factory=StafSettings)
    """STAF settings."""
    siren: SirenSettings = field(default_factory=SirenSettings)
    """SIREN settings."""
    wire: WireSettings = field(default_factory=WireSettings)
    """WIRE settings."""
    finer: FinerSettings = field(default_factory=FinerSettings)
    """FINER settings."""
    gauss: GaussSettings = field(default_factory=GaussSettings)
    """Gauss settings."""
    relu_pe: ReluPeSettings = field(default_factory=ReluPeSettings)
    """ReLU + positional encoding settings (model name "relu-pe")."""

    def settings(self, name: str) -> NetworkSettings:
        """The named model's settings, e.g. ``settings("relu-pe")`` is ``self.relu_pe``."""
        check_model_name(name)
        return getattr(self, name.replace("-", "_"))


def check_model_name(name: str) -> None:
    """Raises ``ValueError`` naming the allowed models unless ``name`` is one of :data:`MODEL_NAMES`."""
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; allowed: {', '.join(MODEL_NAMES)}")
