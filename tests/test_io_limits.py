"""Resource limits decided before allocation (issue 19, item 7): small files and PSF specs that
would eat memory are refused from their header or spec, with a message naming the way out,
and opening each of them stays under 200 MB of peak memory (the peak resident set, VmHWM, of a
separate process, measured by the kernel: no timing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tifffile

import unblur
from unblur.errors import ImageReadError, InvalidParameterError, InvalidPSFError
from unblur.io import ImageHeader, read_header, read_image, write_image
from unblur.io.limits import check_memory, format_bytes, memory_budget, restore_memory

#: the memory of the machine the bombs are opened on (a modest one): UNBLUR_MAX_MEMORY
BUDGET = "4G"
#: peak resident memory allowed while opening any bomb, in MB
PEAK_MB = 200


def _tiff_bomb(path: Path) -> None:
    """A valid 525 kB zlib TIFF of 22528 x 22528 zeros (507 MB decoded, 2 GB as floats)."""
    zeros = np.zeros((1024, 1024), np.uint8)
    tifffile.imwrite(path, (zeros for _ in range(22 * 22)), shape=(22528, 22528),
                     dtype=np.uint8, tile=(1024, 1024), compression="zlib")  # fmt: skip


def _png_bomb(path: Path) -> None:
    """A PNG header declaring 20000 x 20000 16-bit RGBA (3.2 GB decoded), a few bytes of data."""
    from unblur._bad_inputs import png_header_only

    path.write_bytes(png_header_only(20000, 20000, depth=16, colour=6))


def _npy_bomb(path: Path) -> None:
    """A 20000 x 20000 float32 .npy (1.6 GB, sparse on disk): fine to read, too big to restore
    in memory on this machine."""
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(
            fh, {"descr": "<f4", "fortran_order": False, "shape": (20000, 20000)}
        )
        fh.truncate(fh.tell() + 20000 * 20000 * 4)


def _zarr_bomb(path: Path) -> None:
    """A Zarr array declaring 10^7 x 10^7 pixels (400 TB as float32), no chunk written."""
    zarr = pytest.importorskip("zarr")
    zarr.create_array(str(path), shape=(10**7, 10**7), chunks=(1000, 1000), dtype="f4")


#: (command after `unblur`, fragment of its one-line error)
BOMBS = [
    (["deconvolve", "bomb.tif", "-o", "o.tif", "--psf", "gaussian:sigma=1"],
     "with --chunks"),
    (["deconvolve", "bomb.png", "-o", "o.png", "--psf", "gaussian:sigma=1"],
     "decoding it needs about"),
    (["deconvolve", "bomb.npy", "-o", "o.npy", "--psf", "gaussian:sigma=1", "-m", "wiener"],
     "restore it block by block with --chunks"),
    (["deconvolve", "bomb.zarr", "-o", "o.npy", "--psf", "gaussian:sigma=1"],
     "on disk"),
    (["deconvolve", "bomb.zarr", "-o", "o.zarr", "--psf", "gaussian:sigma=1", "--chunks", "64"],
     "give larger --chunks"),
    (["psf", "gaussian:sigma=1,size=30001", "-o", "k.npy"], "give a smaller size"),
    (["psf", "motion:length=1e8,size=5", "-o", "k.npy"], "length must be between 1 and"),
    (["psf", "widefield:na=1.4,wavelength=0.52,refractive_index=1.518,voxel_size=0.005x0.005",
      "-o", "k.npy"], "give a smaller shape or a coarser voxel_size"),
    (["psf", "gaussian:sigma=2,ndim=12", "-o", "k.npy"], "give a smaller size"),
]  # fmt: skip

_RUNNER = textwrap.dedent(
    """
    import json, resource, sys
    from click.testing import CliRunner
    from unblur.cli import cli

    def peak_mb():
        # VmHWM: the peak resident set of this process's own memory (ru_maxrss would also
        # count the parent's, inherited through fork/vfork and exec)
        try:
            with open("/proc/self/status") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    out = []
    for args in json.loads(sys.argv[1]):
        result = CliRunner().invoke(cli, args, prog_name="unblur")
        out.append({"code": result.exit_code, "stderr": result.stderr, "peak_mb": peak_mb()})
    print(json.dumps(out))
    """
)


def test_opening_each_bomb_stays_under_200_mb(tmp_path):
    _tiff_bomb(tmp_path / "bomb.tif")
    _png_bomb(tmp_path / "bomb.png")
    _npy_bomb(tmp_path / "bomb.npy")
    _zarr_bomb(tmp_path / "bomb.zarr")
    before = sorted(os.listdir(tmp_path))
    env = {**os.environ, "UNBLUR_MAX_MEMORY": BUDGET,
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path])}  # fmt: skip
    run = subprocess.run(
        [sys.executable, "-c", _RUNNER, json.dumps([args for args, _ in BOMBS])],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout)
    for (args, fragment), result in zip(BOMBS, results, strict=True):
        lines = result["stderr"].strip().splitlines()
        assert result["code"] == 1 and len(lines) == 1, (args, result)
        assert lines[0].startswith("unblur: error: ") and fragment in lines[0], (args, lines)
        assert "unexpected" not in lines[0]
        assert result["peak_mb"] < PEAK_MB, (args, result["peak_mb"])  # peak so far, rising
    assert sorted(os.listdir(tmp_path)) == before  # nothing written, no leftover


def test_the_tiff_bomb_is_refused_from_its_header_by_the_reader(tmp_path, monkeypatch):
    _tiff_bomb(tmp_path / "bomb.tif")
    header = read_header(tmp_path / "bomb.tif")  # with this machine's memory
    assert header == ImageHeader((22528, 22528), np.dtype(np.uint8), None, 1)
    monkeypatch.setenv("UNBLUR_MAX_MEMORY", "1G")
    with pytest.raises(ImageReadError, match=r"decoding it needs about 3\.0 GB of memory, but "
                       r"1\.1 GB is available \(UNBLUR_MAX_MEMORY\)"):  # fmt: skip
        read_image(tmp_path / "bomb.tif")


def test_memory_budget_and_messages(monkeypatch):
    monkeypatch.delenv("UNBLUR_MAX_MEMORY", raising=False)
    available = memory_budget()
    assert available > 10 * 2**20
    monkeypatch.setenv("UNBLUR_MAX_MEMORY", "512M")
    assert memory_budget() == min(available, 512 * 2**20)
    monkeypatch.setenv("UNBLUR_MAX_MEMORY", "1.5GiB")
    assert memory_budget() == min(available, int(1.5 * 2**30))
    with pytest.raises(InvalidParameterError, match="needs about 2.1 GB of memory, but 1.6 GB is "
                       "available .UNBLUR_MAX_MEMORY.; give less"):  # fmt: skip
        check_memory(2.1e9, "this step", hint="give less", error=InvalidParameterError)
    monkeypatch.setenv("UNBLUR_MAX_MEMORY", "lots")
    with pytest.raises(InvalidParameterError, match="UNBLUR_MAX_MEMORY='lots' is not a size"):
        memory_budget()
    assert format_bytes(6.7e9) == "6.7 GB" and format_bytes(999) == "999 bytes"
    # the restoration estimate grows with the method's working memory
    assert restore_memory(10**6, 1, 4, "tv") > restore_memory(10**6, 1, 4, "wiener") > 0
    assert restore_memory(10**6, 3, 8, "tv") > restore_memory(10**6, 3, 4, "tv")


def test_an_image_too_large_to_restore_names_chunks(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from unblur.cli import cli

    np.save(tmp_path / "x.npy", np.zeros((300, 300), np.float32))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("UNBLUR_MAX_MEMORY", "8M")
    args = ["deconvolve", "x.npy", "-o", "y.npy", "--psf", "gaussian:sigma=1"]
    result = CliRunner().invoke(cli, [*args, "-m", "tv"])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "unblur: error: restoring 'x.npy' (300x300) with tv needs about 15.5 MB of memory, but "
        "8.4 MB is available (UNBLUR_MAX_MEMORY); restore it block by block with --chunks "
        "(.npy, .tif and .zarr files)"
    )
    assert sorted(os.listdir(tmp_path)) == ["x.npy"]
    # block by block it works within the same budget
    result = CliRunner().invoke(cli, [*args, "-m", "wiener", "--chunks", "100"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("g.png", lambda p: write_image(p, np.zeros((7, 9)))),
        ("rgb.png", lambda p: write_image(p, np.zeros((7, 9, 3)))),
        ("g16.png", lambda p: write_image(p, np.zeros((7, 9, 4)), dtype="uint16")),
        ("s.tif", lambda p: tifffile.imwrite(
            p, np.zeros((3, 7, 9), np.uint16), photometric="rgb", planarconfig="separate"
        )),
        ("rgb.tif", lambda p: tifffile.imwrite(p, np.zeros((7, 9, 3), np.uint8))),
        ("p.tif", lambda p: tifffile.imwrite(p, np.zeros((7, 9), np.uint8),
                                             colormap=np.zeros((3, 256), np.uint16))),
        ("s.npy", lambda p: np.save(p, np.zeros((5, 7, 9), np.float64))),
        ("a.gif", lambda p: __import__("imageio.v3").v3.imwrite(p, np.zeros((4, 7, 9), np.uint8))),
        ("j.jpg", lambda p: write_image(p, np.zeros((7, 9, 3)))),
    ],
)  # fmt: skip
def test_read_header_declares_what_read_image_returns(tmp_path, name, make):
    path = tmp_path / name
    make(path)
    header = read_header(path)
    data, info = read_image(path)
    assert header.shape == data.shape
    assert header.dtype == np.dtype(info.dtype)
    assert header.channel_axis == info.channel_axis
    assert header.n_pages == info.n_pages


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("gaussian:sigma=1,size=30001", "a PSF of 30001 x 30001 = 900060001 pixels is too large"),
        ("gaussian:sigma=2,ndim=12", "= 582622237229761 pixels is too large"),
        ("gaussian:sigma=2,ndim=0", "ndim must be an integer >= 1, got 0"),
        ("gaussian:sigma=2,angle=nan", "angle must be a finite number of degrees, got nan"),
        ("motion:length=5,angle=inf", "angle must be a finite number of degrees, got inf"),
        ("motion:length=1e8,size=5", "length must be between 1 and 1e+06 pixels"),
        ("moffat:alpha=2,beta=1e308", "beta must be at most 10000"),
        ("airy:radius=2,rings=0", "rings must be an integer >= 1"),
        ("widefield:na=1.4,wavelength=0.52,refractive_index=1.518,voxel_size=0.005x0.005",
         "give a smaller shape or a coarser voxel_size"),
        ("widefield:na=1.4,wavelength=0.52,refractive_index=1.518,voxel_size=2e4x65",
         "voxel_size 20000 is 3.85e+04 wavelengths (0.52); give both in the same unit"),
        ("widefield:na=1e-9,wavelength=0.52,voxel_size=0.2", "na must be at least 0.001"),
        ("widefield:na=0.8,wavelength=0.52,voxel_size=0.2,oversample=99",
         "oversample must be an integer from 1 to 16"),
    ],
)  # fmt: skip
def test_psf_specs_are_range_checked_before_allocation(spec, fragment):
    with pytest.raises(InvalidPSFError) as err:
        unblur.psf.parse_spec(spec)
    assert fragment in str(err.value)


def test_api_psf_arguments_raise_unblur_errors():
    """The API cases of the adversarial pass (item 8)."""
    k = unblur.psf.gaussian(1e-300)  # a delta, no LinAlgError
    assert k.shape == (3, 3) and k[1, 1] == 1.0
    for call, fragment in [
        (lambda: unblur.psf.motion(5, angle=np.inf), "angle must be a finite number"),
        (lambda: unblur.psf.moffat(2, beta=1e308), "beta must be at most"),
        (lambda: unblur.psf.gaussian(2, ndim=0), "ndim must be an integer >= 1"),
        (lambda: unblur.psf.gaussian(2, ndim=True), "ndim must be an integer >= 1"),
        (lambda: unblur.psf.gaussian(1j), "sigma must be a number or a sequence of numbers"),
    ]:
        with pytest.raises(InvalidParameterError, match=fragment):
            call()
