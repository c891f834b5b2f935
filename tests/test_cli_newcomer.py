"""What a newcomer meets on the command line: warnings, odd --psf specs, odd files."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import tifffile
from PIL import Image

MESSAGE = (
    "unblur: warning: image has float values up to 900, above 1.5: unblur expects images on "
    "the [0, 1] scale (its automatic parameters assume it) and restores this one on its own "
    "scale. Divide it by its peak first (e.g. image / 255 for 8-bit data)."
)


def run_cli(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "unblur", *args], capture_output=True, text=True, cwd=cwd
    )


def test_a_warning_is_one_line_without_python_source(tmp_path):
    # before: Python's format, two lines naming click/decorators.py and its source line
    # ("return f(get_current_context(), *args, **kwargs)")
    image = np.linspace(0, 900, 32 * 32, dtype=np.float32).reshape(32, 32)
    tifffile.imwrite(tmp_path / "f.tif", image)
    for command in (
        ["deconvolve", "f.tif", "-o", "out.tif", "--psf", "gaussian:sigma=1", "-m", "wiener"],
        ["blur", "f.tif", "-o", "b.tif", "--psf", "gaussian:sigma=1"],
    ):
        result = run_cli(*command, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stderr.splitlines() == [MESSAGE]


def test_a_batch_warning_is_one_line_naming_its_file_with_jobs_too(tmp_path):
    # before: with --jobs 2 the workers printed Python's format ('.../multiprocessing/
    # process.py:108: ValueRangeWarning: ...'), and neither mode said which file it was about
    image = np.linspace(0, 900, 32 * 32, dtype=np.float32).reshape(32, 32)
    tifffile.imwrite(tmp_path / "f.tif", image)
    tifffile.imwrite(tmp_path / "g.tif", image)
    for jobs in ("1", "2"):
        result = run_cli(
            "deconvolve", "f.tif", "g.tif", "-o", f"out{jobs}", "--psf", "gaussian:sigma=1",
            "-m", "wiener", "--jobs", jobs, cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        warned = sorted(line for line in result.stderr.splitlines() if "warning" in line)
        body = MESSAGE.removeprefix("unblur: warning: ")
        assert warned == [f"unblur: warning: {n}: {body}" for n in ("f.tif", "g.tif")], jobs


def test_float_tiff_of_counts_to_png_says_it_saturates(tmp_path):
    # before: a float TIFF of counts (values up to 900) restored to PNG came out all white,
    # with only the reader's warning about the scale
    image = np.linspace(0, 900, 32 * 32, dtype=np.float32).reshape(32, 32)
    tifffile.imwrite(tmp_path / "f.tif", image)
    result = run_cli(
        "blur", "f.tif", "-o", "b.png", "--psf", "gaussian:sigma=1", "--boundary", "periodic",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        MESSAGE,
        "unblur: warning: 'b.png': 100.0% of the values are above 1.5 (up to 837.7) and are "
        "written as the maximum: a uint8 PNG holds values in [0, 1]; divide the image by its "
        "peak first, or write a float .tif or .npy to keep them",
    ]
    assert np.all(np.asarray(Image.open(tmp_path / "b.png")) == 255)  # as it says


def test_a_psf_spec_key_given_twice_is_refused(tmp_path):
    # before: 'gaussian:sigma=1,sigma=2' restored with sigma=2 without a word
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(tmp_path / "in.png")
    result = run_cli(
        "deconvolve", "in.png", "-o", "out.png", "--psf", "gaussian:sigma=1,Sigma=2",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "unblur: error: PSF spec 'gaussian:sigma=1,Sigma=2': 'sigma' is given twice"
    ]
    assert not (tmp_path / "out.png").exists()


def test_chunks_refuse_what_blocks_would_read_wrong(tmp_path):
    # before: --chunks read only the first of pages stored as separate images, and ignored
    # the Orientation tag that read_image applies (so the two modes disagreed)
    page = np.linspace(0, 255, 40 * 40).reshape(40, 40).astype(np.uint8)
    with tifffile.TiffWriter(tmp_path / "pages.tif") as tif:
        for _ in range(3):
            tif.write(page)
    tifffile.imwrite(tmp_path / "turned.tif", page, extratags=[(274, "H", 1, 6, True)])
    # a ZCYX hyperstack: read_image puts the channels last, blocks cannot (before: "PSF has 3
    # dimensions but the image has 4 spatial dimensions")
    stack = np.stack([np.stack([page, page])] * 3)  # (Z 3, C 2, Y, X)
    tifffile.imwrite(tmp_path / "zcyx.ome.tif", stack, metadata={"axes": "ZCYX"})
    expected = {
        "zcyx.ome.tif": "unblur: error: cannot read 'zcyx.ome.tif' block by block: its channels "
        "are stored before its rows (axes ZCYX); restore it without --chunks, or save it with "
        "the channels last",
        "pages.tif": "unblur: error: cannot read 'pages.tif' block by block: its pages are "
        "stored as separate images; restore it without --chunks, or save it as one stack",
        "turned.tif": "unblur: error: cannot read 'turned.tif' block by block: its "
        "Orientation tag (6) turns or mirrors it; restore it without --chunks, or save it "
        "upright",
    }
    for name, message in expected.items():
        result = run_cli(
            "deconvolve", name, "-o", "out.tif", "--psf", "gaussian:sigma=1", "--chunks", "32",
            "-m", "wiener", cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 1
        assert result.stderr.splitlines() == [message]
        assert not (tmp_path / "out.tif").exists()


def test_scientific_whole_numbers_are_integers_for_p(tmp_path):
    # before: '-p num_iter=1e2' -> "num_iter must be an integer >= 1, got 100.0"
    import json

    from unblur.cli._options import parse_param

    assert parse_param("num_iter=1e2") == ("num_iter", 100)
    assert parse_param("balance=1e-3") == ("balance", 0.001)
    assert parse_param("lam=2.0") == ("lam", 2.0)  # a float when written as one
    Image.fromarray((np.arange(32 * 32) % 251).reshape(32, 32).astype(np.uint8)).save(
        tmp_path / "in.png"
    )
    result = run_cli(
        "deconvolve", "in.png", "-o", "out.png", "--psf", "gaussian:sigma=1",
        "-m", "richardson_lucy", "-p", "num_iter=2e1", "--json", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["parameters"]["iterations"] == 20
