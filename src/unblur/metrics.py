r"""Image-quality metrics and the alignment protocol used to score restorations.

:func:`psnr` and :func:`ssim` compute what scikit-image's
:func:`~skimage.metrics.peak_signal_noise_ratio` and
:func:`~skimage.metrics.structural_similarity` do with explicit, documented settings (equal to
rounding; the tests compare them), without their image-sized float64 temporaries;
:func:`ssim_many` scores several estimates against one reference, sharing its statistics;
:func:`align` finds the (integer or sub-pixel) shift that best registers an estimate to its
reference; :func:`score` is the benchmark protocol (clip, align, crop the border, PSNR and
SSIM).

Why align at all: a deconvolution result is only defined up to the centring of its PSF. A
kernel estimated (or, as in the Levin et al. 2009 data, measured) with its mass off-centre
restores a correctly sharp image that is translated by a few pixels, and comparing it to the
reference pixel by pixel would score the translation rather than the restoration. Levin et al.
therefore compare "up to shift" (their ``comp_upto_shift``): the error is the minimum over small
shifts, with a border excluded because no method can know the scene beyond the frame. Their
search steps by a quarter pixel (``subpixel=4`` here); ours defaults to whole pixels.

References
----------
A. Levin, Y. Weiss, F. Durand, W. T. Freeman, "Understanding and evaluating blind
deconvolution algorithms", IEEE CVPR 2009, pp. 1964-1971 (evaluation code
``comp_upto_shift.m``).

Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality assessment: from error
visibility to structural similarity", IEEE TIP 13(4), 2004, pp. 600-612.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np

from ._checks import as_array, check_axis, check_bool
from .errors import InvalidImageError, InvalidParameterError

__all__ = ["align", "psnr", "score", "ssim", "ssim_many"]

#: SSIM settings of Wang et al. (2004): 11x11 Gaussian window with sigma 1.5, population
#: (not sample) covariances, K1 = 0.01, K2 = 0.03. These reproduce the authors' MATLAB code.
SSIM_SETTINGS = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False}


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------
def _as_real(arr, name: str) -> np.ndarray:
    """``arr`` as a finite, real, non-empty numeric array (no copy, no rescaling)."""
    return _checked(arr, name)[0]


def _checked(arr, name: str) -> tuple[np.ndarray, float]:
    """:func:`_as_real`'s array and its largest magnitude, from the same two passes (the
    magnitude scales huge or tiny values before they are squared)."""
    a = as_array(arr, name=name)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
        raise InvalidImageError(f"{name} must be a numeric array, got dtype {a.dtype}")
    if np.iscomplexobj(a):
        raise InvalidImageError(f"{name} must be real, got complex dtype {a.dtype}")
    if a.size == 0:
        raise InvalidImageError(f"{name} is empty (shape {a.shape})")
    if a.dtype == np.bool_:
        a = a.astype(np.float64)
    # NaN propagates through max and min, and an infinity is one of them: two passes over
    # the data, no mask
    high, low = float(np.max(a)), float(np.min(a))
    if not (math.isfinite(high) and math.isfinite(low)):
        raise InvalidImageError(f"{name} contains NaN or infinite values")
    return a, max(abs(high), abs(low))


def _pair(estimate, reference) -> tuple[np.ndarray, np.ndarray]:
    (est, _), (ref, _) = _pair_checked(estimate, reference)
    return est, ref


def _pair_checked(
    estimate, reference, checked_reference: tuple[np.ndarray, float] | None = None
) -> tuple[tuple[np.ndarray, float], tuple[np.ndarray, float]]:
    """:func:`_checked` of both (the reference's given when already checked), of one shape."""
    est, est_top = _checked(estimate, "estimate")
    ref, ref_top = checked_reference or _checked(reference, "reference")
    if est.ndim == 0:
        raise InvalidImageError(f"estimate must be an array, got the number {est!r}")
    if est.shape != ref.shape:
        raise InvalidParameterError(
            f"estimate and reference must have the same shape, got {est.shape} and {ref.shape}"
        )
    return (est, est_top), (ref, ref_top)


def _log10_mse(est: np.ndarray, ref: np.ndarray, scale: float) -> float:
    r""":math:`\log_{10}` of the mean squared error, without overflow or underflow whatever
    the magnitudes (-inf for identical arrays): values beyond 1e150 (or below 1e-150) are
    scaled by their largest magnitude ``scale`` (of both arrays: :func:`_checked`) first.

    Computed in float64 over blocks of :data:`_BLOCK` values, so that a photograph needs no
    image-sized temporaries (they cost more in page faults than the arithmetic).
    """
    a, b = est.reshape(-1), ref.reshape(-1)
    if scale == 0:
        return -math.inf
    # within these bounds the squares of differences stay finite and normal
    factor = 1.0 if 1e-150 < scale < 1e150 else 1.0 / scale
    buffer = np.empty(min(a.size, _BLOCK), dtype=np.float64)
    total = 0.0
    for start in range(0, a.size, _BLOCK):
        part = buffer[: min(_BLOCK, a.size - start)]
        part[...] = a[start : start + _BLOCK]
        if factor != 1.0:
            part *= factor
            part -= b[start : start + _BLOCK] * factor
        else:
            part -= b[start : start + _BLOCK]
        # einsum, not np.dot: BLAS would wake its idle threads, which then spin against the
        # caller's own (a report's PSNR took 0.05-0.4 s instead of 0.02 s, measured)
        total += float(np.einsum("i,i->", part, part))
    mse = total / a.size
    if mse <= 0:
        return -math.inf
    return math.log10(mse) - (0.0 if factor == 1.0 else 2 * math.log10(factor))


#: values per block of :func:`_log10_mse`
_BLOCK = 1 << 16


def _data_range(value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"data_range must be a number, got {value!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise InvalidParameterError(f"data_range must be finite and > 0, got {value}")
    return value


def _per_axis(name: str, value, ndim: int) -> tuple[int, ...]:
    """A non-negative integer, or one per axis, as a tuple of ``ndim`` ints."""
    try:
        values = (value,) * ndim if np.isscalar(value) else tuple(value)
    except TypeError:
        values = ()
    if len(values) != ndim:
        raise InvalidParameterError(f"{name} must be an int or {ndim} ints, got {value!r}")
    out = []
    for v in values:
        if isinstance(v, bool | np.bool_) or not isinstance(v, int | np.integer) or v < 0:
            raise InvalidParameterError(f"{name} must be non-negative integers, got {value!r}")
        out.append(int(v))
    return tuple(out)


# --------------------------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------------------------
def psnr(estimate: np.ndarray, reference: np.ndarray, *, data_range: float = 1.0) -> float:
    r"""Peak signal-to-noise ratio of ``estimate`` against ``reference``, in dB.

    .. math:: \mathrm{PSNR} = 10 \log_{10} \frac{R^2}{\tfrac1N \sum_i (\hat x_i - x_i)^2}

    with :math:`R` the ``data_range`` (the peak). Computed in float64, as scikit-image's
    :func:`~skimage.metrics.peak_signal_noise_ratio` does, over blocks of the arrays.

    Parameters
    ----------
    estimate, reference : numpy.ndarray
        Arrays of the same shape (any number of dimensions). Values are used as given: integer
        arrays are *not* rescaled, so pass ``data_range=255`` for uint8 images.
    data_range : float, optional
        The peak :math:`R`; 1 for images in [0, 1].

    Returns
    -------
    float
        PSNR in dB; ``inf`` when the arrays are identical (zero error).

    Raises
    ------
    InvalidParameterError
        Shapes differ, or ``data_range`` is not a positive number.
    InvalidImageError
        An array is empty, non-numeric or contains NaN/inf.

    References
    ----------
    A. Levin, Y. Weiss, F. Durand, W. T. Freeman, "Understanding and evaluating blind
    deconvolution algorithms", IEEE CVPR 2009 (the benchmark that scores with this metric).

    Examples
    --------
    >>> import numpy as np
    >>> from unblur.metrics import psnr
    >>> x = np.zeros((8, 8))
    >>> round(psnr(x + 0.1, x), 6)  # MSE 0.01 -> 20 dB
    20.0
    >>> psnr(x, x)
    inf
    """
    (est, est_top), (ref, ref_top) = _pair_checked(estimate, reference)
    return _psnr_checked(est, ref, max(est_top, ref_top), _data_range(data_range))


def _psnr_checked(est: np.ndarray, ref: np.ndarray, scale: float, peak: float) -> float:
    """:func:`psnr` of checked arrays of one shape whose largest magnitude is ``scale``."""
    log_mse = _log10_mse(est, ref, scale)
    if log_mse == -math.inf:
        return math.inf
    return 20 * math.log10(peak) - 10 * log_mse


def ssim(
    estimate: np.ndarray,
    reference: np.ndarray,
    *,
    data_range: float = 1.0,
    channel_axis: int | None = None,
) -> float:
    r"""Structural similarity index (Wang et al. 2004) of ``estimate`` against ``reference``.

    The mean over the image of

    .. math::
        \mathrm{SSIM}(x, y) = \frac{(2\mu_x\mu_y + C_1)(2\sigma_{xy} + C_2)}
        {(\mu_x^2 + \mu_y^2 + C_1)(\sigma_x^2 + \sigma_y^2 + C_2)},
        \quad C_1 = (0.01 R)^2,\; C_2 = (0.03 R)^2,

    with local statistics under a Gaussian window (:math:`\sigma = 1.5`, 11 px wide, population
    covariances), i.e. the settings of the authors' reference implementation and of
    scikit-image's :func:`~skimage.metrics.structural_similarity` with :data:`SSIM_SETTINGS`
    (the same value to rounding; see :func:`ssim_many` for how it is computed). The mean is
    over the pixels at least 5 px from every edge, where the window lies inside the image.
    Works on nD arrays (the window is nD); with ``channel_axis`` the result is the mean over
    channels.

    Parameters
    ----------
    estimate, reference : numpy.ndarray
        Arrays of the same shape, at least 11 px along every spatial axis.
    data_range : float, optional
        The dynamic range :math:`R` of the images; 1 for images in [0, 1].
    channel_axis : int, optional
        Axis of colour channels, if any.

    Returns
    -------
    float
        SSIM in [-1, 1]; exactly 1 for identical arrays.

    Raises
    ------
    InvalidParameterError
        Shapes differ, ``data_range`` is not positive, or the image is smaller than the window.
    InvalidImageError
        An array is empty, non-numeric or contains NaN/inf.

    References
    ----------
    Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality assessment: from
    error visibility to structural similarity", IEEE TIP 13(4), 2004, pp. 600-612.

    Examples
    --------
    >>> import numpy as np
    >>> from unblur.metrics import ssim
    >>> x = np.random.default_rng(0).random((32, 32))
    >>> ssim(x, x)
    1.0
    >>> bool(ssim(0.5 * x, x) < 0.9)
    True
    """
    est, ref = _pair(estimate, reference)
    return ssim_many([est], ref, data_range=data_range, channel_axis=channel_axis)[0]


#: the SSIM window's half-width: int(3.5 * 1.5 + 0.5) (scikit-image's ``truncate=3.5``)
_SSIM_RADIUS = 5


def ssim_many(
    estimates: Sequence[np.ndarray],
    reference: np.ndarray,
    *,
    data_range: float = 1.0,
    channel_axis: int | None = None,
    precision: str = "double",
) -> list[float]:
    r""":func:`ssim` of each of ``estimates`` against one ``reference``, sharing its statistics.

    The reference's local mean and variance are computed once for all the estimates (a report
    scores both its input and its output against the sharp image), and only the pixels whose
    window lies inside the image, the ones the mean is taken over, are filtered. On 2-D images,
    when Numba is already loaded or the image is large, one compiled pass streams the rows
    (:func:`unblur._ssim.ssim_sums`, two estimates per pass); other 2-D images are filtered
    by banded matrix products (:func:`unblur._ssim.ssim_sums_banded`), and nD images with
    :func:`scipy.ndimage.correlate1d`, axis by axis. By default all compute in float64 and
    equal scikit-image's :func:`~skimage.metrics.structural_similarity` with
    :data:`SSIM_SETTINGS` to rounding.

    Parameters
    ----------
    estimates : sequence of numpy.ndarray
        Arrays of the reference's shape.
    reference : numpy.ndarray
        The sharp image.
    data_range, channel_axis
        As for :func:`ssim`.
    precision : {"double", "single"}
        ``"single"``: when the reference and every estimate are 2-D float32 images (channels
        aside), the local statistics are filtered and combined in float32 (the sums still in
        float64): faster (``benchmarks/report_overhead.py`` has the timings), within a few
        1e-6 of ``"double"`` on images in [0, 1]. Other inputs are computed in float64 either
        way.

    Returns
    -------
    list of float
        One SSIM per estimate, in their order.

    Raises
    ------
    InvalidParameterError, InvalidImageError
        As :func:`ssim`, for any of the estimates.

    Examples
    --------
    >>> import numpy as np
    >>> from unblur.metrics import ssim, ssim_many
    >>> x = np.random.default_rng(0).random((32, 32))
    >>> a, b = ssim_many([x, 0.5 * x], x)
    >>> a, b == ssim(0.5 * x, x)
    (1.0, True)
    """
    checked = _checked(reference, "reference")
    ests = [_pair_checked(e, None, checked)[0] for e in estimates]
    return _ssim_checked(checked, ests, _data_range(data_range), channel_axis, precision)


def _ssim_checked(
    reference: tuple[np.ndarray, float],
    estimates: list[tuple[np.ndarray, float]],
    peak: float,
    channel_axis: int | None,
    precision: str,
) -> list[float]:
    """:func:`ssim_many` of checked arrays (:func:`_checked`: each with its magnitude)."""
    ref = reference[0]
    ests = [e for e, _ in estimates]
    if ref.ndim == 0:
        raise InvalidImageError(f"estimate must be an array, got the number {ref!r}")
    if channel_axis is not None:
        channel_axis = check_axis("channel_axis", channel_axis, ref.ndim)
    if precision not in ("double", "single"):
        raise InvalidParameterError(f"precision must be 'double' or 'single', got {precision!r}")
    spatial = [n for ax, n in enumerate(ref.shape) if ax != channel_axis]
    if not _ssim_fits(ref.shape, channel_axis):
        raise InvalidParameterError(
            f"SSIM needs at least 11 px along every spatial axis, got shape {ref.shape}"
        )
    # SSIM(x, y; R) = SSIM(x / s, y / s; R / s): huge values are scaled so that the local
    # products stay finite
    top = max(reference[1], *(m for _, m in estimates), peak)
    scale = top / 1e50 if top > 1e100 else 1.0
    if scale != 1.0:
        ref, ests, peak = ref / scale, [e / scale for e in ests], peak / scale
    # (C, *spatial) views: a grey image is one channel
    if channel_axis is None:
        planes = [a[None] for a in (ref, *ests)]
    else:
        planes = [np.moveaxis(a, channel_axis, 0) for a in (ref, *ests)]
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    counts = math.prod(n - 2 * _SSIM_RADIUS for n in spatial)
    single = precision == "single" and all(a.dtype == np.float32 for a in planes)
    if len(spatial) == 2 and c1 * c2 > 0 and _compiled_pays(ref.size * len(ests)):
        sums = _ssim_sums_compiled(planes[0], planes[1:], c1, c2, single)
    elif len(spatial) == 2:
        from ._ssim import gaussian_window, ssim_sums_banded

        sums = ssim_sums_banded(planes[0], planes[1:], c1, c2, gaussian_window(), single)
    else:
        sums = _ssim_sums_numpy(planes[0], planes[1:], c1, c2)
    return [float(np.mean(s / counts)) for s in sums]


def _ssim_fits(shape: tuple[int, ...], channel_axis: int | None) -> bool:
    """Whether every spatial axis of ``shape`` (``channel_axis``, checked, aside) holds the
    SSIM window."""
    spatial = [n for ax, n in enumerate(shape) if ax != channel_axis]
    return bool(spatial) and min(spatial) >= 2 * _SSIM_RADIUS + 1


def _scores(
    estimates: Sequence[np.ndarray],
    reference: np.ndarray,
    *,
    data_range: float = 1.0,
    channel_axis: int | None = None,
    precision: str = "double",
) -> list[tuple[float, float | None]]:
    """``(psnr, ssim)`` of each estimate against ``reference`` (SSIM None where the image is
    smaller than its window), each array checked once (a report's two scores of two images
    would otherwise check and measure the reference six times)."""
    checked = _checked(reference, "reference")
    ests = [_pair_checked(e, None, checked)[0] for e in estimates]
    peak = _data_range(data_range)
    values_psnr = [_psnr_checked(e, checked[0], max(m, checked[1]), peak) for e, m in ests]
    ref = checked[0]
    axis = None if channel_axis is None else check_axis("channel_axis", channel_axis, ref.ndim)
    values_ssim: list[float | None] = (
        list(_ssim_checked(checked, ests, peak, axis, precision))
        if _ssim_fits(ref.shape, axis)
        else [None] * len(ests)
    )
    return list(zip(values_psnr, values_ssim, strict=True))


def _compiled_pays(values: int) -> bool:
    """Whether the compiled SSIM pass is worth it for ``values`` (pixels x channels x
    estimates): Numba is available and either already imported (the restorations that use it
    have paid for it) or the work is large. Importing Numba and loading the pass cost about
    0.45 s of CPU; the pass saves about 0.065 s per million values over the SciPy path
    (measured at 1024^2: 32 against 160 ms for two estimates), so it pays from about 7
    million values."""
    from . import _numba

    return _numba.usable() and (_numba.loaded() or values >= 7_000_000)


def _ssim_sums_compiled(
    ref: np.ndarray, ests: list[np.ndarray], c1: float, c2: float, single: bool = False
) -> list[np.ndarray]:
    """Per-channel sums of the local SSIM by :func:`unblur._ssim.ssim_sums`, two at a time."""
    from ._ssim import gaussian_window, ssim_sums

    dtype = np.result_type(ref.dtype, *(e.dtype for e in ests), np.float32)
    if dtype not in (np.float32, np.float64):
        dtype = np.float64
    ref = ref.astype(dtype, copy=False)
    ests = [e.astype(dtype, copy=False) for e in ests]
    window = gaussian_window()
    out: list[np.ndarray] = []
    for start in range(0, len(ests), 2):
        out.extend(ssim_sums(ref, ests[start : start + 2], c1, c2, window, single))
    return out


def _ssim_sums_numpy(
    ref: np.ndarray, ests: list[np.ndarray], c1: float, c2: float
) -> list[np.ndarray]:
    """Per-channel sums of the local SSIM of nD planes, in float64 with SciPy's 1-D
    correlations, strip by strip (see :data:`_STRIP`); the local index as
    :func:`unblur._ssim.add_local_ssim` computes it (0/0 windows count as 1)."""
    from ._ssim import add_local_ssim, gaussian_window

    window = gaussian_window()
    out = [np.zeros(ref.shape[0]) for _ in ests]
    n = ref.shape[1]  # strips along the first spatial axis, each with its 2 x 5 rows of context
    strips = [(start, min(start + _STRIP, n - 10) + 10) for start in range(0, n - 10, _STRIP)]
    with np.errstate(invalid="ignore", divide="ignore", under="ignore", over="ignore"):
        for c, (start, stop) in itertools.product(range(ref.shape[0]), strips):
            r = np.asarray(ref[c, start:stop], dtype=np.float64)
            maps = [_valid_filter(r, window), _valid_filter(r * r, window)]
            for est in ests:
                e = np.asarray(est[c, start:stop], dtype=np.float64)
                maps += [_valid_filter(m, window) for m in (e, e * e, e * r)]
            add_local_ssim(np.stack(maps), len(ests), c1, c2, out, c)
    return out


#: rows of output per strip of :func:`_ssim_sums_numpy`: its temporaries stay near a megabyte
#: each (a 1024-px row), reused by the allocator, where image-sized ones cost a page fault per
#: 4 kB every time (about 0.5 s of system time for a 1024^2 report, measured)
_STRIP = 128


def _valid_filter(a: np.ndarray, window: np.ndarray) -> np.ndarray:
    """``a`` correlated with ``window`` along every axis, where the window lies inside (each
    axis shrinks by ``window.size - 1``): the last axis first, then the others on the
    contiguous result."""
    from scipy.ndimage import correlate1d

    h = (window.size - 1) // 2
    out = a
    for axis in reversed(range(a.ndim)):
        out = correlate1d(out, window, axis=axis, mode="nearest")
        out = np.ascontiguousarray(out[(slice(None),) * axis + (slice(h, -h),)])
    return out


# --------------------------------------------------------------------------------------------
# alignment and the benchmark protocol
# --------------------------------------------------------------------------------------------
def _sample_at(arr: np.ndarray, fraction: Sequence[float]) -> np.ndarray:
    """``arr`` sampled at ``i + fraction`` by multilinear interpolation (one fewer px per axis
    with a non-zero fraction: the last sample would need a pixel beyond the edge)."""
    out = arr.astype(np.float64)
    for axis, f in enumerate(fraction):
        if f:
            head = [slice(None)] * out.ndim
            tail = [slice(None)] * out.ndim
            head[axis], tail[axis] = slice(0, -1), slice(1, None)
            out = (1.0 - f) * out[tuple(head)] + f * out[tuple(tail)]
    return out


def align(
    estimate: np.ndarray,
    reference: np.ndarray,
    *,
    max_shift: int | Sequence[int] = 5,
    border: int | Sequence[int] = 10,
    subpixel: int = 1,
) -> tuple[tuple[int, ...] | tuple[float, ...], np.ndarray, np.ndarray]:
    r"""Best translation of ``estimate`` onto ``reference``, and the compared crops.

    Let :math:`m = \text{border} + \text{max\_shift}` (per axis) and :math:`\Omega` the interior
    of the reference, the indices :math:`i` with :math:`m \le i < n - m` on every axis. For
    each shift :math:`s` on the grid of step ``1 / subpixel`` px with :math:`|s| \le`
    ``max_shift`` per axis the mean squared error

    .. math:: E(s) = \frac{1}{|\Omega|} \sum_{i \in \Omega} (\hat x(i+s) - x_i)^2

    is evaluated, and the minimiser is returned (ties go to the shift closest to zero in
    :math:`\ell^1`). At integer shifts :math:`\hat x(i+s)` is a pixel of the estimate; between
    pixels it is the multilinear interpolation of its neighbours, as MATLAB's ``interp2`` in
    Levin et al.'s ``comp_upto_shift`` (which uses ``subpixel=4`` and a 15 px border). The
    reference crop :math:`x_\Omega` is the same for every shift, so the errors are comparable,
    and the estimate's pixels stay at least ``border`` px from its edge, so every compared
    pixel exists, with no padding or wrap-around. Pixels of the estimate within ``border`` of
    its edge are never compared (they carry the boundary artefacts no method can avoid).

    Why sub-pixel: an estimated kernel is only defined up to a translation, and its centroid
    lies a fraction of a pixel away from the true kernel's; the restoration is then translated
    by that fraction, which an integer search cannot undo (on sharp photographs half a pixel
    costs several dB). The default, ``subpixel=1``, searches integer shifts only.

    Parameters
    ----------
    estimate, reference : numpy.ndarray
        Arrays of the same shape (nD).
    max_shift : int or sequence of int, optional
        Largest shift searched along each axis (0 disables the search on that axis).
    border : int or sequence of int, optional
        Pixels excluded at every edge besides the shift range.
    subpixel : int, optional
        Steps per pixel of the search grid: 1 (integer shifts, no interpolation) or more
        (``subpixel ** ndim`` times the work of the integer search).

    Returns
    -------
    shift : tuple of int, or tuple of float when ``subpixel > 1``
        The displacement :math:`s` of the estimate relative to the reference, i.e.
        ``estimate`` is close to ``np.roll(reference, shift)``.
    aligned_estimate_crop : numpy.ndarray
        The estimate on :math:`\Omega + s`: ``estimate[m + s : n - m + s]`` per axis (a view)
        for an integer shift, an interpolated float64 array otherwise; aligned with
    reference_crop : numpy.ndarray
        ``reference[m : n - m]`` per axis (a view); both have shape :math:`n - 2m`.

    Raises
    ------
    InvalidParameterError
        Shapes differ, negative or non-integer ``max_shift``/``border``, ``subpixel`` not an
        integer >= 1, or an image not larger than :math:`2m` along some axis.

    References
    ----------
    A. Levin, Y. Weiss, F. Durand, W. T. Freeman, "Understanding and evaluating blind
    deconvolution algorithms", IEEE CVPR 2009 (``comp_upto_shift``: shifts of 0.25 px within
    5 px, bilinear interpolation, 15 px border).

    Examples
    --------
    >>> import numpy as np
    >>> from unblur.metrics import align
    >>> x = np.random.default_rng(0).random((40, 40))
    >>> shift, a, b = align(np.roll(x, (2, -3), axis=(0, 1)), x)
    >>> shift, a.shape, bool(np.array_equal(a, b))
    ((2, -3), (10, 10), True)
    >>> half = 0.5 * (x + np.roll(x, -1, axis=1))  # x sampled half a pixel to the right
    >>> align(x, half, subpixel=2)[0]
    (0.0, 0.5)
    """
    est, ref = _pair(estimate, reference)
    ndim = ref.ndim
    shifts_max = _per_axis("max_shift", max_shift, ndim)
    borders = _per_axis("border", border, ndim)
    if isinstance(subpixel, bool | np.bool_) or not isinstance(subpixel, int | np.integer):
        raise InvalidParameterError(f"subpixel must be an integer >= 1, got {subpixel!r}")
    if not 1 <= subpixel <= 100:
        raise InvalidParameterError(f"subpixel must be between 1 and 100, got {subpixel}")
    steps = int(subpixel)
    margins = tuple(s + b for s, b in zip(shifts_max, borders, strict=True))
    if any(n <= 2 * m for n, m in zip(ref.shape, margins, strict=True)):
        raise InvalidParameterError(
            f"image of shape {ref.shape} is too small for border {borders} and max_shift "
            f"{shifts_max} (needs more than 2*(border+max_shift) px per axis)"
        )
    ref_crop = ref[tuple(slice(m, n - m) for m, n in zip(margins, ref.shape, strict=True))]
    ref64 = ref_crop.astype(np.float64)

    def window(s: Sequence[int]) -> tuple[slice, ...]:
        return tuple(slice(m + d, n - m + d) for m, d, n in zip(margins, s, est.shape, strict=True))

    # Every shift is an integer part plus a fraction in {0, 1/steps, ...}; the estimate is
    # interpolated once per fraction, then searched over the integer parts. A non-zero
    # fraction needs the pixel after i + s, so its integer part stays below max_shift.
    fractions = [[k / steps for k in range(steps if s else 1)] for s in shifts_max]
    candidates = []
    for frac in itertools.product(*fractions):
        for whole in itertools.product(*(range(-s, s + 1) for s in shifts_max)):
            total = tuple(w + f for w, f in zip(whole, frac, strict=True))
            if all(abs(t) <= s for t, s in zip(total, shifts_max, strict=True)):
                candidates.append((sum(abs(t) for t in total), total, frac, whole))
    candidates.sort()
    sampled: dict[tuple[float, ...], np.ndarray] = {}

    def sample(frac: tuple[float, ...]) -> np.ndarray:
        if frac not in sampled:
            sampled[frac] = _sample_at(est, frac) if any(frac) else est
        return sampled[frac]

    # The errors of every candidate through FFT correlations, then the exact errors of those
    # that could be the least (see _shortlist): the same answer as trying them all, in a few
    # transforms rather than one pass over the image per candidate.
    best, best_err = candidates[0], np.inf
    for candidate in _shortlist(candidates, sample, ref64, margins, shifts_max):
        _, _, frac, whole = candidate
        diff = sample(frac)[window(whole)] - ref64  # float64: ref64 sets the type
        err = float(np.vdot(diff, diff))
        if err < best_err:
            best, best_err = candidate, err
    _, total, frac, whole = best
    crop = sampled[frac][window(whole)]
    if steps == 1:
        return tuple(int(d) for d in whole), crop, ref_crop
    return tuple(float(t) for t in total), crop, ref_crop


def _shortlist(
    candidates: list,
    sample: Callable[[tuple[float, ...]], np.ndarray],
    ref64: np.ndarray,
    margins: tuple[int, ...],
    shifts_max: tuple[int, ...],
) -> list:
    r"""The candidates of :func:`align` whose squared error may be the least, in their order.

    For the integer parts :math:`w` of the shifts sharing a fraction, with :math:`a` the
    estimate sampled at that fraction and :math:`x` the reference crop,

    .. math:: E(w) = \sum_i a_{i+w}^2 - 2 \sum_i a_{i+w} x_i + \sum_i x_i^2,

    whose first sum is a box sum (cumulative sums) and the second a correlation, computed for
    every :math:`w` at once by FFT (the part of :math:`a` the shifts reach, and :math:`x`
    zero-padded to a fast size at least as large: the circular correlation at the lags
    searched wraps nothing). Their rounding error is of order
    :math:`\epsilon \log P \,(\sum a^2 + \sum x^2)`, far below
    :math:`\tau = 10^{-8} (\sum a^2 + \sum x^2)`; every candidate within :math:`2\tau` of the
    least approximate error is kept, which keeps every candidate whose exact error can be the
    least (ties included), so the exact search over the shortlist returns what the exhaustive
    one does. Few candidates, or magnitudes whose squares overflow, keep them all.
    """
    if len(candidates) <= 50:
        return candidates
    import scipy.fft

    shape_ref = ref64.shape
    rr = float(np.vdot(ref64, ref64))
    spectra: dict[tuple[int, ...], np.ndarray] = {}
    approx: list[float] = []
    total = rr
    correlations: dict[tuple[float, ...], tuple[np.ndarray, np.ndarray]] = {}
    for _, _, frac, whole in candidates:
        if frac not in correlations:
            # lags m + w for w in [-s, s] ([-s, s - 1] along an axis with a fraction)
            lags = [2 * s + (0 if f else 1) for s, f in zip(shifts_max, frac, strict=True)]
            region = tuple(
                slice(m - s, m - s + r + n - 1)
                for m, s, r, n in zip(margins, shifts_max, shape_ref, lags, strict=True)
            )
            part = np.asarray(sample(frac)[region], dtype=np.float64)
            size = tuple(scipy.fft.next_fast_len(n, real=True) for n in part.shape)
            if size not in spectra:
                spectra[size] = np.conj(scipy.fft.rfftn(ref64, size))
            with np.errstate(all="ignore"):
                cross = scipy.fft.irfftn(scipy.fft.rfftn(part, size) * spectra[size], size)
                energy = _box_sums(part * part, shape_ref)
                total = max(total, float(np.vdot(part, part)) + rr)
            correlations[frac] = (cross, energy)
        cross, energy = correlations[frac]
        lag = tuple(w + s for w, s in zip(whole, shifts_max, strict=True))
        approx.append(float(energy[lag] - 2.0 * cross[lag] + rr))
    values = np.array(approx)
    if not (np.isfinite(values).all() and math.isfinite(total)):
        return candidates
    keep = values <= values.min() + 2e-8 * total
    return [c for c, k in zip(candidates, keep, strict=True) if k]


def _box_sums(values: np.ndarray, box: tuple[int, ...]) -> np.ndarray:
    """Sums of ``values`` over every ``box``-shaped window ('valid' positions), by cumulative
    sums along each axis in turn."""
    out = values
    for axis, n in enumerate(box):
        c = np.cumsum(out, axis=axis)
        zero = np.zeros_like(np.take(c, [0], axis=axis))
        c = np.concatenate([zero, c], axis=axis)
        upper = np.take(c, np.arange(n, c.shape[axis]), axis=axis)
        lower = np.take(c, np.arange(0, c.shape[axis] - n), axis=axis)
        out = upper - lower
    return out


def score(
    estimate: np.ndarray,
    reference: np.ndarray,
    *,
    max_shift: int | Sequence[int] = 5,
    border: int | Sequence[int] = 10,
    clip: bool = True,
    subpixel: int = 1,
    channel_axis: int | None = None,
) -> dict:
    r"""Score a restoration against its sharp reference with the benchmark protocol.

    1. The estimate is clipped to [0, 1] (``clip=True``), as a displayed image would be.
    2. The best shift within ``max_shift`` px per axis is found by :func:`align` (minimum MSE
       over the interior that excludes ``border + max_shift`` px at each edge), on integer
       shifts by default, on a grid of ``1 / subpixel`` px otherwise. The Levin et al. (2009)
       kernels carry offsets of up to 4 px, hence the default 5.
    3. On that aligned interior: PSNR with peak 1 (:func:`psnr`) and SSIM with
       ``data_range=1`` (:func:`ssim`).

    Parameters
    ----------
    estimate : numpy.ndarray
        Restored image (nD), intensities nominally in [0, 1].
    reference : numpy.ndarray
        Sharp ground truth of the same shape, in [0, 1].
    max_shift : int or sequence of int, optional
        Largest shift searched per spatial axis.
    border : int or sequence of int, optional
        Pixels excluded at each edge in addition to the shift range, per spatial axis.
    clip : bool, optional
        Clip the estimate to [0, 1] first (the input is not modified).
    subpixel : int, optional
        Steps per pixel of the shift search (see :func:`align`); 4 is the quarter-pixel search
        of Levin et al.'s ``comp_upto_shift``, under which published blind-deconvolution
        figures on their data are computed.
    channel_axis : int, optional
        Axis of colour channels: not shifted, not cropped; the shift is common to every
        channel, PSNR is over all channels and SSIM the mean of the channels' SSIM.

    Returns
    -------
    dict
        ``{"psnr": float (dB, inf if exact), "ssim": float, "shift": tuple}`` (of int, or of
        float when ``subpixel > 1``; one entry per spatial axis).

    References
    ----------
    A. Levin, Y. Weiss, F. Durand, W. T. Freeman, "Understanding and evaluating blind
    deconvolution algorithms", IEEE CVPR 2009, pp. 1964-1971 (protocol ``comp_upto_shift``:
    error up to a small shift with the border excluded).

    Examples
    --------
    >>> import numpy as np
    >>> from unblur.metrics import score
    >>> x = np.random.default_rng(0).random((48, 48))
    >>> result = score(np.roll(x, (1, 4), axis=(0, 1)), x)
    >>> result["psnr"], result["ssim"], result["shift"]
    (inf, 1.0, (1, 4))
    """
    est, ref = _pair(estimate, reference)
    if check_bool("clip", clip):
        est = np.clip(est, 0.0, 1.0)
    if channel_axis is not None:  # no shift and no border along the channels
        axis = check_axis("channel_axis", channel_axis, est.ndim)
        if est.ndim < 2:
            raise InvalidParameterError("channel_axis needs an image with a spatial axis")
        shifts = list(_per_axis("max_shift", max_shift, est.ndim - 1))
        borders = list(_per_axis("border", border, est.ndim - 1))
        shifts.insert(axis, 0)
        borders.insert(axis, 0)
        max_shift, border = tuple(shifts), tuple(borders)
    shift, est_crop, ref_crop = align(
        est, ref, max_shift=max_shift, border=border, subpixel=subpixel
    )
    if channel_axis is not None:
        shift = shift[:axis] + shift[axis + 1 :]
        channel_axis = axis
    return {
        "psnr": psnr(est_crop, ref_crop, data_range=1.0),
        "ssim": ssim(est_crop, ref_crop, data_range=1.0, channel_axis=channel_axis),
        "shift": shift,
    }
