"""Bad inputs and the one-line error each must give: shared by ``tests/test_fuzz.py`` and by
``docs/make_bad_inputs.py``, which writes the table ``docs/bad_inputs.md`` from them.

Every case builds its files in the current folder (the test and the script ``chdir`` into an
empty temporary folder first) under fixed names, so the messages, which quote the paths, are
the same on every machine; the memory budget is pinned too (:data:`MEMORY_BUDGET`, given as
``UNBLUR_MAX_MEMORY``), so messages about memory are. An API case is a function that must
raise ``error``; a CLI case is the argument list of ``unblur`` that must exit with status 1
and one ``unblur: error:`` line, leave every file there as it was and run no payload.

Not part of the public API: a private module of the package so that the documentation script
and the tests share it without importing from each other's folders.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unblur.errors import (
    ImageReadError,
    InvalidImageError,
    InvalidParameterError,
    InvalidPSFError,
    UnblurError,
    UnknownMethodError,
)

__all__ = [
    "API_CASES",
    "CLI_CASES",
    "FILES",
    "MEMORY_BUDGET",
    "ApiCase",
    "CliCase",
    "png_chunk",
    "png_header_only",
    "run_api_case",
    "run_cli_case",
    "snapshot",
    "valid_files",
]

_RNG_SEED = 7

#: the memory budget the cases run with (``UNBLUR_MAX_MEMORY``): messages about memory then
#: read the same on every machine with at least this much free
MEMORY_BUDGET = "1G"


# --------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------
def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data and CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width: int, height: int, depth: int = 8, colour: int = 0) -> bytes:
    """A small PNG whose header declares ``width`` x ``height`` pixels (a decompression bomb
    when large): valid signature and IHDR, a few bytes of compressed zeros, IEND."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


def valid_files(folder: Path, names: tuple[str, ...] | None = None) -> dict[str, Path]:
    """Write one small valid file per reader (or only ``names``) into ``folder``: name -> path."""
    import imageio.v3 as iio
    import tifffile

    from unblur.io import write_image

    rng = np.random.default_rng(_RNG_SEED)
    rgb = (rng.random((24, 29, 3)) * 255).astype(np.uint8)
    grey16 = (rng.random((24, 29)) * 65535).astype(np.uint16)
    out = {
        "rgb.png": lambda p: iio.imwrite(p, rgb),
        "grey16.png": lambda p: write_image(p, grey16),
        "rgb.jpg": lambda p: iio.imwrite(p, rgb, quality=90),
        "grey.bmp": lambda p: iio.imwrite(p, rgb[..., 0]),
        "grey.gif": lambda p: iio.imwrite(p, rgb[..., 0]),
        "float.tif": lambda p: tifffile.imwrite(p, rng.random((24, 29)).astype(np.float32)),
        "lzw16.tif": lambda p: tifffile.imwrite(p, grey16, compression="lzw"),
        "rgb_jpeg.tif": lambda p: tifffile.imwrite(p, rgb, compression="jpeg"),
        "stack.tif": lambda p: tifffile.imwrite(
            p, (rng.random((3, 24, 29)) * 255).astype(np.uint8), photometric="minisblack"
        ),
        "float.npy": lambda p: np.save(p, rng.random((24, 29))),
    }
    paths = {}
    for name, write in out.items():
        if names is not None and name not in names:
            continue
        path = folder / name
        write(path)
        paths[name] = path
    return paths


def _truncated(name: str, fraction: float) -> Callable[[], Path]:
    def make() -> Path:
        src = valid_files(Path("."), (name,))[name]
        data = src.read_bytes()
        bad = Path(f"truncated_{name}")
        bad.write_bytes(data[: int(len(data) * fraction)])
        return bad

    return make


def _flipped(name: str, offset: int) -> Callable[[], Path]:
    def make() -> Path:
        src = valid_files(Path("."), (name,))[name]
        data = bytearray(src.read_bytes())
        data[offset] ^= 0xFF
        bad = Path(f"corrupt_{name}")
        bad.write_bytes(bytes(data))
        return bad

    return make


def _write(name: str, data: bytes) -> Callable[[], Path]:
    def make() -> Path:
        Path(name).write_bytes(data)
        return Path(name)

    return make


def _folder() -> Path:
    Path("folder.png").mkdir()
    return Path("folder.png")


def _npy(name: str, array: np.ndarray) -> Callable[[], Path]:
    def make() -> Path:
        np.save(name, array)
        return Path(name)

    return make


def _zero_size_png() -> Path:
    ihdr = struct.pack(">IIBBBBB", 0, 5, 8, 0, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b""))
        + png_chunk(b"IEND", b"")
    )
    Path("zero.png").write_bytes(data)
    return Path("zero.png")


def _nan_array() -> np.ndarray:
    a = np.zeros((8, 8), np.float32)
    a[2, 3] = np.nan
    return a


#: Bad files: (description, how to make it in the current folder, the error the readers give)
FILES: list[tuple[str, Callable[[], Path], type[UnblurError]]] = [
    ("missing file", lambda: Path("missing.png"), ImageReadError),
    ("a folder", _folder, ImageReadError),
    ("empty file", _write("empty.png", b""), ImageReadError),
    ("unsupported extension", _write("notes.txt", b"hello"), ImageReadError),
    ("text file named .png", _write("text.png", b"this is not a PNG file\n" * 4), ImageReadError),
    ("PNG cut to half", _truncated("rgb.png", 0.5), ImageReadError),
    (
        "PNG cut inside its header",
        _write("short.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"),
        ImageReadError,
    ),
    ("PNG with a corrupt IHDR CRC", _flipped("rgb.png", 30), ImageReadError),
    ("16-bit PNG cut to half", _truncated("grey16.png", 0.5), ImageReadError),
    (
        "PNG header claiming 100000 x 100000",
        _write("bomb.png", png_header_only(100000, 100000)),
        ImageReadError,
    ),
    ("PNG of zero size (0 x 5)", _zero_size_png, ImageReadError),
    ("JPEG cut to half", _truncated("rgb.jpg", 0.5), ImageReadError),
    ("JPEG header claiming 65500 x 65500", lambda: _jpeg_bomb(), ImageReadError),
    ("TIFF cut to 100 bytes", _truncated("lzw16.tif", 0.05), ImageReadError),
    ("TIFF with a corrupt byte-order mark", _flipped("float.tif", 0), ImageReadError),
    ("GIF cut to half", _truncated("grey.gif", 0.5), ImageReadError),
    ("BMP cut to half", _truncated("grey.bmp", 0.5), ImageReadError),
    (".npy of shape (0, 5)", _npy("zero.npy", np.zeros((0, 5), np.float32)), ImageReadError),
    (".npy holding a scalar", _npy("scalar.npy", np.float32(1)), ImageReadError),
    (".npy with NaN", _npy("nan.npy", _nan_array()), InvalidImageError),
    (".npy of strings", _npy("strings.npy", np.array([["a", "b"]])), InvalidImageError),
    (".npy cut to half", _truncated("float.npy", 0.5), ImageReadError),
    (
        "structured .npy (records could hold pickles)",
        _npy("records.npy", np.zeros((8, 8), dtype=[("a", "<f4"), ("b", "<i4")])),
        InvalidImageError,
    ),
    ("525 kB zlib TIFF declaring 22528 x 22528", lambda: _tiff_bomb(), ImageReadError),
    (
        "PNG header declaring 20000 x 20000 16-bit RGBA",
        _write("big16.png", png_header_only(20000, 20000, depth=16, colour=6)),
        ImageReadError,
    ),
    ("CMYK TIFF", lambda: _cmyk_tiff(), ImageReadError),
]


def _jpeg_bomb() -> Path:
    """A valid small JPEG whose SOF marker is patched to declare 65500 x 65500 pixels."""
    import imageio.v3 as iio

    iio.imwrite("small.jpg", np.zeros((8, 8), np.uint8))
    data = bytearray(Path("small.jpg").read_bytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 65500, 65500)
    Path("bomb.jpg").write_bytes(bytes(data))
    return Path("bomb.jpg")


def _tiff_bomb() -> Path:
    """A valid 525 kB zlib TIFF of 22528 x 22528 zeros (507 MB decoded, 2 GB as floats)."""
    import tifffile

    zeros = np.zeros((1024, 1024), np.uint8)
    tiles = (zeros for _ in range(22 * 22))
    tifffile.imwrite("bomb.tif", tiles, shape=(22528, 22528), dtype=np.uint8,
                     tile=(1024, 1024), compression="zlib")  # fmt: skip
    return Path("bomb.tif")


def _sparse_npy(name: str, shape: tuple[int, ...]) -> Callable[[], Path]:
    """A float32 ``.npy`` of ``shape`` that takes no disk space (a sparse file of zeros)."""

    def make() -> Path:
        with open(name, "wb") as fh:
            header = {"descr": "<f4", "fortran_order": False, "shape": shape}
            np.lib.format.write_array_header_1_0(fh, header)
            fh.truncate(fh.tell() + int(np.prod(shape)) * 4)
        return Path(name)

    return make


def _cmyk_tiff() -> Path:
    import tifffile

    tifffile.imwrite("cmyk.tif", np.zeros((40, 40, 4), np.uint8), photometric="separated")
    return Path("cmyk.tif")


def _tiff_cut(name: str, **options) -> Callable[[], Path]:
    """A 64 x 64 float32 TIFF (``options`` for tifffile) cut to half its size."""

    def make() -> Path:
        import tifffile

        data = np.random.default_rng(_RNG_SEED).random((64, 64)).astype(np.float32)
        tifffile.imwrite(name, data, **options)
        Path(name).write_bytes(Path(name).read_bytes()[: Path(name).stat().st_size // 2])
        return Path(name)

    return make


class _Payload:
    """Unpickling this would create the file ``PWNED``: proof that code from a file ran."""

    def __reduce__(self):
        return (open, ("PWNED", "w"))


def _pickled_zarr() -> Path:
    """A Zarr (v2) store of dtype object whose chunk is a pickle with a payload."""
    import json
    import pickle

    store = Path("evil.zarr")
    store.mkdir()
    meta = {
        "zarr_format": 2,
        "shape": [8, 8],
        "chunks": [8, 8],
        "dtype": "|O",
        "compressor": None,
        "fill_value": 0,
        "order": "C",
        "filters": [{"id": "pickle", "protocol": 5}],
    }
    (store / ".zarray").write_text(json.dumps(meta))
    (store / "0.0").write_bytes(pickle.dumps(np.array([_Payload()] * 64, dtype=object)))
    return store


def _corrupt_zarr() -> Path:
    """A Zarr array whose (Zstandard-compressed) chunk was overwritten with garbage."""
    import zarr

    z = zarr.create_array("bad.zarr", shape=(64, 64), chunks=(32, 32), dtype="f4")
    z[:] = np.random.default_rng(_RNG_SEED).random((64, 64))
    chunk = next(p for p in sorted(Path("bad.zarr").rglob("*")) if p.is_file() and p.name == "0")
    chunk.write_bytes(b"\x28\xb5\x2f\xfd" + b"garbage" * 20)
    return Path("bad.zarr")


def _huge_zarr() -> Path:
    """A Zarr array declaring 10^7 x 10^7 pixels (no chunk written)."""
    import zarr

    zarr.create_array("huge.zarr", shape=(10**7, 10**7), chunks=(1000, 1000), dtype="f4")
    return Path("huge.zarr")


def _animated_gif() -> Path:
    import imageio.v3 as iio

    frames = (np.random.default_rng(_RNG_SEED).random((5, 40, 40)) * 255).astype(np.uint8)
    iio.imwrite("anim.gif", frames)
    return Path("anim.gif")


def _with_psf_file() -> Path:
    np.save("k.npy", np.ones((3, 3)) / 9)
    return _good_png()


def _store_with_inputs() -> Path:
    """A folder ``store.zarr`` holding the image and the PSF of a chunked run."""
    store = Path("store.zarr")
    store.mkdir()
    np.save(store / "img.npy", np.random.default_rng(_RNG_SEED).random((64, 64)))
    np.save(store / "k.npy", np.ones((3, 3)) / 9)
    return store


def _folder_of_notes() -> Path:
    Path("results.tif").mkdir()
    (Path("results.tif") / "notes.txt").write_text("my notes")
    return _good_png()


# --------------------------------------------------------------------------------------------
# API cases
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ApiCase:
    """A call that must raise ``error``: ``call()`` runs in an empty current folder."""

    description: str
    call: Callable[[], object]
    error: type[UnblurError]


def _deconvolve(image=None, psf=None, **kwargs) -> Callable[[], object]:
    def call():
        import unblur

        x = np.random.default_rng(_RNG_SEED).random((16, 16)) if image is None else image
        k = np.ones((3, 3)) if psf is None else psf
        return unblur.deconvolve(x, k, **kwargs)

    return call


def _nan_image() -> np.ndarray:
    x = np.zeros((16, 16))
    x[4, 5] = np.nan
    return x


def _spec(text: str) -> Callable[[], object]:
    def call():
        from unblur.psf import parse_spec

        return parse_spec(text)

    return call


def _read(make: Callable[[], Path]) -> Callable[[], object]:
    def call():
        from unblur.io import read_image

        return read_image(make())

    return call


def _psf_file(make: Callable[[], Path]) -> Callable[[], object]:
    def call():
        from unblur.psf import from_file

        return from_file(make())

    return call


def _noise(**kwargs) -> Callable[[], object]:
    def call():
        import unblur

        return unblur.add_noise(np.full((8, 8), 0.5), **kwargs)

    return call


def _model(name: str, *args, **kwargs) -> Callable[[], object]:
    def call():
        from unblur import psf

        return getattr(psf, name)(*args, **kwargs)

    return call


def _read_path(path) -> Callable[[], object]:
    def call():
        from unblur.io import read_image

        return read_image(path)

    return call


def _set_workers(n) -> Callable[[], object]:
    def call():
        from unblur import fft

        old = fft.get_workers()
        try:
            fft.set_workers(n)
        finally:
            fft.set_workers(old)

    return call


def _estimate(image=None, size=15, model="free", **options) -> Callable[[], object]:
    def call():
        import unblur

        x = np.random.default_rng(_RNG_SEED).random((64, 64)) if image is None else image
        return unblur.estimate_psf(x, size, model=model, **options)

    return call


API_CASES: list[ApiCase] = [
    ApiCase("deconvolve: image with NaN", _deconvolve(image=_nan_image()), InvalidImageError),
    ApiCase(
        "deconvolve: empty image (0 x 16)", _deconvolve(image=np.zeros((0, 16))), InvalidImageError
    ),
    ApiCase(
        "deconvolve: complex image", _deconvolve(image=np.zeros((8, 8), complex)), InvalidImageError
    ),
    ApiCase(
        "deconvolve: image of strings", _deconvolve(image=np.array([["a", "b"]])), InvalidImageError
    ),
    ApiCase(
        "deconvolve: PSF larger than the image",
        _deconvolve(image=np.zeros((4, 4)), psf=np.ones((5, 5))),
        InvalidPSFError,
    ),
    ApiCase(
        "deconvolve: 3-D PSF for a 2-D image", _deconvolve(psf=np.ones((3, 3, 3))), InvalidPSFError
    ),
    ApiCase("deconvolve: PSF of zeros", _deconvolve(psf=np.zeros((3, 3))), InvalidPSFError),
    ApiCase(
        "deconvolve: PSF with negative values", _deconvolve(psf=-np.ones((3, 3))), InvalidPSFError
    ),
    ApiCase("deconvolve: PSF with NaN", _deconvolve(psf=np.full((3, 3), np.nan)), InvalidPSFError),
    ApiCase("deconvolve: unknown method", _deconvolve(method="sharpen"), UnknownMethodError),
    ApiCase(
        "deconvolve: unknown parameter",
        _deconvolve(method="wiener", num_iter=5),
        InvalidParameterError,
    ),
    ApiCase("deconvolve: unknown boundary", _deconvolve(boundary="mirror"), InvalidParameterError),
    ApiCase(
        "deconvolve: boundary='unknown' with a direct method",
        _deconvolve(method="inverse", boundary="unknown"),
        InvalidParameterError,
    ),
    ApiCase(
        "deconvolve: channel_axis out of range", _deconvolve(channel_axis=5), InvalidParameterError
    ),
    ApiCase(
        "deconvolve: num_iter=0",
        _deconvolve(method="richardson_lucy", num_iter=0),
        InvalidParameterError,
    ),
    ApiCase("parse_spec: unknown model", _spec("bokeh:radius=3"), InvalidPSFError),
    ApiCase("parse_spec: value not a number", _spec("gaussian:sigma=abc"), InvalidPSFError),
    ApiCase("parse_spec: item without '='", _spec("gaussian:sigma"), InvalidPSFError),
    ApiCase("parse_spec: unknown key", _spec("disk:radius=3,sigma=2"), InvalidPSFError),
    ApiCase("parse_spec: missing parameter", _spec("motion:angle=30"), InvalidPSFError),
    ApiCase("parse_spec: negative value", _spec("gaussian:sigma=-1"), InvalidPSFError),
    ApiCase("parse_spec: infinite value", _spec("disk:radius=inf"), InvalidPSFError),
    ApiCase("parse_spec: sigma=1e308", _spec("gaussian:sigma=1e308"), InvalidPSFError),
    ApiCase("parse_spec: size=inf", _spec("motion:length=5,size=inf"), InvalidPSFError),
    ApiCase("parse_spec: size=5.5", _spec("motion:length=5,size=5.5"), InvalidPSFError),
    ApiCase("parse_spec: even size", _spec("gaussian:sigma=1,size=4"), InvalidPSFError),
    ApiCase("parse_spec: oversample=0", _spec("disk:radius=3,oversample=0"), InvalidPSFError),
    ApiCase("parse_spec: PSF too large", _spec("gaussian:sigma=5000"), InvalidPSFError),
    ApiCase("parse_spec: 300-character name", _spec("p" * 300), InvalidPSFError),
    ApiCase("parse_spec: empty string", _spec(""), InvalidPSFError),
    *[ApiCase(f"read_image: {what}", _read(make), error) for what, make, error in FILES],
    ApiCase("psf.from_file: image of zeros", _psf_file(lambda: _black_png()), InvalidPSFError),
    ApiCase("psf.from_file: truncated PNG", _psf_file(_truncated("rgb.png", 0.5)), ImageReadError),
    ApiCase("estimate_psf: flat image", _estimate(image=np.full((64, 64), 0.5)), InvalidImageError),
    ApiCase(
        "estimate_psf: image smaller than 32 x 32",
        _estimate(image=np.random.default_rng(_RNG_SEED).random((16, 16))),
        InvalidImageError,
    ),
    ApiCase(
        "estimate_psf: kernel larger than half the image", _estimate(size=41), InvalidParameterError
    ),
    ApiCase("estimate_psf: absurd kernel size", _estimate(size=10**9), InvalidParameterError),
    ApiCase("estimate_psf: unknown model", _estimate(model="shake"), UnknownMethodError),
    ApiCase(
        "estimate_psf: option for a parametric model",
        _estimate(model="motion", num_iter=3),
        InvalidParameterError,
    ),
    ApiCase(
        "estimate_psf: unknown option of the free model",
        _estimate(model="free", iterations=3),
        InvalidParameterError,
    ),
    ApiCase("deconvolve: method=['tv']", _deconvolve(method=["tv"]), InvalidParameterError),
    ApiCase("deconvolve: callback=5", _deconvolve(method="tv", callback=5), InvalidParameterError),
    ApiCase(
        "deconvolve: clip='yes'",
        _deconvolve(method="richardson_lucy", clip="yes"),
        InvalidParameterError,
    ),
    ApiCase("deconvolve: channel_axis=1.5", _deconvolve(channel_axis=1.5), InvalidParameterError),
    ApiCase("deconvolve: channel_axis=True", _deconvolve(channel_axis=True), InvalidParameterError),
    ApiCase("deconvolve: ragged PSF list", _deconvolve(psf=[[1, 2], [3]]), InvalidPSFError),
    ApiCase("add_noise: poisson=1e30", _noise(poisson=1e30), InvalidParameterError),
    ApiCase("add_noise: rng='x'", _noise(rng="x"), InvalidParameterError),
    ApiCase("add_noise: rng=-1", _noise(rng=-1), InvalidParameterError),
    ApiCase("add_noise: gaussian='x'", _noise(gaussian="x"), InvalidParameterError),
    ApiCase(
        "psf.motion: angle=inf", _model("motion", 5, angle=float("inf")), InvalidParameterError
    ),
    ApiCase("psf.moffat: beta=1e308", _model("moffat", 2, beta=1e308), InvalidParameterError),
    ApiCase("psf.gaussian: ndim=0", _model("gaussian", 2, ndim=0), InvalidParameterError),
    ApiCase("parse_spec: size=30001", _spec("gaussian:sigma=1,size=30001"), InvalidPSFError),
    ApiCase("parse_spec: ndim=12", _spec("gaussian:sigma=2,ndim=12"), InvalidPSFError),
    ApiCase("parse_spec: angle=nan", _spec("gaussian:sigma=2,angle=nan"), InvalidPSFError),
    ApiCase("parse_spec: length=1e8, size=5", _spec("motion:length=1e8,size=5"), InvalidPSFError),
    ApiCase(
        "parse_spec: widefield voxel_size=0.005x0.005",
        _spec("widefield:na=1.4,wavelength=0.52,refractive_index=1.518,voxel_size=0.005x0.005"),
        InvalidPSFError,
    ),
    ApiCase("read_image: b'..' (a folder)", _read_path(b".."), ImageReadError),
    ApiCase("read_image: 3", _read_path(3), InvalidParameterError),
    ApiCase("read_image: None", _read_path(None), InvalidParameterError),
    ApiCase("read_image: a path with NUL", _read_path("a\x00b.png"), ImageReadError),
    ApiCase("fft.set_workers(0)", _set_workers(0), InvalidParameterError),
]


def _black_png() -> Path:
    import imageio.v3 as iio

    iio.imwrite("black.png", np.zeros((9, 9), np.uint8))
    return Path("black.png")


# --------------------------------------------------------------------------------------------
# CLI cases: `unblur deconvolve` on every bad file, and bad options
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CliCase:
    """``unblur ARGS`` (after ``prepare()`` in an empty current folder) must fail with one line."""

    description: str
    prepare: Callable[[], Path | None]
    args: Callable[[Path | None], list[str]]


def _good_png() -> Path:
    return valid_files(Path("."), ("rgb.png",))["rgb.png"]


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
        lambda p: ["deconvolve", str(p), "-o", "out.png", "--psf", "gaussian:sigma=1"],
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


# --------------------------------------------------------------------------------------------
# running a case
# --------------------------------------------------------------------------------------------
def run_api_case(case: ApiCase) -> tuple[str, str]:
    """Run ``case`` in the current folder; return (exception class name, message).

    Any other outcome (no exception, or one that is not an UnblurError) raises AssertionError.
    """
    import os

    old = os.environ.get("UNBLUR_MAX_MEMORY")
    os.environ["UNBLUR_MAX_MEMORY"] = MEMORY_BUDGET
    try:
        case.call()
    except UnblurError as exc:
        return type(exc).__name__, str(exc)
    finally:
        if old is None:
            del os.environ["UNBLUR_MAX_MEMORY"]
        else:
            os.environ["UNBLUR_MAX_MEMORY"] = old
    raise AssertionError(f"{case.description}: no error raised")


def run_cli_case(case: CliCase) -> tuple[list[str], object]:
    """Run ``unblur ARGS`` of ``case`` in-process in the current folder.

    Returns the argument list and click's ``Result`` (``exit_code``, ``stderr``, ...), with
    ``result.files_before`` and ``result.files_after``: every path under the current folder
    and the bytes of its files, before and after the command.
    """
    from click.testing import CliRunner

    from unblur.cli import cli

    args = case.args(case.prepare())
    before = snapshot(Path("."))
    env = {"UNBLUR_MAX_MEMORY": MEMORY_BUDGET}
    result = CliRunner(env=env).invoke(cli, args, prog_name="unblur")
    result.files_before, result.files_after = before, snapshot(Path("."))
    return args, result


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` with the bytes of its files (None for folders)."""
    return {
        str(p.relative_to(folder)): (None if p.is_dir() else p.read_bytes())
        for p in sorted(folder.rglob("*"))
        if not (p.is_file() and p.stat().st_size > 1 << 24)  # sparse giants: name only
    }
