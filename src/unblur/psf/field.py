r"""PSF fields: a spatially varying blur given by PSFs on a regular grid of cells.

A field over an image of shape :math:`(n_1, \dots, n_d)` holds one PSF :math:`h_i` per cell
of a regular :math:`g_1 \times \dots \times g_d` grid; :math:`h_i` is the PSF at the centre of
its cell. Along axis :math:`a` the centres are

.. math:: c_{a,j} = \left(j + \tfrac12\right)\frac{n_a}{g_a} - \tfrac12,
          \qquad j = 0, \dots, g_a - 1

(in pixel indices), and the weight of cell :math:`i = (j_1, \dots, j_d)` at pixel
:math:`t` is the product of one-dimensional hat functions,

.. math:: w_i(t) = \prod_a \Lambda_{a,j_a}(t_a),

where :math:`\Lambda_{a,j}` is 1 at :math:`c_{a,j}`, 0 at the neighbouring centres, linear in
between, and constant (1 for the first and last cell, 0 for the others) beyond the outer
centres. The weights are non-negative and sum to one at every pixel. The PSF at a point
:math:`t` is the multilinear interpolation :math:`h(t) = \sum_i w_i(t)\, h_i`, and the blur is
the product convolution (Nagy & O'Leary 1998)

.. math:: y = \sum_i h_i * (w_i \cdot x),

the weights applied to the *scene* before each convolution, so the PSF belongs to the point
that emits the light: a point source at :math:`t` is imaged as :math:`h(t)`, and the blur
conserves flux (:mod:`unblur.operators.field` applies it).

References
----------
J. G. Nagy, D. P. O'Leary, "Restoring images degraded by spatially variant blur", SIAM J.
Sci. Comput. 19(4), 1998, pp. 1063-1082.
L. Denis, E. Thiébaut, F. Soulez, J.-M. Becker, R. Mourya, "Fast approximations of
shift-variant blur", Int. J. Comput. Vis. 115(3), 2015, pp. 253-278.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .._checks import normalize_psf
from ..errors import InvalidParameterError, InvalidPSFError

__all__ = ["PSFField", "from_function", "grid"]

#: Most cells a field may have (a guard against absurd grids: every cell is one FFT pair).
MAX_CELLS = 4096


@dataclass(frozen=True, eq=False)
class PSFField:
    """PSFs on a regular grid of cells over an image: a spatially varying blur.

    Build it with :func:`grid` or :func:`from_function`; it is immutable (its PSF array is
    read-only) and validated: every PSF is non-negative and sums to one, the PSFs fit the
    image, the grid has at least one cell per axis and at most one per pixel.

    Attributes
    ----------
    psfs : numpy.ndarray
        float64, shape ``(*grid_shape, *psf_shape)``: ``psfs[i]`` is the PSF at the centre of
        cell ``i`` (its centre pixel at index ``k // 2`` per axis).
    image_shape : tuple of int
        Shape of the image the grid is laid over (the frame in which positions are given).
    cell_centres : tuple of tuples of float, or None
        ``None`` for the regular grid (centres at :math:`(j + 1/2)\\, n / g - 1/2`); otherwise
        the centres along each axis, strictly increasing, in pixel indices of the frame (they
        may lie outside it). :meth:`crop` makes such fields: the part of a field that a window
        of the image sees, in the window's coordinates.
    """

    psfs: np.ndarray
    image_shape: tuple[int, ...]
    cell_centres: tuple[tuple[float, ...], ...] | None = None

    def __post_init__(self) -> None:
        image_shape = _image_shape(self.image_shape)
        regular = self.cell_centres is None
        psfs = _checked_psfs(self.psfs, image_shape, regular=regular)
        object.__setattr__(self, "image_shape", image_shape)
        object.__setattr__(self, "psfs", psfs)
        if not regular:
            centres = _checked_centres(self.cell_centres, psfs.shape[: len(image_shape)])
            object.__setattr__(self, "cell_centres", centres)

    @property
    def ndim(self) -> int:
        """Number of spatial dimensions."""
        return len(self.image_shape)

    @property
    def grid_shape(self) -> tuple[int, ...]:
        """Number of cells per axis."""
        return self.psfs.shape[: self.ndim]

    @property
    def psf_shape(self) -> tuple[int, ...]:
        """Shape of every PSF."""
        return self.psfs.shape[self.ndim :]

    @property
    def n_cells(self) -> int:
        """Number of cells (and of PSFs)."""
        return math.prod(self.grid_shape)

    def centres(self) -> tuple[np.ndarray, ...]:
        """Cell centres per axis, in pixel indices: :math:`(j + 1/2)\\, n / g - 1/2` on a
        regular grid (else :attr:`cell_centres`)."""
        if self.cell_centres is not None:
            return tuple(np.array(c, dtype=np.float64) for c in self.cell_centres)
        return tuple(
            (np.arange(g) + 0.5) * (n / g) - 0.5
            for g, n in zip(self.grid_shape, self.image_shape, strict=True)
        )

    def crop(
        self, start: Sequence[int], shape: Sequence[int], margin: Sequence[int] | None = None
    ) -> PSFField:
        """The field seen by the window ``[start, start + shape)`` of the image, in its frame.

        The result is a field over an image of ``shape`` whose weights equal this field's on
        the window and on ``margin`` pixels around it (default: the PSFs' half-widths, the
        border a restoration's grid adds): it holds the cells whose weights touch that range,
        with their centres moved into the window's coordinates (so the grid is no longer
        regular). Blocks of a chunked restoration use it (:mod:`unblur.dask`).

        Parameters
        ----------
        start : sequence of int
            The window's first pixel per axis (it may lie outside the image).
        shape : sequence of int
            The window's shape.
        margin : sequence of int, optional
            Pixels around the window where the weights must agree too.

        Returns
        -------
        PSFField

        Examples
        --------
        >>> import numpy as np
        >>> from unblur import psf
        >>> kernels = np.stack([psf.gaussian(s, size=9) for s in (1, 2, 3, 4)])
        >>> field = psf.grid(kernels.reshape(1, 4, 9, 9), (64, 256))
        >>> part = field.crop((0, 100), (64, 50))
        >>> part.grid_shape, [c.tolist() for c in part.centres()]
        ((1, 2), [[31.5], [-4.5, 59.5]])
        >>> bool(np.allclose(part.weights((0, 0)), field.weights((0, 1))[:, 100:150]))
        True
        """
        d = self.ndim
        start = _ints("start", start, d)
        shape = _ints("shape", shape, d)
        if any(n < 1 for n in shape):
            raise InvalidParameterError(f"shape must be positive, got {shape}")
        margin = (
            tuple(k // 2 for k in self.psf_shape) if margin is None else _ints("margin", margin, d)
        )
        keep, centres = [], []
        for a, c in enumerate(self.centres()):
            lo, hi = start[a] - margin[a], start[a] + shape[a] - 1 + margin[a]
            g = len(c)
            # cell j's weight is non-zero on (c[j - 1], c[j + 1]), unbounded at the ends
            touching = [
                j for j in range(g) if (j == g - 1 or c[j + 1] > lo) and (j == 0 or c[j - 1] < hi)
            ]
            first, last = touching[0], touching[-1] + 1
            keep.append(slice(first, last))
            centres.append(tuple(float(v) - start[a] for v in c[first:last]))
        return PSFField(self.psfs[tuple(keep)], shape, tuple(centres))

    def axis_weights(self, axis: int, positions: np.ndarray) -> np.ndarray:
        """Hat weights of the cells along ``axis`` at ``positions`` (pixel indices, any reals).

        Returns
        -------
        numpy.ndarray
            float64, shape ``(grid_shape[axis], len(positions))``; each column sums to one.
            Beyond the outer centres the weights are constant.
        """
        centres = self.centres()[axis]
        positions = np.asarray(positions, dtype=np.float64)
        g = len(centres)
        if g == 1:
            return np.ones((1, positions.size))
        eye = np.eye(g)
        return np.stack([np.interp(positions, centres, eye[j]) for j in range(g)])

    def weights(self, cell: Sequence[int]) -> np.ndarray:
        """The weight :math:`w_i` of ``cell`` over the whole image (float64, image shape)."""
        cell = tuple(int(j) for j in cell)
        out = np.ones((1,) * self.ndim)
        for a, (j, n) in enumerate(zip(cell, self.image_shape, strict=True)):
            shape = [1] * self.ndim
            shape[a] = n
            out = out * self.axis_weights(a, np.arange(n))[j].reshape(shape)
        return out

    def psf_at(self, position: Sequence[float]) -> np.ndarray:
        """The PSF at ``position`` (pixel indices): :math:`\\sum_i w_i(t)\\, h_i`."""
        position = tuple(float(t) for t in position)
        if len(position) != self.ndim:
            raise InvalidParameterError(
                f"position must have {self.ndim} coordinates, got {len(position)}"
            )
        out = np.zeros(self.psf_shape)
        per_axis = [self.axis_weights(a, [t])[:, 0] for a, t in enumerate(position)]
        for cell in self.cells():
            w = math.prod(float(per_axis[a][j]) for a, j in enumerate(cell))
            if w:
                out += w * self.psfs[cell]
        return out

    def cells(self) -> Iterator[tuple[int, ...]]:
        """Every cell index, in C order."""
        return itertools.product(*(range(g) for g in self.grid_shape))

    def mean_psf(self) -> np.ndarray:
        """The average of the PSFs, weighted by the area each cell covers (sums to one)."""
        area = [
            self.axis_weights(a, np.arange(n)).sum(axis=1) for a, n in enumerate(self.image_shape)
        ]
        out = np.zeros(self.psf_shape)
        for cell in self.cells():
            out += math.prod(float(area[a][j]) for a, j in enumerate(cell)) * self.psfs[cell]
        return out / out.sum()

    def __repr__(self) -> str:
        grid = " x ".join(map(str, self.grid_shape))
        kind = "" if self.cell_centres is None else " (irregular)"
        return f"PSFField(grid {grid}{kind}, PSF {self.psf_shape}, image {self.image_shape})"


def grid(psfs, image_shape: Sequence[int]) -> PSFField:
    r"""A PSF field from the PSFs at the centres of a regular grid of cells.

    Parameters
    ----------
    psfs : array_like
        Shape ``(g_1, ..., g_d, k_1, ..., k_d)``: ``psfs[i]`` is the PSF at the centre of cell
        ``i`` of a :math:`g_1 \times \dots \times g_d` grid laid evenly over the image; for a
        photograph ``(gy, gx, ky, kx)``, for a 3-D stack ``(gz, gy, gx, kz, ky, kx)`` (use
        ``gz = 1`` for a field that varies only across the frame). Each PSF is normalised to
        sum to one; its centre is the pixel at index ``k // 2`` per axis.
    image_shape : sequence of int
        Spatial shape of the image the grid covers.

    Returns
    -------
    PSFField
        Immutable field; between the centres the PSF is the multilinear interpolation of its
        neighbours (see :mod:`unblur.psf.field`).

    Raises
    ------
    InvalidPSFError
        The array does not have twice as many dimensions as the image, a PSF is larger than
        the image, or a PSF is negative, not finite or sums to zero (the cell is named).
    InvalidParameterError
        A bad image shape, or more cells along an axis than pixels.

    Examples
    --------
    >>> import numpy as np
    >>> from unblur import psf
    >>> kernels = np.stack([psf.gaussian(s, size=9) for s in (1.0, 2.0)]).reshape(1, 2, 9, 9)
    >>> field = psf.grid(kernels, (64, 96))
    >>> field.grid_shape, field.psf_shape
    ((1, 2), (9, 9))
    >>> [c.tolist() for c in field.centres()]
    [[31.5], [23.5, 71.5]]
    """
    return PSFField(psfs, image_shape)


def from_function(
    func: Callable[[tuple[float, ...]], np.ndarray],
    image_shape: Sequence[int],
    grid: Sequence[int] | int,
) -> PSFField:
    """A PSF field from a function of position, sampled at the centres of the cells.

    Parameters
    ----------
    func : callable
        ``func(position)`` returns the PSF (``d`` dimensions) at ``position``, a tuple of ``d``
        floats in pixel indices (row, column; plane, row, column). PSFs of different shapes
        are zero-padded around their centres (index ``k // 2``) to a common shape.
    image_shape : sequence of int
        Spatial shape of the image.
    grid : int or sequence of int
        Cells per axis (one number: the same on every axis).

    Returns
    -------
    PSFField

    Raises
    ------
    InvalidParameterError
        A bad grid or image shape.
    InvalidPSFError
        ``func`` returns something that is not a ``d``-dimensional PSF.

    Examples
    --------
    >>> from unblur import psf
    >>> field = psf.from_function(
    ...     lambda pos: psf.motion(length=15, angle=pos[1] / 4), (256, 256), grid=(2, 3))
    >>> field.grid_shape
    (2, 3)
    """
    image_shape = _image_shape(image_shape)
    cells = _grid_shape(grid, image_shape)
    centres = [
        (np.arange(g) + 0.5) * (n / g) - 0.5 for g, n in zip(cells, image_shape, strict=True)
    ]
    kernels = {}
    for cell in itertools.product(*(range(g) for g in cells)):
        position = tuple(float(centres[a][j]) for a, j in enumerate(cell))
        k = np.asarray(func(position))
        if k.ndim != len(image_shape):
            raise InvalidPSFError(
                f"the PSF function returned {k.ndim} dimensions at {position} for a "
                f"{len(image_shape)}-D image"
            )
        kernels[cell] = k
    # common shape: room for the largest half-width on either side of the centre
    before = [max(k.shape[a] // 2 for k in kernels.values()) for a in range(len(image_shape))]
    after = [
        max(k.shape[a] - k.shape[a] // 2 for k in kernels.values()) for a in range(len(image_shape))
    ]
    shape = tuple(b + f for b, f in zip(before, after, strict=True))
    psfs = np.zeros((*cells, *shape))
    for cell, k in kernels.items():
        pad = [
            (b - n // 2, f - (n - n // 2)) for b, f, n in zip(before, after, k.shape, strict=True)
        ]
        try:
            psfs[cell] = np.pad(np.asarray(k, dtype=np.float64), pad)
        except (TypeError, ValueError):
            raise InvalidPSFError(
                f"the PSF function returned a non-numeric array (dtype {k.dtype})"
            ) from None
    return PSFField(psfs, image_shape)


def _image_shape(image_shape) -> tuple[int, ...]:
    try:
        shape = tuple(image_shape)
    except TypeError:
        raise InvalidParameterError(
            f"image_shape must be a sequence of positive integers, got {image_shape!r}"
        ) from None
    if not shape or any(
        isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1 for n in shape
    ):
        raise InvalidParameterError(
            f"image_shape must be a sequence of positive integers, got {image_shape!r}"
        )
    return tuple(int(n) for n in shape)


def _grid_shape(grid, image_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Cells per axis, checked against the image: at least one, at most one per pixel."""
    d = len(image_shape)
    cells = (grid,) * d if np.isscalar(grid) else tuple(grid)
    if len(cells) != d or any(
        isinstance(g, bool) or not isinstance(g, int | np.integer) or g < 1 for g in cells
    ):
        raise InvalidParameterError(
            f"grid must be {d} positive integers (cells per axis), got {grid!r}"
        )
    cells = tuple(int(g) for g in cells)
    for a, (g, n) in enumerate(zip(cells, image_shape, strict=True)):
        if g > n:
            raise InvalidParameterError(
                f"grid has {g} cells along axis {a} but the image has only {n} pixels there"
            )
    if math.prod(cells) > MAX_CELLS:
        raise InvalidParameterError(
            f"grid {cells} has {math.prod(cells)} cells; at most {MAX_CELLS} are supported"
        )
    return cells


def _ints(name: str, values, d: int) -> tuple[int, ...]:
    """``values`` as ``d`` integers."""
    try:
        out = tuple(values)
    except TypeError:
        out = ()
    if len(out) != d or any(
        isinstance(v, bool) or not isinstance(v, int | np.integer) for v in out
    ):
        raise InvalidParameterError(f"{name} must be {d} integers, got {values!r}")
    return tuple(int(v) for v in out)


def _checked_centres(centres, grid_shape: tuple[int, ...]) -> tuple[tuple[float, ...], ...]:
    """Explicit cell centres: one strictly increasing, finite sequence per axis."""
    try:
        axes = [np.asarray(c, dtype=np.float64).reshape(-1) for c in centres]
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"cell_centres must be one sequence of numbers per axis, got {centres!r}"
        ) from None
    if len(axes) != len(grid_shape):
        raise InvalidParameterError(
            f"cell_centres must have {len(grid_shape)} axes, got {len(axes)}"
        )
    for a, (c, g) in enumerate(zip(axes, grid_shape, strict=True)):
        if c.size != g or not np.isfinite(c).all() or np.any(np.diff(c) <= 0):
            raise InvalidParameterError(
                f"cell_centres along axis {a} must be {g} strictly increasing finite numbers"
            )
    return tuple(tuple(float(v) for v in c) for c in axes)


def _checked_psfs(psfs, image_shape: tuple[int, ...], *, regular: bool = True) -> np.ndarray:
    """``psfs`` as a read-only float64 array, each PSF validated and normalised."""
    if isinstance(psfs, PSFField):
        raise InvalidPSFError("psfs is already a PSFField")
    arr = np.asarray(psfs)
    d = len(image_shape)
    if arr.ndim != 2 * d:
        raise InvalidPSFError(
            f"psfs must have {2 * d} dimensions (cells per axis, then the PSF's shape) for a "
            f"{d}-D image, got shape {arr.shape}"
        )
    if regular:
        _grid_shape(arr.shape[:d], image_shape)
    elif math.prod(arr.shape[:d]) > MAX_CELLS or 0 in arr.shape[:d]:
        raise InvalidParameterError(f"a field needs 1 to {MAX_CELLS} cells, got {arr.shape[:d]}")
    kshape = arr.shape[d:]
    if any(k > n for k, n in zip(kshape, image_shape, strict=True)):
        raise InvalidPSFError(f"PSFs of shape {kshape} are larger than the image {image_shape}")
    out = np.empty(arr.shape, dtype=np.float64)
    for cell in itertools.product(*(range(g) for g in arr.shape[:d])):
        try:
            out[cell] = normalize_psf(arr[cell])
        except InvalidPSFError as exc:
            raise InvalidPSFError(f"PSF of cell {cell}: {exc}") from None
    out.flags.writeable = False
    return out
