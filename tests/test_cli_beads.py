"""``unblur psf BEADS --from-beads`` (issue 16, item 3's command line): the PSF measured from a
bead image, or with ``--grid`` a field of PSFs saved as ``.npy``, with the number of beads used
and the FWHM per axis printed. The bead images are synthetic and small (see
tests/test_psf_beads.py for the library's own, harder cases).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import invoke

from unblur import psf
from unblur.io import ImageInfo, read_image, write_image

TRUTH = psf.gaussian(1.5, size=15)


@pytest.fixture
def beads(tmp_path, monkeypatch):
    """16 beads of TRUTH (peaks 0.3-0.6, whole-pixel jitter) on a 160 x 160 background of 0.02
    with Poisson noise (2000 photons at 1), as beads.tif."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    image = np.full((160, 160), 0.02)
    for y in (25, 60, 100, 135):
        for x in (25, 60, 100, 135):
            cy, cx = y + rng.integers(-3, 4), x + rng.integers(-3, 4)
            image[cy - 7 : cy + 8, cx - 7 : cx + 8] += rng.uniform(0.3, 0.6) * TRUTH / TRUTH.max()
    write_image("beads.tif", (rng.poisson(image * 2000) / 2400).astype(np.float32))
    return tmp_path


def test_the_psf_measured_from_beads(beads):
    result = invoke("psf", "beads.tif", "-o", "measured.tif", "--from-beads")
    assert result.exit_code == 0, result.output
    k, info = read_image("measured.tif")
    assert info.dtype == "float64" and k.sum() == pytest.approx(1, abs=1e-5)
    width = psf.fwhm(TRUTH)[0]  # 3.54 px (pixel-integrated Gaussian of sigma 1.5)
    measured = psf.fwhm(k)
    assert measured == pytest.approx((width, width), abs=0.1)
    line = result.stdout.splitlines()[0]
    assert line == f"16 beads used of 16 found; FWHM (px): y {measured[0]:.2f}, x {measured[1]:.2f}"
    centre = tuple(n // 2 for n in k.shape)
    crop = k[centre[0] - 7 : centre[0] + 8, centre[1] - 7 : centre[1] + 8]
    assert np.abs(crop - TRUTH).max() < 0.05 * TRUTH.max()
    assert "wrote measured_preview.png (preview)" in result.stdout


def test_a_grid_gives_a_field_of_psfs_as_npy(beads):
    result = invoke("psf", "beads.tif", "-o", "field.npy", "--from-beads", "--grid", "2,2",
                    "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    field = np.load("field.npy")
    assert field.shape[:2] == (2, 2) and field.ndim == 4 and field.shape[2] == field.shape[3]
    np.testing.assert_allclose(field.sum(axis=(2, 3)), 1.0, atol=1e-12)
    summary = json.loads(result.stdout)
    assert summary["grid"] == [2, 2] and summary["n_beads"] == 16 and summary["preview"] is None
    assert np.sum(summary["beads_per_cell"]) == pytest.approx(16)  # hat-weighted counts
    for cell in field.reshape(4, *field.shape[2:]):
        assert psf.fwhm(cell) == pytest.approx(psf.fwhm(TRUTH), abs=0.2)


def test_a_stack_with_a_voxel_size_reports_the_fwhm_in_its_unit(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    truth = psf.gaussian((1.2, 1.0, 1.0), size=(9, 9, 9))
    image = np.full((21, 64, 64), 0.01)
    for y in (16, 48):
        for x in (16, 48):
            image[6:15, y - 4 : y + 5, x - 4 : x + 5] += 0.5 * truth / truth.max()
    image = np.random.default_rng(0).poisson(image * 4000) / 4000
    info = ImageInfo(None, "float32", image.shape, (0.0, 1.0), None, False, 21,
                     voxel_size=(0.3, 0.1, 0.1), voxel_unit="µm")  # fmt: skip
    write_image("stack.tif", image.astype(np.float32), info=info)
    result = invoke("psf", "stack.tif", "-o", "k.npy", "--from-beads", "--no-preview")
    assert result.exit_code == 0, result.output
    z, y, x = psf.fwhm(np.load("k.npy"))
    assert (z, y, x) == pytest.approx(psf.fwhm(truth), abs=0.1)
    assert result.stdout.splitlines()[0] == (
        f"4 beads used of 4 found; FWHM (px): z {z:.2f}, y {y:.2f}, x {x:.2f}; "
        f"FWHM (µm): z {0.3 * z:.3g}, y {0.1 * y:.3g}, x {0.1 * x:.3g}"
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["psf", "gaussian:sigma=1", "-o", "f.npy", "--grid", "2,2"], 2, "--grid goes with"),
        (["psf", "beads.tif", "-o", "f.npy", "--from-beads", "--grid", "2,x"], 2, "not GY,GX"),
        (["psf", "beads.tif", "-o", "f.npy", "--from-beads", "--grid", "2,2", "--preview",
          "p.png"], 2, "has no preview"),
        (["psf", "beads.tif", "-o", "f.tif", "--from-beads", "--grid", "2,2"], 1,
         "unblur: error: a PSF field (--grid) is saved as .npy"),
        (["psf", "flat.tif", "-o", "k.npy", "--from-beads"], 1, "unblur: error: no bead found"),
        (["psf", "rgb.png", "-o", "k.npy", "--from-beads"], 1, "is a colour image"),
    ],
)  # fmt: skip
def test_bead_command_errors(beads, args, code, message):
    write_image("flat.tif", np.full((64, 64), 0.5, np.float32))
    write_image("rgb.png", np.zeros((64, 64, 3)))
    result = invoke(*args)
    assert result.exit_code == code and message in result.stderr, result.output
    assert not any(p.suffix == ".npy" or p.name.startswith("f.") for p in beads.iterdir())
