"""Screening search over STAF initializations and activation learning schemes, and over the baselines' settings.

Each run fits one image with the authors' image schedule (Adam, lr decayed by ``0.05^(t/T)``, 4096-pixel minibatches,
the same steps for every variant) and records the clean full-image PSNR at a few steps. One JSON line per (variant,
image, size, epochs, seed) is appended to ``--out``, with the command that reproduces it; runs already there are
skipped, so a killed search resumes where it stopped.

    python benchmarks/staf_search.py --out outputs/search.jsonl --variants siren staf-paper staf-siren \
        --images astronaut camera coffee --size 256 --epochs 20 --seeds 0

Variants are named specs in ``VARIANTS`` (see ``--list``). The hand-built STAF specs say how the linear layers and
the activation start and how fast each parameter kind learns; the ``registry`` specs build a network of
:func:`staf_nerfstudio.networks.build_model` from the image task's settings with some of them changed (the baselines
at their papers' and reference codes' settings: see ``BASELINES``); the ``hybrid`` specs put a STAF first layer on a
SIREN or FINER trunk. ``--workers N`` runs N processes side by side, appending to one file (a GPU is launch-bound
at this size); ``--select SCREEN.jsonl --top FAMILY=K`` runs the K best variants of each family of an earlier screen
(mean rank over its images), so a screen and its confirmation can run unattended as one job.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Dict, List, Optional

import torch
from torch import nn

from staf_nerfstudio import StafActivation, StafMLP
from staf_nerfstudio.initializers import siren_uniform_
from staf_nerfstudio.networks import build_model
from staf_nerfstudio.settings import ModelsConfig
from staf_tasks.errors import StafWarning
from staf_tasks.tasks.image import ImageFitConfig, ImageTask

# A spec: model ("staf" or a baseline name), and for STAF:
#   omega1/omega: first/hidden omega, tau, skip
#   linear: "torch" (authors) or "siren" (SIREN's weights; head too)
#   act: "authors" (random draws) or "siren" (term 0 = sin(omega z), extra terms amplitude U(-eps, eps))
#   extra_freq: "uniform" (U(0, omega)), "harmonic" (k * omega / tau... see below), "wide" (U(0, 2 omega))
#   eps: extra-term amplitude range; lr_a / lr_w / lr_p: lr multipliers of amplitudes / frequencies / phases
#   bias1: first-layer bias range (FINER's knob; 0 keeps torch's)
#   eps1 / freq1: the first layer's own extra-term amplitude range / frequency kind ("wideK": U(0, K omega))
#   gain: multiplies every linear weight but the read-out's after init (Yeom et al.'s weight scaling)
BASE = dict(model="staf", omega1=30.0, omega=30.0, tau=5, skip=False, linear="siren", act="siren",
            extra_freq="uniform", eps=0.01, lr_a=1.0, lr_w=1.0, lr_p=1.0, bias1=0.0, gain=1.0)
PAPER = dict(BASE, omega1=60.0, omega=30.0, skip=True, linear="torch", act="authors")


def v(**kw) -> dict:
    return dict(BASE, **kw)


VARIANTS: Dict[str, dict] = {
    "siren": dict(model="siren"),
    "finer": dict(model="finer"),
    "staf-paper": PAPER,
    "staf-paper-actlr10": dict(PAPER, lr_a=10.0, lr_w=10.0, lr_p=10.0),
    "staf-siren": v(),
    "staf-siren-eps0": v(eps=0.0),
    "staf-siren-eps0.1": v(eps=0.1),
    "staf-siren-actlr0.1": v(lr_a=0.1, lr_w=0.1, lr_p=0.1),
    "staf-siren-actlr10": v(lr_a=10.0, lr_w=10.0, lr_p=10.0),
    "staf-siren-wlr30": v(lr_w=30.0),
    "staf-siren-wlr30-actlr10": v(lr_a=10.0, lr_w=300.0, lr_p=10.0),
    "staf-siren-harm": v(extra_freq="harmonic"),
    "staf-siren-harm-eps0.1": v(extra_freq="harmonic", eps=0.1),
    "staf-siren-wide": v(extra_freq="wide"),
    "staf-siren-skip": v(skip=True),
    "staf-siren-bias1": v(bias1=5.0 / 30.0),
    "staf-siren-tau1": v(tau=1),
    "staf-authorsact-sirenlin": v(act="authors"),
    "staf-authorsact-sirenlin-actlr0.1": v(act="authors", lr_a=0.1, lr_w=0.1, lr_p=0.1),
    # SIREN written as a STAF network (tau 1, frozen activation): the control for tricks that SIREN could use too
    "siren-as-staf": v(tau=1, lr_a=0.0, lr_w=0.0, lr_p=0.0),
    "siren-as-staf-gain2": v(tau=1, lr_a=0.0, lr_w=0.0, lr_p=0.0, gain=2.0),
    "staf-siren-gain2": v(gain=2.0),
    "staf-siren-o60": v(omega1=60.0),
    "siren-as-staf-o60": v(tau=1, lr_a=0.0, lr_w=0.0, lr_p=0.0, omega1=60.0),
    "siren-as-staf-o60-gain2": v(tau=1, lr_a=0.0, lr_w=0.0, lr_p=0.0, omega1=60.0, gain=2.0),
    "staf-siren-harm-eps0.3": v(extra_freq="harmonic", eps=0.3),
    "staf-siren-harm-eps0.1-o60": v(extra_freq="harmonic", eps=0.1, omega1=60.0),
    "staf-siren-harm-eps0.1-gain2": v(extra_freq="harmonic", eps=0.1, gain=2.0),
    "staf-siren-harm-eps0.1-o60-gain2": v(extra_freq="harmonic", eps=0.1, omega1=60.0, gain=2.0),
    "h-o60-first0.3": v(extra_freq="harmonic", eps=0.1, omega1=60.0, eps1=0.3),
    "h-o60-first1": v(extra_freq="harmonic", eps=0.1, omega1=60.0, eps1=1.0),
    "h-o60-first0.3-wide4": v(extra_freq="harmonic", eps=0.1, omega1=60.0, eps1=0.3, freq1="wide4"),
    "h-first0.5-wide10": v(extra_freq="harmonic", eps=0.1, eps1=0.5, freq1="wide10"),
    "h-o60-tau10": v(extra_freq="harmonic", eps=0.1, omega1=60.0, tau=10),
    "siren-as-staf-o90": v(tau=1, lr_a=0.0, lr_w=0.0, lr_p=0.0, omega1=90.0),
    "h-o90": v(extra_freq="harmonic", eps=0.1, omega1=90.0),
    # The library's init="siren" (StafMLP itself, default harmonic amplitudes 0.3 first / 0.1 hidden), omega 60/30:
    # the same construction as "h-o60-first0.3", built by the code users get.
    "staf-init-siren": dict(model="staf-lib", init="siren", omega1=60.0, omega=30.0),
}


def reg(net: str, lr: float = 1e-3, family: Optional[str] = None, **settings) -> dict:
    """A registry network with the image task's settings, ``settings`` changed (e.g. ``weight_scale=2.0``)."""
    return dict(model="registry", net=net, settings=settings, lr=lr, family=family or net)


def hybrid(trunk: str, lr: float = 1e-3, first: Optional[dict] = None, **trunk_settings) -> dict:
    """A STAF first layer (the image task's STAF settings, ``first`` changed) on a SIREN or FINER trunk."""
    return dict(model="hybrid", trunk=trunk, first=first or {}, settings=trunk_settings, lr=lr, family="staf")


# The baselines as their papers and reference codes set them for images, and the neighbours a screen tries. Sources:
# SIREN (Sitzmann et al. 2020; reference code): omega 30 in every layer, and a larger first omega for images with
#   more detail; lr 1e-4 in the reference image notebook.
# Weight scaling (Yeom, Lee, Lee, ICLR 2025, arXiv 2410.04779): every weight but the read-out's times a factor.
# FINER (Liu et al., CVPR 2024; reference code): omega 30/30, first-layer bias U(-k, k), lr 5e-4 in its image
#   script; SL2A-INR's protocol (Heidari et al., reference code train.py) trains it at lr 1e-4 with k = 20.
# WIRE (Saragadam et al., CVPR 2023; reference code wire_image_denoise.py): "omega0=20, sigma0=30 for image
#   representation", lr 5e-3 to 2e-2 for whole-image batches (their lr is scaled by batch / pixels).
# Gauss (Ramasinghe & Lucey, ECCV 2022; WIRE's and SL2A-INR's baselines): sigma 10 (WIRE's code), 30 at lr 1e-4
#   (SL2A-INR).
# ReLU + Fourier features (Tancik et al., NeurIPS 2020): 256 Gaussian frequencies of scale 10 for coordinates in
#   [0, 1], which is 5 for this project's [-1, 1] coordinates; lr 1e-3 (1e-4 in their demo notebook).
BASELINES: Dict[str, dict] = {
    "siren": reg("siren"),
    "siren-lr1e-4": reg("siren", lr=1e-4),
    "siren-o60": reg("siren", first_omega=60.0),
    "siren-o90": reg("siren", first_omega=90.0),
    "siren-o120": reg("siren", first_omega=120.0),
    "siren-ws1.5": reg("siren", weight_scale=1.5),
    "siren-ws2": reg("siren", weight_scale=2.0),
    "siren-ws2.5": reg("siren", weight_scale=2.5),
    "siren-ws3": reg("siren", weight_scale=3.0),
    "siren-ws2-o60": reg("siren", weight_scale=2.0, first_omega=60.0),
    "siren-ws2-lr5e-4": reg("siren", lr=5e-4, weight_scale=2.0),
    # the SIREN twin of the default STAF with weight scaling 1.5 (SIREN's init at omega 60/30, weights x1.5)
    "siren-ws1.5-o60": reg("siren", weight_scale=1.5, first_omega=60.0),
    "finer-staf": reg("finer"),  # the STAF authors' FINER: lr 1e-3, k 5
    "finer-sl2a": reg("finer", lr=1e-4, first_bias_scale=20.0),
    "finer-lr5e-4-k20": reg("finer", lr=5e-4, first_bias_scale=20.0),
    "finer-lr5e-4-k1": reg("finer", lr=5e-4, first_bias_scale=1.0),
    "finer-lr3e-4-k20": reg("finer", lr=3e-4, first_bias_scale=20.0),
    "finer-lr1e-4-k5": reg("finer", lr=1e-4, first_bias_scale=5.0),
    "finer-ws2-lr1e-4-k20": reg("finer", lr=1e-4, first_bias_scale=20.0, weight_scale=2.0),
    "finer-ws2-lr5e-4-k20": reg("finer", lr=5e-4, first_bias_scale=20.0, weight_scale=2.0),
    "finer-ws1.5-lr1e-4-k20": reg("finer", lr=1e-4, first_bias_scale=20.0, weight_scale=1.5),
    "wire-o20-s10": reg("wire", omega=20.0, sigma=10.0),
    "wire-o20-s30": reg("wire", omega=20.0, sigma=30.0),
    "wire-o20-s10-lr5e-3": reg("wire", lr=5e-3, omega=20.0, sigma=10.0),
    "gauss-s10": reg("gauss", sigma=10.0),
    "gauss-s30-lr1e-4": reg("gauss", lr=1e-4, sigma=30.0),
    "gauss-s10-lr1e-4": reg("gauss", lr=1e-4, sigma=10.0),
    "relupe-s5": reg("relu-pe", sigma=5.0),
    "relupe-s10": reg("relu-pe", sigma=10.0),
    "relupe-s20": reg("relu-pe", sigma=20.0),
    "relupe-s5-lr1e-4": reg("relu-pe", lr=1e-4, sigma=5.0),
}

# STAF candidates (the image task's default STAF, omega 60/30, harmonics 0.3 first / 0.1 hidden, unless changed).
# act_lr multiplies the activation parameters' learning rate; act_warmup ramps it from 0 over that fraction of the
# steps; first_bias draws the first layer's biases from U(-k, k) after the build.
STAF_CANDIDATES: Dict[str, dict] = {
    "staf-default": reg("staf"),
    "staf-authors": reg("staf", init="official", skip=True),  # the authors' image setting, through the registry
    "staf-o90": reg("staf", first_omega=90.0),
    "staf-ws2": reg("staf", weight_scale=2.0),
    "staf-ws2-o30": reg("staf", weight_scale=2.0, first_omega=30.0),
    "staf-ws2-o30-actlr0.1": dict(reg("staf", weight_scale=2.0, first_omega=30.0), act_lr=0.1),
    "staf-ws2-o30-actwarm": dict(reg("staf", weight_scale=2.0, first_omega=30.0), act_warmup=0.2),
    "staf-ws1.5": reg("staf", weight_scale=1.5),
    "staf-ws2-o30-first1": reg("staf", weight_scale=2.0, first_omega=30.0, first_extra_amplitude=1.0),
    "staf-exact-actwarm": dict(reg("staf", extra_amplitude=0.0, first_extra_amplitude=0.0), act_warmup=0.2),
    "staf-ws2-o30-exact-actwarm": dict(reg("staf", weight_scale=2.0, first_omega=30.0, extra_amplitude=0.0,
                                           first_extra_amplitude=0.0), act_warmup=0.2),
    "staf-bias1": dict(reg("staf"), first_bias=1.0),
    "staf1-on-finer-sl2a": hybrid("finer", lr=1e-4, first_bias_scale=20.0),
    "staf1-on-finer-lr5e-4": hybrid("finer", lr=5e-4, first_bias_scale=20.0),
    "staf1-on-siren-ws2": hybrid("siren", weight_scale=2.0),
    "staf1-ws2-on-siren-ws2": hybrid("siren", first={"weight_scale": 2.0, "first_omega": 30.0}, weight_scale=2.0),
}
VARIANTS.update(BASELINES)
VARIANTS.update(STAF_CANDIDATES)


def family(spec: dict) -> str:
    """The family a variant competes in: its network's name (``staf`` for the STAF specs and hybrids)."""
    if "family" in spec:
        return spec["family"]
    return "staf" if spec["model"] in ("staf", "staf-lib") else spec["model"]


def image_models() -> ModelsConfig:
    """The image task's per-model settings (STAF omega 60/30 with its harmonics; the baselines' defaults)."""
    return ImageFitConfig().models


def build_registry(spec: dict, out_f: int) -> nn.Module:
    models = image_models()
    settings = models.settings(spec["net"])
    for key, value in spec["settings"].items():
        if not hasattr(settings, key):
            raise ValueError(f"{spec['net']} has no setting {key!r}")
        setattr(settings, key, value)
    net = build_model(spec["net"], 2, out_f, 256, 3, models)
    if spec.get("first_bias"):
        with torch.no_grad():
            net.layers[0].linear.bias.uniform_(-spec["first_bias"], spec["first_bias"])
    return net


def build_hybrid(spec: dict, out_f: int) -> nn.Module:
    trunk = build_registry(dict(net=spec["trunk"], settings=spec["settings"]), out_f)
    first = build_registry(dict(net="staf", settings=spec["first"]), out_f)
    trunk.layers[0] = first.layers[0]
    return trunk


def _extra_frequencies(kind: str, omega: float, n: int, gen: torch.Generator) -> torch.Tensor:
    if kind == "uniform":
        return omega * torch.rand(n, generator=gen, dtype=torch.float64)
    if kind == "wide":
        return 2.0 * omega * torch.rand(n, generator=gen, dtype=torch.float64)
    if kind.startswith("wide") and kind[4:]:  # "wideK": U(0, K omega)
        return float(kind[4:]) * omega * torch.rand(n, generator=gen, dtype=torch.float64)
    if kind == "harmonic":  # 2 omega, 3 omega, ... : sums of harmonics of the SIREN sine
        return omega * torch.arange(2, n + 2, dtype=torch.float64)
    raise ValueError(kind)


@torch.no_grad()
def build_staf(spec: dict, in_f: int, out_f: int, width: int, depth: int, gen: torch.Generator) -> StafMLP:
    net = StafMLP(in_f, width, depth, out_f, tau=spec["tau"], first_omega=spec["omega1"], hidden_omega=spec["omega"],
                  skip=spec["skip"])
    for index, block in enumerate(net.layers):
        omega = spec["omega1"] if index == 0 else spec["omega"]
        if spec["linear"] == "siren":
            # SIREN's sin(omega (W x + b)) written as sin(omega z): W at SIREN's scale, omega in the activation.
            siren_uniform_(block.linear.weight, omega, is_first=index == 0)
        block.linear.weight.mul_(spec.get("gain", 1.0))
        if index == 0 and spec["bias1"] > 0:
            block.linear.bias.uniform_(-spec["bias1"], spec["bias1"])
        act = block.activation
        if spec["act"] == "siren":
            tau = act.amplitudes.shape[-1]
            a = torch.zeros(tau, dtype=torch.float64)
            w = torch.zeros(tau, dtype=torch.float64)
            p = torch.zeros(tau, dtype=torch.float64)
            a[0], w[0], p[0] = 1.0, omega, 0.0
            if tau > 1:
                eps = spec.get("eps1", spec["eps"]) if index == 0 else spec["eps"]
                kind = spec.get("freq1", spec["extra_freq"]) if index == 0 else spec["extra_freq"]
                a[1:] = eps * (2 * torch.rand(tau - 1, generator=gen, dtype=torch.float64) - 1)
                w[1:] = _extra_frequencies(kind, omega, tau - 1, gen)
                p[1:] = math.pi * (2 * torch.rand(tau - 1, generator=gen, dtype=torch.float64) - 1)
            act.amplitudes.copy_(a)
            act.frequencies.copy_(w)
            act.phases.copy_(p)
    if spec["linear"] == "siren":
        siren_uniform_(net.head.weight, spec["omega"], is_first=False)
    return net


def param_groups(net: nn.Module, spec: dict, lr: float) -> List[dict]:
    """One group for the linear layers, one per STAF activation parameter kind (amplitudes, frequencies, phases)."""
    acts = [m for m in net.modules() if isinstance(m, StafActivation)]
    if not acts:
        return [{"params": list(net.parameters()), "lr": lr}]
    scale = spec.get("act_lr", 1.0)
    spec = {"lr_a": scale, "lr_w": scale, "lr_p": scale, **spec}
    act_ids = {id(p) for act in acts for p in act.parameters()}
    out = [{"params": [p for p in net.parameters() if id(p) not in act_ids], "lr": lr}]
    names = {"a": "amplitudes", "w": "frequencies", "p": "phases"}
    for k in "awp":
        out.append({"params": [getattr(act, names[k]) for act in acts], "lr": lr * spec[f"lr_{k}"], "act": True})
    return out


def command_line(name: str, image: str, size: int, epochs: int, seed: int, device: str) -> str:
    """The command that reruns exactly this run (into ``outputs/``)."""
    return (f"python benchmarks/staf_search.py --out outputs/search.jsonl --variants {name} --images {image} "
            f"--size {size} --epochs {epochs} --seeds {seed} --device {device}")


def run_one(name: str, image: str, size: int, epochs: int, seed: int, evals: int = 8, device: str = "cpu") -> dict:
    spec = VARIANTS[name]
    task = ImageTask()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StafWarning)  # --size stretches the non-square pictures, as in every run here
        prepared = task.prepare(ImageFitConfig(data=image, size=(size, size)))
    problem = prepared.problem
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1000)
    if spec["model"] == "staf":
        net = build_staf(spec, 2, prepared.out_features, 256, 3, gen)
    elif spec["model"] == "staf-lib":
        net = StafMLP(2, 256, 3, prepared.out_features, first_omega=spec["omega1"], hidden_omega=spec["omega"],
                      init=spec["init"])
    elif spec["model"] == "registry":
        net = build_registry(spec, prepared.out_features)
    elif spec["model"] == "hybrid":
        net = build_hybrid(spec, prepared.out_features)
    else:
        net = build_model(spec["model"], 2, prepared.out_features, 256, 3, ModelsConfig())
    n_params = sum(p.numel() * (2 if p.is_complex() else 1) for p in net.parameters())
    net = net.to(device)
    coords, values = problem.train_coords.to(device), problem.train_values.to(device)
    n = coords.shape[0]
    batch = min(4096, n)
    steps_per_epoch = math.ceil(n / batch)
    total = epochs * steps_per_epoch
    groups = param_groups(net, spec, spec.get("lr", 1e-3))
    opt = torch.optim.Adam(groups)
    warm = spec.get("act_warmup", 0.0) * total

    def decay(s: int) -> float:
        return 0.05 ** min(s / total, 1.0)

    def act_decay(s: int) -> float:
        return decay(s) * (min(1.0, s / warm) if warm > 0 else 1.0)

    sched = torch.optim.lr_scheduler.LambdaLR(opt, [act_decay if g.get("act") else decay for g in groups])
    order_gen = torch.Generator().manual_seed(seed)
    eval_epochs = sorted({max(1, round(epochs * k / evals)) for k in range(1, evals + 1)})
    curve = []
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        order = torch.randperm(n, generator=order_gen).to(device)
        for i in range(steps_per_epoch):
            idx = order[i * batch:(i + 1) * batch]
            loss = torch.mean((net(coords[idx]) - values[idx]) ** 2)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        if not math.isfinite(loss.item()):
            curve.append({"step": epoch * steps_per_epoch, "psnr": float("nan")})
            break
        if epoch in eval_epochs:
            with torch.no_grad():
                pred = torch.cat([net(coords[j:j + 65536]) for j in range(0, n, 65536)])
            curve.append({"step": epoch * steps_per_epoch, "psnr": problem.evaluate(pred.cpu())["psnr"]})
    return {"variant": name, "image": image, "size": size, "epochs": epochs, "seed": seed, "params": n_params,
            "final": curve[-1]["psnr"], "curve": curve, "wall_s": time.perf_counter() - t0, "spec": spec,
            "family": family(spec), "device": device, "torch": torch.__version__,
            "command": command_line(name, image, size, epochs, seed, device)}


def plot(results: List[dict], path: Path, epochs: int) -> None:
    """PSNR against step, one panel per image, one line per variant (seed 0, the given budget)."""
    from staf_nerfstudio.plotting import pyplot, save_figure

    plt = pyplot()
    rows = [r for r in results if r["epochs"] == epochs and r["seed"] == 0]
    images = sorted({r["image"] for r in rows})
    names = sorted({r["variant"] for r in rows})
    colors = {name: plt.get_cmap("tab10")(i % 10) for i, name in enumerate(names)}  # one colour per variant
    fig, axes = plt.subplots(1, len(images), figsize=(4.6 * len(images), 3.6), squeeze=False)
    for ax, image in zip(axes[0], images):
        for r in sorted((r for r in rows if r["image"] == image), key=lambda r: -r["final"]):
            ax.plot([c["step"] for c in r["curve"]], [c["psnr"] for c in r["curve"]], marker=".",
                    color=colors[r["variant"]], label=f"{r['variant']} {r['final']:.1f}")
        ax.set_title(f"{image} {rows[0]['size']}x{rows[0]['size']}, {epochs} epochs")
        ax.set_xlabel("step")
        ax.set_ylabel("clean PSNR (dB)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    save_figure(fig, path)


def table(results: List[dict], epochs: int) -> str:
    """Markdown: final clean PSNR per variant (rows) and image (columns), mean +- std over the seeds run."""
    rows = [r for r in results if r["epochs"] == epochs]
    images = sorted({r["image"] for r in rows})
    finals: Dict[tuple, List[float]] = {}
    for r in rows:
        finals.setdefault((r["variant"], r["image"]), []).append(r["final"])
    order = sorted({r["variant"] for r in rows}, key=lambda v: -sum(max(finals.get((v, i), [0])) for i in images))
    lines = ["| variant | params | " + " | ".join(images) + " |", "|---|---|" + "---|" * len(images)]
    params = {r["variant"]: r["params"] for r in rows}
    for name in order:
        cells = []
        for image in images:
            vals = torch.tensor(finals.get((name, image), []), dtype=torch.float64)
            if len(vals) == 0:
                cells.append("")
            elif len(vals) == 1:
                cells.append(f"{vals[0]:.2f} (1 seed)")
            else:
                cells.append(f"{vals.mean():.2f} +- {vals.std():.2f} ({len(vals)} seeds)")
        lines.append(f"| {name} | {params[name]:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def select_variants(results: List[dict], top: Dict[str, int]) -> List[str]:
    """The ``top[family]`` best variants of each family in ``results`` by mean rank over the images (seed 0; only the
    variants run on every image of the screen compete; a diverged run ranks last)."""
    rows = [r for r in results if r["seed"] == 0]
    images = sorted({r["image"] for r in rows})
    final = {(r["variant"], r["image"]): r["final"] if math.isfinite(r["final"]) else -1e9 for r in rows}
    fams = {r["variant"]: r.get("family") or family(r["spec"]) for r in rows}
    chosen: List[str] = []
    for fam, k in top.items():
        names = sorted(v for v in fams if fams[v] == fam and all((v, i) in final for i in images))
        ranks = {v: 0.0 for v in names}
        for image in images:
            for rank, v in enumerate(sorted(names, key=lambda v: -final[(v, image)])):
                ranks[v] += rank / len(images)
        chosen += sorted(names, key=lambda v: ranks[v])[:k]
    return chosen


def run_jobs(jobs: List[tuple], out: Path, device: str) -> None:
    """Runs ``(variant, image, size, epochs, seed)`` jobs in this process, appending each result to ``out``."""
    for name, image, size, epochs, seed in jobs:
        r = run_one(name, image, size, epochs, seed, device=device)
        with out.open("a") as f:
            f.write(json.dumps(r) + "\n")  # one write: workers share the file
        pts = " ".join(f"{c['psnr']:.2f}" for c in r["curve"])
        print(f"{name:34s} {image:10s} {size} ep{epochs} s{seed} final {r['final']:.2f} "
              f"[{pts}] {r['wall_s']:.0f}s", flush=True)


def run_in_workers(jobs: List[tuple], out: Path, device: str, workers: int, threads: int) -> None:
    """Splits the jobs round-robin over ``workers`` processes; each appends its finished runs to ``out`` (one line per
    write, so a killed job keeps every finished run)."""
    procs = []
    for k in range(workers):
        part = jobs[k::workers]
        if part:
            cmd = [sys.executable, __file__, "--out", str(out), "--device", device, "--threads", str(threads),
                   "--jobs-json", json.dumps(part)]
            procs.append(subprocess.Popen(cmd, env=dict(os.environ, PYTHONUNBUFFERED="1")))
    failed = sum(p.wait() != 0 for p in procs)
    if failed:
        raise SystemExit(f"{failed} of {len(procs)} workers failed; their finished runs are in {out}")


def family_table(results: List[dict], size: int, epochs: int, seed: int) -> str:
    """Markdown: final clean PSNR per variant (rows, grouped by family, best mean rank first) and image (columns),
    for one size, budget and seed; the mean rank is over every variant of the table."""
    rows = [r for r in results if (r["size"], r["epochs"], r["seed"]) == (size, epochs, seed)]
    images = [i for i in ("astronaut", "camera", "coffee", "chelsea", "rocket") if any(r["image"] == i for r in rows)]
    images += sorted({r["image"] for r in rows} - set(images))
    final = {(r["variant"], r["image"]): r["final"] for r in rows}
    info = {r["variant"]: (r.get("family") or family(r["spec"]), r["params"]) for r in rows}
    names = [v for v in info if all((v, i) in final for i in images)]
    rank = {v: 0.0 for v in names}
    for image in images:
        key = {v: final[(v, image)] if math.isfinite(final[(v, image)]) else -1e9 for v in names}
        for k, v in enumerate(sorted(names, key=lambda v: -key[v])):
            rank[v] += (k + 1) / len(images)
    order = ["staf", "siren", "finer", "wire", "gauss", "relu-pe"]
    names.sort(key=lambda v: (order.index(info[v][0]) if info[v][0] in order else 99, rank[v]))
    lines = [f"| family | variant | params | {' | '.join(images)} | mean rank |", "|---|---|---|" + "---|" * len(images)
             + "---|"]
    for v in names:
        cells = " | ".join(f"{final[(v, i)]:.2f}" for i in images)
        lines.append(f"| {info[v][0]} | {v} | {info[v][1]:,} | {cells} | {rank[v]:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("outputs/staf_search.jsonl"))
    parser.add_argument("--variants", nargs="+", help="default: siren staf-paper staf-siren (none with --select)")
    parser.add_argument("--images", nargs="+", default=["astronaut", "camera", "coffee"])
    parser.add_argument("--size", type=int, nargs="+", default=[256])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--workers", type=int, default=1, help="processes side by side (each with --threads)")
    parser.add_argument("--select", type=Path, help="take the variants from this screen's results (see --top)")
    parser.add_argument("--top", nargs="+", default=[], metavar="FAMILY=K",
                        help="with --select: the K best variants of each family (e.g. siren=2 finer=1 staf=3)")
    parser.add_argument("--jobs-json", help=argparse.SUPPRESS)  # a worker's share of the runs
    parser.add_argument("--list", action="store_true", help="print the variants and exit")
    parser.add_argument("--plot", type=Path, help="only plot the --out results of --epochs (seed 0) to this PNG")
    parser.add_argument("--table", action="store_true", help="only print the --out results of --epochs as a table")
    parser.add_argument("--family-table", action="store_true",
                        help="only print the --out results of --size, --epochs and --seeds, grouped by family")
    args = parser.parse_args()
    if args.list:
        for name, spec in VARIANTS.items():
            print(name, family(spec), json.dumps(spec))
        return
    if args.table:
        print(table([json.loads(line) for line in args.out.read_text().splitlines()], args.epochs))
        return
    if args.family_table:
        results = [json.loads(line) for line in args.out.read_text().splitlines()]
        print(family_table(results, args.size[0], args.epochs, args.seeds[0]))
        return
    if args.plot:
        plot([json.loads(line) for line in args.out.read_text().splitlines()], args.plot, args.epochs)
        return
    torch.set_num_threads(args.threads)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.jobs_json:
        run_jobs([tuple(job) for job in json.loads(args.jobs_json)], args.out, args.device)
        return
    variants = args.variants or ([] if args.select else ["siren", "staf-paper", "staf-siren"])
    if args.select:
        top = {}
        for item in args.top:
            fam, _, k = item.partition("=")
            if not k.isdigit():
                parser.error(f"--top takes FAMILY=K, got {item!r}")
            top[fam] = int(k)
        screen = [json.loads(line) for line in args.select.read_text().splitlines()]
        variants = list(dict.fromkeys(select_variants(screen, top) + variants))  # --variants: always run these too
        print("selected:", " ".join(variants), flush=True)
    unknown = [name for name in variants if name not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants {unknown}; see --list")
    done = set()
    if args.out.exists():
        for line in args.out.read_text().splitlines():
            r = json.loads(line)
            done.add((r["variant"], r["image"], r["size"], r["epochs"], r["seed"]))
    jobs = [(name, image, size, args.epochs, seed) for seed in args.seeds for size in args.size
            for image in args.images for name in variants if (name, image, size, args.epochs, seed) not in done]
    if args.workers > 1:
        run_in_workers(jobs, args.out, args.device, args.workers, args.threads)
    else:
        run_jobs(jobs, args.out, args.device)


if __name__ == "__main__":
    main()
