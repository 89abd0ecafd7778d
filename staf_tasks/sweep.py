"""The fits of a sweep (every signal x model x seed), run one after another or as Ray tasks (``staf-bench --ray``).

One fit is one call of :func:`run_one` and writes one run folder (``metrics.json`` in it marks it finished); it
returns a plain dict, so a fit runs the same in this process or in a Ray worker on another machine. A fit that
fails is returned as ``{"status": "failed", "error": ...}`` and reported in the table, never lost; a Ray worker
that dies (killed, out of memory, machine lost) is retried by Ray up to ``max_retries`` times.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from staf_tasks.errors import StafUserError

RAY_MISSING = "--ray needs Ray, which is not installed: pip install 'staf-nerfstudio[ray]' (or pip install ray)"

Runner = Callable[[str, Any, bool], Dict[str, Any]]


@dataclass(frozen=True)
class RayOptions:
    """Where the fits of a sweep run when they run on Ray."""

    address: Optional[str] = None
    """A running cluster (``auto``, ``HOST:6379`` or ``ray://HOST:10001``); None starts a local Ray."""
    num_cpus: Optional[int] = None
    """Cores of the local Ray (None: all of this machine's); ignored with an address."""
    max_retries: int = 3
    """How often a fit whose worker died is started again before it is reported as failed."""
    start_attempts: int = 3
    """Tries to start a local Ray: its raylet gives its agent process 15 s to come up and aborts when a busy machine
    misses that (ray-project/ray#65983); a second try usually finds the imports in the page cache."""


def require_ray() -> None:
    """Raises :class:`StafUserError` with the install command when Ray is missing."""
    if importlib.util.find_spec("ray") is None:
        raise StafUserError(RAY_MISSING)


def failed(cfg: Any, error: str) -> Dict[str, Any]:
    """The result of a fit that did not finish."""
    return {"status": "failed", "signal": cfg.data, "model": cfg.model, "seed": cfg.seed, "error": error}


def run_one(task_name: str, cfg: Any, preview: bool = False) -> Dict[str, Any]:
    """Fits ``cfg.model`` with ``cfg.seed`` to the signal ``cfg.data`` into ``cfg.output_dir / cfg.name``.

    Returns ``{"status": "ok", "signal", "model", "seed", "run_dir", "metrics"}`` (``metrics``: the run's
    metrics.json, history included) and, with ``preview``, the bytes of the task's preview picture (so a table can
    be drawn on a machine that does not see the worker's disk). An exception in the fit is returned as a failed
    result with its message, not raised.
    """
    from staf_tasks.runner import run_task

    try:
        summary = run_task(task_name, cfg)
    except Exception as err:  # noqa: BLE001 - a failed fit is a result of the sweep, reported in its table
        detail = traceback.format_exc(limit=-3)
        return {**failed(cfg, f"{type(err).__name__}: {err}"), "traceback": detail}
    return _ok(task_name, cfg, Path(summary.run_dir), summary.metrics, preview)


def finished_result(task_name: str, cfg: Any, preview: bool = False) -> Dict[str, Any]:
    """The result :func:`run_one` returned for a fit whose run folder ``cfg.output_dir / cfg.name`` holds its
    metrics.json (``staf-bench --resume`` keeps such a run instead of fitting it again)."""
    from staf_tasks.runner import METRICS_NAME

    run_dir = Path(cfg.output_dir) / cfg.name
    return _ok(task_name, cfg, run_dir, json.loads((run_dir / METRICS_NAME).read_text()), preview)


def _ok(task_name: str, cfg: Any, run_dir: Path, metrics: Dict[str, Any], preview: bool) -> Dict[str, Any]:
    from staf_tasks.tasks import get_task

    result = {"status": "ok", "signal": cfg.data, "model": cfg.model, "seed": cfg.seed, "run_dir": str(run_dir),
              "metrics": metrics}
    if preview:
        file = run_dir / get_task(task_name).preview_file
        result["preview"] = file.read_bytes() if file.exists() else None
    return result


def _ray_fit(runner: Runner, task_name: str, cfg: Any, preview: bool) -> Dict[str, Any]:
    """One Ray task: a fit on one core (torch's threads set to 1, as Ray's scheduling assumes)."""
    import torch

    torch.set_num_threads(1)
    return runner(task_name, cfg, preview)


def run_fits(
    task_name: str,
    configs: Sequence[Any],
    previews: Sequence[bool],
    ray: Optional[RayOptions] = None,
    runner: Runner = run_one,
    on_result: Optional[Callable[[Dict[str, Any], int, int], None]] = None,
) -> List[Dict[str, Any]]:
    """Runs one fit per config (in this process, or as Ray tasks with ``ray``); results in the order of
    ``configs``. ``on_result(result, done, total)`` is called as each fit finishes."""
    total = len(configs)
    if ray is None:
        results = []
        for i, (cfg, preview) in enumerate(zip(configs, previews)):
            results.append(runner(task_name, cfg, preview))
            if on_result is not None:
                on_result(results[-1], i + 1, total)
        return results
    return _run_on_ray(task_name, configs, previews, ray, runner, on_result)


def _run_on_ray(task_name, configs, previews, options: RayOptions, runner, on_result) -> List[Dict[str, Any]]:
    require_ray()
    import ray

    started_here = not ray.is_initialized()
    if started_here:
        connect(ray, options)
    try:
        remote = ray.remote(num_cpus=1, max_retries=options.max_retries)(_ray_fit)
        refs = [remote.remote(runner, task_name, cfg, preview) for cfg, preview in zip(configs, previews)]
        index = {ref: i for i, ref in enumerate(refs)}
        results: List[Optional[Dict[str, Any]]] = [None] * len(refs)
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            i = index[done[0]]
            try:
                results[i] = ray.get(done[0])
            except ray.exceptions.RayError as err:  # the worker died more often than max_retries
                first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                results[i] = failed(configs[i], f"{type(err).__name__} after {options.max_retries} retries: "
                                                f"{first_line}")
            if on_result is not None:
                on_result(results[i], len(refs) - len(pending), len(refs))
        return results  # type: ignore[return-value]
    finally:
        if started_here:
            ray.shutdown()


def connect(ray: Any, options: RayOptions) -> None:
    """Connects to the cluster at ``options.address``, or starts a local Ray with ``options.num_cpus`` cores."""
    if options.address:
        try:
            ray.init(address=options.address, log_to_driver=True)
        except ConnectionError as err:
            raise StafUserError(f"--ray {options.address}: no Ray cluster there ({err}); start one with "
                                "`ray start --head` or omit the address for a local Ray") from None
        return
    for attempt in range(1, options.start_attempts + 1):
        try:
            ray.init(num_cpus=options.num_cpus or os.cpu_count(), include_dashboard=False, log_to_driver=True)
            return
        except Exception as err:  # noqa: BLE001 - Ray raises a bare Exception when its node does not come up
            ray.shutdown()
            if attempt == options.start_attempts:
                raise RayStartError(
                    f"a local Ray did not start in {options.start_attempts} tries ({err}); on a busy machine Ray's "
                    "raylet can miss its 15 s start window (ray-project/ray#65983): start one with `ray start --head` "
                    "and pass --ray auto, or run without --ray"
                ) from None


class RayStartError(StafUserError):
    """A local Ray could not be started."""


def signal_labels(signals: Sequence[Optional[str]]) -> List[str]:
    """A short, unique folder name per signal: the file's stem (``photos/cat.png`` -> ``cat``), or the built-in name."""
    labels: List[str] = []
    for signal in signals:
        base = Path(signal).stem if signal else "default"
        label, k = base, 2
        while label in labels:
            label, k = f"{base}-{k}", k + 1
        labels.append(label)
    return labels


def sweep_configs(base: Any, signals: Sequence[Optional[str]], models: Sequence[str], seeds: int,
                  bench_dir: Path) -> List[Any]:
    """One config per (signal, model, seed): run folder ``bench_dir/[SIGNAL/]MODEL-seedN`` (a signal folder only
    when there are several signals)."""
    labels = signal_labels(signals)
    configs = []
    for signal, label in zip(signals, labels):
        folder = bench_dir / label if len(signals) > 1 else bench_dir
        for model in models:
            for k in range(seeds):
                seed = base.seed + k
                configs.append(dataclasses.replace(
                    base, data=signal, model=model, seed=seed, output_dir=folder, name=f"{model}-seed{seed}",
                    overwrite=True, resume=None, config=None, progress=base.progress,
                ))
    return configs


def describe(result: Dict[str, Any], primary: str) -> str:
    """One line about a finished fit, for the sweep's log."""
    what = f"{result['signal'] or 'default'} {result['model']} seed {result['seed']}"
    if result["status"] != "ok":
        return f"{what}: FAILED ({result['error']})"
    metrics = result["metrics"]
    return f"{what}: {primary} {metrics['final'][primary]:.3f} ({metrics['wall_time_s']:.1f} s)"

