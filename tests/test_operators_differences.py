"""The finite-difference operators: adjointness, their Fourier multipliers, exact values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unblur.operators.differences import (
    add_difference_adjoint,
    difference,
    difference_adjoint,
    difference_spectrum,
    gradient,
    gradient_adjoint,
    hessian,
    hessian_adjoint,
)

shapes = st.lists(st.integers(1, 7), min_size=1, max_size=3).map(tuple)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**32 - 1))
def test_gradient_and_hessian_are_adjoint(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    p = rng.standard_normal((len(shape), *shape))
    assert np.isclose(np.vdot(gradient(x), p), np.vdot(x, gradient_adjoint(p)), atol=1e-9)
    h = hessian(gradient(x))
    q = rng.standard_normal(h.shape)
    assert h.shape[0] == len(shape) * (len(shape) + 1) // 2
    assert np.isclose(np.vdot(h, q), np.vdot(x, hessian_adjoint(q)), atol=1e-9)


@pytest.mark.parametrize("shape", [(17,), (12, 15), (6, 7, 8)])
def test_difference_operators_match_difference_spectrum(shape):
    """grad^T grad and hess^T hess are the Fourier multipliers of orders 1 and 2."""
    x = np.random.default_rng(1).standard_normal(shape)
    x_hat = np.fft.rfftn(x)
    gtg = gradient_adjoint(gradient(x))
    np.testing.assert_allclose(
        np.fft.rfftn(gtg), difference_spectrum(shape, 1) * x_hat, atol=1e-9 * np.abs(x_hat).max()
    )
    hth = hessian_adjoint(hessian(gradient(x)))
    np.testing.assert_allclose(
        np.fft.rfftn(hth), difference_spectrum(shape, 2) * x_hat, atol=1e-8 * np.abs(x_hat).max()
    )


def test_gradient_is_the_forward_difference():
    x = np.array([[0.0, 1.0, 3.0], [2.0, 2.0, 7.0]])
    g = gradient(x)
    np.testing.assert_array_equal(g[0], [[2, 1, 4], [-2, -1, -4]])
    np.testing.assert_array_equal(g[1], [[1, 2, -3], [0, 5, -5]])


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**32 - 1), axis=st.integers(0, 2))
def test_neumann_difference_and_its_adjoint(shape, seed, axis):
    """periodic=False: zero across the last sample; the adjoint is exact on the range of the
    difference (whose last sample is zero) and ``add_difference_adjoint`` adds it in place."""
    axis %= len(shape)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    d = difference(x, axis, np.empty_like(x), periodic=False)
    expected = np.diff(x, axis=axis, append=np.take(x, [-1], axis=axis))
    np.testing.assert_array_equal(d, expected)
    p = difference(rng.standard_normal(shape), axis, np.empty_like(x), periodic=False)
    adj = difference_adjoint(p, axis, np.empty_like(p), periodic=False)
    assert np.isclose(np.vdot(d, p), np.vdot(x, adj), atol=1e-9)
    base = rng.standard_normal(shape)
    added = add_difference_adjoint(p, axis, base.copy(), periodic=False)
    np.testing.assert_allclose(added, base + adj, atol=1e-12)
    periodic = add_difference_adjoint(p, axis, base.copy())
    np.testing.assert_allclose(periodic, base + difference_adjoint(p, axis, np.empty_like(p)))


def test_neumann_difference_on_views_and_contiguous_arrays_agree():
    """The flat (contiguous) pass and the strided one give the same numbers."""
    x = np.random.default_rng(4).standard_normal((6, 9, 8))
    for axis in range(3):
        flat = difference(x, axis, np.empty_like(x), periodic=False)
        view = difference(x[:, :, ::1].T.copy().T, axis, np.empty_like(x), periodic=False)
        np.testing.assert_array_equal(flat, view)
