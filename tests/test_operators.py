"""The blur operator: adjointness, exact normal solves, boundary grids, FFT settings."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unblur import InvalidParameterError, InvalidPSFError, fft, psf
from unblur.operators import BOUNDARIES, Boundary, Convolution, difference_spectrum

shapes_2d = st.tuples(st.integers(8, 33), st.integers(8, 33))


@given(shape=shapes_2d, seed=st.integers(0, 2**16), dtype=st.sampled_from([np.float32, np.float64]))
@settings(max_examples=30, deadline=None)
def test_adjoint_is_the_adjoint(shape, seed, dtype):
    """<A x, y> == <x, A* y> for random PSFs and grids."""
    rng = np.random.default_rng(seed)
    kshape = tuple(int(rng.integers(1, min(n, 9) + 1)) for n in shape)
    op = Convolution(rng.random(kshape), shape, dtype=dtype)
    x = rng.standard_normal(shape).astype(dtype)
    y = rng.standard_normal(shape).astype(dtype)
    lhs = np.vdot(op.forward(x).astype(np.float64), y)
    rhs = np.vdot(x, op.adjoint(y).astype(np.float64))
    tol = 1e-4 if dtype == np.float32 else 1e-10
    assert abs(lhs - rhs) <= tol * (1 + abs(lhs))
    assert op.forward(x).dtype == dtype


def test_adjoint_3d():
    rng = np.random.default_rng(0)
    op = Convolution(psf.gaussian((1, 2, 1.5)), (10, 20, 16), dtype=np.float64)
    x, y = rng.standard_normal((2, 10, 20, 16))
    assert np.isclose(np.vdot(op.forward(x), y), np.vdot(x, op.adjoint(y)))


def test_solve_normal_inverts_the_normal_operator():
    rng = np.random.default_rng(1)
    op = Convolution(psf.motion(9, 20), (32, 40), dtype=np.float64)
    x = rng.standard_normal((32, 40))
    reg = 0.3 * difference_spectrum((32, 40), 1)
    # (HᵀH + ρI + R) x, with R applied through its Fourier multiplier
    lhs = op.adjoint(op.forward(x)) + 0.05 * x + op.apply_multiplier(x, reg)
    np.testing.assert_allclose(op.solve_normal(lhs, 0.05, reg), x, atol=1e-10)


def test_least_squares_is_solve_normal_of_adjoint():
    rng = np.random.default_rng(2)
    op = Convolution(psf.gaussian(1.5), (24, 30), dtype=np.float64)
    y = rng.random((24, 30))
    np.testing.assert_allclose(
        op.least_squares(y, 0.01), op.solve_normal(op.adjoint(y), 0.01), atol=1e-12
    )


def test_difference_spectrum_matches_finite_differences():
    rng = np.random.default_rng(3)
    shape = (12, 15)
    x = rng.standard_normal(shape)
    op = Convolution(np.ones((1, 1)), shape, dtype=np.float64)
    grad_energy = sum(np.sum((np.roll(x, -1, axis=a) - x) ** 2) for a in range(2))
    assert np.isclose(
        np.vdot(x, op.apply_multiplier(x, difference_spectrum(shape, 1))), grad_energy
    )
    lap = sum(np.roll(x, 1, a) + np.roll(x, -1, a) - 2 * x for a in range(2))
    np.testing.assert_allclose(
        op.apply_multiplier(x, difference_spectrum(shape, 2)), _apply_twice(lap), atol=1e-10
    )
    np.testing.assert_allclose(op.apply_multiplier(x, difference_spectrum(shape, 0)), x)
    with pytest.raises(InvalidParameterError):
        difference_spectrum(shape, 3)


def _apply_twice(lap: np.ndarray) -> np.ndarray:
    """LᵀL x = L(L x) for the symmetric Laplacian; ``lap`` is already L x."""
    return sum(np.roll(lap, 1, a) + np.roll(lap, -1, a) - 2 * lap for a in range(lap.ndim))


@pytest.mark.parametrize("mode", BOUNDARIES)
def test_boundary_grid_and_crop(mode):
    k = psf.motion(9, 30)
    bc = Boundary.create(mode, (50, 61), k, dtype=np.float64)
    y = np.random.default_rng(4).random((50, 61))
    ext = bc.extend(y)
    assert ext.shape == bc.grid_shape
    np.testing.assert_array_equal(bc.crop(ext), y)
    if mode == "periodic":
        assert bc.grid_shape == (50, 61) and bc.mask is None
    else:
        assert all(g >= n + p - 1 for g, n, p in zip(bc.grid_shape, (50, 61), k.shape, strict=True))
        if mode != "reflect":
            assert fft.fast_shape(bc.grid_shape) == bc.grid_shape
    if mode == "unknown":
        assert bc.mask.sum() == y.size and bc.mask[bc.region].all()


def test_unknown_boundary_forward_on_mask_is_valid_convolution():
    """Observed pixels of H x on the 'unknown' grid are the valid convolution of x."""
    from scipy import signal

    k = psf.motion(7, 45)
    bc = Boundary.create("unknown", (30, 40), k, dtype=np.float64)
    x = np.random.default_rng(5).random(bc.grid_shape)
    hx = bc.crop(bc.operator.forward(x))
    big = x[: 30 + k.shape[0] - 1, : 40 + k.shape[1] - 1]
    np.testing.assert_allclose(hx, signal.fftconvolve(big, k, mode="valid"), atol=1e-12)


def test_taper_keeps_the_image_and_smooths_the_seam():
    y = np.zeros((40, 40))
    y[:, 20:] = 1.0
    bc = Boundary.create("taper", y.shape, psf.gaussian(2.0), dtype=np.float64)
    ext = bc.extend(y)
    np.testing.assert_allclose(bc.crop(ext), y)
    # across the periodic seam (last column -> first column) the jump is smaller than 1
    assert np.abs(ext[:, -1] - ext[:, 0]).max() < 1.0


def test_boundary_errors():
    with pytest.raises(InvalidParameterError, match="unknown boundary 'wrap'"):
        Boundary.create("wrap", (10, 10), np.ones((3, 3)))
    with pytest.raises(InvalidPSFError, match="larger than the image"):
        Boundary.create("reflect", (10, 10), np.ones((11, 3)))
    op = Convolution(np.ones((3, 3)), (8, 8))
    with pytest.raises(InvalidParameterError, match="grid"):
        op.forward(np.ones((9, 8)))


def test_workers_setting_and_fast_shape():
    assert fft.fast_shape((127, 255, 97)) == (128, 256, 100)
    with fft.workers(1):
        assert fft.get_workers() == 1
    assert fft.get_workers() == -1
    with pytest.raises(ValueError, match="workers"):
        fft.set_workers(0)
    x = np.random.default_rng(6).random((16, 18)).astype(np.float32)
    x_hat = fft.rfftn(x)
    assert x_hat.dtype == np.complex64
    np.testing.assert_allclose(fft.irfftn(x_hat, x.shape), x, atol=1e-6)
