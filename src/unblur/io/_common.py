"""What the readers and writers share: the formats, :class:`ImageInfo`, one-line messages."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..errors import UnblurError

#: Camera RAW file extensions, read through rawpy (``unblur[raw]``; LibRaw reads many more).
RAW_EXTENSIONS: tuple[str, ...] = (
    ".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".raf", ".orf",
    ".rw2", ".pef", ".srw", ".3fr", ".iiq", ".erf", ".kdc", ".mrw", ".x3f",
)  # fmt: skip
#: HEIC/HEIF file extensions, read through Pillow with pillow-heif (``unblur[heif]``).
HEIF_EXTENSIONS: tuple[str, ...] = (".heic", ".heif")
#: AVIF file extensions, read through Pillow's own plugin (Pillow 11.3 or later).
AVIF_EXTENSIONS: tuple[str, ...] = (".avif",)

#: File extensions :func:`~unblur.io.read_image` understands (compared case-insensitively).
SUPPORTED_READ_EXTENSIONS: tuple[str, ...] = (
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".gif",
    ".tif",
    ".tiff",
    ".npy",
    *HEIF_EXTENSIONS,
    *AVIF_EXTENSIONS,
    *RAW_EXTENSIONS,
)

#: File extensions :func:`~unblur.io.write_image` can produce (compared case-insensitively).
SUPPORTED_WRITE_EXTENSIONS: tuple[str, ...] = (
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".tif",
    ".tiff",
    ".npy",
)

#: JPEG quality used by :func:`~unblur.io.write_image`.
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
    **dict.fromkeys(HEIF_EXTENSIONS, "HEIF"),
    **dict.fromkeys(AVIF_EXTENSIONS, "AVIF"),
    **dict.fromkeys(RAW_EXTENSIONS, "RAW"),
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
    linear : bool
        True for camera RAW files: the data are linear light (demosaiced, no transfer curve).
        :func:`write_image` keeps them linear in TIFF and ``.npy`` and encodes them with the
        sRGB curve for PNG, JPEG and BMP, which are displayed as sRGB.
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
    linear: bool = False


@dataclass(frozen=True)
class ImageHeader:
    """What an image file declares, read without decoding its pixels (:func:`read_header`).

    Attributes
    ----------
    shape : tuple of int
        Shape of the array :func:`read_image` would return (channels last, pages first).
    dtype : numpy.dtype
        The stored data type (before the conversion to float).
    channel_axis : int or None
        ``-1`` for colour images, else None.
    n_pages : int
        Pages of a stack (1 for a single image).
    has_alpha : bool or None
        Whether the last channel is alpha, where the file says (TIFF extra samples); None:
        2 or 4 channels are taken as grey or colour + alpha.
    """

    shape: tuple[int, ...]
    dtype: np.dtype
    channel_axis: int | None
    n_pages: int
    has_alpha: bool | None = None

    @property
    def n_pixels(self) -> int:
        """Pixels (voxels) per channel."""
        n = 1
        for s in self.shape[:-1] if self.channel_axis is not None else self.shape:
            n *= int(s)
        return n

    @property
    def n_channels(self) -> int:
        return int(self.shape[-1]) if self.channel_axis is not None else 1


@dataclass
class _Decoded:
    """What a format reader hands back: native data plus their layout."""

    array: np.ndarray
    channels: bool  # last axis holds channels
    n_pages: int  # > 1: first axis holds pages
    scale_max: float | None = None  # integer value mapped to 1 (None: the dtype's maximum)
    voxel_size: tuple[float, ...] | None = None  # physical (dz,) dy, dx of the returned array
    voxel_unit: str | None = None
    has_alpha: bool | None = None  # the last channel is alpha (None: 2 or 4 channels are)


# ---------------------------------------------------------------------------------------------
# small helpers


def _as_path(path, verb: str = "read"):
    """``path`` (str, bytes or path-like) as a :class:`pathlib.Path`, or a clear error
    (``"cannot <verb> ..."``)."""
    import pathlib

    from ..errors import ImageReadError, ImageWriteError, InvalidParameterError

    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str | os.PathLike):
        raise InvalidParameterError(f"a file path must be a str or path-like, got {path!r}")
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if "\x00" in text:
        error = ImageReadError if verb == "read" else ImageWriteError
        raise error(f"cannot {verb} {_q(text)}: a path cannot contain a NUL character")
    if not text:
        error = ImageReadError if verb == "read" else ImageWriteError
        raise error(f"cannot {verb} '': the path is empty")
    return pathlib.Path(text)


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


def _native(arr: np.ndarray) -> np.ndarray:
    return arr if arr.dtype.isnative else arr.astype(arr.dtype.newbyteorder("="))


def _check_numeric(arr: np.ndarray, what: str, error: type[UnblurError]) -> None:
    kind = arr.dtype.kind
    if kind == "c":
        raise error(f"{what}: complex data ({arr.dtype}) are not supported; pass real values")
    if kind not in "biuf":
        raise error(f"{what}: non-numeric data of dtype {arr.dtype} are not supported")


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
