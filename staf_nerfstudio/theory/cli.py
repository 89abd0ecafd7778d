"""``staf-theory``: the paper's theory claims as commands (Kronecker equivalence, init statistics, NTK spectrum).

    staf-theory kronecker --tau 5 --skip          # build the equivalent sine network, check it, count parameters
    staf-theory init-stats --tau 5                 # per-layer post-activation statistics + histograms
    staf-theory ntk --resolution 64                # NTK spectra and eigenfunctions of STAF, SIREN and ReLU+PE
"""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Tuple, Union

import numpy as np
import torch
import tyro
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from typing_extensions import Annotated

from staf_nerfstudio.activation import LAPLACE_INITS
from staf_nerfstudio.coords import grid_coords
from staf_nerfstudio.io import atomic_path, to_plain, write_json
from staf_nerfstudio.mlp import StafMLP
from staf_nerfstudio.settings import MODEL_NAMES, ModelsConfig, StafSettings

CONSOLE = Console()


def grid_inputs(resolution: int, dims: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Cell-centre points of a regular grid on ``[-1, 1]^dims``: ``(resolution ** dims, dims)``, row-major."""
    if dims not in (1, 2):
        raise ValueError(f"dims must be 1 or 2, got {dims}")
    if resolution < 2:
        raise ValueError(f"resolution must be >= 2, got {resolution}")
    if dims == 1:
        return ((torch.arange(resolution, dtype=dtype) + 0.5) / resolution * 2 - 1)[:, None]
    return grid_coords(resolution, resolution).to(dtype)


@dataclass
class KroneckerConfig:
    """Convert a freshly initialized STAF network into its Kronecker-equivalent sine network and check it."""

    output_dir: Path = Path("outputs/theory/kronecker")
    """Folder for kronecker.json."""
    in_features: int = 2
    """Input coordinates."""
    hidden_features: int = 256
    """STAF width W."""
    hidden_layers: int = 3
    """W -> W STAF layers after the first."""
    out_features: int = 3
    """Outputs."""
    tau: int = StafSettings.tau
    """Sine terms per activation."""
    sharing: str = StafSettings.sharing
    """"layer", "neuron" or "network"."""
    skip: bool = StafSettings.skip
    """Residual STAF blocks (sigma(z) + z in non-first layers)."""
    num_points: int = 4096
    """Random inputs in [-1, 1]^in_features on which both networks are compared (float64)."""
    seed: int = 0
    """Seed of the network and the inputs."""

    def main(self) -> None:
        from staf_nerfstudio.theory.kronecker import kronecker_report, to_sine_network

        torch.manual_seed(self.seed)
        staf = StafMLP(self.in_features, self.hidden_features, self.hidden_layers, self.out_features, tau=self.tau,
                       sharing=self.sharing, skip=self.skip).double()
        sine = to_sine_network(staf)
        x = torch.rand(self.num_points, self.in_features, dtype=torch.float64) * 2 - 1
        with torch.no_grad():
            ys, yk = staf(x), sine(x)
        rel = ((ys - yk).norm() / ys.norm()).item()
        report = kronecker_report(staf, sine)
        table = Table(title="STAF network and its Kronecker-equivalent sine network")
        table.add_column("")
        table.add_column("STAF", justify="right")
        table.add_column("sine network", justify="right")
        table.add_row("parameters", f"{report.staf_parameters:,}", f"{report.sine_parameters:,}")
        table.add_row("widths", str(report.staf_widths),
                      " ".join(f"{s}+{p}" if p else str(s) for s, p in zip(report.sine_widths,
                                                                           report.passthrough_widths, strict=True)))
        table.add_row("neuron paths", f"{report.staf_paths:.3g}", f"{report.sine_paths:.3g}")
        table.add_row("frequency combinations per path", f"{report.frequency_combinations:,}", "1")
        CONSOLE.print(table)
        CONSOLE.print(f"float64 relative difference of outputs on {self.num_points} random inputs: {rel:.2e}")
        path = write_json(self.output_dir / "kronecker.json",
                          {**report.to_dict(), "relative_difference": rel, "config": to_plain(self)})
        CONSOLE.print(f"wrote {path}")


@dataclass
class InitStatsConfig:
    """Per-layer statistics of post-activations of freshly initialized STAF networks, for both inits."""

    output_dir: Path = Path("outputs/theory/init_stats")
    """Folder for init_stats.json and init_histograms.png."""
    inits: Tuple[str, ...] = LAPLACE_INITS
    """Inits to compare ("official": N(0, 1/4), "unit": N(0, 1))."""
    num_networks: int = 500
    """Independently initialized networks per init. With layer-wise sharing the neurons of a network are dependent,
    so this is the size of the independent sample the normality tests use."""
    resolution: int = 8
    """Grid points per axis of the inputs (values pooled: networks x resolution^dims x width per layer)."""
    dims: int = 2
    """Input dimension (1 or 2); inputs are a regular grid on [-1, 1]^dims."""
    hidden_features: int = 256
    """Width."""
    hidden_layers: int = 3
    """W -> W layers after the first."""
    tau: int = StafSettings.tau
    """Sine terms per activation."""
    first_omega: float = StafSettings.first_omega
    """Frequency range of the first activation."""
    hidden_omega: float = StafSettings.hidden_omega
    """Frequency range of the other activations."""
    sharing: str = StafSettings.sharing
    """"layer" (the paper's choice), "neuron" or "network"."""
    skip: bool = StafSettings.skip
    """Residual blocks (statistics are of sigma(z), before z is added back)."""
    seed: int = 0
    """Network k is built under seed + k."""

    def main(self) -> None:
        from staf_nerfstudio.theory.figures import plot_init_histograms
        from staf_nerfstudio.theory.init_stats import init_statistics

        inputs = grid_inputs(self.resolution, self.dims, torch.float32)
        all_stats, all_samples = {}, {}
        for init in self.inits:
            stats, samples = init_statistics(
                inputs, init, self.num_networks, self.hidden_features, self.hidden_layers, self.tau,
                self.first_omega, self.hidden_omega, self.sharing, self.skip, self.seed)
            all_stats[init], all_samples[init] = stats, samples
        table = Table(title=f"Post-activations of fresh STAF networks (tau={self.tau}, sharing={self.sharing})")
        for column in ("init", "layer", "exact var", "mean", "var", "ex. kurt", "n indep", "K2 p", "KS p"):
            table.add_column(column, justify="right")
        for init, stats in all_stats.items():
            for s in stats:
                table.add_row(init, str(s.layer + 1), f"{s.expected_variance:.3f}", f"{s.mean:+.4f}",
                              f"{s.variance:.4f}", f"{s.excess_kurtosis:+.3f}", str(s.independent_samples),
                              f"{s.normaltest_pvalue:.3f}", f"{s.ks_pvalue:.3f}")
        CONSOLE.print(table)
        CONSOLE.print("K2 p: D'Agostino-Pearson normality test; KS p: Kolmogorov-Smirnov against the exact N(0, var); "
                      "both on the independent sample (n indep).")
        out = self.output_dir
        json_path = write_json(out / "init_stats.json", {
            "config": to_plain(self), "layers": {k: [s.to_dict() for s in v] for k, v in all_stats.items()}})
        title = (f"STAF post-activations at init: tau={self.tau}, sharing={self.sharing}, {self.num_networks} networks "
                 f"x {inputs.shape[0]} inputs x {self.hidden_features} neurons per layer")
        fig_path = plot_init_histograms(out / "init_histograms.png", all_samples, all_stats, title=title)
        CONSOLE.print(f"wrote {json_path} and {fig_path}")


@dataclass
class NtkConfig:
    """Empirical NTK spectra and leading eigenfunctions of STAF and baselines of the same width and depth."""

    output_dir: Path = Path("outputs/theory/ntk")
    """Folder for ntk_spectrum.png, ntk_eigenfunctions.png, ntk_eigenvalues.json (all eigenvalues and summaries) and
    ntk_eigenvectors.npz (the grid and each model's leading eigenvectors as columns)."""
    models: Tuple[str, ...] = ("staf", "siren", "relu-pe")
    """Networks to compare: names of the registry (staf_nerfstudio.settings.ModelName); an unknown one is refused
    in one line naming the allowed ones."""
    model_settings: ModelsConfig = field(default_factory=ModelsConfig)
    """Per-model settings (staf_nerfstudio.settings.ModelsConfig)."""
    dims: int = 2
    """Input dimension (1 or 2)."""
    resolution: int = 64
    """Grid points per axis (64 in 2-D = 4096 inputs)."""
    hidden_features: int = 128
    """Width of every model."""
    hidden_layers: int = 2
    """W -> W layers after the first (2 = three hidden layers, a 2-128x3-1 network)."""
    num_eigenfunctions: int = 8
    """Leading eigenvectors drawn per model."""
    float64: bool = True
    """Compute in float64 (the small end of the spectrum is meaningless in float32)."""
    max_jacobian_mib: int = 256
    """Memory budget of one parameter group's Jacobian block, in MiB."""
    staf_omegas: Tuple[float, ...] = ()
    """Extra STAF models with first and hidden omega both set to each value (labelled "staf omega=X"); the other
    STAF settings come from model_settings.staf."""
    seed: int = 0
    """Every model is initialized under this seed."""

    def model_list(self) -> List[Tuple[str, str, ModelsConfig]]:
        """``(label, registry name, settings)`` of every model to analyse."""
        models = [(name, name, self.model_settings) for name in self.models]
        for omega in self.staf_omegas:
            staf = dataclasses.replace(self.model_settings.staf, first_omega=omega, hidden_omega=omega)
            models.append((f"staf omega={omega:g}", "staf", dataclasses.replace(self.model_settings, staf=staf)))
        return models

    def main(self) -> None:
        from staf_nerfstudio.networks import build_model, count_parameters
        from staf_nerfstudio.theory.figures import plot_eigenfunctions, plot_spectra
        from staf_nerfstudio.theory.ntk import empirical_ntk, ntk_spectrum

        unknown = [m for m in self.models if m not in MODEL_NAMES]
        if unknown:
            raise ValueError(f"unknown model(s) {unknown}; allowed: {', '.join(MODEL_NAMES)}")
        dtype = torch.float64 if self.float64 else torch.float32
        inputs = grid_inputs(self.resolution, self.dims, dtype)
        eigenvalues: Dict[str, object] = {}
        eigenvectors: Dict[str, object] = {}
        record: Dict[str, dict] = {}
        start_all = time.perf_counter()
        with Progress(console=CONSOLE, transient=True) as progress:
            for name, registry_name, settings in self.model_list():
                torch.manual_seed(self.seed)
                model = build_model(registry_name, self.dims, 1, self.hidden_features, self.hidden_layers,
                                    settings).to(dtype)
                task = progress.add_task(f"NTK of {name}", total=None)
                start = time.perf_counter()
                kernel = empirical_ntk(model, inputs, self.max_jacobian_mib * 2**20,
                                       progress=lambda done, total, task=task: progress.update(
                                           task, completed=done, total=total))
                spectrum = ntk_spectrum(kernel, self.num_eigenfunctions)
                seconds = time.perf_counter() - start
                progress.remove_task(task)
                eigenvalues[name] = spectrum.eigenvalues.numpy()
                eigenvectors[name] = spectrum.eigenvectors.numpy()
                record[name] = {"parameters": count_parameters(model), "seconds": seconds, **spectrum.summary(),
                                "eigenvalues": spectrum.eigenvalues.tolist()}
                del kernel
        table = Table(title=f"Empirical NTK on a {'x'.join([str(self.resolution)] * self.dims)} grid")
        for column in ("model", "params", "largest", "effective rank", "# > 1e-2 max", "# > 1e-4 max",
                       "# for 99% trace", "seconds"):
            table.add_column(column, justify="right")
        for name, r in record.items():
            table.add_row(name, f"{r['parameters']:,}", f"{r['largest']:.3g}", f"{r['effective_rank']:.1f}",
                          str(r["count_above_0.01_of_largest"]), str(r["count_above_0.0001_of_largest"]),
                          str(r["count_for_99pct_of_trace"]), f"{r['seconds']:.1f}")
        CONSOLE.print(table)
        out = self.output_dir
        write_json(out / "ntk_eigenvalues.json", {"config": to_plain(self), "models": record,
                                                  "total_seconds": time.perf_counter() - start_all})
        with atomic_path(out / "ntk_eigenvectors.npz") as tmp:
            with open(tmp, "wb") as handle:
                np.savez_compressed(handle, grid=inputs.numpy(), **eigenvectors)
        plot_spectra(out / "ntk_spectrum.png", eigenvalues)
        plot_eigenfunctions(out / "ntk_eigenfunctions.png", eigenvectors, self.resolution, self.dims)
        CONSOLE.print(f"wrote ntk_eigenvalues.json, ntk_eigenvectors.npz, ntk_spectrum.png and ntk_eigenfunctions.png "
                      f"to {out}")


Commands = Union[
    Annotated[KroneckerConfig, tyro.conf.subcommand("kronecker")],
    Annotated[InitStatsConfig, tyro.conf.subcommand("init-stats")],
    Annotated[NtkConfig, tyro.conf.subcommand("ntk")],
]


def entrypoint() -> None:
    """Console script ``staf-theory``."""
    config = tyro.cli(Commands, description=__doc__, prog="staf-theory")
    try:
        config.main()
    except ValueError as err:  # bad settings: one clear line, exit 2
        CONSOLE.print(f"[bold red]error:[/bold red] {err}")
        sys.exit(2)


if __name__ == "__main__":
    entrypoint()
