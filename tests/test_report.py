"""The HTML report (:func:`unblur.report.write_report`, ``unblur deconvolve --report``).

Checks the page's content against known truth (the embedded pictures are exactly the images,
the PSNR shown is the one computed independently), that it is self-contained, that the
convergence monitor records what the method did, the validation errors, the command-line flags,
and, in a real headless Chromium, that the page runs without a script error, that every image
decodes and that the comparison slider reacts.
"""

from __future__ import annotations

import base64
import html
import io
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import unblur
from unblur import psf
from unblur.cli import cli
from unblur.errors import ImageWriteError, InvalidImageError, InvalidParameterError
from unblur.io import read_image, write_image
from unblur.metrics import psnr, ssim
from unblur.report import REPORT_MAX_SIDE, ConvergenceMonitor, write_report

#: chromium executables tried, in order (Debian's package is ``chromium``)
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DATA_URI = re.compile(r"""src=(['"])(data:image/png;base64,[A-Za-z0-9+/=]*)\1""")


# --------------------------------------------------------------------------------------------
# helpers and fixtures
# --------------------------------------------------------------------------------------------
def embedded(page: str, id_: str) -> np.ndarray:
    """The pixels of the <img id=ID> of the page."""
    match = re.search(rf"<img id='{id_}'[^>]* src='data:image/png;base64,([^']*)'", page)
    assert match, f"no image {id_!r}"
    with Image.open(io.BytesIO(base64.b64decode(match.group(1)))) as img:
        return np.asarray(img)


def as_shown(image: np.ndarray) -> np.ndarray:
    """What the report must show of an image of at most REPORT_MAX_SIDE: 8 bits of [0, 1]."""
    return np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)


def text_only(page: str) -> str:
    """The page without its data URIs (base64 text can contain any letters)."""
    return DATA_URI.sub("src=''", page)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.links += [v or "" for k, v in attrs if k in ("src", "href", "srcset", "data")]


def resource_links(page: str) -> list[str]:
    """Every src / href / srcset / data attribute of the page's tags."""
    parser = _Links()
    parser.feed(page)
    return parser.links


def section(page: str, id_: str) -> str:
    match = re.search(rf"<section id='{id_}'>(.*?)</section>", page, flags=re.S)
    assert match, f"no section {id_!r}"
    return match.group(1)


@pytest.fixture(scope="module")
def scene(camera):
    """Camera 128 x 128 blurred by a Gaussian (sigma 2) with 1% noise, and its PSF."""
    k = psf.gaussian(sigma=2.0)
    y = unblur.add_noise(unblur.blur(camera, k, boundary="reflect"), gaussian=0.01, rng=0)
    return camera, y, k


@pytest.fixture(scope="module")
def rl_run(scene):
    """Richardson-Lucy, 12 iterations, recorded by a ConvergenceMonitor against the truth."""
    x, y, k = scene
    monitor = ConvergenceMonitor(reference=x)
    run = {}
    restored = unblur.deconvolve(y, k, "richardson_lucy", num_iter=12, callback=monitor, info=run)
    return restored, run, monitor


@pytest.fixture(scope="module")
def report(tmp_path_factory, scene, rl_run):
    """The report of the Richardson-Lucy run, with the reference; (path, page text)."""
    x, y, k = scene
    restored, run, monitor = rl_run
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_report(
        path,
        blurred=y,
        restored=restored,
        psf=k,
        method=run["method"],
        parameters=run["parameters"],
        seconds=run["seconds"],
        reference=x,
        convergence=monitor,
        given={"num_iter"},
        details={"input": "<script>alert('x')</script>.png", "PSF": "gaussian:sigma=2"},
    )
    return path, path.read_text(encoding="utf-8")


def find_browser() -> str | None:
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


def run_browser(page: Path, profile: Path) -> tuple[str, str]:
    """Load ``page`` in headless Chromium, let its scripts run; (final DOM, stderr)."""
    browser = find_browser()
    if browser is None:
        pytest.skip("no Chromium found (install the Debian package: apt-get install -y chromium)")
    result = subprocess.run(
        [
            browser, "--headless=new", "--disable-gpu", "--no-sandbox", "--no-first-run",
            "--disable-extensions", f"--user-data-dir={profile}", "--enable-logging=stderr",
            "--v=0", "--virtual-time-budget=5000", "--dump-dom", page.resolve().as_uri(),
        ],
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, result.stderr


#: window of the screenshot (CSS pixels) and the README's copy of it
SCREENSHOT_SIZE = (1200, 900)
DOCS_SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "report.png"


def take_screenshot(page: Path, target: Path, profile: Path) -> Path:
    """Render ``page`` in headless Chromium into the PNG ``target`` (SCREENSHOT_SIZE)."""
    browser = find_browser()
    if browser is None:
        pytest.skip("no Chromium found (install the Debian package: apt-get install -y chromium)")
    width, height = SCREENSHOT_SIZE
    result = subprocess.run(
        [
            browser, "--headless=new", "--disable-gpu", "--no-sandbox", "--no-first-run",
            "--disable-extensions", f"--user-data-dir={profile}", "--hide-scrollbars",
            "--force-device-scale-factor=1", f"--window-size={width},{height}",
            "--virtual-time-budget=5000", f"--screenshot={target}", page.resolve().as_uri(),
        ],
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return target


def small_png(source: Path, target: Path, colours: int = 128) -> Path:
    """``source`` quantised to ``colours`` colours (median cut), saved optimised to ``target``."""
    with Image.open(source) as im:
        im.convert("RGB").quantize(colours, method=Image.Quantize.MEDIANCUT).save(
            target, optimize=True
        )
    return target


def console_errors(stderr: str) -> list[str]:
    """Chromium's log lines about the page: console messages, script and CSP errors."""
    keys = ("CONSOLE", "Uncaught", "Content Security Policy", "Refused to")
    return [line for line in stderr.splitlines() if any(k in line for k in keys)]


# --------------------------------------------------------------------------------------------
# content
# --------------------------------------------------------------------------------------------
def test_page_shows_the_images_exactly(report, scene, rl_run):
    _, page = report
    x, y, _ = scene
    restored, _, _ = rl_run
    assert page.startswith("<!DOCTYPE html>")
    np.testing.assert_array_equal(embedded(page, "img-blurred"), as_shown(y))
    np.testing.assert_array_equal(embedded(page, "img-restored"), as_shown(restored))
    np.testing.assert_array_equal(embedded(page, "img-reference"), as_shown(x))


def test_page_is_self_contained(report):
    _, page = report
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page and "@import" not in page and "url(" not in page
    links = resource_links(page)
    assert len(links) == 6
    for link in links:
        assert link.startswith("data:image/png;base64,"), link[:60]
    uris = DATA_URI.findall(page)
    assert len(uris) == 6  # blurred, restored, reference, PSF, the two spectra
    # the plots are inline SVG: PSF profiles, relative change, PSNR, the spectra's colour bar
    assert text_only(page).count("<svg ") == 4
    for _, uri in uris:
        with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as img:
            img.load()
            assert img.format == "PNG" and min(img.size) > 0
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_page_reports_method_parameters_runtime_and_metrics(report, scene, rl_run):
    _, page = report
    x, y, _ = scene
    restored, run, _ = rl_run
    text = text_only(page)
    assert "<title>unblur report: richardson_lucy</title>" in text
    params = section(text, "parameters")
    for name in run["parameters"]:
        assert f"<th scope='row'>{name}</th>" in params
    assert "<th scope='row'>num_iter</th><td>12</td><td>given</td>" in params
    assert "<th scope='row'>iterations</th><td>12</td><td>automatic</td>" in params
    assert "<th scope='row'>boundary</th><td>unknown</td><td>default</td>" in params
    seconds = run["seconds"]
    shown = f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"
    assert shown in section(text, "run")
    # the numbers shown are those computed independently, and the restoration is better
    quality = section(text, "quality")
    p_in, p_out = psnr(y, x), psnr(restored, x)
    s_in, s_out = ssim(y, x), ssim(restored, x)
    assert p_out > p_in + 1.0 and s_out > s_in
    for value in (f"{p_in:.2f} dB", f"{p_out:.2f} dB", f"{s_in:.4f}", f"{s_out:.4f}"):
        assert value in quality
    assert f"{p_out - p_in:+.2f} dB" in quality


def test_text_is_escaped(report):
    _, page = report
    assert "<script>alert" not in page
    assert html.escape("<script>alert('x')</script>.png") in page


def test_convergence_monitor_records_the_run(report, scene, rl_run):
    x, _, _ = scene
    restored, _, monitor = rl_run
    assert len(monitor.traces) == 1
    trace = monitor.traces[0]
    assert trace.iterations == list(range(1, 13))
    assert len(trace.relative_change) == 11 and len(trace.psnr) == 12
    assert all(0 < c < 1 for c in trace.relative_change)
    assert trace.relative_change[-1] < trace.relative_change[0]
    # the last estimate seen by the callback is the result
    assert trace.psnr[-1] == pytest.approx(psnr(restored, x), abs=1e-6)
    assert trace.psnr[-1] > trace.psnr[0]
    part = section(report[1], "convergence")
    lines = re.findall(r"<polyline points='([^']*)'", part)
    assert [len(p.split()) for p in lines] == [11, 12]  # one point per recorded value
    assert f"12 iterations; final relative change {trace.relative_change[-1]:.3g}" in part
    assert f"final PSNR {trace.psnr[-1]:.2f} dB" in part


def test_convergence_monitor_colour_channels_and_wrapped_callback(astronaut):
    k = psf.gaussian(sigma=1.5)
    x = astronaut[:48, :48]
    y = unblur.blur(x, k, boundary="reflect", channel_axis=-1)
    calls = []
    monitor = ConvergenceMonitor(x, channel_axis=-1, callback=lambda i, e: calls.append(i))
    out = unblur.deconvolve(y, k, "landweber", num_iter=4, channel_axis=-1, callback=monitor)
    assert calls == [1, 2, 3, 4] * 3
    assert [t.iterations for t in monitor.traces] == [[1, 2, 3, 4]] * 3
    for c, trace in enumerate(monitor.traces):
        assert trace.psnr[-1] == pytest.approx(psnr(out[..., c], x[..., c]), abs=1e-6)


def test_convergence_monitor_zero_estimates_give_zero_change():
    monitor = ConvergenceMonitor(np.zeros((8, 8)))
    for i in (1, 2, 3):
        monitor(i, np.zeros((8, 8)))
    assert monitor.traces[0].relative_change == [0.0, 0.0]
    assert monitor.traces[0].psnr == [np.inf] * 3
    with pytest.raises(InvalidParameterError, match="reference has shape"):
        monitor(1, np.zeros((4, 4)))


def test_direct_method_and_no_reference(tmp_path, scene):
    _, y, k = scene
    run = {}
    restored = unblur.deconvolve(y, k, "wiener", info=run)
    path = write_report(
        tmp_path / "w.html",
        blurred=y,
        restored=restored,
        psf=k,
        method="wiener",
        parameters=run["parameters"],
        seconds=run["seconds"],
        convergence=ConvergenceMonitor(),
    )
    page = path.read_text()
    text = text_only(page)
    assert "id='quality'" not in text and "img-reference" not in text and "PSNR" not in text
    assert "direct (one closed-form solve)" in section(text, "convergence")
    for name in ("sigma", "alpha", "balance"):  # the automatic ones are listed too
        assert f"<th scope='row'>{name}</th>" in section(text, "parameters")
    assert len(DATA_URI.findall(page)) == 5


def test_colour_float32_and_inputs_unchanged(tmp_path, astronaut):
    y = astronaut.astype(np.float32)
    x = np.clip(y * 1.2 - 0.1, -0.5, 1.5).astype(np.float32)  # values outside [0, 1]
    k = psf.gaussian(sigma=1.0)
    before = (y.copy(), x.copy(), k.copy())
    path = write_report(
        tmp_path / "c.html", blurred=y, restored=x, psf=k, method="m", parameters={},
        seconds=0.5, channel_axis=2, reference=y,
    )  # fmt: skip
    page = path.read_text()
    shown = embedded(page, "img-restored")
    assert shown.shape == (96, 96, 3)
    np.testing.assert_array_equal(shown, as_shown(x))  # clipped to [0, 1]
    assert "\u221e (identical)" in section(page, "quality")  # the input is its own reference
    for a, b in zip(before, (y, x, k), strict=True):
        np.testing.assert_array_equal(a, b)
    assert y.dtype == np.float32


def test_channels_first_and_integer_images(tmp_path, astronaut):
    rgb8 = np.round(astronaut * 255).astype(np.uint8)
    first = np.moveaxis(rgb8, -1, 0)
    path = write_report(
        tmp_path / "i.html", blurred=first, restored=first, psf=psf.disk(radius=2),
        method="m", parameters={"balance": np.float32(0.25)}, seconds=2.0, channel_axis=0,
    )  # fmt: skip
    page = path.read_text()
    np.testing.assert_array_equal(embedded(page, "img-blurred"), rgb8)
    assert "<td>0.25</td>" in page and "2.00 s" in page


def test_stack_shows_its_central_slice(tmp_path, stack):
    k = psf.gaussian(sigma=(1.0, 1.5, 1.5), size=(5, 7, 7))
    y = unblur.blur(stack, k, boundary="reflect")
    path = write_report(
        tmp_path / "s.html", blurred=y, restored=stack, psf=k, method="m", parameters={},
        seconds=0.1, reference=stack,
    )  # fmt: skip
    page = path.read_text()
    np.testing.assert_array_equal(embedded(page, "img-blurred"), as_shown(y[8]))
    np.testing.assert_array_equal(embedded(page, "img-reference"), as_shown(stack[8]))
    assert "central slice (axis 0 = 8)" in page
    assert "PSF 5\u00d77\u00d77" in page


def test_large_images_are_averaged_down(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.random((2 * REPORT_MAX_SIDE + 6, 40))
    path = write_report(
        tmp_path / "l.html", blurred=y, restored=y, psf=np.ones((3, 3)) / 9, method="m",
        parameters={}, seconds=0.1,
    )  # fmt: skip
    shown = embedded(path.read_text(), "img-blurred")
    factor = 3  # ceil(2054 / 1024): 3 x 3 blocks, the incomplete ones at the end dropped
    blocks = y[: 684 * factor, :39].reshape(684, factor, 13, factor).mean((1, 3))
    assert shown.shape == (684, 13)
    np.testing.assert_array_equal(shown, as_shown(blocks))


def test_zero_and_tiny_images_give_no_nan(tmp_path):
    zeros = np.zeros((6, 6))
    k = np.zeros((3, 3))
    k[1, 1] = 1
    monitor = ConvergenceMonitor(zeros)
    for i in (1, 2):
        monitor(i, zeros)
    path = write_report(
        tmp_path / "z.html", blurred=zeros, restored=zeros, psf=k, method="m",
        parameters={"x": float("inf")}, seconds=0.0, reference=zeros, convergence=monitor,
    )  # fmt: skip
    text = text_only(path.read_text())
    assert not re.search(r"\bnan\b", text, flags=re.I)
    assert "n/a (image smaller than the SSIM window)" in text


def test_overwrite_rules_and_atomic_write(tmp_path, scene):
    _, y, k = scene
    y = y[:32, :32]
    args = {"blurred": y, "restored": y, "psf": k, "method": "m", "parameters": {}, "seconds": 1}
    path = write_report(tmp_path / "r.html", **args)
    first = path.read_bytes()
    with pytest.raises(ImageWriteError, match="already exists; use force=True"):
        write_report(path, **args, title="second")
    assert path.read_bytes() == first
    write_report(path, **args, title="second", force=True)
    assert "<title>second</title>" in path.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]  # no temporary file left
    with pytest.raises(ImageWriteError, match=r"must be a \.html or \.htm file"):
        write_report(tmp_path / "r.png", **args)
    with pytest.raises(ImageWriteError, match="does not exist"):
        write_report(tmp_path / "missing" / "r.html", **args)


@pytest.mark.parametrize(
    ("change", "error", "fragment"),
    [
        ({"restored": np.zeros((64, 64))}, InvalidParameterError, "the restored image has shape"),
        ({"reference": np.zeros((64, 64))}, InvalidParameterError, "the reference has shape 64"),
        ({"channel_axis": 5}, InvalidParameterError, "channel_axis 5 is out of range"),
        ({"convergence": [1, 2]}, InvalidParameterError, "must be a ConvergenceMonitor"),
        ({"seconds": "fast"}, InvalidParameterError, "seconds must be a number"),
        ({"blurred": np.full((128, 128), np.nan)}, InvalidImageError, "NaN"),
    ],
)
def test_validation(tmp_path, scene, change, error, fragment):
    _, y, k = scene
    args = {"blurred": y, "restored": y, "psf": k, "method": "m", "parameters": {}, "seconds": 1}
    with pytest.raises(error, match=fragment):
        write_report(tmp_path / "r.html", **(args | change))
    assert not (tmp_path / "r.html").exists()


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------
def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], prog_name="unblur")


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory, scene):
    x, y, _ = scene
    d = tmp_path_factory.mktemp("cli")
    np.save(d / "blurred.npy", y)
    np.save(d / "sharp.npy", x)
    np.save(d / "small.npy", x[:64, :64])
    return d


def test_cli_report_end_to_end(cli_files, tmp_path, scene):
    x, y, k = scene
    result = invoke(
        "deconvolve", cli_files / "blurred.npy", "-o", tmp_path / "r.npy",
        "--psf", "gaussian:sigma=2", "-m", "richardson_lucy", "-p", "num_iter=6",
        "--report", tmp_path / "report.html", "--reference", cli_files / "sharp.npy",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"wrote {tmp_path / 'report.html'} (report)" in result.stdout
    restored = np.load(tmp_path / "r.npy")
    expected = unblur.deconvolve(y, k, "richardson_lucy", num_iter=6)
    np.testing.assert_allclose(restored, expected, atol=1e-12)
    page = (tmp_path / "report.html").read_text()
    text = text_only(page)
    assert "<title>unblur report: richardson_lucy</title>" in text
    assert "<th scope='row'>num_iter</th><td>6</td><td>given</td>" in text
    assert f"{psnr(restored, x):.2f} dB" in section(text, "quality")
    assert "6 iterations" in section(text, "convergence")
    assert "<td>gaussian:sigma=2</td>" in section(text, "run")
    np.testing.assert_array_equal(embedded(page, "img-restored"), as_shown(restored))


def test_cli_report_json_and_colour(tmp_path, astronaut):
    write_image(tmp_path / "in.png", astronaut, dtype="uint8")
    result = invoke(
        "deconvolve", tmp_path / "in.png", "-o", tmp_path / "out.png", "--psf",
        "gaussian:sigma=1", "--report", tmp_path / "rep.html", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert '"report": "' in result.stdout and "wrote" not in result.stdout
    page = (tmp_path / "rep.html").read_text()
    rgb, _ = read_image(tmp_path / "in.png")
    np.testing.assert_array_equal(embedded(page, "img-blurred"), as_shown(rgb))
    assert "(channels on axis 2)" in page
    assert "<td>automatic (-m auto)</td>" in page


@pytest.mark.parametrize(
    ("extra", "code", "fragment"),
    [
        (["--reference", "sharp.npy"], 2, "--reference is used by the report"),
        (["--report", "rep.png"], 2, "must be an .html file"),
        (["--report", "rep.html", "--reference", "small.npy"], 1, "is 64x64 but"),
        (["--report", "rep.html", "--reference", "r.npy"], 1, "refusing to overwrite the input"),
    ],
)
def test_cli_report_errors(cli_files, tmp_path, monkeypatch, extra, code, fragment):
    monkeypatch.chdir(cli_files)
    out = tmp_path / "r.npy"
    extra = [str(out) if e == "r.npy" else e for e in extra]  # the output as reference
    result = invoke("deconvolve", "blurred.npy", "-o", out, "--psf", "gaussian:sigma=2", *extra)
    assert result.exit_code == code, result.output
    assert fragment in result.stderr
    assert not out.exists() and not (cli_files / "rep.html").exists()


def test_cli_refuses_an_existing_report_before_working(cli_files, tmp_path):
    (tmp_path / "rep.html").write_text("keep me")
    result = invoke(
        "deconvolve", cli_files / "blurred.npy", "-o", tmp_path / "r.npy", "--psf",
        "gaussian:sigma=2", "--report", tmp_path / "rep.html",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "exists; use --force" in result.stderr
    assert (tmp_path / "rep.html").read_text() == "keep me"
    assert not (tmp_path / "r.npy").exists()


# --------------------------------------------------------------------------------------------
# a real browser
# --------------------------------------------------------------------------------------------
#: appended to a copy of the report: moves the slider as the arrow keys would, records the
#: result, then breaks things on purpose (a script error and an undecodable image)
_PROBE = """
<script>
var range = document.querySelector("#compare input");
range.value = 25;
range.dispatchEvent(new Event("input"));
document.body.setAttribute("data-pos",
  document.getElementById("compare").style.getPropertyValue("--pos"));
document.body.setAttribute("data-clip",
  getComputedStyle(document.querySelector("#compare .c-after")).clipPath);
</script>
<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB" alt="broken">
<script>notDefinedAnywhere();</script>
"""


def test_report_in_headless_chromium(report, tmp_path):
    path, page = report
    dom, stderr = run_browser(path, tmp_path / "profile")
    body = re.search(r"<body([^>]*)>", dom).group(1)
    total = len(DATA_URI.findall(page)) + 2  # the slider shows two of them again
    assert f'data-images-total="{total}"' in body
    assert f'data-images-ok="{total}"' in body
    assert "data-js-error" not in re.search(r"<html[^>]*>", dom).group(0)
    assert console_errors(stderr) == []
    compare = re.search(r"<div id=\"compare\"[^>]*>", dom).group(0)
    assert "hidden" not in compare and "--pos: 50%" in compare  # the script ran

    # a screenshot of the page: the window's size, and not blank; kept for the README with
    # UNBLUR_UPDATE_DOCS=1
    shot = take_screenshot(path, tmp_path / "report.png", tmp_path / "profile_shot")
    with Image.open(shot) as im:
        assert im.size == SCREENSHOT_SIZE
        pixels = np.asarray(im.convert("L"), dtype=np.float64)
    assert pixels.std() > 10  # images and text, not an empty page
    small = small_png(shot, tmp_path / "report_small.png")
    assert small.stat().st_size < 200_000
    if os.environ.get("UNBLUR_UPDATE_DOCS") == "1":
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(small, DOCS_SCREENSHOT)

    # the same checks catch a broken page, and the slider follows its input
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    dom, stderr = run_browser(probe, tmp_path / "profile2")
    body = re.search(r"<body([^>]*)>", dom).group(1)
    assert f'data-images-total="{total + 1}"' in body
    assert f'data-images-ok="{total}"' in body
    assert 'data-pos="25%"' in body
    assert 'data-clip="inset(0px 0px 0px 25%)"' in body
    assert "notDefinedAnywhere" in re.search(r'data-js-error="([^"]*)"', dom).group(1)
    assert any("notDefinedAnywhere" in line for line in console_errors(stderr))


# --------------------------------------------------------------------------------------------
# the page template: package data
# --------------------------------------------------------------------------------------------
def test_page_template_files_are_package_data_and_inlined(report):
    import fnmatch
    import tomllib

    from unblur.report import page as page_module

    folder = Path(page_module.__file__).parent / "templates"
    files = sorted(p.name for p in folder.iterdir())
    assert files == sorted(page_module.TEMPLATES)
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    globs = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["package-data"]
    shipped = globs["unblur.report"]
    for name in files:  # every template file is in the wheel
        assert any(fnmatch.fnmatch(f"templates/{name}", g) for g in shipped), name
    _, text = report
    for name in ("report.css", "guard.js", "report.js"):  # inlined whole, placeholders filled
        assert page_module.template(name) in text
    assert "${" not in text_only(text)
    with pytest.raises(ValueError, match="unknown report template"):
        page_module.template("../../../etc/passwd")


# --------------------------------------------------------------------------------------------
# the inline SVG charts
# --------------------------------------------------------------------------------------------
def test_svg_ticks_and_points_are_placed_exactly():
    from unblur.report._svg import Series, _log_ticks, colour_map, line_plot, nice_ticks

    assert nice_ticks(0, 0.93) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(1, 12) == [0.0, 5.0, 10.0, 15.0]
    assert nice_ticks(-3, 3) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert _log_ticks(2e-4, 0.3) == [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    assert _log_ticks(0.02, 0.09) == [0.01, 0.02, 0.05, 0.1]
    # x 0..10 and y 0..1 fill the plot area: (0, 0) is its bottom-left corner, (10, 1) top-right
    svg = line_plot([Series([0, 5, 10], [0, float("nan"), 1], label="a<b")], title="t",
                    xlabel="x", width=440, height=280)  # fmt: skip
    runs = re.findall(r"<polyline points='([^']*)'", svg)
    assert runs == ["62.0,236.0", "428.0,26.0"]  # split at the NaN
    assert "a&lt;b" in svg and "a<b" not in svg
    log = line_plot([Series([1, 2, 3], [1e-3, 0.0, 1e-1])], title="t", xlabel="x", log_y=True)
    assert len(re.findall("<polyline", log)) == 2  # zero is off a log axis
    rgb = colour_map(np.array([-1.0, 0.0, 1.0, 2.0]), 0.0, 1.0)
    assert rgb.dtype == np.uint8 and rgb[0].tolist() == rgb[1].tolist() == [0, 0, 4]
    assert rgb[2].tolist() == rgb[3].tolist() == [252, 253, 191]


# --------------------------------------------------------------------------------------------
# the PNG files of the embedded pictures
# --------------------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(
    height=st.integers(1, 40),
    width=st.integers(1, 40),
    channels=st.sampled_from([None, 3, 4]),
    seed=st.integers(0, 2**16),
    flat=st.booleans(),
)
def test_png_bytes_decode_to_the_exact_pixels(height, width, channels, seed, flat):
    from unblur.report._display import png_bytes

    shape = (height, width) if channels is None else (height, width, channels)
    rng = np.random.default_rng(seed)
    img = np.full(shape, 200, np.uint8) if flat else rng.integers(0, 256, shape, dtype=np.uint8)
    with Image.open(io.BytesIO(png_bytes(img))) as decoded:
        decoded.load()  # Pillow checks every chunk's CRC and the zlib stream
        assert decoded.format == "PNG"
        np.testing.assert_array_equal(np.asarray(decoded).reshape(shape), img)


def test_png_bytes_compress_flat_areas_and_keep_other_types():
    from unblur.report._display import png_bytes

    assert len(png_bytes(np.zeros((512, 512, 3), np.uint8))) < 5000  # 786 432 bytes of pixels
    wide = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)
    with Image.open(io.BytesIO(png_bytes(wide))) as decoded:
        np.testing.assert_array_equal(np.asarray(decoded), wide)
