"""Input checks shared by every module: one wording for every bad value, one float conversion.

This is the ground floor of the package: it imports nothing from unblur but :mod:`.errors`,
so every other module (I/O, PSF models, operators, solvers, front ends) may use it.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from typing import Any

import numpy as np

from .errors import (
    InvalidImageError,
    InvalidParameterError,
    InvalidPSFError,
    UnblurError,
    ValueRangeWarning,
)

__all__ = [
    "COLOR_MODES",
    "ENCODINGS",
    "FLOAT_WARN_ABOVE",
    "ValueRangeWarning",
    "as_array",
    "as_float_image",
    "check_axis",
    "check_bool",
    "check_callable",
    "check_channel_axis",
    "check_color",
    "check_encoding",
    "check_int",
    "check_number",
    "check_psf",
    "check_text",
    "float_dtype",
    "normalize_psf",
    "scale_to_unit",
    "to_float",
]

#: the values of ``color`` (``None`` as well: every channel, no colour meaning)
COLOR_MODES: tuple[str, ...] = ("channels", "luminance")
#: the values of ``encoding`` (``None`` as well: the values as given, as ``"linear"``, and the
#: blind estimator's own default for ``psf="auto"``)
ENCODINGS: tuple[str, ...] = ("linear", "srgb")
#: a float image whose maximum exceeds this is warned about: it is not on the [0, 1] scale
FLOAT_WARN_ABOVE = 1.5
#: integer data whose largest magnitude is below this share of the dtype's maximum are warned
#: about: after the division by the maximum they are (nearly) black
INT_WARN_SHARE = 1 / 256


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _warn(message: str) -> None:
    """A :class:`ValueRangeWarning` attributed to the first caller outside unblur.

    Nested library calls that check the same image then report the same place and message,
    which Python's default warning filter shows once.
    """
    level, frame = 2, sys._getframe(1)  # stacklevel 2 is the frame that called _warn
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
        _PACKAGE_DIR + os.sep
    ):
        level += 1
        frame = frame.f_back
    warnings.warn(message, ValueRangeWarning, stacklevel=level)


# ---------------------------------------------------------------------------------------------
# scalar parameters
# ---------------------------------------------------------------------------------------------
def check_number(name: str, value, *, allow_zero: bool = False) -> float:
    """``value`` as a finite float that is > 0 (or >= 0 with ``allow_zero``).

    Raises
    ------
    InvalidParameterError
        For a bool, a non-number, NaN, infinity, a negative value or (without ``allow_zero``)
        zero, naming the parameter.
    """
    if isinstance(value, bool):
        raise InvalidParameterError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidParameterError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise InvalidParameterError(f"{name} must be finite and {bound}, got {number}")
    return number


def check_int(name: str, value, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum`` (bools and floats are refused, even 3.0).

    Raises
    ------
    InvalidParameterError
        "<name> must be an integer >= <minimum>, got <value>".
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise InvalidParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_bool(name: str, value) -> bool:
    """``value`` as a bool: ``True``/``False`` (NumPy's too), nothing else.

    Raises
    ------
    InvalidParameterError
        "<name> must be True or False, got <value>" for ``"yes"``, 1, an array, ...
    """
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise InvalidParameterError(f"{name} must be True or False, got {_short(value)}")


def check_text(name: str, value, *, allow_none: bool = False) -> str | None:
    """``value`` as a str (or None with ``allow_none``).

    Raises
    ------
    InvalidParameterError
        "<name> must be a name (a str), got <value>".
    """
    if isinstance(value, str) or (allow_none and value is None):
        return value
    raise InvalidParameterError(f"{name} must be a name (a str), got {_short(value)}")


def check_callable(name: str, value):
    """``value`` if it is callable or None.

    Raises
    ------
    InvalidParameterError
        "<name> must be a function (callable), got <value>".
    """
    if value is None or callable(value):
        return value
    raise InvalidParameterError(f"{name} must be a function (callable), got {_short(value)}")


def _short(value) -> str:
    """``repr(value)`` cut to one short line, for messages."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = " ".join(repr(value).split())
    return text if len(text) <= 60 else text[:57] + "..."


def check_axis(name: str, axis, ndim: int) -> int:
    """``axis`` as a non-negative index into ``ndim`` dimensions (negative counts from the end).

    Raises
    ------
    InvalidParameterError
        For a bool, a non-integer (``1.5``, ``"1"``) or an axis out of range.
    """
    if isinstance(axis, bool) or not isinstance(axis, int | np.integer):
        raise InvalidParameterError(f"{name} must be an integer, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise InvalidParameterError(f"{name} {int(axis)} is out of range for a {ndim}-D image")
    return int(axis) % ndim


def check_channel_axis(ndim: int, channel_axis: int | None) -> int | None:
    """Normalise ``channel_axis`` of a colour image to a non-negative axis index (or None).

    Raises
    ------
    InvalidParameterError
        For a non-integer or out-of-range axis, or an image of fewer than 3 dimensions.
    """
    if channel_axis is None:
        return None
    axis = check_axis("channel_axis", channel_axis, ndim)
    if ndim < 3:
        raise InvalidParameterError(
            "a colour image needs at least 3 dimensions (rows, cols, channels)"
        )
    return axis


def check_color(color: str | None) -> str | None:
    """Validate ``color``: one of :data:`COLOR_MODES` or None.

    Raises
    ------
    InvalidParameterError
        Any other value.
    """
    return _optional_choice("color", color, COLOR_MODES, ", ".join(map(repr, COLOR_MODES)))


def check_encoding(encoding: Any) -> str | None:
    """Validate ``encoding``: one of :data:`ENCODINGS` or None.

    Raises
    ------
    InvalidParameterError
        Any other value.
    """
    return _optional_choice("encoding", encoding, ENCODINGS, ", ".join(ENCODINGS))


def _optional_choice(name: str, value: Any, choices: tuple[str, ...], listed: str) -> str | None:
    """``value`` if it is None or one of ``choices``; else the one-line error naming them."""
    if value is None or (isinstance(value, str) and value in choices):
        return value
    raise InvalidParameterError(f"unknown {name} {value!r}; choose one of {listed} or None")


# ---------------------------------------------------------------------------------------------
# arrays
# ---------------------------------------------------------------------------------------------
def as_array(value, *, name: str = "image", error: type[UnblurError] = InvalidImageError):
    """``np.asarray(value)``, with a clear error for what NumPy cannot make an array of (ragged
    nested lists, for example) or only as an array of Python objects.

    Raises
    ------
    error
        (:class:`~unblur.InvalidImageError` by default) naming ``name``.
    """
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError, OverflowError, RecursionError):
        raise error(
            f"{name} must be an array of numbers (not ragged), got {_short(value)}"
        ) from None
    if arr.dtype == object:
        raise error(f"{name} must be an array of numbers, got {_short(value)}")
    return arr


def float_dtype(dtype: np.dtype) -> np.dtype:
    """Compute dtype for an input dtype: float64 stays float64, everything else float32."""
    return np.dtype(np.float64) if np.dtype(dtype) == np.float64 else np.dtype(np.float32)


def scale_to_unit(arr: np.ndarray, maxval: float | None = None) -> np.ndarray:
    """Scale integer or boolean data to float32 on the [0, 1] scale.

    Parameters
    ----------
    arr : numpy.ndarray
        Integer or boolean data.
    maxval : float, optional
        The integer value that maps to 1.0; by default the dtype's maximum (255 for uint8,
        65535 for uint16, 32767 for int16, ...). Not used for booleans.

    Returns
    -------
    numpy.ndarray
        float32 ``arr / maxval``, correctly rounded (8- and 16-bit data are divided in float32,
        which holds them exactly; wider integers in float64). Negative values of signed types
        stay negative. Booleans become 0.0 / 1.0.
    """
    if arr.dtype.kind == "b":
        return arr.astype(np.float32)
    if maxval is None:
        maxval = np.iinfo(arr.dtype).max
    if arr.dtype.itemsize <= 2:
        out = arr.astype(np.float32)
        out /= np.float32(maxval)
        return out
    return (arr / float(maxval)).astype(np.float32)


def to_float(
    image, *, name: str = "image", error: type[UnblurError] = InvalidImageError
) -> np.ndarray:
    """The one conversion of image data to floating point on the [0, 1] scale.

    Integer data become float32 divided by the dtype's maximum (``uint8 / 255``,
    ``uint16 / 65535``, ``int16 / 32767``, ...), as scikit-image's ``img_as_float`` does, and
    booleans 0.0 / 1.0 (:func:`scale_to_unit`); float32 and float64 are returned as they are (no
    copy); float16 becomes float32 and longer floats float64. Byte-swapped data are brought to
    the native byte order. Float values are not checked (see :func:`as_float_image`).

    Warns
    -----
    ValueRangeWarning
        Integer data wider than 8 bits whose largest magnitude is below 1/256 of the dtype's
        maximum (``int64`` holding 0-255 becomes values below 3e-17): the warning says how to
        convert them.

    Raises
    ------
    error
        (:class:`~unblur.InvalidImageError` by default) for complex, object, structured or
        other non-numeric data, naming ``name``.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from unblur._checks import ValueRangeWarning, to_float
    >>> to_float(np.array([0, 255], dtype=np.uint8))
    array([0., 1.], dtype=float32)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     out = to_float(np.array([0, 255], dtype=np.int32))
    >>> caught[0].category is ValueRangeWarning, float(out.max()) < 1e-6
    (True, True)
    """
    try:
        arr = np.asarray(image)
    except (ValueError, TypeError, OverflowError, RecursionError):
        raise error(
            f"{name} must be an array of numbers (not ragged), got {_short(image)}"
        ) from None
    kind = arr.dtype.kind
    if kind == "c":
        raise error(f"{name} must be real, got complex dtype {arr.dtype}")
    if kind not in "biuf":
        raise error(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if kind != "f":
        if kind in "iu" and arr.dtype.itemsize > 1 and arr.size:
            _check_integer_range(arr, name)
        return scale_to_unit(arr)
    if arr.dtype in (np.float32, np.float64):
        return arr
    return arr.astype(np.float32 if arr.dtype.itemsize < 4 else np.float64)


def _check_integer_range(arr: np.ndarray, name: str) -> None:
    """Warn when integer data use less than :data:`INT_WARN_SHARE` of their dtype's range."""
    top = np.iinfo(arr.dtype).max
    low, high = int(arr.min()), int(arr.max())
    largest = max(abs(low), abs(high))
    if 0 < largest < top * INT_WARN_SHARE:
        _warn(
            f"{name} has dtype {arr.dtype} but its values ({low} to {high}) use less than 1/256 "
            f"of that dtype's range; it is divided by {top} (as scikit-image does) and becomes "
            f"nearly black. Convert it first: for 8-bit data, {name}.astype(np.uint8) or "
            f"{name} / 255."
        )


def as_float_image(
    image, *, name: str = "image", min_ndim: int = 1, check_range: bool = True
) -> np.ndarray:
    """``image`` as a finite float array (no copy when already float32/float64).

    The conversion is :func:`to_float`; then the dimensions, the size and the values are
    checked.

    Parameters
    ----------
    image : array_like
        Image data: integers (scaled by their dtype's maximum), booleans or floats.
    name : str, optional
        The name used in messages.
    min_ndim : int, optional
        Fewest dimensions accepted.
    check_range : bool, optional
        Warn when float data exceed :data:`FLOAT_WARN_ABOVE` (off for arrays that need not be
        images on [0, 1], such as PSFs or restorations).

    Warns
    -----
    ValueRangeWarning
        Float data above :data:`FLOAT_WARN_ABOVE` (with ``check_range``): unblur works on the
        [0, 1] scale; an image in 0-255 is restored on its own scale, where the automatic
        parameters are not tuned, and the output is not rescaled. See also :func:`to_float`.

    Raises
    ------
    InvalidImageError
        Non-numeric or complex data, fewer than ``min_ndim`` dimensions, an empty array, NaN
        or infinite values.
    """
    arr = to_float(image, name=name)  # ragged or non-numeric input fails here, clearly
    floating = np.asarray(image).dtype.kind == "f"
    if arr.ndim < min_ndim:
        raise InvalidImageError(f"{name} must have at least {min_ndim} dimensions, got {arr.ndim}")
    if arr.size == 0:
        raise InvalidImageError(f"{name} is empty (shape {arr.shape})")
    high = float(arr.max())  # NaN propagates through max and min: one pass each, no mask
    low = float(arr.min())
    if not (math.isfinite(high) and math.isfinite(low)):
        raise InvalidImageError(f"{name} contains NaN or infinite values")
    if check_range and floating and high > FLOAT_WARN_ABOVE:
        _warn(
            f"{name} has float values up to {high:.4g}, above {FLOAT_WARN_ABOVE}: unblur expects "
            f"images on the [0, 1] scale (its automatic parameters assume it) and restores "
            f"this one on its own scale. Divide it by its peak first (e.g. {name} / 255 for "
            "8-bit data)."
        )
    return arr


def normalize_psf(kernel) -> np.ndarray:
    """Return ``kernel`` as float64 divided by its sum, after checking it can be a PSF.

    Raises
    ------
    InvalidPSFError
        If the kernel is empty, not finite, has negative values or a sum that is not positive.
    """
    k = as_array(kernel, name="PSF", error=InvalidPSFError)
    if k.size == 0:
        raise InvalidPSFError("PSF is empty")
    numeric = np.issubdtype(k.dtype, np.number) or k.dtype == np.bool_  # bool: a mask
    if not numeric or np.iscomplexobj(k):
        raise InvalidPSFError(f"PSF must be a real numeric array, got dtype {k.dtype}")
    k = k.astype(np.float64)
    if not np.all(np.isfinite(k)):
        raise InvalidPSFError("PSF contains NaN or infinite values")
    if k.min() < 0:
        raise InvalidPSFError(f"PSF has negative values (min {k.min():.3g}); a PSF must be >= 0")
    with np.errstate(over="ignore"):
        total = k.sum()
    if total == math.inf:  # huge values (near the float64 maximum): scale before summing
        k = k / k.max()
        total = k.sum()
    if not total > 0:
        raise InvalidPSFError("PSF sums to zero; it must have a positive sum")
    return k / total


def check_psf(psf, spatial_shape: tuple[int, ...]) -> np.ndarray:
    """Validate a PSF against the spatial shape of an image; return it normalised (float64).

    Raises
    ------
    InvalidPSFError
        ``psf`` is None, a string (a spec such as ``"gaussian:sigma=2"``), a scalar or another
        non-array value; has a different number of dimensions than the image's spatial ones;
        is larger than the image; or is not a PSF (see :func:`normalize_psf`).
    """
    if psf is None:
        raise InvalidPSFError(
            "psf is None; pass the PSF as an array, e.g. unblur.psf.gaussian(sigma=2), or "
            "estimate it first with unblur.estimate_psf(image)"
        )
    if isinstance(psf, str | bytes):
        text = psf if isinstance(psf, str) else psf.decode("utf-8", "replace")
        raise InvalidPSFError(
            f"psf must be an array, got the string {text!r}; make the array with "
            f"unblur.psf.parse_spec({text!r}) (or unblur.psf.from_file(path) for a file)"
        )
    if isinstance(psf, dict | set) or callable(psf):
        raise InvalidPSFError(f"psf must be an array, got a {type(psf).__name__}")
    k = as_array(psf, name="PSF", error=InvalidPSFError)
    if k.ndim == 0:
        raise InvalidPSFError(
            f"psf must be an array with one dimension per spatial axis of the image, got the "
            f"{type(psf).__name__} {psf!r}"
        )
    if k.ndim != len(spatial_shape):
        raise InvalidPSFError(
            f"PSF has {k.ndim} dimensions but the image has {len(spatial_shape)} spatial "
            "dimensions (pass channel_axis for colour images)"
        )
    k = normalize_psf(k)
    if any(p > n for p, n in zip(k.shape, spatial_shape, strict=True)):
        raise InvalidPSFError(f"PSF of shape {k.shape} is larger than the image {spatial_shape}")
    return k
