"""nerfstudio entry points: ``ns-train staf`` and ``ns-train staf-hash``.

nerfstudio imports this module for every ``ns-*`` command, so it stays light: configs only, no tiny-cuda-nn, no CUDA
work, no data. The defaults are for a GPU; on a CPU add ``--machine.device-type cpu --vis tensorboard`` and smaller
batches (see the README). Both methods use numpy-free learning-rate schedules, so their checkpoints load under
``torch.load``'s default ``weights_only=True``.
"""

from __future__ import annotations

from typing import Dict

from nerfstudio.configs.base_config import ViewerConfig
from nerfstudio.data.datamanagers.base_datamanager import VanillaDataManagerConfig
from nerfstudio.data.dataparsers.nerfstudio_dataparser import NerfstudioDataParserConfig
from nerfstudio.engine.trainer import TrainerConfig
from nerfstudio.pipelines.base_pipeline import VanillaPipelineConfig
from nerfstudio.plugins.types import MethodSpecification

from staf_nerfstudio.nerf.model import STAF_ACTIVATION_GROUP, StafModelConfig
from staf_nerfstudio.nerf.schedulers import StafAdamOptimizerConfig, StafExponentialDecaySchedulerConfig


def _optimizers(field_lr: float, activation_lr: float, max_steps: int) -> Dict[str, Dict]:
    def entry(lr: float, lr_final: float, steps: int = max_steps) -> Dict:
        return {
            "optimizer": StafAdamOptimizerConfig(lr=lr, eps=1e-15),
            "scheduler": StafExponentialDecaySchedulerConfig(lr_final=lr_final, max_steps=steps),
        }

    return {
        "fields": entry(field_lr, field_lr / 100.0),
        "proposal_networks": entry(field_lr, field_lr / 100.0),
        STAF_ACTIVATION_GROUP: entry(activation_lr, activation_lr / 100.0),
        "camera_opt": entry(1e-3, 1e-4, 5000),
    }


def staf_trainer_config(
    method_name: str, model: StafModelConfig, field_lr: float, activation_lr: float, max_steps: int = 30000
) -> TrainerConfig:
    """The trainer config shared by the STAF methods."""
    return TrainerConfig(
        method_name=method_name,
        steps_per_eval_batch=500,
        steps_per_save=2000,
        max_num_iterations=max_steps,
        mixed_precision=False,  # sines of large frequencies need float32
        pipeline=VanillaPipelineConfig(
            datamanager=VanillaDataManagerConfig(
                dataparser=NerfstudioDataParserConfig(),
                train_num_rays_per_batch=4096,
                eval_num_rays_per_batch=4096,
            ),
            model=model,
        ),
        optimizers=_optimizers(field_lr, activation_lr, max_steps),
        viewer=ViewerConfig(num_rays_per_chunk=1 << 14),
        vis="viewer",
    )


PAPER_FIELD = {"staf_init": "official", "first_omega": 10.0, "hidden_omega": 10.0}
"""The authors' STAF field as this package first shipped it (``ns-train staf``'s default before the SIREN start): their
init, frequencies drawn up to 10, every layer at the method's lr. ``ns-train staf-paper`` trains it; ``staf-hash``
keeps it on its hash features (measured there, not changed with the raw-coordinate field)."""

staf_method = MethodSpecification(
    config=staf_trainer_config(
        "staf",
        StafModelConfig(eval_num_rays_per_chunk=1 << 14),
        field_lr=5e-3,
        activation_lr=5e-3,
    ),
    description="STAF NeRF: a STAF field on raw coordinates (no encoding) that starts as a SIREN with small harmonics.",
)

staf_paper_method = MethodSpecification(
    config=staf_trainer_config(
        "staf-paper",
        StafModelConfig(eval_num_rays_per_chunk=1 << 14, **PAPER_FIELD),
        field_lr=5e-3,
        activation_lr=5e-3,
    ),
    description="STAF NeRF with the authors' field: their init, frequencies up to 10 (staf's first default).",
)

staf_hash_method = MethodSpecification(
    config=staf_trainer_config(
        "staf-hash",
        StafModelConfig(
            eval_num_rays_per_chunk=1 << 15,
            encoding="hash",
            hidden_dim=64,
            num_layers=1,
            proposal_hidden_dim=16,
            average_init_density=0.01,
            **PAPER_FIELD,
        ),
        field_lr=1e-2,
        activation_lr=1e-3,
    ),
    description="STAF NeRF on a multiresolution hash encoding (tiny-cuda-nn when installed, torch otherwise).",
)
