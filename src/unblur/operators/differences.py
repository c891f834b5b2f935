r"""Finite differences on a periodic nD grid: gradient, Hessian, their adjoints and spectra.

Every solver with a derivative prior and the blind kernel estimator use these, so the
discretisation (forward differences, periodic on the solver's grid) is the same everywhere.
:math:`D_i` is the forward difference along axis :math:`i`,
:math:`(D_i x)_j = x_{j + e_i} - x_j`, with Fourier multiplier :math:`e^{2\pi i f_i} - 1`, so
:math:`|D_i|^2 = 4 \sin^2(\pi f_i)`. The gradient stacks :math:`D_i x` on a new first axis;
the Hessian stores :math:`D_j D_i x` for :math:`i \le j`, the mixed ones scaled by
:math:`\sqrt 2` so that the Euclidean norm over the stored components is the Frobenius norm of
the symmetric Hessian and its multiplier is :math:`(\sum_i |D_i|^2)^2 = |L|^2`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..backend import array_module
from ..errors import InvalidParameterError

__all__ = [
    "difference",
    "difference_adjoint",
    "difference_spectrum",
    "frequencies",
    "gradient",
    "gradient_adjoint",
    "hessian",
    "hessian_adjoint",
    "hessian_pairs",
    "hessian_to_gradient_adjoint",
]


def _axis_slice(ndim: int, axis: int, sl: slice) -> tuple[slice, ...]:
    index = [slice(None)] * ndim
    index[axis] = sl
    return tuple(index)


def difference(x: np.ndarray, axis: int, out: np.ndarray, *, periodic: bool = True) -> np.ndarray:
    """Forward difference along ``axis``: ``out[j] = x[j + 1] - x[j]``.

    ``periodic`` (default): ``x[n] = x[0]``. Otherwise the difference across the last sample
    is zero (the Neumann boundary of Rudin, Osher & Fatemi 1992): ``out[n - 1] = 0``.
    """
    n, nd = x.shape[axis], x.ndim
    lo, hi = _axis_slice(nd, axis, slice(0, n - 1)), _axis_slice(nd, axis, slice(1, n))
    first, last = _axis_slice(nd, axis, slice(0, 1)), _axis_slice(nd, axis, slice(n - 1, n))
    if periodic:
        np.subtract(x[hi], x[lo], out=out[lo])
        np.subtract(x[first], x[last], out=out[last])
        return out
    s = math.prod(x.shape[axis + 1 :])
    if n > 1 and axis > 0 and _flat(x, out):
        # one contiguous pass on the flattened arrays (several times faster than strided
        # slices for inner axes); the pairs that straddle two lines land on the last sample
        # along ``axis``, which is reset below
        np.subtract(x.reshape(-1)[s:], x.reshape(-1)[:-s], out=out.reshape(-1)[:-s])
    elif n > 1:
        np.subtract(x[hi], x[lo], out=out[lo])
    out[last] = 0
    return out


def difference_adjoint(
    p: np.ndarray, axis: int, out: np.ndarray, *, periodic: bool = True
) -> np.ndarray:
    """Adjoint of :func:`difference`: ``out[j] = p[j - 1] - p[j]``.

    ``periodic`` (default): ``p[-1] = p[n - 1]``, the exact adjoint. Otherwise ``p[-1] = 0``
    (minus the backward difference with a zero boundary, the discrete divergence of the
    Neumann gradient): the exact adjoint of ``difference(..., periodic=False)`` on every ``p``
    whose last sample along ``axis`` is zero, as that function's outputs are.
    """
    n, nd = p.shape[axis], p.ndim
    lo, hi = _axis_slice(nd, axis, slice(0, n - 1)), _axis_slice(nd, axis, slice(1, n))
    first, last = _axis_slice(nd, axis, slice(0, 1)), _axis_slice(nd, axis, slice(n - 1, n))
    if periodic:
        np.subtract(p[lo], p[hi], out=out[hi])
        np.subtract(p[last], p[first], out=out[first])
        return out
    s = math.prod(p.shape[axis + 1 :])
    if n > 1 and axis > 0 and _flat(p, out):
        np.subtract(p.reshape(-1)[:-s], p.reshape(-1)[s:], out=out.reshape(-1)[s:])
    elif n > 1:
        np.subtract(p[lo], p[hi], out=out[hi])
    np.negative(p[first], out=out[first])  # also where the flat pass read the previous line
    return out


def add_difference_adjoint(
    p: np.ndarray, axis: int, out: np.ndarray, *, periodic: bool = True
) -> np.ndarray:
    """``out += difference_adjoint(p, axis)``, in place and without scratch.

    Accumulated as ``out[j] - p[j] + p[j - 1]`` (in that order, so sums over several axes
    round the same way wherever they are computed); ``periodic`` as in
    :func:`difference_adjoint`.
    """
    n, nd = p.shape[axis], p.ndim
    lo, hi = _axis_slice(nd, axis, slice(0, n - 1)), _axis_slice(nd, axis, slice(1, n))
    first, last = _axis_slice(nd, axis, slice(0, 1)), _axis_slice(nd, axis, slice(n - 1, n))
    np.subtract(out, p, out=out)
    if n == 1:
        if periodic:
            np.add(out, p, out=out)
        return out
    if periodic:
        np.add(out[hi], p[lo], out=out[hi])
        np.add(out[first], p[last], out=out[first])
        return out
    np.add(out[hi], p[lo], out=out[hi])
    return out


def _flat(*arrays: np.ndarray) -> bool:
    """Whether every array is C-contiguous (so a flat view shares its memory)."""
    return all(a.flags.c_contiguous for a in arrays)


def gradient(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    r""":math:`\nabla x`: forward differences along every axis, stacked on a new first axis.

    Its Fourier multiplier satisfies :math:`\sum_i |D_i|^2 = \sum_i |1 - e^{-2\pi i f_i}|^2`,
    :func:`~unblur.operators.difference_spectrum` of order 1.
    """
    if out is None:
        out = array_module(x).empty((x.ndim, *x.shape), dtype=x.dtype)
    for axis in range(x.ndim):
        difference(x, axis, out[axis])
    return out


def gradient_adjoint(
    p: np.ndarray, out: np.ndarray | None = None, scratch: np.ndarray | None = None
) -> np.ndarray:
    r""":math:`\nabla^\top p = \sum_i D_i^\top p_i` (minus a discrete divergence)."""
    if out is None:
        out = array_module(p).empty(p.shape[1:], dtype=p.dtype)
    if scratch is None:
        scratch = array_module(p).empty(p.shape[1:], dtype=p.dtype)
    difference_adjoint(p[0], 0, out)
    for axis in range(1, p.shape[0]):
        out += difference_adjoint(p[axis], axis, scratch)
    return out


def hessian_pairs(ndim: int) -> list[tuple[int, int]]:
    """Index pairs ``(i, j)``, ``i <= j``, of the stored Hessian components."""
    return [(i, j) for i in range(ndim) for j in range(i, ndim)]


def hessian(grad: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    r"""Second differences :math:`D_j D_i x` from the gradient ``grad``, for ``i <= j``.

    Mixed components are scaled by :math:`\sqrt2`, so the Euclidean norm over the stored
    components is the Frobenius norm of the (symmetric) Hessian and the operator's Fourier
    multiplier is :math:`(\sum_i |D_i|^2)^2 = |L|^2`.
    """
    ndim = grad.shape[0]
    pairs = hessian_pairs(ndim)
    if out is None:
        out = array_module(grad).empty((len(pairs), *grad.shape[1:]), grad.dtype)
    for k, (i, j) in enumerate(pairs):
        difference(grad[i], j, out[k])
        if i != j:
            out[k] *= math.sqrt(2.0)
    return out


def hessian_to_gradient_adjoint(
    p: np.ndarray, ndim: int, out: np.ndarray, scratch: np.ndarray
) -> np.ndarray:
    r"""``q`` with :math:`(\nabla^2)^\top p = \nabla^\top q`, added into ``out`` (ndim, ...)."""
    for k, (i, j) in enumerate(hessian_pairs(ndim)):
        difference_adjoint(p[k], j, scratch)
        if i != j:
            scratch *= math.sqrt(2.0)
        out[i] += scratch
    return out


def hessian_adjoint(p: np.ndarray) -> np.ndarray:
    r""":math:`(\nabla^2)^\top p` for the components stored by :func:`hessian`."""
    ndim = p.ndim - 1
    xp = array_module(p)
    q = xp.zeros((ndim, *p.shape[1:]), dtype=p.dtype)
    hessian_to_gradient_adjoint(p, ndim, q, xp.empty(p.shape[1:], dtype=p.dtype))
    return gradient_adjoint(q)


def frequencies(shape: Sequence[int], *, xp=np) -> list[np.ndarray]:
    """Per-axis frequencies (cycles per pixel) on the half-spectrum of a real grid.

    One broadcastable array per axis; the last axis holds the non-negative frequencies of
    :func:`numpy.fft.rfftfreq`, the others those of :func:`numpy.fft.fftfreq`. ``xp`` is the
    array module of the result (``numpy``, or ``cupy`` for the GPU; see
    :func:`unblur.backend.array_module`).
    """
    out = []
    for ax, n in enumerate(shape):
        f = np.fft.rfftfreq(n) if ax == len(shape) - 1 else np.fft.fftfreq(n)
        expand = [np.newaxis] * len(shape)
        expand[ax] = slice(None)
        out.append(xp.asarray(f[tuple(expand)]))
    return out


def difference_spectrum(
    shape: Sequence[int], order: int = 1, dtype=np.float64, *, xp=np
) -> np.ndarray:
    """Fourier multiplier of a difference regulariser on a periodic grid of ``shape``.

    ``order=1`` gives :math:`\\sum_i |D_i|^2` for the forward differences along each axis
    (the gradient energy); ``order=2`` gives :math:`|L|^2` for the discrete Laplacian.
    ``order=0`` is the identity (all ones). ``xp`` is the array module of the result.
    """
    freqs = frequencies([int(n) for n in shape], xp=xp)
    if order == 0:
        return xp.ones(np.broadcast_shapes(*(f.shape for f in freqs)), dtype=dtype)
    # |1 - exp(-2πif)|² = 4 sin²(πf)
    grad = sum((4 * np.sin(np.pi * f) ** 2) for f in freqs)
    if order == 1:
        return grad.astype(dtype, copy=False)
    if order == 2:
        return (grad**2).astype(dtype, copy=False)
    raise InvalidParameterError(f"order must be 0, 1 or 2, got {order}")
