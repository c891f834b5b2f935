r"""Chunked and distributed deconvolution of images larger than memory, with Dask.

:func:`deconvolve` restores a (lazy) Dask array block by block with any registered method:
every block is extended by an ``overlap`` of neighbouring pixels, restored on its own with
:func:`unblur.deconvolve`, and cropped back, so memory grows with the chunk size and not with
the image size, and the chunks run in parallel on threads, processes or a ``dask.distributed``
cluster. :func:`from_file` opens TIFF, ``.npy`` and Zarr files lazily; :func:`to_file` writes
a result chunk by chunk (atomically); :func:`compute` gathers it into memory. Both report
progress through a plain ``progress(done, total)`` callback.

Why the seams are invisible
---------------------------
Restoration with a PSF :math:`h` of half-width :math:`w` is not local: each output pixel
depends on the whole input, but with a weight that decays away from it. For a direct filter
:math:`\hat x = g * y` the decay is that of the restoration kernel :math:`g` (an inverse or
Wiener filter has most of its energy within a few PSF widths unless it is barely
regularised); for :math:`n` iterations of Richardson-Lucy or Landweber information travels
at most :math:`n w` pixels, but its weight falls off much faster. A block extended by
:math:`d` pixels and restored on its own therefore matches the whole-image result in its
centre up to an error that falls with :math:`d`. Each block is solved with a boundary model
(``unknown`` for methods that support it: the block is the valid part of a larger scene), so
the cut does not ring. The default overlap is three PSF half-widths on each side,
:math:`d = 3 \lceil w \rceil` (see :func:`default_overlap`); ``benchmarks/dask_memory.py`` and
``tests/test_dask.py`` measure the agreement. At the outer border of the image Dask adds no
padding: blocks there are solved with the method's boundary model like a whole-image call,
and differ from it only by that model's own border artefacts, which depend on the size of
the FFT grid (within about one overlap of the border).

Automatic parameters (a GCV weight, a noise level, ``method="auto"``) must not be chosen per
block, or neighbouring blocks would solve different problems. With ``fix_parameters=True``
:func:`deconvolve` runs the method once on a central sample block, reads the choices it
reports, and passes them to every block.

References
----------
M. Rocklin, "Dask: Parallel computation with blocked algorithms and task scheduling",
Proceedings of the 14th Python in Science Conference, 2015, pp. 126-132.
"""

from __future__ import annotations

import contextlib
import math
import os
import pathlib
import shutil
import uuid
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np

from ._checks import check_channel_axis, check_psf, float_dtype
from .api import deconvolve as _deconvolve
from .errors import (
    ImageReadError,
    ImageWriteError,
    InvalidImageError,
    InvalidParameterError,
)
from .operators import BOUNDARIES
from .restore import get_method
from .restore.auto import DEFAULT_METHOD, choose_method

__all__ = ["compute", "deconvolve", "deconvolve_file", "default_overlap", "from_file", "to_file"]

#: Default overlap in PSF half-widths on each side of a block.
OVERLAP_FACTOR = 3
#: Pixels (voxels) per block that the default ``chunks`` aim at.
TARGET_CHUNK_PIXELS = 1 << 20

ProgressCallback = Callable[[int, int], None]


def _require_dask():
    """Import :mod:`dask.array`, or say how to install it."""
    try:
        import dask.array as da
    except ImportError as exc:  # pragma: no cover - dask is installed in the test environment
        raise ModuleNotFoundError(
            "unblur.dask needs Dask; install it with: pip install 'unblur[dask]'"
        ) from exc
    return da


# --------------------------------------------------------------------------------------------
# deconvolution
# --------------------------------------------------------------------------------------------
def default_overlap(psf: np.ndarray, factor: float = OVERLAP_FACTOR) -> tuple[int, ...]:
    r"""Overlap per axis for :func:`deconvolve`: ``factor`` PSF half-widths, at least one.

    .. math:: d_i = \max\left(1, \lceil f \cdot \lfloor p_i / 2 \rfloor \rceil\right)

    for a PSF of side lengths :math:`p_i`.

    Parameters
    ----------
    psf : numpy.ndarray
        The PSF (one axis per spatial axis of the image).
    factor : float, optional
        Half-widths per side; 3 keeps chunked results within about 1e-3 of whole-image ones
        for regularised direct filters and tens of Richardson-Lucy iterations.

    Returns
    -------
    tuple of int
        Overlap in pixels for each axis.

    Examples
    --------
    >>> from unblur import psf
    >>> default_overlap(psf.gaussian(2.0))   # a 17 x 17 PSF: half-width 8
    (24, 24)
    """
    if not math.isfinite(factor) or factor <= 0:
        raise InvalidParameterError(f"overlap factor must be > 0, got {factor}")
    return tuple(max(1, math.ceil(factor * (int(p) // 2))) for p in np.shape(psf))


def _per_axis(name: str, value, ndim: int) -> tuple[int, ...]:
    """An int or one int per spatial axis, each a non-negative integer."""
    values = (value,) * ndim if np.isscalar(value) else tuple(value)
    if len(values) != ndim:
        raise InvalidParameterError(
            f"{name} must be an int or one int per spatial axis ({ndim}), got {value!r}"
        )
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 0:
            raise InvalidParameterError(f"{name} must be non-negative integers, got {value!r}")
        out.append(int(v))
    return tuple(out)


def _default_chunk(ndim: int, depth: int, extent: int) -> int:
    """Default block side: about TARGET_CHUNK_PIXELS per block, and at least 4 overlaps."""
    side = 2 ** round(math.log2(TARGET_CHUNK_PIXELS) / ndim)
    return min(extent, max(side, 4 * depth))


def _merge_small_last(chunks: tuple[int, ...], minimum: int) -> tuple[int, ...]:
    """Merge a last chunk smaller than ``minimum`` into its neighbour."""
    if len(chunks) > 1 and chunks[-1] < minimum:
        return (*chunks[:-2], chunks[-2] + chunks[-1])
    return chunks


def _restore_block(
    block: np.ndarray,
    *,
    psf: np.ndarray,
    method: str,
    boundary: str | None,
    channel_axis: int | None,
    params: dict[str, Any],
    dtype: np.dtype,
) -> np.ndarray:
    """Restore one overlapping block (runs on a worker)."""
    restored = _deconvolve(
        block, psf, method, boundary=boundary, channel_axis=channel_axis, **params
    )
    return np.asarray(restored, dtype=dtype)


def _chunk_boundary(method_name: str, boundary: str | None) -> str | None:
    """The boundary model each block is solved with."""
    if boundary is not None:
        if boundary not in BOUNDARIES:
            raise InvalidParameterError(
                f"unknown boundary {boundary!r}; choose one of {', '.join(BOUNDARIES)}"
            )
        return boundary
    default = get_method(method_name).parameters.get("boundary")
    if default is not None and default.default == "periodic":
        return "reflect"  # a block of a larger scene is not periodic
    return None  # the method's own default (``unknown`` for iterative methods)


def deconvolve(
    array,
    psf: np.ndarray,
    method: str = "auto",
    *,
    chunks: int | Sequence[int] | None = None,
    overlap: int | Sequence[int] | None = None,
    boundary: str | None = None,
    channel_axis: int | None = None,
    fix_parameters: bool = True,
    info: dict | None = None,
    **params: Any,
):
    r"""Restore a (possibly larger-than-memory) image block by block; returns a Dask array.

    The image is cut into blocks of ``chunks`` pixels; each block is extended by ``overlap``
    pixels of its neighbours (``dask.array.map_overlap``), restored with
    :func:`unblur.deconvolve` (same ``method`` and parameters for every block) and cropped back.
    Nothing is computed until the result is (``.compute()``, :func:`compute`, :func:`to_file`),
    except one sample block when ``fix_parameters`` needs it.

    Parameters
    ----------
    array : dask.array.Array or array_like
        Blurred image: 2-D, 3-D stack, or colour with ``channel_axis``. Integer data are scaled
        to [0, 1] per block (by the dtype's maximum, so consistently). A numpy array is wrapped.
    psf : numpy.ndarray
        PSF with one axis per spatial axis (normalised here).
    method : str, optional
        Any registered method (:func:`unblur.available_methods`) or ``"auto"``.
    chunks : int or sequence of int, optional
        Block side per spatial axis. Default: the input's chunks for a Dask array, else about
        :data:`TARGET_CHUNK_PIXELS` pixels per block (1024 x 1024 in 2-D, 128³ in 3-D) and at
        least four overlaps. The channel axis is never split. A last block smaller than the
        PSF is merged into its neighbour.
    overlap : int or sequence of int, optional
        Pixels of context added on each side of a block (Dask's ``depth``), at least the PSF's
        half-width. Default :func:`default_overlap`: three PSF half-widths.
    boundary : str, optional
        Boundary model of every block (see :mod:`unblur.operators`). Default: the method's
        own (``unknown`` for Richardson-Lucy), with ``periodic`` replaced by ``reflect``. The
        image's outer border is treated as in a whole-image call.
    channel_axis : int, optional
        Axis of colour channels (never chunked; every channel uses the same PSF).
    fix_parameters : bool, optional
        Choose automatic parameters (and the method of ``"auto"``) once, on a central sample
        block of the size of one extended chunk, and give the choice to every block. Without
        it each block chooses its own, which can show as seams. Ignored for a single block.
    info : dict, optional
        Receives ``method``, ``boundary``, ``overlap``, ``chunks`` (the input blocks) and
        ``parameters`` (those fixed from the sample block).
    **params
        The method's parameters. ``callback`` is not available (use ``progress`` of
        :func:`compute` or :func:`to_file`).

    Returns
    -------
    dask.array.Array
        The restored image, shape of ``array``, float32 (float64 for float64 input).

    Raises
    ------
    UnblurError
        For a bad PSF, method, parameter, chunk or overlap (before anything is computed).
    ModuleNotFoundError
        If Dask is not installed (``pip install 'unblur[dask]'``).

    Notes
    -----
    Methods whose steps use global quantities agree with a whole-image run only
    approximately: the extrapolation factor of accelerated Richardson-Lucy is an inner product
    over the block and the smoothing scale of its total-variation term is relative to the
    block's peak, a ``tol`` stops each block after its own number of iterations, and a
    data-driven model that is not exposed as a parameter (the power-law fit of ``wiener``
    without ``balance``) is fitted per block. Measured on a 256² photograph with 64² chunks and
    the default overlap, the largest difference from a whole-image run (image range [0, 1],
    away from the border) is about 1e-4 to 1e-3 for ``inverse``/``wiener``/``tikhonov`` with
    fixed regularisation and plain Richardson-Lucy, 5e-3 with its TV term, 1e-2 with its
    acceleration, and 8e-2 for ``wiener`` with its automatic power-law model.

    References
    ----------
    M. Rocklin, "Dask: Parallel computation with blocked algorithms and task scheduling",
    Proc. 14th Python in Science Conference, 2015.

    Examples
    --------
    >>> import numpy as np
    >>> import unblur
    >>> from unblur import dask as ud, psf
    >>> x = np.random.default_rng(0).random((96, 96)).astype(np.float32)
    >>> k = psf.gaussian(1.0)
    >>> y = unblur.blur(x, k)
    >>> lazy = ud.deconvolve(y, k, "wiener", balance=1e-3, chunks=48)
    >>> out = lazy.compute()
    >>> whole = unblur.deconvolve(y, k, "wiener", balance=1e-3)
    >>> inner = (slice(16, -16),) * 2  # away from the image's border
    >>> out.dtype, bool(np.abs(out - whole)[inner].max() < 1e-3)
    (dtype('float32'), True)
    """
    da = _require_dask()
    for reserved in ("callback", "return_info"):
        if reserved in params:
            raise InvalidParameterError(
                f"{reserved} is not available with unblur.dask (blocks run on workers)"
            )
    if not isinstance(array, da.Array):
        array = np.asarray(array)
        if array.dtype == object or not (
            np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_
        ):
            raise InvalidImageError(f"image must be a numeric array, got dtype {array.dtype}")
        array = da.from_array(array, chunks=array.shape)
    if np.issubdtype(array.dtype, np.complexfloating):
        raise InvalidImageError(f"image must be real, got complex dtype {array.dtype}")
    if array.size == 0:
        raise InvalidImageError(f"image is empty (shape {array.shape})")
    axis = check_channel_axis(array.ndim, channel_axis)
    spatial_axes = [a for a in range(array.ndim) if a != axis]
    spatial = tuple(array.shape[a] for a in spatial_axes)
    k = check_psf(psf, spatial)

    get_method(DEFAULT_METHOD if method == "auto" else method)  # unknown: lists them

    half = tuple(p // 2 for p in k.shape)
    if overlap is None:
        depth = default_overlap(k)
    else:
        depth = _per_axis("overlap", overlap, len(spatial))
        short = [i for i, (d, h) in enumerate(zip(depth, half, strict=True)) if d < h]
        if short:
            raise InvalidParameterError(
                f"overlap {depth} is smaller than the PSF half-width {half}; seams would show"
            )

    # blocks: requested or default side per spatial axis, channels whole
    if chunks is None:
        if array.numblocks == (1,) * array.ndim:  # a wrapped numpy array or a single block
            sides = [
                _default_chunk(len(spatial), d, n) for d, n in zip(depth, spatial, strict=True)
            ]
        else:
            sides = None
    else:
        sides = list(_per_axis("chunks", chunks, len(spatial)))
        if any(s == 0 for s in sides):
            raise InvalidParameterError(f"chunks must be positive integers, got {chunks!r}")
    new_chunks: list = []
    for i, a in enumerate(spatial_axes):
        current = array.chunks[a] if sides is None else None
        if current is None:
            side = min(sides[i], array.shape[a])
            full, rest = divmod(array.shape[a], side)
            current = (side,) * full + ((rest,) if rest else ())
        new_chunks.append(_merge_small_last(tuple(current), k.shape[i]))
    target = list(array.chunks)
    for i, a in enumerate(spatial_axes):
        target[a] = new_chunks[i]
    if axis is not None:
        target[axis] = (array.shape[axis],)
    target = tuple(target)
    if target != array.chunks:
        array = array.rechunk(target)

    # "auto" decides on what one solve sees (a block and its overlap), not the whole array
    if method == "auto":
        block = [
            min(n, max(array.chunks[a]) + 2 * d)
            for n, a, d in zip(spatial, spatial_axes, depth, strict=True)
        ]
        name = choose_method(block)[0]
    else:
        name = method
    accepted = get_method(name).parameters
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise InvalidParameterError(
            f"method {name!r} has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters are: {', '.join(accepted)}"
        )
    block_boundary = _chunk_boundary(name, boundary)

    # one sample block fixes the automatic choices for all blocks
    fixed: dict[str, Any] = {}
    if fix_parameters and array.numblocks != (1,) * array.ndim:
        region = [slice(None)] * array.ndim
        for i, a in enumerate(spatial_axes):
            size = min(array.shape[a], max(array.chunks[a]) + 2 * depth[i])
            start = (array.shape[a] - size) // 2
            region[a] = slice(start, start + size)
        sample = np.asarray(array[tuple(region)].compute())
        _, sample_info = _deconvolve(
            sample,
            k,
            name,
            boundary=block_boundary,
            channel_axis=axis,
            return_info=True,
            **params,
        )
        if sample_info["method"] != name:  # "auto" resolved on the sample
            name = sample_info["method"]
            block_boundary = _chunk_boundary(name, boundary)
        accepted = get_method(name).parameters
        for key, value in sample_info["parameters"].items():
            # an automatic parameter (default None) that the sample run chose
            if key in accepted and key not in params and value is not None:
                if accepted[key].default is None:
                    fixed[key] = value

    out_dtype = float_dtype(array.dtype) if array.dtype.kind == "f" else np.dtype(np.float32)
    depth_map = {a: depth[i] for i, a in enumerate(spatial_axes)}
    if axis is not None:
        depth_map[axis] = 0
    func = partial(
        _restore_block,
        psf=k,
        method=name,
        boundary=block_boundary,
        channel_axis=axis,
        params={**params, **fixed},
        dtype=out_dtype,
    )
    result = array.map_overlap(
        func,
        depth=depth_map,
        boundary="none",
        trim=True,
        dtype=out_dtype,
        meta=np.empty((0,) * array.ndim, dtype=out_dtype),
    )
    if info is not None:
        info.update(
            method=name,
            boundary=block_boundary,
            overlap=depth,
            chunks=array.chunks,
            parameters=fixed,
        )
    return result


# --------------------------------------------------------------------------------------------
# running with progress
# --------------------------------------------------------------------------------------------
def _distributed_client():
    """The active ``dask.distributed`` client that dask would use, or None."""
    import dask

    scheduler = dask.config.get("scheduler", None)
    if scheduler not in (None, "dask.distributed", "distributed"):
        return None
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:
        return None


def _run_blocks(tasks: list, progress: ProgressCallback | None) -> list:
    """Compute one delayed task per block, calling ``progress(done, total)`` as they finish."""
    import dask

    total = len(tasks)
    client = _distributed_client()
    if client is not None:
        from distributed import as_completed

        futures = client.compute(tasks)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list = [None] * total
        for done, (future, value) in enumerate(as_completed(futures, with_results=True), 1):
            results[index[future.key]] = value
            if progress is not None:
                progress(done, total)
        return results
    if progress is None:
        return list(dask.compute(*tasks))
    from dask.callbacks import Callback

    keys = {t.key for t in tasks}
    done = 0

    def posttask(key, result, dsk, state, worker_id):
        nonlocal done
        if key in keys:
            done += 1
            progress(done, total)

    with Callback(posttask=posttask):
        return list(dask.compute(*tasks))


def _block_tasks(array, func: Callable) -> list:
    """One delayed ``func(block, region)`` per block of ``array``."""
    import dask
    from dask.array.core import slices_from_chunks

    blocks = array.to_delayed(optimize_graph=True).ravel()
    regions = slices_from_chunks(array.chunks)
    return [
        dask.delayed(func, pure=False)(block, region)
        for block, region in zip(blocks, regions, strict=True)
    ]


def _identity(block: np.ndarray, region: tuple[slice, ...]) -> np.ndarray:
    return block


def compute(array, *, progress: ProgressCallback | None = None) -> np.ndarray:
    """Compute a Dask array into memory, calling ``progress(done, total)`` per block.

    Uses the active ``dask.distributed`` client if there is one, else Dask's default
    scheduler. This is the hook for a progress bar (the command line's, for example).

    Parameters
    ----------
    array : dask.array.Array
        E.g. the result of :func:`deconvolve`.
    progress : callable, optional
        Called as ``progress(done, total)`` in this process after each block.

    Returns
    -------
    numpy.ndarray
        The computed array.

    Examples
    --------
    >>> import dask.array as da
    >>> seen = []
    >>> out = compute(da.ones((4, 6), chunks=2), progress=lambda d, t: seen.append((d, t)))
    >>> float(out.sum()), seen[-1]
    (24.0, (6, 6))
    """
    da = _require_dask()
    if not isinstance(array, da.Array):
        return np.asarray(array)
    from dask.array.core import slices_from_chunks

    out = np.empty(array.shape, dtype=array.dtype)
    results = _run_blocks(_block_tasks(array, _identity), progress)
    for region, block in zip(slices_from_chunks(array.chunks), results, strict=True):
        out[region] = block
    return out


# --------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------
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
