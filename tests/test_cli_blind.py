"""The blind command line (issue 14, item 6): ``deconvolve --save-psf`` keeps the estimated
PSF, written with the image or not at all; ``compare --align`` scores up to the small shift a
blind result carries (Levin et al.'s comp_upto_shift: quarter pixels within 5 px).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import unblur
from unblur.cli import cli
from unblur.io import read_image
from unblur.metrics import score


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], prog_name="unblur")


@pytest.fixture
def blurred(tmp_path, monkeypatch, camera):
    """The camera photograph blurred by a Gaussian of sigma 2 with 1 % noise, as b.npy."""
    monkeypatch.chdir(tmp_path)
    y = unblur.add_noise(unblur.blur(camera, unblur.psf.gaussian(2)), gaussian=0.01, rng=0)
    np.save("b.npy", y)
    np.save("sharp.npy", camera)
    return y


# --------------------------------------------------------------------------------------------
# deconvolve --save-psf
# --------------------------------------------------------------------------------------------
def test_save_psf_writes_the_estimated_psf(blurred):
    result = invoke("deconvolve", "b.npy", "-o", "r.npy", "--save-psf", "k.npy", "--json",
                    "-m", "wiener")  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["psf_saved"] == "k.npy" and summary["psf"] == "estimated"
    saved = np.load("k.npy")
    np.testing.assert_array_equal(saved, unblur.estimate_psf(blurred))  # what was used
    assert list(saved.shape) == summary["psf_shape"]
    # the saved PSF restores the same image when given back with --psf
    result = invoke("deconvolve", "b.npy", "-o", "again.npy", "--psf", "k.npy", "-m", "wiener")
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(np.load("again.npy"), np.load("r.npy"), atol=1e-6)
    # .png: for viewing, 16 bits, the peak white
    result = invoke("deconvolve", "b.npy", "-o", "r2.npy", "--save-psf", "k.png", "-m", "wiener")
    assert result.exit_code == 0, result.output
    assert "wrote k.png (the estimated PSF, " in result.stdout
    shown, info = read_image("k.png")
    assert info.dtype == "uint16" and shown.max() == 1.0
    np.testing.assert_allclose(shown, saved / saved.max(), atol=1 / 65535)


def test_save_psf_is_moved_into_place_with_the_image_or_not_at_all(blurred, monkeypatch):
    """A file appears at the PSF's path while the image is restored: the run fails, and the
    image already moved into place is taken back (no image without its PSF)."""
    import unblur.cli.single as single

    stage = single.stage_psf

    def stage_then_collide(staged, path, k):
        stage(staged, path, k)
        path.write_text("someone else's file")

    monkeypatch.setattr(single, "stage_psf", stage_then_collide)
    result = invoke("deconvolve", "b.npy", "-o", "r.npy", "--save-psf", "k.npy", "-m", "wiener")
    assert result.exit_code == 1 and "'k.npy'" in result.stderr
    assert sorted(p.name for p in blurred_folder()) == ["b.npy", "k.npy", "sharp.npy"]
    assert open("k.npy").read() == "someone else's file"


def blurred_folder():
    return Path(".").iterdir()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--psf", "gaussian:sigma=2"], "--save-psf are for estimating the PSF"),
        (["--chunks", "32"], "--save-psf is not available block by block"),
        (["b.npy", "sharp.npy"], "--save-psf works with one input, not a batch"),
    ],
)
def test_save_psf_usage_errors(blurred, extra, message):
    out = "out" if "sharp.npy" in extra else "r.npy"
    result = invoke("deconvolve", "b.npy", *extra, "-o", out, "--save-psf", "k.npy")
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert not any(p.name in ("k.npy", "r.npy", "out") for p in blurred_folder())


# --------------------------------------------------------------------------------------------
# compare --align
# --------------------------------------------------------------------------------------------
def _half_pixel_shift(x: np.ndarray) -> np.ndarray:
    """``x`` moved down by 1 px and right by half a pixel (bilinear), as a blind result may be."""
    return 0.5 * (np.roll(x, (1, 0), axis=(0, 1)) + np.roll(x, (1, 1), axis=(0, 1)))


@pytest.mark.parametrize("colour", [False, True])
def test_compare_align_finds_the_shift_and_scores_up_to_it(tmp_path, camera, colour):
    grey = camera[32:96, 32:96]  # 64 x 64: the quarter-pixel search is 16 integer searches
    sharp = np.stack([grey, grey[::-1], grey.T], axis=-1) if colour else grey
    moved = _half_pixel_shift(sharp)
    np.save(tmp_path / "moved.npy", moved)
    np.save(tmp_path / "sharp.npy", sharp)
    plain = invoke("compare", tmp_path / "moved.npy", tmp_path / "sharp.npy", "--json")
    aligned = invoke("compare", tmp_path / "moved.npy", tmp_path / "sharp.npy", "--align", "--json")
    assert plain.exit_code == 0 and aligned.exit_code == 0, aligned.output
    plain, aligned = json.loads(plain.stdout), json.loads(aligned.stdout)
    assert "shift" not in plain
    assert aligned["aligned"] is True and aligned["shift"] == [1.0, 0.5]
    expected = score(moved, sharp, clip=False, subpixel=4, channel_axis=-1 if colour else None)
    assert aligned["psnr"] == pytest.approx(expected["psnr"], rel=1e-12)
    assert aligned["ssim"] == pytest.approx(expected["ssim"], rel=1e-12)
    assert aligned["psnr"] > plain["psnr"] + 5  # the shift, not the restoration, was scored
    text = invoke("compare", tmp_path / "moved.npy", tmp_path / "sharp.npy", "--align")
    assert "+1.00, +0.50 px" in text.stdout


def test_compare_align_refuses_images_too_small_for_its_border(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((30, 64)))
    result = invoke("compare", tmp_path / "a.npy", tmp_path / "a.npy", "--align")
    assert result.exit_code == 1
    assert "--align needs images larger than 30 px on each side" in result.stderr


def test_score_with_a_channel_axis_shifts_the_spatial_axes_only(camera):
    grey = camera[32:96, 32:96]
    rgb = np.stack([grey, grey**2, 1 - grey], axis=-1)
    moved = np.roll(rgb, (2, -1), axis=(0, 1))
    result = score(moved, rgb, channel_axis=-1, subpixel=4)
    assert result["shift"] == (2.0, -1.0) and result["psnr"] == np.inf
    assert result["ssim"] == pytest.approx(1.0)
    channels_first = np.moveaxis(moved, -1, 0)
    again = score(channels_first, np.moveaxis(rgb, -1, 0), channel_axis=0)
    assert again["shift"] == (2, -1)


# --------------------------------------------------------------------------------------------
# the estimate's doubts are said (issue 14, item 4)
# --------------------------------------------------------------------------------------------
def test_blind_deconvolve_warns_when_the_psf_is_not_trusted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save("noise.npy", 0.5 + 0.1 * np.random.default_rng(0).standard_normal((96, 96)))
    result = invoke("deconvolve", "noise.npy", "-o", "r.npy", "-m", "wiener")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "unblur: warning:" in line]
    assert len(warnings) == 2, result.stderr  # the estimate's doubt, then what was done
    assert "not trusted" in warnings[0] and "nothing but noise" in warnings[0]
    assert "restored conservatively" in warnings[1]
    assert "try --psf-size, --psf-model, or give a known --psf" in warnings[0]
    assert ", low confidence" in result.stdout  # the 'estimated PSF: ...' line


def test_the_warning_names_each_thing_to_try_once():
    from unblur.cli._estimate import confidence_warning

    line = confidence_warning({"warning": "not trusted: unstable; try giving --psf-size"})
    assert (
        line == "not trusted: unstable; try giving --psf-size, --psf-model, or give a known --psf"
    )
    line = confidence_warning({"warning": "not trusted: noise"})
    assert line == "not trusted: noise; try --psf-size, --psf-model, or give a known --psf"
    assert confidence_warning({"warning": None}) is None


def test_blind_deconvolve_is_silent_when_the_psf_is_trusted(blurred):
    result = invoke("deconvolve", "b.npy", "-o", "r.npy", "-m", "wiener")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr and "low confidence" not in result.stdout


# --------------------------------------------------------------------------------------------
# an 8-bit file is an sRGB photograph for the estimator, as for unblur.estimate_psf
# --------------------------------------------------------------------------------------------
@pytest.fixture
def photo_png(tmp_path, monkeypatch, camera):
    """The camera photograph blurred in linear light, sRGB-encoded, 8-bit, as b.png (and the
    8-bit array a library user would hold)."""
    from unblur.colour import linear_to_srgb, srgb_to_linear
    from unblur.io import write_image

    monkeypatch.chdir(tmp_path)
    light = srgb_to_linear(camera)
    y = linear_to_srgb(np.clip(unblur.blur(light, unblur.psf.gaussian(2.5)), 0, 1))
    y8 = np.round(np.clip(y, 0, 1) * 255).astype(np.uint8)
    write_image("b.png", y8)
    return y8


@pytest.mark.parametrize("command", ["deconvolve", "estimate-psf", "batch", "chunks"])
def test_an_8_bit_file_is_estimated_as_the_library_estimates_its_8_bit_values(photo_png, command):
    # the reader's float copy was taken as linear light: the CLI's Gaussian came out with
    # another width than unblur.estimate_psf's on the same file's values
    info: dict = {}
    expected = unblur.estimate_psf(photo_png, model="gaussian", info=info)
    assert info["encoding"] == "srgb"
    if command == "estimate-psf":
        result = invoke("estimate-psf", "b.png", "-o", "k.npy", "--model", "gaussian",
                        "--no-preview")  # fmt: skip
    elif command == "deconvolve":
        result = invoke("deconvolve", "b.png", "-o", "r.png", "--psf-model", "gaussian",
                        "--save-psf", "k.npy", "-m", "wiener")  # fmt: skip
    elif command == "chunks":  # block by block: the estimate on the central 512 px (all here)
        pytest.importorskip("dask")
        result = invoke("deconvolve", "b.png", "-o", "r.tif", "--chunks", 64, "--psf-model",
                        "gaussian", "-m", "wiener", "--json")  # fmt: skip
        assert result.exit_code == 0, result.output
        sigma = json.loads(result.stdout)["psf_estimate"]["parameters"]["sigma"]
        assert sigma == pytest.approx(info["parameters"]["sigma"], rel=1e-12)
        return
    else:  # two inputs: the batch path
        Path("c.png").write_bytes(Path("b.png").read_bytes())
        result = invoke("deconvolve", "b.png", "c.png", "-o", "out", "--psf-model", "gaussian",
                        "-m", "wiener", "--json")  # fmt: skip
        assert result.exit_code == 0, result.output
        rows = json.loads(result.stdout)
        rows = rows["files"] if isinstance(rows, dict) else rows
        sigma = [r["psf_estimate"]["parameters"]["sigma"] for r in rows]
        np.testing.assert_allclose(sigma, [info["parameters"]["sigma"]] * 2, rtol=1e-12)
        return
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(np.load("k.npy"), expected)
