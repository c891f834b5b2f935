"""The boundary models: how an observed image sits on the grid a solver works on.

A :class:`Boundary` builds the :class:`~unblur.operators.Convolution` on its grid, places the
observation on it (``extend``), marks the observed pixels (``mask``) and crops the result back.

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
from typing import TYPE_CHECKING

import numpy as np

from .. import fft
from ..backend import backend_of
from ..errors import InvalidParameterError, InvalidPSFError
from .convolution import Convolution

if TYPE_CHECKING:
    from .field import FieldConvolution

__all__ = ["BOUNDARIES", "Boundary"]

BOUNDARIES = ("periodic", "reflect", "taper", "unknown")


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
    operator: Convolution | FieldConvolution

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
        grid, offset = cls.layout(mode, image_shape, psf.shape)
        return cls(mode, image_shape, grid, offset, Convolution(psf, grid, dtype=dtype))

    @staticmethod
    def layout(
        mode: str, image_shape: Sequence[int], psf_shape: Sequence[int]
    ) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """``(grid_shape, offset)`` of boundary ``mode`` for an image and a PSF shape."""
        if mode not in BOUNDARIES:
            raise InvalidParameterError(
                f"unknown boundary {mode!r}; choose one of {', '.join(BOUNDARIES)}"
            )
        image_shape = tuple(int(n) for n in image_shape)
        psf_shape = tuple(int(p) for p in psf_shape)
        if mode == "periodic":
            grid, offset = image_shape, (0,) * len(image_shape)
        elif mode == "unknown":
            grid = fft.fast_shape([n + p - 1 for n, p in zip(image_shape, psf_shape, strict=True)])
            offset = tuple(p // 2 for p in psf_shape)
        elif mode == "reflect":  # a whole period of the even extension: no seam at all
            grid = tuple(2 * n for n in image_shape)
            offset = tuple(n // 2 for n in image_shape)
        else:  # taper: pad by the PSF's half-width on each side, then to a fast size
            grid = fft.fast_shape(
                [n + 2 * (p // 2) for n, p in zip(image_shape, psf_shape, strict=True)]
            )
            offset = tuple((g - n) // 2 for g, n in zip(grid, image_shape, strict=True))
        return tuple(int(g) for g in grid), tuple(int(o) for o in offset)

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
