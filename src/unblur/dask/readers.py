"""Lazy readers of chunked restoration: TIFF, ``.npy`` and Zarr opened without reading pixels.

Every reader decides from the file's header or metadata alone whether it will read it, with
the checks of :func:`unblur.io.read_image` (except the in-memory size budget, which chunked
work does not need): plain numeric data only (object and structured dtypes, which could hold
pickles, and codecs that unpickle are refused before any chunk is read: nothing in a file is
ever unpickled), no CMYK or raw YCbCr TIFF, and files that hold all the data their header
declares. A block that turns out unreadable later (a corrupt compressed chunk) raises one
:class:`~unblur.ImageReadError` naming the file.
"""

from __future__ import annotations

import json
import math
import os
import pathlib
from collections.abc import Sequence

import numpy as np

from ..errors import ImageReadError, InvalidParameterError, UnblurError
from .tasks import _require_dask

#: Zarr codecs that decode into Python objects (the pickle codec runs code from the file)
_OBJECT_CODECS = ("pickle", "vlen", "json", "msgpack", "categorize", "object")


def _q(path) -> str:
    text = os.fsdecode(os.fspath(path))
    return f"'{text}'" if text.isprintable() else repr(text)


def _detail(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


class _LazyFile:
    """A picklable, array-like view of a file that reads only the region asked for.

    ``kind`` is ``"raw"`` (uncompressed contiguous data at ``offset``: .npy and plain TIFF),
    ``"tiff-zarr"`` (any TIFF, through tifffile's Zarr interface), ``"tiff-pages"``
    (compressed TIFF without Zarr: whole pages are decoded, then sliced) or ``"zarr"`` (a
    Zarr array whose metadata were checked).
    """

    def __init__(
        self, path: str, kind: str, shape, dtype, offset: int = 0, series: int = 0, order="C"
    ):
        self.order = order
        self.path = path
        self.kind = kind
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        self.ndim = len(self.shape)
        self.offset = int(offset)
        self.series = series

    def __getitem__(self, key) -> np.ndarray:
        try:
            return self._read(key)
        except UnblurError:
            raise
        except MemoryError:
            raise ImageReadError(f"cannot read {_q(self.path)}: not enough memory") from None
        except Exception as exc:
            raise ImageReadError(
                f"cannot read {_q(self.path)}: corrupt or unreadable data ({_detail(exc)})"
            ) from None

    def _read(self, key) -> np.ndarray:
        if self.kind == "raw":
            mm = np.memmap(
                self.path, self.dtype, "r", offset=self.offset, shape=self.shape, order=self.order
            )
            try:
                return np.array(mm[key])
            finally:
                del mm
        if self.kind == "zarr":
            import zarr

            return np.asarray(zarr.open_array(self.path, mode="r")[key])
        import tifffile

        if self.kind == "tiff-zarr":
            import zarr

            with tifffile.imread(self.path, aszarr=True, series=self.series) as store:
                return np.asarray(zarr.open(store, mode="r")[key])
        with tifffile.TiffFile(self.path) as tif:
            series = tif.series[self.series]
            n_pages = len(series.pages)
            page_shape = series.pages[0].shape
            lead_shape = self.shape[: self.ndim - len(page_shape)]
            if math.prod(lead_shape) != n_pages:  # pages do not tile the leading axes
                return np.asarray(series.asarray())[key]
            key = key if isinstance(key, tuple) else (key,)
            key = key + (slice(None),) * (self.ndim - len(key))
            lead_key, rest = key[: len(lead_shape)], key[len(lead_shape) :]
            pages = np.arange(n_pages).reshape(lead_shape)[lead_key]
            data = series.asarray(key=[int(p) for p in pages.ravel()])
            return data.reshape(*pages.shape, *page_shape)[(Ellipsis, *rest)]


def _lazy_npy(p: pathlib.Path, q: str) -> _LazyFile:
    from ..io.readers import npy_header

    shape, fortran, dtype, offset = npy_header(p, q)
    if not shape:
        raise ImageReadError(f"cannot read {q}: it holds a single number, not an image")
    return _LazyFile(str(p), "raw", shape, dtype, offset, order="F" if fortran else "C")


def _lazy_tiff(p: pathlib.Path, q: str) -> _LazyFile:
    import tifffile

    from ..io.tiff import _check_series, _image_series, _tiff_orientation

    with tifffile.TiffFile(p) as tif:
        if not tif.series:
            raise ImageReadError(f"cannot read {q}: not a valid TIFF image (no readable image)")
        series = tif.series[0]
        _check_series(q, series, max_pixels=False)
        # what read_image does and blocks cannot: stack pages stored as separate images,
        # turn the image as its Orientation tag says; refused rather than read otherwise
        if len(_image_series(q, tif)) > 1:
            raise ImageReadError(
                f"cannot read {q} block by block: its pages are stored as separate images; "
                "restore it without --chunks, or save it as one stack"
            )
        if _tiff_orientation(series.keyframe) != 1:
            raise ImageReadError(
                f"cannot read {q} block by block: its Orientation tag "
                f"({_tiff_orientation(series.keyframe)}) turns or mirrors it; restore it "
                "without --chunks, or save it upright"
            )
        axes = str(getattr(series, "axes", "") or "")
        if "C" in axes[:-1] and axes[-1] != "S":
            raise ImageReadError(
                f"cannot read {q} block by block: its channels are stored before its rows "
                f"(axes {axes}); restore it without --chunks, or save it with the channels last"
            )
        shape, dtype, offset = series.shape, np.dtype(series.dtype), series.dataoffset
    if offset is not None:
        needed = offset + math.prod(shape) * dtype.itemsize
        size = p.stat().st_size
        if size < needed:
            raise ImageReadError(
                f"cannot read {q}: corrupt TIFF (truncated: its data end at byte {needed}, "
                f"the file has {size})"
            )
        return _LazyFile(str(p), "raw", shape, dtype, offset)
    try:
        import zarr  # noqa: F401
    except ImportError:
        return _LazyFile(str(p), "tiff-pages", shape, dtype)
    return _LazyFile(str(p), "tiff-zarr", shape, dtype)


def _codec_names(codecs) -> list[str]:
    """Every codec name or id in Zarr metadata (sharding's inner codecs included)."""
    names = []
    for codec in codecs or ():
        if isinstance(codec, str):
            names.append(codec)
        elif isinstance(codec, dict):
            names.append(str(codec.get("name") or codec.get("id") or ""))
            config = codec.get("configuration") or {}
            if isinstance(config, dict):
                names += _codec_names(config.get("codecs"))
                names += _codec_names(config.get("index_codecs"))
    return names


def check_zarr_metadata(p: pathlib.Path, q: str) -> None:
    """Refuse a Zarr store from its metadata alone, before any chunk is read: a group, or an
    array whose dtype is not plain numeric or whose codecs decode Python objects (pickle)."""
    v2, v3 = p / ".zarray", p / "zarr.json"
    try:
        if v3.is_file():
            meta = json.loads(v3.read_text(encoding="utf-8"))
            if meta.get("node_type") != "array":
                raise ImageReadError(
                    f"cannot read {q}: a Zarr group, not an array; give the path of an array in it"
                )
            dtype, codecs = meta.get("data_type"), _codec_names(meta.get("codecs"))
        elif v2.is_file():
            meta = json.loads(v2.read_text(encoding="utf-8"))
            dtype = meta.get("dtype")
            codecs = _codec_names([meta.get("compressor"), *(meta.get("filters") or [])])
        elif (p / ".zgroup").is_file():
            raise ImageReadError(
                f"cannot read {q}: a Zarr group, not an array; give the path of an array in it"
            )
        else:
            raise ImageReadError(f"cannot read {q}: not a Zarr array (no .zarray or zarr.json)")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as exc:
        raise ImageReadError(f"cannot read {q}: corrupt Zarr metadata ({_detail(exc)})") from None
    kind = None
    if isinstance(dtype, str):
        try:
            kind = np.dtype(dtype).kind
        except TypeError:
            kind = None
    if kind is None or kind not in "biuf":
        raise ImageReadError(
            f"cannot read {q}: Zarr data of type {dtype!r} are not supported (plain numbers only)"
        )
    unsafe = [c for c in codecs if any(word in c.lower() for word in _OBJECT_CODECS)]
    if unsafe:
        raise ImageReadError(
            f"cannot read {q}: its codec {unsafe[0]!r} decodes Python objects and could run "
            "code from the file; unblur never unpickles"
        )


def _lazy_zarr(p: pathlib.Path, q: str) -> tuple[_LazyFile, tuple[int, ...]]:
    try:
        import zarr
    except ImportError:
        raise ImageReadError(f"cannot read {q}: Zarr needs: pip install zarr") from None
    check_zarr_metadata(p, q)
    z = zarr.open_array(str(p), mode="r")
    if np.dtype(z.dtype).kind not in "biuf":  # pragma: no cover - refused from the metadata
        raise ImageReadError(f"cannot read {q}: Zarr data of type {z.dtype} are not supported")
    return _LazyFile(str(p), "zarr", z.shape, z.dtype), tuple(z.chunks)


def from_file(path: str | os.PathLike, chunks: int | Sequence[int] | str | None = None):
    """Open an image file as a lazy Dask array that reads only the chunks computed.

    Parameters
    ----------
    path : str or path-like
        ``.tif``/``.tiff`` (first series), ``.npy`` or a ``.zarr`` folder. Uncompressed TIFF
        and ``.npy`` are read by memory map; compressed or tiled TIFF through tifffile's Zarr
        interface when ``zarr`` is installed (else whole pages at a time). Other formats
        (PNG, JPEG, ...) are decoded into memory with :func:`unblur.io.read_image`.
    chunks : int, sequence of int or "auto", optional
        Dask chunks; default ``"auto"`` (for Zarr, its own chunks).

    Returns
    -------
    dask.array.Array
        The stored data in their stored dtype (integers are scaled to [0, 1] later, by
        :func:`deconvolve`), except other formats, returned as floats in [0, 1].

    Raises
    ------
    ImageReadError
        If the file is missing, not plain numeric data (object, structured, pickled), CMYK,
        truncated or otherwise unreadable from its header; later, when computed, for a block
        whose data are corrupt.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "x.npy")
    >>> np.save(path, np.arange(12.0).reshape(3, 4))
    >>> from_file(path, chunks=2).chunks
    ((2, 1), (2, 2))
    """
    from ..io._common import _as_path

    da = _require_dask()
    p = _as_path(path)
    q = _q(p)
    if not p.exists():
        raise ImageReadError(f"cannot read {q}: no such file")
    suffix = p.suffix.lower()
    try:
        if suffix == ".zarr":
            lazy, own = _lazy_zarr(p, q)
            chunks = (
                tuple(min(c, max(n, 1)) for c, n in zip(own, lazy.shape, strict=True))
                if chunks is None
                else chunks
            )
        elif suffix == ".npy":
            lazy = _lazy_npy(p, q)
        elif suffix in (".tif", ".tiff"):
            lazy = _lazy_tiff(p, q)
        else:
            from ..io import read_image

            image, _ = read_image(p)
            return da.from_array(image, chunks=check_read_chunks(chunks, image.shape))
    except UnblurError:
        raise
    except (OSError, ValueError, KeyError, IndexError) as exc:
        raise ImageReadError(f"cannot read {q}: {_detail(exc)}") from None
    meta = np.empty((0,) * lazy.ndim, dtype=lazy.dtype)
    chunks = check_read_chunks(chunks, lazy.shape)
    return da.from_array(lazy, chunks=chunks, asarray=True, lock=False, meta=meta)


def check_read_chunks(chunks, shape: Sequence[int]):
    """Dask read chunks: ``None``/``"auto"``, or one int (or one per axis), each >= 1 or -1
    (the whole axis); sides beyond the array are clamped to it."""
    if chunks is None or (isinstance(chunks, str) and chunks == "auto"):
        return "auto"
    try:
        values = (chunks,) * len(shape) if np.isscalar(chunks) else tuple(chunks)
    except TypeError:
        values = ()

    def valid(v) -> bool:
        return (
            isinstance(v, int | np.integer)
            and not isinstance(v, bool | np.bool_)
            and (v >= 1 or v == -1)
        )

    if len(values) != len(shape) or not all(valid(v) for v in values):
        raise InvalidParameterError(
            f"chunks must be 'auto', a positive integer or one per axis ({len(shape)}), "
            f"got {chunks!r}"
        )
    return tuple(
        -1 if v == -1 else min(int(v), max(n, 1)) for v, n in zip(values, shape, strict=True)
    )
