"""``method="auto"``: which registered method :func:`unblur.deconvolve` uses by default.

``auto`` restores with the strongest default at every size: ``tv``, total variation with a
second-order term, solved by over-relaxed ADMM with the unknown-boundary model, its weight set
from the estimated noise level and a stopping rule on by default. It is the best default
measured on real camera shake (Levin et al. 2009 data with their true kernels; the README's
table), and it costs a few tens of FFT pairs: its iterations are two transform pairs plus
fused element-wise passes, and it stops after 8-20 of them on photographs
(``docs/notes/tv_speed.md``), so its time grows with the pixel count as the transforms do. An
image too large for memory is restored block by block with :mod:`unblur.dask`.

What it costs and scores, on real camera shake and on a 12-megapixel photograph, is measured
by ``benchmarks/levin.py``, ``benchmarks/speed.py`` and ``benchmarks/photo_size.py`` and
stated in the README (*Quality on real camera shake*, *Speed*).

``method="fast"`` is the choice a user makes for speed instead of quality: ``wiener`` with its
automatic noise-to-signal ratio and tapered borders, one transform pair (about 5-7 times
faster than ``tv`` and 2-3 dB lower on real camera shake).

The method chosen and the reason are written to the ``info`` dict of
:func:`unblur.deconvolve` and logged on the ``unblur`` logger.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["DEFAULT_METHOD", "FAST_METHOD", "choose_method"]

#: the method ``auto`` uses (and the one the CLI reads parameters for)
DEFAULT_METHOD = "tv"
#: the method ``fast`` resolves to
FAST_METHOD = "wiener"
#: the aliases :func:`choose_method` resolves
ALIASES = ("auto", "fast")


def choose_method(spatial_shape: Sequence[int], alias: str = "auto") -> tuple[str, str]:
    """The method ``auto`` (or ``fast``) resolves to for an image of this shape, and why.

    Parameters
    ----------
    spatial_shape : sequence of int
        Shape of one channel of the image.
    alias : {"auto", "fast"}
        ``auto``: the strongest default; ``fast``: one transform pair.

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
    'tv'
    >>> choose_method((8192, 8192), "fast")[0]
    'wiener'
    """
    pixels = math.prod(int(n) for n in spatial_shape)
    if alias == "fast":
        return FAST_METHOD, (
            f"fast: Wiener with automatic noise-to-signal ratio, one transform pair "
            f"({pixels} pixels); method='auto' restores better"
        )
    return DEFAULT_METHOD, (
        f"total variation with unknown boundaries, weight from the estimated noise level, "
        f"stopped when converged ({pixels} pixels)"
    )
