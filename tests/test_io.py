"""Tests for unblur.io: reading and writing image files."""

from __future__ import annotations

import os
import stat
import struct
import zlib

import imagecodecs
import imageio.v3 as iio
import numpy as np
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

import unblur.io as uio
from unblur import psf as unblur_psf
from unblur.errors import ImageReadError, ImageWriteError, InvalidImageError, UnblurError
from unblur.io import (
    MAX_PIXELS,
    SUPPORTED_READ_EXTENSIONS,
    SUPPORTED_WRITE_EXTENSIONS,
    ImageInfo,
    from_float,
    read_image,
    to_float,
    write_image,
)

# these tests pass images beyond [0, 1] on purpose (scales, photon counts, integer ranges)
pytestmark = pytest.mark.filterwarnings("ignore::unblur.ValueRangeWarning")

RNG = np.random.default_rng(20240531)


def _u8(shape):
    return RNG.integers(0, 256, shape, dtype=np.uint8)


def _u16(shape):
    return RNG.integers(0, 65536, shape, dtype=np.uint16)


def _message(excinfo, fragment: str) -> str:
    """The exception message: one line that contains ``fragment``."""
    msg = str(excinfo.value)
    assert "\n" not in msg and "\r" not in msg, msg
    assert fragment in msg, msg
    return msg


def _chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk, for hand-made headers."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(width: int, height: int, depth: int, colour: int, raw: bytes, *extra: bytes, lace=0):
    """A hand-made PNG: IHDR, ``extra`` chunks, one IDAT holding ``raw`` (scanlines), IEND."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, lace)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + b"".join(extra)
        + _chunk(b"IDAT", zlib.compress(raw))
        + _chunk(b"IEND", b"")
    )


# Adam7 passes: first column, first row, column step, row step
_ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)


def _scanlines(k: np.ndarray, interlace: bool = False) -> bytes:
    """16-bit samples (H, W[, C]) as unfiltered PNG scanlines, optionally Adam7-interlaced."""
    out = b""
    for x0, y0, dx, dy in _ADAM7 if interlace else ((0, 0, 1, 1),):
        sub = k[y0::dy, x0::dx]
        if sub.size:  # empty passes are left out
            out += b"".join(b"\x00" + row.astype(">u2").tobytes() for row in sub)
    return out


# --------------------------------------------------------------------------------------------
# round trips


def test_supported_extensions_are_tuples():
    assert isinstance(SUPPORTED_READ_EXTENSIONS, tuple)
    assert isinstance(SUPPORTED_WRITE_EXTENSIONS, tuple)
    for ext in (".png", ".jpg", ".tif", ".tiff", ".npy"):
        assert ext in SUPPORTED_READ_EXTENSIONS and ext in SUPPORTED_WRITE_EXTENSIONS
    assert MAX_PIXELS == 1 << 29


@pytest.mark.parametrize("shape", [(17, 23), (17, 23, 3)])
def test_png_8bit_round_trip_exact(tmp_path, shape):
    k = _u8(shape)
    x = k.astype(np.float64) / 255
    p1 = write_image(tmp_path / "a.png", x)
    assert p1 == tmp_path / "a.png"
    assert np.array_equal(iio.imread(p1), k)  # stored values are exactly k

    data, info = read_image(p1)
    assert data.dtype == np.float32 and data.shape == shape
    assert np.array_equal(data, (k / 255).astype(np.float32))
    assert info == ImageInfo(
        path=str(p1),
        dtype="uint8",
        shape=shape,
        value_range=(0.0, 255.0),
        channel_axis=-1 if len(shape) == 3 else None,
        has_alpha=False,
        n_pages=1,
    )
    p2 = write_image(tmp_path / "b.png", data, info=info)
    assert p2.read_bytes() == p1.read_bytes()


def test_png_16bit_grey_round_trip_and_preserved_by_info(tmp_path):
    k = _u16((19, 13))
    src = write_image(tmp_path / "src.png", k.astype(np.float64) / 65535, dtype="uint16")
    with Image.open(src) as im:
        assert im.mode.startswith("I;16")
    data, info = read_image(src)
    assert info.dtype == "uint16" and info.value_range == (0.0, 65535.0)
    assert np.array_equal(data, (k / 65535).astype(np.float32))

    out = write_image(tmp_path / "out.png", data, info=info)  # 16 bits kept via info
    assert iio.imread(out).dtype == np.uint16
    assert np.array_equal(iio.imread(out), k)
    eight = write_image(tmp_path / "eight.png", data)  # default is 8-bit
    assert iio.imread(eight).dtype == np.uint8


@pytest.mark.parametrize("n", [2, 3, 4])
def test_png_16bit_colour_round_trip_exact(tmp_path, n):
    # Pillow cannot write these and silently reads only the high byte; unblur keeps 16 bits.
    k = _u16((11, 9, n))
    p = write_image(tmp_path / "c.png", k / 65535, dtype="uint16")
    assert p.read_bytes()[24:26] == bytes([16, {2: 4, 3: 2, 4: 6}[n]])  # IHDR depth, colour
    data, info = read_image(p)
    assert info.dtype == "uint16" and info.shape == (11, 9, n)
    assert info.has_alpha == (n in (2, 4)) and info.channel_axis == -1
    assert np.array_equal(from_float(data, np.uint16), k)
    assert np.array_equal(write_image(tmp_path / "again.png", data, info=info).read_bytes(),
                          p.read_bytes())  # fmt: skip
    # an independent decoder (Pillow, 8 bits) sees the same image
    pil = np.asarray(Image.open(p))
    high = (k >> 8).astype(np.uint8)
    expected = high if n != 2 else high[..., [0, 0, 0, 1]]  # Pillow gives LA;16 as RGBA
    assert np.array_equal(pil, expected)


@pytest.mark.parametrize("shape", [(40, 33), (40, 33, 2), (40, 33, 3), (40, 33, 4)])
def test_png_16bit_from_libpng_defaults_exact(tmp_path, shape):
    # libpng's default adaptive filters (Paeth, Average, ...), as other programs write them
    k = _u16(shape)
    (tmp_path / "lib.png").write_bytes(imagecodecs.png_encode(k))
    data, info = read_image(tmp_path / "lib.png")
    assert info.dtype == "uint16" and info.shape == shape and data.shape == shape
    assert info.channel_axis == (-1 if len(shape) == 3 else None)
    assert np.array_equal(from_float(data, np.uint16), k)


@pytest.mark.parametrize(("colour", "n"), [(0, 1), (4, 2), (2, 3), (6, 4)])
def test_png_16bit_interlaced_exact_and_quiet(tmp_path, caplog, colour, n):
    k = _u16((13, 11, n))[..., 0] if n == 1 else _u16((13, 11, n))
    p = tmp_path / "adam7.png"
    p.write_bytes(_png(11, 13, 16, colour, _scanlines(k, interlace=True), lace=1))
    with caplog.at_level("DEBUG"):
        data, info = read_image(p)
    assert info.dtype == "uint16" and info.shape == k.shape
    assert np.array_equal(from_float(data, np.uint16), k)
    assert not caplog.records  # libpng's interlacing warning is not passed on


def test_png_16bit_rgb_with_trns_stays_rgb(tmp_path):
    # a tRNS colour key is ignored for RGB, as Pillow does for 8-bit RGB
    k = _u16((5, 6, 3))
    trns = _chunk(b"tRNS", k[0, 0].astype(">u2").tobytes())
    (tmp_path / "key.png").write_bytes(_png(6, 5, 16, 2, _scanlines(k), trns))
    data, info = read_image(tmp_path / "key.png")
    assert info.shape == (5, 6, 3) and not info.has_alpha
    assert np.array_equal(from_float(data, np.uint16), k)


def _scanlines8(k: np.ndarray, interlace: bool = False) -> bytes:
    """8-bit samples as unfiltered PNG scanlines, optionally Adam7-interlaced."""
    out = b""
    for x0, y0, dx, dy in _ADAM7 if interlace else ((0, 0, 1, 1),):
        sub = k[y0::dy, x0::dx]
        if sub.size:
            out += b"".join(b"\x00" + row.astype(np.uint8).tobytes() for row in sub)
    return out


@pytest.mark.parametrize(("colour", "shape"), [(0, (9, 14)), (2, (9, 14, 3))])
@pytest.mark.parametrize("variant", ["plain", "interlaced", "trns", "gamma", "written"])
def test_png_8bit_grey_and_rgb_decoded_as_pillow_does(tmp_path, colour, shape, variant):
    """8-bit grey and RGB PNGs are decoded by libpng (faster than Pillow), to Pillow's
    values: interlaced, with a tRNS colour key (ignored) or a gAMA chunk (not applied), or
    as our writer and libpng's default filters write them; the header says uint8."""
    k = _u8(shape)
    p = tmp_path / "p8.png"
    if variant == "written":
        write_image(p, k.astype(np.float64) / 255)
    else:
        extra = {
            "trns": _chunk(b"tRNS", k[0, 0].astype(">u2").tobytes()),
            "gamma": _chunk(b"gAMA", struct.pack(">I", 100000)),
        }.get(variant, b"")
        raw = _scanlines8(k, interlace=variant == "interlaced")
        p.write_bytes(_png(shape[1], shape[0], 8, colour, raw, extra,
                           lace=int(variant == "interlaced")))  # fmt: skip
    with Image.open(p) as im:
        pillow = np.asarray(im.convert("L" if colour == 0 else "RGB"))
    assert np.array_equal(pillow, k)
    data, info = read_image(p)
    assert np.array_equal(data, (k / 255).astype(np.float32))
    assert info.dtype == "uint8" and info.shape == shape and not info.has_alpha
    assert uio.read_header(p).dtype == np.uint8


def _refuses_truncations(p) -> bytes:
    """The PNG file ``p``, cut inside IDAT, without IEND and in IDAT's header, is refused as
    truncated or corrupt; returns its bytes (restored by the caller where needed)."""
    good = p.read_bytes()
    for cut in (len(good) // 2, len(good) - 13, 40):
        p.write_bytes(good[:cut])
        with pytest.raises(ImageReadError) as e:
            read_image(p)
        _message(e, "not a valid PNG image (truncated or corrupt")
    return good


@pytest.mark.parametrize("shape", [(32, 32), (32, 32, 3)])
def test_png_8bit_corrupt(tmp_path, shape):
    _refuses_truncations(write_image(tmp_path / "t8.png", RNG.random(shape)))


@pytest.mark.parametrize("shape", [(32, 32), (32, 32, 2), (32, 32, 3), (32, 32, 4)])
def test_png_16bit_corrupt(tmp_path, shape):
    p = write_image(tmp_path / "t16.png", RNG.random(shape), dtype="uint16")
    good = _refuses_truncations(p)
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0xFF  # inside IDAT: CRC mismatch / bad zlib data
    p.write_bytes(bytes(flipped))
    with pytest.raises(ImageReadError) as e:
        read_image(p)
    _message(e, "not a valid PNG image (truncated or corrupt")
    ihdr = bytearray(good)
    ihdr[25] = 3  # colour type 3 (palette) cannot have 16 bits
    p.write_bytes(bytes(ihdr))
    with pytest.raises(ImageReadError) as e:
        read_image(p)
    _message(e, "not a valid PNG image")


@pytest.mark.parametrize(("colour", "n"), [(0, 1), (2, 3)])
def test_png_16bit_data_ending_early(tmp_path, colour, n):
    # every chunk intact, but the compressed pixel data stop after a few rows
    rows = np.zeros((4, 1 + 8 * 2 * n), np.uint8).tobytes()  # 4 of 8 rows
    (tmp_path / "short.png").write_bytes(_png(8, 8, 16, colour, rows))
    with pytest.raises(ImageReadError) as e:
        read_image(tmp_path / "short.png")
    _message(e, "not a valid PNG image (truncated or corrupt")


def test_tiff_16bit_rgb_round_trip_exact(tmp_path):
    k = _u16((12, 10, 3))
    p = write_image(tmp_path / "rgb16.tif", k / 65535, dtype="uint16")
    assert np.array_equal(tifffile.imread(p), k)
    data, info = read_image(p)
    assert info.dtype == "uint16" and info.channel_axis == -1 and not info.has_alpha
    assert np.array_equal(data, (k / 65535).astype(np.float32))
    out = write_image(tmp_path / "again.tif", data, info=info)
    assert np.array_equal(tifffile.imread(out), k)


def test_float32_tiff_and_npy_bit_exact(tmp_path):
    x = (RNG.standard_normal((8, 7)) * 3).astype(np.float32)
    x[0, 0], x[0, 1], x[0, 2] = -2.5, 7.0, np.float32(1e-30)
    for name in ("f.tif", "f.npy"):
        p = write_image(tmp_path / name, x)
        data, info = read_image(p)
        assert data.dtype == np.float32 and info.dtype == "float32"
        assert info.value_range == (0.0, 1.0)
        assert np.array_equal(data, x)
    assert np.array_equal(tifffile.imread(tmp_path / "f.tif"), x)


def test_float64_npy_keeps_float64(tmp_path):
    x = RNG.standard_normal((5, 6)) * 1e3
    p = write_image(tmp_path / "d.npy", x)
    data, info = read_image(p)
    assert data.dtype == np.float64 and info.dtype == "float64"
    assert np.array_equal(data, x)
    # float64 TIFF is stored as float64 (exact); images are returned as float32
    t = write_image(tmp_path / "d.tif", x)
    assert tifffile.imread(t).dtype == np.float64
    assert read_image(t)[0].dtype == np.float32


def test_integer_npy_is_scaled(tmp_path):
    k = _u16((4, 5))
    np.save(tmp_path / "k.npy", k)
    data, info = read_image(tmp_path / "k.npy")
    assert data.dtype == np.float32 and info.value_range == (0.0, 65535.0)
    assert np.array_equal(data, (k / 65535).astype(np.float32))


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_rgba_alpha_preserved(tmp_path, ext):
    k = _u8((10, 12, 4))
    k[..., 3] = np.arange(12, dtype=np.uint8) * 20  # a varied alpha channel
    p = write_image(tmp_path / f"rgba{ext}", k / 255, dtype="uint8")
    data, info = read_image(p)
    assert info.has_alpha and info.channel_axis == -1 and data.shape == (10, 12, 4)
    assert np.array_equal(from_float(data, np.uint8), k)
    out = write_image(tmp_path / f"out{ext}", data, info=info)
    again, info2 = read_image(out)
    assert info2.has_alpha and np.array_equal(again, data)


def test_grey_alpha_png(tmp_path):
    k = _u8((6, 7, 2))
    p = write_image(tmp_path / "la.png", k / 255)
    data, info = read_image(p)
    assert info.has_alpha and data.shape == (6, 7, 2)
    assert np.array_equal(from_float(data, np.uint8), k)


def test_multipage_tiff_read_as_stack_and_written_back(tmp_path):
    pages = _u16((5, 8, 6))
    tifffile.imwrite(tmp_path / "stack.tif", pages, photometric="minisblack")
    data, info = read_image(tmp_path / "stack.tif")
    assert data.shape == (5, 8, 6) and info.n_pages == 5 and info.channel_axis is None
    out = write_image(tmp_path / "out.tif", data, info=info)
    with tifffile.TiffFile(out) as tif:
        assert len(tif.pages) == 5
        assert np.array_equal(tif.asarray(), pages)


def test_stack_with_narrow_pages_uses_info(tmp_path):
    # (3, 8, 4) would look like an RGBA image; info says it is 3 pages
    pages = RNG.random((3, 8, 4), dtype=np.float32)
    tifffile.imwrite(tmp_path / "s.tif", pages, photometric="minisblack")
    data, info = read_image(tmp_path / "s.tif")
    assert info.n_pages == 3 and info.channel_axis is None
    out = write_image(tmp_path / "o.tif", data, info=info)
    with tifffile.TiffFile(out) as tif:
        assert len(tif.pages) == 3
    assert np.array_equal(read_image(out)[0], pages)


def test_multipage_rgb_tiff_and_planar_rgb(tmp_path):
    stack = _u8((3, 5, 4, 3))
    tifffile.imwrite(tmp_path / "rgbstack.tif", stack, photometric="rgb")
    data, info = read_image(tmp_path / "rgbstack.tif")
    assert data.shape == (3, 5, 4, 3) and info.n_pages == 3 and info.channel_axis == -1
    planar = _u8((3, 5, 4))
    tifffile.imwrite(tmp_path / "planar.tif", planar, photometric="rgb", planarconfig="separate")
    data, info = read_image(tmp_path / "planar.tif")
    assert data.shape == (5, 4, 3)
    assert np.array_equal(from_float(data, np.uint8), np.moveaxis(planar, 0, -1))


def test_ome_tiff_extra_axes_become_pages_and_c_channels(tmp_path):
    data = _u8((2, 3, 6, 5))  # T, C, Y, X: T pages, C channels (never mixed with the pages)
    tifffile.imwrite(tmp_path / "x.ome.tif", data, metadata={"axes": "TCYX"})
    stack, info = read_image(tmp_path / "x.ome.tif")
    assert stack.shape == (2, 6, 5, 3) and info.n_pages == 2 and info.channel_axis == -1
    assert np.array_equal(from_float(stack, np.uint8), np.moveaxis(data, 1, -1))
    data = _u8((2, 3, 4, 6, 5))  # T, Z, C... any axes but C, Y, X become pages
    tifffile.imwrite(tmp_path / "y.ome.tif", data, metadata={"axes": "TZCYX"})
    stack, info = read_image(tmp_path / "y.ome.tif")
    assert stack.shape == (6, 6, 5, 4) and info.n_pages == 6 and not info.has_alpha
    assert np.array_equal(from_float(stack, np.uint8), np.moveaxis(data, 2, -1).reshape(6, 6, 5, 4))


def test_lzw_tiff_readable(tmp_path):
    # written by libtiff (through Pillow), decoded by tifffile + imagecodecs
    k = _u16((9, 11))
    Image.fromarray(k).save(tmp_path / "lzw.tif", compression="tiff_lzw")
    data, info = read_image(tmp_path / "lzw.tif")
    assert info.dtype == "uint16" and np.array_equal(from_float(data, np.uint16), k)
    rgb = _u8((9, 11, 3))
    Image.fromarray(rgb).save(tmp_path / "rgb.tif", compression="tiff_lzw")
    data, info = read_image(tmp_path / "rgb.tif")
    assert info.channel_axis == -1 and np.array_equal(from_float(data, np.uint8), rgb)


@pytest.mark.parametrize("compression", ["lzw", "packbits", "zlib", "zstd"])
def test_compressed_16bit_rgb_tiff_exact(tmp_path, compression):
    k = _u16((3, 10, 12, 3))  # a stack of 16-bit RGB pages: Pillow could read none of it
    tifffile.imwrite(tmp_path / "c.tif", k, compression=compression, photometric="rgb")
    data, info = read_image(tmp_path / "c.tif")
    assert info.dtype == "uint16" and info.n_pages == 3 and info.channel_axis == -1
    assert np.array_equal(from_float(data, np.uint16), k)


def test_jpeg_tiff_readable(tmp_path):
    smooth = np.linspace(0, 1, 16 * 16 * 3).reshape(16, 16, 3)
    tifffile.imwrite(
        tmp_path / "j.tif", from_float(smooth, np.uint8), compression="jpeg", photometric="rgb"
    )
    data, info = read_image(tmp_path / "j.tif")
    assert info.dtype == "uint8" and data.shape == (16, 16, 3)
    assert np.abs(data - smooth).max() < 0.05


def test_ycbcr_tiff_without_jpeg_refused(tmp_path):
    Image.fromarray(_u8((8, 6, 3))).convert("YCbCr").save(tmp_path / "y.tif")
    with pytest.raises(ImageReadError) as e:
        read_image(tmp_path / "y.tif")
    _message(e, "YCbCr TIFF images are only supported with JPEG compression")


@pytest.mark.parametrize(("code", "fragment"), [(32771, "CCIRLEW"), (60000, "60000")])
def test_unsupported_tiff_compression(tmp_path, code, fragment):
    p = tmp_path / "odd.tif"
    tifffile.imwrite(p, np.zeros((4, 4), np.uint8), metadata=None)
    raw = bytearray(p.read_bytes())
    with tifffile.TiffFile(p) as tif:
        offset = tif.pages[0].tags["Compression"].valueoffset
    raw[offset : offset + 2] = struct.pack("<H", code)
    p.write_bytes(bytes(raw))
    with pytest.raises(ImageReadError) as e:
        read_image(p)
    _message(e, "unsupported TIFF image (")
    assert fragment in str(e.value)


def test_animated_gif_is_a_stack(tmp_path):
    frames = np.zeros((3, 6, 5, 3), np.uint8)
    frames[1, 2:4] = 255
    frames[2, :, 1] = (0, 0, 255)
    iio.imwrite(tmp_path / "a.gif", frames)
    data, info = read_image(tmp_path / "a.gif")
    assert data.shape == (3, 6, 5, 3) and info.n_pages == 3 and info.channel_axis == -1
    assert np.array_equal(from_float(data, np.uint8), frames)


def test_palette_and_1bit_png(tmp_path):
    rgb = _u8((6, 5, 3))
    Image.fromarray(rgb).convert("P").save(tmp_path / "p.png")
    palette_rgb = np.asarray(Image.open(tmp_path / "p.png").convert("RGB"))
    data, info = read_image(tmp_path / "p.png")
    assert data.shape == (6, 5, 3) and info.channel_axis == -1
    assert np.array_equal(from_float(data, np.uint8), palette_rgb)

    bits = RNG.random((6, 5)) > 0.5
    Image.fromarray(bits).save(tmp_path / "b.png")
    data, _ = read_image(tmp_path / "b.png")
    assert data.shape == (6, 5) and np.array_equal(data, bits.astype(np.float32))


def test_jpeg_and_bmp(tmp_path):
    k = _u8((16, 16, 3))
    bmp = write_image(tmp_path / "x.bmp", k / 255)
    assert np.array_equal(from_float(read_image(bmp)[0], np.uint8), k)
    smooth = np.linspace(0, 1, 16 * 16 * 3).reshape(16, 16, 3)
    jpg = write_image(tmp_path / "x.jpg", smooth)
    data, info = read_image(jpg)
    assert info.dtype == "uint8" and data.shape == (16, 16, 3)
    assert np.abs(data - smooth).max() < 0.05


def test_as_gray(tmp_path):
    k = _u8((7, 8))
    grey_rgb = np.repeat(k[..., None], 3, axis=-1)
    write_image(tmp_path / "g.png", grey_rgb / 255)
    data, info = read_image(tmp_path / "g.png", as_gray=True)
    assert data.shape == (7, 8) and info.channel_axis is None and info.shape == (7, 8, 3)
    assert np.allclose(data, k / 255, atol=1e-7)

    from skimage.color import rgb2gray

    rgba = _u8((7, 8, 4))
    write_image(tmp_path / "c.png", rgba / 255)
    data, info = read_image(tmp_path / "c.png", as_gray=True)
    assert data.shape == (7, 8) and data.dtype == np.float32 and not info.has_alpha
    assert np.allclose(data, rgb2gray(rgba[..., :3] / 255), atol=1e-6)


def test_png_rounding_and_clipping(tmp_path):
    k = np.arange(0, 250, 10, dtype=np.float64)
    x = np.stack([(k + 0.4) / 255, (k + 0.6) / 255, k / 255 - 1e-9, k / 255 + 1e-9])
    x[:, -1] = [-0.2, 1.7, -5.0, 3.0]
    write_image(tmp_path / "r.png", x)
    got = iio.imread(tmp_path / "r.png").astype(int)
    assert np.array_equal(got[0, :-1], k[:-1])  # k + 0.4 rounds down
    assert np.array_equal(got[1, :-1], k[:-1] + 1)  # k + 0.6 rounds up (truncation would not)
    assert np.array_equal(got[2, :-1], k[:-1])
    assert np.array_equal(got[3, :-1], k[:-1])
    assert list(got[:, -1]) == [0, 255, 0, 255]  # clipped


def test_integer_and_bool_input_arrays(tmp_path):
    k = _u8((4, 6))
    write_image(tmp_path / "u8.png", k)
    assert np.array_equal(iio.imread(tmp_path / "u8.png"), k)
    b = RNG.random((4, 6)) > 0.5
    write_image(tmp_path / "b.png", b)
    assert np.array_equal(iio.imread(tmp_path / "b.png"), b.astype(np.uint8) * 255)
    k16 = _u16((4, 6))
    write_image(tmp_path / "u16.tif", k16)  # integer input keeps its dtype in TIFF
    assert np.array_equal(tifffile.imread(tmp_path / "u16.tif"), k16)


def test_new_file_gets_normal_permissions(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    p = write_image(tmp_path / "m.png", np.zeros((3, 3)))
    assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask


# --------------------------------------------------------------------------------------------
# read errors


def test_read_missing_file(tmp_path):
    with pytest.raises(ImageReadError) as e:
        read_image(tmp_path / "nope.png")
    _message(e, "file not found")
    assert "nope.png" in str(e.value)


def test_read_directory(tmp_path):
    (tmp_path / "d.png").mkdir()
    with pytest.raises(ImageReadError) as e:
        read_image(tmp_path / "d.png")
    _message(e, "is a folder")


def test_read_empty_file(tmp_path):
    (tmp_path / "e.png").write_bytes(b"")
    with pytest.raises(ImageReadError) as e:
        read_image(tmp_path / "e.png")
    _message(e, "file is empty")


def test_read_truncated_png(tmp_path):
    p = write_image(tmp_path / "t.png", RNG.random((64, 64, 3)))
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    with pytest.raises(ImageReadError) as e:
        read_image(p)
    _message(e, "not a valid PNG image (truncated or corrupt")


def test_read_random_bytes_png(tmp_path):
    p = tmp_path / "noise.png"
    p.write_bytes(RNG.integers(0, 256, 500, dtype=np.uint8).tobytes())
    with pytest.raises(ImageReadError) as e:
        read_image(p)
    _message(e, "not a valid PNG image")


@pytest.mark.parametrize("how", ["garbage", "cut"])
def test_read_corrupt_tiff(tmp_path, how):
    p = tmp_path / "bad.tif"
    if how == "garbage":
        p.write_bytes(b"II*\x00" + RNG.integers(0, 256, 300, dtype=np.uint8).tobytes())
    else:
        tifffile.imwrite(p, _u16((64, 64)))
        p.write_bytes(p.read_bytes()[:100])
    with pytest.raises(ImageReadError) as e:
        read_image(p)
    _message(e, "not a valid TIFF image")


def test_read_unsupported_extension(tmp_path):
    p = tmp_path / "x.xyz"
    p.write_bytes(b"data")
    with pytest.raises(ImageReadError) as e:
        read_image(p)
    msg = _message(e, "unsupported file type '.xyz'")
    assert ".png" in msg and ".tif" in msg and ".npy" in msg


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_read_npy_with_nan_or_inf(tmp_path, bad):
    x = np.zeros((4, 4), np.float32)
    x[1, 2] = bad
    np.save(tmp_path / "n.npy", x)
    with pytest.raises(InvalidImageError) as e:
        read_image(tmp_path / "n.npy")
    _message(e, "contains NaN or infinite values")


def test_read_float_tiff_with_nan(tmp_path):
    x = np.zeros((4, 4), np.float32)
    x[0, 0] = np.nan
    tifffile.imwrite(tmp_path / "n.tif", x)
    with pytest.raises(InvalidImageError) as e:
        read_image(tmp_path / "n.tif")
    _message(e, "NaN or infinite")


@pytest.mark.parametrize(
    ("array", "fragment"),
    [
        (np.zeros((3, 3), np.complex64), "complex"),
        (np.array([["a", "b"]]), "non-numeric"),
    ],
)
def test_read_npy_non_numeric(tmp_path, array, fragment):
    np.save(tmp_path / "c.npy", array)
    with pytest.raises(InvalidImageError) as e:
        read_image(tmp_path / "c.npy")
    _message(e, fragment)


def test_read_npy_bool_is_0_1(tmp_path):
    b = RNG.random((3, 4)) > 0.5
    np.save(tmp_path / "b.npy", b)
    data, info = read_image(tmp_path / "b.npy")
    assert info.dtype == "bool" and np.array_equal(data, b.astype(np.float32))


def test_read_zero_size(tmp_path):
    np.save(tmp_path / "z.npy", np.zeros((0, 5), np.float32))
    with pytest.raises(ImageReadError) as e:
        read_image(tmp_path / "z.npy")
    _message(e, "zero size")
    ihdr = struct.pack(">IIBBBBB", 0, 5, 8, 0, 0, 0, 0)
    (tmp_path / "z.png").write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b""))
        + _chunk(b"IEND", b"")
    )
    with pytest.raises(ImageReadError) as e:
        read_image(tmp_path / "z.png")
    _message(e, "zero size")


def test_decompression_bomb_tiff_monkeypatched_limit(tmp_path, monkeypatch):
    tifffile.imwrite(tmp_path / "big.tif", np.zeros((20, 30), np.uint8))
    monkeypatch.setattr(uio, "MAX_PIXELS", 100)
    with pytest.raises(ImageReadError) as e:
        read_image(tmp_path / "big.tif")
    _message(e, "too large")
    monkeypatch.setattr(uio, "MAX_PIXELS", 600)
    assert read_image(tmp_path / "big.tif")[0].shape == (20, 30)


def test_decompression_bomb_tiff_header_refused_before_decoding(tmp_path):
    # a tiny file whose header declares 60000 x 60000 pixels: refused without allocating
    p = tmp_path / "bomb.tif"
    tifffile.imwrite(p, np.zeros((4, 4), np.uint8), metadata=None)
    raw = bytearray(p.read_bytes())
    with tifffile.TiffFile(p) as tif:
        tags = tif.pages[0].tags
        for name in ("ImageWidth", "ImageLength"):
            tag = tags[name]
            fmt = {3: "<H", 4: "<I"}[int(tag.dtype)]
            raw[tag.valueoffset : tag.valueoffset + struct.calcsize(fmt)] = struct.pack(fmt, 60000)
    p.write_bytes(bytes(raw))
    with pytest.raises(ImageReadError) as e:
        read_image(p)
    _message(e, "too large (60000 x 60000 = 3600000000 pixels")


@pytest.mark.parametrize(
    ("compression", "fragment"),
    [
        ("lzw", "needs 699052 strips or tiles, but the file lists 1"),
        (None, "needs 973079920 bytes of samples, but the file lists 1392"),
    ],
)
def test_tiff_header_declaring_more_rows_than_its_data_refused(tmp_path, compression, fragment):
    """A flipped byte in ImageLength (24 -> 16777240 rows, under MAX_PIXELS): the file lists
    the data of 24 rows only. Found by the fuzz test, where decoding it took seconds and 1 GB
    of zeros; now refused before decoding."""
    p = tmp_path / "long.tif"
    tifffile.imwrite(p, _u16((24, 29)), compression=compression, rowsperstrip=24, metadata=None)
    raw = bytearray(p.read_bytes())
    with tifffile.TiffFile(p) as tif:
        tag = tif.pages[0].tags["ImageLength"]
        assert int(tag.dtype) == 4  # LONG: room for the flipped value
        raw[tag.valueoffset : tag.valueoffset + 4] = struct.pack("<I", 16777240)
    p.write_bytes(bytes(raw))
    for reader in (read_image, unblur_psf.from_file):
        with pytest.raises(ImageReadError) as e:
            reader(p)
        _message(e, f"corrupt TIFF (a 16777240 x 29 page {fragment}")


@pytest.mark.parametrize(
    ("depth", "colour"), [(8, 0), (8, 2), (8, 3), (16, 0), (16, 2), (16, 4), (16, 6)]
)
def test_decompression_bomb_png_header(tmp_path, monkeypatch, depth, colour):
    def no_decoding(*args, **kwargs):
        raise AssertionError("the pixel data must not be decoded")

    monkeypatch.setattr(imagecodecs, "png_decode", no_decoding)
    monkeypatch.setattr(iio, "imread", no_decoding)
    (tmp_path / "bomb.png").write_bytes(_png(100_000, 100_000, depth, colour, b"\x00" * 1000))
    with pytest.raises(ImageReadError) as e:
        read_image(tmp_path / "bomb.png")
    _message(e, "too large (100000 x 100000 = 10000000000 pixels")


def test_png_16bit_monkeypatched_limit(tmp_path, monkeypatch):
    p = write_image(tmp_path / "rgb16.png", _u16((20, 30, 3)))
    monkeypatch.setattr(uio, "MAX_PIXELS", 599)
    with pytest.raises(ImageReadError) as e:
        read_image(p)
    _message(e, "too large (20 x 30 = 600 pixels; the limit is MAX_PIXELS = 599)")
    monkeypatch.setattr(uio, "MAX_PIXELS", 600)
    assert read_image(p)[0].shape == (20, 30, 3)


# --------------------------------------------------------------------------------------------
# write errors and safety


def test_write_existing_output_without_force(tmp_path):
    p = tmp_path / "out.png"
    p.write_bytes(b"original")
    with pytest.raises(ImageWriteError) as e:
        write_image(p, np.zeros((4, 4)))
    _message(e, "exists; use --force (force=True) to overwrite")
    assert p.read_bytes() == b"original"
    assert sorted(os.listdir(tmp_path)) == ["out.png"]


def test_write_refuses_input_with_other_spelling(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    src = tmp_path / "a" / "x.png"
    write_image(src, np.zeros((4, 4)))
    before = src.read_bytes()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ImageWriteError) as e:
        write_image("./a/../a/x.png", np.ones((4, 4)), inputs=[str(src)])
    msg = _message(e, "(the image, a PSF or the reference); choose another output")
    assert msg.startswith("refusing to overwrite the input './a/../a/x.png'")
    with pytest.raises(ImageWriteError):  # force does not lift it
        write_image("./a/../a/x.png", np.ones((4, 4)), inputs=[str(src)], force=True)
    assert src.read_bytes() == before


def test_write_refuses_input_through_symlink(tmp_path):
    src = write_image(tmp_path / "in.png", np.zeros((4, 4)))
    link = tmp_path / "link.png"
    link.symlink_to(src)
    with pytest.raises(ImageWriteError) as e:
        write_image(link, np.ones((4, 4)), inputs=[src])
    _message(e, "refusing to overwrite the input")


def test_write_force_overwrites(tmp_path):
    p = tmp_path / "out.png"
    write_image(p, np.zeros((4, 4)))
    write_image(p, np.ones((4, 4)), force=True)
    assert np.array_equal(read_image(p)[0], np.ones((4, 4), np.float32))
    with pytest.raises(ImageWriteError, match="refusing to overwrite the input"):  # never an input
        write_image(p, np.zeros((4, 4)), force=True, inputs=[p])
    assert read_image(p)[0].min() == 1
    assert sorted(os.listdir(tmp_path)) == ["out.png"]


def test_write_missing_output_folder(tmp_path):
    with pytest.raises(ImageWriteError) as e:
        write_image(tmp_path / "missing" / "out.png", np.zeros((4, 4)))
    _message(e, "output folder")
    assert "does not exist" in str(e.value)
    assert not (tmp_path / "missing").exists()


def test_write_to_a_folder(tmp_path):
    (tmp_path / "d.png").mkdir()
    with pytest.raises(ImageWriteError) as e:
        write_image(tmp_path / "d.png", np.zeros((4, 4)), force=True)
    _message(e, "it is a folder, and unblur never removes a folder")
    assert (tmp_path / "d.png").is_dir()


def test_write_unknown_extension(tmp_path):
    with pytest.raises(ImageWriteError) as e:
        write_image(tmp_path / "out.xyz", np.zeros((4, 4)))
    msg = _message(e, "unsupported file type '.xyz'")
    assert ".png" in msg and ".tiff" in msg
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_write_nan_refused(tmp_path, bad):
    x = np.zeros((4, 4))
    x[2, 2] = bad
    for name in ("o.png", "o.tif", "o.npy"):
        with pytest.raises(InvalidImageError) as e:
            write_image(tmp_path / name, x)
        _message(e, "NaN or infinite")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("name", "array", "kwargs", "fragment"),
    [
        ("o.jpg", np.zeros((4, 4)), {"dtype": "uint16"}, "JPEG cannot store uint16"),
        ("o.png", np.zeros((4, 4)), {"dtype": "float32"}, "PNG cannot store float32"),
        ("o.jpg", np.zeros((4, 4, 4)), {}, "cannot store an alpha channel"),
        ("o.png", np.zeros((6, 4, 4, 3)), {}, "stack of 6 pages"),
    ],
)
def test_write_format_limits(tmp_path, name, array, kwargs, fragment):
    with pytest.raises(ImageWriteError) as e:
        write_image(tmp_path / name, array, **kwargs)
    _message(e, fragment)
    assert os.listdir(tmp_path) == []


def test_failed_write_leaves_no_temp_file(tmp_path, monkeypatch):
    (tmp_path / "keep.txt").write_text("x")

    def broken_writer(fh, *args, **kwargs):
        fh.write(b"partial data")
        raise OSError("disk full")

    monkeypatch.setattr(iio, "imwrite", broken_writer)
    monkeypatch.setattr(tifffile, "imwrite", broken_writer)
    for name in ("out.png", "out.tif"):
        with pytest.raises(ImageWriteError) as e:
            write_image(tmp_path / name, np.zeros((4, 4)))
        _message(e, "disk full")
        assert os.listdir(tmp_path) == ["keep.txt"]

    # a failure when replacing an existing file leaves the old file intact
    (tmp_path / "old.png").write_bytes(b"old")
    with pytest.raises(ImageWriteError):
        write_image(tmp_path / "old.png", np.zeros((4, 4)), force=True)
    assert (tmp_path / "old.png").read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["keep.txt", "old.png"]


def test_errors_are_value_errors(tmp_path):
    with pytest.raises(ValueError):
        read_image(tmp_path / "missing.tif")
    assert issubclass(ImageReadError, UnblurError)


# --------------------------------------------------------------------------------------------
# to_float / from_float


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        dtype=st.sampled_from([np.uint8, np.uint16]),
        shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=12),
    )
)
def test_to_float_from_float_round_trip(arr):
    x = to_float(arr)
    assert x.dtype == np.float32
    assert np.array_equal(x, (arr / np.iinfo(arr.dtype).max).astype(np.float32))
    assert 0.0 <= x.min() and x.max() <= 1.0
    back = from_float(x, arr.dtype)
    assert back.dtype == arr.dtype and np.array_equal(back, arr)


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.int16, hnp.array_shapes(max_dims=2, max_side=10)))
def test_signed_round_trip(arr):
    assert np.array_equal(from_float(to_float(arr), np.int16), arr)


def test_to_float_dtypes():
    f32 = np.zeros((2, 2), np.float32)
    assert to_float(f32) is f32
    f64 = np.zeros((2, 2), np.float64)
    assert to_float(f64) is f64
    assert to_float(np.zeros(3, np.float16)).dtype == np.float32
    assert np.array_equal(to_float(np.array([True, False])), np.array([1, 0], np.float32))
    assert to_float(np.array([0, 255], np.uint8))[1] == 1.0
    assert to_float(np.array([0, 65535], np.uint16))[1] == 1.0
    with pytest.raises(InvalidImageError) as e:
        to_float(np.zeros(3, np.complex128))
    _message(e, "complex")


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int16, np.uint16, np.int32, np.uint32])
def test_to_float_matches_api_input_scaling(dtype):
    # one integer -> [0, 1] rule for files and for arrays passed to the API
    from unblur._checks import as_float_image

    info = np.iinfo(dtype) if dtype is not np.bool_ else None
    k = np.array([0, 1] if info is None else [info.min, -1 if info.min else 7, info.max], dtype)
    x = to_float(k)
    assert x.dtype == np.float32 and np.array_equal(x, as_float_image(k))
    if info is not None:
        assert np.array_equal(x, (k / info.max).astype(np.float32))  # signed: min maps below 0


def test_from_float_rounds_and_clips():
    x = np.array([-1.0, 0.0, 0.4 / 255, 0.6 / 255, 254.5 / 255 + 1e-6, 1.0, 2.0])
    assert from_float(x, "uint8").tolist() == [0, 0, 0, 1, 255, 255, 255]
    assert from_float(x, np.float32).dtype == np.float32
    assert from_float(x, np.float32)[0] == -1.0  # floats are not clipped
    with pytest.raises(InvalidImageError):
        from_float(np.array([np.nan]), np.uint8)


def test_voxel_size_from_ome_tiff_survives_a_round_trip(tmp_path):
    stack = np.arange(4 * 8 * 9, dtype=np.uint16).reshape(4, 8, 9)
    meta = {"axes": "ZYX", "PhysicalSizeX": 0.065, "PhysicalSizeY": 0.07, "PhysicalSizeZ": 0.2}
    tifffile.imwrite(tmp_path / "in.ome.tif", stack, ome=True, metadata=meta)
    data, info = read_image(tmp_path / "in.ome.tif")
    assert info.voxel_size == (0.2, 0.07, 0.065) and info.voxel_unit == "µm"
    write_image(tmp_path / "out.tif", data, info=info)
    again, info2 = read_image(tmp_path / "out.tif")
    assert info2.voxel_size == (0.2, 0.07, 0.065) and info2.voxel_unit == "µm"
    np.testing.assert_array_equal(again, data)  # metadata never changes the pixels


def test_voxel_size_from_imagej_tiff(tmp_path):
    stack = np.zeros((3, 6, 5), np.float32)
    tifffile.imwrite(tmp_path / "ij.tif", stack, imagej=True, resolution=(1 / 0.1, 1 / 0.125),
                     metadata={"spacing": 0.5, "unit": "micron", "axes": "ZYX"})  # fmt: skip
    _, info = read_image(tmp_path / "ij.tif")
    assert info.voxel_unit == "µm"
    np.testing.assert_allclose(info.voxel_size, (0.5, 0.125, 0.1), rtol=1e-6)
    single = np.zeros((6, 5), np.uint8)
    tifffile.imwrite(tmp_path / "ij2.tif", single, imagej=True, resolution=(4.0, 2.0))
    _, info = read_image(tmp_path / "ij2.tif")
    np.testing.assert_allclose(info.voxel_size, (0.5, 0.25))  # (dy, dx) for one plane


def test_no_voxel_size_without_calibration(tmp_path):
    plain = np.zeros((3, 6, 5), np.uint8)
    tifffile.imwrite(tmp_path / "plain.tif", plain, photometric="minisblack")
    _, info = read_image(tmp_path / "plain.tif")
    assert info.voxel_size is None and info.voxel_unit is None
    bad = {"axes": "ZYX", "PhysicalSizeX": 0.1, "PhysicalSizeY": 0.1}  # no z spacing
    tifffile.imwrite(tmp_path / "noz.ome.tif", np.zeros((3, 6, 5), np.uint8), ome=True,
                     metadata=bad)  # fmt: skip
    _, info = read_image(tmp_path / "noz.ome.tif")
    assert info.voxel_size is None  # incomplete calibration is not guessed
