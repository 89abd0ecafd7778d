"""The paper's theory claims as code: Kronecker equivalence, initialization statistics and the empirical NTK.

* :mod:`~staf_nerfstudio.theory.kronecker`: :func:`to_sine_network` builds the plain sine network equivalent to a STAF
  network.
* :mod:`~staf_nerfstudio.theory.init_stats`: per-layer post-activation statistics of freshly initialized networks.
* :mod:`~staf_nerfstudio.theory.ntk`: empirical NTK Gram matrices (memory-bounded, ``torch.func``) and their spectra.
* :mod:`~staf_nerfstudio.theory.cli`: the ``staf-theory`` command.
"""

from staf_nerfstudio.theory.init_stats import LayerStatistics, init_statistics, layer_statistics
from staf_nerfstudio.theory.kronecker import KroneckerReport, SineNetwork, kronecker_report, to_sine_network
from staf_nerfstudio.theory.ntk import NtkSpectrum, empirical_ntk, ntk_spectrum

__all__ = [
    "KroneckerReport",
    "LayerStatistics",
    "NtkSpectrum",
    "SineNetwork",
    "empirical_ntk",
    "init_statistics",
    "kronecker_report",
    "layer_statistics",
    "ntk_spectrum",
    "to_sine_network",
]
