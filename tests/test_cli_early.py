"""Fail before the work (issue 20, item 1): every check that needs no result runs before any
file is decoded, any PSF is estimated and any image is restored.

Each test replaces the work (decoding, estimation, restoration, blurring, the block-by-block
run) with a function that fails the test if it is called, then gives an output that cannot be
written: the command must end with its one-line error all the same. Before issue 20,
``-o x.xyz`` failed after the whole restoration (14.6 s on the README's example).
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_error, invoke

import unblur

SPEC = "gaussian:sigma=2"


@pytest.fixture
def no_work(tmp_path, monkeypatch) -> Path:
    """Images in the current folder; decoding, estimation, restoration and measuring a PSF
    from beads fail the test."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    image = rng.random((40, 48)).astype(np.float32)
    np.save("a.npy", image)
    unblur.io.write_image("a.png", image)
    unblur.io.write_image("rgba.png", rng.random((40, 48, 4)))
    unblur.io.write_image("stack.tif", rng.random((3, 40, 48)).astype(np.float32))
    np.save("sharp.npy", rng.random((30, 30)))
    (tmp_path / "batch").mkdir()
    for name in ("b1.png", "b2.png"):
        unblur.io.write_image(tmp_path / "batch" / name, image)

    def forbidden(*args, **kwargs):
        pytest.fail("the work started before the checks that need no result")

    # modules that bind these functions at import (`from ..api import deconvolve`) are
    # imported first, so that importing one during this test cannot keep the stand-in
    for module in ("unblur.dask", "unblur.psf", "unblur.report", "unblur.blind"):
        importlib.import_module(module)

    for target in (
        "unblur.io.read_image",
        "unblur.api.deconvolve",
        "unblur.blind.estimate_psf",
        "unblur.forward.blur",
        "unblur.dask.deconvolve_file",
        "unblur.psf.from_beads",
    ):
        monkeypatch.setattr(target, forbidden)
    return tmp_path


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        # one image, PSF given and blind
        (["deconvolve", "a.png", "-o", "/nonexistent/x.png", "--psf", SPEC], "does not exist"),
        (["deconvolve", "a.png", "-o", "x.xyz", "--psf", SPEC], "unsupported file type '.xyz'"),
        (["deconvolve", "a.png", "-o", "x.xyz"], "unsupported file type '.xyz'"),
        (["deconvolve", "a.png", "-o", "x.jpg", "--dtype", "uint16", "--psf", SPEC],
         "JPEG cannot store uint16"),
        (["deconvolve", "rgba.png", "-o", "x.jpg", "--psf", SPEC], "cannot store an alpha"),
        (["deconvolve", "stack.tif", "-o", "x.png", "--psf", "gaussian:sigma=1x1x1"],
         "a stack of 3 pages"),
        (["deconvolve", "a.png", "-o", "x.png", "--psf", SPEC, "--report", "/nonexistent/r.html"],
         "does not exist"),
        (["deconvolve", "a.png", "-o", "x.png", "--psf", SPEC, "--report", "r.html",
          "--reference", "sharp.npy"], "the reference 'sharp.npy' is 30x30"),
        (["deconvolve", "a.png", "-o", "x.png", "--report", "r.html", "--reference", "sharp.npy"],
         "the reference 'sharp.npy' is 30x30"),
        (["deconvolve", "a.png", "-o", "a.npy", "--psf", SPEC], "exists; use --force"),
        (["deconvolve", "a.png", "-o", "x.png", "-m", "nope", "--psf", SPEC], "unknown method"),
        (["deconvolve", "a.png", "-o", "x.png", "--save-psf", "k.xyz"], "unsupported file type"),
        (["deconvolve", "a.png", "-o", "x.png", "--save-psf", "/nonexistent/k.npy"],
         "does not exist"),
        # a batch
        (["deconvolve", "batch", "-o", "out", "--format", "png", "--dtype", "float32", "--psf",
          SPEC, "--jobs", "1"], "PNG cannot store float32"),
        # block by block
        (["deconvolve", "a.npy", "-o", "x.png", "--psf", SPEC, "--chunks", "16"],
         "block by block"),
        (["deconvolve", "a.npy", "-o", "/nonexistent/x.npy", "--psf", SPEC, "--chunks", "16"],
         "does not exist"),
        # the other commands
        (["blur", "a.png", "-o", "x.xyz", "--psf", SPEC], "unsupported file type"),
        (["blur", "a.png", "-o", "x.jpg", "--dtype", "float32", "--psf", SPEC],
         "JPEG cannot store float32"),
        (["psf", SPEC, "-o", "k.xyz"], "unsupported file type"),
        (["psf", SPEC, "-o", "k.npy", "--preview", "p.xyz"], "unsupported file type"),
        (["estimate-psf", "a.png", "-o", "k.xyz"], "unsupported file type"),
        (["psf", "a.png", "-o", "k.xyz", "--from-beads"], "unsupported file type"),
        (["psf", "a.png", "-o", "k.tif", "--from-beads", "--grid", "2,2"], "saved as .npy"),
        (["estimate-psf", "a.png", "-o", "/nonexistent/k.npy"], "does not exist"),
    ],
)  # fmt: skip
def test_an_output_that_cannot_be_written_fails_before_the_work(no_work, args, fragment):
    before = sorted(p.name for p in no_work.rglob("*"))
    assert_error(invoke(*args), fragment)
    assert sorted(p.name for p in no_work.rglob("*")) == before  # nothing made, not even out/


def test_a_batch_file_whose_output_cannot_hold_it_fails_before_any_file_is_restored(no_work):
    """A stack in a batch to PNG: its row fails from its header, before the work starts (the
    restoration is forbidden here)."""
    result = invoke("deconvolve", "stack*.tif", "-o", "out", "--format", "png",
                    "--psf", "gaussian:sigma=1x1x1", "--jobs", "1", "--json")  # fmt: skip
    assert_error(result, "1 of 1 files failed: stack.tif")
    assert "a stack of 3 pages can only be saved as .tif" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["deconvolve", "a.png", "-o", "ro/x.png", "--psf", SPEC],
        ["deconvolve", "a.png", "-o", "ro/x.png"],
        ["deconvolve", "a.png", "-o", "x.png", "--psf", SPEC, "--report", "ro/r.html"],
        ["deconvolve", "a.npy", "-o", "ro/x.npy", "--psf", SPEC, "--chunks", "16"],
        ["deconvolve", "batch", "-o", "ro", "--psf", SPEC, "--jobs", "1"],
        ["blur", "a.png", "-o", "ro/x.png", "--psf", SPEC],
        ["psf", SPEC, "-o", "ro/k.npy"],
        ["psf", "a.png", "-o", "ro/k.npy", "--from-beads"],
        ["estimate-psf", "a.png", "-o", "ro/k.npy"],
    ],
)
def test_a_folder_that_is_not_writable_fails_before_the_work(no_work, monkeypatch, args):
    """A read-only folder (root may write anywhere, but not on a read-only file system: the
    test stands in for one by answering os.access for that folder)."""
    (no_work / "ro").mkdir()
    access = os.access

    def read_only(path, mode, **kwargs):
        if os.path.realpath(path) == str(no_work / "ro") and mode & os.W_OK:
            return False
        return access(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", read_only)
    assert_error(invoke(*args), "output folder 'ro' is not writable")
    assert list((no_work / "ro").iterdir()) == []


def test_commands_start_without_the_heavy_imports():
    """``import unblur`` and the command line load no restoration method, blind estimator
    or metric until a command needs one (scikit-image's metrics pull in scipy.stats)."""
    heavy = ["skimage.metrics", "scipy.stats", "scipy.signal", "numba", "unblur.blind",
             "unblur.restore", "unblur.metrics", "unblur.psf"]  # fmt: skip
    code = (
        "import sys, unblur, unblur.cli\n"
        f"print([m for m in {heavy!r} if m in sys.modules])\n"
        "print(sorted(set(unblur.__all__) - set(dir(unblur))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["[]", "[]"], out.stdout  # every name still listed
