"""Helpers shared by the blind estimators: the ``size`` check, odd sides, robust scaling."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InvalidImageError, InvalidParameterError
from ..psf._core import _odd as _odd_extent

#: Smallest kernel side accepted.
MIN_KERNEL = 3


def odd_side(value: float) -> int:
    """The smallest odd integer >= ``value`` and >= :data:`MIN_KERNEL`."""
    return max(MIN_KERNEL, _odd_extent((value - 1) / 2 - 1e-9))


def check_size(
    size: Any, shape: tuple[int, ...], *, pair: bool = True, half: bool = True
) -> tuple[int, int] | None:
    """``size`` as an odd ``(h, w)`` pair (even values rounded up); ``None`` stays ``None``.

    ``pair=False`` accepts a single integer only. The kernel may cover at most half of each
    image side (``half=True``, what the free-form estimator needs to see it whole) or the
    whole image (the parametric fits, which read it off the spectrum).
    """
    if size is None:
        return None
    sequence = isinstance(size, Sequence | np.ndarray) and not isinstance(size, str)
    if sequence and not pair:
        raise InvalidParameterError(f"size must be an integer, got {size!r}")
    values = tuple(size) if sequence else (size, size)
    if len(values) != 2:
        raise InvalidParameterError(f"size must be an int or a pair (h, w), got {size!r}")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not float(v).is_integer():
            either = " or a pair (h, w) of integers" if pair else ""
            raise InvalidParameterError(f"size must be an integer{either}, got {size!r}")
        v = int(v)
        if v < MIN_KERNEL:
            raise InvalidParameterError(f"size must be >= {MIN_KERNEL} pixels, got {v}")
        out.append(v if v % 2 else v + 1)
    if half:
        limit = [n // 2 for n in shape]
        if out[0] > limit[0] or out[1] > limit[1]:
            raise InvalidParameterError(
                f"kernel size {out[0]}x{out[1]} is too large for a {shape[0]}x{shape[1]} image "
                f"(at most half of each side: {limit[0]}x{limit[1]})"
            )
    elif max(out) > min(shape):
        shown = str(out[0]) if out[0] == out[1] else f"{out[0]}x{out[1]}"
        raise InvalidParameterError(
            f"size {shown} is larger than the image ({'x'.join(map(str, shape))})"
        )
    return out[0], out[1]


def normalise(y: np.ndarray) -> tuple[np.ndarray, float]:
    """Robust [0, 1] scaling (0.1 and 99.9 percentiles), so the weights mean the same always;
    returns the scaled image and the range it was divided by."""
    lo, hi = np.percentile(y, [0.1, 99.9])
    if hi - lo <= 1e-6 * max(abs(hi), abs(lo), 1e-300):
        lo, hi = float(y.min()), float(y.max())
    if hi - lo <= 1e-9 * max(abs(hi), abs(lo), 1e-300) or hi == lo:
        raise InvalidImageError("image is flat: no structure to estimate a PSF from")
    return (y - lo) / (hi - lo), float(hi - lo)
