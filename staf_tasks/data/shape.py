"""Shapes: load meshes (or build the built-in trefoil knot), occupancy grids by an exact inside test, coordinates,
marching-cubes extraction, mesh output and pictures.

Frame: every mesh is normalized (bounding-box center to the origin, uniform scale) so that it fits in
[-0.9, 0.9]^3; the occupancy grid samples the cube [-1, 1]^3 at ``linspace(-1, 1, R)`` on each axis (the authors'
``get_mgrid``), index order ``[ix, iy, iz]`` = ``(x, y, z)``, the same order as :func:`shape_coords`.

Inside test: the signed number of crossings of a ray from each point to ``+z`` (each crossed triangle counts +1 if
it faces up, -1 if down), the exact winding number of a closed mesh. It is computed per grid column, so the cost is
(columns hit by each triangle), not (points x triangles): 128^3 takes well under a second. Points that fall exactly
on an edge or vertex in projection are decided by a consistent symbolic perturbation, so no crossing is counted
twice or missed. For meshes with holes (``allow_non_watertight``) rays along +-x, +-y and +-z vote and the voxels
where they disagree get the generalized winding number (Jacobson et al. 2013) at threshold 0.5.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch
from jaxtyping import Bool, Float
from torch import Tensor

from staf_tasks.errors import StafUserError
from staf_tasks.io import atomic_path

if TYPE_CHECKING:  # trimesh is imported lazily
    import trimesh

MESH_SUFFIXES = (".obj", ".off", ".ply", ".stl", ".glb")
"""Mesh formats :func:`load_mesh` reads (through trimesh)."""

HALF_EXTENT = 0.9
"""Meshes are scaled so that their bounding box's largest half side is this (the grid spans [-1, 1])."""

BUILTIN_SHAPES = ("trefoil", "sphere")
"""Built-in shapes usable by name in place of a path: the trefoil knot (default) and a sphere (a sanity check)."""

_WATERTIGHT_FIX = (
    "repair it (trimesh.repair.fill_holes, or MeshLab's 'Close Holes') or pass --allow-non-watertight to decide the "
    "inside by generalized winding numbers"
)
_PAIR_CHUNK = 1 << 21  # (triangle, query) pairs evaluated at once: bounds the memory of the inside test


@dataclass(frozen=True)
class ShapeTarget:
    """A normalized mesh and its occupancy grid."""

    mesh: "trimesh.Trimesh"
    """The mesh in the grid frame (fits in [-0.9, 0.9]^3)."""
    occupancy: np.ndarray
    """``(R, R, R)`` bool, True inside, indexed ``[ix, iy, iz]``."""
    source: str
    """A file path or ``"builtin:..."``."""


def load_shape(path: Path | str | None, resolution: int, *, allow_non_watertight: bool = False) -> ShapeTarget:
    """The mesh at ``path`` (or a built-in name, None = the trefoil knot), normalized, with its occupancy grid.

    Args:
        path: Mesh file (OBJ/OFF/PLY/...), ``"trefoil"``, ``"sphere"``, or None (the trefoil knot).
        resolution: Grid points per axis (the grid is ``resolution^3``).
        allow_non_watertight: See :func:`load_mesh`.
    """
    if path is None or (isinstance(path, str) and path in BUILTIN_SHAPES):
        name = path or "trefoil"
        mesh = default_mesh() if name == "trefoil" else builtin_sphere()
        source = f"builtin:{name}"
    else:
        mesh, source = load_mesh(path, allow_non_watertight=allow_non_watertight), str(path)
    occ = occupancy_grid(mesh, resolution, allow_non_watertight=allow_non_watertight)
    return ShapeTarget(mesh=mesh, occupancy=occ, source=source)


def load_mesh(path: Path | str, *, allow_non_watertight: bool = False, normalize: bool = True) -> "trimesh.Trimesh":
    """Loads a triangle mesh (OBJ/OFF/PLY/STL/GLB) with trimesh, checks it and normalizes it to [-0.9, 0.9]^3.

    Args:
        path: Mesh file. A file with several parts (a scene) is merged into one mesh.
        allow_non_watertight: Accept a mesh with holes or open edges; its inside is then decided by a vote of rays
            and the generalized winding number (see :func:`occupancy_grid`). Without it such a mesh is an error.
        normalize: Center and scale the mesh into [-0.9, 0.9]^3 (the grid frame). The transform is recorded in
            ``mesh.metadata["staf_normalization"]`` (``center``, ``scale``: ``x_grid = (x_file - center) * scale``).

    Raises:
        StafUserError: missing/unreadable file, no triangles, not watertight (unless allowed), flat (zero volume).
    """
    import trimesh

    path = Path(path)
    if not path.exists():
        raise StafUserError(f"mesh file not found: {path}; check the path (OBJ, OFF or PLY), or omit --data for the "
                            f"built-in shape (built-in names: {', '.join(BUILTIN_SHAPES)})")
    if path.is_dir():
        raise StafUserError(f"{path} is a folder, not a mesh file; pass an OBJ, OFF or PLY file")
    try:
        mesh = trimesh.load(str(path), force="mesh", process=True)
    except Exception as err:  # trimesh raises many types (ValueError, KeyError, NotImplementedError, ...)
        raise StafUserError(
            f"cannot read mesh file {path} ({' '.join(str(err).split()) or type(err).__name__}); "
            "pass an OBJ, OFF or PLY triangle mesh"
        ) from None
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise StafUserError(f"mesh file {path} has no triangles (a point cloud or an empty file?); pass a triangle "
                            "mesh (OBJ, OFF or PLY)")
    mesh.remove_unreferenced_vertices()
    if not mesh.is_watertight and not allow_non_watertight:
        open_edges = _count_open_edges(mesh)
        raise StafUserError(
            f"mesh {path} is not watertight ({open_edges} edges do not have exactly two faces), so its inside is "
            f"not defined; {_WATERTIGHT_FIX}"
        )
    if not mesh.is_winding_consistent or (mesh.is_watertight and mesh.volume < 0):
        trimesh.repair.fix_normals(mesh, multibody=True)  # consistent, outward-facing triangles
    if mesh.is_watertight and not mesh.volume > 1e-12 * max(mesh.scale, 1e-30) ** 3:
        raise StafUserError(f"mesh {path} encloses no volume (it is flat or inside-out beyond repair); pass a closed "
                            "solid mesh")
    return normalize_mesh(mesh) if normalize else mesh


def normalize_mesh(mesh: "trimesh.Trimesh", half_extent: float = HALF_EXTENT) -> "trimesh.Trimesh":
    """A copy of ``mesh`` centered at the origin (bounding-box center) and scaled to fit in [-half_extent, ...]^3."""
    lo, hi = mesh.bounds
    center = (lo + hi) / 2.0
    size = float(np.max(hi - lo)) / 2.0
    if not size > 0:
        raise StafUserError("the mesh has zero size (all vertices coincide); pass a real mesh")
    scale = half_extent / size
    out = mesh.copy()
    out.apply_translation(-center)
    out.apply_scale(scale)
    out.metadata["staf_normalization"] = {"center": center.tolist(), "scale": scale}
    return out


def default_mesh(tube_segments: int = 256, ring_segments: int = 24) -> "trimesh.Trimesh":
    """The built-in shape: a trefoil knot tube, built analytically (no download, deterministic), in the grid frame.

    A (2, 3) torus knot ``((2 + cos 3t) cos 2t, (2 + cos 3t) sin 2t, sin 3t)`` swept by a circle of radius 0.45
    (in those units) along its Frenet frame: a closed, watertight genus-1 surface with thin, curved, knotted
    features, the kind of detail where an INR's occupancy IoU separates methods. 12,288 triangles by default.
    """
    import trimesh

    t = np.linspace(0.0, 2 * math.pi, tube_segments, endpoint=False)
    c2, s2, c3, s3 = np.cos(2 * t), np.sin(2 * t), np.cos(3 * t), np.sin(3 * t)
    curve = np.stack([(2 + c3) * c2, (2 + c3) * s2, s3], axis=1)
    d1 = np.stack([-3 * s3 * c2 - 2 * (2 + c3) * s2, -3 * s3 * s2 + 2 * (2 + c3) * c2, 3 * c3], axis=1)
    d2 = np.stack(
        [-9 * c3 * c2 + 12 * s3 * s2 - 4 * (2 + c3) * c2, -9 * c3 * s2 - 12 * s3 * c2 - 4 * (2 + c3) * s2, -9 * s3],
        axis=1,
    )
    tangent = d1 / np.linalg.norm(d1, axis=1, keepdims=True)
    binormal = np.cross(d1, d2)
    binormal /= np.linalg.norm(binormal, axis=1, keepdims=True)
    normal = np.cross(binormal, tangent)
    v = np.linspace(0.0, 2 * math.pi, ring_segments, endpoint=False)
    radius = 0.45
    verts = (
        curve[:, None, :]
        + radius * np.cos(v)[None, :, None] * normal[:, None, :]
        + radius * np.sin(v)[None, :, None] * binormal[:, None, :]
    ).reshape(-1, 3)
    i = np.arange(tube_segments)[:, None]
    j = np.arange(ring_segments)[None, :]
    a = i * ring_segments + j
    b = ((i + 1) % tube_segments) * ring_segments + j
    c = ((i + 1) % tube_segments) * ring_segments + (j + 1) % ring_segments
    d = i * ring_segments + (j + 1) % ring_segments
    faces = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([a, c, d], -1).reshape(-1, 3)])
    mesh = trimesh.Trimesh(verts, faces, process=False)
    if mesh.volume < 0:
        mesh.invert()
    return normalize_mesh(mesh)


def builtin_sphere(radius: float = HALF_EXTENT, subdivisions: int = 4) -> "trimesh.Trimesh":
    """An icosphere of ``radius`` centered at the origin (5,120 faces): a shape whose exact occupancy is known."""
    import trimesh

    return trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius)


def grid_axis(resolution: int, offset: float = 0.0) -> np.ndarray:
    """The ``resolution`` sample positions along each axis: ``linspace(-1, 1, resolution)`` (float64).

    ``offset`` shifts every position by that fraction of the spacing: ``offset=0.5`` gives a held-out grid whose
    points sit between the training grid's points (it reaches half a step past 1; the shape ends at 0.9).
    """
    if resolution < 2:
        raise StafUserError(f"the grid resolution must be at least 2, got {resolution}")
    return np.linspace(-1.0, 1.0, resolution) + offset * 2.0 / (resolution - 1)


def shape_coords(resolution: int, offset: float = 0.0) -> Float[Tensor, "num_points 3"]:
    """All grid points, ``(R^3, 3)`` float32, row ``(ix * R + iy) * R + iz`` is ``(x[ix], y[iy], z[iz])``.

    ``occupancy_grid(mesh, R).reshape(-1)`` lines up with these rows; ``values.reshape(R, R, R)`` turns a network's
    outputs on them back into a grid for :func:`extract_mesh`.
    """
    axis = torch.from_numpy(grid_axis(resolution, offset).astype(np.float32))
    grids = torch.meshgrid(axis, axis, axis, indexing="ij")
    return torch.stack(grids, dim=-1).reshape(-1, 3)


def occupancy_grid(
    mesh: "trimesh.Trimesh", resolution: int, *, allow_non_watertight: bool = False, offset: float = 0.0
) -> Bool[np.ndarray, "R R R"]:
    """Inside/outside of ``mesh`` (already in the grid frame) at the ``resolution^3`` grid points.

    Watertight meshes: exact winding numbers by signed ray crossings along +z (nonzero rule). Meshes with holes
    (only with ``allow_non_watertight``): six ray directions vote; where they disagree, the generalized winding
    number decides (inside when >= 0.5). ``offset``: see :func:`grid_axis` (0.5 = a held-out grid).
    """
    if not mesh.is_watertight and not allow_non_watertight:
        raise StafUserError(f"the mesh is not watertight, so its inside is not defined; {_WATERTIGHT_FIX}")
    axis = grid_axis(resolution, offset)
    verts = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces, dtype=np.int64)
    up, down = _scan_grid(verts, faces, axis, axis, axis)
    if mesh.is_watertight:
        return up != 0
    votes = [up != 0, down != 0]
    for perm, back in (((1, 2, 0), (2, 0, 1)), ((2, 0, 1), (1, 2, 0))):
        u, d = _scan_grid(verts[:, perm], faces, axis, axis, axis)
        votes += [(u != 0).transpose(back), (d != 0).transpose(back)]
    count = np.sum(votes, axis=0)
    occ = count == len(votes)
    disputed = (count > 0) & (count < len(votes))
    if disputed.any():
        logging.getLogger(__name__).info("mesh with holes: %d voxels disputed by the rays get winding numbers",
                                         int(disputed.sum()))
        pts = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1)[disputed]
        occ[disputed] = np.abs(generalized_winding_number(verts, faces, pts)) >= 0.5
    return occ


def points_inside(mesh: "trimesh.Trimesh", points: np.ndarray | Tensor) -> Bool[np.ndarray, " N"]:
    """Inside test for arbitrary points ``(N, 3)`` of a watertight mesh (signed ray crossings, exact).

    For a mesh with holes, use :func:`generalized_winding_number` ``>= 0.5`` instead (slower: points x faces).
    """
    if isinstance(points, Tensor):
        points = points.detach().cpu().numpy()
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    if not mesh.is_watertight:
        raise StafUserError("points_inside needs a watertight mesh; use generalized_winding_number for open meshes")
    verts = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces, dtype=np.int64)
    return _scan_points(verts, faces, pts) != 0


def sample_shape_points(
    mesh: "trimesh.Trimesh", num_points: int, *, near_surface_fraction: float = 0.5, sigma: float = 0.02,
    seed: int = 0,
) -> tuple[Float[Tensor, "num_points 3"], Float[Tensor, "num_points 1"]]:
    """Random training points with their occupancy (1 inside, 0 outside), off the grid.

    ``near_surface_fraction`` of the points are surface samples moved by N(0, sigma^2) per axis (where the detail
    is); the rest are uniform in [-1, 1]^3. Deterministic for a given ``seed``.
    """
    import trimesh

    rng = np.random.default_rng(seed)
    n_near = int(round(num_points * near_surface_fraction))
    near, _ = trimesh.sample.sample_surface(mesh, n_near, seed=rng) if n_near else (np.zeros((0, 3)), None)
    near = near + rng.normal(0.0, sigma, size=near.shape)
    uniform = rng.uniform(-1.0, 1.0, size=(num_points - n_near, 3))
    pts = np.clip(np.concatenate([near, uniform]), -1.0, 1.0)
    occ = points_inside(mesh, pts)
    return torch.from_numpy(pts.astype(np.float32)), torch.from_numpy(occ.astype(np.float32)).unsqueeze(-1)


def generalized_winding_number(
    vertices: np.ndarray, faces: np.ndarray, points: np.ndarray, chunk_pairs: int = 1 << 16
) -> np.ndarray:
    """Generalized winding number (sum of signed solid angles / 4 pi, Van Oosterom-Strackee) at ``points`` (N, 3).

    About 1 inside a closed outward mesh, 0 outside, and a smooth in-between value near holes (Jacobson et al.
    2013). Cost: N x faces, float64, chunked; used only where the ray votes of :func:`occupancy_grid` disagree.
    """
    verts = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces)
    corners = [verts[faces[:, j]].T[:, None, :] for j in range(3)]  # 3 x (3, 1, F)
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    out = np.empty(pts.shape[0])
    step = max(1, chunk_pairs // max(1, faces.shape[0]))
    for start in range(0, pts.shape[0], step):
        p = pts[start : start + step].T[:, :, None]  # (3, n, 1)
        (ax, ay, az), (bx, by, bz), (cx, cy, cz) = (k - p for k in corners)
        la = np.sqrt(ax * ax + ay * ay + az * az)
        lb = np.sqrt(bx * bx + by * by + bz * bz)
        lc = np.sqrt(cx * cx + cy * cy + cz * cz)
        det = ax * (by * cz - bz * cy) + ay * (bz * cx - bx * cz) + az * (bx * cy - by * cx)
        den = la * lb * lc + (ax * bx + ay * by + az * bz) * lc + (bx * cx + by * cy + bz * cz) * la
        den += (cx * ax + cy * ay + cz * az) * lb
        out[start : start + step] = np.arctan2(det, den).sum(-1) / (2 * math.pi)
    return out


def extract_mesh(values: np.ndarray | Tensor, level: float = 0.5, offset: float = 0.0) -> "trimesh.Trimesh":
    """Marching cubes (scikit-image) of a ``(R, R, R)`` grid of occupancy values sampled at :func:`shape_coords`.

    Vertices are mapped back to the [-1, 1] frame. The grid is padded by one layer of "outside", so the surface is
    closed even where the shape touches the border; faces point outward (inside = values above ``level``).
    Returns an empty mesh when no value crosses ``level``. ``offset``: the grid's, see :func:`grid_axis`.
    """
    import trimesh
    from skimage.measure import marching_cubes

    if isinstance(values, Tensor):
        values = values.detach().cpu().numpy()
    vol = np.asarray(values, dtype=np.float32)
    if vol.ndim != 3 or len(set(vol.shape)) != 1:
        raise ValueError(f"extract_mesh needs a cubic (R, R, R) grid, got shape {vol.shape}")
    res = vol.shape[0]
    if not np.nanmax(vol) > level:
        return trimesh.Trimesh(np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64), process=False)
    pad = float(min(np.nanmin(vol), level)) - 1.0
    vol = np.pad(np.nan_to_num(vol, nan=pad), 1, mode="constant", constant_values=pad)
    step = 2.0 / (res - 1)
    verts, faces, _, _ = marching_cubes(vol, level=level, spacing=(step, step, step))
    verts = verts - (1.0 + step) + offset * step  # padded index 1 is grid_axis[0]
    mesh = trimesh.Trimesh(verts, faces, process=True)
    if mesh.volume < 0:
        mesh.invert()
    return mesh


def write_mesh(path: Path | str, mesh: "trimesh.Trimesh") -> Path:
    """Writes ``mesh`` atomically; the format follows the extension (``.ply`` binary, ``.obj``, ``.off``, ``.stl``)."""
    path = Path(path)
    kind = path.suffix.lower().lstrip(".")
    if kind not in ("ply", "obj", "off", "stl", "glb"):
        raise StafUserError(f"cannot write a mesh as '{path.suffix}': {path}; use .ply or .obj")
    data = mesh.export(file_type=kind)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def render_mesh_png(
    path: Path | str,
    meshes: "trimesh.Trimesh | Sequence[trimesh.Trimesh]",
    titles: Sequence[str] | None = None,
    *,
    elev: float = 25.0,
    azim: float = 35.0,
    max_faces: int = 60_000,
    size: float = 4.5,
) -> Path:
    """Saves a shaded picture of one mesh or of several side by side (matplotlib, headless, no OpenGL).

    Faces are flat-shaded with a Lambert light from the camera's upper left, drawn in depth order. Meshes with
    more than ``max_faces`` faces are decimated for the picture only (vertex clustering on a grid).

    Args:
        path: Output PNG (written atomically).
        meshes: A mesh or a list of meshes in the [-1, 1] frame.
        titles: One title per mesh.
        elev: Camera elevation in degrees.
        azim: Camera azimuth in degrees.
        max_faces: Face budget per mesh for drawing.
        size: Inches per panel.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    if not isinstance(meshes, (list, tuple)):
        meshes = [meshes]
    titles = list(titles) if titles is not None else [""] * len(meshes)
    fig = plt.figure(figsize=(size * len(meshes), size))
    e, a = math.radians(elev), math.radians(azim)
    view = np.array([math.cos(e) * math.cos(a), math.cos(e) * math.sin(a), math.sin(e)])
    light = view + np.array([0.0, 0.0, 0.6]) + 0.4 * np.cross([0.0, 0.0, 1.0], view)
    light /= np.linalg.norm(light)
    for k, (mesh, title) in enumerate(zip(meshes, titles, strict=True)):
        ax = fig.add_subplot(1, len(meshes), k + 1, projection="3d")
        ax.set_axis_off()
        ax.set_xlim(-1, 1)
        ax.set_ylim(-1, 1)
        ax.set_zlim(-1, 1)
        ax.set_box_aspect((1, 1, 1), zoom=1.35)
        ax.view_init(elev=elev, azim=azim)
        ax.set_title(title or f"{len(mesh.faces)} faces")
        if len(mesh.faces) == 0:
            ax.text(0, 0, 0, "empty mesh", ha="center")
            continue
        verts, faces = _decimate_for_drawing(np.asarray(mesh.vertices), np.asarray(mesh.faces), max_faces)
        tris = verts[faces]
        normals = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
        shade = 0.25 + 0.75 * np.clip(normals @ light, 0.0, 1.0)
        colors = np.clip(shade[:, None] * np.array([0.55, 0.7, 0.9]), 0.0, 1.0)
        ax.add_collection3d(Poly3DCollection(tris, facecolors=colors, edgecolors="none", linewidths=0.0))
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return path


def _decimate_for_drawing(verts: np.ndarray, faces: np.ndarray, max_faces: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertex clustering: snap vertices to a grid coarse enough that about ``max_faces`` faces remain."""
    if len(faces) <= max_faces:
        return verts, faces
    cells = 256
    while cells >= 8:
        key = np.floor((verts + 1.0) * (cells / 2.0)).astype(np.int64)
        _, cluster, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
        cluster = cluster.reshape(-1)
        new_faces = cluster[faces]
        keep = (new_faces[:, 0] != new_faces[:, 1]) & (new_faces[:, 1] != new_faces[:, 2]) & (
            new_faces[:, 0] != new_faces[:, 2]
        )
        new_faces = np.unique(np.sort(new_faces[keep], axis=1), axis=0) if keep.any() else new_faces[keep]
        if len(new_faces) <= max_faces:
            # Keep the original orientation: take each kept face's first occurrence in order.
            oriented = cluster[faces][keep]
            _, first = np.unique(np.sort(oriented, axis=1), axis=0, return_index=True)
            sums = np.zeros((counts.shape[0], 3))
            np.add.at(sums, cluster, verts)
            return sums / counts[:, None], oriented[np.sort(first)]
        cells //= 2
    return verts, faces[:max_faces]


def _count_open_edges(mesh: "trimesh.Trimesh") -> int:
    edges = np.sort(mesh.edges, axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    return int(np.sum(counts != 2))


# --- the inside test -----------------------------------------------------------------------------------------------


def _crossings(
    verts: np.ndarray, faces: np.ndarray, fidx: np.ndarray, qx: np.ndarray, qy: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For (triangle, query xy) pairs: the signed hit (+1 up-facing, -1 down-facing, 0 miss) and the hit's z.

    Each edge's side test is computed from the edge's endpoints in a canonical order (lower vertex index first) and
    negated for the other direction, so the two triangles sharing an edge always disagree on which side a query
    point lies; a point exactly on an edge line is pushed by an infinitesimal step along (1, delta) (symbolic
    perturbation), so exactly one of the triangles around any edge or vertex claims it.
    """
    tri_idx = faces[fidx]  # (n, 3)
    signs = []
    weights = []
    for j in range(3):
        ia, ib = tri_idx[:, j], tri_idx[:, (j + 1) % 3]
        lo, hi = np.minimum(ia, ib), np.maximum(ia, ib)
        lx, ly = verts[lo, 0], verts[lo, 1]
        dx, dy = verts[hi, 0] - lx, verts[hi, 1] - ly
        e = dx * (qy - ly) - dy * (qx - lx)
        tie = np.where(dy != 0, -dy, dx)
        s = np.where(e != 0, np.sign(e), np.sign(tie))
        flip = np.where(ia == lo, 1.0, -1.0)
        signs.append(s * flip)
        weights.append(e * flip)
    hit = np.where((signs[0] > 0) & (signs[1] > 0) & (signs[2] > 0), 1, 0) - np.where(
        (signs[0] < 0) & (signs[1] < 0) & (signs[2] < 0), 1, 0
    )
    # Barycentric z: the edge (j -> j+1) weighs the opposite vertex j+2.
    zv = verts[tri_idx, 2]
    total = weights[0] + weights[1] + weights[2]
    total = np.where(total == 0, 1.0, total)
    z = (weights[1] * zv[:, 0] + weights[2] * zv[:, 1] + weights[0] * zv[:, 2]) / total
    return hit.astype(np.int32), z


def _expand_ranges(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ``counts[i]`` items per owner i: (owner of each item, index of the item within its owner)."""
    owner = np.repeat(np.arange(counts.shape[0]), counts)
    starts = np.cumsum(counts) - counts
    local = np.arange(owner.shape[0]) - starts[owner]
    return owner, local


def _scan_grid(
    verts: np.ndarray, faces: np.ndarray, xs: np.ndarray, ys: np.ndarray, zs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Winding numbers at the grid points from rays to +z (``up``) and to -z (``down``), each ``(X, Y, Z)`` int."""
    nx_, ny_, nz_ = len(xs), len(ys), len(zs)
    tri = verts[faces]
    ix0 = np.searchsorted(xs, tri[:, :, 0].min(1), "left")
    ix1 = np.searchsorted(xs, tri[:, :, 0].max(1), "right")
    iy0 = np.searchsorted(ys, tri[:, :, 1].min(1), "left")
    iy1 = np.searchsorted(ys, tri[:, :, 1].max(1), "right")
    wx, wy = np.maximum(ix1 - ix0, 0), np.maximum(iy1 - iy0, 0)
    diff = np.zeros(nx_ * ny_ * (nz_ + 1), dtype=np.int32)
    net = np.zeros(nx_ * ny_, dtype=np.int32)
    counts = wx * wy
    csum = np.cumsum(counts)
    start = 0
    while start < len(faces):  # chunks of triangles, so that the (triangle, column) pairs stay bounded in memory
        stop = max(int(np.searchsorted(csum, (csum[start - 1] if start else 0) + _PAIR_CHUNK, "right")), start + 1)
        owner, local = _expand_ranges(counts[start:stop])
        fidx = owner + start
        ix = ix0[fidx] + local // wy[fidx]
        iy = iy0[fidx] + local % wy[fidx]
        hit, z = _crossings(verts, faces, fidx, xs[ix], ys[iy])
        keep = hit != 0
        col, hit, z = ix[keep] * ny_ + iy[keep], hit[keep], z[keep]
        k0 = np.searchsorted(zs, z, "left")  # grid points below the hit: z_k < z_hit
        np.add.at(diff, col * (nz_ + 1), hit)
        np.add.at(diff, col * (nz_ + 1) + k0, -hit)
        np.add.at(net, col, hit)
        start = stop
    up = np.cumsum(diff.reshape(nx_ * ny_, nz_ + 1), axis=1, dtype=np.int32)[:, :nz_]
    down = up - net[:, None]
    return up.reshape(nx_, ny_, nz_), down.reshape(nx_, ny_, nz_)


def _scan_points(verts: np.ndarray, faces: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Winding numbers at arbitrary points from rays to +z; triangles meet points through a coarse xy bucket grid."""
    n = pts.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int32)
    tri = verts[faces]
    lo = np.minimum(pts[:, :2].min(0), tri[:, :, :2].min((0, 1)))
    hi = np.maximum(pts[:, :2].max(0), tri[:, :, :2].max((0, 1)))
    cells = int(np.clip(math.sqrt(n / 4.0), 1, 512))
    h = (hi - lo) / cells + 1e-12

    def cell_of(x: np.ndarray, d: int) -> np.ndarray:
        return np.clip(np.floor((x - lo[d]) / h[d]).astype(np.int64), 0, cells - 1)

    pc = cell_of(pts[:, 0], 0) * cells + cell_of(pts[:, 1], 1)
    order = np.argsort(pc, kind="stable")
    cell_start = np.searchsorted(pc[order], np.arange(cells * cells), "left")
    cell_count = np.searchsorted(pc[order], np.arange(cells * cells), "right") - cell_start
    cx0, cx1 = cell_of(tri[:, :, 0].min(1), 0), cell_of(tri[:, :, 0].max(1), 0)
    cy0, cy1 = cell_of(tri[:, :, 1].min(1), 1), cell_of(tri[:, :, 1].max(1), 1)
    wy = cy1 - cy0 + 1
    owner, local = _expand_ranges((cx1 - cx0 + 1) * wy)
    cell = (cx0[owner] + local // wy[owner]) * cells + cy0[owner] + local % wy[owner]
    per_pair = cell_count[cell]
    winding = np.zeros(n, dtype=np.int64)
    # Chunk over (triangle, cell) pairs so that the (triangle, point) pairs stay bounded.
    csum = np.cumsum(per_pair)
    start = 0
    while start < len(cell):
        stop = int(np.searchsorted(csum, (csum[start - 1] if start else 0) + _PAIR_CHUNK, "right"))
        stop = max(stop, start + 1)
        sub, loc = _expand_ranges(per_pair[start:stop])
        pidx = order[cell_start[cell[start:stop][sub]] + loc]
        fidx = owner[start:stop][sub]
        hit, z = _crossings(verts, faces, fidx, pts[pidx, 0], pts[pidx, 1])
        above = (hit != 0) & (z > pts[pidx, 2])
        winding += np.bincount(pidx[above], weights=hit[above], minlength=n).astype(np.int64)
        start = stop
    return winding
