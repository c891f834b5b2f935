"""Point spread function (PSF) models and PSF <-> OTF conversion.

Every model returns a non-negative float64 array that sums to one, has odd side lengths and
its centroid on the central pixel (index ``n // 2`` on each axis), sized from its parameters
unless ``size`` is given. Angles are in degrees, counter-clockwise from the image's x axis
(columns to the right, rows downwards, as an image is displayed).

Examples
--------
>>> from unblur import psf
>>> k = psf.motion(length=21, angle=30)
>>> round(float(k.sum()), 12)
1.0
>>> psf.parse_spec("gaussian:sigma=2.5").shape
(21, 21)
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.special

from . import fft
from .errors import InvalidParameterError, InvalidPSFError

__all__ = [
    "MODELS",
    "airy",
    "centroid",
    "disk",
    "from_array",
    "from_file",
    "gaussian",
    "moffat",
    "motion",
    "normalize",
    "otf_to_psf",
    "parse_spec",
    "psf_to_otf",
]

#: Largest side length a model builds by default (a guard against absurd parameters).
MAX_SIZE = 4097


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise InvalidParameterError(f"{name} must be finite and {bound}, got {value}")
    return value


def _size_tuple(size: int | Sequence[int] | None, default: Sequence[int]) -> tuple[int, ...]:
    """Odd side lengths from ``size`` (int or per-axis), or ``default`` when None."""
    if size is None:
        shape = tuple(int(n) for n in default)
        if max(shape) > MAX_SIZE:
            raise InvalidParameterError(
                f"PSF would be {shape} pixels; parameters too large (max side {MAX_SIZE})"
            )
        return shape
    sizes = (size,) * len(default) if np.isscalar(size) else tuple(size)
    if len(sizes) != len(default):
        raise InvalidParameterError(f"size must have {len(default)} entries, got {size!r}")
    out = []
    for n in sizes:
        if int(n) != n or n < 1:
            raise InvalidParameterError(f"size must be positive integers, got {size!r}")
        if n % 2 == 0:
            raise InvalidParameterError(f"size must be odd so the PSF has a centre, got {size!r}")
        out.append(int(n))
    return tuple(out)


def _odd(half_extent: float) -> int:
    """Odd side length covering ``[-half_extent, half_extent]`` around the centre pixel."""
    return 2 * math.ceil(half_extent) + 1


def _grid(shape: Sequence[int], oversample: int = 1) -> list[np.ndarray]:
    """Coordinates (rows, cols, ...) relative to the centre, optionally sub-pixel sampled."""
    axes = []
    for n in shape:
        c = (n - 1) / 2
        if oversample == 1:
            axes.append(np.arange(n) - c)
        else:
            sub = (np.arange(oversample) + 0.5) / oversample - 0.5
            axes.append((np.arange(n)[:, None] + sub[None, :]).ravel() - c)
    return np.meshgrid(*axes, indexing="ij", sparse=True)


def _bin(values: np.ndarray, oversample: int) -> np.ndarray:
    """Average ``oversample``-sized blocks of a super-sampled 2-D array back to pixels."""
    if oversample == 1:
        return values
    h, w = values.shape
    return values.reshape(h // oversample, oversample, w // oversample, oversample).mean((1, 3))


def _radial_2d(shape: Sequence[int], oversample: int) -> np.ndarray:
    y, x = _grid(shape, oversample)
    return np.hypot(y, x)


def normalize(kernel: np.ndarray) -> np.ndarray:
    """Return ``kernel`` as float64 divided by its sum, after checking it can be a PSF.

    Raises
    ------
    InvalidPSFError
        If the kernel is empty, not finite, has negative values or a sum that is not positive.
    """
    k = np.asarray(kernel)
    if k.size == 0:
        raise InvalidPSFError("PSF is empty")
    if not np.issubdtype(k.dtype, np.number) or np.iscomplexobj(k):
        raise InvalidPSFError(f"PSF must be a real numeric array, got dtype {k.dtype}")
    k = k.astype(np.float64)
    if not np.all(np.isfinite(k)):
        raise InvalidPSFError("PSF contains NaN or infinite values")
    if k.min() < 0:
        raise InvalidPSFError(f"PSF has negative values (min {k.min():.3g}); a PSF must be >= 0")
    total = k.sum()
    if not total > 0:
        raise InvalidPSFError("PSF sums to zero; it must have a positive sum")
    return k / total


def centroid(kernel: np.ndarray) -> np.ndarray:
    """Centre of mass of ``kernel`` in pixel indices, one entry per axis."""
    k = np.asarray(kernel, dtype=np.float64)
    total = k.sum()
    return np.array(
        [
            (k.sum(axis=tuple(a for a in range(k.ndim) if a != ax)) * np.arange(n)).sum() / total
            for ax, n in enumerate(k.shape)
        ]
    )


# --------------------------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------------------------
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
    sig = np.atleast_1d(np.asarray(sigma, dtype=np.float64))
    if sig.ndim != 1 or sig.size == 0:
        raise InvalidParameterError(f"sigma must be a number or a sequence, got {sigma!r}")
    if sig.size == 1:
        sig = np.repeat(sig, 2 if ndim is None else int(ndim))
    elif ndim is not None and ndim != sig.size:
        raise InvalidParameterError(f"sigma has {sig.size} entries but ndim={ndim}")
    for s in sig:
        _positive("sigma", s)
    d = sig.size
    if angle and d != 2:
        raise InvalidParameterError("angle applies to 2-D Gaussians only")
    theta = math.radians(float(angle))
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
    length = _positive("length", length)
    if length < 1:
        raise InvalidParameterError(f"length must be >= 1 pixel, got {length}")
    theta = math.radians(float(angle))
    dy, dx = -math.sin(theta), math.cos(theta)  # rows grow downwards
    half = length / 2
    shape = _size_tuple(size, [_odd(abs(half * dy) + 1), _odd(abs(half * dx) + 1)])
    n_samples = max(2, math.ceil(8 * length))
    t = (np.arange(n_samples) + 0.5) / n_samples * 2 - 1  # symmetric in (-1, 1)
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

    Examples
    --------
    >>> disk(4).shape
    (9, 9)
    """
    radius = _positive("radius", radius)
    shape = _size_tuple(size, [_odd(radius)] * 2)
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

    Examples
    --------
    >>> airy(2.0).shape
    (15, 15)
    """
    radius = _positive("radius", radius)
    # zeros of J1 are spaced by about pi: ring m sits near (m + 0.22) * pi
    half = radius * (rings + 0.25) * math.pi / _AIRY_FIRST_ZERO
    shape = _size_tuple(size, [_odd(half)] * 2)
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

    Examples
    --------
    >>> moffat(fwhm=4.0).shape[0] > 9
    True
    """
    beta = _positive("beta", beta)
    if beta <= 1:
        raise InvalidParameterError(f"beta must be > 1 for a finite-energy Moffat, got {beta}")
    if (alpha is None) == (fwhm is None):
        raise InvalidParameterError("give exactly one of alpha and fwhm")
    if fwhm is not None:
        alpha = _positive("fwhm", fwhm) / (2 * math.sqrt(2 ** (1 / beta) - 1))
    alpha = _positive("alpha", alpha)
    width = 2 * alpha * math.sqrt(2 ** (1 / beta) - 1)
    half = min(alpha * math.sqrt(1000 ** (1 / beta) - 1), 5 * width)
    shape = _size_tuple(size, [_odd(max(half, 1.0))] * 2)
    r = _radial_2d(shape, oversample)
    return normalize(_bin((1 + (r / alpha) ** 2) ** (-beta), oversample))


def from_file(
    path: str | os.PathLike,
    *,
    background: float | None = None,
    threshold: float = 1e-3,
    size: int | Sequence[int] | None = None,
) -> np.ndarray:
    """Load a measured or drawn PSF from an image or ``.npy`` file.

    The image is turned to grey, its background (given, or the median of its border pixels)
    subtracted and clipped at zero, shifted so its centroid falls on the central pixel, cropped
    to the smallest centred odd box holding every value above ``threshold`` times the peak (or
    to ``size``) and normalised to sum to one.

    Parameters
    ----------
    path : str or path-like
        PNG, TIFF, JPEG, BMP or NPY file.
    background : float, optional
        Background level to subtract, in the file's [0, 1] scale. Default: median of the border.
    threshold : float, optional
        Relative level below which outer rows and columns are cropped away.
    size : int or (int, int), optional
        Odd output side lengths instead of the automatic crop.

    Raises
    ------
    ImageReadError
        The file is missing, corrupt or of an unsupported format.
    InvalidPSFError
        Nothing is left after background removal.
    """
    from .io import read_image  # imported here: io is a higher layer than psf

    data, _ = read_image(path, as_gray=True)
    return from_array(data, background=background, threshold=threshold, size=size, name=path)


def from_array(
    data: np.ndarray,
    *,
    background: float | None = None,
    threshold: float = 1e-3,
    size: int | Sequence[int] | None = None,
    name: str | os.PathLike = "array",
) -> np.ndarray:
    """Clean an array into a PSF (see :func:`from_file`), in any number of dimensions."""
    k = np.asarray(data, dtype=np.float64)
    if k.ndim == 0 or k.size == 0:
        raise InvalidPSFError(f"PSF from {os.fspath(name)!r} is empty")
    if not np.all(np.isfinite(k)):
        raise InvalidPSFError(f"PSF from {os.fspath(name)!r} contains NaN or infinite values")
    if background is None:
        border = np.concatenate(
            [np.take(k, idx, axis=ax).ravel() for ax in range(k.ndim) for idx in (0, -1)]
        )
        background = float(np.median(border)) if k.size > border.size else 0.0
    k = np.clip(k - background, 0, None)
    if not k.max() > 0:
        raise InvalidPSFError(
            f"PSF from {os.fspath(name)!r} is empty after removing background {background:.3g}"
        )
    # pad to odd sizes centred on the (rounded) centroid
    c = np.rint(centroid(k)).astype(int)
    half = [max(ci, n - 1 - ci) for ci, n in zip(c, k.shape, strict=True)]
    pads = [(h - ci, h - (n - 1 - ci)) for h, ci, n in zip(half, c, k.shape, strict=True)]
    k = np.pad(k, pads)
    if size is None:
        return normalize(_trim(k, threshold * (1 - 1e-12)))
    return normalize(_centre_crop_or_pad(k, _size_tuple(size, k.shape)))


def _trim(k: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """Crop an odd-sized centred array to the smallest centred box of values > threshold·max."""
    mask = k > threshold * k.max()
    extent = []
    for ax, n in enumerate(k.shape):
        idx = np.nonzero(mask.any(axis=tuple(a for a in range(k.ndim) if a != ax)))[0]
        extent.append(int(np.max(np.abs(idx - n // 2))))
    return _centre_crop_or_pad(k, [2 * e + 1 for e in extent])


def _centre_crop_or_pad(k: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Crop or zero-pad an odd-sized, centred array to another odd shape, keeping the centre."""
    out = k
    for ax, (n, m) in enumerate(zip(k.shape, shape, strict=True)):
        if m < n:
            start = (n - m) // 2
            out = np.take(out, range(start, start + m), axis=ax)
        elif m > n:
            pad = [(0, 0)] * k.ndim
            pad[ax] = ((m - n) // 2, m - n - (m - n) // 2)
            out = np.pad(out, pad)
    return out


# --------------------------------------------------------------------------------------------
# PSF <-> OTF
# --------------------------------------------------------------------------------------------
def psf_to_otf(psf: np.ndarray, shape: Sequence[int], *, dtype=np.float64) -> np.ndarray:
    """Optical transfer function: the real FFT of the PSF placed on a grid of ``shape``.

    The PSF is zero-padded and rolled so that its centre pixel (index ``n // 2`` per axis)
    lands at the origin. Convolving with the result therefore does not shift the image.

    Parameters
    ----------
    psf : numpy.ndarray
        The PSF, with no more dimensions than ``shape`` and no side larger than the grid's.
    shape : sequence of int
        Shape of the (real) grid.
    dtype : dtype, optional
        Real dtype of the computation (float32 gives a complex64 OTF).

    Returns
    -------
    numpy.ndarray
        Complex array of shape ``shape[:-1] + (shape[-1] // 2 + 1,)``.
    """
    psf = np.asarray(psf)
    shape = tuple(int(n) for n in shape)
    if psf.ndim != len(shape):
        raise InvalidPSFError(f"PSF has {psf.ndim} dimensions but the grid has {len(shape)}")
    if any(p > n for p, n in zip(psf.shape, shape, strict=True)):
        raise InvalidPSFError(f"PSF of shape {psf.shape} is larger than the grid {shape}")
    padded = np.zeros(shape, dtype=dtype)
    padded[tuple(slice(0, p) for p in psf.shape)] = psf
    padded = np.roll(padded, [-(p // 2) for p in psf.shape], axis=tuple(range(len(shape))))
    return fft.rfftn(padded)


def otf_to_psf(otf: np.ndarray, shape: Sequence[int], psf_shape: Sequence[int]) -> np.ndarray:
    """Inverse of :func:`psf_to_otf`: the PSF of ``psf_shape`` from an OTF on a ``shape`` grid."""
    grid = fft.irfftn(otf, shape)
    grid = np.roll(grid, [p // 2 for p in psf_shape], axis=tuple(range(len(shape))))
    return grid[tuple(slice(0, p) for p in psf_shape)]


# --------------------------------------------------------------------------------------------
# spec strings for the command line
# --------------------------------------------------------------------------------------------
MODELS = {
    "gaussian": gaussian,
    "motion": motion,
    "disk": disk,
    "airy": airy,
    "moffat": moffat,
}

_SPEC_HELP = (
    "expected MODEL:key=value,... (gaussian:sigma=2.5, gaussian:sigma=1.5x3,angle=30, "
    "motion:length=21,angle=30, disk:radius=4, airy:radius=2, moffat:fwhm=4,beta=2.5) "
    "or the path of a PSF image/.npy file"
)


def _spec_value(key: str, text: str) -> float | tuple[float, ...]:
    try:
        if "x" in text and key in {"sigma", "size"}:
            return tuple(float(part) for part in text.split("x"))
        return float(text)
    except ValueError:
        raise InvalidPSFError(f"PSF spec: {key}={text!r} is not a number") from None


def parse_spec(spec: str) -> np.ndarray:
    """Build a PSF from a spec string such as ``"motion:length=21,angle=30"`` or a file path.

    Parameters
    ----------
    spec : str
        ``MODEL:key=value,...`` with MODEL one of gaussian, motion, disk, airy, moffat and the
        keys of that function (``sigma`` accepts ``AxB`` for per-axis values), or a path to a
        PSF file read with :func:`from_file`.

    Returns
    -------
    numpy.ndarray
        The PSF.

    Raises
    ------
    InvalidPSFError
        For an unknown model, a bad key or value, or a path that does not exist.
    """
    text = str(spec).strip()
    model, sep, args = text.partition(":")
    model = model.strip().lower()
    if model in MODELS:
        kwargs: dict[str, object] = {}
        for item in filter(None, (a.strip() for a in args.split(","))) if sep else []:
            key, eq, value = item.partition("=")
            if not eq:
                raise InvalidPSFError(f"PSF spec {text!r}: {item!r} is not key=value; {_SPEC_HELP}")
            key = key.strip().lower()
            val = _spec_value(key, value.strip())
            if key == "size":
                val = tuple(int(v) for v in np.atleast_1d(val))
                val = val[0] if len(val) == 1 else val
            kwargs[key] = val
        try:
            return MODELS[model](**kwargs)
        except TypeError as exc:
            raise InvalidPSFError(f"PSF spec {text!r}: {exc}; {_SPEC_HELP}") from None
        except InvalidParameterError as exc:
            raise InvalidPSFError(f"PSF spec {text!r}: {exc}") from None
    if Path(text).is_file():
        return from_file(text)
    raise InvalidPSFError(f"unknown PSF {text!r}: {_SPEC_HELP}")
