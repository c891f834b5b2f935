"""The public dispatcher: validation, registry, colour, info, no mutation."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import psnr

import unblur
from unblur import (
    InvalidImageError,
    InvalidParameterError,
    InvalidPSFError,
    UnknownMethodError,
    blur,
    deconvolve,
    psf,
)
from unblur.restore import get_method


def test_public_names():
    for name in ("blur", "add_noise", "deconvolve", "available_methods", "psf", "UnblurError"):
        assert hasattr(unblur, name)
    assert "inverse" in unblur.available_methods()
    assert issubclass(unblur.UnblurError, ValueError)


def test_unknown_method_lists_available():
    with pytest.raises(UnknownMethodError, match="available: .*inverse") as err:
        deconvolve(np.ones((8, 8)), np.ones((3, 3)), method="magic")
    assert "\n" not in str(err.value)


def test_unknown_parameter_names_the_accepted_ones():
    with pytest.raises(InvalidParameterError, match="no parameter 'num_iterations'.*epsilon"):
        deconvolve(np.ones((8, 8)), np.ones((3, 3)), method="inverse", num_iterations=3)


def test_unknown_boundary():
    with pytest.raises(InvalidParameterError, match="unknown boundary 'mirror'"):
        deconvolve(np.ones((8, 8)), np.ones((3, 3)), method="inverse", boundary="mirror")


@pytest.mark.parametrize(
    ("image", "kernel", "error", "message"),
    [
        (np.array([[1.0, np.inf]] * 4), np.ones((1, 1)), InvalidImageError, "NaN or infinite"),
        (np.ones((8, 8)), np.zeros((3, 3)), InvalidPSFError, "sums to zero"),
        (np.ones((8, 8)), -np.ones((3, 3)), InvalidPSFError, "negative"),
        (np.ones((8, 8)), np.ones((3, 9)), InvalidPSFError, "larger than the image"),
        (np.ones((8, 8, 3)), np.ones((3, 3)), InvalidPSFError, "channel_axis"),
        (np.ones(()), np.ones(()), InvalidImageError, "at least 1 dimensions"),
        (np.array([["a"]]), np.ones((1, 1)), InvalidImageError, "numeric"),
    ],
)
def test_bad_input_errors(image, kernel, error, message):
    with pytest.raises(error, match=message) as err:
        deconvolve(image, kernel, method="inverse")
    assert "\n" not in str(err.value)


def test_info_must_be_a_dict():
    with pytest.raises(InvalidParameterError, match="^info must be a dict or None, got list$"):
        deconvolve(np.ones((8, 8)), np.ones((1, 1)), method="inverse", info=[])


def test_info_reports_method_parameters_and_time():
    k = psf.gaussian(1.0)
    y = blur(np.random.default_rng(0).random((20, 20)), k, boundary="periodic")
    info = {}
    out = deconvolve(y, k, method="inverse", info=info)
    assert out.shape == y.shape
    assert info["method"] == "inverse" and info["auto"] is False
    assert info["parameters"]["epsilon"] > 0  # the automatic epsilon is reported
    assert info["parameters"]["boundary"] == "periodic"
    assert info["seconds"] >= 0


def test_auto_method_is_registered_and_reported():
    k = psf.gaussian(1.0)
    y = blur(np.random.default_rng(0).random((20, 20)), k, boundary="periodic")
    info = {}
    deconvolve(y, k, info=info)
    assert info["auto"] is True
    assert info["method"] == "tv" and "pixels" in info["reason"]
    assert info["parameters"]["boundary"] == "unknown"


def test_auto_restores_a_real_blur_better_than_wiener(camera):
    """The default beats the one-step filter on a valid (non-periodic) blur with noise."""
    k = psf.motion(9, angle=30)
    y = unblur.add_noise(blur(camera, k, boundary="valid"), gaussian=0.01, rng=1)
    r, c = k.shape[0] // 2, k.shape[1] // 2
    truth = camera[r : r + y.shape[0], c : c + y.shape[1]]
    auto = deconvolve(y, k)
    assert psnr(auto, truth) > psnr(deconvolve(y, k, method="wiener"), truth) + 1.0
    assert psnr(auto, truth) > psnr(y, truth) + 3.0


def test_auto_is_tv_at_every_size_and_fast_is_wiener():
    """No silent drop to a weaker method: ``auto`` is ``tv`` whatever the size; ``fast`` is
    the user's explicit choice of one transform pair."""
    from unblur.restore import auto

    assert auto.choose_method((1024, 1024))[0] == "tv"
    assert auto.choose_method((8192, 8192))[0] == "tv"
    assert auto.choose_method((64, 128, 128))[0] == "tv"
    k = psf.gaussian(1.0)
    y = blur(np.random.default_rng(0).random((20, 20)), k, boundary="periodic")
    info = {}
    deconvolve(y, k, info=info)
    assert info["method"] == "tv" and info["auto"] and "stopped when converged" in info["reason"]
    assert info["parameters"]["stopped_by"] in {"tol", "num_iter"}
    info = {}
    deconvolve(y, k, method="fast", info=info)
    assert info["method"] == "wiener" and info["auto"] and "fast" in info["reason"]


def test_uint8_input_gives_float32_in_unit_range():
    x = (np.random.default_rng(1).random((24, 24)) * 255).astype(np.uint8)
    out = deconvolve(x, np.array([[1.0]]), method="inverse")
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, x / 255, atol=1e-6)


def test_unnormalised_psf_is_normalised():
    k = psf.motion(7, 10)
    y = blur(np.random.default_rng(3).random((30, 30)), k, boundary="periodic")
    np.testing.assert_allclose(
        deconvolve(y, 5 * k, method="inverse"), deconvolve(y, k, method="inverse")
    )


def test_method_metadata():
    m = get_method("inverse")
    assert m.summary.startswith("Inverse filter")
    assert set(m.parameters) == {"epsilon", "threshold", "boundary"}
    assert not m.iterative
