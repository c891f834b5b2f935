"""``unblur deconvolve --encoding``: an sRGB photograph restored in linear light from the CLI.

The known truth is the photograph of ``test_api_encoding``: a sharp scene blurred in linear
light, sRGB-encoded, noisy and rounded to 8 bits, written as a PNG. With ``--encoding srgb``
the command must give the library's ``deconvolve(..., encoding="srgb")`` (to the 8-bit
rounding of the output), and come closer to the sharp scene than the default path.
"""

from __future__ import annotations

import json

import numpy as np
from conftest import invoke, psnr_clipped
from test_api_encoding import KERNEL, photograph

import unblur
from unblur.io import read_image, write_image

SPEC = "motion:length=11,angle=30"


def _files(tmp_path, camera):
    y, reference = photograph(camera, KERNEL)
    path = tmp_path / "shaken.png"
    write_image(path, y)
    return path, y, reference


def test_encoding_srgb_restores_in_linear_light_as_the_library_does(tmp_path, camera):
    path, y, reference = _files(tmp_path, camera)
    out_srgb, out_plain = tmp_path / "srgb.png", tmp_path / "plain.png"
    assert (
        invoke("deconvolve", path, "-o", out_srgb, "--psf", SPEC, "--encoding", "srgb").exit_code
        == 0
    )
    assert invoke("deconvolve", path, "-o", out_plain, "--psf", SPEC).exit_code == 0
    srgb, plain = read_image(out_srgb)[0], read_image(out_plain)[0]
    library = unblur.deconvolve(y, unblur.psf.parse_spec(SPEC), encoding="srgb")
    expected = np.round(np.clip(library, 0, 1) * 255) / 255
    assert np.max(np.abs(srgb - expected)) <= 1 / 255 + 1e-6
    assert psnr_clipped(srgb, reference) > psnr_clipped(plain, reference) + 3.0


def test_encoding_in_a_batch_gives_the_single_result(tmp_path, camera, monkeypatch):
    # both runs on the NumPy path: whether a run takes the compiled one depends on what the
    # process ran before (restore/_admm.py, _use_compiled), and float32 tv's two paths differ
    # by more than float32 rounding since its split state is bfloat16
    monkeypatch.setenv("UNBLUR_NO_NUMBA", "1")
    path, _, _ = _files(tmp_path, camera)
    other = tmp_path / "other.png"
    write_image(other, read_image(path)[0][::-1].copy(), dtype="uint8")
    single = tmp_path / "single.png"
    assert (
        invoke("deconvolve", path, "-o", single, "--psf", SPEC, "--encoding", "srgb").exit_code == 0
    )
    folder = tmp_path / "out"
    result = invoke("deconvolve", path, other, "-o", folder, "--psf", SPEC, "--encoding", "srgb")
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(
        read_image(folder / "shaken_unblur.png")[0], read_image(single)[0]
    )


def test_blind_encoding_linear_tells_the_estimator(tmp_path, camera):
    path, _, _ = _files(tmp_path, camera)
    result = invoke("deconvolve", path, "-o", tmp_path / "x.png", "--encoding", "linear", "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["psf_estimate"]["encoding"] == "linear"
    result = invoke("deconvolve", path, "-o", tmp_path / "y.png", "--json")
    assert json.loads(result.stdout)["psf_estimate"]["encoding"] == "srgb"


def test_blind_restores_an_8bit_photograph_in_linear_light_as_the_library_does(tmp_path, camera):
    """Without ``--psf`` the estimator takes the PNG's 8-bit values as sRGB and the restoration
    follows it into linear light: the library's ``deconvolve(y, "auto")`` on the same values,
    to the output's 8-bit rounding, and said on the summary line and in ``--json``."""
    path, y, _ = _files(tmp_path, camera)
    out = tmp_path / "x.png"
    result = invoke("deconvolve", path, "-o", out, "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["encoding"] == "srgb" and "linear light" in record["encoding_reason"]
    library = unblur.deconvolve(y, "auto")
    expected = np.round(np.clip(library, 0, 1) * 255) / 255
    np.testing.assert_allclose(read_image(out)[0], expected, atol=1.01 / 255)
    result = invoke("deconvolve", path, "-o", tmp_path / "z.png")
    assert result.exit_code == 0, result.output
    # a doubtful motion fit here, blended with the input: the summary line says so
    assert "(method tv in linear light at 0.5 strength, " in result.stdout
    given = invoke("deconvolve", path, "-o", tmp_path / "g.png", "--psf", SPEC)
    assert "(method tv, " in given.stdout  # a PSF given: the values as given


def test_encoding_block_by_block_restores_in_linear_light(tmp_path, camera):
    """``--chunks`` with ``--encoding srgb``: every block restored in linear light (the
    blocks' agreement with the whole image: ``test_dask``), said on the summary line and in
    ``--json``; not the encoded values' result."""
    path, _, _ = _files(tmp_path, camera)
    srgb, plain = tmp_path / "srgb.npy", tmp_path / "plain.npy"
    common = ("--psf", SPEC, "-m", "wiener", "-p", "balance=0.01", "--chunks", "64")
    result = invoke("deconvolve", path, "-o", srgb, *common, "--encoding", "srgb")
    assert result.exit_code == 0, result.output
    assert "(method wiener in linear light, 4 blocks" in result.stdout
    result = invoke("deconvolve", path, "-o", plain, *common, "--json")
    assert result.exit_code == 0 and "encoding" not in json.loads(result.stdout)
    assert np.abs(np.load(plain) - np.load(srgb)).max() > 0.05
