"""Audio signals: load WAV/FLAC (or synthesize the built-in clip), time coordinates and WAV output.

Conventions (the authors' ``train_audio`` notebook and ``AudioFile`` loader):

- A clip is a mono ``float32`` waveform. By default it is **peak-normalized** (divided by ``max |x|``, so its peak
  is exactly 1), as the authors do before fitting; the factor applied is kept in :attr:`AudioClip.gain`.
  ``load_audio(..., peak_normalize=False)`` keeps the file's own scale instead (it must already lie in [-1, 1]).
- Sample ``t`` of ``T`` sits at time coordinate ``-1 + 2 t / (T - 1)`` (``torch.linspace(-1, 1, T)``).
- PSNR (:func:`staf_tasks.metrics.audio_psnr`) is ``-10 log10(MSE)``, i.e. ``10 log10(peak^2 / MSE)`` with peak 1,
  exactly the authors' number. Taking the peak-to-peak range 2 of a signal in [-1, 1] as the "peak" instead would add
  6.02 dB to every value.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from jaxtyping import Float
from torch import Tensor

from staf_nerfstudio.io import atomic_path
from staf_tasks.data.files import check_data_file
from staf_tasks.errors import StafUserError, StafWarning

AUDIO_SUFFIXES = (".wav", ".flac")
"""File types :func:`load_audio` reads (anything libsndfile reads also works; these are the ones we test)."""

DEFAULT_SECONDS = 3.0
"""Length of the built-in clip: long enough for a phrase of notes, short enough for a full-batch fit on a CPU."""

BUILTIN_AUDIO = ("cello",)
"""Built-in clips usable by name in place of a path (synthesized, no download)."""

DEFAULT_SAMPLERATE = 16_000
"""Sample rate of the built-in clip (the paper's Bach clip is 44.1 kHz; 16 kHz keeps a CPU fit quick)."""


@dataclass(frozen=True)
class AudioClip:
    """A mono waveform to fit."""

    samples: np.ndarray
    """``(T,)`` float32 samples in [-1, 1]."""
    samplerate: int
    """Samples per second."""
    source: str
    """Where the clip came from: a file path or ``"builtin:..."``."""
    gain: float = 1.0
    """Factor the file's samples were multiplied by (peak normalization); divide by it to get the file's level."""

    @property
    def num_samples(self) -> int:
        return int(self.samples.shape[0])

    @property
    def seconds(self) -> float:
        return self.num_samples / self.samplerate


def load_audio(
    path: Path | str | None,
    *,
    max_seconds: float | None = None,
    mixdown: bool = True,
    peak_normalize: bool = True,
) -> AudioClip:
    """Loads a WAV/FLAC file as a mono clip, or the built-in clip when ``path`` is None.

    Args:
        path: Audio file, or a built-in name (``"cello"``); ``None`` gives the built-in :func:`synth_default_clip`.
        max_seconds: Keep only the first ``max_seconds`` seconds (``None``: all of it).
        mixdown: Average the channels of a multi-channel file into mono (with a warning). If False, a multi-channel
            file is an error.
        peak_normalize: Divide by the peak ``max |x|`` so the clip spans [-1, 1] as in the authors' code. If False,
            the file's own scale is kept (values outside [-1, 1] are then an error).

    Raises:
        StafUserError: missing or unreadable file, empty file, silent file, non-finite samples, more than one
            channel with ``mixdown=False``, a bad ``max_seconds``.
    """
    if max_seconds is not None and not max_seconds > 0:
        raise StafUserError(f"max_seconds must be positive, got {max_seconds}; pass a length in seconds or None")
    if path is None or (isinstance(path, str) and path in BUILTIN_AUDIO):
        clip = synth_default_clip()
        if max_seconds is not None:
            keep = max(1, int(round(max_seconds * clip.samplerate)))
            clip = AudioClip(clip.samples[:keep].copy(), clip.samplerate, clip.source, clip.gain)
        return clip

    import soundfile as sf

    path = Path(path)
    check_data_file(path, "audio", "WAV or FLAC", BUILTIN_AUDIO)
    try:
        info = sf.info(str(path))
        frames = None
        if max_seconds is not None:
            frames = max(1, int(round(max_seconds * info.samplerate)))
        data, samplerate = sf.read(str(path), frames=-1 if frames is None else frames, dtype="float32",
                                   always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as err:
        raise StafUserError(
            f"cannot read audio file {path} ({_one_line(err)}); convert it to WAV or FLAC, e.g. "
            f"`ffmpeg -i {path.name} {path.stem}_converted.wav`"
        ) from None
    if data.shape[0] == 0:
        raise StafUserError(f"audio file has no samples: {path}; pass a WAV or FLAC file with samples in it")
    truncated = re.search(r"data\s*:\s*(\d+)\s*\(should be (\d+)\)", getattr(info, "extra_info", "") or "")
    if truncated:
        warnings.warn(
            StafWarning(f"{path} is truncated: its header promises {truncated.group(1)} bytes of samples, the file "
                        f"holds {truncated.group(2)}; fitting the {info.frames} samples that are there (re-export "
                        "the file to fit all of it)"),
            stacklevel=2,
        )
    channels = data.shape[1]
    if channels > 1:
        if not mixdown:
            raise StafUserError(
                f"audio file {path} has {channels} channels but a mono clip is needed; allow the mixdown to mono "
                f"(the default) or convert it, e.g. `ffmpeg -i {path.name} -ac 1 {path.stem}_mono.wav`"
            )
        warnings.warn(f"{path} has {channels} channels; averaging them into one (mono) channel", StafWarning,
                      stacklevel=2)
    samples = data.mean(axis=1, dtype=np.float64)
    if not np.all(np.isfinite(samples)):
        raise StafUserError(f"audio file {path} contains NaN or infinite samples; re-export it as 16-bit PCM WAV")
    peak = float(np.max(np.abs(samples)))
    if peak == 0.0:
        if frames is not None and frames < info.frames:  # only the kept start was read
            raise StafUserError(
                f"the first {max_seconds:g} s of audio file {path} are silent (all {data.shape[0]} samples kept by "
                f"--max-seconds are 0; the file is {info.frames / info.samplerate:.3g} s long); raise --max-seconds "
                "or trim the leading silence"
            )
        raise StafUserError(f"audio file {path} is silent (all samples are 0); pass a clip with sound in it")
    gain = 1.0
    if peak_normalize:
        gain = 1.0 / peak
    elif peak > 1.0:
        raise StafUserError(
            f"audio file {path} has samples up to {peak:.3g}, outside [-1, 1]; keep peak normalization on "
            "(the default) or rescale the file"
        )
    samples = (samples * gain).astype(np.float32)
    np.clip(samples, -1.0, 1.0, out=samples)  # rounding of x / peak can give 1 + 1 ulp
    return AudioClip(samples=samples, samplerate=int(samplerate), source=str(path), gain=gain)


def synth_default_clip(seconds: float = DEFAULT_SECONDS, samplerate: int = DEFAULT_SAMPLERATE) -> AudioClip:
    """The built-in clip: a short bowed-string (cello-like) phrase, synthesized deterministically.

    Six notes of a falling-and-rising phrase around C3 (130.8 Hz) to G3, each a sum of harmonics ``k f0`` with a
    sawtooth-like ``1/k`` spectrum shaped by a body resonance near 250-500 Hz, a slow vibrato (5 Hz, 0.4 %), a soft
    bow attack and release, and consecutive notes overlapping slightly (legato). No randomness, so every call gives
    the same samples. Peak-normalized to exactly 1, like a loaded file.

    Args:
        seconds: Clip length (the phrase is stretched to fill it).
        samplerate: Samples per second; harmonics at or above 0.45 x samplerate are dropped (no aliasing).
    """
    if not seconds > 0 or samplerate < 1000:
        raise StafUserError(f"the built-in clip needs seconds > 0 and samplerate >= 1000, got {seconds}, {samplerate}")
    num = max(2, int(round(seconds * samplerate)))
    t = np.arange(num, dtype=np.float64) / samplerate
    # MIDI notes: C3 E3 G3 F3 D3 C3 (a cadence), equal duration.
    notes = [48, 52, 55, 53, 50, 48]
    slot = seconds / len(notes)
    overlap = min(0.06, 0.25 * slot)
    out = np.zeros(num, dtype=np.float64)
    for i, midi in enumerate(notes):
        f0 = 440.0 * 2.0 ** ((midi - 69) / 12)
        start, stop = i * slot, (i + 1) * slot + (overlap if i < len(notes) - 1 else 0.0)
        mask = (t >= start) & (t < stop)
        tau = t[mask] - start
        dur = stop - start
        attack, release = min(0.08, 0.3 * dur), min(0.12, 0.3 * dur)
        env = np.minimum(1.0, tau / attack) * np.clip((dur - tau) / release, 0.0, 1.0)
        env *= 1.0 - 0.15 * tau / dur  # the bow slows a little through the note
        vibrato = 1.0 + 0.004 * np.sin(2 * math.pi * 5.0 * tau) * np.minimum(1.0, tau / 0.3)
        phase = 2 * math.pi * f0 * np.cumsum(vibrato) / samplerate
        note = np.zeros_like(tau)
        for k in range(1, 40):
            if k * f0 >= 0.45 * samplerate:
                break
            fk = k * f0
            body = 1.0 + 1.5 * math.exp(-(((fk - 280.0) / 120.0) ** 2)) + math.exp(-(((fk - 500.0) / 150.0) ** 2))
            note += body / k * np.sin(k * phase + 0.3 * k)
        out[mask] += env * note
    out /= np.max(np.abs(out))
    return AudioClip(samples=out.astype(np.float32), samplerate=int(samplerate),
                     source=f"builtin:cello-phrase({seconds:g}s@{samplerate}Hz)")


def audio_coords(num_samples: int) -> Float[Tensor, "num_samples 1"]:
    """Time coordinates of ``num_samples`` samples, evenly spaced over [-1, 1] (first sample -1, last +1).

    Query other lengths of the same clip (``staf-render --samplerate``) with the same function: the span [-1, 1]
    always covers the whole clip.
    """
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    return torch.linspace(-1.0, 1.0, num_samples, dtype=torch.float32).unsqueeze(-1)


def write_wav(path: Path | str, samples: np.ndarray | Tensor, samplerate: int, subtype: str = "PCM_16") -> Path:
    """Writes a mono clip atomically (tmp file + rename). Values are clipped to [-1, 1] first.

    Args:
        path: Output file; the format follows its extension (``.wav`` or ``.flac``).
        samples: ``(T,)`` or ``(T, 1)`` samples in [-1, 1].
        samplerate: Samples per second.
        subtype: ``"PCM_16"`` (plays everywhere) or ``"FLOAT"`` (32-bit float WAV, lossless for the fit).
    """
    import soundfile as sf

    if isinstance(samples, Tensor):
        samples = samples.detach().cpu().numpy()
    samples = np.clip(np.asarray(samples, dtype=np.float32).reshape(-1), -1.0, 1.0)
    path = Path(path)
    fmt = {".wav": "WAV", ".flac": "FLAC"}.get(path.suffix.lower())
    if fmt is None:
        raise StafUserError(f"cannot write audio as {path.suffix or 'no extension'}: {path}; use .wav or .flac")
    with atomic_path(path) as tmp:
        sf.write(str(tmp), samples, int(samplerate), subtype=subtype, format=fmt)
    return path


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__
