"""``unblur deconvolve`` of a big image block by block, with :mod:`unblur.dask`."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import click
import numpy as np

from ._errors import CLIError
from ._estimate import (
    conservative_warning,
    echo_estimate,
    estimate_psf,
    file_values,
    psf_fields,
    warn,
)
from ._files import check_outputs, psf_files, read_psf
from ._output import echo_json, params_text, progress_bar, restored_text, stderr_console


def _central_sample(lazy, channel_axis: int | None, side: int = 512) -> np.ndarray:
    """The central ``side`` x ``side`` (x ...) part of a lazy image, computed."""
    axis = None if channel_axis is None else channel_axis % lazy.ndim
    region = []
    for a, n in enumerate(lazy.shape):
        if a == axis:
            region.append(slice(None))
        else:
            start = max(0, (n - side) // 2)
            region.append(slice(start, start + min(n, side)))
    return np.asarray(lazy[tuple(region)].compute())


def deconvolve_chunked(
    input_path: Path,
    output: Path,
    *,
    psf_spec: str | None,
    psf_model: str,
    psf_size: int | tuple[int, ...] | None,
    method: str,
    boundary: str | None,
    params: dict[str, Any],
    chunks: int | tuple[int, ...] | None,
    overlap: int | tuple[int, ...] | None,
    fft_workers: int | None,
    force: bool,
    as_json: bool,
    encoding: str | None = None,
) -> None:
    """Read, restore and write ``input_path`` block by block (:func:`deconvolve_file`).

    The PSF, if not given, is estimated from the central 512 x 512 part of the image.
    ``encoding`` (``--encoding``) is the estimator's data model when given, and every block's
    (as in :func:`unblur.deconvolve`, a PSF estimated from 8-bit values restores in linear
    light unless it is ``"linear"``).
    ``fft_workers`` (``--workers``): FFT threads per block; by default one, since Dask runs
    one block per core.
    """
    try:
        import dask.array  # noqa: F401
    except ImportError:
        raise CLIError(
            "--chunks and .zarr files need Dask, which is not installed: pip install 'unblur[dask]'"
        ) from None

    from .. import dask as unblur_dask
    from .. import fft
    from ..restore import resolve

    protected = [input_path, *psf_files(psf_spec)]
    check_outputs([output], inputs=protected, force=force)
    if output.suffix.lower() not in unblur_dask.WRITE_SUFFIXES:
        raise CLIError(
            f"cannot write {str(output)!r} block by block: give a "
            f"{', '.join(unblur_dask.WRITE_SUFFIXES)} output"
        )
    resolve(method, (), params)  # an unknown method or parameter fails before the work
    lazy = unblur_dask.from_file(input_path)  # lazy: shape and dtype only
    axis = -1 if lazy.ndim in (3, 4) and lazy.shape[-1] <= 4 else None  # as unblur.io: colour
    console = stderr_console()
    estimate = None
    if psf_spec is None:
        from ..io import read_header

        sample = _central_sample(lazy, axis)
        if sample.dtype.kind == "f" and input_path.suffix.lower() != ".zarr":
            sample = file_values(sample, read_header(input_path))  # a PNG/JPEG read as floats
        k, estimate = estimate_psf(sample, axis, psf_size, psf_model, console=console,
                                   encoding=encoding)  # fmt: skip
    else:
        k = read_psf(psf_spec, tuple(lazy.shape), axis)  # a PSF, or a field of PSFs
    progress = progress_bar(console, "deconvolving blocks")
    run: dict[str, Any] = {}
    start = time.perf_counter()
    with progress, fft.workers(fft_workers or 1):
        task = progress.add_task("blocks", total=None)

        def on_block(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        unblur_dask.deconvolve_file(
            input_path,
            output,
            k,
            method,
            chunks=chunks,
            overlap=overlap,
            boundary=boundary,
            channel_axis=axis,
            force=force,
            progress=on_block,
            info=run,
            inputs=protected[1:],
            **({} if estimate is None else {"psf_info": estimate}),
            **({} if encoding is None else {"encoding": encoding}),
            **params,
        )
    warn(conservative_warning(run))  # a doubtful estimate: said on stderr
    seconds = time.perf_counter() - start
    blocks = math.prod(len(c) for c in run.get("chunks", ()))
    parameters = {**params, **run.get("parameters", {})}
    if run.get("boundary") is not None:  # None: each method's own
        parameters["boundary"] = run["boundary"]
    channel = None if axis is None else axis % lazy.ndim
    chunk_sides = [max(c) for a, c in enumerate(run.get("chunks", ())) if a != channel]
    if as_json:
        echo_json(
            {
                "input": input_path,
                "output": output,
                **psf_fields(psf_spec, k, estimate),
                "method": run.get("method", method),
                "parameters": parameters,
                "seconds": seconds,
                "chunks": chunk_sides,
                "overlap": list(run.get("overlap", ())),
                "blocks": blocks,
                **({"encoding": run["encoding"]} if "encoding" in run else {}),
            }
        )
        return
    echo_estimate(estimate)
    text = params_text(parameters)
    click.echo(
        f"wrote {output} ({restored_text(run.get('method', method), run)}, {blocks} blocks, "
        f"{seconds:.2f} s{'; ' + text if text else ''})"
    )
