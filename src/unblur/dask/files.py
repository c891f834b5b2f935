"""Restoring a file into a file, block by block: :func:`deconvolve_file`."""

from __future__ import annotations

import math
import os
import pathlib
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .._checks import check_channel_axis
from ..errors import InvalidParameterError
from .chunked import TARGET_CHUNK_PIXELS, _per_axis, deconvolve
from .readers import _LazyFile as _LazyFile
from .readers import from_file
from .tasks import ProgressCallback
from .writers import WRITE_SUFFIXES as WRITE_SUFFIXES
from .writers import _RawWriter as _RawWriter
from .writers import _ZarrWriter as _ZarrWriter
from .writers import check_disk_space, refuse_existing, to_file

#: Most blocks one chunked run may have: Dask's task graph grows with them (about 10 kB of
#: memory per block), so a huge image cut into small chunks is refused before it is built.
MAX_BLOCKS = 1 << 17


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
    force: bool = False,
    progress: ProgressCallback | None = None,
    info: dict | None = None,
    inputs: Iterable[str | os.PathLike] = (),
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
    force : bool, optional
        Replace an existing ``target`` file (never a folder, never ``source``).
    progress : callable, optional
        ``progress(done, total)`` after each block is written (e.g. to drive a progress bar).
    inputs : iterable of path-like
        Other files the run reads (a PSF file), never to be overwritten.

    Returns
    -------
    pathlib.Path
        The written ``target``.

    Raises
    ------
    UnblurError
        Before any work: an unreadable ``source``, a ``target`` that breaks the output-safety
        rule (see :func:`to_file`), more than :data:`MAX_BLOCKS` blocks, or an uncompressed
        output larger than the free disk space; as :func:`deconvolve` for the method.

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
    from ..io import check_outputs

    refuse_existing(target, force)  # before any work
    check_outputs([target], inputs=[source, *inputs], force=force)
    probe = from_file(source)  # lazy: shape and dtype only
    axis = check_channel_axis(probe.ndim, channel_axis)
    spatial = [n for a, n in enumerate(probe.shape) if a != axis]
    if chunks is None:
        chunks = 2 ** round(math.log2(TARGET_CHUNK_PIXELS) / len(spatial))
    sides = _per_axis("chunks", chunks, len(spatial))
    if any(s == 0 for s in sides):
        raise InvalidParameterError(f"chunks must be positive integers, got {chunks!r}")
    sides = tuple(min(s, n) for s, n in zip(sides, spatial, strict=True))
    out = pathlib.Path(target)
    if out.suffix.lower() != ".zarr":
        dtype = np.dtype(np.float64 if probe.dtype == np.float64 else np.float32)
        check_disk_space(out, math.prod(probe.shape) * dtype.itemsize)
    _check_blocks(source, spatial, sides)
    # read in the blocks that will be restored (no rechunking of large blocks)
    side = iter(sides)
    read_chunks = tuple(-1 if a == axis else next(side) for a in range(probe.ndim))
    lazy = from_file(source, chunks=read_chunks)
    restored = deconvolve(
        lazy,
        psf,
        method,
        chunks=sides,
        overlap=overlap,
        boundary=boundary,
        channel_axis=channel_axis,
        info=info,
        **params,
    )
    return to_file(restored, target, force=force, progress=progress, inputs=[source, *inputs])


def _check_blocks(source, spatial: Sequence[int], sides: Sequence[int]) -> None:
    """Refuse a cut into more than MAX_BLOCKS blocks (the task graph alone would not fit)."""
    blocks = math.prod(-(-n // s) for n, s in zip(spatial, sides, strict=True))
    if blocks > MAX_BLOCKS:
        shape = " x ".join(map(str, spatial))
        side = " x ".join(map(str, sides))
        raise InvalidParameterError(
            f"'{os.fsdecode(os.fspath(source))}' ({shape}) would be cut into {blocks} blocks "
            f"of {side}, more than the {MAX_BLOCKS} one run can schedule; give larger --chunks"
        )
