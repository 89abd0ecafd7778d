"""The task registry: every standalone task by name."""

from __future__ import annotations

from typing import Dict

from staf_tasks.errors import StafUserError
from staf_tasks.tasks.audio import AudioTask
from staf_tasks.tasks.base import FitConfig, Prepared, RenderRequest, Task
from staf_tasks.tasks.image import DenoiseTask, ImageTask, SuperResolutionTask
from staf_tasks.tasks.shape import ShapeTask

TASKS: Dict[str, Task] = {
    task.name: task for task in (ImageTask(), AudioTask(), ShapeTask(), SuperResolutionTask(), DenoiseTask())
}


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise StafUserError(f"unknown task {name!r}; choose one of: {', '.join(TASKS)}") from None


__all__ = ["TASKS", "FitConfig", "Prepared", "RenderRequest", "Task", "get_task"]
