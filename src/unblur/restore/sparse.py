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
from ._admm import Penalties, admm
from ._common import MODEL_ERROR, check_mask, percentile_range
from ._priors import lp_threshold as _lp_threshold  # noqa: F401  (tests import it from here)
from ._priors import shrink_lp as _shrink_lp  # noqa: F401

__all__ = ["hyper_laplacian", "tv"]

#: Automatic weight (see :func:`_auto_lam`): constants of
#: :math:`\lambda = \frac{K}{1+s}\, a^{2-\alpha} (\sigma_{eff}/a)^{4/3}`, fitted on synthetic
#: valid blur (noise 0.25-3 %) and the Levin et al. (2009) real camera shake.
_TV_LAM_SCALE = 0.345
_HL_LAM_SCALE = 0.28
_LAM_EXPONENT = 4.0 / 3.0
#: Default ADMM penalties (see :func:`_penalty`): the prior splits' penalty is
#: :math:`\rho = \beta\,\lambda / a^{2-\alpha}` (a pure number: it does not change when the
#: image is scaled), the data split's :math:`\gamma\rho`, and the over-relaxation :math:`r`.
#: Measured on the Levin et al. (2009) photographs, synthetic valid blur of them and a broad
#: seeded synthetic set (``docs/notes/tv_speed.md``).
_TV_BETA = 15.0
_GAMMA = 20.0
_RELAX = 1.5
#: Default stopping rule: the RMS change of the estimate in one iteration below this fraction
#: of the image's contrast :math:`a` (and the largest number of iterations) ...
_TOL = 1e-3
_MAX_ITER = 100
#: ... for images of ``_TOL_PIXELS`` pixels (per channel) or more; a smaller image, whose
#: iterations cost little, converges further: its tolerance is ``_TOL`` times the square root
#: of its share of ``_TOL_PIXELS``, but at least ``_TOL_FLOOR`` times ``_TOL``
#: (:func:`default_tol`).
_TOL_PIXELS = 2**20
_TOL_FLOOR = 0.25
#: The continuation of :func:`hyper_laplacian` (Krishnan & Fergus 2009): :math:`\beta` from
#: ``_HL_BETA_INIT`` by a factor ``_HL_BETA_RATE`` per iteration up to ``_HL_BETA_MAX``.
_HL_BETA_INIT = 1.0
_HL_BETA_RATE = math.sqrt(2.0)
_HL_BETA_MAX = 400.0
_HL_GAMMA = _GAMMA


# --------------------------------------------------------------------------------------------
# automatic weight
# --------------------------------------------------------------------------------------------


def default_tol(pixels: int) -> float:
    r"""The default stopping tolerance of :func:`tv` (``tol="auto"``).

    ``_TOL`` (1e-3) for an image of a megapixel (``_TOL_PIXELS``) or more per channel; below,
    :math:`10^{-3}\sqrt{n / 2^{20}}` for :math:`n` pixels, at least :math:`2.5 \times 10^{-4}`
    (from 256² pixels down). An iteration's cost grows with the pixel count, so a small image
    converges further at a cost of milliseconds, while a photograph keeps the tolerance whose
    time was measured (``docs/notes/tv_speed.md``).

    Examples
    --------
    >>> from unblur.restore.sparse import default_tol
    >>> default_tol(2048 * 2048), default_tol(512 * 512), default_tol(255 * 255)
    (0.001, 0.0005, 0.00025)
    """
    return _TOL * min(1.0, max(_TOL_FLOOR, math.sqrt(pixels / _TOL_PIXELS)))


def _resolve_tol(tol: float | str | None, image: np.ndarray) -> float | None:
    if tol is None:
        return None
    if isinstance(tol, str):
        if tol != "auto":
            raise InvalidParameterError(
                f"tol must be a positive number, None or 'auto', got {tol!r}"
            )
        return default_tol(image.size)
    return check_number("tol", tol)


def _statistics(image: np.ndarray) -> tuple[float, float]:
    """``(sigma, a)``: the noise level and the contrast (1st-99th percentile range)."""
    host = to_numpy(image)  # these statistics run on the CPU (one copy of a GPU image)
    return estimate_noise(host), percentile_range(host)[1]


def _auto_lam(
    relative_sigma: float,
    scale: float,
    alpha: float,
    second_order: float,
    model_error: float = MODEL_ERROR,
) -> float:
    r"""Prior weight for the image divided by its contrast :math:`a`, from its noise level.

    .. math:: \lambda = \frac{K}{1 + s}
              \left(\frac{\sigma_{eff}}{a}\right)^{4/3}, \qquad
              \sigma_{eff}^2 = \hat\sigma^2 + (\epsilon a)^2,

    with :math:`\hat\sigma` from :func:`unblur.noise.estimate_noise`, :math:`a` the range of
    the image between its 1st and 99th percentiles and :math:`\epsilon` = ``model_error``,
    by default 0.006, the relative model error of real blur (measured on the Levin et al. 2009
    photographs, whose wavelet noise estimate of about 0.55/255 is well below their effective
    noise of about 1.2/255); an estimated kernel's own error adds to it
    (:func:`unblur.api.kernel_error_rule`).
    In the image's own units the weight is :math:`a^{2-\alpha}\lambda`: it scales as the
    energy does. Its growth with the noise, :math:`\sigma^{4/3}` rather than the
    :math:`\sigma^2` of a maximum a posteriori argument, is what maximised the PSNR over noise
    levels 0.25-3 %.
    """
    return scale / (1.0 + second_order) * math.hypot(relative_sigma, model_error) ** _LAM_EXPONENT


def _penalty(beta: float, lam: float) -> float:
    r"""The ADMM penalty :math:`\rho = \beta\lambda` of the normalised problem (a pure
    number: the same whatever the image's magnitude)."""
    return beta * lam


def _in_units(lam: float, span: float, alpha: float) -> float:
    r"""A normalised weight in the image's units, :math:`a^{2-\alpha}\lambda` (inf if too
    large for a float)."""
    try:
        return lam * span ** (2.0 - alpha)
    except OverflowError:
        return math.inf


# --------------------------------------------------------------------------------------------
# public methods
# --------------------------------------------------------------------------------------------
@register("tv", iterative=True, gpu=True)
def tv(
    image: np.ndarray,
    psf: np.ndarray,
    *,
    lam: float | None = None,
    model_error: float = MODEL_ERROR,
    num_iter: int = _MAX_ITER,
    tol: float | str | None = "auto",
    rho: float | None = None,
    second_order: float = 0.5,
    boundary: str = "unknown",
    mask: np.ndarray | None = None,
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
    scene beyond the frame is estimated instead of assumed. Each iteration costs two transform
    pairs of the grid (one for the other boundary models without a ``mask``) and three
    element-wise passes, fused and multi-threaded (:mod:`unblur.restore._kernels`).

    Parameters
    ----------
    image : numpy.ndarray
        Blurred float image (nD, float32 or float64).
    psf : numpy.ndarray or PSFField
        Normalised PSF with the image's number of dimensions, or a
        :class:`~unblur.psf.PSFField` built for the image's shape (a spatially varying blur,
        :mod:`unblur.operators.field`), with every boundary model. Its x steps are then
        solved by conjugate gradients (:mod:`unblur.restore._admm`).
    lam : float, optional
        Weight :math:`\lambda > 0` of the TV term. Default: from the noise level
        :math:`\hat\sigma` of :func:`unblur.noise.estimate_noise` and the image's contrast,
        :math:`\lambda \propto \sigma_{eff}^{4/3}` with a floor for the model error of real
        blur (see :func:`_auto_lam`; written to ``info``).
    model_error : float, optional
        That floor, :math:`\epsilon`: the relative error of the blur model, added to the noise
        level in the automatic weight as :math:`\sigma_{eff}^2 = \hat\sigma^2 + (\epsilon
        a)^2`. Default 0.006 (real blur, a measured PSF); :func:`unblur.deconvolve` raises it
        for a free-form kernel estimated from a noisy photograph
        (:func:`unblur.api.kernel_error_rule`).
        Ignored when ``lam`` is given.
    num_iter : int, optional
        Largest number of ADMM iterations (default 100; the stopping rule ends the defaults
        after 8-20 on photographs).
    tol : float, "auto" or None, optional
        Stop once the RMS change of the estimate in one iteration, over the observed pixels,
        is below ``tol`` times the image's contrast :math:`a` (its 1st-99th percentile range).
        ``"auto"`` (default): 1e-3 from a megapixel (per channel) up, within about 0.05 dB of
        the converged result on photographs, and smaller below, where iterations are cheap:
        5e-4 at 512², 2.5e-4 from 256² down (:func:`default_tol`; measured,
        ``docs/notes/tv_speed.md``). ``None`` runs ``num_iter`` iterations.
    rho : float, optional
        ADMM penalty :math:`\rho > 0` of the prior splits, for the image divided by its
        contrast :math:`a` (a pure number: it does not change when the image is scaled). Any
        value converges; it sets the speed. Default :math:`15\lambda/a`; the data split's
        penalty is 20 times larger and the iteration is over-relaxed (:math:`r = 1.5`, Boyd et
        al. 2011, §3.4.3), which together reach the converged result about ten times sooner
        than a single penalty.
    second_order : float, optional
        Relative weight :math:`s \ge 0` of the second-order (Hessian) term; ``0`` is pure
        (ROF) TV. The default 0.5 avoids the staircasing of pure TV on natural images
        (+0.4 dB on the Levin et al. 2009 photographs).
    boundary : str, optional
        ``unknown`` (default, the physical model of a photograph), ``periodic``, ``reflect``
        or ``taper`` (see :mod:`unblur.operators`).
    mask : numpy.ndarray of bool, optional
        The image's shape; True where a pixel is observed and trusted. The others (clipped
        highlights, dead pixels) are left out of the data term, as the frame's surroundings
        are with ``boundary="unknown"``: the prior fills them in.
    callback : callable, optional
        Called as ``callback(iteration, estimate)`` after each iteration (from 1), with a copy
        of the current estimate cropped to the image's shape.
    info : dict, optional
        Receives ``lam``, ``rho`` (and ``noise_sigma`` when ``lam`` was chosen automatically),
        ``tol`` (the tolerance used), ``iterations``, ``stopped_by`` (``"tol"`` or
        ``"num_iter"``), with a tolerance ``relative_change`` (the last RMS change over
        :math:`a`), and ``fused`` (whether the compiled element-wise passes ran, see
        :mod:`unblur.restore._kernels`).

    Returns
    -------
    numpy.ndarray
        Restored image, same shape and dtype as ``image``.

    Raises
    ------
    InvalidParameterError
        For a non-positive ``lam``, ``rho`` or ``tol``, a negative ``second_order``, a
        ``num_iter`` below one, an unknown boundary or a mask that is not a boolean array of
        the image's shape with an observed pixel.
    InvalidImageError
        When the iteration produces non-finite values.

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
    tol = _resolve_tol(tol, image)
    if info is not None:
        info["tol"] = tol
    mask = check_mask(mask, image)
    model_error = check_number("model_error", model_error, allow_zero=True)
    sigma, span = _statistics(image)
    if lam is None:
        lam_n = _auto_lam(sigma / span, _TV_LAM_SCALE, 1.0, second_order, model_error)
        if info is not None:
            info["noise_sigma"] = sigma
    else:
        lam_n = check_number("lam", lam) / span
    rho = _penalty(_TV_BETA, lam_n) if rho is None else check_number("rho", rho)
    if info is not None:
        info["lam"] = _in_units(lam_n, span, 1.0)
        info["rho"] = rho
    return admm(
        image,
        psf,
        lam=lam_n,
        second_order=second_order,
        alpha=1.0,
        isotropic=True,
        penalties=Penalties(rho, _GAMMA, _RELAX),
        num_iter=num_iter,
        boundary=boundary,
        tol=tol,
        scale=span,
        mask=mask,
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
    num_iter: int = _MAX_ITER,
    tol: float | None = _TOL,
    beta_init: float = _HL_BETA_INIT,
    beta_rate: float = _HL_BETA_RATE,
    beta_max: float = _HL_BETA_MAX,
    second_order: float = 0.5,
    isotropic: bool = True,
    boundary: str = "unknown",
    mask: np.ndarray | None = None,
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
    psf : numpy.ndarray or PSFField
        Normalised PSF with the image's number of dimensions, or a
        :class:`~unblur.psf.PSFField` built for the image's shape (a spatially varying blur,
        :mod:`unblur.operators.field`), with every boundary model. Its x steps are then
        solved by conjugate gradients (:mod:`unblur.restore._admm`).
    lam : float, optional
        Prior weight :math:`\lambda > 0`. Default: from the noise level :math:`\hat\sigma` of
        :func:`unblur.noise.estimate_noise` and the image's contrast,
        :math:`\lambda \propto \sigma_{eff}^{4/3}` with a floor for the model error of real
        blur (see :func:`_auto_lam`; calibrated for ``alpha=0.8``; written to ``info``).
    alpha : float, optional
        Exponent :math:`0 < \alpha \le 1` (1 gives TV-like soft thresholding; smaller values
        keep sharper edges and flatten more of the texture).
    num_iter : int, optional
        Largest number of iterations (the :math:`\beta` schedule counts in it; default 100).
    tol : float, "auto" or None, optional
        Stop, once :math:`\beta` has reached ``beta_max``, when the RMS change of the estimate
        over the observed pixels is below ``tol`` times the image's contrast (default 1e-3,
        which ends the defaults when the continuation does: 18 iterations). Iterating further
        still gains on real photographs (``docs/notes/tv_speed.md``), but the non-convex
        iteration's change settles near 4e-4 on them, so :func:`tv`'s smaller tolerances for
        small images (``"auto"``, :func:`default_tol`) run to ``num_iter`` here. ``None`` runs
        ``num_iter`` iterations.
    beta_init, beta_rate, beta_max : float, optional
        The continuation :math:`\beta_k = \min(\beta_0 r^k, \beta_{max})`; the ADMM penalty
        of the prior splits is :math:`\beta_k\lambda` (for the image divided by its contrast),
        the data split's 20 times that, and the iteration is over-relaxed (1.5) once the
        continuation has ended.
    second_order : float, optional
        Relative weight :math:`s \ge 0` of the second-derivative term (0: gradient only).
    isotropic : bool, optional
        Euclidean norm over the derivatives at each pixel (default) or, as in Krishnan &
        Fergus, every derivative on its own.
    boundary : str, optional
        ``unknown`` (default), ``periodic``, ``reflect`` or ``taper``.
    mask : numpy.ndarray of bool, optional
        True where a pixel is observed and trusted; the others leave the data term (see
        :func:`tv`).
    callback : callable, optional
        Called as ``callback(iteration, estimate)`` after each iteration (from 1), with a copy
        of the current estimate cropped to the image's shape.
    info : dict, optional
        Receives ``lam`` (and ``noise_sigma`` when chosen automatically), ``tol`` (the
        tolerance used), ``iterations``,
        ``stopped_by``, ``fused`` and, with ``tol``, ``relative_change``.

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
    tol = _resolve_tol(tol, image)
    if info is not None:
        info["tol"] = tol
    mask = check_mask(mask, image)
    sigma, span = _statistics(image)
    if lam is None:
        lam_n = _auto_lam(sigma / span, _HL_LAM_SCALE, alpha, second_order)
        if info is not None:
            info["noise_sigma"] = sigma
    else:
        lam_n = check_number("lam", lam) / span ** (2.0 - alpha)
    if info is not None:
        info["lam"] = _in_units(lam_n, span, alpha)
    schedule = tuple(b * lam_n for b in _schedule(beta_init, beta_rate, beta_max, num_iter))
    return admm(
        image,
        psf,
        lam=lam_n,
        second_order=second_order,
        alpha=alpha,
        isotropic=bool(isotropic),
        penalties=Penalties(schedule[-1], _HL_GAMMA, _RELAX, schedule),
        num_iter=num_iter,
        boundary=boundary,
        tol=tol,
        scale=span,
        mask=mask,
        callback=callback,
        info=info,
    )


def _schedule(beta_init: float, beta_rate: float, beta_max: float, length: int) -> list[float]:
    r"""The continuation :math:`\beta_k = \min(\beta_0 r^k, \beta_{max})` up to its last value."""
    out = [min(beta_init, beta_max)]
    while beta_rate > 1 and out[-1] < beta_max and len(out) < length:
        out.append(min(out[-1] * beta_rate, beta_max))
    return out
