"""Tests of the Wiener and Tikhonov methods (unblur.restore.wiener)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage
from conftest import camera_mean, centre
from conftest import psnr_clipped as psnr

import unblur
from unblur import InvalidParameterError, psf
from unblur.restore import get_method
from unblur.restore.wiener import tikhonov, wiener

SIGMA = 0.01


@pytest.fixture(scope="module")
def sharp() -> np.ndarray:
    """camera() averaged down to 128x128, float64 in [0, 1]."""
    return camera_mean(128)


PSFS = {"gaussian": psf.gaussian(1.5), "motion": psf.motion(9, angle=30)}


def periodic_case(x: np.ndarray, name: str, sigma: float = SIGMA) -> tuple[np.ndarray, np.ndarray]:
    k = PSFS[name]
    y = unblur.blur(x, k, boundary="periodic")
    return unblur.add_noise(y, gaussian=sigma, rng=1) if sigma else y, k


def valid_case(x: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Physically blurred ('valid') noisy observation, its PSF and the matching sharp crop."""
    k = PSFS[name]
    y = unblur.add_noise(unblur.blur(x, k, boundary="valid"), gaussian=SIGMA, rng=1)
    return y, k, centre(x, y, k)


# --------------------------------------------------------------------------------------------
# restoration quality against known truth
# --------------------------------------------------------------------------------------------
# measured: wiener 25.76 / 25.57 dB, tikhonov 25.63 / 25.31 dB; blurred 23.65 / 22.26 dB
@pytest.mark.parametrize(
    ("method", "name", "threshold"),
    [
        (wiener, "gaussian", 25.4),
        (wiener, "motion", 25.2),
        (tikhonov, "gaussian", 25.3),
        (tikhonov, "motion", 24.9),
    ],
)
def test_auto_periodic_restores(sharp, method, name, threshold):
    y, k = periodic_case(sharp, name)
    restored = method(y, k, boundary="periodic")
    assert psnr(restored, sharp) > threshold
    assert psnr(restored, sharp) > psnr(y, sharp) + 1.8


# measured: wiener taper 25.83 / 24.62, reflect 25.55; tikhonov taper 25.79; blurred 23.79 / 22.71
@pytest.mark.parametrize(
    ("method", "name", "boundary", "threshold"),
    [
        (wiener, "gaussian", "taper", 25.5),
        (wiener, "gaussian", "reflect", 25.2),
        (wiener, "motion", "taper", 24.2),
        (tikhonov, "gaussian", "taper", 25.4),
    ],
)
def test_auto_valid_blur_restores_the_crop(sharp, method, name, boundary, threshold):
    y, k, crop = valid_case(sharp, name)
    restored = method(y, k, boundary=boundary)
    assert restored.shape == y.shape
    assert psnr(restored, crop) > threshold
    assert psnr(restored, crop) > psnr(y, crop) + 1.4


def test_taper_is_the_default_boundary(sharp):
    y, k, _ = valid_case(sharp, "motion")
    np.testing.assert_array_equal(wiener(y, k), wiener(y, k, boundary="taper"))
    np.testing.assert_array_equal(tikhonov(y, k), tikhonov(y, k, boundary="taper"))


def test_tiny_balance_without_noise_is_the_inverse_filter(sharp):
    y, k = periodic_case(sharp, "motion", sigma=0)
    restored = wiener(y, k, balance=1e-12, boundary="periodic")
    assert psnr(restored, sharp) > 40  # measured 123 dB
    inverse = unblur.deconvolve(y, k, method="inverse", boundary="periodic")
    np.testing.assert_allclose(restored, inverse, atol=1e-5)


def test_fixed_balance_matches_the_fourier_formula(sharp):
    y, k = periodic_case(sharp, "motion")
    balance = 0.02
    padded = np.zeros(y.shape)
    padded[: k.shape[0], : k.shape[1]] = k
    otf = np.fft.fft2(np.roll(padded, (-(k.shape[0] // 2), -(k.shape[1] // 2)), axis=(0, 1)))
    expected = np.fft.ifft2(np.conj(otf) * np.fft.fft2(y) / (np.abs(otf) ** 2 + balance)).real
    np.testing.assert_allclose(
        wiener(y, k, balance=balance, boundary="periodic"), expected, atol=1e-10
    )


def test_wiener_balance_equals_tikhonov_with_identity(sharp):
    y, k, _ = valid_case(sharp, "gaussian")
    for boundary in ("periodic", "reflect", "taper"):
        np.testing.assert_allclose(
            wiener(y, k, balance=0.005, boundary=boundary),
            tikhonov(y, k, lam=0.005, regularizer="identity", boundary=boundary),
            atol=1e-12,
        )


@pytest.mark.parametrize("method", [wiener, tikhonov])
def test_auto_keeps_the_mean(sharp, method):
    y, k = periodic_case(sharp, "gaussian")
    assert method(y, k, boundary="periodic").mean() == pytest.approx(y.mean(), abs=1e-10)


@pytest.mark.parametrize("regularizer", ["laplacian", "gradient", "identity"])
def test_every_regularizer_improves(sharp, regularizer):
    y, k = periodic_case(sharp, "motion")
    restored = tikhonov(y, k, regularizer=regularizer, boundary="periodic")
    assert psnr(restored, sharp) > psnr(y, sharp) + 1.5


# --------------------------------------------------------------------------------------------
# automatic parameters
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["gaussian", "motion"])
def test_gcv_lambda_is_within_a_decade_of_the_best(sharp, name):
    y, k = periodic_case(sharp, name)
    info: dict = {}
    tikhonov(y, k, boundary="periodic", info=info)
    grid = 10.0 ** np.arange(-5, 0.01, 0.25)
    scores = [psnr(tikhonov(y, k, lam=lam, boundary="periodic"), sharp) for lam in grid]
    best = grid[int(np.argmax(scores))]
    assert abs(np.log10(info["lam"] / best)) <= 1.0
    # the noise level implied by the GCV fit is the true one
    assert info["sigma"] == pytest.approx(SIGMA, rel=0.15)


def test_wiener_records_its_choices(sharp):
    y, k = periodic_case(sharp, "gaussian")
    info: dict = {}
    wiener(y, k, boundary="periodic", info=info)
    assert set(info) == {"sigma", "alpha", "amplitude", "psf_error"}
    assert info["sigma"] == pytest.approx(SIGMA, abs=0.0015)  # measured 0.0106
    assert 1.5 < info["alpha"] < 3.5  # natural images: about 2
    assert info["amplitude"] > 0
    assert info["psf_error"] < 0.01  # the PSF is exact here


def test_wiener_detects_a_wrong_psf(sharp):
    y, k = periodic_case(sharp, "motion")
    exact: dict = {}
    wrong: dict = {}
    wiener(y, k, boundary="periodic", info=exact)
    wiener(y, psf.motion(12, angle=40), boundary="periodic", info=wrong)
    assert exact["psf_error"] < 0.01 < 0.1 < wrong["psf_error"]  # measured 1e-4 and 0.49


def test_wiener_auto_beats_a_good_fixed_balance(sharp):
    y, k = periodic_case(sharp, "motion")
    fixed = max(
        psnr(wiener(y, k, balance=b, boundary="periodic"), sharp) for b in (3e-3, 1e-2, 3e-2, 0.1)
    )
    assert psnr(wiener(y, k, boundary="periodic"), sharp) > fixed


def test_fixed_parameters_write_nothing(sharp):
    y, k = periodic_case(sharp, "gaussian")
    info: dict = {}
    wiener(y, k, balance=0.01, info=info)
    tikhonov(y, k, lam=0.01, info=info)
    assert info == {}


# --------------------------------------------------------------------------------------------
# parameters
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("balance", [-1.0, np.nan, np.inf, "a lot"])
def test_bad_balance(sharp, balance):
    with pytest.raises(InvalidParameterError, match="balance"):
        wiener(sharp, PSFS["gaussian"], balance=balance)


@pytest.mark.parametrize("lam", [-1e-3, np.nan])
def test_bad_lambda(sharp, lam):
    with pytest.raises(InvalidParameterError, match="lam"):
        tikhonov(sharp, PSFS["gaussian"], lam=lam)


def test_unknown_regularizer(sharp):
    with pytest.raises(InvalidParameterError, match="unknown regularizer 'tv'"):
        tikhonov(sharp, PSFS["gaussian"], regularizer="tv")


@pytest.mark.parametrize("method", [wiener, tikhonov])
def test_unknown_boundary_needs_an_iterative_method(sharp, method):
    with pytest.raises(InvalidParameterError, match="needs an iterative method"):
        method(sharp, PSFS["gaussian"], boundary="unknown")
    with pytest.raises(InvalidParameterError, match="unknown boundary"):
        method(sharp, PSFS["gaussian"], boundary="mirror")


# --------------------------------------------------------------------------------------------
# dtypes, dimensions, degenerate input
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", [wiener, tikhonov])
@pytest.mark.parametrize("boundary", ["periodic", "reflect", "taper"])
def test_float32_stays_float32(sharp, method, boundary):
    y, k = periodic_case(sharp, "motion")
    out32 = method(y.astype(np.float32), k, boundary=boundary)
    out64 = method(y, k, boundary=boundary)
    assert out32.dtype == np.float32
    assert out64.dtype == np.float64
    np.testing.assert_allclose(out32, out64, atol=1e-4)


@pytest.fixture(scope="module")
def stack() -> np.ndarray:
    """Smooth random 3-D stack in [0, 1]."""
    s = scipy.ndimage.gaussian_filter(np.random.default_rng(0).standard_normal((24, 48, 48)), 2.0)
    return (s - s.min()) / (s.max() - s.min())


# measured: blurred 28.24 dB, wiener 32.82, tikhonov 32.88
@pytest.mark.parametrize("method", [wiener, tikhonov])
def test_3d_stack(stack, method):
    k = psf.gaussian(1.2, ndim=3)
    y = unblur.add_noise(unblur.blur(stack, k, boundary="periodic"), gaussian=SIGMA, rng=2)
    restored = method(y.astype(np.float32), k, boundary="periodic")
    assert restored.shape == stack.shape
    assert restored.dtype == np.float32
    assert psnr(restored, stack) > 32.3
    assert psnr(restored, stack) > psnr(y, stack) + 4


@pytest.mark.parametrize("method", [wiener, tikhonov])
@pytest.mark.parametrize(
    "image",
    [
        np.full((16, 16), 0.5),
        np.random.default_rng(3).random((5, 6)),
        np.random.default_rng(4).random((3, 3)) * 1e-30,
        np.random.default_rng(5).random(7),
    ],
    ids=["constant", "tiny", "subnormal-ish", "1-D"],
)
def test_degenerate_images_stay_finite(method, image):
    k = psf.gaussian(0.8, ndim=image.ndim, size=3)
    for boundary in ("periodic", "reflect", "taper"):
        info: dict = {}
        out = method(image, k, boundary=boundary, info=info)
        assert out.shape == image.shape
        assert np.all(np.isfinite(out))
        assert all(np.isfinite(v) for v in info.values())
    if image.min() == image.max():
        np.testing.assert_allclose(method(image, k), image, atol=1e-12)


# --------------------------------------------------------------------------------------------
# through the public API
# --------------------------------------------------------------------------------------------
def test_registered():
    assert {"wiener", "tikhonov"} <= set(unblur.available_methods())
    assert not get_method("wiener").iterative
    assert set(get_method("tikhonov").parameters) == {"lam", "regularizer", "boundary"}


def test_deconvolve_wiener(sharp):
    y, k = periodic_case(sharp, "gaussian")
    info = {}
    restored = unblur.deconvolve(
        y.astype(np.float32), k, method="wiener", boundary="periodic", info=info
    )
    assert restored.dtype == np.float32
    assert psnr(restored, sharp) > 25.4
    params = info["parameters"]
    assert params["balance"] is None
    assert params["boundary"] == "periodic"
    assert params["sigma"] == pytest.approx(SIGMA, abs=0.0015)


def test_deconvolve_tikhonov_colour(sharp):
    y, k = periodic_case(sharp, "motion")
    rgb = np.stack([y, 0.5 * y, y[::-1]], axis=-1)
    restored = unblur.deconvolve(
        rgb, k, method="tikhonov", boundary="periodic", channel_axis=-1, lam=0.01
    )
    assert restored.shape == rgb.shape
    np.testing.assert_allclose(
        restored[..., 1], tikhonov(0.5 * y, k, lam=0.01, boundary="periodic"), atol=1e-12
    )
    assert psnr(restored[..., 0], sharp) > psnr(y, sharp) + 2
