"""LPIPS without downloads: used when its AlexNet weights are already on disk, reported unavailable otherwise.

torchmetrics' LPIPS builds torchvision's AlexNet with ImageNet weights, which torchvision downloads into
``$TORCH_HOME/hub/checkpoints`` when they are missing. Offline that fails (or, if one passed ``pretrained=False``,
would give a number from random weights). :func:`build_lpips` returns the metric only when the file is present.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import torch
from torch import nn

ALEXNET_WEIGHTS_FILE = "alexnet-owt-7be5be79.pth"
"""torchvision's ``AlexNet_Weights.IMAGENET1K_V1`` file name."""


def alexnet_weights_path() -> Path:
    """Where torchvision looks for (and would download) the AlexNet weights LPIPS needs."""
    return Path(torch.hub.get_dir()) / "checkpoints" / ALEXNET_WEIGHTS_FILE


def lpips_unavailable_reason() -> Optional[str]:
    """None when LPIPS can be built offline, else a sentence saying why not and how to enable it."""
    path = alexnet_weights_path()
    if path.is_file() and os.access(path, os.R_OK):
        return None
    return (
        f"LPIPS unavailable: torchvision's AlexNet weights are not at {path} and nothing is downloaded at run time; "
        f"copy {ALEXNET_WEIGHTS_FILE} there to get LPIPS"
    )


def build_lpips() -> Optional[nn.Module]:
    """torchmetrics' LPIPS (AlexNet, inputs in [0, 1]) if its weights are on disk, else None."""
    if lpips_unavailable_reason() is not None:
        return None
    from torchmetrics.image.lpip import LearnedPerceptualImagePatchSimilarity

    return LearnedPerceptualImagePatchSimilarity(normalize=True)
