r"""The coarse-to-fine alternation of the free-form estimator (Pan, Hu, Su & Yang 2014).

On every level of an image pyramid, :func:`coarse_to_fine` alternates two sub-problems:

* the **latent image** :math:`x` with an L0 prior on intensities and gradients, by
  half-quadratic splitting (:func:`~unblur.blind.latent.l0_latent`), whose gradients are then
  thinned to the strongest edges in every orientation (Cho & Lee 2009; Xu & Jia 2010): at the
  start of every level the threshold keeps ``edge_ratio`` times the kernel side per
  orientation bin, and it is divided by ``edge_decay`` after every iteration, so that ever
  more edges take part;
* the **kernel** by least squares on gradients, in closed form in the Fourier domain
  (:func:`~unblur.blind.kernel_step.fourier_kernel_step`), then projected on the constraints
  (non-negative, small values and small components removed, sum one).

**Pyramid**: the levels are scaled by :math:`2^{-l/2}` until the kernel is about 5 px wide
(Pan et al.); the coarsest level starts from a two-pixel line (horizontal by default; see
:data:`STARTS`), each finer level from the previous kernel zoomed by :math:`\sqrt2` about its
centre. At the end of every level the kernel is re-centred on the middle of its mass range,
which keeps it inside its support; the weights :math:`\lambda_g, \lambda_i` decay by 1.1 per
iteration to :math:`10^{-4}` so that ever finer edges join the estimate. The finest level runs
``num_iter_fine`` iterations. Where the size is not known, the support of the finer levels is
cut to the extent the kernel has reached (:func:`_shrunk`).

**Latent edge width**: the L0 latent image has ideal one-pixel steps, while the edges of a real
sharp photograph are a little soft (optics, sampling), and a least-squares kernel absorbs the
difference by coming out thicker. At the finest level the latent image is therefore smoothed
by a Gaussian of ``latent_blur`` px before its gradients are taken (our own, empirical step).

**Noise**: the kernel step's prior weights grow with the level's noise :math:`\sigma_l` (the
window's times the level's scale) and the kernel's spread
(:func:`~unblur.blind.kernel_step.prior_boost`). With ``anchor`` > 0 the kernel step is also
pulled towards the level's starting kernel :math:`k_0` (the coarser level's, magnified) by
the penalty :math:`\gamma a_k \max(0, (\sigma_l P / 0.2)^2 - 1) \|k - k_0\|^2`, with
:math:`P` the participation number of :math:`k_0` and :math:`a_k` = ``anchor``
(:func:`~unblur.blind.kernel_step.anchor_excess`): the noisier a level, the less it may move
the kernel. With ``stop_load`` the pyramid stops before a level whose noise load
:math:`\sigma_l P` exceeds it.

**Saturated pixels**: in the Fourier kernel step the latent and observed gradients at a clipped
pixel and its neighbours are zeroed (:func:`_exclusion`), as outliers of the linear model.

References
----------
J. Pan, Z. Hu, Z. Su, M.-H. Yang, "Deblurring text images via L0-regularized intensity and
gradient prior", IEEE CVPR 2014, pp. 2901-2908 (and IEEE TPAMI 39(2), 2017, pp. 342-355).
S. Cho, S. Lee, "Fast motion deblurring", ACM TOG 28(5), 2009.
L. Xu, J. Jia, "Two-phase kernel estimation for robust motion deblurring", ECCV 2010.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import ndimage
from skimage.transform import resize

from ..operators import Boundary
from ..operators.differences import gradient
from ._common import odd_side
from .kernel_step import (
    CLIPPED_BAND,
    anchor_excess,
    capped_participation,
    fourier_kernel_step,
    prior_boost,
    project,
    recentre,
    seen_mask,
    zoom_kernel,
)
from .latent import edge_threshold, l0_latent

__all__ = ["RATIO", "STARTS", "Settings", "coarse_to_fine", "starting_kernel"]

#: Pyramid ratio between levels, and the kernel side of the coarsest level.
RATIO = 1 / math.sqrt(2)
_COARSEST = 5
#: The L0 weights decay by 1.1 per iteration down to this floor (Pan et al.).
_LAM_MIN = 1e-4
#: The coarsest level's starting kernels (:func:`starting_kernel`), in the order
#: :func:`~unblur.blind.kernel.estimate_kernel`'s ``starts`` takes them.
STARTS = ("horizontal", "delta", "diagonal", "antidiagonal", "vertical")


@dataclasses.dataclass(frozen=True)
class Settings:
    """The pyramid's options (see :func:`~unblur.blind.kernel.estimate_kernel`)."""

    num_iter: int
    num_iter_fine: int
    lam_grad: float
    lam_intensity: float
    kernel_reg: float
    threshold: float
    min_mass: float
    edge_ratio: float
    edge_decay: float
    latent_blur: float
    pyramid_smooth: float
    join: int
    noise: float = 0.0
    adaptive: float = 0.0
    anchor: float = 0.0
    stop_load: float = 0.0
    start_kernel: str = STARTS[0]


def coarse_to_fine(
    y: np.ndarray,
    mask: np.ndarray | None,
    support: tuple[int, int],
    s: Settings,
    callback: Callable[[int, np.ndarray], Any] | None,
    shrink: bool = False,
    until: int = 0,
) -> tuple[np.ndarray, np.ndarray | None, list[dict]]:
    """Coarse-to-fine L0 alternation; returns the kernel, the finest latent image (cropped to
    the image) and a record per level. With ``shrink`` (size not given) the support of the
    finer levels is cut to the extent the kernel has reached (see :func:`_shrunk`); ``until``
    stops after that level (0: full resolution). With ``s.stop_load`` the pyramid stops
    before a level (not the finest) whose noise load exceeds it and returns the last level's
    kernel magnified to ``support``, and no latent image."""
    num_levels = 1 + max(0, math.floor(math.log(_COARSEST / min(support)) / math.log(RATIO)))
    if not 0 <= until < num_levels:
        raise ValueError(f"the pyramid has levels {num_levels - 1} to 0, not {until}")
    levels: list[dict] = []
    k = None
    lam_g, lam_i = float(s.lam_grad), float(s.lam_intensity)
    for level in range(num_levels - 1, until - 1, -1):
        scale = RATIO**level
        ks = tuple(odd_side(n * scale) for n in support) if level else support
        if level:
            shape_l = [max(round(n * scale), 2 * m + 1) for n, m in zip(y.shape, ks, strict=True)]
            ys = resize(y, shape_l, order=1, anti_aliasing=True, mode="reflect")
            ms = None if mask is None else resize(mask.astype(float), shape_l, order=1) > 0
        else:
            ys, ms = y, mask
        if k is None:
            k = starting_kernel(ks, s.start_kernel)
        else:
            k = zoom_kernel(k, 1 / RATIO, ks)
        bc = Boundary.create("taper", ys.shape, k, dtype=np.float64)
        seen = seen_mask(bc)
        observed_weight: Any = 1.0
        if ms is not None:  # saturation: drop the residuals its clipped values reach
            seen, observed_weight = _exclusion(ms, bc, ks, seen)
        edge = None
        k_start = k
        excess = anchor_excess(s.noise * scale, k) if levels and s.anchor else 0.0
        load = s.noise * scale * capped_participation(k) if levels else 0.0
        if s.stop_load and level and load > s.stop_load:
            # too noisy for the kernel's spread: the last level's kernel, magnified
            previous = levels[-1]
            k = zoom_kernel(previous["kernel"], 1 / RATIO ** previous["level"], support)
            return k, None, levels
        for _ in range(s.num_iter if level else s.num_iter_fine):
            bc = Boundary.create("taper", ys.shape, k, dtype=np.float64)
            y_grid = bc.extend(ys)
            x = l0_latent(y_grid, bc, lam_g, lam_i)
            if s.latent_blur and not level:
                x = ndimage.gaussian_filter(x, s.latent_blur, mode="wrap")
            g0, g1 = gradient(x)
            if s.edge_ratio:
                if edge is None:
                    cut = tuple(slice(r.start, r.stop - 1) for r in bc.region)
                    edge = edge_threshold(g0[cut], g1[cut], int(s.edge_ratio * max(ks)))
                weak = g0 * g0 + g1 * g1 < edge * edge
                g0[weak] = 0.0
                g1[weak] = 0.0
                edge /= s.edge_decay
            boost = prior_boost(s.noise * scale, k, s.adaptive)
            k = fourier_kernel_step(
                (g0 * seen, g1 * seen), gradient(y_grid) * observed_weight, ks,
                s.kernel_reg * boost, s.pyramid_smooth * boost, k_start,
                s.anchor * excess * s.kernel_reg * boost,
            )  # fmt: skip
            k = project(k, s.threshold, s.min_mass, s.join)
            lam_g = max(lam_g / 1.1, _LAM_MIN)
            lam_i = max(lam_i / 1.1, _LAM_MIN) if lam_i else 0.0
        k = recentre(k)
        levels.append({"level": level, "kernel_shape": list(ks), "image_shape": list(ys.shape),
                       "noise_load": load, "kernel": k})  # fmt: skip
        if shrink and level:
            support = _shrunk(k, scale, support)
        if callback is not None:
            callback(len(levels) - 1, k)
    return k, bc.crop(x), levels


def starting_kernel(ks: tuple[int, ...], start: str) -> np.ndarray:
    """The coarsest level's starting kernel on the support ``ks``: two pixels in a line
    (``"horizontal"``, ``"vertical"``, ``"diagonal"``, ``"antidiagonal"``) or one
    (``"delta"``)."""
    k = np.zeros(ks)
    r, c = ks[0] // 2, ks[1] // 2
    second = {"horizontal": (r, c - 1), "vertical": (r - 1, c), "diagonal": (r - 1, c - 1),
              "antidiagonal": (r - 1, c + 1), "delta": (r, c)}[start]  # fmt: skip
    k[r, c] += 0.5
    k[second] += 0.5
    return k


def _exclusion(
    mask: np.ndarray, bc: Boundary, ks: tuple[int, ...], seen: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Grid weights that take the clipped pixels out of the Fourier kernel step.

    A clipped observation is not :math:`k * x`. Latent gradients within :math:`r` of a clipped
    pixel are dropped (``seen``), and observed gradients within :math:`2r`; with :math:`r` the
    kernel's radius the residual is exactly zero there, but that band costs more data than it
    saves bias, so :math:`r` is ``CLIPPED_BAND`` kernel radii, at least one pixel.
    """
    radius = max(1, round((max(ks) // 2 + 1) * CLIPPED_BAND))
    grid = np.zeros(bc.grid_shape, dtype=bool)
    grid[bc.region] = mask
    near = ndimage.binary_dilation(grid, iterations=radius)
    far = ndimage.binary_dilation(near, iterations=radius)
    return seen * ~near, (~far).astype(np.float64)


def _shrunk(k: np.ndarray, scale: float, support: tuple[int, int]) -> tuple[int, int]:
    """The full-resolution support the level's kernel ``k`` (at ``scale``) still needs.

    Per axis, twice the largest distance of a non-zero pixel from the centre, scaled to full
    resolution, plus a margin of a quarter and 4 px (room to grow at the finer levels); never
    more than the current support.
    """
    rows, cols = np.nonzero(k)
    out = []
    for idx, n, current in zip((rows, cols), k.shape, support, strict=True):
        half = (int(np.max(np.abs(idx - n // 2))) + 0.5) / scale
        out.append(min(current, odd_side(2 * half * 1.25 + 4)))
    return out[0], out[1]
