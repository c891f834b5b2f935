"""A phone JPEG's EXIF thumbnail (IFD1) is not carried into the restored image."""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image

from unblur.io import read_image, write_image

RNG = np.random.default_rng(3)


def _exif_with_thumbnail(thumbnail: bytes, orientation: int = 1) -> bytes:
    """A little-endian EXIF block: IFD0 (Make, Orientation) linked to IFD1 (a JPEG thumbnail)."""
    make = b"phone\x00"
    ifd0 = 8
    ifd0_size = 2 + 2 * 12 + 4
    make_at = ifd0 + ifd0_size
    ifd1 = make_at + len(make)
    ifd1_size = 2 + 2 * 12 + 4
    thumb_at = ifd1 + ifd1_size
    out = b"II*\x00" + struct.pack("<I", ifd0)
    out += struct.pack("<H", 2)
    out += struct.pack("<HHII", 0x010F, 2, len(make), make_at)  # Make (ASCII, at offset)
    out += struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0)  # Orientation (SHORT)
    out += struct.pack("<I", ifd1) + make
    out += struct.pack("<H", 2)
    out += struct.pack("<HHII", 0x0201, 4, 1, thumb_at)  # JPEGInterchangeFormat
    out += struct.pack("<HHII", 0x0202, 4, 1, len(thumbnail))  # ...Length
    out += struct.pack("<I", 0) + thumbnail
    return b"Exif\x00\x00" + out


def _next_ifd(exif: bytes) -> int:
    tiff = exif[6:]
    (ifd,) = struct.unpack("<I", tiff[4:8])
    (count,) = struct.unpack("<H", tiff[ifd : ifd + 2])
    return struct.unpack("<I", tiff[ifd + 2 + 12 * count : ifd + 6 + 12 * count])[0]


def test_thumbnail_of_the_blurred_original_is_not_carried_over(tmp_path):
    pixels = RNG.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels[::4, ::4]).save(buf, format="JPEG")
    exif = _exif_with_thumbnail(buf.getvalue(), orientation=6)
    source = tmp_path / "phone.jpg"
    Image.fromarray(pixels).save(source, exif=exif, quality=95)
    with Image.open(source) as im:  # the thumbnail is there, as Pillow reads it
        assert _next_ifd(b"Exif\x00\x00" + im.info["exif"].removeprefix(b"Exif\x00\x00")) > 0
    data, info = read_image(source)
    assert data.shape == (32, 24, 3)
    assert _next_ifd(info.exif) == 0  # before: the link to the stale thumbnail stayed
    for ext in (".jpg", ".png"):
        write_image(tmp_path / f"out{ext}", data, info=info)
        with Image.open(tmp_path / f"out{ext}") as im:
            exif_out = im.getexif()
            assert exif_out[0x010F] == "phone" and exif_out[0x0112] == 1
            assert _next_ifd(b"Exif\x00\x00" + im.info["exif"].removeprefix(b"Exif\x00\x00")) == 0
