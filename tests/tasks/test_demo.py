"""``staf-demo``: STAF (the default) and SIREN fitted side by side under one budget, pictures and summary written."""

from __future__ import annotations

import json
import subprocess
import sys

import imageio.v3 as iio

from staf_tasks.demo import DEMO_MODELS, entrypoint


def test_demo_fits_staf_and_siren_side_by_side(tmp_path, capsys):
    out = tmp_path / "demo"
    try:
        entrypoint(["--quick", "--no-nerf", "--output-dir", str(out)])
    except SystemExit as exit_:
        assert exit_.code in (0, None)
    summary = json.loads((out / "summary.json").read_text())
    assert DEMO_MODELS == ("staf", "siren")
    for model in DEMO_MODELS:
        image = summary[f"image_{model}"]
        assert image["epochs"] == 2 and 5.0 < image["psnr"] < 60.0, image
        config = (out / f"image-{model}" / "config.yml").read_text()
        assert f"model: {model}" in config
    picture = iio.imread(out / "staf_vs_siren.png")
    assert picture.shape[1] > 2 * picture.shape[0]  # a row of panels: target, STAF, SIREN
    assert (out / "staf_vs_siren_curves.png").stat().st_size > 0
    printed = capsys.readouterr().out
    assert "Image, STAF" in printed and "Image, SIREN" in printed and "staf_vs_siren.png" in printed


def test_output_to_log_keeps_the_terminal_for_progress_only(tmp_path):
    """What nerfstudio prints inside the demo's NeRF part (Python prints, warnings, C-level writes to fds 1 and 2,
    child processes) lands in the log; the terminal gets the progress lines and what comes after the block."""
    log = tmp_path / "nerf" / "nerfstudio.log"
    script = f"""
import os, subprocess, sys, warnings
from pathlib import Path
from staf_tasks.demo import output_to_log
print("before", flush=True)
with output_to_log(Path({str(log)!r})) as terminal:
    print("config dump")
    print("to stderr", file=sys.stderr)
    warnings.warn("a deprecation")
    os.write(1, b"c-level out\\n")
    os.write(2, b"c-level err\\n")
    subprocess.run([sys.executable, "-c", "print('child process')"], check=True)
    print("stage 1 of 2", file=terminal)
print("after")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["before", "stage 1 of 2", "after"]
    assert done.stderr == ""
    written = log.read_text()
    for line in ("config dump", "to stderr", "a deprecation", "c-level out", "c-level err", "child process"):
        assert line in written, (line, written)
    assert "stage 1 of 2" not in written and "after" not in written


def test_output_to_log_under_captured_streams(tmp_path, capsys):
    """Inside pytest (no real stdout) the block still logs Python output and yields the captured stream."""
    from staf_tasks.demo import output_to_log

    with output_to_log(tmp_path / "log.txt") as terminal:
        print("into the log")
        print("progress", file=terminal)
    print("after")
    assert capsys.readouterr().out.splitlines() == ["progress", "after"]
    assert (tmp_path / "log.txt").read_text() == "into the log\n"
