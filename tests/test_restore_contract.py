"""Property tests of every registered restoration method (issue 7).

For random small images (2-D with sides 1 to 10 pixels, 3-D with sides 1 to 4, odd and even),
every input dtype (uint8, uint16, float32, float64), degenerate value ranges (zeros, constants,
1e30, 1e-30, negative values) and PSFs of every kind (a single pixel, odd, even, elongated,
as large as the image, random sides), each method in :func:`unblur.available_methods` (read
when the tests are collected, so a new method is covered without editing this file) must

* return a finite array of the input's shape,
* return float64 for float64 input and float32 for everything else,
* leave the caller's image and PSF untouched,

and a PSF larger than the image along any axis must raise :class:`InvalidPSFError` naming
both shapes. Iterative methods run a few iterations only (``num_iter=3``) to stay fast.

The registered function itself (what :func:`unblur.deconvolve` dispatches to) obeys the
conventions of :mod:`unblur.restore`: it takes ``boundary`` (every mode for an iterative
method; a direct method refuses ``unknown`` with a message pointing to the iterative ones),
keeps float32 and float64, maps zeros to zeros, leaves its inputs alone and returns what
``deconvolve`` returns; an iterative method calls ``callback(iteration, estimate)`` once per
iteration with a copy of the image-sized estimate, fills ``info["iterations"]`` and
``info["stopped_by"]``, and, when it takes ``tol``, stops on it.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import ndimage

import unblur
from unblur.errors import InvalidParameterError, InvalidPSFError
from unblur.operators import BOUNDARIES
from unblur.restore import get_method

# these tests pass images beyond [0, 1] on purpose (scales, photon counts, integer ranges)
pytestmark = pytest.mark.filterwarnings("ignore::unblur.ValueRangeWarning")

METHODS = unblur.available_methods()
ITERATIVE = [m for m in METHODS if get_method(m).iterative]
WITH_TOL = [m for m in ITERATIVE if "tol" in get_method(m).parameters]
DTYPES = (np.uint8, np.uint16, np.float32, np.float64)
VALUES = ("random", "zeros", "constant", "huge", "tiny", "signed")
PSF_KINDS = ("delta", "odd", "even", "elongated", "full", "random")

#: few examples per method: each test runs every method, the file stays well under 30 s
FAST = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _image(shape: tuple[int, ...], dtype, values: str, seed: int) -> np.ndarray:
    """A test image of ``shape`` and ``dtype`` whose values follow the ``values`` recipe."""
    rng = np.random.default_rng(seed)
    x = rng.random(shape)
    if values == "zeros":
        x = np.zeros(shape)
    elif values == "constant":
        x = np.full(shape, 0.625)
    elif values == "huge":
        x = x * 1e30
    elif values == "tiny":
        x = x * 1e-30
    elif values == "signed":
        x = 2 * x - 1
    if np.dtype(dtype).kind == "u":  # the recipe on the integer scale, saturated
        top = np.iinfo(dtype).max
        return np.clip(np.rint(x * top), 0, top).astype(dtype)
    return x.astype(dtype)


def _psf_shape(kind: str, shape: tuple[int, ...], rng: np.random.Generator) -> tuple[int, ...]:
    nd = len(shape)
    if kind == "delta":
        return (1,) * nd
    if kind == "odd":
        return tuple(min(3, n) if n % 2 else max(1, min(3, n - 1)) for n in shape)
    if kind == "even":
        return tuple(2 if n >= 2 else 1 for n in shape)
    if kind == "elongated":
        return (1,) * (nd - 1) + (shape[-1],)
    if kind == "full":
        return shape
    return tuple(int(rng.integers(1, n + 1)) for n in shape)


_NDIMS = st.sampled_from((2, 3))


@st.composite
def cases(draw, ndim=_NDIMS, top_2d: int = 10):
    """(image, psf) pairs with the PSF no larger than the image."""
    nd = draw(ndim)
    top = top_2d if nd == 2 else 4  # 3-D stays small: pnp runs BM3D slice by slice
    shape = tuple(draw(st.lists(st.integers(1, top), min_size=nd, max_size=nd)))
    dtype = draw(st.sampled_from(DTYPES))
    values = draw(st.sampled_from(VALUES))
    seed = draw(st.integers(0, 2**16))
    image = _image(shape, dtype, values, seed)
    rng = np.random.default_rng(seed + 1)
    kind = draw(st.sampled_from(PSF_KINDS))
    psf_dtype = draw(st.sampled_from((np.float64, np.float32)))
    k = rng.random(_psf_shape(kind, shape, rng)) + 0.05
    return image, k.astype(psf_dtype)


def _fast(method: str) -> dict:
    """Keyword arguments that keep a method quick: few iterations when it has ``num_iter``."""
    return {"num_iter": 3} if "num_iter" in get_method(method).parameters else {}


#: cheap settings where a test checks the API's handling rather than the method's numerics
#: (colour channels, the conventions below); the other tests run the defaults. pnp's
#: variational start and BM3D cost seconds even on a 16 x 18 image.
QUICK = {"pnp": {"init": "observation", "denoiser": "tv"}}


def _quick(method: str) -> dict:
    return {**_fast(method), **QUICK.get(method, {})}


def _expected_dtype(dtype) -> np.dtype:
    return np.dtype(np.float64 if np.dtype(dtype) == np.float64 else np.float32)


def _check_restore(method: str, image: np.ndarray, k: np.ndarray, **kwargs) -> np.ndarray:
    image_before, psf_before = image.copy(), k.copy()
    out = unblur.deconvolve(image, k, method=method, **_fast(method), **kwargs)
    assert isinstance(out, np.ndarray)
    assert out.shape == image.shape
    assert out.dtype == _expected_dtype(image.dtype), (out.dtype, image.dtype)
    assert np.isfinite(out).all(), f"{method}: non-finite output"
    np.testing.assert_array_equal(image, image_before)  # caller's arrays untouched
    np.testing.assert_array_equal(k, psf_before)
    assert image.dtype == image_before.dtype and k.dtype == psf_before.dtype
    return out


def test_methods_are_listed():
    """The registry exposes the methods this file covers (at least the original seven)."""
    assert {"inverse", "wiener", "tikhonov", "richardson_lucy", "landweber", "tv"} <= set(METHODS)


@pytest.mark.parametrize("method", METHODS)
@FAST
@given(case=cases())
def test_finite_shape_dtype_no_mutation(method, case):
    image, k = case
    _check_restore(method, image, k)


@pytest.mark.parametrize("method", METHODS)
@settings(FAST, max_examples=6)
@given(case=cases(ndim=st.just(2), top_2d=7), axis=st.sampled_from((0, -1)))
def test_colour_channels_keep_shape_and_dtype(method, case, axis):
    """Three channels along ``channel_axis``: each restored, shape and dtype kept (the
    channel handling is the API's: methods run with their cheap settings)."""
    image, k = case
    colour = np.stack([image, image[::-1, ::-1], image], axis=axis)
    _check_restore(method, colour, k, channel_axis=axis, **QUICK.get(method, {}))


@pytest.mark.parametrize("method", METHODS)
@settings(FAST, max_examples=10)
@given(
    shape=st.lists(st.integers(1, 8), min_size=2, max_size=3).map(tuple),
    grow=st.data(),
)
def test_psf_larger_than_image_is_refused(method, shape, grow):
    """A PSF that exceeds the image along any axis raises InvalidPSFError naming both."""
    axis = grow.draw(st.integers(0, len(shape) - 1))
    extra = grow.draw(st.integers(1, 4))
    psf_shape = list(shape)
    psf_shape[axis] += extra
    image = np.random.default_rng(0).random(shape).astype(np.float32)
    with pytest.raises(InvalidPSFError, match="larger than the image") as err:
        unblur.deconvolve(image, np.ones(psf_shape), method=method, **_fast(method))
    assert str(tuple(psf_shape)) in str(err.value) and str(shape) in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("method", METHODS)
def test_identity_psf_keeps_a_constant_image(method):
    """A delta PSF on a constant image: every method returns (nearly) the constant."""
    image = np.full((6, 7), 0.625, np.float32)
    out = _check_restore(method, image, np.ones((1, 1)))
    np.testing.assert_allclose(out, 0.625, atol=0.02)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape", [(1, 1), (1, 10), (10, 1), (8, 8), (2, 6, 6)])
@pytest.mark.parametrize("values", ["random", "zeros"])
def test_tiny_and_block_sized_images(method, shape, values):
    """Edge sizes, with a delta PSF and a PSF as large as the image: finite, no warnings.

    8 x 8 is exactly one BM3D block (``pnp`` crashed the interpreter there).
    """
    image = _image(shape, np.float32, values, seed=5)
    _check_restore(method, image, np.ones((1,) * len(shape)))
    if len(shape) == 2:
        _check_restore(method, image, np.ones(shape))


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("values", ["huge", "tiny"])
def test_extreme_magnitudes_float32(method, values):
    """float32 data near 1e30 or 1e-30 (where squares over- or underflow): finite, no
    overflow warnings (tv, hyper_laplacian and richardson_lucy overflowed float32)."""
    image = _image((5, 6), np.float32, values, seed=4)
    k = np.array([[0.0, 1.0, 0.0], [1.0, 6.0, 1.0], [0.0, 1.0, 0.0]])
    out = _check_restore(method, image, k)
    scale = 1e30 if values == "huge" else 1e-30
    assert np.abs(out).max() < 1e3 * scale  # no blow-up relative to the data


def test_huge_psf_values_are_normalised():
    """A PSF whose entries are near the float64 maximum still sums to one (no overflow)."""
    k = unblur.psf.normalize(np.full((3, 3), 1e308))
    np.testing.assert_allclose(k, 1 / 9)
    image = np.random.default_rng(2).random((8, 8))
    out = unblur.deconvolve(image, np.full((1, 1), 1e308), method="inverse")
    np.testing.assert_allclose(out, image, atol=1e-12)


# --------------------------------------------------------------------------------------------
# the registered function: conventions every method follows (read from the registry)
# --------------------------------------------------------------------------------------------
def _observation(dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """A smooth 16 x 18 scene, blurred ('valid') by a normalised 5 x 5 Gaussian, 1% noise."""
    x = ndimage.gaussian_filter(np.random.default_rng(7).random((20, 22)), 2.0)
    x = (x - x.min()) / (x.max() - x.min())
    k = unblur.psf.gaussian(1.2, size=5)
    y = unblur.add_noise(unblur.blur(x, k, boundary="valid"), gaussian=0.01, rng=8)
    return y.astype(dtype), k


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_boundary_keeps_dtype_and_maps_zeros_to_zeros(method, boundary, dtype):
    """The function takes every boundary model (``unknown``: iterative methods only), keeps
    the dtype and the shape, leaves its inputs untouched and restores zeros to zeros."""
    m = get_method(method)
    assert "boundary" in m.parameters, f"{method} has no boundary parameter"
    y, k = _observation(dtype)
    kwargs = {"boundary": boundary, **_quick(method)}
    if boundary == "unknown" and not m.iterative:
        with pytest.raises(InvalidParameterError, match="needs an iterative method"):
            m.func(y, k, **kwargs)
        return
    y_before, k_before = y.copy(), k.copy()
    out = m.func(y, k, **kwargs)
    assert out.shape == y.shape and out.dtype == dtype
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(y, y_before)
    np.testing.assert_array_equal(k, k_before)
    zeros = m.func(np.zeros((12, 13), dtype), k, **kwargs)
    assert zeros.dtype == dtype
    np.testing.assert_array_equal(zeros, 0)


@pytest.mark.parametrize("method", METHODS)
def test_deconvolve_runs_the_registered_function(method):
    """``deconvolve`` on a float64 image in [0, 1] returns what the function returns, and
    reports the parameters the method chose in ``info["parameters"]``."""
    y, k = _observation()
    fast = _quick(method)
    direct_info: dict = {}
    direct = get_method(method).func(y, k, info=direct_info, **fast)
    info = {}
    via = unblur.deconvolve(y, k, method=method, info=info, **fast)
    # (BM3D, inside pnp, is not bit-for-bit repeatable)
    np.testing.assert_allclose(via, direct, rtol=0, atol=1e-6)
    assert info["method"] == method and info["auto"] is False
    for name, value in direct_info.items():  # what the method wrote reaches the caller
        assert name in info["parameters"], name
        if isinstance(value, float):
            assert info["parameters"][name] == pytest.approx(value, rel=1e-6), name


@pytest.mark.parametrize("method", ITERATIVE)
def test_callback_sees_every_iteration_and_info_counts_them(method):
    y, k = _observation(np.float32)
    seen: list[tuple[int, np.ndarray]] = []
    info: dict = {}
    kwargs = _quick(method) | {"num_iter": 4}
    if "tol" in get_method(method).parameters:
        kwargs["tol"] = None
    get_method(method).func(y, k, info=info, callback=lambda i, e: seen.append((i, e)), **kwargs)
    assert [i for i, _ in seen] == [1, 2, 3, 4]
    assert all(e.shape == y.shape and e.dtype == np.float32 for _, e in seen)
    assert not np.array_equal(seen[0][1], seen[-1][1])  # copies, not one reused buffer
    assert info["iterations"] == 4 and info["stopped_by"] == "num_iter"


@pytest.mark.parametrize("method", ITERATIVE)
@pytest.mark.parametrize("contrast", [0.3, 1.0, 40.0])
def test_callback_estimates_are_in_the_images_units(method, contrast):
    """The last estimate the callback sees is the result, whatever the image's contrast (the
    sparse-prior solver works on the image divided by its contrast: its callback once saw
    those units, so the report's PSNR per iteration was wrong)."""
    y, k = _observation(np.float32)
    y = y * np.float32(contrast) + np.float32(0.1)
    seen: list[np.ndarray] = []
    kwargs = _quick(method) | {"num_iter": 3}
    kwargs |= {
        name: None for name in ("tol", "discrepancy") if name in get_method(method).parameters
    }
    out = get_method(method).func(y, k, callback=lambda i, e: seen.append(e), **kwargs)
    assert len(seen) == 3
    np.testing.assert_allclose(seen[-1], out, rtol=1e-6, atol=1e-6 * contrast)


@pytest.mark.parametrize("method", WITH_TOL)
def test_tol_stops_early_and_says_so(method):
    """On a noisy observation, a tolerance of 3e-3 stops the method well before 500
    iterations; ``info`` says so. (Other stopping rules, such as Landweber's discrepancy
    principle, are switched off through their defaults being overridden where they exist.)"""
    y, k = _observation()
    info: dict = {}
    calls: list[int] = []
    extra = {"discrepancy": None} if "discrepancy" in get_method(method).parameters else {}
    get_method(method).func(
        y, k, num_iter=500, tol=3e-3, info=info, callback=lambda i, e: calls.append(i), **extra
    )
    assert info["stopped_by"] == "tol", info
    assert 2 <= info["iterations"] < 500
    assert calls == list(range(1, info["iterations"] + 1))
    assert info["relative_change"] < 3e-3
