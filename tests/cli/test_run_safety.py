"""No run is damaged: a writer killed (SIGKILL) in the middle of a checkpoint leaves a run that resumes; a second writer
into a folder being written (staf-fit, staf-bench) is refused while the first finishes consistent; a dead writer's
lock is taken over; SIGTERM says where the checkpoint is; a failing resume changes no byte; sizes that cannot fit are
refused before anything is allocated; a full disk is one line; a sweep's results folder is never replaced without
--overwrite (--resume keeps the finished runs)."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch
import yaml

from staf_nerfstudio.io import atomic_path, remove_stale_temp_files
from staf_tasks.cli import bench_entrypoint

REPO = Path(__file__).resolve().parents[2]
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
    in one process, tests/cli/cli_rows.py)."""
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
        leftovers = [p.name for p in run.iterdir() if p.name.startswith(".") and p.name != ".staf-writer.lock"]
        assert bool(leftovers) == (point != "after-rename"), leftovers
        assert (run / ".staf-writer.lock").exists()  # the killed writer's lock: stale, taken over by the resume
    rows = [{"id": point, "argv": ["staf-fit", "image", "--resume", str(tmp_path / point), "--no-progress"]}
            for point in points]
    (tmp_path / "rows.json").write_text(json.dumps(rows))
    subprocess.run([sys.executable, str(REPO / "tests" / "cli" / "cli_rows.py"), str(tmp_path / "rows.json"),
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


# Runs a command (argv: COMMAND ARGS...) with every checkpoint write followed by a pause, so that a test can act while
# it trains; prints READY once the first checkpoint is on disk.
SLOW = r"""
import sys, time
import staf_tasks.training as training
real = training.save_checkpoint_file
def slow(path, state):
    real(path, state)
    print("READY", flush=True)
    time.sleep(0.25)
training.save_checkpoint_file = slow
from staf_tasks import cli
entry = {"staf-fit": cli.fit_entrypoint, "staf-bench": cli.bench_entrypoint}[sys.argv[1]]
entry(sys.argv[2:])
"""


def _start_slow(command, args, cwd):
    process = subprocess.Popen([sys.executable, "-c", SLOW, command, *args], env=_env(), cwd=cwd,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:  # until the first checkpoint is written
        if line.startswith("READY"):
            return process
    raise AssertionError(process.stderr.read())


def _tiny_image(tmp_path):
    iio.imwrite(tmp_path / "tiny.png", (np.random.default_rng(0).random((6, 6, 3)) * 255).astype(np.uint8))
    return str(tmp_path / "tiny.png")


def _rows(tmp_path, rows, preexec_fn=None):
    """Runs staf command lines in one subprocess (tests/cli/cli_rows.py); returns {id: result}."""
    (tmp_path / "rows.json").write_text(json.dumps(rows))
    subprocess.run([sys.executable, str(REPO / "tests" / "cli" / "cli_rows.py"), str(tmp_path / "rows.json"),
                    str(tmp_path / "results.json")], env=_env(), check=True, timeout=300, preexec_fn=preexec_fn)
    return {r["id"]: r for r in json.loads((tmp_path / "results.json").read_text())}


def _one_error_line(result, *words):
    lines = result["stderr"].strip().splitlines()
    assert result["code"] == 2 and len(lines) == 1 and lines[0].startswith("error: "), result["stderr"]
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def test_second_writer_is_refused_while_a_fit_trains(tmp_path):
    """While staf-fit trains into a run folder, a second staf-fit (--overwrite, --resume, or the same command) is
    refused in one line naming the folder and the first process; staf-render reads the last complete checkpoint;
    the first run finishes and its config, checkpoint and metrics are all its own."""
    data = _tiny_image(tmp_path)
    run = tmp_path / "run"
    args = ["image", "--data", data, *TINY, "--train.epochs", "60", "--train.checkpoint-every", "1",
            "--output-dir", str(tmp_path), "--name", "run"]
    first = _start_slow("staf-fit", args, tmp_path)
    try:
        rows = [{"id": "overwrite", "argv": ["staf-fit", *args[:-4], "--hidden-features", "16", "--overwrite",
                                             "--output-dir", str(tmp_path), "--name", "run"]},
                {"id": "resume", "argv": ["staf-fit", "image", "--resume", str(run), "--train.epochs", "20"]},
                {"id": "same", "argv": ["staf-fit", *args]},
                {"id": "render", "argv": ["staf-render", str(run), "--output", str(tmp_path / "during.png")]}]
        done = _rows(tmp_path, rows)
        assert first.poll() is None, "the first run ended before the second writers were tried"
    finally:
        out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    for row in ("overwrite", "resume", "same"):
        _one_error_line(done[row], str(run), f"process {first.pid}", "being written")
    assert done["render"]["code"] == 0, done["render"]["stderr"]
    assert iio.imread(tmp_path / "during.png").shape[:2] == (6, 6)
    config = yaml.safe_load((run / "config.yml").read_text())
    state = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)
    metrics = json.loads((run / "metrics.json").read_text())
    assert config["hidden_features"] == state["run"]["config"]["hidden_features"] == 8
    assert config["train"]["epochs"] == state["epoch"] == metrics["epochs"] == 60
    assert metrics["history"] == state["history"]
    assert sorted(p.name for p in run.iterdir() if p.name.startswith(".")) == []  # the lock is gone


def test_second_sweep_is_refused_while_a_sweep_runs(tmp_path):
    data = _tiny_image(tmp_path)
    args = ["image", "--models", "staf,siren", "--data", data, *TINY, "--train.epochs", "30",
            "--train.checkpoint-every", "1", "--output-dir", str(tmp_path)]
    first = _start_slow("staf-bench", args, tmp_path)
    try:
        done = _rows(tmp_path, [{"id": "overwrite", "argv": ["staf-bench", *args, "--overwrite"]},
                                {"id": "resume", "argv": ["staf-bench", *args, "--resume"]},
                                {"id": "fit-into-run", "argv": ["staf-fit", "image", "--data", data, *TINY,
                                                                "--overwrite", "--output-dir",
                                                                str(tmp_path / "bench-image"), "--name",
                                                                "staf-seed0"]}])
        assert first.poll() is None, "the sweep ended before the second writers were tried"
    finally:
        out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    sweep = tmp_path / "bench-image"
    for row in ("overwrite", "resume"):
        _one_error_line(done[row], str(sweep), f"process {first.pid}")
    _one_error_line(done["fit-into-run"], "staf-seed0", f"process {first.pid}")
    results = json.loads((sweep / "results.json").read_text())
    assert [f["status"] for f in results["fits"]] == ["ok", "ok"]
    for model in ("staf", "siren"):
        run = sweep / f"{model}-seed0"
        state = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)
        assert state["run"]["config"]["model"] == model and state["epoch"] == 30
        assert json.loads((run / "metrics.json").read_text())["epochs"] == 30
    assert [p.name for p in sweep.rglob(".*")] == []


def test_stale_lock_is_taken_over(tmp_path):
    """A writer killed with SIGKILL leaves its lock file behind (naming a process that is gone): the next writer takes
    it over, and a reader is not stopped by it."""
    data = _tiny_image(tmp_path)
    run = tmp_path / "run"
    first = _start_slow("staf-fit", ["image", "--data", data, *TINY, "--train.epochs", "30",
                                     "--train.checkpoint-every", "1", "--output-dir", str(tmp_path), "--name", "run"],
                        tmp_path)
    first.kill()
    first.wait(timeout=60)
    lock = run / ".staf-writer.lock"
    assert f"pid {first.pid}" in lock.read_text()  # the dead writer's lock file is still there
    done = _rows(tmp_path, [{"id": "resume", "argv": ["staf-fit", "image", "--resume", str(run), "--no-progress"]}])
    assert done["resume"]["code"] == 0, done["resume"]["stderr"]
    assert not lock.exists()
    assert json.loads((run / "metrics.json").read_text())["epochs"] == 30


def test_sigterm_says_where_the_checkpoint_is(tmp_path):
    data = _tiny_image(tmp_path)
    run = tmp_path / "run"
    first = _start_slow("staf-fit", ["image", "--data", data, *TINY, "--train.epochs", "30",
                                     "--train.checkpoint-every", "1", "--output-dir", str(tmp_path), "--name", "run"],
                        tmp_path)
    first.send_signal(signal.SIGTERM)
    _, err = first.communicate(timeout=60)
    assert first.returncode == 143, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "SIGTERM" in lines[0], err
    assert str(run / "checkpoint.pt") in lines[0] and f"--resume {run}" in lines[0]
    assert not (run / ".staf-writer.lock").exists()
    torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)


def test_failing_resume_leaves_the_folder_byte_identical(tmp_path):
    """A resume refused after reading the checkpoint (another network's checkpoint copied in, a damaged one, the
    contradictory --overwrite) changes no byte of the run folder; render and activations refuse the same checkpoints
    in one line."""
    data = _tiny_image(tmp_path)
    base = ["image", "--data", data, *TINY, "--train.epochs", "2", "--output-dir", str(tmp_path)]
    done = _rows(tmp_path, [{"id": "a", "argv": ["staf-fit", *base, "--name", "a"]},
                            {"id": "wide", "argv": ["staf-fit", *base, "--name", "wide", "--hidden-features", "12"]}])
    assert done["a"]["code"] == done["wide"]["code"] == 0
    swapped, damaged = tmp_path / "swapped", tmp_path / "damaged"
    for folder in (swapped, damaged):
        shutil.copytree(tmp_path / "a", folder)
    (swapped / "checkpoint.pt").write_bytes((tmp_path / "wide" / "checkpoint.pt").read_bytes())
    (damaged / "checkpoint.pt").write_bytes((tmp_path / "a" / "checkpoint.pt").read_bytes()[:300])
    before = {f: _snapshot(f) for f in (swapped, damaged, tmp_path / "a")}
    rows = [{"id": "swapped", "argv": ["staf-fit", "image", "--resume", str(swapped), "--train.epochs", "4"]},
            {"id": "damaged", "argv": ["staf-fit", "image", "--resume", str(damaged), "--train.epochs", "4"]},
            {"id": "overwrite", "argv": ["staf-fit", "image", "--resume", str(tmp_path / "a"), "--overwrite",
                                         "--train.epochs", "4"]},
            {"id": "render-damaged", "argv": ["staf-render", str(damaged)]},
            {"id": "activations-damaged", "argv": ["staf-activations", str(damaged)]},
            {"id": "render-swapped", "argv": ["staf-render", str(swapped)]}]
    done = _rows(tmp_path, rows)
    _one_error_line(done["swapped"], "does not hold the network")
    _one_error_line(done["damaged"], "damaged")
    _one_error_line(done["overwrite"], "--resume", "--overwrite", "not both")
    _one_error_line(done["render-damaged"], "damaged")
    _one_error_line(done["activations-damaged"], "damaged")
    assert done["render-swapped"]["code"] == 0  # the checkpoint carries its own network's settings
    for folder, snapshot in before.items():
        after = _snapshot(folder)
        if folder == swapped:  # staf-render wrote its picture beside the run's files, nothing else
            after = {k: v for k, v in after.items() if not k.startswith("render_")}
        assert after == snapshot, folder


def _memory_cap():
    resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))


CAP = 6 << 30


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS")
def test_size_flags_are_refused_before_allocating(tmp_path):
    """Under a 6 GB address-space cap, every size-like flag asked for far more is refused in one line naming the flag
    and the estimate, and nothing is written (without the checks the allocation itself fails, with a traceback)."""
    data = _tiny_image(tmp_path)
    o = tmp_path / "out"
    o.mkdir()
    done = _rows(tmp_path, [{"id": "run", "argv": ["staf-fit", "image", "--data", data, *TINY, "--train.epochs", "1",
                                                   "--output-dir", str(o), "--name", "run"]}])
    assert done["run"]["code"] == 0, done["run"]["stderr"]
    fit = ["staf-fit", "image", "--data", data, "--no-progress", "--output-dir", str(o), "--name", "big"]
    cases = {
        "--size": fit + ["--size", "100000", "100000"],
        "--hidden-features": fit + ["--hidden-features", "1000000"],
        "--models.staf.tau": fit + ["--models.staf.tau", "100000000", "--models.staf.sharing", "neuron"],
        "--models.relu-pe.num-frequencies": fit + ["--model", "relu-pe", "--models.relu-pe.num-frequencies",
                                                   "100000000"],
        "--train.batch-size": ["staf-fit", "image", "--size", "20000", "20000", "--train.batch-size", "0",
                               "--hidden-features", "64", "--output-dir", str(o), "--name", "big"],
        "--resolution": ["staf-fit", "shape", "--resolution", "100000", "--output-dir", str(o), "--name", "big"],
        "--chamfer-points": ["staf-fit", "shape", "--resolution", "8", "--chamfer-points", "10000000000",
                             "--output-dir", str(o), "--name", "big"],
        "--scale": ["staf-render", str(o / "run"), "--scale", "1e6"],
        "--size ": ["staf-render", str(o / "run"), "--size", "1000000", "1000000"],
        "--res": ["staf-make-scene", str(o / "scene"), "--res", "100000"],
        "--models": ["staf-bench", "image", "--models", "staf,siren", "--data", data, "--hidden-features", "1000000",
                     "--output-dir", str(o)],
    }
    rows = [{"id": flag, "argv": argv, "watch": str(o)} for flag, argv in cases.items()]
    done = _rows(tmp_path, rows, preexec_fn=_memory_cap)
    for flag in cases:
        expected = {"--models": "--hidden-features"}.get(flag, flag.strip())
        line = _one_error_line(done[flag], expected, "memory", "GB")
        assert "Traceback" not in done[flag]["stderr"] and done[flag]["changed"] == [], (flag, line)


@pytest.fixture
def small_disk(tmp_path):
    """A 512 KB tmpfs (needs root and a kernel that lets this process mount; skipped otherwise)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root on Linux")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def _fill(folder: Path) -> None:
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:  # the disk is full
        pass
    finally:
        os.close(fd)


def test_full_disk_is_one_line_and_changes_nothing(tmp_path, small_disk):
    """A checkpoint that does not fit on the disk (torch reports it as a RuntimeError) ends the fit with one line
    naming the folder; a fresh run leaves no folder behind, a resume leaves its run byte for byte as it was."""
    data = _tiny_image(tmp_path)
    done = _rows(tmp_path, [{"id": "small", "argv": ["staf-fit", "image", "--data", data, *TINY, "--train.epochs", "2",
                                                     "--output-dir", str(tmp_path), "--name", "small"]}])
    assert done["small"]["code"] == 0, done["small"]["stderr"]
    shutil.copytree(tmp_path / "small", small_disk / "small")
    big = small_disk / "fresh"
    big.mkdir()
    rows = [{"id": "fresh", "argv": ["staf-fit", "image", "--data", data, "--hidden-features", "256",
                                     "--hidden-layers", "2", "--no-progress", "--train.batch-size", "0",
                                     "--train.epochs", "1", "--output-dir", str(big)], "watch": str(big)}]
    done = _rows(tmp_path, rows)
    _one_error_line(done["fresh"], "is full", str(big))
    assert done["fresh"]["changed"] == []
    _fill(small_disk)
    run = small_disk / "small"
    before = _snapshot(run)
    done = _rows(tmp_path, [{"id": "resume", "argv": ["staf-fit", "image", "--resume", str(run), "--train.epochs",
                                                      "4", "--no-progress"]}])
    _one_error_line(done["resume"], "is full", str(run), "--resume")
    assert _snapshot(run) == before


def test_make_scene_refuses_a_scene_folder_being_written(tmp_path):
    """staf-make-scene takes the same writer lock: while another process holds a scene folder, even --overwrite is
    refused in one line naming the holder, and the folder keeps every byte."""
    from staf_nerfstudio.locking import FolderLock

    scene = tmp_path / "scene"
    scene.mkdir()
    (scene / "transforms_train.json").write_text("{}\n")
    with FolderLock(scene, "scene folder"):
        before = _snapshot(scene)
        result = subprocess.run(
            [sys.executable, "-m", "staf_nerfstudio.scene", str(scene), "--res", "4", "--views", "1", "1", "1",
             "--overwrite"],
            capture_output=True, text=True, env=_env(), timeout=300,
        )  # fmt: skip
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and f"being written by process {os.getpid()}" in lines[0], result.stderr
        assert _snapshot(scene) == before
