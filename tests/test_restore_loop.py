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
