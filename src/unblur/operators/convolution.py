"""The blur operator: circular convolution with a PSF on a fixed real grid, its OTF cached.

Solvers never touch FFTs: they talk to a :class:`Convolution` (``forward``, ``adjoint``,
``solve_normal``, ``least_squares`` and the allocation-free ``filter_into``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from .. import fft
from ..backend import backend_of
from ..errors import InvalidParameterError, InvalidPSFError
from ..psf import psf_to_otf

__all__ = ["Convolution"]


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

    The interface that every blur operator offers (a spatially varying
    :class:`~unblur.operators.FieldConvolution` too) is ``forward``, ``adjoint``,
    ``forward_into``, ``adjoint_into``, ``norm_squared_bound``, the transforms of the grid
    (``fft``, ``ifft``, ``apply_multiplier``, ``spectrum_buffer``, ``real_view``) and
    ``diagonal``: True here, where the operator is diagonal in Fourier (``otf``,
    ``solve_normal``, ``least_squares`` exist).
    """

    #: diagonal in Fourier: an OTF and exact direct solves exist
    diagonal = True

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

    @functools.cached_property
    def norm_squared_bound(self) -> float:
        """:math:`\\|H\\|_2^2 = \\max_f |H(f)|^2` (exact; 1 for a non-negative PSF): the
        step-size bound of gradient methods (computed on first use)."""
        return float(self.otf_power.max())

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

    def forward_into(self, x: np.ndarray, out: np.ndarray, spectrum: np.ndarray) -> np.ndarray:
        """:meth:`forward` into ``out`` (which may be ``x``), ``spectrum`` the scratch."""
        return self.filter_into(x, self.otf, out, spectrum)

    def adjoint_into(self, y: np.ndarray, out: np.ndarray, spectrum: np.ndarray) -> np.ndarray:
        """:meth:`adjoint` into ``out`` (which may be ``y``), ``spectrum`` the scratch."""
        return self.filter_into(y, self.otf, out, spectrum, conjugate=True)

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
