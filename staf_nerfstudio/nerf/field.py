"""The STAF radiance field: positions -> STAF trunk -> density + geometry features; directions + features -> colour.

One class serves the main field and the proposal (density-only) fields. The activation is a single choice shared by
every MLP of the field, so the paper's NeRF comparison runs in one pipeline with one flag:

- ``"staf"``: :class:`staf_nerfstudio.StafMLP` networks on raw (contracted) coordinates, no positional encoding.
- ``"siren"``: SIREN networks (sine with SIREN's init) on the same coordinates.
- ``"finer"``: FINER networks (variable-periodic sine ``sin(omega (|z| + 1) z)``, SIREN's weight init, FINER's wide
  first-layer bias init ``U(-k, k)``) on the same coordinates.
- ``"relu"``: ReLU networks behind Gaussian random Fourier features (positional encoding) on the trunk input.

The networks come from :func:`staf_nerfstudio.networks.build_model`, the registry the standalone tasks use too.
With ``encoding="hash"`` a multiresolution hash grid (:class:`~staf_nerfstudio.nerf.hash_grid.HashGridEncoding`)
feeds the trunk instead of raw coordinates; with ``encoding="fourier"`` the ReLU field's random Fourier features do,
whatever the activation (a STAF field on the same input as the ReLU+PE field).
"""

from __future__ import annotations

from typing import Dict, Iterator, List, Literal, Optional, Tuple, get_args

import torch
from jaxtyping import Float
from nerfstudio.cameras.rays import RaySamples
from nerfstudio.data.scene_box import SceneBox
from nerfstudio.field_components.activations import trunc_exp
from nerfstudio.field_components.embedding import Embedding
from nerfstudio.field_components.encodings import SHEncoding
from nerfstudio.field_components.field_heads import FieldHeadNames
from nerfstudio.field_components.spatial_distortions import SpatialDistortion
from nerfstudio.fields.base_field import Field, get_normalized_directions
from torch import Tensor, nn

from staf_nerfstudio.mlp import StafMLP
from staf_nerfstudio.nerf.hash_grid import HashGridEncoding
from staf_nerfstudio.nerf.schedulers import LR_SCALE_ATTR
from staf_nerfstudio.networks import FourierFeatures, build_model
from staf_nerfstudio.settings import FinerSettings, ModelsConfig, ReluPeSettings, SirenSettings, StafSettings

FieldActivation = Literal["staf", "siren", "finer", "relu"]
"""Activation of every MLP in the field."""
PositionEncoding = Literal["none", "hash", "fourier"]
"""What feeds the trunk: raw contracted coordinates in [-1, 1], a hash grid on [0, 1], or random Fourier features of
the coordinates in [-1, 1] (the ReLU field has those built in with "none")."""

# The NeRF method's network settings where they differ from the registry's (staf_nerfstudio.settings), written once:
# the field's defaults and StafModelConfig's (the ns-train flags) both come from here.
NERF_OMEGA = 30.0
"""STAF (init "siren") and SIREN: omega of the trunk's first and hidden layers (SIREN's own 30); STAF with init
"official" or "unit": the range of its frequencies (10 was the default of runs trained before the SIREN start)."""
NERF_COLOR_OMEGA = 5.0
"""Same for every layer of the colour head (its inputs are features, not coordinates)."""
NERF_STAF_INIT = "siren"
"""STAF init of the NeRF fields: "siren", SIREN's init with each activation sin(omega z) plus small learned harmonics
(a SIREN field at step 0), trained with the hidden layers at lr/omega (:data:`NERF_SINE_LR_SCALE`). With that
learning rate, on bounded scenes, it is the strongest field measured here; the authors' init ("official", with
omega 10, the default before) is ``ns-train staf-paper`` (the NeRF docs page has the tables)."""
NERF_SINE_LR_SCALE: Optional[float] = None
"""Learning-rate factor of the hidden layers of every field MLP that starts from SIREN's init (the "siren" and
"finer" fields, STAF with init "siren"); None: 1/omega of the layer. Such a layer computes sin(omega (W h + b)) with
W drawn at 1/omega of the usual scale (RMS sqrt(2/W)/omega: 0.006 at width 64, omega 30), so an Adam step of the
method's 5e-3 moves each weight by 0.85 of its size (0.07 for the ReLU field's weights) and the sine's argument omega
times as far as the same step moves a ReLU unit's: the field forgets its init within a few steps. 1/omega gives the
sine argument the ReLU field's step. The first layer (init U(-1/in, 1/in), inputs of order 1) and the linear read-out
(which sets the density's offset: empty space needs it far below 0) keep the full rate. 1 restores the old training
(see the NeRF docs page for the measurements)."""
NERF_PE_FREQUENCIES = 128
"""ReLU trunk: random Fourier features of the position."""
NERF_PE_SIGMA = 1.0
"""ReLU trunk: their standard deviation, for positions in [-1, 1] (the registry's 10 is for image pixels)."""


def build_field_mlp(
    activation: FieldActivation,
    in_features: int,
    hidden_features: int,
    hidden_layers: int,
    out_features: int,
    first_omega: float,
    hidden_omega: float,
    tau: int = StafSettings.tau,
    init: str = NERF_STAF_INIT,
    sharing: str = StafSettings.sharing,
    skip: bool = StafSettings.skip,
    pe_frequencies: int = 0,
    pe_sigma: float = ReluPeSettings.sigma,
    finer_first_bias_scale: float = FinerSettings.first_bias_scale,
) -> nn.Module:
    """One MLP of the field from the network registry (``hidden_layers`` as in :class:`~staf_nerfstudio.StafMLP`).

    Args:
        activation: ``"staf"``, ``"siren"``, ``"finer"`` or ``"relu"``.
        in_features: Inputs per point.
        hidden_features: Width.
        hidden_layers: Hidden ``W -> W`` layers after the first.
        out_features: Outputs per point.
        first_omega: STAF: frequency range of the first activation; SIREN / FINER: first-layer frequency factor.
        hidden_omega: Same for the other layers.
        tau: STAF sine terms.
        init: STAF init (``"official"``, ``"unit"`` or ``"siren"``, see :class:`~staf_nerfstudio.StafMLP`).
        sharing: STAF parameter sharing.
        skip: STAF: add the pre-activation back in every non-first layer (the authors' image setting).
        pe_frequencies: ReLU only: random Fourier features in front (0 = a plain ReLU network).
        pe_sigma: ReLU only: standard deviation of those frequencies.
        finer_first_bias_scale: FINER only: first-layer biases from ``U(-k, k)`` with this k (FINER's own init).
    """
    name = {"staf": "staf", "siren": "siren", "finer": "finer", "relu": "relu-pe"}.get(activation)
    if name is None:
        raise ValueError(f"unknown field activation {activation!r}; allowed: {', '.join(get_args(FieldActivation))}")
    config = ModelsConfig(
        staf=StafSettings(
            tau=tau, first_omega=first_omega, hidden_omega=hidden_omega, sharing=sharing, init=init, skip=skip
        ),
        siren=SirenSettings(first_omega=first_omega, hidden_omega=hidden_omega),
        finer=FinerSettings(
            first_omega=first_omega, hidden_omega=hidden_omega, first_bias_scale=finer_first_bias_scale
        ),
        relu_pe=ReluPeSettings(num_frequencies=pe_frequencies, sigma=pe_sigma),
    )
    return build_model(name, in_features, out_features, hidden_features, hidden_layers, config)


def starts_from_siren_init(activation: FieldActivation, init: str) -> bool:
    """Whether a field MLP of this activation (and STAF init) uses SIREN's omega-scaled weight init."""
    return activation in ("siren", "finer") or (activation == "staf" and init == "siren")


def staf_activation_parameters(module: nn.Module) -> Iterator[nn.Parameter]:
    """Amplitudes, frequencies and phases of every :class:`~staf_nerfstudio.StafMLP` inside ``module``."""
    for sub in module.modules():
        if isinstance(sub, StafMLP):
            yield from sub.activation_parameters()


class StafField(Field):
    """Radiance (or density-only) field whose MLPs are STAF networks, or SIREN / FINER / ReLU+PE ones for comparison.

    Args:
        aabb: Scene box ``(2, 3)``; used to normalize positions when ``spatial_distortion`` is None.
        num_images: Training images (for the appearance embedding).
        activation: Activation of every MLP (see :data:`FieldActivation`).
        encoding: ``"none"`` (coordinates in ``[-1, 1]``), ``"hash"`` (hash grid features) or ``"fourier"`` (random
            Fourier features of the coordinates, ``pe_frequencies`` of them at ``pe_sigma``, for any activation).
        hidden_dim: Trunk width.
        num_layers: Trunk hidden layers (``W -> W``) after the first.
        geo_feat_dim: Geometry features passed to the colour head.
        hidden_dim_color: Colour head width.
        num_layers_color: Colour head hidden layers after the first.
        tau: STAF sine terms.
        first_omega: Trunk first-layer frequency range (STAF) / factor (SIREN).
        hidden_omega: Trunk other layers.
        color_omega: Colour head frequency range / factor (all its layers).
        init: STAF amplitude init.
        sharing: STAF parameter sharing.
        skip: STAF: add the pre-activation back in every non-first layer of each MLP.
        pe_frequencies: ReLU trunk (or any trunk with ``encoding="fourier"``): random Fourier features.
        pe_sigma: Their standard deviation (input in [-1, 1]).
        sine_lr_scale: Learning-rate factor of the hidden layers of the field's MLPs that start from SIREN's init;
            None: 1/omega of each layer (see :data:`NERF_SINE_LR_SCALE`; honoured by
            :class:`~staf_nerfstudio.nerf.schedulers.StafAdamOptimizerConfig`; STAF's activation parameters keep their
            own group's rate).
        finer_first_bias_scale: FINER trunk: first-layer biases from ``U(-k, k)`` with this k. The colour head's first
            layer sees features, not coordinates, and keeps PyTorch's default bias range ``1/sqrt(inputs)``.
        hash_levels: Hash grid levels.
        hash_features_per_level: Features per level.
        hash_log2_size: log2 of the entries per level.
        hash_base_res: Coarsest resolution.
        hash_max_res: Finest resolution.
        spatial_distortion: Scene contraction (nerfacto's ``SceneContraction``) or None.
        appearance_embedding_dim: Per-image appearance code size (0 disables it).
        use_average_appearance_embedding: At inference use the mean code (else zeros).
        average_init_density: Scales the density (nerfacto's trick for a clear start).
        density_only: A proposal field: no colour head.
        color_activation: Activation of the colour head; None: ``activation`` (``"relu"`` gives a plain ReLU head).
    """

    aabb: Tensor

    def __init__(
        self,
        aabb: Tensor,
        num_images: int,
        activation: FieldActivation = "staf",
        encoding: PositionEncoding = "none",
        hidden_dim: int = 256,
        num_layers: int = 3,
        geo_feat_dim: int = 15,
        hidden_dim_color: int = 64,
        num_layers_color: int = 1,
        tau: int = StafSettings.tau,
        first_omega: float = NERF_OMEGA,
        hidden_omega: float = NERF_OMEGA,
        color_omega: float = NERF_COLOR_OMEGA,
        init: str = NERF_STAF_INIT,
        sharing: str = StafSettings.sharing,
        skip: bool = StafSettings.skip,
        pe_frequencies: int = NERF_PE_FREQUENCIES,
        pe_sigma: float = NERF_PE_SIGMA,
        finer_first_bias_scale: float = FinerSettings.first_bias_scale,
        sine_lr_scale: Optional[float] = 1.0,
        hash_levels: int = 16,
        hash_features_per_level: int = 2,
        hash_log2_size: int = 19,
        hash_base_res: int = 16,
        hash_max_res: int = 2048,
        spatial_distortion: Optional[SpatialDistortion] = None,
        appearance_embedding_dim: int = 0,
        use_average_appearance_embedding: bool = True,
        average_init_density: float = 1.0,
        density_only: bool = False,
        color_activation: Optional[FieldActivation] = None,
    ) -> None:
        super().__init__()
        if encoding not in get_args(PositionEncoding):
            raise ValueError(f"unknown field encoding {encoding!r}; allowed: {', '.join(get_args(PositionEncoding))}")
        self.register_buffer("aabb", aabb)
        self.spatial_distortion = spatial_distortion
        self.encoding_kind = encoding
        self.geo_feat_dim = 0 if density_only else geo_feat_dim
        self.density_only = density_only
        self.average_init_density = average_init_density
        self.use_average_appearance_embedding = use_average_appearance_embedding
        staf_kwargs = dict(tau=tau, init=init, sharing=sharing, skip=skip)
        pe = {}
        if encoding == "hash":
            self.position_encoding: Optional[nn.Module] = HashGridEncoding(
                hash_levels, hash_features_per_level, hash_log2_size, hash_base_res, hash_max_res
            )
            trunk_in = self.position_encoding.get_out_dim()
        elif encoding == "fourier":
            self.position_encoding = FourierFeatures(3, pe_frequencies, pe_sigma)
            trunk_in = self.position_encoding.out_features
        else:
            self.position_encoding = None
            trunk_in = 3
            pe = dict(pe_frequencies=pe_frequencies, pe_sigma=pe_sigma) if activation == "relu" else {}
        self.mlp_base = build_field_mlp(
            activation, trunk_in, hidden_dim, num_layers, 1 + self.geo_feat_dim, first_omega, hidden_omega,
            **staf_kwargs, **pe, finer_first_bias_scale=finer_first_bias_scale,
        )  # fmt: skip
        self.appearance_embedding_dim = 0 if density_only else appearance_embedding_dim
        self.embedding_appearance = (
            Embedding(num_images, self.appearance_embedding_dim) if self.appearance_embedding_dim > 0 else None
        )
        if not density_only:
            self.direction_encoding = SHEncoding(levels=4, implementation="torch")
            color_in = self.direction_encoding.get_out_dim() + self.geo_feat_dim + self.appearance_embedding_dim
            self.mlp_head = build_field_mlp(
                color_activation or activation, color_in, hidden_dim_color, num_layers_color, 3, color_omega,
                color_omega, **staf_kwargs, finer_first_bias_scale=1.0 / color_in**0.5,
            )  # fmt: skip

        if sine_lr_scale != 1.0:
            activations = {id(p) for p in staf_activation_parameters(self)}
            mlps = [(self.mlp_base, activation, hidden_omega)]
            if not density_only:
                mlps.append((self.mlp_head, color_activation or activation, color_omega))
            for mlp, mlp_activation, omega in mlps:
                if not starts_from_siren_init(mlp_activation, init):
                    continue
                scale = 1.0 / omega if sine_lr_scale is None else float(sine_lr_scale)
                for layer in list(mlp.layers)[1:]:  # hidden layers: not the first, not the read-out (mlp.head)
                    for p in layer.parameters():
                        if id(p) not in activations:
                            setattr(p, LR_SCALE_ATTR, scale)

    def activation_parameters(self) -> List[nn.Parameter]:
        """STAF amplitudes, frequencies and phases (empty for the SIREN, FINER and ReLU fields)."""
        return list(staf_activation_parameters(self))

    def other_parameters(self) -> List[nn.Parameter]:
        """Every parameter that is not a STAF activation parameter."""
        skip = {id(p) for p in self.activation_parameters()}
        return [p for p in self.parameters() if id(p) not in skip]

    def _trunk_input(self, ray_samples: RaySamples) -> Tuple[Tensor, Tensor]:
        """Trunk input per sample and the mask of samples inside the (contracted) scene."""
        positions = ray_samples.frustums.get_positions()
        if self.spatial_distortion is not None:
            unit = (self.spatial_distortion(positions) + 2.0) / 4.0  # contracted [-2, 2] -> [0, 1]
        else:
            unit = SceneBox.get_normalized_positions(positions, self.aabb)
        inside = ((unit > 0.0) & (unit < 1.0)).all(dim=-1)
        unit = unit * inside[..., None]
        x = unit if self.encoding_kind == "hash" else unit * 2.0 - 1.0
        if self.position_encoding is not None:
            return self.position_encoding(x.view(-1, 3)), inside
        return x.view(-1, 3), inside

    def get_density(self, ray_samples: RaySamples) -> Tuple[Float[Tensor, "*batch 1"], Optional[Tensor]]:
        """Density per sample (and geometry features unless density-only)."""
        x, inside = self._trunk_input(ray_samples)
        h = self.mlp_base(x).view(*ray_samples.frustums.shape, -1)
        raw_density, features = torch.split(h, [1, self.geo_feat_dim], dim=-1)
        density = self.average_init_density * trunc_exp(raw_density) * inside[..., None]
        return density, (None if self.density_only else features)

    def get_outputs(
        self, ray_samples: RaySamples, density_embedding: Optional[Tensor] = None
    ) -> Dict[FieldHeadNames, Tensor]:
        if self.density_only:
            return {}
        assert density_embedding is not None
        directions = get_normalized_directions(ray_samples.frustums.directions)
        shape = directions.shape[:-1]
        inputs = [self.direction_encoding(directions.view(-1, 3)), density_embedding.view(-1, self.geo_feat_dim)]
        if self.embedding_appearance is not None:
            if self.training:
                if ray_samples.camera_indices is None:
                    raise AttributeError("Camera indices are not provided.")
                code = self.embedding_appearance(ray_samples.camera_indices.squeeze(-1))
            elif self.use_average_appearance_embedding:
                code = self.embedding_appearance.mean(dim=0).expand(*shape, -1)
            else:
                code = directions.new_zeros(*shape, self.appearance_embedding_dim)
            inputs.append(code.reshape(-1, self.appearance_embedding_dim))
        rgb = torch.sigmoid(self.mlp_head(torch.cat(inputs, dim=-1))).view(*shape, 3)
        return {FieldHeadNames.RGB: rgb}
