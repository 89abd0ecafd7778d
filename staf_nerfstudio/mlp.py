"""The STAF network: linear layers, each followed by a trainable sinusoidal activation, then a linear read-out."""

from __future__ import annotations

from typing import Iterator, List, Optional

from jaxtyping import Float
from torch import Tensor, nn

from staf_nerfstudio.activation import StafActivation, check_init, check_sharing
from staf_nerfstudio.initializers import siren_uniform_
from staf_nerfstudio.settings import StafSettings


class StafBlock(nn.Module):
    """``sigma(W x + c)``, or ``sigma(W x + c) + (W x + c)`` with ``skip``."""

    def __init__(self, linear: nn.Linear, activation: nn.Module, skip: bool = False) -> None:
        super().__init__()
        self.linear = linear
        self.activation = activation
        self.skip = skip

    def forward(self, x: Float[Tensor, "*batch in_features"]) -> Float[Tensor, "*batch out_features"]:
        z = self.linear(x)
        y = self.activation(z)
        return y + z if self.skip else y


class StafMLP(nn.Module):
    """STAF(in -> W), ``hidden_layers`` x STAF(W -> W), then a plain linear read-out (W -> out).

    Defaults come from :class:`staf_nerfstudio.settings.StafSettings`. Linear layers keep PyTorch's default
    ``nn.Linear`` initialization unless ``init="siren"``. ``first_omega`` / ``hidden_omega`` only set the range the
    first / other activations draw their frequencies from. With ``sharing="network"`` every block holds the same
    :class:`StafActivation` (drawn with ``first_omega``).

    Args:
        in_features: Input coordinates per point.
        hidden_features: Width W.
        hidden_layers: Number of W -> W STAF blocks after the first.
        out_features: Output values per point.
        tau: Sine terms per activation.
        first_omega: Frequency range of the first activation.
        hidden_omega: Frequency range of the other activations.
        skip: Add the pre-activation back in every non-first block (the authors' image setting).
        sharing: ``"layer"``, ``"neuron"`` or ``"network"``.
        init: ``"official"`` or ``"unit"`` (see :class:`StafActivation`), or ``"siren"``: every linear layer, read-out
            included, takes SIREN's weight init for its omega and every activation starts as ``sin(omega z)`` plus
            small harmonics, so with zero ``extra_amplitude`` (and no skip) the network is a SIREN at step 0.
        extra_amplitude: ``init="siren"``: amplitude range of the non-first activations' harmonic terms.
        first_extra_amplitude: ``init="siren"``: the same for the first activation.
        implementation: Activation implementation, ``"auto"`` by default.
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        hidden_layers: int,
        out_features: int,
        tau: int = StafSettings.tau,
        first_omega: float = StafSettings.first_omega,
        hidden_omega: float = StafSettings.hidden_omega,
        skip: bool = StafSettings.skip,
        sharing: str = StafSettings.sharing,
        init: str = StafSettings.init,
        implementation: str = StafSettings.implementation,
        extra_amplitude: float = StafSettings.extra_amplitude,
        first_extra_amplitude: float = StafSettings.first_extra_amplitude,
    ) -> None:
        super().__init__()
        check_sharing(sharing)
        check_init(init)
        if hidden_layers < 0:
            raise ValueError(f"hidden_layers must be >= 0, got {hidden_layers}")
        self.in_features = in_features
        self.out_features = out_features
        self.tau = tau
        self.sharing = sharing
        self.init = init
        shared: Optional[StafActivation] = None
        if sharing == "network":
            shared = StafActivation(tau, first_omega, "network", None, init, implementation, first_extra_amplitude)
        blocks: List[StafBlock] = []
        for index in range(hidden_layers + 1):
            fan_in = in_features if index == 0 else hidden_features
            # A shared activation's frequencies come from first_omega, so its linear layers are scaled for that.
            omega = first_omega if index == 0 or shared is not None else hidden_omega
            extra = first_extra_amplitude if index == 0 else extra_amplitude
            activation = shared or StafActivation(tau, omega, sharing, hidden_features, init, implementation, extra)
            linear = nn.Linear(fan_in, hidden_features)
            if init == "siren":
                siren_uniform_(linear.weight, omega, is_first=index == 0)
            blocks.append(StafBlock(linear, activation, skip=skip and index > 0))
        self.layers = nn.ModuleList(blocks)
        self.head = nn.Linear(hidden_features, out_features)
        if init == "siren":
            siren_uniform_(self.head.weight, first_omega if shared is not None else hidden_omega, is_first=False)

    def forward(self, x: Float[Tensor, "*batch in_features"]) -> Float[Tensor, "*batch out_features"]:
        for block in self.layers:
            x = block(x)
        return self.head(x)

    def activations(self) -> List[StafActivation]:
        """The distinct activation modules (one for ``"network"`` sharing)."""
        seen: List[StafActivation] = []
        for block in self.layers:
            if not any(block.activation is s for s in seen):
                seen.append(block.activation)
        return seen

    def activation_parameters(self) -> Iterator[nn.Parameter]:
        """Amplitudes, frequencies and phases (for a param group of their own)."""
        for act in self.activations():
            yield from act.parameters()

    def linear_parameters(self) -> Iterator[nn.Parameter]:
        """Weights and biases of every linear layer, read-out included."""
        for block in self.layers:
            yield from block.linear.parameters()
        yield from self.head.parameters()

    def set_implementation(self, implementation: str) -> None:
        """Switches every activation to the named implementation (see :mod:`staf_nerfstudio.functional`)."""
        for act in self.activations():
            act.implementation = implementation
