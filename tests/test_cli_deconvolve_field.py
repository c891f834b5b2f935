"""``unblur deconvolve --psf FIELD.npy``: a file of PSFs on a grid restores with the field."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from skimage import data

import unblur
from unblur import psf
from unblur.cli import cli
from unblur.metrics import psnr


@pytest.fixture
def problem(tmp_path):
    """A 96 x 96 photograph blurred by a 1 x 2 field: a sharp PSF left, a wide one right."""
    x = data.camera()[::4, ::4][16:112, 16:112] / 255.0
    kernels = np.stack([[psf.gaussian(0.6, size=9), psf.gaussian(2.5, size=9)]])
    field = psf.grid(kernels, x.shape)
    y = unblur.add_noise(unblur.blur(x, field), gaussian=0.003, rng=0)
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "field.npy", 4.0 * kernels)  # not normalised: grid normalises each
    np.save(tmp_path / "centre.npy", psf.gaussian(1.55, size=9))
    return tmp_path, x, y


def _restore(folder, psf_file, *extra):
    out = folder / f"out_{psf_file.stem}{len(extra)}.npy"
    args = ["deconvolve", str(folder / "y.npy"), "-o", str(out), "--psf", str(psf_file), *extra]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return np.load(out)


def test_a_field_file_restores_better_than_one_psf(problem):
    folder, x, y = problem
    with_field = psnr(_restore(folder, folder / "field.npy"), x)
    with_centre = psnr(_restore(folder, folder / "centre.npy"), x)
    # measured: blurred 22.4, one middle PSF 16.2 (it over-sharpens the sharp half), field 27.2 dB
    assert with_field > with_centre + 1.0
    assert with_field > psnr(y, x) + 2.5


def test_a_field_file_restores_block_by_block(problem):
    folder, x, _ = problem
    whole = _restore(folder, folder / "field.npy")
    blocks = _restore(folder, folder / "field.npy", "--chunks", "64")
    assert psnr(blocks, x) > psnr(whole, x) - 0.3


def test_a_psf_file_with_the_wrong_number_of_axes_names_the_field_shape(problem):
    folder, _, _ = problem
    np.save(folder / "bad.npy", np.ones((3, 3, 3)))
    args = ["deconvolve", str(folder / "y.npy"), "-o", str(folder / "o.npy")]
    result = CliRunner().invoke(cli, [*args, "--psf", str(folder / "bad.npy")])
    assert result.exit_code == 1
    assert "the PSF needs 2 axes (or 4 for a field of PSFs), but it has 3" in result.output
    assert not (folder / "o.npy").exists()


def test_a_field_file_restores_a_folder(problem):
    """Batch mode reads --psf as single-image runs do: a field file is a field for each image
    (built over that image's own size)."""
    folder, x, y = problem
    inputs = folder / "in"
    inputs.mkdir()
    np.save(inputs / "a.npy", y)
    np.save(inputs / "b.npy", np.fliplr(y))  # the mirror image: blurred by the mirrored field
    out = folder / "out"
    args = ["deconvolve", str(inputs / "a.npy"), str(inputs / "b.npy"), "-o", str(out)]
    result = CliRunner().invoke(cli, [*args, "--psf", str(folder / "field.npy"), "-j", "1"])
    assert result.exit_code == 0, result.output
    restored = np.load(out / "a_unblur.npy")
    assert psnr(restored, x) > psnr(y, x) + 2.5
    np.testing.assert_allclose(restored, _restore(folder, folder / "field.npy"), atol=1e-6)
    # b was restored with the same field, not its mirror: worse than a, though still a field
    assert psnr(np.load(out / "b_unblur.npy"), np.fliplr(x)) < psnr(restored, x) - 1.0
