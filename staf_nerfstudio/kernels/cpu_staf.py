"""Fused STAF activation on the CPU: a small C++ kernel built at first use and called through ctypes.

One pass over ``z`` computes all ``tau`` terms per element (forward), and one pass over ``(z, grad_out)`` gives
``grad_z`` and the per-feature sums behind the amplitude, frequency and phase gradients (backward). Nothing of size
``tau * z`` exists. The source (``staf_cpu.cpp``) has no torch headers, so it compiles in about a second with the
system C++ compiler (``$CXX``, else ``c++``/``g++``/``clang++``) into a per-user cache
(``$STAF_KERNEL_CACHE``, else ``$XDG_CACHE_HOME/staf_nerfstudio``, else ``~/.cache/staf_nerfstudio``). Rows are split
into ``torch.get_num_threads()`` chunks. The library is built with OpenMP and binds to the OpenMP runtime torch has
already loaded, so calls from the main thread run their chunks on torch's own threads: a separate pool would compete
with torch's threads, which spin for a while after each of torch's parallel regions (measured: 1.25-1.35x SIREN's step
at two threads with a pool, against about 1.0x at one thread). From other threads (ns-viewer's renderer), where OpenMP
is unavailable (the build falls back to no OpenMP) and in a forked child (OpenMP's threads do not survive a fork), the
chunks run on a Python thread pool instead (ctypes releases the GIL during the call); ``STAF_DISABLE_OPENMP=1`` asks for
the pool too.

When no compiler is found or the build fails, :func:`cpu_kernel_available` is false, the reason is in
:func:`cpu_kernel_status`, and :func:`staf_cpp` falls back to the lean autograd path. It also falls back for dtypes
other than float32/float64, for non-CPU tensors, under ``torch.func`` transforms and inside ``torch.compile``.
Double backward works: when the backward itself is differentiated (``create_graph=True``) it uses the
differentiable torch formulation.
"""

from __future__ import annotations

import ctypes
import hashlib
import math
import os
import platform
import shutil
import subprocess
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional, Tuple

import torch
from torch import Tensor

from staf_nerfstudio.autograd_path import staf_autograd, traced
from staf_nerfstudio.io import atomic_path
from staf_nerfstudio.kernels import CPP_DTYPES
from staf_nerfstudio.kernels.fused import fused_function
from staf_nerfstudio.reference import check_shapes

_SOURCE = Path(__file__).with_name("staf_cpu.cpp")
# Not -ffast-math: linking a shared library with it pulls in crtfastmath.o, which turns on flush-to-zero for the whole
# process at load time (torch's denormals would silently become 0). -fno-math-errno lets the loops vectorize, and
# __FAST_MATH__ alone makes glibc's <math.h> declare its libmvec vector sin/cos (accurate to a few ulp).
_FLAGS = ("-O3", "-march=native", "-fno-math-errno", "-fno-trapping-math", "-D__FAST_MATH__", "-fPIC", "-shared",
          "-std=c++17")  # fmt: skip
_OPENMP_FLAGS = ("-fopenmp",)
_ABI_VERSION = 2
_SUPPORTED = dict(zip(CPP_DTYPES, ("f32", "f64")))
#: Below this many elements a call runs on the calling thread (a thread pool hand-off costs more than it saves).
_PARALLEL_MIN_ELEMENTS = 1 << 15

_lock = threading.Lock()
_library: Optional[ctypes.CDLL] = None
_status: Optional[str] = None
_pool: Optional[ThreadPoolExecutor] = None
_pool_size = 0
_pool_pid = 0
_openmp_pid: Optional[int] = None  # the process whose OpenMP runtime the library uses (None: built without OpenMP)
_openmp_missing = ""  # why the library was built without OpenMP


def _cache_dir() -> Path:
    if os.environ.get("STAF_KERNEL_CACHE"):
        return Path(os.environ["STAF_KERNEL_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "staf_nerfstudio"


def _find_compiler() -> Optional[str]:
    for name in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _cpu_signature() -> str:
    """What ``-march=native`` depends on, so a cache shared between machines never runs foreign code."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            lines = [line for line in f if line.startswith(("flags", "model name", "Features", "CPU part"))]
        return "".join(sorted(set(lines)))
    except OSError:
        return platform.processor()


def _build(compiler: str) -> Path:
    """The library built with OpenMP, or without it where the compiler cannot (a warning says so)."""
    global _openmp_missing
    try:
        return _build_with(compiler, _FLAGS + _OPENMP_FLAGS)
    except (RuntimeError, subprocess.SubprocessError) as err:
        _openmp_missing = f"building with OpenMP failed: {str(err)[-300:]}"
        warnings.warn(f"STAF CPU kernel: {_openmp_missing}; using a thread pool instead", stacklevel=4)
        return _build_with(compiler, _FLAGS)


def _build_with(compiler: str, flags: Tuple[str, ...]) -> Path:
    source = _SOURCE.read_bytes()
    key = hashlib.sha256(
        b"\0".join(
            [
                source,
                compiler.encode(),
                " ".join(flags).encode(),
                platform.machine().encode(),
                _cpu_signature().encode(),
            ]
        )
    ).hexdigest()[:16]
    cache = _cache_dir()
    target = cache / f"staf_cpu_{key}.so"
    if target.exists():
        return target
    with atomic_path(target) as tmp:  # concurrent builders never see a half-written library
        result = subprocess.run(
            [compiler, *flags, str(_SOURCE), "-o", str(tmp)], capture_output=True, text=True, timeout=120
        )
        if result.returncode != 0:
            raise RuntimeError(f"{compiler} failed: {result.stderr.strip()[-2000:]}")
    return target


def _load() -> Optional[ctypes.CDLL]:
    """Builds (once per machine) and loads the kernel library; None with the reason in ``_status`` on failure."""
    global _library, _status, _openmp_pid, _openmp_missing
    if _status is not None:
        return _library
    with _lock:
        if _status is not None:
            return _library
        if os.environ.get("STAF_DISABLE_CPP", "") not in ("", "0"):
            _status = "disabled by STAF_DISABLE_CPP"
            return None
        compiler = _find_compiler()
        if compiler is None:
            _status = "no C++ compiler found (set $CXX or install g++/clang++)"
            return None
        try:
            lib = ctypes.CDLL(str(_build(compiler)))
            if lib.staf_abi_version() != _ABI_VERSION:
                raise RuntimeError("stale kernel library in the cache (ABI version mismatch)")
        except (OSError, RuntimeError, subprocess.SubprocessError) as err:
            _status = f"build or load failed: {err}"
            warnings.warn(f"STAF CPU kernel unavailable, using the autograd path: {_status}", stacklevel=3)
            return None
        i64, ptr = ctypes.c_int64, ctypes.c_void_p
        for suffix in _SUPPORTED.values():
            fwd = getattr(lib, f"staf_forward_{suffix}")
            fwd.argtypes = [ptr] * 5 + [i64] * 4
            fwd.restype = None
            bwd = getattr(lib, f"staf_backward_{suffix}")
            bwd.argtypes = [ptr] * 7 + [i64] * 4
            bwd.restype = ctypes.c_int
        no_openmp = os.environ.get("STAF_DISABLE_OPENMP", "") not in ("", "0")
        _openmp_pid = os.getpid() if lib.staf_openmp() and not no_openmp else None
        if no_openmp:
            _openmp_missing = "disabled by STAF_DISABLE_OPENMP"
        _library, _status = lib, "ok"
        return lib


def cpu_kernel_available() -> bool:
    """Whether the fused CPU kernel is built and loaded (builds it on first call)."""
    return _load() is not None


def cpu_kernel_threading() -> str:
    """``"openmp"`` (chunks on torch's OpenMP threads) or ``"thread pool: <why>"``."""
    _load()
    if _on_openmp():
        return "openmp"
    if _openmp_pid is not None and _openmp_pid == os.getpid():
        return "thread pool: not the main thread"
    if _openmp_pid is not None:
        return "thread pool: a forked child (OpenMP's threads do not survive a fork)"
    return f"thread pool: {_openmp_missing or 'the kernel is not built'}"


def cpu_kernel_status() -> str:
    """``"ok"`` or why the fused CPU kernel is not used."""
    _load()
    return _status or "not built"


def _chunks(rows: int, features: int) -> list:
    """Row ranges, one per thread for large inputs."""
    threads = max(1, torch.get_num_threads())
    if threads == 1 or rows * features < _PARALLEL_MIN_ELEMENTS:
        return [(0, rows)]
    step = -(-rows // threads)
    return [(start, min(rows, start + step)) for start in range(0, rows, step)]


def _run(calls: list) -> None:
    """Runs the zero-argument callables, in parallel on the shared pool when there are several."""
    global _pool, _pool_size, _pool_pid
    if len(calls) == 1:
        calls[0]()
        return
    with _lock:
        # A forked child (e.g. a DataLoader worker) inherits the pool object but not its threads: make a new one.
        if _pool is None or _pool_size < len(calls) or _pool_pid != os.getpid():
            if _pool is not None and _pool_pid == os.getpid():
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=len(calls), thread_name_prefix="staf-cpu")
            _pool_size, _pool_pid = len(calls), os.getpid()
        pool = _pool
    futures = [pool.submit(call) for call in calls[1:]]
    calls[0]()
    for future in futures:
        future.result()


def _on_openmp() -> bool:
    """Whether this call can split its rows on the OpenMP team: built with OpenMP, not in a forked child, and on the
    main thread (where training runs; other threads, such as ns-viewer's renderer, keep the pool, the configuration
    the viewer test runs; docs/performance.md says why the rule was made)."""
    return (
        _openmp_pid is not None
        and _openmp_pid == os.getpid()
        and threading.current_thread() is threading.main_thread()
    )


def _per_term(params: Tensor, features: int, dtype: torch.dtype) -> Tensor:
    """``(tau,)`` or ``(F, tau)`` parameters as a contiguous ``(tau, F)`` tensor of the kernel's dtype."""
    per_feature = params.t() if params.dim() == 2 else params[:, None].expand(-1, features)
    return per_feature.to(dtype).contiguous()


def _ptr(t: Tensor) -> int:
    return t.data_ptr()


def _forward(z: Tensor, amplitudes: Tensor, frequencies: Tensor, phases: Tensor) -> Tensor:
    lib = _load()
    features, tau = z.shape[-1], amplitudes.shape[-1]
    z2 = z.contiguous().view(math.prod(z.shape[:-1]), features)
    out = torch.empty_like(z2)
    rows = z2.shape[0]
    if rows and features:
        a, w, p = (_per_term(t, features, z.dtype) for t in (amplitudes, frequencies, phases))
        fn = getattr(lib, f"staf_forward_{_SUPPORTED[z.dtype]}")
        chunks = _chunks(rows, features)
        if _on_openmp():
            fn(_ptr(z2), _ptr(a), _ptr(w), _ptr(p), _ptr(out), rows, features, tau, len(chunks))
        else:
            row_bytes = features * z2.element_size()
            _run(
                [
                    (
                        lambda s=s, e=e: fn(
                            _ptr(z2) + s * row_bytes, _ptr(a), _ptr(w), _ptr(p), _ptr(out) + s * row_bytes, e - s,
                            features, tau, 1,
                        )
                    )
                    for s, e in chunks
                ]
            )  # fmt: skip
    return out.view(z.shape)


def _backward(
    grad_out: Tensor, z: Tensor, amplitudes: Tensor, frequencies: Tensor, phases: Tensor
) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    lib = _load()
    features, tau = z.shape[-1], amplitudes.shape[-1]
    z2 = z.contiguous().view(math.prod(z.shape[:-1]), features)
    g2 = grad_out.to(z.dtype).contiguous().view(z2.shape)
    rows = z2.shape[0]
    grad_z = torch.empty_like(z2)
    chunks = _chunks(rows, features) if rows and features else []
    acc = torch.zeros(max(1, len(chunks)), 3, tau, features, dtype=torch.float64)
    if chunks:
        a, w, p = (_per_term(t, features, z.dtype) for t in (amplitudes, frequencies, phases))
        aw = (a * w).contiguous()
        fn = getattr(lib, f"staf_backward_{_SUPPORTED[z.dtype]}")
        row_bytes = features * z2.element_size()
        acc_bytes = acc[0].numel() * acc.element_size()
        status = [0] * len(chunks)

        def call(k: int, s: int, e: int, parts: int = 1) -> None:
            status[k] = fn(
                _ptr(g2) + s * row_bytes,
                _ptr(z2) + s * row_bytes,
                _ptr(aw),
                _ptr(w),
                _ptr(p),
                _ptr(grad_z) + s * row_bytes,
                _ptr(acc) + k * acc_bytes,
                e - s,
                features,
                tau,
                parts,
            )

        if _on_openmp():
            call(0, 0, rows, len(chunks))  # the same chunks, on torch's OpenMP threads
        else:
            _run([(lambda k=k, s=s, e=e: call(k, s, e)) for k, (s, e) in enumerate(chunks)])
        if any(status):
            raise MemoryError("STAF CPU kernel could not allocate its scratch buffer")
    sums = acc.sum(0)  # (3, tau, F): sum g sin, sum g cos, sum g z cos
    if amplitudes.dim() == 1:
        sums = sums.sum(-1)  # (3, tau)
    else:
        sums = sums.transpose(1, 2)  # (3, F, tau)
    a64 = amplitudes.detach().to(torch.float64)
    grad_a, grad_p, grad_w = sums[0], a64 * sums[1], a64 * sums[2]
    return grad_z.view(z.shape), grad_a, grad_w, grad_p


#: The STAF activation through the fused kernels above; saves only ``z`` and the parameters.
StafCppFunction = fused_function("StafCppFunction", _forward, _backward)


def cpp_supports(z: Tensor, *params: Tensor) -> bool:
    """Whether the fused kernel can run on these inputs (else :func:`staf_cpp` uses the autograd path)."""
    tensors = (z, *params)
    if any(t.device.type != "cpu" or t.dtype != z.dtype for t in tensors) or z.dtype not in _SUPPORTED:
        return False  # mixed dtypes keep torch's type promotion through the autograd path
    if traced(*tensors):
        return False
    return cpu_kernel_available()


def staf_cpp(z: Tensor, amplitudes: Tensor, frequencies: Tensor, phases: Tensor) -> Tensor:
    """The STAF activation through the fused CPU kernel (the autograd path where it cannot run)."""
    check_shapes(z, amplitudes, frequencies, phases)
    if not cpp_supports(z, amplitudes, frequencies, phases):
        return staf_autograd(z, amplitudes, frequencies, phases)
    return StafCppFunction.apply(z, amplitudes, frequencies, phases)
