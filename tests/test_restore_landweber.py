"""Landweber: restores real blur, descends monotonically, obeys its identities."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import centre, psnr
from scipy import ndimage

import unblur
from unblur import InvalidParameterError, add_noise, blur, psf
from unblur.operators import BOUNDARIES
from unblur.restore.landweber import landweber

MOTION = psf.motion(9, 30)
GAUSS = psf.gaussian(1.5)


# --------------------------------------------------------------------------------------------
# restoration quality
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kernel", "gain"), [(MOTION, 1.5), (GAUSS, 1.0)])  # +2.1, +1.4 dB
def test_defaults_restore_a_valid_blur(camera, kernel, gain):
    y = add_noise(blur(camera, kernel, boundary="valid"), gaussian=0.005, rng=0)
    truth = centre(camera, y, kernel)
    info: dict = {}
    x_hat = landweber(y, kernel, info=info)
    assert x_hat.shape == y.shape
    assert psnr(x_hat, truth) > psnr(y, truth) + gain
    assert 1 < info["iterations"] < 100  # the discrepancy principle stopped it (18, 23)
    assert info["noise_sigma"] == pytest.approx(0.005, rel=0.3)
    assert info["step"] == pytest.approx(1.9)


def test_discrepancy_principle_stops_at_the_noise_level(camera):
    y = add_noise(blur(camera, GAUSS, boundary="periodic"), gaussian=0.01, rng=9)
    estimates: list[np.ndarray] = []
    info: dict = {}
    out = landweber(
        y, GAUSS, boundary="periodic", info=info, callback=lambda i, e: estimates.append(e)
    )
    target = info["noise_sigma"] ** 2 * y.size

    def misfit(x):
        return float(np.sum((blur(x, GAUSS, boundary="periodic") - y) ** 2))

    assert 2 <= info["iterations"] < 100
    assert misfit(out) <= target * (1 + 1e-9)  # fits to the noise level ...
    assert misfit(estimates[-2]) > target * (1 - 1e-9)  # ... and not one iteration earlier
    # without the rule it runs on
    landweber(y, GAUSS, boundary="periodic", discrepancy=None, num_iter=60, info=info)
    assert info["iterations"] == 60


def test_unknown_boundary_beats_periodic_on_a_valid_blur(camera):
    k = psf.motion(15, 0)
    y = add_noise(blur(camera, k, boundary="valid"), gaussian=0.005, rng=2)
    truth = centre(camera, y, k)
    scores = {b: psnr(landweber(y, k, boundary=b), truth) for b in BOUNDARIES}
    assert scores["unknown"] > scores["periodic"] + 5  # measured 24.7 vs 15.0 dB
    assert scores["unknown"] > psnr(y, truth) + 2  # measured +3.4 dB


def test_three_dimensional_stack(stack3d):
    vol = stack3d
    k = psf.gaussian((0.7, 1.2, 1.2))
    y = add_noise(blur(vol, k, boundary="valid"), gaussian=0.002, rng=0)
    truth = centre(vol, y, k)
    x_hat = landweber(y, k)
    assert x_hat.shape == y.shape
    assert psnr(x_hat, truth) > psnr(y, truth) + 2  # measured +3.6 dB


# --------------------------------------------------------------------------------------------
# identities and convergence
# --------------------------------------------------------------------------------------------
def test_one_step_is_the_textbook_update(camera):
    y = add_noise(blur(camera, MOTION, boundary="periodic"), gaussian=0.01, rng=1)
    x1 = landweber(y, MOTION, num_iter=1, step=1.3, nonneg=False, boundary="periodic")
    residual = y - ndimage.convolve(y, MOTION, mode="wrap")
    expected = y + 1.3 * ndimage.correlate(residual, MOTION, mode="wrap")
    np.testing.assert_allclose(x1, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_a_delta_psf_returns_the_image(camera, boundary):
    x_hat = landweber(camera, np.ones((1, 1)), boundary=boundary)
    np.testing.assert_allclose(x_hat, camera, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("nonneg", [False, True])
def test_misfit_decreases_monotonically(camera, nonneg):
    # gradient descent (projected or not) with a step below 2 / |H|^2 never increases the misfit
    y = add_noise(blur(camera, GAUSS, boundary="periodic"), gaussian=0.01, rng=3)
    misfit: list[float] = []
    landweber(
        y,
        GAUSS,
        num_iter=30,
        nonneg=nonneg,
        discrepancy=None,
        boundary="periodic",
        callback=lambda i, e: misfit.append(
            float(np.sum((blur(e, GAUSS, boundary="periodic") - y) ** 2))
        ),
    )
    assert np.all(np.diff(misfit) <= 1e-12 * misfit[0])
    assert misfit[-1] < 0.5 * misfit[0]


# --------------------------------------------------------------------------------------------
# iteration control, callback, dispatch
# --------------------------------------------------------------------------------------------
def test_callback_sees_every_iteration(camera):
    y = blur(camera, GAUSS, boundary="valid")
    seen: list[tuple[int, np.ndarray]] = []
    out = landweber(
        y, GAUSS, num_iter=6, discrepancy=None, callback=lambda i, e: seen.append((i, e))
    )
    assert [i for i, _ in seen] == list(range(1, 7))
    assert all(e.shape == y.shape for _, e in seen)
    np.testing.assert_array_equal(seen[-1][1], out)
    assert not np.array_equal(seen[0][1], seen[-1][1])


def test_deconvolve_dispatches_to_the_same_computation(camera):
    y = add_noise(blur(camera, MOTION, boundary="valid"), gaussian=0.01, rng=4)
    direct = landweber(y, MOTION, num_iter=15, discrepancy=None)
    info = {}
    via = unblur.deconvolve(y, MOTION, method="landweber", num_iter=15, discrepancy=None, info=info)
    np.testing.assert_array_equal(via, direct)
    assert info["parameters"]["step"] == pytest.approx(1.9)
    assert info["parameters"]["iterations"] == 15


# --------------------------------------------------------------------------------------------
# robustness: dtype, NaN, sign, mutation
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_float32_stays_float32(camera, boundary):
    y = add_noise(blur(camera.astype(np.float32), GAUSS, boundary="valid"), gaussian=0.005, rng=5)
    x_hat = landweber(y, GAUSS, boundary=boundary, num_iter=20)
    assert x_hat.dtype == np.float32
    truth = centre(camera, y, GAUSS)
    assert psnr(x_hat[8:-8, 8:-8], truth[8:-8, 8:-8]) > psnr(y[8:-8, 8:-8], truth[8:-8, 8:-8])


def test_nonneg_projects_and_can_be_switched_off(camera):
    y = add_noise(blur(0.05 * camera, GAUSS, boundary="valid"), gaussian=0.02, rng=6)
    assert landweber(y, GAUSS).min() >= 0
    assert landweber(y, GAUSS, nonneg=False).min() < 0


# --------------------------------------------------------------------------------------------
# parameter validation
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"num_iter": 0}, "num_iter must be an integer >= 1"),
        ({"num_iter": 1.5}, "num_iter must be an integer >= 1"),
        ({"step": 0}, "step must be finite and > 0"),
        ({"step": -1.0}, "step must be finite and > 0"),
        ({"step": 2.0}, "step must be < 2/max|H|^2"),
        ({"step": "big"}, "step must be a number"),
        ({"tol": -1e-3}, "tol must be finite and > 0"),
        ({"discrepancy": 0}, "discrepancy must be finite and > 0"),
        ({"boundary": "wrap"}, "unknown boundary 'wrap'"),
    ],
)
def test_bad_parameters_are_rejected(camera, params, fragment):
    with pytest.raises(InvalidParameterError, match=re.escape(fragment)):
        landweber(camera, GAUSS, **params)
