"""No run is damaged: a writer killed (SIGKILL) in the middle of a checkpoint leaves a run that resumes, and a sweep's
results folder is never replaced without --overwrite (--resume keeps the finished runs)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from staf_nerfstudio.io import atomic_path, remove_stale_temp_files
from staf_tasks.cli import bench_entrypoint

REPO = Path(__file__).resolve().parents[1]
TINY = ["--hidden-features", "8", "--hidden-layers", "1", "--no-progress", "--train.batch-size", "0"]

# Runs staf-fit and SIGKILLs itself at POINT of the checkpoint write number N (argv: POINT N staf-fit-args...).
KILLER = r"""
import io, os, signal, sys
import torch
point, target, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
writes = {"n": 0}
real_save, real_replace = torch.save, os.replace

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def save(obj, f, *a, **k):
    if isinstance(obj, dict) and "optimizer" in obj:
        writes["n"] += 1
        if writes["n"] == target and point == "mid-write":
            buffer = io.BytesIO()
            real_save(obj, buffer)
            with open(f, "wb") as handle:  # half of the checkpoint's bytes reach the temporary file
                handle.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
                handle.flush()
                os.fsync(handle.fileno())
            die()
    return real_save(obj, f, *a, **k)

def replace(src, dst):
    if writes["n"] == target and str(dst).endswith("checkpoint.pt"):
        if point == "before-rename":
            die()
        real_replace(src, dst)
        if point == "after-rename":
            die()
        return
    real_replace(src, dst)

torch.save, os.replace = save, replace
from staf_tasks.cli import fit_entrypoint
fit_entrypoint(args)
"""


def _env():
    return {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def _snapshot(root: Path):
    return {str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir")
            for p in sorted(root.rglob("*"))}


def test_atomic_write_cleans_up_after_a_failure(tmp_path):
    (tmp_path / "out.bin").write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "out.bin") as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("the writer fails")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]
    assert (tmp_path / "out.bin").read_bytes() == b"old"
    # A killed writer's leftovers (this version's mark and the older .checkpoint.*.pt) are removed on the next start.
    for name in (".checkpoint.tmp-abc123.pt", ".checkpoint.k2j3h4.pt", ".metrics.tmp-zz.json"):
        (tmp_path / name).write_bytes(b"partial")
    assert len(remove_stale_temp_files(tmp_path)) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_atomic_write_fsyncs_the_file_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("rename"), real_replace(a, b))[1])
    with atomic_path(tmp_path / "x.txt") as tmp:
        tmp.write_text("data")
    assert events[:2] == ["fsync", "rename"]  # then the folder is synced
    assert (tmp_path / "x.txt").read_text() == "data"


def test_killed_mid_checkpoint_then_resumes(tmp_path):
    """SIGKILL in the second checkpoint write, at three points; every run then resumes to the end (the resumes run
    in one process, tests/cli_rows.py)."""
    iio.imwrite(tmp_path / "tiny.png", (np.random.default_rng(0).random((6, 6, 3)) * 255).astype(np.uint8))
    points = ["mid-write", "before-rename", "after-rename"]
    for point in points:
        args = ["image", "--data", str(tmp_path / "tiny.png"), *TINY, "--train.epochs", "4",
                "--train.checkpoint-every", "1", "--output-dir", str(tmp_path), "--name", point]
        killed = subprocess.run([sys.executable, "-c", KILLER, point, "2", *args], env=_env(), capture_output=True,
                                text=True, timeout=300)
        assert killed.returncode == -9, killed.stderr  # SIGKILL, in the second checkpoint write
        run = tmp_path / point
        state = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)  # never a torn checkpoint
        assert state["epoch"] == (2 if point == "after-rename" else 1)
        leftovers = [p.name for p in run.iterdir() if p.name.startswith(".")]
        assert bool(leftovers) == (point != "after-rename"), leftovers
    rows = [{"id": point, "argv": ["staf-fit", "image", "--resume", str(tmp_path / point), "--no-progress"]}
            for point in points]
    (tmp_path / "rows.json").write_text(json.dumps(rows))
    subprocess.run([sys.executable, str(REPO / "tests" / "cli_rows.py"), str(tmp_path / "rows.json"),
                    str(tmp_path / "results.json")], env=_env(), check=True, timeout=300)
    for result in json.loads((tmp_path / "results.json").read_text()):
        assert result["code"] == 0, result["stderr"]
        run = tmp_path / result["id"]
        assert [p.name for p in run.iterdir() if p.name.startswith(".")] == []  # the temporary files are gone
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["epochs"] == 4 and metrics["history"][-1]["epoch"] == 4


def _bench(*args):
    with pytest.raises(SystemExit) as exit_info:
        bench_entrypoint(list(args))
    return exit_info.value.code


def test_bench_refuses_an_existing_sweep_and_resumes_it(tmp_path, capsys):
    iio.imwrite(tmp_path / "tiny.png", (np.random.default_rng(0).random((6, 6, 3)) * 255).astype(np.uint8))
    out = tmp_path / "out"
    args = ["image", "--models", "staf,siren", "--data", str(tmp_path / "tiny.png"), *TINY, "--train.epochs", "1",
            "--output-dir", str(out)]
    assert _bench(*args) == 0
    sweep = out / "bench-image"
    before = _snapshot(sweep)
    capsys.readouterr()
    assert _bench(*args) == 2  # the results of a sweep are never replaced silently
    err = capsys.readouterr().err
    assert "--resume" in err and "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert _snapshot(sweep) == before
    # A sweep whose siren run was interrupted: --resume trains only that run and keeps the finished staf run.
    (sweep / "siren-seed0" / "metrics.json").unlink()
    staf_checkpoint = (sweep / "staf-seed0" / "checkpoint.pt").stat().st_mtime_ns
    assert _bench(*args, "--resume", "--train.lr", "0.01") == 2  # other settings than the finished runs': refused
    assert "--train.lr 0.01" in capsys.readouterr().err
    assert _bench(*args, "--resume") == 0
    assert (sweep / "siren-seed0" / "metrics.json").exists()
    assert (sweep / "staf-seed0" / "checkpoint.pt").stat().st_mtime_ns == staf_checkpoint
    results = json.loads((sweep / "results.json").read_text())
    assert sorted(r["model"] for r in results["rows"]) == ["siren", "staf"]
    assert _bench(*args, "--overwrite") == 0
    assert (sweep / "staf-seed0" / "checkpoint.pt").stat().st_mtime_ns != staf_checkpoint
