"""Image data <-> floats on the [0, 1] scale."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import to_float as _to_float
from ..errors import InvalidImageError, InvalidParameterError

# ---------------------------------------------------------------------------------------------
# public conversion helpers


def to_float(image: np.ndarray) -> np.ndarray:
    """Convert image data to floating point on the [0, 1] scale.

    Parameters
    ----------
    image : array_like
        Integer, boolean or floating-point data.

    Returns
    -------
    numpy.ndarray
        Integer data as float32 divided by the dtype's maximum (``uint8 / 255``,
        ``uint16 / 65535``, ``int16 / 32767``, ...); booleans as 0.0/1.0 float32. float32 and
        float64 arrays are returned as they are (no copy); float16 becomes float32 and longer
        floats become float64.

    Raises
    ------
    InvalidImageError
        Complex or non-numeric data.
    """
    return _to_float(image, error=InvalidImageError)


def from_float(image: np.ndarray, dtype: Any) -> np.ndarray:
    """Convert [0, 1] float data to ``dtype`` (the inverse of :func:`to_float`).

    Parameters
    ----------
    image : array_like
        Float data nominally in [0, 1]. Integer or boolean input is first passed through
        :func:`to_float`.
    dtype : dtype-like
        Target dtype.

    Returns
    -------
    numpy.ndarray
        For unsigned integer targets: ``np.rint(np.clip(x, 0, 1) * max).astype(dtype)``; signed
        integer targets clip to ``[min / max, 1]`` so that ``to_float`` output round-trips.
        Boolean targets threshold at 0.5. Float targets are a plain ``astype`` (no clipping).

    Raises
    ------
    InvalidParameterError
        ``dtype`` is not a real numeric dtype.
    InvalidImageError
        The data are non-numeric, or contain NaN while the target is an integer type.
    """
    try:
        dt = np.dtype(dtype)
    except Exception:  # TypeError, ValueError, even SyntaxError for some strings
        raise InvalidParameterError(f"unknown dtype {dtype!r}") from None
    if dt.kind not in "biuf":
        raise InvalidParameterError(f"cannot convert an image to dtype {dt}; need int or float")
    x = to_float(image)
    if dt.kind == "f":
        return x.astype(dt.newbyteorder("="), copy=False)
    if np.isnan(x).any():
        raise InvalidImageError(f"cannot convert NaN values to {dt.name}")
    if dt.kind == "b":
        return x >= 0.5
    info = np.iinfo(dt)
    work = np.float64 if dt.itemsize >= 4 else np.result_type(x.dtype, np.float32)
    hi = float(info.max)
    lo = 0.0 if info.min == 0 else info.min / hi
    y = np.array(np.clip(x, lo, 1.0), dtype=work)  # an array even for 0-d data
    y *= hi
    np.rint(y, out=y)
    if int(hi) > info.max:  # 64-bit maxima are not representable in float64
        np.minimum(y, np.nextafter(hi, 0.0), out=y)
    return y.astype(dt.newbyteorder("="))


def _to_gray(x: np.ndarray) -> np.ndarray:
    """Float data with channels last -> luminance (alpha dropped)."""
    from skimage.color import rgb2gray  # imported here: slow to import, seldom needed

    n = x.shape[-1]
    if n <= 2:  # grey or grey + alpha
        return np.ascontiguousarray(x[..., 0])
    if n <= 4:  # RGB or RGBA
        return rgb2gray(x[..., :3])
    return x.mean(axis=-1, dtype=np.float64).astype(x.dtype, copy=False)
