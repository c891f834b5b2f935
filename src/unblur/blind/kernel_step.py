r"""The kernel sub-problem of the free-form estimator, and the kernel's constraints.

**Fourier kernel step** (every pyramid level): least squares on gradients (Cho & Lee 2009;
Pan et al. 2014),

.. math:: \min_k \sum_{d \in \{r, c\}} \|\partial_d x * k - \partial_d y\|^2 + \gamma\|k\|^2 ,

solved in closed form on the periodic boundary grid,

.. math:: \hat k = \frac{\sum_d \overline{\widehat{\partial_d x}}\,\widehat{\partial_d y}}
          {\sum_d |\widehat{\partial_d x}|^2 + \gamma} ,

then cut to the kernel's support about the origin. Only the latent gradients inside the image
are used (:func:`seen_mask`: the padding is a guess made with the current kernel); the observed
gradients cover the whole tapered grid.

**Valid-pixel kernel step** (the full-resolution refinement): all gradients, and only the
pixels whose footprint lies inside the image (no boundary model, no taper),

.. math:: \min_k \sum_d \|V(\partial_d x * k) - V\partial_d y\|^2 + \gamma_r\|k\|^2
          + \eta\|\nabla k\|^2 ,

where the gradient penalty (zero outside the support) favours connected, tail-keeping kernels
over the speckle of a plain :math:`\ell_2` prior; solved by conjugate gradients on the normal
equations, warm-started at the current kernel, each product two FFT convolutions.

**Projection** (Pan et al.): negative values and values below a fraction of the maximum are
set to zero, the 8-connected components holding less than a fraction of the mass are removed,
and the kernel is scaled to sum to one.

**Re-centring** (our own rule): a whole-pixel shift puts the middle of the kernel's mass range
on the centre pixel: per axis, the mid-point of the indices where the cumulative marginal mass
reaches 5 % and 95 %. The support is the kernel's bounding box, and a kernel with a heavy head
and a long faint tail has its centroid far from the middle of that box; centring the centroid,
as Pan et al.'s code does, leaves no room in the support for such a tail.

References
----------
S. Cho, S. Lee, "Fast motion deblurring", ACM TOG 28(5), 2009.
J. Pan, Z. Hu, Z. Su, M.-H. Yang, "Deblurring text images via L0-regularized intensity and
gradient prior", IEEE CVPR 2014.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage, signal

from .. import fft
from ..operators import Boundary, difference_spectrum
from ..psf._core import _centre_crop_or_pad
from ..psf._core import _trim as _trim_box

__all__ = [
    "ANCHOR_NOISE",
    "CENTRE_QUANTILE",
    "CLIPPED_BAND",
    "anchor_excess",
    "capped_participation",
    "crop_centre",
    "fourier_kernel_step",
    "prior_boost",
    "project",
    "recentre",
    "seen_mask",
    "similarity",
    "trim",
    "valid_gradients",
    "valid_kernel_step",
    "zoom_kernel",
]

#: Noise (normalised units) times kernel participation the kernel steps' weights were tuned at
#: (see :func:`prior_boost`).
_SIGMA_P_REF = 0.15
#: Level noise (normalised units, the window's times the level's scale) times the kernel's
#: participation above which the pyramid's kernel step is pulled towards the level's starting
#: kernel (``anchor`` of :func:`~unblur.blind.kernel.estimate_kernel`); Levin's photographs
#: stay below it (noise 0.0026-0.0038, participation at most 1.5 x 35 px).
ANCHOR_NOISE = 0.2
#: Width of the band around clipped pixels left out of the kernel steps, in kernel radii
#: (at least one pixel; see the notes: a wider band loses more data than it removes bias).
CLIPPED_BAND = 0.0

#: Re-centring: the middle of the mass between these cumulative fractions goes to the centre.
CENTRE_QUANTILE = 0.05


def fourier_kernel_step(
    gxs: np.ndarray | tuple[np.ndarray, ...],
    gys: np.ndarray | tuple[np.ndarray, ...],
    m: tuple[int, ...],
    gamma: float,
    smooth: float = 0.0,
    prior: np.ndarray | None = None,
    prior_weight: float = 0.0,
) -> np.ndarray:
    r"""Least-squares kernel on gradients, in closed form in the Fourier domain.

    :math:`\hat k = \sum_d \overline{\widehat{\partial_d x}}\,\widehat{\partial_d y}
    / (\sum_d |\widehat{\partial_d x}|^2 + \gamma + \eta |\hat D|^2)` on the (periodic)
    grid, then the ``m``-sized window about the origin (Cho & Lee 2009; Pan et al. 2014,
    ``otf2psf``); :math:`\eta` = ``smooth`` weighs a penalty :math:`\eta\|\nabla k\|^2` on the
    kernel's gradient (:math:`|\hat D|^2` its Fourier multiplier). With a ``prior`` kernel
    :math:`k_p` (odd sides, centred) and :math:`\gamma_p` = ``prior_weight``, the penalty
    :math:`\gamma_p\|k - k_p\|^2` is added: :math:`\gamma_p \hat k_p` joins the numerator
    and :math:`\gamma_p` the denominator, pulling the answer towards :math:`k_p` where the
    gradients say little.
    """
    shape = gxs[0].shape
    num: Any = 0.0
    den: Any = gamma
    if smooth:
        den = den + smooth * difference_spectrum(shape, 1, dtype=np.float64)
    if prior is not None and prior_weight:
        placed = np.zeros(shape)
        placed[: prior.shape[0], : prior.shape[1]] = prior
        placed = np.roll(placed, [-(n // 2) for n in prior.shape], axis=(0, 1))
        num = num + prior_weight * fft.rfftn(placed)
        den = den + prior_weight
    for gx, gy in zip(gxs, gys, strict=True):
        fx = fft.rfftn(gx)
        num = num + np.conj(fx) * fft.rfftn(gy)
        den = den + (fx.real**2 + fx.imag**2)
    k = fft.irfftn(num / den, shape)
    c = [s // 2 for s in m]
    idx = [np.arange(-a, s - a) % n for a, s, n in zip(c, m, shape, strict=True)]
    return np.asarray(k[np.ix_(*idx)], dtype=np.float64)


def seen_mask(bc: Boundary) -> np.ndarray:
    """Grid mask of the latent gradients used by the kernel step: those inside the image.

    The padding of the boundary grid is a guess (built with the current kernel), so its
    latent gradients are left out; the observed gradients keep the whole periodic grid, whose
    taper makes them consistent with the circular model of the Fourier kernel step.
    """
    seen = np.zeros(bc.grid_shape)
    seen[tuple(slice(r.start, r.stop - 1) for r in bc.region)] = 1.0
    return seen


def valid_gradients(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward differences inside the image only, both on the same (h-1, w-1) grid."""
    base = x[:-1, :-1]
    return x[1:, :-1] - base, x[:-1, 1:] - base


def valid_kernel_step(
    latent: np.ndarray,
    observed: np.ndarray,
    k0: np.ndarray,
    gamma: float,
    smooth: float,
    num_cg: int,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    r"""Least-squares kernel on gradients over the valid pixels only, by conjugate gradients.

    .. math:: \min_k \sum_d \|V(\partial_d x * k) - V\partial_d y\|^2 + \gamma\|k\|^2
              + \eta\|\nabla k\|^2 ,

    where :math:`V` keeps the observed pixels whose whole kernel footprint lies inside the
    latent image (no boundary model at all), times ``weights`` (an array of the observed
    image's shape, 0 for pixels to ignore, e.g. saturated ones) when given, and
    :math:`\eta` = ``smooth`` penalises the
    kernel's gradient (zero outside its support), a prior that keeps faint, long tails
    rather than cutting them (Cho & Lee 2009 use the same kind of Tikhonov term). Solved by
    ``num_cg`` conjugate-gradient steps on the normal equations, warm-started at ``k0``;
    each product takes six FFTs on the latent gradients' grid.
    """
    m = k0.shape
    c = [s // 2 for s in m]
    gxs = valid_gradients(latent)
    gys = valid_gradients(observed)
    n = [gxs[0].shape[a] - m[a] + 1 for a in range(2)]
    inside = (slice(c[0], c[0] + n[0]), slice(c[1], c[1] + n[1]))
    w = None if weights is None else np.asarray(weights, dtype=np.float64)[:-1, :-1][inside]
    targets = [gy[inside] if w is None else gy[inside] * w for gy in gys]
    # On the latent gradients' own grid, the circular convolution with the kernel placed at
    # the origin equals the linear one wherever the valid part lies, and the adjoint is the
    # circular correlation of a residual placed there: each product is 6 FFTs of that size.
    grid = gxs[0].shape
    spectra = [fft.rfftn(gx) for gx in gxs]
    valid = (slice(m[0] - 1, grid[0]), slice(m[1] - 1, grid[1]))

    def adjoint(residuals: list[np.ndarray]) -> np.ndarray:
        total: Any = 0.0
        for spectrum, res in zip(spectra, residuals, strict=True):
            placed = np.zeros(grid)
            placed[valid] = res
            total = total + fft.rfftn(placed) * np.conj(spectrum)
        return fft.irfftn(total, grid)[: m[0], : m[1]]

    def normal(k: np.ndarray) -> np.ndarray:
        out = gamma * k
        if smooth:
            out = out - smooth * ndimage.laplace(k, mode="constant")
        placed = np.zeros(grid)
        placed[: m[0], : m[1]] = k
        k_hat = fft.rfftn(placed)
        residuals = []
        for spectrum in spectra:
            r = fft.irfftn(k_hat * spectrum, grid)[valid]
            residuals.append(r if w is None else r * w)
        return out + adjoint(residuals)

    rhs = adjoint(targets)
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


def _delta(shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(shape)
    out[tuple(s // 2 for s in shape)] = 1.0
    return out


def project(k: np.ndarray, threshold: float, min_mass: float, join: int = 0) -> np.ndarray:
    """Non-negative, small values and small 8-connected components removed, sum one.

    With ``join`` > 0, pixels up to ``2 * join`` px apart count as one component (the support
    is dilated ``join`` times before labelling), so that a dotted stroke is kept whole.
    """
    k = np.where(k > 0, k, 0.0)
    peak = float(k.max())
    if peak <= 0:
        return _delta(k.shape)
    k[k < threshold * peak] = 0.0
    support = k > 0
    if join:
        support = ndimage.binary_dilation(support, np.ones((3, 3)), iterations=join)
    labels, count = ndimage.label(support, structure=np.ones((3, 3)))
    if count > 1:
        mass = ndimage.sum(k, labels, index=np.arange(1, count + 1))
        small = np.flatnonzero(mass < min_mass * mass.sum()) + 1
        if small.size < count:
            k[np.isin(labels, small)] = 0.0
    return k / k.sum()


def recentre(k: np.ndarray, quantile: float = CENTRE_QUANTILE) -> np.ndarray:
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


def zoom_kernel(k: np.ndarray, factor: float, shape: tuple[int, int]) -> np.ndarray:
    """``k`` magnified by ``factor`` about its centre pixel, on an odd grid of ``shape``."""
    centre_in = np.array([s // 2 for s in k.shape], dtype=np.float64)
    centre_out = np.array([s // 2 for s in shape], dtype=np.float64)
    coords = np.indices(shape, dtype=np.float64)
    src = [(coords[a] - centre_out[a]) / factor + centre_in[a] for a in range(2)]
    out = ndimage.map_coordinates(k, src, order=1, mode="constant", cval=0.0)
    out = np.maximum(out, 0.0)
    total = out.sum()
    if total <= 0:
        return _delta(shape)
    return out / total


def trim(k: np.ndarray) -> np.ndarray:
    """Crop to the non-zero bounding box plus one pixel, symmetric about the centre, odd."""
    box = _trim_box(k).shape
    out = _centre_crop_or_pad(k, [min(b + 2, n) for b, n in zip(box, k.shape, strict=True)])
    return out / out.sum()


def crop_centre(k: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The centred ``shape`` window of ``k`` (odd sides), scaled to sum one."""
    out = _centre_crop_or_pad(k, shape)
    return out / max(float(out.sum()), 1e-300)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised cross-correlation of two kernels, maximised over all shifts (in [0, 1])."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    corr = signal.fftconvolve(a, b[::-1, ::-1], mode="full")
    return float(corr.max() / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-300))


def prior_boost(sigma: float, k: np.ndarray, adaptive: float) -> float:
    r"""Factor on a kernel step's prior weights for the noise ``sigma`` (normalised units).

    A maximum a posteriori kernel weighs a Gaussian prior of variance :math:`\sigma_k^2` on its
    values by :math:`\sigma^2 / \sigma_k^2`; the values of a kernel spread over :math:`P`
    pixels are about :math:`1/P` (:math:`P = 1/\sum k^2`, the participation number of the
    current estimate, at most 1.5 times the support's side), so the weight grows as
    :math:`(\sigma P)^2`. The defaults were tuned
    on the Levin et al. photographs, where :math:`\sigma P` is about ``_SIGMA_P_REF``; the
    factor is :math:`\max(1, (\sigma P / \mathrm{ref})^{2a})` with :math:`a` =
    ``adaptive`` (0: off), so quieter or smaller-kernel data keep the tuned weights.
    """
    if not adaptive:
        return 1.0
    return max(1.0, (sigma * capped_participation(k) / _SIGMA_P_REF) ** (2 * adaptive))


def capped_participation(k: np.ndarray) -> float:
    """The participation number :math:`1/\\sum k^2` of a kernel that sums to one, at most 1.5
    times its support's side: a stroke across the support spreads over about its side, so more
    means a blurry estimate, which a larger prior weight would only blur further."""
    return min(1.0 / float(np.sum(k * k)), 1.5 * max(k.shape))


def anchor_excess(sigma: float, k: np.ndarray) -> float:
    r"""How far a level is beyond the noise the pyramid copes with: :math:`\max(0, (\sigma P /
    r)^2 - 1)`, :math:`P` the starting kernel's participation number (at most 1.5 times the
    support's side, as in :func:`prior_boost`) and :math:`r` = ``ANCHOR_NOISE``."""
    return max(0.0, (sigma * capped_participation(k) / ANCHOR_NOISE) ** 2 - 1)
