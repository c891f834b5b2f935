"""The operators: every one adjoint to its adjoint (one table, hypothesis), exact normal
solves, boundary grids, FFT settings."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unblur import InvalidParameterError, InvalidPSFError, fft, psf
from unblur.operators import (
    BOUNDARIES,
    Boundary,
    Convolution,
    difference_spectrum,
    field_boundary,
)
from unblur.operators.differences import gradient, gradient_adjoint, hessian, hessian_adjoint

shapes_2d = st.tuples(st.integers(8, 33), st.integers(8, 33))


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


# --------------------------------------------------------------------------------------------
# the operator contract: every linear operator the solvers use is declared here once and
# checked for <A x, y> == <x, A^T y> on random shapes (1-3-D), dtypes and seeds
# --------------------------------------------------------------------------------------------
def _psf_for(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.random(tuple(int(rng.integers(1, min(n, 7) + 1)) for n in shape)) + 0.05


def _convolution(rng, shape, dtype):
    op = Convolution(_psf_for(rng, shape), shape, dtype=dtype)
    return op.forward, op.adjoint, shape, shape


def _convolution_into(rng, shape, dtype):
    """The buffered variants the fused solvers call (``forward_into``/``adjoint_into``)."""
    op = Convolution(_psf_for(rng, shape), shape, dtype=dtype)
    spectrum = op.spectrum_buffer()

    def forward(x):
        return op.forward_into(x, np.empty_like(x), spectrum).copy()

    def adjoint(y):
        return op.adjoint_into(y, np.empty_like(y), spectrum).copy()

    return forward, adjoint, shape, shape


def _boundary(mode: str, *, masked: bool = False):
    def make(rng, shape, dtype):
        bc = Boundary.create(mode, shape, _psf_for(rng, shape), dtype=dtype)
        op, mask = bc.operator, bc.mask if masked else None
        if mask is None:
            return op.forward, op.adjoint, bc.grid_shape, bc.grid_shape
        # what the solvers of the 'unknown' model use: M H and H^T M
        return (
            (lambda x: op.forward(x) * mask),
            (lambda y: op.adjoint(y * mask)),
            *((bc.grid_shape,) * 2),
        )

    return make


def _crop(mode: str):
    """``crop`` (grid -> image); its adjoint puts the image back into a zero grid."""

    def make(rng, shape, dtype):
        bc = Boundary.create(mode, shape, _psf_for(rng, shape), dtype=dtype)

        def embed(y):
            out = np.zeros(bc.grid_shape, y.dtype)
            out[bc.region] = y
            return out

        return bc.crop, embed, bc.grid_shape, shape

    return make


def _field(mode: str):
    def make(rng, shape, dtype):
        cells = tuple(int(rng.integers(1, min(3, n) + 1)) for n in shape)
        kshape = _psf_for(rng, shape).shape
        field = psf.grid(rng.random((*cells, *kshape)) + 0.05, shape)
        op = field_boundary(mode, shape, field, dtype=dtype).operator
        return op.forward, op.adjoint, op.shape, op.shape

    return make


def _gradient(rng, shape, dtype):
    return gradient, gradient_adjoint, shape, (len(shape), *shape)


def _hessian(rng, shape, dtype):
    n = len(shape) * (len(shape) + 1) // 2
    return (lambda x: hessian(gradient(x))), hessian_adjoint, shape, (n, *shape)


def _multiplier(rng, shape, dtype):
    """A real Fourier multiplier (the regularisers' spectra) is self-adjoint."""
    op = Convolution(np.ones((1,) * len(shape)), shape, dtype=dtype)
    order = int(rng.integers(0, 3))
    spectrum = difference_spectrum(shape, order).astype(dtype)

    def apply(x):
        return op.apply_multiplier(x, spectrum)

    return apply, apply, shape, shape


OPERATORS = {
    "convolution": _convolution,
    "convolution_into": _convolution_into,
    "fourier_multiplier": _multiplier,
    "gradient": _gradient,
    "hessian": _hessian,
    **{f"boundary_{m}": _boundary(m) for m in BOUNDARIES},
    "boundary_unknown_masked": _boundary("unknown", masked=True),
    **{f"crop_{m}": _crop(m) for m in BOUNDARIES},
    **{f"field_{m}": _field(m) for m in BOUNDARIES},
}

_SHAPES = st.integers(1, 3).flatmap(
    lambda d: st.lists(st.integers(3, 20 if d < 3 else 9), min_size=d, max_size=d).map(tuple)
)


@pytest.mark.parametrize("name", sorted(OPERATORS))
@settings(max_examples=15, deadline=None)
@given(
    shape=_SHAPES,
    seed=st.integers(0, 2**32 - 1),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_operator_adjoint_is_the_adjoint(name, shape, seed, dtype):
    """<A x, y> == <x, A^T y> to the working precision, and both keep the dtype."""
    rng = np.random.default_rng(seed)
    forward, adjoint, domain, codomain = OPERATORS[name](rng, shape, dtype)
    x = rng.standard_normal(domain).astype(dtype)
    y = rng.standard_normal(codomain).astype(dtype)
    ax, aty = forward(x.copy()), adjoint(y.copy())
    assert ax.shape == codomain and aty.shape == domain
    assert ax.dtype == dtype and aty.dtype == dtype
    lhs = np.vdot(ax.astype(np.float64), y)
    rhs = np.vdot(x.astype(np.float64), aty)
    scale = np.linalg.norm(ax) * np.linalg.norm(y) + np.linalg.norm(x) * np.linalg.norm(aty)
    assert abs(lhs - rhs) <= (2e-5 if dtype == np.float32 else 1e-12) * max(scale, 1e-300)
