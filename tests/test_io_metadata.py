"""ICC profiles and EXIF carried from the input file to the output (:mod:`unblur.io`).

Files are written by Pillow / tifffile with a real sRGB (or grey) profile and an EXIF block;
read -> write must give back the very same bytes, where the output format can hold them.
"""

from __future__ import annotations

import dataclasses
import struct

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner
from PIL import Image, ImageCms

from unblur.cli import cli
from unblur.io import read_image, write_image

RNG = np.random.default_rng(7)
RGB8 = (RNG.random((24, 32, 3)) * 255).astype(np.uint8)


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def grey_profile() -> bytes:
    """A valid-looking grey profile: an sRGB one with its colour space set to 'GRAY'."""
    icc = bytearray(srgb_profile())
    icc[16:20] = b"GRAY"
    return bytes(icc)


def exif_block(orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "unblur test camera"  # Make
    exif[0x0131] = "pillow"  # Software
    if orientation is not None:
        exif[0x0112] = orientation
    return exif.tobytes()  # "Exif\0\0" + TIFF-structured IFDs


def stored(path) -> tuple[bytes | None, bytes | None]:
    """(ICC profile, EXIF) as an independent reader finds them in the file."""
    if path.suffix == ".tif":
        with tifffile.TiffFile(path) as tif:
            return tif.pages.first.iccprofile, None
    with Image.open(path) as im:
        exif = im.info.get("exif")
        if exif is not None and not exif.startswith(b"Exif\x00\x00"):
            exif = b"Exif\x00\x00" + exif
        return im.info.get("icc_profile"), exif


@pytest.mark.parametrize("ext", [".png", ".jpg"])
def test_png_and_jpeg_keep_icc_and_exif(tmp_path, ext):
    icc, exif = srgb_profile(), exif_block()
    source = tmp_path / f"in{ext}"
    Image.fromarray(RGB8).save(source, icc_profile=icc, exif=exif)
    data, info = read_image(source)
    assert info.icc_profile == icc and info.exif == exif
    for out_ext in (".png", ".jpg"):
        target = tmp_path / f"out{out_ext}"
        write_image(target, data, info=info, force=True)
        assert stored(target) == (icc, exif), out_ext


def test_tiff_keeps_the_icc_profile(tmp_path):
    icc = srgb_profile()
    source = tmp_path / "in.tif"
    tifffile.imwrite(source, RGB8, photometric="rgb", iccprofile=icc)
    data, info = read_image(source)
    assert info.icc_profile == icc and info.exif is None
    target = tmp_path / "out.tif"
    write_image(target, data, info=info, dtype="float32")
    assert stored(target)[0] == icc
    png = tmp_path / "out.png"  # TIFF in, PNG out: the profile moves along
    write_image(png, data, info=info)
    assert stored(png) == (icc, None)


def test_sixteen_bit_png_keeps_icc_and_exif(tmp_path):
    icc, exif = srgb_profile(), exif_block()
    source = tmp_path / "in.png"
    Image.fromarray(RGB8).save(source, icc_profile=icc, exif=exif)
    _, info = read_image(source)
    data16 = (RNG.random((24, 32, 3)) * 65535).astype(np.uint16)
    target = tmp_path / "out16.png"
    write_image(target, data16, info=info, dtype="uint16")  # written by libpng, chunks added
    assert stored(target) == (icc, exif)
    back, info16 = read_image(target)
    assert info16.dtype == "uint16" and (info16.icc_profile, info16.exif) == (icc, exif)
    np.testing.assert_array_equal(np.round(back * 65535).astype(np.uint16), data16)


def test_profile_is_only_written_where_its_colour_space_fits(tmp_path):
    rgb_icc, grey_icc = srgb_profile(), grey_profile()
    source = tmp_path / "in.png"
    Image.fromarray(RGB8).save(source, icc_profile=rgb_icc)
    data, info = read_image(source)
    grey_out = tmp_path / "grey.png"
    write_image(grey_out, data.mean(axis=-1), info=info)  # an RGB profile on grey: dropped
    assert stored(grey_out) == (None, None)
    grey_src = tmp_path / "grey_in.png"
    Image.fromarray(RGB8[..., 0]).save(grey_src, icc_profile=grey_icc)
    grey, grey_info = read_image(grey_src)
    assert grey_info.icc_profile == grey_icc
    write_image(tmp_path / "grey_out.png", grey, info=grey_info)
    assert stored(tmp_path / "grey_out.png")[0] == grey_icc


def test_orientation_applied_on_read_is_reset_in_the_copy(tmp_path):
    source = tmp_path / "in.jpg"
    Image.fromarray(RGB8).save(source, exif=exif_block(orientation=6), quality=95)
    data, info = read_image(source)
    assert data.shape[:2] == (32, 24)  # rotated upright by the reader
    assert info.exif is not None and len(info.exif) == len(exif_block(orientation=6))
    assert info.exif == exif_block(orientation=1)  # same block, orientation 1
    target = tmp_path / "out.jpg"
    write_image(target, data, info=info)
    with Image.open(target) as im:
        assert im.getexif()[0x0112] == 1 and im.getexif()[0x010F] == "unblur test camera"
        assert im.size == (24, 32)  # width x height: shown upright, not rotated twice


def test_files_without_metadata_and_npy(tmp_path):
    source = tmp_path / "plain.png"
    Image.fromarray(RGB8).save(source)
    data, info = read_image(source)
    assert info.icc_profile is None and info.exif is None
    write_image(tmp_path / "out.png", data, info=info)
    assert stored(tmp_path / "out.png") == (None, None)
    np.save(tmp_path / "a.npy", data)
    assert read_image(tmp_path / "a.npy")[1].icc_profile is None


def test_broken_exif_does_not_stop_a_16_bit_read(tmp_path):
    broken = b"Exif\x00\x00XX" + struct.pack(">I", 9999)
    _, info = read_image(_saved(tmp_path / "in.png"))
    source = tmp_path / "broken16.png"
    data16 = (RNG.random((24, 32, 3)) * 65535).astype(np.uint16)
    write_image(source, data16, info=dataclasses.replace(info, exif=broken), dtype="uint16")
    data, info = read_image(source)
    assert data.shape == (24, 32, 3)
    assert info.exif == broken  # kept as it is: no orientation to reset


def _saved(path):
    Image.fromarray(RGB8).save(path)
    return path


def test_cli_deconvolve_carries_metadata(tmp_path):
    icc, exif = srgb_profile(), exif_block()
    source = tmp_path / "in.jpg"
    Image.fromarray(RGB8).save(source, icc_profile=icc, exif=exif, quality=95)
    for out in ("out.jpg", "out.png", "out.tif"):
        result = CliRunner().invoke(
            cli,
            ["deconvolve", str(source), "-o", str(tmp_path / out), "--psf", "gaussian:sigma=1",
             "-m", "wiener", "--color", "luminance"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        expected = (icc, None) if out.endswith(".tif") else (icc, exif)
        assert stored(tmp_path / out) == expected, out
