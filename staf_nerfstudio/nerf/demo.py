"""Small CPU runs of the STAF methods on a generated Blender-format scene (the demo, the tests and the benchmark).

:func:`cpu_trainer_config` turns a registered method (``staf``, ``staf-hash``) into the config ``ns-train`` would
build from the command line flags the README lists for a CPU, sized for seconds to minutes of training.
:func:`run_nerf_demo` generates a scene, trains ``staf`` on it and writes a rendered test view beside its ground
truth.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np
import torch
from nerfstudio.configs.base_config import LocalWriterConfig, LoggingConfig
from nerfstudio.data.dataparsers.blender_dataparser import BlenderDataParserConfig
from nerfstudio.engine.trainer import TrainerConfig
from nerfstudio.utils.eval_utils import eval_setup

from staf_nerfstudio.io import write_image, write_json
from staf_nerfstudio.nerf.method_configs import staf_hash_method, staf_method
from staf_nerfstudio.scene import make_scene

METHODS = {"staf": staf_method, "staf-hash": staf_hash_method}
"""The registered STAF methods by ``method_name``."""

BLENDER_FLAGS = (
    "--pipeline.model.near-plane 2 --pipeline.model.far-plane 6 --pipeline.model.background-color white "
    "--pipeline.model.proposal-initial-sampler uniform"
)
"""Model flags for Blender-format (object-centred, radius-4 cameras) scenes such as ``staf-make-scene``'s."""


def cpu_trainer_config(
    method: str,
    data: Path,
    output_dir: Path,
    max_num_iterations: int,
    rays_per_batch: int = 512,
    model_overrides: Optional[Dict[str, Any]] = None,
    experiment_name: str = "scene",
) -> TrainerConfig:
    """The config of ``ns-train METHOD --machine.device-type cpu --vis tensorboard ... blender-data``, CPU-sized.

    Args:
        method: ``"staf"`` or ``"staf-hash"``.
        data: A Blender-format scene folder.
        output_dir: Where runs go (``output_dir/experiment_name/method/timestamp``).
        max_num_iterations: Training steps; a checkpoint is saved at the end.
        rays_per_batch: Rays per training step.
        model_overrides: ``StafModelConfig`` fields to change (e.g. ``{"activation": "siren"}``).
        experiment_name: Experiment folder name.
    """
    if method not in METHODS:
        raise ValueError(f"unknown STAF method {method!r}; allowed: {', '.join(METHODS)}")
    config: TrainerConfig = copy.deepcopy(METHODS[method].config)
    config.machine.device_type = "cpu"
    config.vis = "tensorboard"
    config.output_dir = Path(output_dir)
    config.experiment_name = experiment_name
    config.max_num_iterations = max_num_iterations
    config.steps_per_save = max_num_iterations
    config.steps_per_eval_batch = max_num_iterations + 1
    config.steps_per_eval_image = max_num_iterations + 1
    config.steps_per_eval_all_images = max_num_iterations + 1
    config.save_only_latest_checkpoint = True
    config.logging = LoggingConfig(local_writer=LocalWriterConfig(enable=False))
    datamanager = config.pipeline.datamanager
    datamanager.data = Path(data)
    datamanager.dataparser = BlenderDataParserConfig()
    datamanager.train_num_rays_per_batch = rays_per_batch
    datamanager.eval_num_rays_per_batch = rays_per_batch
    model = config.pipeline.model
    model.near_plane, model.far_plane = 2.0, 6.0
    model.background_color = "white"
    model.proposal_initial_sampler = "uniform"
    model.num_proposal_samples_per_ray = (64, 32)
    model.num_nerf_samples_per_ray = 32
    model.proposal_warmup = max(max_num_iterations // 2, 1)
    model.proposal_weights_anneal_max_num_iters = max(max_num_iterations // 4, 1)
    model.eval_num_rays_per_chunk = 4096
    if method == "staf":
        model.hidden_dim = 64
        model.num_layers = 2
    for name, value in (model_overrides or {}).items():
        if not hasattr(model, name):
            raise ValueError(f"StafModelConfig has no field {name!r}")
        setattr(model, name, value)
    for entry in config.optimizers.values():
        if entry.get("scheduler") is not None:
            entry["scheduler"].max_steps = max_num_iterations
    return config


def train(config: TrainerConfig) -> Path:
    """Trains in this process as ``ns-train`` does; returns the run's ``config.yml``."""
    from nerfstudio.scripts.train import main

    main(config)
    return config.get_base_dir() / "config.yml"


def render_test_view(config_path: Path, index: int = 0, output_name: str = "rgb") -> Dict[str, Any]:
    """Renders test view ``index`` of a run through the viewer's path (``model.get_outputs_for_camera``).

    ``output_name`` picks the model output (vanilla-nerf calls its image ``rgb_fine``).

    Returns:
        ``rgb`` and ``gt`` as uint8 arrays ``(H, W, 3)`` and ``psnr`` in dB.
    """
    _, pipeline, _, _ = eval_setup(Path(config_path), test_mode="test")
    dataset = pipeline.datamanager.eval_dataset
    camera = dataset.cameras[index : index + 1].to(pipeline.device)
    with torch.no_grad():
        outputs = pipeline.model.get_outputs_for_camera(camera)
    rgb = outputs[output_name].clamp(0.0, 1.0).cpu()
    gt = pipeline.model.renderer_rgb.blend_background(dataset.get_image_float32(index)).clamp(0.0, 1.0)
    psnr = float(-10.0 * torch.log10(((rgb - gt) ** 2).mean()))
    to_u8 = lambda x: (x.numpy() * 255.0 + 0.5).astype(np.uint8)  # noqa: E731
    return {"rgb": to_u8(rgb), "gt": to_u8(gt), "psnr": psnr}


def run_nerf_demo(
    out_dir: Path, quick: bool = False, *, iterations: Optional[int] = None, res: Optional[int] = None
) -> Dict[str, Any]:
    """Generates a scene, trains ``staf`` on the CPU and writes a test view next to its ground truth.

    Args:
        out_dir: Output folder: ``scene/`` (the dataset), ``runs/`` (the nerfstudio run), ``nerf_test_view.png``
            (rendered | ground truth) and ``nerf_metrics.json``.
        quick: A smaller scene and fewer steps (about a quarter of the time).
        iterations: Override the number of training steps (tests use a handful).
        res: Override the scene resolution.

    Returns:
        ``psnr`` (test view, dB), ``wall_time_s`` (training), ``iterations``, ``image`` (the PNG), ``config``
        (the run's ``config.yml``, for ``ns-eval`` / ``ns-render`` / ``ns-export`` / ``ns-viewer``), ``metrics``.
    """
    out_dir = Path(out_dir)
    default_res, views, default_iterations = (32, (24, 2, 2), 150) if quick else (48, (40, 3, 3), 400)
    res = res or default_res
    iterations = iterations or default_iterations
    scene = out_dir / "scene"
    make_scene(scene, res=res, views=views)
    config = cpu_trainer_config("staf", scene, out_dir / "runs", iterations, rays_per_batch=512)
    start = time.perf_counter()
    config_path = train(config)
    wall_time = time.perf_counter() - start
    view = render_test_view(config_path)
    image_path = out_dir / "nerf_test_view.png"
    write_image(image_path, np.concatenate([view["rgb"], view["gt"]], axis=1))
    metrics = {
        "method": "staf",
        "psnr": view["psnr"],
        "wall_time_s": wall_time,
        "iterations": iterations,
        "resolution": res,
        "train_views": views[0],
        "image": str(image_path),
        "config": str(config_path),
    }
    write_json(out_dir / "nerf_metrics.json", metrics)
    metrics["metrics"] = out_dir / "nerf_metrics.json"
    metrics["image"] = image_path
    metrics["config"] = config_path
    return metrics
