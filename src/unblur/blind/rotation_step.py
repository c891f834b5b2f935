r"""Coarse-to-fine re-estimation of a camera's motion density from the blurred image.

The PSF field of a camera that translates and turns about its optical axis is a linear image
:math:`K_p = P_p W` of one motion density :math:`W` (:mod:`unblur.blind.rotation`). Given a
start :math:`W_0` (the density fitted to regional blind estimates), :func:`estimate_density`
re-estimates :math:`W` from the image itself, as the uniform free-form estimator
(:mod:`unblur.blind.kernel`) estimates one kernel, alternating on every level of an image
pyramid (scaled by :math:`2^{-l/2}`, the uniform estimator's levels):

* the **latent image** with the L0 prior on intensities and gradients (Pan et al. 2014) under
  the *non-uniform* blur of the current density: half-quadratic splitting as in
  :func:`~unblur.blind.latent.l0_latent`, whose quadratic step
  :math:`(A^\top A + \beta(1 + D^\top D))\,x = A^\top y + \beta(u + D^\top g)` has no closed
  form for a field operator :math:`A` (:class:`~unblur.operators.FieldConvolution`, the model's
  PSFs on a grid) and is taken by a few warm-started preconditioned conjugate-gradient steps;
  its gradients are then thinned to the strongest edges in every orientation (Cho & Lee 2009),
  with the uniform estimator's thresholds and decay;
* the **density** by Whyte et al.'s (2012) kernel step: the frame is cut into tiles
  :math:`t`, each blurred by the model's PSF at its centre, :math:`P_t W`, and

  .. math:: \min_{W \ge 0} \sum_t \sum_d \|V_t(\partial_d x * P_t W) - V_t \partial_d y\|^2
            + \gamma \|W\|^2 ,

  :math:`V_t` the tile's valid pixels, is solved from its normal equations
  :math:`H = \sum_t P_t^\top G_t P_t + \gamma I` (:math:`G_t` the Gram matrix of the tile's
  latent gradient patches) by accelerated projected gradients (Beck & Teboulle 2009) started
  from the current density, which is then thresholded (values under a fraction of its peak
  removed) and scaled to sum one.

Each level starts from the previous level's density magnified by :math:`\sqrt 2` in its
translations (the angles are the same on every level: a rotation does not scale); the
coarsest from :math:`W_0` reduced to that level. The density's angles are those of the
finest level's model.

References
----------
O. Whyte, J. Sivic, A. Zisserman, J. Ponce, "Non-uniform deblurring for shaken images",
IJCV 98(2), 2012.
J. Pan, Z. Hu, Z. Su, M.-H. Yang, "Deblurring text images via L0-regularized intensity and
gradient prior", IEEE CVPR 2014.
S. Cho, S. Lee, "Fast motion deblurring", ACM TOG 28(5), 2009.
A. Beck, M. Teboulle, "A fast iterative shrinkage-thresholding algorithm for linear inverse
problems", SIAM J. Imaging Sci. 2(1), 2009.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import ndimage, sparse
from skimage.transform import resize

from ..operators import difference_spectrum, field_boundary
from ..psf import PSFField
from ..psf import grid as psf_grid
from ._common import odd_side
from .latent import edge_threshold, l0_penalties, l0_splits
from .rotation import MotionModel

__all__ = [
    "DensityProblem",
    "density_normal_equations",
    "density_step",
    "estimate_density",
    "field_l0_latent",
    "model_field",
]

#: Pyramid: scale ratio between levels and the kernel side of the coarsest (the estimator's).
_RATIO = 1 / math.sqrt(2)
_COARSEST = 5
_LAM_MIN = 1e-4


def model_field(
    model: MotionModel, density: np.ndarray, shape: Sequence[int], cells: int
) -> PSFField:
    """The model's PSFs (each scaled to sum one) at the centres of a ``cells`` x ``cells``
    grid over ``shape``, as a field."""
    centres = [(np.arange(cells) + 0.5) * (n / cells) - 0.5 for n in shape]
    psfs = np.empty((cells, cells, *model.side))
    for i, a in enumerate(centres[0]):
        for j, b in enumerate(centres[1]):
            k = np.maximum(model.kernel(density, (a, b)), 0.0)
            total = float(k.sum())
            if total <= 0:
                k = np.zeros(model.side)
                k[model.side[0] // 2, model.side[1] // 2] = total = 1.0
            psfs[i, j] = k / total
    return psf_grid(psfs, tuple(int(n) for n in shape))


def field_l0_latent(
    y: np.ndarray, field: PSFField, lam_grad: float, lam_intensity: float, cg: int = 3
) -> np.ndarray:
    r"""The L0 intensity-and-gradient latent image of ``y`` under the field's blur.

    Half-quadratic splitting (see the module notes) on the ``taper`` boundary grid; each
    quadratic step is ``cg`` conjugate-gradient steps warm-started from the previous one.
    Returns the latent image cropped to ``y``'s shape.
    """
    bc = field_boundary("taper", y.shape, field, dtype=np.float64)
    op = bc.operator
    y_grid = bc.extend(y)
    d2 = difference_spectrum(op.shape, 1, dtype=np.float64)
    x = y_grid.copy()
    ax = op.forward(x)
    g = np.empty((2, *x.shape))
    for beta in l0_penalties(lam_grad, lam_intensity):
        rhs = l0_splits(x, g, lam_grad, lam_intensity, beta)
        reg = beta * d2
        if lam_intensity > 0:
            reg = reg + beta
        op.solve_normal_cg(x, ax, y_grid, beta * rhs, reg, max_iter=cg)
    return bc.crop(x)


def _tiles(shape: Sequence[int], half: Sequence[int], count: int) -> list[tuple[slice, slice]]:
    """``count`` x ``count`` tiles of the pixels at least ``half`` from the border."""
    edges = [
        np.linspace(h, n - h, count + 1).round().astype(int)
        for n, h in zip(shape, half, strict=True)
    ]
    return [
        (slice(edges[0][i], edges[0][i + 1]), slice(edges[1][j], edges[1][j + 1]))
        for i in range(count)
        for j in range(count)
        if edges[0][i + 1] > edges[0][i] and edges[1][j + 1] > edges[1][j]
    ]


class DensityProblem:
    r"""The tiles' data term in :math:`W` as normal equations,
    :math:`H = \sum_t P_t^\top G_t P_t` and :math:`b = \sum_t P_t^\top X_t^\top \partial y_t`,
    kept factored: :math:`H w` costs one sparse product with the stacked :math:`P_t` each way
    and one small dense product per tile.

    Parameters
    ----------
    operators : list of scipy.sparse.csr_matrix
        :math:`P_t`, the model at each tile's centre.
    grams : numpy.ndarray
        :math:`G_t`, ``(tiles, K, K)`` with :math:`K` the kernel's pixels.
    linear : numpy.ndarray
        :math:`X_t^\top \partial y_t`, ``(tiles, K)``.
    """

    def __init__(self, operators: Sequence[sparse.csr_matrix], grams: np.ndarray, linear):
        self.stacked = sparse.vstack(operators, format="csr")
        self.grams = np.asarray(grams, dtype=np.float64)
        self.b = self.stacked.T @ np.asarray(linear, dtype=np.float64).ravel()
        self.size = self.stacked.shape[1]

    def matvec(self, w: np.ndarray) -> np.ndarray:
        """:math:`H w`."""
        k = (self.stacked @ w).reshape(self.grams.shape[:2])
        return self.stacked.T @ np.einsum("tij,tj->ti", self.grams, k).ravel()


def density_normal_equations(
    latent_grads: Sequence[np.ndarray],
    observed_grads: Sequence[np.ndarray],
    model: MotionModel,
    tiles: int,
) -> DensityProblem:
    r"""The normal equations of the tiles' data term in :math:`W` (:class:`DensityProblem`).

    Per tile :math:`t`, :math:`X_t` is the matrix of the latent gradients' patches at the
    tile's valid pixels (the convolution :math:`\partial x * k` restricted to the tile) and
    :math:`P_t` the model at the tile's centre; summed over both gradient directions.
    """
    shape = latent_grads[0].shape
    half = [s // 2 for s in model.side]
    operators, grams, linear = [], [], []
    for tile in _tiles(shape, half, tiles):
        grow = tuple(slice(t.start - h, t.stop + h) for t, h in zip(tile, half, strict=True))
        centre = [(t.start + t.stop - 1) / 2 for t in tile]
        p = model.operator(centre)
        gram = np.zeros((p.shape[0], p.shape[0]))
        lin = np.zeros(p.shape[0])
        for gx, gy in zip(latent_grads, observed_grads, strict=True):
            patches = sliding_window_view(gx[grow], model.side)[..., ::-1, ::-1]
            xmat = patches.reshape(-1, p.shape[0])
            rows = np.flatnonzero(xmat.any(axis=1))  # edge selection zeroes most patches
            if not rows.size:
                continue
            xmat = xmat[rows]
            if np.count_nonzero(xmat) < 0.3 * xmat.size:
                xs = sparse.csr_matrix(xmat)
                gram += (xs.T @ xs).toarray()
                lin += xs.T @ gy[tile].ravel()[rows]
            else:
                gram += xmat.T @ xmat
                lin += xmat.T @ gy[tile].ravel()[rows]
        operators.append(p)
        grams.append(gram)
        linear.append(lin)
    return DensityProblem(operators, np.array(grams), np.array(linear))


def density_step(
    problem: DensityProblem,
    start: np.ndarray,
    gamma: float,
    iterations: int = 200,
) -> np.ndarray:
    r"""The non-negative :math:`W` minimising :math:`W^\top H W - 2 b^\top W + \gamma\|W\|^2`,
    by accelerated projected gradients from ``start`` (step from a power-iteration bound on
    the largest eigenvalue)."""
    v = np.random.default_rng(0).random(problem.size)
    lip = 1.0
    for _ in range(30):
        hv = problem.matvec(v) + gamma * v
        lip = float(np.linalg.norm(hv) / max(np.linalg.norm(v), 1e-300))
        v = hv / max(np.linalg.norm(hv), 1e-300)
    step = 1.0 / (1.05 * max(lip, 1e-300))
    w = np.maximum(np.asarray(start, dtype=np.float64).ravel(), 0.0)
    z, t = w.copy(), 1.0
    for _ in range(iterations):
        grad = problem.matvec(z) + gamma * z - problem.b
        w_next = np.maximum(z - step * grad, 0.0)
        t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
        z = w_next + ((t - 1) / t_next) * (w_next - w)
        w, t = w_next, t_next
    return w


def _threshold(w: np.ndarray, threshold: float) -> np.ndarray:
    """Non-negative, values under ``threshold`` x peak removed, sum one (None if empty)."""
    w = np.maximum(w, 0.0)
    peak = float(w.max()) if w.size else 0.0
    if peak <= 0:
        return w
    w = np.where(w < threshold * peak, 0.0, w)
    return w / w.sum()


def _rescale(
    density: np.ndarray, angles: int, side: Sequence[int], factor: float, to
) -> np.ndarray:
    """Every angle's translation plane magnified by ``factor`` about its centre onto the
    ``to`` grid, keeping each plane's mass."""
    planes = np.asarray(density, dtype=np.float64).reshape(angles, *side)
    out = np.zeros((angles, *to))
    centre_in = np.array([s // 2 for s in side], dtype=np.float64)
    centre_out = np.array([s // 2 for s in to], dtype=np.float64)
    coords = np.indices(tuple(to), dtype=np.float64)
    src = [(coords[a] - centre_out[a]) / factor + centre_in[a] for a in range(2)]
    for index, plane in enumerate(planes):
        mass = float(plane.sum())
        if mass <= 0:
            continue
        zoomed = np.maximum(ndimage.map_coordinates(plane, src, order=1, mode="constant"), 0.0)
        if zoomed.sum() > 0:
            out[index] = zoomed * (mass / zoomed.sum())
    return out.ravel()


def _level_model(shape: Sequence[int], side: Sequence[int], angles: np.ndarray) -> MotionModel:
    model = MotionModel(shape, side, angles=len(angles))
    model.angles = np.asarray(angles, dtype=np.float64)
    return model


def estimate_density(
    y: np.ndarray,
    model: MotionModel,
    start: np.ndarray,
    *,
    levels: int | None = None,
    num_iter: int = 5,
    lam_grad: float = 4e-3,
    lam_intensity: float = 4e-3,
    gamma: float = 2.0,
    threshold: float = 0.05,
    edge_ratio: float = 2.0,
    edge_decay: float = 2.0,
    latent_blur: float = 0.3,
    latent_grid: int = 5,
    tiles: int = 6,
    cg: int = 3,
    info: dict[str, Any] | None = None,
) -> np.ndarray:
    """Re-estimate the motion density of ``y`` coarse-to-fine from ``start`` (module notes).

    Parameters
    ----------
    y : numpy.ndarray
        The blurred grey image, normalised to about [0, 1], of ``model.shape``.
    model : MotionModel
        The finest level's model (its angles are kept on every level).
    start : numpy.ndarray
        The starting density (``model.size`` values).
    levels : int, optional
        Pyramid levels (default: down to a kernel of about 5 px, as the uniform estimator);
        1 refines at full resolution only.
    num_iter, lam_grad, lam_intensity, gamma, threshold, edge_ratio, edge_decay, latent_blur
        As for :func:`~unblur.blind.kernel.estimate_kernel` (``gamma`` is its
        ``kernel_reg``, here on :math:`\\|W\\|^2`; ``threshold`` applies to the density).
    latent_grid : int
        Cells per axis of the model's field the latent image is restored with.
    tiles : int
        Tiles per axis of the density step.
    cg : int
        Conjugate-gradient steps per half-quadratic step.
    info : dict, optional
        Receives ``levels`` (per level: image and kernel shapes).

    Returns
    -------
    numpy.ndarray
        The density (flat, non-negative, sum one).
    """
    y = np.asarray(y, dtype=np.float64)
    side = model.side
    count = len(model.angles)
    if levels is None:
        levels = 1 + max(0, math.floor(math.log(_COARSEST / min(side)) / math.log(_RATIO)))
    w = np.asarray(start, dtype=np.float64).ravel()
    current_side = tuple(side)
    current_scale = 1.0
    lam_g, lam_i = float(lam_grad), float(lam_intensity)
    record = []
    for level in range(levels - 1, -1, -1):
        scale = _RATIO**level
        ks = tuple(odd_side(n * scale) for n in side) if level else tuple(side)
        shape_l = tuple(max(round(n * scale), 2 * m + 1) for n, m in zip(y.shape, ks, strict=True))
        ys = resize(y, shape_l, order=1, anti_aliasing=True, mode="reflect") if level else y
        w = _rescale(w, count, current_side, scale / current_scale, ks)
        w = w / max(float(w.sum()), 1e-300)
        current_side, current_scale = ks, scale
        lmodel = _level_model(shape_l, ks, model.angles)
        oy = np.stack([ys[1:, :-1] - ys[:-1, :-1], ys[:-1, 1:] - ys[:-1, :-1]])
        edge = None
        for _ in range(num_iter):
            field = model_field(lmodel, w, shape_l, latent_grid)
            x = field_l0_latent(ys, field, lam_g, lam_i, cg)
            if latent_blur and not level:
                x = ndimage.gaussian_filter(x, latent_blur, mode="nearest")
            g0 = x[1:, :-1] - x[:-1, :-1]
            g1 = x[:-1, 1:] - x[:-1, :-1]
            if edge_ratio:
                if edge is None:
                    edge = edge_threshold(g0, g1, int(edge_ratio * max(ks)))
                weak = g0 * g0 + g1 * g1 < edge * edge
                g0 = np.where(weak, 0.0, g0)
                g1 = np.where(weak, 0.0, g1)
                edge /= edge_decay
            problem = density_normal_equations((g0, g1), oy, lmodel, tiles)
            w = _threshold(density_step(problem, w, gamma), threshold)
            if not w.any():
                w = np.asarray(start, dtype=np.float64).ravel()
                w = _rescale(w, count, side, scale, ks)
                w = w / max(float(w.sum()), 1e-300)
            lam_g = max(lam_g / 1.1, _LAM_MIN)
            lam_i = max(lam_i / 1.1, _LAM_MIN) if lam_i else 0.0
        record.append({"level": level, "image_shape": list(shape_l), "kernel_shape": list(ks)})
    if info is not None:
        info["levels"] = record
    return w
