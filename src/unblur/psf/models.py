"""Analytic PSF models: Gaussian, straight-line motion, defocus disk, Airy, Moffat."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.special

from .._checks import check_int, check_number
from .._checks import normalize_psf as normalize
from ..errors import InvalidParameterError
from ._core import (
    MAX_NDIM,
    _bin,
    _grid,
    _odd,
    _oversample,
    _radial_2d,
    _size_tuple,
    _trim,
    check_angle,
)

__all__ = ["airy", "disk", "gaussian", "moffat", "motion"]

#: Smallest standard deviation used: a narrower Gaussian samples to the same delta.
_MIN_SIGMA = 1e-3
#: Longest motion blur, in pixels.
MAX_MOTION_LENGTH = 1e6
#: Largest Moffat index (the profile is then a Gaussian to within 1e-4).
MAX_MOFFAT_BETA = 1e4


def gaussian(
    sigma: float | Sequence[float],
    *,
    angle: float = 0.0,
    size: int | Sequence[int] | None = None,
    ndim: int | None = None,
    truncate: float = 4.0,
) -> np.ndarray:
    r"""Gaussian PSF, isotropic or elliptical, in any number of dimensions.

    .. math:: k(\mathbf{r}) \propto \exp\left(-\tfrac12 \mathbf{r}^\top \Sigma^{-1}\mathbf{r}\right)

    sampled at pixel centres and normalised to sum to one.

    Parameters
    ----------
    sigma : float or sequence of float
        Standard deviation in pixels; one value (isotropic) or one per axis (rows, cols, ...).
    angle : float, optional
        For 2-D elliptical Gaussians, rotation in degrees of the ellipse, counter-clockwise:
        ``sigma=(sy, sx), angle=θ`` turns the x axis of the ellipse by θ.
    size : int or sequence of int, optional
        Odd side length(s). Default: ``2 * ceil(truncate * σ_max) + 1``.
    ndim : int, optional
        Number of dimensions for a scalar ``sigma`` (default 2).
    truncate : float, optional
        Default half-width in standard deviations.

    Returns
    -------
    numpy.ndarray
        The PSF, float64, summing to one.

    Notes
    -----
    A popular blog recipe builds the kernel as ``exp(-(x**2 + y**2) / radius)``. That is this
    Gaussian with ``sigma = sqrt(radius / 2)``: for example ``radius=8`` is ``sigma=2``.

    Examples
    --------
    >>> k = gaussian(2.0)
    >>> k.shape
    (17, 17)
    >>> gaussian((1.0, 3.0), angle=45).shape
    (19, 19)
    """
    if ndim is not None:
        ndim = check_int("ndim", ndim)
        if ndim > MAX_NDIM:
            raise InvalidParameterError(f"ndim must be at most {MAX_NDIM}, got {ndim}")
    try:
        sig = np.atleast_1d(np.asarray(sigma))
        if sig.dtype.kind not in "iuf":
            raise TypeError
        sig = sig.astype(np.float64)
    except (TypeError, ValueError, OverflowError):
        raise InvalidParameterError(
            f"sigma must be a number or a sequence of numbers, got {sigma!r}"
        ) from None
    if sig.ndim != 1 or sig.size == 0 or sig.size > MAX_NDIM:
        raise InvalidParameterError(f"sigma must be a number or a sequence, got {sigma!r}")
    if sig.size == 1:
        sig = np.repeat(sig, 2 if ndim is None else ndim)
    elif ndim is not None and ndim != sig.size:
        raise InvalidParameterError(f"sigma has {sig.size} entries but ndim={ndim}")
    for s in sig:
        check_number("sigma", s)
    # a narrower Gaussian samples to the same delta (exp(-0.5 / 1e-6) is 0 in float64), and
    # its precision matrix would overflow
    sig = np.maximum(sig, _MIN_SIGMA)
    truncate = check_number("truncate", truncate)
    angle = check_angle(angle)
    d = sig.size
    if angle and d != 2:
        raise InvalidParameterError("angle applies to 2-D Gaussians only")
    theta = math.radians(angle)
    with np.errstate(over="ignore"):  # sigma near 1e308: infinite, refused by _odd below
        cov = np.diag(sig**2)
    if d == 2 and angle:
        # rotation in (row, col) coordinates for a counter-clockwise turn as displayed
        rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
        cov = rot @ cov @ rot.T
    half = truncate * np.sqrt(np.diag(cov))
    shape = _size_tuple(size, [_odd(h) for h in half])
    coords = _grid(shape)
    prec = np.linalg.inv(cov)
    q = sum(prec[i, j] * coords[i] * coords[j] for i in range(d) for j in range(d))
    return normalize(np.exp(-0.5 * q))


def motion(
    length: float,
    angle: float = 0.0,
    *,
    size: int | Sequence[int] | None = None,
) -> np.ndarray:
    """Straight-line motion blur, anti-aliased, at any angle.

    The PSF is a uniform line segment of ``length`` pixels centred on the central pixel, drawn
    with sub-pixel accuracy: the segment is sampled densely (eight samples per pixel) and each
    sample's weight is shared bilinearly among its four neighbouring pixels. The result is
    symmetric about the centre pixel at every angle; its second moment along the line is
    ``length**2 / 12 + 1/6`` (segment plus the bilinear footprint).

    Parameters
    ----------
    length : float
        Length of the motion in pixels (>= 1; ``length=1`` is the identity).
    angle : float, optional
        Direction in degrees, counter-clockwise from the x axis (0: horizontal, 90: vertical).
    size : int or (int, int), optional
        Odd side lengths; default just covers the segment.

    Returns
    -------
    numpy.ndarray
        2-D PSF, float64, summing to one, symmetric about its centre.

    Examples
    --------
    >>> k = motion(9, angle=0)
    >>> k.shape
    (1, 11)
    """
    length = check_number("length", length)
    if not 1 <= length <= MAX_MOTION_LENGTH:
        raise InvalidParameterError(
            f"length must be between 1 and {MAX_MOTION_LENGTH:g} pixels, got {length}"
        )
    theta = math.radians(check_angle(angle))
    dy, dx = -math.sin(theta), math.cos(theta)  # rows grow downwards
    half = length / 2
    shape = _size_tuple(size, [_odd(abs(half * dy) + 1), _odd(abs(half * dx) + 1)])
    n_samples = max(2, math.ceil(8 * length))
    # only the samples within a pixel of the box (the others add nothing): a long motion in
    # a small explicit ``size`` costs the box, not the length
    reach = [half] + [
        ((n - 1) / 2 + 1) / abs(d) for n, d in zip(shape, (dy, dx), strict=True) if abs(d) > 1e-12
    ]
    t_max = min(reach) / half
    first = max(0, math.floor((n_samples * (1 - t_max) - 1) / 2))
    last = min(n_samples - 1, math.ceil((n_samples * (1 + t_max) - 1) / 2))
    t = (np.arange(first, last + 1) + 0.5) / n_samples * 2 - 1  # symmetric in (-1, 1)
    rows = (shape[0] - 1) / 2 + t * half * dy
    cols = (shape[1] - 1) / 2 + t * half * dx
    k = np.zeros(shape)
    r0 = np.floor(rows).astype(int)
    c0 = np.floor(cols).astype(int)
    fr = rows - r0
    fc = cols - c0
    for ddr, wr in ((0, 1 - fr), (1, fr)):
        for ddc, wc in ((0, 1 - fc), (1, fc)):
            r = r0 + ddr
            c = c0 + ddc
            inside = (r >= 0) & (r < shape[0]) & (c >= 0) & (c < shape[1])
            np.add.at(k, (r[inside], c[inside]), (wr * wc)[inside])
    return normalize(k if size is not None else _trim(k, 1e-9))


def disk(
    radius: float, *, size: int | Sequence[int] | None = None, oversample: int = 8
) -> np.ndarray:
    """Uniform disk (out-of-focus blur) with anti-aliased edge.

    Each pixel's value is the fraction of its area inside the circle of ``radius`` pixels,
    measured on an ``oversample`` x ``oversample`` sub-grid.

    Parameters
    ----------
    radius : float
        Radius of the circle of confusion, in pixels.
    size : int or (int, int), optional
        Odd side lengths; default ``2 * ceil(radius) + 1``.
    oversample : int, optional
        Sub-samples per pixel and axis for the edge coverage.
        Lowered for very large PSFs (at most ``MAX_SAMPLES`` = 2**24 sub-samples).

    Examples
    --------
    >>> disk(4).shape
    (9, 9)
    """
    radius = check_number("radius", radius)
    shape = _size_tuple(size, [_odd(radius)] * 2)
    oversample = _oversample(shape, oversample)
    r = _radial_2d(shape, oversample)
    inside = (r <= radius).astype(np.float64)
    k = _bin(inside, oversample)
    if k.sum() == 0:  # radius far below a pixel: a delta
        k[shape[0] // 2, shape[1] // 2] = 1.0
    return normalize(k)


_AIRY_FIRST_ZERO = 3.8317059702075125  # first zero of the Bessel function J1


def airy(
    radius: float,
    *,
    size: int | Sequence[int] | None = None,
    rings: int = 4,
    oversample: int = 4,
) -> np.ndarray:
    r"""Airy pattern, the diffraction-limited PSF of a circular aperture.

    .. math:: k(r) \propto \left(\frac{2 J_1(v)}{v}\right)^2, \quad v = 3.8317\, r / r_0

    where :math:`r_0` = ``radius`` is the radius of the first dark ring, in pixels
    (:math:`r_0 = 1.22\,\lambda N` for wavelength λ and f-number N, divided by pixel pitch).

    Parameters
    ----------
    radius : float
        Radius of the first dark ring in pixels.
    size : int or (int, int), optional
        Odd side lengths; default covers ``rings`` dark rings.
    rings : int, optional
        Number of rings covered by the default size.
    oversample : int, optional
        Sub-samples per pixel and axis (integrates the pattern over each pixel).
        Lowered for very large PSFs (at most ``MAX_SAMPLES`` = 2**24 sub-samples).

    Examples
    --------
    >>> airy(2.0).shape
    (15, 15)
    """
    radius = check_number("radius", radius)
    rings = check_int("rings", rings)
    # zeros of J1 are spaced by about pi: ring m sits near (m + 0.22) * pi
    half = radius * (rings + 0.25) * math.pi / _AIRY_FIRST_ZERO
    shape = _size_tuple(size, [_odd(half)] * 2)
    oversample = _oversample(shape, oversample)
    v = _radial_2d(shape, oversample) * (_AIRY_FIRST_ZERO / radius)
    with np.errstate(invalid="ignore", divide="ignore"):
        amp = np.where(v > 1e-12, 2 * scipy.special.j1(v) / v, 1.0)
    return normalize(_bin(amp**2, oversample))


def moffat(
    alpha: float | None = None,
    beta: float = 2.5,
    *,
    fwhm: float | None = None,
    size: int | Sequence[int] | None = None,
    oversample: int = 4,
) -> np.ndarray:
    r"""Moffat profile, the usual model of seeing-limited stars in astronomy.

    .. math:: k(r) \propto \left(1 + (r/\alpha)^2\right)^{-\beta}, \quad
              \mathrm{FWHM} = 2\alpha\sqrt{2^{1/\beta} - 1}

    (Moffat 1969, A&A 3, 455). Give either the core width ``alpha`` or the ``fwhm``.

    Parameters
    ----------
    alpha : float, optional
        Core width in pixels.
    beta : float, optional
        Power-law index (> 1); seeing is typically 2.5-4.765. Large β approaches a Gaussian.
    fwhm : float, optional
        Full width at half maximum in pixels, instead of ``alpha``.
    size : int or (int, int), optional
        Odd side lengths; default reaches 1/1000 of the peak (at most 10 FWHM).
    oversample : int, optional
        Sub-samples per pixel and axis.
        Lowered for very large PSFs (at most ``MAX_SAMPLES`` = 2**24 sub-samples).

    Examples
    --------
    >>> moffat(fwhm=4.0).shape[0] > 9
    True
    """
    beta = check_number("beta", beta)
    if beta <= 1:
        raise InvalidParameterError(f"beta must be > 1 for a finite-energy Moffat, got {beta}")
    if beta > MAX_MOFFAT_BETA:
        raise InvalidParameterError(
            f"beta must be at most {MAX_MOFFAT_BETA:g} (larger values are a Gaussian: use "
            f"gaussian), got {beta:g}"
        )
    if (alpha is None) == (fwhm is None):
        raise InvalidParameterError("give exactly one of alpha and fwhm")
    if fwhm is not None:
        alpha = check_number("fwhm", fwhm) / (2 * math.sqrt(2 ** (1 / beta) - 1))
    alpha = check_number("alpha", alpha)
    width = 2 * alpha * math.sqrt(2 ** (1 / beta) - 1)
    half = min(alpha * math.sqrt(1000 ** (1 / beta) - 1), 5 * width)
    shape = _size_tuple(size, [_odd(max(half, 1.0))] * 2)
    oversample = _oversample(shape, oversample)
    r = _radial_2d(shape, oversample)
    return normalize(_bin((1 + (r / alpha) ** 2) ** (-beta), oversample))
