"""The L0 latent image's half-quadratic splitting: its penalty schedule and auxiliary step."""

from __future__ import annotations

import numpy as np

from unblur.blind.latent import l0_penalties, l0_splits
from unblur.operators.differences import gradient, gradient_adjoint


def test_penalties_double_from_twice_the_larger_weight_to_1e5():
    betas = list(l0_penalties(4e-3, 1e-3))
    assert betas[0] == 8e-3
    assert np.allclose(np.divide(betas[1:], betas[:-1]), 2.0)
    assert betas[-1] < 1e5 <= 2 * betas[-1]


def test_splits_keep_only_gradients_and_values_above_their_thresholds():
    rng = np.random.default_rng(0)
    x = rng.random((12, 10))
    beta, lam_g, lam_i = 10.0, 2.0, 4.0  # thresholds |grad x|^2 >= 0.2, x^2 >= 0.4
    g = np.empty((2, *x.shape))
    rhs = l0_splits(x, g, lam_g, lam_i, beta)
    full = gradient(x)
    strong = full[0] ** 2 + full[1] ** 2 >= lam_g / beta
    assert 0 < strong.sum() < strong.size  # the threshold cuts somewhere
    np.testing.assert_array_equal(g, np.where(strong, full, 0.0))
    kept = np.where(x * x >= lam_i / beta, x, 0.0)
    np.testing.assert_allclose(rhs, gradient_adjoint(g) + kept, rtol=0, atol=1e-15)
    # without the intensity term the right-hand side is the gradients' adjoint alone
    np.testing.assert_array_equal(l0_splits(x, g, lam_g, 0.0, beta), gradient_adjoint(g))
