"""One registry of implicit-neural-representation models by name: STAF and the authors' baselines.

Every model maps coordinates ``(..., in_features) -> (..., out_features)`` (any leading batch dimensions, float32 or
float64) and has the same shape: a first layer ``in -> W``, ``hidden_layers`` x ``W -> W``, then a linear read-out
``W -> out`` (``hidden_layers`` means the same as in :class:`staf_nerfstudio.StafMLP`).

=========  =============================================================================================
name       model (module: paper)
=========  =============================================================================================
staf       :class:`staf_nerfstudio.StafMLP` (Morsali et al., "STAF", arXiv 2502.00869)
siren      :class:`SineLayer` network (:mod:`.siren`: Sitzmann et al., NeurIPS 2020)
wire       :class:`GaborLayer` network (:mod:`.wire`: Saragadam et al., CVPR 2023)
finer      :class:`FinerLayer` network (:mod:`.finer`: Liu et al., CVPR 2024)
gauss      :class:`GaussLayer` network (:mod:`.gauss`: Ramasinghe & Lucey, ECCV 2022)
relu-pe    :class:`FourierFeatures` + :class:`ReluLayer` network (:mod:`.relu_pe`: Tancik et al., NeurIPS 2020)
=========  =============================================================================================

Settings live in :mod:`staf_nerfstudio.settings` (:class:`ModelsConfig`); :func:`build_model` and
:func:`count_parameters` in :mod:`.registry`. ``relu-pe`` with ``num_frequencies=0`` is a plain ReLU network. The
activation layers are small modules a NeRF field or NTK code can reuse. """

from staf_nerfstudio.networks.finer import FinerLayer
from staf_nerfstudio.networks.gauss import GaussLayer
from staf_nerfstudio.networks.registry import BaselineMLP, build_model, count_parameters, scale_weights_
from staf_nerfstudio.networks.relu_pe import FourierFeatures, ReluLayer
from staf_nerfstudio.networks.siren import SineLayer, siren_uniform_
from staf_nerfstudio.networks.wire import ComplexLinear, GaborLayer
from staf_nerfstudio.settings import (
    MODEL_NAMES,
    FinerSettings,
    GaussSettings,
    ModelsConfig,
    NetworkSettings,
    ReluPeSettings,
    SirenSettings,
    StafSettings,
    WireSettings,
    check_model_name,
)

__all__ = [
    "MODEL_NAMES",
    "BaselineMLP",
    "ComplexLinear",
    "FinerLayer",
    "FinerSettings",
    "FourierFeatures",
    "GaborLayer",
    "GaussLayer",
    "GaussSettings",
    "NetworkSettings",
    "ModelsConfig",
    "ReluLayer",
    "ReluPeSettings",
    "SineLayer",
    "SirenSettings",
    "StafSettings",
    "WireSettings",
    "build_model",
    "check_model_name",
    "count_parameters",
    "scale_weights_",
    "siren_uniform_",
]
