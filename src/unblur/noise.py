r"""Noise-level estimation from a single (blurred) image, 8-bit and JPEG files included.

Two estimators, combined by :func:`estimate_noise`:

**Wavelet** (Donoho & Johnstone 1994): the finest-scale Haar detail coefficients (high-pass
along every axis) of a natural image are nearly all noise, so
:math:`\hat\sigma = \operatorname{median}(|d|) / 0.6745`; 8-bit data carry at least the rounding
noise :math:`q/\sqrt{12}` of their step.

**JPEG** (our own estimator, built on the JPEG quantisation model). A JPEG file stores the
8 x 8 block DCT of the luma :math:`Y = 0.299R + 0.587G + 0.114B`, each frequency :math:`f`
rounded to a multiple of its step :math:`q_f` (Wallace 1992). Quantisation wipes out the fine
detail the wavelet estimator looks at: on a blurred photograph with 1 % noise saved at quality
85 it reports a third of the noise. The steps, though, can be read back from the decoded
image (the block DCT coefficients sit on multiples of :math:`q_f`, up to the decoder's
rounding), and for a frequency whose coefficients are pure noise :math:`N(0, \sigma_Y^2)`
(orthonormal DCT) the fraction quantised to zero is

.. math:: P_0(f) = \operatorname{erf}\!\left(\frac{q_f}{2\sqrt2\,\sigma_Y}\right)
          \quad\Longrightarrow\quad
          \sigma_f = \frac{q_f}{2\sqrt2\,\operatorname{erf}^{-1}(P_0(f))} .

Signal can only lower :math:`P_0`, i.e. raise :math:`\sigma_f`. Two measures keep it out: each
frequency is measured on the quietest quarter of the blocks, ranked by their energy at the
*other* frequencies (the noise of distinct frequencies of an orthonormal transform is
independent, the signal is not), and the estimate is the lower quartile of :math:`\sigma_f` over
the frequencies whose zero fraction is measurable (:math:`0.05 \le P_0 \le 0.98`). Blocks that
touch the ends of the 8-bit range are left out (clipping removes their noise). The step of a
frequency is the one on whose non-zero multiples its non-zero coefficients sit best (the mean
of :math:`\cos(2\pi c / q)`), which the decoder's rounding blurs a little, enough to tell the
step from its divisors. For a colour image the RGB noise, assumed independent with
equal :math:`\sigma` per channel, follows from :math:`\sigma_Y = \sigma\sqrt{0.299^2 +
0.587^2 + 0.114^2}`. Where the noise is far below every step (:math:`P_0 > 0.98` wherever
there is no signal) the JPEG estimate is an upper bound polluted by signal; the wavelet
estimate is kept when it is larger.

References
----------
D. L. Donoho, I. M. Johnstone, "Ideal spatial adaptation by wavelet shrinkage",
Biometrika 81(3), 1994, pp. 425-455.
G. K. Wallace, "The JPEG still picture compression standard", IEEE Trans. Consumer
Electronics 38(1), 1992, pp. xviii-xxxiv.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import fft as sp_fft
from scipy import special

from ._checks import as_float_image, check_channel_axis

__all__ = ["estimate_noise"]

# median(|N(0, 1)|): turns a median absolute deviation into a standard deviation
_MAD_TO_SIGMA = 0.6744897501960817


def estimate_noise(image: np.ndarray, *, channel_axis: int | None = None) -> float:
    r"""Standard deviation of additive white Gaussian noise, from the image alone.

    Robust median estimator of Donoho & Johnstone: the finest-scale Haar wavelet detail
    coefficients (high-pass along every axis) of a natural image are nearly all noise, so

    .. math:: \hat\sigma = \operatorname{median}(|d|) / 0.6745 .

    A blurred image has almost no signal at that scale, which makes the estimate reliable
    precisely where deconvolution needs it. Quantised data (an 8-bit file) always carries at
    least the rounding noise of its step :math:`q`, :math:`q/\sqrt{12}`, even where the median
    coefficient is exactly zero; the estimate never goes below that floor.

    A decoded JPEG (a 2-D grey or 3-channel colour image on the 8-bit grid whose 8 x 8 block
    DCT shows quantisation steps) is also measured from the zero fractions of its quantised
    DCT coefficients, which JPEG leaves informative where it wipes out the fine detail, and
    the larger of the two estimates is returned (see :mod:`unblur.noise`). The JPEG blocks
    are assumed to start at the top-left pixel (an uncropped file), and the colour estimate
    needs all three channels: a single channel of a colour JPEG is not recognised.

    Parameters
    ----------
    image : numpy.ndarray
        nD image (integer images are scaled to [0, 1]).
    channel_axis : int, optional
        Axis of colour channels; the estimate is the mean over channels.

    Returns
    -------
    float
        Estimated noise standard deviation in image units.

    References
    ----------
    D. L. Donoho, I. M. Johnstone, "Ideal spatial adaptation by wavelet shrinkage",
    Biometrika 81(3), 1994, pp. 425-455.
    G. K. Wallace, "The JPEG still picture compression standard", IEEE Trans. Consumer
    Electronics 38(1), 1992.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = 0.5 + 0.02 * rng.standard_normal((256, 256))
    >>> round(estimate_noise(y), 3)
    0.02
    """
    x = as_float_image(image, check_range=False)  # scale-equivariant: any scale is right
    axis = check_channel_axis(x.ndim, channel_axis)
    if axis is not None:
        wavelet = float(
            np.mean([_wavelet_noise(np.take(x, c, axis=axis)) for c in range(x.shape[axis])])
        )
        jpeg = None
        if x.ndim == 3 and x.shape[axis] in (3, 4):
            rgb = np.moveaxis(np.take(x, range(3), axis=axis), axis, -1)
            jpeg = _jpeg_noise(rgb @ _LUMA, rgb)
            jpeg = None if jpeg is None else jpeg / _LUMA_GAIN
        return wavelet if jpeg is None else max(wavelet, jpeg)
    wavelet = _wavelet_noise(x)
    jpeg = _jpeg_noise(x, x) if x.ndim == 2 else None
    return wavelet if jpeg is None else max(wavelet, jpeg)


def _wavelet_noise(x: np.ndarray) -> float:
    """Median absolute finest-scale Haar detail / 0.6745, at least the rounding noise."""
    d = x.astype(np.float64)
    # on the scale of the largest value (the estimator is scale-equivariant): differences of
    # values near the largest float would overflow
    peak = float(np.max(np.abs(d))) if d.size else 0.0
    if not np.isfinite(peak) or peak == 0.0:
        return 0.0
    d /= peak  # in place: astype made a copy
    floor = _quantisation_noise(d) * peak
    paired = False
    for ax in range(d.ndim):
        n = d.shape[ax] - d.shape[ax] % 2
        if n < 2:
            continue
        even = np.take(d, range(0, n, 2), axis=ax)
        odd = np.take(d, range(1, n, 2), axis=ax)
        d = (even - odd) / np.sqrt(2.0)
        paired = True
    if not paired:  # no pair of neighbours: nothing tells noise from signal
        return floor
    sigma = float(np.median(np.abs(d)) / _MAD_TO_SIGMA)
    with np.errstate(over="ignore"):
        sigma = min(float(np.float64(sigma) * peak), float(np.finfo(np.float64).max))
    return max(sigma, floor)


#: BT.601 luma weights (JPEG's Y) and the noise gain of the luma for independent channels.
_LUMA = np.array([0.299, 0.587, 0.114])
_LUMA_GAIN = float(np.sqrt(np.sum(_LUMA**2)))
#: JPEG: blocks analysed and non-zero coefficients tested at most (and how many screen a
#: frequency first, with the margins below the two bars that reject it); the steps searched,
#: the periodicity a step needs and the share of coefficients at least half a step from zero;
#: the frequencies that must show a step of at least 2 for the file to count as JPEG; the
#: range of zero fractions that measure the noise; the quietest share of blocks each frequency
#: is measured on; the quantile of the per-frequency estimates returned.
_JPEG_MAX_BLOCKS = 20000
_JPEG_MAX_NONZERO = 2000
_JPEG_SCREEN = 250
_JPEG_SCREEN_MARGIN = (0.3, 0.1)
_JPEG_STEPS = np.arange(2, 121)
_JPEG_PERIODICITY = 0.8
_JPEG_AWAY = 0.95
_JPEG_MIN_FREQUENCIES = 6
_JPEG_P0 = (0.05, 0.98)
_JPEG_QUIET = 0.25
_JPEG_QUANTILE = 0.25


def _block_dct(values: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """Orthonormal DCT of 8 x 8 blocks (JPEG grid) of ``values`` (in 8-bit levels), as
    (blocks, 64): a sample of whole block rows, leaving out blocks where ``rgb`` touches 0 or
    255 (clipping removes their noise)."""
    rows, cols = values.shape[0] // 8, values.shape[1] // 8
    step = max(1, rows * cols // _JPEG_MAX_BLOCKS)
    pick = np.arange(0, rows, step)

    def blocks(a: np.ndarray) -> np.ndarray:
        strip = a[: rows * 8].reshape(rows, 8, a.shape[1])[pick][:, :, : cols * 8]
        return strip.reshape(pick.size, 8, cols, 8).swapaxes(1, 2).reshape(-1, 64)

    levels = rgb.reshape(*rgb.shape[:2], -1)
    lo = np.min([blocks(levels[..., c]).min(axis=1) for c in range(levels.shape[-1])], 0)
    hi = np.max([blocks(levels[..., c]).max(axis=1) for c in range(levels.shape[-1])], 0)
    keep = (lo > 0.5 / 255) & (hi < 254.5 / 255)
    b = blocks(values)[keep].reshape(-1, 8, 8) * 255.0
    return sp_fft.dctn(b, axes=(1, 2), norm="ortho").reshape(-1, 64)


def _jpeg_step(c: np.ndarray) -> int:
    """The quantisation step of one DCT frequency: the ``q`` on whose non-zero multiples the
    non-zero coefficients sit best (largest mean of cos(2 pi c / q), hardly any coefficient
    within ``q / 2`` of zero); 0 when there are too few non-zero coefficients, 1 when no step
    fits. The decoder's rounding blurs the multiples a little, which favours the true step
    over its divisors."""
    nz = c[np.abs(c) > 1.5][:_JPEG_MAX_NONZERO]
    if nz.size < 20:
        return 0
    # screen on the first coefficients: the mean cosine of a few hundred of them is within
    # a few hundredths of the full mean, so a step far below the bar is rejected without the
    # full (steps x coefficients) table; most frequencies of a file that is not a JPEG end here
    head = nz[None, :_JPEG_SCREEN]
    screen = np.cos(2 * np.pi * head / _JPEG_STEPS[:, None]).mean(axis=1)
    away = (np.abs(head) >= _JPEG_STEPS[:, None] / 2).mean(axis=1)
    screen[away < _JPEG_AWAY - _JPEG_SCREEN_MARGIN[1]] = -1.0
    if screen.max() < _JPEG_PERIODICITY - _JPEG_SCREEN_MARGIN[0]:
        return 1
    phase = np.cos(2 * np.pi * nz[None, :] / _JPEG_STEPS[:, None]).mean(axis=1)
    away = (np.abs(nz)[None, :] >= _JPEG_STEPS[:, None] / 2).mean(axis=1)
    phase[away < _JPEG_AWAY] = -1.0
    best = int(np.argmax(phase))
    return int(_JPEG_STEPS[best]) if phase[best] > _JPEG_PERIODICITY else 1


def _jpeg_noise(values: np.ndarray, rgb: np.ndarray) -> float | None:
    """Noise of the JPEG luma ``values`` in [0, 1] units, or None when it is not a JPEG.

    ``values`` must lie on the 8-bit grid (a decoded JPEG); ``rgb`` (or the grey image
    itself) marks the clipped blocks.
    """
    if min(values.shape) < 16 or not _on_8bit_grid(rgb):
        return None
    c = _block_dct(values, rgb)
    if c.shape[0] < 64:
        return None
    steps = np.array([_jpeg_step(c[:, f]) for f in range(1, 64)])
    if np.sum(steps >= 2) < _JPEG_MIN_FREQUENCIES:
        return None
    # per frequency, the quietest blocks by their energy at the *other* measurable
    # frequencies: the noise of distinct DCT frequencies is independent, their signal is not
    usable = np.flatnonzero(steps >= 2) + 1
    energy = np.square(c[:, usable] / steps[usable - 1]).sum(axis=1)
    estimates = []
    for f, q in zip(range(1, 64), steps, strict=True):
        if q < 2:
            continue
        others = energy - np.square(c[:, f] / q) if f in usable else energy
        quiet = others <= np.quantile(others, _JPEG_QUIET)
        p0 = float(np.mean(np.abs(c[quiet, f]) < q / 2))
        if _JPEG_P0[0] <= p0 <= _JPEG_P0[1]:
            estimates.append(q / (2 * math.sqrt(2) * float(special.erfinv(p0))))
    return float(np.quantile(estimates, _JPEG_QUANTILE)) / 255.0 if estimates else None


def _on_8bit_grid(x: np.ndarray) -> bool:
    """Whether (a sample of) ``x`` lies on the grid of 8-bit levels, ``k / 255``."""
    sample = x.ravel()[:: max(1, x.size // 100_000)] * 255.0
    return bool(np.allclose(sample, np.round(sample), rtol=0, atol=1e-3))


def _quantisation_noise(x: np.ndarray, max_levels: int = 65536) -> float:
    """Rounding noise :math:`q/\\sqrt{12}` when ``x`` lies on a grid of step ``q``, else 0.

    The step is the smallest gap between distinct values, accepted only when every value is
    an integer multiple of it (as for 8- and 16-bit data scaled to [0, 1]).
    """
    sample = x.ravel()[:: max(1, x.size // 200_000)]
    levels = np.unique(sample)
    if levels.size < 2 or levels.size > max_levels:
        return 0.0
    q = float(np.min(np.diff(levels)))
    with np.errstate(over="ignore"):  # a subnormal gap: no grid, and 1 / q overflows
        steps = levels / q
    if not np.all(np.isfinite(steps)) or not np.allclose(steps, np.round(steps), rtol=0, atol=1e-3):
        return 0.0
    return q / np.sqrt(12.0)
