r"""Sparse-prior deconvolution: total variation and hyper-Laplacian priors, solved by ADMM.

Both methods return (an approximation of) the maximum a posteriori estimate

.. math:: \hat x = \arg\min_x \tfrac12 \|M(Hx - y)\|^2
          + \lambda \sum_j \big( \|(\nabla x)_j\|^\alpha + s\, \|(\nabla^2 x)_j\|^\alpha \big)

where :math:`H` is the blur on the boundary model's grid, :math:`M` selects the observed
pixels (all of them except for ``boundary="unknown"``), :math:`(\nabla x)_j` is the vector of
forward differences at pixel :math:`j` (periodic on the grid), :math:`(\nabla^2 x)_j` the
Hessian of forward second differences (Frobenius norm, so that its Fourier multiplier is
:math:`|L|^2`, :func:`~unblur.operators.difference_spectrum` of order 2) and :math:`s` its
relative weight. The norms are isotropic (Euclidean over the components at a pixel) unless
asked otherwise. :func:`tv` is the convex case :math:`\alpha = 1` (total variation; its
second-order term, :math:`s = 0.5` by default, removes the staircasing of pure TV, which is
:math:`s = 0`); :func:`hyper_laplacian` takes :math:`0 < \alpha \le 1`, the heavy-tailed
derivative statistics of natural images.

Both are solved by the scaled ADMM of :mod:`unblur.restore._admm` (the splitting of Almeida &
Figueiredo 2013, which leaves the pixels beyond the frame free with ``boundary="unknown"``)
with the proximal maps of :mod:`unblur.restore._priors`; this module sets their parameters.

References
----------
M. S. C. Almeida, M. A. T. Figueiredo, "Deconvolving images with unknown boundaries using the
alternating direction method of multipliers", IEEE TIP 22(8), 2013, pp. 3074-3086.
D. Krishnan, R. Fergus, "Fast image deconvolution using hyper-Laplacian priors", NIPS 2009.
L. I. Rudin, S. Osher, E. Fatemi, "Nonlinear total variation based noise removal algorithms",
Physica D 60, 1992, pp. 259-268.
A. Levin, R. Fergus, F. Durand, W. T. Freeman, "Image and depth from a conventional camera with
a coded aperture", ACM SIGGRAPH 2007 (sparse prior on first- and second-order derivatives).
K. Papafitsoros, C.-B. Schönlieb, "A combined first and second order variational approach for
image reconstruction", J. Math. Imaging Vis. 48(2), 2014, pp. 308-338.
W. Zuo, D. Meng, L. Zhang, X. Feng, D. Zhang, "A generalized iterated shrinkage algorithm for
non-convex sparse coding", ICCV 2013 (threshold of the :math:`\ell_p` shrinkage).
S. Boyd, N. Parikh, E. Chu, B. Peleato, J. Eckstein, "Distributed optimization and statistical
learning via the alternating direction method of multipliers", Found. Trends Mach. Learn. 3(1),
2011 (scaled form, varying penalty).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .._checks import check_int, check_number
from ..backend import to_numpy
from ..errors import InvalidParameterError
from ..noise import estimate_noise
from . import register
from ._admm import admm
from ._common import MODEL_ERROR, percentile_range
from ._priors import lp_threshold as _lp_threshold  # noqa: F401  (tests import it from here)
from ._priors import shrink_lp as _shrink_lp  # noqa: F401

__all__ = ["hyper_laplacian", "tv"]

#: Automatic weight (see :func:`_auto_lam`): constants of
#: :math:`\lambda = \frac{K}{1+s}\, a^{2-\alpha} (\sigma_{eff}/a)^{4/3}`, fitted on synthetic
#: valid blur (noise 0.25-3 %) and the Levin et al. (2009) real camera shake.
_TV_LAM_SCALE = 0.345
_HL_LAM_SCALE = 0.28
_LAM_EXPONENT = 4.0 / 3.0
#: Default ADMM penalty of :func:`tv` relative to ``lam`` (:math:`\rho = \beta\lambda`).
_TV_BETA = 100.0


# --------------------------------------------------------------------------------------------
# automatic weight
# --------------------------------------------------------------------------------------------
def _auto_lam(
    image: np.ndarray, scale: float, alpha: float, second_order: float, info: dict | None
) -> float:
    r"""Prior weight from the noise level and the contrast of the observation.

    .. math:: \lambda = \frac{K}{1 + s}\; a^{2-\alpha}
              \left(\frac{\sigma_{eff}}{a}\right)^{4/3}, \qquad
              \sigma_{eff}^2 = \hat\sigma^2 + (\epsilon a)^2,

    with :math:`\hat\sigma` from :func:`unblur.noise.estimate_noise`, :math:`a` the range of
    the image between its 1st and 99th percentiles and :math:`\epsilon` = 0.006 the relative
    model error of real blur (measured on the Levin et al. 2009 photographs, whose wavelet
    noise estimate of about 0.55/255 is well below their effective noise of about 1.2/255).
    :math:`\lambda` scales with the image as the energy does (:math:`a^{2-\alpha}`); its
    growth with the noise, :math:`\sigma^{4/3}` rather than the :math:`\sigma^2` of a
    maximum a posteriori argument, is what maximised the PSNR over noise levels 0.25-3 %.
    """
    host = to_numpy(image)  # these statistics run on the CPU (one copy of a GPU image)
    sigma = estimate_noise(host)
    span = percentile_range(host)[1]  # a constant image: any weight gives the same answer
    effective = math.sqrt(sigma**2 + (MODEL_ERROR * span) ** 2)
    lam = scale / (1.0 + second_order) * span ** (2.0 - alpha)
    lam *= (effective / span) ** _LAM_EXPONENT
    if info is not None:
        info["noise_sigma"] = sigma
    return lam


# --------------------------------------------------------------------------------------------
# public methods
# --------------------------------------------------------------------------------------------
@register("tv", iterative=True, gpu=True)
def tv(
    image: np.ndarray,
    psf: np.ndarray,
    *,
    lam: float | None = None,
    num_iter: int = 150,
    rho: float | None = None,
    second_order: float = 0.5,
    boundary: str = "unknown",
    tol: float | None = None,
    callback: Callable[[int, np.ndarray], None] | None = None,
    info: dict | None = None,
) -> np.ndarray:
    r"""Total-variation deconvolution by ADMM, with unknown boundaries by default.

    Minimises

    .. math:: \tfrac12 \|M(Hx - y)\|^2 + \lambda \sum_j \|(\nabla x)_j\|_2
              + \lambda s \sum_j \|(\nabla^2 x)_j\|_F

    (isotropic TV of Rudin, Osher & Fatemi; the optional second-order term with weight
    :math:`s` = ``second_order`` is that of Papafitsoros & Schönlieb 2014 and removes the
    staircasing of flat TV). With ``boundary="unknown"`` the splitting of Almeida & Figueiredo
    (2013) is used: :math:`v = Hx` is fitted to the data on the observed pixels only, so the
    scene beyond the frame is estimated instead of assumed. Each iteration costs four real FFTs
    of the grid (two for the other boundary models).

    Parameters
    ----------
    image : numpy.ndarray
        Blurred float image (nD, float32 or float64).
    psf : numpy.ndarray
        Normalised PSF with the image's number of dimensions.
    lam : float, optional
        Weight :math:`\lambda > 0` of the TV term. Default: from the noise level
        :math:`\hat\sigma` of :func:`unblur.noise.estimate_noise` and the image's contrast,
        :math:`\lambda \propto \sigma_{eff}^{4/3}` with a floor for the model error of real
        blur (see :func:`_auto_lam`; written to ``info``).
    num_iter : int, optional
        Number of ADMM iterations.
    rho : float, optional
        ADMM penalty :math:`\rho > 0` (any value converges; it sets the speed). Default
        :math:`100\lambda`.
    second_order : float, optional
        Relative weight :math:`s \ge 0` of the second-order (Hessian) term; ``0`` is pure
        (ROF) TV. The default 0.5 avoids the staircasing of pure TV on natural images
        (+0.4 dB on the Levin et al. 2009 photographs).
    boundary : str, optional
        ``unknown`` (default, the physical model of a photograph), ``periodic``, ``reflect``
        or ``taper`` (see :mod:`unblur.operators`).
    tol : float, optional
        Stop early once both the relative change :math:`\|x_k - x_{k-1}\| / \|x_k\|` and
        the relative residual of the split, :math:`\|\nabla x_k - z_k\| / \|\nabla x_k\|`,
        are below ``tol``.
    callback : callable, optional
        Called as ``callback(iteration, estimate)`` after each iteration (from 1), with a copy
        of the current estimate cropped to the image's shape.
    info : dict, optional
        Receives ``lam``, ``rho`` (and ``noise_sigma`` when ``lam`` was chosen automatically),
        ``iterations`` and, with ``tol``, ``relative_change``.

    Returns
    -------
    numpy.ndarray
        Restored image, same shape and dtype as ``image``.

    Raises
    ------
    InvalidParameterError
        For a non-positive ``lam``, ``rho`` or ``tol``, a negative ``second_order``, a
        ``num_iter`` below one or an unknown boundary.

    References
    ----------
    M. S. C. Almeida, M. A. T. Figueiredo, "Deconvolving images with unknown boundaries using
    the alternating direction method of multipliers", IEEE TIP 22(8), 2013, pp. 3074-3086.
    L. I. Rudin, S. Osher, E. Fatemi, "Nonlinear total variation based noise removal
    algorithms", Physica D 60, 1992, pp. 259-268.
    K. Papafitsoros, C.-B. Schönlieb, "A combined first and second order variational approach
    for image reconstruction", J. Math. Imaging Vis. 48(2), 2014, pp. 308-338.

    Examples
    --------
    >>> import numpy as np
    >>> from unblur import add_noise, blur, psf
    >>> from unblur.restore.sparse import tv
    >>> x = np.zeros((64, 64), np.float32); x[16:48, 16:48] = 1
    >>> k = psf.gaussian(1.5)
    >>> y = add_noise(blur(x, k, boundary="valid"), gaussian=0.01, rng=0)
    >>> x_hat = tv(y, k, num_iter=50)
    >>> (r, c), (h, w) = [p // 2 for p in k.shape], y.shape
    >>> inner = x[r : r + h, c : c + w]  # the part of x that the valid observation sees
    >>> bool(np.mean((x_hat - inner) ** 2) < 0.5 * np.mean((y - inner) ** 2))
    True
    """
    num_iter = check_int("num_iter", num_iter)
    second_order = check_number("second_order", second_order, allow_zero=True)
    if tol is not None:
        tol = check_number("tol", tol)
    if lam is None:
        lam = _auto_lam(image, _TV_LAM_SCALE, 1.0, second_order, info)
    else:
        lam = check_number("lam", lam)
    rho = _TV_BETA * lam if rho is None else check_number("rho", rho)
    if info is not None:
        info["lam"] = lam
        info["rho"] = rho
    beta = rho / lam
    return admm(
        image,
        psf,
        lam=lam,
        second_order=second_order,
        alpha=1.0,
        isotropic=True,
        betas=lambda k: beta,
        num_iter=num_iter,
        boundary=boundary,
        tol=tol,
        callback=callback,
        info=info,
    )


@register("hyper_laplacian", iterative=True, gpu=True)
def hyper_laplacian(
    image: np.ndarray,
    psf: np.ndarray,
    *,
    lam: float | None = None,
    alpha: float = 0.8,
    num_iter: int = 150,
    beta_init: float = 1.0,
    beta_rate: float = math.sqrt(2.0),
    beta_max: float = 400.0,
    second_order: float = 0.5,
    isotropic: bool = True,
    boundary: str = "unknown",
    tol: float | None = None,
    callback: Callable[[int, np.ndarray], None] | None = None,
    info: dict | None = None,
) -> np.ndarray:
    r"""Deconvolution with a hyper-Laplacian prior on first and second derivatives.

    Minimises

    .. math:: \tfrac12 \|M(Hx - y)\|^2
              + \lambda \sum_j \big(\|(\nabla x)_j\|^\alpha + s\,\|(\nabla^2 x)_j\|^\alpha\big),
              \qquad 0 < \alpha \le 1,

    the heavy-tailed derivative prior of natural images (Levin et al. 2007 use first and second
    derivatives with :math:`\alpha = 0.8`). The splitting is that of Krishnan & Fergus (2009),
    :math:`w = \nabla x` with penalty :math:`\beta` increased geometrically from
    ``beta_init`` by ``beta_rate`` per iteration up to ``beta_max`` (one inner iteration per
    :math:`\beta`, as in the paper), and their per-pixel :math:`w` subproblem
    :math:`\min_w |w|^\alpha + \frac\beta2 (w - v)^2`, solved exactly for any :math:`\alpha`
    (threshold in closed form, then Newton's method). Two additions over the paper: the scaled
    Lagrange multipliers of ADMM are kept (so the iteration converges at a fixed
    :math:`\beta` instead of stopping at a penalty approximation), and with
    ``boundary="unknown"`` the data term is split as :math:`v = Hx` on the observed pixels
    only (Almeida & Figueiredo 2013), so the frame's borders do not ring.

    Parameters
    ----------
    image : numpy.ndarray
        Blurred float image (nD, float32 or float64).
    psf : numpy.ndarray
        Normalised PSF with the image's number of dimensions.
    lam : float, optional
        Prior weight :math:`\lambda > 0`. Default: from the noise level :math:`\hat\sigma` of
        :func:`unblur.noise.estimate_noise` and the image's contrast,
        :math:`\lambda \propto \sigma_{eff}^{4/3}` with a floor for the model error of real
        blur (see :func:`_auto_lam`; calibrated for ``alpha=0.8``; written to ``info``).
    alpha : float, optional
        Exponent :math:`0 < \alpha \le 1` (1 gives TV-like soft thresholding; smaller values
        keep sharper edges and flatten more of the texture).
    num_iter : int, optional
        Number of iterations (the :math:`\beta` schedule counts in it).
    beta_init, beta_rate, beta_max : float, optional
        The continuation :math:`\beta_k = \min(\beta_0 r^k, \beta_{max})`; the ADMM penalty is
        :math:`\lambda\beta_k`.
    second_order : float, optional
        Relative weight :math:`s \ge 0` of the second-derivative term (0: gradient only).
    isotropic : bool, optional
        Euclidean norm over the derivatives at each pixel (default) or, as in Krishnan &
        Fergus, every derivative on its own.
    boundary : str, optional
        ``unknown`` (default), ``periodic``, ``reflect`` or ``taper``.
    tol : float, optional
        Stop early, once :math:`\beta` has reached ``beta_max``, when the relative change
        :math:`\|x_k - x_{k-1}\| / \|x_k\|` is below ``tol`` (for ``alpha=1`` the relative
        residual of the split, :math:`\|\nabla x_k - w_k\| / \|\nabla x_k\|`, too). For
        :math:`\alpha < 1` the iteration settles into small oscillations of pixels at the
        shrinkage threshold rather than converging exactly, so very small tolerances are
        never met.
    callback : callable, optional
        Called as ``callback(iteration, estimate)`` after each iteration (from 1), with a copy
        of the current estimate cropped to the image's shape.
    info : dict, optional
        Receives ``lam`` (and ``noise_sigma`` when chosen automatically), ``iterations`` and,
        with ``tol``, ``relative_change``.

    Returns
    -------
    numpy.ndarray
        Restored image, same shape and dtype as ``image``.

    Raises
    ------
    InvalidParameterError
        For parameters out of range (``alpha`` outside (0, 1], non-positive ``lam``,
        ``beta_init``, ``beta_max`` or ``tol``, ``beta_rate < 1``, negative ``second_order``,
        ``num_iter < 1``) or an unknown boundary.

    References
    ----------
    D. Krishnan, R. Fergus, "Fast image deconvolution using hyper-Laplacian priors", NIPS 2009.
    A. Levin, R. Fergus, F. Durand, W. T. Freeman, "Image and depth from a conventional camera
    with a coded aperture", ACM SIGGRAPH 2007.
    M. S. C. Almeida, M. A. T. Figueiredo, "Deconvolving images with unknown boundaries using
    the alternating direction method of multipliers", IEEE TIP 22(8), 2013, pp. 3074-3086.
    W. Zuo, D. Meng, L. Zhang, X. Feng, D. Zhang, "A generalized iterated shrinkage algorithm
    for non-convex sparse coding", ICCV 2013.

    Examples
    --------
    >>> import numpy as np
    >>> from unblur import add_noise, blur, psf
    >>> from unblur.restore.sparse import hyper_laplacian
    >>> x = np.zeros((64, 64), np.float32); x[16:48, 16:48] = 1
    >>> k = psf.motion(9, angle=20)
    >>> y = add_noise(blur(x, k, boundary="valid"), gaussian=0.01, rng=0)
    >>> x_hat = hyper_laplacian(y, k, num_iter=60)
    >>> (r, c), (h, w) = [p // 2 for p in k.shape], y.shape
    >>> inner = x[r : r + h, c : c + w]  # the part of x that the valid observation sees
    >>> bool(np.mean((x_hat - inner) ** 2) < 0.5 * np.mean((y - inner) ** 2))
    True
    """
    num_iter = check_int("num_iter", num_iter)
    alpha = check_number("alpha", alpha)
    if alpha > 1:
        raise InvalidParameterError(f"alpha must be in (0, 1], got {alpha}")
    beta_init = check_number("beta_init", beta_init)
    beta_max = check_number("beta_max", beta_max)
    beta_rate = check_number("beta_rate", beta_rate)
    if beta_rate < 1:
        raise InvalidParameterError(f"beta_rate must be >= 1, got {beta_rate}")
    second_order = check_number("second_order", second_order, allow_zero=True)
    if tol is not None:
        tol = check_number("tol", tol)
    if lam is None:
        lam = _auto_lam(image, _HL_LAM_SCALE, alpha, second_order, info)
    else:
        lam = check_number("lam", lam)
    if info is not None:
        info["lam"] = lam
    schedule = _schedule(beta_init, beta_rate, beta_max, num_iter)

    def betas(k: int) -> float:
        return schedule[min(k, len(schedule) - 1)]

    return admm(
        image,
        psf,
        lam=lam,
        second_order=second_order,
        alpha=alpha,
        isotropic=bool(isotropic),
        betas=betas,
        num_iter=num_iter,
        boundary=boundary,
        tol=tol,
        callback=callback,
        info=info,
    )


def _schedule(beta_init: float, beta_rate: float, beta_max: float, length: int) -> list[float]:
    r"""The continuation :math:`\beta_k = \min(\beta_0 r^k, \beta_{max})` up to its last value."""
    out = [min(beta_init, beta_max)]
    while beta_rate > 1 and out[-1] < beta_max and len(out) < length:
        out.append(min(out[-1] * beta_rate, beta_max))
    return out
