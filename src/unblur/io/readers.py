"""Reading image files: :func:`read_image` and one reader per format family."""

from __future__ import annotations

import math
import os
import pathlib
import stat
import struct
import warnings

import imagecodecs
import imageio.v3 as iio
import numpy as np
from PIL import Image, UnidentifiedImageError

from .._checks import check_bool, scale_to_unit
from ..errors import ImageReadError, InvalidImageError, UnblurError
from ._common import (
    _FORMAT_NAMES,
    _PIL_CONVERT,
    _PIL_KEEP,
    _PNG_SAMPLES,
    _PNG_SIGNATURE,
    AVIF_EXTENSIONS,
    HEIF_EXTENSIONS,
    RAW_EXTENSIONS,
    SUPPORTED_READ_EXTENSIONS,
    ImageHeader,
    ImageInfo,
    _as_path,
    _check_numeric,
    _Decoded,
    _detail,
    _native,
    _q,
    _quiet_codec_log,
)
from .convert import _to_gray, to_float
from .limits import _check_decoding, _check_pixels
from .metadata import (
    _exif_orientation,
    _png_exif,
    _quiet_pillow_log,
    _read_metadata,
    _upright,
    _upright_shape,
)
from .photo import check_avif, enable_heif, read_raw
from .tiff import _read_tiff

# bands and dtype of the arrays imageio returns for each Pillow mode (after conversion)
_PIL_LAYOUT = {
    "1": (1, np.dtype(bool)),
    "L": (1, np.dtype(np.uint8)),
    "LA": (2, np.dtype(np.uint8)),
    "RGB": (3, np.dtype(np.uint8)),
    "RGBA": (4, np.dtype(np.uint8)),
    "I": (1, np.dtype(np.int32)),
    "I;16": (1, np.dtype(np.uint16)),
    "I;16L": (1, np.dtype(np.uint16)),
    "I;16B": (1, np.dtype(np.uint16)),
    "I;16N": (1, np.dtype(np.uint16)),
    "F": (1, np.dtype(np.float32)),
}

# ---------------------------------------------------------------------------------------------
# readers


def read_image(
    path: str | os.PathLike[str], *, as_gray: bool = False
) -> tuple[np.ndarray, ImageInfo]:
    """Read an image file into a float array.

    Parameters
    ----------
    path : str or path-like
        A ``.png``, ``.jpg``/``.jpeg``, ``.bmp``, ``.gif``, ``.tif``/``.tiff`` or ``.npy`` file;
        a ``.heic``/``.heif`` (``pip install 'unblur[heif]'``) or ``.avif`` photograph; a
        camera RAW file (``.dng``, ``.cr2``, ``.nef``, ``.arw``, ... :data:`RAW_EXTENSIONS`;
        ``pip install 'unblur[raw]'``), demosaiced to linear 16-bit RGB
        (:mod:`unblur.io.photo`).
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
    as_gray = check_bool("as_gray", as_gray)
    p, q, ext = _open_checks(path)
    dec = _decode(p, q, ext, header_only=False)
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
    if dec.has_alpha is not None:  # the file says which (TIFF extra samples)
        has_alpha = channels and dec.has_alpha
    if as_gray and channels:
        data = _to_gray(data)
        channels = has_alpha = False
    info = ImageInfo(
        path=os.fspath(p),
        dtype=arr.dtype.name,
        shape=tuple(int(s) for s in arr.shape),
        value_range=value_range,
        channel_axis=-1 if channels else None,
        has_alpha=bool(has_alpha),
        n_pages=int(dec.n_pages),
        voxel_size=dec.voxel_size,
        voxel_unit=dec.voxel_unit,
        linear=ext in RAW_EXTENSIONS,
        **_read_metadata(p, ext, rotated=True),
    )
    return data, info


def read_header(path: str | os.PathLike[str]) -> ImageHeader:
    """What an image file declares (shape, dtype, channels), without decoding its pixels.

    The same checks as :func:`read_image` run on the header (missing file, unsupported type,
    zero size, :data:`MAX_PIXELS`, memory needed to decode, TIFF data listed), so a file
    refused here is refused there, and the size of the work ahead is known before any
    memory is spent on it.

    Parameters
    ----------
    path : str or path-like
        An image file (see :func:`read_image`).

    Returns
    -------
    ImageHeader
        ``shape`` (as :func:`read_image` would return it, before ``as_gray``), ``dtype``,
        ``channel_axis`` and ``n_pages``.

    Raises
    ------
    ImageReadError, InvalidImageError
        As :func:`read_image`, for what the header shows.
    """
    p, q, ext = _open_checks(path)
    return _decode(p, q, ext, header_only=True)


def _open_checks(path) -> tuple[pathlib.Path, str, str]:
    """The path, its quoted form and its extension, after the checks that need no reading."""
    p = _as_path(path)
    q = _q(p)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise ImageReadError(f"cannot read {q}: file not found") from None
    except PermissionError:
        raise ImageReadError(f"cannot read {q}: permission denied") from None
    except (OSError, ValueError) as exc:
        raise ImageReadError(f"cannot read {q}: {_detail(exc)}") from None
    if stat.S_ISDIR(st.st_mode):
        raise ImageReadError(f"cannot read {q}: it is a folder, not an image file")
    ext = p.suffix.lower()
    if ext not in SUPPORTED_READ_EXTENSIONS:
        raise ImageReadError(
            f"cannot read {q}: unsupported file type {ext or '(no extension)'!r} "
            f"(supported: {', '.join(SUPPORTED_READ_EXTENSIONS)})"
        )
    if not stat.S_ISREG(st.st_mode):
        raise ImageReadError(f"cannot read {q}: not a regular file")
    if st.st_size == 0:
        raise ImageReadError(f"cannot read {q}: the file is empty")
    return p, q, ext


def _decode(p: pathlib.Path, q: str, ext: str, *, header_only: bool):
    """The format's reader, with library errors turned into one-line ImageReadErrors."""
    fmt = _FORMAT_NAMES[ext]
    try:
        if ext == ".npy":
            return _read_npy(p, q, header_only)
        if ext in (".tif", ".tiff"):
            return _read_tiff(p, q, header_only)
        if ext == ".png":
            return _read_png(p, q, header_only)
        if ext in RAW_EXTENSIONS:
            return read_raw(p, q, header_only)
        if ext in HEIF_EXTENSIONS:
            enable_heif(q)
        elif ext in AVIF_EXTENSIONS:
            check_avif(q)
        return _read_pillow(p, q, fmt, header_only)
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


def npy_header(p: pathlib.Path, q: str) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """``(shape, fortran_order, dtype, data_offset)`` of a ``.npy`` file, read without its data.

    Only plain numeric dtypes pass (object and structured dtypes, which could hold pickles,
    are refused here, before any data is read), and the file must hold all the data its
    header declares.
    """
    with open(p, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        offset = fh.tell()
    _check_numeric(np.empty(0, dtype), f"cannot read {q}", InvalidImageError)
    needed = offset + math.prod(shape) * dtype.itemsize
    size = p.stat().st_size
    if size < needed:
        raise ImageReadError(
            f"cannot read {q}: not a valid .npy file (truncated: the header declares "
            f"{needed} bytes, the file has {size})"
        )
    return tuple(int(n) for n in shape), bool(fortran), dtype, offset


def _read_npy(p: pathlib.Path, q: str, header_only: bool) -> _Decoded | ImageHeader:
    shape, _fortran, dtype, _offset = npy_header(p, q)
    if len(shape) == 0:
        raise ImageReadError(f"cannot read {q}: it holds a single number, not an image")
    channels = len(shape) in (3, 4) and shape[-1] <= 4
    _check_pixels(q, shape[:-1] if channels else shape)
    _check_decoding(q, math.prod(shape), dtype, copies=1)  # np.load reads straight in
    stack = (len(shape) == 3 and not channels) or len(shape) == 4
    n_pages = shape[0] if stack else 1
    if header_only:
        return ImageHeader(shape, dtype, -1 if channels else None, n_pages)
    arr = np.load(p, allow_pickle=False)
    return _Decoded(arr, channels=channels, n_pages=n_pages)


def _read_png(p: pathlib.Path, q: str, header_only: bool) -> _Decoded | ImageHeader:
    with open(p, "rb") as fh:
        head = fh.read(26)  # signature, IHDR length and type, width, height, depth, colour
    if len(head) < 26 or head[:8] != _PNG_SIGNATURE or head[12:16] != b"IHDR":
        # not a PNG after all, or a broken one: Pillow says why
        return _read_pillow(p, q, "PNG", header_only)
    width, height, depth, colour = struct.unpack(">IIBB", head[16:26])
    _check_pixels(q, (height, width))
    if not ((depth == 16 and colour in _PNG_SAMPLES) or (depth == 8 and colour in (0, 2))):
        return _read_pillow(p, q, "PNG", header_only)
    samples = _PNG_SAMPLES[colour]
    dtype = np.dtype(np.uint16 if depth == 16 else np.uint8)
    _check_decoding(q, height * width * samples, dtype)
    orientation = _exif_orientation(_png_exif(p))  # applied as Pillow does for other PNGs
    if header_only:
        shape = (height, width) if samples == 1 else (height, width, samples)
        shape = _upright_shape(shape, orientation, samples > 1)
        return ImageHeader(shape, dtype, -1 if samples > 1 else None, 1)
    # 16 bits: Pillow would keep only the high byte of colour samples (and older Pillow
    # versions return grey as int32), so libpng decodes these; 8-bit grey and RGB too, as
    # Pillow would return them (tRNS ignored), faster (measured in the docstring of
    # benchmarks/report_overhead.py). Palette and alpha images go to Pillow.
    with _quiet_codec_log():
        try:
            arr = imagecodecs.png_decode(p.read_bytes())
        except Exception as exc:  # libpng's words for a file that ends early, as Pillow's
            if "input stream too small" in str(exc):
                raise ValueError("image file is truncated") from None
            raise
    if arr.ndim == 3 and arr.shape[-1] != samples:
        arr = arr[..., :samples]  # alpha made from a tRNS chunk: ignored, as for 8-bit PNG
    if samples == 1 and arr.ndim == 3:
        arr = arr[..., 0]
    if arr.shape[:2] != (height, width):
        raise ValueError(f"decoded shape {arr.shape} does not match the header")
    arr = _upright(arr, orientation, samples > 1)
    return _Decoded(arr, channels=samples > 1, n_pages=1)


def _read_pillow(p: pathlib.Path, q: str, fmt: str, header_only: bool) -> _Decoded | ImageHeader:
    with warnings.catch_warnings(), _quiet_pillow_log():
        # Sizes up to MAX_PIXELS are ours to allow (Pillow's hard limit still raises); a
        # corrupt EXIF block (read for the orientation) is not worth a warning on a good image.
        warnings.simplefilter("ignore")
        try:
            with Image.open(p) as im:
                width, height = im.size
                n_frames = int(getattr(im, "n_frames", 1))
                mode = im.mode
                transparent = "transparency" in im.info
                # the orientation imageio applies (rotate=True): the header's shape says it
                orientation = _pillow_orientation(p, im, fmt)
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
        bands, dtype = _PIL_LAYOUT.get(target or mode, (1, np.dtype(np.uint8)))
        _check_decoding(q, n_frames * height * width * bands, dtype)
        if header_only:
            shape = _upright_shape((height, width), orientation, False)
            shape += (bands,) if bands > 1 else ()
            shape = (n_frames, *shape) if n_frames > 1 else shape
            return ImageHeader(shape, dtype, -1 if bands > 1 else None, n_frames)
        index = ... if n_frames > 1 else 0
        arr = iio.imread(p, plugin="pillow", index=index, mode=target, rotate=True)
    stack = n_frames > 1
    channels = arr.ndim == (4 if stack else 3)
    return _Decoded(arr, channels=channels, n_pages=n_frames)


def _pillow_orientation(p: pathlib.Path, im: Image.Image, fmt: str) -> int:
    """The EXIF orientation of a file Pillow opened (1 where absent or unreadable), read
    without decoding the pixels (Pillow's PNG ``getexif`` would decode them)."""
    try:
        if fmt == "PNG":
            return _exif_orientation(_png_exif(p))
        value = int(im.getexif().get(0x0112, 1))
    except Exception:  # metadata never make a readable image unreadable
        return 1
    return value if 1 <= value <= 8 else 1
