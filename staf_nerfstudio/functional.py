"""The STAF activation as functions: every implementation by name, and the choice of one per device and dtype.

The activation of one layer is ``sigma(z) = sum_i a_i * sin(w_i * z + p_i)`` over ``tau`` terms. The trainable
tensors ``a`` (amplitudes), ``w`` (frequencies) and ``p`` (phases) have shape ``(tau,)`` when they are shared by
every neuron of a layer ("layer" and "network" sharing) and ``(F, tau)`` when each of the ``F`` neurons has its own
("neuron" sharing); ``z`` has shape ``(..., F)``.

Two plain-torch formulations (re-exported here): the reference in the leaf module :mod:`staf_nerfstudio.reference`,
the lean loop in :mod:`staf_nerfstudio.autograd_path`:

* :func:`staf_reference` is the authors' formulation: it broadcasts ``z`` to ``(..., F, tau)``, and autograd keeps
  those tau-times-larger tensors for the backward pass. It is the plain reference every fast path is tested against.
* :class:`StafFunction` computes the same values with a loop over the ``tau`` terms and saves only ``z`` and the
  parameters; its backward recomputes the sines and cosines. No ``(..., F, tau)`` tensor is ever stored.

:func:`staf_activation` picks an implementation by name; ``"auto"`` chooses the fastest one that is correct for the
device and dtype (:func:`select_implementation`). The fused kernels live in :mod:`staf_nerfstudio.kernels` and are
imported on first use (Triton only for CUDA tensors):

* ``"cpp"``: a C++ kernel for float32/float64 CPU tensors, built at first use with the system compiler;
* ``"triton"``: Triton kernels for CUDA tensors (float16/bfloat16/float32 with float32 accumulation, and float64).

Each falls back to ``"autograd"`` where it cannot run (no compiler, no Triton, another device or dtype, inside
``torch.func`` transforms or ``torch.compile``), so an explicit override never breaks a model moved between devices.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from typing import Dict, Tuple

from jaxtyping import Float
from torch import Tensor

from staf_nerfstudio.autograd_path import (  # noqa: F401  (re-exported: staf_nerfstudio.functional.* is public)
    StafFunction,
    staf_autograd,
    staf_loop_backward,
    staf_loop_forward,
    traced,
)
from staf_nerfstudio.kernels import CPP_DTYPES, TRITON_DTYPES
from staf_nerfstudio.reference import StafImpl, check_shapes, staf_reference  # noqa: F401  (re-exported)


def staf_cpp(z: Tensor, amplitudes: Tensor, frequencies: Tensor, phases: Tensor) -> Tensor:
    """Fused C++ CPU kernel (:mod:`staf_nerfstudio.kernels.cpu_staf`); the autograd path where it cannot run."""
    from staf_nerfstudio.kernels.cpu_staf import staf_cpp as impl

    return impl(z, amplitudes, frequencies, phases)


@lru_cache(maxsize=None)
def triton_importable() -> bool:
    """Whether Triton is installed and imports (it ships with CUDA builds of torch)."""
    if importlib.util.find_spec("triton") is None:
        return False
    try:
        import staf_nerfstudio.kernels.triton_staf  # noqa: F401
    except Exception:  # a broken Triton install must not break the model: fall back to the autograd path
        return False
    return True


def staf_triton(z: Tensor, amplitudes: Tensor, frequencies: Tensor, phases: Tensor) -> Tensor:
    """Triton kernels (:mod:`staf_nerfstudio.kernels.triton_staf`); the autograd path where they cannot run."""
    if not triton_importable():
        return staf_autograd(z, amplitudes, frequencies, phases)
    from staf_nerfstudio.kernels.triton_staf import staf_triton as impl

    return impl(z, amplitudes, frequencies, phases)


#: Registered implementations by name. "reference" is the plain broadcast form every other one is tested against.
IMPLEMENTATIONS: Dict[str, StafImpl] = {
    "reference": staf_reference,
    "autograd": staf_autograd,
    "cpp": staf_cpp,
    "triton": staf_triton,
}


def available_implementations() -> Tuple[str, ...]:
    """Names accepted by ``implementation=`` (besides ``"auto"``)."""
    return tuple(IMPLEMENTATIONS)


def select_implementation(z: Tensor) -> str:
    """The implementation ``"auto"`` uses for an input on this device and of this dtype.

    CUDA: ``"triton"`` when Triton imports. CPU float32/float64: ``"cpp"`` when the kernel builds. Otherwise, and
    under ``torch.compile`` or ``torch.func`` transforms: ``"autograd"``.
    """
    if traced(z):
        return "autograd"
    if z.device.type == "cuda" and z.dtype in TRITON_DTYPES and triton_importable():
        return "triton"
    if z.device.type == "cpu" and z.dtype in CPP_DTYPES:
        from staf_nerfstudio.kernels.cpu_staf import cpu_kernel_available

        if cpu_kernel_available():
            return "cpp"
    return "autograd"


def staf_activation(
    z: Float[Tensor, "*batch features"],
    amplitudes: Tensor,
    frequencies: Tensor,
    phases: Tensor,
    implementation: str = "auto",
) -> Float[Tensor, "*batch features"]:
    """``sum_i a_i sin(w_i z + p_i)`` with the named implementation (``"auto"``: the fastest correct one)."""
    name = select_implementation(z) if implementation == "auto" else implementation
    try:
        impl = IMPLEMENTATIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown STAF implementation {implementation!r}; choose 'auto' or one of {sorted(IMPLEMENTATIONS)}"
        ) from None
    return impl(z, amplitudes, frequencies, phases)
