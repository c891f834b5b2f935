"""Unusual but legal library inputs a newcomer passes: each gives the same result as the
plain float64 C-ordered call, or one clear UnblurError."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data as skdata

import unblur
from unblur import psf

X = skdata.camera()[::8, ::8].astype(np.float64) / 255
K = psf.gaussian(sigma=1.2)
Y = unblur.blur(X, K, boundary="reflect")


def test_a_boolean_mask_is_a_psf_as_its_float_copy_is():
    # before: InvalidPSFError "PSF must be a real numeric array, got dtype bool", while a
    # boolean image was accepted
    yy, xx = np.mgrid[-3:4, -3:4]
    mask = yy**2 + xx**2 <= 9  # a disk aperture, as numpy makes it
    for call in (
        lambda k: unblur.deconvolve(Y, k, method="wiener"),
        lambda k: unblur.blur(X, k),
    ):
        np.testing.assert_array_equal(call(mask), call(mask.astype(np.float64)))
    with pytest.raises(unblur.InvalidPSFError, match="^PSF sums to zero; it must have a"):
        unblur.deconvolve(Y, np.zeros((3, 3), bool))


@pytest.mark.parametrize(
    "variant",
    [
        lambda y: y.astype(">f8"),  # big-endian
        lambda y: np.asfortranarray(y),
        lambda y: np.repeat(y, 2, axis=1)[:, ::2],  # a strided view
    ],
)
def test_layouts_give_the_plain_result(variant):
    plain = unblur.deconvolve(Y, K, method="wiener")
    np.testing.assert_array_equal(unblur.deconvolve(variant(Y), K, method="wiener"), plain)
