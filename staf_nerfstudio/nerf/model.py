"""The STAF NeRF model: nerfacto-style proposal sampling around a :class:`~staf_nerfstudio.nerf.field.StafField`.

Proposal fields (density-only fields with the same activation, hashed for ``staf-hash``) resample each ray twice;
the main field gives density and colour; the interlevel and distortion losses and the proposal-weight annealing
follow nerfacto. ``get_outputs`` returns ``rgb``, ``accumulation`` and ``depth`` and the RGB renderer is
``self.renderer_rgb``, which the nerfstudio viewer, ``ns-eval``, ``ns-render`` and ``ns-export`` rely on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Literal, Optional, Tuple, Type

import torch
from nerfstudio.cameras.camera_optimizers import CameraOptimizer, CameraOptimizerConfig
from nerfstudio.cameras.rays import RayBundle
from nerfstudio.engine.callbacks import TrainingCallback, TrainingCallbackAttributes, TrainingCallbackLocation
from nerfstudio.field_components.field_heads import FieldHeadNames
from nerfstudio.field_components.spatial_distortions import SceneContraction
from nerfstudio.model_components.losses import MSELoss, distortion_loss, interlevel_loss
from nerfstudio.model_components.ray_samplers import ProposalNetworkSampler, UniformSampler
from nerfstudio.model_components.renderers import AccumulationRenderer, DepthRenderer, RGBRenderer
from nerfstudio.model_components.scene_colliders import NearFarCollider
from nerfstudio.models.base_model import Model, ModelConfig
from nerfstudio.utils import colormaps
from nerfstudio.utils.rich_utils import CONSOLE
from torch import Tensor, nn
from torch.nn import Parameter

from staf_nerfstudio.nerf.field import (
    NERF_COLOR_OMEGA,
    NERF_OMEGA,
    NERF_PE_FREQUENCIES,
    NERF_PE_SIGMA,
    NERF_SINE_LR_SCALE,
    NERF_STAF_INIT,
    FieldActivation,
    PositionEncoding,
    StafField,
)
from staf_nerfstudio.nerf.lpips import build_lpips, lpips_unavailable_reason
from staf_nerfstudio.settings import FinerSettings, StafInit, StafSettings, StafSharing

STAF_ACTIVATION_GROUP = "staf_activations"
"""Param group (and optimizer entry) of every STAF amplitude, frequency and phase."""


@dataclass
class StafModelConfig(ModelConfig):
    """STAF NeRF model: a STAF field with nerfacto-style proposal sampling."""

    _target: Type = field(default_factory=lambda: StafModel)
    activation: FieldActivation = "staf"
    """Activation of every field MLP: "staf" (the method), "siren", "finer" (FINER's variable-periodic sine with its
    wide first-layer bias init) or "relu" (with random Fourier features)."""
    color_activation: Optional[FieldActivation] = None
    """Activation of the main field's colour head (directions and geometry features -> RGB); None: the same as
    activation ("relu": a plain ReLU head)."""
    proposal_activation: Optional[FieldActivation] = None
    """Activation of the proposal (density-only) fields; None: the same as activation."""
    encoding: PositionEncoding = "none"
    """Trunk input: "none" (contracted coordinates, the paper's setting), "hash" (multiresolution hash grid) or
    "fourier" (random Fourier features of the coordinates, as the ReLU field has built in: pe-frequencies, pe-sigma)."""
    hidden_dim: int = 256
    """Width of the field trunk."""
    num_layers: int = 3
    """Hidden W -> W layers of the trunk after its first layer."""
    geo_feat_dim: int = 15
    """Geometry features from the trunk to the colour head."""
    hidden_dim_color: int = 64
    """Width of the colour head."""
    num_layers_color: int = 1
    """Hidden layers of the colour head after its first layer."""
    tau: int = StafSettings.tau
    """STAF sine terms per activation."""
    first_omega: float = NERF_OMEGA
    """STAF: range of the trunk's first-layer frequencies (w ~ omega * U[0, 1)); SIREN: first-layer factor. 10 trains
    NeRF fields on contracted coordinates faster than the image setting's 30 (SIREN's own setting is 30)."""
    hidden_omega: float = NERF_OMEGA
    """Same for the trunk's other layers."""
    color_omega: float = NERF_COLOR_OMEGA
    """Same for every layer of the colour head (its inputs are features, not coordinates)."""
    staf_init: StafInit = NERF_STAF_INIT
    """STAF init: "official" (authors' code, N(0, 1/4) post-activations; the NeRF default, unlike the package's:
    on the README's scene "siren" trains a worse field), "unit" (the theorem's N(0, 1)) or "siren" (SIREN's linear
    init, each activation sin(omega z) plus small harmonics: a SIREN field at step 0)."""
    staf_sharing: StafSharing = StafSettings.sharing
    """STAF parameter sharing ("layer" is the paper's)."""
    staf_skip: bool = StafSettings.skip
    """STAF: add the pre-activation back in every non-first layer of the field's MLPs (the authors' image setting)."""
    pe_frequencies: int = NERF_PE_FREQUENCIES
    """ReLU field (or any field with encoding "fourier"): random Fourier features of the position."""
    pe_sigma: float = NERF_PE_SIGMA
    """Standard deviation of those frequencies (positions in [-1, 1])."""
    sine_lr_scale: Optional[float] = NERF_SINE_LR_SCALE
    """Learning-rate factor (times the fields' and proposal fields' optimizer lr) of the hidden layers of every field
    MLP that starts from SIREN's init (the siren and finer fields, STAF with staf-init siren); None: 1/omega of each
    layer, which gives the sine's argument the step a ReLU unit gets. SIREN's init makes the hidden weights so small
    that Adam at the method's lr erases them in a few steps. The first layer and the read-out keep the full lr; 1
    gives the earlier training. STAF's own activation parameters keep the staf-activations group's lr."""
    finer_first_bias_scale: float = FinerSettings.first_bias_scale
    """FINER field: the trunk's first-layer biases are drawn from U(-k, k) with this k (FINER's spectral-bias knob)."""
    hash_levels: int = 16
    """Hash encoding: levels."""
    hash_features_per_level: int = 2
    """Hash encoding: features per level."""
    hash_log2_size: int = 19
    """Hash encoding: log2 of the table size per level."""
    hash_base_res: int = 16
    """Hash encoding: coarsest resolution."""
    hash_max_res: int = 2048
    """Hash encoding: finest resolution."""
    proposal_hidden_dim: int = 64
    """Width of the proposal fields."""
    proposal_num_layers: int = 1
    """Hidden layers of the proposal fields after the first."""
    proposal_hash_levels: int = 5
    """Hash encoding of the proposal fields (with encoding="hash"): levels."""
    proposal_hash_log2_size: int = 17
    """Hash encoding of the proposal fields: log2 table size."""
    proposal_hash_max_res: Tuple[int, ...] = (128, 256)
    """Hash encoding of the proposal fields: finest resolution, one per proposal field."""
    near_plane: float = 0.05
    """How far along the ray to start sampling."""
    far_plane: float = 1000.0
    """How far along the ray to stop sampling."""
    background_color: Literal["random", "last_sample", "black", "white"] = "last_sample"
    """Background colour of the renderer."""
    num_proposal_samples_per_ray: Tuple[int, ...] = (256, 96)
    """Samples per ray for each proposal iteration."""
    num_nerf_samples_per_ray: int = 48
    """Samples per ray for the main field."""
    num_proposal_iterations: int = 2
    """Proposal iterations (one proposal field each)."""
    proposal_update_every: int = 5
    """After the warm-up, update the proposal fields every this many steps."""
    proposal_warmup: int = 5000
    """Steps over which the update interval grows from 1 to proposal_update_every."""
    proposal_initial_sampler: Literal["piecewise", "uniform"] = "piecewise"
    """First sampler: "piecewise" (unbounded scenes) or "uniform" (bounded scenes such as Blender ones)."""
    use_single_jitter: bool = True
    """Same jitter for all samples of a ray."""
    interlevel_loss_mult: float = 1.0
    """Proposal (interlevel) loss weight."""
    distortion_loss_mult: float = 0.002
    """Distortion loss weight."""
    use_proposal_weight_anneal: bool = True
    """Anneal the proposal weights before PDF sampling."""
    proposal_weights_anneal_slope: float = 10.0
    """Slope of the annealing function."""
    proposal_weights_anneal_max_num_iters: int = 1000
    """Steps of the annealing."""
    disable_scene_contraction: bool = False
    """Normalize positions by the scene box instead of nerfacto's scene contraction."""
    appearance_embed_dim: int = 0
    """Per-image appearance code size (0: none; real captures with changing exposure benefit from 32)."""
    average_init_density: float = 1.0
    """Scales the density; 1 suits MLP fields, nerfacto's 0.01 suits hash fields (staf-hash uses it)."""
    camera_optimizer: CameraOptimizerConfig = field(default_factory=lambda: CameraOptimizerConfig(mode="off"))
    """Camera pose refinement ("SO3xR3" for real captures)."""


class StafModel(Model):
    """NeRF whose field is a STAF network (or SIREN / FINER / ReLU+PE for comparison), with proposal sampling.

    Args:
        config: The model configuration.
    """

    config: StafModelConfig

    def populate_modules(self) -> None:
        """Builds the field, proposal fields, samplers, renderers, losses and metrics."""
        super().populate_modules()
        cfg = self.config
        contraction = None if cfg.disable_scene_contraction else SceneContraction(order=float("inf"))
        common = dict(
            activation=cfg.activation,
            encoding=cfg.encoding,
            tau=cfg.tau,
            first_omega=cfg.first_omega,
            hidden_omega=cfg.hidden_omega,
            color_omega=cfg.color_omega,
            init=cfg.staf_init,
            sharing=cfg.staf_sharing,
            skip=cfg.staf_skip,
            pe_frequencies=cfg.pe_frequencies,
            pe_sigma=cfg.pe_sigma,
            finer_first_bias_scale=cfg.finer_first_bias_scale,
            sine_lr_scale=cfg.sine_lr_scale,
            hash_features_per_level=cfg.hash_features_per_level,
            hash_base_res=cfg.hash_base_res,
            spatial_distortion=contraction,
            average_init_density=cfg.average_init_density,
        )
        self.field = StafField(
            self.scene_box.aabb,
            self.num_train_data,
            hidden_dim=cfg.hidden_dim,
            num_layers=cfg.num_layers,
            geo_feat_dim=cfg.geo_feat_dim,
            hidden_dim_color=cfg.hidden_dim_color,
            num_layers_color=cfg.num_layers_color,
            hash_levels=cfg.hash_levels,
            hash_log2_size=cfg.hash_log2_size,
            hash_max_res=cfg.hash_max_res,
            appearance_embedding_dim=cfg.appearance_embed_dim,
            color_activation=cfg.color_activation,
            **common,
        )
        self.proposal_networks = nn.ModuleList(
            StafField(
                self.scene_box.aabb,
                self.num_train_data,
                hidden_dim=cfg.proposal_hidden_dim,
                num_layers=cfg.proposal_num_layers,
                hash_levels=cfg.proposal_hash_levels,
                hash_log2_size=cfg.proposal_hash_log2_size,
                hash_max_res=cfg.proposal_hash_max_res[min(i, len(cfg.proposal_hash_max_res) - 1)],
                density_only=True,
                **{**common, "activation": cfg.proposal_activation or cfg.activation},
            )
            for i in range(cfg.num_proposal_iterations)
        )
        self.density_fns = [network.density_fn for network in self.proposal_networks]
        self.camera_optimizer: CameraOptimizer = cfg.camera_optimizer.setup(
            num_cameras=self.num_train_data, device="cpu"
        )

        def update_schedule(step: int) -> float:
            ramp = cfg.proposal_update_every * min(step / max(cfg.proposal_warmup, 1), 1.0)
            return min(max(ramp, 1.0), float(cfg.proposal_update_every))

        initial_sampler = UniformSampler(single_jitter=cfg.use_single_jitter)
        self.proposal_sampler = ProposalNetworkSampler(
            num_nerf_samples_per_ray=cfg.num_nerf_samples_per_ray,
            num_proposal_samples_per_ray=cfg.num_proposal_samples_per_ray,
            num_proposal_network_iterations=cfg.num_proposal_iterations,
            single_jitter=cfg.use_single_jitter,
            update_sched=update_schedule,
            initial_sampler=initial_sampler if cfg.proposal_initial_sampler == "uniform" else None,
        )
        self.collider = NearFarCollider(near_plane=cfg.near_plane, far_plane=cfg.far_plane)
        self.renderer_rgb = RGBRenderer(background_color=cfg.background_color)
        self.renderer_accumulation = AccumulationRenderer()
        self.renderer_depth = DepthRenderer(method="median")
        self.renderer_expected_depth = DepthRenderer(method="expected")
        self.rgb_loss = MSELoss()

        from torchmetrics.functional import structural_similarity_index_measure
        from torchmetrics.image import PeakSignalNoiseRatio

        self.psnr = PeakSignalNoiseRatio(data_range=1.0)
        self.ssim = structural_similarity_index_measure
        # Kept out of the module tree: LPIPS weights must not enter checkpoints, and its presence may differ between
        # the machine that trains and the one that evaluates.
        self._lpips: List[Optional[nn.Module]] = [build_lpips()]
        self._lpips_warned = False

    @property
    def lpips_available(self) -> bool:
        """Whether LPIPS is computed (its AlexNet weights were found on disk; nothing is downloaded)."""
        return self._lpips[0] is not None

    def get_param_groups(self) -> Dict[str, List[Parameter]]:
        """``fields``, ``proposal_networks``, ``staf_activations`` (when the field is STAF) and camera groups."""
        modules = [self.field, *self.proposal_networks]
        activations = [p for m in modules for p in m.activation_parameters()]
        groups: Dict[str, List[Parameter]] = {
            "fields": self.field.other_parameters(),
            "proposal_networks": [p for m in self.proposal_networks for p in m.other_parameters()],
        }
        if activations:
            groups[STAF_ACTIVATION_GROUP] = activations
        self.camera_optimizer.get_param_groups(param_groups=groups)
        return groups

    def get_training_callbacks(
        self, training_callback_attributes: TrainingCallbackAttributes
    ) -> List[TrainingCallback]:
        """Proposal-weight annealing and the proposal update schedule, as in nerfacto."""
        if not self.config.use_proposal_weight_anneal:
            return []
        slope = self.config.proposal_weights_anneal_slope
        num_iters = max(self.config.proposal_weights_anneal_max_num_iters, 1)

        def set_anneal(step: int) -> None:
            fraction = min(max(step / num_iters, 0.0), 1.0)
            self.proposal_sampler.set_anneal(slope * fraction / ((slope - 1.0) * fraction + 1.0))

        return [
            TrainingCallback([TrainingCallbackLocation.BEFORE_TRAIN_ITERATION], set_anneal, update_every_num_iters=1),
            TrainingCallback(
                [TrainingCallbackLocation.AFTER_TRAIN_ITERATION],
                self.proposal_sampler.step_cb,
                update_every_num_iters=1,
            ),
        ]

    def get_outputs(self, ray_bundle: RayBundle) -> Dict[str, Tensor | List]:
        if self.training:
            self.camera_optimizer.apply_to_raybundle(ray_bundle)
        ray_samples, weights_list, ray_samples_list = self.proposal_sampler(ray_bundle, density_fns=self.density_fns)
        field_outputs = self.field.forward(ray_samples)
        weights = ray_samples.get_weights(field_outputs[FieldHeadNames.DENSITY])
        weights_list.append(weights)
        ray_samples_list.append(ray_samples)

        outputs: Dict[str, Tensor | List] = {
            "rgb": self.renderer_rgb(rgb=field_outputs[FieldHeadNames.RGB], weights=weights),
            "accumulation": self.renderer_accumulation(weights=weights),
            "expected_depth": self.renderer_expected_depth(weights=weights, ray_samples=ray_samples),
        }
        with torch.no_grad():
            outputs["depth"] = self.renderer_depth(weights=weights, ray_samples=ray_samples)
        if self.training:
            outputs["weights_list"] = weights_list
            outputs["ray_samples_list"] = ray_samples_list
        for i in range(self.config.num_proposal_iterations):
            outputs[f"prop_depth_{i}"] = self.renderer_depth(weights=weights_list[i], ray_samples=ray_samples_list[i])
        return outputs

    def get_metrics_dict(self, outputs, batch) -> Dict[str, Tensor]:
        gt_rgb = self.renderer_rgb.blend_background(batch["image"].to(self.device))
        metrics = {"psnr": self.psnr(outputs["rgb"], gt_rgb)}
        if self.training:
            metrics["distortion"] = distortion_loss(outputs["weights_list"], outputs["ray_samples_list"])
        self.camera_optimizer.get_metrics_dict(metrics)
        return metrics

    def get_loss_dict(self, outputs, batch, metrics_dict=None) -> Dict[str, Tensor]:
        pred_rgb, gt_rgb = self.renderer_rgb.blend_background_for_loss_computation(
            pred_image=outputs["rgb"],
            pred_accumulation=outputs["accumulation"],
            gt_image=batch["image"].to(self.device),
        )
        losses = {"rgb_loss": self.rgb_loss(gt_rgb, pred_rgb)}
        if self.training:
            losses["interlevel_loss"] = self.config.interlevel_loss_mult * interlevel_loss(
                outputs["weights_list"], outputs["ray_samples_list"]
            )
            assert metrics_dict is not None and "distortion" in metrics_dict
            losses["distortion_loss"] = self.config.distortion_loss_mult * metrics_dict["distortion"]
            self.camera_optimizer.get_loss_dict(losses)
        return losses

    def get_image_metrics_and_images(
        self, outputs: Dict[str, Tensor], batch: Dict[str, Tensor]
    ) -> Tuple[Dict[str, float], Dict[str, Tensor]]:
        """PSNR, SSIM and (when its weights are on disk) LPIPS of one image, plus images for logging."""
        gt_rgb = self.renderer_rgb.blend_background(batch["image"].to(self.device))
        predicted_rgb = outputs["rgb"]
        gt = torch.moveaxis(gt_rgb, -1, 0)[None]
        pred = torch.moveaxis(predicted_rgb, -1, 0)[None].clamp(0.0, 1.0)
        metrics = {"psnr": float(self.psnr(gt, pred).item()), "ssim": float(self.ssim(gt, pred))}
        lpips = self._lpips[0]
        if lpips is not None:
            metrics["lpips"] = float(lpips.to(self.device)(gt, pred))
        elif not self._lpips_warned:
            CONSOLE.print(f"[yellow]{lpips_unavailable_reason()}[/yellow]")
            self._lpips_warned = True
        images = {
            "img": torch.cat([gt_rgb, predicted_rgb], dim=1),
            "accumulation": colormaps.apply_colormap(outputs["accumulation"]),
            "depth": colormaps.apply_depth_colormap(outputs["depth"], accumulation=outputs["accumulation"]),
        }
        return metrics, images
