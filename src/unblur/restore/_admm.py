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

References
----------
M. S. C. Almeida, M. A. T. Figueiredo, "Deconvolving images with unknown boundaries using the
alternating direction method of multipliers", IEEE TIP 22(8), 2013, pp. 3074-3086.
S. Boyd, N. Parikh, E. Chu, B. Peleato, J. Eckstein, "Distributed optimization and statistical
learning via the alternating direction method of multipliers", Found. Trends Mach. Learn. 3(1),
2011 (scaled form, varying penalty).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..backend import array_module
from ..operators import Boundary, difference_spectrum
from ..operators.differences import (
    gradient,
    gradient_adjoint,
    hessian,
    hessian_to_gradient_adjoint,
)
from ._loop import IterationLoop, relative_norm
from ._priors import shrink_groups

__all__ = ["admm"]

#: float32 data larger than this (in absolute value) are solved in float64: the x step's
#: right-hand side scales as the data to the power 3 - alpha and would overflow float32.
_FLOAT32_MAX_DATA = 1e12


def admm(
    image: np.ndarray,
    psf: np.ndarray,
    *,
    lam: float,
    second_order: float,
    alpha: float,
    isotropic: bool,
    betas: Callable[[int], float],
    num_iter: int,
    boundary: str,
    tol: float | None,
    callback: Callable[[int, np.ndarray], None] | None,
    info: dict | None,
) -> np.ndarray:
    r"""Scaled ADMM for the energy of the module docstring; penalty :math:`\rho_k = \beta_k\lambda`.

    ``betas(k)`` gives the penalty of iteration ``k`` relative to ``lam`` (the
    :math:`\beta` of the shrinkage); when it changes, the scaled duals are rescaled so the
    unscaled multipliers carry over (Boyd et al. 2011, §3.4.1).
    """
    out_dtype = image.dtype
    if out_dtype == np.float32 and float(abs(image).max()) > _FLOAT32_MAX_DATA:
        image = image.astype(np.float64)  # rho * D^T z grows as the data cubed: float32 overflows
    dtype = image.dtype
    bc = Boundary.create(boundary, image.shape, psf, dtype=dtype)
    op = bc.operator
    ndim = image.ndim
    masked = bc.mask is not None
    region = bc.region
    otf, otf_conj = op.otf, op.otf.conj()
    xp = array_module(image)
    spectrum_1 = difference_spectrum(bc.grid_shape, 1, dtype=dtype, xp=xp)
    spectrum_2 = difference_spectrum(bc.grid_shape, 2, dtype=dtype, xp=xp) if second_order else None

    x = bc.extend(image).astype(dtype, copy=True)
    grad = gradient(x)
    z1 = grad.copy()
    u1 = np.zeros_like(grad)
    if second_order:
        hess = hessian(grad)
        z2 = hess.copy()
        u2 = np.zeros_like(hess)
    q = np.empty_like(grad)  # the argument of the gradient adjoint in the x step
    scratch = np.empty_like(x)
    rhs = np.empty_like(x)
    if masked:
        v = op.forward(x)
        uv = np.zeros_like(x)
        data = np.empty_like(x)  # rho (v - u_v)
    else:
        data_hat = otf_conj * op.fft(x)  # H^T y in Fourier, y the extended observation
    previous = np.empty_like(x) if tol is not None else None
    # transforms write into these (allocated once): the x step's spectrum, the data's (or
    # the v step's) spectrum
    rhs_hat = op.spectrum_buffer()
    aux_hat = op.spectrum_buffer() if masked else None
    if masked:
        v_region = v[region]  # views into v, whose buffer is reused every iteration

    rho_prev = None
    inv_denominator = None
    change = math.inf
    loop = IterationLoop(num_iter, tol=tol, callback=callback, crop=bc.crop)
    for k in loop:
        rho = betas(k) * lam
        if rho != rho_prev:
            if rho_prev is not None:  # keep the unscaled multipliers rho * u
                ratio = rho_prev / rho
                u1 *= ratio
                if second_order:
                    u2 *= ratio
                if masked:
                    uv *= ratio
            denominator = (rho if masked else 1.0) * op.otf_power + rho * spectrum_1
            if second_order:
                denominator += (rho * second_order) * spectrum_2
            inv_denominator = (1.0 / np.maximum(denominator, np.finfo(dtype).tiny)).astype(dtype)
            rho_prev = rho

        # ---- x step: (rho_v H^T H + rho D^T D + rho s D2^T D2) x = rho_v H^T d + ... --------
        np.subtract(z1, u1, out=q)
        if second_order:
            np.subtract(z2, u2, out=hess)
            hess *= second_order
            hessian_to_gradient_adjoint(hess, ndim, q, scratch)
        gradient_adjoint(q, out=rhs, scratch=scratch)
        rhs *= rho
        op.fft_into(rhs, rhs_hat)
        if masked:
            np.subtract(v, uv, out=data)
            data *= rho
            op.fft_into(data, aux_hat)
            aux_hat *= otf_conj
            rhs_hat += aux_hat
        else:
            rhs_hat += data_hat
        rhs_hat *= inv_denominator
        if previous is not None:
            x, previous = previous, x
        if masked:
            np.copyto(aux_hat, rhs_hat)  # the inverse transform overwrites its input
        x = op.ifft_into(rhs_hat, x)

        # ---- v step (unknown boundary): data on observed pixels, free elsewhere -----------
        if masked:
            aux_hat *= otf
            op.ifft_into(aux_hat, v)
            v += uv  # t = Hx + u_v
            uv[...] = v  # keep t; v = t outside the observation
            v_region *= rho  # v = (y + rho t) / (1 + rho) on the observed pixels
            v_region += image
            v_region /= 1.0 + rho
            uv -= v  # u_v = t - v

        # ---- z steps: shrinkage of the gradient (and Hessian) plus scaled duals ------------
        beta = rho / lam
        gradient(x, out=grad)
        u1 += grad
        shrink_groups(u1, alpha, beta, z1, isotropic)
        if second_order:
            hessian(grad, out=hess)
            u2 += hess
            shrink_groups(u2, alpha, beta, z2, isotropic)

        if previous is not None:
            np.subtract(x, previous, out=previous)  # x_{k-1} is not needed any more
            change = relative_norm(previous, x)
            if alpha == 1.0:  # convex: the split z = grad x must also be met (primal residual)
                change = max(change, relative_norm(grad - z1, grad))
        if loop.done(x, change=change, may_stop=betas(k + 1) == betas(k)):
            break

    loop.report(info)
    return bc.crop(x).astype(out_dtype, copy=True)
