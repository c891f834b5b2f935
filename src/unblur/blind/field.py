r"""Blind estimation of a PSF field: one free-form kernel per region, kept consistent.

A camera that rotates (or shakes about an axis away from the sensor) while its shutter is open
blurs every part of the frame differently; within a region a few hundred pixels wide the blur
is nearly uniform (Hirsch et al. 2010; Harmeling, Hirsch & Schölkopf 2010 estimate one kernel
per overlapping patch; Whyte et al. 2012 parametrise the same field by the camera's
rotations). :func:`estimate_field` estimates the field of :func:`unblur.psf.grid` on a regular
:math:`g_y \times g_x` grid in four steps:

1. **Regions.** Cell :math:`i`'s window is the support of its weight in the field (from the
   previous cell centre to the next one, so two cells wide inside the frame), grown about the
   cell centre to at least ``min_window`` px per side and clipped to the image. Neighbouring
   windows overlap by a cell, so they share edges.
2. **Independent estimates.** :func:`~unblur.blind.kernel.estimate_kernel` on every window
   (the free-form estimator of Pan et al. 2014, with its own size search when ``size`` is not
   given), with the image's noise and saturation mask; its ``checks`` give each cell's
   confidence (:mod:`unblur.blind.confidence`). The kernels are padded to one common shape
   (the largest).
3. **Alignment.** A blind kernel is only defined up to a translation (the latent image moves
   the other way), and a field whose kernels are centred differently restores every region
   shifted by its own offset: a warp, and a double image where the interpolated PSF blends two
   kernels. Every kernel is shifted by whole pixels so that its *centroid* falls on the centre
   pixel. The centroid is linear in the kernel, so every interpolated PSF between the cells'
   centres keeps it there too, and the latent image is the scene at the camera's mean pose
   (the convention of Whyte et al.).
4. **Neighbour regularisation.** A cell whose estimate the data could not determine (low
   confidence: flat or one-directional texture, a residual above the noise, a kernel on the
   border of its support) is replaced by the mean of its confident 8-neighbours' aligned
   kernels, or the median of all confident cells when none is next to it, or a global
   estimate when no cell is confident. Then ``refine`` alternations of

   * the latent image of the *whole* frame restored with the current field (the product
     convolution of :mod:`unblur.operators.field`, TV, unknown boundary), and
   * per cell, the valid-pixel kernel step (:func:`~unblur.blind.kernel_step.valid_kernel_step`)
     on the window of that latent image, with the Tikhonov prior centred on the neighbours'
     mean :math:`\bar k_i` instead of zero:

     .. math:: \min_{k_i} \sum_d \|V(\partial_d x * k_i) - V\partial_d y\|^2
               + (\gamma + \mu_i) \|k_i - \bar k_i\|^2 + \eta \|\nabla (k_i - \bar k_i)\|^2,

     solved for :math:`k_i - \bar k_i` against the residual :math:`y - x * \bar k_i`, then
     projected (non-negative, sum one) and re-aligned. :math:`\mu_i` = ``coupling`` for a
     confident cell and ten times that for a doubtful one, so a textured region keeps its own
     kernel and a flat one follows its neighbours.

   One latent image for all cells replaces the windows' own latent images, which disagree
   where the windows overlap: each kernel is then fitted against the blur model that restores
   it.

The result is a :class:`~unblur.psf.PSFField` over the image (every PSF odd-sized, non-negative,
summing to one, its centroid on the centre pixel).

References
----------
M. Hirsch, S. Sra, B. Schölkopf, S. Harmeling, "Efficient filter flow for space-variant
multiframe blind deconvolution", IEEE CVPR 2010.
S. Harmeling, M. Hirsch, B. Schölkopf, "Space-variant single-image blind deconvolution for
removing camera shake", NIPS 2010.
O. Whyte, J. Sivic, A. Zisserman, J. Ponce, "Non-uniform deblurring for shaken images",
IJCV 98(2), 2012.
J. Pan, Z. Hu, Z. Su, M.-H. Yang, "Deblurring text images via L0-regularized intensity and
gradient prior", IEEE CVPR 2014.
J. G. Nagy, D. P. O'Leary, "Restoring images degraded by spatially variant blur", SIAM J. Sci.
Comput. 19(4), 1998.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import ndimage, signal

from ..errors import InvalidImageError, InvalidParameterError
from ..operators import Boundary
from ..operators.differences import gradient
from ..psf import PSFField
from ..psf import grid as psf_grid
from ..restore import sparse
from ._common import check_size, normalise, odd_side
from ._data import prepare
from .confidence import assess, image_checks
from .kernel import estimate_kernel
from .kernel_step import (
    fourier_kernel_step,
    project,
    seen_mask,
    similarity,
    valid_kernel_step,
)
from .latent import edge_threshold, l0_latent
from .parametric import score_kernel

__all__ = ["MIN_WINDOW", "estimate_field"]

#: How the cells' kernels start: one global estimate, or each region's own estimate.
STARTS = ("global", "regions", "select")
#: Smallest side of a region's window (px); the free-form estimator needs each side >= 2 k.
MIN_WINDOW = 128
#: Most cells per axis (each one is a full blind estimate).
MAX_GRID = 16
#: Refinement: TV iterations of the whole-frame latent image, the kernel step's weights
#: (those of :func:`~unblur.blind.kernel._refine`) and its conjugate-gradient steps.
_LATENT_ITER = 50
_GAMMA = 10.0
_SMOOTH = 10.0
_CG = 20
#: Projection of a refined kernel (the estimator's ``refine_threshold`` and ``min_mass``).
_THRESHOLD = 0.03
_MIN_MASS = 0.1
#: Without ``size``, the field's PSFs are the global kernel's side + 2 px (times this).
_GROW = 1.0
_SUBPIXEL = True
#: Starting L0 weights of the local level (the estimator's, after a few levels' decay).
_LAM_LOCAL = 2e-3
#: A doubtful cell's coupling is this many times a confident one's.
_DOUBT = 10.0


def check_grid(grid: Any, shape: tuple[int, int], min_window: int = MIN_WINDOW) -> tuple[int, int]:
    """``grid`` as ``(gy, gx)``; one clear error for anything else.

    Raises
    ------
    InvalidParameterError
        Not one or two integers in ``[1, MAX_GRID]``, or so fine that a region's window (two
        cells) would be smaller than ``min_window`` px on an axis the image is large enough for.
    """
    values = (grid, grid) if isinstance(grid, numbers.Integral) else grid
    try:
        pair = tuple(values)
    except TypeError:
        pair = ()
    if len(pair) != 2 or any(
        isinstance(g, bool) or not isinstance(g, numbers.Integral) or not 1 <= g <= MAX_GRID
        for g in pair
    ):
        raise InvalidParameterError(
            f"grid must be (rows, columns), integers from 1 to {MAX_GRID}, got {grid!r}"
        )
    gy, gx = int(pair[0]), int(pair[1])
    for g, n, axis in ((gy, shape[0], "rows"), (gx, shape[1], "columns")):
        if g > 1 and 2 * n / g < min(min_window, n):
            raise InvalidParameterError(
                f"grid {gy}x{gx} is too fine for a {shape[0]}x{shape[1]} image: a region would "
                f"span {2 * n / g:.0f} {axis}, at least {min_window} are needed; use fewer cells"
            )
    return gy, gx


def _centres(n: int, g: int) -> np.ndarray:
    """The cell centres of :func:`unblur.psf.grid` along an axis of ``n`` px and ``g`` cells."""
    return (np.arange(g) + 0.5) * (n / g) - 0.5


def cell_windows(
    shape: tuple[int, int],
    grid: tuple[int, int],
    min_window: int = MIN_WINDOW,
    span: float = 2.0,
) -> dict[tuple[int, int], tuple[slice, slice]]:
    """Each cell's window: ``span`` cells about its centre (2: from the previous centre to the
    next one, its weight's support), at least ``min_window`` px, moved inside the image."""
    spans = []
    for n, g in zip(shape, grid, strict=True):
        c = _centres(n, g)
        side = min(n, max(math.ceil(span * n / g), min_window))
        axis = []
        for j in range(g):
            first = int(min(max(0, round(c[j] - side / 2)), n - side))
            axis.append(slice(first, first + side))
        spans.append(axis)
    return {(i, j): (spans[0][i], spans[1][j]) for i in range(grid[0]) for j in range(grid[1])}


def _pad_to(k: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``k`` zero-padded (or cropped) about its centre pixel to the odd ``shape``."""
    out = np.zeros(shape)
    src, dst = [], []
    for n, m in zip(k.shape, shape, strict=True):
        half = min(n // 2, m // 2)
        src.append(slice(n // 2 - half, n // 2 + half + 1))
        dst.append(slice(m // 2 - half, m // 2 + half + 1))
    out[tuple(dst)] = k[tuple(src)]
    return out / max(float(out.sum()), 1e-300)


def centroid(k: np.ndarray) -> np.ndarray:
    """The kernel's centroid relative to its centre pixel (row, column), in px."""
    k = np.asarray(k, dtype=np.float64)
    total = float(k.sum())
    idx = np.indices(k.shape, dtype=np.float64)
    return np.array([float((idx[a] * k).sum()) / total - k.shape[a] // 2 for a in range(2)])


def align(k: np.ndarray) -> np.ndarray:
    """``k`` shifted by whole pixels so that its centroid is within half a pixel of the centre
    (mass shifted past the edge is dropped; the rest sums to one)."""
    shift = centroid(k) if _SUBPIXEL else np.round(centroid(k))
    if not shift.any():
        return k
    out = ndimage.shift(k, -shift, order=1 if _SUBPIXEL else 0, mode="constant", cval=0.0)
    return out / max(float(out.sum()), 1e-300)


def _neighbours(cell: tuple[int, int], grid: tuple[int, int]) -> list[tuple[int, int]]:
    i, j = cell
    return [
        (i + a, j + b)
        for a, b in itertools.product((-1, 0, 1), repeat=2)
        if (a or b) and 0 <= i + a < grid[0] and 0 <= j + b < grid[1]
    ]


def _fill_doubtful(
    kernels: dict[tuple[int, int], np.ndarray],
    confident: dict[tuple[int, int], bool],
    grid: tuple[int, int],
) -> dict[tuple[int, int], np.ndarray]:
    """Doubtful cells replaced by the mean of their confident neighbours (or, with none, the
    pixel-wise median of all confident cells); unchanged when no cell is confident."""
    good = [c for c in kernels if confident[c]]
    if not good:
        return kernels
    median = align(np.median(np.stack([kernels[c] for c in good]), axis=0))
    median /= median.sum()
    out = dict(kernels)
    for cell in kernels:
        if confident[cell]:
            continue
        near = [kernels[c] for c in _neighbours(cell, grid) if confident[c]]
        out[cell] = align(np.mean(near, axis=0)) if near else median
    return out


def _global_start(y, obs, windows, wanted, options):
    """Every cell starts from one kernel estimated on the whole image (its most textured
    window); a cell's confidence is that of its window's texture (``signal`` and
    ``orientations`` of :func:`~unblur.blind.confidence.image_checks`)."""
    k0 = estimate_kernel(y, wanted, saturated=obs.saturated, noise=obs.noise, **options)
    # room for the kernels of the frame's edges, larger than the average one
    common = wanted or (odd_side(_GROW * max(k0.shape) + 2),) * 2
    k0 = align(_pad_to(k0, common))
    kernels, confident, reasons = {}, {}, {}
    for cell, window in windows.items():
        verdict = assess(image_checks(y[window], obs.noise))
        kernels[cell] = k0
        confident[cell] = verdict["confidence"] == "high"
        reasons[cell] = verdict["reasons"]
    return kernels, confident, reasons, common


def _region_start(y, obs, windows, wanted, options):
    """Every cell starts from its own window's estimate; its confidence is the estimate's."""
    kernels, confident, reasons = {}, {}, {}
    for cell, window in windows.items():
        details: dict[str, Any] = {}
        mask = None if obs.saturated is None else obs.saturated[window]
        kernels[cell] = estimate_kernel(
            y[window], wanted, saturated=mask, noise=obs.noise, info=details, **options
        )
        verdict = assess(details.get("checks", {}))
        confident[cell] = verdict["confidence"] == "high"
        reasons[cell] = verdict["reasons"]
    common = wanted or tuple(
        odd_side(max(k.shape[a] for k in kernels.values()) + 2) for a in range(2)
    )
    kernels = {c: align(_pad_to(k, common)) for c, k in kernels.items()}
    return kernels, confident, reasons, common


def _local_level(
    y: np.ndarray, k: np.ndarray, iterations: int, mask: np.ndarray | None = None
) -> np.ndarray:
    """The free-form estimator's finest pyramid level on one window, started from ``k``:
    L0 latent image, strongest edges per orientation, Fourier kernel step, projection
    (:mod:`unblur.blind.kernel`, Pan et al. 2014), ``iterations`` times."""
    yw, _ = normalise(np.asarray(y, dtype=np.float64))
    lam_g = lam_i = _LAM_LOCAL
    edge = None
    for _ in range(iterations):
        bc = Boundary.create("taper", yw.shape, k, dtype=np.float64)
        seen = seen_mask(bc)
        y_grid = bc.extend(yw)
        x = ndimage.gaussian_filter(l0_latent(y_grid, bc, lam_g, lam_i), 0.3, mode="wrap")
        g0, g1 = gradient(x)
        if edge is None:
            cut = tuple(slice(r.start, r.stop - 1) for r in bc.region)
            edge = edge_threshold(g0[cut], g1[cut], int(2 * max(k.shape)))
        weak = g0 * g0 + g1 * g1 < edge * edge
        g0[weak] = 0.0
        g1[weak] = 0.0
        edge /= 2.0
        k = fourier_kernel_step((g0 * seen, g1 * seen), gradient(y_grid), k.shape, 2.0)
        k = project(k, 0.05, _MIN_MASS)
        lam_g = max(lam_g / 1.1, 1e-4)
        lam_i = max(lam_i / 1.1, 1e-4)
    return align(k)


def _neighbour_mean(
    kernels: dict[tuple[int, int], np.ndarray], cell: tuple[int, int], grid: tuple[int, int]
) -> np.ndarray:
    near = _neighbours(cell, grid)
    if not near:
        return kernels[cell]
    return np.mean([kernels[c] for c in near], axis=0)


def _refine_cell(
    latent: np.ndarray,
    y: np.ndarray,
    window: tuple[slice, slice],
    own: np.ndarray,
    prior: np.ndarray,
    mu: float,
    weights: np.ndarray | None,
) -> np.ndarray:
    """One coupled kernel step of a cell (see the module notes), aligned."""
    x_w = latent[window]
    centre = prior
    residual = y[window] - signal.fftconvolve(x_w, centre, mode="same")
    d = valid_kernel_step(
        x_w,
        residual,
        own - centre,
        _GAMMA + mu,
        _SMOOTH,
        _CG,
        None if weights is None else weights[window],
    )
    return align(project(centre + d, _THRESHOLD, _MIN_MASS))


def estimate_field(
    image: np.ndarray,
    grid: int | Sequence[int],
    size: int | tuple[int, int] | None = None,
    *,
    channel_axis: int | None = None,
    encoding: str = "auto",
    refine: int = 1,
    coupling: float = 10.0,
    start: str = "select",
    min_window: int = MIN_WINDOW,
    span: float = 1.0,
    local: int = 0,
    info: dict[str, Any] | None = None,
    **options: Any,
) -> PSFField:
    r"""Estimate a spatially varying blur: a free-form kernel per cell of a regular grid.

    Per-region blind estimates (Pan et al. 2014, :func:`~unblur.blind.kernel.estimate_kernel`)
    on overlapping windows, aligned on their centroids, doubtful cells replaced by their
    neighbours, then refined against one latent image of the whole frame with a coupling to
    the neighbours' mean; see :mod:`unblur.blind.field` for the maths.

    Parameters
    ----------
    image : numpy.ndarray
        Blurred image: 2-D grey, or colour with ``channel_axis`` (averaged in linear light).
    grid : int or (int, int)
        Cells ``(rows, columns)`` of the field, 1 to 16 each; ``(1, 1)`` is one kernel.
    size : int or (int, int), optional
        Odd side of every PSF. Default: each region's estimator finds its own, and the field
        takes the largest.
    channel_axis : int, optional
        Axis of colour channels.
    encoding : {"auto", "srgb", "linear"}, optional
        As for :func:`unblur.estimate_psf`.
    refine : int, optional
        Alternations of the whole-frame latent image and the coupled kernel steps (0: the
        aligned, filled independent estimates).
    coupling : float, optional
        :math:`\mu`, the weight pulling a confident cell's kernel towards its neighbours' mean
        in the refinement (ten times that for a doubtful cell), in the units of the kernel
        step's Tikhonov weight (10).
    min_window : int, optional
        Smallest side of a region's window, px.
    info : dict, optional
        Receives ``grid``, ``size`` (the PSFs' shape), ``windows`` (per cell, as
        ``[[row0, row1], [col0, col1]]``), ``confidence`` (per cell, ``"high"``/``"low"``),
        ``reasons`` (per cell), ``filled`` (cells replaced by their neighbours),
        ``agreement`` (per cell, the mean normalised correlation with its neighbours over
        all shifts, :func:`~unblur.blind.kernel_step.similarity`) and ``encoding``.
    **options
        Further keyword arguments of :func:`~unblur.blind.kernel.estimate_kernel`.

    Returns
    -------
    PSFField
        Over the image's spatial shape, one PSF per cell.

    Raises
    ------
    InvalidParameterError
        A bad ``grid`` (see :func:`check_grid`), ``size``, ``refine`` or ``coupling``.
    InvalidImageError
        The grey image is not 2-D, is non-finite or flat.

    References
    ----------
    S. Harmeling, M. Hirsch, B. Schölkopf, "Space-variant single-image blind deconvolution for
    removing camera shake", NIPS 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage.data import camera
    >>> from unblur import add_noise, blur, psf
    >>> from unblur.blind.field import estimate_field
    >>> x = camera()[::2, ::2] / 255
    >>> y = add_noise(blur(x, psf.motion(7, angle=30)), gaussian=0.01, rng=0)
    >>> field = estimate_field(y, (1, 2), size=9, refine=0)
    >>> field.grid_shape, field.psf_shape
    ((1, 2), (9, 9))
    """
    obs = prepare(image, channel_axis, encoding)
    y = obs.grey
    if y.ndim != 2:
        raise InvalidImageError(
            f"a PSF field is estimated from a 2-D (grey) image, got {y.ndim}-D "
            "(use channel_axis for colour)"
        )
    shape = (int(y.shape[0]), int(y.shape[1]))
    if isinstance(min_window, bool) or not isinstance(min_window, numbers.Integral):
        raise InvalidParameterError(f"min_window must be an integer, got {min_window!r}")
    cells = check_grid(grid, shape, int(min_window))
    wanted = check_size(size, (shape[0] // 2, shape[1] // 2))
    if isinstance(refine, bool) or not isinstance(refine, numbers.Integral) or refine < 0:
        raise InvalidParameterError(f"refine must be an integer >= 0, got {refine!r}")
    if start not in STARTS:
        raise InvalidParameterError(f"start must be one of {', '.join(STARTS)}, got {start!r}")
    if not isinstance(coupling, numbers.Real) or not 0 <= coupling < math.inf:
        raise InvalidParameterError(f"coupling must be a finite number >= 0, got {coupling!r}")
    windows = cell_windows(shape, cells, int(min_window), float(span))
    if start == "global":
        kernels, confident, reasons, common = _global_start(y, obs, windows, wanted, options)
    elif start == "select":
        kernels, confident, reasons, common = _global_start(y, obs, windows, wanted, options)
        own, own_conf, _, own_common = _region_start(y, obs, windows, wanted, options)
        common = tuple(max(a, b) for a, b in zip(common, own_common, strict=True))
        for cell, window in windows.items():
            g = align(_pad_to(kernels[cell], common))
            r = align(_pad_to(own[cell], common))
            s_g = score_kernel(y[window], g)["rss"]
            s_r = score_kernel(y[window], r)["rss"]
            kernels[cell] = r if (own_conf[cell] and s_r < s_g) else g
    else:
        kernels, confident, reasons, common = _region_start(y, obs, windows, wanted, options)
        kernels = _fill_doubtful(kernels, confident, cells)
    weights = None if obs.saturated is None else ~obs.saturated
    if local:
        kernels = {c: _local_level(y[windows[c]], k, local) for c, k in kernels.items()}
    for _ in range(refine):
        field = psf_grid(_stack(kernels, cells), shape)
        latent = sparse.tv(y, field, num_iter=_LATENT_ITER, boundary="unknown")
        kernels = {
            cell: _refine_cell(
                latent,
                y,
                windows[cell],
                k,
                _neighbour_mean(kernels, cell, cells),
                coupling * (1.0 if confident[cell] else _DOUBT),
                weights,
            )
            for cell, k in kernels.items()
        }
    field = psf_grid(_stack(kernels, cells), shape)
    if info is not None:
        info.update(
            grid=list(cells),
            size=list(common),
            windows={
                f"{i},{j}": [[w[0].start, w[0].stop], [w[1].start, w[1].stop]]
                for (i, j), w in windows.items()
            },
            confidence={f"{i},{j}": "high" if v else "low" for (i, j), v in confident.items()},
            reasons={f"{i},{j}": r for (i, j), r in reasons.items()},
            filled=[f"{i},{j}" for (i, j), v in confident.items() if not v],
            agreement={
                f"{c[0]},{c[1]}": float(
                    np.mean([similarity(kernels[c], kernels[n]) for n in _neighbours(c, cells)])
                )
                if _neighbours(c, cells)
                else 1.0
                for c in kernels
            },
            encoding=obs.encoding,
        )
    return field


def _stack(kernels: dict[tuple[int, int], np.ndarray], grid: tuple[int, int]) -> np.ndarray:
    return np.stack([np.stack([kernels[(i, j)] for j in range(grid[1])]) for i in range(grid[0])])
