"""What a newcomer meets on the command line: warnings, odd --psf specs, odd files."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import tifffile

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
