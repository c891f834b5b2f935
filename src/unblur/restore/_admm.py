r"""The solver of the sparse-prior methods: scaled ADMM with an optional unknown boundary.

It returns (an approximation of) the maximum a posteriori estimate

.. math:: \hat x = \arg\min_x \tfrac12 \|M(Hx - y)\|^2
          + \lambda \sum_j \big( \|(\nabla x)_j\|^\alpha + s\, \|(\nabla^2 x)_j\|^\alpha \big)

where :math:`H` is the blur on the boundary model's grid, :math:`M` selects the observed
pixels (all of them except for ``boundary="unknown"``), :math:`(\nabla x)_j` is the vector of
forward differences at pixel :math:`j` (periodic on the grid), :math:`(\nabla^2 x)_j` the
Hessian of forward second differences (Frobenius norm, so that its Fourier multiplier is
:math:`|L|^2`, :func:`~unblur.operators.difference_spectrum` of order 2) and :math:`s` its
relative weight (:mod:`unblur.operators.differences`).

The splitting (Almeida & Figueiredo 2013) introduces :math:`v = Hx` (only when there are
unobserved pixels), :math:`z = \nabla x` and :math:`z_2 = \nabla^2 x`; scaled ADMM with penalty
:math:`\rho` then alternates

* an :math:`x` step, the quadratic problem
  :math:`(\rho_v H^\top H + \rho\,\nabla^\top\nabla + \rho s\,\nabla^{2\top}\nabla^2)\,x = \ldots`
  solved exactly in Fourier (every operator is a circular convolution on the grid;
  :math:`\rho_v = \rho` with the split, and the data term enters directly, :math:`\rho_v = 1`,
  without it);
* a :math:`v` step, diagonal in space,
  :math:`v = (M y + \rho\,(Hx + u_v)) / (M + \rho)`: observed pixels are pulled towards the
  data, the others are free, so nothing wraps around the grid;
* a :math:`z` step, one small problem per pixel: the proximal map of the prior
  (:mod:`unblur.restore._priors`).

The iteration starts from the observation; with ``boundary="unknown"`` the band beyond the
frame starts as the frame's border pixels replicated outwards (:func:`_start`), the extension
without derivatives across the frame's edge, because the data constrain that band weakly and
the iteration moves it slowly.

For a PSF field (:class:`~unblur.operators.FieldConvolution`, a spatially varying blur)
:math:`H^\top H` is not diagonal in Fourier, so the :math:`x` step is solved inexactly by
preconditioned conjugate gradients (:meth:`~unblur.operators.FieldConvolution.solve_normal_cg`),
warm-started from the previous estimate, with the Fourier-diagonal part of the system as the
preconditioner; a few steps per iteration suffice because an ADMM step changes :math:`x` little
(inexact ADMM converges when the errors of the subproblems decrease, Eckstein & Bertsekas
1992). The other steps do not change.

References
----------
M. S. C. Almeida, M. A. T. Figueiredo, "Deconvolving images with unknown boundaries using the
alternating direction method of multipliers", IEEE TIP 22(8), 2013, pp. 3074-3086.
S. Boyd, N. Parikh, E. Chu, B. Peleato, J. Eckstein, "Distributed optimization and statistical
learning via the alternating direction method of multipliers", Found. Trends Mach. Learn. 3(1),
2011 (scaled form, varying penalty).
J. Eckstein, D. P. Bertsekas, "On the Douglas-Rachford splitting method and the proximal point
algorithm for maximal monotone operators", Math. Program. 55, 1992, pp. 293-318 (inexact
subproblems).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import _numba
from ..backend import array_module
from ..errors import InvalidImageError
from ..operators import difference_spectrum
from ..operators.differences import (
    difference,
    frequencies,
    gradient,
    gradient_adjoint,
    hessian,
    hessian_pairs,
    hessian_to_gradient_adjoint,
)
from . import _bfloat16
from ._common import boundary_for
from ._loop import IterationLoop
from ._priors import lp_threshold, shrink_groups

__all__ = [
    "CG_STEPS",
    "CHANGE_STRIDE",
    "FUSED_MIN_PIXELS",
    "SPLIT_STORAGE",
    "START",
    "Penalties",
    "admm",
]

#: Conjugate-gradient steps per x step for a PSF field (warm-started; docs/notes/fields.md).
CG_STEPS = 2
#: The stopping rule's change of the estimate is measured on every ``CHANGE_STRIDE``-th pixel
#: per axis of the observed region (so x_{k-1} is kept there only; docs/notes/tv_speed.md).
CHANGE_STRIDE = 2
#: Grid pixels worth loading Numba for (see :func:`_use_compiled`; docs/notes/tv_speed.md).
FUSED_MIN_PIXELS = 2**17
#: Grid pixels restored by the NumPy twins so far in this process.
_numpy_pixels = 0
#: How the starting estimate fills the unobserved band of ``boundary="unknown"`` (see
#: :func:`_start`): ``"edge"`` or ``"reflect"``. The minimiser is the same; the stopped
#: iterate is not (docs/notes/tv_speed.md: edge +0.06 dB on Levin et al.'s photographs).
START = "edge"
#: Storage of the prior splits' state ``m`` (five grid-sized components with the Hessian) of a
#: float32 grid in NumPy arrays with the convex prior (:math:`\alpha = 1`, ``tv``):
#: ``"bfloat16"`` (16-bit words, :mod:`unblur.restore._bfloat16`; every operation still in
#: float32) or ``"float32"``. Other precisions, GPU arrays and :math:`\alpha < 1` keep the
#: grid's dtype: the non-convex shrinkage jumps at its threshold, where a state rounded to
#: :math:`2^{-9}` makes the compiled and NumPy paths drift apart. bfloat16 halves the state,
#: the largest part of ``tv``'s peak memory, for a change of results far below what the
#: images show (the figures: docs/notes/tv_speed.md).
SPLIT_STORAGE = "bfloat16"


@dataclass(frozen=True)
class Penalties:
    r"""The ADMM penalties and relaxation of one run.

    ``rho`` is the penalty :math:`\rho` of the prior splits (:math:`z = \nabla x`,
    :math:`z_2 = \nabla^2 x`); ``rho_v = gamma * rho`` that of the data split :math:`v = Hx`;
    ``relax`` the over-relaxation :math:`r \in [1, 2)` of Boyd et al. (2011, §3.4.3); and
    ``schedule`` an optional continuation: the prior penalty of iteration ``k`` is
    ``schedule[min(k, len - 1)]`` (relaxation starts once it has reached its last value).
    """

    rho: float
    gamma: float = 1.0
    relax: float = 1.0
    schedule: tuple[float, ...] = ()

    def at(self, k: int) -> float:
        if not self.schedule:
            return self.rho
        return self.schedule[min(k, len(self.schedule) - 1)]

    def settled(self, k: int) -> bool:
        """Whether the penalty no longer changes from iteration ``k`` on."""
        return k >= len(self.schedule) - 1


class _Buffer:
    """A half-spectrum and a real grid array (in the spectrum's memory where possible)."""

    def __init__(self, op, xp) -> None:
        self.op = op
        self.hat = op.spectrum_buffer()
        view = op.real_view(self.hat)
        self.real = view if view is not None else xp.empty(op.shape, op.dtype)

    def forward(self) -> np.ndarray:
        return self.op.fft_into(self.real, self.hat)

    def inverse(self) -> np.ndarray:
        return self.op.ifft_into(self.hat, self.real)


def admm(
    image: np.ndarray,
    psf: np.ndarray,
    *,
    lam: float,
    second_order: float,
    alpha: float,
    isotropic: bool,
    penalties: Penalties,
    num_iter: int,
    boundary: str,
    tol: float | None,
    scale: float,
    mask: np.ndarray | None = None,
    callback: Callable[[int, np.ndarray], None] | None = None,
    info: dict | None = None,
) -> np.ndarray:
    r"""Over-relaxed scaled ADMM for the energy of the module docstring.

    The problem is solved for the image divided by ``scale`` (its contrast :math:`a`, so the
    data span about [0, 1] whatever their magnitude: nothing overflows or underflows, and the
    result scales exactly with the data); ``lam`` and the penalties are in those units, and
    the stopping rule compares the RMS change of the estimate in one iteration with ``tol``
    (measured on every :data:`CHANGE_STRIDE`-th pixel per axis of the observed region, where
    alone the previous estimate is kept). ``mask`` (boolean, the image's shape, True =
    observed) leaves the other pixels out of the data term.

    The state between iterations is the estimate and, per split, :math:`m = t - r z =
    (1 - r) z + u` (with :math:`t = r A x + (1 - r) z_{old} + u_{old}` the argument of the
    proximal map), from which both the next :math:`z` step's argument,
    :math:`t = r A x + m`, and the :math:`x` step's input :math:`z - u = 2z - t` follow: one
    array per split component instead of two. When the penalty changes (a continuation), the
    relaxation is one and :math:`m = u` is rescaled so the unscaled multipliers carry over
    (Boyd et al. 2011, §3.4.1). For a float32 grid in NumPy arrays and :math:`\alpha = 1`,
    :math:`m` is stored as bfloat16 words (:data:`SPLIT_STORAGE`): each update is computed in
    float32 and rounded to nearest once, when stored.
    """
    dtype = image.dtype
    bc = boundary_for(boundary, image, psf, dtype=dtype)
    op = bc.operator  # a Convolution, or the FieldConvolution of a PSF field
    field = not op.diagonal
    ndim = image.ndim
    xp = array_module(image)
    region = bc.region
    split = bc.mode == "unknown" or mask is not None
    ncomp = ndim + (ndim * (ndim + 1) // 2 if second_order else 0)
    fused = ndim == 2 and isinstance(image, np.ndarray) and bc.grid_shape[0] >= 1
    fused = fused and _use_compiled(math.prod(bc.grid_shape))
    if fused:
        # imported here, not at the top: Numba costs ~120 MB and ~0.5 s to import, which
        # every `import unblur` (and every command of the CLI) would pay
        from . import _kernels

        fused = _kernels.AVAILABLE
    if fused and not field:  # the fused x step computes the denominator from 1-D symbols
        spectrum = None
        symbols = [4 * np.sin(np.pi * f.ravel()) ** 2 for f in frequencies(bc.grid_shape)]
    else:
        spectrum = difference_spectrum(bc.grid_shape, 1, dtype=dtype, xp=xp)
        if second_order:
            spectrum = spectrum + second_order * difference_spectrum(
                bc.grid_shape, 2, dtype=dtype, xp=xp
            )

    # buffers: the estimate x_k (overwritten by the divergence of the z steps, then by the
    # x step's x_{k+1}), the data split (H x, then v - u_v and its spectrum) or the constant
    # data spectrum; a PSF field's x step (conjugate gradients from x_k) also needs ``other``
    current = _Buffer(op, xp)
    other = _Buffer(op, xp) if field else None
    data = _Buffer(op, xp)
    inv_scale = 1.0 / scale
    _start(bc, image, current.real)
    current.real *= inv_scale
    observed = _observed(mask, image.shape)
    if field:  # the x step keeps A x current: ``ax``; ``data`` holds the observation or v - u_v
        ax = op.forward(current.real)
        data.real[...] = ax if split else current.real
        mv = data.real * (1.0 - penalties.relax if penalties.settled(0) else 0.0) if split else None
        cg_steps = 0
    elif split:
        data.real[...] = current.real
        data.forward()
        np.multiply(data.hat, op.otf, out=data.hat)
        data.inverse()  # H x_0
        mv = data.real * (1.0 - penalties.relax if penalties.settled(0) else 0.0)
    else:
        data.real[...] = current.real  # the extended observation
        data.forward()
        np.conjugate(data.hat, out=data.hat)
        np.multiply(data.hat, op.otf, out=data.hat)
        np.conjugate(data.hat, out=data.hat)  # conj(H) y_hat, fixed
        mv = None
    m = xp.zeros((ncomp, *bc.grid_shape), _state_dtype(dtype, xp, alpha))
    relax0 = penalties.relax if penalties.settled(0) else 1.0
    if relax0 != 1.0:  # m = (1 - r) z_0 with z_0 = A x_0, u_0 = 0
        if m.dtype == dtype:
            _stack(current.real, second_order, m)
            m *= 1.0 - relax0
        else:
            _stack_words(current.real, second_order, m, 1.0 - relax0, add=False)

    threads = _numba_threads() if fused else 1
    bands = _kernels.bands_for(bc.grid_shape[0], threads) if fused else None
    # the stopping rule's change is measured on a lattice of the observed region (every
    # CHANGE_STRIDE-th pixel per axis): x_{k-1} is kept there only
    lattice = current.real[_lattice_index(region)].copy()
    origin = np.array([sl.start for sl in region[:2]], np.int64)
    loop = IterationLoop(num_iter, tol=tol, callback=callback, crop=bc.crop, scale=scale)
    rho_prev = None
    inv_den = power = None
    k = 0
    while True:
        if k > 0:
            if fused:
                change2 = _kernels.lattice_change(current.real, lattice, origin, CHANGE_STRIDE)
            else:
                change2 = _lattice_change_numpy(current.real, lattice, region)
            change = math.sqrt(change2 / lattice.size)
            if not math.isfinite(change):
                raise InvalidImageError(
                    "the restoration diverged (non-finite values); the image's magnitude may "
                    "be out of the working precision's range"
                )
            if loop.done(current.real, change=change, may_stop=penalties.settled(k)):
                break
        if k == num_iter:
            break
        rho = penalties.at(k)
        r = penalties.relax if penalties.settled(k) else 1.0
        if rho_prev is not None and rho != rho_prev:  # r == 1 here: m = u
            _scale_state(m, rho_prev / rho, dtype)
            if mv is not None:
                mv *= rho_prev / rho
        if k > 0 and r != 1.0 and not penalties.settled(k - 1):
            # the relaxation starts after a continuation: m = u becomes (1 - r) z + u, with
            # z taken as A x_k, as at k = 0 (without it, t jumps by (r - 1) z: a transient
            # that took tens of iterations to fade)
            if m.dtype == dtype:
                _add_stack(current.real, second_order, m, 1.0 - r)
            else:
                _stack_words(current.real, second_order, m, 1.0 - r, add=True)
            if mv is not None:
                mv += (ax if field else data.real) * (1.0 - r)
        beta = rho / lam
        if alpha == 1.0:
            thr, w_tau = 1.0 / beta, 0.0
        else:
            thr, w_tau = lp_threshold(alpha, beta)
        # ---- z steps on x_k: m updated, the divergence of 2z - t replaces x_k --------------
        # (in ``other`` for a PSF field, whose x step starts from x_k)
        if field:
            other.real[...] = current.real
        target = other.real if field else current.real
        if fused:
            consts = _kernels.constants(
                dtype, r, second_order, alpha, thr, w_tau, alpha / beta, alpha - 1.0
            )
            _kernels.prior_pass(target, m, consts, bool(isotropic), bands)
        else:
            _prior_numpy(target, m, r, second_order, alpha, beta, isotropic)
        # ---- v step (split): data on observed pixels, free elsewhere ---------------------
        rho_v = penalties.gamma * rho
        if split:
            if fused:
                _kernels.data_pass(
                    data.real, mv, image, observed, mask is None, inv_scale, r, rho_v,
                    bc.offset[0], bc.offset[1], bands,
                )  # fmt: skip
            else:
                _data_numpy(data.real, mv, image, mask, region, inv_scale, r, rho_v)
            if not field:
                data.forward()
        if field:  # ---- x step by conjugate gradients (a spatially varying blur) ------------
            weight = rho_v if split else 1.0
            if rho != rho_prev:
                regularizer = (spectrum * (rho / weight)).astype(dtype)
                rho_prev = rho
            # (A^T A + (rho / w) S) x = A^T d + (rho / w) D^T p, from x_k (in place)
            other.real *= rho / weight
            x = current.real.copy()
            cg_steps += op.solve_normal_cg(
                x, ax, data.real, other.real, regularizer, max_iter=CG_STEPS
            )
            current.real[...] = x
            del x
            if split:
                data.real[...] = ax
            k += 1
            continue
        # ---- x step in Fourier -------------------------------------------------------------
        if rho != rho_prev:
            weight = rho_v if split else 1.0
            if fused:  # (s, w / rho, rho, tiny): the denominator is computed in the pass
                den_consts = np.array(
                    [second_order, weight / rho, rho, np.finfo(dtype).tiny], dtype=dtype
                )
            elif penalties.schedule:  # the penalty changes: keep |H|^2 and the spectrum
                if power is None:
                    power = _otf_power(op.otf, xp.empty_like(spectrum))
                inv_den = _inverse_denominator(power, spectrum, weight, rho, inv_den)
            else:  # a fixed penalty: computed once, in the spectrum's memory
                inv_den = _inverse_denominator(None, spectrum, weight, rho, spectrum, op.otf)
                spectrum = None
            rho_prev = rho
        current.forward()
        if fused:
            _kernels.spectral_pass(
                current.hat, data.hat, op.otf, *symbols, den_consts, rho, rho_v, data.hat, split
            )
        else:
            _spectral_numpy(current.hat, data.hat, op.otf, inv_den, rho, rho_v, split)
        current.inverse()
        if split:
            data.inverse()
        k += 1

    loop.report(info)
    if info is not None:
        info["fused"] = bool(fused)
        if field:
            info["cg_steps"] = cg_steps
    # the working set goes before the result is allocated (peak memory)
    del m, mv, other, data, inv_den, spectrum, power, lattice
    out = bc.crop(current.real).astype(dtype, copy=True)
    out *= scale
    if not bool(xp.isfinite(out).all()):
        raise InvalidImageError(
            "the restoration produced non-finite values; the image's magnitude may be out of "
            "the working precision's range"
        )
    return out


def _otf_power(otf: np.ndarray, out: np.ndarray) -> np.ndarray:
    """:math:`|H|^2 = (\\Re H)^2 + (\\Im H)^2` into the real array ``out`` (no temporaries of
    the spectrum's size; the same operations as the fused pass)."""
    np.multiply(otf.real, otf.real, out=out)
    out += np.square(otf.imag)
    return out


def _inverse_denominator(power, spectrum, weight, rho, out=None, otf=None):
    r""":math:`1 / (w |H|^2 + \rho S)` of the Fourier x step, in the grid's precision.

    Computed in ``out`` (allocated when ``None``; it may be ``spectrum``) without temporaries of
    the spectrum's size, as :math:`\rho\,(S + \tfrac{w}{\rho}|H|^2)`; ``power`` is
    :math:`|H|^2`, or ``None`` to compute it from ``otf`` on the way.
    """
    if out is None:
        out = np.empty_like(spectrum)
    if power is None:
        if out is spectrum:  # S is consumed: |H|^2 goes through a scratch of a few rows
            step = 64
            scratch = np.empty_like(out[:step])
            for start in range(0, out.shape[0], step):
                rows = slice(start, start + step)
                part = _otf_power(otf[rows], scratch[: out[rows].shape[0]])
                part *= weight / rho
                out[rows] += part
        else:
            _otf_power(otf, out)
            out *= weight / rho
            out += spectrum
    else:
        np.multiply(power, weight / rho, out=out)
        out += spectrum
    out *= rho
    np.maximum(out, np.finfo(out.dtype).tiny, out=out)
    return np.reciprocal(out, out=out)


def _start(bc, image: np.ndarray, out: np.ndarray) -> np.ndarray:
    r"""The starting estimate :math:`x_0` on the grid, written into ``out``.

    The observation on its region. For ``boundary="unknown"`` the band beyond the frame, which
    the data constrain weakly and the iteration corrects slowly, is filled according to
    :data:`START`: ``"edge"`` replicates the border pixels outwards, ``"reflect"`` mirrors the
    observation (the boundary model's own extension, which carries the frame's edges into the
    band, where the prior must undo them). Filled in place, axis by axis, with no grid-sized
    temporary; the other boundary models use their own extension.
    """
    if bc.mode != "unknown" or START == "reflect":
        out[...] = bc.extend(image)
        return out
    region = bc.region
    out[region] = image
    for ax, sl in enumerate(region):
        # full extent on the axes already filled, the region on the others
        lead = tuple(slice(None) for _ in range(ax))
        tail = tuple(region[a] for a in range(ax + 1, out.ndim))
        if sl.start > 0:
            out[(*lead, slice(0, sl.start), *tail)] = out[
                (*lead, slice(sl.start, sl.start + 1), *tail)
            ]
        if sl.stop < out.shape[ax]:
            out[(*lead, slice(sl.stop, None), *tail)] = out[
                (*lead, slice(sl.stop - 1, sl.stop), *tail)
            ]
    return out


def _use_compiled(pixels: int) -> bool:
    """Whether this run uses the compiled passes, which give the NumPy twins' result.

    Importing Numba and loading the passes costs about 0.3 s once per process (more on a busy
    machine), which a small grid does not earn back. So the NumPy twins run until Numba is
    loaded, a grid of :data:`FUSED_MIN_PIXELS` comes, or the NumPy runs of this process have
    covered that many pixels between them (the ski-rental rule: never more than about twice
    the cheaper choice in hindsight, whether one small image is restored or a thousand).
    """
    global _numpy_pixels
    if _numba.loaded():
        return True
    if not _numba.usable():
        return False
    if pixels >= FUSED_MIN_PIXELS or _numpy_pixels >= FUSED_MIN_PIXELS:
        return True
    _numpy_pixels += pixels
    return False


def _observed(mask: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    """The observed pixels as a boolean array: ``mask``, or a (1, ..., 1) stand-in for all."""
    if mask is None:
        return np.ones((1,) * len(shape), dtype=bool)
    return mask


def _numba_threads() -> int:
    import numba

    return int(numba.get_num_threads())


def _stack(x: np.ndarray, second_order: float, out: np.ndarray) -> np.ndarray:
    """:math:`A x`: the gradient and (with a second-order term) the Hessian, stacked."""
    ndim = x.ndim
    grad = gradient(x, out=out[:ndim])
    if second_order:
        hessian(grad, out=out[ndim:])
    return out


def _state_dtype(dtype, xp, alpha: float):
    """The dtype of the prior splits' state ``m`` (see :data:`SPLIT_STORAGE`)."""
    bfloat16 = SPLIT_STORAGE == "bfloat16" and alpha == 1.0
    if bfloat16 and np.dtype(dtype) == np.float32 and xp is np:
        return np.dtype(np.uint16)
    return np.dtype(dtype)


def _load_state(m: np.ndarray, dtype) -> np.ndarray:
    """``m`` in the grid's precision (decoded from bfloat16 words, or ``m`` itself)."""
    return _bfloat16.decode(m) if m.dtype != dtype else m


def _store_state(values: np.ndarray, m: np.ndarray) -> None:
    """``values`` (the grid's precision) into ``m`` (rounded to bfloat16 words, or copied)."""
    if m.dtype == np.uint16 and values.dtype == np.float32:
        _bfloat16.encode(values, m)
    else:
        m[...] = values


#: Rows per block of the block-wise updates of a bfloat16 state (:func:`_stack_words`).
_BLOCK_ROWS = 8


def _scale_state(m: np.ndarray, factor: float, dtype) -> None:
    """``m *= factor`` in the grid's precision (block by block for bfloat16 words)."""
    if m.dtype == dtype:
        m *= factor
        return
    for start in range(0, m.shape[1], _BLOCK_ROWS):
        block = m[:, start : start + _BLOCK_ROWS]
        values = _load_state(block, dtype)
        values *= factor
        _store_state(values, block)


def _stack_words(x: np.ndarray, second_order: float, m: np.ndarray, factor: float, add: bool):
    """``m = factor * A x`` (``add``: ``m += factor * A x``) for a state of bfloat16 words,
    block by block along the first axis (no grid-sized float32 temporary): each block's
    forward differences read the two rows after it, so :func:`_stack` on the block with
    those rows gives its rows of :math:`A x` exactly."""
    n0 = x.shape[0]
    for start in range(0, n0, _BLOCK_ROWS):
        stop = min(start + _BLOCK_ROWS, n0)
        slab = x[np.arange(start, stop + 2) % n0]
        values = _stack(slab, second_order, np.empty((m.shape[0], *slab.shape), x.dtype))
        values = values[:, : stop - start]
        values *= factor
        block = m[:, start:stop]
        if add:
            values += _load_state(block, x.dtype)
        _store_state(values, block)


def _add_stack(x: np.ndarray, second_order: float, m: np.ndarray, factor: float) -> None:
    """``m += factor * A x`` (see :func:`_stack`), one component at a time: two grid-sized
    scratch arrays instead of one of ``m``'s size."""
    xp = array_module(x)
    grad, term = xp.empty_like(x), xp.empty_like(x)
    pairs = hessian_pairs(x.ndim)
    for i in range(x.ndim):
        difference(x, i, grad)
        m[i] += np.multiply(grad, factor, out=term)
        if second_order:
            for c, (a, b) in enumerate(pairs):
                if a == i:  # D_b D_i x, mixed components scaled by sqrt(2) as in hessian()
                    difference(grad, b, term)
                    term *= factor * (math.sqrt(2.0) if a != b else 1.0)
                    m[x.ndim + c] += term


def _prior_numpy(x, m, r, second_order, alpha, beta, isotropic):
    """NumPy twin of :func:`unblur.restore._kernels.prior_pass` (any dimension, any backend):
    ``x`` is overwritten by the divergence."""
    xp = array_module(x)
    ndim = x.ndim
    t = _stack(x, second_order, xp.empty(m.shape, x.dtype))
    t *= r
    t += _load_state(m, x.dtype)  # t = r A x + m
    z = xp.empty_like(t)
    shrink_groups(t[:ndim].copy(), alpha, beta, z[:ndim], isotropic)
    if second_order:
        shrink_groups(t[ndim:].copy(), alpha, beta, z[ndim:], isotropic)
    if m.dtype == x.dtype:
        np.multiply(z, r, out=m)
        np.subtract(t, m, out=m)  # m = t - r z
    else:  # rounded to bfloat16 words
        new = np.multiply(z, r)
        np.subtract(t, new, out=new)
        _store_state(new, m)
        del new
    z *= 2
    z -= t  # p = 2 z - t
    del t
    q = z[:ndim]
    scratch = xp.empty_like(x)
    if second_order:
        h = z[ndim:] * second_order
        hessian_to_gradient_adjoint(h, ndim, q, scratch)
    gradient_adjoint(q, out=x, scratch=scratch)


def _lattice_index(region: tuple[slice, ...]) -> tuple[slice, ...]:
    """Every :data:`CHANGE_STRIDE`-th pixel per axis of ``region``: where the stopping rule
    measures the change of the estimate."""
    return tuple(slice(sl.start, sl.stop, CHANGE_STRIDE) for sl in region)


def _lattice_change_numpy(x, lattice, region):
    """NumPy twin of :func:`unblur.restore._kernels.lattice_change`."""
    sub = x[_lattice_index(region)]
    diff = sub.astype(np.float64) - lattice
    change2 = float((diff * diff).sum())
    lattice[...] = sub
    return change2


def _data_numpy(hx, mv, image, mask, region, inv_scale, r, rho_v):
    """NumPy twin of :func:`unblur.restore._kernels.data_pass`."""
    hx *= r
    hx += mv  # t
    np.multiply(hx, 1.0 - r, out=mv)  # outside the observation v = t
    t = hx[region]
    v = (image * inv_scale + rho_v * t) / (1.0 + rho_v)
    if mask is not None:
        v = np.where(mask, v, t)
    mv[region] = t - r * v
    hx[region] = 2 * v - t  # v - u_v; t elsewhere (already there)


def _spectral_numpy(rhs, data, otf, inv_den, rho, rho_v, split):
    """NumPy twin of :func:`unblur.restore._kernels.spectral_pass`."""
    rhs *= rho
    if split:
        np.conjugate(data, out=data)
        np.multiply(data, otf, out=data)
        np.conjugate(data, out=data)  # conj(H) d
        data *= rho_v
    rhs += data
    rhs *= inv_den
    if split:
        np.multiply(rhs, otf, out=data)
