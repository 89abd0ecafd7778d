"""The exact inside test: occupancy grids and points inside a mesh, and the generalized winding number.

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
from typing import TYPE_CHECKING

import numpy as np
import torch
from jaxtyping import Bool, Float
from torch import Tensor

from staf_tasks.data.shape.frame import grid_axis
from staf_tasks.errors import StafUserError

if TYPE_CHECKING:  # trimesh is imported lazily
    import trimesh

WATERTIGHT_FIX = (
    "repair it (trimesh.repair.fill_holes, or MeshLab's 'Close Holes') or pass --allow-non-watertight to decide the "
    "inside by generalized winding numbers"
)
"""How to fix a mesh with holes (error messages)."""
_PAIR_CHUNK = 1 << 21  # (triangle, query) pairs evaluated at once: bounds the memory of the inside test


def occupancy_grid(
    mesh: "trimesh.Trimesh", resolution: int, *, allow_non_watertight: bool = False, offset: float = 0.0
) -> Bool[np.ndarray, "R R R"]:
    """Inside/outside of ``mesh`` (already in the grid frame) at the ``resolution^3`` grid points.

    Watertight meshes: exact winding numbers by signed ray crossings along +z (nonzero rule). Meshes with holes
    (only with ``allow_non_watertight``): six ray directions vote; where they disagree, the generalized winding
    number decides (inside when >= 0.5). ``offset``: see :func:`grid_axis` (0.5 = a held-out grid).
    """
    if not mesh.is_watertight and not allow_non_watertight:
        raise StafUserError(f"the mesh is not watertight, so its inside is not defined; {WATERTIGHT_FIX}")
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
