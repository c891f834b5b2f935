"""Richardson-Lucy: restores real blur, obeys its identities, never produces NaN."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import centre, psnr
from scipy import ndimage, signal
from skimage import restoration

import unblur
from unblur import InvalidParameterError, InvalidPSFError, add_noise, blur, psf
from unblur.operators import BOUNDARIES
from unblur.restore.richardson_lucy import _TotalVariation, richardson_lucy

MOTION = psf.motion(9, 30)
GAUSS = psf.gaussian(1.5)


def reference_rl(y: np.ndarray, k: np.ndarray, num_iter: int) -> np.ndarray:
    """Textbook RL on a periodic grid, from x0 = y, written with scipy.ndimage (wrap mode)."""
    x = y.copy()
    for _ in range(num_iter):
        ratio = y / ndimage.convolve(x, k, mode="wrap")
        x = x * ndimage.correlate(ratio, k, mode="wrap")
    return x


def reference_unknown_rl(y: np.ndarray, k: np.ndarray, num_iter: int) -> np.ndarray:
    """Bertero & Boccacci's RL for unknown boundaries, with scipy's linear convolutions.

    The scene is larger than ``y`` by ``k.shape - 1``; ``H`` is the ``valid`` convolution,
    its adjoint the ``full`` correlation, and the update is normalised by ``H^T 1`` (floored at
    1 % of its peak; zero where it is below 1e-4 of it). Start: ``y``, its mean outside.
    """
    half = [p // 2 for p in k.shape]
    region = tuple(slice(h, h + n) for h, n in zip(half, y.shape, strict=True))
    flipped = k[::-1, ::-1]
    alpha = signal.fftconvolve(np.ones_like(y), flipped, mode="full")
    top = alpha.max()
    inv = np.where(alpha > 1e-4 * top, 1 / np.maximum(alpha, 0.01 * top), 0)
    x = np.full(alpha.shape, y.mean())
    x[region] = y
    for _ in range(num_iter):
        x = x * inv * signal.fftconvolve(y / signal.fftconvolve(x, k, mode="valid"), flipped)
    return x[region]


# --------------------------------------------------------------------------------------------
# restoration quality
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kernel", "noise", "gain"),
    [
        (MOTION, {"gaussian": 0.01}, 2.5),  # measured +3.1 dB
        (MOTION, {"poisson": 300}, 2.5),  # +3.1 dB
        (GAUSS, {"gaussian": 0.01}, 2.0),  # +2.6 dB
        (GAUSS, {"poisson": 300}, 2.0),  # +2.6 dB
    ],
)
def test_defaults_restore_a_valid_blur(camera, kernel, noise, gain):
    y = add_noise(blur(camera, kernel, boundary="valid"), rng=0, **noise)
    truth = centre(camera, y, kernel)
    info: dict = {}
    x_hat = richardson_lucy(y, kernel, info=info)
    assert x_hat.shape == y.shape
    assert psnr(x_hat, truth) > psnr(y, truth) + gain
    assert info["iterations"] == 30
    # the default rule, stated: 30 fixed iterations (docs/notes/restore_defaults.md)
    assert info["stopped_by"] == "num_iter" and info["num_iter"] == 30
    assert info["tol"] is None and info["misfit_tol"] is None
    assert 0 < info["regularization"] < 0.125  # chosen from the noise, below its cap
    # Poisson(300 x) at the mean intensity ~0.35: sigma = sqrt(0.35 / 300) = 0.034
    assert info["noise_sigma"] == pytest.approx(noise.get("gaussian", 0.034), rel=0.25)


def test_acceleration_reaches_the_same_quality_in_half_the_iterations(camera):
    y = add_noise(blur(camera, MOTION, boundary="periodic"), poisson=1e5, rng=1)
    curves = {}
    for acc in (False, True):
        curve: list[float] = []
        richardson_lucy(
            y,
            MOTION,
            num_iter=40,
            acceleration=acc,
            regularization=0,
            boundary="periodic",
            callback=lambda i, e, c=curve: c.append(psnr(e, camera)),
        )
        curves[acc] = curve
    target = curves[False][-1]  # plain RL after 40 iterations (measured 27.7 dB)
    first = next(i + 1 for i, p in enumerate(curves[True]) if p >= target)
    assert first <= 20  # measured: 15
    assert max(curves[True]) > target + 1.0  # and it goes further (measured +1.9 dB)


def test_unknown_boundary_beats_periodic_on_a_valid_blur(camera):
    k = psf.motion(15, 0)
    y = add_noise(blur(camera, k, boundary="valid"), gaussian=0.01, rng=2)
    truth = centre(camera, y, k)
    scores = {b: psnr(richardson_lucy(y, k, boundary=b), truth) for b in BOUNDARIES}
    assert scores["unknown"] > scores["periodic"] + 8  # measured 24.6 vs 10.3 dB
    assert scores["unknown"] > psnr(y, truth) + 2  # measured +3.4 dB


def test_tv_regularisation_tames_noise_amplification(camera):
    y = add_noise(blur(camera, MOTION, boundary="periodic"), gaussian=0.02, rng=4)
    kwargs = {"num_iter": 60, "boundary": "periodic"}
    plain = psnr(richardson_lucy(y, MOTION, regularization=0, **kwargs), camera)
    info: dict = {}
    tv = psnr(richardson_lucy(y, MOTION, info=info, **kwargs), camera)
    assert tv > plain + 8  # measured 26.4 vs 12.7 dB
    assert tv > psnr(y, camera) + 2  # measured +2.9 dB
    assert 0.01 < info["regularization"] < 0.02  # 0.7 sigma / peak, sigma = 0.02


def test_three_dimensional_stack(stack3d):
    k = psf.gaussian((0.7, 1.2, 1.2))
    y = add_noise(blur(stack3d, k, boundary="valid"), gaussian=0.002, rng=0)
    truth = centre(stack3d, y, k)
    x_hat = richardson_lucy(y, k)
    assert x_hat.shape == y.shape
    assert psnr(x_hat, truth) > psnr(y, truth) + 4  # measured +7.3 dB


# --------------------------------------------------------------------------------------------
# identities
# --------------------------------------------------------------------------------------------
def test_plain_rl_matches_a_textbook_implementation(camera):
    y = add_noise(blur(camera, MOTION, boundary="periodic"), poisson=1e4, rng=5)
    ours = richardson_lucy(
        y, MOTION, num_iter=10, acceleration=False, regularization=0, boundary="periodic"
    )
    np.testing.assert_allclose(ours, reference_rl(y, MOTION, 10), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kernel", [MOTION, GAUSS])
def test_unknown_boundary_rl_matches_bertero_boccacci(camera, kernel):
    y = add_noise(blur(camera, kernel, boundary="valid"), poisson=1e4, rng=14)
    ours = richardson_lucy(y, kernel, num_iter=10, acceleration=False, regularization=0)
    np.testing.assert_allclose(ours, reference_unknown_rl(y, kernel, 10), rtol=1e-8, atol=1e-12)


def test_plain_rl_is_close_to_scikit_image(camera):
    # scikit-image pads with zeros and starts from 0.5: compare away from the border
    y = add_noise(blur(camera, GAUSS, boundary="periodic"), gaussian=0.005, rng=3)
    theirs = restoration.richardson_lucy(y, GAUSS, num_iter=30, clip=False)
    ours = richardson_lucy(
        y, GAUSS, num_iter=30, acceleration=False, regularization=0, boundary="periodic"
    )
    inner = (slice(16, -16),) * 2
    assert abs(psnr(ours[inner], camera[inner]) - psnr(theirs[inner], camera[inner])) < 0.5
    assert np.sqrt(np.mean((ours[inner] - theirs[inner]) ** 2)) < 0.01  # measured 0.005


def test_plain_periodic_rl_preserves_flux(camera):
    y = blur(camera, MOTION, boundary="periodic")
    sums: list[float] = []
    richardson_lucy(
        y,
        MOTION,
        num_iter=5,
        acceleration=False,
        regularization=0,
        boundary="periodic",
        callback=lambda i, e: sums.append(float(e.sum())),
    )
    np.testing.assert_allclose(sums, y.sum(), rtol=1e-10)


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("acceleration", [False, True])
def test_a_delta_psf_returns_the_image(camera, boundary, acceleration):
    delta = np.ones((1, 1))
    x_hat = richardson_lucy(
        camera, delta, regularization=0, boundary=boundary, acceleration=acceleration
    )
    np.testing.assert_allclose(x_hat, camera, rtol=1e-12, atol=1e-14)


def test_scaling_the_image_scales_the_result(camera):
    y = add_noise(blur(camera, GAUSS, boundary="valid"), gaussian=0.01, rng=6)
    np.testing.assert_allclose(
        richardson_lucy(255 * y, GAUSS), 255 * richardson_lucy(y, GAUSS), rtol=1e-6, atol=1e-9
    )


def test_tv_denominator_matches_numpy_differences():
    rng = np.random.default_rng(7)
    v = rng.random((5, 6, 7))
    plain = rng.random(v.shape) + 1
    weight, eps = 0.03, 0.1
    tv = _TotalVariation(plain, None, weight, eps)
    got = tv.denominator(v, np.empty_like(v))
    grads = [np.diff(v, axis=ax, append=np.take(v, [-1], axis=ax)) for ax in range(3)]
    norm = np.sqrt(sum(g**2 for g in grads) + eps**2)
    div = sum(
        np.diff(g / norm, axis=ax, prepend=0 * np.take(g, [0], axis=ax))
        for ax, g in enumerate(grads)
    )
    np.testing.assert_allclose(got, plain - weight * div, rtol=1e-12)


# --------------------------------------------------------------------------------------------
# iteration control, callback, dispatch
# --------------------------------------------------------------------------------------------
def test_callback_sees_every_iteration(camera):
    y = blur(camera, GAUSS, boundary="valid")
    seen: list[tuple[int, tuple, np.ndarray]] = []
    out = richardson_lucy(y, GAUSS, num_iter=7, callback=lambda i, e: seen.append((i, e)))
    assert [i for i, _ in seen] == list(range(1, 8))
    assert all(e.shape == y.shape for _, e in seen)
    np.testing.assert_array_equal(seen[-1][1], out)
    assert not np.array_equal(seen[0][1], seen[-1][1])  # copies, not one reused buffer


@pytest.mark.parametrize("acceleration", [False, True])
def test_tol_stops_early_and_says_so(camera, acceleration):
    y = blur(camera, GAUSS, boundary="valid")
    info: dict = {}
    calls: list[int] = []
    richardson_lucy(
        y,
        GAUSS,
        num_iter=200,
        tol=3e-3,
        acceleration=acceleration,
        info=info,
        callback=lambda i, e: calls.append(i),
    )
    assert 2 <= info["iterations"] < 200
    assert calls == list(range(1, info["iterations"] + 1))
    assert info["relative_change"] < 3e-3


def test_misfit_rule_measures_the_data_misfit_of_each_step(camera):
    # plain periodic RL: the step's prediction is the estimate itself, so the misfit that
    # iteration k measures is ||H x_{k-1} - y||^2, with x_0 = y
    y = add_noise(blur(camera, GAUSS, boundary="periodic"), gaussian=0.01, rng=3)
    y = np.maximum(y, 0)
    estimates = [y]
    info: dict = {}
    richardson_lucy(
        y, GAUSS, num_iter=200, misfit_tol=1e-2, acceleration=False, regularization=0,
        boundary="periodic", info=info, callback=lambda i, e: estimates.append(e),
    )  # fmt: skip
    n = info["iterations"]
    assert info["stopped_by"] == "misfit" and 2 <= n < 200
    misfit = [
        float(np.sum((ndimage.convolve(x, GAUSS, mode="wrap") - y) ** 2)) for x in estimates[:n]
    ]
    # the mean relative decrease over the last two steps
    decrease = [(a - c) / (2 * c) for a, c in zip(misfit[:-2], misfit[2:], strict=True)]
    assert info["misfit_decrease"] == pytest.approx(decrease[-1], rel=1e-6)
    assert decrease[-1] < 1e-2 <= min(decrease[:-1])  # the first iteration below the threshold
    assert info["misfit_tol"] == 1e-2 and info["num_iter"] == 200 and info["tol"] is None


def test_misfit_rule_counts_only_the_masked_pixels(camera):
    # as above with a mask: the misfit is ||M(H x_{k-1} - y)||^2 over the trusted pixels only
    y = add_noise(blur(camera, GAUSS, boundary="periodic"), gaussian=0.01, rng=4)
    y = np.maximum(y, 0)
    mask = np.ones(y.shape, bool)
    mask[40:60, 50:90] = False
    y[~mask] = 5.0  # untrusted values far from the model
    estimates = [y]
    info: dict = {}
    richardson_lucy(
        y, GAUSS, num_iter=200, misfit_tol=1e-2, acceleration=False, regularization=0,
        boundary="periodic", mask=mask, info=info, callback=lambda i, e: estimates.append(e),
    )  # fmt: skip
    n = info["iterations"]
    misfit = [
        float(np.sum(((ndimage.convolve(x, GAUSS, mode="wrap") - y) * mask) ** 2))
        for x in estimates[n - 3 : n]
    ]
    expected = (misfit[0] - misfit[2]) / (2 * misfit[2])
    assert info["misfit_decrease"] == pytest.approx(expected, rel=1e-6)


def test_deconvolve_dispatches_to_the_same_computation(camera):
    y = add_noise(blur(camera, MOTION, boundary="valid"), gaussian=0.01, rng=8)
    direct = richardson_lucy(y, MOTION, num_iter=12)
    info = {}
    via = unblur.deconvolve(y, MOTION, method="richardson_lucy", num_iter=12, info=info)
    np.testing.assert_array_equal(via, direct)
    assert info["parameters"]["iterations"] == 12
    assert info["parameters"]["regularization"] > 0
    assert "richardson_lucy" in unblur.available_methods()


# --------------------------------------------------------------------------------------------
# robustness: dtype, NaN, non-negativity, mutation
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_float32_stays_float32(camera, boundary):
    y = add_noise(blur(camera.astype(np.float32), GAUSS, boundary="valid"), gaussian=0.01, rng=9)
    assert y.dtype == np.float32
    x_hat = richardson_lucy(y, GAUSS, boundary=boundary, num_iter=10)
    assert x_hat.dtype == np.float32
    truth = centre(camera, y, GAUSS)
    assert psnr(x_hat[8:-8, 8:-8], truth[8:-8, 8:-8]) > psnr(y[8:-8, 8:-8], truth[8:-8, 8:-8])


def test_output_is_non_negative_for_negative_data(camera):
    y = add_noise(blur(0.05 * camera, GAUSS, boundary="valid"), gaussian=0.02, rng=10)
    assert y.min() < 0
    x_hat = richardson_lucy(y, GAUSS)
    assert x_hat.min() >= 0
    assert np.all(np.isfinite(x_hat))


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("regularization", [0, None])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_no_nan_on_zeros_and_tiny_images(boundary, regularization, dtype):
    kwargs = {"boundary": boundary, "regularization": regularization, "num_iter": 8}
    zero = np.zeros((16, 16), dtype)
    out = richardson_lucy(zero, psf.gaussian(1.0), **kwargs)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, 0)

    holes = np.random.default_rng(11).random((24, 24)).astype(dtype)
    holes[4:12, 4:12] = 0
    out = richardson_lucy(holes, MOTION, **kwargs)
    assert np.all(np.isfinite(out)) and out.min() >= 0

    tiny = np.random.default_rng(12).random((5, 5)).astype(dtype)
    out = richardson_lucy(tiny, np.ones((3, 3)) / 9, **kwargs)
    assert out.shape == (5, 5) and out.dtype == dtype
    assert np.all(np.isfinite(out)) and out.min() >= 0


def test_clip_and_filter_epsilon(camera):
    y = blur(camera, GAUSS, boundary="valid")
    assert richardson_lucy(y, GAUSS, clip=True).max() <= 1
    # a ratio y / Hx zeroed everywhere leaves nothing: the estimate collapses to zero
    np.testing.assert_array_equal(richardson_lucy(y, GAUSS, filter_epsilon=10.0), 0)
    np.testing.assert_allclose(
        richardson_lucy(y, GAUSS, filter_epsilon=1e-30), richardson_lucy(y, GAUSS), rtol=1e-12
    )


# --------------------------------------------------------------------------------------------
# parameter validation
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"num_iter": 0}, "num_iter must be an integer >= 1"),
        ({"num_iter": 2.5}, "num_iter must be an integer >= 1"),
        ({"num_iter": True}, "num_iter must be an integer >= 1"),
        ({"regularization": -0.1}, "regularization must be finite and >= 0"),
        ({"regularization": 0.25}, "regularization must be < 1/(2*ndim) = 0.25"),
        ({"regularization": "a"}, "regularization must be a number"),
        ({"tol": 0}, "tol must be finite and > 0"),
        ({"misfit_tol": -1e-3}, "misfit_tol must be finite and > 0"),
        ({"filter_epsilon": -1.0}, "filter_epsilon must be finite and > 0"),
        ({"boundary": "mirror"}, "unknown boundary 'mirror'"),
    ],
)
def test_bad_parameters_are_rejected(camera, params, fragment):
    with pytest.raises(InvalidParameterError, match=re.escape(fragment)):
        richardson_lucy(camera, GAUSS, **params)


def test_psf_larger_than_the_image_is_rejected():
    with pytest.raises(InvalidPSFError, match="larger than the image"):
        richardson_lucy(np.ones((5, 5)), np.ones((7, 7)) / 49)
