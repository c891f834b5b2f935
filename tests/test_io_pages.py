"""TIFF files whose pages are separate series (written one by one), thumbnails, mixed sizes."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from unblur.errors import ImageReadError
from unblur.io import read_header, read_image, write_image

RNG = np.random.default_rng(7)


def _pages(n: int, shape=(12, 10)) -> list[np.ndarray]:
    return [RNG.integers(0, 255, shape, dtype=np.uint8) for _ in range(n)]


def test_pages_written_one_by_one_are_read_as_a_stack(tmp_path):
    # tifffile lists each page of such a file as its own series; reading series 0 alone
    # used to drop every page but the first without a word
    pages = _pages(3)
    with tifffile.TiffWriter(tmp_path / "p.tif") as tif:
        for page in pages:
            tif.write(page)
    assert len(tifffile.TiffFile(tmp_path / "p.tif").series) == 3
    data, info = read_image(tmp_path / "p.tif")
    assert data.shape == (3, 12, 10) and info.n_pages == 3 and info.channel_axis is None
    assert np.array_equal(np.rint(data * 255).astype(np.uint8), np.stack(pages))
    assert read_header(tmp_path / "p.tif").shape == (3, 12, 10)
    out = write_image(tmp_path / "o.tif", data, info=info)
    assert np.array_equal(tifffile.imread(out), np.stack(pages))


def test_rgb_pages_written_one_by_one_are_a_colour_stack(tmp_path):
    pages = _pages(2, (8, 6, 3))
    with tifffile.TiffWriter(tmp_path / "p.tif") as tif:
        for page in pages:
            tif.write(page, photometric="rgb")
    data, info = read_image(tmp_path / "p.tif")
    assert data.shape == (2, 8, 6, 3) and info.n_pages == 2 and info.channel_axis == -1
    assert np.array_equal(np.rint(data * 255).astype(np.uint8), np.stack(pages))


def test_a_thumbnail_is_left_out(tmp_path):
    image, thumb = _pages(1, (16, 12))[0], _pages(1, (4, 3))[0]
    with tifffile.TiffWriter(tmp_path / "t.tif") as tif:
        tif.write(image)
        tif.write(thumb, subfiletype=1)  # a reduced-resolution copy
    data, info = read_image(tmp_path / "t.tif")
    assert data.shape == (16, 12) and info.n_pages == 1
    assert np.array_equal(np.rint(data * 255).astype(np.uint8), image)


def test_images_of_different_sizes_are_refused_not_read_in_part(tmp_path):
    with tifffile.TiffWriter(tmp_path / "m.tif") as tif:
        tif.write(_pages(1, (12, 10))[0])
        tif.write(_pages(1, (20, 8))[0])
    message = (
        "cannot read 'm.tif': it holds 2 images of different sizes or types "
        "(12 x 10 uint8, 20 x 8 uint8); "
        "unblur reads one image or a stack of same-sized pages: save each image to its own file"
    )
    for read in (read_image, read_header):
        with pytest.raises(ImageReadError) as err:
            read(tmp_path / "m.tif")
        assert str(err.value).replace(str(tmp_path) + "/", "") == message


def test_images_of_different_types_are_refused_and_named(tmp_path):
    with tifffile.TiffWriter(tmp_path / "t.tif") as tif:
        tif.write(np.zeros((12, 10), np.uint16))
        tif.write(np.zeros((12, 10), np.uint8))  # e.g. a mask saved after the data
    with pytest.raises(ImageReadError) as err:
        read_image(tmp_path / "t.tif")
    assert "it holds 2 images of different sizes or types (12 x 10 uint16, 12 x 10 uint8)" in (
        str(err.value)
    )


def test_ome_series_and_stacks_written_one_by_one_are_refused_not_read_in_part(tmp_path):
    # before: the first OME series (one position of a multi-position acquisition) was read
    # and the others dropped without a word
    with tifffile.TiffWriter(tmp_path / "pos.ome.tif", ome=True) as tif:
        for _ in range(2):
            tif.write(np.zeros((12, 10), np.uint16), metadata={"axes": "YX"})
    with tifffile.TiffWriter(tmp_path / "z.tif") as tif:
        for _ in range(2):
            tif.write(np.zeros((3, 12, 10), np.uint8), photometric="minisblack")
    expected = {
        "pos.ome.tif": "it holds 2 separate images of 12 x 10 uint16 (OME series: positions, "
        "wells or tiles); unblur reads one image or one stack: save each image to its own file",
        "z.tif": "it holds 2 separate images of 3 x 12 x 10 uint8; unblur reads one image or "
        "one stack: save each image to its own file",
    }
    for name, tail in expected.items():
        assert len(tifffile.TiffFile(tmp_path / name).series) == 2
        with pytest.raises(ImageReadError) as err:
            read_image(tmp_path / name)
        assert str(err.value).endswith(tail)
