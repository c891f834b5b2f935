"""The model error of an estimated free-form kernel in the restoration's weight (issue 14).

:func:`unblur.api.kernel_error_rule` adds the error a noisy free-form estimate is expected to
carry to the ``tv`` weight's model error (``model_error``), on encoded photographs (the
estimator's ``encoding`` ``"srgb"``: 8-bit and JPEG data); measured in
``docs/notes/blind_kernel.md``, sections 9, 20 and 21. These tests pin the exact weight it
sets, that it restores a wrong kernel's photograph better, and that it leaves user kernels,
linear data, parametric estimates and quiet (Levin-like) windows bit-identical.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import unblur
import unblur.api as api
from unblur.blind.kernel_step import ANCHOR_NOISE
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


def _free_info(window_noise: float, encoding: str = "srgb") -> dict:
    """What :func:`unblur.estimate_psf` says of a trusted free-form estimate of an encoded
    photograph (the fields the rule reads). ``deconvolve`` would restore such an estimate in
    linear light; the tests of the weight give ``encoding="linear"`` to compare it with the
    restoration of the same values without ``psf_info``."""
    return {"model": "free", "confidence": "high", "encoding": encoding,
            "candidates": {"free": {"window_noise": window_noise}}}  # fmt: skip


@pytest.fixture(scope="module")
def shaken(camera):
    k = _shake()
    return unblur.add_noise(unblur.blur(camera, k), gaussian=0.01, rng=0), k


@pytest.fixture
def rule_off(monkeypatch):
    monkeypatch.setattr(api, "KERNEL_ERROR_CONTRAST", 0.0)


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


def test_a_user_kernel_restores_bit_identically(shaken):
    y, k = shaken
    run: dict = {}
    plain = unblur.deconvolve(y, k, info=run)
    assert "kernel_error" not in run  # no psf_info: no blind rule at all
    np.testing.assert_array_equal(plain, unblur.deconvolve(y, k, psf_info=None))


@pytest.mark.parametrize("encoding", ["linear", None])
def test_linear_data_restore_bit_identically(shaken, encoding):
    """Float data (the estimator's ``encoding`` "linear", or an ``info`` that does not say):
    the weight is the noise's, whatever the window's noise."""
    y, k = shaken
    psf_info = _free_info(0.013, encoding)
    if encoding is None:
        del psf_info["encoding"]
    run: dict = {}
    ruled = unblur.deconvolve(y, k, psf_info=psf_info, info=run)
    np.testing.assert_array_equal(ruled, unblur.deconvolve(y, k))
    assert run["kernel_error"]["applied"] is False
    assert f"not an encoded photograph (encoding {encoding!r})" in run["kernel_error"]["reason"]
    assert run["parameters"]["model_error"] == MODEL_ERROR


def test_a_contrast_of_zero_turns_the_rule_off(shaken, rule_off):
    y, k = shaken
    run: dict = {}
    ruled = unblur.deconvolve(y, k, encoding="linear", psf_info=_free_info(0.013), info=run)
    np.testing.assert_array_equal(ruled, unblur.deconvolve(y, k))
    assert run["kernel_error"]["applied"] is False
    assert run["kernel_error"]["reason"].startswith("off")


def test_a_wrong_kernel_restores_an_encoded_photograph_better():
    """A shaken 8-bit sRGB photograph (blurred in linear light, 1 % noise) restored with a
    kernel in error (a third of its mass displaced by (3, -2) px, as a free-form estimate's
    error), restored in linear light as the estimate's ``encoding`` says: the raised weight
    (x 7.6) holds back the ripples the error makes. Measured 20.99 dB at the noise's own
    weight, 22.48 with the rule (input 16.21, the true kernel 28.33; on the encoded values
    19.54 and 20.27)."""
    from skimage import data

    from unblur.colour import linear_to_srgb, srgb_to_linear

    sharp = data.camera()[128:384, 128:384] / 255.0
    k = _shake()
    rng = np.random.default_rng(0)
    light = unblur.blur(srgb_to_linear(sharp), k)
    noisy = linear_to_srgb(light) + 0.01 * rng.standard_normal(light.shape)
    y = np.round(np.clip(noisy, 0.0, 1.0) * 255).astype(np.uint8)
    wrong = k + 0.6 * np.roll(k, (3, -2), axis=(0, 1))
    info = _free_info(0.012)
    run: dict = {}
    ruled = unblur.deconvolve(y, wrong, psf_info=info, info=run)
    plain = unblur.deconvolve(y, wrong, psf_info=info, model_error=MODEL_ERROR)
    core = (slice(20, -20), slice(20, -20))
    gain = unblur.metrics.psnr(sharp[core], np.clip(ruled, 0, 1)[core]) - unblur.metrics.psnr(
        sharp[core], np.clip(plain, 0, 1)[core]
    )
    assert run["kernel_error"]["applied"]
    assert gain > 0.4


def test_a_noisy_free_estimate_raises_the_weight(shaken):
    """sigma_w P / r = 0.013 * 52 / 0.2 > 1: the kernel is judged noisy and its error, rho c /
    sqrt(P), joins the 0.006 floor in quadrature."""
    y, k = shaken
    participation = 1.0 / float(np.sum(k * k))
    capped = min(participation, 1.5 * max(k.shape))
    rho = math.sqrt((0.013 * capped / ANCHOR_NOISE) ** 2 - 1.0)
    expected = math.hypot(MODEL_ERROR, rho * 0.2 / math.sqrt(participation))
    run: dict = {}
    plain: dict = {}
    unblur.deconvolve(y, k, encoding="linear", psf_info=_free_info(0.013), info=run)
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
        ({"model": "free", "confidence": "high", "encoding": "srgb"}, "window noise is not known"),
    ],
)
def test_quiet_windows_and_parametric_fits_are_unchanged(shaken, psf_info, reason):
    y, k = shaken
    run: dict = {}
    ruled = unblur.deconvolve(y, k, encoding="linear", psf_info=psf_info, info=run)
    np.testing.assert_array_equal(ruled, unblur.deconvolve(y, k))
    assert run["kernel_error"]["applied"] is False
    assert reason in run["kernel_error"]["reason"]


def test_a_given_weight_or_another_method_is_left_alone(shaken):
    y, k = shaken
    run: dict = {}
    ruled = unblur.deconvolve(
        y, k, lam=1e-3, encoding="linear", psf_info=_free_info(0.013), info=run
    )
    np.testing.assert_array_equal(ruled, unblur.deconvolve(y, k, lam=1e-3))
    assert run["kernel_error"] == {**run["kernel_error"], "applied": False,
                                   "reason": "the weight was given"}  # fmt: skip
    run = {}
    wiener = unblur.deconvolve(
        y, k, method="wiener", encoding="linear", psf_info=_free_info(0.013), info=run
    )
    np.testing.assert_array_equal(wiener, unblur.deconvolve(y, k, method="wiener"))
    assert "no automatic noise-based weight" in run["kernel_error"]["reason"]
