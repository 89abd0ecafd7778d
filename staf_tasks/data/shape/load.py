"""Loading a shape target: a mesh file (or a built-in shape), normalized into the grid frame, with its occupancy grid.

Frame: every mesh is normalized (bounding-box center to the origin, uniform scale) so that it fits in
[-0.9, 0.9]^3; the occupancy grid samples the cube [-1, 1]^3 at ``linspace(-1, 1, R)`` on each axis (the authors'
``get_mgrid``), index order ``[ix, iy, iz]`` = ``(x, y, z)``, the same order as :func:`shape_coords`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from staf_tasks.data.files import check_data_file
from staf_tasks.data.shape.builtin import BUILTIN_SHAPES, builtin_sphere, default_mesh
from staf_tasks.data.shape.frame import normalize_mesh
from staf_tasks.data.shape.inside import WATERTIGHT_FIX, occupancy_grid
from staf_tasks.errors import StafUserError

#: Largest vertex coordinate accepted in a mesh file (see :func:`load_mesh`).
MAX_COORDINATE = 1e9

if TYPE_CHECKING:  # trimesh is imported lazily
    import trimesh

MESH_SUFFIXES = (".obj", ".off", ".ply", ".stl", ".glb")
"""Mesh formats :func:`load_mesh` reads (through trimesh)."""


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
    check_data_file(path, "mesh", "OBJ, OFF or PLY", BUILTIN_SHAPES)
    try:
        mesh = trimesh.load(str(path), force="mesh", process=False)
    except Exception as err:  # trimesh raises many types (ValueError, KeyError, NotImplementedError, ...)
        raise StafUserError(
            f"cannot read mesh file {path} ({' '.join(str(err).split()) or type(err).__name__}); "
            "pass an OBJ, OFF or PLY triangle mesh"
        ) from None
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise StafUserError(f"mesh file {path} has no triangles (a point cloud or an empty file?); pass a triangle "
                            "mesh (OBJ, OFF or PLY)")
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    largest = float(np.max(np.abs(vertices))) if vertices.size else 0.0
    # trimesh merges duplicate vertices on an integer grid of 1e-8 steps: beyond ~1e10 that grid overflows int64
    # and the merge goes wrong silently (a closed mesh comes out with holes), so such files are refused up front.
    if not np.all(np.isfinite(vertices)) or largest > MAX_COORDINATE:
        what = "not finite" if not np.all(np.isfinite(vertices)) else f"up to {largest:.3g} in magnitude"
        raise StafUserError(
            f"mesh file {path} has vertex coordinates {what}; rescale it so that coordinates stay below "
            f"{MAX_COORDINATE:.0e} (the fit normalizes the size anyway)"
        )
    mesh.process()  # merge duplicate vertices, drop degenerate faces (what trimesh.load(process=True) does)
    mesh.remove_unreferenced_vertices()
    if not mesh.is_watertight and not allow_non_watertight:
        open_edges = _count_open_edges(mesh)
        raise StafUserError(
            f"mesh {path} is not watertight ({open_edges} edges do not have exactly two faces), so its inside is "
            f"not defined; {WATERTIGHT_FIX}"
        )
    if not mesh.is_winding_consistent or (mesh.is_watertight and mesh.volume < 0):
        trimesh.repair.fix_normals(mesh, multibody=True)  # consistent, outward-facing triangles
    if mesh.is_watertight and not mesh.volume > 1e-12 * max(mesh.scale, 1e-30) ** 3:
        raise StafUserError(f"mesh {path} encloses no volume (it is flat or inside-out beyond repair); pass a closed "
                            "solid mesh")
    return normalize_mesh(mesh) if normalize else mesh


def _count_open_edges(mesh: "trimesh.Trimesh") -> int:
    edges = np.sort(mesh.edges, axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    return int(np.sum(counts != 2))
