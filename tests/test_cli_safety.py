"""Nothing lost, nothing run, nothing hangs (issue 19): each reproduction of the adversarial
pass over the command line, with the hostile files made here.

* never unpickle: a Zarr store whose chunks are pickles with a payload is refused from its
  metadata, the payload never runs;
* every input (image, PSF file, reference) is protected, whatever its spelling; an existing
  folder is never removed; chunked mode does not overwrite a file that appears during the
  run; a failed report leaves the old output in place;
* SIGTERM removes the temporary file; a temporary file that ``kill -9`` left is swept by the
  next run;
* one dead batch worker fails its own file only.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile
from conftest import assert_error, invoke

import unblur
from unblur import psf

SPEC = "gaussian:sigma=1"
FAST = ["-m", "inverse", "-p", "epsilon=0.01"]


def listing(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` with the bytes of files (None for folders)."""
    return {
        str(p.relative_to(folder)): (None if p.is_dir() else p.read_bytes())
        for p in sorted(folder.rglob("*"))
    }


@pytest.fixture
def files(tmp_path, monkeypatch) -> Path:
    """An image (a.npy, a.png), a PSF file (k.npy) and a reference, in the current folder."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    x = rng.random((48, 40)).astype(np.float32)
    k = psf.gaussian(1.0)
    y = unblur.blur(x, k).astype(np.float32)
    np.save("a.npy", y)
    unblur.io.write_image("a.png", y)
    np.save("k.npy", k)
    np.save("sharp.npy", x)
    return tmp_path


# --------------------------------------------------------------------------------------------
# 1. never unpickle
# --------------------------------------------------------------------------------------------
class _Payload:
    """Unpickling this creates the file ``PWNED``: proof that code from the file ran."""

    def __reduce__(self):
        return (open, (os.path.abspath("PWNED"), "w"))


def _evil_zarr(path: Path, dtype: str, **codecs) -> None:
    path.mkdir()
    meta = {
        "zarr_format": 2, "shape": [8, 8], "chunks": [8, 8], "dtype": dtype,
        "compressor": None, "fill_value": 0, "order": "C", "filters": None, **codecs,
    }  # fmt: skip
    (path / ".zarray").write_text(json.dumps(meta))
    (path / "0.0").write_bytes(pickle.dumps(np.array([_Payload()] * 64, dtype=object)))


@pytest.mark.parametrize(
    ("dtype", "codecs", "fragment"),
    [
        ("|O", {"filters": [{"id": "pickle", "protocol": 5}]}, "Zarr data of type '|O'"),
        ("<f4", {"compressor": {"id": "pickle"}}, "its codec 'pickle' decodes Python objects"),
        ("<f4", {"filters": [{"id": "pickle"}]}, "unblur never unpickles"),
        ([["a", "<f4"], ["b", "<i4"]], {}, "are not supported (plain numbers only)"),
    ],
)
def test_a_pickled_zarr_store_is_refused_before_any_chunk_is_read(files, dtype, codecs, fragment):
    _evil_zarr(files / "evil.zarr", dtype, **codecs)
    for extra in ([], ["--chunks", "4"]):
        result = invoke("deconvolve", "evil.zarr", "-o", "out.npy", "--psf", SPEC, *extra)
        assert_error(result, fragment)
        assert not (files / "PWNED").exists()
        assert not (files / "out.npy").exists()
    with pytest.raises(unblur.ImageReadError, match="cannot read 'evil.zarr'"):
        unblur.dask.from_file("evil.zarr")
    assert not (files / "PWNED").exists()


def test_a_structured_npy_is_refused_before_its_data_are_read(files):
    np.save("rec.npy", np.zeros((8, 8), dtype=[("a", "<f4"), ("b", "<i4")]))
    for extra in ([], ["--chunks", "4"]):
        result = invoke("deconvolve", "rec.npy", "-o", "out.npy", "--psf", SPEC, *extra)
        assert_error(result, "non-numeric data")


# --------------------------------------------------------------------------------------------
# 2-4, 6. outputs: inputs protected, folders kept, no clobbering, all artefacts or none
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["deconvolve", "a.png", "-o", "k.npy", "--psf", "k.npy", "--force"],
        ["deconvolve", "a.png", "-o", "./k.npy", "--psf", "k.npy", "--force"],
        ["deconvolve", "a.png", "-o", "k.npy", "--psf", "./sub/../k.npy", "--force"],
        ["deconvolve", "a.png", "-o", "link.npy", "--psf", "k.npy", "--force"],
        ["deconvolve", "a.png", "-o", "hard.npy", "--psf", "k.npy", "--force"],
        ["deconvolve", "a.npy", "-o", "k.npy", "--psf", "k.npy", "--chunks", "16", "--force"],
        [
            "deconvolve",
            "a.png",
            "-o",
            "o.png",
            "--psf",
            SPEC,
            "--report",
            "sharp.npy",
            "--reference",
            "sharp.npy",
            "--force",
        ],
        ["blur", "a.png", "-o", "k.npy", "--psf", "k.npy", "--force"],
        ["psf", "k.npy", "-o", "k.npy", "--force"],
        ["psf", "k.npy", "-o", "k2.npy", "--preview", "k.npy", "--force"],
        ["estimate-psf", "a.png", "-o", "a.png", "--force"],
    ],
)
def test_every_input_is_protected_even_with_force(files, args):
    (files / "sub").mkdir()
    os.symlink("k.npy", "link.npy")
    os.link("k.npy", "hard.npy")
    before = listing(files)
    result = invoke(*args)
    assert result.exit_code in (1, 2), result.output
    if result.exit_code == 1:
        assert_error(result, "")
    assert listing(files) == before


def test_batch_with_a_suffix_never_overwrites_the_psf_file(files):
    """The output of raw/a.npy with --suffix _x is raw/a_x.npy: the PSF file here."""
    (files / "raw").mkdir()
    np.save("raw/a.npy", np.load("a.npy"))
    np.save("raw/b.npy", np.load("a.npy"))
    np.save("raw/a_x.npy", psf.gaussian(1.0))
    before = listing(files)
    for jobs in ("1", "2"):
        args = ["raw/a.npy", "raw/b.npy", "-o", "raw", "--psf", "raw/a_x.npy", "--suffix", "_x"]
        result = invoke("deconvolve", *args, "--force", "--jobs", jobs, *FAST)
        assert_error(result, "refusing to overwrite the input 'raw/a_x.npy'")
    assert listing(files) == before


def test_chunked_force_never_removes_a_folder(files):
    """`-o store.zarr --force` used to remove the folder with the input and the PSF in it."""
    store = files / "store.zarr"
    store.mkdir()
    np.save(store / "img.npy", np.load("a.npy"))
    np.save(store / "k.npy", psf.gaussian(1.0))
    (files / "results.tif").mkdir()
    (files / "results.tif" / "notes.txt").write_text("my notes")
    before = listing(files)
    result = invoke("deconvolve", "store.zarr/img.npy", "-o", "store.zarr",
                    "--psf", "store.zarr/k.npy", "--chunks", "16", "--force", *FAST)  # fmt: skip
    assert_error(result, "store.zarr")
    for extra in ([], ["--chunks", "16"]):
        result = invoke("deconvolve", "a.npy", "-o", "results.tif", "--psf", SPEC, "--force",
                        *FAST, *extra)  # fmt: skip
        assert_error(result, "folder")
    assert listing(files) == before


def test_chunked_mode_does_not_replace_a_file_that_appears_during_the_run(files):
    import unblur.dask as ud

    def make_competitor(done, total):
        if done == 1:
            Path("out.npy").write_bytes(b"another run's result")

    with pytest.raises(unblur.ImageWriteError, match="exists"):
        ud.deconvolve_file("a.npy", "out.npy", psf.gaussian(1.0), "inverse", epsilon=0.01,
                           chunks=16, progress=make_competitor)  # fmt: skip
    assert Path("out.npy").read_bytes() == b"another run's result"
    assert sorted(p.name for p in files.iterdir()) == sorted(
        ["a.npy", "a.png", "k.npy", "sharp.npy", "out.npy"]
    )


def test_a_failed_report_leaves_the_old_output_in_place(files, monkeypatch):
    import unblur.report

    Path("out.png").write_bytes(b"the user's old result")

    def failing_report(*args, **kwargs):
        raise unblur.ImageWriteError("cannot write the report: disk full")

    monkeypatch.setattr(unblur.report, "write_report", failing_report)
    result = invoke("deconvolve", "a.png", "-o", "out.png", "--psf", SPEC, "--report",
                    "r.html", "--force", *FAST)  # fmt: skip
    assert_error(result, "disk full")
    assert Path("out.png").read_bytes() == b"the user's old result"
    assert not Path("r.html").exists()
    assert not [p for p in files.iterdir() if "unblur-tmp" in p.name]


def test_a_failed_preview_leaves_the_old_psf_in_place(files, monkeypatch):
    import unblur.report

    Path("new.npy").write_bytes(b"old psf file")
    monkeypatch.setattr(unblur.report, "psf_preview", lambda k: np.full((8, 8), np.nan))
    result = invoke("psf", "gaussian:sigma=2", "-o", "new.npy", "--force")
    assert_error(result, "NaN")
    assert Path("new.npy").read_bytes() == b"old psf file"
    assert not Path("new_preview.png").exists()


# --------------------------------------------------------------------------------------------
# 9. leftovers: SIGTERM and kill -9 of a chunked run
# --------------------------------------------------------------------------------------------
def _start_chunked_run(folder: Path) -> subprocess.Popen:
    """A chunked run slow enough to be caught writing (Richardson-Lucy, many blocks)."""
    rng = np.random.default_rng(1)
    np.save(folder / "big.npy", rng.random((512, 512)).astype(np.float32))
    args = [sys.executable, "-m", "unblur", "--workers", "1", "deconvolve", "big.npy", "-o",
            "out.npy", "--psf", "gaussian:sigma=2", "--chunks", "64", "-m", "richardson_lucy",
            "-p", "num_iter=400"]  # fmt: skip
    # Ctrl-C at its default in the child: a child started with SIGINT ignored (a disposition
    # inherited from the process that runs the tests) keeps ignoring it, as Unix intends
    return subprocess.Popen(
        args, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip


def _wait_for_temp(folder: Path, run: subprocess.Popen, seconds: float = 60) -> Path:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [p for p in folder.iterdir() if ".unblur-tmp-" in p.name]
        if found:
            return found[0]
        assert run.poll() is None, run.communicate()
        time.sleep(0.02)
    run.kill()
    pytest.fail("the chunked run never started writing")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_chunked_run_leaves_no_temporary_file(tmp_path, signum):
    run = _start_chunked_run(tmp_path)
    temp = _wait_for_temp(tmp_path, run)
    assert temp.name.startswith(".out.npy.unblur-tmp-")
    run.send_signal(signum)
    _, stderr = run.communicate(timeout=60)
    assert run.returncode != 0, (signal.getsignal(signal.SIGINT), stderr)
    assert b"Traceback" not in stderr, stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.npy"]


def test_what_kill_9_left_is_swept_by_the_next_run(tmp_path):
    run = _start_chunked_run(tmp_path)
    temp = _wait_for_temp(tmp_path, run)
    run.kill()
    run.communicate(timeout=60)
    assert temp.exists()  # nothing could remove it
    result = subprocess.run(
        [sys.executable, "-m", "unblur", "psf", SPEC, "-o", "k.npy", "--no-preview"],
        cwd=tmp_path, capture_output=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.npy", "k.npy"]


# --------------------------------------------------------------------------------------------
# 5. one dead batch worker
# --------------------------------------------------------------------------------------------
def test_one_dead_batch_worker_fails_its_own_file_only(files, monkeypatch):
    """`--jobs 2` over 8 files, the worker of one file killed: 7 of 8 restored."""
    import multiprocessing

    import unblur.cli.batch as batch

    (files / "raw").mkdir()
    for i in range(8):
        np.save(files / "raw" / f"f{i}.npy", np.load("a.npy"))
    real = batch._run_job

    def run_or_die(job):
        if job.source.name == "f2.npy":
            os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer would
        return real(job)

    # fork, so that the workers run this test's job function
    monkeypatch.setattr(batch, "_run_job", run_or_die)
    monkeypatch.setattr(batch, "_pool_context", lambda: multiprocessing.get_context("fork"))
    result = invoke("deconvolve", "raw", "-o", "out", "--psf", SPEC, "--jobs", "2", "--json",
                    *FAST)  # fmt: skip
    assert_error(result, "1 of 8 files failed: f2.npy")
    report = json.loads(result.stdout)
    assert report["ok"] == 7 and report["failed"] == 1
    (dead,) = [row for row in report["files"] if row["status"] == "error"]
    assert dead["input"].endswith("f2.npy")
    assert "its worker process died (killed by SIGKILL" in dead["message"]
    assert sorted(p.name for p in (files / "out").iterdir()) == [
        f"f{i}_unblur.npy" for i in range(8) if i != 2
    ]


def test_the_pool_replaces_dead_workers_and_keeps_order(tmp_path):
    import multiprocessing

    from unblur.cli._pool import death_message, run_pool

    results: dict[int, object] = {}
    run_pool(
        _square_or_die,
        list(range(10)),
        3,
        multiprocessing.get_context("forkserver"),
        on_result=results.__setitem__,
        on_death=lambda i, code: f"died: {death_message(code)}",
    )
    assert results == {i: ("died: killed by SIGKILL" if i in (3, 7) else i * i) for i in range(10)}


def _square_or_die(i: int) -> int:
    if i in (3, 7):
        os.kill(os.getpid(), signal.SIGKILL)
    return i * i


# --------------------------------------------------------------------------------------------
# 8, 11. one clear line for what used to be "unexpected ..." or unclear
# --------------------------------------------------------------------------------------------
def test_chunked_mode_refuses_cmyk_as_single_mode_does(files):
    tifffile.imwrite("cmyk.tif", np.zeros((16, 16, 4), np.uint8), photometric="separated")
    for extra in ([], ["--chunks", "8"]):
        result = invoke("deconvolve", "cmyk.tif", "-o", "out.tif", "--psf", SPEC, *extra)
        assert_error(result, "CMYK TIFF images are not supported; convert to RGB first")


def test_a_corrupt_exif_block_is_read_quietly(files):
    """A JPEG whose EXIF block is garbage: no Pillow warnings on a successful run."""
    import imageio.v3 as iio

    iio.imwrite("photo.jpg", (np.load("a.npy") * 255).astype(np.uint8))
    data = Path("photo.jpg").read_bytes()
    exif = b"Exif\x00\x00" + b"MM\x00\x2a\x00\x00\x00\x08" + b"\xff" * 40
    segment = b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif
    Path("bad_exif.jpg").write_bytes(data[:2] + segment + data[2:])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = invoke("deconvolve", "bad_exif.jpg", "-o", "out.png", "--psf", SPEC, *FAST)
    assert result.exit_code == 0, result.output
    assert result.stderr == "", result.stderr
    assert [str(w.message) for w in caught] == []


def test_stacks_and_colour_read_from_npy_are_explained(files):
    """An animated GIF and a .npy of shape (N, 3, 3) used to get "pass channel_axis for colour
    images", which a command-line user cannot do."""
    import imageio.v3 as iio

    iio.imwrite("anim.gif", (np.random.default_rng(0).random((5, 40, 40)) * 255).astype(np.uint8))
    np.save("stack.npy", np.zeros((6, 3, 3), np.float32))
    result = invoke("deconvolve", "anim.gif", "-o", "out.tif", "--psf", SPEC)
    assert_error(result, "'anim.gif' is a stack of 5 pages of 40x40 with 3 colour channels, so the "
                 "PSF needs 3 axes (or 6 for a field of PSFs), but it has 2; give a 3-D PSF "
                 "file")  # fmt: skip
    result = invoke("deconvolve", "anim.gif", "-o", "out.tif")
    assert_error(result, "the PSF can be estimated for a single 2-D image only: give --psf")
    result = invoke("deconvolve", "stack.npy", "-o", "out.npy", "--psf", SPEC)
    assert_error(result, "'stack.npy' is a 6x3 image with 3 colour channels (a last axis of at "
                 "most 4 is read as colour channels)")  # fmt: skip
    assert not Path("out.tif").exists() and not Path("out.npy").exists()


def test_compare_is_exact_for_huge_values(files):
    """PSNR used to print inf (the truth is about -6000 dB) and SSIM nan."""
    x = np.load("a.npy").astype(np.float64)
    np.save("huge.npy", x * 1e300)
    np.save("huge2.npy", x * 0.9e300)
    result = invoke("compare", "huge2.npy", "huge.npy", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    expected = 20 * np.log10(1.0) - 10 * (np.log10(np.mean((0.1 * x) ** 2)) + 600)
    assert report["psnr"] == pytest.approx(expected, rel=1e-12)
    assert report["ssim"] is not None and 0 < report["ssim"] <= 1


def test_a_suffix_with_a_path_separator_is_a_usage_error(files):
    """`--suffix '/../x'` used to end in "unexpected AttributeError"."""
    (files / "raw").mkdir()
    np.save("raw/a.npy", np.load("a.npy"))
    np.save("raw/b.npy", np.load("a.npy"))
    before = listing(files)
    result = invoke("deconvolve", "raw", "-o", "out", "--psf", SPEC, "--suffix", "/../x")
    assert result.exit_code == 2, result.output
    assert "Invalid value for --suffix: '/../x' must not contain a path separator" in result.stderr
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr
    assert listing(files) == before


def test_a_stopped_batch_leaves_no_worker_and_no_temporary_file(tmp_path):
    (tmp_path / "raw").mkdir()
    rng = np.random.default_rng(2)
    for i in range(4):
        np.save(tmp_path / "raw" / f"f{i}.npy", rng.random((256, 256)).astype(np.float32))
    pytest.importorskip("psutil")
    slow = ["-m", "richardson_lucy", "-p", "num_iter=5000", "--jobs", "2"]
    args = [sys.executable, "-m", "unblur", "deconvolve", "raw", "-o", "out", "--psf", SPEC, *slow]
    run = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    children: list[int] = []
    while time.monotonic() < deadline and len(children) < 2:  # the workers are busy
        children = _workers_of(run.pid)
        time.sleep(0.05)
    assert len(children) == 2
    run.send_signal(signal.SIGTERM)
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 128 + signal.SIGTERM, stderr
    assert stderr.decode().strip().endswith("unblur: error: stopped by SIGTERM")
    assert all(not _alive(pid) for pid in children)
    assert not [p for p in (tmp_path / "out").iterdir() if ".unblur-tmp-" in p.name]


def _workers_of(pid: int) -> list[int]:
    """The worker processes of the batch run ``pid``: the children of its fork server."""
    import psutil

    try:
        servers = [
            c for c in psutil.Process(pid).children() if "forkserver" in " ".join(c.cmdline())
        ]
        return [w.pid for server in servers for w in server.children()]
    except psutil.Error:
        return []


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@pytest.mark.parametrize("extra", [["--overlap", "100000"], ["--chunks", "99999999999999999999"]])
def test_oversized_chunks_and_overlaps_are_clamped_to_the_image(files, extra):
    """Both used to end in "unexpected ..."; an overlap or a block beyond the image adds
    nothing, so they are clamped to it and the result is the whole-image one."""
    chunks = [] if extra[0] == "--chunks" else ["--chunks", "16"]
    result = invoke("deconvolve", "a.npy", "-o", "out.npy", "--psf", SPEC, *FAST, *chunks, *extra)
    assert result.exit_code == 0, result.output
    whole = unblur.deconvolve(np.load("a.npy"), psf.gaussian(1.0), "inverse", epsilon=0.01,
                              boundary="reflect")  # fmt: skip
    np.testing.assert_allclose(np.load("out.npy"), whole, atol=1e-5)
