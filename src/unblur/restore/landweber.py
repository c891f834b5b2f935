r"""Landweber iteration: gradient descent on the least-squares misfit, optionally projected.

For an observation :math:`y` of a blur :math:`H`, observed on the pixels :math:`M` of the
boundary model's grid, the projected Landweber iteration is

.. math:: x_{k+1} = P_+\!\left(x_k + \tau\, H^\top M (y - H x_k)\right),

gradient descent with step :math:`\tau` on :math:`\tfrac12\|M(Hx - y)\|^2`, where :math:`P_+`
clips to non-negative values (or is the identity). It converges for
:math:`0 < \tau < 2 / \|H\|^2`, and :math:`\|H\|^2 = \max_f |H(f)|^2`, which is 1 for a
normalised non-negative PSF. Without projection, after :math:`k` steps from zero each Fourier
component is the inverse filter damped by :math:`1 - (1 - \tau|H(f)|^2)^k`: the number of
iterations is the regularisation parameter (*semi-convergence*), and low-pass components are
restored first, the noise-dominated high frequencies last. The classic stopping rule, used
here by default, is Morozov's discrepancy principle: stop once the misfit has fallen to the
noise level, beyond which the iteration fits noise.

The defaults (unknown boundary, step 1.9, the discrepancy principle) were chosen on the
Levin et al. (2009) photographs and synthetic blur of them; the measurements are in
``docs/notes/restore_defaults.md``.

References
----------
L. Landweber, "An iteration formula for Fredholm integral equations of the first kind",
American Journal of Mathematics 73(3), 1951, pp. 615-624.
M. Bertero, P. Boccacci, *Introduction to Inverse Problems in Imaging*, IOP Publishing, 1998,
ch. 6 "Iterative regularization methods" (projected Landweber, semi-convergence).
V. A. Morozov, "On the solution of functional equations by the method of regularization",
Soviet Math. Dokl. 7, 1966, pp. 414-417 (the discrepancy principle).
A. Levin, Y. Weiss, F. Durand, W. T. Freeman, "Understanding and evaluating blind deconvolution
algorithms", IEEE CVPR 2009, pp. 1964-1971 (the data the defaults were chosen on).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .._checks import check_int, check_number
from ..backend import array_module, to_numpy
from ..errors import InvalidParameterError
from ..noise import estimate_noise
from . import register
from ._common import boundary_for, check_mask
from ._common import frame as _frame
from ._loop import IterationLoop
from ._loop import dot as _dot

__all__ = ["landweber"]

#: Default step, as a fraction of the stability limit 2 / max|H|^2.
_STEP_FRACTION = 0.95


@register("landweber", iterative=True, gpu=True)
def landweber(
    image: np.ndarray,
    psf: np.ndarray,
    *,
    num_iter: int = 100,
    step: float | None = None,
    nonneg: bool = True,
    discrepancy: float | None = 1.0,
    tol: float | None = None,
    boundary: str = "unknown",
    mask: np.ndarray | None = None,
    callback: Callable[[int, np.ndarray], None] | None = None,
    info: dict | None = None,
) -> np.ndarray:
    r"""Projected Landweber iteration, stopped by the discrepancy principle.

    .. math:: x_{k+1} = P_+\!\left(x_k + \tau\, H^\top M (y - H x_k)\right), \qquad
              x_0 = y \text{ (extended onto the grid; by its mean for ``unknown``)},

    with :math:`M` the observed pixels (all of the grid except for ``boundary="unknown"``) and
    :math:`P_+` the clip to :math:`x \ge 0` when ``nonneg``. The iteration stops before the
    step that would start fitting the noise: once
    :math:`\|M(Hx_k - y)\|^2 \le (\delta\hat\sigma)^2 N` (Morozov's discrepancy principle), with
    :math:`\delta` = ``discrepancy``, :math:`\hat\sigma` from
    :func:`unblur.noise.estimate_noise` and :math:`N` the number of observed grid pixels; or
    after ``num_iter`` iterations.

    Parameters
    ----------
    image : numpy.ndarray
        Blurred float image (nD).
    psf : numpy.ndarray or PSFField
        Normalised PSF with the image's number of dimensions, or a
        :class:`~unblur.psf.PSFField` built for the image's shape (a spatially varying blur,
        :mod:`unblur.operators.field`), with every boundary model. The step bound is then
        :attr:`~unblur.operators.FieldConvolution.norm_squared_bound`.
    num_iter : int, optional
        Maximum number of iterations.
    step : float, optional
        Step :math:`\tau`, which must lie in :math:`(0, 2/\max_f|H(f)|^2)`. Default: 0.95 of
        that limit, i.e. :math:`1.9/\max_f|H(f)|^2` (1.9 for a normalised PSF); written to
        ``info["step"]``.
    nonneg : bool, optional
        Project onto non-negative images after each step.
    discrepancy : float, optional
        Stop once the RMS misfit over the observed pixels is at most this multiple of the
        estimated noise level. ``None``: run ``num_iter`` iterations (or until ``tol``).
    tol : float, optional
        Stop early once :math:`\|x_k - x_{k-1}\| / \|x_k\| <` ``tol``.
    boundary : str, optional
        ``unknown`` (default: only the observed pixels enter the misfit, no wrap-around),
        ``periodic``, ``reflect`` or ``taper`` (see :mod:`unblur.operators`).
    mask : numpy.ndarray of bool, optional
        The image's shape; True where a pixel is observed and trusted. The others (clipped
        highlights, dead pixels) are left out of the data term, as the frame's surroundings
        are with ``boundary="unknown"`` (with another boundary, the padding is then left out
        too).
    callback : callable, optional
        Called as ``callback(iteration, estimate)`` after each iteration (``iteration`` counts
        from 1); ``estimate`` is a copy of the current result, cropped to the image's shape.
    info : dict, optional
        Receives ``step`` (when chosen automatically), ``noise_sigma`` (with
        ``discrepancy``), ``iterations`` (the number run, 0 when the start already fits) and,
        with ``tol``, ``relative_change``.

    Returns
    -------
    numpy.ndarray
        Restored image, same shape and dtype as ``image``.

    Raises
    ------
    InvalidParameterError
        For ``num_iter < 1``, a step outside the stability range, a non-positive
        ``discrepancy`` or ``tol``, or an unknown boundary.

    Notes
    -----
    One iteration costs two forward and two inverse real FFTs on the boundary model's grid;
    the step is folded into the cached adjoint OTF and the rest is done in place. The
    misfit is projected gradient descent's objective: it never increases for
    :math:`\tau < 2/\|H\|^2`.

    References
    ----------
    L. Landweber, American Journal of Mathematics 73(3), 1951, pp. 615-624.
    M. Bertero, P. Boccacci, *Introduction to Inverse Problems in Imaging*, IOP Publishing,
    1998, ch. 6 (projected Landweber; the discrepancy principle as its stopping rule).
    V. A. Morozov, "On the solution of functional equations by the method of regularization",
    Soviet Math. Dokl. 7, 1966, pp. 414-417.

    Examples
    --------
    >>> import numpy as np
    >>> from unblur import add_noise, blur, psf
    >>> from unblur.restore.landweber import landweber
    >>> rng = np.random.default_rng(0)
    >>> x = np.kron(rng.random((8, 8)), np.ones((8, 8)))  # 64 x 64 blocks
    >>> k = psf.gaussian(1.5)
    >>> y = add_noise(blur(x, k, boundary="valid"), gaussian=0.01, rng=0)  # 52 x 52
    >>> info = {}
    >>> x_hat = landweber(y, k, info=info)
    >>> h = k.shape[0] // 2
    >>> inner = x[h:-h, h:-h]                               # what y sees, unblurred
    >>> bool(np.mean((x_hat - inner) ** 2) < 0.6 * np.mean((y - inner) ** 2))
    True
    >>> info["step"], info["iterations"]  # stopped when the misfit reached the noise level
    (1.9, 13)
    """
    num_iter = check_int("num_iter", num_iter, 1)
    if tol is not None:
        tol = check_number("tol", tol)
    if discrepancy is not None:
        discrepancy = check_number("discrepancy", discrepancy)
    dtype = image.dtype
    mask = check_mask(mask, image)
    if discrepancy is not None:
        # the noise level first: its wavelet transform's memory is freed before the solver's
        sigma = estimate_noise(to_numpy(image))
        if info is not None:
            info["noise_sigma"] = sigma
    bc = boundary_for(boundary, image, psf, dtype=dtype)
    op = bc.operator  # a Convolution, or the FieldConvolution of a PSF field
    # ||H||^2 exactly (max |H(f)|^2), or an upper bound on it for a field
    limit = 2.0 / op.norm_squared_bound
    if step is None:
        step = float(f"{_STEP_FRACTION * limit:.6g}")
        if info is not None:
            info["step"] = step
    else:
        step = check_number("step", step)
        if step >= limit:
            bound = "max|H|^2" if op.diagonal else "(the PSF field's bound on ||A||^2)"
            raise InvalidParameterError(
                f"step must be < 2/{bound} = {limit:.6g} for the iteration to converge, got {step}"
            )
    if op.diagonal:  # tau H^T as one cached multiplier
        step_adjoint = (step * op.otf.conj()).astype(op.otf.dtype, copy=False)

    # --- constants of the iteration (computed once) -------------------------------------------
    grid = bc.grid_shape
    xp = array_module(image)  # numpy, or cupy for a GPU (see unblur.backend)
    if bc.mode == "unknown" or mask is not None:
        # data on the observed pixels only: the residual is zero elsewhere (the mask M)
        region = bc.region
        frame = _frame(grid, region)
        data = image
        if bc.mode == "unknown":  # the data, and its mean beyond the frame
            x = xp.full(grid, float(image.mean()), dtype)
            x[region] = image
        else:
            x = bc.extend(image).astype(dtype, copy=True)
    else:
        region, frame = (slice(None),) * len(grid), []
        data = bc.extend(image)
        x = data.astype(dtype, copy=True)
    if nonneg:
        np.maximum(x, 0, out=x)
    unobserved = None if mask is None else ~mask
    # the working set, allocated once: every transform writes into ``work`` via ``spectrum``
    spectrum = op.spectrum_buffer()
    work = xp.empty(grid, dtype)
    new = xp.empty(grid, dtype) if tol is not None else x
    if discrepancy is not None:
        # Morozov: stop once ||M(Hx - y)||^2 <= (discrepancy * sigma)^2 * (observed pixels)
        count = (
            int(mask.sum())
            if mask is not None
            else (image.size if bc.mode == "unknown" else x.size)
        )
        target = (discrepancy * sigma) ** 2 * count

    change = math.inf
    loop = IterationLoop(num_iter, tol=tol, callback=callback, crop=bc.crop)
    for _ in loop:
        residual = op.forward_into(x, work, spectrum)  # H x
        inside = residual[region]
        np.subtract(inside, data, out=inside)  # H x - y on the observed pixels...
        if unobserved is not None:
            inside[unobserved] = 0
        for band in frame:
            residual[band] = 0  # ... and zero elsewhere: M (H x - y)
        if discrepancy is not None:
            misfit = _dot(residual, residual)
            if misfit <= target:
                loop.stop("discrepancy")
                break  # x already fits the data to the noise level
        if op.diagonal:  # tau H^T M (Hx - y)
            update = op.filter_into(residual, step_adjoint, work, spectrum)
        else:
            update = op.adjoint_into(residual, work, spectrum)
            update *= step
        np.subtract(x, update, out=new)
        if nonneg:
            np.maximum(new, 0, out=new)
        if tol is not None:
            np.subtract(new, x, out=update)
            norm = math.sqrt(_dot(new, new))
            change = math.sqrt(_dot(update, update))
            change = change / norm if norm > 0 else 0.0
            x, new = new, x
        if loop.done(x, change=change if tol is not None else None):
            break

    loop.check_finite(x)
    loop.report(info)
    return bc.crop(x).copy()  # not a view that keeps the whole grid alive
