"""The model registry: every model's shape contract, the baselines' initializations and a tiny fit per model."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from staf_nerfstudio import StafMLP
from staf_nerfstudio.networks import (
    MODEL_NAMES,
    ComplexLinear,
    FinerLayer,
    FinerSettings,
    FourierFeatures,
    GaborLayer,
    ModelsConfig,
    StafSettings,
    WireSettings,
    build_model,
    count_parameters,
)

IMAGE_SHAPE = dict(in_features=2, out_features=3, hidden_features=256, hidden_layers=3)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one thread is faster and does not fight other processes for the shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_model_maps_batch_dims_and_backpropagates(name: str, dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    model = build_model(name, 5, 4, hidden_features=16, hidden_layers=2).to(dtype)
    x = torch.rand(7, 5, 5, dtype=dtype) * 2 - 1
    y = model(x)
    assert y.shape == (7, 5, 4)
    assert y.dtype == dtype
    assert torch.isfinite(y).all()
    y.square().mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)
    # the same points in a flat batch give the same values
    assert torch.allclose(model(x.reshape(-1, 5)).reshape(7, 5, 4), y.detach())


def test_image_shape_parameter_counts() -> None:
    counts = {name: count_parameters(build_model(name, **IMAGE_SHAPE)) for name in MODEL_NAMES}
    print("parameters at 2 -> 256 x 3 hidden -> 3:", counts)
    assert counts["siren"] == 198_915  # the STAF paper (arXiv 2502.00869)
    assert counts["staf"] == 198_975  # the STAF paper: SIREN + 4 activations x 3 x tau (layer-wise) parameters
    assert counts["finer"] == counts["gauss"] == counts["siren"]
    # WIRE: int(256 / sqrt(2)) = 181 complex units, each complex weight two reals
    width = int(256 / math.sqrt(2))
    assert counts["wire"] == (2 * width + width) + 2 * (3 * (width * width + width) + (width * 3 + 3))
    # ReLU + PE: 512 encoded features into the first linear layer; the frequencies are a buffer, not counted
    assert counts["relu-pe"] == counts["siren"] - (2 * 256) + (512 * 256)


def test_staf_comes_from_staf_nerfstudio_with_its_settings() -> None:
    config = ModelsConfig(staf=StafSettings(tau=3, first_omega=60.0, skip=True, sharing="neuron", init="unit"))
    model = build_model("staf", 2, 3, hidden_features=8, hidden_layers=2, config=config)
    assert isinstance(model, StafMLP)
    assert model.tau == 3 and model.sharing == "neuron" and model.init == "unit"
    assert [block.skip for block in model.layers] == [False, True, True]
    assert model.layers[0].activation.omega == 60.0 and model.layers[1].activation.omega == 30.0


def test_siren_init_bounds() -> None:
    torch.manual_seed(0)
    omega = 30.0
    model = build_model("siren", **IMAGE_SHAPE)
    first, hidden = model.layers[0].linear.weight, [layer.linear.weight for layer in model.layers[1:]]
    assert first.abs().max() <= 1 / 2
    assert first.abs().max() > 0.9 * (1 / 2)
    bound = math.sqrt(6 / 256) / omega
    for weight in [*hidden, model.head.weight]:
        assert weight.abs().max() <= bound
        assert weight.abs().max() > 0.9 * bound
        assert weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.05)  # uniform, not e.g. normal
    assert all(layer.omega == omega for layer in model.layers)


def test_finer_first_bias_range_and_detached_scale() -> None:
    torch.manual_seed(0)
    model = build_model("finer", **IMAGE_SHAPE, config=ModelsConfig(finer=FinerSettings(first_bias_scale=5.0)))
    bias = model.layers[0].linear.bias
    assert bias.abs().max() <= 5.0 and bias.abs().max() > 4.5
    assert model.layers[1].linear.bias.abs().max() <= 1 / math.sqrt(256)  # other biases keep PyTorch's init
    assert model.layers[0].linear.weight.abs().max() <= 1 / 2

    # sin(omega (|z| + 1) z): the FINER reference detaches (|z| + 1); the option backpropagates through it
    z = torch.linspace(-1.5, 1.5, 31, dtype=torch.float64, requires_grad=True)
    for requires_grad, factor in ((False, z.abs() + 1), (True, 2 * z.abs() + 1)):
        layer = FinerLayer(1, 1, omega=3.0, scale_requires_grad=requires_grad).double()
        with torch.no_grad():
            layer.linear.weight.fill_(1.0)
            layer.linear.bias.zero_()
        y = layer(z.unsqueeze(-1)).squeeze(-1)
        assert torch.allclose(y, torch.sin(3.0 * (z.abs() + 1) * z))
        (grad,) = torch.autograd.grad(y.sum(), z)
        assert torch.allclose(grad, 3.0 * factor.detach() * torch.cos(3.0 * (z.abs() + 1) * z).detach())


def test_wire_matches_complex_reference_formulation() -> None:
    torch.manual_seed(0)
    model = build_model("wire", 2, 3, hidden_features=16, hidden_layers=2).double()
    assert [layer.linear.weight_real.shape[0] for layer in model.layers[1:]] == [11, 11]  # int(16 / sqrt(2))
    x = torch.rand(40, 2, dtype=torch.float64) * 2 - 1

    def reference_linear(module: nn.Module) -> nn.Linear:
        if isinstance(module, nn.Linear):
            return module
        assert isinstance(module, ComplexLinear)
        out_features, in_features = module.weight_real.shape
        linear = nn.Linear(in_features, out_features, dtype=torch.cdouble)
        with torch.no_grad():
            linear.weight.copy_(torch.complex(module.weight_real, module.weight_imag))
            linear.bias.copy_(torch.complex(module.bias_real, module.bias_imag))
        return linear

    h = x
    for layer in model.layers:  # exp(1j omega z - |sigma z|^2), as WIRE's reference code writes it
        assert isinstance(layer, GaborLayer)
        z = reference_linear(layer.linear)(h)
        h = torch.exp(1j * 30.0 * z - (10.0 * z).abs().square())
    expected = reference_linear(model.head)(h).real
    assert torch.allclose(model(x), expected, rtol=1e-10, atol=1e-12)


def test_complex_linear_init_matches_pytorch_complex_linear() -> None:
    layer = ComplexLinear(400, 300)
    bound = 1 / math.sqrt(400)
    for tensor in (layer.weight_real, layer.weight_imag):
        assert tensor.abs().max() <= bound and tensor.abs().max() > 0.99 * bound
    model = build_model("wire", 2, 3, hidden_features=16, hidden_layers=1)
    model.to(torch.float64)  # a cfloat nn.Linear would silently lose its imaginary part here
    assert model.layers[1].linear.weight_imag.abs().sum() > 0


def test_relu_pe_features_are_fixed_and_seeded() -> None:
    torch.manual_seed(3)
    model = build_model("relu-pe", 2, 3, hidden_features=16, hidden_layers=1)
    torch.manual_seed(3)
    again = build_model("relu-pe", 2, 3, hidden_features=16, hidden_layers=1)
    encoding = model.encoding
    assert isinstance(encoding, FourierFeatures)
    frequencies = encoding.frequencies
    assert frequencies.shape == (256, 2)
    assert torch.equal(frequencies, again.encoding.frequencies)
    assert frequencies.std().item() == pytest.approx(10.0, rel=0.1)
    assert "encoding.frequencies" in model.state_dict()  # saved with a checkpoint
    assert all(p is not frequencies for p in model.parameters())

    before = frequencies.clone()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model(torch.rand(32, 2)).square().mean().backward()
    optimizer.step()
    assert torch.equal(model.encoding.frequencies, before)

    x = torch.rand(4, 2)
    angles = 2 * math.pi * x @ frequencies.T
    assert torch.allclose(encoding(x), torch.cat([angles.cos(), angles.sin()], -1))


def test_unknown_name_and_bad_sizes() -> None:
    with pytest.raises(ValueError, match="unknown model 'mlp'; allowed: staf, siren, wire, finer, gauss, relu-pe"):
        build_model("mlp", 2, 3)
    with pytest.raises(ValueError, match="hidden_layers"):
        build_model("siren", 2, 3, hidden_layers=-1)
    with pytest.raises(ValueError, match="in_features"):
        build_model("gauss", 0, 3)
    with pytest.raises(ValueError, match="wire.sigma"):
        build_model("wire", 2, 3, config=ModelsConfig(wire=WireSettings(sigma=0.0)))


def test_models_config_is_a_cli_and_hands_out_each_models_settings() -> None:
    tyro = pytest.importorskip("tyro")
    config = tyro.cli(ModelsConfig, args=["--wire.omega", "20", "--staf.skip", "--staf.init", "unit"])
    assert config.settings("wire").omega == 20.0 and config.settings("wire").sigma == 10.0
    assert config.settings("staf").skip and config.settings("staf").init == "unit"
    assert config.settings("relu-pe") is config.relu_pe
    with pytest.raises(ValueError, match="allowed: staf, siren"):
        config.settings("relu_pe")


def test_count_parameters_counts_shared_once_and_complex_twice() -> None:
    shared = nn.Linear(3, 3)
    assert count_parameters(nn.Sequential(shared, shared)) == 12
    assert count_parameters(nn.Linear(3, 3, dtype=torch.cfloat)) == 24
    frozen = nn.Linear(3, 3)
    frozen.weight.requires_grad_(False)
    assert count_parameters(frozen) == 3


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_tiny_fit_reduces_loss(name: str) -> None:
    torch.manual_seed(0)
    # WIRE at the STAF authors' omega 30 barely moves on this toy in 200 steps; WIRE's own default omega 20 fits it
    config = ModelsConfig(wire=WireSettings(omega=20.0))
    model = build_model(name, 1, 1, hidden_features=32, hidden_layers=1, config=config)
    x = torch.linspace(-1, 1, 128).unsqueeze(-1)
    y = torch.sin(4 * math.pi * x)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    with torch.no_grad():
        start = (model(x) - y).square().mean().item()
    for _ in range(200):
        optimizer.zero_grad()
        loss = (model(x) - y).square().mean()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        end = (model(x) - y).square().mean().item()
    assert end < start / 100, f"{name}: MSE {start:.3g} -> {end:.3g}"


def _hidden_sine_argument_rms(model: nn.Module, x: torch.Tensor, layer: int) -> float:
    """RMS over points, units and terms of the sine arguments of ``model.layers[layer]`` at ``x``."""
    with torch.no_grad():
        h = x
        for block in model.layers[:layer]:
            h = block(h)
        block = model.layers[layer]
        if hasattr(block, "activation"):  # STAF: w_i * z (+ p_i, a uniform phase, left out)
            z = block.linear(h)
            return (z.unsqueeze(-1) * block.activation.frequencies).pow(2).mean().sqrt().item()
        return (block.omega * block.linear(h)).pow(2).mean().sqrt().item()  # SIREN: omega * (W h + b)


def test_hidden_omega_sets_sine_argument_scale_against_siren() -> None:
    """STAF's hidden omega (docs/results-tasks.md): arguments have RMS ~omega/6 (torch's default Linear init,
    post-activations N(0, 1/4)), so the authors' 30 runs ~3.5x hotter than SIREN's hidden layers and 10 matches them."""
    torch.manual_seed(0)
    x = torch.rand(4096, 2) * 2 - 1
    siren = build_model("siren", 2, 3, 256, 3)
    siren_rms = _hidden_sine_argument_rms(siren, x, 2)
    assert 1.2 < siren_rms < 1.7
    for omega in (10.0, 30.0):
        staf_settings = StafSettings(first_omega=60.0, hidden_omega=omega, sharing="neuron", init="official")
        settings = ModelsConfig(staf=staf_settings)
        staf = build_model("staf", 2, 3, 256, 3, settings)
        assert _hidden_sine_argument_rms(staf, x, 2) == pytest.approx(omega / 6, rel=0.15)
    assert 30.0 / 6 > 3 * siren_rms


WEIGHT_SCALED = ("siren", "finer", "staf")


def _scaled_config(name: str, weight_scale: float) -> ModelsConfig:
    config = ModelsConfig()
    config.settings(name).weight_scale = weight_scale
    return config


@pytest.mark.parametrize("name", WEIGHT_SCALED)
@pytest.mark.parametrize("weight_scale", [0.5, 2.0, 3.0])
def test_weight_scale_multiplies_every_weight_but_the_read_out(name: str, weight_scale: float) -> None:
    """Yeom et al.'s weight scaling: the same seed's network with every activation layer's weight times s; biases,
    the read-out and the activations' own parameters unchanged."""
    torch.manual_seed(3)
    plain = build_model(name, 2, 3, 32, 2)
    torch.manual_seed(3)
    scaled = build_model(name, 2, 3, 32, 2, config=_scaled_config(name, weight_scale))
    plain_state, scaled_state = plain.state_dict(), scaled.state_dict()
    assert plain_state.keys() == scaled_state.keys()
    scaled_keys = {f"layers.{k}.linear.weight" for k in range(3)}
    assert scaled_keys <= set(plain_state)
    for key, value in plain_state.items():
        if key in scaled_keys:
            assert torch.equal(scaled_state[key], value * weight_scale), key
            assert not torch.equal(scaled_state[key], value), key
        else:
            assert torch.equal(scaled_state[key], value), key


@pytest.mark.parametrize("name", WEIGHT_SCALED)
def test_weight_scale_one_is_the_unscaled_network_bit_for_bit(name: str) -> None:
    """weight_scale 1 builds exactly the network the layers build by themselves (what the registry gave before)."""
    from staf_nerfstudio.networks import BaselineMLP, SineLayer
    from staf_nerfstudio.networks.registry import _siren_head

    torch.manual_seed(5)
    built = build_model(name, 2, 3, 32, 2, config=_scaled_config(name, 1.0))
    torch.manual_seed(5)
    if name == "staf":
        direct = StafMLP(2, 32, 2, 3)
    elif name == "siren":
        direct = BaselineMLP([SineLayer(2, 32, 30.0, True), SineLayer(32, 32, 30.0), SineLayer(32, 32, 30.0)],
                             _siren_head(32, 3, 30.0), 2, 3)
    else:
        direct = BaselineMLP([FinerLayer(2, 32, 30.0, True, 5.0), FinerLayer(32, 32, 30.0), FinerLayer(32, 32, 30.0)],
                             _siren_head(32, 3, 30.0), 2, 3)
    for (key, value), (direct_key, direct_value) in zip(built.state_dict().items(), direct.state_dict().items()):
        assert key == direct_key and torch.equal(value, direct_value), key
    x = torch.rand(7, 2) * 2 - 1
    assert torch.equal(built(x), direct(x))


@pytest.mark.parametrize("name", WEIGHT_SCALED)
def test_weight_scale_must_be_positive_and_is_a_flag(name: str) -> None:
    with pytest.raises(ValueError, match=rf"{name}.weight_scale must be > 0, got 0.0"):
        build_model(name, 2, 3, config=_scaled_config(name, 0.0))
    tyro = pytest.importorskip("tyro")
    config = tyro.cli(ModelsConfig, args=[f"--{name}.weight-scale", "2"])
    assert config.settings(name).weight_scale == 2.0
