"""A reference of another size (issue 20, item 7): the sharp original of a 'valid' blur is
larger than the restored image by the PSF's size - 1; ``--reference`` aligns it (a centred
crop by the PSF's half-widths) and says so in the report and the JSON summary. Any other
shape is refused with the shapes that would be accepted, before the work.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import invoke

import unblur
from unblur.metrics import psnr


@pytest.fixture
def valid_blur(tmp_path, monkeypatch):
    """x (40x48, grey and colour), a 7x5 PSF, and their 'valid' blurs (34x44)."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(1)
    from scipy import ndimage

    x = ndimage.gaussian_filter(rng.random((40, 48)), 1.0)
    x = (x - x.min()) / (x.max() - x.min())
    k = unblur.psf.gaussian((1.5, 1.0), size=(7, 5))
    np.save("x.npy", x)
    np.save("k.npy", k)
    np.save("y.npy", unblur.blur(x, k, boundary="valid"))
    rgb = np.stack([x, x[::-1], x[:, ::-1]], axis=-1)
    np.save("rgb.npy", rgb)
    np.save("yrgb.npy", unblur.blur(rgb, k, boundary="valid", channel_axis=-1))
    return x, k


@pytest.mark.parametrize(("blurred", "sharp"), [("y.npy", "x.npy"), ("yrgb.npy", "rgb.npy")])
def test_the_sharp_original_of_a_valid_blur_is_aligned(valid_blur, blurred, sharp):
    result = invoke("deconvolve", blurred, "-o", "r.npy", "--psf", "k.npy", "-m", "wiener",
                    "--report", "r.html", "--reference", sharp, "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["reference"]
    assert summary["crop"] == [[3, 3], [2, 2]]  # (7 - 1) / 2 rows, (5 - 1) / 2 columns
    assert "is the 'valid' support of the 7x5 PSF; its centre 34x44 is compared" in summary["note"]
    restored, reference = np.load("r.npy"), np.load(sharp)
    assert summary["psnr"] == pytest.approx(psnr(restored, reference[3:37, 2:46]), rel=1e-9)
    # the crop is the right one: shifted by a pixel, the same restoration scores far worse
    assert summary["psnr"] > psnr(restored, reference[4:38, 2:46]) + 3
    assert summary["psnr"] > psnr(np.load(blurred), reference[3:37, 2:46]) + 3  # it restored
    page = open("r.html", encoding="utf-8").read()
    assert "the &#x27;valid&#x27; support of the 7x5 PSF; its centre 34x44 is compared" in page


def test_an_even_psf_is_cropped_as_the_valid_blur_cropped(valid_blur):
    """A 6x4 PSF: blur keeps the original's rows 2..(2 + 34) (P - 1 - P // 2 = 2 before,
    3 after)."""
    x, _ = valid_blur
    k = np.outer([1.0, 2, 3, 3, 2, 1], [1.0, 2, 2, 1])
    k /= k.sum()
    np.save("k6.npy", k)
    np.save("y6.npy", unblur.blur(x, k, boundary="valid"))
    result = invoke("deconvolve", "y6.npy", "-o", "r.npy", "--psf", "k6.npy", "-m", "wiener",
                    "--report", "r.html", "--reference", "x.npy", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["reference"]
    assert summary["crop"] == [[2, 3], [1, 2]]
    assert summary["psnr"] == pytest.approx(psnr(np.load("r.npy"), x[2:37, 1:46]), rel=1e-9)


def test_blind_takes_a_larger_reference_as_a_valid_support_and_says_so(valid_blur):
    result = invoke("deconvolve", "y.npy", "-o", "r.npy", "--psf-model", "gaussian", "-m",
                    "wiener", "--report", "r.html", "--reference", "x.npy")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        "reference: the reference (40x48) is taken as the 'valid' support of a 7x5 PSF (the PSF "
        "was estimated: its true size is not known); its centre 34x44 is compared"
    ) in result.stdout


@pytest.mark.parametrize(
    ("blurred", "sharp", "message"),
    [
        # larger, but not by this PSF's size - 1: with the PSF, the exact shape is named
        ("y.npy", "big.npy", "the reference 'big.npy' is 41x48 but 'y.npy' is 34x44; accepted: "
         "34x44 (the same size) or 40x48 (the sharp original of a 'valid' blur by this 7x5 PSF)"),
        ("yrgb.npy", "big.npy", "accepted: 34x44x3 (the same size) or 40x48x3"),
        # smaller, or other channels: refused from the headers
        ("y.npy", "small.npy", "the reference 'small.npy' is 30x30 but 'y.npy' is 34x44; "
         "accepted: 34x44 (the same size) or larger by the PSF's size - 1 along each axis"),
        ("y.npy", "rgb.npy", "the reference 'rgb.npy' is 40x48x3 but 'y.npy' is 34x44"),
    ],
)  # fmt: skip
def test_any_other_reference_shape_is_refused_with_the_accepted_shapes(
    valid_blur, monkeypatch, blurred, sharp, message
):
    np.save("big.npy", np.zeros((41, 48)) if blurred == "y.npy" else np.zeros((41, 48, 3)))
    np.save("small.npy", np.zeros((30, 30)))

    def forbidden(*args, **kwargs):
        pytest.fail("restored before the reference was checked")

    monkeypatch.setattr("unblur.api.deconvolve", forbidden)
    result = invoke("deconvolve", blurred, "-o", "r.npy", "--psf", "k.npy",
                    "--report", "r.html", "--reference", sharp)  # fmt: skip
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("unblur: error: ") and message in result.stderr
