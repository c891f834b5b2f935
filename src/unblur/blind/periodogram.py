r"""The log-periodogram regression that the parametric PSF estimators are fitted by.

For :math:`y = h * x + n` with white noise of variance :math:`\sigma_n^2`, the periodogram
:math:`I(f) = |Y(f)|^2 / N` (an :math:`N`-pixel image) has expectation

.. math:: \mathbb{E}\, I(f) = |H(f)|^2\, S_x(f) + \sigma_n^2,

and for a Gaussian signal :math:`I(f)` is that expectation times an exponential variable, so
:math:`\log I(f) + \gamma` (:math:`\gamma` Euler's constant) is an unbiased estimate of the log
of the expectation with the same variance :math:`\pi^2/6` at every frequency. The latent image
follows the power law of natural scenes, :math:`S_x(f) = A\,|f|^{-\alpha}` (van der Schaaf &
van Hateren 1996), so a blur's power transfer :math:`|H_\theta|^2` is scored by the regression

.. math:: \log I(f) + \gamma \approx \log\!\left(|H_\theta(f)|^2\, e^{c}\, |f|^{-\alpha}
          + e^{\nu}\right)

by least squares over the frequencies :math:`|f| \ge 3/n`, with the nuisance parameters
:math:`c` (log amplitude), :math:`\alpha \in [0, 6]` (spectral slope) and :math:`\nu` (log noise
power, started at the :func:`unblur.noise.estimate_noise` value) fitted for every candidate
:math:`\theta` by a vectorised Levenberg-Marquardt solve (:func:`fit_nuisance`).
:mod:`unblur.blind.parametric` fits the Gaussian, motion and disk models with it;
:func:`score_kernel` scores any kernel on the same frequencies.

**Pre-processing** (:func:`log_periodogram`): a large image is analysed on its central
``512 x 512`` crop (the blur is assumed uniform over the image; a larger crop is used when
``size`` asks for it); the mean is removed and the crop multiplied by a separable Hann window
scaled to unit mean square, so the periodogram of white noise keeps the level
:math:`\sigma_n^2`. The window removes the cross-shaped artefact of the image borders: without
it the border jumps dominate the spectrum wherever the blur has pushed the image below them.
(The periodic-plus-smooth decomposition of Moisan (2011) keeps the spectrum sharper but leaves
the borders' slope discontinuities, which halved the Gaussian width found on noise-free images;
the window's three-bin smoothing costs the fits nothing measurable.)

References
----------
A. van der Schaaf, J. H. van Hateren, "Modelling the power spectra of natural images:
statistics and information", Vision Research 36(17), 1996, pp. 2759-2770.
F. J. Harris, "On the use of windows for harmonic analysis with the discrete Fourier
transform", Proceedings of the IEEE 66(1), 1978, pp. 51-83.
L. Moisan, "Periodic plus smooth image decomposition", J. Math. Imaging Vision 39(2), 2011,
pp. 161-179.
G. Schwarz, "Estimating the dimension of a model", Annals of Statistics 6(2), 1978,
pp. 461-464.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import fft
from .._checks import as_float_image
from ..errors import InvalidImageError
from ..noise import estimate_noise
from ._common import check_size

__all__ = [
    "CROP_SIDE",
    "H_FLOOR",
    "MIN_SIDE",
    "Spectrum",
    "cost_2d",
    "fit_2d",
    "fit_nuisance",
    "log_periodogram",
    "prepare_image",
    "score_kernel",
    "score_on_spectrum",
]

#: Smallest image side (pixels) a PSF is estimated from.
MIN_SIDE = 32
#: Side of the central crop that large images are analysed on.
CROP_SIDE = 512
#: Floor added to |H|^2 before the logarithm (the noise term dominates far above it).
H_FLOOR = 1e-12

_EULER_GAMMA = 0.5772156649015329
#: Lowest frequency used, in DFT bins (the window's main lobe spreads the mean over two).
_MIN_BIN = 3
#: Bounds of the spectral slope alpha.
_ALPHA_BOUNDS = (0.0, 6.0)


# --------------------------------------------------------------------------------------------
# validation and pre-processing
# --------------------------------------------------------------------------------------------
def prepare_image(image: Any, size: Any) -> tuple[np.ndarray, int | None]:
    """Validate a 2-D image and ``size``; return the image as float and the odd size."""
    x = as_float_image(image)
    if x.ndim != 2:
        raise InvalidImageError(
            f"parametric PSF estimation needs a 2-D (grey) image, got {x.ndim}-D "
            "(for colour, call unblur.estimate_psf(..., channel_axis=-1))"
        )
    if min(x.shape) < MIN_SIDE:
        raise InvalidImageError(
            f"image is {x.shape[0]}x{x.shape[1]} pixels; PSF estimation needs at least "
            f"{MIN_SIDE}x{MIN_SIDE}"
        )
    checked = check_size(size, x.shape, pair=False, half=False)
    return x, None if checked is None else checked[0]


def _central_crop(x: np.ndarray, side: int) -> np.ndarray:
    starts = [(n - min(n, side)) // 2 for n in x.shape]
    return x[tuple(slice(s, s + min(n, side)) for s, n in zip(starts, x.shape, strict=True))]


def _hann_window(shape: tuple[int, ...]) -> np.ndarray:
    """Separable periodic Hann window scaled to unit mean square (white noise keeps its power)."""
    w = np.ones(())
    for ax, n in enumerate(shape):
        v = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)
        w = np.multiply.outer(w, v) if ax else v
    return w / math.sqrt(float(np.mean(w**2)))


@dataclass
class Spectrum:
    """Log-periodogram of the analysed crop, as 2-D samples and as the full half-plane."""

    shape: tuple[int, int]
    log_power: np.ndarray  # log I + gamma on the rfft half-plane
    fy: np.ndarray  # (m, 1) frequencies along rows, cycles/pixel
    fx: np.ndarray  # (1, n//2+1) along columns
    a: np.ndarray  # log I + gamma on the samples used by every fit
    sy: np.ndarray  # row frequency of each sample
    sx: np.ndarray  # column frequency of each sample
    rho: np.ndarray  # |f| of each sample
    log_rho: np.ndarray
    nu0: float  # log noise power from the wavelet estimator
    noise_sigma: float
    bin_width: float  # radial bin width, 1 / max(shape)

    @property
    def side(self) -> int:
        return min(self.shape)

    def radial_profile(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean of the samples in rings of width ``bin_width``: (radius, mean, count)."""
        k = np.floor(self.rho / self.bin_width + 0.5).astype(np.int64)
        inside = self.rho <= 0.5
        count = np.bincount(k[inside])
        total = np.bincount(k[inside], weights=self.a[inside])
        ok = count > 0
        idx = np.nonzero(ok)[0]
        return idx * self.bin_width, total[ok] / count[ok], count[ok].astype(np.float64)

    def motion_t(self, angle: float) -> np.ndarray:
        """Frequency component along the motion direction of ``angle`` degrees."""
        th = math.radians(angle)
        return -self.sy * math.sin(th) + self.sx * math.cos(th)


def log_periodogram(x: np.ndarray, size: int | None) -> Spectrum:
    """Grey crop -> mean-free, Hann-windowed -> log-periodogram samples."""
    side = CROP_SIDE if size is None else max(CROP_SIDE, 4 * size)
    crop = _central_crop(x, side).astype(np.float64)
    peak = float(np.max(np.abs(crop)))
    if float(np.ptp(crop)) <= 1e-12 * max(peak, 1e-300) or peak == 0:
        raise InvalidImageError("image is flat: no structure to estimate a PSF from")
    window = _hann_window(crop.shape)
    u = (crop - np.average(crop, weights=window)) * window
    u_hat = fft.rfftn(u)
    power = (u_hat.real**2 + u_hat.imag**2) / u.size
    floor = 1e-12 * float(power.mean()) + 1e-300
    log_power = np.log(np.maximum(power, floor)) + _EULER_GAMMA
    m, n = u.shape
    fy = np.fft.fftfreq(m)[:, None]
    fx = np.fft.rfftfreq(n)[None, :]
    rho = np.sqrt(fy**2 + fx**2)
    bin_width = 1.0 / max(m, n)
    use = rho >= _MIN_BIN * bin_width
    sy = np.broadcast_to(fy, rho.shape)[use]
    sx = np.broadcast_to(fx, rho.shape)[use]
    sigma = float(estimate_noise(crop))
    nu0 = math.log(max(sigma**2, floor))
    return Spectrum(
        shape=(m, n),
        log_power=log_power,
        fy=fy,
        fx=fx,
        a=log_power[use],
        sy=sy,
        sx=sx,
        rho=rho[use],
        log_rho=np.log(rho[use]),
        nu0=nu0,
        noise_sigma=sigma,
        bin_width=bin_width,
    )


# --------------------------------------------------------------------------------------------
# the log-periodogram regression
# --------------------------------------------------------------------------------------------
def model(log_h: np.ndarray, params: np.ndarray, log_f: np.ndarray) -> tuple[np.ndarray, ...]:
    """log(|H|^2 e^c |f|^-alpha + e^nu) and the signal fraction s / (s + e^nu)."""
    lin = log_h + params[..., 0:1] - params[..., 1:2] * log_f
    m = np.logaddexp(lin, params[..., 2:3])
    return m, np.exp(lin - m)


def fit_nuisance(
    log_h: np.ndarray,
    a: np.ndarray,
    log_f: np.ndarray,
    weights: np.ndarray,
    nu0: float,
    *,
    start: np.ndarray | None = None,
    iterations: int = 40,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Fit :math:`(c, \alpha, \nu)` for each row of ``log_h`` (K candidates x B samples).

    Minimises :math:`\tfrac12\sum_b w_b^2 (a_b - \log(h_{kb} e^c f_b^{-\alpha} + e^\nu))^2` per
    candidate by Levenberg-Marquardt, all candidates at once, from ``start`` (K x 3 or 3) or
    from :math:`\alpha = 2`, :math:`\nu = \nu_0` and :math:`c` matched to the bins clearly
    above the noise. Returns ``(cost, params)``.
    """
    log_h = np.atleast_2d(log_h)
    k = log_h.shape[0]
    w2 = weights**2
    if start is None:
        signal = (a > nu0 + 1.0)[None, :] & (log_h > -2.0)
        resid0 = a[None, :] - log_h + 2.0 * log_f[None, :]
        num = np.where(signal, resid0 * w2, 0.0).sum(axis=1)
        den = np.where(signal, w2, 0.0).sum(axis=1)
        fallback = float(np.average(a + 2.0 * log_f, weights=w2))
        c0 = np.where(den > 0, num / np.maximum(den, 1e-300), fallback)
        params = np.stack([c0, np.full(k, 2.0), np.full(k, nu0)], axis=1)
    else:
        params = np.array(np.broadcast_to(start, (k, 3)), dtype=np.float64)

    def evaluate(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        m, frac = model(log_h, p, log_f)
        r = weights * (a - m)
        return r, frac, 0.5 * np.sum(r**2, axis=1)

    r, frac, cost = evaluate(params)
    lam = np.full(k, 1e-3)
    max_step = np.array([5.0, 1.0, 5.0])
    eye = np.eye(3)
    quiet = 0
    for _ in range(iterations):
        # Jacobian columns (d model / d c, d alpha, d nu), times the weights
        cols = (weights * frac, -weights * log_f * frac, weights * (1 - frac))
        jtj = np.empty((k, 3, 3))
        for i in range(3):
            for j in range(i, 3):
                jtj[:, i, j] = jtj[:, j, i] = np.sum(cols[i] * cols[j], axis=1)
        grad = -np.stack([np.sum(col * r, axis=1) for col in cols], axis=1)
        diag = np.maximum(np.diagonal(jtj, axis1=1, axis2=2), 1e-9)
        lhs = jtj + lam[:, None, None] * diag[:, :, None] * eye
        step = -np.linalg.solve(lhs, grad[:, :, None])[:, :, 0]
        step = np.clip(step, -max_step, max_step)
        trial = params + step
        trial[:, 1] = np.clip(trial[:, 1], *_ALPHA_BOUNDS)
        r_t, frac_t, cost_t = evaluate(trial)
        better = cost_t < cost
        gain = np.where(better, cost - cost_t, 0.0)
        params = np.where(better[:, None], trial, params)
        r = np.where(better[:, None], r_t, r)
        frac = np.where(better[:, None], frac_t, frac)
        cost = np.where(better, cost_t, cost)
        lam = np.clip(np.where(better, lam * 0.3, lam * 10.0), 1e-9, 1e9)
        quiet = quiet + 1 if np.all(gain <= 1e-9 * cost) else 0
        if quiet >= 3:
            break
    return cost, params


def fit_2d(
    spec: Spectrum, log_h: np.ndarray, start: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Nuisance fit of one blur model on the 2-D samples: (half RSS, params)."""
    cost, params = fit_nuisance(
        log_h[None, :], spec.a, spec.log_rho, np.ones_like(spec.a), spec.nu0, start=start
    )
    return float(cost[0]), params[0]


def cost_2d(spec: Spectrum, log_h: np.ndarray, params: np.ndarray) -> float:
    """Half RSS of a blur model on the 2-D samples with the nuisance parameters held fixed."""
    m = np.logaddexp(log_h + params[0] - params[1] * spec.log_rho, params[2])
    return 0.5 * float(np.sum((spec.a - m) ** 2))


def kernel_log_h(spec: Spectrum, kernel: np.ndarray) -> np.ndarray:
    """log |K|^2 of an arbitrary kernel on the spectrum's 2-D samples."""
    m, n = spec.shape
    k = np.asarray(kernel, dtype=np.float64)
    k = k / k.sum()
    grid = np.zeros((m, n))
    h, w = min(k.shape[0], m), min(k.shape[1], n)
    r0, c0 = (k.shape[0] - h) // 2, (k.shape[1] - w) // 2
    grid[:h, :w] = k[r0 : r0 + h, c0 : c0 + w]
    grid = np.roll(grid, (-(h // 2), -(w // 2)), axis=(0, 1))
    spectrum = fft.rfftn(grid)
    power = spectrum.real**2 + spectrum.imag**2
    rho = np.sqrt(spec.fy**2 + spec.fx**2)
    use = rho >= _MIN_BIN * spec.bin_width
    return np.log(power[use] + H_FLOOR)


def score_kernel(
    image: np.ndarray, kernel: np.ndarray, *, size: int | None = None, dof: int = 0
) -> dict[str, float]:
    r"""Score any kernel by the log-periodogram regression of the parametric models.

    The kernel's power transfer :math:`|K(f)|^2` takes the place of :math:`|H_\theta|^2`; the
    nuisance parameters (amplitude, slope, noise) are fitted as for
    :func:`estimate_parametric`, on the same crop and frequencies, so the residual sum of
    squares and the Bayesian information criterion
    :math:`n\log(\mathrm{RSS}/n) + (3 + \mathrm{dof})\log n` compare with its ``scores``.

    Parameters
    ----------
    image : numpy.ndarray
        The blurred 2-D grey image the parametric models were fitted to.
    kernel : numpy.ndarray
        Any 2-D kernel (normalised to sum one here).
    size : int, optional
        As given to :func:`estimate_parametric` (it sets the analysed crop of large images).
    dof : int, optional
        Degrees of freedom charged to the kernel in the criterion.

    Returns
    -------
    dict
        ``rss``, ``bic``, the fitted ``alpha`` and ``noise_sigma``.
    """
    x, size = prepare_image(image, size)
    return score_on_spectrum(log_periodogram(x, size), kernel, dof=dof)


def score_on_spectrum(spec: Spectrum, kernel: np.ndarray, *, dof: int = 0) -> dict[str, float]:
    """:func:`score_kernel` on a log-periodogram already computed (:func:`log_periodogram` of
    :func:`prepare_image`'s crop): several kernels of one image share its spectrum."""
    half_rss, params = fit_2d(spec, kernel_log_h(spec, kernel))
    n = spec.a.size
    rss = max(2 * half_rss, 1e-300)
    return {
        "rss": rss,
        "bic": n * math.log(rss / n) + (3 + dof) * math.log(n),
        "alpha": float(params[1]),
        "noise_sigma": float(math.exp(params[2] / 2)),
    }
