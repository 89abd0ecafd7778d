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

Settings live in :mod:`.config` (:class:`ModelsConfig`); :func:`build_model` and :func:`count_parameters` in
:mod:`.registry`. The activation layers are small modules a NeRF field or NTK code can reuse.
"""

from staf_tasks.models.config import (
    MODEL_NAMES,
    FinerModelConfig,
    GaussModelConfig,
    ModelsConfig,
    ModelSettings,
    ReluPeModelConfig,
    SirenModelConfig,
    StafModelConfig,
    WireModelConfig,
    check_model_name,
)

# The networks import torch; they load on first use, so that the settings above (all a command line needs to parse
# its flags and print its help) come without torch.
_LAZY = {
    "FinerLayer": "finer",
    "GaussLayer": "gauss",
    "BaselineMLP": "registry",
    "build_model": "registry",
    "count_parameters": "registry",
    "FourierFeatures": "relu_pe",
    "ReluLayer": "relu_pe",
    "SineLayer": "siren",
    "siren_uniform_": "siren",
    "ComplexLinear": "wire",
    "GaborLayer": "wire",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"staf_tasks.models.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MODEL_NAMES",
    "BaselineMLP",
    "ComplexLinear",
    "FinerLayer",
    "FinerModelConfig",
    "FourierFeatures",
    "GaborLayer",
    "GaussLayer",
    "GaussModelConfig",
    "ModelSettings",
    "ModelsConfig",
    "ReluLayer",
    "ReluPeModelConfig",
    "SineLayer",
    "SirenModelConfig",
    "StafModelConfig",
    "WireModelConfig",
    "build_model",
    "check_model_name",
    "count_parameters",
    "siren_uniform_",
]
