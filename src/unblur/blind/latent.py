r"""The latent-image sub-problem of the free-form estimator: L0 prior and edge selection.

**Latent image** with the L0 prior on intensities and gradients (Pan, Hu, Su & Yang 2014),

.. math:: \min_x \|k * x - y\|^2 + \lambda_i \|x\|_0 + \lambda_g \|\nabla x\|_0 ,

solved by half-quadratic splitting (Xu, Lu, Xu & Jia 2011): with auxiliary variables
:math:`u \approx x` and :math:`g \approx \nabla x` and a penalty :math:`\beta` doubled from
:math:`2\lambda_g` to :math:`10^5`, each step hard-thresholds (:math:`u = x [x^2 \ge
\lambda_i/\beta]`, :math:`g = \nabla x\, [|\nabla x|^2 \ge \lambda_g/\beta]`) and then solves
the quadratic problem in closed form in the Fourier domain,

.. math:: \hat x = \frac{\overline{\hat k}\,\hat y + \beta(\hat u + \overline{\hat D}\cdot\hat g)}
          {|\hat k|^2 + \beta(1 + |\hat D|^2)} .

The L0 prior keeps only the salient edges of :math:`x` and flattens the rest, which is what
makes the kernel step well posed: a blurry latent image explains the data with a delta kernel.

**Edges** (Cho & Lee 2009; Xu & Jia 2010): a magnitude threshold is chosen so that a given
number of latent gradients survive in each of four orientation bins; weaker gradients are set
to zero before the kernel step, so that the kernel is fitted to strong, well-localised edges
in every direction.

References
----------
J. Pan, Z. Hu, Z. Su, M.-H. Yang, "Deblurring text images via L0-regularized intensity and
gradient prior", IEEE CVPR 2014, pp. 2901-2908.
L. Xu, C. Lu, Y. Xu, J. Jia, "Image smoothing via L0 gradient minimization", ACM TOG 30(6),
2011.
S. Cho, S. Lee, "Fast motion deblurring", ACM TOG 28(5), 2009.
L. Xu, J. Jia, "Two-phase kernel estimation for robust motion deblurring", ECCV 2010.
"""

from __future__ import annotations

import math

import numpy as np

from ..operators import Boundary, difference_spectrum
from ..operators.differences import gradient, gradient_adjoint

__all__ = ["edge_threshold", "l0_latent", "l0_penalties", "l0_splits"]

#: Half-quadratic splitting: the penalty grows by this factor up to this value.
_KAPPA = 2.0
_BETA_MAX = 1e5


def l0_penalties(lam_grad: float, lam_intensity: float):
    """The half-quadratic splitting's penalties :math:`\beta`: from twice the larger weight,
    doubled while below :math:`10^5`."""
    beta = 2.0 * max(lam_grad, lam_intensity)
    while beta < _BETA_MAX:
        yield beta
        beta *= _KAPPA


def l0_splits(
    x: np.ndarray, g: np.ndarray, lam_grad: float, lam_intensity: float, beta: float
) -> np.ndarray:
    """The auxiliary step at penalty ``beta``: :math:`g = \nabla x` hard-thresholded (into
    ``g``, ``(2, *x.shape)``) and :math:`u = x` hard-thresholded; returns the quadratic step's
    right-hand side :math:`\nabla^\top g + u` (:math:`u` only with ``lam_intensity`` > 0)."""
    gradient(x, out=g)
    g[:, g[0] * g[0] + g[1] * g[1] < lam_grad / beta] = 0.0
    rhs = gradient_adjoint(g)
    if lam_intensity > 0:
        rhs += np.where(x * x >= lam_intensity / beta, x, 0.0)
    return rhs


def l0_latent(
    y_grid: np.ndarray, bc: Boundary, lam_grad: float, lam_intensity: float
) -> np.ndarray:
    """L0 intensity-and-gradient latent image on the boundary grid (half-quadratic splitting)."""
    op = bc.operator
    kty = op.fft(y_grid) * np.conj(op.otf)
    d2 = difference_spectrum(op.shape, 1, dtype=np.float64)
    x = y_grid.copy()
    g = np.empty((2, *x.shape))
    for beta in l0_penalties(lam_grad, lam_intensity):
        rhs = l0_splits(x, g, lam_grad, lam_intensity, beta)
        denom = op.otf_power + beta * d2
        if lam_intensity > 0:
            denom = denom + beta
        x = op.ifft((kty + beta * op.fft(rhs)) / denom)
    return x


def edge_threshold(g0: np.ndarray, g1: np.ndarray, count: int) -> float:
    """Largest magnitude threshold leaving >= ``count`` pixels in each of 4 orientation bins."""
    mag = np.hypot(g0, g1)
    angle = np.mod(np.arctan2(g0, g1), np.pi)
    bins = np.minimum((angle / (np.pi / 4)).astype(np.int64), 3)
    t = math.inf
    for b in range(4):
        v = mag[bins == b]
        if v.size <= count:
            return 0.0
        t = min(t, float(np.partition(v, v.size - count)[v.size - count]))
    return t
