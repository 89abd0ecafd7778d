"""Fused STAF paths against the broadcast reference: outputs and every gradient, each sharing mode, odd and empty
shapes; the dispatch of ``implementation="auto"``; clean fallbacks. The Triton kernels are tested under Triton's
interpreter in ``test_kernels_triton.py``."""

import os
import shutil
import subprocess
import sys

import pytest
import torch
from conftest import rel_err

from staf_nerfstudio import StafActivation, StafMLP
from staf_nerfstudio.functional import (
    IMPLEMENTATIONS,
    select_implementation,
    staf_activation,
    staf_reference,
)
from staf_nerfstudio.kernels.cpu_staf import cpu_kernel_available, cpu_kernel_status, staf_cpp

HAS_COMPILER = any(shutil.which(c) for c in (os.environ.get("CXX") or "c++", "g++", "clang++"))
needs_cpp = pytest.mark.skipif(not HAS_COMPILER, reason="no C++ compiler: the cpp path falls back to autograd")

# Odd sizes; an empty batch; no features; a single element; a 3-d batch; one large enough to be split between threads.
SHAPES = [(0, 7), (4, 0), (1, 1), (3, 5, 9), (37, 13), (1031, 33)]


def _inputs(shape, sharing, tau, dtype, seed=0):
    gen = torch.Generator().manual_seed(seed)
    features = shape[-1]
    pshape = (features, tau) if sharing == "neuron" else (tau,)
    z = (3 * torch.randn(shape, generator=gen, dtype=torch.float64)).to(dtype)
    a = torch.randn(pshape, generator=gen, dtype=torch.float64)
    w = 20 * torch.rand(pshape, generator=gen, dtype=torch.float64)
    p = torch.rand(pshape, generator=gen, dtype=torch.float64) * 6 - 3
    grad = torch.randn(shape, generator=gen, dtype=torch.float64)
    return z, [t.to(dtype) for t in (a, w, p)], grad.to(dtype)


def _run(fn, z, params, grad):
    z = z.detach().clone().requires_grad_(True)
    params = [t.detach().clone().requires_grad_(True) for t in params]
    out = fn(z, *params)
    grads = torch.autograd.grad(out, [z, *params], grad, allow_unused=False)
    return out.detach(), grads


def _compare(fn, shape, sharing, tau, dtype, tol):
    z, params, grad = _inputs(shape, sharing, tau, dtype)
    out, grads = _run(fn, z, params, grad)
    # The reference in float64 on the same (possibly rounded) inputs.
    ref_out, ref_grads = _run(staf_reference, z.double(), [t.double() for t in params], grad.double())
    assert out.shape == ref_out.shape and out.dtype == dtype
    assert rel_err(out, ref_out) < tol, f"output: {rel_err(out, ref_out):.2e}"
    for name, g, r in zip(("z", "amplitudes", "frequencies", "phases"), grads, ref_grads):
        assert g.shape == r.shape and g.dtype == dtype, name
        assert rel_err(g, r) < tol, f"grad {name}: {rel_err(g, r):.2e}"


@needs_cpp
def test_cpu_kernel_builds():
    assert cpu_kernel_available(), cpu_kernel_status()
    assert cpu_kernel_status() == "ok"


@pytest.mark.parametrize("impl", ["autograd", "cpp"])
@pytest.mark.parametrize("sharing", ["layer", "neuron"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_paths_match_reference_float64(impl, sharing, shape):
    _compare(IMPLEMENTATIONS[impl], shape, sharing, tau=5, dtype=torch.float64, tol=1e-11)


@needs_cpp
@pytest.mark.parametrize("sharing", ["layer", "neuron"])
@pytest.mark.parametrize("shape, tau", [((37, 13), 5), ((1031, 33), 3), ((2, 3, 257), 1)])
def test_cpp_matches_reference_float32(sharing, shape, tau):
    # float32: arguments w z + p up to ~200 are rounded to about 200 ulp(1); libmvec's sin/cos add a few ulps.
    _compare(staf_cpp, shape, sharing, tau, dtype=torch.float32, tol=5e-5)


def _sin_through_cpp(z):
    """sin(z) and cos(z) from the float32 kernel: one term with a = w = 1, p = 0 (the argument is z exactly)."""
    one, zero = torch.ones(1), torch.zeros(1)
    z = z.clone().requires_grad_(True)
    out = staf_cpp(z, one, one, zero)
    (grad,) = torch.autograd.grad(out, z, torch.ones_like(out))
    return out.detach(), grad


@needs_cpp
def test_cpp_float32_sin_and_cos_in_every_quadrant():
    # float32 arguments below 65536 take the polynomial sin/cos with one range reduction: every quadrant, both signs,
    # points next to multiples of pi/2, against float64 sin/cos of the same float32 values.
    k = torch.arange(-600, 601, dtype=torch.float64)
    near = (k[:, None] * torch.pi / 2 + torch.tensor([-1e-3, -1e-6, 0.0, 1e-6, 1e-3])).flatten()
    z = torch.cat([torch.linspace(-1000, 1000, 200_001, dtype=torch.float64), near]).float()
    out, grad = _sin_through_cpp(z)
    assert (out.double() - torch.sin(z.double())).abs().max() < 4e-7
    assert (grad.double() - torch.cos(z.double())).abs().max() < 4e-7


@needs_cpp
def test_cpp_float32_large_and_non_finite_arguments():
    # Beyond the polynomial's range (|w z + p| >= 65536) a chunk takes libm's sin/cos: still exact to a few ulp at
    # 1e9, where a float32 Cody-Waite reduction would be off by whole radians.
    z = torch.tensor([1e5, -3.3e6, 7.7e7, 1e9, -2.5e9, 0.5], dtype=torch.float32)
    out, grad = _sin_through_cpp(z)
    assert (out.double() - torch.sin(z.double())).abs().max() < 1e-6
    assert (grad.double() - torch.cos(z.double())).abs().max() < 1e-6
    bad = torch.tensor([0.5, float("nan"), float("inf"), -float("inf"), 2.0])
    out, grad = _sin_through_cpp(bad)
    ref = staf_reference(bad, torch.ones(1), torch.ones(1), torch.zeros(1))
    assert torch.equal(out.isnan(), ref.isnan()) and torch.equal(grad.isnan(), ref.isnan())
    assert torch.allclose(out[[0, 4]], ref[[0, 4]], atol=1e-7)


@needs_cpp
def test_cpp_gradcheck_and_double_backward():
    gen = torch.Generator().manual_seed(3)
    z = torch.randn(6, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    for pshape in [(3,), (4, 3)]:
        params = [torch.randn(pshape, generator=gen, dtype=torch.float64, requires_grad=True) for _ in range(3)]
        assert torch.autograd.gradcheck(staf_cpp, (z, *params))
        assert torch.autograd.gradgradcheck(staf_cpp, (z, *params))


@needs_cpp
def test_cpp_partial_requires_grad_and_noncontiguous_input():
    z, params, grad = _inputs((9, 6), "layer", 4, torch.float64)
    zt = z.t().contiguous().t()  # same values, transposed strides
    assert not zt.is_contiguous()
    out = staf_cpp(zt, *params)
    torch.testing.assert_close(out, staf_reference(z, *params), rtol=1e-12, atol=1e-12)
    # Only the frequencies need a gradient.
    w = params[1].clone().requires_grad_(True)
    (gw,) = torch.autograd.grad(staf_cpp(z, params[0], w, params[2]), [w], grad)
    w_ref = params[1].clone().requires_grad_(True)
    (gw_ref,) = torch.autograd.grad(staf_reference(z, params[0], w_ref, params[2]), [w_ref], grad)
    torch.testing.assert_close(gw, gw_ref, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("impl", ["cpp", "triton"])
@pytest.mark.parametrize("sharing", ["layer", "neuron", "network"])
def test_network_paths_match_reference_float64(impl, sharing):
    """A whole StafMLP (skip on): every parameter's gradient, the input's too. On CPU without the Triton
    interpreter, "triton" must fall back to the autograd path and still be right."""
    torch.manual_seed(0)
    net = StafMLP(3, 20, 2, 2, tau=4, first_omega=20.0, hidden_omega=10.0, skip=True, sharing=sharing).double()
    with torch.no_grad():
        for p in net.activation_parameters():
            p.add_(0.1 * torch.randn_like(p))
    x = torch.rand(4, 9, 3, dtype=torch.float64) * 2 - 1
    results = {}
    for name in ("reference", impl):
        net.set_implementation(name)
        net.zero_grad(set_to_none=True)
        xi = x.clone().requires_grad_(True)
        out = net(xi)
        (out * torch.linspace(-1, 2, out.numel(), dtype=out.dtype).reshape(out.shape)).sum().backward()
        results[name] = (out.detach(), xi.grad, {n: p.grad.clone() for n, p in net.named_parameters()})
    (ref_out, ref_gx, ref_g), (out, gx, g) = results["reference"], results[impl]
    assert rel_err(out, ref_out) < 1e-11 and rel_err(gx, ref_gx) < 1e-11
    assert g.keys() == ref_g.keys()
    for name in g:
        assert rel_err(g[name], ref_g[name]) < 1e-11, name


def test_auto_dispatch_by_device_and_dtype():
    z32 = torch.zeros(2, 3)
    expected = "cpp" if cpu_kernel_available() else "autograd"
    assert select_implementation(z32) == expected
    assert select_implementation(z32.double()) == expected
    assert select_implementation(z32.bfloat16()) == "autograd"
    assert select_implementation(z32.half()) == "autograd"
    act = StafActivation(tau=3)
    zb = torch.randn(5, 3).bfloat16()
    # bfloat16 on CPU goes through the autograd path and keeps the dtype.
    assert act.to(torch.bfloat16)(zb).dtype == torch.bfloat16


def test_unknown_implementation_names_the_choices():
    z = torch.zeros(2, 3)
    p = torch.zeros(3)
    with pytest.raises(ValueError, match="cpp.*triton|autograd"):
        staf_activation(z, p, p, p, implementation="fastest")


def test_vmap_and_jacrev_fall_back_to_plain_torch():
    """torch.func transforms cannot enter a ctypes kernel: auto must pick the autograd path and stay correct."""
    act = StafActivation(tau=3, sharing="neuron", num_features=4).double()
    zs = torch.randn(5, 4, dtype=torch.float64)
    params = (act.amplitudes, act.frequencies, act.phases)
    batched = torch.func.vmap(act)(zs)
    torch.testing.assert_close(batched, staf_reference(zs, *params), rtol=1e-12, atol=1e-12)
    jac = torch.func.jacrev(act)(zs[0])
    jac_ref = torch.func.jacrev(lambda v: staf_reference(v, *params))(zs[0])
    torch.testing.assert_close(jac, jac_ref, rtol=1e-12, atol=1e-12)


_FALLBACK_CHECK = """
import warnings, torch
from staf_nerfstudio.functional import select_implementation, staf_reference, IMPLEMENTATIONS
from staf_nerfstudio.kernels.cpu_staf import cpu_kernel_available, cpu_kernel_status
with warnings.catch_warnings(record=True):
    warnings.simplefilter("always")
    z = torch.randn(7, 5, dtype=torch.float64, requires_grad=True)
    p = [torch.randn(5, dtype=torch.float64, requires_grad=True) for _ in range(3)]
    assert not cpu_kernel_available()
    assert select_implementation(z) == "autograd", select_implementation(z)
    out = IMPLEMENTATIONS["cpp"](z, *p)
    torch.testing.assert_close(out, staf_reference(z, *p))
    out.sum().backward()
    assert z.grad is not None
print("STATUS:", cpu_kernel_status())
"""


@pytest.mark.parametrize(
    "env, status",
    [({"STAF_DISABLE_CPP": "1"}, "disabled"), ({"CXX": "false"}, "build or load failed")],
    ids=["disabled", "broken-compiler"],
)
def test_cpp_falls_back_cleanly(tmp_path, env, status):
    """No usable compiler (simulated by a 'compiler' that always fails, with an empty kernel cache): the cpp path
    and auto both use the autograd path, with the reason reported."""
    full_env = {**os.environ, "STAF_KERNEL_CACHE": str(tmp_path), **env}
    result = subprocess.run([sys.executable, "-c", _FALLBACK_CHECK], env=full_env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"STATUS: {status}" in result.stdout, result.stdout


@needs_cpp
def test_cpu_kernel_splits_rows_on_torchs_openmp_threads():
    """Built with OpenMP where the compiler has it, the kernel runs its chunks on the OpenMP runtime torch loaded (a
    Python thread pool would compete with torch's spinning threads); a split call equals an unsplit one bit for bit."""
    import staf_nerfstudio.kernels.cpu_staf as cpu

    assert cpu_kernel_available()
    gcc = shutil.which("g++")
    libgomp = gcc and subprocess.run([gcc, "-print-file-name=libgomp.so"], capture_output=True, text=True).stdout
    if not os.environ.get("CXX") and libgomp and os.path.isabs(libgomp.strip()):  # g++ with its OpenMP runtime
        assert cpu.cpu_kernel_threading() == "openmp", cpu.cpu_kernel_threading()
    z, params, grad = _inputs((1031, 33), "neuron", 3, torch.float32)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        split = _run(staf_cpp, z, params, grad)
        torch.set_num_threads(1)
        whole = _run(staf_cpp, z, params, grad)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(split[0], whole[0]) and torch.equal(split[1][0], whole[1][0])  # rows are independent
    for a, b in zip(split[1][1:], whole[1][1:]):  # parameter sums: the same terms, added in another grouping
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


@needs_cpp
def test_staf_disable_openmp_takes_the_thread_pool():
    code = ("from staf_nerfstudio.kernels.cpu_staf import cpu_kernel_threading, staf_cpp; import torch; "
            "z = torch.randn(1031, 33); one = torch.ones(3); print(cpu_kernel_threading()); "
            "print(float((staf_cpp(z, one, one, one) - 3 * torch.sin(z + 1)).abs().max()))")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "STAF_DISABLE_OPENMP": "1"})  # fmt: skip
    threading, err = result.stdout.strip().splitlines()[-2:]
    assert threading.startswith("thread") and float(err) < 1e-5, result.stdout + result.stderr


@needs_cpp
def test_loading_the_kernel_keeps_denormals():
    """The library must not switch the process to flush-to-zero (what -ffast-math's crtfastmath.o would do)."""
    assert cpu_kernel_available()
    tiny = torch.tensor([1e-40], dtype=torch.float32)
    assert (tiny * 1.0).item() != 0.0
    assert (torch.tensor([1e-310], dtype=torch.float64) * 1.0).item() != 0.0


def _forked_child(queue):
    # torch's own OpenMP ops are not fork-safe once the parent used them (DataLoader workers run 1 thread): build the
    # inputs and the reference with 1 thread, then let the kernel split rows over 2 threads of its pool.
    torch.set_num_threads(1)
    z, params, _ = _inputs((1031, 33), "layer", 3, torch.float32)
    ref = staf_reference(z, *params)
    torch.set_num_threads(2)
    out = staf_cpp(z, *params)
    torch.set_num_threads(1)
    queue.put(float((out - ref).abs().max()))


@needs_cpp
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_cpp_threads_work_after_fork():
    """A forked child (a DataLoader worker) inherits the thread pool object without its threads."""
    import multiprocessing

    z, params, _ = _inputs((1031, 33), "layer", 3, torch.float32)
    staf_cpp(z, *params)  # the parent's pool exists now
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_forked_child, args=(queue,))
    child.start()
    child.join(timeout=120)
    if child.is_alive():
        child.kill()
        pytest.fail("the fused CPU kernel hung in a forked child")
    assert child.exitcode == 0 and queue.get(timeout=5) < 1e-3
