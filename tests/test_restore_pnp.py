"""Tests of plug-and-play deconvolution (restore.pnp)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from conftest import camera_mean, centre
from conftest import psnr_clipped as psnr

import unblur
from unblur import InvalidParameterError, psf
from unblur.restore import get_method
from unblur.restore.pnp import DENOISERS, available_denoisers, pnp

SIGMA = 0.01
HAS_BM3D = importlib.util.find_spec("bm3d") is not None


def inner(a: np.ndarray, border: int = 5) -> np.ndarray:
    return a[(slice(border, -border),) * a.ndim]


@pytest.fixture(scope="module")
def sharp() -> np.ndarray:
    """camera() averaged down to 64x64, float64 in [0, 1]."""
    return camera_mean(64)


@pytest.fixture(scope="module")
def periodic_case(sharp):
    k = psf.gaussian(1.5)
    x = sharp.astype(np.float32)
    y = unblur.add_noise(unblur.blur(x, k, boundary="periodic"), gaussian=SIGMA, rng=0)
    return y, k, sharp


@pytest.fixture(scope="module")
def valid_case(sharp):
    """Physically ('valid') blurred noisy observation (float32), its PSF and the sharp crop."""
    k = psf.motion(7, angle=30)
    x = sharp.astype(np.float32)
    y = unblur.add_noise(unblur.blur(x, k, boundary="valid"), gaussian=SIGMA, rng=1)
    return y, k, centre(sharp, y, k)


# --------------------------------------------------------------------------------------------
# restoration quality against the sharp image
# --------------------------------------------------------------------------------------------
def test_periodic_blur_restored(periodic_case):
    y, k, x = periodic_case
    info: dict = {}
    out = pnp(y, k, denoiser="tv", boundary="periodic", info=info)
    # measured: blurred 22.4 dB, restored 25.7 dB
    assert psnr(out, x) > psnr(y, x) + 2.5
    assert info["denoiser"] == "tv"


def test_valid_blur_restored(valid_case):
    y, k, x = valid_case
    out = pnp(y, k, denoiser="tv", num_iter=3)
    # measured: blurred 22.8 dB, restored 26.4 dB (borders included: unknown boundary);
    # interior 22.2 -> 25.9 dB
    assert psnr(out, x) > psnr(y, x) + 2.5
    assert psnr(inner(out), inner(x)) > psnr(inner(y), inner(x)) + 2.5


def test_valid_blur_from_observation(valid_case):
    """A cold start with the DPIR-style schedule also deblurs."""
    y, k, x = valid_case
    out = pnp(y, k, denoiser="tv", init="observation", num_iter=8)
    assert psnr(out, x) > psnr(y, x) + 2.5  # measured 22.8 -> 26.1 dB


@pytest.mark.parametrize("name", [n for n in available_denoisers() if n != "bm3d"])
def test_every_denoiser_runs(valid_case, name):
    y, k, x = valid_case
    info: dict = {}
    out = pnp(y, k, denoiser=name, num_iter=2, num_inner=2, info=info)
    assert out.shape == y.shape and out.dtype == y.dtype
    assert np.all(np.isfinite(out))
    assert psnr(out, x) > psnr(y, x) + 3.0  # measured +3.7 (tv) to +4.2 dB (nl_means)
    assert info["denoiser"] == name
    assert len(info["sigma_schedule"]) == 2
    assert info["sigma_schedule"][0] > info["sigma_schedule"][1] > 0


def test_default_denoiser_is_best_available(valid_case):
    """The default is BM3D when installed (one call here: it costs ~1 s even on tiny images)."""
    y, k, x = valid_case
    info: dict = {}
    out = pnp(y, k, num_iter=1, num_inner=2, info=info)
    assert info["denoiser"] == ("bm3d" if HAS_BM3D else "nl_means")
    assert available_denoisers()[0] == info["denoiser"]
    assert out.dtype == y.dtype and np.all(np.isfinite(out))
    assert psnr(out, x) > psnr(y, x) + 3.0  # measured +4.2 dB


def test_2d_denoiser_runs_slice_by_slice_on_stacks():
    from unblur.restore.pnp import _slicewise

    shapes: list[tuple] = []

    def flat(a: np.ndarray, sigma: float) -> np.ndarray:
        shapes.append(a.shape)
        return np.full_like(a, a.mean())

    vol = np.random.default_rng(5).random((3, 8, 9))
    out = _slicewise(flat, vol, 0.1, "flat")
    assert shapes == [(8, 9)] * 3
    np.testing.assert_allclose(out, vol.mean(axis=(1, 2), keepdims=True) + 0 * vol)
    with pytest.raises(InvalidParameterError, match="2-D images and 3-D stacks"):
        _slicewise(flat, np.zeros(5), 0.1, "flat")


def test_custom_callable_denoiser(valid_case):
    y, k, x = valid_case
    calls: list[float] = []

    def smooth(img: np.ndarray, sigma: float) -> np.ndarray:
        from scipy import ndimage

        calls.append(sigma)
        return ndimage.gaussian_filter(img, 0.6)

    info: dict = {}
    out = pnp(y, k, denoiser=smooth, num_iter=3, info=info)
    assert len(calls) == 3 and calls[0] > calls[-1] > 0  # decreasing levels
    assert info["denoiser"] == "smooth"
    assert psnr(out, x) > psnr(y, x) + 1.5  # measured +2.0 dB


def test_identity_denoiser_with_periodic_blur_solves_the_normal_equations(periodic_case):
    """With z = x the x step is (H^T H + rho) x = H^T y + rho x: a proximal-point Wiener step."""
    y, k, _ = periodic_case
    y = y.astype(np.float64)
    out = pnp(
        y,
        k,
        denoiser=lambda a, s: a,
        boundary="periodic",
        init="observation",
        num_iter=1,
        sigma=0.01,
        sigma_final=0.01,
    )
    # one step with rho = 1 from x0 = normalised y: solve in the original units
    op = unblur.operators.Convolution(k, y.shape, dtype=np.float64)
    expected = op.ifft((op.otf.conj() * op.fft(y) + op.fft(y)) / (op.otf_power + 1.0))
    np.testing.assert_allclose(out, expected, atol=1e-10)


# --------------------------------------------------------------------------------------------
# parameters
# --------------------------------------------------------------------------------------------
def test_unknown_denoiser_lists_available(valid_case):
    y, k, _ = valid_case
    with pytest.raises(InvalidParameterError, match="unknown denoiser 'dncnn'") as exc:
        pnp(y, k, denoiser="dncnn")
    for name in available_denoisers():
        assert name in str(exc.value)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"num_iter": 0}, "num_iter"),
        ({"num_inner": 0}, "num_inner"),
        ({"sigma": -1.0}, "sigma"),
        ({"sigma_init": 0.0}, "sigma_init"),
        ({"sigma_final": float("nan")}, "sigma_final"),
        ({"init": "wiener"}, "unknown init"),
        ({"boundary": "mirror"}, "unknown boundary"),
        ({"denoiser": 3}, "denoiser must be"),
    ],
)
def test_parameter_errors(valid_case, params, message):
    y, k, _ = valid_case
    with pytest.raises(InvalidParameterError, match=message):
        pnp(y, k, **params)


def test_wrong_shape_from_denoiser_is_reported(valid_case):
    y, k, _ = valid_case
    with pytest.raises(InvalidParameterError, match="returned shape"):
        pnp(y, k, denoiser=lambda a, s: a[1:], num_iter=1)


def test_info_and_callback(valid_case):
    y, k, _ = valid_case
    seen: list[tuple[int, tuple]] = []
    info: dict = {}
    pnp(y, k, denoiser="tv", num_iter=3, callback=lambda i, e: seen.append((i, e.shape)), info=info)
    assert seen == [(1, y.shape), (2, y.shape), (3, y.shape)]
    assert info["iterations"] == 3 and info["init"] == "tv"
    assert info["noise_sigma"] > 0
    assert info["rho_schedule"][0] < info["rho_schedule"][-1]  # increasing penalty


def test_registered_and_via_deconvolve(valid_case):
    y, k, x = valid_case
    assert "pnp" in unblur.available_methods()
    assert get_method("pnp").iterative
    info = {}
    out = unblur.deconvolve(y, k, method="pnp", denoiser="tv", num_iter=2, info=info)
    assert info["parameters"]["denoiser"] == "tv"
    assert psnr(out, x) > psnr(y, x) + 1.0


# --------------------------------------------------------------------------------------------
# dtypes, shapes, degenerate input
# --------------------------------------------------------------------------------------------


def test_3d_stack(stack):
    stack = stack[:, :24, :24]
    k = psf.gaussian(1.0, ndim=3)
    y = unblur.add_noise(unblur.blur(stack, k, boundary="periodic"), gaussian=SIGMA, rng=2)
    for name in ("tv", "nl_means"):
        out = pnp(y, k, denoiser=name, num_iter=2, num_inner=1, boundary="periodic")
        assert out.shape == y.shape and np.all(np.isfinite(out))
        assert psnr(out, stack) > psnr(y, stack), name


def test_2d_only_denoiser_rejects_4d():
    y = np.random.default_rng(0).random((6, 6, 6, 6))
    k = np.zeros((3, 3, 3, 3))
    k[1, 1, 1, 1] = 1
    with pytest.raises(InvalidParameterError, match="2-D images and 3-D stacks"):
        pnp(y, k, denoiser="nl_means", num_iter=1, boundary="periodic")
    out = pnp(y, k, denoiser="tv", num_iter=1, boundary="periodic")
    assert out.shape == y.shape and np.all(np.isfinite(out))


def test_rgb_through_deconvolve(astronaut):
    astronaut = astronaut[:48, :48]
    k = psf.gaussian(1.2)
    y = unblur.add_noise(
        np.stack([unblur.blur(astronaut[..., c], k) for c in range(3)], axis=-1),
        gaussian=SIGMA,
        rng=3,
    )
    out = unblur.deconvolve(
        y, k, method="pnp", channel_axis=-1, denoiser="tv", num_iter=2, boundary="reflect"
    )
    assert out.shape == y.shape
    assert psnr(out, astronaut) > psnr(y, astronaut) + 3.0  # measured 23.4 -> 28.1 dB


@pytest.mark.parametrize("name", [n for n in available_denoisers() if n != "bm3d"])
def test_zero_image_gives_zero(name):
    k = psf.gaussian(1.0)
    out = pnp(np.zeros((24, 24), np.float32), k, denoiser=name, num_iter=2)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, 0, atol=1e-6)


@pytest.mark.parametrize("name", available_denoisers())
def test_tiny_image_finite(name):
    """Tiny images (BM3D falls back to TV below one 8 x 8 block: no slow call here)."""
    k = psf.gaussian(0.8)
    y = np.random.default_rng(4).random((5, 6)).astype(np.float32)
    k = k[: min(k.shape[0], 5), : min(k.shape[1], 5)]
    k = k / k.sum()
    for boundary in ("periodic", "unknown") if name != "bm3d" else ("periodic",):
        out = pnp(y, k, denoiser=name, num_iter=2, boundary=boundary)
        assert out.shape == y.shape and np.all(np.isfinite(out))


def test_denoiser_table_is_consistent():
    assert set(available_denoisers()) <= set(DENOISERS)
    assert {"tv", "nl_means"} <= set(available_denoisers())  # scikit-image is a dependency
