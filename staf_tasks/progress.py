"""Progress of a fit: rich's live bar in a terminal or notebook; where output is not a terminal (CI logs, ``nohup``,
a pipe) one plain line every few percent with the epoch, step, live metric, elapsed time and time left."""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from typing import IO, Any, Dict, Optional


def progress_bar(enabled: bool, description: str, steps_per_epoch: int = 1, every_percent: float = 5.0,
                 file: Optional[IO[str]] = None) -> Any:
    """A progress display with rich's ``add_task`` / ``update`` interface, to use as a context manager."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(file=file)
    if enabled and not (console.is_terminal or console.is_jupyter):
        return LineProgress(description, steps_per_epoch, every_percent, file)
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not enabled,
        transient=False,
    )


def _clock(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))


class LineProgress:
    """Prints ``DESCRIPTION: epoch E/N (P%), step S, STATUS, H:MM:SS elapsed, ETA H:MM:SS`` each time another
    ``every_percent`` of the epochs is done, and at the last epoch."""

    def __init__(self, description: str, steps_per_epoch: int = 1, every_percent: float = 5.0,
                 file: Optional[IO[str]] = None) -> None:
        self.description = description
        self.steps_per_epoch = steps_per_epoch
        self.every_percent = every_percent
        self.file = file
        self.tasks: Dict[int, Dict[str, Any]] = {}

    def __enter__(self) -> "LineProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def add_task(self, description: str, total: int, completed: int = 0, status: str = "") -> int:
        task_id = len(self.tasks)
        self.tasks[task_id] = {"description": description, "total": max(1, total), "completed": completed,
                               "status": status, "start": time.perf_counter(), "start_completed": completed,
                               "printed_bucket": self._bucket(completed, max(1, total))}
        return task_id

    def _bucket(self, completed: int, total: int) -> int:
        return int(100.0 * completed / total // self.every_percent)

    def update(self, task_id: int, completed: Optional[int] = None, status: Optional[str] = None) -> None:
        task = self.tasks[task_id]
        if status is not None:
            task["status"] = status
        if completed is None:
            return
        task["completed"] = completed
        bucket = self._bucket(completed, task["total"])
        if bucket > task["printed_bucket"] or (completed >= task["total"] and task["printed_bucket"] >= 0):
            task["printed_bucket"] = bucket if completed < task["total"] else -1  # the last line is printed once
            print(self.line(task), file=self.file or sys.stdout, flush=True)

    def line(self, task: Dict[str, Any]) -> str:
        done, total = task["completed"], task["total"]
        elapsed = time.perf_counter() - task["start"]
        new = done - task["start_completed"]
        eta = _clock(elapsed / new * (total - done)) if new > 0 else "?"
        status = f", {task['status']}" if task["status"] else ""
        return (f"{task['description']}: epoch {done}/{total} ({100.0 * done / total:.0f}%), step "
                f"{done * self.steps_per_epoch}{status}, {_clock(elapsed)} elapsed, ETA {eta}")
