"""``unblur deconvolve`` on many files (folders, patterns, processes) and block by block (Dask)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_error, invoke

import unblur
from unblur import psf
from unblur.io import read_image, write_image
from unblur.metrics import psnr

SPEC = "gaussian:sigma=1.5"
WIENER = ["-m", "wiener", "-p", "balance=0.01", "--boundary", "reflect"]


def assert_usage_error(result, fragment: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Usage: unblur" in result.stderr and fragment in result.stderr, result.stderr


@pytest.fixture(scope="module")
def blurred(camera) -> np.ndarray:
    """The 128 x 128 camera, blurred by a Gaussian (sigma 1.5) with 0.5% noise, float32."""
    y = unblur.blur(camera, psf.parse_spec(SPEC), boundary="reflect")
    return unblur.add_noise(y, gaussian=0.005, rng=0).astype(np.float32)


@pytest.fixture
def raw(tmp_path, blurred) -> Path:
    """A folder with a.npy (float32), b.png (16-bit) and c.png (corrupt)."""
    folder = tmp_path / "raw"
    folder.mkdir()
    np.save(folder / "a.npy", blurred)
    write_image(folder / "b.png", blurred[::-1], dtype="uint16")
    (folder / "c.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not an image" * 8)
    (folder / "notes.txt").write_text("not an image: skipped in a folder")
    return folder


def expected(path: Path) -> np.ndarray:
    image, _ = read_image(path)
    return unblur.deconvolve(image, psf.parse_spec(SPEC), "wiener", balance=0.01,
                             boundary="reflect")  # fmt: skip


# --------------------------------------------------------------------------------------------
# batches
# --------------------------------------------------------------------------------------------
def test_batch_in_processes_survives_a_corrupt_file(raw, tmp_path, camera, blurred):
    """End to end in a fresh process, 2 worker processes: 2 outputs, the failure listed, exit 1."""
    out = tmp_path / "restored"  # created
    before = {p.name: p.read_bytes() for p in raw.iterdir()}
    result = subprocess.run(
        [sys.executable, "-m", "unblur", "deconvolve", str(raw), "-o", str(out), "--psf", SPEC,
         *WIENER, "--jobs", "2"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "300"},
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a_unblur.npy", "b_unblur.png"]
    assert "2 of 3 files restored" in result.stdout  # the summary table
    row = next(line for line in result.stdout.splitlines() if "c.png" in line)
    assert "error" in row and "not a valid PNG" in result.stdout
    assert result.stderr.strip().splitlines() == ["unblur: error: 1 of 3 files failed: c.png"]
    assert {p.name: p.read_bytes() for p in raw.iterdir()} == before  # inputs untouched

    a = np.load(out / "a_unblur.npy")
    assert a.dtype == np.float32  # float32 in, float32 out
    np.testing.assert_allclose(a, expected(raw / "a.npy"), atol=1e-6)
    assert psnr(a, camera) > psnr(blurred, camera) + 2.0  # about 26 -> 29 dB
    b, info = read_image(out / "b_unblur.png")
    assert info.dtype == "uint16"  # the input's bit depth
    np.testing.assert_allclose(b, np.clip(expected(raw / "b.png"), 0, 1), atol=1 / 65535)


def test_glob_blind_json(raw, tmp_path):
    """A quoted pattern, no --psf (one PSF estimated per file), --format and --suffix, --json."""
    out = tmp_path / "out"
    result = invoke("deconvolve", raw / "[ab].*", "-o", out, "--format", "npy", "--suffix", "_r",
                    "--psf-model", "gaussian", "--jobs", 1, "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)  # stdout is one JSON object
    assert (summary["ok"], summary["failed"], summary["jobs"]) == (2, 0, 1)
    rows = summary["files"]
    assert [Path(r["output"]).name for r in rows] == ["a_r.npy", "b_r.npy"]
    for row in rows:
        assert row["status"] == "ok" and row["method"] == "tv"  # auto on a small image
        estimate = row["psf_estimate"]
        assert estimate["model"] == "gaussian"
        assert abs(estimate["parameters"]["sigma"] - 1.5) < 0.15, estimate
        assert np.load(row["output"]).shape == (128, 128)
    # b.png held a flipped copy: its restoration is the flipped restoration of a (same PSF)
    a, b = (np.load(out / n) for n in ("a_r.npy", "b_r.npy"))
    assert b.dtype == np.float32
    assert psnr(b[::-1], a) > 35

    assert_error(invoke("deconvolve", raw / "*.tif", "-o", out), "no image file matches")


def test_folder_and_several_files(raw, tmp_path):
    out = tmp_path / "out"
    np.save(raw / "psf.npy", psf.parse_spec(SPEC))  # the PSF file is not one of the images
    result = invoke("deconvolve", raw / "*.npy", "-o", out, "--psf", raw / "psf.npy", *WIENER)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["a_unblur.npy"]
    (raw / "psf.npy").unlink()
    result = invoke("deconvolve", raw / "a.npy", raw / "b.png", "-o", out, "--psf", SPEC,
                    *WIENER, "--jobs", 1, "--force")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 of 2 files restored" in result.stdout
    np.testing.assert_allclose(np.load(out / "a_unblur.npy"), expected(raw / "a.npy"), atol=1e-6)

    # outputs that exist stop the batch before any work; --force replaces them
    (raw / "c.png").unlink()
    assert_error(invoke("deconvolve", raw, "-o", out, "--psf", SPEC), "exists; use --force")
    result = invoke("deconvolve", raw, "-o", out, "--psf", SPEC, *WIENER, "--force", "--json",
                    "-j", 1)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"] == 2


def test_batch_errors(raw, tmp_path):
    (tmp_path / "file.png").write_bytes(b"x")
    two = [raw / "a.npy", raw / "b.png"]
    assert_error(invoke("deconvolve", *two, "-o", tmp_path / "file.png"), "is a file")
    assert_error(invoke("deconvolve", *two, "-o", tmp_path / "new.png"), "names a folder")
    assert_error(invoke("deconvolve", raw / "*.jpg", "-o", tmp_path / "o"), "no image file")
    (tmp_path / "empty").mkdir()
    assert_error(invoke("deconvolve", tmp_path / "empty", "-o", tmp_path / "o"), "no image files")
    np.save(tmp_path / "b.npy", np.zeros((8, 8)))  # b.png and b.npy -> the same b_unblur.npy
    assert_error(
        invoke("deconvolve", raw / "b.png", tmp_path / "b.npy", "-o", tmp_path / "o",
               "--format", "npy"),
        "two outputs are the same file",
    )  # fmt: skip
    assert_error(  # outputs beside the inputs, no suffix: would overwrite them
        invoke("deconvolve", raw / "a.npy", raw / "b.png", "-o", raw, "--suffix", ""),
        "refusing to overwrite the input",
    )
    assert_error(invoke("deconvolve", *two, "-o", tmp_path / "o", "-m", "nope"), "unknown method")
    assert_usage_error(
        invoke("deconvolve", *two, "-o", tmp_path / "o", "--report", tmp_path / "r.html"),
        "--report works with one input",
    )
    assert_usage_error(
        invoke("deconvolve", *two, "-o", tmp_path / "o", "--chunks", 64), "--chunks works with one"
    )
    assert_usage_error(invoke("deconvolve", *two, "-o", tmp_path / "o", "--jobs", 0), "--jobs")
    assert_error(invoke("deconvolve", raw / "a.npy", "-o", tmp_path / "empty"), "is a folder")
    np.save(tmp_path / "empty" / "psf.npy", psf.disk(1))
    assert_error(
        invoke("deconvolve", tmp_path / "empty", "-o", tmp_path / "o", "--psf",
               tmp_path / "empty" / "psf.npy"),
        "nothing to restore",
    )  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.npy", "empty", "file.png", "raw"]


# --------------------------------------------------------------------------------------------
# block by block (Dask)
# --------------------------------------------------------------------------------------------
def test_chunks_match_the_whole_image_away_from_the_border(tmp_path, blurred):
    np.save(tmp_path / "y.npy", blurred)
    result = invoke("deconvolve", tmp_path / "y.npy", "-o", tmp_path / "blocks.npy", "--psf",
                    SPEC, *WIENER, "--chunks", 64, "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["blocks"] == 4 and summary["chunks"] == [64, 64]
    assert summary["method"] == "wiener" and summary["parameters"]["balance"] == 0.01
    assert summary["overlap"] == [18, 18]  # default: 3 PSF half-widths (13 x 13 PSF)
    result = invoke("deconvolve", tmp_path / "y.npy", "-o", tmp_path / "whole.npy", "--psf",
                    SPEC, *WIENER)  # fmt: skip
    assert result.exit_code == 0, result.output
    blocks, whole = np.load(tmp_path / "blocks.npy"), np.load(tmp_path / "whole.npy")
    assert blocks.dtype == whole.dtype == np.float32
    inner = (slice(18, -18),) * 2
    assert np.abs(blocks - whole)[inner].max() < 1e-3
    assert np.abs(blocks - whole).max() < 0.1  # the border differs only by its boundary model

    # a .zarr input goes block by block by itself, without --chunks
    import unblur.dask

    unblur.dask.to_file(blurred, tmp_path / "y.zarr")
    result = invoke("deconvolve", tmp_path / "y.zarr", "-o", tmp_path / "z.npy", "--psf", SPEC,
                    *WIENER, "--overlap", 20)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1 blocks" in result.stdout
    np.testing.assert_allclose(np.load(tmp_path / "z.npy"), whole, atol=1e-5)

    assert_error(
        invoke("deconvolve", tmp_path / "y.npy", "-o", tmp_path / "b.png", "--psf", SPEC,
               "--chunks", 64),
        "block by block",
    )  # fmt: skip
    assert_usage_error(
        invoke("deconvolve", tmp_path / "y.npy", "-o", tmp_path / "b.npy", "--psf", SPEC,
               "--chunks", 64, "--dtype", "uint8"),
        "not available block by block",
    )  # fmt: skip


def test_chunks_line_without_parameters_ends_cleanly(tmp_path, blurred):
    # wiener with its automatic balance reports no parameter block by block: no dangling "; "
    np.save(tmp_path / "y.npy", blurred)
    result = invoke("deconvolve", tmp_path / "y.npy", "-o", tmp_path / "b.npy", "--psf", SPEC,
                    "-m", "wiener", "--chunks", 64)  # fmt: skip
    assert result.exit_code == 0, result.output
    line = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"wrote .*b\.npy \(method wiener, 4 blocks, \d+\.\d\d s\)", line), line


def test_chunks_without_dask_is_a_clear_error(tmp_path, monkeypatch, blurred):
    np.save(tmp_path / "y.npy", blurred)
    monkeypatch.setitem(sys.modules, "dask", None)  # import dask -> ImportError
    monkeypatch.setitem(sys.modules, "dask.array", None)
    result = invoke("deconvolve", tmp_path / "y.npy", "-o", tmp_path / "r.npy", "--psf", SPEC,
                    "--chunks", 64)  # fmt: skip
    assert_error(result, "need Dask, which is not installed: pip install 'unblur[dask]'")
    assert not (tmp_path / "r.npy").exists()
