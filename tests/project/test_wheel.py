"""The built wheel holds what a non-editable install needs: every module, the presets ``--config NAME`` reads, the C++
kernel's source (compiled at first use), the license, the console scripts and the nerfstudio entry points.

The wheel is built from a copy of the package's files (nothing is written into the checkout), with this
environment's setuptools when it has one, so no package index is needed. ``bash benchmarks/wheel_check.sh`` goes
further: it installs the wheel into a fresh environment and runs it."""

from __future__ import annotations

import configparser
import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("staf_nerfstudio", "staf_tasks")


def _source_files(package: str, pattern: str) -> set:
    return {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / package).rglob(pattern)
        if "__pycache__" not in p.parts and p.is_file()
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp_path_factory.mktemp("dist")
    # This environment's setuptools when it has one (no index needed); otherwise pip's isolated build fetches it.
    isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", *isolation, str(src), "-w", str(dist)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = dist.glob("staf_nerfstudio-*.whl")
    with zipfile.ZipFile(path) as archive:
        yield archive


def test_wheel_holds_every_module_preset_and_the_kernel_source(wheel):
    names = set(wheel.namelist())
    presets = _source_files("staf_tasks", "presets/*.yaml")
    assert {"staf_tasks/presets/image_quick.yaml", "staf_tasks/presets/image_paper.yaml"} <= presets
    kernels = _source_files("staf_nerfstudio", "kernels/*.cpp")
    assert "staf_nerfstudio/kernels/staf_cpu.cpp" in kernels
    modules = set().union(*(_source_files(package, "*.py") for package in PACKAGES))
    missing = sorted((presets | kernels | modules) - names)
    assert not missing, f"not in the wheel: {missing}"
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "docs/"))]
    assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE") for n in names)


def test_wheel_declares_the_commands_and_the_nerfstudio_methods(wheel):
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    parser = configparser.ConfigParser()
    parser.read_string(wheel.read(entry_points).decode())
    assert parser["nerfstudio.method_configs"]["staf"] == "staf_nerfstudio.nerf.method_configs:staf_method"
    assert "staf-hash" in parser["nerfstudio.method_configs"]
    assert {"staf-fit", "staf-demo", "staf-bench", "staf-render", "staf-make-scene"} <= set(parser["console_scripts"])
