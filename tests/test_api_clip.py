"""Python surprises (issue 20, item 4): what ``deconvolve`` returns is not clipped, as its
docstring now says, and each method's bounds and ``clip`` default are what the docstring
lists; the ``estimate_psf`` error for a colour image shows the call that works.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import unblur
from unblur.restore import get_method

#: what deconvolve's Notes say of each method: (lower bound, clip parameter's default)
DOCUMENTED = {
    "richardson_lucy": (0.0, False),
    "landweber": (0.0, None),
    **dict.fromkeys(
        ["inverse", "wiener", "tikhonov", "tv", "hyper_laplacian", "pnp"], (None, None)
    ),
}


@pytest.fixture(scope="module")
def squares() -> tuple[np.ndarray, np.ndarray]:
    """Black and white squares (0 and 1, edges that ring), blurred, 1 % noise; the PSF."""
    x = np.zeros((64, 64))
    x[16:48, 16:48] = 1.0
    x[24:40, 24:40] = 0.0
    k = unblur.psf.gaussian(2)
    return unblur.add_noise(unblur.blur(x, k), gaussian=0.01, rng=0), k


def _notes() -> dict[str, str]:
    """deconvolve's clipping bullets, by method name."""
    notes = unblur.deconvolve.__doc__.split("**Clipping.**")[1].split("Examples")[0]
    found = {}
    for bullet in notes.split("* ")[1:]:
        head, _, text = bullet.partition(":")
        for name in re.findall(r"``(\w+)``", head):
            found[name] = " ".join(text.split())
    return found


def test_the_docstring_says_the_result_is_not_clipped_and_lists_every_method():
    doc = " ".join(unblur.deconvolve.__doc__.split())
    assert "**not clipped**" in doc and "never clips its result" in doc
    notes = _notes()
    assert set(notes) == set(unblur.available_methods()) == set(DOCUMENTED)
    for name, text in notes.items():
        clip = get_method(name).parameters.get("clip")
        if clip is None:
            assert "no ``clip``" in text, name
        else:
            assert f"default ``clip={clip.default}``" in text, name


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_each_method_returns_what_the_docstring_says(squares, name):
    y, k = squares
    lower, clip_default = DOCUMENTED[name]
    restored = unblur.deconvolve(y, k, name)
    assert restored.max() > 1.05  # the overshoot at the edges is kept: nothing is clipped
    if lower is None:
        assert restored.min() < -0.05
    else:
        assert restored.min() >= lower
    parameter = get_method(name).parameters.get("clip")
    assert (None if parameter is None else parameter.default) == clip_default
    if parameter is None:
        with pytest.raises(unblur.InvalidParameterError, match="has no parameter 'clip'"):
            unblur.deconvolve(y, k, name, clip=True)
    else:
        clipped = unblur.deconvolve(y, k, name, clip=True)
        assert clipped.min() >= 0 and clipped.max() <= 1
        np.testing.assert_array_equal(clipped, np.clip(restored, 0, 1))


def test_estimate_psf_of_a_colour_image_names_the_call_that_works():
    rng = np.random.default_rng(0)
    rgb = unblur.blur(rng.random((64, 64, 3)), unblur.psf.gaussian(1.5), channel_axis=-1)
    with pytest.raises(unblur.InvalidImageError) as caught:
        unblur.estimate_psf(rgb)
    assert "for colour, call unblur.estimate_psf(..., channel_axis=-1)" in str(caught.value)
    assert unblur.estimate_psf(rgb, channel_axis=-1).ndim == 2  # and that call works
