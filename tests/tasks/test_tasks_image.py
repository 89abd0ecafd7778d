"""Image, super-resolution and denoising tasks end to end on tiny images: outputs, resume, render, bad input."""

import json
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import yaml

from staf_nerfstudio.settings import MODEL_NAMES
from staf_tasks.cli import activations_entrypoint, bench_entrypoint, fit_entrypoint, render_entrypoint

TINY = ["--size", "12", "12", "--hidden-features", "16", "--hidden-layers", "1", "--no-progress",
        "--train.batch-size", "64", "--train.eval-every", "1"]


def fit(tmp_path, *args):
    with pytest.raises(SystemExit) as exit_info:
        fit_entrypoint(list(args) + ["--output-dir", str(tmp_path)])
    return exit_info.value.code


@pytest.mark.parametrize("task", ["image", "sr", "denoise"])
def test_task_writes_outputs(tmp_path, task):
    args = [task, *TINY, "--train.epochs", "2"] + (["--size", "16", "16"] if task == "sr" else [])
    assert fit(tmp_path, *args) == 0
    run = tmp_path / f"{task}-staf"
    for name in ("metrics.json", "config.yml", "checkpoint.pt", "reconstruction.png", "comparison.png", "curves.png"):
        assert (run / name).exists(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["task"] == task and metrics["epochs"] == 2
    assert 0 < metrics["final"]["psnr"] < 60 and -1 <= metrics["final"]["ssim"] <= 1
    assert [row["epoch"] for row in metrics["history"]] == [1, 2]
    assert iio.imread(run / "reconstruction.png").shape[:2] == ((16, 16) if task == "sr" else (12, 12))
    if task == "sr":
        assert metrics["signal"]["train_height"] == 4 and "bicubic_psnr" in metrics["signal"]
    if task == "denoise":
        assert metrics["signal"]["noisy_psnr"] < 20  # the authors' noise is strong


@pytest.mark.parametrize("model", MODEL_NAMES)
def test_every_model_fits_an_image(tmp_path, model):
    assert fit(tmp_path, "image", *TINY, "--train.epochs", "3", "--model", model, "--train.lr", "1e-3") == 0
    metrics = json.loads((tmp_path / f"image-{model}" / "metrics.json").read_text())
    assert metrics["model"] == model and metrics["parameters"] > 0
    losses = [row["loss"] for row in metrics["history"]]
    assert np.isfinite(losses).all()


def test_seed_reproducible_and_resume_matches_one_run(tmp_path, monkeypatch):
    base = ["image", *TINY, "--data", "camera", "--seed", "3", "--train.epochs", "4"]
    assert fit(tmp_path, *base, "--name", "a") == 0
    assert fit(tmp_path, *base, "--name", "b") == 0
    a = json.loads((tmp_path / "a" / "metrics.json").read_text())
    b = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert a["final"] == b["final"]
    # Interrupt a run right after its epoch-2 checkpoint, then resume it: the same numbers as the uninterrupted run.
    import staf_tasks.training as training

    original = training.save_torch

    def save_then_interrupt(path, obj):
        original(path, obj)
        if obj["epoch"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(training, "save_torch", save_then_interrupt)
    assert fit(tmp_path, *base, "--name", "c", "--train.checkpoint-every", "1") == 130
    assert not (tmp_path / "c" / "metrics.json").exists()
    monkeypatch.setattr(training, "save_torch", original)
    assert fit(tmp_path, "image", "--resume", str(tmp_path / "c"), "--no-progress") == 0
    c = json.loads((tmp_path / "c" / "metrics.json").read_text())
    assert c["epochs"] == 4 and [r["epoch"] for r in c["history"]] == [1, 2, 3, 4]
    assert c["final"]["psnr"] == pytest.approx(a["final"]["psnr"], abs=1e-9)


def test_render_at_new_resolution_and_activation_plot(tmp_path):
    assert fit(tmp_path, "image", *TINY, "--train.epochs", "1") == 0
    run = tmp_path / "image-staf"
    with pytest.raises(SystemExit) as e:
        render_entrypoint([str(run), "--scale", "2.5"])
    assert e.value.code == 0
    assert iio.imread(run / "render_30x30.png").shape == (30, 30, 3)
    with pytest.raises(SystemExit) as e:
        render_entrypoint([str(run), "--size", "40", "20", "--output", str(tmp_path / "wide.png")])
    assert e.value.code == 0 and iio.imread(tmp_path / "wide.png").shape == (20, 40, 3)
    with pytest.raises(SystemExit) as e:
        activations_entrypoint([str(run)])
    assert e.value.code == 0 and (run / "activations.png").stat().st_size > 1000


def test_bench_writes_table_and_figures(tmp_path):
    with pytest.raises(SystemExit) as e:
        bench_entrypoint(["image", "--models", "staf,siren", "--seeds", "2", *TINY, "--train.epochs", "2",
                          "--output-dir", str(tmp_path)])
    assert e.value.code == 0
    bench = tmp_path / "bench-image"
    results = json.loads((bench / "results.json").read_text())
    assert {r["model"] for r in results["rows"]} == {"staf", "siren"}
    assert all(len(r["per_seed"]) == 2 for r in results["rows"])
    assert "| staf |" in (bench / "table.md").read_text()
    assert (bench / "curves.png").exists() and (bench / "reconstructions.png").exists()


def _error_of(capsys, entry, args):
    with pytest.raises(SystemExit) as e:
        entry(args)
    err = capsys.readouterr().err
    assert e.value.code == 2, err
    assert "Traceback" not in err
    return err


def test_bad_inputs_give_one_clear_error(tmp_path, capsys):
    assert "not found" in _error_of(capsys, fit_entrypoint, ["image", "--data", str(tmp_path / "missing.png")])
    rgba = tmp_path / "rgba.png"
    iio.imwrite(rgba, np.zeros((8, 8, 4), np.uint8))
    assert "alpha channel" in _error_of(capsys, fit_entrypoint, ["image", "--data", str(rgba)])
    one = tmp_path / "one.png"
    iio.imwrite(one, np.zeros((1, 1, 3), np.uint8))
    assert "at least 2x2" in _error_of(capsys, fit_entrypoint, ["image", "--data", str(one)])
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image at all")
    assert "cannot read image" in _error_of(capsys, fit_entrypoint, ["image", "--data", str(junk)])
    assert "unknown task" in _error_of(capsys, fit_entrypoint, ["painting"])
    preset = tmp_path / "bad.yaml"
    preset.write_text("train:\n  epoch: 3\n")
    assert "unknown config key 'train.epoch'" in _error_of(capsys, fit_entrypoint, ["image", "--config", str(preset)])
    assert "unknown model" in _error_of(capsys, bench_entrypoint, ["image", "--models", "staf,mlp"])
    assert "not a run folder" in _error_of(capsys, render_entrypoint, [str(tmp_path)])
    # An unknown flag or model name is refused by the argument parser (exit 2) before anything is written.
    with pytest.raises(SystemExit) as e:
        fit_entrypoint(["image", "--model", "transformer", "--output-dir", str(tmp_path / "never")])
    assert e.value.code == 2 and not (tmp_path / "never").exists()
    # An alpha image is accepted when compositing is asked for.
    assert fit(tmp_path, "image", "--data", str(rgba), "--composite-alpha", *TINY[3:], "--train.epochs", "1") == 0


def test_existing_run_is_never_overwritten_silently(tmp_path, capsys):
    assert fit(tmp_path, "image", *TINY, "--train.epochs", "1") == 0
    before = (tmp_path / "image-staf" / "checkpoint.pt").read_bytes()
    err = _error_of(capsys, fit_entrypoint, ["image", *TINY, "--train.epochs", "1", "--output-dir", str(tmp_path)])
    assert "--resume" in err and (tmp_path / "image-staf" / "checkpoint.pt").read_bytes() == before


@pytest.mark.parametrize("task", ["image", "sr", "denoise", "audio", "shape"])
def test_presets_restate_the_defaults(task):
    """configs/<task>.yaml restates the task's defaults: it must equal them."""
    from staf_tasks.config import to_plain
    from staf_tasks.tasks import get_task

    preset = yaml.safe_load((Path(__file__).parents[2] / "configs" / f"{task}.yaml").read_text())
    defaults = to_plain(get_task(task).config_cls())

    def check(expected, actual, where):
        for key, value in expected.items():
            if isinstance(value, dict):
                check(value, actual[key], f"{where}{key}.")
            else:
                assert actual[key] == value, f"{where}{key}"

    check(preset, defaults, "")
