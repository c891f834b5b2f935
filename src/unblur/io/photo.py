"""Photographers' files: HEIC/HEIF (phones), AVIF, and camera RAW files.

* HEIC/HEIF: decoded by libheif through pillow-heif (``pip install 'unblur[heif]'``), which
  plugs into Pillow, so they are read as the other Pillow formats are (8 bits per sample, the
  EXIF orientation applied, the ICC profile and EXIF kept).
* AVIF: Pillow's own plugin (Pillow 11.3 or later ships libavif in its wheels; the ``heif``
  extra asks for it).
* RAW (``.dng``, ``.cr2``, ``.cr3``, ``.nef``, ``.arw``, ``.raf``, ``.orf``, ``.rw2``, ...):
  decoded by LibRaw through rawpy (``pip install 'unblur[raw]'``): demosaiced (AHD) with the
  camera's white balance into linear sRGB primaries at 16 bits, with no gamma curve and no
  automatic brightening, and the white level mapped to 1. Blur is a linear operation on light,
  so a RAW photograph is restored in linear light; :class:`~unblur.io.ImageInfo` marks it
  ``linear`` and :func:`~unblur.io.write_image` keeps it linear (16-bit) in TIFF, the default
  output of a RAW input, or encodes it with the sRGB curve for PNG, JPEG and BMP.

References
----------
LibRaw, https://www.libraw.org (a library for reading RAW files from digital cameras).
Adobe, "Digital Negative (DNG) Specification", version 1.4.0.0, 2012.
IEC 61966-2-1:1999, "Default RGB colour space - sRGB" (the transfer curve).
"""

from __future__ import annotations

import pathlib
from types import ModuleType

import numpy as np

from ..errors import ImageReadError
from ._common import AVIF_EXTENSIONS, HEIF_EXTENSIONS, RAW_EXTENSIONS, ImageHeader, _Decoded
from .limits import _check_decoding, _check_pixels

__all__ = ["AVIF_EXTENSIONS", "HEIF_EXTENSIONS", "RAW_EXTENSIONS", "read_raw", "srgb_encode"]

_heif_registered = False


def _extra(module: str, q: str, what: str, extra: str) -> ModuleType:
    """Import ``module`` or say, in one line, which pip install brings it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImageReadError(
            f"cannot read {q}: {what} files need {module.replace('_', '-')}, which is not "
            f"installed: pip install 'unblur[{extra}]'"
        ) from None


def enable_heif(q: str) -> None:
    """Let Pillow open HEIC/HEIF files (pillow-heif's opener), once per process."""
    global _heif_registered
    if not _heif_registered:
        _extra("pillow_heif", q, "HEIC/HEIF", "heif").register_heif_opener()
        _heif_registered = True


def check_avif(q: str) -> None:
    """Pillow can decode AVIF (11.3 or later, built with libavif), or one clear line."""
    from PIL import features

    try:
        available = bool(features.check("avif"))
    except (ValueError, KeyError):  # a Pillow older than its AVIF plugin
        available = False
    if not available:
        raise ImageReadError(
            f"cannot read {q}: AVIF files need Pillow 11.3 or later with AVIF support: "
            "pip install 'unblur[heif]'"
        )


def read_raw(p: pathlib.Path, q: str, header_only: bool) -> _Decoded | ImageHeader:
    """A camera RAW file: its size from the header, or its pixels demosaiced to linear
    16-bit sRGB (see the module docstring)."""
    rawpy = _extra("rawpy", q, "RAW", "raw")
    try:
        return _read_raw(rawpy, p, q, header_only)
    except rawpy.LibRawError as exc:
        detail = exc.args[0] if exc.args else type(exc).__name__
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        raise ImageReadError(
            f"cannot read {q}: not a RAW file LibRaw can decode ({' '.join(str(detail).split())})"
        ) from None


def _read_raw(rawpy, p: pathlib.Path, q: str, header_only: bool) -> _Decoded | ImageHeader:
    with rawpy.RawPy() as raw:
        raw.open_file(str(p))
        sizes = raw.sizes
        height, width = int(sizes.height), int(sizes.width)
        if sizes.flip in (5, 6):  # rotated by 90 degrees on output
            height, width = width, height
        _check_pixels(q, (height, width))
        # LibRaw holds the raw mosaic and a 4-channel 16-bit image; the output is 3 channels
        _check_decoding(q, height * width * 3, np.uint16, copies=5)
        if header_only:
            return ImageHeader((height, width, 3), np.dtype(np.uint16), -1, 1)
        raw.unpack()
        rgb = raw.postprocess(
            gamma=(1, 1),  # linear: no transfer curve
            no_auto_bright=True,  # the white level maps to 65535, nothing rescaled per image
            adjust_maximum_thr=0.0,  # nor the maximum guessed from the data
            output_bps=16,
            use_camera_wb=True,
            output_color=rawpy.ColorSpace.sRGB,
        )
    return _Decoded(np.ascontiguousarray(rgb), channels=True, n_pages=1)


def srgb_encode(x: np.ndarray) -> np.ndarray:
    """Linear light in [0, 1] -> the sRGB-encoded values (IEC 61966-2-1), clipped to [0, 1].

    .. math:: C = 12.92\\,L \\;(L \\le 0.0031308), \\qquad C = 1.055\\,L^{1/2.4} - 0.055.
    """
    lin = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    out = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * np.power(lin, 1 / 2.4) - 0.055)
    return out.astype(np.result_type(x, np.float32), copy=False)
