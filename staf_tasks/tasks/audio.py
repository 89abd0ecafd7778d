"""Audio fitting: a mono waveform as a function of time in [-1, 1] (the authors' audio preset as defaults)."""

from __future__ import annotations

from pathlib import Path
from typing import Dict

import torch
from torch import nn

from staf_tasks.data.audio import audio_coords, load_audio, write_wav
from staf_tasks.errors import StafUserError
from staf_tasks.metrics import audio_psnr
from staf_tasks.plots import plot_waveforms
from staf_tasks.task_configs import AudioFitConfig
from staf_tasks.tasks.base import Prepared, RenderRequest, Task
from staf_tasks.training import FitProblem, FitResult, predict


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
