"""``method="auto"``: which registered method :func:`unblur.deconvolve` uses by default.

The choice depends on what the input allows, not on tuning by the user:

* up to :data:`AUTO_MAX_PIXELS` pixels (voxels) per channel: ``tv``, total variation with a
  second-order term solved by ADMM with the unknown-boundary model, its weight set from the
  estimated noise level. It is the best default measured on real camera shake (Levin et al.
  2009 data, ground-truth kernels: 34.4 dB mean PSNR against 31.8 dB for ``wiener`` and
  33.4 dB for ``richardson_lucy``; see the README's table) at about a second per
  255 x 255 image, and it is robust to noise because its weight follows the noise level;
  its cost grows with the pixel count (about 20 s for one megapixel, measured on two busy cores);
* larger inputs: ``wiener`` with its automatic noise-to-signal ratio and tapered borders, one
  forward and one inverse transform, so a 100-megapixel mosaic or a large 3-D stack is
  restored in seconds; use ``method="tv"`` (or :mod:`unblur.dask` for out-of-core work) when
  the time is worth it.

The method chosen and the reason are written to the ``info`` returned by
:func:`unblur.deconvolve` (``return_info=True``) and logged on the ``unblur`` logger.
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
