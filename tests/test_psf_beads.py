"""PSFs measured from beads: synthetic stacks of a known widefield PSF with Poisson noise,
overlapping pairs, a pair closer than the resolution and saturated beads; fields; errors.

No real bead stack ships with a pip package we can use (flowdec's wheel holds one 2.5 µm
bead, resolved and downsampled four times, with a computed kernel: not a PSF measurement), so
the tests are synthetic; docs/notes/fields.md has the details.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.fft

from unblur import InvalidImageError, InvalidParameterError, psf

# these tests pass images beyond [0, 1] on purpose (scales, photon counts, integer ranges)
pytestmark = pytest.mark.filterwarnings("ignore::unblur.ValueRangeWarning")

OPTICS = dict(na=1.2, wavelength=0.52, refractive_index=1.33, voxel_size=(0.25, 0.1, 0.1))
TRUTH = psf.widefield(**OPTICS, shape=(17, 31, 31))


def moved(kernel: np.ndarray, shift, pad: int = 2) -> np.ndarray:
    """``kernel`` zero-padded by ``pad`` and moved by a sub-pixel ``shift`` (band-limited
    interpolation: a Fourier phase ramp), negative ringing set to zero."""
    k = np.pad(kernel, pad)
    spectrum = scipy.fft.fftn(k)
    for ax, (n, s) in enumerate(zip(k.shape, shift, strict=True)):
        ramp = np.exp(-2j * np.pi * scipy.fft.fftfreq(n) * s)
        spectrum *= ramp.reshape([-1 if a == ax else 1 for a in range(k.ndim)])
    return np.maximum(scipy.fft.ifftn(spectrum).real, 0.0)


def add_bead(rate: np.ndarray, kernel: np.ndarray, centre, flux: float) -> None:
    """Add ``flux * kernel`` centred at the sub-pixel ``centre`` (clipped to the image)."""
    centre = np.asarray(centre, dtype=float)
    base = np.floor(centre).astype(int)
    bead = flux * moved(kernel, centre - base)
    start = base - np.array(bead.shape) // 2
    src, dst = [], []
    for a, (s, n, m) in enumerate(zip(start, bead.shape, rate.shape, strict=True)):
        lo, hi = max(0, -s), n - max(0, s + n - m)
        src.append(slice(lo, hi))
        dst.append(slice(s + lo, s + hi))
        assert hi > lo, f"bead outside the image along axis {a}"
    rate[tuple(dst)] += bead[tuple(src)]


def bead_stack(n_beads: int, seed: int, *, pairs=3, saturated=2, background=20.0, light=1.0):
    """Beads on a jittered lattice (sub-pixel positions, flux 2e5-8e5 photons times ``light``:
    peaks of about 2000-8000 photons), ``pairs`` of them with a neighbour 5-7 px away, one
    with a second bead 1.4 px away (closer than the resolution), ``saturated`` ones 20 times
    brighter and clipped; Poisson noise on a flat background. The lattice is wide enough that
    only the pairs overlap (within one PSF box along every axis). Returns the counts, the
    isolated beads' true centres, the merged pair's centre and the background."""
    rng = np.random.default_rng(seed)
    kz, ky, _ = TRUTH.shape
    spacing = ky + 14
    cols = math.ceil(math.sqrt(n_beads))
    rows = math.ceil(n_beads / cols)
    shape = (kz + 14, rows * spacing + 16, cols * spacing + 16)
    rate = np.full(shape, background)
    centres = []
    for i in range(n_beads):
        r, c = divmod(i, cols)
        jitter = rng.uniform(-3, 3, size=3)
        centre = np.array([shape[0] / 2, 8 + spacing * (r + 0.5), 8 + spacing * (c + 0.5)])
        centres.append(centre + jitter)
        add_bead(rate, TRUTH, centres[-1], light * rng.uniform(2e5, 8e5))
    order = rng.permutation(n_beads)
    for i in order[:pairs]:
        angle = rng.uniform(0, 2 * np.pi)
        step = rng.uniform(5, 7) * np.array([0, np.cos(angle), np.sin(angle)])
        add_bead(rate, TRUTH, centres[i] + step, light * rng.uniform(2e5, 8e5))
    merged = order[pairs]
    add_bead(rate, TRUTH, centres[merged] + np.array([0, 1.2, 0.8]), light * rng.uniform(2e5, 8e5))
    bright = order[pairs + 1 : pairs + 1 + saturated]
    for i in bright:
        add_bead(rate, TRUTH, centres[i], 1.6e7)
    counts = rng.poisson(rate).astype(np.float64)
    if saturated:
        counts = np.minimum(counts, 6e4)  # the camera's full well: only the bright ones reach it
    bad = set(order[: pairs + 1 + saturated].tolist())
    isolated = np.array([c for i, c in enumerate(centres) if i not in bad])
    return counts, isolated, centres[merged], background


def oracle_average(counts: np.ndarray, centres: np.ndarray, background: float) -> np.ndarray:
    """The average of the isolated beads at their *true* centres with the *true* background:
    the noise floor any method has to live with."""
    half = np.array(TRUTH.shape) // 2
    total = np.zeros(TRUTH.shape)
    for centre in centres:
        base = np.floor(centre).astype(int)
        box = tuple(slice(b - h - 3, b + h + 4) for b, h in zip(base, half, strict=True))
        crop = counts[box] - background
        spectrum = scipy.fft.fftn(crop)
        for ax, (n, s) in enumerate(zip(crop.shape, base - centre, strict=True)):
            ramp = np.exp(-2j * np.pi * scipy.fft.fftfreq(n) * s)
            spectrum *= ramp.reshape([-1 if a == ax else 1 for a in range(3)])
        total += scipy.fft.ifftn(spectrum).real[3:-3, 3:-3, 3:-3]
    total = np.maximum(total, 0)
    return total / total.sum()


def relative_l2(estimate: np.ndarray, truth: np.ndarray) -> float:
    return float(np.linalg.norm(estimate - truth) / np.linalg.norm(truth))


@pytest.mark.parametrize(("n_beads", "seed"), [(20, 0), (20, 1), (200, 3)])
def test_widefield_psf_from_a_synthetic_bead_stack(n_beads, seed):
    """Issue 16: recovered PSF within 5 % (relative L2) of the truth, FWHM within 5 %, the
    overlapping, merged and saturated beads rejected, and close to the noise floor (the
    average at the true centres)."""
    counts, isolated, merged, background = bead_stack(n_beads, seed)
    info = {}
    k = psf.from_beads(counts, size=TRUTH.shape, info=info)
    assert k.shape == TRUTH.shape and np.isclose(k.sum(), 1) and k.min() >= 0
    assert np.unravel_index(np.argmax(k), k.shape) == (8, 15, 15)
    error = relative_l2(k, TRUTH)
    floor = relative_l2(oracle_average(counts, isolated, background), TRUTH)
    assert error < 0.05
    assert error < 1.2 * floor + 0.005  # measured: 1.9-2.0 % vs 1.8 % (20), 1.0 vs 0.6 (200)
    truth_fwhm = np.array(psf.fwhm(TRUTH))
    np.testing.assert_allclose(info["fwhm"], truth_fwhm, rtol=0.05)
    assert info["overlapping"] == 6 and info["saturated"] == 2 and info["edge"] == 0
    assert info["n_beads"] >= len(isolated) - 2
    assert info["n_beads"] == len(info["positions"])
    # every bead used is an isolated one, located to a small fraction of a pixel
    distances = np.linalg.norm(info["positions"][:, None] - isolated[None], axis=2)
    assert np.all(distances.min(axis=1) < 0.15)
    assert np.linalg.norm(info["positions"] - merged, axis=1).min() > 5


def test_low_light_stack_is_noise_limited():
    """Peaks of 500-2000 photons on a background of 50: at 20 beads the error sits at the
    noise floor (about 7 %, above the 5 % target: no method can do better than the floor)."""
    counts, isolated, _, background = bead_stack(20, 0, background=50.0, light=0.25)
    k = psf.from_beads(counts, size=TRUTH.shape)
    floor = relative_l2(oracle_average(counts, isolated, background), TRUTH)
    assert relative_l2(k, TRUTH) < 1.1 * floor


def test_default_size_follows_the_fwhm():
    counts, *_ = bead_stack(20, 5, pairs=0, saturated=0)
    info = {}
    k = psf.from_beads(counts, info=info)
    fwhm = np.array(psf.fwhm(TRUTH))
    assert all(n % 2 == 1 for n in k.shape)
    # eight FWHM plus one along y and x; along z the stack's depth (minus margins) caps it
    assert k.shape[1:] == (2 * math.ceil(4 * fwhm[1]) + 1,) * 2
    np.testing.assert_allclose(info["fwhm"], fwhm, rtol=0.05)


def test_2d_uint16_beads_with_saturation_at_the_camera_maximum():
    rng = np.random.default_rng(1)
    truth = psf.airy(2.5, size=21)
    rate = np.full((256, 256), 100.0)
    centres = []
    for y in range(24, 240, 36):
        for x in range(24, 240, 36):
            centres.append((y + rng.uniform(-3, 3), x + rng.uniform(-3, 3)))
            bright = len(centres) in (5, 17)
            add_bead(rate, truth, centres[-1], 3e6 if bright else rng.uniform(5e4, 2e5))
    image = np.minimum(rng.poisson(rate), 65535).astype(np.uint16)
    info = {}
    k = psf.from_beads(image, size=21, info=info)
    assert info["saturated"] == 2 and info["n_beads"] == len(centres) - 2
    assert relative_l2(k, truth) < 0.05
    np.testing.assert_allclose(info["fwhm"], psf.fwhm(truth), rtol=0.03)
    # an explicit saturation level rejects every bead that reaches it
    info = {}
    psf.from_beads(image, size=21, saturation=0.5, info=info)
    assert info["saturated"] >= 2


def test_field_from_beads_recovers_a_linearly_varying_psf():
    """PSF = (1 - t) A + t B with t = x / width (round to astigmatic): exactly multilinear in
    position, so the field's cells must match the truth at their centres (within noise)."""
    rng = np.random.default_rng(2)
    a = psf.gaussian(1.2, size=19)
    b = psf.gaussian((2.6, 1.0), size=19)
    shape = (300, 480)
    rate = np.full(shape, 30.0)
    for y in range(20, 280, 26):
        for x in range(20, 460, 26):
            c = (y + rng.uniform(-3, 3), x + rng.uniform(-3, 3))
            t = c[1] / shape[1]
            add_bead(rate, (1 - t) * a + t * b, c, rng.uniform(1e5, 3e5))
    image = rng.poisson(rate).astype(float)
    info = {}
    field = psf.from_beads(image, size=19, grid=(2, 3), info=info)
    assert isinstance(field, psf.PSFField)
    assert field.grid_shape == (2, 3) and field.image_shape == shape
    assert info["beads_per_cell"].shape == (2, 3) and info["beads_per_cell"].min() > 5
    assert np.isclose(info["beads_per_cell"].sum(), info["n_beads"])
    assert info["cell_fwhm"].shape == (2, 3, 2)
    for cell in field.cells():
        t = field.centres()[1][cell[1]] / shape[1]
        assert relative_l2(field.psfs[cell], (1 - t) * a + t * b) < 0.02  # measured 0.2-0.4 %
    assert relative_l2(field.psfs[0, 0], field.psfs[0, 2]) > 0.3  # it does vary


def test_grid_on_a_stack_is_lateral():
    counts, *_ = bead_stack(16, 4, pairs=0, saturated=0)
    field = psf.from_beads(counts, size=TRUTH.shape, grid=(2, 2))
    assert field.grid_shape == (1, 2, 2) and field.image_shape == counts.shape
    for cell in field.cells():  # a uniform PSF: every cell is the truth
        assert relative_l2(field.psfs[cell], TRUTH) < 0.08


def test_fwhm_of_known_shapes():
    x = np.arange(-20, 21)
    for sigma in (1.5, 2.5, 4.0):  # sampled at pixel centres (not integrated over pixels)
        sampled = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * sigma**2))
        expected = 2 * math.sqrt(2 * math.log(2)) * sigma
        np.testing.assert_allclose(psf.fwhm(sampled), expected, rtol=0.01)
    widths = psf.fwhm(psf.gaussian((1.0, 3.0), size=(21, 31)))
    assert widths[0] < widths[1]
    assert math.isnan(psf.fwhm(np.ones((5, 5)))[0])


def test_from_beads_refuses_bad_input():
    rng = np.random.default_rng(3)
    with pytest.raises(InvalidImageError, match="^bead image must be 2-D or 3-D, got 1 dim"):
        psf.from_beads(np.ones(100))
    noise = rng.poisson(50.0, size=(128, 128)).astype(float)
    with pytest.raises(InvalidImageError, match="^no bead found: no maximum above the detection"):
        psf.from_beads(noise, min_snr=50)
    crowded = np.full((64, 64), 10.0)
    crowded[30, 30], crowded[30, 36] = 1000.0, 900.0
    with pytest.raises(
        InvalidImageError,
        match=r"^no isolated bead found: 2 candidates, 2 overlapping, 0 at the edge, 0 saturated$",
    ):
        psf.from_beads(crowded, size=15)
    with pytest.raises(InvalidParameterError, match="^size must be 2 positive odd integers"):
        psf.from_beads(crowded, size=14)
    with pytest.raises(InvalidParameterError, match=r"^size \(61, 61\) does not fit the image"):
        psf.from_beads(crowded, size=61)
    with pytest.raises(InvalidParameterError, match="^min_snr must be finite and > 0"):
        psf.from_beads(crowded, min_snr=0)
    with pytest.raises(InvalidParameterError, match="^grid must be 2 positive integers"):
        psf.from_beads(crowded, size=15, grid=(0, 2))
