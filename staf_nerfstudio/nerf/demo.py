"""Small CPU runs of the STAF methods on a generated Blender-format scene (the demo, the tests and the benchmark).

:func:`cpu_trainer_config` turns a registered method (``staf``, ``staf-hash``) into the config ``ns-train`` would
build from the command line flags docs/nerf.md lists for a CPU, sized for seconds to minutes of training.
:func:`run_nerf_demo` generates a scene, trains ``staf`` on it and writes a rendered test view beside its ground
truth (also enlarged and labelled) and an orbit around the scene as a GIF.
"""

from __future__ import annotations

import copy
import math
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from nerfstudio.cameras.cameras import Cameras
from nerfstudio.configs.base_config import LocalWriterConfig, LoggingConfig
from nerfstudio.data.dataparsers.blender_dataparser import BlenderDataParserConfig
from nerfstudio.engine.trainer import TrainerConfig
from nerfstudio.pipelines.base_pipeline import Pipeline
from nerfstudio.utils.eval_utils import eval_setup
from torch import Tensor

from staf_nerfstudio.io import atomic_path, write_image, write_json
from staf_nerfstudio.nerf.method_configs import staf_hash_method, staf_method, staf_paper_method
from staf_nerfstudio.scene import (
    BOUNDED_METHODS,
    CAMERA_ANGLE_X,
    CAMERA_RADIUS,
    FAR_PLANE,
    NEAR_PLANE,
    look_at_pose,
    make_scene,
)

METHODS = {"staf": staf_method, "staf-paper": staf_paper_method, "staf-hash": staf_hash_method}
"""The registered STAF methods by ``method_name``."""


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
        method: ``"staf"``, ``"staf-paper"`` or ``"staf-hash"``.
        data: A Blender-format scene folder.
        output_dir: Where runs go (``output_dir/experiment_name/method/timestamp``).
        max_num_iterations: Training steps; a checkpoint is saved at the end.
        rays_per_batch: Rays per training step.
        model_overrides: ``StafModelConfig`` fields to change (e.g. ``{"activation": "siren"}``). Scene contraction
            is set as ``staf-make-scene`` prints the method's command (off for the methods in
            :data:`~staf_nerfstudio.scene.BOUNDED_METHODS`); ``{"disable_scene_contraction": False}`` turns it on.
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
    model.near_plane, model.far_plane = NEAR_PLANE, FAR_PLANE  # scene.BLENDER_FLAGS
    model.background_color = "white"
    model.proposal_initial_sampler = "uniform"
    model.num_proposal_samples_per_ray = (64, 32)
    model.num_nerf_samples_per_ray = 32
    model.proposal_warmup = max(max_num_iterations // 2, 1)
    model.proposal_weights_anneal_max_num_iters = max(max_num_iterations // 4, 1)
    model.eval_num_rays_per_chunk = 4096
    model.disable_scene_contraction = method in BOUNDED_METHODS
    if method != "staf-hash":
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


def _to_uint8(image: Tensor) -> np.ndarray:
    return (image.clamp(0.0, 1.0).cpu().numpy() * 255.0 + 0.5).astype(np.uint8)


def load_pipeline(config_path: Path) -> Pipeline:
    """A trained run's pipeline in eval mode, as ``ns-eval`` / ``ns-viewer`` load it."""
    return eval_setup(Path(config_path), test_mode="test")[1]


def render_test_view(
    config_path: Path, index: int = 0, output_name: str = "rgb", pipeline: Optional[Pipeline] = None
) -> Dict[str, Any]:
    """Renders test view ``index`` of a run through the viewer's path (``model.get_outputs_for_camera``).

    ``output_name`` picks the model output (vanilla-nerf calls its image ``rgb_fine``); ``pipeline`` reuses a
    pipeline already loaded from ``config_path``.

    Returns:
        ``rgb`` and ``gt`` as uint8 arrays ``(H, W, 3)`` and ``psnr`` in dB.
    """
    pipeline = pipeline or load_pipeline(config_path)
    dataset = pipeline.datamanager.eval_dataset
    camera = dataset.cameras[index : index + 1].to(pipeline.device)
    with torch.no_grad():
        outputs = pipeline.model.get_outputs_for_camera(camera)
    rgb = outputs[output_name].clamp(0.0, 1.0).cpu()
    gt = pipeline.model.renderer_rgb.blend_background(dataset.get_image_float32(index)).clamp(0.0, 1.0)
    psnr = float(-10.0 * torch.log10(((rgb - gt) ** 2).mean()))
    return {"rgb": _to_uint8(rgb), "gt": _to_uint8(gt), "psnr": psnr}


def scene_cameras(positions: np.ndarray, res: int) -> Cameras:
    """Cameras at ``positions`` ``(N, 3)`` looking at the origin, as ``staf-make-scene`` places its cameras.

    Same pose convention, field of view and principal point as the scene's views loaded by the Blender dataparser
    (which keeps the scene's world frame: scale factor 1).
    """
    poses = np.stack([look_at_pose(p)[:3, :4] for p in positions])
    focal = 0.5 * res / math.tan(0.5 * CAMERA_ANGLE_X)
    return Cameras(
        camera_to_worlds=torch.tensor(poses, dtype=torch.float32), fx=focal, fy=focal, cx=0.5 * res, cy=0.5 * res,
        width=res, height=res,
    )  # fmt: skip


def orbit_cameras(res: int, frames: int, elevation_deg: float = 30.0) -> Cameras:
    """``frames`` cameras on a circle around a ``staf-make-scene`` scene, at its cameras' distance."""
    azimuth = 2.0 * math.pi * np.arange(frames) / frames
    cos_el, sin_el = math.cos(math.radians(elevation_deg)), math.sin(math.radians(elevation_deg))
    positions = CAMERA_RADIUS * np.stack(
        [cos_el * np.cos(azimuth), cos_el * np.sin(azimuth), np.full(frames, sin_el)], axis=-1
    )
    return scene_cameras(positions, res)


def render_orbit(pipeline: Pipeline, res: int, frames: int = 24, elevation_deg: float = 30.0) -> List[np.ndarray]:
    """Renders :func:`orbit_cameras` through the viewer's path; returns uint8 ``(res, res, 3)`` frames."""
    cameras = orbit_cameras(res, frames, elevation_deg).to(pipeline.device)
    images = []
    with torch.no_grad():
        for i in range(frames):
            images.append(_to_uint8(pipeline.model.get_outputs_for_camera(cameras[i : i + 1])["rgb"]))
    return images


def enlarge(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement: every pixel becomes a ``factor`` x ``factor`` block."""
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def labelled_panels(panels: Sequence[Tuple[str, np.ndarray]], scale: int = 4, gap: int = 8) -> np.ndarray:
    """Images side by side, each enlarged ``scale`` times (nearest neighbour) under its label, on white."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=14)
    label_h = 24
    tiles = [enlarge(image, scale) for _, image in panels]
    height = label_h + max(t.shape[0] for t in tiles)
    width = sum(t.shape[1] for t in tiles) + gap * (len(tiles) - 1)
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    x = 0
    for (label, _), tile in zip(panels, tiles):
        draw.text((x + 2, 4), label, fill="black", font=font)
        canvas.paste(Image.fromarray(tile), (x, label_h))
        x += tile.shape[1] + gap
    return np.asarray(canvas)


def write_gif(path: Path, frames: Sequence[np.ndarray], frame_ms: int = 100) -> None:
    """An endlessly looping GIF (Pillow; no ffmpeg needed), written atomically."""
    from PIL import Image

    images = [Image.fromarray(frame) for frame in frames]
    options = {"format": "GIF", "save_all": True, "append_images": images[1:], "duration": frame_ms, "loop": 0}
    with atomic_path(path) as tmp:
        images[0].save(tmp, **options)


DEMO_RES, DEMO_VIEWS, DEMO_ITERATIONS = 96, (40, 3, 3), 1000
"""The demo's scene (96x96 pixels; training, validation and test views) and training steps of 512 rays: about two
minutes of training on 2 CPU cores. The default field gives 24.05 dB on test view 0 (600 steps: 21.7, 400: 20.4)."""


def run_nerf_demo(
    out_dir: Path,
    quick: bool = False,
    *,
    iterations: Optional[int] = None,
    res: Optional[int] = None,
    orbit_frames: int = 24,
    progress: Optional[Callable[[str], None]] = None,
) -> Dict[str, Any]:
    """Generates a scene, trains ``staf`` on the CPU, writes a test view next to its ground truth and an orbit.

    Args:
        out_dir: Output folder: ``scene/`` (the dataset), ``runs/`` (the nerfstudio run), ``nerf_test_view.png``
            (rendered | ground truth, at the scene's resolution), ``nerf_test_view_x4.png`` (the same enlarged 4x,
            nearest neighbour, labelled), ``nerf_orbit.gif`` (a circle around the scene rendered at the scene's
            resolution, shown 2x) and ``nerf_metrics.json``.
        quick: A smaller scene and fewer steps (about a quarter of the time).
        iterations: Override the number of training steps (tests use a handful).
        res: Override the scene resolution.
        orbit_frames: Frames of the orbit.
        progress: Called with a one-line description as each stage starts (scene, training, rendering).

    Returns:
        ``psnr`` (test view, dB), ``wall_time_s`` (training), ``iterations``, ``image`` (the PNG), ``image_x4``,
        ``orbit`` (the GIF), ``config`` (the run's ``config.yml``, for ``ns-eval`` / ``ns-render`` / ``ns-export`` /
        ``ns-viewer``), ``metrics``.
    """
    out_dir = Path(out_dir)
    default_res, views, default_iterations = (32, (24, 2, 2), 150) if quick else (DEMO_RES, DEMO_VIEWS, DEMO_ITERATIONS)
    res = res or default_res
    iterations = iterations or default_iterations
    report = progress or (lambda line: None)
    scene = out_dir / "scene"
    report(f"generating a {res}x{res} scene ({views[0]} training views) -> {scene}/")
    make_scene(scene, res=res, views=views)
    config = cpu_trainer_config("staf", scene, out_dir / "runs", iterations, rays_per_batch=512)
    report(f"training staf for {iterations} iterations of 512 rays on the CPU")
    start = time.perf_counter()
    config_path = train(config)
    wall_time = time.perf_counter() - start
    report(f"rendering a test view and a {orbit_frames}-frame orbit")
    pipeline = load_pipeline(config_path)
    view = render_test_view(config_path, pipeline=pipeline)
    image_path = out_dir / "nerf_test_view.png"
    write_image(image_path, np.concatenate([view["rgb"], view["gt"]], axis=1))
    x4_path = out_dir / "nerf_test_view_x4.png"
    labels = (f"staf, {iterations} it: {view['psnr']:.1f} dB", f"ground truth ({res}x{res})")
    write_image(x4_path, labelled_panels(list(zip(labels, (view["rgb"], view["gt"])))))
    orbit_path = out_dir / "nerf_orbit.gif"
    write_gif(orbit_path, [enlarge(f, 2) for f in render_orbit(pipeline, res, orbit_frames)])
    metrics = {
        "method": "staf",
        "psnr": view["psnr"],
        "wall_time_s": wall_time,
        "iterations": iterations,
        "resolution": res,
        "train_views": views[0],
        "image": str(image_path),
        "image_x4": str(x4_path),
        "orbit": str(orbit_path),
        "config": str(config_path),
    }
    write_json(out_dir / "nerf_metrics.json", metrics)
    metrics["metrics"] = out_dir / "nerf_metrics.json"
    metrics["image"], metrics["image_x4"], metrics["orbit"] = image_path, x4_path, orbit_path
    metrics["config"] = config_path
    return metrics
