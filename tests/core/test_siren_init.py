"""``init="siren"``: a STAF network that is exactly a SIREN at step 0 (plus small harmonic terms)."""

from __future__ import annotations

import math

import pytest
import torch

from staf_nerfstudio import StafActivation, StafMLP
from staf_nerfstudio.networks import build_model
from staf_nerfstudio.settings import ModelsConfig, SirenSettings


def _siren_with_weights_of(net: StafMLP, first_omega: float, hidden_omega: float) -> torch.nn.Module:
    settings = ModelsConfig(siren=SirenSettings(first_omega=first_omega, hidden_omega=hidden_omega))
    siren = build_model("siren", net.in_features, net.out_features, net.head.in_features, len(net.layers) - 1, settings)
    siren = siren.double()
    with torch.no_grad():
        for block, layer in zip(net.layers, siren.layers):
            layer.linear.weight.copy_(block.linear.weight)
            layer.linear.bias.copy_(block.linear.bias)
        siren.head.weight.copy_(net.head.weight)
        siren.head.bias.copy_(net.head.bias)
    return siren


@pytest.mark.parametrize("sharing", ["layer", "neuron"])
@pytest.mark.parametrize("omegas", [(30.0, 30.0), (60.0, 30.0)])
def test_siren_init_without_harmonics_is_siren_float64(sharing, omegas):
    torch.manual_seed(0)
    first, hidden = omegas
    net = StafMLP(2, 32, 3, 3, tau=5, first_omega=first, hidden_omega=hidden, sharing=sharing, init="siren",
                  extra_amplitude=0.0, first_extra_amplitude=0.0).double()
    siren = _siren_with_weights_of(net, first, hidden)
    x = torch.rand(2048, 2, dtype=torch.float64) * 2 - 1
    expected = siren(x)
    got = net(x)
    assert ((got - expected).norm() / expected.norm()).item() <= 1e-9
    # The harmonics are what makes it STAF: with them on, it is no longer the SIREN.
    with torch.no_grad():
        for act in net.activations():
            act.amplitudes[..., 1:] = 0.1
    assert ((net(x) - expected).norm() / expected.norm()).item() > 1e-3


def test_siren_init_linear_weights_have_sirens_ranges():
    torch.manual_seed(0)
    net = StafMLP(3, 64, 2, 1, first_omega=60.0, hidden_omega=30.0, init="siren")
    assert net.layers[0].linear.weight.abs().max() <= 1.0 / 3
    bound = math.sqrt(6.0 / 64) / 30.0
    for linear in [net.layers[1].linear, net.layers[2].linear, net.head]:
        assert linear.weight.abs().max() <= bound
        assert linear.weight.abs().max() > 0.9 * bound


def test_siren_init_activation_terms():
    act = StafActivation(tau=4, omega=20.0, init="siren", extra_amplitude=0.2)
    assert act.frequencies.tolist() == [20.0, 40.0, 60.0, 80.0]
    assert act.amplitudes[0].item() == 1.0 and act.phases[0].item() == 0.0
    assert act.amplitudes[1:].abs().max() <= 0.2 and act.amplitudes[1:].abs().min() > 0
    assert act.phases[1:].abs().max() <= math.pi
    neuron = StafActivation(tau=3, omega=10.0, sharing="neuron", num_features=8, init="siren")
    assert neuron.frequencies.shape == (8, 3)
    assert torch.equal(neuron.frequencies, torch.tensor([10.0, 20.0, 30.0]).expand(8, 3))
    assert torch.equal(neuron.amplitudes[:, 0], torch.ones(8))
    assert "extra_amplitude=0.2" in repr(act)


def test_siren_init_first_and_hidden_harmonic_amplitudes():
    torch.manual_seed(0)
    net = StafMLP(2, 16, 2, 3, tau=5, init="siren", extra_amplitude=0.01, first_extra_amplitude=0.5)
    first, *hidden = net.activations()
    assert first.extra_amplitude == 0.5 and first.amplitudes[1:].abs().max() > 0.01
    assert all(act.extra_amplitude == 0.01 and act.amplitudes[1:].abs().max() <= 0.01 for act in hidden)


def test_siren_init_bad_extra_amplitude():
    with pytest.raises(ValueError, match="extra_amplitude"):
        StafActivation(init="siren", extra_amplitude=-1.0)


def test_registry_passes_siren_init_settings():
    from staf_nerfstudio.settings import StafSettings

    torch.manual_seed(0)
    cfg = ModelsConfig(staf=StafSettings(init="siren", extra_amplitude=0.0, first_extra_amplitude=0.0))
    net = build_model("staf", 2, 3, 16, 1, cfg)
    assert net.init == "siren"
    assert all(torch.all(act.amplitudes[1:] == 0) for act in net.activations())
