"""``method="auto"``: which registered method :func:`unblur.deconvolve` uses by default.

The choice depends on what the input allows, not on tuning by the user:

* up to :data:`AUTO_MAX_PIXELS` pixels (voxels) per channel: ``tv``, total variation with a
  second-order term solved by ADMM with the unknown-boundary model, its weight set from the
  estimated noise level: the best default measured on real camera shake (the README's table);
* larger inputs: ``wiener`` with its automatic noise-to-signal ratio and tapered borders, one
  forward and one inverse transform; use ``method="tv"`` (or :mod:`unblur.dask` for
  out-of-core work) when the time is worth it.

The method chosen and the reason are written to the ``info`` returned by
:func:`unblur.deconvolve` (``return_info=True``) and logged on the ``unblur`` logger. The
measurements behind the choice are in ``docs/notes/restore_defaults.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["AUTO_MAX_PIXELS", "DEFAULT_METHOD", "LARGE_METHOD", "choose_method"]

#: the method ``auto`` uses for ordinary images (and the one the CLI reads parameters for)
DEFAULT_METHOD = "tv"
#: the method ``auto`` uses beyond :data:`AUTO_MAX_PIXELS`
LARGE_METHOD = "wiener"
#: pixels (voxels) per channel up to which ``auto`` runs the iterative default: about a second
#: for a 255 x 255 image and about 20 s at the limit (a one-megapixel image) on two cores
AUTO_MAX_PIXELS = 1024 * 1024


def choose_method(spatial_shape: Sequence[int]) -> tuple[str, str]:
    """The method ``auto`` resolves to for an image of this spatial shape, and why.

    Parameters
    ----------
    spatial_shape : sequence of int
        Shape of one channel of the image.

    Returns
    -------
    name : str
        A registered method name.
    reason : str
        One sentence saying why, for logs and reports.

    Examples
    --------
    >>> choose_method((255, 255))[0]
    'tv'
    >>> choose_method((8192, 8192))[0]
    'wiener'
    """
    pixels = math.prod(int(n) for n in spatial_shape)
    if pixels <= AUTO_MAX_PIXELS:
        return DEFAULT_METHOD, (
            f"{pixels} pixels <= {AUTO_MAX_PIXELS}: total variation with unknown boundaries, "
            "weight from the estimated noise level"
        )
    return LARGE_METHOD, (
        f"{pixels} pixels > {AUTO_MAX_PIXELS}: Wiener with automatic noise-to-signal ratio "
        "(one transform pair) to keep the run short; ask for method='tv' for the best quality"
    )
