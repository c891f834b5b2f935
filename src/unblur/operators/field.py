r"""The spatially varying blur operator of a PSF field: product convolution on a grid.

For a :class:`~unblur.psf.PSFField` with PSFs :math:`h_i` and hat weights :math:`w_i` (see
:mod:`unblur.psf.field`), the blur of a scene :math:`x` is the product convolution (Nagy &
O'Leary 1998; Denis et al. 2015)

.. math:: A x = \sum_i H_i W_i x, \qquad A^\top y = \sum_i W_i H_i^\top y,

with :math:`W_i` the diagonal multiplication by :math:`w_i` and :math:`H_i` the circular
convolution with :math:`h_i` on the grid a solver works on (the grids of the boundary models,
:class:`~unblur.operators.Boundary`). Since :math:`\sum_i w_i = 1`, a uniform field (every
:math:`h_i` equal) is exactly the uniform :class:`~unblur.operators.Convolution`.

Computation
-----------
:math:`w_i` vanishes outside the cells next to cell :math:`i`, so :math:`W_i x` lives on a box
about two cells wide, and :math:`H_i W_i x` on that box grown by the PSF. Each term is computed
by a *local* real FFT of that size (one shape for all cells, so each PSF's OTF is computed
once, by a :class:`~unblur.operators.Convolution` on the local grid) and added into the grid
with wrap-around, which is exactly the circular convolution on the grid. Along an axis where
the local box would not be smaller than the grid, the transform spans the grid. A forward or
adjoint pass then costs about :math:`2^d` transforms of the grid's size (not one per cell) and
holds one local buffer and the output, never one grid-sized array per cell.

Positions on the grid
---------------------
The weights are functions of the position in the field's frame (the image it was built for).
Grid index :math:`q` along an axis is position :math:`q - o` (``offset``), and with
``mirror=True`` that position is reflected into the frame (period :math:`2n`, edge samples
repeated) as the boundary models ``reflect`` and ``taper`` mirror the image: the field is then
mirror-symmetric like the data. Without mirroring, positions beyond the frame take the weights
of the outer cells (``unknown``: the unobserved border of the scene is blurred by the PSFs of
the nearest cells).

References
----------
J. G. Nagy, D. P. O'Leary, "Restoring images degraded by spatially variant blur", SIAM J.
Sci. Comput. 19(4), 1998, pp. 1063-1082.
L. Denis, E. Thiébaut, F. Soulez, J.-M. Becker, R. Mourya, "Fast approximations of
shift-variant blur", Int. J. Comput. Vis. 115(3), 2015, pp. 253-278.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import fft
from ..errors import InvalidParameterError, InvalidPSFError
from ..psf.field import PSFField
from .boundary import Boundary
from .convolution import Convolution

__all__ = ["FieldConvolution", "field_boundary", "field_positions"]


@dataclass(frozen=True)
class _Term:
    """One box of one cell: where :math:`W_i x` is read and where :math:`H_i W_i x` goes."""

    cell: int
    box: tuple[slice, ...]  # grid slices of the box (the support of w_i, or a run of it)
    place: tuple[slice, ...]  # the same box in the local buffer
    weights: tuple[np.ndarray, ...]  # 1-D weights over the box, broadcastable per axis
    pieces: tuple[tuple[tuple[slice, ...], tuple[slice, ...]], ...]  # (local, grid) slices


def field_positions(n_image: int, n_grid: int, offset: int, *, mirror: bool) -> np.ndarray:
    """Positions in the field's frame (pixel indices) of the ``n_grid`` indices of a grid axis.

    Grid index ``q`` is position ``q - offset``; with ``mirror`` the position is reflected into
    ``[0, n_image)`` (the even extension of period ``2 * n_image``).
    """
    t = np.arange(n_grid) - int(offset)
    if mirror:
        t = np.mod(t, 2 * n_image)
        t = np.where(t >= n_image, 2 * n_image - 1 - t, t)
    return t.astype(np.float64)


class FieldConvolution:
    """Product convolution :math:`\\sum_i H_i W_i` of a PSF field on a fixed real grid.

    Parameters
    ----------
    field : PSFField
        The field (its PSFs and the frame its grid is laid over).
    shape : sequence of int
        Grid shape; every array passed in must have it. Each axis must be at least as long as
        the PSF.
    offset : sequence of int, optional
        Grid index of the field frame's first pixel per axis (default 0: the frame starts at
        the grid's origin), as :attr:`Boundary.offset <unblur.operators.Boundary>`.
    mirror : bool, optional
        Reflect positions beyond the frame into it (the grids of ``reflect`` and ``taper``);
        otherwise they take the outer cells' weights.
    dtype : dtype, optional
        float32 or float64: the precision of every transform.
    xp : module, optional
        The array module of the arrays it acts on (``numpy``, default, or ``cupy``: see
        :mod:`unblur.backend`); the PSFs' OTFs and the weights are moved there once.

    Notes
    -----
    ``forward`` is :math:`Ax = \\sum_i H_i (w_i x)`, ``adjoint`` :math:`A^\\top y = \\sum_i w_i
    (H_i^\\top y)`, both exact (to rounding) for the circular convolutions on the grid. The
    attributes ``shape``, ``dtype``, ``xp`` and ``psf`` (the area-weighted mean PSF, for the
    ``taper`` blend of :class:`~unblur.operators.Boundary`) match those of
    :class:`~unblur.operators.Convolution`; there is no OTF, since :math:`A` is not diagonal in
    Fourier space. :meth:`uniform` gives the uniform convolution with the mean PSF,
    :attr:`mean_otf_power` the Fourier-diagonal part of :math:`A^\\top A` (a preconditioner)
    and :attr:`norm_squared_bound` an upper bound on :math:`\\|A\\|_2^2` (a safe step).
    The transforms of the grid (``fft``, ``ifft``, ``apply_multiplier``, ``spectrum_buffer``,
    ``real_view``, ``fft_into``, ``ifft_into``) are those of :meth:`uniform`, and
    :meth:`solve_normal_cg` solves the regularised normal equations iteratively (there is
    no direct solve).
    """

    #: not diagonal in Fourier: no OTF, no direct solve
    diagonal = False

    def __init__(
        self,
        field: PSFField,
        shape: Sequence[int],
        *,
        offset: Sequence[int] | None = None,
        mirror: bool = False,
        dtype=np.float32,
        xp=None,
    ):
        if not isinstance(field, PSFField):
            raise InvalidPSFError(f"expected a PSFField, got {type(field).__name__}")
        self.field = field
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        self.xp = np if xp is None else xp
        d = field.ndim
        if len(self.shape) != d:
            raise InvalidParameterError(f"a {d}-D field cannot act on a grid of shape {self.shape}")
        kshape = field.psf_shape
        if any(k > n for k, n in zip(kshape, self.shape, strict=True)):
            raise InvalidPSFError(f"PSFs of shape {kshape} do not fit the grid {self.shape}")
        offset = (0,) * d if offset is None else tuple(int(o) for o in offset)
        if len(offset) != d:
            raise InvalidParameterError(f"offset must have {d} entries, got {offset!r}")
        self.offset = offset
        self.mirror = bool(mirror)

        # per axis: the (g, n) weights and the runs of each cell's support
        axis_weights, axis_runs = [], []
        for a in range(d):
            t = field_positions(field.image_shape[a], self.shape[a], offset[a], mirror=mirror)
            w = field.axis_weights(a, t)
            axis_weights.append(w)
            axis_runs.append([_runs(w[j] != 0) for j in range(w.shape[0])])
        # per axis: a local transform length (linear convolution of the longest run) or the
        # whole grid axis (circular) when a local one would not be shorter
        local = []
        for a in range(d):
            longest = max(stop - start for runs in axis_runs[a] for start, stop in runs)
            length = fft.fast_shape([longest + kshape[a] - 1])[0]
            local.append(length if length < self.shape[a] else None)
        self.local_shape = tuple(
            n if m is None else m for n, m in zip(self.shape, local, strict=True)
        )

        grid_cells = list(field.cells())
        self._convolutions = [
            Convolution(self._device(field.psfs[cell]), self.local_shape, dtype=self.dtype)
            for cell in grid_cells
        ]
        terms = []
        for index, cell in enumerate(grid_cells):
            per_axis = []
            for a, j in enumerate(cell):
                options = []
                for start, stop in axis_runs[a][j]:
                    box, place, pieces = _axis_term(start, stop, self.shape[a], kshape[a], local[a])
                    weights = self._device(axis_weights[a][j, start:stop].astype(self.dtype))
                    options.append((box, place, pieces, weights))
                per_axis.append(options)
            for combo in itertools.product(*per_axis):
                box = tuple(c[0] for c in combo)
                place = tuple(c[1] for c in combo)
                pieces = tuple(
                    (tuple(p[0] for p in prod), tuple(p[1] for p in prod))
                    for prod in itertools.product(*(c[2] for c in combo))
                )
                weights = tuple(
                    c[3].reshape([-1 if b == a else 1 for b in range(d)])
                    for a, c in enumerate(combo)
                )
                terms.append(_Term(index, box, place, weights, pieces))
        self._terms = terms

    def _device(self, a: np.ndarray):
        """A host array on this operator's device (itself on the CPU)."""
        return a if self.xp is np else self.xp.asarray(a)

    @functools.cached_property
    def psf(self) -> np.ndarray:
        """The field's mean PSF (area-weighted): what a uniform approximation would use."""
        return self._device(self.field.mean_psf())

    @property
    def psf_shape(self) -> tuple[int, ...]:
        """Shape of every PSF of the field."""
        return self.field.psf_shape

    def uniform(self) -> Convolution:
        """The uniform :class:`~unblur.operators.Convolution` of :attr:`psf` on this grid.

        The centre-of-mass approximation of the field, and the FFT helper (``fft``,
        ``ifft``, ``apply_multiplier``) for Fourier multipliers on this grid such as
        :attr:`mean_otf_power`.
        """
        return self._spectral

    @functools.cached_property
    def _spectral(self) -> Convolution:
        return Convolution(self.psf, self.shape, dtype=self.dtype)

    # the transforms of the grid (for Fourier multipliers such as difference spectra)
    @property
    def spectrum_shape(self) -> tuple[int, ...]:
        """Shape of the half-spectrum arrays of the grid."""
        return self._spectral.spectrum_shape

    def fft(self, x: np.ndarray) -> np.ndarray:
        """Half-spectrum of ``x`` (see :meth:`Convolution.fft`)."""
        return self._spectral.fft(x)

    def ifft(self, x_hat: np.ndarray) -> np.ndarray:
        """Real array on the grid from a half-spectrum."""
        return self._spectral.ifft(x_hat)

    def apply_multiplier(self, x: np.ndarray, multiplier) -> np.ndarray:
        """Multiply the spectrum of ``x`` by ``multiplier`` (half-spectrum shape)."""
        return self._spectral.apply_multiplier(x, multiplier)

    def spectrum_buffer(self) -> np.ndarray:
        """An uninitialised half-spectrum array of the grid."""
        return self._spectral.spectrum_buffer()

    def real_view(self, spectrum: np.ndarray) -> np.ndarray | None:
        """A grid-sized real array in ``spectrum``'s memory (see :meth:`Convolution.real_view`)."""
        return self._spectral.real_view(spectrum)

    def fft_into(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """:meth:`fft` written into ``out`` (from :meth:`spectrum_buffer`)."""
        return self._spectral.fft_into(x, out)

    def ifft_into(self, x_hat: np.ndarray, out: np.ndarray) -> np.ndarray:
        """:meth:`ifft` written into the grid-sized ``out``; ``x_hat`` is overwritten."""
        return self._spectral.ifft_into(x_hat, out)

    @functools.cached_property
    def mean_otf_power(self) -> np.ndarray:
        r""":math:`\sum_i a_i |\hat h_i|^2`: the cells' OTF powers averaged by their areas.

        The Fourier-diagonal part of :math:`A^\top A` (exactly :math:`|\hat h|^2` for a
        uniform field): ``1 / (mean_otf_power + rho * R)`` preconditions conjugate gradients
        on :math:`(A^\top A + \rho R)x = b` far better than the power of the mean OTF, whose
        near-zeros the cells do not share (docs/notes/fields.md). Computed on first use, one
        grid-sized OTF at a time; real, in the half-spectrum shape.
        """
        field = self.field
        area = [
            field.axis_weights(a, np.arange(n)).sum(axis=1) / n
            for a, n in enumerate(field.image_shape)
        ]
        total = None
        for cell in field.cells():
            share = float(np.prod([area[a][j] for a, j in enumerate(cell)]))
            conv = Convolution(self._device(field.psfs[cell]), self.shape, dtype=self.dtype)
            power = share * conv.otf_power
            total = power if total is None else total + power
        return total.astype(self.dtype, copy=False)

    @functools.cached_property
    def norm_squared_bound(self) -> float:
        """An upper bound on :math:`\\|A\\|_2^2` (computed on first use, one forward pass).

        :math:`A` has non-negative entries and every column sums to one (each PSF sums to one
        and the weights to one), so :math:`\\|A\\|_2^2 \\le \\|A\\|_1 \\|A\\|_\\infty =
        \\max_p (A\\mathbf 1)_p`, the largest row sum; it is 1 for a uniform blur.
        """
        return float(self.forward(self.xp.ones(self.shape, dtype=self.dtype)).max())

    def _check(self, x: np.ndarray) -> None:
        if x.shape != self.shape:
            raise InvalidParameterError(f"array of shape {x.shape} given to a {self.shape} grid")

    def _target(self, x: np.ndarray, out: np.ndarray | None) -> np.ndarray:
        """A zeroed grid array to accumulate into: ``out``, unless it is the input (``out`` may
        be the input array itself, not a view of it)."""
        if out is None or out is x:
            return self.xp.zeros(self.shape, dtype=self.dtype)
        self._check(out)
        out[...] = 0
        return out

    def forward(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """:math:`Ax = \\sum_i H_i (w_i x)`: blur ``x`` with the field (circularly on the grid).

        ``out`` (optional, may be ``x``) receives the result.
        """
        self._check(x)
        target = self._target(x, out)  # before astype, which may wrap x anew (not on NumPy)
        x = x.astype(self.dtype, copy=False)
        buffer = self.xp.zeros(self.local_shape, dtype=self.dtype)
        for term in self._terms:
            buffer[...] = 0
            weighted = buffer[term.place]
            np.multiply(x[term.box], term.weights[0], out=weighted)
            for w in term.weights[1:]:
                weighted *= w
            blurred = self._convolutions[term.cell].forward(buffer)
            for local, grid in term.pieces:
                target[grid] += blurred[local]
        return _deliver(target, out)

    def adjoint(self, y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """:math:`A^\\top y = \\sum_i w_i (H_i^\\top y)`: correlate with each PSF, weight, sum.

        ``out`` (optional, may be ``y``) receives the result.
        """
        self._check(y)
        target = self._target(y, out)
        y = y.astype(self.dtype, copy=False)
        buffer = self.xp.zeros(self.local_shape, dtype=self.dtype)
        for term in self._terms:
            buffer[...] = 0
            for local, grid in term.pieces:
                buffer[local] = y[grid]
            correlated = self._convolutions[term.cell].adjoint(buffer)[term.place]
            for w in term.weights:
                correlated *= w
            target[term.box] += correlated
        return _deliver(target, out)

    def normal(self, x: np.ndarray) -> np.ndarray:
        """:math:`A^\\top A x`."""
        return self.adjoint(self.forward(x))

    def forward_into(self, x: np.ndarray, out: np.ndarray, spectrum=None) -> np.ndarray:
        """:meth:`forward` into ``out`` (which may be ``x``); ``spectrum`` is not needed."""
        return self.forward(x, out=out)

    def adjoint_into(self, y: np.ndarray, out: np.ndarray, spectrum=None) -> np.ndarray:
        """:meth:`adjoint` into ``out`` (which may be ``y``); ``spectrum`` is not needed."""
        return self.adjoint(y, out=out)

    def solve_normal_cg(
        self,
        x: np.ndarray,
        ax: np.ndarray,
        data: np.ndarray,
        rhs: np.ndarray | None = None,
        regularizer: np.ndarray | float = 0.0,
        *,
        max_iter: int = 3,
    ) -> int:
        r"""Improve ``x`` towards the solution of :math:`(A^\top A + R)\,x = A^\top d + b`.

        Preconditioned conjugate gradients (Hestenes & Stiefel 1952) from ``x`` (in place),
        with ``ax`` :math:`= Ax` on entry, kept equal to :math:`Ax` (in place, at no extra
        transform: :math:`Ax` is updated with the :math:`Ap` each step computes anyway).
        :math:`d` is ``data``, :math:`b` ``rhs`` (optional) and :math:`R \ge 0` the Fourier
        multiplier ``regularizer`` (half-spectrum shape, or a number). The preconditioner is
        the Fourier-diagonal approximation :math:`(\sum_i a_i |\hat h_i|^2 + R)^{-1}`
        (:attr:`mean_otf_power`), exact for a uniform field, where one step solves the system.

        Warm-started from the previous iterate of a splitting method (ADMM), two or three steps
        bring the relative residual to about :math:`10^{-3}` (docs/notes/fields.md). Each step
        costs one forward and one adjoint pass and two transform pairs of the grid (one for
        :math:`R` and one for the preconditioner; none for a number :math:`R`).

        Returns
        -------
        int
            The steps taken (``max_iter``, fewer when the residual vanishes).

        References
        ----------
        M. R. Hestenes, E. Stiefel, "Methods of conjugate gradients for solving linear
        systems", J. Res. Natl. Bur. Stand. 49(6), 1952, pp. 409-436.
        """
        xp = self.xp
        precondition = 1.0 / (self.mean_otf_power + regularizer)
        precondition = precondition.astype(self.dtype, copy=False)

        def regularize(v: np.ndarray) -> np.ndarray:
            if np.ndim(regularizer) == 0:
                return v * float(regularizer)
            return self.apply_multiplier(v, regularizer)

        # r = A^T (d - A x) + b - R x
        r = xp.subtract(data, ax)
        self.adjoint(r, out=r)
        if rhs is not None:
            r += rhs
        r -= regularize(x)
        z = self.apply_multiplier(r, precondition)
        p = z
        rz = _dot(r, z)
        steps = 0
        ap = xp.empty_like(x)
        for steps in range(1, max_iter + 1):
            if rz <= 0.0:
                return steps - 1
            self.forward(p, out=ap)
            q = self.adjoint(ap)
            q += regularize(p)
            curvature = _dot(p, q)
            if curvature <= 0.0:
                return steps - 1
            alpha = rz / curvature
            x += alpha * p
            ax += alpha * ap
            if steps == max_iter:
                break
            r -= alpha * q
            z = self.apply_multiplier(r, precondition)
            rz_new = _dot(r, z)
            p = z + (rz_new / rz) * p
            rz = rz_new
        return steps


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """:math:`\\langle a, b \\rangle` as a Python float (any array module)."""
    return float((a * b).sum())


def _deliver(target: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    """The result in ``out`` when one was given (copied there if it was also the input)."""
    if out is None or target is out:
        return target
    out[...] = target
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` of each run of True in a 1-D boolean array."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _axis_term(start: int, stop: int, n: int, k: int, local: int | None):
    """Along one axis, for a box ``[start, stop)`` of the grid of length ``n`` and a PSF of
    length ``k``: the box's grid slice, its slice in the local buffer, and the (local, grid)
    slice pairs that carry the convolved box back into the grid.

    Without a local length the buffer is the grid axis itself (circular convolution there).
    With one, the box sits at the buffer's start; its linear convolution covers positions
    ``start - k // 2 + m`` for ``m`` in ``[0, b + k - 1)``, stored at buffer index
    ``(m - k // 2) mod local``, and these go to grid index ``(start - k // 2 + m) mod n``
    (wrapping round the grid, as the circular convolution there does).
    """
    box = slice(start, stop)
    if local is None:
        return box, box, ((slice(0, n), slice(0, n)),)
    b = stop - start
    c = k // 2
    m = np.arange(b + k - 1)
    local_index = (m - c) % local
    grid_index = (start - c + m) % n
    return box, slice(0, b), tuple(_pieces(local_index, grid_index))


def _pieces(local_index: np.ndarray, grid_index: np.ndarray):
    """Split two index sequences into runs where both step by one: pairs of slices."""
    breaks = np.flatnonzero((np.diff(local_index) != 1) | (np.diff(grid_index) != 1)) + 1
    for chunk_l, chunk_g in zip(
        np.split(local_index, breaks), np.split(grid_index, breaks), strict=True
    ):
        yield (
            slice(int(chunk_l[0]), int(chunk_l[-1]) + 1),
            slice(int(chunk_g[0]), int(chunk_g[-1]) + 1),
        )


def field_boundary(
    mode: str, image_shape: Sequence[int], field: PSFField, *, dtype=np.float32, xp=None
) -> Boundary:
    """:meth:`Boundary.create <unblur.operators.Boundary.create>` for a PSF field.

    The grid, offset, ``extend``, ``crop`` and ``mask`` are those of the boundary model for a
    PSF of the field's PSF shape; ``operator`` is the :class:`FieldConvolution` on that grid,
    with the field's frame on the observed image (mirrored for ``reflect`` and ``taper``, whose
    grids hold a mirrored image; the outer cells' weights beyond the frame for ``unknown``).
    ``xp`` is the array module of the images it will see (NumPy by default; CuPy on a GPU).

    Raises
    ------
    InvalidPSFError
        ``field`` was built for another image shape.
    """
    image_shape = tuple(int(n) for n in image_shape)
    if not isinstance(field, PSFField):
        raise InvalidPSFError(f"expected a PSFField, got {type(field).__name__}")
    if field.image_shape != image_shape:
        raise InvalidPSFError(
            f"the PSF field was built for an image of shape {field.image_shape}, not {image_shape}"
        )
    # the boundary model's grid for the field's PSF shape (the taper blends with the mean PSF)
    grid, offset = Boundary.layout(mode, image_shape, field.psf_shape)
    op = FieldConvolution(
        field, grid, offset=offset, mirror=mode in ("reflect", "taper"), dtype=dtype, xp=xp
    )
    return Boundary(mode, image_shape, grid, offset, op)
