"""The optional pyFFTW backend of :mod:`unblur.fft`: choice logic, equality with scipy.fft."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft

from unblur import fft
from unblur.errors import InvalidParameterError
from unblur.operators import Boundary

SHAPES = [(33, 20), (32, 45), (9, 10, 7), (8, 6, 12)]
TOL = {np.float32: 2e-5, np.float64: 1e-12}


@pytest.fixture(autouse=True)
def _restore_backend():
    old = fft.get_library()
    fft._choice.clear()
    yield
    fft._backend = old
    fft._choice.clear()


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


def test_unknown_backend_name() -> None:
    with pytest.raises(InvalidParameterError, match="one of"):
        fft.set_library("mkl")


def test_pyfftw_missing_gives_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fft, "_pyfftw", lambda: None)
    with pytest.raises(InvalidParameterError, match=r"unblur\[pyfftw\]"):
        fft.set_library("pyfftw")
    fft.set_library("auto")  # auto without pyFFTW: scipy, nothing measured
    assert not fft._use_pyfftw((16, 16), np.float32)
    assert fft._choice == {}


def test_scipy_backend_never_uses_pyfftw() -> None:
    fft.set_library("scipy")
    assert fft.get_library() == "scipy"
    assert not fft._use_pyfftw((16, 16), np.float64)


@pytest.mark.parametrize("fftw_faster", [True, False])
def test_auto_keeps_the_measured_winner(monkeypatch: pytest.MonkeyPatch, fftw_faster: bool) -> None:
    monkeypatch.setattr(fft, "_pyfftw", lambda: object())
    calls = []

    def fake_measure(grid, dtype):
        calls.append((grid, dtype))
        return (2.0, 1.0) if fftw_faster else (1.0, 2.0)

    monkeypatch.setattr(fft, "_measure", fake_measure)
    fft.set_library("auto")
    assert fft._use_pyfftw((64, 48), np.float32) is fftw_faster
    assert fft._use_pyfftw((64, 48), np.float32) is fftw_faster  # cached: measured once
    assert len(calls) == 1
    fft._use_pyfftw((64, 48), np.float64)  # another dtype: measured again
    assert len(calls) == 2
    assert not fft._use_pyfftw((64, 48), np.complex64)  # complex input: never pyFFTW


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pyfftw_equals_scipy(shape: tuple[int, ...], dtype: type) -> None:
    pytest.importorskip("pyfftw")
    fft.set_library("pyfftw")
    x = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    ref = scipy.fft.rfftn(x)
    got = fft.rfftn(x)
    assert got.dtype == ref.dtype
    assert _rel(got, ref) < TOL[dtype]
    back = fft.irfftn(got, shape)
    assert back.dtype == x.dtype
    assert _rel(back, x) < TOL[dtype]
    # zero-padded to a larger grid
    grid = tuple(n + 3 for n in shape)
    assert _rel(fft.rfftn(x, grid), scipy.fft.rfftn(x, s=grid)) < TOL[dtype]
    # the _into variants, separate buffers
    spec = np.empty_like(ref)
    assert fft.rfftn_into(x, spec) is spec
    assert _rel(spec, ref) < TOL[dtype]
    out = np.empty_like(x)
    assert fft.irfftn_into(spec, out) is out
    assert _rel(out, x) < TOL[dtype]


@pytest.mark.parametrize("shape", [(31, 40), (30, 41), (7, 9, 10)])
def test_pyfftw_in_place_real_view(shape: tuple[int, ...]) -> None:
    """filter_into with the real view of the spectrum buffer: same as scipy's result."""
    pytest.importorskip("pyfftw")
    rng = np.random.default_rng(2)
    psf = rng.random((5,) * len(shape)).astype(np.float32)
    psf /= psf.sum()
    x = rng.random(shape).astype(np.float32)
    assert Boundary.create("periodic", shape, psf, dtype=np.float32).operator.shape == shape
    results = {}
    for name in ("scipy", "pyfftw"):
        fft.set_library(name)
        op = Boundary.create("periodic", shape, psf, dtype=np.float32).operator
        spectrum = op.spectrum_buffer()
        view = op.real_view(spectrum)
        assert view is not None
        view[...] = x
        op.filter_into(view, op.otf, view, spectrum)
        results[name] = view.copy()
    assert _rel(results["pyfftw"], results["scipy"]) < 2e-5
    fft.set_library("scipy")
    assert _rel(results["pyfftw"], op.apply_multiplier(x, op.otf)) < 2e-5


def test_auto_measures_real_pyfftw() -> None:
    pytest.importorskip("pyfftw")
    fft.set_library("auto")
    x = np.random.default_rng(3).standard_normal((24, 30)).astype(np.float32)
    assert _rel(fft.irfftn(fft.rfftn(x), x.shape), x) < 2e-5
    key = ((24, 30), "float32", fft._threads())
    assert key in fft._choice  # measured once, winner cached
    t_scipy, t_fftw = fft._measure((24, 30), np.dtype(np.float32))
    assert t_scipy > 0 and t_fftw > 0


def test_pyfftw_is_thread_safe() -> None:
    """Threads (dask's scheduler) transforming the same grid at once each get their own plan."""
    pytest.importorskip("pyfftw")
    from concurrent.futures import ThreadPoolExecutor

    fft.set_library("pyfftw")
    rng = np.random.default_rng(4)
    xs = [rng.standard_normal((64, 50)) for _ in range(8)]

    def roundtrip(x: np.ndarray) -> float:
        for _ in range(10):
            y = fft.irfftn(fft.rfftn(x), x.shape)
        return _rel(y, x)

    with ThreadPoolExecutor(4) as pool:
        errors = list(pool.map(roundtrip, xs))
    assert max(errors) < 1e-12
