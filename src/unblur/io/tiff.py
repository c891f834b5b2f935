"""TIFF files (multi-page, OME and ImageJ included) through tifffile and imagecodecs."""

from __future__ import annotations

import math
import pathlib
from typing import Any
from xml.etree import ElementTree

import numpy as np
import tifffile

from ..errors import ImageReadError, InvalidImageError
from ._common import ImageHeader, _Decoded, _detail, _quiet_codec_log
from .limits import _check_decoding, _check_pixels
from .metadata import _upright, _upright_shape

# TIFF compressions whose YCbCr data tifffile converts to RGB (OJPEG, JPEG, ALT_JPEG, JPEG_LOSSY)
_TIFF_JPEG = {6, 7, 33007, 34892}


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
            # packed samples (12, 14, 24 bits): a lower bound, rows may be padded to bytes
            needed = math.prod(key.shape) * int(key.bitspersample) // 8
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


def _sample_axis(axes: str) -> str | None:
    """The axis read as channels: samples of a pixel (S), else the channels of a microscope
    image (C, OME and ImageJ), which must never be mixed with its planes (Z) or frames."""
    return "S" if "S" in axes else "C" if "C" in axes else None


def _layout(axes: str, shape: tuple[int, ...]) -> tuple[list[int], tuple[int, ...], bool, int]:
    """How a series of ``axes`` and ``shape`` maps to read_image's canonical layout
    ``(pages, Y, X[, S])``: the transposition order, the final shape, whether the last axis
    holds channels, and the page count.

    A C axis (without S) holds channels: a 2-channel Z stack (ZCYX) becomes ``(Z, Y, X, 2)``,
    restored channel by channel with a 3-D PSF, not 2 x Z interleaved planes."""
    sample = _sample_axis(axes)
    order = [i for i, a in enumerate(axes) if a not in "YX" and a != sample]
    if "Y" in axes and "X" in axes:
        order += [axes.index("Y"), axes.index("X")]
    else:  # unknown axis names: assume the last two non-sample axes are rows and columns
        order = [i for i, a in enumerate(axes) if a != sample]
    if sample is not None:
        order.append(axes.index(sample))
    moved = tuple(shape[i] for i in order)
    channels = sample is not None and moved[-1] > 1
    if sample is not None and not channels:
        moved = moved[:-1]
    spatial = moved[-3:-1] if channels else moved[-2:]
    tail = moved[-1:] if channels else ()
    n_pages = math.prod(moved[: len(moved) - len(spatial) - len(tail)])
    final = (n_pages, *spatial, *tail) if n_pages > 1 else (*spatial, *tail)
    return order, tuple(int(n) for n in final), channels, int(n_pages)


def _check_series(q: str, series, *, max_pixels: bool = True) -> None:
    """The checks of a TIFF series made from its header: size (against MAX_PIXELS unless
    ``max_pixels`` is False: chunked work reads what does not fit), data listed, colour
    model, sample type."""
    axes, shape, page = series.axes, tuple(series.shape), series.keyframe
    if max_pixels and "S" in axes:
        _check_pixels(q, shape[: axes.index("S")] + shape[axes.index("S") + 1 :])
    elif max_pixels:
        _check_pixels(q, shape)
    elif math.prod(shape) == 0:
        raise ImageReadError(f"cannot read {q}: the image has zero size (shape {shape})")
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
    if np.dtype(series.dtype).kind not in "biuf":
        raise InvalidImageError(
            f"cannot read {q}: TIFF samples of type {np.dtype(series.dtype)} are not supported"
        )


def _image_series(q: str, tif: tifffile.TiffFile) -> list[Any]:
    """The series of ``tif`` that make the image: the first, or every page of a file whose
    pages were written one by one as same-sized 2-D images (tifffile and many instruments
    then list each page as its own series), read as a stack of pages.

    Reduced-resolution pages (thumbnails, pyramid levels) are left out. A file holding
    full-resolution images of different sizes or types is refused rather than read in
    part: reading only the first would drop the others without a word.
    """
    full = [s for s in tif.series if not _is_reduced(s)] or list(tif.series[:1])
    first = full[0]
    if len(full) == 1:
        return full
    same = all(
        s.shape == first.shape and s.dtype == first.dtype and s.axes == first.axes for s in full
    )
    if same and set(first.axes) <= set("YXS") and not tif.is_ome:
        return full
    if same:  # OME series (positions, wells, tiles) or stacks written one by one
        size = " x ".join(str(n) for n in first.shape) + f" {first.dtype}"
        kind = " (OME series: positions, wells or tiles)" if tif.is_ome else ""
        raise ImageReadError(
            f"cannot read {q}: it holds {len(full)} separate images of {size}{kind}; unblur "
            "reads one image or one stack: save each image to its own file"
        )
    sizes = ", ".join(
        dict.fromkeys(" x ".join(str(n) for n in s.shape) + f" {s.dtype}" for s in full)
    )
    raise ImageReadError(
        f"cannot read {q}: it holds {len(full)} images of different sizes or types ({sizes}); "
        "unblur reads one image or a stack of same-sized pages: save each image to its own file"
    )


def _is_reduced(series: Any) -> bool:
    """Whether a series is a reduced-resolution copy (a thumbnail or a pyramid level)."""
    page = series.keyframe
    return page is not None and bool(int(getattr(page, "subfiletype", 0)) & 1)


def _read_tiff(p: pathlib.Path, q: str, header_only: bool = False) -> _Decoded | ImageHeader:
    with _quiet_codec_log("tifffile"), tifffile.TiffFile(p) as tif:
        if not tif.series:
            raise ImageReadError(
                f"cannot read {q}: not a valid TIFF image (truncated or corrupt: no readable image)"
            )
        group = _image_series(q, tif)
        series = group[0]
        axes = series.axes
        shape = tuple(series.shape)
        page = series.keyframe
        if len(group) > 1:  # pages written one by one: a stack along a new first axis
            axes, shape = "I" + axes, (len(group), *shape)
            _check_pixels(q, shape[:-1] if "S" in axes else shape)
        for each in group:
            _check_series(q, each)
        photometric = int(page.photometric)
        order, final, channels, n_pages = _layout(axes, shape)
        dtype = np.dtype(series.dtype)
        palette = photometric == tifffile.PHOTOMETRIC.PALETTE and not channels
        if palette:  # indices become 16-bit RGB
            final, dtype = (*final, 3), np.dtype(np.uint16)
        _check_decoding(q, math.prod(final), dtype)
        orientation = _tiff_orientation(page)
        extra = tuple(int(e) for e in (page.extrasamples or ()))
        # alpha only where the file says so: an unspecified extra sample is data (a second
        # fluorescence channel), restored like the others; Pillow reads such RGB as RGBX
        has_alpha = bool(extra) and extra[-1] in (1, 2)  # associated or unassociated alpha
        if header_only:
            final = _upright_shape(final, orientation, channels or palette)
            alpha = has_alpha if channels and not palette else None
            return ImageHeader(final, dtype, -1 if channels or palette else None, n_pages, alpha)
        bits = int(page.bitspersample)
        try:
            arr = series.asarray() if len(group) == 1 else np.stack([s.asarray() for s in group])
        except (ValueError, NotImplementedError) as exc:  # e.g. an unknown compression
            if not any(w in str(exc) for w in ("not supported", "not a known", "imagecodecs")):
                raise
            raise ImageReadError(
                f"cannot read {q}: unsupported TIFF image ({_detail(exc)})"
            ) from exc
        colormap = page.colormap if palette else None
        (dz, dy, dx), unit = _tiff_voxel_size(tif, page)

    if arr.shape != shape:
        arr = arr.reshape(shape)
    arr = np.transpose(arr, order)
    if _sample_axis(axes) is not None and not channels:
        arr = arr[..., 0]
    arr = arr.reshape(final[:-1] if palette else final)

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
    arr = _upright(arr, orientation, channels)  # as viewers show it
    if orientation in (5, 6, 7, 8):
        dy, dx = dx, dy
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
        has_alpha=has_alpha if channels and colormap is None else None,
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


def _tiff_orientation(page) -> int:
    """The Orientation tag (274) of a TIFF page: 1 (rows top to bottom, columns left to
    right) where absent or not one of the eight TIFF 6.0 values."""
    tag = page.tags.get(274)
    try:
        value = int(tag.value) if tag is not None else 1
    except (TypeError, ValueError):
        return 1
    return value if 1 <= value <= 8 else 1
