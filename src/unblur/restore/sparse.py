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

The splitting (Almeida & Figueiredo 2013) introduces :math:`v = Hx` (only when there are
unobserved pixels), :math:`z = \nabla x` and :math:`z_2 = \nabla^2 x`; scaled ADMM with penalty
:math:`\rho` then alternates

* an :math:`x` step, the quadratic problem
  :math:`(\rho_v H^\top H + \rho\,\nabla^\top\nabla + \rho s\,\nabla^{2\top}\nabla^2)\,x = \ldots`
  solved exactly in Fourier (every operator is a circular convolution on the grid;
  :math:`\rho_v = \rho` with the split, and the data term enters directly, :math:`\rho_v = 1`,
  without it);
* a :math:`v` step, diagonal in space,
  :math:`v = (M y + \rho\,(Hx + u_v)) / (M + \rho)`: observed pixels are pulled towards the
  data, the others are free, so nothing wraps around the grid;
* a :math:`z` step, one small problem per pixel: group soft thresholding for :math:`\alpha = 1`,
  the hyper-Laplacian shrinkage of Krishnan & Fergus (2009) otherwise
  (see :func:`_shrink_lp`).

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
from ..backend import array_module, to_numpy
from ..errors import InvalidParameterError
from ..noise import estimate_noise
from ..operators import Boundary, difference_spectrum
from ..operators.differences import (
    gradient,
    gradient_adjoint,
    hessian,
    hessian_to_gradient_adjoint,
)
from . import register

__all__ = ["hyper_laplacian", "tv"]

#: Automatic weight (see :func:`_auto_lam`): constants of
#: :math:`\lambda = \frac{K}{1+s}\, a^{2-\alpha} (\sigma_{eff}/a)^{4/3}`, fitted on synthetic
#: valid blur (noise 0.25-3 %) and the Levin et al. (2009) real camera shake.
_TV_LAM_SCALE = 0.345
_HL_LAM_SCALE = 0.28
_LAM_EXPONENT = 4.0 / 3.0
#: Model error of real blur (the PSF is never exact), as a fraction of the image's range: the
#: floor of the effective noise level, 1.5/255 on an image spanning the whole [0, 1].
_MODEL_ERROR = 0.006
#: Default ADMM penalty of :func:`tv` relative to ``lam`` (:math:`\rho = \beta\lambda`).
_TV_BETA = 100.0
#: Newton steps of the hyper-Laplacian shrinkage (after one fixed-point step): enough for a
#: relative accuracy of about 1e-5.
_NEWTON_STEPS = 2
#: float32 data larger than this (in absolute value) are solved in float64: the x step's
#: right-hand side scales as the data to the power 3 - alpha and would overflow float32.
_FLOAT32_MAX_DATA = 1e12


# --------------------------------------------------------------------------------------------
# shrinkage
# --------------------------------------------------------------------------------------------
def _lp_threshold(alpha: float, beta: float) -> tuple[float, float]:
    r"""Threshold :math:`\tau` of the :math:`\ell_\alpha` shrinkage and the root there.

    For :math:`f(w) = |w|^\alpha + \frac\beta2 (w - v)^2` the minimiser is zero when
    :math:`|v| \le \tau` and the largest root of
    :math:`w - |v| + \frac\alpha\beta w^{\alpha-1} = 0` otherwise, with (Zuo et al. 2013)

    .. math:: w_\tau = \big(2(1-\alpha)/\beta\big)^{1/(2-\alpha)}, \qquad
              \tau = w_\tau + \frac\alpha\beta w_\tau^{\alpha-1}.
    """
    c = 1.0 / beta
    w_tau = (2.0 * c * (1.0 - alpha)) ** (1.0 / (2.0 - alpha))
    return w_tau + c * alpha * w_tau ** (alpha - 1.0), w_tau


def _shrink_lp(v: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    r"""Solve :math:`\min_w |w|^\alpha + \frac\beta2 (w - v)^2` elementwise.

    For :math:`\alpha = 1` this is soft thresholding at :math:`1/\beta`. For
    :math:`0 < \alpha < 1` the problem is the hyper-Laplacian subproblem of Krishnan & Fergus
    (2009): below the threshold :math:`\tau` of :func:`_lp_threshold` the answer is zero,
    above it the largest root of :math:`g(w) = w - |v| + \frac\alpha\beta w^{\alpha-1}`, found
    by one fixed-point step from :math:`|v|` (Zuo et al. 2013) and Newton steps. :math:`g` is
    convex on :math:`w > 0` and the iterates start right of the root, so Newton's method
    decreases monotonically onto it. Only entries above the threshold are iterated and the
    iterates are kept at or above :math:`w_\tau > 0` (the root is never smaller), so no power
    of zero and no division by zero is ever taken.
    """
    mag = np.abs(v)
    if alpha == 1.0:
        return np.sign(v) * np.maximum(mag - 1.0 / beta, 0)
    return np.sign(v) * _shrink_magnitude(mag, alpha, beta)


def _shrink_magnitude(mag: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """:func:`_shrink_lp` for non-negative ``mag`` (returns a new array of its dtype)."""
    dtype = mag.dtype
    if alpha == 1.0:
        return np.maximum(mag - dtype.type(1.0 / beta), 0)
    tau, w_tau = _lp_threshold(alpha, beta)
    out = np.zeros_like(mag)
    above = mag > dtype.type(tau)
    s = mag[above]  # only these have a non-zero minimiser (often well under half)
    if s.size == 0:
        return out
    ca = dtype.type(alpha / beta)
    am1 = dtype.type(alpha - 1.0)
    w = np.power(s, am1)  # one fixed-point step: w = s - (alpha/beta) s^(alpha-1) >= root
    w *= -ca
    w += s
    np.maximum(w, dtype.type(w_tau), out=w)
    p = np.empty_like(w)
    g = np.empty_like(w)
    for _ in range(_NEWTON_STEPS):
        np.power(w, am1, out=p)  # w^(alpha-1)
        p *= ca
        np.subtract(w, s, out=g)
        g += p  # g(w) = w - s + (alpha/beta) w^(alpha-1)
        p *= am1
        p /= w
        p += 1  # g'(w) = 1 + (alpha/beta)(alpha-1) w^(alpha-2) > 0 right of the root
        g /= p
        w -= g
        np.maximum(w, dtype.type(w_tau), out=w)  # the root is never below w_tau
    out[above] = w
    return out


def _shrink_groups(t: np.ndarray, alpha: float, beta: float, z: np.ndarray, isotropic: bool):
    r"""Proximal step of :math:`\|\cdot\|^\alpha` with weight :math:`1/\beta` on ``t``.

    With ``isotropic`` the norm is Euclidean over the first axis (a radial shrinkage of the
    vector at each pixel); otherwise every component is shrunk on its own. Writes the minimiser
    into ``z`` and the residual ``t - z`` (the new scaled dual) into ``t``.
    """
    if isotropic:
        mag = np.sqrt(np.einsum("i...,i...->...", t, t))
        factor = _shrink_magnitude(mag, alpha, beta)
        np.maximum(mag, np.finfo(t.dtype).tiny, out=mag)
        factor /= mag  # zero wherever the magnitude is zero: the shrinkage maps 0 to 0
        np.multiply(t, factor, out=z)
    else:
        z[...] = _shrink_lp(t, alpha, beta)
    t -= z


# --------------------------------------------------------------------------------------------
# automatic weight
# --------------------------------------------------------------------------------------------
def _percentile_range(image: np.ndarray) -> tuple[float, float]:
    """``(low, span)``: the 1st percentile and the 1st-99th percentile range (1 if flat).

    The contrast scale the automatic weights of this module and of :mod:`.pnp` work in.
    """
    low, high = (float(v) for v in np.percentile(image, [1.0, 99.0]))
    span = high - low
    return low, span if span > 0 else 1.0


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
    span = _percentile_range(host)[1]  # a constant image: any weight gives the same answer
    effective = math.sqrt(sigma**2 + (_MODEL_ERROR * span) ** 2)
    lam = scale / (1.0 + second_order) * span ** (2.0 - alpha)
    lam *= (effective / span) ** _LAM_EXPONENT
    if info is not None:
        info["noise_sigma"] = sigma
    return lam


def _relative(difference: np.ndarray, reference: np.ndarray) -> float:
    r""":math:`\|d\| / \|r\|` (zero when both vanish)."""
    diff = math.sqrt(float(np.vdot(difference.ravel(), difference.ravel())))
    norm = math.sqrt(float(np.vdot(reference.ravel(), reference.ravel())))
    return diff / norm if norm > 0 else (0.0 if diff == 0 else math.inf)


# --------------------------------------------------------------------------------------------
# the solver both methods share
# --------------------------------------------------------------------------------------------
def _admm(
    image: np.ndarray,
    psf: np.ndarray,
    *,
    lam: float,
    second_order: float,
    alpha: float,
    isotropic: bool,
    betas: Callable[[int], float],
    num_iter: int,
    boundary: str,
    tol: float | None,
    callback: Callable[[int, np.ndarray], None] | None,
    info: dict | None,
) -> np.ndarray:
    r"""Scaled ADMM for the energy of the module docstring; penalty :math:`\rho_k = \beta_k\lambda`.

    ``betas(k)`` gives the penalty of iteration ``k`` relative to ``lam`` (the
    :math:`\beta` of the shrinkage); when it changes, the scaled duals are rescaled so the
    unscaled multipliers carry over (Boyd et al. 2011, §3.4.1).
    """
    out_dtype = image.dtype
    if out_dtype == np.float32 and float(abs(image).max()) > _FLOAT32_MAX_DATA:
        image = image.astype(np.float64)  # rho * D^T z grows as the data cubed: float32 overflows
    dtype = image.dtype
    bc = Boundary.create(boundary, image.shape, psf, dtype=dtype)
    op = bc.operator
    ndim = image.ndim
    masked = bc.mask is not None
    region = bc.region
    otf, otf_conj = op.otf, op.otf.conj()
    xp = array_module(image)
    spectrum_1 = difference_spectrum(bc.grid_shape, 1, dtype=dtype, xp=xp)
    spectrum_2 = difference_spectrum(bc.grid_shape, 2, dtype=dtype, xp=xp) if second_order else None

    x = bc.extend(image).astype(dtype, copy=True)
    grad = gradient(x)
    z1 = grad.copy()
    u1 = np.zeros_like(grad)
    if second_order:
        hess = hessian(grad)
        z2 = hess.copy()
        u2 = np.zeros_like(hess)
    q = np.empty_like(grad)  # the argument of the gradient adjoint in the x step
    scratch = np.empty_like(x)
    rhs = np.empty_like(x)
    if masked:
        v = op.forward(x)
        uv = np.zeros_like(x)
        data = np.empty_like(x)  # rho (v - u_v)
    else:
        data_hat = otf_conj * op.fft(x)  # H^T y in Fourier, y the extended observation
    previous = np.empty_like(x) if tol is not None else None
    # transforms write into these (allocated once): the x step's spectrum, the data's (or
    # the v step's) spectrum
    rhs_hat = op.spectrum_buffer()
    aux_hat = op.spectrum_buffer() if masked else None
    if masked:
        v_region = v[region]  # views into v, whose buffer is reused every iteration

    rho_prev = None
    inv_denominator = None
    change = math.inf
    iterations = 0
    for k in range(num_iter):
        rho = betas(k) * lam
        if rho != rho_prev:
            if rho_prev is not None:  # keep the unscaled multipliers rho * u
                ratio = rho_prev / rho
                u1 *= ratio
                if second_order:
                    u2 *= ratio
                if masked:
                    uv *= ratio
            denominator = (rho if masked else 1.0) * op.otf_power + rho * spectrum_1
            if second_order:
                denominator += (rho * second_order) * spectrum_2
            inv_denominator = (1.0 / np.maximum(denominator, np.finfo(dtype).tiny)).astype(dtype)
            rho_prev = rho

        # ---- x step: (rho_v H^T H + rho D^T D + rho s D2^T D2) x = rho_v H^T d + ... --------
        np.subtract(z1, u1, out=q)
        if second_order:
            np.subtract(z2, u2, out=hess)
            hess *= second_order
            hessian_to_gradient_adjoint(hess, ndim, q, scratch)
        gradient_adjoint(q, out=rhs, scratch=scratch)
        rhs *= rho
        op.fft_into(rhs, rhs_hat)
        if masked:
            np.subtract(v, uv, out=data)
            data *= rho
            op.fft_into(data, aux_hat)
            aux_hat *= otf_conj
            rhs_hat += aux_hat
        else:
            rhs_hat += data_hat
        rhs_hat *= inv_denominator
        if previous is not None:
            x, previous = previous, x
        if masked:
            np.copyto(aux_hat, rhs_hat)  # the inverse transform overwrites its input
        x = op.ifft_into(rhs_hat, x)

        # ---- v step (unknown boundary): data on observed pixels, free elsewhere -----------
        if masked:
            aux_hat *= otf
            op.ifft_into(aux_hat, v)
            v += uv  # t = Hx + u_v
            uv[...] = v  # keep t; v = t outside the observation
            v_region *= rho  # v = (y + rho t) / (1 + rho) on the observed pixels
            v_region += image
            v_region /= 1.0 + rho
            uv -= v  # u_v = t - v

        # ---- z steps: shrinkage of the gradient (and Hessian) plus scaled duals ------------
        beta = rho / lam
        gradient(x, out=grad)
        u1 += grad
        _shrink_groups(u1, alpha, beta, z1, isotropic)
        if second_order:
            hessian(grad, out=hess)
            u2 += hess
            _shrink_groups(u2, alpha, beta, z2, isotropic)

        iterations = k + 1
        if previous is not None:
            np.subtract(x, previous, out=previous)  # x_{k-1} is not needed any more
            change = _relative(previous, x)
            if alpha == 1.0:  # convex: the split z = grad x must also be met (primal residual)
                change = max(change, _relative(grad - z1, grad))
        if callback is not None:
            callback(iterations, bc.crop(x).copy())
        if tol is not None and change < tol and betas(k + 1) == betas(k):
            break

    if info is not None:
        info["iterations"] = iterations
        if tol is not None:
            info["relative_change"] = change
    return bc.crop(x).astype(out_dtype, copy=True)


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
    return _admm(
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

    return _admm(
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
