"""Learning regression tests: small seeded fits that must reach a PSNR floor, and the training schedule itself.

A change that stops a network from learning (a wrong gradient, a broken init, a learning rate that never reaches the
optimizer) fails here. Each floor was set from measured runs (the values are in the comments) with a stated margin,
far above what an untrained or barely trained network reaches.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from staf_nerfstudio.networks import build_model
from staf_tasks.config import load_config, resolve_config_path
from staf_tasks.task_configs import ImageFitConfig
from staf_tasks.tasks.image import ImageTask
from staf_tasks.training import FitProblem, TrainConfig, fit, param_groups

pytestmark = pytest.mark.slow  # seconds to a minute each: out of the quick loop (-m "not slow"), in make test

IMAGE_STEPS = 100
"""Full-batch Adam steps of the image fits (astronaut at 32x32, a 2-64x2-3 network, lr 1e-3 decayed to 5%)."""

# Measured on the CI machine kind (2 CPU cores, torch 2.14.1), final clean-pass PSNR in dB for seeds 0 / 1 / 2:
#   the authors' preset (image_paper: STAF tau 5, omega 60/30, skip, official init): 31.31 / 33.81 / 25.77
#   SIREN (omega 30/30):                                                          34.28 / 36.53 / 34.53
#   STAF's image default (init "siren", omega 60/30, no skip):                    32.69 / 34.31 / 34.00
# The mean image scores about 12 dB. The tests run seed 0 with a 3 dB margin.
IMAGE_FLOORS = {"staf-paper": 28.3, "siren": 31.3, "staf": 29.7}


def _image_network(name: str) -> torch.nn.Module:
    """The image task's own STAF and SIREN settings; "staf-paper" takes STAF's from the authors' preset."""
    models = ImageFitConfig().models
    if name == "staf-paper":
        models = load_config(ImageFitConfig, resolve_config_path("image_paper")).models
    return build_model("siren" if name == "siren" else "staf", 2, 3, 64, 2, models)


@pytest.mark.parametrize("name", sorted(IMAGE_FLOORS))
def test_tiny_image_fit_reaches_floor(name):
    task = ImageTask()
    prepared = task.prepare(task.config_cls(data="astronaut", size=(32, 32)))
    torch.manual_seed(0)
    net = _image_network(name)
    cfg = TrainConfig(epochs=IMAGE_STEPS, batch_size=0, lr=1e-3, lr_decay=0.05, eval_every=IMAGE_STEPS, device="cpu")
    result = fit(net, prepared.problem, cfg, progress=False, seed=0)
    assert result.final["psnr"] >= IMAGE_FLOORS[name], f"{name} reached only {result.final['psnr']:.2f} dB"


def _tiny_problem(n: int = 64) -> FitProblem:
    coords = torch.linspace(-1, 1, n)[:, None]
    values = torch.sin(3 * coords)
    return FitProblem(coords, values, coords, evaluate=lambda pred: {"psnr": 0.0})


def test_learning_rate_decays_to_lr_times_b_and_activation_lr_is_scaled():
    torch.manual_seed(0)
    net = build_model("staf", 1, 1, 8, 1)
    cfg = TrainConfig(epochs=20, batch_size=16, lr=2e-3, lr_decay=0.1, activation_lr_scale=0.25, eval_every=5,
                      device="cpu")
    groups = param_groups(net, cfg)
    assert [g["name"] for g in groups] == ["linear", "activation"]
    assert groups[1]["lr"] == pytest.approx(2e-3 * 0.25)
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in net.activation_parameters()}
    result = fit(net, _tiny_problem(), cfg, progress=False)
    steps = 20 * 4
    lrs = {row["epoch"]: row["lr"] for row in result.history}
    # lr * b^(t / T): a quarter of the way (epoch 5 = step 20 of 80), half way, and the end.
    assert lrs[5] == pytest.approx(2e-3 * 0.1 ** (20 / steps))
    assert lrs[10] == pytest.approx(2e-3 * 0.1**0.5)
    assert lrs[20] == pytest.approx(2e-3 * 0.1)


def test_activation_lr_scale_zero_freezes_the_activation():
    torch.manual_seed(0)
    net = build_model("staf", 1, 1, 8, 1)
    before = [p.detach().clone() for p in net.activation_parameters()]
    linear_before = [p.detach().clone() for p in net.linear_parameters()]
    fit(net, _tiny_problem(), TrainConfig(epochs=3, batch_size=0, activation_lr_scale=0.0, device="cpu"),
        progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, net.activation_parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(linear_before, net.linear_parameters()))


NERF_ITERATIONS = 100
# Measured (OMP_NUM_THREADS=1, the shared 2-core machine): the default staf field (STAF started as a SIREN, omega
# 30/30, bounded scene) on the quick demo's scene at 16x16, 100 iterations of 512 rays: 18.05 dB on the test view
# (60 iterations: 13.48; 40: 11.15; 1 iteration: 9.04). Floor: 2 dB under the measured value, 7 dB over an untrained
# field.
NERF_FLOOR = 16.0


@pytest.mark.filterwarnings("ignore")
def test_tiny_nerf_scene_reaches_floor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from staf_nerfstudio.nerf.demo import run_nerf_demo

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "empty_hub"))  # offline: no LPIPS weights
    result = run_nerf_demo(tmp_path, quick=True, iterations=NERF_ITERATIONS, res=16)
    assert result["psnr"] >= NERF_FLOOR, f"the staf field reached only {result['psnr']:.2f} dB"


SIREN_NERF_ITERATIONS = 60
# Measured (OMP_NUM_THREADS=1, the shared 2-core machine): the SIREN field (omega 30/30, the default sine-lr-scale:
# hidden sine layers at 1/omega of the lr) on the demo's scene at 16x16 (24/2/2 views), 60 iterations of 512 rays,
# test view 0: 14.36 dB (seed 0) / 13.44 dB (seed 1). With sine-lr-scale 0.1 on every layer (first layer and
# read-out too) it stayed at 9.84 / 9.63, an untrained field's level (1 iteration: 8.94). Floor: 2 dB under seed 0,
# 3.4 dB over an untrained field.
SIREN_NERF_FLOOR = 12.3


@pytest.mark.filterwarnings("ignore")
def test_tiny_nerf_siren_field_reaches_floor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from staf_nerfstudio.nerf.demo import cpu_trainer_config, render_test_view, train
    from staf_nerfstudio.scene import make_scene

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "empty_hub"))  # offline: no LPIPS weights
    make_scene(tmp_path / "scene", res=16, views=(24, 2, 2))
    # as measured: with scene contraction
    siren = {"activation": "siren", "first_omega": 30.0, "hidden_omega": 30.0, "disable_scene_contraction": False}
    config = cpu_trainer_config("staf", tmp_path / "scene", tmp_path / "runs", SIREN_NERF_ITERATIONS,
                                model_overrides=siren)
    config.machine.seed = 0
    psnr = render_test_view(train(config))["psnr"]
    assert psnr >= SIREN_NERF_FLOOR, f"the siren field reached only {psnr:.2f} dB"
