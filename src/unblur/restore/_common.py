"""Helpers several restoration methods share: the observed frame, contrast and noise scales.

Nothing here is a method; the modules of :mod:`unblur.restore` that register methods import
from here instead of from each other.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MODEL_ERROR", "frame", "percentile_range"]

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


def frame(grid: tuple[int, ...], region: tuple[slice, ...]) -> list[tuple[slice, ...]]:
    """Slices that together cover the grid outside ``region`` (one slab per face)."""
    bands = []
    for ax, sl in enumerate(region):
        before = (*region[:ax], slice(0, sl.start))
        after = (*region[:ax], slice(sl.stop, grid[ax]))
        bands += [b for b in (before, after) if b[ax].start != b[ax].stop]
    return bands
