"""Shared helpers of the PSF models: validation, grids, normalisation, centring."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .._checks import normalize_psf
from ..errors import InvalidParameterError

#: Largest side length a model builds by default (a guard against absurd parameters).
MAX_SIZE = 4097
#: Most pixels (voxels) of any PSF, default or explicit ``size`` alike: the largest default
#: 2-D PSF (4097 x 4097), or 256 x 256 x 256 (134 MB of float64). Beyond it the PSF is
#: refused before allocation.
MAX_PSF_PIXELS = MAX_SIZE * MAX_SIZE
#: Most dimensions of a PSF (NumPy's own limit is 64).
MAX_NDIM = 32
#: Bytes a model needs per PSF pixel while it builds it (coordinates, intermediate products).
_BYTES_PER_PIXEL = 48
#: Most sub-pixel samples an oversampled model (disk, airy, moffat) evaluates: for larger PSFs
#: ``oversample`` is lowered (a 4001 x 4001 disk at 8 x 8 would take 8 GB per array).
MAX_SAMPLES = 1 << 24


def _sides_text(shape: Sequence[int]) -> str:
    return " x ".join(str(n) if n < 10**9 else f"~1e{len(str(n)) - 1}" for n in shape)


def check_psf_size(shape: Sequence[int], *, what: str = "size") -> tuple[int, ...]:
    """Refuse, before allocation, a PSF of more than :data:`MAX_PSF_PIXELS` pixels or one
    whose construction would not fit in the memory available; the message names ``what``
    (the parameter to make smaller)."""
    from ..io.limits import check_memory

    shape = tuple(int(n) for n in shape)
    n = math.prod(shape)
    if n > MAX_PSF_PIXELS:
        raise InvalidParameterError(
            f"a PSF of {_sides_text(shape)} = {n} pixels is too large (the limit is "
            f"MAX_PSF_PIXELS = {MAX_PSF_PIXELS}); give a smaller {what}"
        )
    check_memory(
        n * _BYTES_PER_PIXEL,
        f"building a PSF of {_sides_text(shape)} pixels",
        hint=f"give a smaller {what}",
        error=InvalidParameterError,
    )
    return shape


def _whole(value) -> int | None:
    """``value`` as an int when it is a whole real number (not a bool), else None."""
    if isinstance(value, bool | np.bool_):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(number) or not number.is_integer():
        return None
    return int(number)


def _size_tuple(
    size: int | Sequence[int] | None,
    default: Sequence[int],
    *,
    what: str = "size or smaller parameters",
) -> tuple[int, ...]:
    """Odd side lengths from ``size`` (int or per-axis), or ``default`` when None; refused
    before allocation when too large (:func:`check_psf_size`; ``what`` names the way out for
    a default size)."""
    if size is None:
        shape = tuple(int(n) for n in default)
        if max(shape) > MAX_SIZE:
            raise InvalidParameterError(
                f"PSF would be ({_sides_text(shape)}) pixels; parameters too large "
                f"(max side {MAX_SIZE})"
            )
        return check_psf_size(shape, what=what)
    if isinstance(size, str | bytes):
        raise InvalidParameterError(f"size must be positive integers, got {size!r}")
    try:
        sizes = (size,) * len(default) if np.isscalar(size) else tuple(np.ravel(size).tolist())
    except (TypeError, ValueError):
        raise InvalidParameterError(f"size must be positive integers, got {size!r}") from None
    if len(sizes) != len(default):
        raise InvalidParameterError(f"size must have {len(default)} entries, got {size!r}")
    out = []
    for n in sizes:
        whole = _whole(n)
        if whole is None or whole < 1:
            raise InvalidParameterError(f"size must be positive integers, got {size!r}")
        if whole % 2 == 0:
            raise InvalidParameterError(f"size must be odd so the PSF has a centre, got {size!r}")
        out.append(whole)
    return check_psf_size(out)


def check_angle(angle) -> float:
    """``angle`` (degrees) as a finite float.

    Raises
    ------
    InvalidParameterError
        For a bool, a non-number, NaN or infinity.
    """
    if isinstance(angle, bool | np.bool_):
        raise InvalidParameterError(f"angle must be a number of degrees, got {angle!r}")
    try:
        value = float(angle)
    except (TypeError, ValueError, OverflowError):
        raise InvalidParameterError(f"angle must be a number of degrees, got {angle!r}") from None
    if not math.isfinite(value):
        raise InvalidParameterError(f"angle must be a finite number of degrees, got {value}")
    return value


def _oversample(shape: Sequence[int], oversample: int) -> int:
    """``oversample`` checked (an integer >= 1) and lowered so that the sub-sampled grid of
    ``shape`` holds at most :data:`MAX_SAMPLES` samples."""
    whole = _whole(oversample)
    if whole is None or whole < 1:
        raise InvalidParameterError(f"oversample must be an integer >= 1, got {oversample!r}")
    oversample = whole
    fit = math.isqrt(MAX_SAMPLES // max(math.prod(shape), 1))
    return max(1, min(int(oversample), fit))


def _odd(half_extent: float) -> int:
    """Odd side length covering ``[-half_extent, half_extent]`` around the centre pixel."""
    if not math.isfinite(half_extent):  # e.g. sigma=1e308, whose square overflows
        raise InvalidParameterError(
            f"PSF would be infinitely large; parameters too large (max side {MAX_SIZE})"
        )
    return 2 * math.ceil(half_extent) + 1


def _grid(shape: Sequence[int], oversample: int = 1) -> list[np.ndarray]:
    """Coordinates (rows, cols, ...) relative to the centre, optionally sub-pixel sampled."""
    axes = []
    for n in shape:
        c = (n - 1) / 2
        if oversample == 1:
            axes.append(np.arange(n) - c)
        else:
            sub = (np.arange(oversample) + 0.5) / oversample - 0.5
            axes.append((np.arange(n)[:, None] + sub[None, :]).ravel() - c)
    return np.meshgrid(*axes, indexing="ij", sparse=True)


def _bin(values: np.ndarray, oversample: int) -> np.ndarray:
    """Average ``oversample``-sized blocks of a super-sampled 2-D array back to pixels."""
    if oversample == 1:
        return values
    h, w = values.shape
    return values.reshape(h // oversample, oversample, w // oversample, oversample).mean((1, 3))


def _radial_2d(shape: Sequence[int], oversample: int) -> np.ndarray:
    y, x = _grid(shape, oversample)
    return np.hypot(y, x)


def centroid(kernel: np.ndarray) -> np.ndarray:
    """Centre of mass of ``kernel`` in pixel indices, one entry per axis.

    Raises
    ------
    InvalidPSFError
        For a kernel that is not a finite, real, non-negative array with a positive sum.
    """
    k = normalize_psf(kernel)
    with np.errstate(over="ignore"):
        total = k.sum()
    if not math.isfinite(float(total) * max(k.shape, default=1)):
        k = k / np.abs(k).max()  # values near the float64 maximum: the weighted sums overflow
        total = k.sum()
    return np.array(
        [
            (k.sum(axis=tuple(a for a in range(k.ndim) if a != ax)) * np.arange(n)).sum() / total
            for ax, n in enumerate(k.shape)
        ]
    )


def _trim(k: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """Crop an odd-sized centred array to the smallest centred box of values > threshold·max."""
    mask = k > threshold * k.max()
    extent = []
    for ax, n in enumerate(k.shape):
        idx = np.nonzero(mask.any(axis=tuple(a for a in range(k.ndim) if a != ax)))[0]
        extent.append(int(np.max(np.abs(idx - n // 2))))
    return _centre_crop_or_pad(k, [2 * e + 1 for e in extent])


def _centre_crop_or_pad(k: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Crop or zero-pad an odd-sized, centred array to another odd shape, keeping the centre."""
    out = k
    for ax, (n, m) in enumerate(zip(k.shape, shape, strict=True)):
        if m < n:
            start = (n - m) // 2
            out = np.take(out, range(start, start + m), axis=ax)
        elif m > n:
            pad = [(0, 0)] * k.ndim
            pad[ax] = ((m - n) // 2, m - n - (m - n) // 2)
            out = np.pad(out, pad)
    return out
