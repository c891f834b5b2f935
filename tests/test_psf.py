"""PSF models: normalisation, centring, second moments, files and spec strings."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unblur import InvalidParameterError, InvalidPSFError, psf

MODELS = {
    "gaussian": lambda: psf.gaussian(2.5),
    "gaussian_elliptic": lambda: psf.gaussian((1.0, 3.0), angle=30),
    "gaussian_3d": lambda: psf.gaussian((1.0, 2.0, 2.0)),
    "motion": lambda: psf.motion(21, angle=30),
    "motion_vertical": lambda: psf.motion(9, angle=90),
    "disk": lambda: psf.disk(4.3),
    "airy": lambda: psf.airy(2.0),
    "moffat": lambda: psf.moffat(fwhm=4.0, beta=3.0),
}


def moments_2d(k: np.ndarray) -> tuple[np.ndarray, float]:
    """Eigenvalues (ascending) of the second-moment matrix and the major axis angle in
    degrees counter-clockwise from x, with y pointing up."""
    c = psf.centroid(k)
    r, col = np.indices(k.shape)
    y, x = -(r - c[0]), col - c[1]
    cov = np.array([[(k * x * x).sum(), (k * x * y).sum()], [(k * x * y).sum(), (k * y * y).sum()]])
    w, v = np.linalg.eigh(cov)
    return w, math.degrees(math.atan2(v[1, 1], v[0, 1])) % 180


def angle_diff(a: float, b: float) -> float:
    d = abs(a - b) % 180
    return min(d, 180 - d)


@pytest.mark.parametrize("name", MODELS)
def test_models_are_normalised_nonnegative_centred_and_odd(name):
    k = MODELS[name]()
    assert k.dtype == np.float64
    assert math.isclose(k.sum(), 1.0, rel_tol=1e-12)
    assert k.min() >= 0
    assert all(n % 2 == 1 for n in k.shape)
    np.testing.assert_allclose(psf.centroid(k), [n // 2 for n in k.shape], atol=1e-9)


@given(sigma=st.floats(0.8, 6.0))
@settings(max_examples=25, deadline=None)
def test_gaussian_variance_matches_sigma(sigma):
    w, _ = moments_2d(psf.gaussian(sigma))
    np.testing.assert_allclose(w, sigma**2, rtol=0.01)


@given(sy=st.floats(0.8, 2.0), sx=st.floats(2.5, 5.0), angle=st.floats(-180, 180))
@settings(max_examples=25, deadline=None)
def test_elliptical_gaussian_axes_and_angle(sy, sx, angle):
    w, major = moments_2d(psf.gaussian((sy, sx), angle=angle))
    np.testing.assert_allclose(w, [sy**2, sx**2], rtol=0.01)
    assert angle_diff(major, angle) < 0.5


def test_gaussian_3d_per_axis_sigma():
    k = psf.gaussian((1.0, 2.0, 3.0))
    c = psf.centroid(k)
    for ax, s in enumerate((1.0, 2.0, 3.0)):
        coord = np.arange(k.shape[ax]) - c[ax]
        marginal = k.sum(axis=tuple(a for a in range(3) if a != ax))
        assert math.isclose((marginal * coord**2).sum(), s**2, rel_tol=0.01)


def test_gaussian_blog_recipe_translation():
    """The docstring's recipe: exp(-(x²+y²)/radius) is sigma = sqrt(radius / 2)."""
    radius = 8.0
    y, x = np.mgrid[-8:9, -8:9]
    blog = np.exp(-(x**2 + y**2) / radius)
    blog /= blog.sum()
    np.testing.assert_allclose(psf.gaussian(math.sqrt(radius / 2), size=17), blog, atol=1e-12)


@given(length=st.floats(5.0, 41.0), angle=st.floats(-180.0, 180.0))
@settings(max_examples=40, deadline=None)
def test_motion_length_and_angle_from_moments(length, angle):
    k = psf.motion(length, angle)
    w, major = moments_2d(k)
    # uniform segment (L²/12) plus the bilinear footprint (1/6)
    assert abs(math.sqrt(12 * (w[1] - 1 / 6)) - length) < 0.05
    assert w[0] < 0.2  # thin: only the anti-aliasing footprint across the line
    assert angle_diff(major, angle) < 0.5


def test_motion_horizontal_is_a_flat_row():
    k = psf.motion(9, 0)
    assert k.shape == (1, 11)
    np.testing.assert_allclose(k[0, 2:-2], 1 / 9)


def test_disk_and_airy_and_moffat_shapes():
    w, _ = moments_2d(psf.disk(6.0))
    np.testing.assert_allclose(w, 6.0**2 / 4, rtol=0.03)  # uniform disk: r²/4 per axis
    k = psf.airy(3.0, size=31)
    c = 15
    # first dark ring at 3 px: much dimmer than the centre and than the first bright ring
    assert k[c, c + 3] < 0.02 * k[c, c]
    assert k[c, c + 4] > k[c, c + 3]
    m = psf.moffat(fwhm=5.0, beta=2.5, oversample=1, size=41)
    row = m[20] / m[20, 20]
    half = np.interp(0.5, row[20:][::-1], np.arange(21)[::-1])
    assert abs(2 * half - 5.0) < 0.15


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: psf.gaussian(-1), "sigma must be"),
        (lambda: psf.gaussian(float("nan")), "sigma must be"),
        (lambda: psf.gaussian(1, size=4), "odd"),
        (lambda: psf.gaussian((1, 2, 3), angle=10), "2-D"),
        (lambda: psf.motion(0.5), "length must be between 1 and"),
        (lambda: psf.disk(0), "radius must be"),
        (lambda: psf.moffat(alpha=2, beta=0.5), "beta must be > 1"),
        (lambda: psf.moffat(), "exactly one"),
        (lambda: psf.gaussian(1e6), "too large"),
    ],
)
def test_model_parameter_errors(call, message):
    with pytest.raises(InvalidParameterError, match=message) as err:
        call()
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("kernel", "message"),
    [
        (np.zeros((3, 3)), "sums to zero"),
        (np.array([[0.0, -1.0], [2.0, 0.0]]), "negative"),
        (np.array([[np.nan, 1.0]]), "NaN"),
        (np.zeros((0, 3)), "empty"),
    ],
)
def test_normalize_rejects_bad_kernels(kernel, message):
    with pytest.raises(InvalidPSFError, match=message):
        psf.normalize(kernel)


def test_parse_spec_models():
    np.testing.assert_array_equal(psf.parse_spec("gaussian:sigma=2.5"), psf.gaussian(2.5))
    np.testing.assert_array_equal(
        psf.parse_spec("motion:length=21,angle=30"), psf.motion(21, angle=30)
    )
    np.testing.assert_array_equal(psf.parse_spec(" Disk:radius=4 "), psf.disk(4))
    np.testing.assert_array_equal(
        psf.parse_spec("gaussian:sigma=1.5x3,angle=30"), psf.gaussian((1.5, 3), angle=30)
    )
    assert psf.parse_spec("gaussian:sigma=1,size=9").shape == (9, 9)


@pytest.mark.parametrize(
    ("spec", "kept"),
    [("disk:radius=3,size=1", "4%"), ("gaussian:sigma=2,size=3", "30%"),
     ("motion:length=15,size=3", "20%")],
)  # fmt: skip
def test_a_size_that_crops_away_most_of_the_psf_is_warned_about(spec, kept):
    """disk:radius=3,size=1 was silently a single point (the identity)."""
    with pytest.warns(UserWarning, match=f"size crops the PSF to {kept} of its light"):
        k = psf.parse_spec(spec)
    assert k.sum() == pytest.approx(1.0)  # still built: a blur made with it is restored


@pytest.mark.parametrize(
    "spec",
    ["gaussian:sigma=2,size=5", "disk:radius=3,size=7", "motion:length=15,size=31",
     "gaussian:sigma=1,size=9"],
)  # fmt: skip
def test_a_size_that_keeps_most_of_the_psf_is_silent(spec):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        psf.parse_spec(spec)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("blurry:sigma=2", "unknown PSF 'blurry:sigma=2'"),
        ("gaussian:sigma=abc", "not a number"),
        ("gaussian:sigma", "not key=value"),
        ("gaussian:width=3", "unexpected keyword"),
        ("motion:length=-3", "length must be"),
        ("no/such/file.png", "unknown PSF"),
    ],
)
def test_parse_spec_errors(spec, message):
    with pytest.raises(InvalidPSFError, match=message) as err:
        psf.parse_spec(spec)
    assert "\n" not in str(err.value)


def test_from_array_cleans_background_centres_and_crops():
    k = np.full((40, 50), 0.05)
    k[10:15, 30:33] += 1.0  # off-centre blob on a constant background
    out = psf.from_array(k)
    assert out.shape == (5, 3)
    np.testing.assert_allclose(out, 1 / 15)
    np.testing.assert_allclose(psf.centroid(out), [2, 1])


def test_from_array_even_blob_is_padded_to_odd_and_centred():
    k = np.zeros((20, 20))
    k[5:9, 5:7] = 1.0  # 4 x 2 blob: no centre pixel
    out = psf.from_array(k)
    assert all(n % 2 for n in out.shape)
    assert math.isclose(out.sum(), 1.0)
    assert np.all(np.abs(psf.centroid(out) - [n // 2 for n in out.shape]) <= 0.5)


def test_from_file_npy_round_trip(tmp_path):
    k = psf.motion(15, 40)
    np.save(tmp_path / "k.npy", np.pad(k, 6))
    np.testing.assert_allclose(psf.from_file(tmp_path / "k.npy"), k, atol=1e-12)
    np.testing.assert_allclose(psf.parse_spec(str(tmp_path / "k.npy")), k, atol=1e-12)


def test_from_array_all_background_is_an_error():
    with pytest.raises(InvalidPSFError, match="empty after removing background"):
        psf.from_array(np.full((9, 9), 0.3))


def test_psf_to_otf_centres_the_psf():
    """The OTF of a centred symmetric PSF is real: no phase ramp, so no shift."""
    for k in (psf.gaussian(2.0), psf.motion(11, 30), psf.disk(3)):
        otf = psf.psf_to_otf(k, (64, 64))
        assert np.abs(otf.imag).max() < 1e-12
        np.testing.assert_allclose(psf.otf_to_psf(otf, (64, 64), k.shape), k, atol=1e-14)


def test_psf_to_otf_errors():
    with pytest.raises(InvalidPSFError, match="larger than the grid"):
        psf.psf_to_otf(np.ones((9, 9)), (8, 16))
    with pytest.raises(InvalidPSFError, match="dimensions"):
        psf.psf_to_otf(np.ones((3, 3)), (8, 8, 8))


@pytest.mark.parametrize("suffix", [".npy", ".tif"])
def test_saved_float_psf_loads_back_unchanged(tmp_path, suffix):
    from unblur.io import write_image

    k = psf.gaussian(2.0)  # no zero border: nothing may be cropped or subtracted
    path = write_image(tmp_path / f"k{suffix}", k.astype(np.float32))
    np.testing.assert_allclose(psf.from_file(path), k, rtol=1e-6, atol=1e-9)


def test_photographed_psf_png_gets_background_removed(tmp_path):
    from unblur.io import write_image

    img = np.full((31, 31), 20 / 255)
    img[14:17, 13:18] = 1.0
    path = write_image(tmp_path / "k.png", img)
    out = psf.from_file(path)
    assert out.shape == (3, 5)
    np.testing.assert_allclose(out, 1 / 15)


def test_3d_psf_from_npy(tmp_path):
    k = psf.gaussian((1.0, 1.5, 1.5))
    np.save(tmp_path / "k3.npy", k)
    np.testing.assert_allclose(psf.from_file(tmp_path / "k3.npy"), k, atol=1e-15)
