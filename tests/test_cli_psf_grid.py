"""``unblur deconvolve --psf-grid GYxGX``: a blind PSF field, estimated and restored with."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from skimage import data

import unblur
from unblur import psf
from unblur.cli import cli


@pytest.fixture(scope="module")
def rotated(tmp_path_factory):
    """A 96 x 128 photograph whose shake turns by 90 degrees from left to right (a 1 x 2
    field of 5 px motion kernels), 0.5 % noise, saved as .npy."""
    folder = tmp_path_factory.mktemp("grid")
    x = data.camera()[::4, ::4][16:112, :] / 255.0
    kernels = np.stack([[psf.motion(5, angle=0.0, size=7), psf.motion(5, angle=90.0, size=7)]])
    blurred = unblur.blur(x, psf.grid(kernels, x.shape))
    y = np.clip(unblur.add_noise(blurred, gaussian=0.005, rng=0), 0, 1)
    np.save(folder / "y.npy", y)
    return folder, y


def _run(*args):
    return CliRunner().invoke(cli, ["deconvolve", *map(str, args)])


def test_psf_grid_estimates_a_field_restores_with_it_and_saves_it(rotated):
    folder, y = rotated
    out, saved = folder / "out.npy", folder / "field.npy"
    result = _run(folder / "y.npy", "-o", out, "--psf-grid", "1x2", "--psf-size", "7",
                  "--save-psf", saved)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        "estimated PSF: PSF field 1x2 from one camera motion (shift and rotation), kernels 7x7"
        in result.output
    )
    assert "the estimated PSF field, 1x2 PSFs of 7x7" in result.output
    # the saved field is its (gy, gx, ky, kx) array of PSFs, each summing to one, and the
    # image was restored with that field (at this size the estimator's windows cover the
    # whole image, so the cells may agree: the test is of the command, not the estimator)
    psfs = np.load(saved)
    assert psfs.shape == (1, 2, 7, 7)
    np.testing.assert_allclose(psfs.sum(axis=(2, 3)), 1.0, atol=1e-12)
    restored = np.load(out)
    expected = unblur.deconvolve(y, psf.grid(psfs, y.shape))
    np.testing.assert_allclose(restored, expected, atol=1e-6)
    # --psf reads the saved file back as a field
    again = folder / "again.npy"
    result = _run(folder / "y.npy", "-o", again, "--psf", saved, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["psf_grid"] == [1, 2]
    np.testing.assert_allclose(np.load(again), restored, atol=1e-6)


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--psf-grid", "0x3"], "'0x3' is not GYxGX (rows x columns of the field, each from 1"),
        (["--psf-grid", "17"], "'17' is not GYxGX"),
        (["--psf-grid", "3x3x3"], "'3x3x3' is not GYxGX"),
        (["--psf-grid", "three"], "'three' is not GYxGX"),
        (["--psf-grid", "2x2", "--psf", "gaussian:sigma=1"], "leave them out with --psf"),
        (["--psf-grid", "2x2", "--psf-model", "motion"], "--psf-model motion cannot go with it"),
        (["--psf-grid", "2x2", "--save-psf", "f.png"], "a PSF field is saved as .npy or .tif"),
        (["--psf-grid", "16x16"], "grid 16x16 is too fine for a 96x128 image"),
    ],
)
def test_bad_psf_grid_fails_in_one_line_before_the_work(rotated, extra, fragment):
    folder, _ = rotated
    out = folder / "never.npy"
    result = _run(folder / "y.npy", "-o", out, *extra)
    assert result.exit_code != 0
    assert fragment in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output
    assert not out.exists() and not (folder / "f.png").exists()


def test_psf_grid_with_psf_model_free_keeps_each_regions_kernel(rotated):
    folder, _ = rotated
    result = _run(folder / "y.npy", "-o", folder / "free.npy", "--psf-grid", "1x2",
                  "--psf-size", "7", "--psf-model", "free")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "PSF field 1x2 from free-form kernels per region, kernels 7x7" in result.output


def test_psf_grid_says_which_regions_it_doubts(tmp_path):
    """A field over a photograph whose right half is flat: that region's kernel cannot be
    estimated, and the command says so (a count in its summary line, a warning with what to
    try) and still restores."""
    x = data.camera()[::2, ::2][:192, :] / 255.0
    kernels = np.stack([[psf.motion(5, angle=0.0, size=7), psf.motion(5, angle=90.0, size=7)]])
    y = unblur.blur(x, psf.grid(kernels, x.shape))
    y[:, 128:] = 0.5
    np.save(tmp_path / "y.npy", np.clip(unblur.add_noise(y, gaussian=0.005, rng=0), 0, 1))
    result = _run(tmp_path / "y.npy", "-o", tmp_path / "out.npy", "--psf-grid", "1x2",
                  "--psf-size", "7", "--psf-model", "free", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        "unblur: warning: 1 of 2 regions of the PSF field have a kernel of low confidence; "
        "try a coarser --psf-grid" in result.output
    )
    summary = json.loads(result.output[result.output.index("{") :])
    estimate = summary["psf_estimate"]
    assert estimate["low_confidence_cells"] == 1
    assert estimate["cell_confidence"] == {"0,0": "high", "0,1": "low"}
    assert (tmp_path / "out.npy").exists()
