r"""A camera-motion model of a PSF field: translation plus in-plane rotation.

A camera that translates by :math:`s(t)` and turns by :math:`\theta(t)` about its optical axis
while the shutter is open images the scene point :math:`p` along the path
:math:`R(\theta(t))(p - o) + o + s(t)`. Written about the frame's centre :math:`c` (the rotation
centre :math:`o` only adds a translation), the displacement of :math:`p` is

.. math:: u(p, t) = a(t) + (R(\theta(t)) - I)(p - c),
          \qquad a(t) = s(t) + (R(\theta(t)) - I)(c - o),

so every PSF of the frame is a linear image of one *motion density* :math:`W(\theta, a)`, the
fraction of the exposure the camera spent at each pose (Whyte et al. 2012, whose projective
model this restricts to the roll axis and two translations; yaw and pitch of a long lens act
as translations):

.. math:: K_p = \sum_{l, a} W_{l a}\, \delta\big(\cdot - a - (R(\theta_l) - I)(p - c)\big)
          = P_p W ,

each delta drawn bilinearly on the pixel grid. The angles :math:`\theta_l` sample
:math:`[-\theta_{\max}, \theta_{\max}]`, with :math:`\theta_{\max} r = h`: the largest turn
that moves the frame's corners (distance :math:`r` from the centre) by the kernel's
half-width :math:`h`; the translations :math:`a` run over the kernel's support.

**Fitting W to regional estimates.** A blind estimate on a window is close to the window's
average PSF, :math:`\bar P_w W` with :math:`\bar P_w` the mean of :math:`P_p` over a few points
of the window. Given estimates :math:`k_w` with weights :math:`c_w`,

.. math:: \min_{W \ge 0} \sum_w c_w \|\bar P_w W - k_w\|^2 + \gamma \|W\|^2

is solved by accelerated projected gradients (Beck & Teboulle 2009), and re-solved with the
weights of iteratively reweighted least squares (a Cauchy weight
:math:`c_w / (1 + (\rho_w / \mathrm{median}\,\rho)^2)` of each estimate's relative residual
:math:`\rho_w`), so that a few wrong regional estimates do not bend the whole field. The
geometry ties every region to every other: a region whose own estimate is wrong gets the
kernel the others imply.

References
----------
O. Whyte, J. Sivic, A. Zisserman, J. Ponce, "Non-uniform deblurring for shaken images",
IJCV 98(2), 2012.
A. Beck, M. Teboulle, "A fast iterative shrinkage-thresholding algorithm for linear inverse
problems", SIAM J. Imaging Sci. 2(1), 2009.
P. W. Holland, R. E. Welsch, "Robust regression using iteratively reweighted least-squares",
Commun. Stat. Theory Methods 6(9), 1977.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import sparse

__all__ = ["ANGLES", "MotionModel", "fit_density", "fit_robust"]

#: Sampled angles of the motion density (odd: the middle one is zero).
ANGLES = 11


class MotionModel:
    r"""The linear map from a motion density :math:`W` (angles x kernel support) to the PSFs.

    Parameters
    ----------
    shape : (int, int)
        The frame's shape; the rotation is about its centre.
    side : (int, int)
        Odd shape of every PSF (and of the translations' support).
    angles : int, optional
        Number of sampled angles :math:`\theta_l` (made odd; the middle one is zero).
    """

    def __init__(self, shape: Sequence[int], side: Sequence[int], angles: int = ANGLES):
        self.shape = (int(shape[0]), int(shape[1]))
        self.side = (int(side[0]), int(side[1]))
        self.centre = np.array([(n - 1) / 2 for n in self.shape])
        radius = math.hypot(*self.centre)
        count = max(1, int(angles) | 1)
        largest = (min(self.side) // 2) / max(radius, 1.0)
        step = 0.0 if count == 1 else largest / (count // 2)
        self.angles = (np.arange(count) - count // 2) * step
        self.size = count * self.side[0] * self.side[1]

    def operator(self, position: Sequence[float]) -> sparse.csr_matrix:
        """:math:`P_p`: the sparse matrix drawing the PSF at ``position`` from :math:`W`."""
        d = np.asarray(position, dtype=np.float64) - self.centre
        sy, sx = self.side
        ay, ax = np.meshgrid(np.arange(sy), np.arange(sx), indexing="ij")
        rows, cols, vals = [], [], []
        per = sy * sx
        for index, theta in enumerate(self.angles):
            c, s = math.cos(theta), math.sin(theta)
            ty = ay + (c * d[0] - s * d[1] - d[0])
            tx = ax + (s * d[0] + c * d[1] - d[1])
            by, bx = np.floor(ty).astype(np.int64), np.floor(tx).astype(np.int64)
            fy, fx = ty - by, tx - bx
            src = index * per + (ay * sx + ax)
            for dy in (0, 1):
                for dx in (0, 1):
                    w = (fy if dy else 1 - fy) * (fx if dx else 1 - fx)
                    ry, rx = by + dy, bx + dx
                    keep = (ry >= 0) & (ry < sy) & (rx >= 0) & (rx < sx) & (w > 0)
                    rows.append((ry * sx + rx)[keep])
                    cols.append(src[keep])
                    vals.append(w[keep])
        return sparse.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(per, self.size),
        )

    def window_operator(self, window: tuple[slice, slice], points: int = 3) -> sparse.csr_matrix:
        r""":math:`\bar P_w`: the mean of :math:`P_p` over ``points`` x ``points`` positions
        spread over the middle 60 % of ``window`` (where a blind estimate finds its edges)."""
        axes = [
            np.linspace(
                sl.start + 0.2 * (sl.stop - sl.start),
                sl.stop - 1 - 0.2 * (sl.stop - sl.start),
                points,
            )
            for sl in window
        ]
        total = sum(self.operator((a, b)) for a in axes[0] for b in axes[1])
        return total / float(points * points)

    def kernel(self, density: np.ndarray, position: Sequence[float]) -> np.ndarray:
        """The PSF :math:`P_p W` at ``position`` (not normalised)."""
        return (self.operator(position) @ density.ravel()).reshape(self.side)


def fit_density(
    operators: Sequence[sparse.csr_matrix],
    kernels: np.ndarray,
    weights: np.ndarray,
    gamma: float,
    iterations: int = 300,
) -> np.ndarray:
    r"""The non-negative :math:`W` minimising :math:`\sum_w c_w \|P_w W - k_w\|^2 + \gamma
    \|W\|^2` (``gamma`` relative to the mean weight), by accelerated projected gradients from
    zero. ``kernels`` is ``(n, *side)``; returns the flat density."""
    flat = np.asarray(kernels, dtype=np.float64).reshape(len(operators), -1)
    weights = np.asarray(weights, dtype=np.float64)
    size = operators[0].shape[1]
    reg = gamma * float(np.mean(weights)) * len(operators)

    def hessian(w: np.ndarray) -> np.ndarray:
        out = reg * w
        for op, c in zip(operators, weights, strict=True):
            out += c * (op.T @ (op @ w))
        return out

    linear = np.zeros(size)
    for op, c, k in zip(operators, weights, flat, strict=True):
        linear += c * (op.T @ k)
    v = np.random.default_rng(0).random(size)
    lip = 1.0
    for _ in range(30):  # the gradient's Lipschitz constant, by power iteration
        hv = hessian(v)
        lip = float(np.linalg.norm(hv) / max(np.linalg.norm(v), 1e-300))
        v = hv / max(np.linalg.norm(hv), 1e-300)
    step = 1.0 / (1.05 * lip)
    w = np.zeros(size)
    z, t = w.copy(), 1.0
    for _ in range(iterations):
        w_next = np.maximum(z - step * (hessian(z) - linear), 0.0)
        t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
        z = w_next + ((t - 1) / t_next) * (w_next - w)
        w, t = w_next, t_next
    return w


def fit_robust(
    operators: Sequence[sparse.csr_matrix],
    kernels: np.ndarray,
    weights: np.ndarray,
    gamma: float = 1e-2,
    rounds: int = 3,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`fit_density` reweighted ``rounds`` times by each estimate's residual (see the
    module notes); returns the density and the relative residuals of the last fit."""
    flat = np.asarray(kernels, dtype=np.float64).reshape(len(operators), -1)
    base = np.asarray(weights, dtype=np.float64)
    current = base.copy()
    for round_ in range(rounds + 1):
        w = fit_density(operators, flat, current, gamma)
        residual = np.array(
            [
                np.linalg.norm(op @ w - k) / max(float(np.linalg.norm(k)), 1e-300)
                for op, k in zip(operators, flat, strict=True)
            ]
        )
        if round_ < rounds:
            scale = max(float(np.median(residual)), 1e-12)
            current = base / (1 + (residual / scale) ** 2)
    return w, residual
