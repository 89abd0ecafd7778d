"""Fused STAF activation kernels: a C++ kernel for the CPU (:mod:`.cpu_staf`) and Triton kernels for CUDA
(:mod:`.triton_staf`, imported only when a CUDA tensor needs it). :mod:`staf_nerfstudio.functional` registers them
and picks one per device and dtype. Both are wrapped for autograd by :mod:`.fused` and fall back to
:mod:`staf_nerfstudio.autograd_path`; both are tested against the plain-torch leaf :mod:`staf_nerfstudio.reference`.
"""

from __future__ import annotations

import torch

CPP_DTYPES = (torch.float32, torch.float64)
"""Dtypes the C++ CPU kernel computes in."""
TRITON_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
"""Dtypes the Triton kernels accept (half precisions accumulate in float32)."""
