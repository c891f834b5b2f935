r"""Free-form (camera-shake) blur kernels, estimated coarse-to-fine from the blurred image alone.

The observation is :math:`y = k * x + n` with an unknown non-negative kernel :math:`k` that sums
to one and an unknown sharp image :math:`x`. :func:`estimate_kernel` finds :math:`k` in two
stages, each in its own module:

* the **coarse-to-fine alternation** of an L0-regularised latent image and a least-squares
  kernel on gradients, on every level of an image pyramid (Pan, Hu, Su & Yang 2014;
  :mod:`unblur.blind.pyramid`, with the sub-problems in :mod:`unblur.blind.latent` and
  :mod:`unblur.blind.kernel_step`);
* a **final refinement** at full resolution (``refine_iter`` alternations of a TV latent image
  and a valid-pixel kernel step; :mod:`unblur.blind.refinement`): the L0 latent image drifts
  away even from the true kernel.

This module decides what those stages run on and checks what they return: the analysed
window and scale, the kernel's support (sizing passes), the starting kernels, and the
agreement checks that :mod:`unblur.blind.auto` and :mod:`unblur.blind.confidence` judge.

**Noisy levels** (optional, off by default; see the notes for why): the noise :math:`\sigma_l`
of a level is the window's times the level's scale, and where it is high for the kernel's
spread (photographs at 1-5 % noise and a large shake; Levin et al.'s are at 0.3 %) the finest
levels lose a kernel the coarser ones had found. With ``anchor`` > 0 the kernel step is pulled
towards the level's starting kernel, the more the noisier the level (the penalty is in
:mod:`unblur.blind.pyramid`). Without ``size``, and where the window's noise is
above ``_SIZING_NOISE`` (Levin et al.'s photographs are below it), the support is found by an
anchored pass from the generous starting support, cut to the centred square holding the
central ``_SIZING_QUANTILE`` of its marginal mass (:func:`_mass_side`): the finest levels'
bounding box undershoots a noisy blur (the kernel breaks into dots that the projection
removes), the anchored levels' overshoots (they keep the blurry magnified kernels of the
coarse levels). Anchored levels agree with each other by construction, so the level,
refinement and window agreements that :mod:`unblur.blind.auto` and
:mod:`unblur.blind.confidence` judge are then taken from an unanchored pass on the same
support (the anchored pass's own are kept in ``info["anchored"]``).

**Saturated pixels** (given as a mask by :func:`unblur.estimate_psf`): a clipped pixel
recorded :math:`\min(1, k * x)`, not :math:`k * x`. Such pixels are taken out of the kernel
steps as outliers of the linear model (as Whyte, Sivic & Zisserman 2014 and Cho, Wang & Lee
2011 treat them): in the pyramid's Fourier step the latent and observed gradients at a
clipped pixel and its neighbours are zeroed, in the refinement's valid-pixel step those
pixels get zero weight, and the window is chosen without counting them. Strictly, the
residuals a clipped value reaches extend a kernel radius further (and the latent image near
it is wrong too), but leaving out that band lost more data than it removed bias, and
imputing the clipped values (an EM step for censored data) did worse still (see the notes).

**Region and scale**: the blur is assumed uniform, so a large image is analysed on its most
textured square window of side ``max_side`` (:mod:`unblur.blind.windows`). An image whose
shorter side exceeds 1.5 x ``3 * max_side`` px is first reduced by an integer factor (block
means), so that the window covers about a third of it and a large blur stays a few tens of
pixels wide; the kernel found there is magnified back and refined by one alternation on a
full-resolution window at the same place.

**Kernel size**: a first pass starts with a generous support, a quarter of the window's side
(15 to 101 px, or the size given where that is larger), and after every coarse level cuts the
support of the finer levels to what the kernel has reached there (twice its largest distance
from the centre, plus a quarter and 4 px); its kernel is trimmed to the bounding box of its
non-zero pixels plus one pixel on every side, made odd and centred. A **second pass** then
estimates again from the start on that extent (its larger side, square), capped by the size
when one is given, and its kernel is returned (trimmed the same way; padded to the size given):
the first pass's generous support, cut level by level, leaves room for spurious mass and a
wrong shape at the coarse levels, which a support fitted to the blur does not (the notes have
the figures). The pyramid-level agreement reported is the larger of the two passes' (the
second, on a support cut to the kernel, has fewer and smaller levels), the first pass's only
where it vouches for the second's kernel: the second ran on the first's extent, or, where a
given size cut that extent, the two kernels agree at least as two windows' must. A given size
is thus a bound on the support, not the support itself: on its own exact support the
pyramid is short and its agreement too low to trust a good kernel, and a size a little too
large lets spurious mass in (the notes, section 11).
The first pass's window agreement is reported beside the second's (``first_windows``,
judged by :mod:`unblur.blind.confidence`).

**Noisy windows: the sizing and the levels the noise allows** (optional, ``level_sizing``
and ``level_stop``, off by default). The kernel step's data are
the blurred gradients, whose noise at a level grows as :math:`\sigma_l` while their signal
falls as the kernel spreads, so the *noise load* :math:`\sigma_l P` (the level's noise times
the participation number of its starting kernel, the coarser level's magnified; the
quantity ``anchor`` judges) says how well a level pins the kernel down. On a window noisier
than Levin et al.'s photographs (``_SIZING_NOISE``) the finest levels of a large shake are
past that point: the kernel breaks into dots that the projection removes, and the first
pass's bounding box undershoots the blur (a third or less of it). There, without
``anchor``, the second pass's support is taken from the first pass's kernel at the last
level whose load is at most ``level_sizing`` (the level before the first that exceeds it),
cut at the central ``_SIZING_QUANTILE`` of its mass, as a coarse kernel is blurred by the
reduction and its bounding box overshoots, and scaled to full resolution; and the second
pass stops before the first level (other than the finest) whose load exceeds
``level_stop``, magnifies the last level's kernel to the support and leaves the full
resolution to the TV refinement, whose latent image is not the noise-sensitive L0 one. This
is the coarse-to-fine principle itself (Fergus et al. 2006; Cho & Lee 2009): a scale is used
only where the data there determine the kernel; the thresholds (``_LEVEL_SIZING``,
``_STOP_LOAD``) are measured, not derived. Off by default: on held-out noisy shakes the
kernels it finds are trusted by the checks more often than they are right (see the notes).

**A kernel cut off by its support** (optional, ``size_retry``, off by default): when the
second pass's kernel has more than ``_RETRY_BORDER`` of its mass on its support's border, it
is estimated once more on a support ``size_retry`` times larger (capped by the window), and
that kernel is kept when it is not cut off itself and its level, refinement and window
agreements pass the thresholds :mod:`unblur.blind.auto` applies to a free-form kernel
(``info["size_history"]``: the first pass's side, the second pass's, the retry's;
``info["size_retry"]``: the border mass, the larger support, whether it was kept and why).

**Several starts** (optional, ``starts``, 1 by default): the alternation is not convex, and
which of its fixed points it reaches depends on the coarsest level's starting kernel. With
``starts`` = :math:`n` > 1 the whole estimate (both passes) is run from each of the first
:math:`n` of a two-pixel horizontal line, a delta, a two-pixel diagonal and anti-diagonal
line and a two-pixel vertical line, and the kernel kept is the one that ranks best on two
image-only scores together (the smallest sum of its two ranks among the candidates, ties to
the earlier start): the normalised sparsity :math:`\|\nabla x\|_1 / \|\nabla x\|_2` of its TV
restoration :math:`x` of the analysed window (unknown boundary, one TV weight for all;
Krishnan, Tay & Fergus 2011), as a wrong kernel leaves the restoration blurred or ringing,
both of which spread its gradients; and the BIC of its power transfer :math:`|K|^2` against
the image's log-periodogram (:func:`~unblur.blind.periodogram.score_kernel`, the regression
the parametric fits use), which a kernel that over-sharpens (a sparse-looking restoration
from the wrong kernel) fits worse. Neither alone is reliable over five starts (see the
notes). Only kernels whose
level, refinement and window agreements pass the thresholds :mod:`unblur.blind.auto` applies
compete: a sparser kernel that the choice of model would reject would only turn a free-form
estimate into a parametric fallback. When the horizontal start's own kernel fails them, it is
returned as it is and no other start is tried: a start that merely happens to pass the checks
would turn a fallback into a trusted free-form kernel that nothing vouches for. The cost grows
up to :math:`n`-fold (``info["starts"]``: the sparsity and the BIC of each start that passed,
the failed check of each start, the one chosen).

What each default was measured against, and what was tried and not kept, is recorded in
``docs/notes/blind_kernel.md``.

References
----------
J. Pan, Z. Hu, Z. Su, M.-H. Yang, "Deblurring text images via L0-regularized intensity and
gradient prior", IEEE CVPR 2014, pp. 2901-2908 (and IEEE TPAMI 39(2), 2017, pp. 342-355).
S. Cho, S. Lee, "Fast motion deblurring", ACM TOG 28(5), 2009.
R. Fergus, B. Singh, A. Hertzmann, S. T. Roweis, W. T. Freeman, "Removing camera shake from
a single photograph", ACM TOG 25(3), 2006.
L. Xu, J. Jia, "Two-phase kernel estimation for robust motion deblurring", ECCV 2010.
A. Levin, Y. Weiss, F. Durand, W. T. Freeman, "Understanding and evaluating blind
deconvolution algorithms", IEEE CVPR 2009.
T. F. Chan, C.-K. Wong, "Total variation blind deconvolution", IEEE TIP 7(3), 1998.
O. Whyte, J. Sivic, A. Zisserman, "Deblurring shaken and partially saturated images", IJCV
110(2), 2014.
S. Cho, J. Wang, S. Lee, "Handling outliers in non-blind image deconvolution", ICCV 2011.
D. Perrone, P. Favaro, "Total variation blind deconvolution: the devil is in the details",
IEEE CVPR 2014.
D. Krishnan, T. Tay, R. Fergus, "Blind deconvolution using a normalized sparsity measure",
IEEE CVPR 2011.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import signal

from .._checks import as_float_image
from ..errors import InvalidImageError, InvalidParameterError
from ..noise import estimate_noise
from ..restore import sparse
from ._common import MIN_KERNEL, check_size, normalise, odd_side
from .confidence import THRESHOLDS, image_checks, kernel_checks
from .kernel_step import crop_centre, similarity, trim, zoom_kernel
from .periodogram import log_periodogram, prepare_image, score_on_spectrum
from .pyramid import RATIO, STARTS, Settings, coarse_to_fine
from .refinement import refine
from .windows import textured_windows

__all__ = ["MAX_SIDE", "MIN_KERNEL", "estimate_kernel"]

#: Side of the square window a large image is analysed on.
MAX_SIDE = 512
#: Noise loads (level noise times the starting kernel's participation) measured for the
#: options ``level_sizing`` (the sizing level's limit) and ``level_stop`` (above which the
#: second pass on a noisy window stops and magnifies the last level's kernel); both off by
#: default.
_LEVEL_SIZING = 0.2
_STOP_LOAD = 0.6
#: Window noise (normalised units) above which the sizing pass is anchored (Levin's
#: photographs: 0.0026-0.0038).
_SIZING_NOISE = 0.005
#: Central fraction of the anchored sizing pass's kernel mass its support is cut to.
_SIZING_QUANTILE = 0.9
#: The windows check compares the kernels of two windows at this pyramid level (half size).
_CHECK_LEVEL = 2
#: The windows check's second window overlaps the first by at most a quarter, or, where the
#: image holds no such window, by at most this fraction (each keeps half its pixels its own).
_CHECK_OVERLAP = 0.5
#: Border mass of the second pass's kernel above which it is taken as cut off by its support
#: and estimated again on a larger one (``size_retry``).
_RETRY_BORDER = THRESHOLDS["border_mass"]
#: Largest starting support of the first pass (when the size given is not larger).
_MAX_DEFAULT = 101


def _default_size(shape: tuple[int, ...]) -> int:
    """The starting support when the size is not given: a quarter of the shorter side, 15 to
    101 px (the finer levels shrink it to the kernel's extent)."""
    return odd_side(max(15.0, min(min(shape) / 4, _MAX_DEFAULT)))


def _check_mask(saturated: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray | None:
    """The saturation mask as a boolean array of the image's shape (None: nothing clipped)."""
    if saturated is None:
        return None
    mask = np.asarray(saturated)
    if mask.shape != shape:
        raise InvalidParameterError(
            f"saturated mask has shape {mask.shape}, the image {shape}; they must match"
        )
    mask = mask.astype(bool, copy=False)
    return mask if mask.any() else None


def _restored_sparsity(y: np.ndarray, k: np.ndarray, lam: float | None) -> tuple[float, float]:
    r"""The normalised sparsity :math:`\|\nabla x\|_1 / \|\nabla x\|_2` of the TV restoration
    :math:`x` of ``y`` with ``k`` (Krishnan, Tay & Fergus 2011), at the TV weight ``lam``
    (None: the automatic one); returns it and the weight used."""
    details: dict[str, Any] = {}
    x = sparse.tv(y, k, lam=lam, boundary="unknown", info=details)
    g0, g1 = np.diff(x, axis=0)[:, :-1], np.diff(x, axis=1)[:-1]
    l1 = float(np.abs(g0).sum() + np.abs(g1).sum())
    l2 = math.sqrt(float((g0 * g0).sum() + (g1 * g1).sum()))
    return l1 / max(l2, 1e-300), float(details["lam"])


def _level_side(levels: list[dict], limit: float) -> int | None:
    r"""The kernel's side (full resolution) from the last pyramid level the noise lets find it.

    A level's noise load is :math:`\sigma_l P`, the level's noise times the participation of
    its starting kernel (the coarser level's, magnified), the quantity that ``anchor`` judges:
    above ``limit`` the kernel step's data no longer pin the kernel down and it breaks
    into dots, whose bounding box undershoots the blur. The side is that of the level before
    the first such level, cut at the central ``_SIZING_QUANTILE`` of its mass
    (:func:`_mass_side`: a coarse kernel is blurred by the reduction, so its bounding box
    overshoots) and scaled to full resolution. None where no level is that noisy.
    """
    for previous, current in itertools.pairwise(levels):
        if current["noise_load"] > limit:
            return previous["mass_side"]
    return None


def _mass_side(k: np.ndarray, quantile: float) -> int:
    """The odd side of the centred square holding the central ``quantile`` of ``k``'s
    marginal mass on either axis, plus a pixel each side."""
    half = 0
    for axis, n in enumerate(k.shape):
        cumulative = np.cumsum(k.sum(axis=1 - axis))
        cumulative /= cumulative[-1]
        low = int(np.searchsorted(cumulative, (1.0 - quantile) / 2))
        high = int(np.searchsorted(cumulative, (1.0 + quantile) / 2))
        half = max(half, n // 2 - low, high - n // 2)
    return 2 * half + 3


def _span(centre: int, side: int, n: int) -> slice:
    """``side`` pixels about ``centre``, moved inside ``[0, n)``."""
    start = max(0, min(centre - side // 2, n - side))
    return slice(start, min(start + side, n))


def _working_factor(shape: tuple[int, int], max_side: int) -> int:
    """Integer down-scaling of a large image before estimation: the analysed window of
    ``max_side`` px then covers about a third of the shorter side (1 up to 1.5 x
    ``3 * max_side`` px)."""
    return max(1, round(min(shape) / (3 * max_side)))


def _block_mean(
    y: np.ndarray, mask: np.ndarray | None, factor: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """``y`` averaged over ``factor`` x ``factor`` blocks (and ``mask``: any pixel set)."""
    if factor == 1:
        return y, mask
    h, w = (n // factor * factor for n in y.shape)
    blocks = np.asarray(y[:h, :w], dtype=np.float64).reshape(
        h // factor, factor, w // factor, factor
    )
    small = blocks.mean(axis=(1, 3))
    if mask is None:
        return small, None
    return small, mask[:h, :w].reshape(h // factor, factor, w // factor, factor).any(axis=(1, 3))


def _failed_agreement(checks: dict[str, float]) -> str | None:
    """The first of :mod:`unblur.blind.auto`'s agreement checks that ``checks`` fail (None:
    all pass)."""
    for name in ("levels", "refinement", "windows"):
        value = checks.get(name)
        if value is not None and value < THRESHOLDS[f"free_{name}"]:
            return f"{name} agreement {value:.2f} < {THRESHOLDS[f'free_{name}']}"
    return None


def _retry_larger(
    y: np.ndarray,
    k: np.ndarray,
    side: int,
    cut: float,
    factor: float,
    options: dict[str, Any],
    info: dict[str, Any] | None,
) -> np.ndarray:
    """The kernel re-estimated on a support ``factor`` times ``side`` (capped by the
    window), when it is not cut off itself and its agreements pass; else ``k``. The larger
    support is appended to ``info["size_history"]`` and ``info["size_retry"]`` says what was
    done."""
    window = min(min(y.shape), options["max_side"])
    cap = max(side, min(odd_side(side * factor), odd_side(window // 2) - 2))
    record: dict[str, Any] = {"border_mass": cut, "support": cap, "kept": False}
    history = list(info.get("size_history", [])) if info is not None else []
    if cap > side:
        grown: dict[str, Any] = {}
        same = {n: v for n, v in options.items() if n != "start_kernel"}
        k_cap = estimate_kernel(
            y, cap, info=grown, second_pass=False, start=options["start_kernel"], **same
        )
        checks = grown["checks"]
        larger_cut = kernel_checks(k_cap)["border_mass"]
        failed = _failed_agreement(checks)
        if larger_cut > THRESHOLDS["border_mass"]:
            record["reason"] = f"the larger kernel is cut off too ({larger_cut:.0%} on its border)"
        elif failed is not None:
            record["reason"] = f"the larger kernel fails the {failed}"
        else:
            record.update(kept=True, reason="the larger kernel is not cut off and agrees")
            k = trim(k_cap)
        history.append(cap)
        agreements = {n: checks.get(n) for n in ("levels", "refinement", "windows")}
        record.update(larger_border_mass=larger_cut, larger_checks=agreements)
        if record["kept"] and info is not None:
            first = info.get("first_pass")
            info.clear()
            info.update(grown, size=list(k.shape), size_estimated=True, first_pass=first)
    else:
        record["reason"] = "the support cannot grow within the window"
    if info is not None:
        info.update(size_history=history, size_retry=record)
    return k


def _checks(
    y: np.ndarray,
    mask: np.ndarray | None,
    k: np.ndarray,
    x: np.ndarray,
    levels: list[dict],
    sigma: float,
    factor: int = 1,
) -> dict[str, float]:
    """The evidence :mod:`unblur.blind.confidence` judges (on the normalised window, whose
    noise is ``sigma``; the pyramid ran on the image reduced ``factor`` times)."""
    checks = image_checks(y, sigma)
    if len(levels) >= 2:
        previous = zoom_kernel(levels[-2]["kernel"], factor / RATIO ** levels[-2]["level"], k.shape)
        checks["levels"] = similarity(k, previous)
    if levels:  # the refinement's kernel against the pyramid's finest one
        last = zoom_kernel(levels[-1]["kernel"], factor / RATIO ** levels[-1]["level"], k.shape)
        checks["refinement"] = similarity(k, last)
    h, w = k.shape
    if x.shape == y.shape and y.shape[0] > h and y.shape[1] > w:
        residual = (
            signal.fftconvolve(x, k, mode="valid")
            - y[h // 2 : h // 2 + y.shape[0] - h + 1, w // 2 : w // 2 + y.shape[1] - w + 1]
        )
        if mask is not None:
            keep = ~mask[h // 2 : h // 2 + residual.shape[0], w // 2 : w // 2 + residual.shape[1]]
            residual = residual[keep]
        if residual.size:
            checks["residual"] = float(np.sqrt(np.mean(residual**2))) / max(sigma, 1e-12)
    checks.update(kernel_checks(k))
    return checks


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
    pyramid_smooth: float = 0.0,
    noise_adaptive: float = 1.0,
    anchor: float = 0.0,
    join: int = 0,
    max_side: int = MAX_SIDE,
    second_pass: bool = True,
    level_sizing: float = 0.0,
    level_stop: float = 0.0,
    size_retry: float = 0.0,
    starts: int = 1,
    start: str = STARTS[0],
    saturated: np.ndarray | None = None,
    noise: float | None = None,
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
        Side(s) of the returned kernel (odd; even values are rounded up), at most half of each
        image side, and the largest support the estimate may use: the kernel's extent is still
        found from the data within it (see the module notes). Default: found from the data,
        starting from a quarter of the window's side (15-101 px) and cutting the support to the
        kernel's extent level by level.
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
    pyramid_smooth : float, optional
        :math:`\eta_p`, the same penalty in the pyramid's Fourier kernel step.
    noise_adaptive : float, optional
        Exponent :math:`a` of the growth of the kernel steps' prior weights with the noise
        and the kernel's spread (see :func:`prior_boost`); 0 turns it off.
    anchor : float, optional
        :math:`a_k`, the weight of the pull towards the level's starting kernel on pyramid
        levels too noisy for the kernel's spread (:math:`\sigma_l P > 0.2`; see the module
        notes and :func:`anchor_excess`). When ``size`` is not given and the window is
        noisier than Levin et al.'s photographs, it also sizes the kernel and the agreement
        checks come from an unanchored pass (two more passes). 0 (the default) turns it off.
    join : int, optional
        Kernel pixels up to ``2 * join`` px apart count as one component when small
        components are removed (see :func:`~unblur.blind.kernel_step.project`).
    max_side : int, optional
        Side of the analysed window for large images; images larger than 1.5 x
        ``3 * max_side`` on their shorter side are also reduced first (see the module notes).
    second_pass : bool, optional
        Estimate again with the square support the first estimate found (its larger side,
        capped by ``size``), on which its pyramid starts fitted to the blur (see the module
        notes). ``False``: one pass, on ``size`` when given.
    level_sizing : float, optional
        On a window noisier than Levin et al.'s photographs (``_SIZING_NOISE``; not with
        ``anchor``): the second pass's support is the first pass's kernel at the last
        pyramid level whose noise load (:math:`\sigma_l P`, see :func:`_level_side`) is at
        most this, cut to the central ``_SIZING_QUANTILE`` of its mass and scaled to full
        resolution, instead of the finest kernel's bounding box (``info["level_side"]``;
        None where no level is that noisy). 0 (the default) turns it off; ``_LEVEL_SIZING``
        (0.2) is the measured value.
    level_stop : float, optional
        On such a window, the second pass's pyramid stops before the first level (other
        than the finest) whose noise load exceeds this, magnifies the last level's kernel
        to the support and refines it at full resolution (see the module notes). 0 (the
        default) turns it off; ``_STOP_LOAD`` (0.6) is the measured value.
    size_retry : float, optional
        Without ``size``: when the second pass's kernel is cut off by its support (more than
        ``_RETRY_BORDER`` of its mass on the support's border), estimate once more on a
        support this many times larger (capped by the window) and keep that kernel when it is
        not cut off and its agreements pass :mod:`unblur.blind.auto`'s checks (see the module
        notes); ``info["size_retry"]`` says what was done. 1 or less (0, the default) turns
        it off; 2 is the value measured, and why it is off is in
        ``docs/notes/blind_kernel.md``, section 10.
    starts : int, optional
        Run the estimate from this many starting kernels at the coarsest level (two-pixel
        horizontal, delta, two-pixel diagonal, anti-diagonal, vertical: the first
        ``starts``) and keep, among the kernels that pass :mod:`unblur.blind.auto`'s
        agreement checks, the one with the smallest sum of its ranks on the sparsity of its
        TV restoration of the analysed window (:math:`\ell_1/\ell_2` ratio of its gradients;
        Krishnan et al. 2011) and on its power transfer's BIC against the image's
        log-periodogram; when the horizontal start's kernel fails those checks, it is
        returned alone (see the module notes). 1 (the default): the horizontal start alone;
        at most 5. The time grows up to ``starts``-fold.
    start : str, optional
        The coarsest level's starting kernel (:data:`~unblur.blind.pyramid.STARTS`): a
        two-pixel ``"horizontal"`` (the default), ``"vertical"``, ``"diagonal"`` or
        ``"antidiagonal"`` line, or a ``"delta"``; with ``starts`` > 1 it is tried first and
        the others follow in that order.
    saturated : numpy.ndarray, optional
        Boolean mask of clipped pixels (the image's shape): treated as censored observations
        (see the module notes) and kept out of the analysed window where possible.
    noise : float, optional
        Noise standard deviation of ``image``, when known better than from the image itself
        (:func:`unblur.estimate_psf` measures it before linearising). Default:
        :func:`unblur.noise.estimate_noise` of the analysed window.
    callback : callable, optional
        Called as ``callback(level, kernel)`` at the end of every pyramid level (0 = coarsest).
    info : dict, optional
        Receives ``size`` (returned shape), ``levels`` (per level: kernel and image shapes),
        ``window`` (the full-resolution region analysed last, as
        ``[[row0, row1], [col0, col1]]``), ``scale`` (1 / the reduction factor),
        ``size_estimated`` (whether ``size`` was found automatically), ``checks`` (the
        evidence :mod:`unblur.blind.confidence` judges) and, with the second pass,
        ``first_pass`` (its own ``info``), ``size_history`` (the first pass's side, the second
        pass's support, ...) and ``pass_agreement`` (the similarity of the two kernels).

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
        ("refine_iter", refine_iter, 0), ("max_side", max_side, 64), ("join", join, 0),
        ("starts", starts, 1),
    ):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise InvalidParameterError(f"{name} must be an integer >= {low}, got {value!r}")
    for name, value in (("lam_grad", lam_grad), ("lam_intensity", lam_intensity),
                        ("kernel_reg", kernel_reg), ("threshold", threshold),
                        ("min_mass", min_mass), ("latent_blur", latent_blur),
                        ("refine_threshold", refine_threshold),
                        ("kernel_smooth", kernel_smooth),
                        ("pyramid_smooth", pyramid_smooth),
                        ("noise_adaptive", noise_adaptive), ("anchor", anchor),
                        ("level_sizing", level_sizing), ("level_stop", level_stop)):  # fmt: skip
        if not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
            raise InvalidParameterError(f"{name} must be a finite number >= 0, got {value!r}")
    if not isinstance(start, str) or start not in STARTS:
        raise InvalidParameterError(
            f"start must be one of {', '.join(map(repr, STARTS))}, got {start!r}"
        )
    if starts > len(STARTS):
        raise InvalidParameterError(f"starts must be at most {len(STARTS)}, got {starts!r}")
    if not isinstance(size_retry, numbers.Real) or not math.isfinite(size_retry):
        raise InvalidParameterError(f"size_retry must be a finite number, got {size_retry!r}")
    if threshold >= 1 or min_mass >= 1 or refine_threshold >= 1:
        raise InvalidParameterError("threshold, refine_threshold and min_mass must be below 1")
    if not isinstance(edge_decay, numbers.Real) or not 1 <= edge_decay < math.inf:
        raise InvalidParameterError(f"edge_decay must be a finite number >= 1, got {edge_decay!r}")
    if lam_grad <= 0:
        raise InvalidParameterError(f"lam_grad must be > 0, got {lam_grad!r}")
    shape = (int(y.shape[0]), int(y.shape[1]))
    wanted = check_size(size, (min(shape[0], max_side), min(shape[1], max_side)))
    options = dict(
        num_iter=num_iter, lam_grad=lam_grad, lam_intensity=lam_intensity,
        kernel_reg=kernel_reg, threshold=threshold, min_mass=min_mass,
        edge_ratio=edge_ratio, edge_decay=edge_decay, num_iter_fine=num_iter_fine,
        latent_blur=latent_blur, refine_iter=refine_iter,
        refine_threshold=refine_threshold, kernel_smooth=kernel_smooth,
        pyramid_smooth=pyramid_smooth, noise_adaptive=noise_adaptive, join=join,
        anchor=anchor, max_side=max_side, saturated=saturated, noise=noise, callback=callback,
        start_kernel=start,
    )  # fmt: skip
    sizing = _Sizing(second_pass, level_sizing, level_stop, size_retry)
    if starts <= 1:
        return _estimate(y, wanted, options, sizing, info)
    return _best_start(y, wanted, options, sizing, starts, info)


@dataclasses.dataclass(frozen=True)
class _Sizing:
    """How :func:`estimate_kernel` sizes the support (its checked options of that name)."""

    second_pass: bool
    level_sizing: float
    level_stop: float
    size_retry: float


def _estimate(
    y: np.ndarray,
    wanted: tuple[int, int] | None,
    options: dict[str, Any],
    sizing: _Sizing,
    info: dict[str, Any] | None,
) -> np.ndarray:
    """:func:`estimate_kernel` from one starting kernel (``options["start_kernel"]``, checked
    options): one pass, or the sizing pass and the second pass on its extent."""
    anchor = options["anchor"]
    if not sizing.second_pass:
        return _one_pass(y, wanted, None, info=info, **options)
    first: dict[str, Any] = {}
    k_first = _one_pass(y, None, wanted, info=first, **{**options, "anchor": 0.0})
    side = max(k_first.shape)
    noisy_window = first.get("window_noise", 0.0) > _SIZING_NOISE
    # noisy photographs: the sizing and final passes anchored, the checks unanchored
    noisy = bool(anchor) and noisy_window
    # noisy photographs (not anchored): the extent from the last level the noise lets find
    # the kernel, and the second pass stopped where its levels get too noisy
    loud = not noisy and noisy_window
    level_side = (
        _level_side(first["levels"], sizing.level_sizing) if loud and sizing.level_sizing else None
    )
    if level_side is not None:
        side = level_side
    if noisy:
        side = _mass_side(_one_pass(y, None, wanted, **options), _SIZING_QUANTILE)
    # a given size bounds the support the data find
    support = (side, side) if wanted is None else (min(side, wanted[0]), min(side, wanted[1]))
    stop = sizing.level_stop if loud else 0.0
    k_side = _one_pass(y, support, None, info=info, stop_load=stop, **options)
    k = trim(k_side) if wanted is None else crop_centre(k_side, wanted)
    if noisy and info is not None:
        evidence: dict[str, Any] = {}
        k_evidence = trim(_one_pass(y, support, None, info=evidence, **{**options, "anchor": 0.0}))
        checks = info.get("checks", {})
        info["anchored"] = {"sizing_side": side, "checks": dict(checks),
                            "unanchored_agreement": similarity(k, k_evidence)}  # fmt: skip
        for name in ("levels", "refinement", "windows"):
            checks.pop(name, None)
            if name in evidence.get("checks", {}):
                checks[name] = evidence["checks"][name]
    if info is not None:
        agreement = similarity(k_first, k)
        info.update(size=list(k.shape), size_estimated=wanted is None, first_pass=first,
                    size_history=[max(k_first.shape), max(support)],
                    pass_agreement=agreement, level_side=level_side)  # fmt: skip
        # stable across scales in either pass: the second, on a support cut to the kernel,
        # has fewer and smaller levels, whose agreement means less; the first pass vouches
        # for the second's kernel when that is its own estimate again on its extent, or
        # (a given size cut the support) when the two agree as two windows' kernels must
        vouches = support == (side, side) or agreement >= THRESHOLDS["free_windows"]
        passes = (info, first) if vouches else (info,)
        levels = [p["checks"].get("levels") for p in passes if "checks" in p]
        if all(v is not None for v in levels) and levels:
            info["checks"]["levels"] = max(levels)
    if sizing.size_retry > 1 and not noisy and wanted is None:
        cut = kernel_checks(k_side)["border_mass"]
        if cut > _RETRY_BORDER:
            k = _retry_larger(y, k, side, cut, sizing.size_retry, options, info)
    if info is not None and first.get("checks", {}).get("windows") is not None:
        info.setdefault("checks", {})["first_windows"] = first["checks"]["windows"]
    return k


def _best_start(
    y: np.ndarray,
    wanted: tuple[int, int] | None,
    options: dict[str, Any],
    sizing: _Sizing,
    starts: int,
    info: dict[str, Any] | None,
) -> np.ndarray:
    """The kernel of the first ``starts`` starting kernels (``options["start_kernel"]``, then
    the rest of ``STARTS``) with the smallest sum of its ranks on two scores, the normalised
    sparsity of its TV restoration of the analysed window and the BIC of its power transfer
    against the image's log-periodogram (ties to the earlier start), among those whose
    level, refinement and window agreements pass :mod:`unblur.blind.auto`'s thresholds; the
    first start's kernel alone when it fails them (see :func:`estimate_kernel`, ``starts``)."""
    kept: dict[str, tuple[np.ndarray, dict[str, Any]]] = {}
    lam = spectrum = None
    scores, bics, failed = {}, {}, {}
    first = options["start_kernel"]
    order = (first, *(s for s in STARTS if s != first))
    for start in order[:starts]:
        details: dict[str, Any] = {}
        one = {**options, "start_kernel": start}
        k = _estimate(y, wanted, one, sizing, details)
        failed[start] = _failed_agreement(details.get("checks", {}))
        if start == first and failed[start] is not None:
            kept[start] = (k, details)  # the default start fails: keep it
            break
        if failed[start] is not None:
            continue
        rows, cols = details["window"]
        window, _ = normalise(np.asarray(y[rows[0] : rows[1], cols[0] : cols[1]], dtype=float))
        scores[start], lam = _restored_sparsity(window, k, lam)
        if spectrum is None:  # the image's, shared by every start's score
            spectrum = log_periodogram(*prepare_image(y, None))
        bics[start] = score_on_spectrum(spectrum, k)["bic"]
        kept[start] = (k, details)
    names = list(kept)
    if scores:
        by_sparsity = sorted(names, key=scores.__getitem__)
        by_bic = sorted(names, key=bics.__getitem__)
        rank = {n: by_sparsity.index(n) + by_bic.index(n) for n in names}
        chosen = min(names, key=lambda n: (rank[n], names.index(n)))
    else:
        chosen = names[0]
    k, details = kept[chosen]
    if info is not None:
        info.update(details)
        info["starts"] = {"sparsity": scores, "bic": bics, "failed": failed, "chosen": chosen}
    return k


def _one_pass(
    y: np.ndarray,
    wanted: tuple[int, int] | None,
    start: tuple[int, int] | None,
    *,
    num_iter: int,
    lam_grad: float,
    lam_intensity: float,
    kernel_reg: float,
    threshold: float,
    min_mass: float,
    edge_ratio: float,
    edge_decay: float,
    num_iter_fine: int,
    latent_blur: float,
    refine_iter: int,
    refine_threshold: float,
    kernel_smooth: float,
    pyramid_smooth: float,
    noise_adaptive: float,
    anchor: float,
    join: int,
    max_side: int,
    saturated: np.ndarray | None,
    noise: float | None,
    callback: Callable[[int, np.ndarray], Any] | None,
    start_kernel: str = STARTS[0],
    info: dict[str, Any] | None = None,
    stop_load: float = 0.0,
) -> np.ndarray:
    """One estimate of :func:`estimate_kernel` (checked options): on the support ``wanted``
    when it is given; otherwise from a generous starting support (a quarter of the window,
    :func:`_default_size`, or ``start`` where that is larger) cut to the kernel's extent level
    by level, and trimmed."""
    shape = (int(y.shape[0]), int(y.shape[1]))
    full_mask = _check_mask(saturated, shape)
    settings = Settings(
        num_iter, num_iter_fine, lam_grad, lam_intensity, kernel_reg, threshold, min_mass,
        edge_ratio, edge_decay, latent_blur, pyramid_smooth, join,
    )  # fmt: skip
    factor = _working_factor(shape, max_side)
    small, small_mask = _block_mean(y, full_mask, factor)
    windows = textured_windows(small, max_side, 2, avoid=small_mask)
    if len(windows) < 2:
        windows = textured_windows(small, max_side, 2, avoid=small_mask, overlap=_CHECK_OVERLAP)
    window = windows[0]
    ys, span = normalise(np.asarray(small[window], dtype=np.float64))
    sigma = estimate_noise(ys) if noise is None else noise / factor / span
    settings = dataclasses.replace(
        settings,
        noise=sigma,
        adaptive=noise_adaptive,
        anchor=anchor,
        stop_load=stop_load,
        start_kernel=start_kernel,
    )
    ms = None if small_mask is None or not small_mask[window].any() else small_mask[window]
    if wanted is not None:
        support = tuple(odd_side(n / factor) for n in wanted)
    else:
        support = (_default_size(ys.shape),) * 2
        if start is not None:
            support = tuple(
                max(s, odd_side(n / factor)) for s, n in zip(support, start, strict=True)
            )
    support = tuple(min(s, odd_side(n // 2) - 2) for s, n in zip(support, ys.shape, strict=True))
    k, latent, levels = coarse_to_fine(ys, ms, support, settings, callback, shrink=wanted is None)
    k, latent = refine(
        ys,
        ms,
        k,
        latent,
        refine_iter if latent is not None else max(refine_iter, 1),
        refine_threshold,
        min_mass,
        kernel_smooth,
        sigma,
        noise_adaptive,
        join,
    )
    agreement = None
    check_level = max(_CHECK_LEVEL, levels[-1]["level"])
    coarse = [lv for lv in levels if lv["level"] == check_level]
    if len(windows) > 1 and coarse:  # the runner-up window's pyramid down to half resolution
        other, other_span = normalise(np.asarray(small[windows[1]], dtype=np.float64))
        other_mask = None if small_mask is None else small_mask[windows[1]]
        if other_mask is not None and not other_mask.any():
            other_mask = None
        other_settings = dataclasses.replace(
            settings, noise=sigma * span / other_span, stop_load=0.0
        )
        k_other, _, _ = coarse_to_fine(other, other_mask, support, other_settings, None,
                                 shrink=wanted is None, until=check_level)  # fmt: skip
        agreement = similarity(coarse[0]["kernel"], k_other)
    if factor > 1:
        # magnify to full resolution and refine there, on the window's middle
        full_support = wanted or tuple(
            min(odd_side(n * factor + 2 * factor), odd_side(max_side // 2) - 2)
            for n in trim(k).shape
        )
        k = zoom_kernel(trim(k), factor, full_support)
        centre = [(sl.start + sl.stop) * factor // 2 for sl in window]
        window = tuple(_span(c, max_side, n) for c, n in zip(centre, shape, strict=True))
        ys, span = normalise(np.asarray(y[window], dtype=np.float64))
        sigma = estimate_noise(ys) if noise is None else noise / span
        ms = None if full_mask is None or not full_mask[window].any() else full_mask[window]
        k, latent = refine(ys, ms, k, None, 1, refine_threshold, min_mass, kernel_smooth,
                            sigma, noise_adaptive, join)  # fmt: skip
    checks = _checks(ys, ms, k, latent, levels, sigma, factor)
    if agreement is not None:
        checks["windows"] = agreement
    if wanted is None:
        k = trim(k)
    elif k.shape != wanted:
        k = crop_centre(k, wanted)
    if info is not None:
        info.update(
            size=list(k.shape),
            levels=[
                {
                    **{n: v for n, v in lv.items() if n not in ("kernel", "level")},
                    "mass_side": odd_side(
                        _mass_side(lv["kernel"], _SIZING_QUANTILE) * factor / RATIO ** lv["level"]
                    ),
                }
                for lv in levels
            ],
            window=[[window[0].start, window[0].stop], [window[1].start, window[1].stop]],
            scale=1.0 / factor,
            size_estimated=wanted is None,
            checks=checks,
            window_noise=sigma,
        )
    return k
