"""A deterministic synthetic NeRF scene in Blender format (``staf-make-scene``), made with numpy and imageio only.

The scene is an analytic signed-distance field, rendered by sphere tracing: a striped sphere, a rounded box, a
torus and a checkered pedestal, Lambert-shaded under a fixed light. Colours, curved and flat surfaces, and a texture
of several frequencies give a NeRF something to learn; no file, network or GPU is needed.

Output (the layout ``ns-train ... blender-data`` reads, same conventions as the NeRF Blender scenes):
``transforms_{train,val,test}.json`` (``camera_angle_x`` and per-frame OpenGL camera-to-world ``transform_matrix``:
camera looks down its -z axis, +y up, world +z up) and ``{train,val,test}/r_{i}.png`` RGBA images whose
alpha is the object's coverage.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import imageio.v2 as imageio
import numpy as np

from staf_nerfstudio.io import atomic_path, write_text

CAMERA_RADIUS = 4.0
CAMERA_ANGLE_X = 0.6911112070083618  # the NeRF Blender scenes' field of view
LIGHT_DIRECTION = np.array([0.45, -0.35, 0.82]) / np.linalg.norm([0.45, -0.35, 0.82])
NEAR_PLANE = CAMERA_RADIUS - 2.0
FAR_PLANE = CAMERA_RADIUS + 2.0
"""Ray bounds that hold the whole scene (it lies within 1.5 of the origin; every camera is ``CAMERA_RADIUS`` away)."""
BLENDER_FLAGS = (
    f"--pipeline.model.near-plane {NEAR_PLANE:g} --pipeline.model.far-plane {FAR_PLANE:g} "
    "--pipeline.model.background-color white --pipeline.model.proposal-initial-sampler uniform"
)
"""``ns-train`` model flags for this scene (object-centred, white background, cameras on a sphere)."""
_MAX_STEPS = 96
_HIT_EPS = 1e-3
_FAR = 2.0 * CAMERA_RADIUS


def _sd_sphere(p: np.ndarray, centre: Sequence[float], radius: float) -> np.ndarray:
    return np.linalg.norm(p - np.asarray(centre), axis=-1) - radius


def _sd_round_box(p: np.ndarray, centre: Sequence[float], half: Sequence[float], radius: float) -> np.ndarray:
    q = np.abs(p - np.asarray(centre)) - (np.asarray(half) - radius)
    outside = np.linalg.norm(np.maximum(q, 0.0), axis=-1)
    inside = np.minimum(q.max(axis=-1), 0.0)
    return outside + inside - radius


def _sd_torus(p: np.ndarray, centre: Sequence[float], major: float, minor: float) -> np.ndarray:
    q = p - np.asarray(centre)
    ring = np.sqrt(q[..., 0] ** 2 + q[..., 2] ** 2) - major  # torus axis along world y
    return np.sqrt(ring**2 + q[..., 1] ** 2) - minor


def _sd_cylinder(p: np.ndarray, centre: Sequence[float], radius: float, half_height: float) -> np.ndarray:
    q = p - np.asarray(centre)
    d = np.stack([np.sqrt(q[..., 0] ** 2 + q[..., 1] ** 2) - radius, np.abs(q[..., 2]) - half_height], axis=-1)
    return np.minimum(d.max(axis=-1), 0.0) + np.linalg.norm(np.maximum(d, 0.0), axis=-1)


_SPHERE = ((0.35, 0.3, -0.05), 0.5)
_BOX = ((-0.5, -0.35, -0.2), (0.32, 0.32, 0.35), 0.06)
_TORUS = ((-0.15, 0.55, -0.15), 0.38, 0.11)
_PEDESTAL = ((0.0, 0.0, -0.65), 1.0, 0.1)


def _scene_parts(p: np.ndarray) -> np.ndarray:
    """Signed distances to each part, shape ``(..., 4)``: sphere, box, torus, pedestal."""
    return np.stack(
        [
            _sd_sphere(p, *_SPHERE),
            _sd_round_box(p, *_BOX),
            _sd_torus(p, *_TORUS),
            _sd_cylinder(p, *_PEDESTAL),
        ],
        axis=-1,
    )


def scene_sdf(p: np.ndarray) -> np.ndarray:
    """Signed distance of the whole scene at points ``p`` of shape ``(..., 3)``."""
    return _scene_parts(p).min(axis=-1)


def _albedo(p: np.ndarray, part: np.ndarray) -> np.ndarray:
    """Base colour per hit point (``part`` indexes :func:`_scene_parts`)."""
    colour = np.zeros(p.shape, dtype=np.float64)
    # Sphere: orange and teal stripes around its vertical axis plus a finer band pattern.
    q = p - np.asarray(_SPHERE[0])
    stripes = 0.5 + 0.5 * np.sin(6.0 * np.arctan2(q[..., 1], q[..., 0])) * np.cos(9.0 * q[..., 2])
    sphere = (1 - stripes)[..., None] * np.array([0.95, 0.55, 0.1]) + stripes[..., None] * np.array([0.1, 0.6, 0.65])
    # Box: a blue-to-magenta gradient along z.
    t = np.clip((p[..., 2] + 0.55) / 0.7, 0.0, 1.0)[..., None]
    box = (1 - t) * np.array([0.15, 0.25, 0.85]) + t * np.array([0.85, 0.2, 0.6])
    # Torus: solid green.
    torus = np.broadcast_to(np.array([0.3, 0.8, 0.25]), p.shape)
    # Pedestal: a checkerboard on its top, grey on its side.
    checks = (np.floor(p[..., 0] * 4.0) + np.floor(p[..., 1] * 4.0)) % 2
    pedestal = np.where(checks[..., None] > 0, np.array([0.92, 0.9, 0.85]), np.array([0.35, 0.3, 0.3]))
    for index, value in enumerate((sphere, box, torus, pedestal)):
        colour = np.where((part == index)[..., None], value, colour)
    return colour


def _normals(p: np.ndarray, eps: float = 1e-4) -> np.ndarray:
    offsets = np.eye(3) * eps
    grad = np.stack([scene_sdf(p + o) - scene_sdf(p - o) for o in offsets], axis=-1)
    return grad / np.maximum(np.linalg.norm(grad, axis=-1, keepdims=True), 1e-12)


def look_at_pose(position: np.ndarray, target: Sequence[float] = (0.0, 0.0, 0.0)) -> np.ndarray:
    """OpenGL camera-to-world matrix (4x4) of a camera at ``position`` looking at ``target``, world +z up."""
    forward = np.asarray(target, dtype=np.float64) - position
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, up, -forward, position
    return pose


def camera_rays(pose: np.ndarray, res: int, supersample: int = 1) -> Tuple[np.ndarray, np.ndarray]:
    """Ray origins and unit directions, shape ``(res*s, res*s, 3)``, through sub-pixel centres."""
    n = res * supersample
    focal = 0.5 * n / math.tan(0.5 * CAMERA_ANGLE_X)
    coords = np.arange(n) + 0.5
    x = (coords[None, :] - 0.5 * n) / focal
    y = -(coords[:, None] - 0.5 * n) / focal
    dirs_cam = np.stack(np.broadcast_arrays(x, y, -np.ones_like(x)), axis=-1)
    dirs = dirs_cam @ pose[:3, :3].T
    dirs /= np.linalg.norm(dirs, axis=-1, keepdims=True)
    return np.broadcast_to(pose[:3, 3], dirs.shape), dirs


def render_view(pose: np.ndarray, res: int, supersample: int = 2) -> np.ndarray:
    """Sphere-traces one view; returns an RGBA float image ``(res, res, 4)`` (colour premultiplied by coverage)."""
    origins, dirs = camera_rays(pose, res, supersample)
    origins, dirs = origins.reshape(-1, 3), dirs.reshape(-1, 3)
    t = np.full(len(dirs), 0.5)
    hit = np.zeros(len(dirs), dtype=bool)
    active = np.ones(len(dirs), dtype=bool)
    for _ in range(_MAX_STEPS):
        idx = np.nonzero(active)[0]
        if idx.size == 0:
            break
        d = scene_sdf(origins[idx] + t[idx, None] * dirs[idx])
        t[idx] += d
        done = d < _HIT_EPS
        hit[idx[done]] = True
        active[idx[done | (t[idx] > _FAR)]] = False
    rgba = np.zeros((len(dirs), 4))
    if hit.any():
        p = origins[hit] + t[hit, None] * dirs[hit]
        part = _scene_parts(p).argmin(axis=-1)
        normal = _normals(p)
        lambert = np.clip(normal @ LIGHT_DIRECTION, 0.0, 1.0)
        colour = _albedo(p, part) * (0.3 + 0.7 * lambert)[..., None]
        rgba[hit, :3] = np.clip(colour, 0.0, 1.0)
        rgba[hit, 3] = 1.0
    return rgba.reshape(res, supersample, res, supersample, 4).mean(axis=(1, 3))


def camera_positions(split: str, count: int) -> np.ndarray:
    """Deterministic camera centres on the radius-4 sphere: train covers the upper hemisphere, val/test are rings."""
    if split == "train":
        i = np.arange(count) + 0.5
        elevation = np.arcsin(np.clip(0.05 + 0.9 * i / count, 0.0, 1.0))  # evenly in area, 3..64 degrees up
        azimuth = i * math.pi * (3.0 - math.sqrt(5.0))  # golden angle spiral
    else:
        offset = 0.37 if split == "val" else 0.71
        azimuth = 2.0 * math.pi * (np.arange(count) + offset) / count
        elevation = np.full(count, math.radians(25.0 if split == "val" else 35.0))
    return CAMERA_RADIUS * np.stack(
        [np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), np.sin(elevation)], axis=-1
    )


def make_scene(
    out: Path, res: int = 64, views: Sequence[int] = (40, 5, 5), supersample: int = 2, progress: bool = False
) -> Dict[str, List[Path]]:
    """Writes the Blender-format dataset to ``out``; returns the image paths per split.

    Args:
        out: Output folder (created if missing; existing files of the same name are replaced).
        res: Image width and height in pixels.
        views: Number of train, val and test views.
        supersample: Anti-aliasing factor per axis.
        progress: Print one line per split.
    """
    if res < 4:
        raise ValueError(f"--res must be at least 4 pixels, got {res}")
    if len(views) != 3 or min(views) < 1:
        raise ValueError(f"--views needs three positive counts (train val test), got {list(views)}")
    if supersample < 1:
        raise ValueError(f"--supersample must be at least 1, got {supersample}")
    out = Path(out)
    for existing in (out, *out.parents):
        if existing.exists():
            if not existing.is_dir():
                raise ValueError(f"{existing} is a file, not a folder; give another output folder")
            if not os.access(existing, os.W_OK | os.X_OK):
                raise ValueError(f"cannot write in {existing} (permission denied); give another output folder")
            break
    written: Dict[str, List[Path]] = {}
    for split, count in zip(("train", "val", "test"), views):
        frames, paths = [], []
        for index, position in enumerate(camera_positions(split, count)):
            pose = look_at_pose(position)
            rgba = render_view(pose, res, supersample)
            image = (np.clip(rgba, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
            # Store straight (non-premultiplied) colour as PNG does; coverage goes to alpha.
            alpha = rgba[..., 3:]
            straight = np.where(alpha > 0, rgba[..., :3] / np.maximum(alpha, 1e-8), 0.0)
            image[..., :3] = (np.clip(straight, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
            path = out / split / f"r_{index}.png"
            with atomic_path(path) as tmp:
                imageio.imwrite(tmp, image, format="png")
            frames.append({"file_path": f"./{split}/r_{index}", "transform_matrix": pose.tolist()})
            paths.append(path)
        meta = {"camera_angle_x": CAMERA_ANGLE_X, "frames": frames}
        write_text(out / f"transforms_{split}.json", json.dumps(meta, indent=2))
        written[split] = paths
        if progress:
            print(f"{split}: {count} views of {res}x{res} -> {out / split}")
    return written


class _OneLineErrorParser(argparse.ArgumentParser):
    """Errors in one line (problem and where to look), exit 2, as the other staf commands."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"error: {message}; see {self.prog} --help\n")


def ns_train_command(data: Path, method: str = "staf") -> str:
    """The ``ns-train`` command that trains ``method`` on a scene written by :func:`make_scene` to ``data``.

    Model flags go before ``--data``'s dataparser subcommand (``blender-data``): ``ns-train`` rejects them after it.
    """
    return f"ns-train {method} {BLENDER_FLAGS} --data {shlex.quote(str(data))} blender-data"


def entrypoint(argv: Sequence[str] | None = None) -> None:
    """``staf-make-scene OUT [--res 64] [--views 40 5 5]``."""
    parser = _OneLineErrorParser(
        prog="staf-make-scene",
        description="Write a deterministic synthetic NeRF scene in Blender format (RGBA PNGs + transforms_*.json).",
    )
    parser.add_argument("out", type=Path, help="output folder")
    parser.add_argument("--res", type=int, default=64, help="image width and height in pixels (default 64)")
    parser.add_argument(
        "--views", type=int, nargs=3, default=[40, 5, 5], metavar=("TRAIN", "VAL", "TEST"), help="views per split"
    )
    parser.add_argument("--supersample", type=int, default=2, help="anti-aliasing samples per pixel axis (default 2)")
    args = parser.parse_args(argv)
    try:
        make_scene(args.out, args.res, args.views, args.supersample, progress=True)
    except (ValueError, OSError) as err:  # bad settings, or a folder the file system refuses
        parser.error(str(err))
    print(f"train with:\n  {ns_train_command(args.out)}")
    print("  (on a CPU add --machine.device-type cpu --vis tensorboard; the README lists the CPU-sized flags)")


if __name__ == "__main__":
    entrypoint()
