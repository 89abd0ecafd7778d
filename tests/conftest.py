"""Helpers shared by the test layers (tests/core, tests/nerf, tests/tasks, tests/cli, tests/theory, tests/project).

Test modules import the plain helpers (``from conftest import REPO, rel_err, TINY_FIELD``); the fixtures need no
import. ``pytest -m "not slow"`` leaves out the tests marked ``slow`` (the viewer in a browser, DDP, Ray sweeps, the
learning floors).
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
"""The repository root."""
FIXTURES = Path(__file__).resolve().parent / "fixtures"
"""Run folders written by older versions of the package (tests/tasks/test_old_runs.py)."""


def rel_err(a, b) -> float:
    """``max |a - b| / max |b|`` in float64 (0 for two empty tensors)."""
    if b.numel() == 0:
        assert a.numel() == 0
        return 0.0
    return ((a.double() - b.double()).abs().max() / b.double().abs().max().clamp_min(1e-30)).item()


TINY_FIELD = {
    "hidden_dim": 16,
    "num_layers": 1,
    "hidden_dim_color": 16,
    "proposal_hidden_dim": 16,
    "num_proposal_samples_per_ray": (16, 8),
    "num_nerf_samples_per_ray": 8,
}
"""The tiny ``staf`` field the NeRF tests train on the CPU in seconds, as ``--pipeline.model.*`` overrides: a 16-wide
field and proposal networks, 16 + 8 proposal and 8 field samples."""


TINY_SCENE = {"res": 16, "views": (6, 2, 2), "supersample": 1}
"""The tiny generated scene: 16x16 pixels, 6 training, 2 validation and 2 test views."""


@pytest.fixture(scope="session")
def tiny_scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """:data:`TINY_SCENE`, generated once per test session (read-only: runs write elsewhere)."""
    from staf_nerfstudio.scene import make_scene

    path = tmp_path_factory.mktemp("tiny_scene") / "scene"
    make_scene(path, **TINY_SCENE)
    return path
