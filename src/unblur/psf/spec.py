"""PSF spec strings for the command line: ``motion:length=21,angle=30`` or a file path."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InvalidParameterError, InvalidPSFError
from .files import from_file
from .models import airy, disk, gaussian, moffat, motion

__all__ = ["MODELS", "parse_spec"]

MODELS = {
    "gaussian": gaussian,
    "motion": motion,
    "disk": disk,
    "airy": airy,
    "moffat": moffat,
}

_SPEC_HELP = (
    "expected MODEL:key=value,... (gaussian:sigma=2.5, gaussian:sigma=1.5x3,angle=30, "
    "motion:length=21,angle=30, disk:radius=4, airy:radius=2, moffat:fwhm=4,beta=2.5) "
    "or the path of a PSF image/.npy file"
)


def _spec_value(key: str, text: str) -> float | tuple[float, ...]:
    try:
        if "x" in text and key in {"sigma", "size"}:
            return tuple(float(part) for part in text.split("x"))
        return float(text)
    except ValueError:
        raise InvalidPSFError(f"PSF spec: {key}={text!r} is not a number") from None


def parse_spec(spec: str) -> np.ndarray:
    """Build a PSF from a spec string such as ``"motion:length=21,angle=30"`` or a file path.

    Parameters
    ----------
    spec : str
        ``MODEL:key=value,...`` with MODEL one of gaussian, motion, disk, airy, moffat and the
        keys of that function (``sigma`` accepts ``AxB`` for per-axis values), or a path to a
        PSF file read with :func:`from_file`.

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
            val = _spec_value(key, value.strip())
            if key == "size":
                if not all(float(v).is_integer() for v in np.atleast_1d(val)):
                    raise InvalidPSFError(
                        f"PSF spec {text!r}: size={value.strip()!r} must be whole numbers"
                    )
                val = tuple(int(v) for v in np.atleast_1d(val))
                val = val[0] if len(val) == 1 else val
            kwargs[key] = val
        try:
            return MODELS[model](**kwargs)
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
