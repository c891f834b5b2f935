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
* Photographs (read only, :mod:`.photo`): HEIC/HEIF through pillow-heif
  (``pip install 'unblur[heif]'``), AVIF through Pillow, and camera RAW files (``.dng``,
  ``.cr2``, ``.nef``, ``.arw``, ...) through rawpy (``pip install 'unblur[raw]'``), demosaiced
  to linear 16-bit RGB; written back as linear 16-bit TIFF, or sRGB-encoded PNG/JPEG.

Integer data map to [0, 1] by dividing by the maximum of the stored type (``v / 255`` for
8 bits, ``v / 65535`` for 16 bits); on output [0, 1] maps back with clipping and correct
rounding (``np.rint``), so integer data round-trip exactly.

Layout: :mod:`.readers` (:func:`read_image`, PNG / Pillow / ``.npy``), :mod:`.tiff`,
:mod:`.metadata` (ICC profiles, EXIF), :mod:`.convert` (:func:`to_float`,
:func:`from_float`), :mod:`.writers` (:func:`write_image`), :mod:`.atomic` (atomic files,
temporary names, signals), :mod:`.outputs` (the output-safety rule, :class:`OutputSet`),
:mod:`.limits` (:data:`MAX_PIXELS`) and :mod:`.photo` (HEIC, AVIF, RAW); every public name
is importable from ``unblur.io``.
"""

from __future__ import annotations

from ._common import (
    JPEG_QUALITY,
    SUPPORTED_READ_EXTENSIONS,
    SUPPORTED_WRITE_EXTENSIONS,
    ImageHeader,
    ImageInfo,
)
from .atomic import atomic_write, sweep_temp_files, temp_files_removed_on_signals
from .convert import from_float, to_float
from .limits import MAX_PIXELS
from .outputs import OutputSet, check_outputs, same_file
from .readers import read_header, read_image
from .writers import check_output_format, encode_image, write_image

__all__ = [
    "JPEG_QUALITY",
    "MAX_PIXELS",
    "SUPPORTED_READ_EXTENSIONS",
    "SUPPORTED_WRITE_EXTENSIONS",
    "ImageHeader",
    "ImageInfo",
    "OutputSet",
    "atomic_write",
    "check_output_format",
    "check_outputs",
    "encode_image",
    "from_float",
    "read_header",
    "read_image",
    "same_file",
    "sweep_temp_files",
    "temp_files_removed_on_signals",
    "to_float",
    "write_image",
]
