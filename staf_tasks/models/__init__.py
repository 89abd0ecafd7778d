"""The network registry, as the tasks know it: :mod:`staf_nerfstudio.networks` under its old import path.

The networks (STAF and the baselines), their settings and ``build_model`` live in the core package
:mod:`staf_nerfstudio.networks`, which the NeRF field and the theory commands use too. This module keeps
``from staf_tasks.models import ...`` working, including the settings' former class names.

The settings (torch-free) load with this module; the networks import torch and load on first use, so that a command
line can parse its flags and print its help without torch.
"""

import importlib

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

# Former names of the settings dataclasses (the NeRF model config is the one ``StafModelConfig`` now).
StafModelConfig = StafSettings
SirenModelConfig = SirenSettings
FinerModelConfig = FinerSettings
WireModelConfig = WireSettings
GaussModelConfig = GaussSettings
ReluPeModelConfig = ReluPeSettings
ModelSettings = NetworkSettings

_NETWORKS = (
    "BaselineMLP",
    "ComplexLinear",
    "FinerLayer",
    "FourierFeatures",
    "GaborLayer",
    "GaussLayer",
    "ReluLayer",
    "SineLayer",
    "build_model",
    "count_parameters",
    "scale_weights_",
    "siren_uniform_",
)
"""Names of :mod:`staf_nerfstudio.networks` that import torch: looked up there on first use."""


def __getattr__(name: str):
    if name in _NETWORKS:
        return getattr(importlib.import_module("staf_nerfstudio.networks"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MODEL_NAMES",
    "FinerSettings",
    "GaussSettings",
    "ModelsConfig",
    "NetworkSettings",
    "ReluPeSettings",
    "SirenSettings",
    "StafSettings",
    "WireSettings",
    "check_model_name",
    *_NETWORKS,
    "FinerModelConfig",
    "GaussModelConfig",
    "ModelSettings",
    "ReluPeModelConfig",
    "SirenModelConfig",
    "StafModelConfig",
    "WireModelConfig",
]
