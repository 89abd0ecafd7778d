"""The STAF network: API, parameter counts, errors, and the lean autograd path against the broadcast reference."""

import subprocess
import sys

import pytest
import torch

from staf_nerfstudio import StafActivation, StafMLP
from staf_nerfstudio.functional import staf_autograd, staf_reference


def test_import_does_not_pull_nerfstudio():
    code = "import staf_nerfstudio, sys; assert 'nerfstudio' not in sys.modules, 'nerfstudio was imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    "sharing, expected",
    [("layer", 198_975), ("neuron", 214_275), ("network", 198_930)],
)
def test_parameter_counts(sharing, expected):
    net = StafMLP(2, 256, 3, 3, tau=5, sharing=sharing)
    assert sum(p.numel() for p in net.parameters()) == expected


def test_structure():
    net = StafMLP(2, 16, 2, 3, tau=4, first_omega=60.0, hidden_omega=30.0, skip=True, init="official")
    assert len(net.layers) == 3
    assert all(isinstance(b.linear, torch.nn.Linear) for b in net.layers)
    assert all(isinstance(b.activation, StafActivation) for b in net.layers)
    assert isinstance(net.head, torch.nn.Linear) and net.head.out_features == 3
    assert [b.skip for b in net.layers] == [False, True, True]
    assert net.layers[0].activation.omega == 60.0 and net.layers[1].activation.omega == 30.0
    assert net.layers[0].activation.amplitudes.shape == (4,)
    assert net.layers[0].activation.frequencies.max() < 60.0
    shared = StafMLP(2, 16, 2, 3, sharing="network")
    assert all(b.activation is shared.layers[0].activation for b in shared.layers)
    neuron = StafMLP(2, 16, 2, 3, tau=3, sharing="neuron")
    assert neuron.layers[1].activation.phases.shape == (16, 3)
    out = net(torch.rand(7, 5, 2))
    assert out.shape == (7, 5, 3)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(sharing="pixel"), "layer, neuron, network"),
        (dict(init="xavier"), "official, unit"),
        (dict(tau=0), "tau"),
        (dict(sharing="neuron"), "num_features"),
        (dict(implementation="cuda-magic"), "auto"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        StafActivation(**kwargs)


def test_bad_mlp_arguments():
    with pytest.raises(ValueError, match="official, unit"):
        StafMLP(2, 8, 1, 1, init="xavier")
    with pytest.raises(ValueError, match="layer, neuron, network"):
        StafMLP(2, 8, 1, 1, sharing="global")


def _grads(net, x, implementation):
    net.set_implementation(implementation)
    net.zero_grad(set_to_none=True)
    x = x.detach().clone().requires_grad_(True)
    out = net(x)
    # A non-trivial upstream gradient so every output element matters.
    weights = torch.linspace(-1.0, 2.0, out.numel(), dtype=out.dtype).reshape(out.shape)
    (out * weights).sum().backward()
    grads = {"input": x.grad.clone()}
    for name, p in net.named_parameters():
        grads[name] = p.grad.clone()
    return out.detach(), grads


def _assert_close(a, b, what):
    scale = b.abs().max().clamp_min(1e-300)
    err = (a - b).abs().max() / scale
    assert err < 1e-10, f"{what}: relative error {err:.3e}"


@pytest.mark.parametrize("sharing", ["layer", "neuron", "network"])
@pytest.mark.parametrize("skip", [False, True])
def test_autograd_matches_reference_float64(sharing, skip):
    torch.manual_seed(0)
    net = StafMLP(3, 24, 2, 2, tau=5, first_omega=20.0, hidden_omega=10.0, skip=skip, sharing=sharing).double()
    # Move the parameters off their initial values so every gradient term is exercised.
    with torch.no_grad():
        for p in net.activation_parameters():
            p.add_(0.1 * torch.randn_like(p))
    x = torch.rand(5, 11, 3, dtype=torch.float64) * 2 - 1
    out_ref, grads_ref = _grads(net, x, "reference")
    out_fast, grads_fast = _grads(net, x, "autograd")
    _assert_close(out_fast, out_ref, "output")
    assert grads_ref.keys() == grads_fast.keys()
    act = "layers.0" if sharing == "network" else "layers.1"  # named_parameters lists a shared module once
    names = {"input", "layers.0.linear.weight", f"{act}.activation.amplitudes", "layers.0.activation.frequencies"}
    assert names <= grads_ref.keys()
    for name in grads_ref:
        _assert_close(grads_fast[name], grads_ref[name], name)


def test_autograd_function_direct_and_double_backward():
    torch.manual_seed(1)
    z = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    params = [torch.randn(4, 3, dtype=torch.float64, requires_grad=True) for _ in range(3)]
    assert torch.autograd.gradcheck(staf_autograd, (z, *params))
    assert torch.autograd.gradgradcheck(staf_autograd, (z, *params))
    empty = torch.zeros(0, 4, dtype=torch.float64, requires_grad=True)
    out = staf_autograd(empty, *params)
    out.sum().backward()
    assert out.shape == (0, 4) and torch.all(params[0].grad == 0)
    torch.testing.assert_close(staf_autograd(z, *params), staf_reference(z, *params), rtol=1e-12, atol=1e-12)


def test_autograd_path_stores_no_tau_sized_tensors():
    """The lean path saves z-sized tensors only; the reference saves (N, F, tau) ones."""
    z = torch.randn(64, 32, requires_grad=True)
    act = StafActivation(tau=5, implementation="autograd")
    sizes = []

    def pack(t):
        sizes.append(t.numel())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        act(z)
    assert sizes and max(sizes) <= z.numel()
    sizes.clear()
    act.implementation = "reference"
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        act(z)
    assert max(sizes) == 5 * z.numel()
