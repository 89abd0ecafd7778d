"""Pictures of meshes: flat-shaded, depth-sorted faces drawn with headless matplotlib (no OpenGL)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from staf_nerfstudio.io import atomic_path
from staf_nerfstudio.plotting import pyplot

if TYPE_CHECKING:  # trimesh is imported lazily
    import trimesh

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
    plt = pyplot()
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
