"""Running the blocks of a Dask array: on a ``dask.distributed`` client or locally, with a
``progress(done, total)`` callback."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

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
