"""The file layer of chunked restoration: lazy readers, block writers, atomic outputs."""

from __future__ import annotations

import contextlib
import math
import os
import pathlib
import shutil
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._checks import check_channel_axis
from ..errors import ImageReadError, ImageWriteError
from .chunked import TARGET_CHUNK_PIXELS, _per_axis, deconvolve
from .tasks import ProgressCallback, _block_tasks, _require_dask, _run_blocks

_RAW_SUFFIXES = (".npy", ".tif", ".tiff")
WRITE_SUFFIXES = (*_RAW_SUFFIXES, ".zarr")


class _LazyFile:
    """A picklable, array-like view of a file that reads only the region asked for.

    ``kind`` is ``"raw"`` (uncompressed contiguous data at ``offset``: .npy and plain TIFF),
    ``"tiff-zarr"`` (any TIFF, through tifffile's Zarr interface) or ``"tiff-pages"``
    (compressed TIFF without Zarr: whole pages are decoded, then sliced).
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
        if self.kind == "raw":
            mm = np.memmap(
                self.path, self.dtype, "r", offset=self.offset, shape=self.shape, order=self.order
            )
            try:
                return np.array(mm[key])
            finally:
                del mm
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


def _lazy_tiff(path: pathlib.Path) -> _LazyFile:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        shape, dtype, offset = series.shape, series.dtype, series.dataoffset
    if offset is not None:
        return _LazyFile(str(path), "raw", shape, dtype, offset)
    try:
        import zarr  # noqa: F401
    except ImportError:
        return _LazyFile(str(path), "tiff-pages", shape, dtype)
    return _LazyFile(str(path), "tiff-zarr", shape, dtype)


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
        If the file is missing or cannot be read.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "x.npy")
    >>> np.save(path, np.arange(12.0).reshape(3, 4))
    >>> from_file(path, chunks=2).chunks
    ((2, 1), (2, 2))
    """
    da = _require_dask()
    p = pathlib.Path(path)
    q = f"'{os.fsdecode(p)}'"
    if not p.exists():
        raise ImageReadError(f"cannot read {q}: no such file")
    suffix = p.suffix.lower()
    try:
        if suffix == ".zarr":
            try:
                import zarr
            except ImportError:
                raise ImageReadError(f"cannot read {q}: Zarr needs: pip install zarr") from None
            z = zarr.open_array(str(p), mode="r")
            return da.from_zarr(str(p), chunks=z.chunks if chunks is None else chunks)
        if suffix == ".npy":
            mm = np.load(p, mmap_mode="r")
            if not isinstance(mm, np.memmap):  # pragma: no cover - object arrays are refused
                raise ImageReadError(f"cannot read {q}: not a plain numeric .npy file")
            order = "F" if mm.flags.f_contiguous and not mm.flags.c_contiguous else "C"
            lazy = _LazyFile(str(p), "raw", mm.shape, mm.dtype, mm.offset, order=order)
            del mm
        elif suffix in (".tif", ".tiff"):
            lazy = _lazy_tiff(p)
        else:
            from .io import read_image

            image, _ = read_image(p)
            return da.from_array(image, chunks="auto" if chunks is None else chunks)
    except ImageReadError:
        raise
    except (OSError, ValueError) as exc:
        raise ImageReadError(f"cannot read {q}: {' '.join(str(exc).split())[:160]}") from None
    meta = np.empty((0,) * lazy.ndim, dtype=lazy.dtype)
    return da.from_array(
        lazy, chunks="auto" if chunks is None else chunks, asarray=True, lock=False, meta=meta
    )


class _RawWriter:
    """Writes blocks into uncompressed C-ordered data at ``offset`` of a file (picklable)."""

    def __init__(self, path: str, offset: int, shape, dtype):
        self.path = path
        self.offset = int(offset)
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)

    def __call__(self, block: np.ndarray, region: tuple[slice, ...]) -> None:
        data = np.ascontiguousarray(block, dtype=self.dtype)
        starts = [s.start or 0 for s in region]
        # axes after `split` are whole in the block, so each run over data.shape[split:] is
        # contiguous in the file
        split = self.ndim - 1
        while split > 0 and data.shape[split] == self.shape[split]:
            split -= 1
        runs = data.reshape(-1, math.prod(data.shape[split:]))
        fd = os.open(self.path, os.O_WRONLY)
        try:
            for run, index in zip(runs, np.ndindex(*data.shape[:split]), strict=True):
                first = [s + j for s, j in zip(starts, index, strict=False)]
                first += [starts[split]] + [0] * (self.ndim - split - 1)
                position = int(np.ravel_multi_index(first, self.shape))
                os.pwrite(fd, run.tobytes(), self.offset + position * self.dtype.itemsize)
        finally:
            os.close(fd)

    @property
    def ndim(self) -> int:
        return len(self.shape)


class _ZarrWriter:
    """Writes blocks into a Zarr array, opened by path in the worker (picklable)."""

    def __init__(self, path: str):
        self.path = path

    def __call__(self, block: np.ndarray, region: tuple[slice, ...]) -> None:
        import zarr

        zarr.open_array(self.path, mode="r+")[region] = block


def _remove(path: pathlib.Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def to_file(
    array,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
) -> pathlib.Path:
    """Compute a Dask array chunk by chunk straight into a file, atomically.

    Blocks are computed in parallel and written where they belong as they finish, so memory
    holds a few blocks, never the image. The data go to a temporary name beside ``path``
    that is renamed to ``path`` only when complete; on error it is removed.

    Parameters
    ----------
    array : dask.array.Array or array_like
        The data (e.g. from :func:`deconvolve`), written in their dtype.
    path : str or path-like
        ``.tif``/``.tiff`` (uncompressed, BigTIFF beyond 4 GB; colour when the last axis has
        3 or 4 entries), ``.npy``, or ``.zarr`` (needs ``zarr``; chunked like ``array``).
    overwrite : bool, optional
        Replace an existing ``path``; otherwise that is an error.
    progress : callable, optional
        Called as ``progress(done, total)`` after each block is written.

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    ImageWriteError
        For an unsupported suffix, an existing target without ``overwrite``, or a failed
        write.

    Examples
    --------
    >>> import dask.array as da, numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "out.npy")
    >>> _ = to_file(da.ones((6, 4), chunks=3, dtype=np.float32), path)
    >>> float(np.load(path).sum())
    24.0
    """
    da = _require_dask()
    if not isinstance(array, da.Array):
        array = da.from_array(np.asarray(array))
    target = pathlib.Path(path)
    q = f"'{os.fsdecode(target)}'"
    suffix = target.suffix.lower()
    if suffix not in WRITE_SUFFIXES:
        raise ImageWriteError(
            f"cannot write {q}: unblur.dask writes {', '.join(WRITE_SUFFIXES)} files"
        )
    if (target.exists() or target.is_symlink()) and not overwrite:
        raise ImageWriteError(f"will not overwrite {q}; pass overwrite=True to replace it")
    if not target.parent.is_dir():
        raise ImageWriteError(f"cannot write {q}: no such folder {target.parent}")
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        if suffix == ".zarr":
            try:
                import zarr
            except ImportError:
                raise ImageWriteError(f"cannot write {q}: Zarr needs: pip install zarr") from None
            regular = tuple(max(c) for c in array.chunks)
            array = array.rechunk(regular)
            zarr.create_array(str(tmp), shape=array.shape, chunks=regular, dtype=array.dtype)
            writer: Callable = _ZarrWriter(str(tmp))
        elif suffix == ".npy":
            mm = np.lib.format.open_memmap(tmp, mode="w+", dtype=array.dtype, shape=array.shape)
            offset = mm.offset
            del mm
            writer = _RawWriter(str(tmp), offset, array.shape, array.dtype)
        else:
            import tifffile

            colour = array.ndim >= 3 and array.shape[-1] in (3, 4)
            big = array.nbytes > 2**32 - 2**25
            mm = tifffile.memmap(
                tmp,
                shape=array.shape,
                dtype=array.dtype,
                photometric="rgb" if colour else "minisblack",
                bigtiff=big,
            )
            offset = mm.offset
            del mm
            writer = _RawWriter(str(tmp), offset, array.shape, array.dtype)
        _run_blocks(_block_tasks(array, writer), progress)
        if target.exists() and target.is_dir() and not target.is_symlink():
            old = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.old")
            os.replace(target, old)
            os.replace(tmp, target)
            _remove(old)
        else:
            os.replace(tmp, target)
    except BaseException as exc:
        _remove(tmp)
        if isinstance(exc, ImageWriteError | KeyboardInterrupt):
            raise
        if isinstance(exc, OSError):
            raise ImageWriteError(f"cannot write {q}: {exc.strerror or exc}") from None
        raise
    return target


def deconvolve_file(
    source: str | os.PathLike,
    target: str | os.PathLike,
    psf: np.ndarray,
    method: str = "auto",
    *,
    chunks: int | Sequence[int] | None = None,
    overlap: int | Sequence[int] | None = None,
    boundary: str | None = None,
    channel_axis: int | None = None,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    info: dict | None = None,
    **params: Any,
) -> pathlib.Path:
    """Restore an image file into another, block by block: the one call for a command line.

    ``from_file(source)`` -> :func:`deconvolve` -> ``to_file(target)``: memory holds a few
    blocks at a time, whatever the image size. Runs on the active ``dask.distributed`` client
    if there is one, else on Dask's default (threaded) scheduler.

    Parameters
    ----------
    source, target : str or path-like
        Input (see :func:`from_file`) and output (see :func:`to_file`) paths.
    psf, method, chunks, overlap, boundary, channel_axis, info, **params
        As for :func:`deconvolve`. ``chunks`` also sets the blocks read from ``source``
        (default: 1024 x 1024 in 2-D, 128³ in 3-D).
    overwrite : bool, optional
        Replace an existing ``target``.
    progress : callable, optional
        ``progress(done, total)`` after each block is written (e.g. to drive a progress bar).

    Returns
    -------
    pathlib.Path
        The written ``target``.

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> from unblur import psf
    >>> folder = tempfile.mkdtemp()
    >>> np.save(os.path.join(folder, "in.npy"), np.ones((300, 200), np.float32))
    >>> steps = []
    >>> out = deconvolve_file(os.path.join(folder, "in.npy"), os.path.join(folder, "out.tif"),
    ...                       psf.gaussian(2.0), "inverse", epsilon=1e-3, chunks=100,
    ...                       progress=lambda done, total: steps.append((done, total)))
    >>> out.name, steps[-1]
    ('out.tif', (6, 6))
    """
    out = pathlib.Path(target)
    if (out.exists() or out.is_symlink()) and not overwrite:  # before any work
        raise ImageWriteError(
            f"will not overwrite '{os.fsdecode(out)}'; pass overwrite=True to replace it"
        )
    probe = from_file(source)  # lazy: shape and dtype only
    axis = check_channel_axis(probe.ndim, channel_axis)
    n_spatial = probe.ndim - (axis is not None)
    if chunks is None:
        chunks = 2 ** round(math.log2(TARGET_CHUNK_PIXELS) / n_spatial)
    sides = iter(_per_axis("chunks", chunks, n_spatial))
    # read in the blocks that will be restored (no rechunking of large blocks)
    read_chunks = tuple(-1 if a == axis else next(sides) for a in range(probe.ndim))
    lazy = from_file(source, chunks=read_chunks)
    restored = deconvolve(
        lazy,
        psf,
        method,
        chunks=chunks,
        overlap=overlap,
        boundary=boundary,
        channel_axis=channel_axis,
        info=info,
        **params,
    )
    return to_file(restored, target, overwrite=overwrite, progress=progress)
