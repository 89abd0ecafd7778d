"""The Triton STAF kernels against the broadcast reference: on the CPU through Triton's interpreter, and on CUDA.

``TRITON_INTERPRET=1`` must be set before the kernels are decorated (when their module is first imported), so in a
normal test run this module has one test that re-runs the module in a fresh interpreter with the variable set (and,
where a GPU is visible, runs the same cases on CUDA). Run the interpreter cases directly with
``TRITON_INTERPRET=1 pytest tests/core/test_kernels_triton.py``. Shapes are tiny: the interpreter executes every program
with numpy.
"""

import os
import subprocess
import sys

import pytest
import torch

pytest.importorskip("triton", reason="Triton is not installed (it ships with CUDA builds of torch)")

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
DEVICE = "cpu" if INTERPRETED else "cuda"

if not INTERPRETED:

    def test_triton_kernels_under_interpreter():
        env = {**os.environ, "TRITON_INTERPRET": "1"}
        cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", __file__]
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
        assert " passed" in result.stdout and " failed" not in result.stdout


if INTERPRETED or torch.cuda.is_available():
    from staf_nerfstudio import StafMLP
    from staf_nerfstudio.functional import select_implementation, staf_reference
    from staf_nerfstudio.kernels.triton_staf import staf_triton, triton_supports

    # Empty; single element; 3-d batch; 70 features = two feature blocks of 64 (the last ragged) and 100 rows = four
    # row tiles of 32 on two backward programs under the interpreter, so the strided row loop runs twice.
    SHAPES = [(0, 5), (1, 1), (2, 3, 7), (100, 70)]
    # Relative error bounds (output and grad z; parameter grads): float64 to rounding; float32 to the rounding of
    # arguments w z + p up to ~200 (about 200 ulp(1)); 16-bit inputs/outputs to their own rounding (float32 inside).
    TOLERANCES = {torch.float64: (1e-12, 1e-12), torch.float32: (5e-5, 5e-5), torch.float16: (2e-3, 1e-5),
                  torch.bfloat16: (1.6e-2, 1e-5)}  # fmt: skip

    def _rel_err(a, b):
        if b.numel() == 0:
            return 0.0
        return ((a.double() - b.double()).abs().max() / b.double().abs().max().clamp_min(1e-30)).item()

    @pytest.mark.parametrize("dtype", list(TOLERANCES), ids=str)
    @pytest.mark.parametrize("sharing", ["layer", "neuron"])
    @pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
    def test_triton_matches_reference(shape, sharing, dtype):
        gen = torch.Generator().manual_seed(len(shape) * 100 + shape[-1])
        tau = 5 if shape[-1] != 70 else 3
        pshape = (shape[-1], tau) if sharing == "neuron" else (tau,)
        param_dtype = torch.float64 if dtype == torch.float64 else torch.float32  # 16-bit models keep fp32 params
        z = (3 * torch.randn(shape, generator=gen, dtype=torch.float64)).to(dtype).requires_grad_(True)
        a = torch.randn(pshape, generator=gen, dtype=torch.float64)
        w = 20 * torch.rand(pshape, generator=gen, dtype=torch.float64)
        p = 6 * torch.rand(pshape, generator=gen, dtype=torch.float64) - 3
        z = z.detach().to(DEVICE).requires_grad_(True)
        params = [t.to(DEVICE, param_dtype).requires_grad_(True) for t in (a, w, p)]
        grad = torch.randn(shape, generator=gen, dtype=torch.float64).to(DEVICE, dtype)
        assert triton_supports(z, *params)
        out = staf_triton(z, *params)
        grads = torch.autograd.grad(out, [z, *params], grad)
        # Reference: float64 on the same rounded inputs.
        z_ref = z.detach().double().requires_grad_(True)
        p_ref = [t.detach().double().requires_grad_(True) for t in params]
        ref = staf_reference(z_ref, *p_ref)
        ref_grads = torch.autograd.grad(ref, [z_ref, *p_ref], grad.double())
        out_tol, param_tol = TOLERANCES[dtype]
        assert out.dtype == dtype and out.shape == ref.shape
        assert _rel_err(out, ref) < out_tol, f"output {_rel_err(out, ref):.2e}"
        assert grads[0].dtype == dtype and _rel_err(grads[0], ref_grads[0]) < out_tol
        for name, g, r, t in zip(("amplitudes", "frequencies", "phases"), grads[1:], ref_grads[1:], params):
            assert g.dtype == t.dtype and g.shape == r.shape
            assert _rel_err(g, r) < param_tol, f"{name}: {_rel_err(g, r):.2e}"

    def test_triton_double_backward():
        z = torch.randn(4, 3, dtype=torch.float64, device=DEVICE, requires_grad=True)
        params = [torch.randn(3, 2, dtype=torch.float64, device=DEVICE, requires_grad=True) for _ in range(3)]
        assert torch.autograd.gradcheck(staf_triton, (z, *params))
        assert torch.autograd.gradgradcheck(staf_triton, (z, *params))

    @pytest.mark.parametrize("sharing", ["layer", "neuron", "network"])
    def test_triton_network_matches_reference(sharing):
        torch.manual_seed(0)
        net = StafMLP(3, 12, 1, 2, tau=3, first_omega=20.0, hidden_omega=10.0, skip=True, sharing=sharing)
        net = net.to(DEVICE, torch.float64)
        x = torch.rand(6, 3, dtype=torch.float64, device=DEVICE) * 2 - 1
        results = []
        for impl in ("reference", "triton"):
            net.set_implementation(impl)
            net.zero_grad(set_to_none=True)
            out = net(x)
            out.pow(2).sum().backward()
            results.append((out.detach(), {n: q.grad.clone() for n, q in net.named_parameters()}))
        (ref_out, ref_g), (out, g) = results
        assert _rel_err(out, ref_out) < 1e-12
        for name in ref_g:
            assert _rel_err(g[name], ref_g[name]) < 1e-11, name

    def test_auto_picks_triton_only_for_cuda_tensors():
        assert select_implementation(torch.zeros(2, 2)) in ("cpp", "autograd")
        if DEVICE == "cuda":
            for dtype in (torch.float32, torch.bfloat16, torch.float16, torch.float64):
                assert select_implementation(torch.zeros(2, 2, device="cuda", dtype=dtype)) == "triton"
