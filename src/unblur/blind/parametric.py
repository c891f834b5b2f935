r"""Blind PSF estimation for parametric blurs: Gaussian, straight-line motion and defocus disk.

All three estimators read the blur off the power spectrum of the observation alone: each fits
its power transfer :math:`|H_\theta|^2` by the log-periodogram regression of
:mod:`unblur.blind.periodogram`,

.. math:: \log I(f) + \gamma \approx \log\!\left(|H_\theta(f)|^2\, e^{c}\, |f|^{-\alpha}
          + e^{\nu}\right),

a power-law scene (amplitude :math:`c`, slope :math:`\alpha`) above a noise floor
:math:`\nu`, fitted together with the blur parameters :math:`\theta`:

* Gaussian: :math:`|H|^2 = e^{-4\pi^2\sigma^2|f|^2}` has no zeros; :math:`\sigma` is told apart
  from the slope :math:`\alpha` by the curvature of the log spectrum (:math:`|f|^2` against
  :math:`\log|f|`).
* Defocus disk of radius :math:`r`: :math:`|H|^2 = \left(2 J_1(2\pi r|f|) / (2\pi r|f|)\right)^2`,
  whose zero rings (the first at :math:`|f| = 0.61/r`) pin :math:`r` down (Oliveira,
  Figueiredo & Bioucas-Dias 2014).
* Motion of length :math:`L` at angle :math:`\phi`: :math:`|H|^2 =
  \operatorname{sinc}^2(L\, f\cdot u_\phi)`, with parallel zero lines perpendicular to the
  motion. The periodic dips of :math:`\log|H|` make a negative peak in the power cepstrum
  :math:`\mathcal{F}^{-1}\{\log I\}` at the displacement :math:`L\,u_\phi` (Rom 1975; Cannon
  1976). The three deepest cepstral minima start the fit: each gets a local grid over
  :math:`(L, \phi)` on the full 2-D regression, and the best is polished by Nelder-Mead,
  which brings :math:`(L, \phi)` below a pixel and a degree.

The isotropic models are fitted to the radial average of :math:`\log I + \gamma` (weighted by
the number of frequencies per ring, which gives the same least-squares solution as the 2-D fit
up to a constant), over a grid of the blur parameter followed by a bounded scalar search; the
nuisance parameters are fitted for every candidate by a vectorised Levenberg-Marquardt solve.

**Model selection** (``estimate_parametric``): every model is fitted, and its residual sum of
squares :math:`\mathrm{RSS}` on the *same* 2-D set of :math:`n` frequencies scores it by the
Bayesian information criterion of the regression, :math:`\mathrm{BIC} = n \log(\mathrm{RSS}/n)
+ k \log n` (:math:`k`: blur parameters plus the three nuisance parameters); the smallest wins,
with one exception. The full-band residual is dominated by the lowest frequencies and the noise
floor, where a scene departs from its power law, and there a Gaussian can beat a defocus disk
that it does not resemble. What tells them apart is the disk's first zero ring at
:math:`|f| = 0.61/r` (a Gaussian has none), so when the BIC picks the Gaussian the two fits are
compared again on the band :math:`0.5 \le |f|\,r/0.61 \le 1.5` of the radial profile, nuisance
parameters refitted there; a log residual ratio :math:`\log(\mathrm{RSS}_G/\mathrm{RSS}_D) >
0.08` (the spectrum shows the ring) hands the choice to the disk. The band must lie within
:math:`|f| \le 1/2` (:math:`r \ge 1.83` px), and the analysed crop be at least 256 px.

**Pre-processing**: a colour image is averaged to grey by the caller
(:func:`unblur.blind.estimate_psf`); the windowed central crop is described in
:mod:`unblur.blind.periodogram`.

References
----------
L. Rom, "On the cepstrum of two-dimensional functions", IEEE Trans. Information Theory 21(2),
1975, pp. 214-217.
M. Cannon, "Blind deconvolution of spatially invariant image blurs with phase", IEEE Trans.
Acoustics, Speech and Signal Processing 24(1), 1976, pp. 58-63.
J. P. Oliveira, M. A. T. Figueiredo, J. M. Bioucas-Dias, "Parametric blur estimation for blind
restoration of natural images: linear motion and out-of-focus", IEEE TIP 23(1), 2014,
pp. 466-477.
A. van der Schaaf, J. H. van Hateren, "Modelling the power spectra of natural images:
statistics and information", Vision Research 36(17), 1996, pp. 2759-2770.
G. Schwarz, "Estimating the dimension of a model", Annals of Statistics 6(2), 1978,
pp. 461-464.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.optimize
import scipy.special

from .. import fft
from .. import psf as psf_models
from ..errors import InvalidParameterError
from .periodogram import (
    CROP_SIDE,
    H_FLOOR,
    MIN_SIDE,
    Spectrum,
    cost_2d,
    fit_2d,
    fit_nuisance,
    log_periodogram,
    prepare_image,
    score_kernel,
)

__all__ = [
    "CROP_SIDE",
    "MIN_SIDE",
    "PARAMETRIC_MODELS",
    "estimate_disk",
    "estimate_gaussian",
    "estimate_motion",
    "estimate_parametric",
    "score_kernel",
]

#: Names of the parametric models, in the order ``estimate_parametric`` tries them.
PARAMETRIC_MODELS = ("gaussian", "motion", "disk")
#: Search ranges of the blur parameters: lower bound, and upper bound as a fraction of the
#: analysed side n (when ``size`` does not bound it more tightly).
_SIGMA_MIN, _SIGMA_MAX_FRACTION = 0.3, 1 / 16
_RADIUS_MIN, _RADIUS_MAX_FRACTION = 0.5, 1 / 8
_LENGTH_MIN, _LENGTH_MAX_FRACTION = 2.0, 1 / 4
#: Relative step of the coarse grids over sigma and radius.
_GRID_STEP = 0.03
#: Number of cepstral candidates refined for the motion model.
_MOTION_CANDIDATES = 3
#: The band around a disk's first zero ring (fractions of 0.61/r) that the ring test reads,
#: the fewest rings it needs, and the log residual ratio above which it overturns a Gaussian.
_RING_BAND = (0.5, 1.5)
_RING_MIN_RINGS = 6
_RING_MIN_SIDE = 256
_RING_THRESHOLD = 0.08


def _gaussian_log_h(sigma: float, f: np.ndarray) -> np.ndarray:
    """log |H|^2 of a Gaussian of ``sigma`` at the frequencies ``f``."""
    return -4 * np.pi**2 * sigma**2 * f**2


def _log_h(model: str, spec: Spectrum, values: dict[str, float]) -> np.ndarray:
    """log |H|^2 of a model on the 2-D samples."""
    if model == "gaussian":
        return _gaussian_log_h(values["sigma"], spec.rho)
    if model == "disk":
        return np.log(_jinc2(values["radius"] * spec.rho) + H_FLOOR)
    return np.log(np.sinc(values["length"] * spec.motion_t(values["angle"])) ** 2 + H_FLOOR)


def _jinc2(z: np.ndarray) -> np.ndarray:
    r""":math:`(2 J_1(2\pi z) / (2\pi z))^2`, the power transfer of a disk of radius 1 at ``z``."""
    v = 2 * np.pi * np.asarray(z, dtype=np.float64)
    safe = np.where(v > 1e-8, v, 1.0)
    return np.where(v > 1e-8, (2 * scipy.special.j1(safe) / safe) ** 2, 1.0)


# --------------------------------------------------------------------------------------------
# isotropic models: radial profile, grid, then bounded scalar search
# --------------------------------------------------------------------------------------------
def _radial_samples(spec: Spectrum) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The radial profile's non-zero frequencies, values and least-squares weights (the square
    root of the number of 2-D frequencies per ring)."""
    radius, profile, count = spec.radial_profile()
    keep = radius > 0
    return radius[keep], profile[keep], np.sqrt(count[keep])


def _fit_isotropic(
    spec: Spectrum,
    log_h_of: Callable[[float, np.ndarray], np.ndarray],
    lower: float,
    upper: float,
) -> tuple[float, float, np.ndarray]:
    """Best blur parameter in [lower, upper] for the radial model ``log_h_of(p, radius)``."""
    radius, profile, weights = _radial_samples(spec)
    log_r = np.log(radius)
    upper = max(upper, lower * (1 + _GRID_STEP))
    grid = np.exp(np.arange(math.log(lower), math.log(upper) + 1e-9, math.log1p(_GRID_STEP)))
    log_h = np.stack([log_h_of(p, radius) for p in grid])
    costs, params = fit_nuisance(log_h, profile, log_r, weights, spec.nu0)
    best = int(np.argmin(costs))

    def cost(p: float) -> float:
        c, _ = fit_nuisance(
            log_h_of(p, radius)[None], profile, log_r, weights, spec.nu0, start=params[best]
        )
        return float(c[0])

    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    value, value_cost = float(grid[best]), float(costs[best])
    if hi > lo:
        res = scipy.optimize.minimize_scalar(
            cost, bounds=(lo, hi), method="bounded", options={"xatol": 1e-3 * lo}
        )
        if res.fun < value_cost:
            value, value_cost = float(res.x), float(res.fun)
    return value, value_cost, params[best]


def _upper(size: int | None, side: int, fraction: float, from_size: float) -> float:
    bound = side * fraction
    if size is not None:
        bound = min(bound, from_size)
    return bound


def _fit_gaussian(spec: Spectrum, size: int | None) -> dict[str, float]:
    upper = _upper(size, spec.side, _SIGMA_MAX_FRACTION, ((size or 0) - 1) / 4)
    sigma, _, _ = _fit_isotropic(spec, _gaussian_log_h, _SIGMA_MIN, max(upper, _SIGMA_MIN))
    return {"sigma": sigma}


def _fit_disk(spec: Spectrum, size: int | None) -> dict[str, float]:
    upper = _upper(size, spec.side, _RADIUS_MAX_FRACTION, ((size or 0) - 1) / 2)
    radius, _, _ = _fit_isotropic(
        spec, lambda p, r: np.log(_jinc2(p * r) + H_FLOOR), _RADIUS_MIN, max(upper, 1.0)
    )
    return {"radius": radius}


# --------------------------------------------------------------------------------------------
# motion: cepstral candidates, refined on the 2-D spectrum
# --------------------------------------------------------------------------------------------
def _cepstral_candidates(
    spec: Spectrum, max_length: float, box: float | None, count: int
) -> list[tuple[float, float]]:
    r"""Deepest local minima of the power cepstrum :math:`\mathcal F^{-1}\{\log I\}`.

    A line blur of length :math:`L` at angle :math:`\phi` puts a negative peak at the
    displacement :math:`L(\cos\phi, -\sin\phi)` (columns, rows). Only displacements within
    ``max_length`` and, with ``box``, within ``box`` along each axis are searched. Returns up
    to ``count`` ``(length, angle)`` pairs at least two pixels apart, deepest first.
    """
    m, n = spec.shape
    log_power = spec.log_power - spec.log_power.mean()
    cep = fft.irfftn(log_power, spec.shape)
    rows = np.fft.fftfreq(m) * m
    cols = np.fft.fftfreq(n) * n
    dist = np.hypot(rows[:, None], cols[None, :])
    # one of each +-pair: angle in [0, 180) <=> rows < 0, or rows == 0 and cols > 0
    half = (rows[:, None] < 0) | ((rows[:, None] == 0) & (cols[None, :] > 0))
    ring = half & (dist >= _LENGTH_MIN) & (dist <= max_length + 1)
    if box is not None:
        ring &= (np.abs(rows[:, None]) <= box + 1) & (np.abs(cols[None, :]) <= box + 1)
    neighbours = np.min(
        [np.roll(cep, (dr, dc), axis=(0, 1)) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc],
        axis=0,
    )
    minima = ring & (cep <= neighbours) & (cep < 0)
    idx = np.flatnonzero(minima)
    idx = idx[np.argsort(cep.ravel()[idx])]
    chosen: list[tuple[float, float]] = []
    points: list[tuple[float, float]] = []
    for i in idx:
        r, c = np.unravel_index(i, cep.shape)
        dr, dc = float(rows[r]), float(cols[c])
        if any(math.hypot(dr - pr, dc - pc) < 2 for pr, pc in points):
            continue
        points.append((dr, dc))
        chosen.append((math.hypot(dr, dc), math.degrees(math.atan2(-dr, dc)) % 180))
        if len(chosen) == count:
            break
    return chosen


def _length_bound(angle: float, max_length: float, box: float | None) -> float:
    """The longest segment at ``angle`` (degrees) within ``max_length`` whose projection on
    each axis is at most ``box`` (the support's side less 2; None: no support given)."""
    if box is None:
        return max_length
    t = math.radians(angle)
    extent = max(abs(math.cos(t)), abs(math.sin(t)))  # >= 1/sqrt(2)
    return max(min(max_length, box / extent), _LENGTH_MIN + 0.5)


def _motion_log_h(spec: Spectrum, length: float, angle: float) -> np.ndarray:
    return _log_h("motion", spec, {"length": length, "angle": angle})


def _grid_motion(
    spec: Spectrum, length: float, angle: float, max_length: float, box: float | None
) -> tuple[float, float, float, np.ndarray]:
    """Best point of a +-1.5 px, +-3 degree grid around a cepstral start.

    The nuisance parameters are fitted at the start and held during the grid, then refitted
    at the best point. Returns ``(cost, length, angle, nuisance)``.
    """
    _, params = fit_2d(spec, _motion_log_h(spec, length, angle))
    best = (math.inf, length, angle)
    for dl in np.arange(-1.5, 1.51, 0.5):
        for da in np.arange(-3.0, 3.01, 1.0):
            q_len = min(max(length + dl, _LENGTH_MIN), _length_bound(angle + da, max_length, box))
            c = cost_2d(spec, _motion_log_h(spec, q_len, angle + da), params)
            if c < best[0]:
                best = (c, q_len, angle + da)
    _, length, angle = best
    cost, params = fit_2d(spec, _motion_log_h(spec, length, angle), start=params)
    return cost, length, angle, params


def _polish_motion(
    spec: Spectrum,
    length: float,
    angle: float,
    params: np.ndarray,
    max_length: float,
    box: float | None,
) -> tuple[float, float]:
    """Nelder-Mead on (length, angle) with the nuisance held, then refitted; twice."""

    def objective(q: np.ndarray) -> float:
        if not _LENGTH_MIN <= q[0] <= _length_bound(q[1], max_length, box):
            return math.inf
        return cost_2d(spec, _motion_log_h(spec, q[0], q[1]), params)

    for _ in range(2):
        res = scipy.optimize.minimize(
            objective,
            np.array([length, angle]),
            method="Nelder-Mead",
            options={
                "xatol": 0.01,
                "fatol": 0.01,
                "maxfev": 80,
                "initial_simplex": [[length, angle], [length + 0.3, angle], [length, angle + 0.5]],
            },
        )
        if np.isfinite(res.fun):
            length, angle = float(res.x[0]), float(res.x[1])
        _, params = fit_2d(spec, _motion_log_h(spec, length, angle), start=params)
    return length, angle % 180.0


def _fit_motion(spec: Spectrum, size: int | None) -> dict[str, float]:
    # a given size bounds the segment's extent along each axis (its box), not its length: a
    # diagonal segment reaches sqrt(2) times the side (docs/notes/blind_kernel.md, section 14)
    max_length = max(spec.side * _LENGTH_MAX_FRACTION, _LENGTH_MIN + 0.5)
    box = None if size is None else float(size - 2)
    if box is not None:
        max_length = max(min(max_length, box * math.sqrt(2)), _LENGTH_MIN + 0.5)
    candidates = _cepstral_candidates(spec, max_length, box, _MOTION_CANDIDATES)
    if not candidates:  # no cepstral dip at all: start from a short horizontal blur
        candidates = [(_LENGTH_MIN, 0.0)]
    # every candidate gets the grid; the best one (smallest 2-D residual) is polished
    _, length, angle, params = min(
        (
            _grid_motion(
                spec, min(length, _length_bound(angle, max_length, box)), angle, max_length, box
            )
            for length, angle in candidates
        ),
        key=lambda result: result[0],
    )
    length, angle = _polish_motion(spec, length, angle, params, max_length, box)
    return {"length": length, "angle": angle}


# --------------------------------------------------------------------------------------------
# public estimators
# --------------------------------------------------------------------------------------------
_FITTERS = {"gaussian": _fit_gaussian, "motion": _fit_motion, "disk": _fit_disk}
_N_BLUR_PARAMS = {"gaussian": 1, "motion": 2, "disk": 1}


def _make_psf(model: str, values: dict[str, float], size: int | None) -> np.ndarray:
    if model == "gaussian":
        return psf_models.gaussian(values["sigma"], size=size)
    if model == "disk":
        return psf_models.disk(values["radius"], size=size)
    return psf_models.motion(values["length"], values["angle"], size=size)


def _score(model: str, spec: Spectrum, values: dict[str, float]) -> dict[str, float]:
    """Residual and BIC of the model's 2-D log-periodogram regression."""
    half_rss, params = fit_2d(spec, _log_h(model, spec, values))
    n = spec.a.size
    rss = max(2 * half_rss, 1e-300)
    k = _N_BLUR_PARAMS[model] + 3
    return {
        "rss": rss,
        "bic": n * math.log(rss / n) + k * math.log(n),
        "alpha": float(params[1]),
        "noise_sigma": float(math.exp(params[2] / 2)),
    }


def _blur_evidence(spec: Spectrum, sigma: float) -> float:
    r"""How much of the radial log-spectrum's misfit a Gaussian blur of ``sigma`` explains:
    :math:`(C_0 - C_\sigma) / C_\sigma`, with :math:`C` the weighted residual of the radial
    regression (nuisance parameters refitted) without blur and with it. Below 1 the blur
    explains less than what remains unexplained: the curvature it fits is as much the scene's
    departure from a power law as a blur."""
    radius, profile, weights = _radial_samples(spec)
    log_h = np.stack([np.zeros_like(radius), _gaussian_log_h(sigma, radius)])
    costs, _ = fit_nuisance(log_h, profile, np.log(radius), weights, spec.nu0)
    return float((costs[0] - costs[1]) / max(float(costs[1]), 1e-300))


def _ring_evidence(spec: Spectrum, radius: float, sigma: float) -> float | None:
    r"""Log ratio of the Gaussian's to the disk's residual around the disk's first zero ring.

    Both fitted models are evaluated on the rings of the radial profile with
    :math:`0.5 \le |f| r / 0.61 \le 1.5`, the nuisance parameters refitted on that band
    alone; returns :math:`\log(\mathrm{RSS}_G / \mathrm{RSS}_D)` (positive: the spectrum shows
    the disk's zero ring), or None when the band reaches beyond :math:`|f| = 1/2`
    (:math:`r < 1.83`: the ring and its first side lobe are not both seen), holds fewer than
    six rings, or the analysed crop is under 256 px (there the band is too noisy: a Gaussian
    of sigma 2 on a 128 px photograph scored 0.21).
    """
    f0 = 0.61 / radius
    if _RING_BAND[1] * f0 > 0.5 or spec.side < _RING_MIN_SIDE:
        return None
    rad, profile, count = spec.radial_profile()
    keep = (rad >= _RING_BAND[0] * f0) & (rad <= min(_RING_BAND[1] * f0, 0.5)) & (rad > 0)
    if int(keep.sum()) < _RING_MIN_RINGS:
        return None
    rad, profile, weights = rad[keep], profile[keep], np.sqrt(count[keep])
    log_h = np.stack([np.log(_jinc2(radius * rad) + H_FLOOR), -4 * np.pi**2 * sigma**2 * rad**2])
    cost, _ = fit_nuisance(log_h, profile, np.log(rad), weights, spec.nu0)
    return float(math.log(max(cost[1], 1e-300) / max(cost[0], 1e-300)))


def _estimate_one(model: str, image: Any, size: Any, info: dict | None) -> np.ndarray:
    x, size = prepare_image(image, size)
    spec = log_periodogram(x, size)
    values = _FITTERS[model](spec, size)
    if info is not None:
        info.update(_base_info(model, values, spec, size))
        if model == "gaussian":
            info["blur_evidence"] = _blur_evidence(spec, values["sigma"])
    return _make_psf(model, values, size)


def _base_info(model: str, values: dict, spec: Spectrum, size: int | None) -> dict[str, Any]:
    return {
        "model": model,
        "parameters": dict(values),
        "size": size,
        "crop_shape": spec.shape,
        "noise_sigma": spec.noise_sigma,
    }


def estimate_gaussian(
    image: np.ndarray, *, size: int | None = None, info: dict | None = None
) -> np.ndarray:
    r"""Estimate the width of a Gaussian blur from the blurred image alone.

    Fits the radially averaged log power spectrum of the observation with

    .. math:: \log I(f) + \gamma \approx \log\left(e^{c}|f|^{-\alpha}
              e^{-4\pi^2\sigma^2 |f|^2} + e^{\nu}\right),

    the Gaussian's transfer function on the power-law spectrum of natural scenes above a white
    noise floor (see :mod:`unblur.blind.parametric`), over :math:`\sigma \in [0.3, n/16]`
    (:math:`n` the analysed side; at most :math:`(\text{size} - 1)/4` with ``size``).

    Parameters
    ----------
    image : numpy.ndarray
        Blurred 2-D grey image (float or integer; integers are scaled to [0, 1]), at least
        32 x 32. Large images are analysed on their central 512 x 512 crop.
    size : int, optional
        Odd side of the returned PSF (an even value is rounded up) and bound on the search.
        Default: the model's own size, ``2 * ceil(4 * sigma) + 1``.
    info : dict, optional
        Receives ``model``, ``parameters`` (``{"sigma": ...}``), ``size``, ``crop_shape``,
        ``noise_sigma`` (the wavelet estimate on the crop) and ``blur_evidence`` (the share of
        the log-spectrum's misfit the blur explains; see :mod:`unblur.blind.confidence`).

    Returns
    -------
    numpy.ndarray
        The PSF, ``unblur.psf.gaussian(sigma)``: float64, sums to one.

    Raises
    ------
    InvalidImageError
        Not 2-D, smaller than 32 x 32, non-finite, or flat.
    InvalidParameterError
        ``size`` not an integer >= 3 or larger than the image.

    References
    ----------
    A. van der Schaaf, J. H. van Hateren, "Modelling the power spectra of natural images",
    Vision Research 36(17), 1996.
    J. P. Oliveira, M. A. T. Figueiredo, J. M. Bioucas-Dias, "Parametric blur estimation for
    blind restoration of natural images: linear motion and out-of-focus", IEEE TIP 23(1), 2014.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage.data import camera
    >>> from unblur import add_noise, blur, psf
    >>> from unblur.blind import estimate_gaussian
    >>> x = camera().reshape(256, 2, 256, 2).mean(axis=(1, 3)) / 255
    >>> y = add_noise(blur(x, psf.gaussian(2.0)), gaussian=0.01, rng=0)
    >>> info = {}
    >>> k = estimate_gaussian(y, info=info)
    >>> bool(abs(info["parameters"]["sigma"] - 2.0) < 0.2)
    True
    """
    return _estimate_one("gaussian", image, size, info)


def estimate_motion(
    image: np.ndarray, *, size: int | None = None, info: dict | None = None
) -> np.ndarray:
    r"""Estimate the length and angle of a straight-line motion blur from the image alone.

    A uniform motion of :math:`L` pixels along the unit vector :math:`u_\phi` has
    :math:`|H(f)|^2 = \operatorname{sinc}^2(L\, f\cdot u_\phi)`: parallel zero lines
    perpendicular to the motion, :math:`1/L` apart. Their periodicity puts a negative peak in
    the power cepstrum of the observation at the displacement :math:`L u_\phi` (Rom 1975;
    Cannon 1976); the three deepest cepstral minima within :math:`L \le n/4` start a
    refinement that fits the 2-D log power spectrum

    .. math:: \log I(f) + \gamma \approx \log\left(\operatorname{sinc}^2(L\, f\cdot u_\phi)
              \, e^{c}|f|^{-\alpha} + e^{\nu}\right)

    by least squares: each start gets a grid of :math:`\pm 1.5` px and :math:`\pm 3` degrees
    (nuisance parameters held, then refitted), and the start whose best grid point leaves the
    smallest residual is polished by Nelder-Mead on :math:`(L, \phi)`.

    Parameters
    ----------
    image : numpy.ndarray
        Blurred 2-D grey image, at least 32 x 32 (large images: central 512 x 512 crop).
    size : int, optional
        Odd side of the returned PSF (even values are rounded up); bounds the segment's
        extent along each axis, :math:`L \max(|\cos\phi|, |\sin\phi|)`, to ``size - 2``
        (a diagonal segment may be up to :math:`\sqrt 2` times longer than the side).
        Default: the segment's own bounding box.
    info : dict, optional
        Receives ``model``, ``parameters`` (``{"length": ..., "angle": ...}``, the angle in
        degrees in [0, 180), counter-clockwise from the x axis as in
        :func:`unblur.psf.motion`), ``size``, ``crop_shape`` and ``noise_sigma``.

    Returns
    -------
    numpy.ndarray
        The PSF, ``unblur.psf.motion(length, angle)``.

    Raises
    ------
    InvalidImageError
        Not 2-D, smaller than 32 x 32, non-finite, or flat.
    InvalidParameterError
        ``size`` not an integer >= 3 or larger than the image.

    References
    ----------
    L. Rom, "On the cepstrum of two-dimensional functions", IEEE Trans. Inf. Theory 21(2), 1975.
    M. Cannon, "Blind deconvolution of spatially invariant image blurs with phase", IEEE Trans.
    ASSP 24(1), 1976.
    J. P. Oliveira, M. A. T. Figueiredo, J. M. Bioucas-Dias, "Parametric blur estimation for
    blind restoration of natural images: linear motion and out-of-focus", IEEE TIP 23(1), 2014.

    Examples
    --------
    >>> from skimage.data import camera
    >>> from unblur import add_noise, blur, psf
    >>> from unblur.blind import estimate_motion
    >>> x = camera().reshape(256, 2, 256, 2).mean(axis=(1, 3)) / 255
    >>> y = add_noise(blur(x, psf.motion(15, angle=30)), gaussian=0.01, rng=0)
    >>> info = {}
    >>> k = estimate_motion(y, info=info)
    >>> p = info["parameters"]
    >>> bool(abs(p["length"] - 15) < 1 and abs(p["angle"] - 30) < 3)
    True
    """
    return _estimate_one("motion", image, size, info)


def estimate_disk(
    image: np.ndarray, *, size: int | None = None, info: dict | None = None
) -> np.ndarray:
    r"""Estimate the radius of a defocus (uniform disk) blur from the image alone.

    The disk of radius :math:`r` has the Airy-like transfer function
    :math:`H(f) = 2 J_1(2\pi r|f|) / (2\pi r|f|)` with zero rings, the first at
    :math:`|f| = 0.61/r`. The radially averaged log power spectrum is fitted with

    .. math:: \log I(f) + \gamma \approx \log\left(H(f)^2\, e^{c}|f|^{-\alpha} + e^{\nu}\right)

    over a grid of :math:`r \in [0.5, n/8]` (3 % steps; at most :math:`(\text{size} - 1)/2`),
    then a bounded scalar search around the best grid point (Oliveira et al. 2014).

    Parameters
    ----------
    image : numpy.ndarray
        Blurred 2-D grey image, at least 32 x 32 (large images: central 512 x 512 crop).
    size : int, optional
        Odd side of the returned PSF (even values are rounded up). Default
        ``2 * ceil(radius) + 1``.
    info : dict, optional
        Receives ``model``, ``parameters`` (``{"radius": ...}``), ``size``, ``crop_shape`` and
        ``noise_sigma``.

    Returns
    -------
    numpy.ndarray
        The PSF, ``unblur.psf.disk(radius)``.

    Raises
    ------
    InvalidImageError
        Not 2-D, smaller than 32 x 32, non-finite, or flat.
    InvalidParameterError
        ``size`` not an integer >= 3 or larger than the image.

    References
    ----------
    J. P. Oliveira, M. A. T. Figueiredo, J. M. Bioucas-Dias, "Parametric blur estimation for
    blind restoration of natural images: linear motion and out-of-focus", IEEE TIP 23(1), 2014.

    Examples
    --------
    >>> from skimage.data import camera
    >>> from unblur import add_noise, blur, psf
    >>> from unblur.blind import estimate_disk
    >>> x = camera().reshape(256, 2, 256, 2).mean(axis=(1, 3)) / 255
    >>> y = add_noise(blur(x, psf.disk(5)), gaussian=0.01, rng=0)
    >>> info = {}
    >>> k = estimate_disk(y, info=info)
    >>> bool(abs(info["parameters"]["radius"] - 5) < 0.5)
    True
    """
    return _estimate_one("disk", image, size, info)


def estimate_parametric(
    image: np.ndarray,
    *,
    size: int | None = None,
    models: tuple[str, ...] = PARAMETRIC_MODELS,
    info: dict | None = None,
) -> np.ndarray:
    r"""Fit every parametric blur model and keep the one the spectrum supports best.

    Each model of ``models`` is estimated as by :func:`estimate_gaussian`,
    :func:`estimate_motion` and :func:`estimate_disk`; then its log-periodogram regression is
    evaluated on the same 2-D set of :math:`n` frequencies, with the nuisance parameters
    refitted, and scored by the Bayesian information criterion

    .. math:: \mathrm{BIC} = n \log(\mathrm{RSS}/n) + k \log n

    (:math:`k`: 1 blur parameter for the Gaussian and the disk, 2 for motion, plus 3 nuisance
    parameters). Because the residuals of a log-periodogram have the same variance at every
    frequency, this is the Gaussian likelihood of the regression: the smallest BIC wins, except
    that a Gaussian winner is replaced by the disk fit when the band around the disk's first
    zero ring, :math:`0.5 \le |f|\,r / 0.61 \le 1.5`, favours the disk by a log residual ratio
    above 0.08 (see :mod:`unblur.blind.parametric`).

    Parameters
    ----------
    image : numpy.ndarray
        Blurred 2-D grey image, at least 32 x 32 (large images: central 512 x 512 crop).
    size : int, optional
        Odd side of the returned PSF and bound on every search (see the single estimators).
    models : tuple of str, optional
        Subset of ``("gaussian", "motion", "disk")`` to choose from.
    info : dict, optional
        Receives ``model`` (the winner), ``parameters`` (its values), ``scores`` (per model:
        ``parameters``, ``bic``, ``rss``, fitted ``alpha`` and ``noise_sigma``), ``criterion``
        (``"bic"``, or ``"ring"`` where the zero-ring test overturned a Gaussian),
        ``ring_evidence`` (the test's log residual ratio, None where it was not run),
        ``size``, ``crop_shape`` and ``noise_sigma``; a Gaussian winner adds
        ``blur_evidence`` (see :mod:`unblur.blind.confidence`).

    Returns
    -------
    numpy.ndarray
        The PSF of the chosen model.

    References
    ----------
    G. Schwarz, "Estimating the dimension of a model", Annals of Statistics 6(2), 1978.
    J. P. Oliveira, M. A. T. Figueiredo, J. M. Bioucas-Dias, "Parametric blur estimation for
    blind restoration of natural images: linear motion and out-of-focus", IEEE TIP 23(1), 2014.

    Examples
    --------
    >>> from skimage.data import camera
    >>> from unblur import add_noise, blur, psf
    >>> from unblur.blind import estimate_parametric
    >>> x = camera().reshape(256, 2, 256, 2).mean(axis=(1, 3)) / 255
    >>> y = add_noise(blur(x, psf.disk(4)), gaussian=0.01, rng=0)
    >>> info = {}
    >>> k = estimate_parametric(y, info=info)
    >>> info["model"]
    'disk'
    """
    models = tuple(models)
    unknown = [m for m in models if m not in PARAMETRIC_MODELS]
    if unknown or not models:
        raise InvalidParameterError(
            f"models must be a non-empty subset of {', '.join(PARAMETRIC_MODELS)}, got {models!r}"
        )
    x, size = prepare_image(image, size)
    spec = log_periodogram(x, size)
    scores: dict[str, dict[str, Any]] = {}
    for model in dict.fromkeys(models):
        values = _FITTERS[model](spec, size)
        scores[model] = {"parameters": values, **_score(model, spec, values)}
    winner = min(scores, key=lambda m: scores[m]["bic"])
    criterion = "bic"
    ring = None
    if winner == "gaussian" and "disk" in scores:
        ring = _ring_evidence(
            spec, scores["disk"]["parameters"]["radius"], scores["gaussian"]["parameters"]["sigma"]
        )
        if ring is not None and ring > _RING_THRESHOLD:
            winner, criterion = "disk", "ring"
    if info is not None:
        info.update(_base_info(winner, scores[winner]["parameters"], spec, size))
        info["scores"] = scores
        info["criterion"] = criterion
        info["ring_evidence"] = ring
        if winner == "gaussian":
            info["blur_evidence"] = _blur_evidence(spec, scores[winner]["parameters"]["sigma"])
    return _make_psf(winner, scores[winner]["parameters"], size)
