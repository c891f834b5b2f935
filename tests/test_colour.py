"""Colour restoration (:mod:`unblur.colour`, ``deconvolve(..., color=...)``, ``--color``).

A grey-world test card (the cameraman, achromatic, beside a chart of colour patches whose hues
balance to grey) is blurred by one PSF, made noisy and restored: the channels must come back
equally well and without colour fringes; the luminance mode must match the channel mode on
achromatic content and obey its defining identities; alpha is never touched.
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import ndimage
from skimage import data

import unblur
from unblur import psf
from unblur.cli import cli
from unblur.colour import (
    COLOR_MODES,
    check_color,
    restore_colour,
    rgb_to_ycbcr,
    split_alpha,
    ycbcr_to_rgb,
)
from unblur.errors import InvalidParameterError
from unblur.io import read_image, write_image
from unblur.metrics import psnr

KERNEL = psf.gaussian(1.5)
NOISE = 0.01


def grey_world_card() -> np.ndarray:
    """128 x 176 RGB: the cameraman (128 x 128, R = G = B) and a 128 x 48 colour chart.

    The chart has 6 hues 60 degrees apart at two luma levels, each with chroma 0.18, so the
    chart (and the whole card) averages to grey.
    """
    cam = data.camera().astype(np.float64) / 255
    cam = cam.reshape(128, 4, 128, 4).mean(axis=(1, 3))
    chart = np.empty((128, 48, 3))
    for i, angle in enumerate(np.arange(6) * np.pi / 3):
        rows = slice(i * 21, (i + 1) * 21 if i < 5 else 128)
        for j, luma in enumerate((0.35, 0.65)):
            ycc = np.array([luma, 0.18 * np.cos(angle), 0.18 * np.sin(angle)])
            chart[rows, j * 24 : (j + 1) * 24] = ycbcr_to_rgb(ycc[None, None])[0, 0]
    return np.concatenate([np.repeat(cam[..., None], 3, axis=-1), chart], axis=1)


@pytest.fixture(scope="module")
def card() -> tuple[np.ndarray, np.ndarray]:
    """(sharp card, blurred card with independent 1% Gaussian noise in each channel)."""
    x = grey_world_card()
    y = unblur.blur(x, KERNEL, boundary="periodic", channel_axis=-1)
    return x, unblur.add_noise(y, gaussian=NOISE, rng=0)


def channel_psnrs(estimate: np.ndarray, truth: np.ndarray) -> list[float]:
    est = np.clip(estimate, 0, 1)
    return [psnr(est[..., c], truth[..., c], data_range=1) for c in range(truth.shape[-1])]


def fringe(estimate: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """RMS chroma error (|(Cb, Cr) - true (Cb, Cr)|) on edges and on the rest of the image.

    Edges: the 10% of pixels with the largest Sobel gradient of the true luma. A colour fringe
    is chroma error concentrated on edges.
    """
    t = rgb_to_ycbcr(truth)
    r = rgb_to_ycbcr(np.clip(estimate, 0, 1))
    grad = np.hypot(ndimage.sobel(t[..., 0], 0), ndimage.sobel(t[..., 0], 1))
    edges = grad > np.quantile(grad, 0.9)
    error = np.hypot(r[..., 1] - t[..., 1], r[..., 2] - t[..., 2])
    return float(np.sqrt(np.mean(error[edges] ** 2))), float(np.sqrt(np.mean(error[~edges] ** 2)))


# --------------------------------------------------------------------------------------------
# the colour space
# --------------------------------------------------------------------------------------------
def test_ycbcr_is_bt601_and_exactly_invertible():
    primaries = np.eye(3)[None]  # red, green, blue
    ycc = rgb_to_ycbcr(primaries)[0]
    np.testing.assert_allclose(ycc[:, 0], [0.299, 0.587, 0.114], atol=1e-15)
    np.testing.assert_allclose(ycc[2, 1], 0.5)  # blue: Cb = 0.5
    np.testing.assert_allclose(ycc[0, 2], 0.5)  # red: Cr = 0.5
    grey = np.full((2, 2, 3), 0.4)
    np.testing.assert_allclose(rgb_to_ycbcr(grey), [[[0.4, 0, 0]] * 2] * 2, atol=1e-15)
    rng = np.random.default_rng(3)
    x = rng.random((3, 5, 7))  # channels first
    back = ycbcr_to_rgb(rgb_to_ycbcr(x, channel_axis=0), channel_axis=0)
    np.testing.assert_allclose(back, x, atol=1e-14)
    x32 = x.astype(np.float32)
    assert rgb_to_ycbcr(x32, channel_axis=0).dtype == np.float32
    with pytest.raises(InvalidParameterError, match="3 channels"):
        rgb_to_ycbcr(x[:2], channel_axis=0)


def test_split_alpha_and_check_color():
    rgba = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    colour, alpha = split_alpha(rgba, 2, "channels")
    assert colour.shape == (2, 3, 3) and alpha.shape == (2, 3, 1)
    np.testing.assert_array_equal(alpha[..., 0], rgba[..., 3])
    assert split_alpha(rgba, 2, None)[1] is None  # no colour meaning: no alpha
    assert split_alpha(rgba[..., :3], 2, "luminance")[1] is None
    assert COLOR_MODES == ("channels", "luminance")
    assert check_color(None) is None and check_color("luminance") == "luminance"
    with pytest.raises(InvalidParameterError, match="unknown color 'rgb'"):
        check_color("rgb")


# --------------------------------------------------------------------------------------------
# restoration of the grey-world card
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["wiener", "richardson_lucy"])
def test_channels_restore_equally_without_fringes(card, method):
    x, y = card
    x_hat = unblur.deconvolve(y, KERNEL, method, boundary="periodic", channel_axis=-1)
    restored = channel_psnrs(x_hat, x)
    blurred = channel_psnrs(y, x)
    # measured (wiener): 26.46, 26.27, 26.25 dB; richardson_lucy: 27.40, 27.53, 27.28 dB
    assert max(restored) - min(restored) < 0.5
    assert min(restored) > max(blurred) + 1.5  # blurred: 24.4, 24.2, 24.2 dB
    edge, flat = fringe(x_hat, x)
    # measured (wiener): 0.022 on edges, 0.017 elsewhere (the noise); blurred input: 0.026
    assert edge < 0.03 and edge < 1.6 * flat


def test_fringe_metric_sees_misregistered_channels(card):
    """The negative control: red restored with a PSF one pixel off gives a colour fringe."""
    x, y = card
    k = np.pad(KERNEL, 2)
    shifted = np.roll(k, 1, axis=1)
    x_hat = np.stack(
        [
            unblur.deconvolve(y[..., c], shifted if c == 0 else k, "wiener", boundary="periodic")
            for c in range(3)
        ],
        axis=-1,
    )
    edge, flat = fringe(x_hat, x)
    assert edge > 0.05 and edge > 2.5 * flat  # measured: 0.065 vs 0.022


def test_luminance_matches_channels_on_achromatic_content(card):
    x, y = card
    kwargs = {"boundary": "periodic", "channel_axis": -1}
    by_channel = unblur.deconvolve(y, KERNEL, "wiener", **kwargs)
    by_luma = unblur.deconvolve(y, KERNEL, "wiener", color="luminance", **kwargs)
    cam = slice(0, 128)  # the achromatic part of the card
    p_channels = psnr(np.clip(by_channel[:, cam], 0, 1), x[:, cam], data_range=1)
    p_luma = psnr(np.clip(by_luma[:, cam], 0, 1), x[:, cam], data_range=1)
    assert abs(p_luma - p_channels) < 0.5  # measured: 25.91 vs 25.66 dB
    assert p_luma > psnr(y[:, cam], x[:, cam], data_range=1) + 2
    spread = channel_psnrs(by_luma, x)
    assert max(spread) - min(spread) < 0.5  # measured: 26.53, 26.48, 26.19 dB

    # noise-free achromatic input: the luminance result is achromatic and equals the grey one
    grey = unblur.blur(x[:, cam, 0], KERNEL, boundary="periodic")
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    out = unblur.deconvolve(rgb, KERNEL, "wiener", color="luminance", balance=1e-3, **kwargs)
    alone = unblur.deconvolve(grey, KERNEL, "wiener", balance=1e-3, boundary="periodic")
    for c in range(3):
        np.testing.assert_allclose(out[..., c], alone, atol=1e-12)


def test_luminance_restores_luma_and_keeps_chroma_exactly(card):
    """For a linear method: Y(out) = restore(Y(in)) and (Cb, Cr)(out) = (Cb, Cr)(in)."""
    _, y = card
    y32 = y.astype(np.float32)
    out = unblur.deconvolve(
        y32, KERNEL, "wiener", balance=1e-2, boundary="periodic", channel_axis=-1,
        color="luminance",
    )  # fmt: skip
    assert out.dtype == np.float32 and out.shape == y.shape
    ycc_in, ycc_out = rgb_to_ycbcr(y32), rgb_to_ycbcr(out)
    luma = unblur.deconvolve(ycc_in[..., 0], KERNEL, "wiener", balance=1e-2, boundary="periodic")
    np.testing.assert_allclose(ycc_out[..., 0], luma, atol=1e-5)
    np.testing.assert_allclose(ycc_out[..., 1:], ycc_in[..., 1:], atol=1e-5)


@pytest.mark.parametrize("color", ["channels", "luminance"])
def test_alpha_is_returned_bit_identical(card, color):
    _, y = card
    rng = np.random.default_rng(1)
    alpha = rng.random(y.shape[:2]).astype(np.float32)
    rgba = np.concatenate([y.astype(np.float32), alpha[..., None]], axis=-1)
    moved = np.moveaxis(rgba, -1, 0)  # channels first too
    kwargs = {"balance": 1e-2, "boundary": "periodic", "color": color}
    out = unblur.deconvolve(moved, KERNEL, "wiener", channel_axis=0, **kwargs)
    assert out.shape == moved.shape and out.dtype == np.float32
    assert out[3].tobytes() == alpha.tobytes()
    rgb_only = unblur.deconvolve(rgba[..., :3], KERNEL, "wiener", channel_axis=-1, **kwargs)
    np.testing.assert_array_equal(np.moveaxis(out[:3], 0, -1), rgb_only)
    # color=None: four independent channels, the fourth restored too
    every = unblur.deconvolve(rgba, KERNEL, "wiener", channel_axis=-1, **{**kwargs, "color": None})
    assert np.abs(every[..., 3] - alpha).max() > 0.1
    if color == "channels":
        np.testing.assert_array_equal(every[..., :3], rgb_only)


def test_colour_errors_and_grey_images():
    x = np.random.default_rng(0).random((16, 16, 2))
    with pytest.raises(InvalidParameterError, match=r"4 \(RGBA\) channels, got 2"):
        unblur.deconvolve(x, KERNEL, "wiener", channel_axis=-1, color="luminance")
    with pytest.raises(InvalidParameterError, match="unknown color 'lab'"):
        unblur.deconvolve(x, KERNEL, "wiener", channel_axis=-1, color="lab")
    grey = x[..., 0]
    for color in ("luminance", None):  # no channels: color does not matter
        np.testing.assert_array_equal(
            unblur.deconvolve(grey, KERNEL, "wiener", balance=0.1, color=color),
            unblur.deconvolve(grey, KERNEL, "wiener", balance=0.1),
        )
    calls = []
    restore_colour(x[..., :1], 2, lambda c: calls.append(c.shape) or c, "luminance")
    assert calls == [(16, 16)]  # one channel: grey, restored as it is


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("color", ["luminance", "channels"])
def test_cli_uint8_rgba_end_to_end(tmp_path, card, color):
    x, y = card
    alpha = np.zeros(x.shape[:2], np.uint8)
    alpha[:, ::3] = 255
    alpha[5:20] = np.arange(x.shape[1], dtype=np.uint8)
    rgba = np.concatenate([np.round(np.clip(y, 0, 1) * 255).astype(np.uint8), alpha[..., None]], -1)
    source = tmp_path / "in.png"
    write_image(source, rgba)
    target = tmp_path / "out.png"
    result = CliRunner().invoke(
        cli,
        ["deconvolve", str(source), "-o", str(target), "--psf", "gaussian:sigma=1.5",
         "-m", "wiener", "--boundary", "periodic", "--color", color],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out, info = read_image(target)
    assert info.dtype == "uint8" and info.has_alpha and out.shape == rgba.shape
    raw = np.round(out * 255).astype(np.uint8)
    np.testing.assert_array_equal(raw[..., 3], alpha)
    restored = channel_psnrs(out[..., :3], x)
    blurred = channel_psnrs(rgba[..., :3] / 255, x)
    assert min(restored) > max(blurred) + 1.5  # measured: about 26.3 vs 24.4 dB
    assert max(restored) - min(restored) < 0.5
    direct = unblur.deconvolve(
        rgba[..., :3], KERNEL, "wiener", boundary="periodic", channel_axis=-1, color=color
    )
    expected = np.round(np.clip(direct, 0, 1) * 255).astype(np.uint8)
    assert np.abs(raw[..., :3].astype(int) - expected).max() <= 1


def test_cli_color_option_errors(tmp_path):
    result = CliRunner().invoke(
        cli, ["deconvolve", "x.png", "-o", str(tmp_path / "o.png"), "--color", "lab"]
    )
    assert result.exit_code == 2 and "'lab' is not one of 'channels', 'luminance'" in result.output
    source = tmp_path / "in.npy"
    np.save(source, np.zeros((8, 8, 3), np.float32))
    result = CliRunner().invoke(
        cli,
        ["deconvolve", str(source), "-o", str(tmp_path / "o.npy"), "--psf", "gaussian:sigma=1",
         "--chunks", "4", "--color", "luminance"],
    )  # fmt: skip
    assert result.exit_code == 2 and "--color luminance is not available block by block" in (
        result.output
    )
