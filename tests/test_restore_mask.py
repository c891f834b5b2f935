"""The ``mask`` of the iterative methods: unobserved pixels leave the data term (issue 15/19).

A scene with bright lamps is blurred and clipped at 1 (a saturated photograph): the clipped
pixels are not ``H x`` any more, and a restoration that fits them rings around them. Masking
them out (True = observed) must ring less there, measured against the sharp scene.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

import unblur
from unblur import psf
from unblur.errors import InvalidParameterError

# these tests pass images beyond [0, 1] on purpose (scales, photon counts, integer ranges)
pytestmark = pytest.mark.filterwarnings("ignore::unblur.ValueRangeWarning")

ITERATIVE = ["tv", "hyper_laplacian", "richardson_lucy", "landweber"]


def _saturated():
    rng = np.random.default_rng(15)
    x = 0.25 + 0.35 * ndimage.gaussian_filter(rng.random((72, 80)), 2.0)
    for r, c in [(20, 22), (45, 55), (50, 18)]:
        x[r - 2 : r + 3, c - 2 : c + 3] = 6.0  # lamps, far brighter than the sensor's range
    k = psf.motion(9, angle=20)
    y = unblur.add_noise(unblur.blur(x, k, boundary="valid"), gaussian=0.005, rng=2)
    y = np.minimum(y, 1.0)  # saturation
    h = k.shape[0] // 2
    truth = x[h : h + y.shape[0], h : h + y.shape[1]]
    clipped = y >= 1.0
    near = ndimage.binary_dilation(clipped, iterations=6) & ~ndimage.binary_dilation(
        clipped, iterations=1
    )
    return y, k, truth, clipped, near


@pytest.mark.parametrize("method", ITERATIVE)
def test_masking_clipped_pixels_rings_less(method):
    y, k, truth, clipped, near = _saturated()
    mask = ~ndimage.binary_dilation(clipped, iterations=1)
    plain = unblur.deconvolve(y, k, method=method)
    masked = unblur.deconvolve(y, k, method=method, mask=mask)

    def ringing(est):  # RMS error around the lamps, where the truth is below 1
        return float(np.sqrt(np.mean((np.clip(est, 0, 1) - np.minimum(truth, 1))[near] ** 2)))

    assert ringing(masked) < 0.8 * ringing(plain), (method, ringing(masked), ringing(plain))


@pytest.mark.parametrize("method", ITERATIVE)
def test_an_all_true_mask_changes_little(method):
    rng = np.random.default_rng(3)
    y = ndimage.gaussian_filter(rng.random((40, 36)), 2).astype(np.float32)
    k = psf.gaussian(1.0)
    a = unblur.deconvolve(y, k, method=method, boundary="unknown")
    b = unblur.deconvolve(y, k, method=method, boundary="unknown", mask=np.ones(y.shape, bool))
    np.testing.assert_allclose(a, b, atol=2e-3 * float(np.abs(a).max()))


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        (np.ones((3, 3), bool), "does not match the image's shape"),
        (np.ones((40, 36)), "must be a boolean array"),
        (np.zeros((40, 36), bool), "no True"),
    ],
)
def test_bad_masks_are_refused(mask, message):
    y = np.random.default_rng(0).random((40, 36))
    with pytest.raises(InvalidParameterError, match=message):
        unblur.deconvolve(y, psf.gaussian(1.0), method="tv", mask=mask)
