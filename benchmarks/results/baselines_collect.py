"""Collects the confirmation queue's runs (``baselines_confirm.sh``): final clean PSNR per setting, image and seed.

    python benchmarks/results/baselines_collect.py [OUT=outputs/baselines_confirm]

Prints a Markdown table (rows: settings; columns: images; cells: PSNR per seed) and, for each seed, on how many
images the STAF candidate beats the strongest baseline. Runs still in progress (no metrics.json) are listed as such.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Dict, Tuple

IMAGES = ("astronaut", "camera", "coffee", "chelsea", "rocket")


def collect(out: Path) -> Tuple[Dict[Tuple[str, str, int], float], list]:
    finals, pending = {}, []
    for run in sorted(p for p in out.iterdir() if p.is_dir()):
        name, _, seed = run.name.rpartition("-s")
        setting, _, image = name.rpartition("-")
        metrics = run / "metrics.json"
        if metrics.exists():
            finals[(setting, image, int(seed))] = json.loads(metrics.read_text())["final"]["psnr"]
        else:
            pending.append(run.name)
    return finals, pending


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "outputs/baselines_confirm")
    finals, pending = collect(out)
    settings = sorted({k[0] for k in finals})
    seeds = sorted({k[2] for k in finals})
    print("| setting | " + " | ".join(IMAGES) + " |")
    print("|---|" + "---|" * len(IMAGES))
    for setting in settings:
        cells = [" / ".join(f"{finals[(setting, i, s)]:.2f}" for s in seeds if (setting, i, s) in finals)
                 for i in IMAGES]
        print(f"| {setting} | " + " | ".join(cells) + " |")
    for seed in seeds:
        pairs = [(finals.get(("staf-ws1.5", i, seed)), finals.get(("siren-ws2", i, seed))) for i in IMAGES]
        done = [(a, b) for a, b in pairs if a is not None and b is not None]
        wins = sum(a > b for a, b in done)
        print(f"\nseed {seed}: staf-ws1.5 above siren-ws2 on {wins} of {len(done)} images")
    if pending:
        print("\nin progress: " + ", ".join(pending))


if __name__ == "__main__":
    main()
