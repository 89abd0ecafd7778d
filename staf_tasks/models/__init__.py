"""The network registry, as the tasks know it: :mod:`staf_nerfstudio.networks` under its old import path.

The networks (STAF and the baselines), their settings and ``build_model`` live in the core package
:mod:`staf_nerfstudio.networks`, which the NeRF field and the theory commands use too. This module keeps
``from staf_tasks.models import ...`` working, including the settings' former class names.
"""

from staf_nerfstudio.networks import *  # noqa: F401,F403
from staf_nerfstudio.networks import __all__ as _networks_all
from staf_nerfstudio.settings import (
    FinerSettings,
    GaussSettings,
    NetworkSettings,
    ReluPeSettings,
    SirenSettings,
    StafSettings,
    WireSettings,
)

# Former names of the settings dataclasses (the NeRF model config is the one ``StafModelConfig`` now).
StafModelConfig = StafSettings
SirenModelConfig = SirenSettings
FinerModelConfig = FinerSettings
WireModelConfig = WireSettings
GaussModelConfig = GaussSettings
ReluPeModelConfig = ReluPeSettings
ModelSettings = NetworkSettings

__all__ = list(_networks_all) + [
    "FinerModelConfig",
    "GaussModelConfig",
    "ModelSettings",
    "ReluPeModelConfig",
    "SirenModelConfig",
    "StafModelConfig",
    "WireModelConfig",
]
