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

__all__ = ["textured_window", "textured_windows"]


def _gradient_magnitude(y: np.ndarray) -> np.ndarray:
    """Forward differences (zero past the last row and column), magnitude per pixel."""
    g0 = np.diff(y, axis=0, append=y[-1:])
    g1 = np.diff(y, axis=1, append=y[:, -1:])
    return np.hypot(g0, g1)


def textured_windows(
    image: np.ndarray,
    side: int,
    count: int = 1,
    avoid: np.ndarray | None = None,
    overlap: float = 0.25,
) -> list[tuple[slice, slice]]:
    """Up to ``count`` square windows of ``side`` px with the most strong gradients, best
    first, none overlapping an earlier one by more than ``overlap`` (a fraction of its area,
    a quarter by default).

    Candidates start on a grid of ``side // 4`` px steps (plus the last position on each
    axis); strong gradients are those above the 90th percentile of the whole image. Pixels
    in ``avoid`` (e.g. saturated ones, whose values do not follow the blur model) do not
    count. The first window does not depend on ``overlap``.
    """
    h, w = image.shape
    sh, sw = min(side, h), min(side, w)
    if (sh, sw) == (h, w):
        return [(slice(0, h), slice(0, w))]
    mag = _gradient_magnitude(image)
    strong = mag > np.percentile(mag, 90)
    if avoid is not None:
        strong &= ~avoid
    integral = np.pad(strong.astype(np.float64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    step = max(1, side // 4)
    rows = np.array(sorted({*range(0, h - sh + 1, step), h - sh}))
    cols = np.array(sorted({*range(0, w - sw + 1, step), w - sw}))
    r, c = np.meshgrid(rows, cols, indexing="ij")
    score = integral[r + sh, c + sw] - integral[r, c + sw] - integral[r + sh, c] + integral[r, c]
    order = np.argsort(-score.ravel(), kind="stable")
    chosen: list[tuple[int, int]] = []
    for index in order:
        top, left = int(r.ravel()[index]), int(c.ravel()[index])
        shared = max(
            (max(0, sh - abs(top - a)) * max(0, sw - abs(left - b)) for a, b in chosen),
            default=0,
        )
        if shared <= sh * sw * overlap:
            chosen.append((top, left))
            if len(chosen) == count:
                break
    return [(slice(a, a + sh), slice(b, b + sw)) for a, b in chosen]


def textured_window(
    image: np.ndarray, side: int, avoid: np.ndarray | None = None
) -> tuple[slice, slice]:
    """The square window of ``side`` px with the most strong gradients
    (:func:`textured_windows`, ``count=1``)."""
    return textured_windows(image, side, 1, avoid)[0]
