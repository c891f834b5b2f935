"""In-place transforms (the spectrum buffer's real view), the conjugate filter, the blockwise
TV denominator and the banded normaliser of Richardson-Lucy, and the memory they save."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import unblur
from unblur import fft, psf
from unblur.operators import Boundary, Convolution
from unblur.restore.richardson_lucy import _Piecewise, _TotalVariation, richardson_lucy

MOTION = psf.motion(13, angle=30)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(37, 50), (36, 51), (6, 10, 13)])
def test_filter_through_the_real_view_equals_the_allocating_path(dtype, shape):
    rng = np.random.default_rng(1)
    k = rng.random((5,) * len(shape))
    k /= k.sum()
    op = Convolution(k, shape, dtype=dtype)
    x = rng.random(shape).astype(dtype)
    spectrum = op.spectrum_buffer()
    view = op.real_view(spectrum)
    assert view.shape == shape and np.shares_memory(view, spectrum)
    view[...] = x
    with fft.workers(2):
        got = op.filter_into(view, op.otf, view, spectrum)  # input, output, scratch: one buffer
    assert got is view
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, op.forward(x), rtol=tol, atol=tol)
    back = op.filter_into(view, op.otf, view, spectrum, conjugate=True)
    np.testing.assert_allclose(back, op.adjoint(op.forward(x)), rtol=tol, atol=tol)


def test_conjugate_filter_is_the_adjoint():
    rng = np.random.default_rng(2)
    op = Convolution(MOTION, (40, 44), dtype=np.float64)
    x, y = rng.random((2, 40, 44))
    spectrum = op.spectrum_buffer()
    hty = op.filter_into(y, op.otf, np.empty_like(y), spectrum, conjugate=True)
    # <Hx, y> = <x, H^T y>
    assert np.vdot(op.forward(x), y) == pytest.approx(np.vdot(x, hty), rel=1e-12)
    np.testing.assert_allclose(hty, op.adjoint(y), rtol=1e-12, atol=1e-14)


def _reference_denominator(v, plain, weight, eps, floor=None):
    grads = [np.diff(v, axis=ax, append=np.take(v, [-1], axis=ax)) for ax in range(v.ndim)]
    norm = np.sqrt(sum(g**2 for g in grads) + eps**2)
    div = sum(
        np.diff(g / norm, axis=ax, prepend=0 * np.take(g, [0], axis=ax))
        for ax, g in enumerate(grads)
    )
    den = plain - weight * div
    return den if floor is None else np.maximum(den, floor * plain)


@pytest.mark.parametrize("shape", [(23, 17), (9, 6, 7), (1, 30), (40,)])
def test_blockwise_tv_denominator_matches_numpy(shape, monkeypatch):
    monkeypatch.setattr(_TotalVariation, "block_elements", 20)  # many blocks, partial last
    rng = np.random.default_rng(3)
    v = rng.random(shape)
    plain = rng.random(shape) + 1
    tv = _TotalVariation(plain, 0.9, 0.2, 0.05)  # a floor that binds somewhere
    want = _reference_denominator(v, plain, 0.2, 0.05, floor=0.9)
    assert np.any(want == 0.9 * plain)
    np.testing.assert_allclose(tv.denominator(v, np.empty_like(v)), want, rtol=1e-12)
    out = rng.random(shape)
    expected = out / want
    np.testing.assert_allclose(tv.divide(v, out), expected, rtol=1e-12)


def test_piecewise_normaliser_reproduces_the_grid():
    rng = np.random.default_rng(4)
    full = np.full((30, 26), 0.75)
    core = (slice(5, 22), slice(4, 20))
    mask = np.ones(full.shape, bool)
    mask[core] = False
    full[mask] = rng.random(int(mask.sum()))
    pw = _Piecewise.from_grid(full, core)
    assert pw.value == 0.75
    assert sum(arr.size for _, arr in pw.bands) == mask.sum()  # the core is not stored
    np.testing.assert_array_equal(pw.fill(np.empty((7, 26)), 20, 27), full[20:27])
    out = rng.random(full.shape)
    want = out * full
    np.testing.assert_allclose(pw.multiply_into(out), want, rtol=1e-15)


@pytest.mark.parametrize("size", [15, 4])
def test_unknown_normaliser_is_constant_on_the_core(size):
    # the normaliser H^T M 1 that richardson_lucy stores as bands: constant where not stored
    k = psf.gaussian(1.5, size=size) if size > 4 else np.full((4, 4), 1 / 16)
    bc = Boundary.create("unknown", (60, 50), k, dtype=np.float64)
    alpha = np.zeros(bc.grid_shape)
    alpha[bc.region] = 1
    alpha = bc.operator.adjoint(alpha)
    margin = [p // 2 for p in k.shape]
    core = tuple(slice(sl.start + m, sl.stop - m) for sl, m in zip(bc.region, margin, strict=True))
    np.testing.assert_allclose(alpha[core], 1.0, rtol=1e-12)


def _peak(func) -> float:
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_richardson_lucy_defaults_stay_within_six_images_of_memory():
    rng = np.random.default_rng(5)
    x = np.kron(rng.random((64, 64)), np.ones((16, 16))).astype(np.float32)  # 1024 x 1024
    y = unblur.add_noise(unblur.blur(x, MOTION), gaussian=0.01, rng=0).astype(np.float32)
    info: dict = {}
    ratio = _peak(lambda: richardson_lucy(y, MOTION, num_iter=3, info=info)) / y.nbytes
    assert info["regularization"] > 0  # the default path: TV, acceleration, unknown boundary
    assert ratio <= 6.0  # five grid arrays (grid 1.11x the image) and small blocks


def test_direct_methods_with_a_given_weight_stay_within_four_images_of_memory():
    rng = np.random.default_rng(6)
    y = rng.random((512, 512)).astype(np.float32)
    for method, kw in (("wiener", {"balance": 0.01}), ("tikhonov", {"lam": 1e-3})):
        ratio = _peak(lambda m=method, p=kw: unblur.deconvolve(y, MOTION, m, **p)) / y.nbytes
        assert ratio <= 4.5, method


def test_richardson_lucy_on_the_real_view_matches_a_separate_output(monkeypatch):
    # the GPU path (no real view) and the in-place path give the same iterates
    rng = np.random.default_rng(7)
    x = np.kron(rng.random((8, 8)), np.ones((8, 8)))
    y = unblur.add_noise(unblur.blur(x, MOTION, boundary="valid"), gaussian=0.01, rng=1)
    want = richardson_lucy(y, MOTION, num_iter=10)
    monkeypatch.setattr(Convolution, "real_view", lambda self, spectrum: None)
    got = richardson_lucy(y, MOTION, num_iter=10)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("order", [0, 1, 2])
@pytest.mark.parametrize("grid", [(30,), (24, 31), (6, 8, 10)])
def test_added_difference_spectrum_equals_the_full_one(order, grid):
    from unblur.operators import difference_spectrum
    from unblur.restore.wiener import _add_difference_spectrum

    want = 0.3 * difference_spectrum(grid, order)
    base = np.random.default_rng(8).random(want.shape)
    got = _add_difference_spectrum(grid, order, 0.3)(base.copy())
    np.testing.assert_allclose(got - base, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_direct_methods_equal_the_operator_least_squares(dtype):
    from unblur.operators import difference_spectrum
    from unblur.restore.wiener import tikhonov, wiener

    rng = np.random.default_rng(9)
    y = rng.random((40, 36)).astype(dtype)
    bc = Boundary.create("taper", y.shape, MOTION, dtype=dtype)
    op, y_ext = bc.operator, bc.extend(y)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    want = bc.crop(op.least_squares(y_ext, 0.01))
    np.testing.assert_allclose(wiener(y, MOTION, balance=0.01), want, rtol=tol, atol=tol)
    reg = 1e-3 * difference_spectrum(bc.grid_shape, 2)
    want = bc.crop(op.least_squares(y_ext, reg.astype(dtype)))
    got = tikhonov(y, MOTION, lam=1e-3)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
