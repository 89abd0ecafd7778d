"""``ns-viewer`` on a ``staf`` run, looked at in a real browser (headless Chromium driven by Playwright).

The test trains a tiny ``staf`` run on the CPU, starts ``ns-viewer --load-config RUN/config.yml`` on a free localhost
port as a subprocess, opens the page (viser's client, served by the viewer itself; every other host is blocked, as on
a machine without network), waits until the viewer reports a rendered frame, takes a screenshot and checks that the
render area shows the scene, that the client logged no errors, and that the viewer stops on Ctrl+C (SIGINT to its
PID) within a bounded time.

The browser is Debian's ``chromium`` package (``make test`` installs it when it runs as root; ``$STAF_CHROMIUM``
names another binary). Playwright drives it through ``executable_path``; Playwright's own browser download is never
used. Without a Chromium binary the test is skipped and says how to install one.

Knobs (for making the picture in docs/nerf.md, not needed by CI):
``STAF_VIEWER_RUN=RUN/config.yml`` views an existing run instead of the tiny one, ``STAF_VIEWER_MAX_RES`` sets the
viewer's "Max res" (default 128, a few seconds per frame on a CPU), ``STAF_VIEWER_SCREENSHOT=PATH`` copies the
screenshot there.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

import imageio.v2 as imageio
import numpy as np
import pytest
import torch
from conftest import TINY_FIELD

from staf_nerfstudio.scene import make_scene

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.slow]

RES = 32
ITERATIONS = 150
# the shared tiny field, twice as wide and with twice the samples: the viewer must show a recognisable scene
TINY = {**TINY_FIELD, "hidden_dim": 32, "num_proposal_samples_per_ray": (32, 16), "num_nerf_samples_per_ray": 16}
VIEWPORT = {"width": 960, "height": 540}  # small: the headless browser draws WebGL on the CPU
START_TIMEOUT_S = 300.0  # ns-viewer imports nerfstudio and loads the run; minutes on a loaded 2-core machine
RENDER_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 30.0
# three.js logs this once per line gizmo when the client first lays out nerfstudio's crop-box transform controls
# (drei line geometry created before its points arrive); it comes with every nerfstudio method and is not an error
# of the render.
KNOWN_CLIENT_MESSAGES = ("THREE.BufferGeometry.computeBoundingSphere(): Computed radius is NaN",)


def _chromium() -> Optional[str]:
    for candidate in (os.environ.get("STAF_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and shutil.which(candidate):
            binary = shutil.which(candidate)
            # Debian's /usr/bin/chromium is a shell wrapper; Playwright needs the browser executable itself.
            real = Path("/usr/lib/chromium/chromium")
            return str(real) if binary == "/usr/bin/chromium" and real.exists() else binary
    return None


CHROMIUM = _chromium()
requires_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium binary: `apt-get install chromium` (make test does this as root) or set STAF_CHROMIUM",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ns_viewer() -> str:
    script = Path(sys.executable).with_name("ns-viewer")
    return str(script) if script.exists() else (shutil.which("ns-viewer") or "ns-viewer")


@pytest.fixture(scope="module")
def run_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("STAF_VIEWER_RUN"):
        return Path(os.environ["STAF_VIEWER_RUN"])
    from staf_nerfstudio.nerf.demo import cpu_trainer_config, train

    root = tmp_path_factory.mktemp("viewer")
    make_scene(root / "scene", res=RES, views=(16, 2, 2), supersample=1)
    with pytest.MonkeyPatch.context() as mp:  # no LPIPS weights, as on CI
        mp.setattr(torch.hub, "get_dir", lambda: str(root / "empty_hub"))
        config = cpu_trainer_config("staf", root / "scene", root / "runs", ITERATIONS, 256, model_overrides=TINY)
        return train(config)


def _overloaded() -> Optional[str]:
    """Why this machine is too busy for a fair timing verdict, or None.

    On an idle 2-core machine the first frame arrives in 20-50 s; on this project's shared machines under load 6-15
    (other jobs) none arrived within 300 s in three tries. A timeout there says nothing about the viewer, so it is
    reported as a skip naming the load; on a machine that is not overloaded the same timeout fails the test.
    """
    load = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    return f"load average {load:.1f} on {cores} cores" if load > 2 * cores else None


def _wait_for_port(proc: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"ns-viewer exited with {proc.returncode} before serving:\n{log.read_text()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
            return
        except OSError:
            time.sleep(0.5)
    busy = _overloaded()
    if busy:
        pytest.skip(f"ns-viewer did not listen within {START_TIMEOUT_S:.0f} s with the machine overloaded ({busy})")
    pytest.fail(f"ns-viewer did not listen on port {port} within {START_TIMEOUT_S:.0f} s:\n{log.read_text()[-3000:]}")


def _ctrl_c_as_in_a_terminal() -> None:
    """In the viewer's process before it starts: SIGINT handled by default and not blocked, as in a terminal.

    A shell without job control starts background commands with SIGINT ignored (``make test &`` from a script,
    ``nohup``), children inherit that, and a Python started with SIGINT ignored keeps ignoring it: Ctrl+C would then
    never reach ns-viewer, whatever the viewer does.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _stop(proc: subprocess.Popen) -> float:
    """Ctrl+C to the viewer's PID; returns the seconds it took to exit (kills it and fails after the bound)."""
    start = time.monotonic()
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"ns-viewer (pid {proc.pid}) did not exit within {STOP_TIMEOUT_S:.0f} s of SIGINT; killed")
    return time.monotonic() - start


def _render_area(image: np.ndarray, canvas: dict, panel: Optional[dict]) -> np.ndarray:
    """The part of the canvas that no GUI panel covers."""
    x0, y0 = int(canvas["x"]), int(canvas["y"])
    x1, y1 = int(canvas["x"] + canvas["width"]), int(canvas["y"] + canvas["height"])
    if panel is not None and panel["x"] > x0:
        x1 = min(x1, int(panel["x"]))
    return image[y0 + 10 : y1 - 10, x0 + 10 : x1 - 10, :3].astype(np.float64) / 255.0


@requires_chromium
def test_ns_viewer_renders_staf_run_in_chromium(run_config: Path, tmp_path: Path) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api")
    sync_playwright, PlaywrightTimeout = playwright_api.sync_playwright, playwright_api.TimeoutError
    max_res = int(os.environ.get("STAF_VIEWER_MAX_RES", "128"))
    port = _free_port()
    log = tmp_path / "ns-viewer.log"
    cmd = [_ns_viewer(), "--load-config", str(run_config), "--viewer.websocket-port", str(port),
           "--viewer.websocket-host", "127.0.0.1", "--viewer.max-num-display-images", "0"]  # fmt: skip
    errors: List[str] = []
    blocked: List[str] = []
    with open(log, "w") as log_file:
        proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, preexec_fn=_ctrl_c_as_in_a_terminal)
    try:
        _wait_for_port(proc, port, log)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
            )
            try:
                page = browser.new_page(viewport=VIEWPORT)
                origin = f"127.0.0.1:{port}"

                def route(request_route) -> None:
                    url = request_route.request.url
                    if url.startswith((f"http://{origin}/", "data:", "blob:")):
                        request_route.continue_()
                    else:  # viser's analytics tag and nerfstudio's logo: no network here, as on CI
                        blocked.append(url)
                        request_route.abort()

                def on_console(message) -> None:
                    if message.type != "error" or any(message.text.startswith(k) for k in KNOWN_CLIENT_MESSAGES):
                        return
                    if message.text.startswith("Failed to load resource") and message.location["url"] in blocked:
                        return
                    errors.append(f"console: {message.text} ({message.location['url']})")

                page.route("**/*", route)
                page.on("console", on_console)
                page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
                page.goto(f"http://{origin}/")
                resolution = page.get_by_text(re.compile(r"Resolution: "))
                timeout_ms = RENDER_TIMEOUT_S * 1000
                try:  # the first frame
                    page.get_by_text(re.compile(r"Resolution: [1-9]\d*x\d+px")).wait_for(timeout=timeout_ms)
                except PlaywrightTimeout:
                    busy = _overloaded()
                    if busy:
                        pytest.skip(f"no frame within {RENDER_TIMEOUT_S:.0f} s with the machine overloaded ({busy})")
                    raise
                # Pull the camera back from viser's default (inside the object) to about the training cameras'
                # distance: one wheel event zooms out 0.95^(-deltaY/100) times (camera-controls, dolly speed 0.3).
                page.mouse.move(VIEWPORT["width"] * 0.35, VIEWPORT["height"] * 0.55)
                page.mouse.wheel(0, 4000)
                max_res_label = page.locator("label", has_text=re.compile("^Max res$"))
                max_res_box = max_res_label.locator("xpath=ancestor::div[2]").locator("input[type=text]")
                max_res_box.fill(str(max_res))
                max_res_box.press("Enter")
                # The viewer renders at a low resolution while the camera moves, then at "Max res" once it is still.
                full_res = re.compile(rf"Resolution: ({max_res}x\d+|\d+x{max_res})px")
                page.get_by_text(full_res).wait_for(timeout=timeout_ms)
                time.sleep(1.0)  # the JPEG is decoded and drawn on the next animation frames
                shot = tmp_path / "viewer.png"
                page.screenshot(path=str(shot))
                canvas = page.locator("canvas").first.bounding_box()
                panel = page.get_by_text("Pause Training").first.bounding_box()
                status = resolution.first.inner_text()
            finally:
                browser.close()
    finally:
        stop_s = _stop(proc)

    if os.environ.get("STAF_VIEWER_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["STAF_VIEWER_SCREENSHOT"])
    assert not errors, "\n".join(errors)
    area = _render_area(imageio.imread(shot), canvas, panel)
    # The scene on its white background: bright background pixels, darker coloured objects, no flat fill.
    brightness = area.mean(-1)
    saturation = area.max(-1) - area.min(-1)
    print(f"viewer: {status!r}; render area {area.shape[1]}x{area.shape[0]}: brightness mean {brightness.mean():.3f}"
          f" std {brightness.std():.3f}, coloured fraction {(saturation > 0.2).mean():.3f}; stopped in {stop_s:.1f} s"
          f" (exit code {proc.returncode});"
          f" blocked {len(blocked)} external requests; screenshot {shot}")  # fmt: skip
    assert brightness.std() > 0.05, f"render area is flat (std {brightness.std():.3f}): {shot}"
    assert (brightness > 0.8).mean() > 0.05, f"no white background in the render area: {shot}"
    assert (saturation > 0.2).mean() > 0.01, f"no coloured object in the render area: {shot}"
