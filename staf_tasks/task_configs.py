"""Every task's config (and the training settings it holds), free of torch: the command line builds its help and
parses flags from these dataclasses without importing torch; the tasks themselves live in :mod:`staf_tasks.tasks`.

The defaults are the authors' presets (arXiv 2502.00869) for the data, budget and optimizer, with STAF's default init
"siren" (a SIREN-exact start; see :mod:`staf_nerfstudio.settings`); they are restated in
``staf_tasks/presets/<task>.yaml``, and the authors' exact settings, STAF's included, in ``<task>_paper.yaml``. Field
docstrings are the command line's help text, so they are plain text (no reStructuredText markup), and optional
values show a metavar naming what to give (``--resume RUN_DIR``) instead of tyro's ``{None}|PATH``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Dict, Optional, Tuple

import tyro

from staf_nerfstudio.settings import FinerSettings, ModelName, ModelsConfig, SirenSettings, StafSettings
from staf_tasks.errors import StafUserError


@dataclass
class TrainConfig:
    """Optimization settings (the authors': Adam, MSE, learning rate decayed by b^min(t/T, 1))."""

    epochs: int = 501
    """Passes over the training coordinates (full-batch tasks: optimizer steps)."""
    batch_size: int = 4096
    """Coordinates per optimizer step; 0 uses all of them (full batch)."""
    lr: float = 1e-3
    """Initial Adam learning rate."""
    lr_decay: float = 0.05
    """Factor b of the decay lr * b^min(t/T, 1): the learning rate at the end is lr * b (1 = constant)."""
    activation_lr_scale: float = 1.0
    """Multiplies the learning rate of STAF's amplitudes, frequencies and phases (1 = the authors' setting)."""
    eval_every: int = 10
    """Epochs between clean evaluation passes over the full signal (the last epoch is always evaluated)."""
    checkpoint_every: int = 50
    """Epochs between checkpoints (the last epoch is always saved)."""
    eval_chunk: int = 65536
    """Coordinates per forward pass during evaluation (bounds memory)."""
    device: str = "auto"
    """auto (CUDA when available), cpu or cuda."""


SMOOTH_STAF = {"first_extra_amplitude": 0.0}
"""STAF for audio and denoising: no harmonics in the first activation at the start, since they add input frequencies
k * omega (above the clip's Nyquist rate at omega 3000; the noise's frequencies in denoising). Images keep them (they
fit detail faster). Measured in docs/results-tasks.md."""
EXACT_SIREN_STAF = {"extra_amplitude": 0.0, "first_extra_amplitude": 0.0}
"""STAF for tasks judged between the training samples (super-resolution, the shape's held grid): every harmonic starts
at 0, so the network is exactly a SIREN at step 0 and the activations learn from there; harmonics started at 0.1 fit
the training samples as well and put more high frequency between them. Measured in docs/results-tasks.md."""


@dataclass
class FitConfig:
    """Settings common to every task."""

    data: Annotated[Optional[str], tyro.conf.arg(metavar="PATH|NAME")] = None
    """Signal to fit: a file path, or a built-in name; unset = the task's built-in default (no download)."""
    model: ModelName = "staf"
    """Network to fit with: STAF or one of the authors' baselines."""
    models: ModelsConfig = field(default_factory=ModelsConfig)
    """Per-model settings (only the chosen model's are used)."""
    hidden_features: int = 256
    """Width of every hidden layer."""
    hidden_layers: int = 3
    """Hidden W -> W layers after the first (3 = the paper's 2-256x4-3 shape for images)."""
    train: TrainConfig = field(default_factory=TrainConfig)
    """Optimization settings."""
    seed: int = 0
    """Fixes the initialization, the minibatch order and any synthetic noise: same seed, same machine, same metrics."""
    output_dir: Path = Path("outputs")
    """Folder that receives the run folder."""
    name: Annotated[Optional[str], tyro.conf.arg(metavar="NAME")] = None
    """Run folder name under output_dir (default: TASK-MODEL)."""
    overwrite: bool = False
    """Start afresh even if the run folder already holds a checkpoint."""
    resume: Annotated[Optional[Path], tyro.conf.arg(metavar="RUN_DIR")] = None
    """Continue the run in this folder from its last checkpoint; its config.yml is the default for every flag."""
    config: Annotated[Optional[Path], tyro.conf.arg(metavar="PRESET|PATH")] = None
    """Settings to start from: a preset shipped with the package by name (e.g. image_quick; the files are in
    staf_tasks/presets/), a YAML file, or a run folder (that run's settings); flags override it in turn."""
    progress: bool = True
    """Show a progress bar with the live metric."""


@dataclass
class ImageFitConfig(FitConfig):
    """Fit an image (default: scikit-image's astronaut); the authors' image preset: --config image_paper."""

    size: Annotated[Optional[Tuple[int, int]], tyro.conf.arg(metavar="WIDTH HEIGHT")] = None
    """Resize the image to WIDTH HEIGHT pixels before fitting (every command takes sizes as width, then height);
    unset keeps its size. A size of another aspect ratio stretches the image, with a warning."""
    max_side: Annotated[Optional[int], tyro.conf.arg(metavar="PIXELS")] = None
    """Shrink the image so that its longer side is at most this many pixels, keeping its aspect ratio (the quick
    presets: 256); ignored when --size is given."""
    composite_alpha: bool = False
    """Composite an image with an alpha channel over white instead of refusing it."""
    models: ModelsConfig = field(
        default_factory=lambda: ModelsConfig(
            staf=StafSettings(tau=5, first_omega=60.0, hidden_omega=30.0, skip=False)
        )
    )
    """Per-model settings (STAF: SIREN-exact start, tau 5, omega 60/30, no skip; the authors add skip connections
    to their init "official")."""
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(epochs=501, batch_size=4096, lr=1e-3, lr_decay=0.05)
    )
    """Optimization: 501 epochs of 4096-pixel batches, lr 1e-3 decayed to 5% (the authors' image preset)."""


@dataclass
class SuperResolutionConfig(ImageFitConfig):
    """Train on the image downsampled by --factor, evaluate at full resolution (the authors' x4 SR preset; their
    STAF: --config sr_paper)."""

    factor: int = 4
    """Downsampling factor between the full-resolution target and the training image."""
    models: ModelsConfig = field(
        default_factory=lambda: ModelsConfig(
            staf=StafSettings(first_omega=30.0, hidden_omega=30.0, **EXACT_SIREN_STAF)
        )
    )
    """Per-model settings (STAF: exactly SIREN at the start, every harmonic's amplitude 0, tau 5, omega 30/30)."""
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=501, batch_size=256, lr=1e-3, lr_decay=0.1))
    """Optimization: 501 epochs of 256-pixel batches, lr 1e-3 decayed to 10%."""


@dataclass
class DenoiseConfig(ImageFitConfig):
    """Fit a noisy copy of the image and compare with the clean one (the authors' denoising preset; their STAF:
    --config denoise_paper)."""

    photon_scale: float = 10.0
    """Poisson noise: the noisy image is Poisson(photon_scale * x) / photon_scale ..."""
    read_noise: float = 0.2
    """... plus Gaussian noise of this standard deviation (seeded by --seed)."""
    models: ModelsConfig = field(
        default_factory=lambda: ModelsConfig(staf=StafSettings(first_omega=30.0, hidden_omega=30.0, **SMOOTH_STAF))
    )
    """Per-model settings (STAF: SIREN-exact start, tau 5, omega 30/30, no first-layer harmonics; the authors use
    tau 2 and omega 5/5 with their init)."""
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(epochs=501, batch_size=4096, lr=2.5e-4, lr_decay=1.0)
    )
    """Optimization: 501 epochs of 4096-pixel batches, lr 2.5e-4, no decay."""


@dataclass
class AudioFitConfig(FitConfig):
    """Fit an audio clip (default: a built-in synthesized cello-like phrase) with the authors' audio preset (their
    STAF: --config audio_paper)."""

    max_seconds: Annotated[Optional[float], tyro.conf.arg(metavar="SECONDS")] = None
    """Keep only the first seconds of the clip (unset: all of it)."""
    mixdown: bool = True
    """Average a stereo/multi-channel file to mono (with a warning); with --no-mixdown it is an error."""
    peak_normalize: bool = True
    """Scale the clip so its peak is 1, as the authors do (PSNR is measured on that scale)."""
    models: ModelsConfig = field(
        default_factory=lambda: ModelsConfig(
            staf=StafSettings(first_omega=3000.0, hidden_omega=30.0, **SMOOTH_STAF),
            siren=SirenSettings(first_omega=3000.0, hidden_omega=30.0),
            finer=FinerSettings(first_omega=3000.0, hidden_omega=30.0),
        )
    )
    """Per-model settings (STAF: SIREN-exact start, tau 5, omega 3000/30, no first-layer harmonics; SIREN and FINER:
    first omega 3000, SIREN's audio setting)."""
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(epochs=1001, batch_size=0, lr=2.5e-4, lr_decay=0.36, eval_every=25)
    )
    """Optimization: 1001 full-batch steps, lr 2.5e-4 decayed to 36% (the authors' audio preset)."""


@dataclass
class ShapeFitConfig(FitConfig):
    """Fit the occupancy of a mesh (default: a built-in trefoil knot) with the authors' occupancy preset (their STAF:
    --config shape_paper)."""

    resolution: int = 512
    """Grid points per axis of the training occupancy grid (the authors: 512)."""
    allow_non_watertight: bool = False
    """Accept a mesh with holes (inside decided by ray votes and generalized winding numbers)."""
    chamfer_points: int = 100_000
    """Surface points sampled on each mesh for the Chamfer distance."""
    models: ModelsConfig = field(
        default_factory=lambda: ModelsConfig(staf=StafSettings(first_omega=30.0, hidden_omega=30.0, **EXACT_SIREN_STAF))
    )
    """Per-model settings (STAF: exactly SIREN at the start, every harmonic's amplitude 0, tau 5, omega 30/30)."""
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(epochs=200, batch_size=100_000, lr=2.5e-4, lr_decay=0.36, eval_every=10)
    )
    """Optimization: 200 epochs of 100k points, lr 2.5e-4 decayed to 36% (the authors' occupancy preset)."""


TASK_CONFIGS: Dict[str, type] = {
    "image": ImageFitConfig,
    "audio": AudioFitConfig,
    "shape": ShapeFitConfig,
    "sr": SuperResolutionConfig,
    "denoise": DenoiseConfig,
}
"""The config class of every task by name (the tasks registry, :data:`staf_tasks.tasks.TASKS`, has the same keys)."""


def task_config_class(name: str) -> type:
    """The config class of the task called ``name``; an unknown name raises :class:`StafUserError`."""
    try:
        return TASK_CONFIGS[name]
    except KeyError:
        raise StafUserError(f"unknown task {name!r}; choose one of: {', '.join(TASK_CONFIGS)}") from None
