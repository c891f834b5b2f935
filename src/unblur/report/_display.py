"""Display conversions for the report: images to 8-bit pictures and PNG data URIs, text."""

from __future__ import annotations

import base64
import html
import math
import re
import secrets
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

#: Largest side, in pixels, of the images embedded in the report (larger ones are averaged down).
REPORT_MAX_SIDE = 1024


def shape_text(shape: Sequence[int]) -> str:
    return "\u00d7".join(map(str, shape))


def seconds_text(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "n/a"
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def value_text(value: Any) -> str:
    """A short, readable text for a parameter value (arrays summarised, floats to 6 digits)."""
    if isinstance(value, np.ndarray) and value.size > 8:
        return f"array {shape_text(value.shape)} {value.dtype}"
    if isinstance(value, np.ndarray | np.generic):
        value = value.tolist()
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | tuple):
        inner = ", ".join(value_text(v) for v in value)
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    return str(value)


def slice_to_2d(a: np.ndarray, colour: bool) -> tuple[np.ndarray, str]:
    """The central 2-D plane of an nD image (channels last when ``colour``), and a note."""
    spatial = a.ndim - (1 if colour else 0)
    if spatial == 1:  # a 1-D signal: show it as a band of identical rows
        return np.repeat(a[None], max(1, min(32, a.shape[0] // 8)), axis=0), "1-D signal"
    if spatial == 2:
        return a, ""
    lead = tuple(n // 2 for n in a.shape[: spatial - 2])
    where = ", ".join(f"axis {i} = {c}" for i, c in enumerate(lead))
    return a[lead], f"central slice ({where})"


def display_image(a: np.ndarray, axis: int | None) -> tuple[np.ndarray, str]:
    """An 8-bit picture of an image for the page: 2-D grey or RGB, at most REPORT_MAX_SIDE."""
    plane, note = display_plane(a, axis)
    return eight_bit(plane), note


def display_plane(a: np.ndarray, axis: int | None) -> tuple[np.ndarray, str]:
    """The values :func:`display_image` shows (2-D grey or RGB, at most REPORT_MAX_SIDE, not
    yet clipped and scaled: :func:`eight_bit`) and the note on what was done."""
    notes = []
    colour = axis is not None
    if colour:
        a = np.moveaxis(a, axis, -1)
    a, note = slice_to_2d(a, colour)
    if note:
        notes.append(note)
    if colour:
        channels = a.shape[-1]
        if channels in (3, 4):
            a = a[..., :3]
            if channels == 4:
                notes.append("4th channel not shown")
        elif channels == 1:
            a = a[..., 0]
        else:
            a = a.mean(axis=-1)
            notes.append(f"mean of {channels} channels")
    factor = math.ceil(max(a.shape[:2]) / REPORT_MAX_SIDE)
    if factor > 1:
        h, w = (a.shape[0] // factor) * factor, (a.shape[1] // factor) * factor
        a = a[:h, :w].reshape(h // factor, factor, w // factor, factor, *a.shape[2:]).mean((1, 3))
        notes.append(f"shown averaged down {factor}\u00d7")
    notes.append("values clipped to [0, 1]")
    return a, "; ".join(notes)


def eight_bit(plane: np.ndarray) -> np.ndarray:
    """``plane`` clipped to [0, 1] and scaled to 8 bits (rounded)."""
    shown = np.clip(plane, 0, 1)  # one temporary, scaled and rounded in place
    shown *= 255
    np.rint(shown, out=shown)
    return shown.astype(np.uint8)


def grey_plane(a: np.ndarray, axis: int | None) -> tuple[np.ndarray, str]:
    """The full-resolution grey 2-D plane whose spectrum is shown (a central crop if large)."""
    colour = axis is not None
    if colour:
        a = np.moveaxis(a, axis, -1)
    a, note = slice_to_2d(a, colour)
    # in the image's own precision (float32 for float32 images: the spectrum of float32 values
    # holds nothing below their rounding that float64 would show), float64 otherwise
    dtype = np.result_type(a.dtype, np.float32)
    if dtype not in (np.float32, np.float64):
        dtype = np.dtype(np.float64)
    if colour:  # the channels' mean (summed plane by plane: a reduction over the last axis of
        # length 3 is five times slower)
        total = np.array(a[..., 0], dtype=dtype)
        for c in range(1, a.shape[-1]):
            total += a[..., c]
        a = total / a.shape[-1]
    notes = [note] if note else []
    if colour:
        notes.append("mean of the channels")
    if max(a.shape) > REPORT_MAX_SIDE:
        start = [max(0, (n - REPORT_MAX_SIDE) // 2) for n in a.shape]
        a = a[tuple(slice(s, s + REPORT_MAX_SIDE) for s in start)]
        notes.append(f"central {shape_text(a.shape)} crop")
    return np.asarray(a, dtype), "; ".join(notes)


def png_uri(img: np.ndarray) -> str:
    """An 8-bit image as a ``data:`` URI of its PNG (:func:`png_bytes`)."""
    return png_data_uri(png_bytes(img))


def png_data_uri(png: bytes) -> str:
    """A PNG file as a ``data:`` URI."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


class DeferredPictures:
    """Large pictures kept out of the page's text until it is written.

    :meth:`uri` gives a ``data:`` URI whose base64 payload is a marker (unique to this
    object), and :meth:`write` writes the page with each marker replaced by its payload's
    bytes. Built as text, a megapixel colour page's three pictures (about 6 MB of base64)
    would be copied a dozen times on their way from the encoder through the sections, the
    template and the UTF-8 encoding to the file, each copy in fresh pages
    (``benchmarks/report_overhead.py``).
    """

    def __init__(self) -> None:
        self._marker = f"@picture-{secrets.token_hex(8)}-"
        self._payloads: list[bytes] = []

    def uri(self, png: bytes) -> str:
        """The ``data:`` URI of the PNG file ``png``, its payload deferred."""
        self._payloads.append(base64.b64encode(png))
        return f"data:image/png;base64,{self._marker}{len(self._payloads) - 1}@"

    def write(self, f: Any, page: str) -> None:
        """Write ``page`` (UTF-8) to the binary file ``f``, the payloads in place."""
        pieces = re.split(re.escape(self._marker) + r"(\d+)@", page)
        for i, piece in enumerate(pieces):
            f.write(self._payloads[int(piece)] if i % 2 else piece.encode("utf-8"))


#: PNG chunks that change nothing in how a browser shows an 8-bit grey or RGB image: the
#: header, the data, the end, text, the physical pixel size and the modification time (not:
#: colour management ``iCCP`` ``gAMA`` ``cHRM`` ``sRGB`` ``cICP``, transparency ``tRNS``,
#: orientation ``eXIf``, animation ``acTL``, or any other)
_PLAIN_CHUNKS = frozenset({b"IHDR", b"IDAT", b"IEND", b"tEXt", b"zTXt", b"iTXt", b"pHYs", b"tIME"})
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_shows(png: bytes, shape: tuple[int, ...]) -> bool:
    """Whether a browser shows the PNG file ``png`` as the plain 8-bit picture of ``shape``
    that it holds: grey ``(h, w)`` or RGB ``(h, w, 3)``, 8 bits, and no chunk but
    :data:`_PLAIN_CHUNKS` (the chunks are walked by their headers; nothing is decoded, so the
    pixels themselves are the caller's to vouch for)."""
    if len(shape) == 2:
        colour_type = 0
    elif len(shape) == 3 and shape[2] == 3:
        colour_type = 2
    else:
        return False
    if len(png) < 33 or png[:8] != _PNG_SIGNATURE or png[12:16] != b"IHDR":
        return False
    width, height, depth, kind, _, _, interlace = struct.unpack_from(">IIBBBBB", png, 16)
    if (height, width) != tuple(shape[:2]) or depth != 8 or kind != colour_type or interlace > 1:
        return False
    at = 8
    while at + 8 <= len(png):
        length, chunk = struct.unpack_from(">I4s", png, at)
        if chunk not in _PLAIN_CHUNKS:
            return False
        at += 12 + length  # length, type, data and CRC
        if chunk == b"IEND":
            return at == len(png)
    return False


def png_bytes(img: np.ndarray) -> bytes:
    """The PNG file of an 8-bit image, written for speed rather than size: libpng through
    imagecodecs with zlib level 1, the run-length strategy (matches of distance 1, the runs of
    equal filtered bytes that flat areas give) and the Up filter on every row (no per-row
    choice between filters). What it costs is in ``benchmarks/report_overhead.py``.
    """
    import imagecodecs

    png = imagecodecs.PNG
    data = np.ascontiguousarray(img)
    return bytes(
        imagecodecs.png_encode(data, level=1, strategy=png.STRATEGY.RLE, filter=png.FILTER.UP)
    )


def img_tag(uri: str, alt: str, *, id_: str | None = None, pixelated: bool = False) -> str:
    attrs = f" id='{html.escape(id_)}'" if id_ else ""
    cls = " class='px'" if pixelated else ""
    return f"<img{attrs}{cls} src='{uri}' alt='{html.escape(alt)}'>"


def table_html(
    columns: Sequence[str], rows: Sequence[Sequence[str]], *, header: bool = True
) -> str:
    esc = html.escape
    head = (
        "<thead><tr>" + "".join(f"<th>{esc(c)}</th>" for c in columns) + "</tr></thead>"
        if header
        else ""
    )
    cells = "".join(
        "<tr>"
        + "".join(
            f"<th scope='row'>{esc(c)}</th>" if j == 0 else f"<td>{esc(c)}</td>"
            for j, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table>{head}<tbody>{cells}</tbody></table>"
