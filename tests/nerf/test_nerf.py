"""The nerfstudio methods end to end on a tiny generated scene (CPU, a few iterations each).

Covers: the registry (with tiny-cuda-nn absent), ``ns-train staf --help``, training of ``staf``, ``staf-hash`` and the
SIREN / ReLU fields, weights-only checkpoint loading, resuming, ``ns-eval`` JSON (PSNR/SSIM, no LPIPS offline), the
viewer's camera render path, ``ns-render`` (interpolated path, images) and ``ns-export pointcloud``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict

import imageio.v2 as imageio
import numpy as np
import pytest
import torch
import yaml
from conftest import TINY_FIELD as TINY
from conftest import TINY_SCENE

pytestmark = pytest.mark.filterwarnings("ignore")

RES = TINY_SCENE["res"]
TINY_HASH = {**TINY, "hash_levels": 4, "hash_log2_size": 12, "hash_max_res": 64, "proposal_hash_levels": 2,
             "proposal_hash_log2_size": 10, "proposal_hash_max_res": (32,)}  # fmt: skip


@pytest.fixture(scope="module")
def scene(tiny_scene: Path) -> Path:
    return tiny_scene


@pytest.fixture(autouse=True)
def _no_lpips_weights(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs every test as on a machine without LPIPS weights (CI has no network and no cached weights)."""
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path_factory.getbasetemp() / "empty_hub"))


def _train(method: str, scene: Path, out: Path, iterations: int, overrides: Dict) -> Path:
    from staf_nerfstudio.nerf.demo import cpu_trainer_config, train

    config = cpu_trainer_config(method, scene, out, iterations, rays_per_batch=64, model_overrides=overrides)
    return train(config)


def _checkpoint(config_path: Path) -> Path:
    checkpoints = sorted((config_path.parent / "nerfstudio_models").glob("step-*.ckpt"))
    assert checkpoints, f"no checkpoint next to {config_path}"
    return checkpoints[-1]


@pytest.fixture(scope="module")
def staf_run(scene: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(torch.hub, "get_dir", lambda: str(tmp_path_factory.getbasetemp() / "empty_hub"))
        return _train("staf", scene, tmp_path_factory.mktemp("runs"), 4, TINY)


def test_registry_lists_methods_with_tinycudann_blocked() -> None:
    code = (
        "import sys; sys.modules['tinycudann'] = None\n"  # any `import tinycudann` now raises ImportError
        "from nerfstudio.configs.method_configs import all_methods as methods\n"
        "assert {'nerfacto', 'vanilla-nerf', 'staf', 'staf-hash', 'staf-paper'} <= set(methods), sorted(methods)\n"
        "assert all(methods[m].method_name == m for m in ('staf', 'staf-hash', 'staf-paper'))\n"
        "assert 'staf_tasks' not in sys.modules  # the entry point stays light\n"
        "print('OK')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "OK" in result.stdout, result.stderr[-3000:]


def test_staf_paper_is_the_default_method_with_the_authors_field() -> None:
    """``ns-train staf-paper``: everything as ``staf`` but the field's init and frequencies, which are the authors'."""
    import dataclasses

    from nerfstudio.configs.method_configs import all_methods

    staf, paper = all_methods["staf"], all_methods["staf-paper"]
    assert (paper.pipeline.model.staf_init, paper.pipeline.model.first_omega) == ("official", 10.0)
    assert (staf.pipeline.model.staf_init, staf.pipeline.model.first_omega) == ("siren", 30.0)
    differs = {f.name for f in dataclasses.fields(staf.pipeline.model)
               if getattr(staf.pipeline.model, f.name) != getattr(paper.pipeline.model, f.name)}  # fmt: skip
    assert differs == {"staf_init", "first_omega", "hidden_omega"}
    assert staf.optimizers == paper.optimizers and staf.max_num_iterations == paper.max_num_iterations


def test_staf_paper_trains_the_authors_init(scene: Path, tmp_path: Path) -> None:
    from staf_nerfstudio import StafMLP
    from staf_nerfstudio.nerf.demo import load_pipeline

    config_path = _train("staf-paper", scene, tmp_path, 2, TINY)
    field = load_pipeline(config_path).model.field
    trunk = next(m for m in field.modules() if isinstance(m, StafMLP))
    frequencies = trunk.activations()[0].frequencies  # the authors' init: omega * U[0, 1), moved by two Adam steps
    assert trunk.init == "official" and -0.05 < float(frequencies.min()) and float(frequencies.max()) < 10.05


def test_ns_train_help_documents_options(capsys: pytest.CaptureFixture) -> None:
    import tyro
    from nerfstudio.configs.method_configs import AnnotatedBaseConfigUnion

    with pytest.raises(SystemExit) as exit_info:
        tyro.cli(AnnotatedBaseConfigUnion, args=["staf", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "--pipeline.model.activation" in text and "Activation of every field MLP" in text
    assert "--pipeline.model.staf-init" in text


def test_make_scene_prints_the_ns_train_command_it_needs(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import shlex

    import tyro
    from nerfstudio.configs.method_configs import AnnotatedBaseConfigUnion
    from nerfstudio.data.dataparsers.blender_dataparser import BlenderDataParserConfig

    from staf_nerfstudio.scene import entrypoint

    out = tmp_path / "my scene"  # a space: the printed command must quote it
    entrypoint([str(out), "--res", "8", "--views", "1", "1", "1", "--supersample", "1"])
    printed = [line.strip() for line in capsys.readouterr().out.splitlines() if line.strip().startswith("ns-train ")]
    assert len(printed) == 1, printed
    args = shlex.split(printed[0])
    assert args[:2] == ["ns-train", "staf"]
    config = tyro.cli(AnnotatedBaseConfigUnion, args=args[1:])  # what ns-train itself parses
    model = config.pipeline.model
    assert (model.near_plane, model.far_plane) == (2.0, 6.0)
    assert (model.background_color, model.proposal_initial_sampler) == ("white", "uniform")
    assert model.disable_scene_contraction  # a bounded scene: the sine field is trained on the scene box
    assert config.data == out and isinstance(config.pipeline.datamanager.dataparser, BlenderDataParserConfig)


def test_staf_checkpoint_loads_weights_only(staf_run: Path) -> None:
    state = torch.load(_checkpoint(staf_run), map_location="cpu", weights_only=True)
    assert state["step"] == 3
    assert set(state["optimizers"]) == {"fields", "proposal_networks", "staf_activations"}
    keys = state["pipeline"].keys()
    assert any(k.endswith("amplitudes") for k in keys) and not any("lpips" in k for k in keys)


def test_staf_resume_from_checkpoint(staf_run: Path, tmp_path: Path) -> None:
    from staf_nerfstudio.nerf.demo import train

    config = yaml.load(staf_run.read_text(), Loader=yaml.Loader)
    config.load_dir = staf_run.parent / "nerfstudio_models"
    config.output_dir = tmp_path
    config.max_num_iterations = 2
    config.steps_per_save = 2
    resumed = train(config)  # trainer loads with torch.load's default (weights-only on torch >= 2.6)
    # nerfstudio resumes at the saved step + 1 and runs max_num_iterations more: steps 4 and 5.
    assert torch.load(_checkpoint(resumed), map_location="cpu", weights_only=True)["step"] == 5


def test_ns_eval_writes_psnr_ssim_and_no_fake_lpips(staf_run: Path, tmp_path: Path) -> None:
    from nerfstudio.scripts.eval import ComputePSNR

    output = tmp_path / "eval.json"
    ComputePSNR(load_config=staf_run, output_path=output).main()
    results = json.loads(output.read_text())["results"]
    assert 0.0 < results["psnr"] < 100.0 and -1.0 <= results["ssim"] <= 1.0
    assert "lpips" not in results


def test_scene_cameras_match_the_blender_dataparser(scene: Path) -> None:
    from nerfstudio.data.dataparsers.blender_dataparser import BlenderDataParserConfig

    from staf_nerfstudio.nerf.demo import scene_cameras
    from staf_nerfstudio.scene import camera_positions

    loaded = BlenderDataParserConfig(data=scene).setup().get_dataparser_outputs("test").cameras
    ours = scene_cameras(camera_positions("test", len(loaded)), RES)
    torch.testing.assert_close(ours.camera_to_worlds, loaded.camera_to_worlds)
    for name in ("fx", "fy", "cx", "cy", "width", "height"):
        torch.testing.assert_close(getattr(ours, name).float(), getattr(loaded, name).float(), msg=name)


def test_viewer_camera_render_shape(staf_run: Path) -> None:
    from nerfstudio.utils.eval_utils import eval_setup

    _, pipeline, _, _ = eval_setup(staf_run, test_mode="test")
    camera = pipeline.datamanager.eval_dataset.cameras[0:1]
    outputs = pipeline.model.get_outputs_for_camera(camera)
    assert outputs["rgb"].shape == (RES, RES, 3)
    assert outputs["accumulation"].shape == (RES, RES, 1) and outputs["depth"].shape == (RES, RES, 1)
    assert torch.isfinite(outputs["rgb"]).all()


@pytest.mark.parametrize(
    ("method", "overrides"),
    [
        ("staf-hash", TINY_HASH),
        ("staf", {**TINY, "activation": "siren"}),
        ("staf", {**TINY, "activation": "finer"}),
        ("staf", {**TINY, "activation": "relu"}),
    ],
    ids=["staf-hash", "siren-field", "finer-field", "relu-field"],
)
def test_other_variants_train(method: str, overrides: Dict, scene: Path, tmp_path: Path) -> None:
    config_path = _train(method, scene, tmp_path, 3, overrides)
    state = torch.load(_checkpoint(config_path), map_location="cpu", weights_only=True)
    keys = state["pipeline"].keys()
    has_staf = overrides.get("activation", "staf") == "staf"
    assert ("staf_activations" in state["optimizers"]) == has_staf
    assert any(k.endswith("amplitudes") for k in keys) == has_staf
    assert any(k.endswith("position_encoding.params") for k in keys) == (method == "staf-hash")


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ns-render needs ffmpeg (apt-get install ffmpeg)")
def test_ns_render_interpolated_images(staf_run: Path, tmp_path: Path) -> None:
    from nerfstudio.scripts.render import RenderInterpolated

    out = tmp_path / "render"
    RenderInterpolated(
        load_config=staf_run, output_path=out, output_format="images", interpolation_steps=2, image_format="png"
    ).main()
    frames = sorted(out.glob("*.png"))
    assert len(frames) >= 2
    assert imageio.imread(frames[0]).shape[:2] == (RES, RES)


def test_ns_export_pointcloud(staf_run: Path, tmp_path: Path) -> None:
    from nerfstudio.scripts.exporter import ExportPointCloud

    ExportPointCloud(
        load_config=staf_run, output_dir=tmp_path, num_points=500, remove_outliers=False, normal_method="open3d",
        num_rays_per_batch=512,
    ).main()  # fmt: skip
    import open3d as o3d

    cloud = o3d.io.read_point_cloud(str(tmp_path / "point_cloud.ply"))
    assert len(cloud.points) > 0


def test_nerf_demo_writes_view_and_metrics(tmp_path: Path) -> None:
    from staf_nerfstudio.nerf.demo import enlarge, run_nerf_demo

    result = run_nerf_demo(tmp_path, quick=True, iterations=3, res=RES, orbit_frames=3)
    image = imageio.imread(result["image"])
    assert image.shape == (RES, 2 * RES, 3)  # rendered | ground truth
    big = imageio.imread(result["image_x4"])[..., :3]  # labels above, then both views 4x (nearest neighbour)
    label_h = big.shape[0] - 4 * RES
    assert label_h > 10 and big.shape[1] >= 8 * RES
    assert (big[:label_h] < 128).any()  # the labels' text
    np.testing.assert_array_equal(big[label_h:, : 4 * RES], enlarge(image[:, :RES], 4))
    frames = imageio.mimread(result["orbit"])
    assert len(frames) == 3 and frames[0].shape[:2] == (2 * RES, 2 * RES)  # rendered at the scene's size, shown 2x
    assert np.abs(frames[0].astype(float) - frames[1].astype(float)).mean() > 0  # the camera moves
    saved = json.loads((tmp_path / "nerf_metrics.json").read_text())
    assert saved["psnr"] == pytest.approx(result["psnr"]) and 0.0 < result["psnr"] < 100.0
    assert result["wall_time_s"] > 0 and Path(result["config"]).name == "config.yml"
