"""``deconvolve(..., encoding="srgb")``: restoring an sRGB-encoded photograph in linear light.

The known truth is a photograph as a camera records it: a sharp scene blurred in *linear
light*, then sRGB-encoded, made noisy and rounded to 8 bits. Restored in linear light and
re-encoded it must come closer to the sharp (encoded) scene than the restoration of the encoded
values, which are not a convolution of it; without the option nothing changes.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import centre, psnr_clipped
from scipy import signal

import unblur
from unblur import psf
from unblur.colour import linear_to_srgb, srgb_to_linear
from unblur.errors import InvalidParameterError

KERNEL = psf.motion(11, angle=30)


def photograph(sharp: np.ndarray, k: np.ndarray, noise: float = 0.005, seed: int = 0):
    """8-bit observation (uint8) of ``sharp`` (encoded values) blurred in linear light
    (``valid`` convolution) and the matching crop of ``sharp``."""
    lin = srgb_to_linear(sharp)
    axes = [lin] if lin.ndim == 2 else [lin[..., c] for c in range(lin.shape[-1])]
    blurred = [signal.fftconvolve(a, k, mode="valid") for a in axes]
    blurred = blurred[0] if lin.ndim == 2 else np.stack(blurred, -1)
    y = linear_to_srgb(np.clip(blurred, 0.0, 1.0))
    y = y + noise * np.random.default_rng(seed).standard_normal(y.shape)
    y8 = np.round(np.clip(y, 0.0, 1.0) * 255).astype(np.uint8)
    return y8, centre(sharp, y8[..., 0] if y8.ndim == 3 else y8, k)


def test_linear_light_beats_encoded_values_on_a_photograph(camera):
    y, reference = photograph(camera, KERNEL)
    encoded = unblur.deconvolve(y, KERNEL)
    info: dict = {}
    linear = unblur.deconvolve(y, KERNEL, encoding="srgb", info=info)
    before = psnr_clipped(y / 255.0, reference)
    gain_encoded = psnr_clipped(encoded, reference) - before
    gain_linear = psnr_clipped(linear, reference) - before
    assert gain_linear > gain_encoded + 3.0, (gain_encoded, gain_linear)
    assert info["encoding"] == "srgb" and info["method"] == "tv"
    assert linear.dtype == np.float32 and linear.shape == y.shape


def test_colour_photograph_gains_in_every_mode(astronaut):
    y, reference = photograph(astronaut, psf.disk(3.0), noise=0.004, seed=1)
    reference = centre_rgb(astronaut, y, psf.disk(3.0))
    for color in ("channels", "luminance"):
        encoded = unblur.deconvolve(y, psf.disk(3.0), channel_axis=-1, color=color)
        linear = unblur.deconvolve(y, psf.disk(3.0), channel_axis=-1, color=color, encoding="srgb")
        assert psnr_clipped(linear, reference) > psnr_clipped(encoded, reference) + 3.0, color


def centre_rgb(sharp: np.ndarray, observed: np.ndarray, k: np.ndarray) -> np.ndarray:
    start = [p // 2 for p in k.shape]
    return sharp[start[0] : start[0] + observed.shape[0], start[1] : start[1] + observed.shape[1]]


def test_exact_identity_without_noise():
    """Periodic linear-light blur of an encoded image, no noise, no rounding: the inverse
    filter in linear light returns the image to rounding; on the encoded values it does not."""
    x = np.random.default_rng(2).uniform(0.05, 0.95, (48, 48))
    k = psf.gaussian(1.0)
    y = linear_to_srgb(unblur.blur(srgb_to_linear(x), k, boundary="periodic"))
    kw = {"method": "inverse", "boundary": "periodic"}
    assert np.allclose(unblur.deconvolve(y, k, encoding="srgb", **kw), x, atol=1e-6)
    assert not np.allclose(unblur.deconvolve(y, k, **kw), x, atol=1e-3)


def test_none_and_linear_are_the_values_as_given(camera, monkeypatch):
    # one solver path for every call: the process switches from the NumPy passes to the
    # compiled ones after 2^17 pixels, which differ in the last float32 bits
    monkeypatch.setattr("unblur.restore._admm._use_compiled", lambda pixels: False)
    y, _ = photograph(camera, KERNEL)
    for method in ("tv", "wiener"):
        info_default: dict = {}
        today = unblur.deconvolve(y, KERNEL, method=method, info=info_default)
        for encoding in (None, "linear"):
            info: dict = {}
            out = unblur.deconvolve(y, KERNEL, method=method, encoding=encoding, info=info)
            assert np.array_equal(out, today) and out.dtype == today.dtype
            assert info["parameters"] == info_default["parameters"]
            assert info.get("encoding") == encoding and "encoding" not in info_default


def test_alpha_is_kept_and_float64_stays_float64(astronaut):
    rgba = np.concatenate([astronaut, np.linspace(0, 1, 96 * 96).reshape(96, 96, 1)], -1)
    out = unblur.deconvolve(rgba, psf.gaussian(1.0), channel_axis=-1, encoding="srgb",
                            method="wiener")  # fmt: skip
    assert out.dtype == np.float64 and out.shape == rgba.shape
    assert np.array_equal(out[..., 3], rgba[..., 3])


def test_achromatic_stays_achromatic_in_luminance_mode(camera):
    grey = np.repeat(camera[..., None], 3, axis=-1)
    out = unblur.deconvolve(grey, psf.gaussian(1.2), channel_axis=-1, color="luminance",
                            encoding="srgb", method="wiener")  # fmt: skip
    assert np.allclose(out[..., 0], out[..., 1], atol=1e-6)
    assert np.allclose(out[..., 0], out[..., 2], atol=1e-6)


def test_an_input_returned_unchanged_is_the_input_exactly(camera):
    """A doubtful estimate that found almost no blur returns the input: as given, not
    round-tripped through the transfer function."""
    y = (camera * 255).astype(np.uint8)
    k = np.zeros((3, 3))
    k[1, 1], k[1, 2] = 0.9, 0.1
    info: dict = {}
    out = unblur.deconvolve(y, k, encoding="srgb", psf_info={"confidence": "low"}, info=info)
    assert info["conservative"]["action"] == "input"
    assert np.array_equal(out, y / np.float32(255))


def test_blind_restoration_tells_the_estimator_the_encoding(camera):
    """``psf="auto"``: float data are linear to the estimator unless the caller says sRGB."""
    y, _ = photograph(camera, psf.gaussian(2.0))
    values = y / np.float32(255)
    for encoding, expected, given in ((None, "linear", False), ("srgb", "srgb", True)):
        info: dict = {}
        unblur.deconvolve(values, "auto", encoding=encoding, info=info)
        assert info["psf_estimate"]["encoding"] == expected
        assert (info["psf_estimate"]["encoding_reason"] == "given") == given


def test_an_estimate_made_in_linear_light_is_restored_there(camera):
    """``psf_info`` of an estimate the estimator made on linearised values (8-bit data:
    ``encoding`` "srgb"): ``encoding=None`` restores in linear light, exactly as ``"srgb"``;
    ``"linear"`` given keeps the values as given; an estimate on linear data changes nothing."""
    y, reference = photograph(camera, KERNEL)
    estimated = {"model": "free", "confidence": "high", "encoding": "srgb"}
    info: dict = {}
    followed = unblur.deconvolve(y, KERNEL, psf_info=estimated, info=info)
    assert np.array_equal(followed, unblur.deconvolve(y, KERNEL, encoding="srgb",
                                                      psf_info=estimated))  # fmt: skip
    assert info["encoding"] == "srgb" and "linear light" in info["encoding_reason"]
    given: dict = {}
    as_given = unblur.deconvolve(y, KERNEL, encoding="linear", psf_info=estimated, info=given)
    assert np.array_equal(as_given, unblur.deconvolve(y, KERNEL))
    assert given["encoding"] == "linear" and "encoding_reason" not in given
    assert psnr_clipped(followed, reference) > psnr_clipped(as_given, reference) + 3.0
    linear_data = {**estimated, "encoding": "linear"}
    assert np.array_equal(unblur.deconvolve(y, KERNEL, psf_info=linear_data),
                          unblur.deconvolve(y, KERNEL))  # fmt: skip


def test_blind_restoration_of_an_8bit_photograph_is_in_linear_light(camera):
    """``psf="auto"`` on 8-bit data: the estimator takes them as sRGB, and the restoration
    follows it; better than restoring the encoded values with the same estimate."""
    y, reference = photograph(camera, psf.gaussian(2.0))
    info: dict = {}
    auto = unblur.deconvolve(y, "auto", info=info)
    assert info["psf_estimate"]["encoding"] == "srgb" and info["encoding"] == "srgb"
    encoded = unblur.deconvolve(y, info["psf"], encoding="linear",
                                psf_info=info["psf_estimate"])  # fmt: skip
    assert psnr_clipped(auto, reference) > psnr_clipped(encoded, reference) + 1.0


@pytest.mark.parametrize("bad", ["gamma", "sRGB", 2.2, ""])
def test_unknown_encoding_is_refused(camera, bad):
    with pytest.raises(InvalidParameterError) as err:
        unblur.deconvolve(camera, KERNEL, encoding=bad)
    assert str(err.value) == f"unknown encoding {bad!r}; choose one of linear, srgb or None"
