"""Helpers several restoration methods share: the observed frame, contrast and noise scales.

Nothing here is a method; the modules of :mod:`unblur.restore` that register methods import
from here instead of from each other.
"""

from __future__ import annotations

import numpy as np

from ..backend import array_module
from ..errors import InvalidParameterError
from ..operators import Boundary, field_boundary
from ..psf import PSFField

__all__ = ["MODEL_ERROR", "boundary_for", "check_mask", "frame", "percentile_range"]

#: Model error of real blur (the PSF is never exact), as a fraction of the image's range: the
#: floor of the effective noise level, 1.5/255 on an image spanning the whole [0, 1].
MODEL_ERROR = 0.006


def percentile_range(image: np.ndarray) -> tuple[float, float]:
    """``(low, span)``: the 1st percentile and the 1st-99th percentile range (1 if flat).

    The contrast scale the automatic weights of the sparse priors and of plug-and-play work
    in.
    """
    low, high = (float(v) for v in np.percentile(image, [1.0, 99.0]))
    span = high - low
    return low, span if span > 0 else 1.0


def boundary_for(mode: str, image: np.ndarray, psf, *, dtype=None) -> Boundary:
    """The :class:`~unblur.operators.Boundary` of ``mode`` for ``image`` and a PSF or a field.

    A PSF array gives :meth:`Boundary.create <unblur.operators.Boundary.create>` (its device is
    the PSF's); a :class:`~unblur.psf.PSFField` gives
    :func:`~unblur.operators.field_boundary`, whose operator works on the image's device. The
    grid's precision is ``dtype`` (default: the image's).
    """
    dtype = image.dtype if dtype is None else dtype
    if isinstance(psf, PSFField):
        return field_boundary(mode, image.shape, psf, dtype=dtype, xp=array_module(image))
    return Boundary.create(mode, image.shape, psf, dtype=dtype)


def frame(grid: tuple[int, ...], region: tuple[slice, ...]) -> list[tuple[slice, ...]]:
    """Slices that together cover the grid outside ``region`` (one slab per face)."""
    bands = []
    for ax, sl in enumerate(region):
        before = (*region[:ax], slice(0, sl.start))
        after = (*region[:ax], slice(sl.stop, grid[ax]))
        bands += [b for b in (before, after) if b[ax].start != b[ax].stop]
    return bands


def check_mask(mask, image: np.ndarray):
    """``None``, or ``mask`` as a boolean array of the image's shape (on its device).

    The ``mask`` of the iterative methods: True where a pixel is observed and trusted.

    Raises
    ------
    InvalidParameterError
        For a mask that is not boolean, not of the image's shape, or has no True pixel.
    """
    if mask is None:
        return None
    xp = array_module(image)
    m = xp.asarray(mask)
    if m.dtype != bool:
        raise InvalidParameterError(f"mask must be a boolean array, got dtype {m.dtype}")
    if m.shape != image.shape:
        raise InvalidParameterError(
            f"mask of shape {m.shape} does not match the image's shape {image.shape}"
        )
    if not bool(m.any()):
        raise InvalidParameterError("mask has no True (observed) pixel")
    return m
