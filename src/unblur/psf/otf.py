"""PSF <-> OTF (optical transfer function) on a real FFT grid."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .. import fft
from .._checks import as_array
from ..errors import InvalidParameterError, InvalidPSFError

__all__ = ["otf_to_psf", "psf_to_otf"]


def _grid_shape(shape, name: str) -> tuple[int, ...]:
    """``shape`` as a tuple of positive ints, refused before allocation when too large."""
    from ..io.limits import check_memory

    try:
        sides = tuple(shape)
    except TypeError:
        raise InvalidParameterError(f"{name} must be a sequence of sizes, got {shape!r}") from None
    if not 1 <= len(sides) <= 32 or not all(
        isinstance(n, int | np.integer) and not isinstance(n, bool | np.bool_) and n > 0
        for n in sides
    ):
        raise InvalidParameterError(f"{name} must be positive integers, got {shape!r}")
    sides = tuple(int(n) for n in sides)
    check_memory(
        32 * math.prod(sides),
        f"a grid of {sides}",
        hint="a smaller shape",
        error=InvalidParameterError,
    )
    return sides


def psf_to_otf(psf: np.ndarray, shape: Sequence[int], *, dtype=np.float64) -> np.ndarray:
    """Optical transfer function: the real FFT of the PSF placed on a grid of ``shape``.

    The PSF is zero-padded and rolled so that its centre pixel (index ``n // 2`` per axis)
    lands at the origin. Convolving with the result therefore does not shift the image.

    Parameters
    ----------
    psf : numpy.ndarray
        The PSF, with no more dimensions than ``shape`` and no side larger than the grid's.
    shape : sequence of int
        Shape of the (real) grid.
    dtype : dtype, optional
        Real dtype of the computation (float32 gives a complex64 OTF).

    Returns
    -------
    numpy.ndarray
        Complex array of shape ``shape[:-1] + (shape[-1] // 2 + 1,)``.
    """
    psf = as_array(psf, name="PSF", error=InvalidPSFError)
    if psf.dtype.kind not in "biuf":
        raise InvalidPSFError(f"PSF must be real numbers, got dtype {psf.dtype}")
    shape = _grid_shape(shape, "shape")
    if psf.ndim != len(shape):
        raise InvalidPSFError(f"PSF has {psf.ndim} dimensions but the grid has {len(shape)}")
    if any(p > n for p, n in zip(psf.shape, shape, strict=True)):
        raise InvalidPSFError(f"PSF of shape {psf.shape} is larger than the grid {shape}")
    padded = np.zeros(shape, dtype=dtype)
    padded[tuple(slice(0, p) for p in psf.shape)] = psf
    padded = np.roll(padded, [-(p // 2) for p in psf.shape], axis=tuple(range(len(shape))))
    return fft.rfftn(padded)


def otf_to_psf(otf: np.ndarray, shape: Sequence[int], psf_shape: Sequence[int]) -> np.ndarray:
    """Inverse of :func:`psf_to_otf`: the PSF of ``psf_shape`` from an OTF on a ``shape`` grid."""
    otf = as_array(otf, name="OTF", error=InvalidPSFError)
    if otf.dtype.kind not in "biufc":
        raise InvalidPSFError(f"OTF must be numbers, got dtype {otf.dtype}")
    shape = _grid_shape(shape, "shape")
    psf_shape = _grid_shape(psf_shape, "psf_shape")
    expected = (*shape[:-1], shape[-1] // 2 + 1)
    if otf.shape != expected or len(psf_shape) != len(shape):
        raise InvalidPSFError(
            f"an OTF of shape {otf.shape} does not belong to a grid {shape} and a PSF of "
            f"{len(psf_shape)} dimensions (expected OTF shape {expected})"
        )
    if any(p > n for p, n in zip(psf_shape, shape, strict=True)):
        raise InvalidPSFError(f"psf_shape {psf_shape} is larger than the grid {shape}")
    grid = fft.irfftn(otf, shape)
    grid = np.roll(grid, [p // 2 for p in psf_shape], axis=tuple(range(len(shape))))
    return grid[tuple(slice(0, p) for p in psf_shape)]
