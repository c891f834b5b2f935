"""The fused (Numba) passes of the sparse-prior ADMM against their NumPy twins (issue 15)."""

from __future__ import annotations

import numpy as np
import pytest

import unblur
from unblur import psf
from unblur.restore import _kernels, sparse

pytestmark = pytest.mark.skipif(not _kernels.AVAILABLE, reason="numba is not installed")


def _case():
    rng = np.random.default_rng(15)
    x = rng.random((30, 26))
    k = psf.motion(7, angle=30)
    return unblur.add_noise(unblur.blur(x, k, boundary="valid"), gaussian=0.01, rng=0), k


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("tv", {}),
        ("tv", {"boundary": "periodic", "second_order": 0.0}),
        ("hyper_laplacian", {}),
        ("hyper_laplacian", {"isotropic": False, "boundary": "taper"}),
        ("tv", {"mask": "random"}),
    ],
)
def test_fused_passes_equal_the_numpy_twins(monkeypatch, method, params):
    y, k = _case()
    if params.get("mask") == "random":
        params = {**params, "mask": np.random.default_rng(1).random(y.shape) > 0.2}
    func = getattr(sparse, method)
    fused_info, plain_info = {}, {}
    fused = func(y, k, num_iter=12, tol=None, info=fused_info, **params)
    monkeypatch.setattr(_kernels, "AVAILABLE", False)
    plain = func(y, k, num_iter=12, tol=None, info=plain_info, **params)
    assert fused_info["fused"] and not plain_info["fused"]
    np.testing.assert_allclose(fused, plain, rtol=0, atol=1e-10 * np.abs(plain).max())


@pytest.mark.parametrize("iso", [True, False])
def test_prior_pass_with_bfloat16_state_equals_its_numpy_twin(iso):
    """One fused prior step on a float32 grid whose split state is bfloat16 words, against the
    NumPy twin from the same inputs. The two compute t = r A x + m in float32 with
    differently ordered shrinkage formulas (the float32 twins already differ by an ulp), so a
    value that falls within an ulp of a rounding midpoint may round to the neighbouring
    word: at most one word apart, and rarely."""
    from unblur.restore import _admm, _bfloat16

    rng = np.random.default_rng(7)
    ny, nx = 41, 37
    x = rng.random((ny, nx)).astype(np.float32)
    m = _bfloat16.encode((rng.normal(size=(5, ny, nx)) * 0.05).astype(np.float32))
    r, s, alpha, beta = 1.5, 0.5, 1.0 if iso else 2 / 3, 15.0
    thr, w_tau = (1 / beta, 0.0) if alpha == 1 else sparse._lp_threshold(alpha, beta)
    consts = _kernels.constants(np.float32, r, s, alpha, thr, w_tau, alpha / beta, alpha - 1)
    xa, ma, xb, mb = x.copy(), m.copy(), x.copy(), m.copy()
    _kernels.prior_pass(xa, ma, consts, iso, _kernels.bands_for(ny, 3))
    _admm._prior_numpy(xb, mb, r, s, alpha, beta, iso)
    apart = np.abs(ma.astype(np.int32) - mb.astype(np.int32))
    assert ma.dtype == np.uint16 and apart.max() <= 1 and (apart > 0).mean() < 0.01
    assert (ma != m).mean() > 0.9  # the state did change
    np.testing.assert_allclose(xa, xb, rtol=0, atol=1e-5)


def test_the_state_is_bfloat16_for_float32_tv_only():
    from unblur.restore import _admm

    assert _admm.SPLIT_STORAGE == "bfloat16"
    assert _admm._state_dtype(np.float32, np, 1.0) == np.uint16
    assert _admm._state_dtype(np.float32, np, 2 / 3) == np.float32  # hyper_laplacian
    assert _admm._state_dtype(np.float64, np, 1.0) == np.float64


@pytest.mark.parametrize(
    ("method", "params"),
    [("tv", {}), ("tv", {"boundary": "periodic", "second_order": 0.0})],
)
def test_bfloat16_state_fused_and_numpy_agree_and_stay_near_float32(monkeypatch, method, params):
    """Whole float32 solves (12 iterations): the state is bfloat16 words in both paths, whose
    results agree far below the image's noise (the words' rare one-unit differences, above,
    do not grow), and stay near the float32 state's result."""
    from unblur.restore import _admm

    y, k = _case()
    y = y.astype(np.float32)
    func = getattr(sparse, method)
    fused = func(y, k, num_iter=12, tol=None, **params)
    monkeypatch.setattr(_admm, "SPLIT_STORAGE", "float32")
    wide = func(y, k, num_iter=12, tol=None, **params)
    monkeypatch.setattr(_admm, "SPLIT_STORAGE", "bfloat16")
    monkeypatch.setattr(_kernels, "AVAILABLE", False)
    plain = func(y, k, num_iter=12, tol=None, **params)

    def rms(a, b):
        return float(np.sqrt(np.mean((a.astype(np.float64) - b) ** 2)))

    assert rms(fused, plain) < 1e-4 and rms(fused, wide) < 1e-3
    assert 0 < rms(fused, wide)  # the storage is really narrower


def test_bands_cover_the_rows_once():
    for rows in (1, 2, 3, 7, 100):
        for threads in (1, 2, 16):
            b = _kernels.bands_for(rows, threads)
            assert b[0] == 0 and b[-1] == rows and np.all(np.diff(b) >= 1)


def test_result_does_not_depend_on_the_number_of_bands(monkeypatch):
    y, k = _case()
    a = sparse.tv(y, k, num_iter=8, tol=None)
    # bands of 2 and 3 rows too: the in-place pass reads its last two rows from the halo
    for bands in ([0, 5, 9, 20], [0, 2, 5, 7, 20], [0, 3, 6, 8]):
        monkeypatch.setattr(
            _kernels, "bands_for", lambda rows, threads, b=bands: np.array([*b, rows])
        )
        b = sparse.tv(y, k, num_iter=8, tol=None)
        np.testing.assert_array_equal(a, b)


def test_lattice_change_equals_its_numpy_twin():
    from unblur.restore import _admm

    rng = np.random.default_rng(3)
    x = rng.random((23, 19)).astype(np.float32)
    region = (slice(3, 20), slice(2, 17))
    fused = x[_admm._lattice_index(region)].copy()
    plain = fused.copy()
    y = x + rng.normal(0, 0.1, x.shape).astype(np.float32)
    origin = np.array([3, 2], np.int64)
    got = _kernels.lattice_change(y, fused, origin, _admm.CHANGE_STRIDE)
    want = _admm._lattice_change_numpy(y, plain, region)
    sub = (y - x)[region][:: _admm.CHANGE_STRIDE, :: _admm.CHANGE_STRIDE].astype(np.float64)
    assert got == pytest.approx(want, rel=1e-12) and want == pytest.approx((sub**2).sum(), rel=1e-6)
    np.testing.assert_array_equal(fused, y[_admm._lattice_index(region)])
    np.testing.assert_array_equal(plain, fused)


@pytest.mark.parametrize("method", ["tv", "hyper_laplacian"])
def test_fused_and_numpy_stop_at_the_same_iteration(monkeypatch, method):
    y, k = _case()
    func = getattr(sparse, method)
    fused_info, plain_info = {}, {}
    fused = func(y, k, info=fused_info)
    monkeypatch.setattr(_kernels, "AVAILABLE", False)
    plain = func(y, k, info=plain_info)
    assert fused_info["stopped_by"] == plain_info["stopped_by"] == "tol"
    assert fused_info["iterations"] == plain_info["iterations"]
    np.testing.assert_allclose(fused, plain, rtol=0, atol=1e-10 * np.abs(plain).max())


@pytest.mark.parametrize("method", ["tv", "hyper_laplacian"])
def test_working_set_of_the_fused_solver(method):
    """Peak traced memory of the defaults at 512^2 float32 (grid 540^2 = 1.11x the image).

    The state is 4 grid-sized float32 arrays (the estimate's and the data split's buffers,
    the data dual, the OTF), five split components and the stopping rule's lattice (a
    quarter of the image). With ``tv``'s split components in bfloat16 (half a grid array
    each): 7.5x plus small overheads; ``hyper_laplacian`` keeps them in float32: 10.3x. They
    were 11.8x (tv) and 12.9x (hyper_laplacian) while x_{k-1} and the Fourier denominator
    were stored (docs/notes/tv_speed.md).
    """
    import tracemalloc

    k = psf.motion(13, angle=30)
    y = unblur.blur(np.random.default_rng(0).random((512, 512)), k).astype(np.float32)
    func = getattr(sparse, method)
    func(y, k)  # compiled and cached before tracing
    tracemalloc.start()
    try:
        func(y, k)
        peak = tracemalloc.get_traced_memory()[1] / y.nbytes
    finally:
        tracemalloc.stop()
    assert peak < (8.0 if method == "tv" else 10.8)


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [(None, "False False"), (1, "True True"), (4000, "False False,False False,True True")],
)
def test_numba_is_loaded_once_the_work_pays_for_it(threshold, expected):
    """In a fresh process a grid below FUSED_MIN_PIXELS runs the NumPy twins and never
    imports Numba (its import and the compiled passes' loading cost more than such a grid
    saves); a grid of that size loads it; and NumPy runs that have covered that many pixels
    between them load it for the next one (a 48 x 40 image and a 9 px horizontal motion: a
    48 x 50 grid, 2400 pixels)."""
    import subprocess
    import sys

    if not _kernels.AVAILABLE:
        pytest.skip("Numba is not installed or is disabled")
    lower = "" if threshold is None else f"_admm.FUSED_MIN_PIXELS = {threshold}; "
    calls = len(expected.split(","))
    code = (
        "import sys; import numpy as np; import unblur; from unblur.restore import _admm; "
        f"{lower}y = np.random.default_rng(0).random((48, 40)); seen = []\n"
        f"for _ in range({calls}):\n"
        "    info = {}; unblur.deconvolve(y, unblur.psf.motion(9, angle=0), info=info)\n"
        "    seen.append(f\"{'numba' in sys.modules} {info['parameters']['fused']}\")\n"
        "print(','.join(seen))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == expected, result.stdout
