r"""Proximal operators of the sparse derivative priors: soft and hyper-Laplacian shrinkage.

The :math:`z` step of the sparse-prior solvers (:mod:`unblur.restore._admm`) is, at every
pixel, the proximal map of :math:`\|\cdot\|^\alpha` with weight :math:`1/\beta`,

.. math:: \operatorname{prox}(t) = \arg\min_w \|w\|^\alpha + \frac\beta2 \|w - t\|^2,

group soft thresholding for :math:`\alpha = 1` (total variation) and the hyper-Laplacian
shrinkage of Krishnan & Fergus (2009) for :math:`0 < \alpha < 1`, with the threshold of Zuo et
al. (2013). The priors live here, apart from the solver, so a new prior is a new proximal map.

References
----------
D. Krishnan, R. Fergus, "Fast image deconvolution using hyper-Laplacian priors", NIPS 2009.
W. Zuo, D. Meng, L. Zhang, X. Feng, D. Zhang, "A generalized iterated shrinkage algorithm for
non-convex sparse coding", ICCV 2013.
"""

from __future__ import annotations

import numpy as np

__all__ = ["lp_threshold", "shrink_groups", "shrink_lp", "shrink_magnitude"]

#: Newton steps of the hyper-Laplacian shrinkage (after one fixed-point step): enough for a
#: relative accuracy of about 1e-5.
_NEWTON_STEPS = 2


# --------------------------------------------------------------------------------------------
def lp_threshold(alpha: float, beta: float) -> tuple[float, float]:
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


def shrink_lp(v: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    r"""Solve :math:`\min_w |w|^\alpha + \frac\beta2 (w - v)^2` elementwise.

    For :math:`\alpha = 1` this is soft thresholding at :math:`1/\beta`. For
    :math:`0 < \alpha < 1` the problem is the hyper-Laplacian subproblem of Krishnan & Fergus
    (2009): below the threshold :math:`\tau` of :func:`lp_threshold` the answer is zero,
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
    return np.sign(v) * shrink_magnitude(mag, alpha, beta)


def shrink_magnitude(mag: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """:func:`shrink_lp` for non-negative ``mag`` (returns a new array of its dtype)."""
    dtype = mag.dtype
    if alpha == 1.0:
        return np.maximum(mag - dtype.type(1.0 / beta), 0)
    tau, w_tau = lp_threshold(alpha, beta)
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


def shrink_groups(t: np.ndarray, alpha: float, beta: float, z: np.ndarray, isotropic: bool):
    r"""Proximal step of :math:`\|\cdot\|^\alpha` with weight :math:`1/\beta` on ``t``.

    With ``isotropic`` the norm is Euclidean over the first axis (a radial shrinkage of the
    vector at each pixel); otherwise every component is shrunk on its own. Writes the minimiser
    into ``z`` and the residual ``t - z`` (the new scaled dual) into ``t``.
    """
    if isotropic:
        mag = np.sqrt(np.einsum("i...,i...->...", t, t))
        factor = shrink_magnitude(mag, alpha, beta)
        np.maximum(mag, np.finfo(t.dtype).tiny, out=mag)
        factor /= mag  # zero wherever the magnitude is zero: the shrinkage maps 0 to 0
        np.multiply(t, factor, out=z)
    else:
        z[...] = shrink_lp(t, alpha, beta)
    t -= z
