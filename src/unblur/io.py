"""Image files <-> float arrays.

:func:`read_image` turns an image file into a float array scaled to [0, 1] plus an
:class:`ImageInfo` that says how the file stored it; :func:`write_image` goes the other way,
atomically and without ever overwriting an input or an existing file unless asked to.

Formats
-------
* PNG, JPEG, BMP, GIF: decoded with imageio (Pillow plugin). 16-bit colour PNG (RGB, RGBA,
  grey + alpha), which Pillow silently reduces to 8 bits, is read and written by a small
  built-in codec so 16-bit data survive exactly.
* TIFF (``.tif``/``.tiff``, multi-page and OME-TIFF included): tifffile.
* ``.npy``: numpy, exact (float data are returned and written unchanged).

Integer data map to [0, 1] by dividing by the maximum of the stored type (``v / 255`` for
8 bits, ``v / 65535`` for 16 bits); on output [0, 1] maps back with clipping and correct
rounding (``np.rint``), so integer data round-trip exactly.
"""

from __future__ import annotations

import contextlib
import math
import os
import pathlib
import stat
import struct
import tempfile
import warnings
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO, Any

import imageio.v3 as iio
import numpy as np
import tifffile
from PIL import Image, UnidentifiedImageError

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

# Rec. 709 luminance weights, as skimage.color.rgb2gray.
_GRAY_WEIGHTS = (0.2125, 0.7154, 0.0721)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# colour type -> samples per pixel, for the 16-bit colour types handled by the built-in codec
_PNG16_COLOUR_TYPES = {2: 3, 4: 2, 6: 4}
# Adam7 passes: (x0, y0, dx, dy)
_ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)

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
    """

    path: str | None
    dtype: str
    shape: tuple[int, ...]
    value_range: tuple[float, float]
    channel_axis: int | None
    has_alpha: bool
    n_pages: int


@dataclass
class _Decoded:
    """What a format reader hands back: native data plus their layout."""

    array: np.ndarray
    channels: bool  # last axis holds channels
    n_pages: int  # > 1: first axis holds pages
    scale_max: float | None = None  # integer value mapped to 1 (None: the dtype's maximum)


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


def _extension(path: pathlib.Path) -> str:
    return path.suffix.lower()


def _supported(exts: tuple[str, ...]) -> str:
    return ", ".join(exts)


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


def _native(arr: np.ndarray) -> np.ndarray:
    return arr if arr.dtype.isnative else arr.astype(arr.dtype.newbyteorder("="))


def _check_numeric(arr: np.ndarray, what: str, error: type[UnblurError]) -> None:
    kind = arr.dtype.kind
    if kind == "c":
        raise error(f"{what}: complex data ({arr.dtype}) are not supported; pass real values")
    if kind not in "biuf":
        raise error(f"{what}: non-numeric data of dtype {arr.dtype} are not supported")


def _scale_int(arr: np.ndarray, maxval: float) -> np.ndarray:
    """Integer/bool array -> float32 array divided by ``maxval`` (correctly rounded)."""
    if arr.dtype.kind == "b":
        return arr.astype(np.float32)
    if arr.dtype.itemsize <= 2:
        # float32 holds every 8/16-bit integer exactly, so one correctly rounded division
        out = arr.astype(np.float32)
        out /= np.float32(maxval)
        return out
    return (arr.astype(np.float64) / float(maxval)).astype(np.float32)


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
    arr = _native(np.asarray(image))
    _check_numeric(arr, "cannot convert the image to float", InvalidImageError)
    kind = arr.dtype.kind
    if kind == "f":
        if arr.dtype in (np.float32, np.float64):
            return arr
        return arr.astype(np.float32 if arr.dtype.itemsize < 4 else np.float64)
    if kind == "b":
        return arr.astype(np.float32)
    return _scale_int(arr, float(np.iinfo(arr.dtype).max))


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
    n = x.shape[-1]
    if n <= 2:  # grey or grey + alpha
        return np.ascontiguousarray(x[..., 0])
    if n <= 4:  # RGB or RGBA
        g = x[..., 0].astype(np.float64) * _GRAY_WEIGHTS[0]
        g += x[..., 1].astype(np.float64) * _GRAY_WEIGHTS[1]
        g += x[..., 2].astype(np.float64) * _GRAY_WEIGHTS[2]
        return g.astype(x.dtype, copy=False)
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
        of zero size, or declares more than :data:`MAX_PIXELS` pixels.
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
    ext = _extension(p)
    if ext not in SUPPORTED_READ_EXTENSIONS:
        raise ImageReadError(
            f"cannot read {q}: unsupported file type {ext or '(no extension)'!r} "
            f"(supported: {_supported(SUPPORTED_READ_EXTENSIONS)})"
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
    elif arr.dtype.kind == "b":
        value_range = (0.0, 1.0)
        data = arr.astype(np.float32)
    else:
        maxval = dec.scale_max if dec.scale_max is not None else float(np.iinfo(arr.dtype).max)
        value_range = (0.0, float(maxval))
        data = _scale_int(arr, maxval)

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
    )
    return data, info


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
        head = fh.read(33)
    if head[:8] == _PNG_SIGNATURE and head[12:16] == b"IHDR" and len(head) >= 29:
        width, height, depth, colour = struct.unpack(">IIBB", head[16:26])
        _check_pixels(q, (height, width))
        if depth == 16 and colour in _PNG16_COLOUR_TYPES:
            # Pillow would silently keep only the high byte of each sample.
            try:
                arr = _decode_png16_pillow(p, colour, (height, width))
            except Exception:  # corrupt, or Pillow internals changed: the built-in decoder decides
                arr = None
            if arr is None:
                arr = _decode_png16(p.read_bytes())
            return _Decoded(arr, channels=True, n_pages=1)
    return _read_pillow(p, q, "PNG")


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
    with tifffile.TiffFile(p) as tif:
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
        photometric = int(page.photometric)
        if photometric == tifffile.PHOTOMETRIC.SEPARATED:
            raise ImageReadError(
                f"cannot read {q}: CMYK TIFF images are not supported; convert to RGB first"
            )
        bits = int(page.bitspersample)
        try:
            arr = series.asarray()
        except Exception as exc:
            if "imagecodecs" not in str(exc):
                raise
            return _read_tiff_with_pillow(p, q, page, exc)
        colormap = page.colormap if photometric == tifffile.PHOTOMETRIC.PALETTE else None

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
    return _Decoded(arr, channels=channels, n_pages=n_pages, scale_max=scale_max)


def _read_tiff_with_pillow(
    p: pathlib.Path, q: str, page: Any, codec_error: Exception
) -> _Decoded:
    """Fallback for TIFF compressions tifffile cannot decode without imagecodecs."""
    name = getattr(page.compression, "name", str(page.compression))
    message = (
        f"cannot read {q}: TIFF compression {name} needs the 'imagecodecs' package "
        "(pip install imagecodecs)"
    )
    try:
        dec = _read_pillow(p, q, "TIFF")
    except Exception:
        raise ImageReadError(message) from codec_error
    bits = int(page.bitspersample)
    got = 1 if dec.array.dtype.kind == "b" else dec.array.dtype.itemsize * 8
    samples = dec.array.shape[-1] if dec.channels else 1
    photometric = int(page.photometric)
    want = 3 if photometric == tifffile.PHOTOMETRIC.PALETTE else int(page.samplesperpixel)
    if (got != bits and photometric != tifffile.PHOTOMETRIC.PALETTE) or samples != want:
        # Pillow would change the data (e.g. drop the low byte of 16-bit RGB)
        raise ImageReadError(message) from codec_error
    return dec


# ---------------------------------------------------------------------------------------------
# built-in codec for 16-bit colour PNG (Pillow reduces these to 8 bits)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _encode_png16(arr: np.ndarray) -> bytes:
    """uint16 (H, W, C) with C in 2, 3, 4 -> PNG bytes (filter 'Up' on every row)."""
    height, width, n = arr.shape
    colour = {3: 2, 2: 4, 4: 6}[n]
    raw = np.ascontiguousarray(arr, dtype=">u2").view(np.uint8).reshape(height, width * n * 2)
    rows = np.empty((height, raw.shape[1] + 1), np.uint8)
    rows[:, 0] = 2  # Up; the row above the first is defined as zeros
    rows[0, 1:] = raw[0]
    np.subtract(raw[1:], raw[:-1], out=rows[1:, 1:])  # modulo 256
    data = zlib.compress(rows.tobytes(), 6)
    ihdr = struct.pack(">IIBBBBB", width, height, 16, colour, 0, 0, 0)
    step = 1 << 20
    idat = b"".join(_png_chunk(b"IDAT", data[i : i + step]) for i in range(0, len(data), step))
    return _PNG_SIGNATURE + _png_chunk(b"IHDR", ihdr) + idat + _png_chunk(b"IEND", b"")


# Pillow decodes these with raw modes that keep one byte per sample; decoding with the
# big-endian raw mode gives the high bytes and with the little-endian one the low bytes.
# grey + alpha has no such pair, but its 4-byte pixels decode losslessly as 8-bit RGBA.
_PNG16_PILLOW_RAWMODES = {
    2: ("RGB;16B", ("RGB;16B", "RGB;16L")),
    6: ("RGBA;16B", ("RGBA;16B", "RGBA;16L")),
    4: ("LA;16B", ("RGBA",)),
}


def _decode_png16_pillow(
    p: pathlib.Path, colour: int, size: tuple[int, int]
) -> np.ndarray | None:
    """Fast path for 16-bit colour PNG through Pillow's C decoder; None if not applicable.

    This relies on Pillow's tile list (``im.tile``); if it looks different from what is
    expected the built-in decoder (:func:`_decode_png16`) is used instead.
    """
    expected, rawmodes = _PNG16_PILLOW_RAWMODES[colour]
    planes = []
    for rawmode in rawmodes:
        with Image.open(p) as im:
            tiles = list(im.tile)
            if (
                im.format != "PNG"
                or len(tiles) != 1
                or len(tiles[0]) != 4
                or tiles[0][0] != "zip"
                or tiles[0][3] != expected
            ):
                return None
            tile = tiles[0]
            if hasattr(tile, "_replace"):  # Pillow >= 11: a named tuple
                im.tile = [tile._replace(args=rawmode)]
            else:
                im.tile = [(*tile[:3], rawmode)]
            im.load()
            planes.append(np.asarray(im))
    if colour == 4:
        b = planes[0].astype(np.uint16)
        arr = np.stack([(b[..., 0] << 8) | b[..., 1], (b[..., 2] << 8) | b[..., 3]], axis=-1)
    else:
        arr = (planes[0].astype(np.uint16) << 8) | planes[1]
    if arr.shape != (*size, _PNG16_COLOUR_TYPES[colour]):
        return None
    return arr


def _decode_png16(data: bytes) -> np.ndarray:
    """PNG bytes of a 16-bit colour image -> uint16 (H, W, C). Raises ValueError if corrupt."""
    if data[:8] != _PNG_SIGNATURE:
        raise ValueError("no PNG signature")
    pos = 8
    ihdr = None
    idat: list[bytes] = []
    while True:
        if pos + 8 > len(data):
            raise ValueError("file ends before the IEND chunk")
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if end > len(data):
            raise ValueError(f"file ends inside the {kind.decode('latin-1')!r} chunk")
        body = data[pos + 8 : end - 4]
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise ValueError(f"CRC mismatch in the {kind.decode('latin-1')!r} chunk")
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos = end
    if ihdr is None or not idat:
        raise ValueError("missing IHDR or IDAT chunk")
    width, height, depth, colour, compression, filtering, interlace = ihdr
    if depth != 16 or colour not in _PNG16_COLOUR_TYPES or compression or filtering:
        raise ValueError("unsupported IHDR for the 16-bit decoder")
    n = _PNG16_COLOUR_TYPES[colour]
    bpp = 2 * n
    passes = _ADAM7 if interlace == 1 else ((0, 0, 1, 1),)
    if interlace not in (0, 1):
        raise ValueError(f"unknown interlace method {interlace}")
    sizes = []
    for x0, y0, dx, dy in passes:
        pw = (width - x0 + dx - 1) // dx if width > x0 else 0
        ph = (height - y0 + dy - 1) // dy if height > y0 else 0
        sizes.append((pw, ph))
    expected = sum(ph * (1 + pw * bpp) for pw, ph in sizes if pw and ph)
    dec = zlib.decompressobj()
    raw = dec.decompress(b"".join(idat), expected)
    if len(raw) < expected:
        raise ValueError("image data are truncated")
    buf = np.frombuffer(raw, np.uint8)
    out = np.empty((height, width, bpp), np.uint8)
    offset = 0
    for (x0, y0, dx, dy), (pw, ph) in zip(passes, sizes, strict=True):
        if not (pw and ph):
            continue
        nbytes = ph * (1 + pw * bpp)
        rows = buf[offset : offset + nbytes].reshape(ph, 1 + pw * bpp)
        offset += nbytes
        out[y0::dy, x0::dx] = _unfilter(rows, pw, bpp)
    return out.reshape(height, width, n, 2).view(">u2")[..., 0].astype(np.uint16)


def _unfilter(rows: np.ndarray, width: int, bpp: int) -> np.ndarray:
    """Undo PNG scanline filters: (H, 1 + W*bpp) uint8 -> (H, W, bpp) uint8."""
    height = rows.shape[0]
    ftype = rows[:, 0]
    if ftype.max() > 4:
        raise ValueError(f"invalid PNG filter type {int(ftype.max())}")
    f = rows[:, 1:].reshape(height, width, bpp).astype(np.int16)
    # reconstructed bytes, padded with a zero row above and a zero column on the left
    out = np.zeros((height + 1, width + 1, bpp), np.int16)
    if ftype.max() <= 2:  # None / Sub / Up only: row by row
        for r in range(height):
            t = ftype[r]
            if t == 0:
                out[r + 1, 1:] = f[r]
            elif t == 1:
                out[r + 1, 1:] = np.cumsum(f[r], axis=0, dtype=np.int64) & 0xFF
            else:
                out[r + 1, 1:] = (f[r] + out[r, 1:]) & 0xFF
        return out[1:, 1:].astype(np.uint8)
    # Average / Paeth depend on the left, upper and upper-left bytes: sweep anti-diagonals,
    # on which every pixel depends only on earlier diagonals.
    for s in range(height + width - 1):
        r = np.arange(max(0, s - width + 1), min(height - 1, s) + 1)
        j = s - r
        a = out[r + 1, j]  # left
        b = out[r, j + 1]  # up
        c = out[r, j]  # up-left
        t = ftype[r][:, None]
        pa = np.abs(b - c)
        pb = np.abs(a - c)
        pc = np.abs(a + b - 2 * c)
        paeth = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
        pred = np.select([t == 1, t == 2, t == 3, t == 4], [a, b, (a + b) >> 1, paeth], 0)
        out[r + 1, j + 1] = (f[r, j] + pred) & 0xFF
    return out[1:, 1:].astype(np.uint8)


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
    ext = _extension(target)
    if ext not in SUPPORTED_WRITE_EXTENSIONS:
        raise ImageWriteError(
            f"cannot write {q}: unsupported file type {ext or '(no extension)'!r} "
            f"(supported: {_supported(SUPPORTED_WRITE_EXTENSIONS)})"
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

        def write_tiff(fh: IO[bytes]) -> None:
            tifffile.imwrite(fh, data, **kwargs)

        return write_tiff

    if n_pages > 1:
        raise ImageWriteError(
            f"cannot write {q}: a stack of {n_pages} pages can only be saved as "
            ".tif/.tiff or .npy"
        )
    if n_channels > 4:
        raise ImageWriteError(
            f"cannot write {q}: {fmt} stores at most 4 channels, got {n_channels}; "
            "use .tif or .npy"
        )
    if ext in (".jpg", ".jpeg", ".bmp") and n_channels in (2, 4):
        raise ImageWriteError(
            f"cannot write {q}: {fmt} cannot store an alpha channel; use .png or .tif"
        )
    if ext == ".png" and data.dtype == np.uint16 and n_channels:

        def write_png16(fh: IO[bytes]) -> None:
            fh.write(_encode_png16(data))

        return write_png16

    options: dict[str, Any] = {"quality": JPEG_QUALITY} if fmt == "JPEG" else {}

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
