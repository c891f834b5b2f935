r"""PSFs measured from images of sub-resolution beads (2-D or 3-D), one PSF or a field.

An image of beads much smaller than the resolution is, up to noise and a background, a sum of
shifted copies of the PSF. :func:`from_beads` turns it back into the PSF:

1. **Detection.** The image is smoothed by a Gaussian of one pixel; its local maxima higher
   than ``min_snr`` times the smoothed noise above the background (the median) are
   candidates. A maximum within two pixels of a brighter one, or joined to it by a straight
   path that never dips below 90 % of its height, is the same bead; a maximum closer than
   one PSF box (along every axis) to a bead at least ten times brighter, or to a saturated
   bead, is one of its side lobes (Airy rings, defocus rings of a widefield stack) and is
   dropped.
2. **Rejection.** A bead is used only if no other bead lies within one PSF box of it along
   every axis (their light would overlap), its box with a margin lies inside the image, and
   it is not saturated (a pixel at or above ``saturation``; by default two or more pixels at
   the image's maximum, the plateau a clipped bead leaves).
3. **Registration.** Each bead's centre is first the vertex of a parabola through the
   smoothed maximum and its neighbours, per axis; its crop (with a margin) has the median of
   the margin subtracted (the local background) and is moved by a Fourier phase ramp so the
   centre falls on the central pixel. The crops are then aligned to their average by a few
   Gauss-Newton steps (Lucas & Kanade 1981) of the model :math:`c_b \approx a_b T(x -
   \varepsilon_b) + o_b`, linearised as :math:`a_b T - a_b\nabla T\cdot\varepsilon_b + o_b`
   and solved for brightness, offset and sub-pixel shift; the average :math:`T` is
   re-centred on its interpolated peak at each pass. Beads whose residual in the PSF's core
   is an outlier (a pair closer than the resolution, dust) are dropped (median plus five
   robust standard deviations).
4. **Average.** :math:`T = \sum_b (c_b - o_b) / \sum_b a_b`, the maximum-likelihood average
   of Poisson-limited beads; negative values are set to zero and :math:`T` normalised.

With ``grid`` the PSFs of a field (:mod:`unblur.psf.field`) are fitted jointly to the
registered beads: bead :math:`b` at position :math:`p_b` is modelled as
:math:`a_b\sum_i w_i(p_b) K_i`, the hat-weighted PSFs of the cells around it, so

.. math:: \sum_b a_b^2\, w(p_b) w(p_b)^\top K + \lambda (K - \bar K) = \sum_b a_b w(p_b)\,
          (c_b - o_b),

solved pixel by pixel (a system of the size of the grid), with a small ridge
:math:`\lambda` (a tenth of a median bead) towards the global average :math:`\bar K` for cells
that no bead covers.

The FWHM reported per axis is the width at half the peak of the profile through the centre,
crossings interpolated linearly.

References
----------
B. D. Lucas, T. Kanade, "An iterative image registration technique with an application to
stereo vision", Proc. IJCAI 1981, pp. 674-679.
R. Juškaitis, "Measuring the real point spread function of high numerical aperture
microscope objective lenses", in *Handbook of Biological Confocal Microscopy*, 3rd ed.,
Springer, 2006, pp. 239-250 (bead averaging).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.fft

from .. import fft
from .._checks import as_float_image, check_number
from ..errors import InvalidImageError, InvalidParameterError
from .field import PSFField, _grid_shape

__all__ = ["from_beads", "fwhm"]

#: a maximum inside the box of a bead this many times brighter is one of its side lobes
_LOBE_RATIO = 0.1
#: maxima this close (pixels, along every axis) to a brighter one are the same bead
_SAME_BEAD = 2
#: two maxima joined by a straight path that stays above this fraction of the lower one (in
#: the smoothed image) are one bead (a flat-topped or ridged PSF, whose maxima differ by
#: noise); two beads 4 px apart with a FWHM of 2.4 px dip to 60-87 % of the dimmer one
_NO_DIP = 0.9
#: extra pixels around each crop, room for the sub-pixel shift and the local background
_MARGIN = 3
#: registration passes (re-centre, align, re-average)
_PASSES = 4
#: outliers: residual above the median plus this many robust standard deviations
_OUTLIER_SIGMAS = 5.0


def from_beads(
    image,
    *,
    size: int | Sequence[int] | None = None,
    grid: Sequence[int] | None = None,
    min_snr: float = 8.0,
    saturation: float | None = None,
    background: float | None = None,
    info: dict[str, Any] | None = None,
):
    """Measure the PSF from an image of isolated sub-resolution beads (2-D or 3-D).

    Parameters
    ----------
    image : array_like
        2-D image or 3-D stack (z, y, x) of beads on a dark background. Integer data are
        scaled to [0, 1].
    size : int or sequence of int, optional
        Odd side lengths of the PSF (one number for every axis). Default: eight times the
        beads' median FWHM plus one along each axis (about three Airy rings), at most the
        image.
    grid : sequence of int, optional
        Cells per axis: return a :class:`~unblur.psf.PSFField` with one PSF per cell instead
        of one PSF. For a stack, ``(gy, gx)`` means ``(1, gy, gx)``.
    min_snr : float, optional
        Detection threshold: height of a smoothed maximum above the background, in units of
        the smoothed noise.
    saturation : float, optional
        Pixel value (in the image's [0, 1] scale for integer data) at or above which a bead is
        saturated and rejected. Default: two or more pixels equal to the image's maximum.
    background : float, optional
        Constant background to subtract. Default: the median of the margin around each bead.
    info : dict, optional
        Filled in place: ``n_beads`` (used), ``fwhm`` (pixels, per axis), ``positions``
        (sub-pixel centres of the beads used, one row each), ``candidates`` (beads found)
        and the rejected counts ``overlapping``, ``edge``, ``saturated`` and ``outliers``;
        with ``grid`` also ``beads_per_cell`` (the hat-weighted count of each cell) and
        ``cell_fwhm``.

    Returns
    -------
    numpy.ndarray or PSFField
        float64 PSF of ``size`` (non-negative, summing to one, peak on the central pixel), or
        a field of such PSFs over the image's shape.

    Raises
    ------
    InvalidImageError
        Not a 2-D or 3-D image, or no isolated bead was found (the message gives the counts).
    InvalidParameterError
        A bad ``size``, ``grid``, ``min_snr``, ``saturation`` or ``background``.

    Examples
    --------
    >>> import numpy as np
    >>> from unblur import psf
    >>> truth = psf.gaussian(1.5, size=15)
    >>> image = np.zeros((128, 128))
    >>> for y, x in [(30, 30), (30, 90), (90, 30), (90, 90)]:
    ...     image[y - 7 : y + 8, x - 7 : x + 8] += 100 * truth
    >>> info = {}
    >>> k = psf.from_beads(image, size=15, info=info)
    >>> info["n_beads"], [round(w, 2) for w in info["fwhm"]]
    (4, [3.54, 3.54])
    """
    img = as_float_image(image).astype(np.float64)
    if img.ndim not in (2, 3):
        raise InvalidImageError(f"bead image must be 2-D or 3-D, got {img.ndim} dimensions")
    min_snr = check_number("min_snr", min_snr)
    if saturation is not None:
        saturation = check_number("saturation", saturation)
    if background is not None:
        background = check_number("background", background, allow_zero=True)
    cells = None
    if grid is not None:
        grid = tuple(grid) if not np.isscalar(grid) else (grid,) * img.ndim
        if img.ndim == 3 and len(grid) == 2:
            grid = (1, *grid)
        cells = _grid_shape(grid, img.shape)

    from scipy import ndimage

    level = float(np.median(img))
    smooth = ndimage.gaussian_filter(img, 1.0, mode="nearest")
    noise = _noise_sigma(img)
    smoothed_noise = noise * (2 * math.sqrt(math.pi)) ** (-img.ndim / 2)  # sum of kernel²
    peaks, heights = _maxima(
        smooth, level + min_snr * max(smoothed_noise, 1e-12 * (img.max() - level))
    )
    if size is None:
        size = _auto_size(img - level, peaks[:50], img.shape)
    else:
        size = _odd_size(size, img.ndim, img.shape)
    half = np.array(size) // 2
    beads, found = _isolated_beads(img, smooth, level, peaks, heights, half, saturation)

    crops, offsets = _crops(img, smooth, beads, half, background)
    align = _Aligner(crops, half)
    del crops
    shifts, used = _register(align, offsets, noise)
    found["outliers"] = int(len(beads) - used.sum())
    signal = align(shifts)[used]
    centres = beads[used] + shifts[used]
    flux = signal.reshape(len(signal), -1).sum(axis=1)
    mean = signal.sum(axis=0) / flux.sum()
    result = _finish(mean)
    found["n_beads"] = len(signal)
    found["fwhm"] = fwhm(result)
    found["positions"] = centres
    if cells is not None:
        psfs, counts = _field_psfs(signal, flux, centres, cells, img.shape, mean)
        out = PSFField(
            np.array([_finish(k) for k in psfs.reshape(-1, *size)]).reshape(*cells, *size),
            img.shape,
        )
        found["beads_per_cell"] = counts
        found["cell_fwhm"] = np.array([fwhm(out.psfs[c]) for c in out.cells()]).reshape(
            *cells, img.ndim
        )
        result = out
    if info is not None:
        info.update(found)
    return result


def _isolated_beads(
    img: np.ndarray,
    smooth: np.ndarray,
    level: float,
    peaks: np.ndarray,
    heights: np.ndarray,
    half: np.ndarray,
    saturation: float | None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """The beads among the maxima that are isolated, inside and unsaturated, and the counts."""
    top = float(img.max())

    def is_saturated(peak: np.ndarray) -> bool:
        box = tuple(
            slice(max(int(c - h), 0), int(c + h + 1)) for c, h in zip(peak, half, strict=True)
        )
        crop = img[box]
        if saturation is not None:
            return bool((crop >= saturation).any())
        return bool((crop >= top).sum() >= 2)

    def is_connected(peak: np.ndarray, other: np.ndarray, height: float) -> bool:
        steps = int(np.max(np.abs(other - peak)))
        line = np.rint(peak + np.linspace(0, 1, steps + 1)[:, None] * (other - peak))
        return bool(smooth[tuple(line.astype(int).T)].min() - level >= _NO_DIP * height)

    beads, saturated = _drop_lobes(peaks, heights - level, half, is_saturated, is_connected)
    info: dict[str, Any] = {"candidates": len(beads)}
    overlapping = _overlapping(beads, 2 * half + 1)
    keep = ~overlapping
    margin = half + _MARGIN
    inside = np.all((beads >= margin) & (beads < np.array(img.shape) - margin), axis=1)
    info["overlapping"] = int(np.sum(overlapping))
    info["edge"] = int(np.sum(keep & ~inside))
    keep &= inside
    info["saturated"] = int(np.sum(keep & saturated))
    keep &= ~saturated
    if not keep.any():
        raise InvalidImageError(
            f"no isolated bead found: {info['candidates']} candidates, "
            f"{info['overlapping']} overlapping, {info['edge']} at the edge, "
            f"{info['saturated']} saturated"
        )
    return beads[keep], info


def fwhm(kernel: np.ndarray) -> tuple[float, ...]:
    """Full width at half maximum per axis (pixels) of the profile through the peak.

    The peak is the largest value; along each axis the half-maximum crossings on both sides
    are interpolated linearly. ``nan`` where the profile does not fall to half within the
    array.

    Examples
    --------
    >>> from unblur import psf
    >>> [round(w, 2) for w in fwhm(psf.gaussian(2.0, size=31))]  # pixel-integrated: 4.76
    [4.76, 4.76]
    """
    k = np.asarray(kernel, dtype=np.float64)
    centre = np.unravel_index(int(np.argmax(k)), k.shape)
    peak = float(k[centre])
    widths = []
    for ax in range(k.ndim):
        index = list(centre)
        index[ax] = slice(None)
        line = k[tuple(index)] / peak
        c = centre[ax]
        widths.append(float(_crossing(line[c:], 0.5) + _crossing(line[c::-1], 0.5)))
    return tuple(widths)


def _crossing(line: np.ndarray, level: float) -> float:
    """Distance from ``line[0]`` to where ``line`` first falls below ``level`` (interpolated)."""
    below = np.flatnonzero(line < level)
    if below.size == 0:
        return math.nan
    i = int(below[0])
    return i - 1 + (line[i - 1] - level) / (line[i - 1] - line[i])


def _noise_sigma(img: np.ndarray) -> float:
    """Noise standard deviation of the background: MAD of differences along the last axis."""
    lines = img.reshape(-1, img.shape[-1])
    lines = lines[:: max(1, lines.size // 1_000_000)]  # a million samples are plenty
    d = np.diff(lines, axis=-1).ravel()
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / math.sqrt(2))


def _maxima(smooth: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Local maxima (3^d neighbourhood) above ``threshold``, brightest first."""
    from scipy import ndimage

    is_max = smooth == ndimage.maximum_filter(smooth, size=3, mode="nearest")
    is_max &= smooth > threshold
    peaks = np.argwhere(is_max)
    heights = smooth[tuple(peaks.T)]
    order = np.argsort(-heights, kind="stable")
    return peaks[order], heights[order]


def _odd_size(size, ndim: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    sizes = (size,) * ndim if np.isscalar(size) else tuple(size)
    if len(sizes) != ndim or any(
        isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1 or n % 2 == 0
        for n in sizes
    ):
        raise InvalidParameterError(
            f"size must be {ndim} positive odd integers (or one), got {size!r}"
        )
    limit = tuple(n - 2 * _MARGIN for n in shape)
    if any(s > m for s, m in zip(sizes, limit, strict=True)):
        raise InvalidParameterError(
            f"size {tuple(sizes)} does not fit the image {shape} with a {_MARGIN}-pixel margin"
        )
    return tuple(int(n) for n in sizes)


def _auto_size(signal: np.ndarray, peaks: np.ndarray, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Eight times the median FWHM of the brightest maxima, plus one, per axis (odd)."""
    if len(peaks) == 0:
        raise InvalidImageError("no bead found: no maximum above the detection threshold")
    widths = []
    for p in peaks:
        lines = []
        for ax in range(signal.ndim):
            index = list(p)
            index[ax] = slice(None)
            line = signal[tuple(index)] / signal[tuple(p)]
            lines.append(_crossing(line[p[ax] :], 0.5) + _crossing(line[p[ax] :: -1], 0.5))
        widths.append(lines)
    median = np.nanmedian(np.array(widths, dtype=float), axis=0)
    sizes = []
    for w, n in zip(median, shape, strict=True):
        side = 2 * math.ceil(4 * (w if np.isfinite(w) else 1.0)) + 1
        largest = n - 2 * _MARGIN - (1 - (n - 2 * _MARGIN) % 2)
        sizes.append(max(3, min(side, largest)))
    return tuple(sizes)


def _drop_lobes(
    peaks: np.ndarray, heights: np.ndarray, half: np.ndarray, saturated, connected
) -> tuple[np.ndarray, np.ndarray]:
    """Beads among the maxima (brightest first).

    A maximum is dropped when it is the same bead as a brighter one (within two pixels, or
    joined to it without a dip below 90 % of its height: a flat-topped or ridged PSF has
    several maxima), a side lobe (closer than one PSF box along every axis to a bead ten
    times brighter), or as close to a saturated bead (whose true height, hence its lobes'
    level, is unknown).
    ``saturated(peak)`` and ``connected(peak, other, height)`` answer those questions.
    Returns the beads and their saturation flags.
    """
    kept: list[int] = []
    flags: list[bool] = []
    size = 2 * half + 1
    for i in range(len(peaks)):
        if kept:
            others = np.array(kept)
            near = np.all(np.abs(peaks[others] - peaks[i]) < size, axis=1)
            same = np.all(np.abs(peaks[others] - peaks[i]) <= _SAME_BEAD, axis=1)
            lobe = near & ((heights[i] < _LOBE_RATIO * heights[others]) | np.array(flags))
            if np.any(same | lobe) or any(
                connected(peaks[i], peaks[j], heights[i]) for j in others[near]
            ):
                continue
        kept.append(i)
        flags.append(bool(saturated(peaks[i])))
    kept_arr = np.array(kept, dtype=int)
    return peaks[kept_arr].reshape(-1, peaks.shape[1]), np.array(flags, dtype=bool)


def _overlapping(beads: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Beads with another one closer than one PSF box along every axis."""
    out = np.zeros(len(beads), dtype=bool)
    if len(beads) < 2:
        return out
    from scipy.spatial import cKDTree  # here: slow to import, and only beads need it

    tree = cKDTree(beads / size)
    for i, j in tree.query_pairs(1 - 1e-9, p=np.inf):
        out[i] = out[j] = True
    return out


def _crops(
    img: np.ndarray,
    smooth: np.ndarray,
    beads: np.ndarray,
    half: np.ndarray,
    background: float | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Background-subtracted crops (box plus margin) and each bead's sub-pixel offset from its
    maximum (the vertex of a parabola through the smoothed maximum and its neighbours)."""
    ext = half + _MARGIN
    shape = tuple(2 * ext + 1)
    inner = tuple(slice(_MARGIN, s - _MARGIN) for s in shape)
    shell = np.ones(shape, dtype=bool)
    shell[inner] = False
    crops = np.empty((len(beads), *shape))
    offsets = np.zeros((len(beads), img.ndim))
    for b, p in enumerate(beads):
        box = tuple(slice(int(c - e), int(c + e + 1)) for c, e in zip(p, ext, strict=True))
        crop = img[box]
        crops[b] = crop - (np.median(crop[shell]) if background is None else background)
        offsets[b] = _vertex(smooth, p)
    return crops, offsets


def _vertex(values: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per axis, the vertex of the parabola through ``values`` at ``p`` and its two
    neighbours, relative to ``p`` (within half a pixel; 0 where the values are not peaked)."""
    out = np.zeros(values.ndim)
    for ax in range(values.ndim):
        lo, hi = list(p), list(p)
        lo[ax] -= 1
        hi[ax] += 1
        a, c, d = values[tuple(lo)], values[tuple(p)], values[tuple(hi)]
        curvature = a - 2 * c + d
        if curvature < 0:
            out[ax] = float(np.clip(0.5 * (a - d) / curvature, -0.5, 0.5))
    return out


class _Aligner:
    """Moves every bead's crop by a sub-pixel shift (Fourier phase ramps) and cuts the PSF box.

    The crops' spectra are computed once (real FFTs of the crops zero-padded to fast sizes,
    in batches); each call multiplies them by the ramps of the current shifts and transforms
    back.
    """

    _BATCH = 64

    def __init__(self, crops: np.ndarray, half: np.ndarray):
        self.ndim = crops.ndim - 1
        self.grid = fft.fast_shape(crops.shape[1:])
        self.axes = tuple(range(1, self.ndim + 1))
        self.box = tuple(int(2 * h + 1) for h in half)
        self.inner = (slice(None), *(slice(_MARGIN, _MARGIN + n) for n in self.box))
        self.spectra = [  # single precision: half the memory, errors far below the noise
            scipy.fft.rfftn(crops[i : i + self._BATCH], s=self.grid, axes=self.axes).astype(
                np.complex64
            )
            for i in range(0, len(crops), self._BATCH)
        ]
        freqs = [np.fft.fftfreq(n) for n in self.grid[:-1]] + [np.fft.rfftfreq(self.grid[-1])]
        self.freqs = freqs

    def __call__(self, shifts: np.ndarray) -> np.ndarray:
        """The crops moved by ``-shifts`` (each bead's centre onto the central pixel)."""
        out = []
        for b, spectrum in enumerate(self.spectra):
            part = shifts[b * self._BATCH : b * self._BATCH + len(spectrum)]
            ramp = np.ones((len(part),) + (1,) * self.ndim, dtype=np.complex64)
            for ax, f in enumerate(self.freqs):
                shape = [len(part)] + [1] * self.ndim
                shape[ax + 1] = len(f)
                phase = np.exp(2j * np.pi * part[:, ax, None] * f[None, :]).astype(np.complex64)
                ramp = ramp * phase.reshape(shape)
            moved = scipy.fft.irfftn(spectrum * ramp, s=self.grid, axes=self.axes)
            out.append(moved[self.inner].astype(np.float64))
        return np.concatenate(out)


def _peak_offset(template: np.ndarray) -> np.ndarray:
    """Sub-pixel position of the template's peak relative to its central pixel."""
    centre = np.array(template.shape) // 2
    p = np.array(np.unravel_index(int(np.argmax(template)), template.shape))
    if (
        np.any(np.abs(p - centre) > 1)
        or np.any(p == 0)
        or np.any(p == np.array(template.shape) - 1)
    ):
        p = centre
    return p - centre + _vertex(template, p)


def _register(align: _Aligner, shifts: np.ndarray, noise: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Sub-pixel shifts by Gauss-Newton alignment to the average, re-centred on its peak.

    Each pass aligns the crops with the current shifts, averages them, and fits every crop
    as :math:`a T + o - a\nabla T\cdot\varepsilon` (least squares, solved through its
    small normal equations); the shifts move by :math:`\varepsilon` plus the offset of the
    average's interpolated peak from the central pixel. Returns the shifts and the mask of
    beads kept (outliers of the core residual dropped after the first pass, failed fits at
    every pass).
    """
    shifts = shifts.copy()
    used = np.ones(len(shifts), dtype=bool)
    for npass in range(_PASSES):
        aligned = align(shifts).reshape(len(shifts), -1)
        template = aligned[used].mean(axis=0).reshape(align.box)
        columns = [template.ravel(), np.ones(template.size)]
        columns += [-g.ravel() for g in np.gradient(template)]
        design = np.stack(columns, axis=1)
        solution = np.linalg.solve(design.T @ design, (aligned @ design).T)  # (d + 2, beads)
        gain = solution[0]
        step = (solution[2:] / np.where(gain != 0, gain, 1.0)).T
        shifts += np.clip(step, -1.0, 1.0) + _peak_offset(template)
        used &= gain > 0
        if npass == 0 and used.sum() >= 5:
            used &= ~_outliers(aligned, design, solution, template, noise, used)
    if not used.any():
        raise InvalidImageError("no bead could be registered (every fit failed)")
    return shifts, used


def _outliers(
    aligned: np.ndarray,
    design: np.ndarray,
    solution: np.ndarray,
    template: np.ndarray,
    noise: float,
    used: np.ndarray,
) -> np.ndarray:
    r"""Beads whose residual in the PSF's core (above a tenth of its peak) is an outlier.

    The residual energy :math:`R_b` is compared with what noise alone would leave,
    :math:`N\sigma^2 + g S_b` (read noise :math:`\sigma` of the background, shot noise with
    a gain :math:`g` fitted as the median over the beads, :math:`S_b` the bead's signal in
    the core): the ratio is near one for a clean bead whatever its brightness, and large for
    a pair closer than the resolution. Outliers lie above the median ratio plus
    :data:`_OUTLIER_SIGMAS` robust standard deviations.
    """
    core = (template > 0.1 * template.max()).ravel()
    residual = aligned[:, core] - (design[core] @ solution).T
    energy = np.sum(residual**2, axis=1)
    signal = np.maximum(solution[0][:, None] * template.ravel()[None, core], 0).sum(axis=1)
    floor = core.sum() * noise**2
    gain = max(float(np.median(((energy - floor) / np.maximum(signal, 1e-300))[used])), 0.0)
    ratio = energy / np.maximum(floor + gain * signal, 1e-300)
    med = np.median(ratio[used])
    spread = 1.4826 * np.median(np.abs(ratio[used] - med))
    return ratio > med + _OUTLIER_SIGMAS * spread


def _finish(k: np.ndarray) -> np.ndarray:
    """Negative values (noise) set to zero, normalised to sum to one."""
    k = np.maximum(k, 0.0)
    total = k.sum()
    if not total > 0:
        raise InvalidImageError("the bead average is empty (all values at or below zero)")
    return k / total


def _field_psfs(
    signal: np.ndarray,
    gain: np.ndarray,
    centres: np.ndarray,
    cells: tuple[int, ...],
    image_shape: tuple[int, ...],
    mean: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The cells' PSFs that best explain the registered beads, and the beads per cell.

    A bead at :math:`p` is modelled by the multilinear interpolation of the cells' PSFs,
    extrapolated linearly beyond the outer centres (so a PSF that changes steadily across the
    frame is not pulled towards the edge beads' average in the outer cells); the count per
    cell is the sum of the field's own (flat-extended) hat weights.
    """
    probe = PSFField(np.ones((*cells,) + (1,) * len(cells)), image_shape)
    n_cells = probe.n_cells
    fit_axes = [_linear_weights(probe.centres()[a], centres[:, a]) for a in range(len(cells))]
    hat_axes = [probe.axis_weights(a, centres[:, a]) for a in range(len(cells))]
    weights = np.ones((len(centres), n_cells))
    hats = np.ones((len(centres), n_cells))
    for index, cell in enumerate(probe.cells()):
        for a, j in enumerate(cell):
            weights[:, index] *= fit_axes[a][j]
            hats[:, index] *= hat_axes[a][j]
    # signal_b ~ gain_b * sum_i w_i(p_b) K_i, least squares with a small ridge towards the
    # global average (a tenth of a median bead) for cells no bead informs
    normal = (weights * gain[:, None] ** 2).T @ weights
    ridge = 0.1 * float(np.median(gain**2))
    rhs = (weights * gain[:, None]).T @ signal.reshape(len(signal), -1)
    rhs += ridge * mean.ravel()[None, :]
    normal += ridge * np.eye(n_cells)
    psfs = np.linalg.solve(normal, rhs)
    return psfs.reshape(n_cells, *mean.shape), hats.sum(axis=0).reshape(cells)


def _linear_weights(centres: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Hat weights on ``centres`` at ``positions``, extended linearly beyond the outer ones."""
    g = len(centres)
    if g == 1:
        return np.ones((1, len(positions)))
    step = centres[1] - centres[0]
    u = (positions - centres[0]) / step  # position in units of cells from the first centre
    left = np.clip(np.floor(u), 0, g - 2).astype(int)  # the interval (or the outer one)
    frac = u - left
    w = np.zeros((g, len(positions)))
    rows = np.arange(len(positions))
    w[left, rows] = 1 - frac
    w[left + 1, rows] = frac
    return w
