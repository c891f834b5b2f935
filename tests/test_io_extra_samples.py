"""TIFF extra samples: alpha only where the file says so (ExtraSamples 1 or 2); an unspecified
extra sample (a second fluorescence channel) is data and is restored like the others."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from conftest import invoke
from skimage import data as skdata

import unblur
from unblur.errors import ImageWriteError
from unblur.io import read_image, write_image
from unblur.metrics import psnr

RNG = np.random.default_rng(5)


def _two_channels() -> tuple[np.ndarray, np.ndarray]:
    """(sharp, blurred) 2-channel 8-bit images (H, W, 2)."""
    a = skdata.camera()[::8, ::8].astype(np.float64) / 255
    b = skdata.moon()[::8, ::8].astype(np.float64) / 255
    sharp = np.stack([a, b], axis=-1)
    k = unblur.psf.gaussian(sigma=1.2)
    blurred = unblur.blur(sharp, k, channel_axis=-1, boundary="reflect")
    return sharp, np.rint(np.clip(blurred, 0, 1) * 255).astype(np.uint8)


def test_read_alpha_only_where_the_file_says_so(tmp_path):
    pixels = RNG.integers(0, 256, (6, 5, 4), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "rgba.tif", pixels, photometric="rgb", extrasamples=["unassalpha"])
    tifffile.imwrite(tmp_path / "rgbx.tif", pixels, photometric="rgb", extrasamples=["unspecified"])
    tifffile.imwrite(
        tmp_path / "two.tif", pixels[..., :2], photometric="minisblack", planarconfig="contig"
    )
    assert read_image(tmp_path / "rgba.tif")[1].has_alpha is True
    assert read_image(tmp_path / "rgbx.tif")[1].has_alpha is False
    data, info = read_image(tmp_path / "two.tif")
    assert info.has_alpha is False and info.channel_axis == -1 and data.shape == (6, 5, 2)
    write_image(tmp_path / "back.tif", data, info=info)  # stays data, not alpha
    with tifffile.TiffFile(tmp_path / "back.tif") as tif:
        assert tuple(int(e) for e in tif.pages[0].extrasamples) == (0,)
    assert read_image(tmp_path / "back.tif")[1].has_alpha is False


def test_cli_restores_both_channels_of_a_two_channel_tiff(tmp_path):
    # before: the second channel was taken for alpha and copied through unrestored
    sharp, blurred = _two_channels()
    tifffile.imwrite(tmp_path / "in.tif", blurred, photometric="minisblack", planarconfig="contig")
    result = invoke("deconvolve", tmp_path / "in.tif", "-o", tmp_path / "out.tif",
                    "--psf", "gaussian:sigma=1.2", "-m", "wiener")  # fmt: skip
    assert result.exit_code == 0, result.output
    restored = tifffile.imread(tmp_path / "out.tif").astype(np.float64) / 255
    for c in range(2):
        before = psnr(blurred[..., c] / 255, sharp[..., c])
        after = psnr(restored[..., c], sharp[..., c])
        assert after > before + 1.0, (c, before, after)


def test_cli_still_keeps_real_alpha_aside(tmp_path):
    sharp, blurred = _two_channels()
    alpha = np.where(np.arange(blurred.shape[1]) % 8 < 4, 255, 0).astype(np.uint8)
    la = np.stack([blurred[..., 0], np.broadcast_to(alpha, blurred.shape[:2])], axis=-1)
    tifffile.imwrite(tmp_path / "la.tif", la, photometric="minisblack", extrasamples=["unassalpha"])
    result = invoke("deconvolve", tmp_path / "la.tif", "-o", tmp_path / "out.tif",
                    "--psf", "gaussian:sigma=1.2", "-m", "wiener")  # fmt: skip
    assert result.exit_code == 0, result.output
    out = tifffile.imread(tmp_path / "out.tif")
    assert np.array_equal(out[..., 1], la[..., 1])  # alpha: copied, not deconvolved
    assert psnr(out[..., 0] / 255, sharp[..., 0]) > psnr(blurred[..., 0] / 255, sharp[..., 0])


def test_data_channels_are_not_written_as_transparency(tmp_path):
    # before: a 2-channel fluorescence TIFF restored to PNG became grey + alpha (channel 2
    # shown as transparency), and to JPEG was refused for "an alpha channel" it did not have
    from unblur.io import read_header

    _, blurred = _two_channels()
    tifffile.imwrite(tmp_path / "in.tif", blurred, photometric="minisblack", planarconfig="contig")
    assert read_header(tmp_path / "in.tif").has_alpha is False
    data, info = read_image(tmp_path / "in.tif")
    for ext, fmt in ((".png", "PNG"), (".jpg", "JPEG"), (".bmp", "BMP")):
        result = invoke("deconvolve", tmp_path / "in.tif", "-o", tmp_path / f"out{ext}",
                        "--psf", "gaussian:sigma=1.2", "-m", "wiener")  # fmt: skip
        assert result.exit_code == 1
        message = (
            f"cannot write 'out{ext}': {fmt} cannot store 2 data channels (no alpha); "
            "use .tif or .npy"
        )
        assert result.output.strip().replace(str(tmp_path) + "/", "") == (
            f"unblur: error: {message}"
        )
        assert not (tmp_path / f"out{ext}").exists()
        with pytest.raises(ImageWriteError) as err:
            write_image(tmp_path / f"lib{ext}", data, info=info)
        assert str(err.value).replace(str(tmp_path) + "/", "") == message.replace("out", "lib")
