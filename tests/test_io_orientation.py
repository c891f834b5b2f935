"""The EXIF / TIFF Orientation tag: every reader gives the image as viewers show it, and
:func:`read_header` says the shape :func:`read_image` returns.

The truth is Pillow's own ``ImageOps.exif_transpose`` on an 8-bit PNG with the same tag.
"""

from __future__ import annotations

import io

import imagecodecs
import numpy as np
import pytest
import tifffile
from click.testing import CliRunner
from PIL import Image, ImageOps

from unblur.cli import cli
from unblur.io import read_header, read_image
from unblur.io.metadata import _png_chunk, _png_with_metadata

RNG = np.random.default_rng(11)
RGB8 = RNG.integers(0, 256, (6, 9, 3), dtype=np.uint8)


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "phone"
    return exif.tobytes()


def _shown(data: np.ndarray, orientation: int) -> np.ndarray:
    """What a viewer shows: Pillow's exif_transpose of a PNG holding ``data``."""
    buf = io.BytesIO()
    Image.fromarray(data).save(buf, format="PNG", exif=_exif(orientation))
    buf.seek(0)
    return np.asarray(ImageOps.exif_transpose(Image.open(buf)))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_tiff_orientation_is_applied_as_viewers_do(tmp_path, orientation):
    # before: the tag was ignored, so a restored camera TIFF came out turned or mirrored
    path = tmp_path / "o.tif"
    tifffile.imwrite(path, RGB8, photometric="rgb", extratags=[(274, "H", 1, orientation, True)])
    data, _ = read_image(path)
    expected = _shown(RGB8, orientation)
    assert np.array_equal(np.rint(data * 255).astype(np.uint8), expected)
    assert read_header(path).shape == expected.shape


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_sixteen_bit_png_orientation_is_applied_like_eight_bit(tmp_path, orientation):
    # before: 8-bit PNGs were turned upright, 16-bit ones (decoded by libpng) were not, and
    # a .tif output (which carries no EXIF) was then shown turned
    rgb16 = RGB8.astype(np.uint16) * 257
    path = tmp_path / "o16.png"
    path.write_bytes(_png_with_metadata(imagecodecs.png_encode(rgb16), None, _exif(orientation)))
    data, info = read_image(path)
    expected = _shown(RGB8, orientation).astype(np.uint16) * 257
    assert np.array_equal(np.rint(data * 65535).astype(np.uint16), expected)
    assert read_header(path).shape == expected.shape
    with Image.open(path) as im:  # the orientation is reset in the copy, as for 8 bits
        assert im.getexif()[0x0112] == orientation
    assert info.exif == _exif(1)


@pytest.mark.parametrize("ext", [".jpg", ".png"])
def test_header_shape_is_the_upright_shape(tmp_path, ext):
    # before: read_header gave the stored (sideways) shape of a phone photograph, so
    # --reference refused an upright reference of the very same picture
    path = tmp_path / f"phone{ext}"
    Image.fromarray(RGB8).save(path, exif=_exif(6))
    data, _ = read_image(path)
    assert data.shape == read_header(path).shape == (9, 6, 3)


def test_cli_tiff_output_of_a_sideways_16_bit_png_is_upright(tmp_path):
    rgb16 = RGB8.astype(np.uint16) * 257
    big = np.kron(rgb16, np.ones((4, 4, 1), np.uint16))  # 24 x 36: room for the PSF
    source = tmp_path / "o16.png"
    source.write_bytes(_png_with_metadata(imagecodecs.png_encode(big), None, _exif(6)))
    result = CliRunner().invoke(
        cli,
        [
            "deconvolve", str(source), "-o", str(tmp_path / "out.tif"),
            "--psf", "gaussian:sigma=0.5", "-m", "wiener",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert tifffile.imread(tmp_path / "out.tif").shape == (36, 24, 3)


def test_png_exif_search_skips_image_data_and_ends_at_iend(tmp_path):
    png = imagecodecs.png_encode(RGB8)
    path = tmp_path / "late.png"  # eXIf after the image data (allowed since PNG 1.5 ext.)
    iend = png.rindex(b"IEND") - 4
    path.write_bytes(png[:iend] + _png_chunk(b"eXIf", _exif(8)[6:]) + png[iend:])
    assert read_header(path).shape == (9, 6, 3)
    assert read_image(path)[0].shape == (9, 6, 3)
