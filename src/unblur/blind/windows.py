"""Where in a large image the blur kernel is estimated: the most textured window.

The blur is assumed uniform, so a large image is analysed on a square window of side
``max_side``: the one (on a grid of quarter-window steps) with the largest number of strong
gradients, i.e. pixels whose gradient magnitude is above the 90th percentile of the whole
image. Strong edges in many directions are what the kernel step needs; Hu & Yang (2012) choose
regions by the same principle with a learned score.

References
----------
Z. Hu, M.-H. Yang, "Good regions to deblur", ECCV 2012.
"""

from __future__ import annotations

import numpy as np

__all__ = ["textured_window"]


def _gradient_magnitude(y: np.ndarray) -> np.ndarray:
    """Forward differences (zero past the last row and column), magnitude per pixel."""
    g0 = np.diff(y, axis=0, append=y[-1:])
    g1 = np.diff(y, axis=1, append=y[:, -1:])
    return np.hypot(g0, g1)


def textured_window(
    image: np.ndarray, side: int, avoid: np.ndarray | None = None
) -> tuple[slice, slice]:
    """The square window of ``side`` px with the most strong gradients.

    Candidates start on a grid of ``side // 4`` px steps (plus the last position on each
    axis); strong gradients are those above the 90th percentile of the whole image. Pixels
    in ``avoid`` (e.g. saturated ones, whose values do not follow the blur model) do not
    count.
    """
    h, w = image.shape
    sh, sw = min(side, h), min(side, w)
    if (sh, sw) == (h, w):
        return slice(0, h), slice(0, w)
    mag = _gradient_magnitude(image)
    strong = mag > np.percentile(mag, 90)
    if avoid is not None:
        strong &= ~avoid
    strong = strong.astype(np.float64)
    integral = np.pad(strong.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    step = max(1, side // 4)
    rows = sorted({*range(0, h - sh + 1, step), h - sh})
    cols = sorted({*range(0, w - sw + 1, step), w - sw})
    best, where = -1.0, (0, 0)
    for r in rows:
        for c in cols:
            count = integral[r + sh, c + sw] - integral[r, c + sw] - integral[r + sh, c]
            count += integral[r, c]
            if count > best:
                best, where = count, (r, c)
    return slice(where[0], where[0] + sh), slice(where[1], where[1] + sw)
