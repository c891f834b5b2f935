r"""Blind estimation of a PSF field: a free-form kernel per region, kept consistent.

A camera that rotates (or shakes about an axis away from the sensor) while its shutter is open
blurs every part of the frame differently; within a region a hundred or so pixels wide the blur
is nearly uniform (Harmeling, Hirsch & Schölkopf 2010 estimate one kernel per overlapping
patch; Whyte et al. 2012 parametrise the same field by the camera's rotations).
:func:`estimate_field` estimates the field of :func:`unblur.psf.grid` on a regular
:math:`g_y \times g_x` grid:

1. **Windows.** Cell :math:`i`'s window is ``span`` cells wide about the cell's centre (one
   cell by default; two cells is the support of its weight in the field), at least
   ``min_window`` px, moved inside the image.
2. **Candidates.** One kernel for the whole image (:func:`~unblur.blind.kernel.estimate_kernel`,
   the free-form estimator of Pan et al. 2014, on the image's most textured window) and,
   per cell, the same estimator on the cell's window, both with the image's noise and
   saturation mask.
3. **Alignment.** A blind kernel is only defined up to a translation (the latent image moves
   the other way), and a field whose kernels are centred differently restores every region
   shifted by its own offset: a warp, and a double image where the interpolated PSF blends
   two kernels. Every kernel is shifted (bilinearly, by a fraction of a pixel) so that its
   *centroid* falls on the centre pixel. The centroid is linear in the kernel, so every
   interpolated PSF between the cells' centres keeps it there too, and the latent image is
   the scene at the camera's mean pose (the convention of Whyte et al.).
4. **Choice per cell** (``start="select"``, the default). A cell keeps its own kernel when
   its estimate is confident (:mod:`unblur.blind.confidence`: texture in every direction, a
   residual at the noise level, a kernel inside its support) *and* explains the window's
   power spectrum better than the global kernel (the residual of the log-periodogram
   regression of :func:`~unblur.blind.parametric.score_kernel`: the observed spectrum is
   :math:`|K|^2` times a power-law image spectrum plus noise); otherwise it takes the global
   kernel. ``start="global"`` starts every cell from the global kernel; ``start="regions"``
   from its own estimate, a doubtful one replaced by the mean of its confident
   8-neighbours (or the median of all confident cells).
5. **Refinement** (``refine`` alternations) of

   * the latent image of the *whole* frame restored with the current field (the product
     convolution of :mod:`unblur.operators.field`, TV, unknown boundary), and
   * per cell, the valid-pixel kernel step (:func:`~unblur.blind.kernel_step.valid_kernel_step`)
     on the window of that latent image, coupled to the neighbours' mean :math:`\bar k_i`:

     .. math:: \min_{k_i} \sum_d \|V(\partial_d x * k_i) - V\partial_d y\|^2
               + \gamma \|k_i\|^2 + \mu_i \|k_i - \bar k_i\|^2 + \eta \|\nabla (k_i - c_i)\|^2,

     with :math:`\gamma\|k\|^2 + \mu\|k - \bar k\|^2 = (\gamma + \mu)\|k - c\|^2 +`
     const, :math:`c_i = \mu_i \bar k_i / (\gamma + \mu_i)`: solved for :math:`k_i - c_i`
     against the residual :math:`y - x * c_i`, then projected (non-negative, sum one) and
     re-aligned. :math:`\mu_i` = ``coupling`` for a cell with texture in every direction and
     ten times that for a flat or one-directional one, so that a textured region keeps its
     own kernel and a flat one follows its neighbours.

   One latent image for all cells replaces the windows' own latent images, which disagree
   where the windows overlap: each kernel is then fitted against the blur model that
   restores it.

6. **Camera motion** (``motion="rotation"``, instead of steps 2 and 4). A camera that
   translates and turns about its optical axis gives every point a PSF that is one linear
   image of a single motion density over (angle, translation)
   (:mod:`unblur.blind.rotation`; Whyte et al. 2012). The density is fitted, non-negative
   and robustly reweighted, to the regional estimates on the cells' windows and on windows
   two cells wide (each compared with the model's PSF averaged over its window), and every
   cell's kernel is the model's PSF at its centre. A region whose own estimate is wrong (flat,
   or textured in one direction) then gets the kernel the other regions and the geometry
   imply. The density is then re-estimated from the image itself (``reestimate``,
   :mod:`unblur.blind.rotation_step`): alternations of the L0 latent image restored with the
   model's field, thinned to its strongest edges as in the uniform estimator, and Whyte et
   al.'s data step on the density over tiles of the frame, started from the fitted density;
   the TV refinement (step 5) is then skipped. This is the default; a blur that no such
   motion explains (different objects moving, a lens softer at the edges) needs
   ``motion="free"``.

The result is a :class:`~unblur.psf.PSFField` over the image (every PSF odd-sized,
non-negative, summing to one, its centroid on the centre pixel). What each choice was measured
against is in ``docs/notes/fields.md`` (phase 3).

References
----------
S. Harmeling, M. Hirsch, B. Schölkopf, "Space-variant single-image blind deconvolution for
removing camera shake", NIPS 2010.
O. Whyte, J. Sivic, A. Zisserman, J. Ponce, "Non-uniform deblurring for shaken images",
IJCV 98(2), 2012.
J. Pan, Z. Hu, Z. Su, M.-H. Yang, "Deblurring text images via L0-regularized intensity and
gradient prior", IEEE CVPR 2014.
J. P. Oliveira, M. A. T. Figueiredo, J. M. Bioucas-Dias, "Parametric blur estimation for
blind restoration of natural images: linear motion and out-of-focus", IEEE TIP 23(1), 2014.
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
from ..psf import PSFField
from ..psf import grid as psf_grid
from ..restore import sparse
from ._common import check_size, normalise, odd_side
from ._data import prepare
from .confidence import assess, image_checks
from .kernel import estimate_kernel
from .kernel_step import project, similarity, valid_kernel_step
from .periodogram import log_periodogram, prepare_image, score_on_spectrum
from .rotation import MotionModel, fit_robust
from .rotation_step import estimate_density

__all__ = ["MIN_WINDOW", "estimate_field"]

#: Where the cells' kernels come from: each its own or the global one, whichever fits its
#: window's spectrum (select); the global one; each its own (regions).
STARTS = ("global", "regions", "select")
#: How the cells' kernels relate: each its own (free); all drawn from one camera motion of
#: translation and in-plane rotation fitted to the regional estimates (rotation).
MOTIONS = ("free", "rotation")
#: Side of the rotation model's second set of windows, in cells.
_WIDE_SPAN = 2.0
#: Smallest side of a region's window (px); the free-form estimator needs each side >= 2 k.
MIN_WINDOW = 128
#: Most cells per axis (each one is a full blind estimate).
MAX_GRID = 16
#: Refinement: TV iterations and tolerance of the whole-frame latent image, the kernel step's
#: weights (those of :func:`~unblur.blind.refinement.refine`) and its conjugate-gradient steps.
_LATENT_ITER = 50
_LATENT_TOL = 1e-3
_GAMMA = 10.0
_SMOOTH = 10.0
_CG = 20
#: Projection of a refined kernel (the estimator's ``refine_threshold`` and ``min_mass``).
_THRESHOLD = 0.03
_MIN_MASS = 0.1
#: Without ``size``, the field's PSFs are the global kernel's side + 2 px (times this).
_GROW = 1.0
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
    """``k`` shifted (bilinear interpolation) so that its centroid is on the centre pixel
    (mass shifted past the edge is dropped; the rest sums to one)."""
    shift = centroid(k)
    if not np.any(np.abs(shift) > 1e-9):
        return k
    # bilinear: a fraction of a pixel smears the kernel a little, whole pixels not at all
    out = ndimage.shift(k, -shift, order=1, mode="grid-constant", cval=0.0)
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
    """One kernel estimated on the whole image (its most textured window) for every cell; a
    cell's confidence is that of its window's texture (``signal`` and ``orientations`` of
    :func:`~unblur.blind.confidence.image_checks`)."""
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
    """Each cell's own window's estimate; its confidence is the estimate's."""
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


def _rotation_start(y, obs, windows, wide, wanted, shape, options):
    """Every cell's kernel from one motion density (:mod:`unblur.blind.rotation`) fitted to
    the regional estimates on ``windows`` and on the wider ``wide`` windows (each estimate
    compared with the model's PSF averaged over its window; doubtful ones weigh a tenth)."""
    own, confident, reasons, common = _region_start(y, obs, windows, wanted, options)
    more, more_confident, _, more_common = _region_start(y, obs, wide, wanted, options)
    common = tuple(max(a, b) for a, b in zip(common, more_common, strict=True))
    model = MotionModel(shape, common)
    cells = sorted(own)
    operators, estimates, weights = [], [], []
    for kernels, certain, spans in ((own, confident, windows), (more, more_confident, wide)):
        for cell in cells:
            operators.append(model.window_operator(spans[cell]))
            estimates.append(align(_pad_to(kernels[cell], common)))
            weights.append(1.0 if certain[cell] else 0.1)
    density, residual = fit_robust(operators, np.array(estimates), np.array(weights))
    out = {}
    for cell in cells:
        centre = [
            float(_centres(n, g)[j]) for n, g, j in zip(shape, _grid_of(cells), cell, strict=True)
        ]
        out[cell] = align(project(model.kernel(density, centre), _THRESHOLD, _MIN_MASS))
    residuals = dict(zip(cells, residual[: len(cells)], strict=True))
    return out, confident, reasons, common, residuals, (model, density)


#: Options of :func:`~unblur.blind.rotation_step.estimate_density` (its defaults otherwise):
#: L0 weights twice the uniform estimator's start (docs/notes/fields.md, third pass).
_DENSITY_OPTIONS: dict[str, Any] = {"lam_grad": 8e-3, "lam_intensity": 8e-3}


def _reestimate(y, cells, fitted, levels):
    """The cells' kernels from the motion density re-estimated coarse-to-fine from the
    image (:mod:`unblur.blind.rotation_step`), started from the fitted one."""
    model, density = fitted
    ys, _ = normalise(np.asarray(y, dtype=np.float64))
    w = estimate_density(ys, model, density, levels=None if levels < 0 else levels,
                         **_DENSITY_OPTIONS)  # fmt: skip
    out = {}
    for cell in itertools.product(range(cells[0]), range(cells[1])):
        centre = [float(_centres(n, g)[j]) for n, g, j in zip(y.shape, cells, cell, strict=True)]
        out[cell] = align(project(model.kernel(w, centre), _THRESHOLD, _MIN_MASS))
    return out


def _grid_of(cells: list[tuple[int, int]]) -> tuple[int, int]:
    return (max(c[0] for c in cells) + 1, max(c[1] for c in cells) + 1)


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
    # gamma ||k||^2 + mu ||k - prior||^2 = (gamma + mu) ||k - centre||^2 + const
    centre = mu / (_GAMMA + mu) * prior
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
    refine: int | None = None,
    coupling: float = 10.0,
    start: str = "select",
    min_window: int = MIN_WINDOW,
    span: float = 1.0,
    motion: str = "rotation",
    reestimate: int = 1,
    info: dict[str, Any] | None = None,
    **options: Any,
) -> PSFField:
    r"""Estimate a spatially varying blur: a free-form kernel per cell of a regular grid.

    Per-region blind estimates (Pan et al. 2014, :func:`~unblur.blind.kernel.estimate_kernel`)
    and one global estimate, aligned on their centroids; each cell keeps its own kernel where
    it is confident and explains the region's power spectrum better than the global one; then
    refined against one latent image of the whole frame with a coupling to the neighbours'
    mean. See :mod:`unblur.blind.field` for the maths.

    Parameters
    ----------
    image : numpy.ndarray
        Blurred image: 2-D grey, or colour with ``channel_axis`` (averaged in linear light).
    grid : int or (int, int)
        Cells ``(rows, columns)`` of the field, 1 to 16 each; ``(1, 1)`` is one kernel.
    size : int or (int, int), optional
        Odd side of every PSF. Default: the estimators find their own, and the field takes the
        largest (the global kernel's plus 2 px at least).
    channel_axis : int, optional
        Axis of colour channels.
    encoding : {"auto", "srgb", "linear"}, optional
        As for :func:`unblur.estimate_psf`.
    refine : int, optional
        Alternations of the whole-frame latent image and the coupled kernel steps (0: the
        aligned, filled independent estimates). Default: 1, or 0 after a re-estimated motion
        density (``reestimate``), which the TV alternation would only blur.
    coupling : float, optional
        :math:`\mu`, the weight pulling a confident cell's kernel towards its neighbours' mean
        in the refinement (ten times that for a doubtful cell), in the units of the kernel
        step's Tikhonov weight (10).
    start : {"select", "global", "regions"}, optional
        Where each cell's kernel comes from before the refinement (see the module notes):
        its own or the global one, whichever fits (default); the global one; its own.
    min_window : int, optional
        Smallest side of a region's window, px.
    span : float, optional
        Side of a region's window in cells (1: the cell itself; 2: its weight's support).
    motion : {"rotation", "free"}, optional
        ``"rotation"`` (default): every cell's kernel is drawn from one camera motion
        (translation and in-plane rotation) fitted to regional estimates (see the module
        notes; ``start`` is then not used); ``"free"``: each cell's kernel is its own or the
        global one (see ``start``), for a blur that no camera motion explains.
    reestimate : int, optional
        With ``motion="rotation"``: pyramid levels on which the fitted motion density is
        re-estimated from the image (L0 latent image under the field, edge selection and
        Whyte et al.'s data step on the density, :mod:`unblur.blind.rotation_step`) before
        the refinement; 1 (default): full resolution only, 0: none (the fitted density),
        -1: the uniform estimator's whole pyramid.
    info : dict, optional
        Receives ``grid``, ``size`` (the PSFs' shape), ``windows`` (per cell, as
        ``[[row0, row1], [col0, col1]]``), ``confidence`` (per cell, ``"high"``/``"low"``),
        ``reasons`` (per cell), ``source`` (per cell, where its kernel came from:
        ``"region"``, ``"global"``, ``"neighbours"`` or ``"model"``),
        ``agreement`` (per cell, the mean normalised correlation with its neighbours over
        all shifts, :func:`~unblur.blind.kernel_step.similarity`), ``encoding``, ``motion``
        and, with ``motion="rotation"``, ``model_residual`` (per cell, the relative distance
        of its own regional estimate to the fitted model's).
    **options
        Further keyword arguments of :func:`~unblur.blind.kernel.estimate_kernel`.

    Returns
    -------
    PSFField
        Over the image's spatial shape, one PSF per cell.

    Raises
    ------
    InvalidParameterError
        A bad ``grid`` (see :func:`check_grid`), ``size``, ``refine``, ``coupling``,
        ``start``, ``min_window``, ``span``, ``motion`` or ``reestimate``.
    InvalidImageError
        The grey image is not 2-D, is non-finite or flat.

    References
    ----------
    S. Harmeling, M. Hirsch, B. Schölkopf, "Space-variant single-image blind deconvolution for
    removing camera shake", NIPS 2010.
    O. Whyte, J. Sivic, A. Zisserman, J. Ponce, "Non-uniform deblurring for shaken images",
    IJCV 98(2), 2012.

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
    if refine is not None and (
        isinstance(refine, bool) or not isinstance(refine, numbers.Integral) or refine < 0
    ):
        raise InvalidParameterError(f"refine must be an integer >= 0, got {refine!r}")
    if motion not in MOTIONS:
        raise InvalidParameterError(f"motion must be one of {', '.join(MOTIONS)}, got {motion!r}")
    if start not in STARTS:
        raise InvalidParameterError(f"start must be one of {', '.join(STARTS)}, got {start!r}")
    if not isinstance(coupling, numbers.Real) or not 0 <= coupling < math.inf:
        raise InvalidParameterError(f"coupling must be a finite number >= 0, got {coupling!r}")
    if isinstance(reestimate, bool) or not isinstance(reestimate, numbers.Integral):
        raise InvalidParameterError(f"reestimate must be an integer, got {reestimate!r}")
    if not isinstance(span, numbers.Real) or not 0 < span < math.inf:
        raise InvalidParameterError(f"span must be a finite number > 0, got {span!r}")
    windows = cell_windows(shape, cells, int(min_window), float(span))
    residuals = None
    if motion == "rotation":
        kernels, confident, reasons, common, residuals, fitted = _rotation_start(
            y, obs, windows, cell_windows(shape, cells, int(min_window), _WIDE_SPAN), wanted,
            shape, options,
        )  # fmt: skip
        source = dict.fromkeys(windows, "model")
        if reestimate:
            kernels = _reestimate(y, cells, fitted, reestimate)
            refine = 0 if refine is None else refine
    elif start == "regions":
        kernels, confident, reasons, common = _region_start(y, obs, windows, wanted, options)
        source = {c: "region" if v else "neighbours" for c, v in confident.items()}
        kernels = _fill_doubtful(kernels, confident, cells)
    else:
        kernels, confident, reasons, common = _global_start(y, obs, windows, wanted, options)
        source = dict.fromkeys(windows, "global")
    if start == "select" and motion == "free":
        own, own_confident, _, own_common = _region_start(y, obs, windows, wanted, options)
        common = tuple(max(a, b) for a, b in zip(common, own_common, strict=True))
        kernels = {c: align(_pad_to(k, common)) for c, k in kernels.items()}
        own = {c: align(_pad_to(k, common)) for c, k in own.items()}
        for cell, window in windows.items():
            spectrum = log_periodogram(*prepare_image(y[window], None))
            fit_own = score_on_spectrum(spectrum, own[cell])["rss"]
            fit_global = score_on_spectrum(spectrum, kernels[cell])["rss"]
            if own_confident[cell] and fit_own < fit_global:
                kernels[cell], source[cell] = own[cell], "region"
    weights = None if obs.saturated is None else ~obs.saturated
    for _ in range(1 if refine is None else refine):
        field = psf_grid(_stack(kernels, cells), shape)
        latent = sparse.tv(y, field, num_iter=_LATENT_ITER, tol=_LATENT_TOL, boundary="unknown")
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
            source={f"{i},{j}": v for (i, j), v in source.items()},
            agreement={
                f"{c[0]},{c[1]}": float(
                    np.mean([similarity(kernels[c], kernels[n]) for n in _neighbours(c, cells)])
                )
                if _neighbours(c, cells)
                else 1.0
                for c in kernels
            },
            encoding=obs.encoding,
            motion=motion,
        )
        if residuals is not None:
            info["model_residual"] = {f"{i},{j}": float(r) for (i, j), r in residuals.items()}
    return field


def _stack(kernels: dict[tuple[int, int], np.ndarray], grid: tuple[int, int]) -> np.ndarray:
    return np.stack([np.stack([kernels[(i, j)] for j in range(grid[1])]) for i in range(grid[0])])
