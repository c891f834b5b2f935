"""--force replaces files, never a device, a pipe or a socket (as it never replaces a folder)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from unblur.errors import ImageWriteError
from unblur.io import OutputSet, check_outputs, write_image

MESSAGE = (
    "refusing to replace 'pipe.png': it is not a regular file (a device, a pipe or a socket); "
    "choose another output"
)

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")


def _pipe(folder):
    os.mkfifo(folder / "pipe.png")
    return folder / "pipe.png"


def _still_a_pipe(path) -> bool:
    return stat.S_ISFIFO(os.lstat(path).st_mode)


def test_library_refuses_to_replace_a_pipe(tmp_path, monkeypatch):
    # before: write_image(..., force=True) replaced the pipe (or, as root, `-o /dev/full
    # --force` a device node) with an image file
    monkeypatch.chdir(tmp_path)
    pipe = _pipe(tmp_path)
    for call in (
        lambda: write_image("pipe.png", np.zeros((4, 4)), force=True),
        lambda: check_outputs(["pipe.png"], force=True),
    ):
        with pytest.raises(ImageWriteError) as err:
            call()
        assert str(err.value) == MESSAGE
    with pytest.raises(ImageWriteError) as err, OutputSet(["pipe.png"], force=True) as outs:
        outs.write("pipe.png", lambda fh: fh.write(b"x"))
        outs.commit()
    assert str(err.value) == MESSAGE
    assert _still_a_pipe(pipe) and os.listdir(tmp_path) == ["pipe.png"]


def test_cli_refuses_to_replace_a_pipe(tmp_path):
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(tmp_path / "in.png")
    pipe = _pipe(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "unblur", "deconvolve", "in.png", "-o", "pipe.png",
         "--psf", "gaussian:sigma=1", "--force"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"unblur: error: {MESSAGE}"]
    assert _still_a_pipe(pipe) and sorted(os.listdir(tmp_path)) == ["in.png", "pipe.png"]
