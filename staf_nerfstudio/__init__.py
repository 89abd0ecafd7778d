"""STAF: Sinusoidal Trainable Activation Functions for implicit neural representations.

``import staf_nerfstudio`` gives the pure-torch network and never imports nerfstudio; the nerfstudio method lives in
its own modules (``staf_nerfstudio.nerf``), loaded by nerfstudio through the package's entry points.
"""

from staf_nerfstudio.activation import StafActivation
from staf_nerfstudio.functional import available_implementations, staf_activation, staf_reference
from staf_nerfstudio.mlp import StafBlock, StafMLP

__all__ = [
    "StafActivation",
    "StafBlock",
    "StafMLP",
    "available_implementations",
    "staf_activation",
    "staf_reference",
]
__version__ = "0.1.0"
