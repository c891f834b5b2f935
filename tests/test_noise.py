"""Noise estimation on clean, noisy, blurred and colour images."""

from __future__ import annotations

import numpy as np
import pytest

from unblur import add_noise, blur, psf
from unblur.noise import estimate_noise


@pytest.mark.parametrize("sigma", [0.005, 0.01, 0.03])
def test_estimate_on_blurred_photograph(camera, sigma):
    y = add_noise(blur(camera, psf.gaussian(1.5)), gaussian=sigma, rng=0)
    assert abs(estimate_noise(y) - sigma) < 0.15 * sigma


def test_estimate_3d_and_colour(stack, astronaut):
    assert abs(estimate_noise(add_noise(stack, gaussian=0.02, rng=1)) - 0.02) < 0.003
    noisy = add_noise(blur(astronaut, psf.gaussian(1.5), channel_axis=-1), gaussian=0.02, rng=2)
    assert abs(estimate_noise(noisy, channel_axis=-1) - 0.02) < 0.004


def test_constant_image_has_no_noise():
    assert estimate_noise(np.full((32, 32), 0.3)) == 0.0


def test_quantised_noiseless_image_reports_rounding_noise(camera):
    """8-bit rounding leaves most Haar coefficients exactly zero: the floor q/√12 holds."""
    y = np.round(blur(camera, psf.gaussian(2.0)) * 255) / 255
    assert estimate_noise(y) == pytest.approx(1 / 255 / np.sqrt(12), rel=0.01)


def test_quantisation_floor_does_not_hide_real_noise(camera):
    y = add_noise(blur(camera, psf.gaussian(2.0)), gaussian=0.02, rng=4)
    y = np.round(np.clip(y, 0, 1) * 255) / 255
    assert abs(estimate_noise(y) - 0.02) < 0.003
