r"""Inverse filtering: undo a blur by dividing spectra.

The classic experiment: with :math:`Y = H X` in Fourier, the estimate is

.. math:: \hat X = \frac{\overline{H}\, Y}{|H|^2 + \epsilon}

which, for :math:`\epsilon \to 0` and a noiseless periodic blur, recovers the image to machine
precision. ``epsilon`` is relative to the peak of :math:`|H|^2` (which is 1 for a normalised
PSF), so it only matters where the OTF is tiny. With ``threshold`` the *truncated* (thresholded
pseudo-) inverse is used instead: :math:`1/H` where :math:`|H| \ge` ``threshold``, zero
elsewhere. Both amplify noise without bound as the OTF falls; they are here because they are
exact without noise and as the baseline every other method improves on.

References
----------
R. C. Gonzalez, R. E. Woods, *Digital Image Processing*, 4th ed., §5.7 "Inverse filtering",
Pearson, 2018.
"""

from __future__ import annotations

import numpy as np

from .._checks import check_number
from . import direct_boundary, register
from ._patches import blends_fields

__all__ = ["inverse"]


@register("inverse", gpu=True)
@blends_fields
def inverse(
    image: np.ndarray,
    psf: np.ndarray,
    *,
    epsilon: float | None = None,
    threshold: float | None = None,
    boundary: str = "periodic",
    info: dict | None = None,
) -> np.ndarray:
    r"""Inverse filter (spectral division with a small epsilon, or thresholded pseudo-inverse).

    Parameters
    ----------
    image : numpy.ndarray
        Blurred float image (nD).
    psf : numpy.ndarray or PSFField
        Normalised PSF with the image's number of dimensions, or a
        :class:`~unblur.psf.PSFField` built for the image's shape: each cell's region is then
        restored with its PSF and the results blended (:mod:`unblur.restore._patches`).
    epsilon : float, optional
        Added to :math:`|H|^2` in the denominator, :math:`\overline{H}/(|H|^2+\epsilon)`, so
        nothing divides by zero. Default: the square of the dtype's machine epsilon
        (about 5e-32 for float64, 1.4e-14 for float32), so a noiseless periodic blur is
        undone to rounding error.
    threshold : float, optional
        If given, use the pseudo-inverse :math:`1/H` only where :math:`|H| \ge` threshold and
        zero elsewhere (``epsilon`` is then ignored).
    boundary : str, optional
        Boundary model (see :mod:`unblur.operators`); ``unknown`` is not available for this
        direct method.

    Returns
    -------
    numpy.ndarray
        Restored image, same shape and dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from unblur import blur, deconvolve, psf
    >>> x = np.random.default_rng(0).random((64, 64))
    >>> k = psf.gaussian(1.0)
    >>> y = blur(x, k, boundary="periodic")
    >>> bool(np.abs(deconvolve(y, k, method="inverse") - x).max() < 1e-6)
    True
    """
    if epsilon is None:
        epsilon = float(np.finfo(image.dtype).eps) ** 2
        if info is not None:
            info["epsilon"] = epsilon
    epsilon = check_number("epsilon", epsilon, allow_zero=True)
    if threshold is not None:
        threshold = check_number("threshold", threshold)
    bc = direct_boundary("inverse", boundary, image, psf)
    op = bc.operator
    if threshold is None:
        restored = op.least_squares(bc.extend(image), epsilon)
    else:
        keep = np.abs(op.otf) >= threshold
        gain = np.zeros_like(op.otf)
        gain[keep] = 1.0 / op.otf[keep]
        restored = op.apply_multiplier(bc.extend(image), gain)
        if info is not None:
            info["kept_fraction"] = float(keep.mean())
    return bc.crop(restored).astype(image.dtype, copy=False)
