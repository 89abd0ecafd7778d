"""Shape fitting: occupancy of a watertight mesh on a grid in [-1, 1]^3 (the authors' occupancy preset as defaults).

The network trains on the occupancy at the ``resolution^3`` grid points. IoU is measured on a held grid the network
never saw (the same resolution shifted by half a cell), and the surface extracted by marching cubes is compared with
the input mesh by Chamfer distance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict

import numpy as np
import torch
from torch import nn

from staf_tasks.data.shape import (
    extract_mesh,
    grid_axis,
    load_shape,
    points_inside,
    render_mesh_png,
    shape_coords,
    write_mesh,
)
from staf_tasks.errors import StafUserError
from staf_tasks.metrics import chamfer_distance, iou
from staf_tasks.task_configs import ShapeFitConfig
from staf_tasks.tasks.base import Prepared, RenderRequest, Task
from staf_tasks.training import FitProblem, FitResult, predict


def held_grid(resolution: int) -> torch.Tensor:
    """The ``(R-1)^3`` cell centres of the training grid: points the network never trained on."""
    axis = grid_axis(resolution)
    mid = torch.from_numpy(((axis[:-1] + axis[1:]) / 2).astype(np.float32))
    return torch.stack(torch.meshgrid(mid, mid, mid, indexing="ij"), dim=-1).reshape(-1, 3)


class ShapeTask(Task):
    """Fit an occupancy grid; IoU at 0.5 on a held grid (and on the training grid, the authors' number),
    marching-cubes mesh, Chamfer distance to the input."""

    name = "shape"
    config_cls = ShapeFitConfig
    primary_metric = "iou"
    preview_file = "mesh.png"

    def prepare(self, cfg: ShapeFitConfig) -> Prepared:
        if cfg.resolution < 4:
            raise StafUserError(f"--resolution must be at least 4, got {cfg.resolution}")
        target = load_shape(cfg.data, cfg.resolution, allow_non_watertight=cfg.allow_non_watertight)
        if not target.occupancy.any():
            raise StafUserError(
                f"mesh {target.source} encloses none of the {cfg.resolution}^3 grid points (it is flat, open or "
                "thinner than a grid cell), so there is nothing to fit; pass a closed solid mesh or raise --resolution"
            )
        held = held_grid(cfg.resolution)
        if target.mesh.is_watertight:
            held_occ = points_inside(target.mesh, held)
        else:  # only reachable with --allow-non-watertight
            from staf_tasks.data.shape import generalized_winding_number

            held_occ = np.abs(generalized_winding_number(target.mesh.vertices, target.mesh.faces, held.numpy())) >= 0.5
        problem = FitProblem(
            train_coords=shape_coords(cfg.resolution),
            train_values=torch.from_numpy(target.occupancy.reshape(-1, 1).astype(np.float32)),
            eval_coords=held,
            evaluate=lambda pred: {"iou": iou(pred.reshape(-1).numpy(), held_occ)},
            primary="iou",
            # The authors' IoU: on the grid the network trains on, from the minibatch outputs of each epoch.
            train_evaluate=lambda pred: {"iou": iou(pred.reshape(-1).numpy(), target.occupancy.reshape(-1))},
        )
        info = {"source": target.source, "resolution": cfg.resolution, "occupied_fraction":
                float(target.occupancy.mean()), "held_points": int(held.shape[0]), "channels": 1}
        return Prepared(problem, 3, 1, info=info, state={"target": target})

    def _grid_values(self, model: nn.Module, resolution: int, chunk: int) -> np.ndarray:
        return predict(model, shape_coords(resolution), chunk).reshape(resolution, resolution, resolution).numpy()

    def write_outputs(self, cfg, run_dir: Path, prepared: Prepared, result: FitResult) -> Dict[str, str]:
        target = prepared.state["target"]
        values = self._grid_values(result.model, cfg.resolution, cfg.train.eval_chunk)
        # "iou" is measured between the training points (generalization); this one on them, as the authors do.
        result.final["iou_train_grid"] = iou(values, target.occupancy)
        mesh = extract_mesh(values, level=0.5)
        result.final["chamfer"] = chamfer_distance(mesh, target.mesh, num_points=cfg.chamfer_points, seed=cfg.seed)
        write_mesh(run_dir / "reconstruction.ply", mesh)
        render_mesh_png(run_dir / "mesh.png", [target.mesh, mesh],
                        [f"input ({target.source})", f"{cfg.model}: IoU {result.final['iou']:.3f} held / "
                         f"{result.final['iou_train_grid']:.3f} grid, Chamfer {result.final['chamfer']:.4f}"])
        return {"reconstruction": "reconstruction.ply", "mesh": "mesh.png"}

    def render(self, cfg, model: nn.Module, run_dir: Path, request: RenderRequest, info: Dict) -> Path:
        resolution = request.resolution or info["resolution"]
        if resolution < 4:
            raise StafUserError(f"--resolution must be at least 4, got {resolution}")
        mesh = extract_mesh(self._grid_values(model, resolution, cfg.train.eval_chunk), level=0.5)
        return write_mesh(request.output or run_dir / f"render_{resolution}.ply", mesh)
