"""PSF <-> OTF (optical transfer function) on a real FFT grid."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import fft
from ..errors import InvalidPSFError

__all__ = ["otf_to_psf", "psf_to_otf"]


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
    psf = np.asarray(psf)
    shape = tuple(int(n) for n in shape)
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
    grid = fft.irfftn(otf, shape)
    grid = np.roll(grid, [p // 2 for p in psf_shape], axis=tuple(range(len(shape))))
    return grid[tuple(slice(0, p) for p in psf_shape)]
