"""Shared helpers of the PSF models: validation, grids, normalisation, centring."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..errors import InvalidParameterError

#: Largest side length a model builds by default (a guard against absurd parameters).
MAX_SIZE = 4097
#: Most sub-pixel samples an oversampled model (disk, airy, moffat) evaluates: for larger PSFs
#: ``oversample`` is lowered (a 4001 x 4001 disk at 8 x 8 would take 8 GB per array).
MAX_SAMPLES = 1 << 24


def _size_tuple(size: int | Sequence[int] | None, default: Sequence[int]) -> tuple[int, ...]:
    """Odd side lengths from ``size`` (int or per-axis), or ``default`` when None."""
    if size is None:
        shape = tuple(int(n) for n in default)
        if max(shape) > MAX_SIZE:
            sides = ", ".join(str(n) if n < 10**9 else f"~1e{len(str(n)) - 1}" for n in shape)
            raise InvalidParameterError(
                f"PSF would be ({sides}) pixels; parameters too large (max side {MAX_SIZE})"
            )
        return shape
    sizes = (size,) * len(default) if np.isscalar(size) else tuple(size)
    if len(sizes) != len(default):
        raise InvalidParameterError(f"size must have {len(default)} entries, got {size!r}")
    out = []
    for n in sizes:
        if int(n) != n or n < 1:
            raise InvalidParameterError(f"size must be positive integers, got {size!r}")
        if n % 2 == 0:
            raise InvalidParameterError(f"size must be odd so the PSF has a centre, got {size!r}")
        out.append(int(n))
    return tuple(out)


def _oversample(shape: Sequence[int], oversample: int) -> int:
    """``oversample`` checked (an integer >= 1) and lowered so that the sub-sampled grid of
    ``shape`` holds at most :data:`MAX_SAMPLES` samples."""
    try:
        valid = not isinstance(oversample, bool) and float(oversample).is_integer()
    except (TypeError, ValueError):
        valid = False
    if not valid or oversample < 1:
        raise InvalidParameterError(f"oversample must be an integer >= 1, got {oversample!r}")
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
    """Centre of mass of ``kernel`` in pixel indices, one entry per axis."""
    k = np.asarray(kernel, dtype=np.float64)
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
