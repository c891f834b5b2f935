"""The blur operator and the boundary models that solvers work with.

Solvers never touch FFTs: they talk to a :class:`Convolution` (``forward``, ``adjoint``,
``solve_normal``, ``least_squares``), built on a grid by a :class:`Boundary`, which also says
how the observed image sits on that grid and how the result is cropped back.

Boundary models
---------------
``periodic``
    The image is taken as one period of a periodic scene (the classic spectral toy). Exact for
    circularly blurred data, rings at the borders of real photographs.
``reflect``
    The observation is mirrored across every face onto a grid twice its size (a whole period
    of its even extension, the Neumann boundary of DCT-based methods), so the periodic
    extension has no jump anywhere; solved periodically there and cropped.
``taper``
    The observation is mirror-padded by the PSF's half-width (to a fast FFT size) and the
    padding blended towards a blurred copy, so the periodic extension is smooth and ringing
    from the seam is damped; cheaper than ``reflect``.
``unknown``
    The physical model (Reeves 2005; Almeida & Figueiredo 2013): the observation is the *valid*
    part of a larger latent scene convolved with the PSF. The latent grid is larger by the PSF
    support and the pixels outside the observation are unknowns, so there is no wrap-around.
    A mask tells iterative solvers which pixels are observed.

References
----------
S. J. Reeves, "Fast image restoration without boundary artifacts", IEEE TIP 14(10), 2005.
M. S. C. Almeida, M. A. T. Figueiredo, "Deconvolving images with unknown boundaries using the
alternating direction method of multipliers", IEEE TIP 22(8), 2013.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import fft
from .backend import backend_of
from .errors import InvalidParameterError, InvalidPSFError
from .psf import psf_to_otf

__all__ = ["BOUNDARIES", "Boundary", "Convolution", "difference_spectrum", "frequencies"]

BOUNDARIES = ("periodic", "reflect", "taper", "unknown")


class Convolution:
    """Circular convolution with a PSF on a fixed real grid; its OTF is computed once.

    Parameters
    ----------
    psf : numpy.ndarray
        The PSF (centre at index ``n // 2`` per axis). A device array (CuPy) puts the OTF and
        every transform on that device (:mod:`unblur.backend`); ``xp`` is its array module.
    shape : sequence of int
        Grid shape; every array passed in must have it.
    dtype : dtype, optional
        float32 or float64: the precision of every transform.

    Notes
    -----
    With :math:`H` the convolution, ``forward`` is :math:`Hx`, ``adjoint`` :math:`H^\\top y`
    (correlation), ``solve_normal`` solves :math:`(H^\\top H + \\rho I + R)x = b` and
    ``least_squares`` gives :math:`(H^\\top H + R)^{-1} H^\\top y` in one forward and one inverse
    transform, where :math:`R` is a non-negative Fourier multiplier (a real array of
    ``spectrum_shape``), e.g. from :func:`difference_spectrum`.
    """

    def __init__(self, psf: np.ndarray, shape: Sequence[int], *, dtype=np.float32):
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        backend = backend_of(psf)
        self.xp = backend.xp
        if backend.is_cpu:
            self.otf = _host_otf(psf, self.shape, self.dtype)
        else:
            self.otf = _device_otf(psf, self.shape, self.dtype)
        self.psf_shape = tuple(psf.shape) if hasattr(psf, "shape") else np.shape(psf)
        self.psf = psf  # for operators on other grids (see Boundary._blurred_bands)

    @functools.cached_property
    def otf_power(self) -> np.ndarray:
        """:math:`|H(f)|^2`, real, in the grid's precision (computed on first use)."""
        return (self.otf.real**2 + self.otf.imag**2).astype(self.dtype)

    @property
    def spectrum_shape(self) -> tuple[int, ...]:
        """Shape of the half-spectrum arrays (last axis ``n // 2 + 1``)."""
        return self.otf.shape

    def _check(self, x: np.ndarray) -> None:
        if x.shape != self.shape:
            raise InvalidParameterError(f"array of shape {x.shape} given to a {self.shape} grid")

    def fft(self, x: np.ndarray) -> np.ndarray:
        """Half-spectrum of ``x`` (for solvers that build their own Fourier multipliers)."""
        self._check(x)
        return fft.rfftn(x.astype(self.dtype, copy=False))

    def ifft(self, x_hat: np.ndarray) -> np.ndarray:
        """Real array on the grid from a half-spectrum."""
        return fft.irfftn(x_hat, self.shape).astype(self.dtype, copy=False)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """:math:`Hx`: blur ``x`` (circularly on the grid)."""
        x_hat = self.fft(x)
        x_hat *= self.otf
        return self.ifft(x_hat)

    def adjoint(self, y: np.ndarray) -> np.ndarray:
        """:math:`H^\\top y`: correlate ``y`` with the PSF."""
        y_hat = self.fft(y)
        y_hat *= self.otf.conj()
        return self.ifft(y_hat)

    def apply_multiplier(self, x: np.ndarray, multiplier: np.ndarray) -> np.ndarray:
        """Multiply the spectrum of ``x`` by ``multiplier`` (half-spectrum shape)."""
        x_hat = self.fft(x)
        x_hat *= multiplier
        return self.ifft(x_hat)

    def spectrum_buffer(self) -> np.ndarray:
        """An uninitialised half-spectrum array: the scratch space of :meth:`filter_into`."""
        return np.empty_like(self.otf)

    def real_view(self, spectrum: np.ndarray) -> np.ndarray | None:
        """A grid-sized real array in ``spectrum``'s memory, or ``None`` where unsupported.

        Line ``i`` of the view starts where line ``i`` of the half-spectrum starts (a row of
        ``n`` reals inside a row of ``n // 2 + 1`` complex numbers), so :meth:`filter_into`
        can read its input from, and write its result to, the spectrum buffer itself: an
        iterative solver then needs no separate grid array for the transforms' output. Only
        for NumPy arrays with SciPy's pocketfft (which reads a line before writing it);
        ``None`` otherwise (allocate a separate array then).
        """
        if not isinstance(spectrum, np.ndarray) or fft._pocketfft() is None:
            return None
        if spectrum.shape != self.spectrum_shape or not spectrum.flags.c_contiguous:
            return None
        return spectrum.view(self.dtype)[..., : self.shape[-1]]

    def filter_into(
        self,
        x: np.ndarray,
        multiplier: np.ndarray,
        out: np.ndarray,
        spectrum: np.ndarray,
        *,
        conjugate: bool = False,
    ) -> np.ndarray:
        """:meth:`apply_multiplier` without allocating: the result goes into ``out``.

        ``spectrum`` (from :meth:`spectrum_buffer`) is overwritten; ``out`` may be ``x``, and
        either may be :meth:`real_view` of ``spectrum``. For iterative solvers, whose working
        set is then a fixed set of preallocated arrays. ``conjugate=True`` multiplies by the
        complex conjugate of ``multiplier`` (``otf`` gives the adjoint :math:`H^\\top`) without
        storing it: :math:`\\hat x \\bar m = \\overline{\\bar{\\hat x}\\, m}`, two sign flips.
        """
        fft.rfftn_into(x, spectrum)
        if conjugate:
            np.conjugate(spectrum, out=spectrum)
            np.multiply(spectrum, multiplier, out=spectrum)
            np.conjugate(spectrum, out=spectrum)
        else:
            np.multiply(spectrum, multiplier, out=spectrum)
        return fft.irfftn_into(spectrum, out)

    def fft_into(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """:meth:`fft` written into ``out`` (from :meth:`spectrum_buffer`)."""
        return fft.rfftn_into(x, out)

    def ifft_into(self, x_hat: np.ndarray, out: np.ndarray) -> np.ndarray:
        """:meth:`ifft` written into the grid-sized ``out``; ``x_hat`` is overwritten."""
        return fft.irfftn_into(x_hat, out)

    def solve_normal(
        self, rhs: np.ndarray, rho: float = 0.0, regularizer: np.ndarray | float = 0.0
    ) -> np.ndarray:
        """Solve :math:`(H^\\top H + \\rho I + R) x = b` exactly (diagonal in Fourier)."""
        denom = self.otf_power + (rho + regularizer)
        return self.apply_multiplier(rhs, 1.0 / np.maximum(denom, np.finfo(self.dtype).tiny))

    def least_squares(
        self,
        y: np.ndarray | None,
        regularizer: np.ndarray | float,
        *,
        y_hat: np.ndarray | None = None,
    ) -> np.ndarray:
        """Regularised least squares :math:`(H^\\top H + R)^{-1} H^\\top y` (Wiener/Tikhonov).

        Pass ``y_hat`` (the spectrum of ``y`` from :meth:`fft`) instead of ``y`` when it is
        already at hand: the solve then costs a single inverse transform.
        """
        if y_hat is None:
            y_hat = self.fft(y)
        denom = self.otf_power + regularizer
        gain = self.otf.conj() / np.maximum(denom, np.finfo(self.dtype).tiny)
        return self.ifft(y_hat * gain.astype(self.otf.dtype, copy=False))


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


def _host_otf(psf: np.ndarray, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """:func:`~unblur.psf.psf_to_otf` by a pruned transform (:func:`unblur.fft.rfftn_support`):
    about half the cost of a full one for a PSF much smaller than the grid."""
    psf = np.asarray(psf)
    if psf.ndim != len(shape) or any(p > n for p, n in zip(psf.shape, shape, strict=True)):
        return psf_to_otf(psf, shape, dtype=dtype)  # raises its InvalidPSFError
    return fft.rfftn_support(psf.astype(dtype, copy=False), shape, [-(p // 2) for p in psf.shape])


def _device_otf(psf, shape: tuple[int, ...], dtype: np.dtype):
    """:func:`~unblur.psf.psf_to_otf` for a PSF on a device: padded, rolled, transformed there."""
    xp = backend_of(psf).xp
    if psf.ndim != len(shape) or any(p > n for p, n in zip(psf.shape, shape, strict=True)):
        raise InvalidPSFError(f"PSF of shape {psf.shape} does not fit the grid {shape}")
    padded = xp.zeros(shape, dtype=dtype)
    padded[tuple(slice(0, p) for p in psf.shape)] = psf
    padded = xp.roll(padded, [-(p // 2) for p in psf.shape], axis=tuple(range(len(shape))))
    return fft.rfftn(padded)


@dataclass(frozen=True)
class Boundary:
    """How an observed image of ``image_shape`` sits on the grid a solver works on.

    Build it with :meth:`Boundary.create`; then ``extend`` maps the observation onto the grid,
    ``crop`` maps a grid-sized estimate back, ``mask`` (``unknown`` only) marks the observed
    grid pixels, and ``operator`` is the :class:`Convolution` on the grid.
    """

    mode: str
    image_shape: tuple[int, ...]
    grid_shape: tuple[int, ...]
    offset: tuple[int, ...]
    operator: Convolution

    @classmethod
    def create(
        cls,
        mode: str,
        image_shape: Sequence[int],
        psf: np.ndarray,
        *,
        dtype=np.float32,
    ) -> Boundary:
        """Set up the grid for boundary ``mode`` (one of :data:`BOUNDARIES`)."""
        if mode not in BOUNDARIES:
            raise InvalidParameterError(
                f"unknown boundary {mode!r}; choose one of {', '.join(BOUNDARIES)}"
            )
        image_shape = tuple(int(n) for n in image_shape)
        if backend_of(psf).is_cpu:
            psf = np.asarray(psf)
        if psf.ndim != len(image_shape):
            raise InvalidPSFError(
                f"PSF has {psf.ndim} dimensions but the image has {len(image_shape)}"
            )
        if any(p > n for p, n in zip(psf.shape, image_shape, strict=True)):
            raise InvalidPSFError(
                f"PSF of shape {psf.shape} is larger than the image {image_shape}"
            )
        if mode == "periodic":
            grid, offset = image_shape, (0,) * len(image_shape)
        elif mode == "unknown":
            grid = fft.fast_shape([n + p - 1 for n, p in zip(image_shape, psf.shape, strict=True)])
            offset = tuple(p // 2 for p in psf.shape)
        elif mode == "reflect":  # a whole period of the even extension: no seam at all
            grid = tuple(2 * n for n in image_shape)
            offset = tuple(n // 2 for n in image_shape)
        else:  # taper: pad by the PSF's half-width on each side, then to a fast size
            grid = fft.fast_shape(
                [n + 2 * (p // 2) for n, p in zip(image_shape, psf.shape, strict=True)]
            )
            offset = tuple((g - n) // 2 for g, n in zip(grid, image_shape, strict=True))
        return cls(mode, image_shape, tuple(grid), offset, Convolution(psf, grid, dtype=dtype))

    @property
    def region(self) -> tuple[slice, ...]:
        """Slices of the grid that hold the observed image."""
        return tuple(slice(o, o + n) for o, n in zip(self.offset, self.image_shape, strict=True))

    @property
    def mask(self) -> np.ndarray | None:
        """Boolean grid of observed pixels for ``unknown``; ``None`` when all are observed."""
        if self.mode != "unknown":
            return None
        m = self.operator.xp.zeros(self.grid_shape, dtype=bool)
        m[self.region] = True
        return m

    def crop(self, x: np.ndarray) -> np.ndarray:
        """The part of a grid-sized array that corresponds to the observed image."""
        return x[self.region]

    def extend(self, image: np.ndarray) -> np.ndarray:
        """Place ``image`` on the grid: padded by reflection (tapered for ``taper``).

        For ``unknown`` the padding is a starting guess for the unobserved scene, not data.
        """
        if self.mode == "periodic":
            return image
        pad = [
            (o, g - n - o)
            for o, g, n in zip(self.offset, self.grid_shape, self.image_shape, strict=True)
        ]
        padded = _pad_reflect(image, pad)
        if self.mode == "taper":
            padded = self._taper(padded)
        return padded.astype(image.dtype, copy=False)

    def _taper(self, padded: np.ndarray) -> np.ndarray:
        """Blend the padded band towards its blurred self so the periodic seam is smooth.

        Inside the observed region the weight is one; across the padding it falls smoothly
        (raised cosine) to zero at the grid edge, where the blurred copy takes over. The
        weight is the product of one such profile per axis. Only the padding is touched (in
        place: ``padded`` is overwritten), slab by slab, and its blur comes from thin strips
        (:meth:`_band_blurs`), not from a transform of the whole grid.
        """
        xp = self.operator.xp
        profiles = []
        for o, n, g in zip(self.offset, self.image_shape, self.grid_shape, strict=True):
            w = np.ones(g, dtype=padded.dtype)  # host; moved to padded's device per slab
            left, right = o, g - n - o
            if left:
                w[:left] = 0.5 - 0.5 * np.cos(np.pi * (np.arange(left) + 0.5) / left)
            if right:
                w[g - right :] = 0.5 + 0.5 * np.cos(np.pi * (np.arange(right) + 0.5) / right)
            profiles.append(w)
        region = self.region
        for ax, band in list(self._band_blurs(padded)):  # every strip before any write
            o, n, g = self.offset[ax], self.image_shape[ax], self.grid_shape[ax]
            first = g - (o + n)  # band positions o + n .. g - 1, then 0 .. o - 1
            for dest, src in (
                (slice(o + n, g), slice(0, first)),
                (slice(0, o), slice(first, None)),
            ):
                # this axis's band, within the region along the axes before (no overlap)
                slab = (*region[:ax], dest)
                target = padded[slab]
                if target.size == 0:
                    continue
                weight = np.ones(target.shape, dtype=padded.dtype)
                for a, w in enumerate(profiles):
                    sel = slab[a] if a <= ax else slice(None)
                    shape = [1] * padded.ndim
                    shape[a] = target.shape[a]
                    weight = weight * w[sel].reshape(shape)
                weight = xp.asarray(weight)
                blurred = band[(*region[:ax], src)]
                target[...] = weight * target + (1 - weight) * blurred
        return padded

    def _blurred_bands(self, padded: np.ndarray) -> np.ndarray:
        """``H padded`` on the padding bands (the taper's blend zone), ``padded`` elsewhere."""
        out = padded.copy()
        for ax, band in self._band_blurs(padded):
            o, n, g = self.offset[ax], self.image_shape[ax], self.grid_shape[ax]
            first = g - (o + n)
            out[_axis_index(ax, slice(o + n, g))] = band[_axis_index(ax, slice(0, first))]
            out[_axis_index(ax, slice(0, o))] = band[_axis_index(ax, slice(first, None))]
        return out

    def _band_blurs(self, padded: np.ndarray):
        """``(ax, H padded)`` on the padding band of each axis, positions ``o + n, ..., o - 1``.

        Blurring the whole grid would cost a forward and an inverse transform of it; the bands
        need only thin strips. Along axis ``ax`` the band (grid positions outside the observed
        slab) is cyclically contiguous, so its circular convolution reads a strip wider by the
        PSF's support minus one; that strip (full extent along the other axes, which stay
        periodic) is convolved on a grid zero-padded along ``ax`` to a fast length, where the
        band's outputs see no wrap-around. The result equals the full blur there up to
        rounding, at a few per cent of its cost for small PSFs.
        """
        op = self.operator
        psf = op.psf
        xp = op.xp
        for ax, (o, n, g) in enumerate(
            zip(self.offset, self.image_shape, self.grid_shape, strict=True)
        ):
            width = g - n
            if width == 0:
                continue
            p = psf.shape[ax]
            before = p - 1 - p // 2  # (H x)[j] reads x[j - before : j + p // 2 + 1]
            idx = np.arange(o + n - before, o + g + p // 2) % g
            strip = xp.take(padded, xp.asarray(idx), axis=ax)
            shape = list(self.grid_shape)
            shape[ax] = fft.fast_shape([strip.shape[ax]])[0]
            blurred = Convolution(psf, shape, dtype=op.dtype).forward(_pad_end(strip, ax, shape))
            yield ax, blurred[_axis_index(ax, slice(before, before + width))]


def _axis_index(ax: int, sl: slice) -> tuple[slice, ...]:
    """Index that applies ``sl`` along axis ``ax`` (and everything along the axes before)."""
    return (slice(None),) * ax + (sl,)


def _pad_end(x: np.ndarray, ax: int, shape: Sequence[int]) -> np.ndarray:
    """``x`` zero-padded at the end of axis ``ax`` to ``shape``."""
    widths = [(0, 0)] * x.ndim
    widths[ax] = (0, shape[ax] - x.shape[ax])
    return np.pad(x, widths) if widths[ax][1] else x


def _pad_reflect(image: np.ndarray, pad: list[tuple[int, int]]) -> np.ndarray:
    """Mirror padding that also works when the pad is wider than the image (repeats the mirror).

    The even extension (edge sample repeated, period twice the size): :func:`numpy.pad` with
    ``mode="symmetric"``, which copies slabs (a gather along the last axis is several times
    slower) and dispatches to the array's backend.
    """
    return np.pad(image, pad, mode="symmetric")
