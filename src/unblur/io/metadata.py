"""ICC colour profiles, EXIF blocks and the Orientation tag: read from image files, written
into PNG and JPEG (orientation: applied to the pixels on reading, as viewers do)."""

from __future__ import annotations

import contextlib
import logging
import pathlib
import struct
import warnings
import zlib
from collections.abc import Iterator

import tifffile
from PIL import Image

from ._common import RAW_EXTENSIONS, _quiet_codec_log

# ---------------------------------------------------------------------------------------------
# metadata: ICC profile and EXIF

_EXIF_HEADER = b"Exif\x00\x00"
_ORIENTATION = 0x0112


def _read_metadata(p: pathlib.Path, ext: str, *, rotated: bool) -> dict[str, bytes | None]:
    """``icc_profile`` and ``exif`` of an image file (None where absent or unreadable).

    ``rotated``: the pixels were decoded with the EXIF orientation applied (Pillow path), so
    the orientation carried over is reset to 1.
    """
    icc = exif = None
    if ext == ".npy" or ext in RAW_EXTENSIONS:  # RAW: EXIF in TIFF-like tags, not carried
        return {"icc_profile": None, "exif": None}
    with contextlib.suppress(Exception):  # metadata never make a readable image unreadable
        if ext in (".tif", ".tiff"):
            with _quiet_codec_log("tifffile"), tifffile.TiffFile(p) as tif:
                icc = tif.pages.first.iccprofile
        else:
            with warnings.catch_warnings(), _quiet_pillow_log():
                warnings.simplefilter("ignore")  # before opening: Pillow parses EXIF there
                with Image.open(p) as im:
                    icc = im.info.get("icc_profile")
                    exif = im.info.get("exif")
    if isinstance(exif, bytes) and exif:
        if not exif.startswith(_EXIF_HEADER):
            exif = _EXIF_HEADER + exif
        if rotated:
            exif = _exif_upright(exif)
        exif = _exif_without_thumbnail(exif)
    return {
        "icc_profile": bytes(icc) if icc else None,
        "exif": exif if isinstance(exif, bytes) and len(exif) > len(_EXIF_HEADER) else None,
    }


@contextlib.contextmanager
def _quiet_pillow_log() -> Iterator[None]:
    """Hide Pillow's debug records (chunk by chunk) while the metadata are read."""
    log = logging.getLogger("PIL")
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        log.setLevel(level)


def _ifd0(exif: bytes) -> tuple[bytes, str, int, int] | None:
    """``(tiff, byte order, IFD0 offset, IFD0 entry count)`` of an EXIF block (``Exif\\0\\0``
    then a TIFF structure), or None where it cannot be parsed."""
    tiff = exif[len(_EXIF_HEADER) :]
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None or len(tiff) < 8:
        return None
    (ifd,) = struct.unpack(order + "I", tiff[4:8])
    if ifd + 2 > len(tiff):
        return None
    (count,) = struct.unpack(order + "H", tiff[ifd : ifd + 2])
    return tiff, order, ifd, count


def _exif_upright(exif: bytes) -> bytes:
    """``exif`` with an IFD0 orientation tag set to 1, patched in place (else unchanged)."""
    parsed = _ifd0(exif)
    if parsed is None:
        return exif
    tiff, order, ifd, count = parsed
    for i in range(count):
        at = ifd + 2 + 12 * i
        if at + 12 > len(tiff):
            break
        tag, kind, n = struct.unpack(order + "HHI", tiff[at : at + 8])
        if tag == _ORIENTATION and kind == 3 and n == 1:  # SHORT, stored in the entry itself
            patched = tiff[: at + 8] + struct.pack(order + "H", 1) + tiff[at + 10 :]
            return _EXIF_HEADER + patched
    return exif


def _exif_without_thumbnail(exif: bytes) -> bytes:
    """``exif`` with IFD0's link to IFD1 (the thumbnail) cut: a copy carried into a restored
    image would otherwise keep the original's thumbnail, which file browsers and cameras show
    in its place (blurred, and turned as stored). Unchanged where there is no link."""
    parsed = _ifd0(exif)
    if parsed is None:
        return exif
    tiff, _, ifd, count = parsed
    at = ifd + 2 + 12 * count  # the offset of the next IFD follows the entries
    if at + 4 > len(tiff) or tiff[at : at + 4] == b"\x00\x00\x00\x00":
        return exif
    return _EXIF_HEADER + tiff[:at] + b"\x00\x00\x00\x00" + tiff[at + 4 :]


def _icc_fits(icc: bytes | None, n_channels: int) -> bool:
    """Whether an ICC profile's colour space (header bytes 16-20) suits the output's channels."""
    if not icc or len(icc) < 20:
        return False
    space = icc[16:20]
    return space == b"RGB " if n_channels in (3, 4) else space == b"GRAY"


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def _png_with_metadata(png: bytes, icc: bytes | None, exif: bytes | None) -> bytes:
    """Insert ``iCCP`` and ``eXIf`` chunks right after IHDR (8 + 25 bytes) of a PNG."""
    extra = b""
    if icc:
        extra += _png_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc))
    if exif:
        extra += _png_chunk(b"eXIf", exif.removeprefix(_EXIF_HEADER))
    return png[:33] + extra + png[33:]


# ---------------------------------------------------------------------------------------------
# orientation: the EXIF / TIFF Orientation tag (TIFF 6.0, tag 274), applied as viewers do


def _exif_orientation(exif: bytes | None) -> int:
    """The orientation (1-8) stated in IFD0 of an EXIF block, 1 where absent or unreadable."""
    if not exif:
        return 1
    tiff = exif.removeprefix(_EXIF_HEADER)
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None or len(tiff) < 8:
        return 1
    (ifd,) = struct.unpack(order + "I", tiff[4:8])
    if ifd + 2 > len(tiff):
        return 1
    (count,) = struct.unpack(order + "H", tiff[ifd : ifd + 2])
    for i in range(count):
        at = ifd + 2 + 12 * i
        if at + 12 > len(tiff):
            break
        tag, kind, n = struct.unpack(order + "HHI", tiff[at : at + 8])
        if tag == _ORIENTATION and kind == 3 and n == 1:
            (value,) = struct.unpack(order + "H", tiff[at + 8 : at + 10])
            return value if 1 <= value <= 8 else 1
    return 1


def _png_exif(p: pathlib.Path) -> bytes | None:
    """The payload of a PNG's ``eXIf`` chunk, found by walking the chunk headers (the image
    data are skipped, not decoded); None if there is none."""
    with contextlib.suppress(OSError, struct.error), open(p, "rb") as fh:
        fh.seek(8)
        for _ in range(100_000):  # a PNG has a few dozen chunks; a loop of lies ends here
            head = fh.read(8)
            if len(head) < 8:
                return None
            length, kind = struct.unpack(">I4s", head)
            if kind == b"eXIf":
                return fh.read(length)
            if kind == b"IEND":
                return None
            fh.seek(length + 4, 1)  # the data and the CRC
    return None


def _upright(arr, orientation: int, channels: bool):
    """``arr`` (``(..., Y, X[, C])``) turned as a viewer shows a file of this orientation.

    1: as stored; 2: mirrored left-right; 3: turned 180°; 4: mirrored top-bottom;
    5: transposed; 6: turned 90° clockwise; 7: transverse; 8: turned 90° anticlockwise.
    """
    y, x = (-3, -2) if channels else (-2, -1)
    if orientation in (2, 3):
        arr = arr.swapaxes(x, -1)[..., ::-1].swapaxes(x, -1)
    if orientation in (3, 4):
        arr = arr.swapaxes(y, -1)[..., ::-1].swapaxes(y, -1)
    if orientation in (5, 6, 7, 8):
        arr = arr.swapaxes(y, x)  # transposed: 5
        if orientation in (6, 7):  # then mirrored left-right: 6 (90° clockwise)
            arr = arr.swapaxes(x, -1)[..., ::-1].swapaxes(x, -1)
        if orientation in (7, 8):  # then mirrored top-bottom: 8 (90° anticlockwise)
            arr = arr.swapaxes(y, -1)[..., ::-1].swapaxes(y, -1)
    return arr


def _upright_shape(shape: tuple[int, ...], orientation: int, channels: bool) -> tuple[int, ...]:
    """The shape :func:`_upright` gives an array of ``shape``."""
    if orientation not in (5, 6, 7, 8):
        return tuple(shape)
    y, x = (len(shape) - 3, len(shape) - 2) if channels else (len(shape) - 2, len(shape) - 1)
    moved = list(shape)
    moved[y], moved[x] = shape[x], shape[y]
    return tuple(moved)
