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
