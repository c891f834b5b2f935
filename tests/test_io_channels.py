"""Microscope channels (the C axis of OME and ImageJ TIFFs) are channels, not planes."""

from __future__ import annotations

import numpy as np
import tifffile
from conftest import invoke

import unblur
from unblur import psf
from unblur.io import read_header, read_image
from unblur.metrics import psnr

RNG = np.random.default_rng(9)


def _two_channel_stack() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sharp, blurred, 3-D PSF): two different channels of a 12 x 24 x 24 Z stack."""
    sharp = np.zeros((12, 24, 24, 2))
    sharp[4:8, 6:10, 6:10, 0] = 1.0  # a bead in channel 0
    sharp[3:9, 14:20, 12:16, 1] = 0.7  # a cell in channel 1, elsewhere
    k = psf.gaussian(sigma=(0.8, 1.2, 1.2))
    blurred = unblur.blur(sharp, k, channel_axis=-1, boundary="periodic")
    return sharp, blurred.astype(np.float32), k


def test_zcyx_hyperstack_is_a_z_stack_of_channels(tmp_path):
    # before: read as 24 interleaved planes (z0c0, z0c1, z1c0, ...), which a 3-D PSF then
    # blurred and restored across the two channels
    sharp, blurred, k = _two_channel_stack()
    zcyx = np.moveaxis(blurred, -1, 1)
    tifffile.imwrite(tmp_path / "h.tif", zcyx, imagej=True, metadata={"axes": "ZCYX"})
    data, info = read_image(tmp_path / "h.tif")
    assert data.shape == (12, 24, 24, 2) and info.channel_axis == -1
    assert info.n_pages == 12 and info.has_alpha is False
    assert read_header(tmp_path / "h.tif").shape == (12, 24, 24, 2)
    np.testing.assert_array_equal(data, blurred)
    restored = unblur.deconvolve(data, k, channel_axis=-1, method="richardson_lucy")
    for c in range(2):  # each channel restored on its own: better than its blurred self
        assert psnr(restored[..., c], sharp[..., c]) > psnr(blurred[..., c], sharp[..., c]) + 3
    assert restored[..., 0][sharp[..., 1] > 0].max() < 0.05  # no light from the other channel


def test_cyx_channels_take_a_2d_psf(tmp_path):
    planes = RNG.random((3, 20, 16)).astype(np.float32)
    tifffile.imwrite(tmp_path / "c.ome.tif", planes, metadata={"axes": "CYX"})
    data, info = read_image(tmp_path / "c.ome.tif")
    assert data.shape == (20, 16, 3) and info.n_pages == 1 and info.channel_axis == -1
    np.testing.assert_array_equal(data, np.moveaxis(planes, 0, -1))


def test_cli_restores_all_four_data_channels(tmp_path):
    sharp = np.stack([np.kron(RNG.random((8, 8)), np.ones((4, 4)))] * 4).astype(np.float32)
    k = psf.gaussian(sigma=1.0)
    blurred = np.stack([unblur.blur(p, k, boundary="reflect") for p in sharp])
    tifffile.imwrite(tmp_path / "c4.ome.tif", blurred, metadata={"axes": "CYX"})
    result = invoke("deconvolve", tmp_path / "c4.ome.tif", "-o", tmp_path / "out.tif",
                    "--psf", "gaussian:sigma=1", "-m", "wiener")  # fmt: skip
    assert result.exit_code == 0, result.output
    restored = tifffile.imread(tmp_path / "out.tif")
    for c in range(4):
        assert psnr(restored[..., c], sharp[c]) > psnr(blurred[c], sharp[c]) + 1, c
