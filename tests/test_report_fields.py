"""The report and the previews of a PSF field: the grid drawn over the image, the mosaic."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

import unblur
from unblur import psf
from unblur.errors import InvalidParameterError, InvalidPSFError
from unblur.report import field_preview, write_report
from unblur.report._field import _BORDER_COLOUR, _DIM, _PSF_COLOUR, field_overlay


def embedded(page: str, id_: str) -> np.ndarray:
    match = re.search(rf"<img id='{id_}'[^>]* src='data:image/png;base64,([^']*)'", page)
    assert match, f"no image {id_!r}"
    with Image.open(io.BytesIO(base64.b64decode(match.group(1)))) as img:
        return np.asarray(img)


@pytest.fixture(scope="module")
def field():
    kernels = np.stack([psf.motion(9, angle=a, size=9) for a in (-30, 0, 30, 60, 90, 120)])
    return psf.grid(kernels.reshape(2, 3, 9, 9), (60, 90))


def test_report_draws_the_field_over_the_image(tmp_path, field):
    x = np.full((60, 90), 0.5)
    y = unblur.blur(x, field)
    info = {}
    out = unblur.deconvolve(y, field, method="wiener", info=info)
    path = write_report(
        tmp_path / "r.html",
        blurred=y,
        restored=out,
        psf=field,
        method=info["method"],
        parameters=info["parameters"],
        seconds=info["seconds"],
    )
    page = path.read_text()
    assert "<section id='psf-field'>" in page and "PSF field 2\u00d73 of 9\u00d79" in page
    assert "Mean PSF of the field" in page
    overlay = embedded(page, "psf-field-overlay").astype(float)
    assert overlay.shape == (60, 90, 3)
    # the centre of every cell shows its PSF's peak in the PSF colour (each PSF's centre pixel
    # is its maximum: a centred line)
    for r in field.centres()[0]:
        for c in field.centres()[1]:
            np.testing.assert_allclose(overlay[round(r), round(c)], _PSF_COLOUR, atol=1)
    # away from the PSFs and the borders: the image, dimmed
    np.testing.assert_allclose(overlay[2, 2], _DIM * 128, atol=1.5)
    # the border between the columns of cells lies half-way between their centres
    border = round((field.centres()[1][0] + field.centres()[1][1]) / 2)
    np.testing.assert_allclose(
        overlay[2, border], 0.5 * _DIM * 128 + 0.5 * _BORDER_COLOUR, atol=1.5
    )
    mosaic = embedded(page, "psf-field-mosaic")
    np.testing.assert_array_equal(mosaic, field_preview(field))


def test_report_refuses_a_field_of_another_image(tmp_path, field):
    y = np.zeros((60, 80))
    with pytest.raises(InvalidParameterError, match=r"built for an image of shape 60\u00d790"):
        write_report(
            tmp_path / "r.html", blurred=y, restored=y, psf=field, method="tv",
            parameters={}, seconds=1.0,
        )  # fmt: skip


def test_field_preview_tiles_each_psf_scaled_to_its_peak(field):
    mosaic = field_preview(field, scale=3, gap=2)
    assert mosaic.shape == (2 * (27 + 2) + 2, 3 * (27 + 2) + 2)
    tile = mosaic[2 + 29 : 2 + 29 + 27, 2 + 2 * 29 : 2 + 2 * 29 + 27]  # cell (1, 2)
    k = field.psfs[1, 2]
    expected = np.round(255 * np.kron(k / k.max(), np.ones((3, 3)))).astype(np.uint8)
    np.testing.assert_array_equal(tile, expected)
    assert (mosaic[:2] == 128).all()  # the gaps are mid-grey
    np.testing.assert_array_equal(field_preview(np.asarray(field.psfs), scale=3, gap=2), mosaic)


def test_a_3d_field_is_shown_by_its_central_plane():
    kernels = np.ones((2, 2, 2, 3, 5, 5))
    kernels[1] *= np.arange(1, 6)[None, None, None, None, :]  # the second plane differs
    field = psf.grid(kernels, (20, 40, 40))
    mosaic = field_preview(field, scale=1, gap=0)
    k = field.psfs[1, 0, 0].max(axis=0)  # centre plane 10 is nearest cell 1 (centre 14.5)
    np.testing.assert_array_equal(mosaic[:5, :5], np.round(255 * k / k.max()).astype(np.uint8))
    overlay = field_overlay(np.zeros((40, 40), np.uint8), field)
    assert overlay.shape == (40, 40, 3)


def test_field_preview_refuses_other_shapes():
    with pytest.raises(InvalidPSFError, match=r"shape \(gy, gx, ky, kx\)"):
        field_preview(np.ones((3, 3, 3)))
    with pytest.raises(InvalidParameterError, match="scale must be >= 1"):
        field_preview(np.ones((1, 1, 3, 3)), scale=0)
