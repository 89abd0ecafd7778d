"""The ``staf`` NeRF model under torch DistributedDataParallel: two CPU processes, a gloo group, a few training steps.

nerfstudio's multi-GPU path (``ns-train staf --machine.num-devices N``) wraps the model in
``DistributedDataParallel(model, find_unused_parameters=True)``; its launcher needs CUDA, so this test does the same
wrap on the CPU. Each rank starts from its own random initialisation and samples its own rays; DDP must broadcast rank
0's parameters at the wrap and average the gradients at every step, so that all parameters (the STAF amplitudes,
frequencies and phases included, whose gradients come from the activation's custom autograd function) stay equal
across ranks while they train away from their initial values.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from conftest import TINY_FIELD as TINY

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.slow]

WORLD_SIZE = 2
STEPS = 4
ACTIVATION_PARAMS = ("amplitudes", "frequencies", "phases")


def _flat(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def _gather(tensor: torch.Tensor) -> list:
    out = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(out, tensor)
    return out


def _autograd_nodes(root) -> set:
    """Names of every node in the backward graph below ``root``."""
    seen, stack, names = set(), [root], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.add(type(node).__name__)
        stack.extend(next_node for next_node, _ in node.next_functions)
    return names


def _worker(rank: int, port: int, scene: str, out_dir: str) -> None:
    from nerfstudio.engine.optimizers import Optimizers
    from torch.nn.parallel import DistributedDataParallel as DDP

    from staf_nerfstudio.nerf.demo import cpu_trainer_config

    torch.set_num_threads(1)
    torch.hub.get_dir = lambda: str(Path(out_dir) / "empty_hub")  # no LPIPS weights, as on CI
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD_SIZE)
    try:
        config = cpu_trainer_config("staf", Path(scene), Path(out_dir), STEPS, rays_per_batch=64, model_overrides=TINY)
        torch.manual_seed(1000 + rank)  # a different initialisation and different rays on each rank
        # world_size=1 here: nerfstudio's own wrap passes CUDA device ids; the wrap below is the one it does on GPUs.
        pipeline = config.pipeline.setup(device="cpu", test_mode="val", world_size=1, local_rank=0)
        model = pipeline.model
        before_wrap = _gather(_flat(model))
        ddp = DDP(model, find_unused_parameters=True)
        init = {name: p.detach().clone() for name, p in model.named_parameters()}
        optimizers = Optimizers(config.optimizers, model.get_param_groups())

        def loss_at(step: int) -> torch.Tensor:
            ray_bundle, batch = pipeline.datamanager.next_train(step)
            outputs = ddp(ray_bundle)
            metrics = model.get_metrics_dict(outputs, batch)
            return sum(model.get_loss_dict(outputs, batch, metrics).values())

        # A probe step without gradient averaging: the ranks' own gradients differ (different rays).
        with ddp.no_sync():
            loss = loss_at(0)
            nodes = _autograd_nodes(loss.grad_fn)
            loss.backward()
        local_grads = torch.cat([p.grad.reshape(-1) for n, p in model.named_parameters()
                                 if n.endswith(ACTIVATION_PARAMS) and p.grad is not None])  # fmt: skip
        probe = _gather(local_grads)
        optimizers.zero_grad_all()
        losses = []
        for step in range(STEPS):
            loss = loss_at(step)
            optimizers.zero_grad_all()
            loss.backward()
            optimizers.optimizer_step_all()
            losses.append(float(loss.detach()))
        after = _gather(_flat(model))
        params = [(name, p) for name, p in model.named_parameters() if p.numel()]  # skips an empty appearance code
        change = {name: float((p.detach() - init[name]).abs().max()) for name, p in params}
        if rank == 0:
            summary = {
                "init_diff_before_wrap": float((before_wrap[0] - before_wrap[1]).abs().max()),
                "probe_grad_diff": float((probe[0] - probe[1]).abs().max()),
                "param_diff_after": float((after[0] - after[1]).abs().max()),
                "num_params": int(after[0].numel()),
                "activation_change": {n: c for n, c in change.items() if n.endswith(ACTIVATION_PARAMS)},
                "other_change": {n: c for n, c in change.items() if not n.endswith(ACTIVATION_PARAMS)},
                "autograd_nodes": sorted(nodes),
                "losses": losses,
            }
            (Path(out_dir) / "summary.json").write_text(json.dumps(summary, indent=1))
    finally:
        dist.destroy_process_group()


def test_staf_model_trains_in_sync_under_ddp_gloo(tmp_path: Path, tiny_scene: Path) -> None:
    scene = tiny_scene
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    mp.spawn(_worker, args=(port, str(scene), str(tmp_path)), nprocs=WORLD_SIZE, join=True)
    summary = json.loads((tmp_path / "summary.json").read_text())

    assert summary["init_diff_before_wrap"] > 1e-3  # each rank initialised its own model...
    assert summary["probe_grad_diff"] > 0.0  # ...and computes its own gradients from its own rays
    assert {"StafFunctionBackward", "_FusedStafBackward"} & set(summary["autograd_nodes"]), summary["autograd_nodes"]
    # After the wrap and STEPS averaged steps every parameter is identical on both ranks.
    assert summary["param_diff_after"] == 0.0, summary["param_diff_after"]
    activation = summary["activation_change"]
    assert len(activation) >= 3 * 3  # amplitudes, frequencies, phases of at least three STAF layers
    assert all(change > 0.0 for change in activation.values()), activation
    assert max(summary["other_change"].values()) > 0.0
    assert all(loss == loss for loss in summary["losses"])  # not NaN
