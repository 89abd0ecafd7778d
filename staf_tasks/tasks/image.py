"""Image tasks: fitting, x4 super-resolution and denoising, with the authors' presets as defaults (arXiv 2502.00869)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import torch
from torch import nn

from staf_nerfstudio.coords import grid_coords
from staf_nerfstudio.io import write_image
from staf_tasks.data.image import image_to_values, load_image, resize_image, values_to_image
from staf_tasks.errors import StafUserError, StafWarning
from staf_tasks.metrics import psnr, ssim
from staf_tasks.plots import plot_side_by_side
from staf_tasks.task_configs import DenoiseConfig, ImageFitConfig, SuperResolutionConfig
from staf_tasks.tasks.base import Prepared, RenderRequest, Task
from staf_tasks.training import FitProblem, FitResult, predict


def image_metrics(pred_values: torch.Tensor, target: np.ndarray) -> Dict[str, float]:
    """PSNR and SSIM of a prediction in [-1, 1] against a target image in [0, 1] (prediction clipped to [0, 1])."""
    image = values_to_image(pred_values, target.shape[0], target.shape[1])
    return {"psnr": psnr(image, target), "ssim": ssim(image, target)}


def add_noise(image: np.ndarray, photon_scale: float, read_noise: float, seed: int) -> np.ndarray:
    """The authors' noise model: ``Poisson(photon_scale * x) / photon_scale + N(0, read_noise^2)``, seeded."""
    rng = np.random.default_rng(seed)
    noisy = rng.poisson(photon_scale * image.astype(np.float64)) / photon_scale
    noisy = noisy + rng.normal(0.0, read_noise, size=image.shape)
    return noisy.astype(np.float32)


class ImageTask(Task):
    """Fit an image; PSNR and SSIM of a clean pass over every pixel."""

    name = "image"
    config_cls = ImageFitConfig

    def load(self, cfg: ImageFitConfig) -> np.ndarray:
        image = load_image(cfg.data, composite_alpha=cfg.composite_alpha)
        height, width = image.shape[:2]
        if cfg.size is not None:
            new_width, new_height = cfg.size
            if abs(new_width / new_height - width / height) > 0.01 * width / height:
                warnings.warn(StafWarning(
                    f"--size {new_width} {new_height} stretches the {width}x{height} image (another aspect ratio); "
                    f"use --max-side {max(new_width, new_height)} to keep its shape"), stacklevel=2)
        elif cfg.max_side is not None and max(height, width) > cfg.max_side:
            shrink = cfg.max_side / max(height, width)
            new_width, new_height = max(2, round(width * shrink)), max(2, round(height * shrink))
        else:
            return image
        return resize_image(image, (new_height, new_width))

    def prepare(self, cfg: ImageFitConfig) -> Prepared:
        target = self.load(cfg)
        height, width = target.shape[:2]
        coords = grid_coords(height, width)
        problem = FitProblem(
            train_coords=coords,
            train_values=image_to_values(target),
            eval_coords=coords,
            evaluate=lambda pred: image_metrics(pred, target),
            train_evaluate=lambda pred: {"psnr": psnr(values_to_image(pred, height, width), target)},
        )
        channels = 1 if target.ndim == 2 else 3
        info = {"source": cfg.data or "astronaut", "height": height, "width": width, "channels": channels}
        return Prepared(problem, 2, channels, info=info, state={"target": target, "shown": target})

    def shown_title(self) -> str:
        return "target"

    def reference_panels(self, prepared: Prepared) -> Tuple[List[np.ndarray], List[str]]:
        """The panels a comparison picture starts with: what the network was shown, then the clean target if that
        differs (super-resolution, denoising)."""
        shown, target = prepared.state["shown"], prepared.state["target"]
        if shown is target:
            return [shown], [self.shown_title()]
        return [shown, target], [self.shown_title(), "clean target"]

    def write_outputs(self, cfg, run_dir: Path, prepared: Prepared, result: FitResult) -> Dict[str, str]:
        target = prepared.state["target"]
        recon = values_to_image(result.final_prediction, target.shape[0], target.shape[1])
        write_image(run_dir / "reconstruction.png", recon)
        error = np.abs(recon - target)
        error = error.mean(-1) if error.ndim == 3 else error
        error = np.clip(error / max(float(error.max()), 1e-8), 0, 1)
        images, titles = self.reference_panels(prepared)
        images += [recon, error]
        titles += [
            f"{cfg.model}: {result.final['psnr']:.2f} dB, SSIM {result.final['ssim']:.3f}",
            "|error| (normalized)",
        ]
        plot_side_by_side(run_dir / "comparison.png", images, titles)
        return {"reconstruction": "reconstruction.png", "comparison": "comparison.png"}

    def render(self, cfg, model: nn.Module, run_dir: Path, request: RenderRequest, info: Dict) -> Path:
        if request.size is not None:
            width, height = request.size
        else:
            scale = request.scale or 1.0
            height, width = max(1, round(info["height"] * scale)), max(1, round(info["width"] * scale))
        if height < 2 or width < 2:
            raise StafUserError(f"render size {width}x{height} is too small; ask for at least 2x2")
        values = predict(model, grid_coords(height, width), cfg.train.eval_chunk)
        out = request.output or run_dir / f"render_{width}x{height}.png"
        return write_image(out, values_to_image(values, height, width))


class SuperResolutionTask(ImageTask):
    """Train on the x``factor``-downsampled image; PSNR/SSIM of the network queried on the full-resolution grid."""

    name = "sr"
    config_cls = SuperResolutionConfig

    def prepare(self, cfg: SuperResolutionConfig) -> Prepared:
        target = self.load(cfg)
        height, width = target.shape[:2]
        if cfg.factor < 1 or height // cfg.factor < 2 or width // cfg.factor < 2:
            raise StafUserError(f"--factor {cfg.factor} leaves less than 2x2 pixels of a {width}x{height} image; "
                              "lower --factor or give a larger image")
        low = resize_image(target, (height // cfg.factor, width // cfg.factor))
        bicubic = resize_image(low, (height, width))
        problem = FitProblem(
            train_coords=grid_coords(*low.shape[:2]),
            train_values=image_to_values(low),
            eval_coords=grid_coords(height, width),
            evaluate=lambda pred: image_metrics(pred, target),
        )
        channels = 1 if target.ndim == 2 else 3
        info = {
            "source": cfg.data or "astronaut", "height": height, "width": width, "channels": channels,
            "train_height": low.shape[0], "train_width": low.shape[1],
            "bicubic_psnr": psnr(bicubic, target), "bicubic_ssim": ssim(bicubic, target),
        }
        return Prepared(problem, 2, channels, info=info, state={"target": target, "shown": bicubic})

    def shown_title(self) -> str:
        return "bicubic x4 input"


class DenoiseTask(ImageTask):
    """Train on a noisy copy; PSNR/SSIM against the clean image."""

    name = "denoise"
    config_cls = DenoiseConfig

    def prepare(self, cfg: DenoiseConfig) -> Prepared:
        target = self.load(cfg)
        height, width = target.shape[:2]
        noisy = add_noise(target, cfg.photon_scale, cfg.read_noise, cfg.seed)
        coords = grid_coords(height, width)
        problem = FitProblem(
            train_coords=coords,
            train_values=torch.from_numpy(noisy).reshape(height * width, -1) * 2 - 1,
            eval_coords=coords,
            evaluate=lambda pred: image_metrics(pred, target),
            train_evaluate=lambda pred: {"psnr": psnr(values_to_image(pred, height, width), target)},
        )
        channels = 1 if target.ndim == 2 else 3
        info = {
            "source": cfg.data or "astronaut", "height": height, "width": width, "channels": channels,
            "noisy_psnr": psnr(np.clip(noisy, 0, 1), target), "noisy_ssim": ssim(np.clip(noisy, 0, 1), target),
        }
        return Prepared(problem, 2, channels, info=info, state={"target": target, "shown": np.clip(noisy, 0, 1)})

    def shown_title(self) -> str:
        return "noisy input"
