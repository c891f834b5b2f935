"""Metrics: PSNR/SSIM values against known truth, exact alignment, the scoring protocol."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from unblur import InvalidImageError, InvalidParameterError, metrics
from unblur.metrics import align, psnr, score, ssim


# ------------------------------------------------------------------------------------------ psnr
def test_psnr_of_identical_arrays_is_inf_without_warning(camera):
    with np.errstate(all="raise"):
        assert psnr(camera, camera.copy()) == math.inf


@pytest.mark.parametrize(
    ("offset", "data_range", "expected"),
    [(0.1, 1.0, 20.0), (0.01, 1.0, 40.0), (0.1, 2.0, 20 + 20 * math.log10(2))],
)
def test_psnr_known_mse(offset, data_range, expected):
    ref = np.zeros((16, 16))
    assert psnr(ref + offset, ref, data_range=data_range) == pytest.approx(expected, abs=1e-9)


def test_psnr_uses_the_mean_squared_error(camera):
    rng = np.random.default_rng(0)
    noisy = camera + 0.05 * rng.standard_normal(camera.shape)
    mse = np.mean((noisy - camera) ** 2)
    assert psnr(noisy, camera) == pytest.approx(10 * np.log10(1 / mse), rel=1e-12)
    # symmetric in its arguments, and float32 input gives the same value to float32 precision
    assert psnr(camera, noisy) == pytest.approx(psnr(noisy, camera), rel=1e-12)
    assert psnr(noisy.astype(np.float32), camera.astype(np.float32)) == pytest.approx(
        psnr(noisy, camera), abs=1e-3
    )


def test_psnr_uint8_with_data_range_255():
    ref = np.full((8, 8), 100, np.uint8)
    est = ref + np.uint8(1)  # MSE 1 -> 20 log10(255)
    assert psnr(est, ref, data_range=255) == pytest.approx(20 * math.log10(255))


# ------------------------------------------------------------------------------------------ ssim
def test_ssim_identical_is_one_and_falls_with_noise(camera):
    assert ssim(camera, camera.copy()) == pytest.approx(1.0, abs=1e-12)
    rng = np.random.default_rng(1)
    values = [
        ssim(camera + s * rng.standard_normal(camera.shape), camera) for s in (0.01, 0.05, 0.2)
    ]
    assert 0.99 > values[0] > values[1] > values[2] > 0.0
    # a contrast change is a structural-similarity loss even though the structure is intact
    assert ssim(0.5 * camera, camera) < 0.95


def test_ssim_zero_images_are_finite():
    zeros = np.zeros((24, 24))
    assert ssim(zeros, zeros) == 1.0
    assert psnr(zeros, zeros) == math.inf
    assert np.isfinite(ssim(zeros, np.full((24, 24), 1e-12)))


def test_ssim_3d_and_channel_axis(stack, astronaut):
    rng = np.random.default_rng(2)
    noisy = stack + 0.05 * rng.standard_normal(stack.shape)
    value = ssim(noisy, stack)
    assert 0.2 < value < 0.99
    assert ssim(stack, stack) == pytest.approx(1.0)
    # per-channel SSIM is the mean of the channels' SSIMs
    noisy_rgb = astronaut + 0.05 * rng.standard_normal(astronaut.shape)
    per_channel = [ssim(noisy_rgb[..., c], astronaut[..., c]) for c in range(3)]
    assert ssim(noisy_rgb, astronaut, channel_axis=-1) == pytest.approx(np.mean(per_channel))


def _skimage_ssim(est, ref, data_range=1.0, channel_axis=None):
    """scikit-image's SSIM with the settings unblur documents (the independent truth)."""
    from skimage.metrics import structural_similarity

    return structural_similarity(
        np.asarray(ref, np.float64), np.asarray(est, np.float64), data_range=data_range,
        channel_axis=channel_axis, **metrics.SSIM_SETTINGS,
    )  # fmt: skip


@pytest.fixture(params=["compiled", "numpy"])
def ssim_path(request, monkeypatch):
    """Both ways unblur computes SSIM: the compiled row pass (2-D, Numba loaded) and the
    NumPy/SciPy one."""
    if request.param == "compiled":
        pytest.importorskip("numba")
        monkeypatch.setattr(metrics, "_compiled_pays", lambda values: True)
    else:
        monkeypatch.setattr(metrics, "_compiled_pays", lambda values: False)
    return request.param


def test_ssim_equals_scikit_image(ssim_path, camera, astronaut, stack):
    rng = np.random.default_rng(4)
    noisy = camera + 0.05 * rng.standard_normal(camera.shape)
    assert ssim(noisy, camera) == pytest.approx(_skimage_ssim(noisy, camera), abs=1e-12)
    # another data range, a non-contiguous view, float32 (computed in float64 all the same)
    view = noisy[::2, 1::2] * 255
    ref = camera[::2, 1::2] * 255
    expected = _skimage_ssim(view, ref, data_range=255)
    assert ssim(view, ref, data_range=255) == pytest.approx(expected, abs=1e-12)
    f32 = (noisy.astype(np.float32), camera.astype(np.float32))
    assert ssim(*f32) == pytest.approx(_skimage_ssim(*f32), abs=1e-12)
    # colour with the channels first or last, and a 3-D stack
    rgb = np.clip(astronaut + 0.1 * rng.standard_normal(astronaut.shape), 0, 1)
    first = (np.moveaxis(rgb, -1, 0), np.moveaxis(astronaut, -1, 0))
    for axis, (a, b) in ((-1, (rgb, astronaut)), (0, first)):
        assert ssim(a, b, channel_axis=axis) == pytest.approx(
            _skimage_ssim(a, b, channel_axis=axis), abs=1e-12
        )
    vol = stack + 0.05 * rng.standard_normal(stack.shape)
    assert ssim(vol, stack) == pytest.approx(_skimage_ssim(vol, stack), abs=1e-12)
    # tall enough for several strips of the NumPy path (128 rows each)
    tall = np.vstack([camera, camera[::-1], camera[:, ::-1]])[:, :40]
    noisy_tall = tall + 0.05 * rng.standard_normal(tall.shape)
    assert ssim(noisy_tall, tall) == pytest.approx(_skimage_ssim(noisy_tall, tall), abs=1e-12)


def test_ssim_many_shares_the_reference(ssim_path, astronaut):
    rng = np.random.default_rng(5)
    ests = [astronaut + s * rng.standard_normal(astronaut.shape) for s in (0.02, 0.1, 0.3)]
    ests[1] = ests[1].astype(np.float32)
    values = metrics.ssim_many(ests, astronaut, channel_axis=-1)
    expected = [_skimage_ssim(e, astronaut, channel_axis=-1) for e in ests]
    np.testing.assert_allclose(values, expected, rtol=0, atol=1e-12)
    assert values[0] > values[1] > values[2]
    assert metrics.ssim_many([], astronaut, channel_axis=-1) == []
    with pytest.raises(InvalidParameterError, match="same shape"):
        metrics.ssim_many([astronaut, astronaut[:-1]], astronaut, channel_axis=-1)


@settings(max_examples=25)
@given(
    height=st.integers(11, 60),
    width=st.integers(11, 60),
    count=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_banded_ssim_sums_equal_the_direct_filters(height, width, count, seed):
    """The banded matrix products give the sums of SciPy's direct correlations on any side
    (strips and column blocks that do not divide it, the 11 px minimum) and count."""
    from unblur._ssim import gaussian_window, ssim_sums_banded

    rng = np.random.default_rng(seed)
    ref = rng.random((2, height, width))
    ests = [ref + 0.1 * (k + 1) * rng.standard_normal(ref.shape) for k in range(count)]
    ests[0] = ests[0].astype(np.float32)
    banded = ssim_sums_banded(ref, ests, 1e-4, 9e-4, gaussian_window())
    direct = metrics._ssim_sums_numpy(ref, ests, 1e-4, 9e-4)
    assert len(banded) == count
    for b, d in zip(banded, direct, strict=True):
        np.testing.assert_allclose(b, d, rtol=1e-12)


def test_banded_ssim_counts_flat_underflowed_windows_as_one():
    from unblur._ssim import gaussian_window, ssim_sums_banded

    zeros = np.zeros((1, 12, 13))
    (sums,) = ssim_sums_banded(zeros, [zeros], 0.0, 0.0, gaussian_window())
    assert sums.tolist() == [2 * 3]  # (12 - 10) x (13 - 10) windows, each 0/0 -> 1


# ----------------------------------------------------------------------------------------- align
@settings(max_examples=30, deadline=None)
@given(dy=st.integers(-5, 5), dx=st.integers(-5, 5))
def test_align_recovers_a_roll_exactly(camera, dy, dx):
    shifted = np.roll(camera, (dy, dx), axis=(0, 1))
    shift, est_crop, ref_crop = align(shifted, camera)
    assert shift == (dy, dx)
    assert est_crop.shape == ref_crop.shape == (128 - 30, 128 - 30)
    np.testing.assert_array_equal(est_crop, ref_crop)


def test_align_compares_exactly_the_documented_windows(camera):
    shifted = np.roll(camera, (3, -2), axis=(0, 1))
    shift, est_crop, ref_crop = align(shifted, camera, max_shift=4, border=6)
    m = 10
    assert shift == (3, -2)
    np.testing.assert_array_equal(ref_crop, camera[m:-m, m:-m])
    np.testing.assert_array_equal(est_crop, shifted[m + 3 : 128 - m + 3, m - 2 : 128 - m - 2])


def test_align_ignores_the_border_and_wrapped_pixels(camera):
    # garbage in the border does not change the chosen shift or the compared pixels
    shifted = np.roll(camera, (-4, 5), axis=(0, 1))
    shifted[:10] = 1.0
    shifted[:, -10:] = 0.0
    shift, est_crop, ref_crop = align(shifted, camera)
    assert shift == (-4, 5)
    np.testing.assert_array_equal(est_crop, ref_crop)


def test_align_3d_per_axis_shift(stack):
    shifted = np.roll(stack, (1, -2, 3), axis=(0, 1, 2))
    shift, est_crop, ref_crop = align(shifted, stack, max_shift=(2, 3, 3), border=(2, 5, 5))
    assert shift == (1, -2, 3)
    assert est_crop.shape == (16 - 8, 40 - 16, 40 - 16)
    np.testing.assert_array_equal(est_crop, ref_crop)


def test_align_ties_prefer_zero_shift():
    flat = np.full((40, 40), 0.3)
    assert align(flat, flat)[0] == (0, 0)


def test_align_out_of_range_shift_is_not_found(camera):
    shifted = np.roll(camera, (7, 0), axis=(0, 1))
    assert align(shifted, camera, max_shift=5)[0] != (7, 0)
    assert align(shifted, camera, max_shift=8)[0] == (7, 0)


def _sampled(image, shift):
    """``image`` sampled at ``i + shift`` by bilinear interpolation (periodic): the reference
    of which ``image`` is the estimate displaced by ``shift``."""
    out = image.astype(np.float64)
    for axis, s in enumerate(shift):
        whole, frac = divmod(s, 1.0)
        lo = np.roll(out, -int(whole), axis=axis)
        out = (1 - frac) * lo + frac * np.roll(lo, -1, axis=axis)
    return out


@settings(max_examples=30, deadline=None)
@given(dy=st.integers(-20, 20), dx=st.integers(-20, 20))
def test_align_subpixel_recovers_a_quarter_pixel_shift_exactly(camera, dy, dx):
    shift = (dy / 4, dx / 4)
    reference = _sampled(camera, shift)
    found, est_crop, ref_crop = align(camera, reference, subpixel=4)
    assert found == shift
    assert all(isinstance(v, float) for v in found)
    np.testing.assert_allclose(est_crop, ref_crop, atol=1e-12)


def test_align_subpixel_crop_is_the_interpolated_estimate(camera):
    # estimate sampled at i + (1.5, -0.25) over the documented interior (m = 15)
    reference = _sampled(camera, (1.5, -0.25))
    found, est_crop, _ = align(camera, reference, subpixel=4)
    rows = 0.5 * (camera[16:114] + camera[17:115])
    expected = 0.25 * rows[:, 14:112] + 0.75 * rows[:, 15:113]
    assert found == (1.5, -0.25)
    np.testing.assert_allclose(est_crop, expected, atol=1e-12)


def test_align_subpixel_never_exceeds_max_shift_or_the_border(camera):
    # the best match lies beyond 5 px: the search stops at the edge of its range and reads
    # no pixel outside the estimate (an out-of-range read would raise or wrap)
    reference = _sampled(camera, (5.5, 0.0))
    found, est_crop, ref_crop = align(camera, reference, subpixel=4)
    assert abs(found[0]) <= 5 and abs(found[1]) <= 5
    assert est_crop.shape == ref_crop.shape == (98, 98)


def test_align_subpixel_one_is_the_integer_search(camera):
    shifted = np.roll(camera, (2, -1), axis=(0, 1))
    assert align(shifted, camera, subpixel=1)[0] == (2, -1)
    assert align(shifted, camera, subpixel=3)[0] == (2.0, -1.0)


def test_score_subpixel_beats_integer_on_a_half_pixel_shift(camera):
    reference = _sampled(camera, (0.5, 0.5))
    whole = score(camera, reference)
    quarter = score(camera, reference, subpixel=4)
    assert quarter["shift"] == (0.5, 0.5)
    assert quarter["psnr"] == math.inf
    assert whole["psnr"] < 30


# ----------------------------------------------------------------------------------------- score
def test_score_of_shifted_reference_is_perfect(camera):
    result = score(np.roll(camera, (2, -5), axis=(0, 1)), camera)
    assert result == {"psnr": math.inf, "ssim": 1.0, "shift": (2, -5)}


def test_score_clips_the_estimate_and_does_not_mutate(camera):
    estimate = camera.copy()
    estimate[camera > 0.8] = 1.7  # overshoot above 1 ...
    estimate[camera < 0.1] = -0.5  # ... and undershoot below 0
    reference = np.clip(estimate, 0, 1)
    before = estimate.copy()
    assert score(estimate, reference)["psnr"] == math.inf
    assert score(estimate, reference, clip=False)["psnr"] < 30
    np.testing.assert_array_equal(estimate, before)


def test_score_of_blur_matches_direct_metrics_at_zero_shift(camera):
    blurred = ndimage.gaussian_filter(camera, 2.0)
    result = score(blurred, camera)
    assert result["shift"] == (0, 0)
    inner = (slice(15, -15),) * 2
    mse = np.mean((blurred[inner] - camera[inner]) ** 2)
    assert result["psnr"] == pytest.approx(10 * np.log10(1 / mse))
    assert result["ssim"] == pytest.approx(ssim(blurred[inner], camera[inner]))
    assert 15 < result["psnr"] < 35 and 0.3 < result["ssim"] < 0.95


def test_score_float32_and_3d(stack):
    est = (stack + 0.02).astype(np.float32)
    # 16 slices: the shift and border leave 12 >= 11 px, the SSIM window's extent
    result = score(est, stack, max_shift=1, border=1)
    assert result["shift"] == (0, 0, 0)
    assert 0.9 < result["ssim"] < 1
    assert result["psnr"] == pytest.approx(20 * np.log10(1 / 0.02), abs=0.05)


# ------------------------------------------------------------------------------------ validation
@pytest.mark.parametrize("func", [psnr, ssim, align, score])
def test_shape_mismatch_raises(func):
    with pytest.raises(InvalidParameterError, match="same shape"):
        func(np.zeros((40, 40)), np.zeros((40, 41)))


@pytest.mark.parametrize("data_range", [0, -1, np.nan, "one"])
@pytest.mark.parametrize("func", [psnr, ssim])
def test_bad_data_range(func, data_range):
    with pytest.raises(InvalidParameterError, match="data_range"):
        func(np.zeros((16, 16)), np.zeros((16, 16)), data_range=data_range)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"max_shift": -1}, "max_shift"),
        ({"max_shift": 1.5}, "max_shift"),
        ({"border": -2}, "border"),
        ({"border": (1, 2, 3)}, "border"),
        ({"border": 15}, "too small"),
        ({"subpixel": 0}, "subpixel"),
        ({"subpixel": 2.0}, "subpixel"),
        ({"subpixel": True}, "subpixel"),
    ],
)
def test_align_bad_parameters(kwargs, fragment):
    with pytest.raises(InvalidParameterError, match=fragment):
        align(np.zeros((40, 40)), np.zeros((40, 40)), **kwargs)


def test_invalid_arrays():
    with pytest.raises(InvalidImageError, match="NaN"):
        psnr(np.full((8, 8), np.nan), np.zeros((8, 8)))
    with pytest.raises(InvalidImageError, match="numeric"):
        psnr(np.array([["a"]]), np.array([["b"]]))
    with pytest.raises(InvalidParameterError, match="at least 11 px"):
        ssim(np.zeros((8, 8)), np.zeros((8, 8)))
    with pytest.raises(InvalidParameterError, match="channel_axis"):
        ssim(np.zeros((16, 16, 3)), np.zeros((16, 16, 3)), channel_axis=4)


@pytest.mark.parametrize("seed", range(4))
def test_align_shortlist_returns_what_the_exhaustive_search_does(camera, monkeypatch, seed):
    # the FFT shortlist only skips candidates that cannot be the least
    rng = np.random.default_rng(seed)
    x = camera[:96, :96]
    est = np.roll(x, tuple(rng.integers(-4, 5, 2)), axis=(0, 1))
    est = est + 0.02 * rng.standard_normal(x.shape)
    fast = metrics.align(est, x, subpixel=4, border=6)
    monkeypatch.setattr(metrics, "_shortlist", lambda candidates, *args: candidates)
    slow = metrics.align(est, x, subpixel=4, border=6)
    assert fast[0] == slow[0]
    np.testing.assert_array_equal(fast[1], slow[1])


@pytest.mark.parametrize("shape", [(40, 36), (30, 28, 3), (8, 30)])
def test_scores_equal_psnr_and_ssim_many_each_array_checked_once(shape, monkeypatch):
    """The report's ``_scores``: the PSNRs and SSIMs of the public functions, to the bit (SSIM
    None below the 11 px window), with each array checked (two passes) once."""
    from unblur import metrics

    rng = np.random.default_rng(18)
    ref = rng.random(shape)
    ests = [ref + s * rng.standard_normal(shape) for s in (0.05, 0.2)]
    axis = -1 if len(shape) == 3 else None
    calls = []
    checked = metrics._checked
    monkeypatch.setattr(metrics, "_checked", lambda a, n: calls.append(n) or checked(a, n))
    scores = metrics._scores(ests, ref, channel_axis=axis)
    assert calls == ["reference", "estimate", "estimate"]
    monkeypatch.setattr(metrics, "_checked", checked)
    psnrs = [metrics.psnr(e, ref) for e in ests]
    ssims = metrics.ssim_many(ests, ref, channel_axis=axis) if min(shape[:2]) >= 11 else [None] * 2
    assert scores == list(zip(psnrs, ssims, strict=True))
