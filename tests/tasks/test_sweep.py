"""Sweeps (``staf-bench --data A B --ray``): every signal x model x seed fitted, failed fits reported, and a sweep
on a local 2-worker Ray giving the same numbers as the sequential one; a Ray worker that dies is retried."""

import dataclasses
import json
import os
import sys

import pytest

from staf_tasks.cli import bench_entrypoint
from staf_tasks.sweep import RAY_MISSING, RayOptions, RayStartError, run_fits, run_one

TINY = ["--size", "12", "12", "--hidden-features", "16", "--hidden-layers", "1", "--no-progress",
        "--train.batch-size", "64", "--train.eval-every", "1", "--train.epochs", "2"]


def bench(tmp_path, *args):
    with pytest.raises(SystemExit) as exit_info:
        bench_entrypoint([*args, "--output-dir", str(tmp_path)])
    return exit_info.value.code


def test_sweep_over_signals_reports_a_failed_fit(tmp_path, capsys):
    missing = tmp_path / "missing.png"
    code = bench(tmp_path, "image", "--models", "staf,siren", "--data", "astronaut", str(missing), "camera", *TINY)
    out, err = capsys.readouterr()
    assert code == 1 and "2 of 6 fits failed" in err
    folder = tmp_path / "bench-image"
    results = json.loads((folder / "results.json").read_text())
    assert results["signals"] == ["astronaut", str(missing), "camera"] and results["executor"] == "sequential"
    assert [(f["signal"], f["model"], f["status"]) for f in results["fits"]] == [
        ("astronaut", "staf", "ok"), ("astronaut", "siren", "ok"), (str(missing), "staf", "failed"),
        (str(missing), "siren", "failed"), ("camera", "staf", "ok"), ("camera", "siren", "ok")]
    for row in results["rows"]:  # over the fits that finished; the failed one listed with its error
        assert len(row["per_seed"]) == 2 and len(row["failed"]) == 1 and "not found" in row["failed"][0]["error"]
    assert set(results["per_signal"]) == {"astronaut", "missing", "camera"}
    for model in ("staf", "siren"):  # one run folder per signal, model and seed
        assert (folder / "astronaut" / f"{model}-seed0" / "metrics.json").exists()
        assert (folder / "camera" / f"{model}-seed0" / "metrics.json").exists()
    table = (folder / "table.md").read_text()
    assert "failed fits" in table and "missing.png seed 0" in table and "image on camera" in table
    assert (folder / "curves.png").exists() and (folder / "reconstructions.png").exists()


def test_ray_flag_without_ray_says_how_to_get_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what an environment without Ray looks like to find_spec
    assert bench(tmp_path, "image", "--ray", *TINY) == 2
    assert capsys.readouterr().err.strip() == f"error: {RAY_MISSING}"
    assert not (tmp_path / "bench-image").exists()


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray with 2 worker cores for the tests below (started once: it takes seconds)."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'staf-nerfstudio[ray]')")
    from staf_tasks.sweep import connect

    try:
        connect(ray, RayOptions(num_cpus=2, start_attempts=2))
    except RayStartError as err:  # Ray's own start-up, not this package: see the message
        pytest.skip(str(err))
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_ray_sweep_equals_sequential_metric_for_metric(tmp_path, local_ray, capsys):
    args = ["image", "--models", "staf,siren", "--seeds", "2", "--data", "astronaut", "camera", *TINY]
    assert bench(tmp_path / "seq", *args) == 0
    assert bench(tmp_path / "ray", *args, "--ray") == 0
    assert "fits in" in capsys.readouterr().out
    seq = json.loads((tmp_path / "seq" / "bench-image" / "results.json").read_text())
    par = json.loads((tmp_path / "ray" / "bench-image" / "results.json").read_text())
    assert seq["executor"] == "sequential" and par["executor"] == "ray" and len(par["fits"]) == 8
    for a, b in zip(seq["fits"], par["fits"]):
        assert (a["signal"], a["model"], a["seed"], a["status"]) == (b["signal"], b["model"], b["seed"], "ok")
        assert a["final"] == b["final"]  # exactly: same seeds, same arithmetic
    strip = ("wall_time_s",)
    assert [{k: v for k, v in r.items() if k not in strip} for r in seq["rows"]] == [
        {k: v for k, v in r.items() if k not in strip} for r in par["rows"]]
    for run in ("astronaut/staf-seed1", "camera/siren-seed0"):  # and the run folders hold the same history
        history = [json.loads((tmp_path / d / "bench-image" / run / "metrics.json").read_text())["history"]
                   for d in ("seq", "ray")]
        assert [{k: v for k, v in r.items() if k != "time_s"} for r in history[0]] == [
            {k: v for k, v in r.items() if k != "time_s"} for r in history[1]]


@pytest.mark.slow
def test_a_dead_worker_is_retried_and_a_lost_fit_reported(tmp_path, local_ray):
    from staf_tasks.tasks import get_task

    base = dataclasses.replace(get_task("image").config_cls(), size=(12, 12), hidden_features=16, hidden_layers=1,
                               progress=False, output_dir=tmp_path)
    base = dataclasses.replace(base, train=dataclasses.replace(base.train, epochs=1, batch_size=64))
    marker = tmp_path / "attempts"

    def dies_once(task_name, cfg, preview):
        with open(marker, "a") as f:
            f.write("x")
        if marker.read_text() == "x":
            os._exit(1)  # the worker process dies (as if killed or out of memory)
        return run_one(task_name, cfg, preview)

    def always_dies(task_name, cfg, preview):
        os._exit(1)

    result = run_fits("image", [dataclasses.replace(base, name="retried")], [False],
                      ray=RayOptions(max_retries=2), runner=dies_once)[0]
    assert marker.read_text() == "xx" and result["status"] == "ok" and result["metrics"]["epochs"] == 1
    lost = run_fits("image", [dataclasses.replace(base, name="lost")], [False], ray=RayOptions(max_retries=1),
                    runner=always_dies)[0]
    assert lost["status"] == "failed" and "after 1 retries" in lost["error"] and lost["model"] == "staf"
