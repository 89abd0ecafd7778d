"""Audio fitting: a mono waveform as a function of time in [-1, 1] (the authors' audio preset as defaults)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional

import torch
from torch import nn

from staf_nerfstudio.settings import FinerSettings, ModelsConfig, SirenSettings, StafSettings
from staf_tasks.data.audio import audio_coords, load_audio, write_wav
from staf_tasks.errors import StafUserError
from staf_tasks.metrics import audio_psnr
from staf_tasks.plots import plot_waveforms
from staf_tasks.tasks.base import FitConfig, Prepared, RenderRequest, Task
from staf_tasks.training import FitProblem, FitResult, TrainConfig, predict


@dataclass
class AudioFitConfig(FitConfig):
    """Fit an audio clip (default: a built-in synthesized cello-like phrase) with the authors' audio preset."""

    max_seconds: Optional[float] = None
    """Keep only the first seconds of the clip (unset: all of it)."""
    mixdown: bool = True
    """Average a stereo/multi-channel file to mono (with a warning); with --no-mixdown it is an error."""
    peak_normalize: bool = True
    """Scale the clip so its peak is 1, as the authors do (PSNR is measured on that scale)."""
    models: ModelsConfig = field(
        default_factory=lambda: ModelsConfig(
            staf=StafSettings(tau=5, first_omega=3000.0, hidden_omega=30.0),
            siren=SirenSettings(first_omega=3000.0, hidden_omega=30.0),
            finer=FinerSettings(first_omega=3000.0, hidden_omega=30.0),
        )
    )
    """Per-model settings (STAF: tau 5, omega 3000/30; SIREN and FINER: first omega 3000, SIREN's audio setting)."""
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(epochs=1001, batch_size=0, lr=2.5e-4, lr_decay=0.36, eval_every=25)
    )
    """Optimization: 1001 full-batch steps, lr 2.5e-4 decayed to 36% (the authors' audio preset)."""


class AudioTask(Task):
    """Fit a waveform; PSNR (peak 1) of a clean pass; writes the reconstruction as WAV."""

    name = "audio"
    config_cls = AudioFitConfig
    preview_file = "waveform.png"

    def prepare(self, cfg: AudioFitConfig) -> Prepared:
        clip = load_audio(cfg.data, max_seconds=cfg.max_seconds, mixdown=cfg.mixdown,
                          peak_normalize=cfg.peak_normalize)
        samples = torch.from_numpy(clip.samples).unsqueeze(-1)
        coords = audio_coords(clip.num_samples)
        problem = FitProblem(
            train_coords=coords,
            train_values=samples,
            eval_coords=coords,
            evaluate=lambda pred: {"psnr": audio_psnr(pred, samples)},
        )
        info = {"source": clip.source, "samplerate": clip.samplerate, "num_samples": clip.num_samples,
                "seconds": clip.seconds, "gain": clip.gain, "channels": 1}
        return Prepared(problem, 1, 1, info=info, state={"clip": clip})

    def write_outputs(self, cfg, run_dir: Path, prepared: Prepared, result: FitResult) -> Dict[str, str]:
        clip = prepared.state["clip"]
        pred = result.final_prediction.reshape(-1)
        write_wav(run_dir / "reconstruction.wav", pred.numpy(), clip.samplerate)
        write_wav(run_dir / "target.wav", clip.samples, clip.samplerate)
        plot_waveforms(run_dir / "waveform.png", clip.samples, pred.numpy(), clip.samplerate,
                       title=cfg.model)
        return {"reconstruction": "reconstruction.wav", "target": "target.wav", "waveform": "waveform.png"}

    def render(self, cfg, model: nn.Module, run_dir: Path, request: RenderRequest, info: Dict) -> Path:
        rate = request.samplerate or info["samplerate"]
        if rate < 1:
            raise StafUserError(f"--samplerate must be positive, got {rate}")
        count = max(2, round(info["num_samples"] * rate / info["samplerate"]))
        values = predict(model, audio_coords(count), cfg.train.eval_chunk).reshape(-1)
        out = request.output or run_dir / f"render_{rate}Hz.wav"
        return write_wav(out, values.numpy(), rate)
