"""Why STAF does not learn audio at the authors' omegas (3000 first, 30 hidden): one short fit per suspect.

Each row fits the built-in clip's first 0.25 s (16 kHz) with 300 full-batch Adam steps of the authors' audio preset
(lr 2.5e-4 decayed to 36%) and changes one thing. "authors' spacing" squeezes the time coordinates so neighbouring
samples are as far apart as in the authors' clip (7 s at 44.1 kHz over [-1, 1]). About 30 s per row on 2 CPU cores.

    python benchmarks/audio_probe.py            # every row
    python benchmarks/audio_probe.py staf hidden-10
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Dict, Tuple

import torch

from staf_nerfstudio.networks import build_model
from staf_tasks.data.audio import audio_coords, load_audio
from staf_tasks.metrics import audio_psnr
from staf_tasks.tasks.audio import AudioFitConfig
from staf_tasks.training import FitProblem, fit

AUTHORS_SAMPLES = 7 * 44_100
"""Samples in the authors' clip; their coordinates span [-1, 1] over all of them."""

# label: (model, STAF settings, squeeze coordinates to the authors' spacing, activation lr scale)
ROWS: Dict[str, Tuple[str, dict, bool, float]] = {
    "staf": ("staf", {}, False, 1.0),
    "staf, authors' spacing": ("staf", {}, True, 1.0),
    "siren, authors' spacing": ("siren", {}, True, 1.0),
    "staf, unit init": ("staf", {"init": "unit"}, False, 1.0),
    "staf, activation lr x10": ("staf", {}, False, 10.0),
    "staf, neuron-wise": ("staf", {"sharing": "neuron"}, False, 1.0),
    "staf, hidden-10": ("staf", {"hidden_omega": 10.0}, False, 1.0),
    "staf, hidden-5": ("staf", {"hidden_omega": 5.0}, False, 1.0),
    "siren": ("siren", {}, False, 1.0),
}


def main() -> None:
    wanted = sys.argv[1:]
    clip = load_audio(None, max_seconds=0.25, peak_normalize=True)
    values = torch.from_numpy(clip.samples).unsqueeze(-1)
    coords = audio_coords(clip.num_samples)
    squeezed = -1 + (coords + 1) * (clip.num_samples / AUTHORS_SAMPLES)
    print(f"PSNR of predicting silence: {audio_psnr(torch.zeros_like(values), values):.2f} dB")
    print("| setting | PSNR after 50 / 150 / 300 steps (dB) |\n|---|---|")
    for label, (model_name, staf_settings, squeeze, act_scale) in ROWS.items():
        if wanted and not all(word in label for word in wanted):
            continue
        torch.manual_seed(0)
        preset = AudioFitConfig()  # the authors' audio preset, STAF with its "official" init; one change per row
        staf = dataclasses.replace(preset.models.staf, **{"init": "official", **staf_settings})
        models = dataclasses.replace(preset.models, staf=staf)
        model = build_model(model_name, 1, 1, preset.hidden_features, preset.hidden_layers, models)
        x = squeezed if squeeze else coords
        problem = FitProblem(x, values, x, lambda pred: {"psnr": audio_psnr(pred, values)})
        train = dataclasses.replace(preset.train, epochs=300, eval_every=50, activation_lr_scale=act_scale)
        result = fit(model, problem, train, progress=False)
        curve = {row["step"]: row["psnr"] for row in result.history}
        print(f"| {label} | {curve[50]:.1f} / {curve[150]:.1f} / {curve[300]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
