"""The theory package: Kronecker equivalence, init statistics of whole networks, and the empirical NTK."""

import json
import math
import sys

import pytest
import torch
from torch import nn

from staf_nerfstudio import StafMLP
from staf_nerfstudio.theory import empirical_ntk, init_statistics, kronecker_report, ntk_spectrum, to_sine_network
from staf_nerfstudio.theory.init_stats import sample_post_activations
from staf_nerfstudio.theory.kronecker import SplitSineLayer
from staf_nerfstudio.theory.ntk import jacobian_groups

# --------------------------------------------------------------------------------------------------------------------
# Kronecker equivalence
# --------------------------------------------------------------------------------------------------------------------


def _trained_staf(sharing: str, skip: bool, tau: int = 3, steps: int = 25) -> StafMLP:
    """A small float64 STAF network after a few Adam steps on a toy target (every parameter moves off its init)."""
    torch.manual_seed(11)
    net = StafMLP(2, 10, 2, 2, tau=tau, first_omega=8.0, hidden_omega=4.0, skip=skip, sharing=sharing).double()
    x = torch.rand(128, 2, dtype=torch.float64) * 2 - 1
    target = torch.stack([torch.sin(3 * x[:, 0]) * torch.cos(2 * x[:, 1]), x[:, 0] * x[:, 1]], dim=-1)
    initial = {name: p.detach().clone() for name, p in net.named_parameters()}
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = (net(x) - target).square().mean()
        loss.backward()
        optimizer.step()
    for name, p in net.named_parameters():
        assert not torch.equal(p, initial[name]), f"{name} did not move during training"
    return net


@pytest.mark.parametrize("sharing", ["layer", "neuron", "network"])
@pytest.mark.parametrize("skip", [False, True])
def test_sine_network_equals_trained_staf_network(sharing, skip):
    net = _trained_staf(sharing, skip)
    sine = to_sine_network(net)
    assert all(type(m) in (nn.Linear, SplitSineLayer, nn.ModuleList, type(sine)) for m in sine.modules())
    x = torch.rand(1000, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(3)) * 4 - 2
    with torch.no_grad():
        expected, got = net(x), sine(x)
    relative = ((got - expected).abs().max() / expected.abs().max()).item()
    assert relative < 1e-9, relative


@pytest.mark.parametrize("sharing, skip", [("layer", False), ("neuron", True)])
def test_kronecker_report_counts(sharing, skip):
    tau, width, hidden_layers = 4, 6, 2
    net = StafMLP(3, width, hidden_layers, 2, tau=tau, sharing=sharing, skip=skip)
    report = kronecker_report(net)
    layers = hidden_layers + 1
    assert report.staf_parameters == sum(p.numel() for p in net.parameters())
    assert report.sine_widths == [tau * width] * layers
    assert report.passthrough_widths == [0] + [width if skip else 0] * hidden_layers
    assert report.frequency_combinations == tau**layers
    assert report.sine_paths == (tau * width) ** layers and report.staf_paths == width**layers
    # Layer l: (tau n + pass_l) x (fan-in + 1); the read-out reads tau n + pass of the last layer.
    fan_in, expected = 3, 0
    for passthrough in report.passthrough_widths:
        expected += (tau * width + passthrough) * (fan_in + 1)
        fan_in = tau * width + passthrough
    expected += 2 * (fan_in + 1)
    assert report.sine_parameters == expected


def test_to_sine_network_rejects_other_models():
    with pytest.raises(TypeError, match="StafMLP"):
        to_sine_network(nn.Linear(2, 2))


# --------------------------------------------------------------------------------------------------------------------
# Initialization statistics of every layer
# --------------------------------------------------------------------------------------------------------------------

NUM_NETWORKS, WIDTH = 16, 1024


@pytest.mark.parametrize("tau", [1, 2, 5, 25])
def test_unit_init_post_activations_are_standard_normal_in_every_layer(tau):
    """Neuron-wise sharing, one input: every post-activation of every layer is an independent N(0, 1) draw.

    Each neuron's (a, w, p) is independent of its pre-activation z (z depends only on earlier layers and this layer's
    linear weights), and conditionally on any z the output is exactly N(0, tau s / 2) = N(0, 1). So at one input the
    n = 16 networks x 1024 neurons of a layer are i.i.d. N(0, 1), whatever the layer. The sample variance then has
    standard error sqrt(2 / (n - 1)) = 0.011 and the excess kurtosis sqrt(24 / n) = 0.038; 5 standard errors
    (|Z| > 5 has probability 6e-7, so all 16 tau/layer cases pass with probability > 0.9999 for a correct init) still
    reject the "official" variance 1/4 and any scale off by more than ~6%. The Kolmogorov-Smirnov test against the
    exact N(0, 1) is asserted at p > 1e-4.
    """
    x = torch.tensor([[0.3, -0.7]], dtype=torch.float64)
    stats, samples = init_statistics(x, "unit", NUM_NETWORKS, WIDTH, 3, tau, sharing="neuron", seed=100 * tau)
    assert len(stats) == 4 and samples[3].shape == (NUM_NETWORKS, 1, WIDTH)
    for s in stats:
        n = s.independent_samples
        assert n == NUM_NETWORKS * WIDTH and s.expected_variance == 1.0
        assert abs(s.variance - 1.0) < 5 * math.sqrt(2 / (n - 1)), (s.layer, s.variance)
        assert abs(s.mean) < 5 * math.sqrt(1 / n), (s.layer, s.mean)
        assert abs(s.excess_kurtosis) < 5 * math.sqrt(24 / n), (s.layer, s.excess_kurtosis)
        assert s.ks_pvalue > 1e-4, (s.layer, s.ks_pvalue)


def test_layer_wise_sharing_many_networks_every_layer():
    """Layer-wise sharing (the paper's setting): neurons of a layer share (a, w, p), so they are dependent.

    One neuron per network and layer is an independent N(0, 1) draw (the argument of the neuron-wise test applies to
    the shared (a, w, p) and z of that neuron), so 1000 tiny networks give 1000 i.i.d. samples per layer: variance
    standard error sqrt(2 / 999) = 0.045 (relative), tolerance 5 standard errors (probability of a false failure
    over the 8 init/layer cases < 5e-6). The "official" init must give 1/4, which the "unit" tolerance excludes.
    """
    x = torch.tensor([[-0.2, 0.9]], dtype=torch.float64)
    for init, variance in (("unit", 1.0), ("official", 0.25)):
        stats, _ = init_statistics(x, init, 1000, 4, 3, tau=5, sharing="layer", seed=7)
        for s in stats:
            assert s.independent_samples == 1000
            tol = 5 * variance * math.sqrt(2 / 999)
            assert abs(s.independent_variance - variance) < tol, (init, s.layer, s.independent_variance)
            assert s.ks_pvalue > 1e-4, (init, s.layer, s.ks_pvalue)


def test_sampling_leaves_the_global_rng_alone():
    torch.manual_seed(5)
    before = torch.get_rng_state()
    sample_post_activations(lambda: StafMLP(1, 4, 1, 1), torch.zeros(2, 1), 2)
    assert torch.equal(before, torch.get_rng_state())


# --------------------------------------------------------------------------------------------------------------------
# Empirical NTK
# --------------------------------------------------------------------------------------------------------------------


def _explicit_ntk(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Sum over outputs of J_o J_o^T with per-sample, per-output Jacobians from torch.autograd.grad loops."""
    params = [p for p in model.parameters() if p.requires_grad]
    rows = []
    for i in range(x.shape[0]):
        out = model(x[i : i + 1]).reshape(-1)
        per_output = []
        for o in range(out.numel()):
            grads = torch.autograd.grad(out[o], params, retain_graph=True, allow_unused=True)
            per_output.append(torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1)
                                         for g, p in zip(grads, params, strict=True)]))
        rows.append(torch.stack(per_output))
    jac = torch.stack(rows)  # (N, O, P)
    return torch.einsum("nop,mop->nm", jac, jac)


@pytest.mark.parametrize("out_features", [1, 2])
@pytest.mark.parametrize("sharing", ["layer", "neuron"])
def test_ntk_matches_explicit_jacobians(out_features, sharing):
    torch.manual_seed(2)
    model = StafMLP(2, 6, 1, out_features, tau=3, first_omega=5.0, hidden_omega=5.0, sharing=sharing,
                    skip=True).double()
    x = torch.rand(9, 2, dtype=torch.float64) * 2 - 1
    expected = _explicit_ntk(model, x)
    # A tiny budget cuts the weight matrices into row pieces, so the piece assembly is exercised.
    budget = 9 * out_features * 8 * 10
    assert len(jacobian_groups(model, x, budget)) > 10
    for max_bytes, chunk in ((budget, 4), (2**30, 1024)):
        kernel = empirical_ntk(model, x, max_jacobian_bytes=max_bytes, sample_chunk=chunk)
        assert torch.allclose(kernel, expected, rtol=1e-10, atol=1e-10 * expected.abs().max().item())


@pytest.mark.parametrize("name", ["siren", "wire", "finer", "gauss", "relu-pe"])
def test_ntk_of_every_baseline_matches_explicit_jacobians(name):
    """Baselines from the model registry (WIRE is complex inside, ReLU+PE has a buffer); one head weight frozen."""
    from staf_nerfstudio.networks import build_model

    torch.manual_seed(6)
    model = build_model(name, 2, 1, hidden_features=8, hidden_layers=1).double()
    next(model.head.parameters()).requires_grad_(False)  # frozen parameters are constants of the NTK
    x = torch.rand(7, 2, dtype=torch.float64) * 2 - 1
    expected = _explicit_ntk(model, x)
    kernel = empirical_ntk(model, x, max_jacobian_bytes=7 * 8 * 30)
    assert torch.allclose(kernel, expected, rtol=1e-10, atol=1e-10 * expected.abs().max().item())


def test_ntk_of_a_baseline_with_buffers_and_its_spectrum():
    from staf_nerfstudio.networks import build_model

    torch.manual_seed(4)
    model = build_model("relu-pe", 1, 1, hidden_features=8, hidden_layers=1).double()  # Fourier features: a buffer
    x = torch.linspace(-1, 1, 12, dtype=torch.float64)[:, None]
    kernel = empirical_ntk(model, x, max_jacobian_bytes=12 * 8 * 40)
    expected = _explicit_ntk(model, x)
    assert torch.allclose(kernel, expected, rtol=1e-10, atol=1e-10 * expected.abs().max().item())
    spectrum = ntk_spectrum(kernel, num_eigenvectors=12)
    values, vectors = spectrum.eigenvalues, spectrum.eigenvectors
    assert torch.all(values[:-1] >= values[1:]) and torch.all(values >= 0)
    rebuilt = vectors @ torch.diag(values) @ vectors.T
    assert torch.allclose(rebuilt, kernel, atol=1e-9 * values[0].item())
    summary = spectrum.summary()
    assert summary["trace"] == pytest.approx(torch.trace(kernel).item())
    assert 1.0 <= summary["effective_rank"] <= 12


# --------------------------------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------------------------------


def _run_cli(monkeypatch, *args: str) -> None:
    from staf_nerfstudio.theory import cli

    monkeypatch.setattr(sys, "argv", ["staf-theory", *args])
    cli.entrypoint()


def test_cli_writes_outputs(tmp_path, monkeypatch):
    _run_cli(monkeypatch, "kronecker", "--output-dir", str(tmp_path / "k"), "--hidden-features", "8",
             "--hidden-layers", "1", "--skip", "--num-points", "64")
    report = json.loads((tmp_path / "k" / "kronecker.json").read_text())
    assert report["relative_difference"] < 1e-9 and report["frequency_combinations"] == 25

    _run_cli(monkeypatch, "init-stats", "--output-dir", str(tmp_path / "i"), "--num-networks", "2",
             "--resolution", "8", "--hidden-features", "16", "--hidden-layers", "1")
    stats = json.loads((tmp_path / "i" / "init_stats.json").read_text())
    assert set(stats["layers"]) == {"official", "unit"} and len(stats["layers"]["unit"]) == 2
    assert (tmp_path / "i" / "init_histograms.png").stat().st_size > 1000

    _run_cli(monkeypatch, "ntk", "--output-dir", str(tmp_path / "n"), "--resolution", "6", "--hidden-features", "8",
             "--hidden-layers", "1", "--num-eigenfunctions", "3", "--staf-omegas", "5")
    ntk = json.loads((tmp_path / "n" / "ntk_eigenvalues.json").read_text())
    assert set(ntk["models"]) == {"staf", "siren", "relu-pe", "staf omega=5"}
    assert all(len(m["eigenvalues"]) == 36 for m in ntk["models"].values())
    for name in ("ntk_spectrum.png", "ntk_eigenfunctions.png"):
        assert (tmp_path / "n" / name).stat().st_size > 1000


def test_cli_rejects_unknown_model(tmp_path, monkeypatch):
    with pytest.raises(SystemExit) as info:
        _run_cli(monkeypatch, "ntk", "--output-dir", str(tmp_path), "--models", "staf", "mlp-magic")
    assert info.value.code == 2
