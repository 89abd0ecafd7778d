"""What a new user meets first: help without importing torch, plain help text, presets by name from any directory,
a run's config.yml as --config, and progress lines when output is not a terminal."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from staf_tasks.cli import activations_entrypoint, bench_entrypoint, fit_entrypoint, render_entrypoint
from staf_tasks.config import PRESETS_DIR, preset_names
from staf_tasks.progress import LineProgress
from staf_tasks.task_configs import TASK_CONFIGS

TINY = ["--size", "12", "12", "--hidden-features", "16", "--hidden-layers", "1", "--no-progress",
        "--train.batch-size", "64", "--train.epochs", "1"]


def run(entry, args):
    with pytest.raises(SystemExit) as exit_info:
        entry(args)
    return exit_info.value.code


def test_help_and_argument_errors_do_not_import_torch():
    """Help and a bad flag are answered before torch is imported (torch's import is what made them take seconds)."""
    script = """
import sys
from staf_tasks.cli import activations_entrypoint, bench_entrypoint, fit_entrypoint, render_entrypoint
from staf_nerfstudio.scene import entrypoint as make_scene
calls = [(fit_entrypoint, ["--help"]), (fit_entrypoint, ["image", "--help"]), (fit_entrypoint, ["shape", "--help"]),
         (fit_entrypoint, ["image", "--model", "transformer"]), (fit_entrypoint, ["painting"]),
         (bench_entrypoint, ["audio", "--help"]), (render_entrypoint, ["--help"]),
         (activations_entrypoint, ["--help"]), (make_scene, ["--help"])]
codes = []
for entry, args in calls:
    try:
        entry(args)
    except SystemExit as e:
        codes.append(e.code)
print("CODES", codes, "TORCH", "torch" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300).stdout
    assert "CODES [0, 0, 0, 2, 2, 0, 0, 0, 0] TORCH False" in out, out[-2000:]


@pytest.mark.parametrize("entry, args", [(fit_entrypoint, [task, "--help"]) for task in TASK_CONFIGS] + [
    (bench_entrypoint, ["image", "--help"]), (render_entrypoint, ["--help"]), (activations_entrypoint, ["--help"])])
def test_help_text_is_plain(entry, args, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert run(entry, args) == 0
    text = capsys.readouterr().out
    assert "--help" in text and "``" not in text and "{None}" not in text


def test_optional_flags_keep_parsing(tmp_path):
    args = ["image", "--data", "camera", "--name", "cam", *TINY, "--output-dir", str(tmp_path)]
    assert run(fit_entrypoint, args) == 0
    saved = yaml.safe_load((tmp_path / "cam" / "config.yml").read_text())
    assert saved["data"] == "camera" and saved["size"] == [12, 12]


def test_presets_ship_in_the_package_and_match_configs():
    names = preset_names()
    assert {"image", "image_quick", "audio", "shape", "sr", "denoise"} <= set(names)
    repo_configs = Path(__file__).parents[2] / "configs"
    assert sorted(p.stem for p in repo_configs.glob("*.yaml")) == names
    assert all((PRESETS_DIR / f"{name}.yaml").read_text() == (repo_configs / f"{name}.yaml").read_text()
               for name in names)


def test_presets_by_name_and_run_configs_from_any_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no configs/ folder here
    quick = yaml.safe_load((PRESETS_DIR / "image_quick.yaml").read_text())
    assert run(fit_entrypoint, ["image", "--config", "image_quick", *TINY, "--output-dir", "out"]) == 0
    first = yaml.safe_load((tmp_path / "out" / "image-staf" / "config.yml").read_text())
    assert first["train"]["eval_every"] == quick["train"]["eval_every"] != 10  # from the preset
    assert first["size"] == [12, 12] and first["train"]["epochs"] == 1  # flags after it win

    # A run folder (or its config.yml) as --config: that run's settings, under a new name.
    for i, given in enumerate(["out/image-staf", "out/image-staf/config.yml"]):
        assert run(fit_entrypoint, ["image", "--config", given, "--name", f"again{i}", "--no-progress"]) == 0
        again = yaml.safe_load((tmp_path / "out" / f"again{i}" / "config.yml").read_text())
        assert {k: v for k, v in again.items() if k not in ("name", "config")} == {
            k: v for k, v in first.items() if k not in ("name", "config")}
    metrics = json.loads((tmp_path / "out" / "again0" / "metrics.json").read_text())
    assert metrics["epochs"] == 1

    capsys.readouterr()
    assert run(fit_entrypoint, ["audio", "--config", "out/image-staf"]) == 2
    assert "holds a 'image' run's settings" in capsys.readouterr().err
    assert run(fit_entrypoint, ["image", "--config", "image_quik"]) == 2
    err = capsys.readouterr().err
    assert "config file not found: image_quik" in err and "image_quick" in err and len(err.splitlines()) == 1


def test_progress_lines_when_output_is_not_a_terminal(tmp_path, capsys):
    args = ["image", *[a for a in TINY if a != "--no-progress"], "--train.epochs", "20", "--output-dir", str(tmp_path)]
    assert run(fit_entrypoint, args) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("image staf: epoch")]
    pattern = re.compile(r"image staf: epoch (\d+)/20 \((\d+)%\), step (\d+), loss \S+  psnr [\d.]+, "
                         r"\d+:\d\d:\d\d elapsed, ETA (\d+:\d\d:\d\d|\?)$")
    assert len(lines) == 20 and all(pattern.match(line) for line in lines), lines
    epochs = [int(pattern.match(line).group(1)) for line in lines]
    steps = [int(pattern.match(line).group(3)) for line in lines]
    assert epochs == list(range(1, 21)) and steps == [3 * e for e in epochs]  # 144 pixels / 64 per step


def test_line_progress_prints_every_few_percent(capsys):
    with LineProgress("fit", steps_per_epoch=2, every_percent=10) as bar:
        task = bar.add_task("fit", total=200, completed=0, status="")
        for epoch in range(1, 201):
            bar.update(task, status=f"psnr {epoch / 10:.1f}")
            bar.update(task, completed=epoch)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 10 and lines[0].startswith("fit: epoch 20/200 (10%), step 40, psnr 2.0, ")
    assert lines[-1].startswith("fit: epoch 200/200 (100%), step 400, psnr 20.0, ")
