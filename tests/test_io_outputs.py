"""The output-safety rule (unblur.io.outputs) and atomic files (unblur.io.atomic).

Inputs are never overwritten, however they are spelled; folders are never replaced; a file
that appears during a run is not replaced without force; several outputs of one run are moved
into place together or not at all; temporary files are recognisable, removed on failure and on
SIGTERM, and swept by the next run when a killed one left them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from unblur.errors import ImageWriteError
from unblur.io import (
    OutputSet,
    atomic_write,
    check_outputs,
    same_file,
    sweep_temp_files,
    write_image,
)
from unblur.io import atomic as uatomic


def _files(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "k.npy").write_bytes(b"the psf")
    (tmp_path / "sub").mkdir()
    return tmp_path


@pytest.mark.parametrize(
    "spelling",
    [
        "k.npy",
        "./k.npy",
        "sub/../k.npy",
        "{abs}/k.npy",
        "link.npy",
        "hard.npy",
        "./sub/../link.npy",
    ],
)
def test_an_input_is_never_overwritten_whatever_its_spelling(folder, spelling):
    os.symlink("k.npy", "link.npy")
    os.link("k.npy", "hard.npy")
    target = spelling.format(abs=folder)
    for force in (False, True):
        with pytest.raises(ImageWriteError, match="refusing to overwrite the input") as err:
            write_image(target, np.zeros((4, 4)), inputs=["k.npy"], force=force)
        assert str(err.value).count("\n") == 0
    assert Path("k.npy").read_bytes() == b"the psf"
    assert _files(folder) == ["hard.npy", "k.npy", "link.npy", "sub"]
    assert same_file(target, "k.npy")


def test_an_output_inside_an_input_folder_is_refused(folder):
    (folder / "in.zarr").mkdir()
    with pytest.raises(ImageWriteError, match="refusing to overwrite the input"):
        check_outputs(["in.zarr/0.0"], inputs=["in.zarr"], force=True)


def test_a_folder_is_never_replaced(folder):
    (folder / "results.tif").mkdir()
    (folder / "results.tif" / "notes.txt").write_text("keep")
    for force in (False, True):
        with pytest.raises(ImageWriteError, match="unblur never removes a folder"):
            write_image("results.tif", np.zeros((4, 4)), force=force)
    assert (folder / "results.tif" / "notes.txt").read_text() == "keep"


def test_a_file_that_appears_during_the_run_is_not_replaced(folder):
    """The check at the start passes; the final move still refuses (link-then-rename)."""
    outputs = OutputSet(["out.png"])
    outputs.write("out.png", lambda fh: fh.write(b"new"))
    Path("out.png").write_bytes(b"made meanwhile")
    with outputs, pytest.raises(ImageWriteError, match="exists; use --force"):
        outputs.commit()
    assert Path("out.png").read_bytes() == b"made meanwhile"
    assert _files(folder) == ["k.npy", "out.png", "sub"]  # no temporary file left
    # with force it is replaced
    with OutputSet(["out.png"], force=True) as outputs:
        outputs.write("out.png", lambda fh: fh.write(b"new"))
        outputs.commit()
    assert Path("out.png").read_bytes() == b"new"


def test_a_folder_that_appears_during_the_run_is_not_replaced(folder):
    outputs = OutputSet(["out.npy"], force=True)
    outputs.write("out.npy", lambda fh: fh.write(b"new"))
    Path("out.npy").mkdir()
    with outputs, pytest.raises(ImageWriteError, match="never removes a folder"):
        outputs.commit()
    assert Path("out.npy").is_dir()
    assert _files(folder) == ["k.npy", "out.npy", "sub"]


def test_two_concurrent_runs_cannot_both_write_one_output(folder):
    first, second = OutputSet(["out.npy"]), OutputSet(["out.npy"])
    first.write("out.npy", lambda fh: fh.write(b"first"))
    second.write("out.npy", lambda fh: fh.write(b"second"))
    first.commit()
    with second, pytest.raises(ImageWriteError, match="exists"):
        second.commit()
    assert Path("out.npy").read_bytes() == b"first"


def test_outputs_move_into_place_together_or_not_at_all(folder):
    Path("image.png").write_bytes(b"old image")
    # the second artefact fails: the first, although ready, does not replace the old file
    with (
        pytest.raises(ImageWriteError, match="report failed"),
        OutputSet(["image.png", "report.html"], force=True) as out,
    ):
        out.write("image.png", lambda fh: fh.write(b"new image"))
        out.write("report.html", lambda fh: (_ for _ in ()).throw(RuntimeError("report failed")))
        out.commit()
    assert Path("image.png").read_bytes() == b"old image"
    assert _files(folder) == ["image.png", "k.npy", "sub"]
    # the second move fails (a file appeared): the first is put back as it was
    out = OutputSet(["new.png", "report.html"])
    out.write("new.png", lambda fh: fh.write(b"new"))
    out.write("report.html", lambda fh: fh.write(b"<html>"))
    Path("report.html").write_bytes(b"appeared")
    with out, pytest.raises(ImageWriteError, match="exists"):
        out.commit()
    assert not Path("new.png").exists()
    assert Path("report.html").read_bytes() == b"appeared"
    assert _files(folder) == ["image.png", "k.npy", "report.html", "sub"]


def test_forced_outputs_are_restored_when_a_later_move_fails(folder):
    Path("a.png").write_bytes(b"old a")
    out = OutputSet(["a.png", "b.png"], force=True)
    out.write("a.png", lambda fh: fh.write(b"new a"))
    out.write("b.png", lambda fh: fh.write(b"new b"))
    Path("b.png").mkdir()  # the second target becomes a folder meanwhile
    with out, pytest.raises(ImageWriteError, match="folder"):
        out.commit()
    assert Path("a.png").read_bytes() == b"old a"
    assert _files(folder) == ["a.png", "b.png", "k.npy", "sub"]


def test_temporary_names_are_recognisable_and_swept_when_their_process_is_gone(folder):
    target = folder / "out.npy"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    pid = int(dead.stdout)
    host = uatomic._host()
    stale = folder / f".out.npy.unblur-tmp-{host}-{pid}-0123abcd.npy"
    stale.write_bytes(b"x" * 1000)
    stale_zarr = folder / f".o.zarr.unblur-tmp-{host}-{pid}-89abcdef.zarr"
    stale_zarr.mkdir()
    (stale_zarr / "0.0").write_bytes(b"chunk")
    live = folder / f".out.npy.unblur-tmp-{host}-{os.getppid()}-0123abcd.npy"  # a live process
    live.write_bytes(b"in use")
    other_host = folder / f".out.npy.unblur-tmp-elsewhere-{pid}-0123abcd.npy"
    other_host.write_bytes(b"not ours")
    lookalike = folder / ".out.npy.unblur-tmp-notes.txt"
    lookalike.write_bytes(b"user file")
    assert sorted(p.name for p in sweep_temp_files(folder)) == sorted([stale.name, stale_zarr.name])
    assert not stale.exists() and not stale_zarr.exists()
    assert live.exists() and other_host.exists() and lookalike.exists()
    assert uatomic.temp_path(target).name.startswith(f".out.npy.unblur-tmp-{host}-{os.getpid()}-")


def test_a_failed_write_leaves_no_temporary_file(folder):
    def broken(fh):
        fh.write(b"partial")
        raise OSError(28, "No space left on device")

    with pytest.raises(ImageWriteError, match="No space left on device"):
        atomic_write("out.bin", broken)
    assert _files(folder) == ["k.npy", "sub"]


_SIGTERM_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from unblur.io import atomic_write, temp_files_removed_on_signals

    def writer(fh):
        fh.write(b"partial" * 1000)
        fh.flush()
        os.kill(os.getpid(), signal.SIGTERM)  # as `timeout` would, halfway through
        fh.write(b"never")

    with temp_files_removed_on_signals():
        atomic_write(sys.argv[1], writer)
    """
)


def test_sigterm_removes_the_temporary_file(tmp_path):
    out = tmp_path / "out.npy"
    run = subprocess.run([sys.executable, "-c", _SIGTERM_SCRIPT, str(out)], capture_output=True)
    assert run.returncode == 128 + signal.SIGTERM, run.stderr
    assert _files(tmp_path) == []
