"""Image files <-> float arrays.

:func:`read_image` turns an image file into a float array scaled to [0, 1] plus an
:class:`ImageInfo` that says how the file stored it; :func:`write_image` goes the other way,
atomically and without ever overwriting an input or an existing file unless asked to.

Formats
-------
* PNG, JPEG, BMP, GIF: imageio (Pillow plugin). 16-bit PNG, which Pillow cannot write in
  colour and reads reduced to 8 bits, go through imagecodecs (libpng), so 16-bit data survive
  exactly.
* TIFF (``.tif``/``.tiff``, multi-page and OME-TIFF included): tifffile, with imagecodecs
  decoding compressed data (LZW, JPEG, PackBits, Deflate, ZSTD, ...).
* ``.npy``: numpy, exact (float data are returned and written unchanged).

Integer data map to [0, 1] by dividing by the maximum of the stored type (``v / 255`` for
8 bits, ``v / 65535`` for 16 bits); on output [0, 1] maps back with clipping and correct
rounding (``np.rint``), so integer data round-trip exactly.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import pathlib
import stat
import struct
import tempfile
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any
from xml.etree import ElementTree

import imagecodecs
import imageio.v3 as iio
import numpy as np
import tifffile
from PIL import Image, UnidentifiedImageError

from ._checks import scale_to_unit
from ._checks import to_float as _to_float
from .errors import (
    ImageReadError,
    ImageWriteError,
    InvalidImageError,
    InvalidParameterError,
    UnblurError,
)

__all__ = [
    "JPEG_QUALITY",
    "MAX_PIXELS",
    "SUPPORTED_READ_EXTENSIONS",
    "SUPPORTED_WRITE_EXTENSIONS",
    "ImageInfo",
    "atomic_write",
    "from_float",
    "read_image",
    "to_float",
    "write_image",
]

#: Largest number of pixels (rows x columns x pages, channels not counted) that
#: :func:`read_image` accepts. The size a file declares is checked before any pixel data are
#: decoded, so a small file that claims to be huge (a "decompression bomb") is refused cheaply.
MAX_PIXELS: int = 1 << 29

#: File extensions :func:`read_image` understands (compared case-insensitively).
SUPPORTED_READ_EXTENSIONS: tuple[str, ...] = (
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".gif",
    ".tif",
    ".tiff",
    ".npy",
)

#: File extensions :func:`write_image` can produce (compared case-insensitively).
SUPPORTED_WRITE_EXTENSIONS: tuple[str, ...] = (
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".tif",
    ".tiff",
    ".npy",
)

#: JPEG quality used by :func:`write_image`.
JPEG_QUALITY: int = 95

_FORMAT_NAMES = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".bmp": "BMP",
    ".gif": "GIF",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".npy": ".npy",
}

# dtypes each output format can store; the first one is the default.
_INT_AND_FLOAT = ("uint8", "uint16", "uint32", "int8", "int16", "int32", "float16")
_WRITE_DTYPES: dict[str, tuple[str, ...]] = {
    ".png": ("uint8", "uint16"),
    ".jpg": ("uint8",),
    ".jpeg": ("uint8",),
    ".bmp": ("uint8",),
    ".tif": ("float32", "float64", *_INT_AND_FLOAT),
    ".tiff": ("float32", "float64", *_INT_AND_FLOAT),
    ".npy": ("float32", "float64", *_INT_AND_FLOAT, "int64", "uint64", "bool"),
}

# Pillow modes read as they are, and those converted to a mode imageio returns as RGB(A)/grey
_PIL_KEEP = {"1", "L", "LA", "RGB", "RGBA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"}
_PIL_CONVERT = {
    "P": "RGB",
    "PA": "RGBA",
    "La": "LA",
    "RGBa": "RGBA",
    "RGBX": "RGB",
    "CMYK": "RGB",
    "YCbCr": "RGB",
    "LAB": "RGB",
    "HSV": "RGB",
}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_SAMPLES = {0: 1, 2: 3, 4: 2, 6: 4}  # PNG colour type -> samples per pixel (16-bit types)
# TIFF compressions whose YCbCr data tifffile converts to RGB (OJPEG, JPEG, ALT_JPEG, JPEG_LOSSY)
_TIFF_JPEG = {6, 7, 33007, 34892}


@dataclass(frozen=True)
class ImageInfo:
    """How an image file stored its data.

    ``dtype``, ``shape`` and ``value_range`` describe the decoded file data; ``channel_axis``,
    ``has_alpha`` and ``n_pages`` describe the array :func:`read_image` returned (so after
    ``as_gray=True`` they are ``None``, ``False`` and the page count).

    Attributes
    ----------
    path : str or None
        Source path.
    dtype : str
        Source dtype name, e.g. ``"uint8"``, ``"uint16"``, ``"float32"``.
    shape : tuple of int
        Source array shape (rows, columns[, channels]); stacks lead with the page axis.
    value_range : (float, float)
        Range mapped to [0, 1]: ``(0, 255)`` for uint8, ``(0, 65535)`` for uint16,
        ``(0, 1)`` for float data.
    channel_axis : int or None
        ``-1`` when the image has colour channels (RGB, RGBA, grey + alpha), else ``None``.
    has_alpha : bool
        Whether the last channel is alpha (RGBA or grey + alpha).
    n_pages : int
        1 for single images; the number of pages for multi-page stacks.
    icc_profile : bytes or None
        The embedded ICC colour profile (PNG ``iCCP``, JPEG ``APP2``, TIFF tag 34675), as
        stored; :func:`write_image` embeds it again where the output format allows.
    exif : bytes or None
        The EXIF block (PNG ``eXIf``, JPEG ``APP1``) with its ``Exif\\0\\0`` header, as
        stored, except that an orientation the reader already applied to the pixels is reset
        to 1 (top-left). TIFF files keep EXIF in their own tags: not read, not written.
    voxel_size : tuple of float or None
        Physical size of a pixel along each spatial axis of the returned array, ``(dy, dx)``
        or, for a stack, ``(dz, dy, dx)``: read from OME-TIFF (``PhysicalSizeX/Y/Z``) or
        ImageJ TIFF metadata (``XResolution``/``YResolution`` and ``spacing``) when every
        axis is given, else None. :func:`write_image` stores it again in TIFF outputs
        (as OME-TIFF metadata). Pass it to :func:`unblur.psf.widefield` as ``voxel_size``.
    voxel_unit : str or None
        Unit of ``voxel_size`` as the file names it (``"µm"`` by default in OME-TIFF).
    """

    path: str | None
    dtype: str
    shape: tuple[int, ...]
    value_range: tuple[float, float]
    channel_axis: int | None
    has_alpha: bool
    n_pages: int
    icc_profile: bytes | None = None
    exif: bytes | None = None
    voxel_size: tuple[float, ...] | None = None
    voxel_unit: str | None = None


@dataclass
class _Decoded:
    """What a format reader hands back: native data plus their layout."""

    array: np.ndarray
    channels: bool  # last axis holds channels
    n_pages: int  # > 1: first axis holds pages
    scale_max: float | None = None  # integer value mapped to 1 (None: the dtype's maximum)
    voxel_size: tuple[float, ...] | None = None  # physical (dz,) dy, dx of the returned array
    voxel_unit: str | None = None


# ---------------------------------------------------------------------------------------------
# small helpers


def _q(path: str | os.PathLike[str]) -> str:
    """Quote a path for a one-line message."""
    text = os.fsdecode(os.fspath(path))
    return f"'{text}'" if text.isprintable() else repr(text)


def _detail(exc: BaseException) -> str:
    """One-line summary of an exception from a library."""
    if isinstance(exc, OSError) and exc.strerror:  # no temporary file names in the message
        return exc.strerror
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _check_pixels(q: str, dims: Iterable[int]) -> None:
    """Refuse a declared size that is empty or larger than MAX_PIXELS (before decoding)."""
    dims = tuple(int(d) for d in dims)
    n = math.prod(dims)
    if n == 0:
        raise ImageReadError(f"cannot read {q}: the image has zero size (shape {dims})")
    if n > MAX_PIXELS:
        size = " x ".join(str(d) for d in dims)
        raise ImageReadError(
            f"cannot read {q}: the image is too large ({size} = {n} pixels; "
            f"the limit is MAX_PIXELS = {MAX_PIXELS})"
        )


def _check_tiff_data(q: str, series: Any) -> None:
    """Refuse TIFF pages that list less data than their declared size needs (before decoding).

    A flipped bit in a tag such as the image length makes a 2 kB file declare millions of
    rows; tifffile then decodes the few strips present and fills the rest with zeros, which
    takes seconds and gigabytes for an image that is not there. Compressed pages must list
    every strip or tile their geometry needs; uncompressed ones at least the bytes of their
    samples (checked from 8 bits per sample up).
    """
    for page in series.pages:
        if page is None:
            continue
        key = page.keyframe  # a TiffFrame shares its geometry; a TiffPage is its own
        offsets, counts = page.dataoffsets, page.databytecounts
        if int(key.compression) == tifffile.COMPRESSION.NONE:
            if key.bitspersample < 8:
                continue
            needed = math.prod(key.shape) * key.dtype.itemsize
            listed = int(sum(counts))
            what = f"{needed} bytes of samples, but the file lists {listed}"
            short = listed < needed
        else:
            needed = math.prod(key.chunked)
            what = f"{needed} strips or tiles, but the file lists {len(offsets)}"
            short = len(offsets) < needed
        if short:
            size = " x ".join(str(d) for d in key.shape)
            raise ImageReadError(
                f"cannot read {q}: corrupt TIFF (a {size} page needs {what}; "
                "truncated file or damaged header)"
            )


def _native(arr: np.ndarray) -> np.ndarray:
    return arr if arr.dtype.isnative else arr.astype(arr.dtype.newbyteorder("="))


def _check_numeric(arr: np.ndarray, what: str, error: type[UnblurError]) -> None:
    kind = arr.dtype.kind
    if kind == "c":
        raise error(f"{what}: complex data ({arr.dtype}) are not supported; pass real values")
    if kind not in "biuf":
        raise error(f"{what}: non-numeric data of dtype {arr.dtype} are not supported")


# ---------------------------------------------------------------------------------------------
# public conversion helpers


def to_float(image: np.ndarray) -> np.ndarray:
    """Convert image data to floating point on the [0, 1] scale.

    Parameters
    ----------
    image : array_like
        Integer, boolean or floating-point data.

    Returns
    -------
    numpy.ndarray
        Integer data as float32 divided by the dtype's maximum (``uint8 / 255``,
        ``uint16 / 65535``, ``int16 / 32767``, ...); booleans as 0.0/1.0 float32. float32 and
        float64 arrays are returned as they are (no copy); float16 becomes float32 and longer
        floats become float64.

    Raises
    ------
    InvalidImageError
        Complex or non-numeric data.
    """
    return _to_float(image, error=InvalidImageError)


def from_float(image: np.ndarray, dtype: Any) -> np.ndarray:
    """Convert [0, 1] float data to ``dtype`` (the inverse of :func:`to_float`).

    Parameters
    ----------
    image : array_like
        Float data nominally in [0, 1]. Integer or boolean input is first passed through
        :func:`to_float`.
    dtype : dtype-like
        Target dtype.

    Returns
    -------
    numpy.ndarray
        For unsigned integer targets: ``np.rint(np.clip(x, 0, 1) * max).astype(dtype)``; signed
        integer targets clip to ``[min / max, 1]`` so that ``to_float`` output round-trips.
        Boolean targets threshold at 0.5. Float targets are a plain ``astype`` (no clipping).

    Raises
    ------
    InvalidParameterError
        ``dtype`` is not a real numeric dtype.
    InvalidImageError
        The data are non-numeric, or contain NaN while the target is an integer type.
    """
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise InvalidParameterError(f"unknown dtype {dtype!r}") from exc
    if dt.kind not in "biuf":
        raise InvalidParameterError(f"cannot convert an image to dtype {dt}; need int or float")
    x = to_float(image)
    if dt.kind == "f":
        return x.astype(dt.newbyteorder("="), copy=False)
    if np.isnan(x).any():
        raise InvalidImageError(f"cannot convert NaN values to {dt.name}")
    if dt.kind == "b":
        return x >= 0.5
    info = np.iinfo(dt)
    work = np.float64 if dt.itemsize >= 4 else np.result_type(x.dtype, np.float32)
    hi = float(info.max)
    lo = 0.0 if info.min == 0 else info.min / hi
    y = np.clip(x, lo, 1.0).astype(work, copy=True)
    y *= hi
    np.rint(y, out=y)
    if int(hi) > info.max:  # 64-bit maxima are not representable in float64
        np.minimum(y, np.nextafter(hi, 0.0), out=y)
    return y.astype(dt.newbyteorder("="))


def _to_gray(x: np.ndarray) -> np.ndarray:
    """Float data with channels last -> luminance (alpha dropped)."""
    from skimage.color import rgb2gray  # imported here: slow to import, seldom needed

    n = x.shape[-1]
    if n <= 2:  # grey or grey + alpha
        return np.ascontiguousarray(x[..., 0])
    if n <= 4:  # RGB or RGBA
        return rgb2gray(x[..., :3])
    return x.mean(axis=-1, dtype=np.float64).astype(x.dtype, copy=False)


# ---------------------------------------------------------------------------------------------
# readers


def read_image(
    path: str | os.PathLike[str], *, as_gray: bool = False
) -> tuple[np.ndarray, ImageInfo]:
    """Read an image file into a float array.

    Parameters
    ----------
    path : str or path-like
        A ``.png``, ``.jpg``/``.jpeg``, ``.bmp``, ``.gif``, ``.tif``/``.tiff`` or ``.npy`` file.
    as_gray : bool, default False
        Convert colour to luminance (Rec. 709 weights, as ``skimage.color.rgb2gray``),
        dropping any alpha channel.

    Returns
    -------
    data : numpy.ndarray
        float32 data (for ``.npy``: float32 or float64, as stored). Integer data are divided by
        the maximum of their type (``v / 255``, ``v / 65535``); float data are not rescaled.
        Shapes: grey ``(H, W)``; colour ``(H, W, C)`` with C = 3 (RGB), 4 (RGBA) or 2
        (grey + alpha); multi-page stacks ``(pages, H, W[, C])``. Palette and 1-bit images
        are expanded to RGB / grey.
    info : ImageInfo
        How the file stored the data (pass it to :func:`write_image` to keep e.g. 16 bits).

    Raises
    ------
    ImageReadError
        The file is missing, a folder, empty, truncated or corrupt, of an unsupported type,
        of zero size, declares more than :data:`MAX_PIXELS` pixels, or (TIFF) lists less data
        than its declared size needs.
    InvalidImageError
        The data contain NaN or infinite values, or are complex / non-numeric.
    """
    p = pathlib.Path(os.fspath(path))
    q = _q(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise ImageReadError(f"cannot read {q}: file not found") from None
    except PermissionError:
        raise ImageReadError(f"cannot read {q}: permission denied") from None
    except OSError as exc:
        raise ImageReadError(f"cannot read {q}: {_detail(exc)}") from None
    if stat.S_ISDIR(st.st_mode):
        raise ImageReadError(f"cannot read {q}: it is a folder, not an image file")
    ext = p.suffix.lower()
    if ext not in SUPPORTED_READ_EXTENSIONS:
        raise ImageReadError(
            f"cannot read {q}: unsupported file type {ext or '(no extension)'!r} "
            f"(supported: {', '.join(SUPPORTED_READ_EXTENSIONS)})"
        )
    if st.st_size == 0:
        raise ImageReadError(f"cannot read {q}: the file is empty")

    fmt = _FORMAT_NAMES[ext]
    try:
        if ext == ".npy":
            dec = _read_npy(p, q)
        elif ext in (".tif", ".tiff"):
            dec = _read_tiff(p, q)
        elif ext == ".png":
            dec = _read_png(p, q)
        else:
            dec = _read_pillow(p, q, fmt)
    except UnblurError:
        raise
    except PermissionError:
        raise ImageReadError(f"cannot read {q}: permission denied") from None
    except MemoryError:
        raise ImageReadError(f"cannot read {q}: not enough memory to decode it") from None
    except Exception as exc:
        kind = "file" if ext == ".npy" else "image"
        raise ImageReadError(
            f"cannot read {q}: not a valid {fmt} {kind} (truncated or corrupt: {_detail(exc)})"
        ) from exc

    arr = _native(dec.array)
    _check_numeric(arr, f"cannot read {q}", InvalidImageError)
    if arr.size == 0:
        raise ImageReadError(f"cannot read {q}: the image has zero size (shape {arr.shape})")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise InvalidImageError(f"cannot read {q}: the image contains NaN or infinite values")
        value_range = (0.0, 1.0)
        data = to_float(arr)
        if ext != ".npy":
            data = data.astype(np.float32, copy=False)
    else:  # integers and booleans
        maxval = dec.scale_max or float(1 if arr.dtype.kind == "b" else np.iinfo(arr.dtype).max)
        value_range = (0.0, maxval)
        data = scale_to_unit(arr, maxval)

    channels = dec.channels and data.ndim >= 3
    has_alpha = channels and data.shape[-1] in (2, 4)
    if as_gray and channels:
        data = _to_gray(data)
        channels = has_alpha = False
    info = ImageInfo(
        path=os.fsdecode(os.fspath(path)),
        dtype=arr.dtype.name,
        shape=tuple(int(s) for s in arr.shape),
        value_range=value_range,
        channel_axis=-1 if channels else None,
        has_alpha=bool(has_alpha),
        n_pages=int(dec.n_pages),
        voxel_size=dec.voxel_size,
        voxel_unit=dec.voxel_unit,
        **_read_metadata(p, ext, rotated=ext != ".png" or arr.dtype.itemsize == 1),
    )
    return data, info


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
    if ext == ".npy":
        return {"icc_profile": None, "exif": None}
    with contextlib.suppress(Exception):  # metadata never make a readable image unreadable
        if ext in (".tif", ".tiff"):
            with _quiet_codec_log("tifffile"), tifffile.TiffFile(p) as tif:
                icc = tif.pages.first.iccprofile
        else:
            with warnings.catch_warnings(), _quiet_pillow_log(), Image.open(p) as im:
                warnings.simplefilter("ignore")
                icc = im.info.get("icc_profile")
                exif = im.info.get("exif")
    if isinstance(exif, bytes) and exif:
        if not exif.startswith(_EXIF_HEADER):
            exif = _EXIF_HEADER + exif
        if rotated:
            exif = _exif_upright(exif)
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


def _exif_upright(exif: bytes) -> bytes:
    """``exif`` with an IFD0 orientation tag set to 1, patched in place (else unchanged)."""
    tiff = exif[len(_EXIF_HEADER) :]
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None or len(tiff) < 8:
        return exif
    (ifd,) = struct.unpack(order + "I", tiff[4:8])
    if ifd + 2 > len(tiff):
        return exif
    (count,) = struct.unpack(order + "H", tiff[ifd : ifd + 2])
    for i in range(count):
        at = ifd + 2 + 12 * i
        if at + 12 > len(tiff):
            break
        tag, kind, n = struct.unpack(order + "HHI", tiff[at : at + 8])
        if tag == _ORIENTATION and kind == 3 and n == 1:  # SHORT, stored in the entry itself
            patched = tiff[: at + 8] + struct.pack(order + "H", 1) + tiff[at + 10 :]
            return _EXIF_HEADER + patched
    return exif


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


def _read_npy(p: pathlib.Path, q: str) -> _Decoded:
    with open(p, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, _fortran, dtype = np.lib.format.read_array_header_2_0(fh)
    _check_numeric(np.empty(0, dtype), f"cannot read {q}", InvalidImageError)
    if len(shape) == 0:
        raise ImageReadError(f"cannot read {q}: it holds a single number, not an image")
    channels = len(shape) in (3, 4) and shape[-1] <= 4
    _check_pixels(q, shape[:-1] if channels else shape)
    arr = np.load(p, allow_pickle=False)
    stack = (arr.ndim == 3 and not channels) or arr.ndim == 4
    return _Decoded(arr, channels=channels, n_pages=arr.shape[0] if stack else 1)


def _read_png(p: pathlib.Path, q: str) -> _Decoded:
    with open(p, "rb") as fh:
        head = fh.read(26)  # signature, IHDR length and type, width, height, depth, colour
    if len(head) < 26 or head[:8] != _PNG_SIGNATURE or head[12:16] != b"IHDR":
        return _read_pillow(p, q, "PNG")  # not a PNG after all, or a broken one: Pillow says why
    width, height, depth, colour = struct.unpack(">IIBB", head[16:26])
    _check_pixels(q, (height, width))
    if depth != 16 or colour not in _PNG_SAMPLES:
        return _read_pillow(p, q, "PNG")
    # 16 bits: Pillow would keep only the high byte of colour samples (and older Pillow
    # versions return grey as int32), so libpng decodes these.
    with _quiet_codec_log():
        arr = imagecodecs.png_decode(p.read_bytes())
    samples = _PNG_SAMPLES[colour]
    if arr.ndim == 3 and arr.shape[-1] != samples:
        arr = arr[..., :samples]  # alpha made from a tRNS chunk: ignored, as for 8-bit PNG
    if samples == 1 and arr.ndim == 3:
        arr = arr[..., 0]
    if arr.shape[:2] != (height, width):
        raise ValueError(f"decoded shape {arr.shape} does not match the header")
    return _Decoded(arr, channels=samples > 1, n_pages=1)


@contextlib.contextmanager
def _quiet_codec_log(name: str = "imagecodecs") -> Iterator[None]:
    """Hide what a decoder library logs while it reads: libpng warnings (e.g. about
    interlacing) from imagecodecs, or tifffile's notes on corrupt tags, which would otherwise
    reach stderr beside the one-line error. Errors still raise."""

    def drop(record: logging.LogRecord) -> bool:
        return False

    log = logging.getLogger(name)
    log.addFilter(drop)
    try:
        yield
    finally:
        log.removeFilter(drop)


def _read_pillow(p: pathlib.Path, q: str, fmt: str) -> _Decoded:
    with warnings.catch_warnings():
        # Sizes up to MAX_PIXELS are ours to allow; Pillow's hard limit still raises.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(p) as im:
                width, height = im.size
                n_frames = int(getattr(im, "n_frames", 1))
                mode = im.mode
                transparent = "transparency" in im.info
        except Image.DecompressionBombError as exc:
            raise ImageReadError(
                f"cannot read {q}: the image is too large ({_detail(exc)})"
            ) from exc
        except UnidentifiedImageError as exc:
            raise ImageReadError(
                f"cannot read {q}: not a valid {fmt} image (unrecognised file contents)"
            ) from exc
        _check_pixels(q, (n_frames, height, width))
        if mode in _PIL_KEEP:
            target = None
        elif mode in _PIL_CONVERT:
            target = "RGBA" if mode == "P" and transparent else _PIL_CONVERT[mode]
        else:
            raise ImageReadError(f"cannot read {q}: unsupported {fmt} pixel mode {mode!r}")
        index = ... if n_frames > 1 else 0
        arr = iio.imread(p, plugin="pillow", index=index, mode=target, rotate=True)
    stack = n_frames > 1
    channels = arr.ndim == (4 if stack else 3)
    return _Decoded(arr, channels=channels, n_pages=n_frames)


def _read_tiff(p: pathlib.Path, q: str) -> _Decoded:
    with _quiet_codec_log("tifffile"), tifffile.TiffFile(p) as tif:
        if not tif.series:
            raise ImageReadError(
                f"cannot read {q}: not a valid TIFF image (truncated or corrupt: no readable image)"
            )
        series = tif.series[0]
        axes = series.axes
        shape = tuple(series.shape)
        page = series.keyframe
        if "S" in axes:
            _check_pixels(q, shape[: axes.index("S")] + shape[axes.index("S") + 1 :])
        else:
            _check_pixels(q, shape)
        _check_tiff_data(q, series)
        photometric = int(page.photometric)
        if photometric == tifffile.PHOTOMETRIC.SEPARATED:
            raise ImageReadError(
                f"cannot read {q}: CMYK TIFF images are not supported; convert to RGB first"
            )
        if photometric == tifffile.PHOTOMETRIC.YCBCR and int(page.compression) not in _TIFF_JPEG:
            raise ImageReadError(  # tifffile would return the Y, Cb, Cr samples as they are
                f"cannot read {q}: YCbCr TIFF images are only supported with JPEG compression; "
                "convert to RGB first"
            )
        bits = int(page.bitspersample)
        try:
            arr = series.asarray()
        except (ValueError, NotImplementedError) as exc:  # e.g. an unknown compression
            if not any(w in str(exc) for w in ("not supported", "not a known", "imagecodecs")):
                raise
            raise ImageReadError(
                f"cannot read {q}: unsupported TIFF image ({_detail(exc)})"
            ) from exc
        colormap = page.colormap if photometric == tifffile.PHOTOMETRIC.PALETTE else None
        (dz, dy, dx), unit = _tiff_voxel_size(tif, page)

    if arr.shape != shape:
        arr = arr.reshape(shape)
    # canonical layout: (..., Y, X[, S])
    order = [i for i, a in enumerate(axes) if a not in "YXS"]
    if "Y" in axes and "X" in axes:
        order += [axes.index("Y"), axes.index("X")]
    else:  # unknown axis names: assume the last two non-sample axes are rows and columns
        order = [i for i, a in enumerate(axes) if a != "S"]
    if "S" in axes:
        order.append(axes.index("S"))
    arr = np.transpose(arr, order)
    channels = "S" in axes and arr.shape[-1] > 1
    if "S" in axes and not channels:
        arr = arr[..., 0]
    spatial = arr.shape[-3:-1] if channels else arr.shape[-2:]
    tail = arr.shape[-1:] if channels else ()
    leading = arr.shape[: arr.ndim - len(spatial) - len(tail)]
    n_pages = math.prod(leading)
    arr = arr.reshape((n_pages, *spatial, *tail)) if n_pages > 1 else arr.reshape(spatial + tail)

    scale_max = None
    if colormap is not None and not channels:
        # palette: indices -> 16-bit RGB through the colour map
        arr = np.take(np.asarray(colormap).T, arr.astype(np.intp), axis=0, mode="raise")
        channels = True
    elif arr.dtype.kind in "ui" and 1 < bits < arr.dtype.itemsize * 8:
        scale_max = float(2**bits - 1)  # e.g. 12-bit packed data in uint16
    if photometric == tifffile.PHOTOMETRIC.MINISWHITE and not channels:
        if arr.dtype.kind == "b":
            arr = ~arr
        elif arr.dtype.kind == "u":
            top = int(scale_max) if scale_max is not None else np.iinfo(arr.dtype).max
            arr = (top - arr).astype(arr.dtype)
    voxel = (dz, dy, dx) if n_pages > 1 else (dy, dx)
    if any(v is None for v in voxel):
        voxel, unit = None, None
    return _Decoded(
        arr,
        channels=channels,
        n_pages=n_pages,
        scale_max=scale_max,
        voxel_size=voxel,
        voxel_unit=unit,
    )


def _tiff_voxel_size(tif, page) -> tuple[tuple[float | None, ...], str | None]:
    """``((dz, dy, dx), unit)`` from OME-XML or ImageJ metadata; None where not stated."""
    try:
        if tif.is_ome and tif.ome_metadata:
            root = ElementTree.fromstring(tif.ome_metadata)
            pixels = next((e for e in root.iter() if e.tag.endswith("}Pixels")), None)
            if pixels is not None:
                sizes = tuple(_positive_or_none(pixels.get(f"PhysicalSize{a}")) for a in "ZYX")
                return sizes, pixels.get("PhysicalSizeXUnit", "µm")
        if tif.is_imagej:
            meta = tif.imagej_metadata or {}
            lateral = []
            for tag in ("YResolution", "XResolution"):
                value = page.tags.get(tag)
                num, den = value.value if value is not None else (1, 1)
                # ImageJ stores pixels per unit; (1, 1) is its "no calibration"
                lateral.append(_positive_or_none(den / num) if (num, den) != (1, 1) else None)
            unit = meta.get("unit")
            unit = "µm" if unit in ("micron", "um", "\\u00B5m") else unit
            return (_positive_or_none(meta.get("spacing")), *lateral), unit
    except (ElementTree.ParseError, TypeError, ValueError, ZeroDivisionError):
        pass  # unreadable metadata never fails the read
    return (None, None, None), None


def _positive_or_none(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


# ---------------------------------------------------------------------------------------------
# writer


def write_image(
    path: str | os.PathLike[str],
    image: np.ndarray,
    *,
    info: ImageInfo | None = None,
    dtype: str | np.dtype | None = None,
    force: bool = False,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> pathlib.Path:
    """Write float image data to a file, atomically.

    Parameters
    ----------
    path : str or path-like
        Output file; its extension picks the format (``.png``, ``.jpg``/``.jpeg``, ``.bmp``,
        ``.tif``/``.tiff``, ``.npy``). Its folder must exist.
    image : array_like
        Data nominally in [0, 1]: grey ``(H, W)``, colour ``(H, W, C)`` (C = 2 grey + alpha,
        3 RGB, 4 RGBA) or, for TIFF and ``.npy``, a stack ``(pages, H, W[, C])``. Integer and
        boolean arrays are accepted and scaled by :func:`to_float`.
    info : ImageInfo, optional
        From :func:`read_image`: a 16-bit source gives a 16-bit PNG, a TIFF keeps the source
        dtype, and a 3-D array with ``info.n_pages`` pages is written as a stack.
    dtype : str or dtype, optional
        Output dtype, overriding ``info``: ``uint8``/``uint16`` for PNG, ``uint8`` for JPEG and
        BMP, integer or float types for TIFF and ``.npy``.
    force : bool, default False
        Replace an existing file, even an input.
    inputs : iterable of path-like
        Files that must not be overwritten (the inputs of the computation) unless ``force``.

    Returns
    -------
    pathlib.Path
        The written path.

    Notes
    -----
    Integer outputs are ``np.rint(np.clip(x, 0, 1) * max)``. Float outputs (TIFF, ``.npy``)
    are written unclipped. Defaults without ``dtype``/``info``: PNG uint8 (uint16 for uint16
    input), JPEG/BMP uint8, TIFF the input's float dtype (float32; float64 stays float64) or
    the input's integer dtype, ``.npy`` the array as it is. The data go to a temporary file
    in the output folder, are flushed to disk and then renamed over the target, so a failed
    write never leaves a partial file.

    Raises
    ------
    ImageWriteError
        Unsupported extension or dtype, missing output folder, target exists or is an input
        (without ``force``), or the encoder / file system failed.
    InvalidImageError
        NaN or infinite values, complex / non-numeric data, an empty or unsuitable shape.
    """
    target = pathlib.Path(os.fspath(path))
    q = _q(path)
    ext = target.suffix.lower()
    if ext not in SUPPORTED_WRITE_EXTENSIONS:
        raise ImageWriteError(
            f"cannot write {q}: unsupported file type {ext or '(no extension)'!r} "
            f"(supported: {', '.join(SUPPORTED_WRITE_EXTENSIONS)})"
        )
    _check_target(target, q, force=force, inputs=inputs)

    arr = _native(np.asarray(image))
    _check_numeric(arr, f"cannot write {q}", InvalidImageError)
    if arr.size == 0:
        raise InvalidImageError(f"cannot write {q}: the image is empty (shape {arr.shape})")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise InvalidImageError(f"cannot write {q}: the image contains NaN or infinite values")

    out_dtype = _output_dtype(ext, arr, info, dtype, q)
    if arr.dtype != out_dtype:
        arr = from_float(arr, out_dtype)
    writer = _make_writer(ext, arr, info, q)
    _atomic_write(target, q, writer, force=force)
    return target


def _check_target(
    target: pathlib.Path, q: str, *, force: bool, inputs: Iterable[str | os.PathLike[str]]
) -> None:
    if target.is_dir():
        raise ImageWriteError(f"cannot write {q}: it is a folder")
    parent = target.parent
    if not parent.exists():
        raise ImageWriteError(f"cannot write {q}: output folder {_q(parent)} does not exist")
    if not parent.is_dir():
        raise ImageWriteError(f"cannot write {q}: {_q(parent)} is not a folder")
    if force:
        return
    for source in inputs:
        if _same_file(target, pathlib.Path(os.fspath(source))):
            raise ImageWriteError(
                f"refusing to overwrite {q} (it is an input; pass force=True / --force)"
            )
    if target.exists() or target.is_symlink():
        raise ImageWriteError(f"{q} exists; pass force=True (--force) to overwrite")


def _same_file(a: pathlib.Path, b: pathlib.Path) -> bool:
    with contextlib.suppress(OSError):
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    norm = os.path.normcase
    return norm(os.path.realpath(a)) == norm(os.path.realpath(b))


def _output_dtype(
    ext: str, arr: np.ndarray, info: ImageInfo | None, dtype: Any, q: str
) -> np.dtype:
    allowed = _WRITE_DTYPES[ext]
    fmt = _FORMAT_NAMES[ext]
    if dtype is not None:
        try:
            dt = np.dtype(dtype)
        except TypeError:
            raise ImageWriteError(f"cannot write {q}: unknown dtype {dtype!r}") from None
        if dt.name not in allowed:
            raise ImageWriteError(
                f"cannot write {q}: {fmt} cannot store {dt.name} data "
                f"(supported: {', '.join(allowed)})"
            )
        return dt
    if ext == ".npy":
        if arr.dtype.name in allowed:
            return arr.dtype
        return np.dtype(np.float64 if arr.dtype.kind == "f" else np.float32)
    if info is not None and info.dtype in allowed:
        return np.dtype(info.dtype)
    if ext in (".tif", ".tiff"):
        if arr.dtype.kind == "f":
            return np.dtype(np.float64 if arr.dtype == np.float64 else np.float32)
        if arr.dtype.name in allowed:
            return arr.dtype
        return np.dtype(np.float32)
    if arr.dtype.name in allowed:  # e.g. uint16 data to PNG
        return arr.dtype
    return np.dtype(allowed[0])


def _layout(arr: np.ndarray, info: ImageInfo | None, q: str) -> tuple[np.ndarray, int, int]:
    """Return (array, n_channels (0: none), n_pages) for an image-format writer."""
    if arr.ndim == 2:
        return arr, 0, 1
    if arr.ndim == 3:
        info_stack = (
            info is not None
            and info.n_pages > 1
            and info.channel_axis is None
            and arr.shape[0] == info.n_pages
        )
        info_colour = info is not None and info.channel_axis is not None and info.n_pages == 1
        if not info_stack and (info_colour or arr.shape[-1] <= 4):
            if arr.shape[-1] == 1:
                return arr[..., 0], 0, 1
            return arr, arr.shape[-1], 1
        return arr, 0, arr.shape[0]
    if arr.ndim == 4:
        if arr.shape[-1] == 1:
            return arr[..., 0], 0, arr.shape[0]
        return arr, arr.shape[-1], arr.shape[0]
    raise InvalidImageError(
        f"cannot write {q}: expected a 2-D image, (H, W, C) colour image or a stack, "
        f"got shape {arr.shape}"
    )


def _make_writer(
    ext: str, arr: np.ndarray, info: ImageInfo | None, q: str
) -> Callable[[IO[bytes]], None]:
    """Validate the layout for the format and return a function writing into a file object."""
    if ext == ".npy":
        if arr.ndim == 0:
            raise InvalidImageError(f"cannot write {q}: expected an array, got a scalar")

        def write_npy(fh: IO[bytes]) -> None:
            np.save(fh, arr, allow_pickle=False)

        return write_npy

    data, n_channels, n_pages = _layout(arr, info, q)
    fmt = _FORMAT_NAMES[ext]

    if ext in (".tif", ".tiff"):
        kwargs: dict[str, Any] = {"photometric": "rgb" if n_channels in (3, 4) else "minisblack"}
        if n_channels:
            kwargs["planarconfig"] = "contig"
            if n_channels in (2, 4):
                kwargs["extrasamples"] = ("unassalpha",)

        if info is not None and _icc_fits(info.icc_profile, n_channels):
            kwargs["iccprofile"] = info.icc_profile
        voxel = info.voxel_size if info is not None else None
        if voxel is not None and len(voxel) == (3 if n_pages > 1 else 2):
            unit = info.voxel_unit or "µm"
            axes = ("ZYX" if n_pages > 1 else "YX") + ("S" if n_channels else "")
            metadata: dict[str, Any] = {"axes": axes}
            for name, size in zip("ZYX"[3 - len(voxel) :], voxel, strict=True):
                metadata[f"PhysicalSize{name}"] = float(size)
                metadata[f"PhysicalSize{name}Unit"] = unit
            kwargs.update(ome=True, metadata=metadata)

        def write_tiff(fh: IO[bytes]) -> None:
            tifffile.imwrite(fh, data, **kwargs)

        return write_tiff

    if n_pages > 1:
        raise ImageWriteError(
            f"cannot write {q}: a stack of {n_pages} pages can only be saved as .tif/.tiff or .npy"
        )
    if n_channels > 4:
        raise ImageWriteError(
            f"cannot write {q}: {fmt} stores at most 4 channels, got {n_channels}; use .tif or .npy"
        )
    if ext in (".jpg", ".jpeg", ".bmp") and n_channels in (2, 4):
        raise ImageWriteError(
            f"cannot write {q}: {fmt} cannot store an alpha channel; use .png or .tif"
        )
    if ext == ".png" and data.dtype == np.uint16:  # libpng: Pillow cannot write 16-bit colour
        pixels = np.ascontiguousarray(data)
        icc, exif = (None, None) if info is None else (info.icc_profile, info.exif)

        def write_png16(fh: IO[bytes]) -> None:
            # OpenCV's fast settings: ~10x faster than libpng's defaults, files a few % larger
            png = imagecodecs.PNG
            fh.write(
                _png_with_metadata(
                    imagecodecs.png_encode(
                        pixels,
                        level=png.COMPRESSION.SPEED,
                        strategy=png.STRATEGY.RLE,
                        filter=png.FILTER.SUB,
                    ),
                    icc if _icc_fits(icc, n_channels) else None,
                    exif,
                )
            )

        return write_png16

    options: dict[str, Any] = {"quality": JPEG_QUALITY} if fmt == "JPEG" else {}
    if info is not None and fmt in ("PNG", "JPEG"):
        if _icc_fits(info.icc_profile, n_channels):
            options["icc_profile"] = info.icc_profile
        if info.exif:
            options["exif"] = info.exif

    def write_pillow(fh: IO[bytes]) -> None:
        iio.imwrite(fh, data, plugin="pillow", extension=ext, **options)

    return write_pillow


def _new_file_mode(target: pathlib.Path) -> int:
    """Permission bits for the output: those of the file replaced, else 0o666 minus umask."""
    with contextlib.suppress(OSError):
        return stat.S_IMODE(target.stat().st_mode)
    umask = None
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("Umask:"):
                umask = int(line.split()[1], 8)
                break
    if umask is None:
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask


def atomic_write(
    path: str | os.PathLike[str], writer: Callable[[IO[bytes]], None], *, force: bool = False
) -> pathlib.Path:
    """Write a file atomically: ``writer(fileobj)`` fills a temporary file beside ``path``,
    which is flushed, synced and then moved onto ``path``.

    Either ``path`` ends up complete or it is left as it was; the temporary file is removed on
    any failure. Without ``force`` an existing file (even one that appears meanwhile) is never
    replaced.

    Raises
    ------
    ImageWriteError
        The file exists (without ``force``) or cannot be written.
    """
    target = pathlib.Path(path)
    _atomic_write(target, _q(target), writer, force=force)
    return target


def _atomic_write(
    target: pathlib.Path, q: str, writer: Callable[[IO[bytes]], None], *, force: bool
) -> None:
    parent = target.parent
    mode = _new_file_mode(target)
    try:
        tmp = tempfile.NamedTemporaryFile(
            mode="w+b", delete=False, dir=parent, prefix=f".{target.name}.", suffix=target.suffix
        )
    except OSError as exc:
        raise ImageWriteError(f"cannot write {q}: {_detail(exc)}") from exc
    tmp_path = tmp.name
    try:
        with tmp:
            writer(tmp.file)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_path, mode)
        if force:
            os.replace(tmp_path, target)
        else:
            _move_no_clobber(tmp_path, target, q)
        _fsync_dir(parent)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_path)
        if isinstance(exc, UnblurError) or not isinstance(exc, Exception):
            raise
        raise ImageWriteError(f"cannot write {q}: {_detail(exc)}") from exc


def _move_no_clobber(tmp_path: str, target: pathlib.Path, q: str) -> None:
    """Rename ``tmp_path`` to ``target`` unless something appeared there meanwhile."""
    try:
        os.link(tmp_path, target)  # fails atomically if the target exists
    except FileExistsError:
        raise ImageWriteError(f"{q} exists; pass force=True (--force) to overwrite") from None
    except OSError:  # no hard links on this file system
        if target.exists():
            raise ImageWriteError(f"{q} exists; pass force=True (--force) to overwrite") from None
        os.replace(tmp_path, target)
        return
    os.unlink(tmp_path)


def _fsync_dir(folder: pathlib.Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
