"""Shapes (the occupancy task's data), one module per job; every name is importable from here.

- :mod:`.load`: mesh files and built-in shapes -> :class:`ShapeTarget` (normalized mesh + occupancy grid);
- :mod:`.builtin`: the trefoil knot and the sphere;
- :mod:`.frame`: the grid frame (:func:`normalize_mesh`, :func:`grid_axis`, :func:`shape_coords`);
- :mod:`.inside`: the exact inside test (occupancy grids, points inside, generalized winding numbers);
- :mod:`.extract`: marching cubes and mesh output;
- :mod:`.render`: pictures of meshes.
"""

from staf_tasks.data.shape.builtin import BUILTIN_SHAPES, builtin_sphere, default_mesh
from staf_tasks.data.shape.extract import extract_mesh, write_mesh
from staf_tasks.data.shape.frame import HALF_EXTENT, grid_axis, normalize_mesh, shape_coords
from staf_tasks.data.shape.inside import (
    generalized_winding_number,
    occupancy_grid,
    points_inside,
    sample_shape_points,
)
from staf_tasks.data.shape.load import MESH_SUFFIXES, ShapeTarget, load_mesh, load_shape
from staf_tasks.data.shape.render import render_mesh_png

__all__ = [
    "BUILTIN_SHAPES",
    "HALF_EXTENT",
    "MESH_SUFFIXES",
    "ShapeTarget",
    "builtin_sphere",
    "default_mesh",
    "extract_mesh",
    "generalized_winding_number",
    "grid_axis",
    "load_mesh",
    "load_shape",
    "normalize_mesh",
    "occupancy_grid",
    "points_inside",
    "render_mesh_png",
    "sample_shape_points",
    "shape_coords",
    "write_mesh",
]
