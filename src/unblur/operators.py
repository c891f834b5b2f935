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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import fft
from .errors import InvalidParameterError, InvalidPSFError
from .psf import psf_to_otf

__all__ = ["BOUNDARIES", "Boundary", "Convolution", "difference_spectrum", "frequencies"]

BOUNDARIES = ("periodic", "reflect", "taper", "unknown")


class Convolution:
    """Circular convolution with a PSF on a fixed real grid; its OTF is computed once.

    Parameters
    ----------
    psf : numpy.ndarray
        The PSF (centre at index ``n // 2`` per axis).
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
        self.otf = psf_to_otf(psf, self.shape, dtype=self.dtype)
        self.otf_power = (self.otf.real**2 + self.otf.imag**2).astype(self.dtype)
        self.psf_shape = tuple(np.shape(psf))

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


def frequencies(shape: Sequence[int]) -> list[np.ndarray]:
    """Per-axis frequencies (cycles per pixel) on the half-spectrum of a real grid.

    One broadcastable array per axis; the last axis holds the non-negative frequencies of
    :func:`numpy.fft.rfftfreq`, the others those of :func:`numpy.fft.fftfreq`.
    """
    out = []
    for ax, n in enumerate(shape):
        f = np.fft.rfftfreq(n) if ax == len(shape) - 1 else np.fft.fftfreq(n)
        expand = [np.newaxis] * len(shape)
        expand[ax] = slice(None)
        out.append(f[tuple(expand)])
    return out


def difference_spectrum(shape: Sequence[int], order: int = 1, dtype=np.float64) -> np.ndarray:
    """Fourier multiplier of a difference regulariser on a periodic grid of ``shape``.

    ``order=1`` gives :math:`\\sum_i |D_i|^2` for the forward differences along each axis
    (the gradient energy); ``order=2`` gives :math:`|L|^2` for the discrete Laplacian.
    ``order=0`` is the identity (all ones).
    """
    freqs = frequencies([int(n) for n in shape])
    # |1 - exp(-2πif)|² = 4 sin²(πf)
    grad = sum((4 * np.sin(np.pi * f) ** 2) for f in freqs)
    if order == 0:
        return np.ones(np.broadcast(*freqs).shape, dtype=dtype)
    if order == 1:
        return np.asarray(grad, dtype=dtype)
    if order == 2:
        return np.asarray(grad**2, dtype=dtype)
    raise InvalidParameterError(f"order must be 0, 1 or 2, got {order}")


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
        m = np.zeros(self.grid_shape, dtype=bool)
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
        (raised cosine) to zero at the grid edge, where the blurred copy takes over.
        """
        blurred = self.operator.forward(padded)
        weight = np.ones(self.grid_shape, dtype=padded.dtype)
        for ax, (o, n, g) in enumerate(
            zip(self.offset, self.image_shape, self.grid_shape, strict=True)
        ):
            w = np.ones(g, dtype=padded.dtype)
            left, right = o, g - n - o
            if left:
                w[:left] = 0.5 - 0.5 * np.cos(np.pi * (np.arange(left) + 0.5) / left)
            if right:
                w[g - right :] = 0.5 + 0.5 * np.cos(np.pi * (np.arange(right) + 0.5) / right)
            shape = [1] * len(self.grid_shape)
            shape[ax] = g
            weight = weight * w.reshape(shape)
        return weight * padded + (1 - weight) * blurred


def _pad_reflect(image: np.ndarray, pad: list[tuple[int, int]]) -> np.ndarray:
    """Mirror padding that also works when the pad is wider than the image (repeats the mirror)."""
    out = image
    for ax, (before, after) in enumerate(pad):
        n = out.shape[ax]
        if n == 1:
            widths = [(0, 0)] * out.ndim
            widths[ax] = (before, after)
            out = np.pad(out, widths, mode="edge")
            continue
        idx = np.arange(-before, n + after)
        period = 2 * n
        idx = np.mod(idx, period)
        idx = np.where(idx >= n, period - 1 - idx, idx)
        out = np.take(out, idx, axis=ax)
    return out
