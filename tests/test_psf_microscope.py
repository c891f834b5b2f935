"""Microscope PSFs: published widths and zeros, the Airy limit, Gibson-Lanni against Born & Wolf
and against adaptive quadrature, confocal as a product, validation and speed."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import scipy.integrate
import scipy.optimize
import scipy.special

import unblur
from unblur import InvalidParameterError, InvalidPSFError, psf
from unblur.psf.microscope import _optics, _profile, confocal, widefield

J1_ZERO = 3.8317059702075125  # first zero of J1: Airy first dark ring at J1_ZERO/(2π) λ/NA


def fwhm(coords: np.ndarray, values: np.ndarray) -> float:
    """Full width at half maximum of a single-peaked sampled profile (linear interpolation)."""
    f = values / values.max()
    i = int(np.argmax(f))
    right = i + int(np.argmax(f[i:] < 0.5))
    left = i - int(np.argmax(f[i::-1] < 0.5))
    assert f[right] < 0.5 and f[left] < 0.5, "profile does not fall to half maximum"

    def cross(a: int, b: int) -> float:
        return coords[a] + (0.5 - f[a]) * (coords[b] - coords[a]) / (f[b] - f[a])

    return cross(right - 1, right) - cross(left + 1, left)


def axial_profile(**kw) -> tuple[np.ndarray, np.ndarray]:
    """On-axis intensity along z of a (nz, 1, 1) PSF with a tiny pixel: (z, h(0, z))."""
    dz, nz = kw.pop("dz"), kw.pop("nz")
    k = widefield(voxel_size=(dz, 1e-3, 1e-3), shape=(nz, 1, 1), oversample=1, **kw)
    return (np.arange(nz) - nz // 2) * dz, k[:, 0, 0]


# --------------------------------------------------------------------------------------------
# general properties
# --------------------------------------------------------------------------------------------
CASES = {
    "born_wolf": lambda: widefield(
        na=1.4, wavelength=0.52, refractive_index=1.515, voxel_size=(0.15, 0.06, 0.06), shape=31
    ),
    "gibson_lanni_mismatch": lambda: widefield(
        na=1.4,
        wavelength=0.52,
        refractive_index=1.515,
        voxel_size=(0.15, 0.06, 0.06),
        shape=(31, 33, 35),
        model="gibson_lanni",
        ns=1.33,
        zp=8.0,
    ),
    "confocal_gibson_lanni": lambda: confocal(
        na=1.4,
        excitation_wavelength=0.488,
        emission_wavelength=0.6,
        refractive_index=1.515,
        voxel_size=(0.15, 0.05, 0.05),
        shape=(31, 25, 25),
        model="gibson_lanni",
        ns=1.33,
        zp=10.0,
    ),
    "confocal": lambda: confocal(
        na=1.2,
        excitation_wavelength=0.488,
        emission_wavelength=0.52,
        refractive_index=1.33,
        voxel_size=(0.1, 0.04, 0.04),
        shape=(21, 31, 31),
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_psf_is_normalised_centred_and_symmetric(name):
    k = CASES[name]()
    assert k.dtype == np.float64 and k.ndim == 3
    assert all(n % 2 == 1 for n in k.shape)
    assert math.isclose(k.sum(), 1.0, rel_tol=1e-12)
    assert k.min() >= 0 and np.all(np.isfinite(k))
    # the intensity maximum is the central voxel (the focal shift is taken out by centre=True)
    assert np.unravel_index(np.argmax(k), k.shape) == tuple(n // 2 for n in k.shape)
    # radial symmetry: mirror images in y and x, and the transpose for a square plane
    np.testing.assert_array_equal(k, k[:, ::-1, :])
    np.testing.assert_array_equal(k, k[:, :, ::-1])
    if k.shape[1] == k.shape[2]:
        np.testing.assert_allclose(k, k.transpose(0, 2, 1), rtol=1e-12, atol=1e-18)


def test_default_shape_covers_two_axial_zeros_and_the_defocus_cone():
    lam, na, n, dz, dxy = 0.52, 1.4, 1.515, 0.1, 0.065
    k = widefield(na=na, wavelength=lam, refractive_index=n, voxel_size=(dz, dxy))
    z_zero = 2 * n * lam / na**2  # first axial zero of the paraxial model
    assert (k.shape[0] // 2) * dz >= 2 * z_zero - dz
    assert (k.shape[1] // 2) * dxy >= 4 * 0.61 * lam / na
    # the outermost plane still holds light near its border: the box is not too small, and
    # the defocused planes carry about as much light as the focal plane (missing cone)
    assert k[0].sum() > 0.2 * k[k.shape[0] // 2].sum()


# --------------------------------------------------------------------------------------------
# Born & Wolf against published values
# --------------------------------------------------------------------------------------------
def test_lateral_fwhm_and_first_zero_match_the_airy_pattern():
    lam, na = 0.5, 1.0
    dx = lam / na / 50
    k = widefield(
        na=na, wavelength=lam, refractive_index=1.515, voxel_size=(0.1, dx, dx),
        shape=(1, 101, 101), oversample=1,
    )  # fmt: skip
    line = k[0, 50]
    x = (np.arange(101) - 50) * dx
    # FWHM of the Airy disk: 0.5145 λ/NA
    assert fwhm(x, line) / (lam / na) == pytest.approx(0.5145, rel=2e-3)
    # first dark ring: 0.61 λ/NA (first local minimum right of the centre)
    right = line[50:]
    first_min = int(np.argmax((right[1:-1] < right[:-2]) & (right[1:-1] <= right[2:]))) + 1
    assert first_min * dx / (lam / na) == pytest.approx(0.61, abs=dx / (lam / na))
    assert right[first_min] < 1e-3 * right[0]  # the first bright ring is 1.75e-2


def test_in_focus_plane_equals_the_2d_airy_model():
    lam, na, dx = 0.52, 1.2, 0.04
    k = widefield(
        na=na, wavelength=lam, refractive_index=1.33, voxel_size=(0.1, dx, dx),
        shape=(5, 41, 41), oversample=4,
    )  # fmt: skip
    focal = k[2] / k[2].sum()
    # the exact first zero, and the rounded 0.61 λ/NA of the brief
    exact = psf.airy(radius=J1_ZERO / (2 * math.pi) * lam / na / dx, size=41, oversample=4)
    np.testing.assert_allclose(focal, exact, atol=2e-4 * exact.max())
    rounded = psf.airy(radius=0.61 * lam / na / dx, size=41, oversample=4)
    np.testing.assert_allclose(focal, rounded, atol=2e-3 * rounded.max())


@pytest.mark.parametrize(("na", "n"), [(0.3, 1.0), (0.9, 1.0), (1.4, 1.515)])
def test_axial_fwhm_of_born_wolf_is_the_paraxial_value(na, n):
    lam = 0.5
    expected = 1.772 * n * lam / na**2  # h(0, z) = sinc²(u/4), u = k NA² z / n
    z, h = axial_profile(na=na, wavelength=lam, refractive_index=n, dz=expected / 100, nz=301)
    assert fwhm(z, h) == pytest.approx(expected, rel=1e-3)
    # first axial zero at 2 n λ / NA²
    zero = 2 * n * lam / na**2
    assert h[np.argmin(np.abs(z - zero))] < 1e-3 * h.max()


# --------------------------------------------------------------------------------------------
# Gibson & Lanni
# --------------------------------------------------------------------------------------------
def test_gibson_lanni_with_matched_indices_reduces_to_born_wolf():
    lam, shape = 0.5, (33, 41, 41)

    def pair(na):
        n = 1.0
        voxel = (n * lam / na**2 / 8, lam / na / 10, lam / na / 10)
        a = widefield(na=na, wavelength=lam, refractive_index=n, voxel_size=voxel, shape=shape)
        b = widefield(
            na=na, wavelength=lam, refractive_index=n, voxel_size=voxel, shape=shape,
            model="gibson_lanni", ng=1.52, tg=170, ti0=150,
        )  # fmt: skip
        return a, b

    a, b = pair(0.1)
    # in focus the two phases vanish: identical planes
    np.testing.assert_allclose(b[16] / b[16].sum(), a[16] / a[16].sum(), rtol=1e-9, atol=1e-15)
    small = np.abs(a - b).max() / a.max()
    assert small < 5e-3
    # out of focus they differ only by the non-paraxial terms, which grow like NA²
    a3, b3 = pair(0.3)
    larger = np.abs(a3 - b3).max() / a3.max()
    assert 4 * small < larger < 0.05


def test_gibson_lanni_axial_width_matches_the_non_paraxial_estimate():
    lam, na, n = 0.52, 1.4, 1.515
    estimate = 0.88 * lam / (n - math.sqrt(n * n - na * na))
    z, h = axial_profile(
        na=na, wavelength=lam, refractive_index=n, model="gibson_lanni", dz=0.005, nz=401
    )
    assert fwhm(z, h) == pytest.approx(estimate, rel=0.06)
    # ... well below the paraxial Born & Wolf value at this aperture
    _, h_bw = axial_profile(na=na, wavelength=lam, refractive_index=n, dz=0.005, nz=401)
    assert fwhm(z, h) < 0.8 * fwhm(z, h_bw)


def test_gibson_lanni_depth_is_pure_defocus_when_indices_match():
    kw = dict(
        na=1.2, wavelength=0.52, refractive_index=1.33, voxel_size=(0.1, 0.05, 0.05),
        shape=(21, 25, 25), model="gibson_lanni",
    )  # fmt: skip
    np.testing.assert_allclose(widefield(**kw, zp=6.0), widefield(**kw, zp=0.0), atol=1e-9)
    # without centring, the focus lies at z = -zp (ti = ti0 + z), 6 µm = 60 planes away
    off = widefield(**kw, zp=0.6, centre=False)
    assert np.argmax(off[:, 12, 12]) == 10 - 6


def test_index_mismatch_elongates_the_psf_and_shifts_its_focus():
    common = dict(na=1.4, wavelength=0.52, refractive_index=1.515, model="gibson_lanni", ns=1.33)
    z, shallow = axial_profile(**common, zp=0.0, dz=0.02, nz=601)
    _, deep = axial_profile(**common, zp=20.0, dz=0.02, nz=601)
    assert fwhm(z, deep) > 1.5 * fwhm(z, shallow)
    # the deep PSF is asymmetric along z (spherical aberration): its halves differ
    mid = deep.size // 2
    assert np.abs(deep[:mid] - deep[mid + 1 :][::-1]).max() > 0.1 * deep.max()
    # without centring, the peak sits away from z = -zp (focal shift from the mismatch)
    k = widefield(
        **common, zp=5.0, voxel_size=(0.1, 0.05, 0.05), shape=(161, 1, 1), oversample=1,
        centre=False,
    )  # fmt: skip
    peak_z = (np.argmax(k[:, 0, 0]) - 80) * 0.1
    assert abs(peak_z - (-5.0)) > 0.5


def test_gibson_lanni_quadrature_matches_adaptive_integration():
    na, lam, ni, ns, zp = 1.4, 0.52, 1.515, 1.33, 5.0
    optics = _optics("gibson_lanni", na, lam, ni, ns, 1.515, 1.515, 1.515, 170, 170, 150, zp)
    k = 2 * math.pi / lam
    rho_max = ns / na

    def opd(rho, z):  # Gibson & Lanni 1991, written out independently here
        s = lambda m: math.sqrt(max(m * m - (na * rho) ** 2, 0.0))  # noqa: E731
        return zp * s(ns) + (150 + z) * s(ni) - 150 * s(ni)

    def reference(r, z):
        def part(f):
            g = lambda rho: f(k * opd(rho, z)) * scipy.special.j0(k * na * r * rho) * rho  # noqa: E731
            return scipy.integrate.quad(g, 0, rho_max, limit=400, epsabs=1e-12)[0]

        return part(math.cos) ** 2 + part(math.sin) ** 2

    r = np.array([0.0, 0.15, 0.4, 1.0])
    z = np.array([-6.0, -4.2, -3.0])
    ours = _profile(optics, r, z)
    ref = np.array([[reference(ri, zi) for zi in z] for ri in r])
    np.testing.assert_allclose(ours, ref, atol=1e-6 * ref.max())


# --------------------------------------------------------------------------------------------
# confocal
# --------------------------------------------------------------------------------------------
def test_confocal_is_the_product_of_excitation_and_emission():
    kw = dict(na=1.2, refractive_index=1.33, voxel_size=(0.1, 0.04, 0.04), shape=(15, 21, 21))
    k = confocal(excitation_wavelength=0.488, emission_wavelength=0.6, oversample=1, **kw)
    ex = widefield(wavelength=0.488, oversample=1, **kw)
    em = widefield(wavelength=0.6, oversample=1, **kw)
    np.testing.assert_allclose(k, ex * em / (ex * em).sum(), rtol=1e-10)
    # with aberrations too: both paths at the same stage positions
    gl = dict(kw, model="gibson_lanni", ns=1.33, zp=4.0, centre=False)
    k = confocal(excitation_wavelength=0.488, emission_wavelength=0.6, oversample=1, **gl)
    ex = widefield(wavelength=0.488, oversample=1, **gl)
    em = widefield(wavelength=0.6, oversample=1, **gl)
    np.testing.assert_allclose(k, ex * em / (ex * em).sum(), rtol=1e-10)


def test_confocal_lateral_fwhm_is_narrower_by_the_ideal_pinhole_factor():
    lam, na = 0.5, 1.0
    # (2 J1(v)/v)^4 = 1/2 gives the ideal-pinhole width, 0.3693 λ/NA
    v = scipy.optimize.brentq(lambda t: (2 * scipy.special.j1(t) / t) ** 4 - 0.5, 0.1, 3.8)
    expected = 2 * v / (2 * math.pi)
    dx = lam / na / 50
    k = confocal(
        na=na, excitation_wavelength=lam, emission_wavelength=lam, refractive_index=1.515,
        voxel_size=(0.1, dx, dx), shape=(1, 61, 61), oversample=1,
    )  # fmt: skip
    x = (np.arange(61) - 30) * dx
    assert fwhm(x, k[0, 30]) / (lam / na) == pytest.approx(expected, rel=3e-3)
    assert expected == pytest.approx(0.37, abs=0.005)


# --------------------------------------------------------------------------------------------
# pixel integration, validation, speed, use in a deconvolution
# --------------------------------------------------------------------------------------------
def test_voxels_follow_the_radial_profile_at_pixel_centres():
    na, lam, n, dz, dx = 1.0, 0.5, 1.33, 0.2, 0.03
    k = widefield(
        na=na, wavelength=lam, refractive_index=n, voxel_size=(dz, dx, dx), shape=(5, 31, 31),
        oversample=1,
    )  # fmt: skip
    iy, ix = np.indices((31, 31)) - 15
    r = dx * np.hypot(iy, ix).ravel()
    z = dz * (np.arange(5) - 2)
    direct = _profile(_optics("born_wolf", na, lam, n, *[None] * 8), r, z).T.reshape(5, 31, 31)
    np.testing.assert_allclose(k, direct / direct.sum(), atol=1e-4 * k.max())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(na=0.0), "na must be finite and > 0"),
        (dict(na=-1.0), "na must be finite and > 0"),
        (dict(na=1.6, refractive_index=1.515), "smaller than the immersion refractive_index"),
        (dict(na=1.0, refractive_index=1.0), "smaller than the immersion refractive_index"),
        (dict(wavelength=0.0), "wavelength must be finite and > 0"),
        (dict(wavelength=float("nan")), "wavelength must be finite and > 0"),
        (dict(voxel_size=(0.1, -0.05, 0.05)), "voxel_size must be finite and > 0"),
        (dict(voxel_size=(0.1, 0.1, 0.1, 0.1)), "voxel_size must be a number"),
        (dict(voxel_size=None), "voxel_size is required"),
        (dict(shape=(10, 11, 11)), "shape must be positive odd integers"),
        (dict(shape=(11, 11)), "shape must be an int or 3 ints"),
        (dict(model="vectorial"), "unknown microscope model"),
        (dict(ns=1.33), "only apply to model='gibson_lanni'"),
        (dict(model="gibson_lanni", zp=-1.0), "zp must be finite and >= 0"),
        (dict(oversample=0), "oversample must be an integer from 1 to 16"),
    ],
)
def test_invalid_parameters_raise_one_line_errors(kwargs, message):
    params = dict(na=0.8, wavelength=0.5, refractive_index=1.0, voxel_size=0.1, shape=11)
    params.update(kwargs)
    with pytest.raises(InvalidParameterError, match=message) as err:
        widefield(**params)
    assert "\n" not in str(err.value)


def test_confocal_validates_both_wavelengths():
    kw = dict(na=0.8, voxel_size=0.1, shape=11)
    with pytest.raises(InvalidParameterError, match="wavelength must be finite and > 0"):
        confocal(excitation_wavelength=-0.5, emission_wavelength=0.5, **kw)
    with pytest.raises(InvalidParameterError, match="wavelength must be finite and > 0"):
        confocal(excitation_wavelength=0.5, emission_wavelength=0.0, **kw)


def test_a_65_cubed_psf_takes_well_under_a_second():
    kw = dict(na=1.4, wavelength=0.52, refractive_index=1.515, voxel_size=(0.1, 0.05, 0.05))
    best = math.inf
    for _ in range(2):
        start = time.perf_counter()
        k = widefield(shape=65, **kw)
        best = min(best, time.perf_counter() - start)
    assert k.shape == (65, 65, 65)
    assert best < 1.0


def test_widefield_psf_drives_a_3d_deconvolution(stack):
    from unblur import blur, deconvolve

    k = widefield(
        na=1.0, wavelength=0.52, refractive_index=1.33, voxel_size=(0.25, 0.1, 0.1),
        shape=(9, 15, 15),
    )  # fmt: skip
    truth = stack.astype(np.float32)
    blurred = blur(truth, k, boundary="periodic")
    restored = deconvolve(blurred, k, method="richardson_lucy", boundary="periodic", num_iter=15)
    assert restored.dtype == np.float32 and restored.shape == truth.shape
    err_blurred = float(np.mean((blurred - truth) ** 2))
    err_restored = float(np.mean((restored - truth) ** 2))
    assert err_restored < 0.5 * err_blurred


def test_spec_strings_build_microscope_psfs():
    from unblur.psf import parse_spec

    spec = "widefield:na=1.2,wavelength=0.5,refractive_index=1.33,voxel_size=0.3x0.1,shape=9x15x15"
    expected = widefield(na=1.2, wavelength=0.5, refractive_index=1.33, voxel_size=(0.3, 0.1),
                         shape=(9, 15, 15))  # fmt: skip
    np.testing.assert_array_equal(parse_spec(spec), expected)
    # the voxel size may come from the image (a calibrated TIFF stack) instead of the spec
    bare = ("confocal:na=1.2,excitation_wavelength=0.488,emission_wavelength=0.52,"
            "refractive_index=1.33,shape=9x15x15")  # fmt: skip
    got = parse_spec(bare, voxel_size=(0.3, 0.1, 0.1))
    want = confocal(na=1.2, excitation_wavelength=0.488, emission_wavelength=0.52,
                    refractive_index=1.33, voxel_size=(0.3, 0.1, 0.1),
                    shape=(9, 15, 15))  # fmt: skip
    np.testing.assert_array_equal(got, want)
    with pytest.raises(InvalidPSFError, match="give voxel_size=DZxDXY"):
        parse_spec(bare)
    with pytest.raises(InvalidPSFError, match="model"):
        parse_spec("widefield:na=0.8,wavelength=0.5,voxel_size=0.3x0.1,model=nonsense")


def test_cli_takes_the_voxel_size_from_an_ome_tiff(tmp_path):
    import tifffile
    from click.testing import CliRunner

    from unblur.cli import cli
    from unblur.io import read_image

    k = widefield(na=0.8, wavelength=0.5, voxel_size=(0.4, 0.1), shape=(7, 9, 9))
    rng = np.random.default_rng(0)
    x = np.zeros((16, 32, 32), np.float32)
    x[tuple(rng.integers(2, [14, 30, 30], size=(40, 3)).T)] = 1.0
    y = unblur.blur(x, k, boundary="periodic")
    meta = {"axes": "ZYX", "PhysicalSizeX": 0.1, "PhysicalSizeY": 0.1, "PhysicalSizeZ": 0.4}
    tifffile.imwrite(tmp_path / "stack.ome.tif", y, ome=True, metadata=meta)
    out = tmp_path / "restored.tif"
    spec = "widefield:na=0.8,wavelength=0.5,shape=7x9x9"
    args = ["deconvolve", str(tmp_path / "stack.ome.tif"), "-o", str(out), "--psf", spec,
            "-m", "richardson_lucy", "--boundary", "periodic"]  # fmt: skip
    result = CliRunner().invoke(cli, args, prog_name="unblur")
    assert result.exit_code == 0, result.output
    restored, info = read_image(out)
    assert info.voxel_size == (0.4, 0.1, 0.1)  # carried to the output
    expected = unblur.deconvolve(y, k, method="richardson_lucy", boundary="periodic")
    np.testing.assert_allclose(restored, expected, atol=1e-5)
