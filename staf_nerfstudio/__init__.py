"""STAF: Sinusoidal Trainable Activation Functions for implicit neural representations.

``import staf_nerfstudio`` gives the pure-torch network (loaded on first use) and never imports nerfstudio; the
nerfstudio method lives in its own modules (``staf_nerfstudio.nerf``), loaded by nerfstudio through the package's
entry points.
"""

import importlib

# The network imports torch; it loads on first use, so that commands living in this package (staf-make-scene,
# staf-theory) parse their flags and print their help without importing torch.
_LAZY = {
    "StafActivation": "activation",
    "StafBlock": "mlp",
    "StafMLP": "mlp",
    "available_implementations": "functional",
    "staf_activation": "functional",
    "staf_reference": "functional",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"staf_nerfstudio.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "StafActivation",
    "StafBlock",
    "StafMLP",
    "available_implementations",
    "staf_activation",
    "staf_reference",
]
__version__ = "0.1.0"
