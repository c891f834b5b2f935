r"""Free-form (camera-shake) blur kernels, estimated coarse-to-fine from the blurred image alone.

The observation is :math:`y = k * x + n` with an unknown non-negative kernel :math:`k` that sums
to one and an unknown sharp image :math:`x`. :func:`estimate_kernel` alternates two
sub-problems (Pan, Hu, Su & Yang 2014) on every level of an image pyramid:

**Latent image** with the L0 prior on intensities and gradients,

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

**Edges** (Cho & Lee 2009; Xu & Jia 2010): at the start of every level a magnitude threshold is
chosen so that ``edge_ratio`` times the kernel side of the latent gradients survive in each of
four orientation bins; weaker gradients are set to zero. The threshold is divided by
``edge_decay`` after every iteration, so that ever more edges take part. Measured on the
Levin et al. data, a slow decay (1.1, as in those papers) starves the kernel step: even with
the *true* sharp image, the kernel from the ~150 selected gradients costs ~10 dB, while
every gradient costs nothing; a decay of 2 keeps the selection for the first iterations of a
level (where it steers the kernel's shape) and lets the last ones use every gradient.

**Kernel** by least squares on gradients (Cho & Lee 2009; Pan et al. 2014),

.. math:: \min_k \sum_{d \in \{r, c\}} \|\partial_d x * k - \partial_d y\|^2 + \gamma\|k\|^2 ,

solved in closed form on the periodic boundary grid,

.. math:: \hat k = \frac{\sum_d \overline{\widehat{\partial_d x}}\,\widehat{\partial_d y}}
          {\sum_d |\widehat{\partial_d x}|^2 + \gamma} ,

then cut to the kernel's support about the origin. Only the latent gradients inside the image
are used (the padding is a guess made with the current kernel); the observed gradients cover
the whole tapered grid. The closed form replaced a support-constrained conjugate-gradient
solve stopped after 20 steps from a flat kernel (Pan et al.'s code): the early-stopped
solution was too smooth, and the kernels came out thick (Levin mean 27.4 dB with TV; 29.5 dB
with this step and the edge decay of 2). The solution is then projected on the constraints as
in Pan et al.: negative values and values below ``threshold`` times the maximum are set to
zero, the 8-connected components holding less than ``min_mass`` of the mass are removed, and
the kernel is scaled to sum to one.

**Pyramid**: the levels are scaled by :math:`2^{-l/2}` until the kernel is about 5 px wide
(Pan et al.); the coarsest level starts from a two-pixel horizontal kernel, each finer level
from the previous kernel zoomed by :math:`\sqrt2` about its centre. At the end of every level
the kernel is re-centred (see below), which keeps it inside its support; the weights
:math:`\lambda_g, \lambda_i` decay by 1.1 per iteration to :math:`10^{-4}` so that ever finer
edges join the estimate. The finest level runs ``num_iter_fine`` iterations (5): the
alternation drifts when run longer there (32 Levin pairs, TV restorations, integer / quarter-
pixel alignment: 3, 5 and 7 iterations give 30.47 / 32.56, 30.61 / 32.61 and 30.49 / 32.35 dB;
with the former centroid re-centring 3, 5, 7 and 10 gave 30.40, 30.53, 30.24 and 29.73 dB).

**Re-centring** (our own rule): a whole-pixel shift puts the middle of the kernel's mass range
on the centre pixel: per axis, the mid-point of the indices where the cumulative marginal mass
reaches 5 % and 95 %. The support given as ``size`` is the kernel's bounding box, and a kernel
with a heavy head and a long faint tail has its centroid far from the middle of that box
(Levin's kernel 6: 3 px off in a 21 px box). Centring the centroid, as Pan et al.'s code does,
left no room in the support for such a tail: the alternation settled on the head alone. On the
32 Levin pairs (TV restorations, PSNR with integer / quarter-pixel alignment, see
``benchmarks/levin_blind.py``): centroid 30.53 / 32.01 dB, kernel 6 ratios 9.0, 8.1, 11.8 and
11.0 at a quarter pixel; the 5 % mid-range 30.61 / 32.61 dB, kernel 6 ratios 1.6, 2.8, 2.0 and
9.7. The quantile matters, and the effect on kernel 6 is fragile: 0 % (the bounding box, which
a stray speck moves) 30.13 / 32.07, 2 % 29.97 / 32.10, 10 % 30.41 / 32.42; the centroid
clamped so that no pixel leaves the support 30.38 / 31.87.

**Latent edge width**: the L0 latent image has ideal one-pixel steps, while the edges of a real
sharp photograph are a little soft (optics, sampling); the least-squares kernel absorbs the
difference and comes out thicker than the true one. At the finest level the latent image is
therefore smoothed by a Gaussian of ``latent_blur`` px (0.3) before its gradients are taken.
This is our own, empirical step. On the synthetic test of ``tests/test_blind_kernel.py`` it
lowers the aligned L1 kernel error from 0.26 (0 px) to 0.21 (0.3 px) and 0.10 (0.5 px); on the
32 Levin pairs (TV restorations) the mean PSNR was 29.46 dB (0 px), 29.53 dB (0.3 px) and
29.25 dB (0.5 px), differences within the run-to-run spread of the per-pair results.

**Final refinement** at full resolution (``refine_iter`` alternations, default 2): the L0
latent image drifts away even from the true kernel (on Levin et al. data it settles at error
ratios of 2-3), so the pyramid's kernel is refined with a better latent image, the non-blind
TV restoration (:func:`unblur.restore.sparse.tv`, 50 iterations, unknown boundary, automatic
weight) with the current kernel, as in the TV alternation of Chan & Wong 1998 and Perrone &
Favaro 2014. The kernel step then uses *all* gradients and only the pixels whose footprint lies
inside the image (no boundary model, no taper):

.. math:: \min_k \sum_d \|V(\partial_d x * k) - V\partial_d y\|^2 + \gamma_r\|k\|^2
          + \eta\|\nabla k\|^2 ,

with :math:`\gamma_r = 10` and :math:`\eta` = ``kernel_smooth`` (10); the gradient penalty
(zero outside the support) favours connected, tail-keeping kernels over the speckle of a plain
ℓ2 prior. It is solved by 20 conjugate-gradient steps on the normal equations, warm-started at
the current kernel, each product two FFT convolutions; the projection then uses the lower
``refine_threshold`` (0.03). Measured on 16 Levin pairs (two sets of 8, TV restorations): mean
PSNR +0.23 dB on both sets, better on 11 pairs, worse on 4; on the synthetic test the aligned
L1 kernel error drops from 0.21 to 0.16 and the restoration from 30.9 to 31.4 dB (31.8 dB with
the true kernel). A hyper-Laplacian latent (alpha 0.8, 30 iterations) instead of TV made the
kernels drift (ratio 2.3 -> 11 in three alternations started at the true kernel, against
1.2 -> 1.4 with TV). The refinement does not repair a kernel whose shape the pyramid got
wrong. With the mass-range re-centring, on all 32 Levin pairs (integer / quarter-pixel
alignment), 0, 1, 2, 3 and 4 alternations give 30.25 / 32.37, 30.60 / 32.69, 30.66 / 32.71,
30.61 / 32.61 and 30.51 / 32.46 dB: the alternation drifts when run longer, hence 2 (the
synthetic test prefers 3: L1 error 0.25 against 0.28).

**Region**: the blur is assumed uniform, so a large image is analysed on its most textured
square window of side ``max_side`` (default 512): the window (on a grid of quarter-window
steps) with the largest number of strong gradients, i.e. pixels whose gradient magnitude is
above the 90th percentile of the whole image. Strong edges in many directions are what the
kernel step needs (Hu & Yang 2012 choose regions by the same principle, with a learned score).

**Kernel size** when ``size`` is not given: the estimation first runs with a generous support,
``max(15, min(side / 8, 45))`` px (odd), and the returned kernel is trimmed to the bounding
box of its non-zero pixels plus one pixel on every side, made odd and centred.

**Tried and not kept** (all 32 Levin pairs, TV restorations; the defaults with 10
finest-level iterations scored 29.73 dB), so that the next attempt starts from here:

* one option at a time: ``threshold`` 0.02 (29.34 dB), ``num_iter`` 10 (28.47),
  ``lam_grad = lam_intensity`` 8e-3 (29.68) or 2e-3 (29.33), ``kernel_reg`` 0.5 (29.47) or 8
  (29.50), ``refine_iter`` 6 (29.47: the refinement drifts if run longer); a delta (29.70) or
  Gaussian (29.55) kernel to start the coarsest level instead of the two-pixel one;
* several estimates and a pick: even the best of the defaults and the delta start for every
  pair (an oracle) gives only 30.14 dB; picking by the normalised sparsity
  :math:`\|\nabla x\|_1 / \|\nabla x\|_2` of the restoration (Krishnan et al. 2011) gives
  29.84, by the data fit 29.67;
* a variational latent image in the gradient domain (Levin et al. 2011; Wipf & Zhang 2014:
  posterior mean by conjugate gradients, diagonal covariance, a four-Gaussian prior fitted to
  scikit-image's sample images or a Jeffreys prior, the covariance as a ridge in an exact
  valid-pixel kernel step, EM or annealed noise): on a synthetic valid blur of a Levin image
  with 0.5 % noise it drifts from the true kernel to an L1 error of 0.47 in 10 alternations,
  and coarse to fine it scores 22.9-23.4 dB on six pairs where these defaults score 28.1;
* a TV latent image at every level (Perrone & Favaro 2014, with the valid-pixel kernel step
  and the TV weight from 8x to 1x the automatic one): 23.8 dB on the same six pairs, the
  kernels shrink towards the no-blur solution.
* (with 5 finest-level iterations, 30.53 dB) the dark-channel L0 prior of Pan et al. 2016 in
  place of the intensity prior (the dark pixels found as those a grey opening leaves
  unchanged): 29.68 dB with 35 px patches, 30.17 with 11 px; no intensity prior at all 29.83;
  a floor of 5e-4 or 1.5e-3 for the decaying weights 30.43 / 30.27; ``edge_decay`` 1.4 29.82;
  ``edge_ratio`` 3 30.16; 3 iterations per coarse level 30.13; a coarsest kernel side of 3 or 9
  px instead of 5 (more or fewer levels) 29.43 / 29.66; ``latent_blur`` 0.5 or 0 30.34 / 30.49;
* ``min_mass`` 0.03: 30.62 dB (32.29 at a quarter pixel) with centroid re-centring, 30.28
  (32.36) with the mass-range re-centring (30.61 / 32.61 then); ``threshold`` 0.03 (centroid
  re-centring): 29.97 dB; ``min_mass`` 0.03 or 0 at the coarse levels only (centroid
  re-centring): 30.42 / 31.95 and 30.28 / 32.01;
* (with the current defaults, 30.66 / 32.71 dB at whole / quarter-pixel alignment)
  ``kernel_smooth`` 3, 30 and 100: 30.58 / 32.70, 30.69 / 32.78 and 30.26 / 32.47;
  ``latent_blur`` 0.5: 30.75 / 32.74 (both within the spread of one-option changes, not
  adopted); the refinement's TV weight at 0.5x or 2x the automatic one: 30.44 / 32.58 and
  30.47 / 32.40; re-centring after every kernel step instead of at the end of each level:
  30.29 / 32.54; an iterative-support-detection weight (Xu & Jia 2010: a linear penalty on the
  kernel outside its detected support) in the refinement's kernel step, at 0.05 of the
  largest right-hand side, collapsed to 16 dB and was not tuned further;
* in the refinement, the exact non-negative least-squares kernel (accelerated projected
  gradient on the 729 x 729 normal matrix) instead of 20 warm-started conjugate-gradient steps:
  29.29 dB (29.73 then); adding an L1 (sparsity) weight to it: 28.65 and 25.8 dB;
* (current defaults, 30.66 / 32.71 dB) the pyramid run from three starts (two-pixel horizontal,
  two-pixel vertical, delta), the kernels averaged after whole-pixel registration, then the
  refinement: 30.08 / 31.96 dB; the refinement's TV latent image smoothed by a Gaussian of
  0.5 px before its kernel step: 30.54 / 32.40; a quarter-pixel registration of the final TV
  latent image (16 Fourier shifts, the kernel re-estimated for each, the best valid-pixel fit
  kept): the 16 fits differ by less than 0.1 %, which cannot pick a shift, and pairs 1-8 moved
  from 30.18 / 32.99 to 30.25 / 33.00 dB at 12 s per estimate; a stopping rule for the
  refinement cannot gain much: picking the best of 0-4 alternations for every pair with the
  truth (an oracle) gives 30.91 / 32.99.

Diagnosis of the remaining error: fitting every estimate as the true kernel convolved with a
non-negative 3 x 3 kernel :math:`h` (after whole-pixel registration) leaves 13-37 % of the
estimate's norm unexplained, and :math:`h` spreads over 2-4 px with its centre 0.35 / 0.26 px
(mean absolute, rows / columns) off the middle, with a sign that the pairs of one image share.
The estimates are about a pixel thicker than the truth and carry an image-dependent sub-pixel
offset; the whole-pixel alignment of the benchmark charges both.

What limits the estimate is the alternation, not the kernel step: one exact kernel step from
the TV restoration made with the *true* kernel gives an error ratio of 1.08 on average (max
1.41; 1.20 with the conjugate-gradient step), but three alternations started at the true
kernel drift to 1.76 (1.6 with a TV weight of 0.3x the automatic one), and started from the
pyramid's kernel, six alternations lose 1.4 dB. A joint estimate of image and kernel has no
fixed point at the truth (Levin et al. 2009); the number of alternations is what bounds the
drift, at the finest level as in the refinement.

References
----------
J. Pan, Z. Hu, Z. Su, M.-H. Yang, "Deblurring text images via L0-regularized intensity and
gradient prior", IEEE CVPR 2014, pp. 2901-2908 (and IEEE TPAMI 39(2), 2017, pp. 342-355).
L. Xu, C. Lu, Y. Xu, J. Jia, "Image smoothing via L0 gradient minimization", ACM TOG 30(6),
2011.
S. Cho, S. Lee, "Fast motion deblurring", ACM TOG 28(5), 2009.
L. Xu, J. Jia, "Two-phase kernel estimation for robust motion deblurring", ECCV 2010.
A. Levin, Y. Weiss, F. Durand, W. T. Freeman, "Understanding and evaluating blind
deconvolution algorithms", IEEE CVPR 2009.
Z. Hu, M.-H. Yang, "Good regions to deblur", ECCV 2012.
T. F. Chan, C.-K. Wong, "Total variation blind deconvolution", IEEE TIP 7(3), 1998.
D. Perrone, P. Favaro, "Total variation blind deconvolution: the devil is in the details",
IEEE CVPR 2014.
A. Levin, Y. Weiss, F. Durand, W. T. Freeman, "Efficient marginal likelihood optimization in
blind deconvolution", IEEE CVPR 2011.
D. Wipf, H. Zhang, "Revisiting Bayesian blind deconvolution", JMLR 15, 2014, pp. 3595-3634.
D. Krishnan, T. Tay, R. Fergus, "Blind deconvolution using a normalized sparsity measure",
IEEE CVPR 2011.
J. Pan, D. Sun, H. Pfister, M.-H. Yang, "Blind image deblurring using dark channel prior",
IEEE CVPR 2016.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import ndimage, signal
from skimage.transform import resize

from .. import fft
from .._checks import as_float_image
from ..errors import InvalidImageError, InvalidParameterError
from ..operators import Boundary, difference_spectrum
from ..restore import sparse

__all__ = ["MAX_SIDE", "MIN_KERNEL", "estimate_kernel"]

#: Side of the square window a large image is analysed on.
MAX_SIDE = 512
#: Smallest kernel side accepted.
MIN_KERNEL = 3
#: Pyramid ratio between levels, and the kernel side of the coarsest level.
_RATIO = 1 / math.sqrt(2)
_COARSEST = 5
#: Half-quadratic splitting: the penalty grows by this factor up to this value.
_KAPPA = 2.0
_BETA_MAX = 1e5
#: The L0 weights decay by 1.1 per iteration down to this floor (Pan et al.).
_LAM_MIN = 1e-4
#: Final refinement: TV latent iterations, Tikhonov weight and conjugate-gradient steps of the
#: valid-pixel kernel step.
_REFINE_LATENT_ITER = 50
_REFINE_REG = 10.0
_REFINE_CG = 20
#: Re-centring: the middle of the mass between these cumulative fractions goes to the centre.
_CENTRE_QUANTILE = 0.05


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------
def _odd(value: float) -> int:
    """The smallest odd integer >= ``value`` (and >= 3)."""
    n = max(MIN_KERNEL, math.ceil(value - 1e-9))
    return n if n % 2 else n + 1


def _check_size(size: Any, shape: tuple[int, int]) -> tuple[int, int] | None:
    """``size`` as an odd (h, w) pair, at most half the image; ``None`` stays ``None``."""
    if size is None:
        return None
    values = (size, size) if not isinstance(size, Sequence | np.ndarray) else tuple(size)
    if len(values) != 2:
        raise InvalidParameterError(f"size must be an int or a pair (h, w), got {size!r}")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not float(v).is_integer():
            raise InvalidParameterError(f"size must hold integers, got {size!r}")
        v = int(v)
        if v < MIN_KERNEL:
            raise InvalidParameterError(f"size must be >= {MIN_KERNEL} pixels, got {v}")
        out.append(v if v % 2 else v + 1)
    limit = [n // 2 for n in shape]
    if out[0] > limit[0] or out[1] > limit[1]:
        raise InvalidParameterError(
            f"kernel size {out[0]}x{out[1]} is too large for a {shape[0]}x{shape[1]} image "
            f"(at most half of each side: {limit[0]}x{limit[1]})"
        )
    return out[0], out[1]


def _default_size(shape: tuple[int, ...]) -> int:
    return _odd(max(15.0, min(min(shape) / 8, 45.0)))


# --------------------------------------------------------------------------------------------
# pre-processing
# --------------------------------------------------------------------------------------------
def _gradient_magnitude(y: np.ndarray) -> np.ndarray:
    g0 = np.diff(y, axis=0, append=y[-1:])
    g1 = np.diff(y, axis=1, append=y[:, -1:])
    return np.hypot(g0, g1)


def textured_window(image: np.ndarray, side: int) -> tuple[slice, slice]:
    """The square window of ``side`` px with the most strong gradients (see the module notes).

    Candidates start on a grid of ``side // 4`` px steps (plus the last position on each
    axis); strong gradients are those above the 90th percentile of the whole image.
    """
    h, w = image.shape
    sh, sw = min(side, h), min(side, w)
    if (sh, sw) == (h, w):
        return slice(0, h), slice(0, w)
    mag = _gradient_magnitude(image)
    strong = (mag > np.percentile(mag, 90)).astype(np.float64)
    integral = np.pad(strong.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    step = max(1, side // 4)
    rows = sorted({*range(0, h - sh + 1, step), h - sh})
    cols = sorted({*range(0, w - sw + 1, step), w - sw})
    best, where = -1.0, (0, 0)
    for r in rows:
        for c in cols:
            count = integral[r + sh, c + sw] - integral[r, c + sw] - integral[r + sh, c]
            count += integral[r, c]
            if count > best:
                best, where = count, (r, c)
    return slice(where[0], where[0] + sh), slice(where[1], where[1] + sw)


def _normalise(y: np.ndarray) -> np.ndarray:
    """Robust [0, 1] scaling (0.1 and 99.9 percentiles), so the weights mean the same always."""
    lo, hi = np.percentile(y, [0.1, 99.9])
    if hi - lo <= 1e-6 * max(abs(hi), abs(lo), 1e-300):
        lo, hi = float(y.min()), float(y.max())
    if hi - lo <= 1e-9 * max(abs(hi), abs(lo), 1e-300) or hi == lo:
        raise InvalidImageError("image is flat: no structure to estimate a PSF from")
    return (y - lo) / (hi - lo)


# --------------------------------------------------------------------------------------------
# the two sub-problems
# --------------------------------------------------------------------------------------------
def _grad(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Circular forward differences along rows and columns."""
    return np.roll(x, -1, axis=0) - x, np.roll(x, -1, axis=1) - x


def _grad_adjoint(g0: np.ndarray, g1: np.ndarray) -> np.ndarray:
    """Adjoint of :func:`_grad` (minus the backward divergence)."""
    return (np.roll(g0, 1, axis=0) - g0) + (np.roll(g1, 1, axis=1) - g1)


def _latent(y_grid: np.ndarray, bc: Boundary, lam_grad: float, lam_intensity: float) -> np.ndarray:
    """L0 intensity-and-gradient latent image on the boundary grid (half-quadratic splitting)."""
    op = bc.operator
    kty = op.fft(y_grid) * np.conj(op.otf)
    d2 = difference_spectrum(op.shape, 1, dtype=np.float64)
    x = y_grid.copy()
    beta = 2.0 * max(lam_grad, lam_intensity)
    while beta < _BETA_MAX:
        g0, g1 = _grad(x)
        weak = g0 * g0 + g1 * g1 < lam_grad / beta
        g0[weak] = 0.0
        g1[weak] = 0.0
        rhs = _grad_adjoint(g0, g1)
        denom = op.otf_power + beta * d2
        if lam_intensity > 0:
            rhs += np.where(x * x >= lam_intensity / beta, x, 0.0)
            denom = denom + beta
        x = op.ifft((kty + beta * op.fft(rhs)) / denom)
        beta *= _KAPPA
    return x


def _edge_threshold(g0: np.ndarray, g1: np.ndarray, count: int) -> float:
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


def _kernel_step(
    gxs: tuple[np.ndarray, np.ndarray],
    gys: tuple[np.ndarray, np.ndarray],
    m: tuple[int, ...],
    gamma: float,
) -> np.ndarray:
    r"""Least-squares kernel on gradients, in closed form in the Fourier domain.

    :math:`\hat k = \sum_d \overline{\widehat{\partial_d x}}\,\widehat{\partial_d y}
    / (\sum_d |\widehat{\partial_d x}|^2 + \gamma)` on the (periodic) grid, then the
    ``m``-sized window about the origin (Cho & Lee 2009; Pan et al. 2014, ``otf2psf``).
    """
    shape = gxs[0].shape
    num: Any = 0.0
    den: Any = gamma
    for gx, gy in zip(gxs, gys, strict=True):
        fx = fft.rfftn(gx)
        num = num + np.conj(fx) * fft.rfftn(gy)
        den = den + (fx.real**2 + fx.imag**2)
    k = fft.irfftn(num / den, shape)
    c = [s // 2 for s in m]
    idx = [np.arange(-a, s - a) % n for a, s, n in zip(c, m, shape, strict=True)]
    return np.asarray(k[np.ix_(*idx)], dtype=np.float64)


def _valid_gradients(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward differences inside the image only, both on the same (h-1, w-1) grid."""
    base = x[:-1, :-1]
    return x[1:, :-1] - base, x[:-1, 1:] - base


def _kernel_step_valid(
    latent: np.ndarray,
    observed: np.ndarray,
    k0: np.ndarray,
    gamma: float,
    smooth: float,
    num_cg: int,
) -> np.ndarray:
    r"""Least-squares kernel on gradients over the valid pixels only, by conjugate gradients.

    .. math:: \min_k \sum_d \|V(\partial_d x * k) - V\partial_d y\|^2 + \gamma\|k\|^2
              + \eta\|\nabla k\|^2 ,

    where :math:`V` keeps the observed pixels whose whole kernel footprint lies inside the
    latent image (no boundary model at all) and :math:`\eta` = ``smooth`` penalises the
    kernel's gradient (zero outside its support), a prior that keeps faint, long tails
    rather than cutting them (Cho & Lee 2009 use the same kind of Tikhonov term). Solved by
    ``num_cg`` conjugate-gradient steps on the normal equations, warm-started at ``k0``;
    each product is an FFT convolution (``scipy.signal.fftconvolve``, ``valid`` mode).
    """
    m = k0.shape
    c = [s // 2 for s in m]
    gxs = _valid_gradients(latent)
    gys = _valid_gradients(observed)
    n = [gxs[0].shape[a] - m[a] + 1 for a in range(2)]
    targets = [gy[c[0] : c[0] + n[0], c[1] : c[1] + n[1]] for gy in gys]
    flipped = [gx[::-1, ::-1] for gx in gxs]

    def normal(k: np.ndarray) -> np.ndarray:
        out = gamma * k
        if smooth:
            out = out - smooth * ndimage.laplace(k, mode="constant")
        for gx, fx in zip(gxs, flipped, strict=True):
            r = signal.fftconvolve(gx, k, mode="valid")
            out = out + signal.fftconvolve(fx, r, mode="valid")
        return out

    rhs = sum(
        signal.fftconvolve(fx, t, mode="valid") for fx, t in zip(flipped, targets, strict=True)
    )
    k = k0.copy()
    r = rhs - normal(k)
    p = r.copy()
    rr = float((r * r).sum())
    for _ in range(num_cg):
        if rr <= 1e-30:
            break
        ap = normal(p)
        alpha = rr / float((p * ap).sum())
        k = k + alpha * p
        r = r - alpha * ap
        rr_new = float((r * r).sum())
        p = r + (rr_new / rr) * p
        rr = rr_new
    return k


def _seen(bc: Boundary) -> np.ndarray:
    """Grid mask of the latent gradients used by the kernel step: those inside the image.

    The padding of the boundary grid is a guess (built with the current kernel), so its
    latent gradients are left out; the observed gradients keep the whole periodic grid, whose
    taper makes them consistent with the circular model of the Fourier kernel step.
    """
    seen = np.zeros(bc.grid_shape)
    seen[tuple(slice(r.start, r.stop - 1) for r in bc.region)] = 1.0
    return seen


def _project(k: np.ndarray, threshold: float, min_mass: float) -> np.ndarray:
    """Non-negative, small values and small 8-connected components removed, sum one."""
    k = np.where(k > 0, k, 0.0)
    peak = float(k.max())
    if peak <= 0:
        out = np.zeros_like(k)
        out[k.shape[0] // 2, k.shape[1] // 2] = 1.0
        return out
    k[k < threshold * peak] = 0.0
    labels, count = ndimage.label(k > 0, structure=np.ones((3, 3)))
    if count > 1:
        mass = ndimage.sum(k, labels, index=np.arange(1, count + 1))
        small = np.flatnonzero(mass < min_mass * mass.sum()) + 1
        if small.size < count:
            k[np.isin(labels, small)] = 0.0
    return k / k.sum()


def _recentre(k: np.ndarray, quantile: float = _CENTRE_QUANTILE) -> np.ndarray:
    """Shift ``k`` by whole pixels so the middle of its mass range is on the centre pixel.

    Per axis, the middle of the indices at which the cumulative marginal mass reaches
    ``quantile`` and ``1 - quantile`` (a mid-range that ignores a few stray pixels); mass
    shifted past the edge is dropped and the rest scaled to sum one. The centroid would push
    a kernel with a heavy head and a long faint tail out of its support (see the module notes).
    """
    shift = []
    for axis, n in enumerate(k.shape):
        cumulative = np.cumsum(k.sum(axis=1 - axis))
        cumulative /= cumulative[-1]
        low = int(np.searchsorted(cumulative, quantile))
        high = int(np.searchsorted(cumulative, 1.0 - quantile))
        shift.append(round((low + high) / 2) - n // 2)
    if not any(shift):
        return k
    out = np.zeros_like(k)
    src = tuple(slice(max(d, 0), s + min(d, 0)) for d, s in zip(shift, k.shape, strict=True))
    dst = tuple(slice(max(-d, 0), s - max(d, 0)) for d, s in zip(shift, k.shape, strict=True))
    out[dst] = k[src]
    return out / out.sum()


def _zoom_kernel(k: np.ndarray, factor: float, shape: tuple[int, int]) -> np.ndarray:
    """``k`` magnified by ``factor`` about its centre pixel, on an odd grid of ``shape``."""
    centre_in = np.array([s // 2 for s in k.shape], dtype=np.float64)
    centre_out = np.array([s // 2 for s in shape], dtype=np.float64)
    coords = np.indices(shape, dtype=np.float64)
    src = [(coords[a] - centre_out[a]) / factor + centre_in[a] for a in range(2)]
    out = ndimage.map_coordinates(k, src, order=1, mode="constant", cval=0.0)
    out = np.maximum(out, 0.0)
    total = out.sum()
    if total <= 0:
        out = np.zeros(shape)
        out[shape[0] // 2, shape[1] // 2] = 1.0
        return out
    return out / total


def _trim(k: np.ndarray) -> np.ndarray:
    """Crop to the non-zero bounding box plus one pixel, symmetric about the centre, odd."""
    rows, cols = np.nonzero(k > 0)
    out = k
    for axis, idx in enumerate((rows, cols)):
        c = k.shape[axis] // 2
        half = int(max(c - idx.min(), idx.max() - c)) + 1
        half = min(max(half, 1), c)
        sl = [slice(None), slice(None)]
        sl[axis] = slice(c - half, c + half + 1)
        out = out[tuple(sl)]
    return out / out.sum()


def _crop_centre(k: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    starts = [(s - t) // 2 for s, t in zip(k.shape, shape, strict=True)]
    out = k[tuple(slice(a, a + t) for a, t in zip(starts, shape, strict=True))]
    return out / max(float(out.sum()), 1e-300)


# --------------------------------------------------------------------------------------------
# public
# --------------------------------------------------------------------------------------------
def estimate_kernel(
    image: np.ndarray,
    size: int | tuple[int, int] | None = None,
    *,
    num_iter: int = 5,
    lam_grad: float = 4e-3,
    lam_intensity: float = 4e-3,
    kernel_reg: float = 2.0,
    threshold: float = 0.05,
    min_mass: float = 0.1,
    edge_ratio: float = 2.0,
    edge_decay: float = 2.0,
    num_iter_fine: int = 5,
    latent_blur: float = 0.3,
    refine_iter: int = 2,
    refine_threshold: float = 0.03,
    kernel_smooth: float = 10.0,
    max_side: int = MAX_SIDE,
    callback: Callable[[int, np.ndarray], Any] | None = None,
    info: dict[str, Any] | None = None,
) -> np.ndarray:
    r"""Estimate a free-form (camera-shake) blur kernel from a blurred grey image.

    Coarse-to-fine alternation of an L0-regularised latent image and a least-squares kernel
    on gradients (Pan et al. 2014), then a few full-resolution alternations of a TV latent
    image and a valid-pixel kernel step with a smoothness prior; see
    :mod:`unblur.blind.kernel` for the maths.

    Parameters
    ----------
    image : numpy.ndarray
        Blurred 2-D grey image (integers are scaled to [0, 1]); each side at least twice the
        kernel side and at least 32 px. Images larger than ``max_side`` are analysed on their
        most textured ``max_side`` x ``max_side`` window.
    size : int or (int, int), optional
        Kernel support (odd; even values are rounded up), at most half of each image side.
        Default: estimated by running with a ``max(15, min(side/8, 45))`` px support and
        trimming the result to its non-zero bounding box plus one pixel.
    num_iter : int, optional
        Alternations per coarse pyramid level.
    lam_grad, lam_intensity : float, optional
        Starting weights :math:`\lambda_g, \lambda_i` of the L0 gradient and intensity priors
        (for images scaled to [0, 1]); both decay by 1.1 per iteration to :math:`10^{-4}`.
    kernel_reg : float, optional
        :math:`\gamma`, the Tikhonov weight of the kernel step.
    threshold : float, optional
        Kernel values below this fraction of the maximum are set to zero after each step.
    min_mass : float, optional
        8-connected kernel components holding less than this fraction of the mass are removed.
    edge_ratio : float, optional
        Edge selection (Cho & Lee 2009): at the start of every level the latent gradients are
        thresholded so that about ``edge_ratio`` times the kernel side survive in each of four
        orientation bins; ``0`` uses every gradient.
    edge_decay : float, optional
        The edge threshold is divided by this after every iteration, so that ever more edges
        enter (Xu & Jia 2010 use 1.1; 2 measured best on Levin et al. 2009).
    num_iter_fine : int, optional
        Alternations at the finest level (full resolution).
    latent_blur : float, optional
        At the finest level, the latent image is smoothed by a Gaussian of this standard
        deviation (px) before the kernel step; ``0`` turns it off (see the module notes).
    refine_iter : int, optional
        Alternations of the final full-resolution refinement (TV latent image, kernel on the
        valid pixels); ``0`` turns it off (see the module notes).
    refine_threshold : float, optional
        The ``threshold`` of the refinement's kernel steps (lower, to keep faint tails).
    kernel_smooth : float, optional
        :math:`\eta`, the weight of the kernel-gradient (smoothness) penalty of the
        refinement's kernel step.
    max_side : int, optional
        Side of the analysed window for large images.
    callback : callable, optional
        Called as ``callback(level, kernel)`` at the end of every pyramid level (0 = coarsest).
    info : dict, optional
        Receives ``size`` (returned shape), ``levels`` (per level: kernel and image shapes),
        ``window`` (the analysed region, as ``[[row0, row1], [col0, col1]]``) and
        ``size_estimated`` (whether ``size`` was found automatically).

    Returns
    -------
    numpy.ndarray
        The kernel: float64, odd sides, non-negative, sums to one, the middle of its mass range
        on the centre pixel (see the notes; not its centroid, which a long faint tail pulls
        aside), in the convolution orientation of :func:`unblur.blur`.

    Raises
    ------
    InvalidImageError
        Not 2-D, smaller than 32 x 32, non-finite, or flat.
    InvalidParameterError
        Bad ``size`` (not integers >= 3, or more than half the image) or bad options.

    References
    ----------
    J. Pan, Z. Hu, Z. Su, M.-H. Yang, "Deblurring text images via L0-regularized intensity
    and gradient prior", IEEE CVPR 2014.
    S. Cho, S. Lee, "Fast motion deblurring", ACM TOG 28(5), 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage.data import camera
    >>> from unblur import add_noise, blur, psf
    >>> from unblur.blind.kernel import estimate_kernel
    >>> x = camera()[::2, ::2] / 255
    >>> y = add_noise(blur(x, psf.motion(9, angle=30)), gaussian=0.01, rng=0)
    >>> k = estimate_kernel(y, 13)
    >>> k.shape, round(float(k.sum()), 6)
    ((13, 13), 1.0)
    """
    y = as_float_image(image)
    if y.ndim != 2:
        raise InvalidImageError(
            f"free-form kernel estimation needs a 2-D (grey) image, got {y.ndim}-D "
            "(use unblur.estimate_psf with channel_axis for colour)"
        )
    if min(y.shape) < 32:
        raise InvalidImageError(
            f"image is {y.shape[0]}x{y.shape[1]} pixels; free-form kernel estimation needs "
            "at least 32x32"
        )
    for name, value, low in (
        ("num_iter", num_iter, 1), ("num_iter_fine", num_iter_fine, 1),
        ("refine_iter", refine_iter, 0), ("max_side", max_side, 64),
    ):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise InvalidParameterError(f"{name} must be an integer >= {low}, got {value!r}")
    for name, value in (("lam_grad", lam_grad), ("lam_intensity", lam_intensity),
                        ("kernel_reg", kernel_reg), ("threshold", threshold),
                        ("min_mass", min_mass), ("latent_blur", latent_blur),
                        ("refine_threshold", refine_threshold),
                        ("kernel_smooth", kernel_smooth)):  # fmt: skip
        if not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
            raise InvalidParameterError(f"{name} must be a finite number >= 0, got {value!r}")
    if threshold >= 1 or min_mass >= 1 or refine_threshold >= 1:
        raise InvalidParameterError("threshold, refine_threshold and min_mass must be below 1")
    if not isinstance(edge_decay, numbers.Real) or not 1 <= edge_decay < math.inf:
        raise InvalidParameterError(f"edge_decay must be a finite number >= 1, got {edge_decay!r}")
    if lam_grad <= 0:
        raise InvalidParameterError(f"lam_grad must be > 0, got {lam_grad!r}")
    shape = (int(y.shape[0]), int(y.shape[1]))
    wanted = _check_size(size, (min(shape[0], max_side), min(shape[1], max_side)))
    window = textured_window(y, max_side)
    y = _normalise(np.asarray(y[window], dtype=np.float64))
    support = wanted or (_default_size(y.shape),) * 2
    support = tuple(min(s, _odd(n // 2) - 2) for s, n in zip(support, y.shape, strict=True))

    num_levels = 1 + max(0, math.floor(math.log(_COARSEST / min(support)) / math.log(_RATIO)))
    levels = []
    k = None
    lam_g, lam_i = float(lam_grad), float(lam_intensity)
    for level in range(num_levels - 1, -1, -1):
        scale = _RATIO**level
        ks = tuple(_odd(s * scale) for s in support) if level else support
        if level:
            shape_l = [max(round(n * scale), 2 * m + 1) for n, m in zip(y.shape, ks, strict=True)]
            ys = resize(y, shape_l, order=1, anti_aliasing=True, mode="reflect")
        else:
            ys = y
        if k is None:
            k = np.zeros(ks)
            k[ks[0] // 2, ks[1] // 2 - 1 : ks[1] // 2 + 1] = 0.5
        else:
            k = _zoom_kernel(k, 1 / _RATIO, ks)
        bc = Boundary.create("taper", ys.shape, k, dtype=np.float64)
        seen = _seen(bc)
        edge = None
        for _ in range(num_iter if level else num_iter_fine):
            bc = Boundary.create("taper", ys.shape, k, dtype=np.float64)
            y_grid = bc.extend(ys)
            x = _latent(y_grid, bc, lam_g, lam_i)
            if latent_blur and not level:
                x = ndimage.gaussian_filter(x, latent_blur, mode="wrap")
            g0, g1 = _grad(x)
            if edge_ratio:
                if edge is None:
                    cut = tuple(slice(s.start, s.stop - 1) for s in bc.region)
                    edge = _edge_threshold(g0[cut], g1[cut], int(edge_ratio * max(ks)))
                weak = g0 * g0 + g1 * g1 < edge * edge
                g0[weak] = 0.0
                g1[weak] = 0.0
                edge /= edge_decay
            k = _kernel_step((g0 * seen, g1 * seen), _grad(y_grid), ks, kernel_reg)
            k = _project(k, threshold, min_mass)
            lam_g = max(lam_g / 1.1, _LAM_MIN)
            lam_i = max(lam_i / 1.1, _LAM_MIN) if lam_i else 0.0
        k = _recentre(k)
        levels.append({"kernel_shape": list(ks), "image_shape": list(ys.shape)})
        if callback is not None:
            callback(len(levels) - 1, k)
    for _ in range(refine_iter):
        x = sparse.tv(y, k, num_iter=_REFINE_LATENT_ITER, boundary="unknown")
        k = _kernel_step_valid(x, y, k, _REFINE_REG, kernel_smooth, _REFINE_CG)
        k = _recentre(_project(k, refine_threshold, min_mass))
    if wanted is None:
        k = _trim(k)
    elif k.shape != wanted:
        k = _crop_centre(k, wanted)
    if info is not None:
        info.update(
            size=list(k.shape),
            levels=levels,
            window=[[window[0].start, window[0].stop], [window[1].start, window[1].stop]],
            size_estimated=wanted is None,
        )
    return k
