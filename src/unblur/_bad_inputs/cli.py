"""Command lines that must fail with one line, change no file and run no payload."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .files import (
    FILES,
    _animated_gif,
    _cmyk_tiff,
    _corrupt_zarr,
    _folder_of_notes,
    _good_png,
    _huge_zarr,
    _npy,
    _pickled_zarr,
    _sparse_npy,
    _store_with_inputs,
    _tiff_cut,
    _truncated,
    _with_psf_file,
)


@dataclass(frozen=True)
class CliCase:
    """``unblur ARGS`` (after ``prepare()`` in an empty current folder) must fail with one line."""

    description: str
    prepare: Callable[[], Path | None]
    args: Callable[[Path | None], list[str]]


def _deconvolve_file(make: Callable[[], Path]) -> CliCase:
    return CliCase(
        "",
        make,
        lambda p: ["deconvolve", str(p), "-o", "out.png", "--psf", "gaussian:sigma=1"],
    )


CLI_CASES: list[CliCase] = [
    *[
        CliCase(f"deconvolve: {what}", c.prepare, c.args)
        for what, make, _ in FILES
        for c in [_deconvolve_file(make)]
    ],
    CliCase(
        "deconvolve: bad --psf spec",
        _good_png,
        lambda p: ["deconvolve", str(p), "-o", "out.png", "--psf", "gaussian:sigma=x"],
    ),
    CliCase(
        "deconvolve: --psf file that is corrupt",
        lambda: _truncated("rgb.png", 0.5)(),
        lambda p: ["deconvolve", "rgb.png", "-o", "out.png", "--psf", str(p)],
    ),
    CliCase(
        "deconvolve: PSF larger than the image",
        _good_png,
        lambda p: ["deconvolve", str(p), "-o", "out.png", "--psf", "gaussian:sigma=20"],
    ),
    CliCase(
        "deconvolve: unknown method",
        _good_png,
        lambda p: [
            "deconvolve",
            str(p),
            "-o",
            "out.png",
            "--psf",
            "gaussian:sigma=1",
            "--method",
            "sharpen",
        ],
    ),
    CliCase(
        "deconvolve: unsupported output type",
        _good_png,
        lambda p: ["deconvolve", str(p), "-o", "out.xyz", "--psf", "gaussian:sigma=1"],
    ),
    CliCase(
        "deconvolve: output exists",
        lambda: (_good_png(), Path("out.png").write_bytes(b"x"))[0],
        lambda p: ["deconvolve", str(p), "-o", "out.png", "--psf", "gaussian:sigma=1"],
    ),
    CliCase(
        "deconvolve: Zarr store whose chunk is a pickle with a payload",
        _pickled_zarr,
        lambda p: ["deconvolve", str(p), "-o", "out.npy", "--psf", "gaussian:sigma=1"],
    ),
    CliCase(
        "deconvolve --chunks: truncated raw TIFF",
        _tiff_cut("raw.tif"),
        lambda p: [
            "deconvolve",
            str(p),
            "-o",
            "out.npy",
            "--psf",
            "gaussian:sigma=1",
            "--chunks",
            "32",
        ],
    ),
    CliCase(
        "deconvolve --chunks: truncated zlib TIFF",
        _tiff_cut("zlib.tif", compression="zlib", rowsperstrip=8),
        lambda p: [
            "deconvolve",
            str(p),
            "-o",
            "out.npy",
            "--psf",
            "gaussian:sigma=1",
            "--chunks",
            "32",
            "-m",
            "wiener",
        ],
    ),
    CliCase(
        "deconvolve --chunks: corrupt Zarr chunk",
        _corrupt_zarr,
        lambda p: [
            "deconvolve",
            str(p),
            "-o",
            "out.npy",
            "--psf",
            "gaussian:sigma=1",
            "-m",
            "wiener",
        ],
    ),
    CliCase(
        "deconvolve --chunks: Zarr declaring 10^7 x 10^7",
        _huge_zarr,
        lambda p: [
            "deconvolve",
            str(p),
            "-o",
            "out.zarr",
            "--psf",
            "gaussian:sigma=1",
            "--chunks",
            "64",
        ],
    ),
    CliCase(
        "deconvolve --chunks: CMYK TIFF",
        _cmyk_tiff,
        lambda p: [
            "deconvolve",
            str(p),
            "-o",
            "out.npy",
            "--psf",
            "gaussian:sigma=1",
            "--chunks",
            "32",
        ],
    ),
    CliCase(
        "deconvolve: 4000 x 4000 .npy, too large to restore in memory",
        _sparse_npy("large.npy", (4000, 4000)),
        lambda p: ["deconvolve", str(p), "-o", "out.npy", "--psf", "gaussian:sigma=1"],
    ),
    CliCase(
        "deconvolve: animated GIF with a 2-D PSF",
        _animated_gif,
        lambda p: ["deconvolve", str(p), "-o", "out.tif", "--psf", "gaussian:sigma=1"],
    ),
    CliCase(
        "deconvolve: animated GIF to a PNG output (refused from the header, before the work)",
        _animated_gif,
        lambda p: ["deconvolve", str(p), "-o", "out.png", "--psf", "gaussian:sigma=1x1x1"],
    ),
    CliCase(
        "deconvolve: .npy of shape (6, 3, 3)",
        _npy("stack.npy", np.zeros((6, 3, 3), np.float32)),
        lambda p: ["deconvolve", str(p), "-o", "out.npy", "--psf", "gaussian:sigma=1"],
    ),
    CliCase(
        "deconvolve --force: output is the --psf file",
        _with_psf_file,
        lambda p: ["deconvolve", str(p), "-o", "k.npy", "--psf", "k.npy", "--force"],
    ),
    CliCase(
        "deconvolve --force: output is ./ the --psf file",
        _with_psf_file,
        lambda p: ["deconvolve", str(p), "-o", "./k.npy", "--psf", "k.npy", "--force"],
    ),
    CliCase(
        "deconvolve --chunks --force: output is the folder holding the inputs",
        _store_with_inputs,
        lambda p: [
            "deconvolve",
            f"{p}/img.npy",
            "-o",
            str(p),
            "--psf",
            f"{p}/k.npy",
            "--chunks",
            "16",
            "--force",
        ],
    ),
    CliCase(
        "deconvolve --force: output is a folder of notes",
        _folder_of_notes,
        lambda p: [
            "deconvolve",
            str(p),
            "-o",
            "results.tif",
            "--psf",
            "gaussian:sigma=1",
            "--force",
        ],
    ),
    CliCase(
        "blur --force: output is the --psf file",
        _with_psf_file,
        lambda p: ["blur", str(p), "-o", "k.npy", "--psf", "k.npy", "--force"],
    ),
    CliCase(
        "psf: gaussian:sigma=1,size=30001",
        lambda: None,
        lambda p: ["psf", "gaussian:sigma=1,size=30001", "-o", "k.npy"],
    ),
    CliCase(
        "psf: gaussian:sigma=2,ndim=12",
        lambda: None,
        lambda p: ["psf", "gaussian:sigma=2,ndim=12", "-o", "k.npy"],
    ),
]
