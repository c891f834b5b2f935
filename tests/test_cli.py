"""The ``unblur`` command line: end-to-end runs, file contents, and one-line errors."""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from conftest import assert_error as _assert_error
from conftest import invoke

import unblur
from unblur import fft, psf
from unblur.cli import parse_param
from unblur.io import read_image, write_image
from unblur.metrics import psnr
from unblur.restore import METHODS, Method

COMMANDS = ["psf", "blur", "estimate-psf", "deconvolve", "compare", "methods", "demo"]

#: every error of these commands leaves stdout empty
assert_error = functools.partial(_assert_error, quiet=True)


# --------------------------------------------------------------------------------------------
# helpers and fixtures
# --------------------------------------------------------------------------------------------
def run_cli(*args) -> subprocess.CompletedProcess:
    """Run ``python -m unblur ARGS`` in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "unblur", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_usage_error(result, fragment: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Usage: unblur" in result.stderr
    assert fragment in result.stderr
    assert "Traceback" not in result.output


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def psnr_db(a: np.ndarray, b: np.ndarray) -> float:
    return psnr(a, b, data_range=1.0)


@pytest.fixture(scope="module")
def files(tmp_path_factory, camera, astronaut):
    """Input files shared by the tests (never to be modified by them)."""
    d = tmp_path_factory.mktemp("inputs")
    np.save(d / "sharp.npy", camera)  # float64
    np.save(d / "sharp32.npy", camera.astype(np.float32))
    write_image(d / "sharp16.png", camera, dtype="uint16")
    write_image(d / "sharp8.png", camera, dtype="uint8")
    rgba = np.concatenate([astronaut, np.linspace(0.2, 1, 96 * 96).reshape(96, 96, 1)], -1)
    write_image(d / "rgba.png", rgba, dtype="uint8")
    nan = camera.copy()
    nan[3, 4] = np.nan
    np.save(d / "nan.npy", nan)
    (d / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 8)
    (d / "small.npy").write_bytes(b"")  # empty file
    np.save(d / "tiny.npy", camera[:16, :16])
    return d


@pytest.fixture(scope="module")
def input_hashes(files):
    return {p.name: digest(p) for p in files.iterdir()}


@pytest.fixture(autouse=True, scope="module")
def inputs_never_change(files, input_hashes):
    """After every test of this module, each input file is byte for byte what it was."""
    yield
    assert {p.name: digest(p) for p in files.iterdir()} == input_hashes


@pytest.fixture
def out(tmp_path):
    return tmp_path


# --------------------------------------------------------------------------------------------
# end to end, in a fresh process
# --------------------------------------------------------------------------------------------
def test_entry_point_help_and_version():
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    for command in COMMANDS:
        assert command in result.stdout
    assert "Examples" in result.stdout
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"unblur, version {unblur.__version__}"
    # one source of truth: the installed metadata is built from the package's own string
    assert importlib.metadata.version("unblur") == unblur.__version__


def test_the_command_line_does_not_import_what_one_subcommand_needs():
    """SciPy's optimize and spatial packages take about a quarter of a second to import; a
    restoration's command needs neither (bead finding and the focus search import them when
    called)."""
    code = (
        "import sys\n"
        "from unblur.cli import cli\n"
        "import unblur.api\n"
        "heavy = ['scipy.optimize', 'scipy.spatial']\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_pipeline_psf_blur_deconvolve_compare(files, out, camera):
    """Periodic noiseless blur of a float64 image, undone by the inverse filter: > 60 dB."""
    spec = "gaussian:sigma=1.5"
    result = run_cli("psf", spec, "-o", out / "k.npy")
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(np.load(out / "k.npy"), psf.parse_spec(spec))
    preview, _ = read_image(out / "k_preview.png")
    assert min(preview.shape) >= 128 and preview.max() == 1.0

    result = invoke(
        "blur", files / "sharp.npy", "-o", out / "blurred.npy", "--psf", spec,
        "--boundary", "periodic",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    blurred = np.load(out / "blurred.npy")
    assert blurred.dtype == np.float64
    np.testing.assert_allclose(
        blurred, unblur.blur(camera, psf.parse_spec(spec), boundary="periodic")
    )

    result = run_cli(
        "deconvolve", out / "blurred.npy", "-o", out / "restored.npy", "--psf", spec,
        "-m", "inverse", "--boundary", "periodic", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["method"] == "inverse"
    assert summary["parameters"]["boundary"] == "periodic"
    assert summary["parameters"]["epsilon"] > 0  # chosen automatically, reported
    assert summary["input"] == str(out / "blurred.npy")
    assert summary["output"] == str(out / "restored.npy")
    assert summary["seconds"] >= 0

    result = run_cli("compare", out / "restored.npy", files / "sharp.npy", "--json")
    assert result.returncode == 0, result.stderr
    scores = json.loads(result.stdout)
    assert scores["psnr"] > 60
    assert scores["ssim"] > 0.999
    before = json.loads(
        run_cli("compare", out / "blurred.npy", files / "sharp.npy", "--json").stdout
    )
    assert before["psnr"] < 35 and before["ssim"] < scores["ssim"]


def test_methods_lists_registered_methods_with_defaults():
    result = run_cli("methods")
    assert result.returncode == 0, result.stderr
    for name in unblur.available_methods():
        assert name in result.stdout
    assert "epsilon=None" in result.stdout  # a parameter of inverse, with its default


# --------------------------------------------------------------------------------------------
# help
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_has_an_example(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    assert f"unblur {command} " in result.stdout  # an example of the command itself


# --------------------------------------------------------------------------------------------
# psf
# --------------------------------------------------------------------------------------------
def test_psf_formats_and_preview(out):
    k = psf.parse_spec("motion:length=9,angle=0")
    result = invoke(
        "psf", "motion:length=9,angle=0", "-o", out / "m.png", "--preview", out / "p.png"
    )
    assert result.exit_code == 0, result.output
    view, info = read_image(out / "m.png")
    assert info.dtype == "uint16"  # for viewing: scaled to the peak
    np.testing.assert_allclose(view, k / k.max(), atol=1 / 65535)
    big, _ = read_image(out / "p.png")
    assert big.shape == (132, 132)  # 1x11 -> 11x11 square, x12 to reach 128 px
    assert len(np.unique(big)) <= len(np.unique(view)) + 1  # nearest neighbour: no new values
    assert not (out / "m_preview.png").exists()

    result = invoke("psf", "disk:radius=3", "-o", out / "d.tif", "--no-preview")
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(tifffile.imread(out / "d.tif"), psf.disk(3))  # exact float64
    assert sorted(p.name for p in out.iterdir()) == ["d.tif", "m.png", "p.png"]


def test_psf_3d_spec_to_npy(out):
    result = invoke("psf", "gaussian:sigma=1x1.5x1.5", "-o", out / "k3.npy")
    assert result.exit_code == 0, result.output
    k = np.load(out / "k3.npy")
    assert k.ndim == 3 and np.isclose(k.sum(), 1)
    assert (out / "k3_preview.png").exists()


def test_psf_errors_leave_no_file(out):
    assert_error(invoke("psf", "blob:size=3", "-o", out / "k.npy"), "unknown PSF 'blob:size=3'")
    assert_error(invoke("psf", "gaussian:sigma=-1", "-o", out / "k.npy"), "sigma")
    assert_error(invoke("psf", "gaussian:sigma=2", "-o", out / "k.xyz"), "unsupported file type")
    assert list(out.iterdir()) == []
    (out / "k_preview.png").write_bytes(b"keep")
    assert_error(invoke("psf", "gaussian:sigma=2", "-o", out / "k.npy"), "exists")
    assert [p.name for p in out.iterdir()] == ["k_preview.png"]  # main output not written
    assert (out / "k_preview.png").read_bytes() == b"keep"
    assert invoke("psf", "gaussian:sigma=2", "-o", out / "k.npy", "--force").exit_code == 0
    assert (out / "k_preview.png").read_bytes()[:4] == b"\x89PNG"
    assert_usage_error(
        invoke("psf", "gaussian:sigma=2", "-o", out / "x.npy", "--preview", out / "p.png",
               "--no-preview"),
        "cannot be used together",
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# blur
# --------------------------------------------------------------------------------------------
def test_blur_noise_is_seeded_and_of_the_requested_level(files, out, camera):
    args = ["blur", files / "sharp.npy", "--psf", "disk:radius=2", "--boundary", "periodic"]
    assert invoke(*args, "-o", out / "clean.npy").exit_code == 0
    for name in ("a.npy", "b.npy"):
        result = invoke(*args, "-o", out / name, "--noise", 0.05, "--seed", 7)
        assert result.exit_code == 0, result.output
    a, b, clean = (np.load(out / n) for n in ("a.npy", "b.npy", "clean.npy"))
    np.testing.assert_array_equal(a, b)
    assert abs(float(np.std(a - clean)) - 0.05) < 0.003
    assert_error(invoke(*args, "-o", out / "c.npy", "--noise", -1), "noise")
    result = invoke(*args, "-o", out / "p.npy", "--poisson", 50, "--seed", 1)
    assert result.exit_code == 0, result.output
    shot = np.load(out / "p.npy")
    assert shot.min() >= 0
    np.testing.assert_allclose(np.round(shot * 50), shot * 50, atol=1e-9)  # photon counts
    assert abs(float(np.mean(shot - clean))) < 0.01


def test_blur_keeps_16_bits_and_alpha(files, out):
    result = invoke(
        "blur", files / "sharp16.png", "-o", out / "b16.png", "--psf", "gaussian:sigma=2"
    )
    assert result.exit_code == 0, result.output
    _, info = read_image(out / "b16.png")
    assert info.dtype == "uint16"

    k = psf.motion(9, angle=0)  # 1 x 11: "valid" removes 10 columns
    result = invoke(
        "blur", files / "rgba.png", "-o", out / "b.png", "--psf", "motion:length=9,angle=0",
        "--boundary", "valid",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    src, _ = read_image(files / "rgba.png")
    got, info = read_image(out / "b.png")
    assert got.shape == (96, 86, 4) and info.has_alpha
    np.testing.assert_array_equal(got[..., 3], src[:, 5:-5, 3])  # alpha untouched, cropped
    expected = unblur.blur(src[..., :3], k, boundary="valid", channel_axis=-1)
    np.testing.assert_allclose(got[..., :3], expected, atol=0.5 / 255 + 1e-6)


def test_blur_3d_stack(out, stack):
    np.save(out / "stack.npy", stack.astype(np.float32))
    np.save(out / "k3.npy", psf.gaussian(1.0, ndim=3))
    result = invoke(
        "blur", out / "stack.npy", "-o", out / "b.npy", "--psf", out / "k3.npy",
        "--boundary", "periodic",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    blurred = np.load(out / "b.npy")
    assert blurred.shape == stack.shape and blurred.dtype == np.float32
    k = psf.parse_spec(str(out / "k3.npy"))
    expected = unblur.blur(stack.astype(np.float32), k, boundary="periodic")
    np.testing.assert_allclose(blurred, expected, atol=1e-6)


# --------------------------------------------------------------------------------------------
# deconvolve
# --------------------------------------------------------------------------------------------
def test_deconvolve_16_bit_png_stays_16_bit_and_improves(files, out, camera):
    spec, bc = "gaussian:sigma=1.5", ["--boundary", "periodic"]
    result = invoke("blur", files / "sharp16.png", "-o", out / "b.png", "--psf", spec, *bc)
    assert result.exit_code == 0, result.output
    result = invoke(
        "deconvolve", out / "b.png", "-o", out / "r.png", "--psf", spec, "-m", "wiener", *bc
    )
    assert result.exit_code == 0, result.output
    assert "wiener" in result.stdout
    restored, info = read_image(out / "r.png")
    blurred, blurred_info = read_image(out / "b.png")
    assert info.dtype == blurred_info.dtype == "uint16"
    expected = unblur.deconvolve(blurred, psf.parse_spec(spec), "wiener", boundary="periodic")
    np.testing.assert_allclose(restored, np.clip(expected, 0, 1), atol=0.5 / 65535 + 1e-6)
    assert psnr_db(restored, camera) > psnr_db(blurred, camera) + 3.0  # about 31 vs 25 dB

    result = invoke(
        "deconvolve", out / "b.png", "-o", out / "r8.png", "--psf", spec, "-m", "wiener",
        "--dtype", "uint8", *bc,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    restored8, info8 = read_image(out / "r8.png")
    assert info8.dtype == "uint8"
    np.testing.assert_allclose(restored8, restored, atol=0.5 / 255 + 1e-4)


def test_deconvolve_float32_npy_stays_float32_and_params_reach_the_method(files, out):
    spec = "gaussian:sigma=1"
    args = ["--psf", spec, "--boundary", "periodic"]
    assert invoke("blur", files / "sharp32.npy", "-o", out / "b.npy", *args).exit_code == 0
    result = invoke(
        "deconvolve", out / "b.npy", "-o", out / "r.npy", *args, "-m", "inverse",
        "-p", "threshold=0.1", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["parameters"]["threshold"] == 0.1
    assert 0 < summary["parameters"]["kept_fraction"] < 1
    restored = np.load(out / "r.npy")
    assert restored.dtype == np.float32
    expected = unblur.deconvolve(
        np.load(out / "b.npy"), psf.parse_spec(spec), "inverse", boundary="periodic", threshold=0.1
    )
    np.testing.assert_array_equal(restored, expected)


def test_deconvolve_keeps_alpha(files, out):
    result = invoke("deconvolve", files / "rgba.png", "-o", out / "r.png", "--psf", "disk:radius=1")
    assert result.exit_code == 0, result.output
    src, _ = read_image(files / "rgba.png")
    got, info = read_image(out / "r.png")
    assert info.has_alpha and got.shape == src.shape
    np.testing.assert_array_equal(got[..., 3], src[..., 3])


def test_deconvolve_iterative_method_gets_a_progress_callback(files, out, monkeypatch):
    calls = []

    def fake(image, psf, *, num_iter: int = 4, boundary: str = "periodic", info=None,
             callback=None):  # fmt: skip
        for i in range(num_iter):
            if callback is not None:
                callback(i + 1, image)
            calls.append(i)
        return image

    monkeypatch.setitem(METHODS, "_fake_iterative", Method("_fake_iterative", fake, "fake", True))
    result = invoke(
        "deconvolve", files / "sharp32.npy", "-o", out / "r.npy", "--psf", "disk:radius=1",
        "-m", "_fake_iterative", "-p", "num_iter=3", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert calls == [0, 1, 2]
    assert json.loads(result.stdout)["parameters"]["num_iter"] == 3


def test_deconvolve_overwrite_rules(files, out):
    spec = "disk:radius=1"
    target = out / "r.npy"
    target.write_bytes(b"old")
    assert_error(invoke("deconvolve", files / "sharp.npy", "-o", target, "--psf", spec), "exists")
    assert target.read_bytes() == b"old"
    assert (
        invoke("deconvolve", files / "sharp.npy", "-o", target, "--psf", spec, "--force").exit_code
        == 0
    )
    assert np.load(target).shape == (128, 128)
    # an input is never overwritten, not even with --force
    for extra in ([], ["--force"]):
        result = invoke(
            "deconvolve", files / "sharp.npy", "-o", files / "sharp.npy", "--psf", spec, *extra
        )
        assert_error(result, "refusing to overwrite the input")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["blur", "{files}/missing.png", "--psf", "disk:radius=2"], "file not found"),
        (["blur", "{files}/corrupt.png", "--psf", "disk:radius=2"], "not a valid PNG"),
        (["blur", "{files}/small.npy", "--psf", "disk:radius=2"], "empty"),
        (["blur", "{files}/nan.npy", "--psf", "disk:radius=2"], "NaN"),
        (["blur", "{files}/sharp.npy", "--psf", "wobble:x=1"], "unknown PSF 'wobble:x=1'"),
        (["blur", "{files}/sharp.npy", "--psf", "{files}/nope.npy"], "unknown PSF"),
        (["blur", "{files}/tiny.npy", "--psf", "disk:radius=12"], "larger than the image"),
        (["deconvolve", "{files}/sharp.npy", "--psf", "disk:radius=2", "-m", "nope"],
         "unknown method 'nope'; available: "),
        (["deconvolve", "{files}/sharp.npy", "--psf", "disk:radius=2", "-p", "foo=1"],
         "no parameter 'foo'"),
        (["deconvolve", "{files}/sharp.npy", "--psf", "disk:radius=2", "-m", "inverse",
          "-p", "epsilon=-1"], "epsilon must be finite and >= 0"),
        (["deconvolve", "{files}/nan.npy", "--psf", "disk:radius=2"], "NaN"),
        (["deconvolve", "{files}/tiny.npy", "--psf", "gaussian:sigma=5"], "larger than the image"),
        (["deconvolve", "{files}/missing.tif", "--psf", "disk:radius=2"], "file not found"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_writes_nothing(files, out, args, fragment):
    args = [a.format(files=files) for a in args]
    assert_error(invoke(*args, "-o", out / "result.npy"), fragment)
    assert list(out.iterdir()) == []


def test_bad_output_is_one_line(files, out):
    base = ["blur", files / "sharp.npy", "--psf", "disk:radius=2"]
    assert_error(invoke(*base, "-o", out / "no" / "such" / "r.png"), "does not exist")
    assert_error(invoke(*base, "-o", out / "r.xyz"), "unsupported file type")
    assert_error(invoke(*base, "-o", out / "r.jpg", "--dtype", "uint16"), "cannot store uint16")
    assert list(out.iterdir()) == []


def test_usage_errors_exit_2(files, out):
    inp, target = files / "sharp.npy", out / "r.npy"
    assert_usage_error(
        invoke("deconvolve", inp, "-o", target, "--psf", "disk:radius=1", "--psf-model", "disk"),
        "leave them out with --psf",
    )
    assert_usage_error(invoke("deconvolve", inp, "-o", target, "--psf-model", "blob"), "blob")
    assert_usage_error(invoke("estimate-psf", inp, "-o", target, "--model", "blob"), "blob")
    assert_usage_error(invoke("estimate-psf", inp, "-o", target, "--size", "3x"), "N or HxW")
    assert_usage_error(
        invoke("deconvolve", inp, "-o", target, "--psf", "disk:radius=1", "--suffix", "_r"),
        "--suffix is for a batch",
    )
    assert_usage_error(
        invoke("deconvolve", inp, "-o", target, "--psf", "disk:radius=1", "--overlap", 8),
        "--overlap goes with --chunks",
    )
    assert_usage_error(
        invoke("deconvolve", inp, "-o", target, "--psf", "disk:radius=1", "-p", "foo"),
        "is not KEY=VALUE",
    )
    assert_usage_error(
        invoke("deconvolve", inp, "-o", target, "--psf", "disk:radius=1", "-p", "a=1", "-p", "a=2"),
        "given twice",
    )
    assert_usage_error(
        invoke("deconvolve", inp, "-o", target, "--psf", "disk:radius=1", "-p", "channel_axis=0"),
        "set by the command line",
    )
    assert_usage_error(
        invoke("deconvolve", inp, "-o", target, "--psf", "disk:radius=1", "--boundary",
               "periodic", "-p", "boundary=reflect"),
        "give the boundary once",
    )  # fmt: skip
    assert_usage_error(
        invoke("blur", inp, "-o", target, "--psf", "disk:radius=1", "--boundary", "x"),
        "is not one of",
    )
    assert_usage_error(invoke("--workers", 0, "methods"), "workers")
    assert_usage_error(invoke("blur", inp, "--psf", "disk:radius=1"), "--output")
    assert list(out.iterdir()) == []


def test_unexpected_errors_are_one_line_unless_verbose(files, out, monkeypatch):
    def broken(image, psf, *, boundary: str = "periodic", info=None):
        raise RuntimeError("solver exploded")

    monkeypatch.setitem(METHODS, "_broken", Method("_broken", broken, "broken"))
    args = ["deconvolve", files / "sharp.npy", "-o", out / "r.npy", "--psf", "disk:radius=1",
            "-m", "_broken"]  # fmt: skip
    assert_error(invoke(*args), "unexpected RuntimeError: solver exploded")
    result = invoke("-v", *args)
    assert isinstance(result.exception, RuntimeError)  # -v: the real exception, for debugging
    assert list(out.iterdir()) == []


def test_workers_option_sets_fft_threads():
    old = fft.get_workers()
    try:
        assert invoke("--workers", 1, "methods").exit_code == 0
        assert fft.get_workers() == 1
    finally:
        fft.set_workers(old)


# --------------------------------------------------------------------------------------------
# blind: estimate-psf, deconvolve without --psf
# --------------------------------------------------------------------------------------------
def test_estimate_psf_recovers_gaussian_sigma(out, camera):
    """Gaussian blur (sigma 2) + 0.5% noise: sigma within 10%, saved exactly like `unblur psf`."""
    y = unblur.add_noise(unblur.blur(camera, psf.gaussian(2.0)), gaussian=0.005, rng=1)
    np.save(out / "y.npy", y.astype(np.float32))
    result = invoke("estimate-psf", out / "y.npy", "-o", out / "k.npy", "--model", "gaussian",
                    "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)  # the whole of stdout is one JSON object
    assert summary["model"] == "gaussian"
    assert abs(summary["parameters"]["sigma"] - 2.0) < 0.2, summary["parameters"]
    k = np.load(out / "k.npy")
    assert k.dtype == np.float64 and np.isclose(k.sum(), 1.0)
    assert summary["size"] == list(k.shape)
    np.testing.assert_allclose(k, psf.gaussian(summary["parameters"]["sigma"]), atol=1e-12)
    np.testing.assert_allclose(psf.parse_spec(summary["spec"]), k, atol=1e-6)  # re-usable
    assert summary["preview"] == str(out / "k_preview.png") and summary["seconds"] >= 0
    assert read_image(out / "k_preview.png")[0].max() == 1.0

    # auto picks the Gaussian too; the text output is a table; an odd --size is kept
    result = invoke("estimate-psf", out / "y.npy", "-o", out / "k2.tif", "--size", 21,
                    "--no-preview")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "gaussian" in result.stdout and "sigma" in result.stdout and "BIC" in result.stdout
    assert tifffile.imread(out / "k2.tif").shape == (21, 21)
    assert not (out / "k2_preview.png").exists()
    assert_error(invoke("estimate-psf", out / "y.npy", "-o", out / "k.npy"), "exists")
    assert_error(
        invoke("estimate-psf", out / "y.npy", "-o", out / "k.xyz", "--no-preview"), "unsupported"
    )
    assert_error(invoke("estimate-psf", out / "y.npy", "-o", out / "y.npy", "--force"),
                 "refusing to overwrite the input")  # fmt: skip
    tiny = out / "tiny.npy"
    np.save(tiny, np.zeros((16, 16)))
    assert_error(invoke("estimate-psf", tiny, "-o", out / "t.npy"), "at least")


def test_estimate_psf_table_says_why_and_does_not_rank_the_free_kernel_by_bic(capsys, monkeypatch):
    # --model auto scores the free kernel's BIC but keeps it by its checks: a lower free BIC
    # beside a chosen motion must not read as "lower wins", and the reason is shown
    from unblur.cli.psf import _print_estimate

    monkeypatch.setenv("COLUMNS", "200")  # no line wrapped inside a cell
    reason = "motion: the free-form kernel has its shape (correlation 0.95)"
    scores = {"motion": {"parameters": {"length": 15.0}, "bic": 1.816e4}, "free": {"bic": 1.813e4}}
    summary = {"model": "motion", "parameters": {"length": 15.0}, "shape": [9, 15],
               "seconds": 1.0, "scores": scores, "reason": reason}  # fmt: skip
    _print_estimate(Path("y.npy"), summary)
    text = " ".join(capsys.readouterr().out.split())
    assert reason in text
    assert "lower wins among the parametric fits; free: by its checks" in text


def test_deconvolve_without_psf_estimates_it_and_improves(out, camera):
    """Motion blur (11 px, 30 deg) + 0.5% noise, no --psf: the PSF is estimated, PSNR rises."""
    np.save(out / "sharp.npy", camera)
    y = unblur.add_noise(unblur.blur(camera, psf.motion(11, angle=30)), gaussian=0.005, rng=0)
    np.save(out / "y.npy", y.astype(np.float32))
    result = invoke("deconvolve", out / "y.npy", "-o", out / "r.npy", "--json",
                    "--report", out / "r.html")  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["psf"] == "estimated"
    estimate = summary["psf_estimate"]
    assert estimate["model"] == "motion"
    assert abs(estimate["parameters"]["length"] - 11) < 1.0
    assert abs(estimate["parameters"]["angle"] - 30) < 3.0
    assert summary["psf_shape"] == estimate["shape"]
    restored = np.load(out / "r.npy")
    assert restored.dtype == np.float32 and restored.shape == y.shape
    assert "estimated: motion" in (out / "r.html").read_text()  # the report names it

    after = json.loads(invoke("compare", out / "r.npy", out / "sharp.npy", "--json").stdout)
    before = json.loads(invoke("compare", out / "y.npy", out / "sharp.npy", "--json").stdout)
    assert after["psnr"] > before["psnr"] + 2.0, (before, after)  # about 23.1 -> 26.0 dB
    assert after["ssim"] > before["ssim"]

    # --psf-model / --psf-size steer the estimate; the text summary reports it
    result = invoke("deconvolve", out / "y.npy", "-o", out / "r2.npy", "--psf-model", "motion",
                    "--psf-size", 15)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("estimated PSF: motion (length=")
    assert ", 15x15, " in result.stdout


def test_estimation_progress_uses_a_callback_when_the_estimator_takes_one(out, monkeypatch):
    import unblur.blind

    seen = {}

    def fake(image, size=None, model="auto", *, channel_axis=None, info=None, callback=None):
        seen["callback"] = callback
        for level in range(3):
            callback(level, np.ones((3, 3)) / 9)
        info.update(model="free", parameters={})
        return psf.disk(1)

    monkeypatch.setattr(unblur.blind, "estimate_psf", fake)
    np.save(out / "y.npy", np.random.default_rng(0).random((40, 40)))
    result = invoke("estimate-psf", out / "y.npy", "-o", out / "k.npy", "--model", "free",
                    "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert callable(seen["callback"])
    summary = json.loads(result.stdout)
    assert summary["model"] == "free" and "spec" not in summary  # no spec for free kernels
    np.testing.assert_array_equal(np.load(out / "k.npy"), psf.disk(1))


def test_psf_and_blur_json(files, out):
    result = invoke("psf", "disk:radius=2", "-o", out / "k.npy", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "psf": "disk:radius=2",
        "shape": [5, 5],
        "output": str(out / "k.npy"),
        "preview": str(out / "k_preview.png"),
    }
    result = invoke("blur", files / "sharp.npy", "-o", out / "b.npy", "--psf", out / "k.npy",
                    "--noise", 0.01, "--seed", 3, "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["shape"] == [128, 128] and summary["psf_shape"] == [5, 5]
    assert summary["noise"] == 0.01 and summary["seed"] == 3


# --------------------------------------------------------------------------------------------
# compare, methods
# --------------------------------------------------------------------------------------------
def test_compare(files, camera):
    result = invoke("compare", files / "sharp16.png", files / "sharp.npy", "--json")
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert 90 < scores["psnr"] < 110  # 16-bit quantisation error only: about 107 dB
    identical = json.loads(
        invoke("compare", files / "sharp.npy", files / "sharp.npy", "--json").stdout
    )
    assert identical["psnr"] is None and identical["ssim"] == 1.0  # inf PSNR is null in JSON
    table = invoke("compare", files / "sharp8.png", files / "sharp.npy")
    assert table.exit_code == 0 and "PSNR" in table.stdout and "SSIM" in table.stdout
    assert_error(invoke("compare", files / "tiny.npy", files / "sharp.npy"), "different shapes")
    assert_error(invoke("compare", files / "rgba.png", files / "nan.npy"), "NaN")


def test_methods_json_and_single_method():
    result = invoke("methods", "--json")
    assert result.exit_code == 0, result.output
    listed = {m["name"]: m for m in json.loads(result.stdout)["methods"]}
    assert set(listed) == set(unblur.available_methods())
    assert listed["inverse"]["parameters"] == {
        "epsilon": None,
        "threshold": None,
        "boundary": "periodic",
    }
    assert listed["inverse"]["iterative"] is False
    result = invoke("methods", "inverse")
    assert result.exit_code == 0
    assert result.stdout.startswith("inverse (direct)") and "threshold : float" in result.stdout
    assert_error(invoke("methods", "nope"), "unknown method 'nope'")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("num_iter=30", ("num_iter", 30)),
        ("balance=1e-3", ("balance", 0.001)),
        ("clip=False", ("clip", False)),
        ("clip=yes", ("clip", True)),
        ("epsilon=none", ("epsilon", None)),
        (" regularizer = laplacian ", ("regularizer", "laplacian")),
    ],
)
def test_parse_param(text, expected):
    assert parse_param(text) == expected
