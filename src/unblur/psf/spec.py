"""PSF spec strings for the command line: ``motion:length=21,angle=30`` or a file path."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..errors import InvalidParameterError, InvalidPSFError
from .files import from_file
from .microscope import confocal, widefield
from .models import airy, disk, gaussian, moffat, motion

__all__ = ["MODELS", "parse_spec"]

MODELS = {
    "gaussian": gaussian,
    "motion": motion,
    "disk": disk,
    "airy": airy,
    "moffat": moffat,
    "widefield": widefield,
    "confocal": confocal,
}
#: models that need the voxel size (from the spec, or from the image's metadata)
_NEEDS_VOXEL = frozenset({"widefield", "confocal"})
#: keys taking ``AxB[xC]`` per-axis values, and keys taking text
_PER_AXIS = frozenset({"sigma", "size", "shape", "voxel_size"})
_TEXT = frozenset({"model"})
#: keys taking whole numbers (``ndim=3`` is read as 3.0 first)
_WHOLE = frozenset({"ndim", "oversample", "rings"})

_SPEC_HELP = (
    "expected MODEL:key=value,... (gaussian:sigma=2.5, gaussian:sigma=1.5x3,angle=30, "
    "motion:length=21,angle=30, disk:radius=4, airy:radius=2, moffat:fwhm=4,beta=2.5, "
    "widefield:na=1.4,wavelength=0.52,refractive_index=1.518,voxel_size=0.2x0.065) "
    "or the path of a PSF image/.npy file"
)


def _spec_value(key: str, text: str) -> float | str | tuple[float, ...]:
    if key in _TEXT:
        return text
    try:
        if "x" in text and key in _PER_AXIS:
            return tuple(float(part) for part in text.split("x"))
        return float(text)
    except ValueError:
        raise InvalidPSFError(f"PSF spec: {key}={text!r} is not a number") from None


#: A ``size`` that keeps less than this share of the model's light is warned about.
_MIN_KEPT = 0.5


def _warn_crop(text: str, k: np.ndarray, model, kwargs: dict) -> None:
    """Warn when a spec's ``size`` crops away most of the PSF (``disk:radius=3,size=1`` is a
    single point, not a disk): less than :data:`_MIN_KEPT` of the model's own-size PSF inside
    the requested box. Not refused: a blur made with such a cropped kernel is restored with
    the same spec."""
    full = model(**kwargs)
    if full.ndim != k.ndim or all(f <= n for f, n in zip(full.shape, k.shape, strict=True)):
        return
    box = tuple(
        slice(max(0, (f - n) // 2), max(0, (f - n) // 2) + min(f, n))
        for f, n in zip(full.shape, k.shape, strict=True)
    )
    kept = float(full[box].sum() / full.sum())
    if kept < _MIN_KEPT:
        sides = "x".join(str(n) for n in full.shape)
        warnings.warn(
            f"PSF spec {text!r}: size crops the PSF to {kept:.0%} of its light (its own size "
            f"is {sides}); give a larger size or leave it out, unless the blur was made with "
            "this cropped kernel",
            UserWarning,
            stacklevel=4,
        )


def parse_spec(spec: str, *, voxel_size: tuple[float, ...] | None = None) -> np.ndarray:
    """Build a PSF from a spec string such as ``"motion:length=21,angle=30"`` or a file path.

    Parameters
    ----------
    spec : str
        ``MODEL:key=value,...`` with MODEL one of gaussian, motion, disk, airy, moffat,
        widefield, confocal and the keys of that function (``sigma``, ``size``, ``shape`` and
        ``voxel_size`` accept ``AxB[xC]`` for per-axis values), or a path to a PSF file read
        with :func:`from_file`.
    voxel_size : tuple of float, optional
        For ``widefield`` and ``confocal`` specs without ``voxel_size``: the image's own,
        ``(dz, dy, dx)`` (e.g. :attr:`unblur.io.ImageInfo.voxel_size` of a calibrated TIFF
        stack), in the unit of the wavelength.

    Returns
    -------
    numpy.ndarray
        The PSF.

    Raises
    ------
    InvalidPSFError
        For an unknown model, a bad key or value, or a path that does not exist.
    """
    text = str(spec).strip()
    model, sep, args = text.partition(":")
    model = model.strip().lower()
    if model in MODELS:
        kwargs: dict[str, object] = {}
        for item in filter(None, (a.strip() for a in args.split(","))) if sep else []:
            key, eq, value = item.partition("=")
            if not eq:
                raise InvalidPSFError(f"PSF spec {text!r}: {item!r} is not key=value; {_SPEC_HELP}")
            key = key.strip().lower()
            if key in kwargs:  # the last would win without a word
                raise InvalidPSFError(f"PSF spec {text!r}: {key!r} is given twice")
            val = _spec_value(key, value.strip())
            if key in ("size", "shape"):
                if not all(float(v).is_integer() for v in np.atleast_1d(val)):
                    raise InvalidPSFError(
                        f"PSF spec {text!r}: {key}={value.strip()!r} must be whole numbers"
                    )
                val = tuple(int(v) for v in np.atleast_1d(val))
                val = val[0] if len(val) == 1 else val
            elif key in _WHOLE and isinstance(val, float) and val.is_integer():
                val = int(val)
            kwargs[key] = val
        if model in _NEEDS_VOXEL and "voxel_size" not in kwargs:
            if voxel_size is None or len(voxel_size) != 3:
                raise InvalidPSFError(
                    f"PSF spec {text!r}: give voxel_size=DZxDXY (or DZxDYxDX, in the unit of "
                    "the wavelength); the image carries no 3-D voxel size in its metadata"
                )
            kwargs["voxel_size"] = tuple(float(v) for v in voxel_size)
        try:
            k = MODELS[model](**kwargs)
            if "size" in kwargs:
                _warn_crop(text, k, MODELS[model], {n: v for n, v in kwargs.items() if n != "size"})
            return k
        except TypeError as exc:
            raise InvalidPSFError(f"PSF spec {text!r}: {exc}; {_SPEC_HELP}") from None
        except InvalidParameterError as exc:
            raise InvalidPSFError(f"PSF spec {text!r}: {exc}") from None
    try:
        is_file = Path(text).is_file()
    except (OSError, ValueError):  # e.g. a name too long for the file system
        is_file = False
    if is_file:
        return from_file(text)
    raise InvalidPSFError(f"unknown PSF {text!r}: {_SPEC_HELP}")
