"""Chunked restoration with a PSF field: each block sees the part of the field over it.

A block restored with the field's cells re-expressed in its coordinates
(:meth:`PSFField.crop`) agrees with a whole-image restoration as closely as the blocks of a
single PSF do (``tests/test_dask.py``), far more closely than a block given one PSF would.
"""

from __future__ import annotations

import numpy as np
import pytest

import unblur
from unblur import psf

da = pytest.importorskip("dask.array")

from unblur import dask as ud  # noqa: E402

MARGIN = 20  # compare away from the image's outer border
INNER = (slice(MARGIN, -MARGIN),) * 2


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    x = np.kron(rng.random((12, 16)), np.ones((8, 8)))  # 96 x 128
    field = psf.from_function(
        lambda p: psf.motion(9, angle=-30 + 60 * p[1] / 127, size=9), x.shape, grid=(2, 4)
    )
    y = unblur.add_noise(unblur.blur(x, field), gaussian=0.005, rng=1).astype(np.float32)
    return y, field


def chunk_error(y, kernel, method, params, info=None) -> float:
    whole = unblur.deconvolve(y, kernel, method=method, **params)
    out = ud.deconvolve(y, kernel, method, chunks=(48, 32), overlap=24, info=info, **params)
    return float(np.abs(out.compute(scheduler="sync") - whole)[INNER].max())


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("richardson_lucy", {"num_iter": 8, "acceleration": False, "regularization": 0.0}),
        ("tv", {"lam": 0.004, "num_iter": 5, "tol": None}),
        ("wiener", {"balance": 1e-2}),
    ],
)
def test_chunked_field_restoration_agrees_with_the_whole_image(problem, method, params):
    y, field = problem
    info = {}
    error = chunk_error(y, field, method, params, info)
    assert len(info["chunks"][0]) == 2 and len(info["chunks"][1]) == 4  # blocks across cells
    # as close as the blocks of one PSF (measured, field / PSF: 7.1e-4 / 6.6e-4 for
    # Richardson-Lucy, 0.029 / 0.028 for tv, 0.074 / 0.087 for wiener on this blocky scene) ...
    centre = field.psfs[0, 1]
    assert error <= 1.5 * chunk_error(y, centre, method, params) + 1e-4
    # ... and far closer than the field's result is to one PSF's
    whole = unblur.deconvolve(y, field, method=method, **params)
    one = unblur.deconvolve(y, centre, method=method, **params)
    assert float(np.abs(one - whole)[INNER].max()) > 3 * error


def test_chunked_colour_with_a_field_fixes_parameters_on_a_sample(problem):
    y, field = problem
    rgb = np.stack([y, 0.5 * y], axis=-1)
    params = {"num_iter": 5, "acceleration": False}
    info = {}
    out = ud.deconvolve(
        rgb, field, "richardson_lucy", chunks=48, overlap=24, channel_axis=-1, info=info, **params
    ).compute(scheduler="sync")
    # the TV weight chosen once on a sample block (restored with its part of the field)
    weight = info["parameters"]["regularization"]
    whole = unblur.deconvolve(
        rgb, field, method="richardson_lucy", channel_axis=-1, regularization=weight, **params
    )
    assert np.abs(out - whole)[INNER].max() < 5e-3


def test_default_overlap_of_a_field():
    field = psf.grid(np.ones((2, 2, 13, 9)), (64, 64))
    assert ud.default_overlap(field) == (18, 12)
