"""Tests of the sparse-prior methods: total variation and hyper-Laplacian (restore.sparse)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.ndimage
from conftest import camera_mean, centre
from conftest import psnr_clipped as psnr

import unblur
from unblur import InvalidParameterError, psf
from unblur.operators.differences import gradient, hessian
from unblur.restore import get_method
from unblur.restore.sparse import (
    _lp_threshold,
    _schedule,
    _shrink_lp,
    default_tol,
    hyper_laplacian,
    tv,
)

SIGMA = 0.01
METHODS = {"tv": tv, "hyper_laplacian": hyper_laplacian}


@pytest.fixture(scope="module")
def sharp() -> np.ndarray:
    """camera() averaged down to 128x128, float64 in [0, 1]."""
    return camera_mean(128)


@pytest.fixture(scope="module")
def valid_case(sharp):
    """Physically ('valid') blurred noisy observation (float32), its PSF and the sharp crop."""
    k = psf.motion(9, angle=30)
    x = sharp.astype(np.float32)
    y = unblur.add_noise(unblur.blur(x, k, boundary="valid"), gaussian=SIGMA, rng=1)
    return y, k, centre(sharp, y, k)


def inner(a: np.ndarray, border: int = 6) -> np.ndarray:
    return a[(slice(border, -border),) * a.ndim]


# --------------------------------------------------------------------------------------------
# restoration quality against known truth
# --------------------------------------------------------------------------------------------
# measured (128x128 camera, motion 9 px at 30 degrees, 1% noise, valid blur, 80 iterations):
#   tv               unknown 26.4 dB, periodic 21.0 dB; blurred input 22.2 dB
#   hyper_laplacian  unknown 26.1 dB, periodic 20.7 dB
@pytest.mark.parametrize(("name", "floor"), [("tv", 26.0), ("hyper_laplacian", 25.7)])
def test_unknown_boundary_restores_valid_blur(valid_case, name, floor):
    y, k, crop = valid_case
    method = METHODS[name]
    unknown = psnr(inner(method(y, k, num_iter=80)), inner(crop))
    periodic = psnr(inner(method(y, k, num_iter=80, boundary="periodic")), inner(crop))
    blurred = psnr(inner(y), inner(crop))
    assert unknown > floor
    assert unknown > blurred + 3.3
    assert unknown > periodic + 4.5  # the periodic model rings from the frame's edges


# measured: tv 26.8 dB, hyper_laplacian 27.2 dB; blurred input 22.3 dB
@pytest.mark.parametrize(("name", "floor"), [("tv", 26.4), ("hyper_laplacian", 26.8)])
def test_periodic_blur_restored(sharp, name, floor):
    k = psf.motion(9, angle=30)
    y = unblur.add_noise(unblur.blur(sharp, k, boundary="periodic"), gaussian=SIGMA, rng=2)
    x_hat = METHODS[name](y, k, boundary="periodic", num_iter=80)
    assert psnr(x_hat, sharp) > floor
    assert psnr(x_hat, sharp) > psnr(y, sharp) + 4.0


# measured: reflect 25.6 dB, taper 25.8 dB; blurred input 21.8 dB (12 px border left out)
@pytest.mark.parametrize("boundary", ["reflect", "taper"])
def test_padded_boundaries_improve_on_the_input(valid_case, boundary):
    y, k, crop = valid_case
    x_hat = tv(y, k, boundary=boundary, num_iter=60)
    assert psnr(inner(x_hat, 12), inner(crop, 12)) > psnr(inner(y, 12), inner(crop, 12)) + 3


def test_tv_tiny_lam_inverts_noiseless_periodic_blur(sharp):
    k = psf.gaussian(1.0)
    y = unblur.blur(sharp, k, boundary="periodic")
    x_hat = tv(y, k, lam=1e-7, boundary="periodic", num_iter=100)
    assert psnr(x_hat, sharp) > 44  # measured 46.2 dB; the blurred input is at 25.9 dB


@pytest.mark.parametrize("second_order", [0.0, 0.5])
def test_tv_minimises_its_energy(sharp, second_order):
    """The result has a lower energy than the truth and the observation, and is converged.

    On the central 64 x 64 of the scene (a quarter of the pixels: the same claims, 4x less
    work)."""
    sharp = sharp[32:96, 32:96]
    k = psf.gaussian(1.5)
    y = unblur.add_noise(unblur.blur(sharp, k, boundary="periodic"), gaussian=SIGMA, rng=3)
    lam = 0.002
    conv = unblur.operators.Convolution(k, y.shape, dtype=np.float64)

    def energy(x):
        g = gradient(x)
        h = hessian(g)
        prior = np.sum(np.sqrt((g**2).sum(0))) + second_order * np.sum(np.sqrt((h**2).sum(0)))
        return 0.5 * np.sum((conv.forward(x) - y) ** 2) + lam * prior

    def run(n):
        return tv(
            y, k, lam=lam, second_order=second_order, boundary="periodic", num_iter=n, tol=None
        )

    x_hat = run(300)
    assert energy(x_hat) < energy(sharp)
    assert energy(x_hat) < energy(y)
    assert energy(x_hat) < energy(run(30))
    assert energy(x_hat) - energy(run(600)) < 1e-3 * energy(x_hat)  # more gains almost nothing


def test_hyper_laplacian_alpha_one_is_tv():
    """alpha=1, a constant beta and no second-order term run exactly the TV iteration."""
    rng = np.random.default_rng(0)
    y = scipy.ndimage.gaussian_filter(rng.random((40, 48)), 2).astype(np.float32)
    k = psf.gaussian(1.2)
    a = tv(y, k, lam=1e-3, second_order=0.0, num_iter=20, tol=1e-3)  # rho = 15 lam
    b = hyper_laplacian(
        y, k, lam=1e-3, alpha=1.0, beta_init=15, beta_rate=1, second_order=0.0, num_iter=20
    )
    np.testing.assert_array_equal(a, b)


def test_3d_stack_restored():
    rng = np.random.default_rng(3)
    vol = scipy.ndimage.gaussian_filter(rng.random((24, 48, 48)), 2.0)
    vol = ((vol - vol.min()) / np.ptp(vol)).astype(np.float32)
    k = psf.gaussian(1.2, ndim=3, size=5)
    y = unblur.add_noise(unblur.blur(vol, k, boundary="valid"), gaussian=SIGMA, rng=4)
    crop = vol[2:-2, 2:-2, 2:-2]
    for method in (tv, hyper_laplacian):
        x_hat = method(y, k, num_iter=40)
        assert x_hat.shape == y.shape and x_hat.dtype == np.float32
        # measured: tv 41.0 dB, hyper_laplacian 40.5 dB; blurred input 31.9 dB
        assert psnr(inner(x_hat, 3), inner(crop, 3)) > psnr(inner(y, 3), inner(crop, 3)) + 7


# --------------------------------------------------------------------------------------------
# the hyper-Laplacian shrinkage
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [0.5, 2 / 3, 0.8, 1.0])
@pytest.mark.parametrize("beta", [1.0, 16.0, 256.0])
def test_shrinkage_solves_its_1d_problem(alpha, beta):
    """Compare with brute-force minimisation of |w|^a + b/2 (w - v)^2 over a fine grid."""
    tau, _ = _lp_threshold(alpha, beta) if alpha < 1 else (1 / beta, 0)
    v = np.concatenate([np.linspace(-4 * tau, 4 * tau, 81), [0.0, tau * 1.001, -tau * 0.999]])
    w = _shrink_lp(v, alpha, beta)

    def energy(w, v):
        return np.abs(w) ** alpha + beta / 2 * (w - v) ** 2

    grid = np.linspace(-5 * tau, 5 * tau, 200_001)
    for wi, vi in zip(w, v, strict=True):
        e_grid = energy(grid, vi)
        best = grid[np.argmin(e_grid)]
        assert energy(wi, vi) <= e_grid.min() * (1 + 1e-7) + 1e-12  # as good as the grid optimum
        assert abs(wi - best) <= 1e-3 * tau or abs(abs(vi) - tau) < 2e-3 * tau  # ties at tau
    assert np.all(w[np.abs(v) < tau * 0.999] == 0)  # below the threshold: exactly zero
    assert np.all(np.sign(w) * np.sign(v) >= 0)  # never flips the sign


def test_shrinkage_float32_and_extremes():
    v = np.array([0, 1e-30, 1e-3, 0.5, 1e4, -1e4], dtype=np.float32)
    for alpha in (0.5, 0.8):
        for beta in (1e-3, 1.0, 1e6):
            w = _shrink_lp(v, alpha, beta)
            assert w.dtype == np.float32 and np.all(np.isfinite(w))
            assert np.all(np.abs(w) <= np.abs(v))


def test_beta_schedule():
    s = _schedule(1.0, 2.0, 20.0, 100)
    assert s == [1.0, 2.0, 4.0, 8.0, 16.0, 20.0]
    assert _schedule(5.0, 1.0, 100.0, 100) == [5.0]  # rate 1: constant penalty
    assert _schedule(500.0, 2.0, 100.0, 100) == [100.0]
    assert len(_schedule(1.0, 1.0001, 1e9, 50)) == 50  # never longer than the iterations


# --------------------------------------------------------------------------------------------
# dtype, shapes, degenerate input, no mutation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(METHODS))
@pytest.mark.parametrize("boundary", ["unknown", "periodic", "reflect", "taper"])
@pytest.mark.parametrize(
    "image", [np.zeros((32, 32), np.float32), np.full((5, 4), 0.3), np.zeros((3, 3))]
)
def test_degenerate_images_give_finite_output(name, boundary, image):
    k = psf.gaussian(0.8, size=3)
    info: dict = {}
    x_hat = METHODS[name](image, k, boundary=boundary, num_iter=5, info=info)
    assert x_hat.shape == image.shape and x_hat.dtype == image.dtype
    assert np.all(np.isfinite(x_hat))
    assert info["lam"] > 0
    if not image.any():
        np.testing.assert_array_equal(x_hat, 0)
    elif boundary == "periodic":  # a constant is blurred to itself: it stays
        np.testing.assert_allclose(x_hat, image, atol=1e-6)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_one_dimensional_and_single_pixel(name):
    y = np.sin(np.linspace(0, 6, 64)) + 1
    k = np.array([0.25, 0.5, 0.25])
    assert np.all(np.isfinite(METHODS[name](y, k, num_iter=5)))
    one = METHODS[name](np.ones((1, 1)), np.ones((1, 1)), num_iter=5)
    assert one.shape == (1, 1) and np.isfinite(one).all()


# --------------------------------------------------------------------------------------------
# parameters, info, callback, registry
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "params", "fragment"),
    [
        ("tv", {"lam": 0}, "lam must be finite and > 0"),
        ("tv", {"lam": -1.0}, "lam must be finite and > 0"),
        ("tv", {"lam": "big"}, "lam must be a number"),
        ("tv", {"rho": np.nan}, "rho must be finite and > 0"),
        ("tv", {"num_iter": 0}, "num_iter must be an integer >= 1"),
        ("tv", {"num_iter": 2.5}, "num_iter must be an integer >= 1"),
        ("tv", {"second_order": -0.1}, "second_order must be finite and >= 0"),
        ("tv", {"tol": 0}, "tol must be finite and > 0"),
        ("tv", {"tol": "fast"}, "tol must be a positive number, None or 'auto', got 'fast'"),
        ("hyper_laplacian", {"tol": "Auto"}, "tol must be a positive number, None or 'auto'"),
        ("tv", {"boundary": "mirror"}, "unknown boundary 'mirror'"),
        ("hyper_laplacian", {"alpha": 0}, "alpha must be finite and > 0"),
        ("hyper_laplacian", {"alpha": 1.5}, "alpha must be in (0, 1]"),
        ("hyper_laplacian", {"beta_rate": 0.5}, "beta_rate must be >= 1"),
        ("hyper_laplacian", {"beta_init": 0}, "beta_init must be finite and > 0"),
        ("hyper_laplacian", {"beta_max": np.inf}, "beta_max must be finite and > 0"),
        ("hyper_laplacian", {"lam": True}, "lam must be a number"),
        ("hyper_laplacian", {"boundary": "valid"}, "unknown boundary 'valid'"),
    ],
)
def test_parameter_errors(name, params, fragment):
    y = np.zeros((16, 16), np.float32)
    with pytest.raises(InvalidParameterError, match=re.escape(fragment)):
        METHODS[name](y, psf.gaussian(1.0), **params)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_info_and_callback(valid_case, name):
    y, k, _ = valid_case
    info: dict = {}
    calls = []
    METHODS[name](y, k, num_iter=4, info=info, callback=lambda i, e: calls.append((i, e.shape)))
    assert calls == [(i, y.shape) for i in range(1, 5)]
    assert info["iterations"] == 4
    assert 0.5 / 255 < info["noise_sigma"] < 4 / 255  # the true sigma is 1% = 2.55 / 255
    assert info["lam"] > 0
    given = {}
    METHODS[name](y, k, lam=1e-3, num_iter=2, info=given)
    assert given["lam"] == 1e-3 and "noise_sigma" not in given


def test_tol_stops_early(valid_case):
    y, k, _ = valid_case
    info: dict = {}
    tv(y, k, num_iter=500, tol=1e-4, info=info)
    assert 5 < info["iterations"] < 200  # measured 34 (10 with the default tol=1e-3)
    assert info["relative_change"] < 1e-4 and info["stopped_by"] == "tol"
    info = {}
    hyper_laplacian(y, k, num_iter=500, tol=3e-3, info=info)
    assert 18 <= info["iterations"] < 500  # never before beta reaches beta_max (19 steps)


def test_default_tol_by_size():
    """1e-3 from a megapixel up, the square root of the share below, 2.5e-4 from 256² down."""
    assert default_tol(4000 * 3000) == default_tol(2**20) == 1e-3
    assert default_tol(512 * 512) == 5e-4
    assert default_tol(256 * 256) == default_tol(64 * 64) == default_tol(1) == 2.5e-4
    assert default_tol(768 * 768) == pytest.approx(7.5e-4)
    sizes = np.unique(np.geomspace(1, 2**24, 200).astype(int))
    values = [default_tol(int(n)) for n in sizes]
    assert np.all(np.diff(values) >= 0)


def test_default_tol_is_the_size_rule_and_converges_further(valid_case):
    """tv's 122² image runs to 2.5e-4 by default (stated in ``info``) and ends nearer the
    converged result than with the megapixel tolerance 1e-3."""
    y, k, _ = valid_case
    info: dict = {}
    x_auto = tv(y, k, info=info)
    assert info["tol"] == 2.5e-4 and info["stopped_by"] == "tol"
    assert info["relative_change"] < 2.5e-4
    loose: dict = {}
    x_loose = tv(y, k, tol=1e-3, info=loose)
    assert loose["tol"] == 1e-3 and loose["iterations"] < info["iterations"]
    x_conv = tv(y, k, tol=None, num_iter=400)
    err_auto = np.sqrt(np.mean((x_auto - x_conv) ** 2))
    err_loose = np.sqrt(np.mean((x_loose - x_conv) ** 2))
    assert err_auto < 0.6 * err_loose, (err_auto, err_loose)


def test_hyper_laplacian_keeps_its_tolerance(valid_case):
    """hyper_laplacian's default stays 1e-3 (its change settles near 4e-4); ``"auto"`` asks it
    for tv's size rule."""
    y, k, _ = valid_case
    default: dict = {}
    hyper_laplacian(y, k, num_iter=2, info=default)
    asked: dict = {}
    hyper_laplacian(y, k, num_iter=2, tol="auto", info=asked)
    assert (default["tol"], asked["tol"]) == (1e-3, 2.5e-4)


def test_registered_and_dispatched(valid_case):
    y, k, crop = valid_case
    for name in METHODS:
        assert get_method(name).iterative
    info = {}
    unblur.deconvolve(y, k, method="tv", num_iter=30, tol=None, info=info)
    assert info["parameters"]["lam"] > 0 and info["parameters"]["iterations"] == 30
    x_hl = unblur.deconvolve(y, k, method="hyper_laplacian", num_iter=60, alpha=0.7)
    assert psnr(inner(x_hl), inner(crop)) > psnr(inner(y), inner(crop)) + 3


# --------------------------------------------------------------------------------------------
# the starting estimate of the unknown boundary (restore._admm._start)
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("shape", "kernel"),
    [((40, 50), psf.motion(9, angle=30)), ((33, 47), psf.gaussian(2.0)),
     ((12, 13, 14), np.full((3, 5, 3), 1 / 45))],
)  # fmt: skip
def test_start_fills_the_unobserved_band(monkeypatch, shape, kernel):
    from unblur.restore import _admm
    from unblur.restore._common import boundary_for

    image = np.random.default_rng(0).random(shape)
    bc = boundary_for("unknown", image, kernel)
    widths = [(o, g - n - o) for o, g, n in zip(bc.offset, bc.grid_shape, shape, strict=True)]
    monkeypatch.setattr(_admm, "START", "edge")
    out = _admm._start(bc, image, np.empty(bc.grid_shape))
    np.testing.assert_array_equal(out, np.pad(image, widths, mode="edge"))
    monkeypatch.setattr(_admm, "START", "reflect")  # the boundary model's own extension
    out = _admm._start(bc, image, np.empty(bc.grid_shape))
    np.testing.assert_array_equal(out, bc.extend(image))


def test_start_changes_the_path_not_the_minimiser(monkeypatch):
    """Edge-replicated and mirrored starts converge to the same estimate; stopped by the
    rule at a photograph's tolerance (1e-3), the edge-started one is the closer to it (its
    unobserved band starts near where the minimiser puts it)."""
    from unblur.restore import _admm

    sharp = camera_mean(64)
    k = psf.motion(11, angle=0)
    y = unblur.add_noise(unblur.blur(sharp, k, boundary="valid"), gaussian=SIGMA, rng=1)
    converged, stopped = {}, {}
    for start in ("reflect", "edge"):
        monkeypatch.setattr(_admm, "START", start)
        converged[start] = tv(y, k, tol=1e-6, num_iter=1500)
        stopped[start] = tv(y, k, tol=1e-3)
    np.testing.assert_allclose(converged["edge"], converged["reflect"], rtol=0, atol=1e-3)

    def distance(a):
        return float(np.sqrt(np.mean((a - converged["edge"]) ** 2)))

    assert distance(stopped["edge"]) < distance(stopped["reflect"])


def test_relaxation_starts_without_a_jump_after_the_continuation(sharp):
    # hyper_laplacian over-relaxes once beta has reached beta_max (iteration 19 of the
    # defaults); its state m = (1 - r) z + u must change with r, or t jumps by (r - 1) z: with
    # a PSF model error (a fitted PSF) that jump printed stripes that took tens of iterations
    # to fade (the demo's blind clock photograph at 50 iterations)
    x = sharp.astype(np.float64)
    y = unblur.add_noise(unblur.blur(x, psf.motion(15), boundary="valid"), gaussian=0.003, rng=0)
    k = psf.motion(17, angle=3)
    previous, changes = {}, {}

    def record(i, estimate):
        if "x" in previous:
            changes[i] = float(np.sqrt(np.mean((estimate - previous["x"]) ** 2)))
        previous["x"] = estimate

    hyper_laplacian(y, k, tol=None, num_iter=24, callback=record)
    assert len(_schedule(1.0, np.sqrt(2.0), 400.0, 100)) == 19  # the 19th is the first relaxed
    assert max(changes[i] for i in range(19, 25)) < 2 * changes[18], changes
