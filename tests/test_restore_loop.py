"""The shared iteration loop and ``resolve``: stopping rule, callback, info, method lookup."""

from __future__ import annotations

import math

import numpy as np
import pytest

import unblur
from unblur import psf
from unblur.errors import InvalidImageError, InvalidParameterError, UnknownMethodError
from unblur.restore import resolve
from unblur.restore._loop import IterationLoop, relative_norm


def test_loop_counts_calls_back_and_stops_on_tol():
    seen = []
    loop = IterationLoop(10, tol=0.05, callback=lambda i, x: seen.append((i, x.copy())))
    x = np.ones(3)
    for k in loop:
        x *= 2
        if loop.done(x, change=0.5 ** (k + 1)):
            break
    info: dict = {}
    loop.report(info)
    assert info == {"iterations": 5, "stopped_by": "tol", "relative_change": 0.5**5}
    assert [i for i, _ in seen] == [1, 2, 3, 4, 5]
    assert seen[0][1][0] == 2 and seen[-1][1][0] == 32  # copies, not the live array


def test_loop_may_stop_and_other_reasons():
    loop = IterationLoop(4, tol=1.0)
    for _ in loop:
        if loop.done(change=0.0, may_stop=False):
            break
    info: dict = {}
    loop.report(info)
    assert info["iterations"] == 4 and info["stopped_by"] == "num_iter"
    loop = IterationLoop(4)
    for _ in loop:
        loop.stop("discrepancy")
        break
    loop.report(info := {})
    assert info == {"iterations": 0, "stopped_by": "discrepancy"}


def test_loop_refuses_a_diverged_iteration():
    loop = IterationLoop(3, tol=1e-3)
    with pytest.raises(InvalidImageError, match="diverged"):
        loop.done(change=math.nan)


def test_relative_norm():
    assert relative_norm(np.array([3.0, 4.0]), np.array([0.0, 10.0])) == 0.5
    assert relative_norm(np.zeros(2), np.zeros(2)) == 0.0
    assert relative_norm(np.ones(2), np.zeros(2)) == math.inf


@pytest.mark.parametrize("method", ["richardson_lucy", "landweber", "tv", "hyper_laplacian"])
def test_iterative_methods_report_why_they_stopped(method):
    x = np.random.default_rng(0).random((24, 24))
    k = psf.gaussian(1.0)
    y = unblur.blur(x, k, boundary="periodic")
    info = {}
    unblur.deconvolve(y, k, method=method, num_iter=3, info=info)
    assert info["parameters"]["iterations"] <= 3
    assert info["parameters"]["stopped_by"] in {"num_iter", "tol", "discrepancy"}


def test_resolve_names_auto_and_parameters():
    r = resolve("wiener", (32, 32), {"balance": 0.1})
    assert (r.name, r.reason, r.params, r.auto) == ("wiener", None, {"balance": 0.1}, False)
    r = resolve("auto", (32, 32))
    assert r.auto and r.reason and r.name in unblur.available_methods()
    with pytest.raises(InvalidParameterError, match="has no parameter 'bogus'"):
        resolve("tv", (32, 32), {"bogus": 1})
    with pytest.raises(UnknownMethodError, match="available"):
        resolve(["tv"], (32, 32))  # type: ignore[arg-type]
    with pytest.raises(UnknownMethodError, match="unknown method 'nope'"):
        resolve("nope", (32, 32))


def test_loop_refuses_a_non_finite_estimate():
    loop = IterationLoop(3)
    loop.check_finite(np.ones(4))
    with pytest.raises(InvalidImageError, match="non-finite values after 0 iterations"):
        loop.check_finite(np.array([1.0, np.inf]))


def test_loop_passes_a_borrowing_callback_the_working_array():
    """A callback with ``borrows_estimate`` true gets the (cropped) working array itself, the
    others a copy; a product when the loop rescales."""
    grid = np.arange(36.0).reshape(6, 6)
    seen = {}

    def keeper(i, x):
        seen["keeper"] = x

    def borrower(i, x):
        seen["borrower"] = x

    borrower.borrows_estimate = True
    for callback in (keeper, borrower):
        loop = IterationLoop(1, callback=callback, crop=lambda a: a[1:-1, 1:-1])
        loop.done(grid)
    assert np.shares_memory(seen["borrower"], grid)
    assert not np.shares_memory(seen["keeper"], grid)
    np.testing.assert_array_equal(seen["keeper"], seen["borrower"])
    loop = IterationLoop(1, callback=borrower, scale=2.0)
    loop.done(grid)
    assert not np.shares_memory(seen["borrower"], grid)
    np.testing.assert_array_equal(seen["borrower"], 2 * grid)


@pytest.mark.parametrize("boundary", ["unknown", "reflect"])
def test_monitor_records_the_same_from_the_working_array_as_from_copies(boundary, monkeypatch):
    """The report's monitor borrows Richardson-Lucy's (cropped, padded) working array instead
    of a copy of it: the same record as when the loop copies, and the same result."""
    from unblur.report import ConvergenceMonitor
    from unblur.report import monitor as monitor_module

    monkeypatch.setattr(monitor_module._numba, "loaded", lambda: False)  # the NumPy pass
    monkeypatch.setattr(monitor_module, "_compiled_pass", lambda: None)
    rng = np.random.default_rng(12)
    x = rng.random((70, 90)).astype(np.float32)
    k = psf.gaussian(sigma=1.5)
    y = unblur.blur(x, k)
    borrowing = ConvergenceMonitor(x)
    assert borrowing.borrows_estimate
    copying = ConvergenceMonitor(x)
    out = [
        unblur.deconvolve(y, k, "richardson_lucy", num_iter=8, boundary=boundary, callback=cb)
        for cb in (borrowing, lambda i, e: copying(i, e))  # a lambda: the loop copies
    ]
    np.testing.assert_array_equal(out[0], out[1])
    assert borrowing.traces == copying.traces
    assert len(borrowing.traces[0].psnr) == 8
