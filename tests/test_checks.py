"""The ground-floor checks (:mod:`unblur._checks`): the Python surprises of issue #20, item 4.

Each test reproduces one surprise a newcomer met: integer arrays holding 0-255 in a wide dtype
come back black without a word; a float image in 0-255 is restored on that scale silently; a
PSF given as None or as a spec string fails with a message about dimensions and colour.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import unblur
from unblur import psf
from unblur._checks import (
    FLOAT_WARN_ABOVE,
    ValueRangeWarning,
    as_float_image,
    check_psf,
    to_float,
)
from unblur.errors import InvalidPSFError


@pytest.fixture
def photo8(camera) -> np.ndarray:
    """The 128 x 128 camera as the 0-255 integers of an 8-bit photograph."""
    return np.round(camera * 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# integers: scaled by the dtype, with a warning when the data use a tiny part of the range
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint32, np.uint64, np.uint16])
def test_wide_integers_holding_8_bit_values_are_warned_about(photo8, dtype):
    data = photo8.astype(dtype)
    with pytest.warns(ValueRangeWarning) as caught:
        out = to_float(data)
    message = str(caught[0].message)
    low, high = int(photo8.min()), int(photo8.max())  # 3 and 250
    assert message.startswith(f"image has dtype {np.dtype(dtype)} but its values ({low} to {high})")
    assert "less than 1/256 of that dtype's range" in message
    assert "image.astype(np.uint8) or image / 255" in message
    # still scaled as scikit-image's img_as_float does: by the dtype's maximum
    np.testing.assert_array_equal(out, (data / np.iinfo(dtype).max).astype(np.float32))
    assert caught[0].filename == __file__  # attributed to the caller, not to unblur


def test_integer_images_that_use_their_range_give_no_warning(photo8):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        to_float(photo8)  # uint8: the usual case
        to_float(photo8.astype(np.uint16) * 257)  # 16-bit data spanning the range
        to_float(np.array([0, 300, 4095], np.uint16))  # 12-bit camera data: 1/16 of the range
        to_float(np.array([0, 255], np.int16))  # 1/128 of the range: above the 1/256 limit
        to_float(np.zeros((4, 4), np.int64))  # black stays black: nothing is lost
        to_float(np.array([0, 1], np.int8))  # 8-bit types are never warned about
        to_float(np.array([True, False]))


def test_deconvolve_of_int64_0_255_warns_once_at_the_call(photo8):
    k = psf.gaussian(sigma=1.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        out = unblur.deconvolve(photo8.astype(np.int64), k, "wiener")
    ranged = [w for w in caught if w.category is ValueRangeWarning]
    assert len(ranged) == 1 and ranged[0].filename == __file__
    assert float(np.abs(out).max()) < 1e-12  # what the warning is about: a black result


# ---------------------------------------------------------------------------------------------
# floats: a float image above 1.5 is not on the [0, 1] scale
# ---------------------------------------------------------------------------------------------
def test_float_image_in_0_255_is_warned_about(photo8):
    image = photo8.astype(np.float64)
    with pytest.warns(ValueRangeWarning, match=r"image has float values up to 250, above 1\.5"):
        out = as_float_image(image)
    assert out is image  # no copy, no rescaling: the warning says what to do
    with pytest.warns(ValueRangeWarning, match=r"Divide it by its peak first .*image / 255"):
        unblur.deconvolve(image, psf.gaussian(sigma=1.0), "wiener")


def test_float_images_on_the_unit_scale_give_no_warning(camera):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        as_float_image(camera)
        as_float_image(np.full((4, 4), FLOAT_WARN_ABOVE))  # ringing above 1 is fine
        as_float_image(np.full((4, 4), 300.0), check_range=False)  # e.g. a PSF
        as_float_image(camera.astype(np.float32) - 0.5)


def test_non_finite_values_are_still_refused():
    for bad in (np.nan, np.inf, -np.inf):
        image = np.zeros((4, 4))
        image[1, 2] = bad
        with pytest.raises(unblur.InvalidImageError, match="contains NaN or infinite values"):
            as_float_image(image)


# ---------------------------------------------------------------------------------------------
# PSF type errors that name the PSF
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            None,
            "psf is None; pass the PSF as an array, e.g. unblur.psf.gaussian(sigma=2), or "
            "estimate it first with unblur.estimate_psf(image)",
        ),
        (
            "gaussian:sigma=2",
            "psf must be an array, got the string 'gaussian:sigma=2'; make the array with "
            "unblur.psf.parse_spec('gaussian:sigma=2') (or unblur.psf.from_file(path) for a "
            "file)",
        ),
        (
            2.0,
            "psf must be an array with one dimension per spatial axis of the image, got the "
            "float 2.0",
        ),
        ({"sigma": 2}, "psf must be an array, got a dict"),
    ],
)
def test_psf_type_errors_name_the_psf(camera, value, message):
    with pytest.raises(InvalidPSFError) as error:
        unblur.deconvolve(camera, value)
    assert str(error.value) == message
    with pytest.raises(InvalidPSFError) as error:
        check_psf(value, camera.shape)
    assert str(error.value) == message


def test_the_spec_string_the_error_suggests_works(camera):
    k = psf.parse_spec("gaussian:sigma=2")
    np.testing.assert_allclose(check_psf(k, camera.shape).sum(), 1.0)
    with pytest.raises(InvalidPSFError, match="pass channel_axis for colour images"):
        check_psf(k, (*camera.shape, 3))  # the dimension message stays for real arrays
