"""Blind estimation of parametric PSFs (Gaussian, motion, disk) and the estimate_psf dispatcher.

Every accuracy test blurs a natural photograph with a known kernel (``unblur.blur`` with
boundary "reflect" or "valid") and adds 1 % Gaussian noise, then checks the estimate against
the truth: sigma and radius within 10 %, motion length within 1 px and angle within 3 degrees.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import psnr
from skimage import color, data

import unblur
from unblur import psf
from unblur.blind import (
    MODELS,
    estimate_disk,
    estimate_gaussian,
    estimate_motion,
    estimate_parametric,
    estimate_psf,
)
from unblur.errors import InvalidImageError, InvalidParameterError, UnknownMethodError

# these tests pass images beyond [0, 1] on purpose (scales, photon counts, integer ranges)
pytestmark = pytest.mark.filterwarnings("ignore::unblur.ValueRangeWarning")


def _half(img: np.ndarray) -> np.ndarray:
    """2 x 2 block mean: 512 x 512 -> 256 x 256 (sharper per pixel than the native crop)."""
    h, w = img.shape
    return img.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))


@pytest.fixture(scope="module")
def cam() -> np.ndarray:
    return _half(data.camera().astype(np.float64) / 255)


@pytest.fixture(scope="module")
def astro() -> np.ndarray:
    return _half(color.rgb2gray(data.astronaut()))


@pytest.fixture(scope="module")
def images(cam, astro) -> dict[str, np.ndarray]:
    return {"camera": cam, "astronaut": astro}


def _observe(x: np.ndarray, k: np.ndarray, seed: int = 0, boundary: str = "reflect"):
    return unblur.add_noise(unblur.blur(x, k, boundary=boundary), gaussian=0.01, rng=seed)


def _angle_error(a: float, b: float) -> float:
    """Difference of two line directions in degrees, modulo 180."""
    return abs((a - b + 90) % 180 - 90)


# --------------------------------------------------------------------------------------------
# accuracy
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "sigma", "boundary"),
    [
        ("camera", 1.5, "reflect"),
        ("camera", 2.5, "valid"),
        ("camera", 4.0, "reflect"),
        ("astronaut", 2.0, "reflect"),
        ("astronaut", 3.0, "valid"),
    ],
)
def test_gaussian_sigma_within_10_percent(images, name, sigma, boundary):
    y = _observe(images[name], psf.gaussian(sigma), seed=1, boundary=boundary)
    info = {}
    k = estimate_gaussian(y, info=info)
    est = info["parameters"]["sigma"]
    assert abs(est - sigma) / sigma < 0.10, est
    assert info["model"] == "gaussian"
    np.testing.assert_allclose(k, psf.gaussian(est))


@pytest.mark.parametrize(
    ("name", "length", "angle", "boundary"),
    [
        ("camera", 9, 30, "reflect"),
        ("camera", 21, 120, "valid"),
        ("camera", 31, 0, "reflect"),
        ("astronaut", 15, 75, "reflect"),
        ("astronaut", 25, 160, "valid"),
    ],
)
def test_motion_length_and_angle(images, name, length, angle, boundary):
    y = _observe(images[name], psf.motion(length, angle), seed=2, boundary=boundary)
    info = {}
    k = estimate_motion(y, info=info)
    p = info["parameters"]
    assert abs(p["length"] - length) <= 1.0, p
    assert _angle_error(p["angle"], angle) <= 3.0, p
    assert 0 <= p["angle"] < 180
    np.testing.assert_allclose(k, psf.motion(p["length"], p["angle"]))


@pytest.mark.parametrize(
    ("name", "radius", "boundary"),
    [("camera", 3.0, "reflect"), ("camera", 8.0, "valid"), ("astronaut", 5.0, "reflect")],
)
def test_disk_radius_within_10_percent(images, name, radius, boundary):
    y = _observe(images[name], psf.disk(radius), seed=3, boundary=boundary)
    info = {}
    k = estimate_disk(y, info=info)
    est = info["parameters"]["radius"]
    assert abs(est - radius) / radius < 0.10, est
    np.testing.assert_allclose(k, psf.disk(est))


def test_gaussian_without_noise(cam):
    """No noise floor at all: the window keeps the image borders out of the spectrum."""
    info = {}
    estimate_gaussian(unblur.blur(cam, psf.gaussian(2.5)), info=info)
    assert abs(info["parameters"]["sigma"] - 2.5) / 2.5 < 0.10


@pytest.mark.parametrize(
    ("name", "kernel", "model"),
    [
        ("camera", psf.gaussian(2.5), "gaussian"),
        ("astronaut", psf.motion(15, 30), "motion"),
        ("camera", psf.disk(5), "disk"),
    ],
)
def test_auto_picks_the_right_model(images, name, kernel, model):
    """Issue 14: ``auto`` also estimates a free-form kernel and keeps the parametric model on
    parametric blurs; the free kernel's spectral score is reported beside the models'."""
    y = _observe(images[name], kernel, seed=4)
    info = {}
    k = estimate_psf(y, info=info)
    assert info["model"] == model, info["reason"]
    assert set(info["scores"]) == {"gaussian", "motion", "disk", "free"}
    bics = {m: s["bic"] for m, s in info["scores"].items() if m != "free"}
    assert min(bics, key=bics.get) == model
    assert info["parameters"] == info["scores"][model]["parameters"]
    assert k.sum() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("kernel", "model"), [(psf.disk(5), "disk"), (psf.motion(21, 120), "motion")]
)
def test_restoration_with_estimate_matches_true_kernel(astro, kernel, model):
    y = _observe(astro, kernel, seed=5)
    k_hat = estimate_psf(y, model=model)
    if "wiener" in unblur.available_methods():
        method, params = "wiener", {}
    else:
        method, params = "inverse", {"epsilon": 1e-2}
    with_true = psnr(unblur.deconvolve(y, kernel, method=method, **params), astro)
    with_est = psnr(unblur.deconvolve(y, k_hat, method=method, **params), astro)
    assert with_est > with_true - 0.3, (with_est, with_true)
    assert with_est > psnr(y, astro) + 0.5


def test_colour_image_uses_one_kernel(astro):
    rgb = data.astronaut()[:256, 128:384].astype(np.float64) / 255
    k = psf.motion(13, 60)
    y = unblur.add_noise(unblur.blur(rgb, k, channel_axis=-1), gaussian=0.01, rng=6)
    info = {}
    estimate_psf(np.moveaxis(y, -1, 0), model="motion", channel_axis=0, info=info)
    p = info["parameters"]
    assert abs(p["length"] - 13) <= 1.0 and _angle_error(p["angle"], 60) <= 3.0


# --------------------------------------------------------------------------------------------
# invariances, dtypes, sizes, robustness
# --------------------------------------------------------------------------------------------
def test_invariant_to_intensity_scale_and_offset(cam):
    y = _observe(cam, psf.gaussian(2.0), seed=7)
    ref, tiny, shifted = {}, {}, {}
    estimate_gaussian(y, info=ref)
    k = estimate_gaussian(y * 1e-30, info=tiny)
    estimate_gaussian(3.0 * y + 100.0, info=shifted)
    assert np.all(np.isfinite(k))
    s = ref["parameters"]["sigma"]
    assert tiny["parameters"]["sigma"] == pytest.approx(s, rel=1e-6)
    assert shifted["parameters"]["sigma"] == pytest.approx(s, rel=1e-6)


def test_float32_and_integer_input(cam):
    y = np.clip(_observe(cam, psf.disk(4), seed=8), 0, 1)
    ref, f32, u8 = {}, {}, {}
    estimate_disk(y, info=ref)
    k = estimate_disk(y.astype(np.float32), info=f32)
    estimate_disk(np.round(y * 255).astype(np.uint8), info=u8)
    assert k.dtype == np.float64 and k.sum() == pytest.approx(1.0)
    r = ref["parameters"]["radius"]
    assert f32["parameters"]["radius"] == pytest.approx(r, rel=1e-3)
    assert abs(u8["parameters"]["radius"] - 4) < 0.4


def test_inputs_not_mutated(cam):
    y = _observe(cam[:96, :112], psf.gaussian(2.0), seed=9).astype(np.float32)
    before = y.copy()
    for func in (estimate_gaussian, estimate_motion, estimate_disk, estimate_psf):
        func(y)
        np.testing.assert_array_equal(y, before)


@pytest.mark.parametrize("model", ["gaussian", "motion", "disk"])
def test_size_sets_the_kernel_shape_and_bounds_the_search(cam, model):
    y = _observe(cam, psf.motion(21, 0), seed=10)
    info = {}
    k = estimate_psf(y, size=14, model=model, info=info)  # even: rounded up to 15
    assert k.shape == (15, 15) and info["size"] == 15
    assert k.sum() == pytest.approx(1.0) and np.all(k >= 0)
    if model == "motion":
        assert info["parameters"]["length"] <= 13


@pytest.mark.parametrize(("length", "angle"), [(21, 135), (19, 30)])
def test_size_bounds_a_diagonal_motion_by_its_box_not_its_length(cam, length, angle):
    # the true kernel's side (17 and 19 px) is shorter than the segment: told that size, the
    # fit must find the same segment as without it (before, the length was capped at size - 2)
    true = psf.motion(length, angle)
    y = _observe(cam, true, seed=13)
    side = max(true.shape)
    free, sized = {}, {}
    estimate_parametric(y, info=free)
    k = estimate_parametric(y, size=side, info=sized)
    assert free["model"] == sized["model"] == "motion"
    p, q = free["parameters"], sized["parameters"]
    assert abs(q["length"] - length) <= 1.0 and _angle_error(q["angle"], angle) <= 3.0, q
    assert abs(q["length"] - p["length"]) <= 0.2 and _angle_error(q["angle"], p["angle"]) <= 0.5
    assert k.shape == (side, side)
    np.testing.assert_allclose(k, psf.motion(q["length"], q["angle"], size=side))
    t = math.radians(q["angle"])
    assert q["length"] * max(abs(math.cos(t)), abs(math.sin(t))) <= side - 2 + 1e-9


def test_large_image_uses_central_crop(cam):
    y = np.pad(_observe(cam, psf.gaussian(2.0), seed=11), ((150, 150), (160, 160)), "reflect")
    info = {}
    estimate_gaussian(y, info=info)
    assert info["crop_shape"] == (512, 512)
    assert abs(info["parameters"]["sigma"] - 2.0) < 0.2


@pytest.mark.parametrize("side", [32, 45])
def test_small_images_give_valid_kernels(cam, side):
    y = _observe(cam, psf.gaussian(1.5), seed=12)[:side, : side + 3]
    for model in ("auto", "gaussian", "motion", "disk"):
        k = estimate_psf(y, model=model)
        assert np.all(np.isfinite(k)) and k.sum() == pytest.approx(1.0)
        assert all(n % 2 == 1 for n in k.shape)


def test_estimate_parametric_subset(cam):
    y = _observe(cam, psf.disk(5), seed=13)
    info = {}
    estimate_parametric(y, models=("gaussian",), info=info)
    assert info["model"] == "gaussian" and set(info["scores"]) == {"gaussian"}


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------
def test_flat_image_rejected():
    for value in (0.0, 0.5):
        with pytest.raises(InvalidImageError, match="image is flat"):
            estimate_psf(np.full((64, 64), value))


@pytest.mark.parametrize("func", [estimate_gaussian, estimate_motion, estimate_disk])
def test_too_small_image_rejected(func):
    with pytest.raises(InvalidImageError, match="at least 32x32"):
        func(np.random.default_rng(0).random((20, 64)))


def test_non_2d_image_rejected(stack):
    with pytest.raises(InvalidImageError, match="2-D"):
        estimate_psf(stack)
    with pytest.raises(InvalidImageError, match="2-D"):
        estimate_gaussian(np.random.default_rng(0).random(100))


def test_nan_rejected():
    y = np.random.default_rng(0).random((64, 64))
    y[3, 4] = np.nan
    with pytest.raises(InvalidImageError, match="NaN"):
        estimate_psf(y)


@pytest.mark.parametrize(
    ("size", "fragment"),
    [
        (0, "size must be >= 3"),
        (-5, "size must be >= 3"),
        (2, "size must be >= 3"),
        (2.5, "size must be an integer"),
        ("9", "size must be an integer"),
        (True, "size must be an integer"),
        (65, "larger than the image"),
        (64, "larger than the image"),  # rounded up to 65
    ],
)
def test_bad_size_rejected(size, fragment):
    y = np.random.default_rng(0).random((64, 80))
    with pytest.raises(InvalidParameterError, match=fragment):
        estimate_psf(y, size=size)


def test_unknown_and_unavailable_models():
    y = np.random.default_rng(0).random((64, 64))
    with pytest.raises(UnknownMethodError, match="unknown PSF model 'box'.*gaussian, motion"):
        estimate_psf(y, model="box")
    with pytest.raises(InvalidParameterError, match="models must be"):
        estimate_parametric(y, models=("gaussian", "box"))
    assert MODELS == ("auto", "gaussian", "motion", "disk", "free")


def test_bad_channel_axis_rejected():
    with pytest.raises(InvalidParameterError, match="channel_axis"):
        estimate_psf(np.random.default_rng(0).random((64, 64)), channel_axis=2)


def _linear_photo(scene: np.ndarray, k: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The broad set's camera (case 058): the scene magnified to 444 x 563 px and blurred in
    linear light, sRGB-encoded with 0.6 % noise and 8-bit rounding, then linearised as
    ``estimate_psf`` does. Returns (linear observation, linear sharp truth)."""
    from scipy import signal
    from skimage.transform import resize

    from unblur.colour import linear_to_srgb, srgb_to_linear

    m = k.shape[0] - 1
    x = srgb_to_linear(np.clip(resize(scene, (444 + m, 563 + m), order=3), 0.0, 1.0))
    b = np.clip(signal.fftconvolve(x, k, mode="valid"), 0.0, 1.0)
    noisy = linear_to_srgb(b) + 0.006 * np.random.default_rng(seed).standard_normal(b.shape)
    y = np.round(np.clip(noisy, 0.0, 1.0) * 255) / 255
    return srgb_to_linear(y), x[m // 2 : m // 2 + b.shape[0], m // 2 : m // 2 + b.shape[1]]


@pytest.mark.parametrize(
    ("kernel", "model"), [(psf.disk(2.13), "disk"), (psf.gaussian(1.5), "gaussian")]
)
def test_gaussian_and_disk_told_apart_on_a_photograph(kernel, model):
    """Issue 14 (broad case 058): on this small defocus blur the BIC prefers a Gaussian
    (sigma 1.59, restoring below the input); the disk's first zero ring, read off the spectrum
    around 0.61 / r, overturns it. A Gaussian blur keeps its Gaussian. Each restores far above
    the input and above the other model's fit."""
    y, x = _linear_photo(data.coins() / 255, kernel, seed=1058)
    info = {}
    k = estimate_parametric(y, info=info)
    assert info["model"] == model
    if model == "disk":
        assert info["criterion"] == "ring"  # the BIC alone picks the Gaussian here
        assert info["parameters"]["radius"] == pytest.approx(2.13, rel=0.05)
    else:
        assert info["ring_evidence"] < 0
    other = "gaussian" if model == "disk" else "disk"
    k_other = estimate_parametric(y, models=(other,))
    inner = (slice(16, -16), slice(16, -16))
    blurred = psnr(y[inner], x[inner])
    gain = psnr(unblur.deconvolve(y, k)[inner], x[inner]) - blurred
    gain_other = psnr(unblur.deconvolve(y, k_other)[inner], x[inner]) - blurred
    assert gain > 2.0
    assert gain > gain_other + 1.0


def test_a_kernel_is_scored_better_the_closer_it_is_to_the_blur():
    """``score_kernel`` (and ``score_on_spectrum`` on the image's spectrum, computed once):
    on a photograph blurred by a Gaussian of sigma 2 px, the true kernel fits the
    log-periodogram better (smaller BIC) than no blur, a Gaussian twice as wide, or a 15 px
    motion; both functions give the same scores."""
    from unblur.blind.periodogram import (
        log_periodogram,
        prepare_image,
        score_kernel,
        score_on_spectrum,
    )

    x = data.camera()[::2, ::2] / 255.0
    y = unblur.add_noise(unblur.blur(x, unblur.psf.gaussian(2.0), boundary="reflect"),
                         gaussian=0.005, rng=0)  # fmt: skip
    kernels = {
        "true": unblur.psf.gaussian(2.0),
        "none": np.ones((1, 1)),
        "wider": unblur.psf.gaussian(4.0),
        "motion": unblur.psf.motion(15, angle=30),
    }
    spectrum = log_periodogram(*prepare_image(y, None))
    bic = {n: score_on_spectrum(spectrum, k)["bic"] for n, k in kernels.items()}
    assert bic == {n: score_kernel(y, k)["bic"] for n, k in kernels.items()}
    assert all(bic["true"] < bic[n] for n in ("none", "wider", "motion")), bic
