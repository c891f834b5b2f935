r"""Direct (one-solve) methods with a PSF field: restore per cell, blend with the hat weights.

A direct method (``inverse``, ``wiener``, ``tikhonov``) divides in Fourier, which needs one PSF
for the whole grid; a spatially varying blur has no such solve. The sectioned approximation
(Trussell & Hunt 1978; with interpolation between sections, Nagy & O'Leary 1998) restores the
region of each cell :math:`i` of a :class:`~unblur.psf.PSFField` with the cell's own PSF
:math:`h_i` and blends the results with the field's hat weights :math:`w_i` (which sum to one):

.. math:: \hat x = \sum_i w_i \cdot \mathcal R(y_{B_i}, h_i),

where :math:`y_{B_i}` is the observation on the support of :math:`w_i` (about two cells wide)
grown by a margin of three PSF half-widths on each side (the overlap that keeps chunked
restorations within about 1e-3 of whole-image ones, :mod:`unblur.dask`), restored with the
method's own boundary model. It is exact where the PSF is constant over a cell's support and
an approximation elsewhere: the iterative methods solve the product-convolution model exactly.

References
----------
H. J. Trussell, B. R. Hunt, "Image restoration of space-variant blurs by sectioned methods",
IEEE Trans. Acoust., Speech, Signal Process. 26(6), 1978, pp. 608-609.
J. G. Nagy, D. P. O'Leary, "Restoring images degraded by spatially variant blur", SIAM J.
Sci. Comput. 19(4), 1998, pp. 1063-1082.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from ..backend import array_module
from ..errors import InvalidPSFError
from ..psf import PSFField

__all__ = ["MARGIN_FACTOR", "blends_fields", "patchwise"]

#: Margin around each cell's support, in PSF half-widths.
MARGIN_FACTOR = 3


def patchwise(func: Callable, image: np.ndarray, field: PSFField, *, info=None, **params):
    """``func`` applied per cell of ``field`` and blended with its hat weights (see above).

    ``info`` receives ``patches``: the ``info`` of each cell's call, in C order of the cells.
    """
    if field.image_shape != image.shape:
        raise InvalidPSFError(
            f"the PSF field was built for an image of shape {field.image_shape}, not {image.shape}"
        )
    xp = array_module(image)
    d = image.ndim
    centres = field.centres()
    margin = [max(1, MARGIN_FACTOR * (k // 2)) for k in field.psf_shape]
    out = xp.zeros(image.shape, dtype=image.dtype)
    patches = []
    for cell in field.cells():
        box, window, weight = [], [], None
        for a, j in enumerate(cell):
            n, c = image.shape[a], centres[a]
            # w_j > 0 on (c[j - 1], c[j + 1]), unbounded at the ends, clipped to the image
            lo = 0 if j == 0 else max(0, math.floor(c[j - 1]) + 1)
            hi = n if j == len(c) - 1 else min(n, math.ceil(c[j + 1]))
            box.append(slice(lo, max(lo, hi)))
            window.append(slice(max(0, lo - margin[a]), min(n, hi + margin[a])))
            w = field.axis_weights(a, np.arange(lo, hi))[j].astype(image.dtype)
            w = w.reshape([-1 if b == a else 1 for b in range(d)])
            weight = w if weight is None else weight * w
        if any(b.stop <= b.start for b in box):
            continue  # a cell of a cropped field that reaches only the margin
        kernel = field.psfs[cell]
        if xp is not np:
            kernel, weight = xp.asarray(kernel), xp.asarray(weight)
        cell_info: dict = {}
        restored = func(image[tuple(window)], kernel, info=cell_info, **params)
        inner = tuple(
            slice(b.start - w.start, b.stop - w.start) for b, w in zip(box, window, strict=True)
        )
        out[tuple(box)] += weight * restored[inner]
        patches.append(cell_info)
    if info is not None:
        info["patches"] = patches
    return out


def blends_fields(func: Callable) -> Callable:
    """Decorator: a direct method that, given a :class:`~unblur.psf.PSFField`, runs
    :func:`patchwise` (and is unchanged for a PSF array)."""

    @functools.wraps(func)
    def method(image, psf, **kwargs):
        if isinstance(psf, PSFField):
            return patchwise(func, image, psf, **kwargs)
        return func(image, psf, **kwargs)

    return method
