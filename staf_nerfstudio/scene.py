"""Deterministic synthetic NeRF scenes in Blender format (``staf-make-scene``), made with numpy and imageio only.

Each scene is an analytic signed-distance field, rendered by sphere tracing and Lambert-shaded under a fixed light;
no file, network or GPU is needed. Two kinds (``--kind``):

- ``basic`` (the default): a striped sphere, a rounded box, a torus and a checkered pedestal. Colours, curved and
  flat surfaces, and a texture of several frequencies give a NeRF something to learn at 64x64 to 100x100.
- ``detail``: a harder, lego-like scene for 200x200 and more: a brick with eight studs, a lattice tower of thin
  struts (0.04 wide, about 3 pixels at 200x200), a thin hoop, a fence of thin pickets, a sphere with a fine
  latitude-longitude checker and a base plate with a fine checker and thin grid lines (cells of about 4 pixels).

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
from typing import Dict, List, Literal, Sequence, Tuple, get_args

import imageio.v2 as imageio
import numpy as np

from staf_nerfstudio.io import atomic_path, write_text
from staf_nerfstudio.locking import FolderBusyError, FolderLock, check_not_busy

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
BOUNDED_FLAG = "--pipeline.model.disable-scene-contraction True"
"""The flag that trains a field on the scene box instead of nerfacto's contracted space (the scene is bounded)."""
BOUNDED_METHODS = ("staf",)
"""Methods whose printed command adds :data:`BOUNDED_FLAG`: a sine field fills the contracted space outside a bounded
scene with density (the NeRF docs page measures it); staf-hash and staf-paper keep the contraction they were measured
with."""
_MAX_STEPS = {"basic": 96, "detail": 192}
"""Sphere-tracing steps per ray (thin struts need more steps for grazing rays)."""
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


def _basic_parts(p: np.ndarray) -> np.ndarray:
    """Signed distances to each part of the basic scene, shape ``(..., 4)``: sphere, box, torus, pedestal."""
    return np.stack(
        [
            _sd_sphere(p, *_SPHERE),
            _sd_round_box(p, *_BOX),
            _sd_torus(p, *_TORUS),
            _sd_cylinder(p, *_PEDESTAL),
        ],
        axis=-1,
    )


def _sd_segment_z(q: np.ndarray, radius: float, half_height: float) -> np.ndarray:
    """Capsule along the local z axis from ``-half_height`` to ``half_height``."""
    z = np.clip(q[..., 2], -half_height, half_height)
    return np.sqrt(q[..., 0] ** 2 + q[..., 1] ** 2 + (q[..., 2] - z) ** 2) - radius


def _sd_capsule(q: np.ndarray, a: Sequence[float], b: Sequence[float], radius: float) -> np.ndarray:
    """Capsule (a thin strut) from point ``a`` to point ``b``."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    pa, ba = q - a, b - a
    h = np.clip((pa @ ba) / (ba @ ba), 0.0, 1.0)
    return np.linalg.norm(pa - h[..., None] * ba, axis=-1) - radius


_DETAIL_PLATE = ((0.0, 0.0, -0.6), 1.05, 0.05)
_DETAIL_BRICK = ((-0.4, -0.3, -0.4), (0.36, 0.2, 0.15), 0.015)
_DETAIL_STUD_RADIUS, _DETAIL_STUD_HALF = 0.065, 0.035
_DETAIL_TOWER = (0.45, 0.3)  # centre (x, y) of the lattice tower
_DETAIL_TOWER_HALF, _DETAIL_STRUT = 0.16, 0.02  # half side of its square section, strut radius
_DETAIL_TOWER_Z = (-0.55, 0.75)  # its bottom and top
_DETAIL_HOOP = ((0.3, -0.45, -0.228), 0.3, 0.022)  # centre, radius, tube radius; stands in the x-z plane
_DETAIL_FENCE = (-0.85, 0.05, 0.06)  # x of the fence line, its centre y, picket spacing
_DETAIL_BALL = ((-0.3, 0.5, -0.28), 0.27)
_DETAIL_BOUND = 1.3
"""Radius of a sphere round the origin that holds the whole detail scene (its farthest point is 1.23 away)."""


def _detail_tower(p: np.ndarray) -> np.ndarray:
    """Four corner posts and, every 0.26, a square of cross bars; diagonal braces between the levels on every face."""
    q = p - np.array([_DETAIL_TOWER[0], _DETAIL_TOWER[1], 0.0])
    q = np.concatenate([np.abs(q[..., :2]), q[..., 2:]], axis=-1)  # fold: one quadrant holds every strut
    bottom, top = _DETAIL_TOWER_Z
    h, r = _DETAIL_TOWER_HALF, _DETAIL_STRUT
    post = _sd_segment_z(q - np.array([h, h, 0.5 * (bottom + top)]), r, 0.5 * (top - bottom))
    period = 0.26
    level = np.clip(np.round((q[..., 2] - bottom) / period), 0, round((top - bottom) / period))
    zl = q[..., 2] - (bottom + level * period)
    ql = np.stack([q[..., 0], q[..., 1], zl], axis=-1)
    bar_x = _sd_capsule(ql, (0.0, h, 0.0), (h, h, 0.0), 0.75 * r)
    bar_y = _sd_capsule(ql, (h, 0.0, 0.0), (h, h, 0.0), 0.75 * r)
    braces = [post, bar_x, bar_y]
    levels = round((top - bottom) / period)
    cell = np.clip(np.floor((q[..., 2] - bottom) / period), 0, levels - 1)
    for below in (0, 1):  # the brace of this cell and of the one under it (both can be nearest)
        c = np.clip(cell - below, 0, levels - 1)
        qc = np.stack([q[..., 0], q[..., 1], q[..., 2] - (bottom + c * period)], axis=-1)
        braces.append(_sd_capsule(qc, (0.0, h, 0.0), (h, h, period), 0.6 * r))
        braces.append(_sd_capsule(qc, (h, 0.0, 0.0), (h, h, period), 0.6 * r))
    return np.minimum.reduce(braces)


def _detail_fence(p: np.ndarray) -> np.ndarray:
    """Eleven thin pickets along y at x = -0.85 and one rail through them."""
    x0, y0, spacing = _DETAIL_FENCE
    q = p - np.array([x0, y0, -0.35])
    index = np.clip(np.round(q[..., 1] / spacing), -5, 5)
    qp = np.stack([q[..., 0], q[..., 1] - index * spacing, q[..., 2]], axis=-1)
    pickets = _sd_round_box(qp, (0.0, 0.0, 0.0), (0.012, 0.012, 0.2), 0.004)
    rail = _sd_capsule(q, (0.0, -5 * spacing, 0.08), (0.0, 5 * spacing, 0.08), 0.012)
    return np.minimum(pickets, rail)


def _detail_brick(p: np.ndarray) -> np.ndarray:
    """A 2x4 brick with its eight studs."""
    centre, half, radius = _DETAIL_BRICK
    body = _sd_round_box(p, centre, half, radius)
    q = p - np.array([centre[0], centre[1], centre[2] + half[2] + _DETAIL_STUD_HALF])
    pitch = 2.0 * half[0] / 4.0
    ix = np.clip(np.floor(q[..., 0] / pitch), -2, 1) + 0.5
    iy = np.clip(np.floor(q[..., 1] / pitch), -1, 0) + 0.5
    qs = np.stack([q[..., 0] - ix * pitch, q[..., 1] - iy * pitch, q[..., 2]], axis=-1)
    studs = _sd_cylinder(qs, (0.0, 0.0, 0.0), _DETAIL_STUD_RADIUS, _DETAIL_STUD_HALF)
    return np.minimum(body, studs)


def _bounded(p: np.ndarray, sdf, lo: Sequence[float], hi: Sequence[float], margin: float = 0.05) -> np.ndarray:
    """``sdf(p)`` near the box ``[lo, hi]`` that holds the part, the distance to that box (a lower bound, so sphere
    tracing stays exact) farther than ``margin`` from it: most points skip the part's costly distance."""
    lo, hi = np.asarray(lo), np.asarray(hi)
    centre, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    q = np.abs(p - centre) - half
    box = np.linalg.norm(np.maximum(q, 0.0), axis=-1) + np.minimum(q.max(axis=-1), 0.0)
    near = box < margin
    if near.any():
        box[near] = sdf(p[near])
    return box


def _detail_parts(p: np.ndarray) -> np.ndarray:
    """Signed distances to each part of the detail scene, shape ``(..., 6)``: plate, brick, tower, hoop, fence, ball."""
    hoop_centre, hoop_radius, hoop_tube = _DETAIL_HOOP
    q = p - np.asarray(hoop_centre)
    hoop = np.sqrt((np.sqrt(q[..., 0] ** 2 + q[..., 2] ** 2) - hoop_radius) ** 2 + q[..., 1] ** 2) - hoop_tube
    tx, ty = _DETAIL_TOWER
    th = _DETAIL_TOWER_HALF + _DETAIL_STRUT
    bc, bh = np.asarray(_DETAIL_BRICK[0]), np.asarray(_DETAIL_BRICK[1]) + np.array([0.0, 0.0, 2 * _DETAIL_STUD_HALF])
    fx, fy, spacing = _DETAIL_FENCE
    fence_lo, fence_hi = (fx - 0.03, fy - 5 * spacing - 0.03, -0.56), (fx + 0.03, fy + 5 * spacing + 0.03, -0.14)
    return np.stack(
        [
            _sd_cylinder(p, *_DETAIL_PLATE),
            _bounded(p, _detail_brick, bc - bh, bc + bh),
            _bounded(p, _detail_tower, (tx - th, ty - th, -0.58), (tx + th, ty + th, 0.78)),
            hoop,
            _bounded(p, _detail_fence, fence_lo, fence_hi),
            _sd_sphere(p, *_DETAIL_BALL),
        ],
        axis=-1,
    )


def _detail_albedo(p: np.ndarray, part: np.ndarray) -> np.ndarray:
    """Base colour per hit point of the detail scene (``part`` indexes :func:`_detail_parts`)."""
    # Plate: a fine checker of 0.075 cells with thin dark grid lines every 0.3.
    checks = (np.floor(p[..., 0] / 0.075) + np.floor(p[..., 1] / 0.075)) % 2
    plate = np.where(checks[..., None] > 0, np.array([0.9, 0.88, 0.8]), np.array([0.55, 0.6, 0.7]))
    grid = (np.abs(((p[..., :2] + 0.15) / 0.3) % 1.0 - 0.5) > 0.47).any(axis=-1)
    plate = np.where(grid[..., None], np.array([0.1, 0.1, 0.15]), plate)
    # Brick: lego red, its studs a shade lighter, with a thin white line round the body's top.
    brick = np.where(
        (p[..., 2] > _DETAIL_BRICK[0][2] + _DETAIL_BRICK[1][2] + 0.002)[..., None],
        np.array([0.95, 0.25, 0.2]),
        np.array([0.8, 0.1, 0.08]),
    )
    rim = np.abs(p[..., 2] - (_DETAIL_BRICK[0][2] + _DETAIL_BRICK[1][2] - 0.03)) < 0.008
    brick = np.where(rim[..., None], np.array([0.95, 0.95, 0.95]), brick)
    # Tower: yellow struts, darker towards the ground.
    shade = np.clip((p[..., 2] + 0.6) / 1.35, 0.0, 1.0)[..., None]
    tower = (1 - shade) * np.array([0.6, 0.45, 0.05]) + shade * np.array([1.0, 0.85, 0.15])
    # Hoop: blue with white bands every 30 degrees.
    q = p - np.asarray(_DETAIL_HOOP[0])
    bands = np.abs(((np.arctan2(q[..., 2], q[..., 0]) / (math.pi / 6.0)) % 1.0) - 0.5) > 0.4
    hoop = np.where(bands[..., None], np.array([0.95, 0.95, 0.95]), np.array([0.1, 0.3, 0.9]))
    # Fence: dark green pickets.
    fence = np.broadcast_to(np.array([0.15, 0.45, 0.2]), p.shape)
    # Ball: a 16 x 8 latitude-longitude checker, magenta and cream.
    b = p - np.asarray(_DETAIL_BALL[0])
    lon = np.floor(8.0 * (np.arctan2(b[..., 1], b[..., 0]) / math.pi + 1.0))
    lat = np.floor(8.0 * np.arccos(np.clip(b[..., 2] / _DETAIL_BALL[1], -1.0, 1.0)) / math.pi)
    ball = np.where(((lon + lat) % 2)[..., None] > 0, np.array([0.85, 0.15, 0.6]), np.array([0.98, 0.92, 0.75]))
    colour = np.zeros(p.shape, dtype=np.float64)
    for index, value in enumerate((plate, brick, tower, hoop, fence, ball)):
        colour = np.where((part == index)[..., None], value, colour)
    return colour


SceneKind = Literal["basic", "detail"]
"""Which scene ``staf-make-scene --kind`` writes."""
SCENE_KINDS: Tuple[str, ...] = get_args(SceneKind)


def _check_kind(kind: str) -> None:
    if kind not in SCENE_KINDS:
        raise ValueError(f"unknown scene kind {kind!r}; allowed: {', '.join(SCENE_KINDS)}")


def _scene_parts(p: np.ndarray, kind: SceneKind = "basic") -> np.ndarray:
    """Signed distances to each part of the ``kind`` scene, shape ``(..., parts)``."""
    return _detail_parts(p) if kind == "detail" else _basic_parts(p)


def scene_sdf(p: np.ndarray, kind: SceneKind = "basic") -> np.ndarray:
    """Signed distance of the whole ``kind`` scene at points ``p`` of shape ``(..., 3)``."""
    _check_kind(kind)
    return _scene_parts(p, kind).min(axis=-1)


def _albedo(p: np.ndarray, part: np.ndarray, kind: SceneKind = "basic") -> np.ndarray:
    """Base colour per hit point (``part`` indexes :func:`_scene_parts` of ``kind``)."""
    if kind == "detail":
        return _detail_albedo(p, part)
    return _basic_albedo(p, part)


def _basic_albedo(p: np.ndarray, part: np.ndarray) -> np.ndarray:
    """Base colour per hit point of the basic scene (``part`` indexes :func:`_basic_parts`)."""
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


def _normals(p: np.ndarray, eps: float = 1e-4, kind: SceneKind = "basic") -> np.ndarray:
    offsets = np.eye(3) * eps
    grad = np.stack([scene_sdf(p + o, kind) - scene_sdf(p - o, kind) for o in offsets], axis=-1)
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


def render_view(pose: np.ndarray, res: int, supersample: int = 2, kind: SceneKind = "basic") -> np.ndarray:
    """Sphere-traces one view of the ``kind`` scene; returns an RGBA float image ``(res, res, 4)`` (colour
    premultiplied by coverage)."""
    _check_kind(kind)
    origins, dirs = camera_rays(pose, res, supersample)
    origins, dirs = origins.reshape(-1, 3), dirs.reshape(-1, 3)
    t = np.full(len(dirs), 0.5)
    hit = np.zeros(len(dirs), dtype=bool)
    active = np.ones(len(dirs), dtype=bool)
    if kind == "detail":  # start on the scene's bounding sphere; rays that miss it stay background
        b = np.einsum("ij,ij->i", origins, dirs)
        disc = b**2 - (np.einsum("ij,ij->i", origins, origins) - _DETAIL_BOUND**2)
        active = disc > 0.0
        t = np.maximum(-b - np.sqrt(np.maximum(disc, 0.0)), 0.0)
    for _ in range(_MAX_STEPS[kind]):
        idx = np.nonzero(active)[0]
        if idx.size == 0:
            break
        d = scene_sdf(origins[idx] + t[idx, None] * dirs[idx], kind)
        t[idx] += d
        done = d < _HIT_EPS
        hit[idx[done]] = True
        active[idx[done | (t[idx] > _FAR)]] = False
    rgba = np.zeros((len(dirs), 4))
    if hit.any():
        p = origins[hit] + t[hit, None] * dirs[hit]
        part = _scene_parts(p, kind).argmin(axis=-1)
        normal = _normals(p, kind=kind)
        lambert = np.clip(normal @ LIGHT_DIRECTION, 0.0, 1.0)
        colour = _albedo(p, part, kind) * (0.3 + 0.7 * lambert)[..., None]
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


KIND_DEFAULTS: Dict[str, Tuple[int, Tuple[int, int, int]]] = {"basic": (64, (40, 5, 5)), "detail": (200, (100, 10, 10))}
"""``staf-make-scene``'s default resolution and views (train, val, test) per scene kind."""


def _memory_limit() -> Tuple[int, str]:
    limit, what = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "this machine's memory"
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY and soft < limit:
            limit, what = soft, "this process's memory limit (ulimit -v)"
    except (ImportError, ValueError, OSError):  # pragma: no cover - not on Linux
        pass
    return limit, what


def check_scene_settings(out: Path, res: int, views: Sequence[int], supersample: int, overwrite: bool) -> None:
    """Every check of :func:`make_scene` before it writes: sizes (one view's rays must fit in memory) and the folder
    (writable, no scene in it unless ``overwrite``, no other process writing it)."""
    if res < 4:
        raise ValueError(f"--res must be at least 4 pixels, got {res}")
    if len(views) != 3 or min(views) < 1:
        raise ValueError(f"--views needs three positive counts (train val test), got {list(views)}")
    if supersample < 1:
        raise ValueError(f"--supersample must be at least 1, got {supersample}")
    need = float(res * supersample) ** 2 * 12 * 8  # one view's ray directions, depths, masks and colours (float64)
    limit, what = _memory_limit()
    if need > limit:
        flag, value = ("--res", res) if res >= supersample else ("--supersample", supersample)
        raise ValueError(f"{flag} {value} needs at least {need / 1e9:.1f} GB of memory (the rays of one view), more "
                         f"than {what} ({limit / 1e9:.1f} GB); choose a smaller {flag}")
    for existing in (out, *out.parents):
        if existing.exists():
            if not existing.is_dir():
                raise ValueError(f"{existing} is a file, not a folder; give another output folder")
            if not os.access(existing, os.W_OK | os.X_OK):
                raise ValueError(f"cannot write in {existing} (permission denied); give another output folder")
            break
    check_not_busy(out, "scene folder")
    if not overwrite and any((out / f"transforms_{split}.json").exists() for split in ("train", "val", "test")):
        raise ValueError(f"{out} already holds a scene (transforms_*.json); pass --overwrite to replace it, or give "
                         "another output folder")


def make_scene(
    out: Path,
    res: int = 64,
    views: Sequence[int] = (40, 5, 5),
    supersample: int = 2,
    progress: bool = False,
    kind: SceneKind = "basic",
    overwrite: bool = True,
) -> Dict[str, List[Path]]:
    """Writes the Blender-format dataset to ``out``; returns the image paths per split.

    Args:
        out: Output folder (created if missing).
        res: Image width and height in pixels.
        views: Number of train, val and test views.
        supersample: Anti-aliasing factor per axis.
        progress: Print one line per split.
        kind: ``"basic"`` or ``"detail"`` (see the module docstring).
        overwrite: Replace a scene already in ``out`` (``staf-make-scene`` refuses one without --overwrite).

    Raises:
        ValueError: A setting or folder :func:`check_scene_settings` refuses (nothing is written then).
        FolderBusyError: Another process is writing ``out`` (it holds the folder's lock).
    """
    _check_kind(kind)
    out = Path(out)
    check_scene_settings(out, res, views, supersample, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    with FolderLock(out, "scene folder"):
        return _write_scene(out, res, views, supersample, progress, kind)


def _write_scene(
    out: Path, res: int, views: Sequence[int], supersample: int, progress: bool, kind: SceneKind
) -> Dict[str, List[Path]]:
    written: Dict[str, List[Path]] = {}
    for split, count in zip(("train", "val", "test"), views):
        frames, paths = [], []
        for index, position in enumerate(camera_positions(split, count)):
            pose = look_at_pose(position)
            rgba = render_view(pose, res, supersample, kind)
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
            print(f"{split}: {count} views of {res}x{res} ({kind} scene) -> {out / split}")
    return written


class _OneLineErrorParser(argparse.ArgumentParser):
    """Errors in one line (problem and where to look), exit 2, as the other staf commands."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"error: {message}; see {self.prog} --help\n")


def ns_train_command(data: Path, method: str = "staf") -> str:
    """The ``ns-train`` command that trains ``method`` on a scene written by :func:`make_scene` to ``data``.

    Model flags go before ``--data``'s dataparser subcommand (``blender-data``): ``ns-train`` rejects them after it.
    """
    bounded = f" {BOUNDED_FLAG}" if method in BOUNDED_METHODS else ""
    return f"ns-train {method} {BLENDER_FLAGS}{bounded} --data {shlex.quote(str(data))} blender-data"


def entrypoint(argv: Sequence[str] | None = None) -> None:
    """``staf-make-scene OUT [--kind basic|detail] [--res N] [--views TRAIN VAL TEST]``."""
    parser = _OneLineErrorParser(
        prog="staf-make-scene",
        description="Write a deterministic synthetic NeRF scene in Blender format (RGBA PNGs + transforms_*.json).",
    )
    parser.add_argument("out", type=Path, help="output folder")
    parser.add_argument(
        "--kind",
        choices=SCENE_KINDS,
        default="basic",
        help="basic: sphere, box, torus, pedestal (default); detail: a harder lego-like scene of thin struts and fine "
        "checkers",
    )
    parser.add_argument(
        "--res", type=int, default=None, help="image width and height in pixels (default 64; 200 with --kind detail)"
    )
    parser.add_argument(
        "--views",
        type=int,
        nargs=3,
        default=None,
        metavar=("TRAIN", "VAL", "TEST"),
        help="views per split (default 40 5 5; 100 10 10 with --kind detail)",
    )
    parser.add_argument("--supersample", type=int, default=2, help="anti-aliasing samples per pixel axis (default 2)")
    parser.add_argument("--overwrite", action="store_true", help="replace a scene already in the output folder")
    args = parser.parse_args(argv)
    default_res, default_views = KIND_DEFAULTS[args.kind]
    res = default_res if args.res is None else args.res
    views = default_views if args.views is None else args.views
    try:
        check_scene_settings(args.out, res, views, args.supersample, overwrite=args.overwrite)
        make_scene(args.out, res, views, args.supersample, progress=True, kind=args.kind)
    except (ValueError, OSError, FolderBusyError) as err:  # bad settings, or a folder the file system refuses
        parser.error(str(err))
    print(f"train with:\n  {ns_train_command(args.out)}")
    print("  (on a CPU add --machine.device-type cpu --vis tensorboard; the README lists the CPU-sized flags)")


if __name__ == "__main__":
    entrypoint()
