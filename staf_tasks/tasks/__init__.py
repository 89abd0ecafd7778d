"""The task registry: every standalone task by name."""

from __future__ import annotations

from typing import Dict

from staf_tasks.task_configs import FitConfig, task_config_class
from staf_tasks.tasks.audio import AudioTask
from staf_tasks.tasks.base import Prepared, RenderRequest, Task
from staf_tasks.tasks.image import DenoiseTask, ImageTask, SuperResolutionTask
from staf_tasks.tasks.shape import ShapeTask

TASKS: Dict[str, Task] = {
    task.name: task for task in (ImageTask(), AudioTask(), ShapeTask(), SuperResolutionTask(), DenoiseTask())
}


def get_task(name: str) -> Task:
    """The task called ``name``; an unknown name raises :class:`StafUserError` naming the tasks."""
    task_config_class(name)
    return TASKS[name]


__all__ = ["TASKS", "FitConfig", "Prepared", "RenderRequest", "Task", "get_task"]
