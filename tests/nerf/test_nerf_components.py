"""Parts of the nerfstudio method that need no training: scene generator, hash grid, schedule, LPIPS, field."""

from __future__ import annotations

import json
import math
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest
import torch

from staf_nerfstudio.scene import CAMERA_ANGLE_X, look_at_pose, make_scene, render_view, scene_sdf

# ---------------------------------------------------------------------------------------------------------------------
# Scene generator
# ---------------------------------------------------------------------------------------------------------------------


def test_scene_is_deterministic_blender_format(tmp_path: Path) -> None:
    a = make_scene(tmp_path / "a", res=12, views=(3, 1, 2))
    make_scene(tmp_path / "b", res=12, views=(3, 1, 2))
    assert {k: len(v) for k, v in a.items()} == {"train": 3, "val": 1, "test": 2}
    for split in ("train", "val", "test"):
        meta = json.loads((tmp_path / "a" / f"transforms_{split}.json").read_text())
        assert meta["camera_angle_x"] == pytest.approx(CAMERA_ANGLE_X)
        for frame in meta["frames"]:
            path = tmp_path / "a" / (frame["file_path"].replace("./", "") + ".png")
            image = imageio.imread(path)
            assert image.shape == (12, 12, 4) and image.dtype == np.uint8
            assert (image == imageio.imread(str(path).replace("/a/", "/b/"))).all()
            pose = np.asarray(frame["transform_matrix"])
            rot = pose[:3, :3]
            assert np.allclose(rot.T @ rot, np.eye(3), atol=1e-9) and np.linalg.det(rot) == pytest.approx(1.0)
            # OpenGL: the camera looks down its -z axis, so +z points from the scene centre to the camera.
            assert np.allclose(rot[:, 2], pose[:3, 3] / np.linalg.norm(pose[:3, 3]), atol=1e-9)
            assert pose[2, 3] > 0 and rot[2, 1] > 0  # above the ground, image up tilted to world +z


def test_scene_render_matches_geometry() -> None:
    pose = look_at_pose(np.array([0.0, -4.0, 0.5]))
    rgba = render_view(pose, 32, supersample=1)
    alpha = rgba[..., 3]
    assert alpha[0, 0] == 0.0 and alpha[16, 16] == 1.0  # a corner sees the background, the centre the objects
    assert 0.1 < alpha.mean() < 0.9
    assert rgba[..., :3][alpha > 0].std(axis=0).min() > 0.05  # several colours
    assert scene_sdf(np.zeros((1, 3)))[0] < 0.5 and scene_sdf(np.array([[0.0, 0.0, 3.0]]))[0] > 1.0


def test_detail_scene_has_thin_struts_and_fine_texture() -> None:
    """The detail scene: a lattice tower whose posts are 0.04 wide (solid on the axis, empty 0.03 off it), a hoop,
    fence pickets; a view of it is sharper than the basic scene's (more colour edges between neighbouring pixels)."""
    from staf_nerfstudio.scene import _DETAIL_TOWER, _DETAIL_TOWER_HALF, SCENE_KINDS

    assert SCENE_KINDS == ("basic", "detail")
    x, y, h = _DETAIL_TOWER[0] + _DETAIL_TOWER_HALF, _DETAIL_TOWER[1] + _DETAIL_TOWER_HALF, 0.6
    on_post = np.array([[x, y, h]])
    off_post = np.array([[x + 0.03, y + 0.03, h], [x - 0.03, y - 0.03, h + 0.08]])
    assert scene_sdf(on_post, "detail")[0] < 0 < scene_sdf(off_post, "detail").min()
    assert scene_sdf(on_post, "basic")[0] > 0  # a point of the detail scene alone
    pose = look_at_pose(np.array([2.8, -2.4, 1.6]))
    edges = {}
    for kind in ("basic", "detail"):
        rgba = render_view(pose, 64, supersample=1, kind=kind)
        rgb = rgba[..., :3] + (1.0 - rgba[..., 3:])
        assert 0.1 < rgba[..., 3].mean() < 0.9
        edges[kind] = (np.abs(np.diff(rgb, axis=1)).max(axis=-1) > 0.2).mean()
    assert edges["detail"] > 2.0 * edges["basic"], edges
    with pytest.raises(ValueError, match="allowed: basic, detail"):
        render_view(pose, 8, kind="lego")


def test_scene_cli_kind_detail_defaults_and_basic_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--kind detail defaults to 200x200 and 100/10/10 views; without --kind the basic scene is written as before."""
    import staf_nerfstudio.scene as scene

    calls = []
    monkeypatch.setattr(
        scene, "make_scene", lambda out, res, views, ss, progress, kind: calls.append((res, views, kind))
    )
    scene.entrypoint([str(tmp_path / "d"), "--kind", "detail"])
    scene.entrypoint([str(tmp_path / "b")])
    scene.entrypoint([str(tmp_path / "e"), "--kind", "detail", "--res", "32", "--views", "3", "1", "1"])
    assert calls == [(200, (100, 10, 10), "detail"), (64, (40, 5, 5), "basic"), (32, [3, 1, 1], "detail")]
    with pytest.raises(SystemExit):
        scene.entrypoint([str(tmp_path / "x"), "--kind", "lego"])
    monkeypatch.undo()
    make_scene(tmp_path / "basic", res=10, views=(1, 1, 1))
    make_scene(tmp_path / "explicit", res=10, views=(1, 1, 1), kind="basic")
    for split in ("train", "val", "test"):
        a = imageio.imread(tmp_path / "basic" / split / "r_0.png")
        assert (a == imageio.imread(tmp_path / "explicit" / split / "r_0.png")).all()


def test_scene_cli_rejects_bad_views(tmp_path: Path) -> None:
    from staf_nerfstudio.scene import entrypoint

    with pytest.raises(SystemExit):
        entrypoint([str(tmp_path / "x"), "--views", "0", "1", "1"])


# ---------------------------------------------------------------------------------------------------------------------
# Hash grid: the torch path against a straightforward per-point loop of tiny-cuda-nn's HashGrid definition
# ---------------------------------------------------------------------------------------------------------------------


def _hash_grid_reference(grid, x: np.ndarray) -> np.ndarray:
    """Plain loops over points, levels and corners (tiny-cuda-nn's grid_index and linear interpolation)."""
    table = grid.params.detach().double().numpy().reshape(-1, grid.features_per_level)
    hashmap_cap = 1 << grid.log2_hashmap_size
    out = np.zeros((len(x), grid.num_levels * grid.features_per_level))
    offset = 0
    for level in range(grid.num_levels):
        scale = 2.0 ** (level * math.log2(grid.per_level_scale)) * grid.base_resolution - 1.0
        res = math.ceil(scale) + 1
        size = min((res**3 + 7) // 8 * 8, hashmap_cap)
        for n, point in enumerate(x):
            pos = point.astype(np.float32) * np.float32(scale) + np.float32(0.5)
            base = np.floor(pos).astype(np.int64)
            frac = pos - base
            for corner in range(8):
                v = [int(base[d] + ((corner >> d) & 1)) for d in range(3)]
                w = np.prod([frac[d] if (corner >> d) & 1 else 1 - frac[d] for d in range(3)])
                if res**3 <= size:
                    index = v[0] + v[1] * res + v[2] * res * res
                else:
                    index = (v[0] ^ (v[1] * 2654435761) ^ (v[2] * 805459861)) & 0xFFFFFFFF
                out[n, level * grid.features_per_level : (level + 1) * grid.features_per_level] += (
                    w * table[offset + index % size]
                )
        offset += size
    return out, offset


def test_hash_grid_torch_matches_reference() -> None:
    from staf_nerfstudio.nerf.hash_grid import HashGridEncoding

    torch.manual_seed(0)
    grid = HashGridEncoding(num_levels=4, features_per_level=2, log2_hashmap_size=10, base_resolution=4,
                            max_resolution=32, implementation="torch", init_scale=1.0)  # fmt: skip
    assert grid._use_hash.tolist() == [False, False, True, True]  # resolutions 4, 8 dense; 16, 32 hashed
    x = torch.rand(40, 3)
    got = grid(x).detach().double().numpy()
    assert got.shape == (40, 8)
    expected, entries = _hash_grid_reference(grid, x.numpy())
    assert grid.params.numel() == entries * 2 == (64 + 512 + 1024 + 1024) * 2
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    grid(x).sum().backward()
    assert grid.params.grad is not None and grid.params.grad.abs().sum() > 0
    assert list(grid.state_dict()) == ["params"]  # one layout whichever backend runs


def test_hash_grid_interpolates_vertices() -> None:
    from staf_nerfstudio.nerf.hash_grid import HashGridEncoding

    grid = HashGridEncoding(num_levels=1, features_per_level=1, log2_hashmap_size=12, base_resolution=8,
                            max_resolution=8, implementation="torch", init_scale=1.0)  # fmt: skip
    scale = 7.0  # base_resolution - 1
    vertex = torch.tensor([[2.0, 3.0, 5.0]])
    x = (vertex - 0.5) / scale  # lands exactly on a grid vertex
    expected = grid.params[int(2 + 3 * 8 + 5 * 64)]
    assert grid(x).item() == pytest.approx(expected.item(), abs=1e-5)


# ---------------------------------------------------------------------------------------------------------------------
# Learning-rate schedule: same factors as nerfstudio's numpy one, as Python floats
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("warmup", [0, 10])
def test_schedule_matches_nerfstudio(warmup: int) -> None:
    from nerfstudio.engine.schedulers import ExponentialDecaySchedulerConfig

    from staf_nerfstudio.nerf.schedulers import StafExponentialDecaySchedulerConfig

    params = [torch.nn.Parameter(torch.zeros(1))]
    kwargs = dict(lr_final=1e-4, max_steps=100, warmup_steps=warmup)
    ours = StafExponentialDecaySchedulerConfig(**kwargs).setup().get_scheduler(torch.optim.Adam(params, lr=1e-2), 1e-2)
    theirs = ExponentialDecaySchedulerConfig(**kwargs).setup().get_scheduler(torch.optim.Adam(params, lr=1e-2), 1e-2)
    for step in (0, 1, 5, 10, 50, 99, 100, 150):
        a, b = ours.lr_lambdas[0](step), theirs.lr_lambdas[0](step)
        assert type(a) is float
        assert a == pytest.approx(float(b), rel=1e-9)


# ---------------------------------------------------------------------------------------------------------------------
# LPIPS offline
# ---------------------------------------------------------------------------------------------------------------------


def test_lpips_unavailable_without_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from staf_nerfstudio.nerf import lpips

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    assert lpips.build_lpips() is None
    reason = lpips.lpips_unavailable_reason()
    assert reason is not None and str(tmp_path) in reason and lpips.ALEXNET_WEIGHTS_FILE in reason


# ---------------------------------------------------------------------------------------------------------------------
# Field
# ---------------------------------------------------------------------------------------------------------------------


def _ray_samples(rays: int = 4, samples: int = 6, dtype: torch.dtype = torch.float32):
    """Samples along random rays from the origin, through the scene box of the field tests."""
    from nerfstudio.cameras.rays import Frustums, RaySamples

    origins = torch.zeros(rays, samples, 3, dtype=dtype)
    directions = torch.nn.functional.normalize(torch.randn(rays, samples, 3, dtype=dtype), dim=-1)
    starts = torch.linspace(0.1, 1.4, samples, dtype=dtype).expand(rays, samples)[..., None]
    return RaySamples(
        frustums=Frustums(origins, directions, starts, starts + 0.1, pixel_area=torch.ones(rays, samples, 1)),
        camera_indices=torch.zeros(rays, samples, 1, dtype=torch.long),
    )


@pytest.mark.parametrize("activation", ["staf", "siren", "finer", "relu"])
def test_field_activation_switch(activation: str) -> None:
    from nerfstudio.field_components.field_heads import FieldHeadNames

    from staf_nerfstudio import StafMLP
    from staf_nerfstudio.nerf.field import StafField

    aabb = torch.tensor([[-1.5, -1.5, -1.5], [1.5, 1.5, 1.5]])
    field = StafField(aabb, num_images=2, activation=activation, hidden_dim=16, num_layers=1, hidden_dim_color=8)
    has_staf = any(isinstance(m, StafMLP) for m in field.modules())
    assert has_staf == (activation == "staf")
    assert (len(field.activation_parameters()) > 0) == (activation == "staf")
    assert len(field.activation_parameters()) + len(field.other_parameters()) == len(list(field.parameters()))
    samples = _ray_samples()
    out = field(samples)
    assert out[FieldHeadNames.RGB].shape == (4, 6, 3) and out[FieldHeadNames.DENSITY].shape == (4, 6, 1)
    assert (out[FieldHeadNames.DENSITY] >= 0).all() and (
        (out[FieldHeadNames.RGB] >= 0) & (out[FieldHeadNames.RGB] <= 1)
    ).all()


def test_finer_field_is_the_registrys_finer_with_its_first_layer_bias() -> None:
    """activation="finer": the trunk is the registry's FINER network (seeded alike, the same numbers), its first-layer
    biases span FINER's U(-k, k), the colour head's first layer keeps PyTorch's 1/sqrt(inputs) bias range, and the
    flag reaches the trunk through StafModelConfig."""
    from nerfstudio.data.scene_box import SceneBox

    from staf_nerfstudio.nerf.field import StafField
    from staf_nerfstudio.nerf.model import StafModelConfig
    from staf_nerfstudio.networks import FinerLayer, FinerSettings, build_model
    from staf_nerfstudio.settings import ModelsConfig

    aabb = torch.tensor([[-1.5, -1.5, -1.5], [1.5, 1.5, 1.5]])
    torch.manual_seed(0)
    field = StafField(aabb, num_images=2, activation="finer", hidden_dim=32, num_layers=1, geo_feat_dim=4,
                      hidden_dim_color=8, first_omega=30.0, hidden_omega=30.0, finer_first_bias_scale=5.0)
    torch.manual_seed(0)
    want = build_model("finer", 3, 5, 32, 1, ModelsConfig(finer=FinerSettings(30.0, 30.0, first_bias_scale=5.0)))
    got_state, want_state = field.mlp_base.state_dict(), want.state_dict()
    assert list(got_state) == list(want_state)
    assert all(torch.equal(got_state[k], want_state[k]) for k in want_state)
    first = field.mlp_base.layers[0]
    assert isinstance(first, FinerLayer) and first.omega == 30.0
    assert 2.5 < first.linear.bias.abs().max() <= 5.0  # 32 draws of U(-5, 5)
    head_first = field.mlp_head.layers[0]
    assert isinstance(head_first, FinerLayer)
    assert head_first.linear.bias.abs().max() <= 1.0 / head_first.linear.in_features**0.5
    density, _ = field.get_density(_ray_samples())
    assert torch.isfinite(density).all() and (density >= 0).all()

    box = SceneBox(aabb=aabb)
    torch.manual_seed(0)
    model = StafModelConfig(activation="finer", finer_first_bias_scale=2.0, hidden_dim=16, num_layers=1,
                            hidden_dim_color=8, proposal_hidden_dim=8).setup(scene_box=box, num_train_data=2)
    for net in (model.field, *model.proposal_networks):
        assert isinstance(net.mlp_base.layers[0], FinerLayer)
        assert 1.0 < net.mlp_base.layers[0].linear.bias.abs().max() <= 2.0
    assert "staf_activations" not in model.get_param_groups()
    with pytest.raises(ValueError, match="allowed: staf, siren, finer, relu"):
        StafField(aabb, num_images=2, activation="fine")


def test_fourier_encoding_is_the_relu_fields_own_input() -> None:
    """encoding="fourier" puts the ReLU+PE trunk's Fourier features (same frequencies, same [-1, 1] input) in front of
    any activation: seeded alike, a ReLU field so built draws the same numbers in the same order and computes exactly
    the built-in ReLU+PE field's density (so the README's ReLU+PE numbers hold under either spelling)."""
    from staf_nerfstudio import StafMLP
    from staf_nerfstudio.nerf.field import StafField
    from staf_nerfstudio.networks import FourierFeatures

    aabb = torch.tensor([[-1.5, -1.5, -1.5], [1.5, 1.5, 1.5]])
    sizes = dict(hidden_dim=16, num_layers=1, hidden_dim_color=8, pe_frequencies=12, pe_sigma=1.0)
    torch.manual_seed(0)
    builtin = StafField(aabb, num_images=2, activation="relu", encoding="none", **sizes).double()
    torch.manual_seed(0)
    explicit = StafField(aabb, num_images=2, activation="relu", encoding="fourier", **sizes).double()
    assert isinstance(explicit.position_encoding, FourierFeatures) and builtin.position_encoding is None
    want_values, got_values = list(builtin.state_dict().values()), list(explicit.state_dict().values())
    assert len(want_values) == len(got_values)
    assert all(torch.equal(a, b) for a, b in zip(want_values, got_values))
    samples = _ray_samples(dtype=torch.float64)
    want, _ = builtin.get_density(samples)
    got, _ = explicit.get_density(samples)
    assert want.abs().max() > 0
    torch.testing.assert_close(got, want, rtol=1e-12, atol=0)

    staf = StafField(aabb, num_images=2, activation="staf", encoding="fourier", **sizes)
    (trunk,) = [m for m in staf.mlp_base.modules() if isinstance(m, StafMLP)]
    assert trunk.layers[0].linear.in_features == 24
    density, _ = staf.get_density(_ray_samples())
    assert torch.isfinite(density).all() and density.shape == (4, 6, 1)
    with pytest.raises(ValueError, match="allowed: none, hash, fourier"):
        StafField(aabb, num_images=2, encoding="fourrier")


def test_field_skip_reaches_every_staf_mlp() -> None:
    from staf_nerfstudio import StafMLP
    from staf_nerfstudio.nerf.field import StafField

    aabb = torch.tensor([[-1.5, -1.5, -1.5], [1.5, 1.5, 1.5]])
    for skip in (False, True):
        field = StafField(aabb, num_images=2, hidden_dim=16, num_layers=2, hidden_dim_color=8, skip=skip)
        mlps = [m for m in field.modules() if isinstance(m, StafMLP)]
        assert len(mlps) == 2 and all(len(m.layers) >= 2 for m in mlps)
        assert all(block.skip == (skip and i > 0) for m in mlps for i, block in enumerate(m.layers))


def test_proposal_activation_overrides_only_the_proposal_fields() -> None:
    from nerfstudio.data.scene_box import SceneBox

    from staf_nerfstudio.nerf.model import STAF_ACTIVATION_GROUP, StafModelConfig

    box = SceneBox(aabb=torch.tensor([[-1.5, -1.5, -1.5], [1.5, 1.5, 1.5]]))
    sizes = dict(hidden_dim=16, num_layers=1, hidden_dim_color=8, proposal_hidden_dim=8)
    for main, proposal in (("staf", "relu"), ("relu", "staf"), ("staf", None)):
        model = StafModelConfig(activation=main, proposal_activation=proposal, **sizes).setup(
            scene_box=box, num_train_data=2
        )
        expected = proposal or main
        assert bool(model.field.activation_parameters()) == (main == "staf")
        assert all(bool(net.activation_parameters()) == (expected == "staf") for net in model.proposal_networks)
        groups = model.get_param_groups()
        activations = {id(p) for p in groups[STAF_ACTIVATION_GROUP]}
        owners = [model.field] if main == "staf" else []
        owners += list(model.proposal_networks) if expected == "staf" else []
        assert activations == {id(p) for m in owners for p in m.activation_parameters()}
        assert not activations & {id(p) for p in groups["fields"] + groups["proposal_networks"]}


def _hidden_layer_parameters(mlp: torch.nn.Module) -> set:
    activations = {id(p) for p in mlp.activation_parameters()} if hasattr(mlp, "activation_parameters") else set()
    return {id(p) for layer in list(mlp.layers)[1:] for p in layer.parameters() if id(p) not in activations}


@pytest.mark.parametrize(
    ("activation", "init", "scaled"),
    [("siren", "official", True), ("finer", "official", True), ("staf", "siren", True), ("staf", "official", False),
     ("relu", "official", False)],
)
def test_sine_lr_scale_reaches_the_optimizer(activation: str, init: str, scaled: bool) -> None:
    """Fields that start from SIREN's init train the hidden layers of their MLPs at sine-lr-scale times the group's
    learning rate (the schedule scales every torch group alike); their first layers and read-outs, STAF's activation
    parameters and the other fields keep the plain rate."""
    import copy

    from nerfstudio.data.scene_box import SceneBox
    from nerfstudio.engine.optimizers import Optimizers

    from staf_nerfstudio.nerf.method_configs import staf_method
    from staf_nerfstudio.nerf.model import STAF_ACTIVATION_GROUP, StafModelConfig
    from staf_nerfstudio.nerf.schedulers import exponential_decay_factor

    box = SceneBox(aabb=torch.tensor([[-1.5, -1.5, -1.5], [1.5, 1.5, 1.5]]))
    model = StafModelConfig(
        activation=activation, staf_init=init, sine_lr_scale=0.25, hidden_dim=16, num_layers=2, hidden_dim_color=8,
        proposal_hidden_dim=8, proposal_num_layers=1,
    ).setup(scene_box=box, num_train_data=2)  # fmt: skip
    config = copy.deepcopy(staf_method.config.optimizers)
    groups = model.get_param_groups()
    optimizers = Optimizers(config, groups)
    for name, owners in (("fields", [model.field]), ("proposal_networks", list(model.proposal_networks))):
        lr = config[name]["optimizer"].lr
        torch_groups = optimizers.optimizers[name].param_groups
        assert sum(len(g["params"]) for g in torch_groups) == len(groups[name])
        low = {id(p) for g in torch_groups if g["lr"] == pytest.approx(0.25 * lr) for p in g["params"]}
        full = {id(p) for g in torch_groups if g["lr"] == pytest.approx(lr) for p in g["params"]}
        assert len(low) + len(full) == len(groups[name])
        mlps = [m for f in owners for m in (f.mlp_base, getattr(f, "mlp_head", None)) if m is not None]
        assert low == (set().union(*(_hidden_layer_parameters(m) for m in mlps)) if scaled else set())
        if scaled:
            ends = {id(p) for m in mlps for p in [*m.layers[0].parameters(), *m.head.parameters()]}
            ends -= {id(p) for f in owners for p in f.activation_parameters()}
            assert low and ends <= full
    if activation == "staf":
        activation_lrs = [g["lr"] for g in optimizers.optimizers[STAF_ACTIVATION_GROUP].param_groups]
        assert activation_lrs == [pytest.approx(config[STAF_ACTIVATION_GROUP]["optimizer"].lr)]
    for _ in range(3):
        optimizers.scheduler_step_all(0)
    lr = config["fields"]["optimizer"].lr
    factor = exponential_decay_factor(3, lr, config["fields"]["scheduler"])
    assert factor < 1.0
    lrs = sorted(g["lr"] for g in optimizers.optimizers["fields"].param_groups)
    assert lrs == ([pytest.approx(0.25 * lr * factor)] if scaled else []) + [pytest.approx(lr * factor)]


def test_sine_lr_scale_default_is_one_over_omega_and_leaves_the_hash_grid_alone() -> None:
    from nerfstudio.data.scene_box import SceneBox

    from staf_nerfstudio.nerf.model import StafModelConfig
    from staf_nerfstudio.nerf.schedulers import LR_SCALE_ATTR

    box = SceneBox(aabb=torch.tensor([[-1.5, -1.5, -1.5], [1.5, 1.5, 1.5]]))
    model = StafModelConfig(
        activation="siren", encoding="hash", hidden_dim=16, num_layers=2, hidden_dim_color=8, proposal_hidden_dim=8,
        hash_levels=2, hash_log2_size=8, proposal_hash_levels=2, proposal_hash_log2_size=8, first_omega=30.0,
        hidden_omega=20.0, color_omega=4.0,
    ).setup(scene_box=box, num_train_data=2)  # fmt: skip
    assert model.config.sine_lr_scale is None
    grid = list(model.field.position_encoding.parameters())
    assert grid and not any(hasattr(p, LR_SCALE_ATTR) for p in grid)
    for mlp, omega in ((model.field.mlp_base, 20.0), (model.field.mlp_head, 4.0)):
        assert all(getattr(p, LR_SCALE_ATTR) == pytest.approx(1.0 / omega) for p in mlp.layers[1].parameters())
        assert not any(hasattr(p, LR_SCALE_ATTR) for p in [*mlp.layers[0].parameters(), *mlp.head.parameters()])


def test_color_activation_overrides_only_the_colour_head() -> None:
    """color-activation relu: a SIREN trunk with a plain ReLU colour head; only the SIREN trunk is lr-scaled."""
    from nerfstudio.data.scene_box import SceneBox

    from staf_nerfstudio.nerf.model import StafModelConfig
    from staf_nerfstudio.nerf.schedulers import LR_SCALE_ATTR
    from staf_nerfstudio.networks import SineLayer

    box = SceneBox(aabb=torch.tensor([[-1.5, -1.5, -1.5], [1.5, 1.5, 1.5]]))
    sizes = dict(hidden_dim=16, num_layers=1, hidden_dim_color=8, proposal_hidden_dim=8)
    model = StafModelConfig(activation="siren", color_activation="relu", **sizes).setup(scene_box=box, num_train_data=2)
    head_modules = list(model.field.mlp_head.modules())
    assert any(isinstance(m, torch.nn.ReLU) for m in head_modules)
    assert not any(isinstance(m, SineLayer) for m in head_modules)
    assert isinstance(model.field.mlp_base.layers[0], SineLayer)
    assert not any(hasattr(p, LR_SCALE_ATTR) for p in model.field.mlp_head.parameters())
    assert all(hasattr(p, LR_SCALE_ATTR) for p in model.field.mlp_base.layers[1].parameters())
    plain = StafModelConfig(activation="siren", **sizes).setup(scene_box=box, num_train_data=2)
    assert any(isinstance(m, SineLayer) for m in plain.field.mlp_head.modules())
