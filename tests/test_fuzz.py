"""Fuzzing the readers and the PSF spec parser, and the table of bad inputs (issue 7).

* Valid PNG, 16-bit PNG, JPEG, BMP, GIF, TIFF (float, LZW, JPEG-compressed, a stack) and
  ``.npy`` files, cut short at any point or with bytes flipped anywhere (hypothesis chooses
  where): :func:`unblur.io.read_image` and :func:`unblur.psf.from_file` either read a finite
  image or raise one :class:`UnblurError` with a one-line message; never another exception,
  never a hang (a thread with a time limit guards every call).
* :func:`unblur.psf.parse_spec` on arbitrary text and on structured ``MODEL:key=value`` specs
  with odd keys and values: a normalised PSF or one ``UnblurError``.
* Every case of ``unblur._bad_inputs`` (API and command line) gives its error, leaves every
  file as it was and runs no payload, and
  ``docs/bad_inputs.md`` is what ``docs/make_bad_inputs.py`` writes from them.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unblur import psf as upsf
from unblur._bad_inputs import (
    API_CASES,
    CLI_CASES,
    png_header_only,
    run_api_case,
    run_cli_case,
    valid_files,
)
from unblur.errors import ImageReadError, UnblurError
from unblur.io import read_image
from unblur.psf import parse_spec

ROOT = Path(__file__).resolve().parents[1]

#: seconds any single read or parse may take (generous: the test machines are shared)
TIME_LIMIT = 20.0

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def within(func, *args, seconds: float = TIME_LIMIT):
    """``func(*args)`` run in a thread that must finish within ``seconds`` (else the test fails);
    its result is returned and its exception re-raised here."""
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["value"] = func(*args)
        except BaseException as exc:  # handed to the caller
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    start = time.perf_counter()
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"{getattr(func, '__name__', func)}{args} still running after {seconds} s")
    assert time.perf_counter() - start < seconds
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _one_line(exc: BaseException) -> str:
    message = str(exc)
    assert message and "\n" not in message and "Traceback" not in message, repr(message)
    return message


def read_or_refuse(path: Path) -> None:
    """The reader's contract on any file: a finite float image, or one UnblurError."""
    try:
        data, info = within(read_image, path)
    except UnblurError as exc:
        assert f"'{path}'" in _one_line(exc) or str(path) in str(exc)
    else:
        assert data.dtype in (np.float32, np.float64) and data.size > 0
        assert np.isfinite(data).all()
        assert info.shape and info.n_pages >= 1
    try:
        k = within(upsf.from_file, path)
    except UnblurError as exc:
        _one_line(exc)
    else:
        assert np.isfinite(k).all() and (k >= 0).all()
        assert k.sum() == pytest.approx(1.0)
        assert all(n % 2 == 1 for n in k.shape)


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, bytes]:
    """The bytes of one small valid file per reader."""
    folder = tmp_path_factory.mktemp("valid")
    return {name: path.read_bytes() for name, path in valid_files(folder).items()}


#: the files of ``valid_files``
NAMES = [
    "rgb.png",
    "grey16.png",
    "rgb.jpg",
    "grey.bmp",
    "grey.gif",
    "float.tif",
    "lzw16.tif",
    "rgb_jpeg.tif",
    "stack.tif",
    "float.npy",
]


def test_valid_sources_read(sources, tmp_path):
    """The files the fuzzing starts from are themselves readable."""
    assert sorted(sources) == sorted(NAMES)
    for name, data in sources.items():
        (tmp_path / name).write_bytes(data)
        image, _ = read_image(tmp_path / name)
        assert image.size > 0 and np.isfinite(image).all()


@FUZZ
@given(name=st.sampled_from(NAMES), fraction=st.floats(0.0, 1.0, exclude_max=True))
def test_truncated_files(sources, tmp_path, name, fraction):
    data = sources[name]
    cut = data[: int(len(data) * fraction)]
    path = tmp_path / f"cut_{name}"
    path.write_bytes(cut)
    if not cut:
        with pytest.raises(ImageReadError, match="the file is empty"):
            read_image(path)
        return
    read_or_refuse(path)


@FUZZ
@given(
    name=st.sampled_from(NAMES),
    flips=st.lists(
        st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(1, 255)),
        min_size=1,
        max_size=4,
    ),
    header=st.booleans(),
)
def test_corrupted_files(sources, tmp_path, name, flips, header):
    """Bytes XOR-ed anywhere (``header``: within the first 64 bytes, where the parsing is)."""
    data = bytearray(sources[name])
    span = min(64, len(data)) if header else len(data)
    for where, mask in flips:
        data[int(where * span)] ^= mask
    path = tmp_path / f"flip_{name}"
    path.write_bytes(bytes(data))
    read_or_refuse(path)


@pytest.mark.parametrize(("width", "height"), [(100000, 100000), (2**31 - 1, 1), (1, 2**31 - 1)])
@pytest.mark.parametrize(("depth", "colour"), [(8, 0), (8, 2), (16, 0), (16, 6)])
def test_png_bomb_refused_before_decoding(tmp_path, width, height, depth, colour):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(width, height, depth, colour))
    start = time.perf_counter()
    with pytest.raises(ImageReadError, match="the image is too large") as err:
        within(read_image, path)
    assert time.perf_counter() - start < 5  # refused from the header, nothing decoded
    assert f"{width} x {height}" in _one_line(err.value) or f"{height} x {width}" in str(err.value)


def test_corrupt_tiff_tags_log_nothing(sources, tmp_path, caplog):
    """tifffile's notes about corrupt tags are not printed beside unblur's own messages."""
    data = bytearray(sources["lzw16.tif"])
    for offset in (36, 37, 48, 49, 60, 61):  # type fields of the first IFD entries
        corrupt = bytearray(data)
        corrupt[offset] ^= 0x80
        path = tmp_path / f"tags{offset}.tif"
        path.write_bytes(bytes(corrupt))
        with caplog.at_level(logging.DEBUG, logger="tifffile"):
            try:
                read_image(path)
            except UnblurError:
                pass
    assert not [r for r in caplog.records if r.name.startswith("tifffile")]


# --------------------------------------------------------------------------------------------
# the PSF spec parser
# --------------------------------------------------------------------------------------------
def parse_or_refuse(spec: str) -> None:
    try:
        k = within(parse_spec, spec)
    except UnblurError as exc:
        _one_line(exc)
    else:
        assert isinstance(k, np.ndarray) and k.ndim >= 1
        assert np.isfinite(k).all() and (k >= 0).all()
        assert k.sum() == pytest.approx(1.0)


_VALUES = st.one_of(
    st.floats(-60, 60).map(repr),
    st.integers(-99, 99).map(str),
    st.sampled_from(
        [
            "",
            "x",
            "1x2",
            "2x1x3",
            "0",
            "-0",
            "nan",
            "inf",
            "-inf",
            "1e400",
            "1e-400",
            "3x",
            "x3",
            "1_0",
            "0x10",
            "\u0663",
            "\uff11",
            "1,2",
            " 2 ",
            "1e5",
            "99999",
        ]
    ),
    st.text(max_size=5),
)
_KEYS = st.sampled_from(
    ["sigma", "length", "angle", "radius", "fwhm", "beta", "size", "oversample", "SIGMA", "foo", ""]
)
_SPECS = st.builds(
    lambda model, sep, items: model + sep + ",".join(items),
    st.sampled_from(["gaussian", "motion", "disk", "airy", "moffat", "Gaussian", " disk ", ""]),
    st.sampled_from([":", "", " : ", "::"]),
    st.lists(
        st.builds(lambda k, e, v: k + e + v, _KEYS, st.sampled_from(["=", "==", ""]), _VALUES),
        max_size=4,
    ),
)


@settings(max_examples=300, deadline=None)
@given(spec=st.one_of(_SPECS, st.text(max_size=40)))
def test_parse_spec_fuzz(spec):
    parse_or_refuse(spec)


@pytest.mark.parametrize(
    "spec",
    [
        "p" * 300,  # a name too long for the file system
        "a/" * 2000,
        "nul\x00byte",
        "/dev/null",
        ".",
        "motion:length=5,size=inf",
        "motion:length=5,size=nan",
        "motion:length=5,size=5.5",
        "gaussian:sigma=1e308",
        "disk:radius=3,oversample=0",
        "disk:radius=3,oversample=-2",
        "disk:radius=3,oversample=1.5",
    ],
)
def test_parse_spec_hand_made(spec):
    with pytest.raises(UnblurError) as err:
        within(parse_spec, spec)
    _one_line(err.value)


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_psf_file_with_huge_values(tmp_path):
    """A float PSF near the float64 maximum: centred and normalised without overflow (the
    centroid and the sum used to overflow, giving a flat or all-zero PSF)."""
    k = np.zeros((5, 5))
    k[2, 1:4] = 1e308
    np.save(tmp_path / "huge.npy", k)
    out = upsf.from_file(tmp_path / "huge.npy")
    expected = np.array([[1.0, 1.0, 1.0]]) / 3
    np.testing.assert_allclose(out, expected)


def test_large_oversampled_psf_bounded():
    """A 4001 x 4001 disk used to evaluate 32008**2 sub-samples (8 GB per array): now capped."""
    from unblur.psf._core import MAX_SAMPLES, _oversample

    assert _oversample((4001, 4001), 8) == 1
    assert _oversample((1001, 1001), 8) == 4
    assert _oversample((25, 25), 8) == 8
    k = within(parse_spec, "disk:radius=700", seconds=TIME_LIMIT)
    assert k.shape == (1401, 1401) and k.sum() == pytest.approx(1.0)
    assert 1401**2 * _oversample(k.shape, 8) ** 2 <= MAX_SAMPLES
    # the anti-aliased edge is still there: values between 0 and the plateau on the rim
    plateau = k[700, 700]
    assert np.any((k > 0.05 * plateau) & (k < 0.95 * plateau))


# --------------------------------------------------------------------------------------------
# the table of bad inputs
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", API_CASES, ids=[c.description for c in API_CASES])
def test_api_bad_input(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name, message = within(run_api_case, case)
    assert name == case.error.__name__, (name, message)
    _one_line(Exception(message))


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.description for c in CLI_CASES])
def test_cli_bad_input(case, tmp_path, monkeypatch):
    """``unblur deconvolve`` on each bad input: exit status 1, one line, no traceback."""
    monkeypatch.chdir(tmp_path)
    _, result = within(run_cli_case, case)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("unblur: error: "), lines[0]
    assert "unexpected" not in lines[0] and "Traceback" not in result.output
    assert result.stdout == ""
    assert result.files_after == result.files_before  # nothing written, replaced or removed
    assert not Path("PWNED").exists()  # no payload ran


def test_bad_inputs_table_is_up_to_date():
    """docs/bad_inputs.md is exactly what docs/make_bad_inputs.py writes now."""
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        import make_bad_inputs
    finally:
        sys.path.remove(str(ROOT / "docs"))
    expected = make_bad_inputs.render()
    current = make_bad_inputs.TABLE.read_text(encoding="utf-8")
    assert current == expected, "docs/bad_inputs.md is stale: run python docs/make_bad_inputs.py"
