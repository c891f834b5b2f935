"""``unblur psf SPEC --field``: a grid of PSFs read, normalised, saved and previewed."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from unblur import psf
from unblur.cli import cli
from unblur.report import field_preview


@pytest.fixture
def kernels(tmp_path):
    k = np.stack([[psf.motion(11, angle=a + 10 * b, size=11) for a in (0, 30, 60)] for b in (0, 1)])
    path = tmp_path / "kernels.npy"
    np.save(path, 3.0 * k)  # not normalised
    return path, k


def test_field_is_saved_normalised_with_its_preview(tmp_path, kernels):
    source, k = kernels
    out = tmp_path / "field.npy"
    result = CliRunner().invoke(cli, ["psf", str(source), "--field", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "PSF field 2x3 cells of 11x11" in result.output
    saved = np.load(out)
    np.testing.assert_allclose(saved, k / k.sum(axis=(2, 3), keepdims=True), atol=1e-12)
    with Image.open(tmp_path / "field_preview.png") as img:
        preview = np.asarray(img)
    np.testing.assert_array_equal(preview, field_preview(saved))
    np.testing.assert_array_equal(np.load(source), 3.0 * k)  # the input is untouched


def test_field_json_and_no_preview(tmp_path, kernels):
    source, _ = kernels
    out = tmp_path / "f.npy"
    args = ["psf", str(source), "--field", "-o", str(out), "--no-preview", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["field"] is True and data["grid"] == [2, 3] and data["shape"] == [11, 11]
    assert data["preview"] is None and not (tmp_path / "f_preview.png").exists()


@pytest.mark.parametrize(
    ("array", "output", "fragment"),
    [
        (np.ones((5, 5)), "f.npy", "--field needs an array of shape (gy, gx, ky, kx)"),
        (np.ones((2, 2, 3, 3)), "f.png", "a PSF field is saved as .npy, not 'f.png'"),
        (np.zeros((2, 2, 3, 3)), "f.npy", "PSF of cell (0, 0)"),
    ],
)
def test_field_errors_are_one_line(tmp_path, array, output, fragment):
    source = tmp_path / "in.npy"
    np.save(source, array)
    result = CliRunner().invoke(cli, ["psf", str(source), "--field", "-o", str(tmp_path / output)])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment in lines[0], result.output
    assert not (tmp_path / output).exists()
