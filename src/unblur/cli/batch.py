"""``unblur deconvolve`` of many files: one output each in a folder, in parallel processes.

A file that fails becomes an error row of the summary and does not stop the others.
"""

from __future__ import annotations

import contextlib
import glob
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import numpy as np

from ..errors import UnblurError
from ._errors import CLIError, os_message, show_warning
from ._estimate import estimate_psf, estimate_text, file_values
from ._files import (
    FIELD_EXTENSIONS,
    check_outputs,
    check_psf_fits,
    check_restore_memory,
    check_writable,
    data_color,
    psf_files,
    read_psf,
    split_alpha,
    with_alpha,
)
from ._output import echo_json, params_text, progress_bar, stderr_console, stdout_console


def expand_inputs(args: Sequence[str]) -> tuple[list[Path], bool]:
    """The input files that ``args`` name, and whether they make a batch.

    An argument is a file (or a ``.zarr`` folder: one image), a folder (its image files, not
    recursively, hidden files skipped) or a glob pattern (``*``, ``?``, ``[...]``, ``**``)
    quoted so that the shell leaves it alone. Folders and patterns always make a batch (even
    of one file), and so do several arguments. A file named twice is restored once.
    """
    from ..io import SUPPORTED_READ_EXTENSIONS as extensions

    def images(paths) -> list[Path]:
        return sorted(
            p
            for p in paths
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in extensions
        )

    batch = len(args) > 1
    found: list[Path] = []
    for arg in args:
        path = Path(arg)
        if path.is_dir() and path.suffix.lower() != ".zarr":
            batch = True
            inside = images(path.iterdir())
            if not inside:
                raise CLIError(
                    f"no image files in the folder {arg!r} (looked for {', '.join(extensions)})"
                )
            found += inside
        elif not path.exists() and any(c in arg for c in "*?["):
            batch = True
            matches = images(Path(m) for m in glob.glob(arg, recursive=True))
            if not matches:
                raise CLIError(f"no image file matches {arg!r}")
            found += matches
        else:
            found.append(path)
    unique: dict[str, Path] = {}
    for path in found:
        unique.setdefault(os.path.realpath(path), path)
    return list(unique.values()), batch


def _target(folder: Path, source: Path, suffix: str, out_format: str | None) -> Path:
    """``folder/<stem><suffix><extension>``: the input's extension, or if unwritable ``.tif``
    for a RAW photograph (linear, 16 bits) and ``.png`` for the others."""
    from ..io import SUPPORTED_WRITE_EXTENSIONS
    from ..io.photo import RAW_EXTENSIONS

    extension = f".{out_format}" if out_format else source.suffix
    if extension.lower() in RAW_EXTENSIONS:
        extension = ".tif"
    elif extension.lower() not in SUPPORTED_WRITE_EXTENSIONS:  # .gif, .heic, a folder: PNG
        extension = ".png"
    return folder / f"{source.stem}{suffix}{extension}"


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class _Job:
    """One file of a batch: everything a worker process needs (picklable)."""

    source: Path
    target: Path
    psf: np.ndarray | None  # None: estimate it from the image (unless psf_file is given)
    psf_model: str
    psf_size: int | tuple[int, ...] | None
    method: str
    boundary: str | None
    params: dict[str, Any]
    dtype: str | None
    force: bool
    fft_workers: int | None  # FFT threads in the worker; None: leave as is
    color: str = "channels"
    inputs: tuple[Path, ...] = ()  # files never to overwrite (the PSF file)
    # a PSF file, read for each image as single-image runs read it (read_psf): a PSF, or a
    # field of PSFs built over that image's size
    psf_file: str | None = None
    encoding: str | None = None  # --encoding: how the values relate to light


def _failed_row(job: _Job, message: str) -> dict[str, Any]:
    """The summary row of a file that was not restored (the start of every row)."""
    return {
        "input": str(job.source),
        "output": str(job.target),
        "status": "error",
        "method": job.method,
        "seconds": 0.0,
        "message": message,
    }


@contextlib.contextmanager
def _warnings_named(source: Path):
    """Warnings raised while one file of a batch is restored, as one line each that names the
    file, ``unblur: warning: NAME: ...``, in the parent process and in the ``--jobs`` workers
    alike (a worker does not inherit the command's warning format)."""
    import warnings
    from functools import partial

    with warnings.catch_warnings():
        warnings.showwarning = partial(show_warning, about=source.name)
        yield


def _run_job(job: _Job) -> dict[str, Any]:
    """Restore one file of a batch. Never raises: a failure becomes the row's message."""
    from .. import fft
    from ..api import deconvolve
    from ..io import read_image, write_image

    start = time.perf_counter()
    row = _failed_row(job, "")
    threads = contextlib.nullcontext() if job.fft_workers is None else fft.workers(job.fft_workers)
    try:
        with threads, _warnings_named(job.source):
            check_restore_memory(job.source, job.method)  # before decoding
            image, info = read_image(job.source)
            colour, alpha, axis = split_alpha(image, info)
            k, notes, estimate = job.psf, [], None
            if job.psf_file is not None:
                k = read_psf(job.psf_file, colour.shape, axis, info.voxel_size)
            check_psf_fits(job.source, info, image.shape, k)
            if k is None:
                k, estimate = estimate_psf(
                    file_values(colour, info),
                    axis,
                    job.psf_size,
                    job.psf_model,
                    encoding=job.encoding,
                )
                row["psf_estimate"] = estimate
                notes.append(f"PSF {estimate_text(estimate)}")
            run: dict[str, Any] = {}
            restored = deconvolve(
                colour,
                k,
                job.method,
                boundary=job.boundary,
                channel_axis=axis,
                color=data_color(job.color, colour, axis),
                info=run,
                psf_info=estimate,
                encoding=job.encoding,
                **job.params,
            )
            if run.get("conservative", {}).get("applied"):
                notes.append(f"restored conservatively ({run['conservative']['action']})")
            write_image(
                job.target,
                with_alpha(restored, alpha),
                info=info,
                dtype=job.dtype,
                force=job.force,
                inputs=[job.source, *job.inputs],
            )
        notes.append(params_text(run["parameters"]))
        row.update(
            status="ok",
            method=run["method"],
            parameters=run["parameters"],
            message="; ".join(n for n in notes if n),
        )
    except (UnblurError, CLIError) as exc:
        row["message"] = str(exc)
    except OSError as exc:
        row["message"] = os_message(exc)
    except Exception as exc:
        row["message"] = f"unexpected {type(exc).__name__}: {exc}"
    row["message"] = " ".join(row["message"].split())
    row["seconds"] = time.perf_counter() - start
    return row


def _pool_context():
    """Worker processes that start clean: forkserver (unblur preloaded) where there is one."""
    import multiprocessing

    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__, "unblur.api"])  # each worker starts warm
        return context
    return multiprocessing.get_context("spawn")  # pragma: no cover - Windows


def _run_batch(jobs: list[_Job], n_procs: int, console) -> list[dict[str, Any]]:
    """Run the jobs (in ``n_procs`` processes when more than one) behind a progress bar.

    A worker process that dies (killed, out of memory) fails the file it was restoring only;
    a new process takes its place and the other files go on.
    """
    from ._pool import death_message, run_pool

    rows: list[dict[str, Any]] = [{} for _ in jobs]
    progress = progress_bar(console, "restoring", "{task.completed}/{task.total} files")
    with progress:
        task = progress.add_task("files", total=len(jobs))

        def on_result(index: int, row: dict[str, Any]) -> None:
            rows[index] = row
            progress.advance(task)

        def on_death(index: int, exitcode: int | None) -> dict[str, Any]:
            why = death_message(exitcode)
            return _failed_row(jobs[index], f"its worker process died ({why}; out of memory?)")

        if n_procs == 1:
            for i, job in enumerate(jobs):
                on_result(i, _run_job(job))
        else:
            run_pool(
                _run_job, jobs, n_procs, _pool_context(), on_result=on_result, on_death=on_death
            )
    return rows


def _run_checked(jobs: list[_Job], n_procs: int, console) -> list[dict[str, Any]]:
    """:func:`_run_batch` on the files whose output can be written: a file whose header shows
    that its output cannot (a stack to PNG, alpha to JPEG, a corrupt header) fails at once,
    before any file is restored."""
    from ..io import read_header

    rows: list[dict[str, Any] | None] = []
    for job in jobs:
        try:
            check_writable([job.target], like=read_header(job.source), dtype=job.dtype)
            rows.append(None)
        except UnblurError as exc:
            rows.append(_failed_row(job, " ".join(str(exc).split())))
        except OSError as exc:
            rows.append(_failed_row(job, os_message(exc)))
    todo = [job for job, row in zip(jobs, rows, strict=True) if row is None]
    done = iter(_run_batch(todo, max(1, min(n_procs, len(todo))), console) if todo else [])
    return [next(done) if row is None else row for row in rows]


def _print_summary(rows: list[dict[str, Any]], folder: Path, n_ok: int) -> None:
    """The table of every file: status, method, time, message."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        title=f"unblur deconvolve: {n_ok} of {len(rows)} files restored into {escape(str(folder))}"
    )
    table.add_column("file", overflow="fold")
    table.add_column("status")
    table.add_column("method")
    table.add_column("seconds", justify="right")
    table.add_column("message", overflow="fold")
    for r in rows:
        ok = r["status"] == "ok"
        table.add_row(
            escape(r["input"]),
            "[green]ok[/green]" if ok else "[red]error[/red]",
            escape(str(r["method"])),
            f"{r['seconds']:.2f}",
            escape(r["message"]),
        )
    stdout_console().print(table)


def deconvolve_batch(
    sources: list[Path],
    folder: Path,
    *,
    psf_spec: str | None,
    psf_model: str,
    psf_size: int | tuple[int, ...] | None,
    method: str,
    boundary: str | None,
    params: dict[str, Any],
    dtype: str | None,
    suffix: str | None,
    out_format: str | None,
    jobs: int | None,
    fft_workers: int | None,
    force: bool,
    as_json: bool,
    color: str = "channels",
    encoding: str | None = None,
) -> None:
    """Restore every file of ``sources`` into ``folder``; exit status 1 if any failed.

    ``fft_workers`` (``--workers``): FFT threads per process; by default the cores are
    shared out between the ``jobs`` processes.
    """
    from .. import psf as psf_models
    from ..io import SUPPORTED_WRITE_EXTENSIONS, read_header
    from ..restore import resolve

    if folder.exists() and not folder.is_dir():
        raise CLIError(
            f"{str(folder)!r} is a file: with several inputs, -o names a folder for the outputs"
        )
    if not folder.exists() and folder.suffix.lower() in SUPPORTED_WRITE_EXTENSIONS:
        raise CLIError(
            f"-o {str(folder)!r} looks like a file name: with several inputs, -o names a folder "
            "for the outputs"
        )
    suffix = "_unblur" if suffix is None else suffix
    if os.sep in suffix or (os.altsep and os.altsep in suffix) or "\0" in suffix:
        raise click.BadParameter(
            f"{suffix!r} must not contain a path separator", param_hint="--suffix"
        )
    protected = psf_files(psf_spec)
    k, psf_file = None, None
    if (
        protected
        and protected[0].suffix.lower() in FIELD_EXTENSIONS
        and len(read_header(protected[0]).shape) >= 4  # unreadable: fails here, before the work
    ):
        # possibly a field of PSFs: read per image, as read_psf reads it for one image (a
        # field built over that image's size, or a PSF with as many axes as the image)
        psf_file = psf_spec
    elif psf_spec is not None:  # a model spec or a PSF file, checked and built once
        k = psf_models.parse_spec(psf_spec)
    targets = [_target(folder, source, suffix, out_format) for source in sources]
    check_writable(targets, dtype=dtype)  # --format and --dtype that cannot go together
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        check_outputs(targets, inputs=[*sources, *protected], force=force)
        resolve(method, (), params)  # an unknown method or parameter fails before the work
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # the empty folder made just now
        raise

    cores = _cpu_count()
    n_procs = max(1, min(jobs or min(4, cores), len(sources)))
    workers = fft_workers
    if workers is None and n_procs > 1:  # threads x processes ~ cores
        workers = max(1, cores // n_procs)
    batch = [
        _Job(
            source,
            target,
            k,
            psf_model,
            psf_size,
            method,
            boundary,
            params,
            dtype,
            force,
            workers if n_procs > 1 else None,
            color,
            tuple(protected),
            psf_file,
            encoding,
        )
        for source, target in zip(sources, targets, strict=True)
    ]
    rows = _run_checked(batch, n_procs, stderr_console())
    failed = [r for r in rows if r["status"] != "ok"]
    if as_json:
        echo_json(
            {
                "output": folder,
                "jobs": n_procs,
                "ok": len(rows) - len(failed),
                "failed": len(failed),
                "files": rows,
            }
        )
    else:
        _print_summary(rows, folder, len(rows) - len(failed))
    if failed:
        names = ", ".join(Path(r["input"]).name for r in failed[:3])
        more = f" and {len(failed) - 3} more" if len(failed) > 3 else ""
        raise CLIError(f"{len(failed)} of {len(rows)} files failed: {names}{more}")
