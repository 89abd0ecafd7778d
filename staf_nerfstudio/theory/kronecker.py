"""The Kronecker equivalence: every STAF network is a wider plain sine network (STAF paper, arXiv 2502.00869).

One STAF layer of width ``n`` computes ``h = sigma(z)`` with ``z = W x + c`` and
``sigma(z)_j = sum_i a_ji sin(w_ji z_j + p_ji)`` (layer-wise and network-wise sharing: ``a_ji = a_i`` for every
neuron ``j``). Stack the ``tau`` scaled and shifted copies of ``z`` into one vector of width ``tau * n``, term-major
(feature ``i * n + j`` is term ``i`` of neuron ``j``):

* sine layer:  ``u = sin(W' x + b')`` with ``W' = w (x) W`` and ``b' = w (x) c + p (x) 1`` (layer-wise), and in
  general (neuron-wise) row block ``i`` of ``W'`` is ``diag(w_:i) W`` and of ``b'`` is ``w_:i * c + p_:i``;
* read-out of the amplitudes: ``h = A u`` with ``A = a^T (x) I_n``, in general column block ``i`` of ``A`` is
  ``diag(a_:i)``. ``A`` is linear, so it folds into whatever linear map reads ``h`` next: the next weight becomes
  ``W_next A = a^T (x) W_next`` (the ``W_next (x) a^T`` of the paper with neuron-major feature order; the two differ
  by the perfect-shuffle permutation of the ``tau * n`` features).

**Skip.** With ``skip`` a block returns ``h = sigma(z) + z``. ``z`` is not a function of the sine features ``u`` (a
sine is not invertible on the real line), so the converted network carries it along in a *linear branch*: a skip
layer's linear map has ``tau * n + n`` outputs, the first ``tau * n`` go through ``sin`` and the last ``n`` (a copy
of ``z``) pass through unchanged. The layer's state is then ``s = [u; z]`` and ``h = [A, I_n] s``, and that matrix
folds into the next linear map exactly like ``A`` alone. This is the textbook representation of a residual sine
network: linear maps and ``sin``, with an identity on part of the features.

Everything is exact algebra, so :func:`to_sine_network` reproduces the STAF network to floating-point rounding (the
tests check float64 agreement to 1e-9 relative on trained parameters for every sharing mode, with and without
skip). The sine network does not tie its weights: it is an ordinary module with ``tau`` times wider layers and
correspondingly more parameters, which is the point the construction makes about STAF's expressiveness per
parameter.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import List, Optional

import torch
from jaxtyping import Float
from torch import Tensor, nn

from staf_nerfstudio.mlp import StafMLP


class SplitSineLayer(nn.Module):
    """``sin`` of the first ``sine_features`` outputs of a linear map; the remaining outputs pass through unchanged.

    With ``sine_features == linear.out_features`` this is a plain sine layer ``sin(W x + b)``.
    """

    def __init__(self, linear: nn.Linear, sine_features: int) -> None:
        super().__init__()
        if not 0 < sine_features <= linear.out_features:
            raise ValueError(f"sine_features must be in [1, {linear.out_features}], got {sine_features}")
        self.linear = linear
        self.sine_features = sine_features

    def forward(self, x: Float[Tensor, "*batch in_features"]) -> Float[Tensor, "*batch out_features"]:
        y = self.linear(x)
        if self.sine_features == y.shape[-1]:
            return torch.sin(y)
        return torch.cat([torch.sin(y[..., : self.sine_features]), y[..., self.sine_features :]], dim=-1)

    def extra_repr(self) -> str:
        passthrough = self.linear.out_features - self.sine_features
        return f"sine_features={self.sine_features}, linear_passthrough={passthrough}"


class SineNetwork(nn.Module):
    """A plain sine network: :class:`SplitSineLayer` blocks and a linear read-out."""

    def __init__(self, layers: List[SplitSineLayer], head: nn.Linear) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.head = head

    def forward(self, x: Float[Tensor, "*batch in_features"]) -> Float[Tensor, "*batch out_features"]:
        for layer in self.layers:
            x = layer(x)
        return self.head(x)


@dataclass
class KroneckerReport:
    """Sizes of a STAF network and of its equivalent sine network.

    ``frequency_combinations`` is the number of distinct sequences of term choices ``(i_1, ..., i_L)`` along one
    path of neurons ``(j_1, ..., j_L)`` from the input to the read-out: at layer ``l`` the path passes through one of
    the ``tau`` sine features of neuron ``j_l``, each scaling the pre-activation by its own frequency ``w_{j_l i_l}``,
    so the count is ``prod_l tau_l = tau ** L`` (a plain sine network of the STAF network's width has 1). Equivalently,
    the sine network has ``prod_l (tau n_l)`` neuron paths against the STAF network's ``prod_l n_l``
    (``sine_paths`` / ``staf_paths``). It counts index combinations, not numerically distinct products of
    frequencies (two drawn frequencies are equal with probability zero).
    """

    staf_parameters: int
    """Trainable parameters of the STAF network (shared activation parameters counted once)."""
    sine_parameters: int
    """Parameters of the equivalent sine network (untied weights and biases)."""
    staf_widths: List[int]
    """Width of each STAF layer."""
    sine_widths: List[int]
    """Sine features of each converted layer (``tau * width``)."""
    passthrough_widths: List[int]
    """Linear pass-through features of each converted layer (``width`` for skip layers, else 0)."""
    taus: List[int]
    """Sine terms of each STAF layer."""
    frequency_combinations: int
    """``prod_l tau_l``: term sequences along one neuron path (see the class docstring)."""
    staf_paths: int
    """``prod_l n_l``: neuron paths through the STAF network."""
    sine_paths: int
    """``prod_l tau_l n_l``: neuron paths through the sine network."""

    def to_dict(self) -> dict:
        return asdict(self)


def _staf_params(block) -> tuple[Tensor, Tensor, Tensor]:
    """``(a, w, p)`` of a block as ``(n, tau)`` tensors (shared parameters broadcast to every neuron)."""
    act = block.activation
    n = block.linear.out_features
    a, w, p = (t.detach().expand(n, act.tau) if t.dim() == 1 else t.detach() for t in (act.amplitudes,
               act.frequencies, act.phases))
    return a, w, p


def _empty_linear(in_features: int, out_features: int, like: Tensor) -> nn.Linear:
    """An uninitialized ``nn.Linear`` (no draw from the global RNG) with the dtype and device of ``like``."""
    return nn.utils.skip_init(nn.Linear, in_features, out_features, dtype=like.dtype, device=like.device)


@torch.no_grad()
def to_sine_network(staf_mlp: StafMLP) -> SineNetwork:
    """The plain sine network that computes the same function as ``staf_mlp`` (see the module docstring).

    The result has the dtype and device of ``staf_mlp``'s parameters; call it in float64 to compare to rounding.

    Args:
        staf_mlp: A STAF network with any sharing, with or without skip.

    Returns:
        A :class:`SineNetwork` whose layer ``l`` has ``tau * n_l`` sine features (plus ``n_l`` linear pass-through
        features when block ``l`` uses skip) and whose read-out absorbs the last layer's amplitudes.
    """
    if not isinstance(staf_mlp, StafMLP):
        raise TypeError(f"to_sine_network expects a staf_nerfstudio.StafMLP, got {type(staf_mlp).__name__}")
    layers: List[SplitSineLayer] = []
    # readout maps the previous layer's state to its output h (identity for the network input).
    readout: Optional[Tensor] = None
    for block in staf_mlp.layers:
        weight, bias = block.linear.weight.detach(), block.linear.bias.detach()
        n = weight.shape[0]
        eff_weight = weight if readout is None else weight @ readout  # z = eff_weight @ state + bias
        a, w, p = _staf_params(block)
        tau = a.shape[1]
        # Row block i: diag(w[:, i]) W_eff, bias w[:, i] * c + p[:, i]; term-major feature order.
        sine_w = torch.cat([w[:, i : i + 1] * eff_weight for i in range(tau)], dim=0)
        sine_b = torch.cat([w[:, i] * bias + p[:, i] for i in range(tau)], dim=0)
        amp = torch.cat([torch.diag(a[:, i]) for i in range(tau)], dim=1)  # A = [diag(a_:0), ..., diag(a_:tau-1)]
        if block.skip:
            sine_w = torch.cat([sine_w, eff_weight], dim=0)
            sine_b = torch.cat([sine_b, bias], dim=0)
            amp = torch.cat([amp, torch.eye(n, dtype=amp.dtype, device=amp.device)], dim=1)
        linear = _empty_linear(sine_w.shape[1], sine_w.shape[0], weight)
        linear.weight.copy_(sine_w)
        linear.bias.copy_(sine_b)
        layers.append(SplitSineLayer(linear, tau * n))
        readout = amp
    head_w = staf_mlp.head.weight.detach() @ readout
    head = _empty_linear(head_w.shape[1], head_w.shape[0], head_w)
    head.weight.copy_(head_w)
    head.bias.copy_(staf_mlp.head.bias.detach())
    return SineNetwork(layers, head)


def kronecker_report(staf_mlp: StafMLP, sine_network: Optional[SineNetwork] = None) -> KroneckerReport:
    """Parameter counts and path / frequency-combination counts of a STAF network and its sine network."""
    sine_network = sine_network if sine_network is not None else to_sine_network(staf_mlp)
    taus = [block.activation.tau for block in staf_mlp.layers]
    widths = [block.linear.out_features for block in staf_mlp.layers]
    sine_widths = [layer.sine_features for layer in sine_network.layers]
    passthrough = [layer.linear.out_features - layer.sine_features for layer in sine_network.layers]
    combos, staf_paths, sine_paths = 1, 1, 1
    for tau, n in zip(taus, widths, strict=True):
        combos, staf_paths, sine_paths = combos * tau, staf_paths * n, sine_paths * tau * n
    return KroneckerReport(
        staf_parameters=sum(p.numel() for p in staf_mlp.parameters()),
        sine_parameters=sum(p.numel() for p in sine_network.parameters()),
        staf_widths=widths,
        sine_widths=sine_widths,
        passthrough_widths=passthrough,
        taus=taus,
        frequency_combinations=combos,
        staf_paths=staf_paths,
        sine_paths=sine_paths,
    )
