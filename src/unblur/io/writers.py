"""Writing image files: :func:`write_image`, one encoder per format, atomically."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable, Iterable
from typing import IO, Any

import imagecodecs
import imageio.v3 as iio
import numpy as np
import tifffile

from .._checks import _warn, as_array
from ..errors import ImageWriteError, InvalidImageError, InvalidParameterError
from ._common import (
    _FORMAT_NAMES,
    _WRITE_DTYPES,
    JPEG_QUALITY,
    SUPPORTED_WRITE_EXTENSIONS,
    ImageHeader,
    ImageInfo,
    _as_path,
    _check_numeric,
    _native,
    _q,
)
from .convert import from_float, to_float
from .metadata import _icc_fits, _png_with_metadata
from .outputs import OutputSet

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
        dtype (and packed samples: a 12-bit source is written as 12 bits, 1 -> 4095), and
        a 3-D array with ``info.n_pages`` pages is written as a stack.
    dtype : str or dtype, optional
        Output dtype, overriding ``info``: ``uint8``/``uint16`` for PNG, ``uint8`` for JPEG and
        BMP, integer or float types for TIFF and ``.npy``.
    force : bool, default False
        Replace an existing file (never an input, never a folder).
    inputs : iterable of path-like
        Files that must never be overwritten, even with ``force``: the inputs of the
        computation (see :mod:`unblur.io.outputs` for the rule).

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
    in the output folder, are flushed to disk and then moved onto the target, so a failed
    write never leaves a partial file; without ``force`` a file that appeared at ``path``
    meanwhile is not replaced.

    Raises
    ------
    ImageWriteError
        Unsupported extension or dtype, missing output folder, target is an input or a
        folder, exists (without ``force``), or the encoder / file system failed.
    InvalidImageError
        NaN or infinite values, complex / non-numeric data, an empty or unsuitable shape.
    """
    target = _as_path(path, "write")
    _check_extension(target)
    with OutputSet([path], inputs=inputs, force=force) as outputs:
        outputs.write(target, encode_image(target, image, info=info, dtype=dtype))
        outputs.commit()
    return target


def _check_extension(target: pathlib.Path) -> str:
    ext = target.suffix.lower()
    if ext not in SUPPORTED_WRITE_EXTENSIONS:
        raise ImageWriteError(
            f"cannot write {_q(target)}: unsupported file type {ext or '(no extension)'!r} "
            f"(supported: {', '.join(SUPPORTED_WRITE_EXTENSIONS)})"
        )
    return ext


def check_output_format(
    path: str | os.PathLike[str],
    *,
    like: ImageHeader | ImageInfo | None = None,
    dtype: str | np.dtype | None = None,
) -> None:
    """Refuse, before any work, an output that :func:`write_image` would refuse.

    The checks of :func:`encode_image` that do not depend on the pixel values, run on a
    one-pixel stand-in laid out like ``like``: the extension, ``dtype`` for that format, and
    (with ``like``) the layout: a stack to a single-image format, an alpha channel to JPEG or
    BMP, more than four channels. A command calls it with the input's header before reading
    and restoring the image, so a bad output fails in a fraction of a second.

    Parameters
    ----------
    path : str or path-like
        The output file.
    like : ImageHeader or ImageInfo, optional
        What the output will hold: the input's header (:func:`read_header`) for a restoration,
        which keeps the layout. None: check the extension and ``dtype`` only.
    dtype : str or dtype, optional
        The output dtype asked for (``--dtype``).

    Raises
    ------
    ImageWriteError
        As :func:`write_image` would, for the extension, the dtype or the layout.
    """
    target = _as_path(path, "write")
    ext = _check_extension(target)
    if like is None:
        _output_dtype(ext, np.zeros(1, np.float32), None, dtype, _q(target))
        return
    if isinstance(like, ImageHeader):
        channels = like.channel_axis is not None
        like = ImageInfo(
            path=None,
            dtype=np.dtype(like.dtype).name,
            shape=tuple(like.shape),
            value_range=(0.0, 1.0),
            channel_axis=like.channel_axis,
            has_alpha=channels
            and (like.shape[-1] in (2, 4) if like.has_alpha is None else like.has_alpha),
            n_pages=like.n_pages,
        )
    elif not isinstance(like, ImageInfo):
        raise InvalidParameterError(f"like must be an ImageHeader or ImageInfo, got {like!r}")
    channels = like.shape[-1:] if like.channel_axis is not None else ()
    pages = (like.n_pages,) if like.n_pages > 1 else ()
    encode_image(target, np.zeros((*pages, 1, 1, *channels), np.float32), info=like, dtype=dtype)


def encode_image(
    path: str | os.PathLike[str],
    image: np.ndarray,
    *,
    info: ImageInfo | None = None,
    dtype: str | np.dtype | None = None,
) -> Callable[[IO[bytes]], None]:
    """Check ``image`` for the format of ``path`` and return the function that encodes it.

    The checks and conversions of :func:`write_image`, without writing: the returned
    ``writer(fileobj)`` writes the encoded file into an open binary file, e.g. for
    :meth:`unblur.io.OutputSet.write` (a run with several outputs).

    Raises
    ------
    ImageWriteError, InvalidImageError
        As :func:`write_image`, for the extension, the dtype and the data.
    """
    target = _as_path(path, "write")
    q = _q(target)
    ext = _check_extension(target)
    if info is not None and not isinstance(info, ImageInfo):
        raise InvalidParameterError(f"info must be an ImageInfo from read_image, got {info!r}")
    arr = _native(as_array(image, name=f"cannot write {q}: the image"))
    _check_numeric(arr, f"cannot write {q}", InvalidImageError)
    if arr.size == 0:
        raise InvalidImageError(f"cannot write {q}: the image is empty (shape {arr.shape})")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise InvalidImageError(f"cannot write {q}: the image contains NaN or infinite values")

    out_dtype = _output_dtype(ext, arr, info, dtype, q)
    if info is not None and info.linear and ext in (".png", ".jpg", ".jpeg", ".bmp"):
        from .photo import srgb_encode  # linear light (a RAW photograph) shown as sRGB

        arr = srgb_encode(arr)
    if arr.dtype.kind == "f" and out_dtype.kind in "ui":
        _warn_saturation(arr, out_dtype, ext, q)
    top = _packed_top(ext, info, out_dtype)
    if top is not None:  # e.g. 12-bit samples: 1 is 4095 again, as in the source
        arr = np.rint(np.clip(to_float(arr), 0, 1) * top).astype(out_dtype)
    elif arr.dtype != out_dtype:
        arr = from_float(arr, out_dtype)
    return _make_writer(ext, arr, info, q)


def _packed_top(ext: str, info: ImageInfo | None, out_dtype: np.dtype) -> int | None:
    """The integer that 1 becomes in a TIFF written like a source whose samples were fewer
    bits than their type (a 12-bit camera's TIFF: 4095 in uint16), or None (the type's
    maximum). :func:`read_image` divides such data by ``2**bits - 1``; writing them back by
    the type's maximum would multiply every count by 16."""
    if info is None or ext not in (".tif", ".tiff") or out_dtype.kind != "u":
        return None
    top = info.value_range[1]
    if info.dtype != out_dtype.name or not 1 < top < np.iinfo(out_dtype).max:
        return None
    if not float(top + 1).is_integer() or int(top + 1).bit_count() != 1:
        return None
    return int(top)


#: above this share of values over 1.5, an integer output is mostly saturated: say so
SATURATION_SHARE = 0.01


def _warn_saturation(arr: np.ndarray, out_dtype: np.dtype, ext: str, q: str) -> None:
    """Warn when float data on another scale than [0, 1] (a float TIFF of counts, a
    restoration gone wild) would be written mostly white: integer outputs hold [0, 1].

    Ringing overshoot (a few values a little above 1) stays quiet: only more than
    :data:`SATURATION_SHARE` of the values above 1.5 count.
    """
    share = float(np.count_nonzero(arr > 1.5)) / arr.size
    if share <= SATURATION_SHARE:
        return
    _warn(
        f"{q}: {share:.1%} of the values are above 1.5 (up to {float(arr.max()):.4g}) and "
        f"are written as the maximum: a {out_dtype.name} {_FORMAT_NAMES[ext]} holds values "
        "in [0, 1]; divide the image by its peak first, or write a float .tif or .npy to "
        "keep them"
    )


def _output_dtype(
    ext: str, arr: np.ndarray, info: ImageInfo | None, dtype: Any, q: str
) -> np.dtype:
    allowed = _WRITE_DTYPES[ext]
    fmt = _FORMAT_NAMES[ext]
    if dtype is not None:
        try:
            dt = np.dtype(dtype)
        except Exception:  # TypeError, ValueError, even SyntaxError for some strings
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
        top = _packed_top(ext, info, data.dtype)
        if top is not None:  # packed as the source was (12 bits per sample)
            kwargs["bitspersample"] = int(top).bit_length()
        if n_channels:
            kwargs["planarconfig"] = "contig"
            if n_channels in (2, 4):  # the last channel: alpha, unless the input said not
                alpha = info is None or info.has_alpha
                kwargs["extrasamples"] = ("unassalpha" if alpha else "unspecified",)

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
    if n_channels in (2, 4) and info is not None and not info.has_alpha:
        # e.g. two fluorescence channels: PNG would make the last one transparency
        raise ImageWriteError(
            f"cannot write {q}: {fmt} cannot store {n_channels} data channels (no alpha); "
            "use .tif or .npy"
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
