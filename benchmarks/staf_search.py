"""Screening search over STAF initializations and activation learning schemes (issue: STAF that beats its baselines).

Each run fits one image with the authors' image schedule (Adam, lr decayed by ``b^(t/T)``, 4096-pixel minibatches)
and records the clean full-image PSNR at a few steps. One JSON line per (variant, image, size, epochs, seed) is
appended to ``--out``; runs already there are skipped, so a killed search resumes where it stopped.

    python benchmarks/staf_search.py --out outputs/search.jsonl --variants siren staf-paper staf-siren \
        --images astronaut camera coffee --size 256 --epochs 20 --seeds 0

Variants are named specs in ``VARIANTS`` (see ``--list``). Each spec says how the linear layers and the activation
start and how fast each parameter kind learns.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Dict, List

import torch
from torch import nn

from staf_nerfstudio import StafMLP
from staf_nerfstudio.initializers import siren_uniform_
from staf_nerfstudio.networks import build_model
from staf_nerfstudio.settings import ModelsConfig
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
    if not isinstance(net, StafMLP):
        return [{"params": list(net.parameters()), "lr": lr}]
    spec = {"lr_a": 1.0, "lr_w": 1.0, "lr_p": 1.0, **spec}
    groups = {"a": [], "w": [], "p": []}
    for act in net.activations():
        groups["a"].append(act.amplitudes)
        groups["w"].append(act.frequencies)
        groups["p"].append(act.phases)
    out = [{"params": list(net.linear_parameters()), "lr": lr}]
    out += [{"params": groups[k], "lr": lr * spec[f"lr_{k}"]} for k in "awp"]
    return out


def run_one(name: str, image: str, size: int, epochs: int, seed: int, evals: int = 8) -> dict:
    spec = VARIANTS[name]
    task = ImageTask()
    prepared = task.prepare(ImageFitConfig(data=image, size=(size, size)))
    problem = prepared.problem
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1000)
    if spec["model"] == "staf":
        net = build_staf(spec, 2, prepared.out_features, 256, 3, gen)
    elif spec["model"] == "staf-lib":
        net = StafMLP(2, 256, 3, prepared.out_features, first_omega=spec["omega1"], hidden_omega=spec["omega"],
                      init=spec["init"])
    else:
        net = build_model(spec["model"], 2, prepared.out_features, 256, 3, ModelsConfig())
    n_params = sum(p.numel() for p in net.parameters())
    coords, values = problem.train_coords, problem.train_values
    n = coords.shape[0]
    batch = min(4096, n)
    steps_per_epoch = math.ceil(n / batch)
    total = epochs * steps_per_epoch
    opt = torch.optim.Adam(param_groups(net, spec, 1e-3))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.05 ** min(s / total, 1.0))
    order_gen = torch.Generator().manual_seed(seed)
    eval_epochs = sorted({max(1, round(epochs * k / evals)) for k in range(1, evals + 1)})
    curve = []
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        order = torch.randperm(n, generator=order_gen)
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
            curve.append({"step": epoch * steps_per_epoch, "psnr": problem.evaluate(pred)["psnr"]})
    return {"variant": name, "image": image, "size": size, "epochs": epochs, "seed": seed, "params": n_params,
            "final": curve[-1]["psnr"], "curve": curve, "wall_s": time.perf_counter() - t0, "spec": spec}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("outputs/staf_search.jsonl"))
    parser.add_argument("--variants", nargs="+", default=["siren", "staf-paper", "staf-siren"])
    parser.add_argument("--images", nargs="+", default=["astronaut", "camera", "coffee"])
    parser.add_argument("--size", type=int, nargs="+", default=[256])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--list", action="store_true", help="print the variants and exit")
    parser.add_argument("--plot", type=Path, help="only plot the --out results of --epochs (seed 0) to this PNG")
    parser.add_argument("--table", action="store_true", help="only print the --out results of --epochs as a table")
    args = parser.parse_args()
    if args.list:
        for name, spec in VARIANTS.items():
            print(name, json.dumps(spec))
        return
    if args.table:
        print(table([json.loads(line) for line in args.out.read_text().splitlines()], args.epochs))
        return
    if args.plot:
        plot([json.loads(line) for line in args.out.read_text().splitlines()], args.plot, args.epochs)
        return
    unknown = [name for name in args.variants if name not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants {unknown}; see --list")
    torch.set_num_threads(args.threads)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if args.out.exists():
        for line in args.out.read_text().splitlines():
            r = json.loads(line)
            done.add((r["variant"], r["image"], r["size"], r["epochs"], r["seed"]))
    for seed in args.seeds:
        for size in args.size:
            for image in args.images:
                for name in args.variants:
                    key = (name, image, size, args.epochs, seed)
                    if key in done:
                        continue
                    r = run_one(name, image, size, args.epochs, seed)
                    with args.out.open("a") as f:
                        f.write(json.dumps(r) + "\n")
                    pts = " ".join(f"{c['psnr']:.2f}" for c in r["curve"])
                    print(f"{name:34s} {image:10s} {size} ep{args.epochs} s{seed} final {r['final']:.2f} "
                          f"[{pts}] {r['wall_s']:.0f}s", flush=True)


if __name__ == "__main__":
    main()
