"""Reading image files: :func:`read_image` and one reader per format family."""

from __future__ import annotations

import os
import pathlib
import stat
import struct
import warnings

import imagecodecs
import imageio.v3 as iio
import numpy as np
from PIL import Image, UnidentifiedImageError

from .._checks import scale_to_unit
from ..errors import ImageReadError, InvalidImageError, UnblurError
from ._common import (
    _FORMAT_NAMES,
    _PIL_CONVERT,
    _PIL_KEEP,
    _PNG_SAMPLES,
    _PNG_SIGNATURE,
    SUPPORTED_READ_EXTENSIONS,
    ImageInfo,
    _check_numeric,
    _Decoded,
    _detail,
    _native,
    _q,
    _quiet_codec_log,
)
from .convert import _to_gray, to_float
from .limits import _check_pixels
from .metadata import _read_metadata
from .tiff import _read_tiff

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
