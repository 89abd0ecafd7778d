"""Runs written before the package's restructuring still load: nerfstudio runs (the class paths and keys in their
``config.yml`` and checkpoint) and a ``staf-fit`` run folder (its YAML keys and state-dict keys).

The fixtures under ``tests/fixtures/`` were trained with the code of commit e181441 (2 steps of tiny ``staf``,
``staf-hash`` and ``--pipeline.model.activation relu`` runs on ``make_scene(res=16, views=(6, 2, 2))``, checkpoints
kept without optimizer state; a 3-epoch 12x12 ``staf-fit image`` run). ``expected.json`` holds what the old code
rendered for test view 0.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch
import yaml
from conftest import FIXTURES

NERF_RUNS = FIXTURES / "old_nerf_runs"

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def scene(tiny_scene: Path) -> Path:
    return tiny_scene  # the scene the fixtures were trained on


@pytest.mark.parametrize("run", ["staf", "staf-hash", "relu"])
def test_old_nerf_run_loads_and_renders_as_before(run: str, scene: Path, tmp_path: Path) -> None:
    from staf_nerfstudio.nerf.demo import render_test_view

    config = yaml.load((NERF_RUNS / run / "config.yml").read_text(), Loader=yaml.Loader)  # as ns-eval/ns-viewer do
    assert type(config.pipeline.model).__module__ == "staf_nerfstudio.nerf.model"
    config.pipeline.datamanager.data = scene
    config.pipeline.datamanager.dataparser.data = scene
    config.output_dir = tmp_path  # eval_setup loads the latest checkpoint of config.get_checkpoint_dir()
    shutil.copytree(NERF_RUNS / run / "nerfstudio_models", config.get_checkpoint_dir())
    path = tmp_path / "config.yml"
    path.write_text(yaml.dump(config), "utf8")
    result = render_test_view(path)  # eval_setup: builds the pipeline and loads the checkpoint strictly
    expected = json.loads((NERF_RUNS / "expected.json").read_text())[run]
    assert int(result["rgb"].astype(np.int64).sum()) == expected["rgb_sum"]
    assert result["psnr"] == pytest.approx(expected["psnr"], abs=1e-4)


def test_old_task_run_renders_and_resumes(tmp_path: Path) -> None:
    from staf_tasks.cli import fit_entrypoint, render_entrypoint

    run = tmp_path / "old-image-staf"
    shutil.copytree(FIXTURES / "old_task_run", run)
    with pytest.raises(SystemExit) as exit_info:
        render_entrypoint([str(run), "--scale", "1"])
    assert exit_info.value.code == 0
    np.testing.assert_array_equal(iio.imread(run / "render_12x12.png"), iio.imread(run / "reconstruction.png"))
    state = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert "layers.0.activation.amplitudes" in state["model"]
    with pytest.raises(SystemExit) as exit_info:
        fit_entrypoint(["image", "--resume", str(run), "--train.epochs", "4", "--no-progress"])
    assert exit_info.value.code == 0
    assert json.loads((run / "metrics.json").read_text())["epochs"] == 4
