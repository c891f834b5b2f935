"""The report's cheaper passes give what the direct computations give (issue 20).

The convergence monitor records by one compiled pass when Numba is loaded and by NumPy
otherwise; the spectra are computed in the plane's own precision. Both are compared here with
float64 computations written out directly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from unblur.report import ConvergenceMonitor, _display, _sections
from unblur.report import monitor as monitor_module


def _direct(estimates, reference):
    """The monitor's record, computed in float64 from its definition."""
    change, values = [], []
    for k, x in enumerate(estimates):
        x64 = np.asarray(x, np.float64)
        if k:
            diff = x64 - np.asarray(estimates[k - 1], np.float64)
            change.append(math.sqrt(np.sum(diff**2)) / math.sqrt(np.sum(x64**2)))
        if reference is not None:
            mse = np.mean((x64 - np.asarray(reference, np.float64)) ** 2)
            values.append(10 * math.log10(1 / mse))
    return change, values


@pytest.fixture(params=["compiled", "numpy"])
def path(request, monkeypatch):
    if request.param == "compiled":
        pytest.importorskip("numba")
        monkeypatch.delenv("UNBLUR_NO_NUMBA", raising=False)
        assert monitor_module._compiled_pass() is not None
    else:
        monkeypatch.setattr(monitor_module, "_compiled_pass", lambda: None)
    return request.param


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("with_reference", [True, False])
def test_monitor_matches_the_direct_computation(path, dtype, with_reference):
    rng = np.random.default_rng(3)
    reference = rng.random((67, 45)).astype(dtype)
    estimates = [
        (reference + 0.3 * 0.5**k * rng.standard_normal(reference.shape)).astype(dtype)
        for k in range(6)
    ]
    monitor = ConvergenceMonitor(reference if with_reference else None)
    for i, x in enumerate(estimates, start=1):
        monitor(i, x)
    change, values = _direct(estimates, reference if with_reference else None)
    trace = monitor.traces[0]
    assert trace.iterations == [1, 2, 3, 4, 5, 6]
    rel = 1e-5 if dtype == np.float32 else 1e-12
    assert trace.relative_change == pytest.approx(change, rel=rel)
    assert trace.psnr == pytest.approx(values, rel=rel)
    # the estimates were not touched, and the monitor kept its own copy of the last one
    assert np.array_equal(monitor._previous, estimates[-1])
    assert monitor._previous is not estimates[-1]


def test_monitor_colour_channels_and_strided_estimates(path):
    rng = np.random.default_rng(4)
    reference = rng.random((3, 40, 30)).astype(np.float32)
    stacks = [reference + 0.1 * 0.5**k * rng.standard_normal(reference.shape) for k in range(4)]
    stacks = [s.astype(np.float32) for s in stacks]
    monitor = ConvergenceMonitor(reference, channel_axis=0)
    for c in range(3):
        for i, s in enumerate(stacks, start=1):
            monitor(i, s[c][:, ::-1][:, ::-1])  # a view with strides: the NumPy path
    assert len(monitor.traces) == 3
    for c, trace in enumerate(monitor.traces):
        change, values = _direct([s[c] for s in stacks], reference[c])
        assert trace.relative_change == pytest.approx(change, rel=1e-5)
        assert trace.psnr == pytest.approx(values, rel=1e-5)


def test_monitor_identical_estimates_and_reference(path):
    x = np.full((16, 16), 0.5, np.float32)
    monitor = ConvergenceMonitor(x.copy())
    for i in (1, 2, 3):
        monitor(i, x)
    assert monitor.traces[0].relative_change == [0.0, 0.0]
    assert monitor.traces[0].psnr == [math.inf] * 3


def test_spectrum_in_float32_matches_float64():
    rng = np.random.default_rng(5)
    smooth = np.cumsum(np.cumsum(rng.standard_normal((300, 257)), 0), 1)
    plane = ((smooth - smooth.min()) / np.ptp(smooth)).astype(np.float32)
    single = _sections.log_spectrum(plane)
    double = _sections.log_spectrum(plane.astype(np.float64))
    assert single.dtype == np.float32 and double.dtype == np.float64
    assert single.shape == double.shape
    # float32 values carry about 7 digits: within 5 decades of the peak the two agree to 1e-3
    # (in log10), below it to 5e-3, far under one level of the 8-bit colour map (~0.02)
    near = double > double.max() - 5
    assert near.mean() > 0.95
    assert np.max(np.abs(single[near] - double[near])) < 1e-3
    assert np.max(np.abs(single - double)) < 5e-3


@pytest.mark.parametrize("shape", [(7, 5), (6, 8), (9, 1), (1, 9), (64, 33), (33, 64)])
def test_spectrum_from_the_half_plane_equals_the_full_transform(shape):
    """The half plane of the real transform and its Hermitian mirror give the magnitudes of the
    full complex transform at every frequency, for even and odd sides."""
    import scipy.fft

    plane = np.random.default_rng(7).random(shape)
    h, w = shape
    centred = plane - plane.mean()
    if min(shape) > 1:
        centred = centred * np.hanning(h)[:, None] * np.hanning(w)[None, :]
    full = np.abs(np.fft.fftshift(scipy.fft.fft2(centred)))
    floor = max(full.max() * 1e-12, np.finfo(np.float64).tiny)
    expected = np.log10(np.maximum(full, floor))
    got = _sections.log_spectrum(plane)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


def test_grey_plane_keeps_float32_and_averages_channels():
    rng = np.random.default_rng(6)
    image = rng.random((20, 24, 3)).astype(np.float32)
    plane, note = _display.grey_plane(image, -1)
    assert plane.dtype == np.float32 and note == "mean of the channels"
    assert np.allclose(plane, image.astype(np.float64).mean(axis=-1), atol=1e-6)
    plane, _ = _display.grey_plane(image[..., 0].astype(np.float64), None)
    assert plane.dtype == np.float64


def test_monitor_estimate_changing_dtype_starts_a_fresh_change_record():
    """An estimate that changes dtype (same shape) within a channel: the previous estimate is
    kept in the new dtype, so no change is measured against it for that iteration (as the
    compiled pass does) and the next change is measured against the new estimate."""
    x32 = np.full((64, 64), 0.25, np.float32)
    x64 = np.full((64, 64), 0.5, np.float64)
    monitor = ConvergenceMonitor(reference=np.full((64, 64), 0.5))
    monitor(1, x32)
    monitor(2, x64)
    monitor(3, x64)
    trace = monitor.traces[0]
    assert trace.iterations == [1, 2, 3]
    assert trace.relative_change == [0.0]  # iteration 3 against 2; none for the new dtype
    assert trace.psnr[1:] == [math.inf, math.inf]


# --- the input's and the reference's PNG files embedded as they are --------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_eight_bit_samples_come_back_as_the_same_picture(dtype):
    """``display_image`` of ``u / 255`` is ``u`` for every 8-bit value (what makes an 8-bit
    file the picture of the array read from it)."""
    u = np.arange(256, dtype=np.uint8).reshape(16, 16)
    shown, _ = _display.display_image((u / dtype(255)).astype(dtype), None)
    np.testing.assert_array_equal(shown, u)
    rgb = np.stack([u, u.T, 255 - u], axis=-1)
    shown, _ = _display.display_image((rgb / dtype(255)).astype(dtype), -1)
    np.testing.assert_array_equal(shown, rgb)


def _png_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    import struct

    out, at = [], 8
    while at < len(png):
        length, kind = struct.unpack_from(">I4s", png, at)
        out.append((kind, png[at : at + 12 + length]))
        at += 12 + length
    return out


def _with_chunk(png: bytes, kind: bytes, data: bytes) -> bytes:
    """``png`` with a chunk inserted after its header (CRC and all)."""
    import struct
    import zlib

    chunk = struct.pack(">I", len(data)) + kind + data
    chunk += struct.pack(">I", zlib.crc32(kind + data))
    return png[:33] + chunk + png[33:]


def test_png_shows_takes_plain_eight_bit_files_of_the_picture_only():
    import imagecodecs

    grey = np.random.default_rng(8).integers(0, 256, (20, 30), dtype=np.uint8)
    png = imagecodecs.png_encode(grey)
    assert _display.png_shows(png, (20, 30))
    assert {k for k, _ in _png_chunks(png)} == {b"IHDR", b"IDAT", b"IEND"}
    assert _display.png_shows(_with_chunk(png, b"tEXt", b"Software\0test"), (20, 30))
    assert _display.png_shows(_with_chunk(png, b"pHYs", bytes(9)), (20, 30))
    for kind in (b"gAMA", b"iCCP", b"sRGB", b"cHRM", b"tRNS", b"eXIf", b"acTL", b"abcD"):
        assert not _display.png_shows(_with_chunk(png, kind, bytes(4)), (20, 30)), kind
    assert not _display.png_shows(png, (30, 20))  # another size
    assert not _display.png_shows(png, (20, 30, 3))  # not RGB
    assert not _display.png_shows(png[:-12], (20, 30))  # no IEND
    assert not _display.png_shows(png + b"\0", (20, 30))  # something after it
    assert not _display.png_shows(b"GIF89a" + png[6:], (20, 30))
    rgb = np.stack([grey] * 3, axis=-1)
    assert _display.png_shows(imagecodecs.png_encode(rgb), (20, 30, 3))
    assert not _display.png_shows(imagecodecs.png_encode(rgb), (20, 30))
    assert not _display.png_shows(imagecodecs.png_encode(grey.astype(np.uint16) * 257), (20, 30))
    rgba = np.concatenate([rgb, grey[..., None]], axis=-1)
    assert not _display.png_shows(imagecodecs.png_encode(rgba), (20, 30, 3))


def _embedded(page: str) -> dict[str, bytes]:
    import base64
    import re

    return {
        m.group(1): base64.b64decode(m.group(2))
        for m in re.finditer(
            r"<img id='(img-[a-z]+)'[^>]* src='data:image/png;base64,([^']*)'", page
        )
    }


@pytest.mark.parametrize("colour", [False, True])
def test_cli_report_embeds_the_png_files_read_and_shows_the_same_pixels(tmp_path, colour):
    """``deconvolve --report --reference`` of 8-bit PNGs: the page holds the two files as they
    are, and they decode to the pictures the arrays would have been encoded to."""
    import io

    from conftest import invoke
    from PIL import Image

    import unblur
    from unblur.io import read_image, write_image

    rng = np.random.default_rng(9)
    shape = (48, 40, 3) if colour else (48, 40)
    from scipy import ndimage

    x = np.clip(ndimage.gaussian_filter(rng.random(shape), 1.5) * 3 - 1, 0, 1)
    axis = -1 if colour else None
    y = np.clip(unblur.blur(x, unblur.psf.gaussian(sigma=1.5), channel_axis=axis), 0, 1)
    write_image(tmp_path / "x.png", x, dtype="uint8")
    write_image(tmp_path / "y.png", y, dtype="uint8")
    out = tmp_path / "r.html"
    result = invoke("deconvolve", str(tmp_path / "y.png"), "-o", str(tmp_path / "r.png"),
                    "--psf", "gaussian:sigma=1.5", "-m", "richardson_lucy", "--report", str(out),
                    "--reference", str(tmp_path / "x.png"))  # fmt: skip
    assert result.exit_code == 0, result.output
    pictures = _embedded(out.read_text(encoding="utf-8"))
    assert set(pictures) == {"img-blurred", "img-restored", "img-reference"}
    for id_, name in (("img-blurred", "y.png"), ("img-reference", "x.png")):
        assert pictures[id_] == (tmp_path / name).read_bytes()
        data, _ = read_image(tmp_path / name)
        expected, _ = _display.display_image(data, axis)  # what used to be encoded
        with Image.open(io.BytesIO(pictures[id_])) as decoded:
            np.testing.assert_array_equal(np.asarray(decoded), expected)


def test_cli_report_encodes_a_reference_it_crops(tmp_path, monkeypatch):
    """The sharp original of a 'valid' blur is compared (and shown) cropped: its file is not
    the picture, so the picture is encoded."""
    from conftest import invoke

    import unblur
    from unblur.io import write_image

    monkeypatch.chdir(tmp_path)
    x = np.random.default_rng(10).random((40, 48))
    k = unblur.psf.gaussian(1.5, size=(7, 7))
    np.save("k.npy", k)
    write_image("x.png", x, dtype="uint8")
    write_image("y.png", np.clip(unblur.blur(x, k, boundary="valid"), 0, 1), dtype="uint8")
    result = invoke("deconvolve", "y.png", "-o", "r.png", "--psf", "k.npy", "-m", "wiener",
                    "--report", "r.html", "--reference", "x.png")  # fmt: skip
    assert result.exit_code == 0, result.output
    pictures = _embedded(open("r.html", encoding="utf-8").read())
    assert pictures["img-blurred"] == open("y.png", "rb").read()
    assert pictures["img-reference"] != open("x.png", "rb").read()
    assert _display.png_shows(pictures["img-reference"], (34, 42))


def test_write_report_refuses_unknown_png_files(tmp_path):
    from unblur.errors import InvalidParameterError
    from unblur.report import write_report

    x = np.zeros((16, 16))
    with pytest.raises(
        InvalidParameterError, match="png_files maps 'blurred', 'restored' and 'reference'"
    ):
        write_report(tmp_path / "r.html", blurred=x, restored=x, psf=np.ones((1, 1)),
                     method="wiener", parameters={}, seconds=0.1,
                     png_files={"output": b""})  # fmt: skip


@pytest.mark.parametrize("colour", [False, True])
@pytest.mark.parametrize("output", ["r.png", "r16.png", "r.tif"])
def test_cli_report_shows_the_restored_png_it_writes(tmp_path, monkeypatch, colour, output):
    """An 8-bit PNG output is the report's restored picture, embedded as written (not
    encoded a second time) and decoding to the picture of the restored array; a 16-bit PNG or
    a TIFF output is not, and the picture is encoded."""
    import io

    from conftest import invoke
    from PIL import Image

    import unblur
    import unblur.report
    from unblur.io import write_image

    seen = {}
    original = unblur.report.write_report

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(unblur.report, "write_report", spy)
    rng = np.random.default_rng(17)
    shape = (40, 44, 3) if colour else (40, 44)
    x = rng.random(shape)
    axis = -1 if colour else None
    y = np.clip(unblur.blur(x, unblur.psf.gaussian(sigma=1.2), channel_axis=axis), 0, 1)
    write_image(tmp_path / "y.png", y, dtype="uint8")
    extra = ["--dtype", "uint16"] if output == "r16.png" else []
    result = invoke("deconvolve", str(tmp_path / "y.png"), "-o", str(tmp_path / output),
                    "--psf", "gaussian:sigma=1.2", "-m", "richardson_lucy", "--report",
                    str(tmp_path / "r.html"), *extra)  # fmt: skip
    assert result.exit_code == 0, result.output
    picture = _embedded((tmp_path / "r.html").read_text(encoding="utf-8"))["img-restored"]
    expected, _ = _display.display_image(seen["restored"], axis)
    with Image.open(io.BytesIO(picture)) as decoded:
        np.testing.assert_array_equal(np.asarray(decoded), expected)
    written = (tmp_path / output).read_bytes()
    assert (picture == written) == (output == "r.png")
    assert ("restored" in seen["png_files"]) == output.endswith(".png")  # 16 bits: refused


# --- the spectra's block means and colour map --------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("shape", "factor"), [((1024, 1024), 3), ((30, 47), 2), ((9, 9), 4)])
def test_block_mean_matches_the_mean_of_the_reshaped_blocks(dtype, shape, factor):
    a = (np.random.default_rng(11).random(shape) ** 4 * 1e3).astype(dtype)
    h, w = (n // factor * factor for n in shape)
    direct = a[:h, :w].astype(np.float64).reshape(h // factor, factor, w // factor, factor)
    got = _sections.block_mean(a, factor)
    assert got.dtype == dtype and got.shape == (h // factor, w // factor)
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(got, direct.mean((1, 3)), rtol=rtol)


def test_colour_map_equals_interpolating_its_anchors():
    """The colour map by segment and fraction gives np.interp's values, to the bit before
    rounding, so the same 8-bit colours (on a dense ramp, the anchors themselves, and values
    beyond both ends)."""
    from unblur.report import _svg

    stops = np.array([s for s, _ in _svg._MAP_ANCHORS])
    assert np.array_equal(stops, np.linspace(0, 1, len(stops)))  # what the shortcut assumes
    rgb = np.array([c for _, c in _svg._MAP_ANCHORS], np.float64)
    for low, high in [(0.0, 4.0), (-0.3, 3.7), (1.234, 2.5), (2.0, 2.0)]:
        values = np.concatenate(
            [np.linspace(low - 1, high + 1, 200_001), low + (high - low) * stops, [np.inf]]
        )
        t = np.clip((values - low) / ((high - low) or 1.0), 0, 1)
        expected = np.round(np.stack([np.interp(t, stops, rgb[:, c]) for c in range(3)], -1))
        np.testing.assert_array_equal(_svg.colour_map(values, low, high), expected)


@pytest.mark.parametrize("with_reference", [True, False])
@pytest.mark.parametrize("shape", [(70, 90), (3, 40_000), (200, 7)])
def test_monitor_on_views_with_gaps_between_rows(path, with_reference, shape):
    """Views of a padded grid (rows not contiguous, as a solver's cropped working array;
    rows longer than a block too) give the direct computation's record, and the monitor's
    own copy of the last one."""
    rng = np.random.default_rng(13)
    reference = rng.random(shape).astype(np.float32)
    grids = [
        np.pad(reference + 0.2 * 0.5**k * rng.standard_normal(shape), 3).astype(np.float32)
        for k in range(4)
    ]
    views = [g[3:-3, 3:-3] for g in grids]
    assert not views[0].flags.c_contiguous
    monitor = ConvergenceMonitor(reference if with_reference else None)
    for i, v in enumerate(views, start=1):
        monitor(i, v)
    change, values = _direct(views, reference if with_reference else None)
    trace = monitor.traces[0]
    assert trace.relative_change == pytest.approx(change, rel=1e-5)
    assert trace.psnr == pytest.approx(values, rel=1e-5)
    np.testing.assert_array_equal(monitor._previous, views[-1])


def test_monitor_borrows_only_when_it_and_its_callback_only_read(monkeypatch):
    monkeypatch.setattr(monitor_module._numba, "loaded", lambda: False)
    assert ConvergenceMonitor().borrows_estimate

    def reader(i, x):
        pass

    assert not ConvergenceMonitor(callback=reader).borrows_estimate
    reader.borrows_estimate = True
    assert ConvergenceMonitor(callback=reader).borrows_estimate
    monkeypatch.setattr(monitor_module._numba, "loaded", lambda: True)  # the compiled pass
    assert not ConvergenceMonitor().borrows_estimate  # wants the loop's contiguous copy


def test_write_report_gives_its_scores_to_the_caller(tmp_path):
    """``info["quality"]`` holds the PSNR and SSIM the page shows, as the metrics give them
    (the CLI's JSON summary takes the restored PSNR from there instead of computing it again)."""
    from unblur.metrics import psnr, ssim, ssim_many
    from unblur.report import write_report

    rng = np.random.default_rng(14)
    ref = rng.random((40, 36)).astype(np.float32)
    y = (ref + 0.1 * rng.standard_normal(ref.shape)).astype(np.float32)
    x = (ref + 0.05 * rng.standard_normal(ref.shape)).astype(np.float32)
    info: dict = {}
    write_report(tmp_path / "r.html", blurred=y, restored=x, psf=np.ones((1, 1)),
                 method="wiener", parameters={}, seconds=0.1, reference=ref,
                 info=info)  # fmt: skip
    ssim_y, ssim_x = ssim_many([y, x], ref, precision="single")  # float32 images
    assert info["quality"] == {"input": (psnr(y, ref), ssim_y), "restored": (psnr(x, ref), ssim_x)}
    assert ssim_x == pytest.approx(ssim(x, ref), abs=1e-5)
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert f"{psnr(x, ref):.2f} dB" in page and f"{ssim_x:.4f}" in page
    info = {}
    write_report(tmp_path / "s.html", blurred=y, restored=x, psf=np.ones((1, 1)),
                 method="wiener", parameters={}, seconds=0.1, info=info)  # fmt: skip
    assert info == {}


@pytest.mark.parametrize("shape", [(1, 11, 11), (1, 100, 300), (3, 213, 70), (2, 75, 40)])
@pytest.mark.parametrize("estimates", [1, 2])
def test_banded_ssim_in_groups_of_strips_equals_strip_by_strip(monkeypatch, shape, estimates):
    """The pass along the rows over up to four strips at once gives the sums of one strip at a
    time (the same products per output value)."""
    from unblur import _ssim

    rng = np.random.default_rng(15)
    ref = rng.random(shape)
    ests = [rng.random(shape) for _ in range(estimates)]
    window = _ssim.gaussian_window()
    grouped = _ssim.ssim_sums_banded(ref, ests, 1e-4, 9e-4, window)
    monkeypatch.setattr(_ssim, "_GROUP", 1)
    single = _ssim.ssim_sums_banded(ref, ests, 1e-4, 9e-4, window)
    for a, b in zip(grouped, single, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13)


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("shape", [(64, 80), (48, 40, 3)])
def test_single_precision_ssim_is_within_a_few_millionths_of_double(monkeypatch, compiled, shape):
    """``ssim_many(..., precision="single")`` (the report's SSIM) filters in float32: on
    float32 images in [0, 1] it stays within 1e-5 of the float64 figure on both 2-D paths, a
    float64 image is computed in float64 either way, and a wrong precision is refused."""
    from unblur import metrics
    from unblur.errors import InvalidParameterError

    if compiled and not metrics._compiled_pays(1 << 30):
        pytest.skip("Numba is not available")
    monkeypatch.setattr(metrics, "_compiled_pays", lambda values: compiled)
    rng = np.random.default_rng(16)
    ref = rng.random(shape).astype(np.float32)
    smooth = 0.5 + 0.3 * np.sin(np.arange(shape[1]) / 5.0)  # flat regions: small variances
    ref[: shape[0] // 2] = np.broadcast_to(
        smooth[:, None] if len(shape) == 3 else smooth, ref[: shape[0] // 2].shape
    )
    ests = [(ref + s * rng.standard_normal(shape)).clip(0, 1).astype(np.float32)
            for s in (0.002, 0.1)]  # fmt: skip
    axis = -1 if len(shape) == 3 else None
    double = metrics.ssim_many(ests, ref, channel_axis=axis)
    single = metrics.ssim_many(ests, ref, channel_axis=axis, precision="single")
    np.testing.assert_allclose(single, double, rtol=0, atol=1e-5)
    assert single != double  # computed in float32 indeed
    wide = [e.astype(np.float64) for e in ests]
    assert metrics.ssim_many(wide, ref.astype(np.float64), channel_axis=axis,
                             precision="single") == pytest.approx(double, abs=1e-12)  # fmt: skip
    with pytest.raises(InvalidParameterError, match="precision must be 'double' or 'single'"):
        metrics.ssim_many(ests, ref, channel_axis=axis, precision="half")


def test_deferred_pictures_write_the_page_as_the_inline_text_would_be():
    """The page written with deferred payloads is, byte for byte, the page with the ``data:``
    URIs inline; text that only looks like a marker (another object's, or a user's) stays."""
    import io

    rng = np.random.default_rng(19)
    pngs = [_display.png_bytes(rng.integers(0, 256, (9, 7), dtype=np.uint8)) for _ in range(3)]
    deferred, other = _display.DeferredPictures(), _display.DeferredPictures()
    foreign = other.uri(pngs[0])
    uris = [deferred.uri(png) for png in pngs]
    template = "<p>é {0}</p><img src='{1}'><img src='{2}'>{0}<img src='{3}'> @picture-x-0@"
    page = template.format(foreign, *uris)
    out = io.BytesIO()
    deferred.write(out, page)
    inline = template.format(foreign, *(_display.png_data_uri(png) for png in pngs))
    assert out.getvalue() == inline.encode("utf-8")
    assert all(len(u) < 60 for u in uris)  # the text holds markers, not payloads
