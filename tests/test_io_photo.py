"""Photographers' files (issue 20, item 8): HEIC and AVIF from phones, RAW from cameras.

Every file is made here: the HEIC by pillow-heif, the AVIF by Pillow, and the DNG by
tifffile: a minimal CFA DNG (RGGB mosaic, 12-bit white level, a colour matrix that makes the
camera's native space linear sRGB) that LibRaw decodes, so the demosaiced result can be
checked against the linear scene it was made from.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner

import unblur
from unblur.cli import cli
from unblur.io import photo, read_header, read_image
from unblur.metrics import psnr

pillow_heif = pytest.importorskip("pillow_heif", reason="pip install -e '.[heif]'")
rawpy = pytest.importorskip("rawpy", reason="pip install -e '.[raw]'")

PSF = "gaussian:sigma=1.5"
#: XYZ (D65) -> linear sRGB: as a DNG ColorMatrix1 it makes the camera's space linear sRGB
XYZ_TO_SRGB = [3.2406, -1.5372, -0.4986, -0.9689, 1.8758, 0.0415, 0.0557, -0.2040, 1.0570]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], prog_name="unblur")


def write_dng(path, rgb: np.ndarray, white: int = 4095) -> None:
    """A CFA DNG (RGGB) of the linear scene ``rgb`` (H, W, 3) in [0, 1]."""
    h, w, _ = rgb.shape
    mosaic = np.empty((h, w))
    mosaic[0::2, 0::2] = rgb[0::2, 0::2, 0]
    mosaic[0::2, 1::2] = rgb[0::2, 1::2, 1]
    mosaic[1::2, 0::2] = rgb[1::2, 0::2, 1]
    mosaic[1::2, 1::2] = rgb[1::2, 1::2, 2]

    def rationals(values):
        return [n for v in values for n in (round(v * 10000), 10000)]

    tags = [
        (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
        (50707, "B", 4, (1, 1, 0, 0), True),  # DNGBackwardVersion
        (50708, "s", 0, "unblur test camera", True),  # UniqueCameraModel
        (33421, "H", 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, "B", 4, (0, 1, 1, 2), True),  # CFAPattern: R G / G B
        (50710, "B", 3, (0, 1, 2), True),  # CFAPlaneColor
        (50711, "H", 1, 1, True),  # CFALayout: rectangular
        (50714, "H", 1, 0, True),  # BlackLevel
        (50717, "H", 1, white, True),  # WhiteLevel
        (50721, "2i", 9, rationals(XYZ_TO_SRGB), True),  # ColorMatrix1
        (50728, "2I", 3, rationals([1, 1, 1]), True),  # AsShotNeutral: no white balance
        (50778, "H", 1, 21, True),  # CalibrationIlluminant1: D65
    ]
    data = np.round(np.clip(mosaic, 0, 1) * white).astype(np.uint16)
    tifffile.imwrite(path, data, photometric=32803, bitspersample=16, extratags=tags)


@pytest.fixture
def scene(astronaut) -> tuple[np.ndarray, np.ndarray]:
    """A sharp colour photograph (96x96, linear values in [0.05, 0.85]) and its blur."""
    sharp = 0.05 + 0.8 * astronaut
    return sharp, unblur.blur(sharp, unblur.psf.parse_spec(PSF), channel_axis=-1)


def test_a_dng_reads_as_the_linear_scene_it_was_made_from(tmp_path, scene):
    sharp, _ = scene
    write_dng(tmp_path / "shot.dng", sharp)
    write_dng(tmp_path / "half.dng", sharp / 2)
    image, info = read_image(tmp_path / "shot.dng")
    assert image.shape == (96, 96, 3) and image.dtype == np.float32
    assert (info.dtype, info.linear, info.value_range) == ("uint16", True, (0.0, 65535.0))
    assert read_header(tmp_path / "shot.dng").shape == (96, 96, 3)
    inner = (slice(4, -4), slice(4, -4))  # demosaicing has no neighbours at the edge
    assert psnr(image[inner], sharp[inner]) > 30  # demosaiced, white level -> 1, no gamma
    half, _ = read_image(tmp_path / "half.dng")
    np.testing.assert_allclose(half[inner].mean(), image[inner].mean() / 2, rtol=2e-3)  # linear


def test_a_heic_and_an_avif_read_as_the_photograph(tmp_path, scene):
    from PIL import Image

    sharp, _ = scene
    pixels = np.round(sharp * 255).astype(np.uint8)
    pillow_heif.register_heif_opener()
    Image.fromarray(pixels).save(tmp_path / "photo.heic", quality=95)
    Image.fromarray(pixels).save(tmp_path / "photo.avif", quality=95)
    for name in ("photo.heic", "photo.avif"):
        image, info = read_image(tmp_path / name)
        assert image.shape == (96, 96, 3) and info.dtype == "uint8" and not info.linear
        assert read_header(tmp_path / name).shape == (96, 96, 3)
        assert psnr(image, sharp) > 30  # lossy, 4:2:0


def test_a_heic_photograph_is_restored_end_to_end(tmp_path, scene, monkeypatch):
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    sharp, blurred = scene
    pillow_heif.register_heif_opener()
    Image.fromarray(np.round(blurred * 255).astype(np.uint8)).save("photo.heic", quality=100)
    result = invoke("deconvolve", "photo.heic", "-o", "out.png", "--psf", PSF)
    assert result.exit_code == 0, result.output
    restored, info = read_image("out.png")
    assert info.dtype == "uint8" and restored.shape == sharp.shape
    assert psnr(restored, sharp) > psnr(read_image("photo.heic")[0], sharp) + 2


def test_a_dng_is_restored_in_linear_light_and_written_as_16_bit_tiff(tmp_path, scene, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sharp, blurred = scene
    write_dng("shot.dng", blurred)
    result = invoke("deconvolve", "shot.dng", "-o", "out.tif", "--psf", PSF)
    assert result.exit_code == 0, result.output
    restored, info = read_image("out.tif")
    assert info.dtype == "uint16" and restored.shape == sharp.shape
    inner = (slice(4, -4), slice(4, -4))
    before = psnr(read_image("shot.dng")[0][inner], sharp[inner])
    assert psnr(restored[inner], sharp[inner]) > before + 2
    # the same run to PNG is the sRGB encoding of the linear result (16 bits, as the input)
    result = invoke("deconvolve", "shot.dng", "-o", "out.png", "--psf", PSF)
    assert result.exit_code == 0, result.output
    shown, shown_info = read_image("out.png")
    assert shown_info.dtype == "uint16"
    np.testing.assert_allclose(shown, photo.srgb_encode(restored), atol=2e-4)
    # a batch writes RAW photographs as .tif by default
    result = invoke("deconvolve", "*.dng", "-o", "batch", "--psf", PSF, "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert read_image("batch/shot_unblur.tif")[1].dtype == "uint16"


@pytest.mark.parametrize(
    ("name", "module", "extra"),
    [("shot.dng", "rawpy", "raw"), ("photo.heic", "pillow_heif", "heif")],
)
def test_a_missing_extra_is_one_line_naming_the_pip_install(
    tmp_path, monkeypatch, name, module, extra
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_bytes(b"\0" * 64)
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    monkeypatch.setattr(photo, "_heif_registered", False)
    result = invoke("deconvolve", name, "-o", "out.png", "--psf", PSF)
    assert result.exit_code == 1
    assert result.stderr == (
        f"unblur: error: cannot read '{name}': {'RAW' if extra == 'raw' else 'HEIC/HEIF'} files "
        f"need {module.replace('_', '-')}, which is not installed: pip install 'unblur[{extra}]'\n"
    )


def test_a_file_that_is_no_raw_photograph_is_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fake.nef").write_bytes(b"II*\0" + b"garbage" * 20)
    result = invoke("deconvolve", "fake.nef", "-o", "out.tif", "--psf", PSF)
    assert result.exit_code == 1
    assert result.stderr == (
        "unblur: error: cannot read 'fake.nef': not a RAW file LibRaw can decode (Unsupported "
        "file format or not RAW file)\n"
    )
