"""Block writers of chunked restoration: results computed chunk by chunk straight into a
``.npy``, TIFF or Zarr file, under a temporary name moved into place only when complete
(with the output-safety rule of :mod:`unblur.io.outputs`)."""

from __future__ import annotations

import math
import os
import pathlib
import shutil
from collections.abc import Callable, Iterable

import numpy as np

from ..errors import ImageWriteError
from .tasks import ProgressCallback, _block_tasks, _require_dask, _run_blocks

_RAW_SUFFIXES = (".npy", ".tif", ".tiff")
WRITE_SUFFIXES = (*_RAW_SUFFIXES, ".zarr")


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


def check_disk_space(target: pathlib.Path, nbytes: int) -> None:
    """Refuse to write ``nbytes`` of uncompressed data into a folder with less space free."""
    from ..io.limits import format_bytes

    try:
        free = shutil.disk_usage(target.parent).free
    except OSError:
        return
    if nbytes > free:
        raise ImageWriteError(
            f"cannot write {_quote(target)}: it needs {format_bytes(nbytes)} on disk, but "
            f"{format_bytes(free)} is free there"
        )


def refuse_existing(path, force: bool) -> None:
    """An existing file at ``path`` without ``force``: the error, in this API's words."""
    target = pathlib.Path(path)
    if not force and (target.exists() or target.is_symlink()) and not target.is_dir():
        raise ImageWriteError(f"{_quote(path)} exists; pass force=True (--force) to replace it")


def _quote(path) -> str:
    text = os.fsdecode(os.fspath(path))
    return f"'{text}'" if text.isprintable() else repr(text)


def to_file(
    array,
    path: str | os.PathLike,
    *,
    force: bool = False,
    progress: ProgressCallback | None = None,
    inputs: Iterable[str | os.PathLike] = (),
) -> pathlib.Path:
    """Compute a Dask array chunk by chunk straight into a file, atomically.

    Blocks are computed in parallel and written where they belong as they finish, so memory
    holds a few blocks, never the image. The data go to a temporary name beside ``path``
    that is moved onto ``path`` only when complete; on error (or SIGTERM in the command
    line) it is removed, and a temporary file left by a killed run is removed by the next
    run writing into the same folder.

    Parameters
    ----------
    array : dask.array.Array or array_like
        The data (e.g. from :func:`deconvolve`), written in their dtype.
    path : str or path-like
        ``.tif``/``.tiff`` (uncompressed, BigTIFF beyond 4 GB; colour when the last axis has
        3 or 4 entries), ``.npy``, or ``.zarr`` (needs ``zarr``; chunked like ``array``).
    force : bool, optional
        Replace an existing file at ``path`` (never a folder, never one of ``inputs``);
        otherwise an existing ``path`` is an error, also when it appears during the run.
    progress : callable, optional
        Called as ``progress(done, total)`` after each block is written.
    inputs : iterable of path-like
        Files (or folders) the computation reads, never to be overwritten.

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    ImageWriteError
        For an unsupported suffix, an existing target without ``force``, a folder or an
        input at ``path``, too little disk space for an uncompressed output, or a failed
        write.

    Examples
    --------
    >>> import dask.array as da, numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "out.npy")
    >>> _ = to_file(da.ones((6, 4), chunks=3, dtype=np.float32), path)
    >>> float(np.load(path).sum())
    24.0
    """
    from .._checks import as_array, check_bool, check_callable
    from ..errors import InvalidImageError, InvalidParameterError
    from ..io import check_outputs, sweep_temp_files
    from ..io._common import _as_path
    from ..io.atomic import commit, discard, temp_path

    da = _require_dask()
    target = _as_path(path, "write")
    q = _quote(target)
    force = check_bool("force", force)
    check_callable("progress", progress)
    if isinstance(inputs, str | bytes | os.PathLike) or not isinstance(inputs, Iterable):
        raise InvalidParameterError(f"inputs must be a list of paths, got {inputs!r}")
    if not isinstance(array, da.Array):
        array = as_array(array)
        if array.ndim == 0 or array.size == 0:
            raise InvalidImageError(f"cannot write {q}: the image is empty (shape {array.shape})")
        array = da.from_array(array, chunks=array.shape)
    if array.dtype.kind not in "biuf" or array.ndim == 0 or 0 in array.shape:
        raise InvalidImageError(
            f"cannot write {q}: expected a non-empty array of numbers, got {array.dtype} "
            f"of shape {array.shape}"
        )
    suffix = target.suffix.lower()
    if suffix not in WRITE_SUFFIXES:
        raise ImageWriteError(
            f"cannot write {q}: unblur.dask writes {', '.join(WRITE_SUFFIXES)} files"
        )
    refuse_existing(target, force)
    if not target.parent.is_dir():
        raise ImageWriteError(f"cannot write {q}: no such folder {_quote(target.parent)}")
    check_outputs([target], inputs=inputs, force=force)
    if suffix != ".zarr":
        check_disk_space(target, array.nbytes)
    sweep_temp_files(target.parent)
    tmp = temp_path(target)
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
        commit(tmp, target, force=force).finish()
    except OSError as exc:
        raise ImageWriteError(f"cannot write {q}: {exc.strerror or exc}") from None
    finally:
        discard(tmp)
    return target
