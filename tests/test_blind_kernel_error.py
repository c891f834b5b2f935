"""The model error of an estimated free-form kernel in the restoration's weight (issue 14).

:func:`unblur.api.kernel_error_rule` adds the error a noisy free-form estimate is expected to
carry to the ``tv`` weight's model error (``model_error``). It is off by default
(``KERNEL_ERROR_CONTRAST = 0``; measured in ``docs/notes/blind_kernel.md``, section 9): these
tests pin the exact weight it sets when switched on, that it leaves user kernels, parametric
estimates and quiet (Levin-like) windows bit-identical, and that the default changes nothing.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import unblur
import unblur.api as api
from unblur.blind.kernel import _ANCHOR_NOISE
from unblur.restore._common import MODEL_ERROR, percentile_range
from unblur.restore.sparse import tv


def _shake(n: int = 25) -> np.ndarray:
    """A curved camera-shake kernel of side ``n`` (participation about 50)."""
    k = np.zeros((n, n))
    t = np.linspace(0.0, 1.0, 400)
    rows = 3 + (n - 7) * t
    cols = 3 + (n - 7) * (0.5 + 0.45 * np.sin(5 * t))
    for r, c in zip(rows, cols, strict=True):
        k[round(float(r)), round(float(c))] += 1.0 + 0.5 * np.sin(9 * r / n)
    return k / k.sum()


def _free_info(window_noise: float) -> dict:
    """What :func:`unblur.estimate_psf` says of a trusted free-form estimate (the fields the
    rule reads)."""
    return {"model": "free", "confidence": "high",
            "candidates": {"free": {"window_noise": window_noise}}}  # fmt: skip


@pytest.fixture(scope="module")
def shaken(camera):
    k = _shake()
    return unblur.add_noise(unblur.blur(camera, k), gaussian=0.01, rng=0), k


@pytest.fixture
def rule_on(monkeypatch):
    monkeypatch.setattr(api, "KERNEL_ERROR_CONTRAST", 0.2)


def test_model_error_sets_the_tv_weight_exactly(shaken):
    """lam = K / (1 + s) * hypot(sigma / a, eps)^(4/3) * a: the ratio of two weights is the
    ratio of the effective noise levels to the 4/3."""
    y, k = shaken
    base: dict = {}
    raised: dict = {}
    tv(y, k, num_iter=1, info=base)
    tv(y, k, num_iter=1, model_error=0.05, info=raised)
    relative = base["noise_sigma"] / percentile_range(y)[1]
    expected = (math.hypot(relative, 0.05) / math.hypot(relative, MODEL_ERROR)) ** (4 / 3)
    assert raised["lam"] / base["lam"] == pytest.approx(expected, rel=1e-12)
    np.testing.assert_array_equal(tv(y, k, num_iter=3), tv(y, k, num_iter=3, model_error=0.006))


def test_a_user_kernel_restores_bit_identically(shaken, rule_on):
    y, k = shaken
    run: dict = {}
    plain = unblur.deconvolve(y, k, info=run)
    assert "kernel_error" not in run  # no psf_info: no blind rule at all
    np.testing.assert_array_equal(plain, unblur.deconvolve(y, k, psf_info=None))


def test_the_rule_is_off_by_default(shaken):
    y, k = shaken
    assert api.KERNEL_ERROR_CONTRAST == 0.0
    run: dict = {}
    ruled = unblur.deconvolve(y, k, psf_info=_free_info(0.013), info=run)
    np.testing.assert_array_equal(ruled, unblur.deconvolve(y, k))
    assert run["kernel_error"]["applied"] is False
    assert run["kernel_error"]["reason"].startswith("off")
    assert run["parameters"]["model_error"] == MODEL_ERROR


def test_a_noisy_free_estimate_raises_the_weight_when_on(shaken, rule_on):
    """sigma_w P / r = 0.013 * 52 / 0.2 > 1: the kernel is judged noisy and its error, rho c /
    sqrt(P), joins the 0.006 floor in quadrature."""
    y, k = shaken
    participation = 1.0 / float(np.sum(k * k))
    capped = min(participation, 1.5 * max(k.shape))
    rho = math.sqrt((0.013 * capped / _ANCHOR_NOISE) ** 2 - 1.0)
    expected = math.hypot(MODEL_ERROR, rho * 0.2 / math.sqrt(participation))
    run: dict = {}
    plain: dict = {}
    unblur.deconvolve(y, k, psf_info=_free_info(0.013), info=run)
    unblur.deconvolve(y, k, info=plain)
    record = run["kernel_error"]
    assert record["applied"] and record["kernel_error"] == pytest.approx(rho)
    assert record["model_error"] == pytest.approx(expected)
    assert run["parameters"]["model_error"] == record["model_error"]
    relative = plain["parameters"]["noise_sigma"] / percentile_range(y)[1]
    growth = (math.hypot(relative, expected) / math.hypot(relative, MODEL_ERROR)) ** (4 / 3)
    assert run["parameters"]["lam"] / plain["parameters"]["lam"] == pytest.approx(growth)
    assert growth > 3.0  # measured: about 6 at this noise
    assert "weight x" in record["reason"]


@pytest.mark.parametrize(
    ("psf_info", "reason"),
    [
        (_free_info(0.003), "well determined"),  # a Levin-like quiet window
        ({"model": "gaussian", "confidence": "high"}, "not a free-form estimate"),
        ({"model": "free", "confidence": "high"}, "window noise is not known"),
    ],
)
def test_quiet_windows_and_parametric_fits_are_unchanged_when_on(shaken, rule_on, psf_info,
                                                                  reason):  # fmt: skip
    y, k = shaken
    run: dict = {}
    ruled = unblur.deconvolve(y, k, psf_info=psf_info, info=run)
    np.testing.assert_array_equal(ruled, unblur.deconvolve(y, k))
    assert run["kernel_error"]["applied"] is False
    assert reason in run["kernel_error"]["reason"]


def test_a_given_weight_or_another_method_is_left_alone(shaken, rule_on):
    y, k = shaken
    run: dict = {}
    ruled = unblur.deconvolve(y, k, lam=1e-3, psf_info=_free_info(0.013), info=run)
    np.testing.assert_array_equal(ruled, unblur.deconvolve(y, k, lam=1e-3))
    assert run["kernel_error"] == {**run["kernel_error"], "applied": False,
                                   "reason": "the weight was given"}  # fmt: skip
    run = {}
    wiener = unblur.deconvolve(y, k, method="wiener", psf_info=_free_info(0.013), info=run)
    np.testing.assert_array_equal(wiener, unblur.deconvolve(y, k, method="wiener"))
    assert "no automatic noise-based weight" in run["kernel_error"]["reason"]
