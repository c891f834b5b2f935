"""Inverse filter: exact on noiseless periodic blur, hopeless with noise (as it should be)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import psnr

from unblur import InvalidParameterError, add_noise, blur, deconvolve, psf
from unblur.restore.inverse import inverse

KERNELS = {
    "gaussian": psf.gaussian(1.5),
    "motion": psf.motion(15, 30),
    "disk": psf.disk(3),
}


@pytest.mark.parametrize("name", KERNELS)
def test_noiseless_periodic_blur_is_undone_2d(camera, name):
    k = KERNELS[name]
    y = blur(camera, k, boundary="periodic")
    x_hat = deconvolve(y, k, method="inverse")
    assert x_hat.dtype == np.float64
    assert psnr(x_hat, camera) > 60


def test_noiseless_periodic_blur_is_undone_3d(stack):
    k = psf.gaussian((0.8, 1.2, 1.2))
    y = blur(stack, k, boundary="periodic")
    assert psnr(deconvolve(y, k, method="inverse"), stack) > 60


def test_noiseless_periodic_blur_is_undone_rgb(astronaut):
    k = psf.motion(9, 60)
    y = blur(astronaut, k, boundary="periodic", channel_axis=-1)
    x_hat = deconvolve(y, k, method="inverse", channel_axis=-1)
    assert x_hat.shape == astronaut.shape
    assert psnr(x_hat, astronaut) > 60


def test_float32_is_kept_and_still_accurate(camera):
    k = psf.gaussian(1.0)
    y = blur(camera.astype(np.float32), k, boundary="periodic")
    x_hat = deconvolve(y, k, method="inverse")
    assert x_hat.dtype == np.float32
    assert psnr(x_hat, camera) > 60


def test_noise_makes_the_plain_inverse_fail(camera):
    k = KERNELS["motion"]
    y = add_noise(blur(camera, k, boundary="periodic"), gaussian=0.01, rng=0)
    assert psnr(deconvolve(y, k, method="inverse"), camera) < 20


def test_thresholded_pseudo_inverse_tames_noise(camera):
    k = KERNELS["motion"]
    y = add_noise(blur(camera, k, boundary="periodic"), gaussian=0.01, rng=0)
    info: dict = {}
    plain = psnr(inverse(y, k), camera)
    truncated = psnr(inverse(y, k, threshold=0.1, info=info), camera)
    assert truncated > plain + 10
    assert truncated > psnr(y, camera)
    assert 0 < info["kept_fraction"] < 1


def test_larger_epsilon_trades_exactness_for_stability(camera):
    k = KERNELS["gaussian"]
    y = add_noise(blur(camera, k, boundary="periodic"), gaussian=0.01, rng=1)
    assert psnr(inverse(y, k, epsilon=1e-2), camera) > psnr(inverse(y, k), camera) + 10


@pytest.mark.parametrize("boundary", ["reflect", "taper"])
def test_padded_boundaries_beat_periodic_on_a_non_periodic_blur(camera, boundary):
    """A 'valid' blur has no wrap-around; periodic inversion rings, padding helps."""
    k = psf.gaussian(1.2)
    y = blur(camera, k, boundary="valid")
    h, w = k.shape[0] // 2, k.shape[1] // 2
    truth = camera[h:-h, w:-w]
    periodic = psnr(inverse(y, k, epsilon=1e-3), truth)
    padded = psnr(inverse(y, k, epsilon=1e-3, boundary=boundary), truth)
    assert padded > periodic + 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epsilon": -1.0}, "epsilon must be"),
        ({"threshold": 0.0}, "threshold must be"),
        ({"boundary": "unknown"}, "iterative method"),
    ],
)
def test_parameter_errors(kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        deconvolve(np.ones((16, 16)), psf.gaussian(1.0), method="inverse", **kwargs)
