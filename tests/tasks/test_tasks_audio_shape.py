"""Audio and shape tasks end to end on tiny signals: outputs, render at a new resolution, bad input."""

import json

import numpy as np
import pytest
import soundfile as sf
import trimesh

from staf_tasks.cli import fit_entrypoint, render_entrypoint

SMALL = ["--hidden-features", "32", "--hidden-layers", "1", "--no-progress", "--train.eval-every", "1"]


def run(entry, args):
    with pytest.raises(SystemExit) as e:
        entry(args)
    return e.value.code


def test_audio_fit_writes_wav_and_renders_at_new_rate(tmp_path):
    clip = tmp_path / "tone.wav"
    t = np.arange(2000) / 8000
    sf.write(clip, 0.5 * np.sin(2 * np.pi * 440 * t), 8000)
    assert run(fit_entrypoint, ["audio", "--data", str(clip), *SMALL, "--train.epochs", "30", "--train.lr", "1e-3",
                                "--output-dir", str(tmp_path)]) == 0
    out = tmp_path / "audio-staf"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["signal"]["samplerate"] == 8000 and metrics["signal"]["num_samples"] == 2000
    psnrs = [row["psnr"] for row in metrics["history"]]
    assert psnrs[-1] > psnrs[0]  # it learns
    recon, rate = sf.read(out / "reconstruction.wav")
    assert rate == 8000 and recon.shape == (2000,)
    assert (out / "waveform.png").exists() and (out / "target.wav").exists()
    assert run(render_entrypoint, [str(out), "--samplerate", "16000"]) == 0
    hi, rate = sf.read(out / "render_16000Hz.wav")
    assert rate == 16000 and hi.shape == (4000,)


def test_audio_bad_inputs(tmp_path, capsys):
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0), 8000)
    assert run(fit_entrypoint, ["audio", "--data", str(empty), "--output-dir", str(tmp_path)]) == 2
    assert "empty" in capsys.readouterr().err.lower()
    stereo = tmp_path / "stereo.wav"
    sf.write(stereo, np.zeros((100, 2)), 8000)
    assert run(fit_entrypoint, ["audio", "--data", str(stereo), "--no-mixdown", "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "channels" in err or "stereo" in err
    assert "Traceback" not in err


def test_shape_fit_reports_iou_chamfer_and_renders(tmp_path):
    assert run(fit_entrypoint, ["shape", "--data", "sphere", "--resolution", "16", *SMALL, "--train.epochs", "20",
                                "--train.batch-size", "256", "--train.lr", "2e-3", "--chamfer-points", "2000",
                                # low frequencies for a 16^3 grid: omega 30 would overfit the voxels
                                "--models.staf.first-omega", "5", "--models.staf.hidden-omega", "5",
                                "--output-dir", str(tmp_path)]) == 0
    out = tmp_path / "shape-staf"
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["final"]["iou"] <= 1.0 and metrics["final"]["iou"] > 0.8  # a ball is easy
    assert metrics["final"]["iou_train_grid"] > 0.8 and metrics["best_during_training"]["iou"] > 0.5
    assert np.isfinite(metrics["final"]["chamfer"]) and metrics["final"]["chamfer"] < 0.1
    assert metrics["signal"]["held_points"] == 15**3
    mesh = trimesh.load(out / "reconstruction.ply")
    assert len(mesh.faces) > 0
    assert run(render_entrypoint, [str(out), "--resolution", "24"]) == 0
    assert len(trimesh.load(out / "render_24.ply").faces) > 0


def test_shape_rejects_open_mesh(tmp_path, capsys):
    box = trimesh.creation.box()
    open_box = trimesh.Trimesh(box.vertices, box.faces[:-2])
    path = tmp_path / "open.ply"
    open_box.export(path)
    assert run(fit_entrypoint, ["shape", "--data", str(path), "--resolution", "8", "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "watertight" in err and "Traceback" not in err
