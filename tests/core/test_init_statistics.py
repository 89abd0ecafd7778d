"""Initialization: a STAF activation's output is N(0, tau*s/2) for any input, s the Laplace scale of the init.

With neuron-wise sharing each of M neurons draws its own (a, w, p); for a fixed input the M outputs are independent
draws from that Gaussian. With M = 200,000 the sample mean has standard error sigma/sqrt(M) and the sample variance
sigma^2 * sqrt(2/M) (Gaussian fourth moment): the tolerances below are 6 standard errors, so a correct init fails
with probability < 1e-8 while a wrong scale (e.g. the other init's 4x variance) fails always.
"""

import math

import pytest
import torch

from staf_nerfstudio import StafActivation

M = 200_000


@pytest.mark.parametrize("tau", [1, 2, 5, 25])
@pytest.mark.parametrize("init, variance", [("official", 0.25), ("unit", 1.0)])
def test_post_activation_is_gaussian_with_expected_variance(tau, init, variance):
    torch.manual_seed(1234 + tau)
    act = StafActivation(tau=tau, omega=30.0, sharing="neuron", num_features=M, init=init).double()
    for z_value in (0.0, 0.37, -1.5):
        with torch.no_grad():
            y = act(torch.full((1, M), z_value, dtype=torch.float64))[0]
        mean, var = y.mean().item(), y.var().item()
        assert abs(mean) < 6 * math.sqrt(variance / M), (tau, init, z_value, mean)
        assert abs(var - variance) < 6 * variance * math.sqrt(2 / M), (tau, init, z_value, var)
        # A Gaussian has excess kurtosis 0; its standard error is sqrt(24/M).
        kurt = (((y - mean) ** 4).mean() / var**2 - 3.0).item()
        assert abs(kurt) < 6 * math.sqrt(24 / M), (tau, init, z_value, kurt)


def test_layer_sharing_draws_from_the_same_law():
    """Layer-wise activations: one draw per instance; 4000 instances give the variance to about 2%."""
    torch.manual_seed(7)
    n = 4000
    ys = torch.stack([StafActivation(tau=5, init="unit").double()(torch.tensor([0.2], dtype=torch.float64))
                      for _ in range(n)]).detach()
    assert abs(ys.var().item() - 1.0) < 6 * math.sqrt(2 / n)
