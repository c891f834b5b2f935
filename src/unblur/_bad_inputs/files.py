"""The bad files of the cases, made in the current folder under fixed names."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from unblur.errors import (
    ImageReadError,
    InvalidImageError,
    UnblurError,
)

_RNG_SEED = 7


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
    ("TIFF holding two images of different sizes", lambda: _mixed_tiff(), ImageReadError),
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


def _mixed_tiff() -> Path:
    """Two full-resolution images of different sizes, written one after the other."""
    import tifffile

    with tifffile.TiffWriter("mixed.tif") as tif:
        tif.write(np.zeros((40, 40), np.uint8))
        tif.write(np.zeros((20, 30), np.uint8))
    return Path("mixed.tif")


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


def _good_png() -> Path:
    return valid_files(Path("."), ("rgb.png",))["rgb.png"]


def _black_png() -> Path:
    import imageio.v3 as iio

    iio.imwrite("black.png", np.zeros((9, 9), np.uint8))
    return Path("black.png")
