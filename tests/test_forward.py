"""Forward model: blur boundaries against scipy, delta identity, noise statistics."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from unblur import InvalidImageError, InvalidParameterError, InvalidPSFError, add_noise, blur, psf

BOUNDARIES = ("periodic", "reflect", "valid")


@pytest.mark.parametrize("boundary", ("periodic", "reflect"))
@pytest.mark.parametrize("ndim", (2, 3))
def test_delta_psf_is_identity(boundary, ndim):
    rng = np.random.default_rng(0)
    x = rng.random((12, 17, 9)[:ndim]).astype(np.float32)
    delta = np.zeros((5,) * ndim)
    delta[(2,) * ndim] = 1
    y = blur(x, delta, boundary=boundary)
    assert y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_allclose(y, x, atol=1e-6)


def test_valid_delta_is_the_central_crop():
    x = np.random.default_rng(1).random((20, 30))
    delta = np.zeros((5, 7))
    delta[2, 3] = 1
    np.testing.assert_allclose(blur(x, delta, boundary="valid"), x[2:-2, 3:-3], atol=1e-12)


@pytest.mark.parametrize(
    "kernel", [psf.motion(9, 30), psf.gaussian((1.0, 2.0), angle=20), psf.disk(3)]
)
def test_periodic_blur_equals_scipy_circular_convolution(kernel):
    x = np.random.default_rng(2).random((40, 52))
    expected = signal.convolve2d(x, kernel, mode="same", boundary="wrap")
    np.testing.assert_allclose(blur(x, kernel, boundary="periodic"), expected, atol=1e-12)


def test_reflect_blur_equals_scipy_symmetric_convolution():
    x = np.random.default_rng(3).random((33, 40))
    k = psf.motion(7, 60)
    expected = signal.convolve2d(x, k, mode="same", boundary="symm")
    np.testing.assert_allclose(blur(x, k, boundary="reflect"), expected, atol=1e-12)


@pytest.mark.parametrize("shape", [(31, 45), (30, 44)])
@pytest.mark.parametrize("kshape", [(7, 5), (6, 4), (1, 9)])
def test_valid_blur_equals_fftconvolve_valid(shape, kshape):
    rng = np.random.default_rng(4)
    x = rng.random(shape)
    k = rng.random(kshape)
    k /= k.sum()
    expected = signal.fftconvolve(x, k, mode="valid")
    got = blur(x, k, boundary="valid")
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_valid_blur_3d_equals_fftconvolve():
    rng = np.random.default_rng(5)
    x = rng.random((10, 20, 24))
    k = psf.gaussian((1.0, 1.5, 1.5))
    np.testing.assert_allclose(
        blur(x, k, boundary="valid"), signal.fftconvolve(x, k, mode="valid"), atol=1e-12
    )


def test_colour_channels_share_the_psf(astronaut):
    k = psf.motion(7, 45)
    y = blur(astronaut, k, channel_axis=-1, boundary="periodic")
    assert y.shape == astronaut.shape
    for c in range(3):
        np.testing.assert_allclose(
            y[..., c], blur(astronaut[..., c], k, boundary="periodic"), atol=1e-12
        )
    # channel axis first works the same
    moved = blur(np.moveaxis(astronaut, -1, 0), k, channel_axis=0, boundary="periodic")
    np.testing.assert_allclose(np.moveaxis(moved, 0, -1), y, atol=1e-12)


def test_integer_image_is_scaled_to_unit_range():
    x = np.full((16, 16), 255, np.uint8)
    y = blur(x, psf.gaussian(1.0))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, 1.0, atol=1e-6)


def test_blur_does_not_mutate_inputs():
    x = np.random.default_rng(6).random((20, 20)).astype(np.float32)
    k = psf.gaussian(1.0)
    x0, k0 = x.copy(), k.copy()
    for b in BOUNDARIES:
        blur(x, k, boundary=b)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(k, k0)


@pytest.mark.parametrize(
    ("image", "kernel", "kwargs", "error", "message"),
    [
        (np.full((8, 8), np.nan), np.ones((3, 3)), {}, InvalidImageError, "NaN"),
        (np.ones((8, 8)), np.zeros((3, 3)), {}, InvalidPSFError, "sums to zero"),
        (np.ones((8, 8)), np.ones((9, 3)), {}, InvalidPSFError, "larger than the image"),
        (np.ones((8, 8)), np.ones((3, 3, 3)), {}, InvalidPSFError, "dimensions"),
        (np.ones((8, 8)), np.ones((3, 3)), {"boundary": "wrap"}, InvalidParameterError, "wrap"),
        (np.ones((8, 8), complex), np.ones((3, 3)), {}, InvalidImageError, "complex"),
        (np.ones((8, 8)), np.ones((3, 3)), {"channel_axis": 5}, InvalidParameterError, "range"),
    ],
)
def test_blur_errors(image, kernel, kwargs, error, message):
    with pytest.raises(error, match=message) as err:
        blur(image, kernel, **kwargs)
    assert "\n" not in str(err.value)


def test_gaussian_noise_is_reproducible_with_right_sigma():
    x = np.full((256, 256), 0.5, np.float32)
    a = add_noise(x, gaussian=0.01, rng=7)
    b = add_noise(x, gaussian=0.01, rng=7)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32
    assert abs(a.std() - 0.01) < 0.0005
    assert not np.array_equal(a, add_noise(x, gaussian=0.01, rng=8))
    np.testing.assert_array_equal(x, 0.5)  # input untouched


def test_poisson_noise_mean_and_variance():
    x = np.full((256, 256), 0.4)
    y = add_noise(x, poisson=100, rng=0)
    assert abs(y.mean() - 0.4) < 0.002
    assert abs(y.var() - 0.4 / 100) < 0.0003  # Poisson: var = mean / photons


def test_noise_clip_and_errors():
    assert add_noise(np.ones((8, 8)), gaussian=0.5, rng=0, clip=True).max() <= 1
    with pytest.raises(InvalidParameterError, match="sigma"):
        add_noise(np.ones((4, 4)), gaussian=-1)
    with pytest.raises(InvalidParameterError, match="photon"):
        add_noise(np.ones((4, 4)), poisson=0)
    with pytest.raises(InvalidParameterError, match="non-negative"):
        add_noise(-np.ones((4, 4)), poisson=10)


def test_poisson_tolerates_fft_rounding_below_zero():
    x = np.zeros((16, 16))
    x[0, 0] = -1e-17
    assert add_noise(x, poisson=10, rng=0).min() >= 0
