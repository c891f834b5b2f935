"""``unblur deconvolve`` of one image in memory, with its progress bar and HTML report."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np

from ._estimate import (
    check_grid_fits,
    conservative_warning,
    echo_estimate,
    estimate_psf,
    estimate_text,
    file_values,
    psf_fields,
    warn,
)
from ._files import (
    check_psf_fits,
    check_restore_memory,
    check_writable,
    data_color,
    kernel_shape,
    psf_files,
    read_psf,
    split_alpha,
    stage_psf,
    with_alpha,
)
from ._output import (
    echo_json,
    params_text,
    progress_bar,
    restored_text,
    shape_text,
    starting,
    stderr_console,
)
from ._reference import align_reference, check_reference_header

logger = logging.getLogger("unblur")


def _progress_callback(progress, total: int | None) -> Callable[[int, np.ndarray], None]:
    """A ``callback(iteration, estimate)`` that advances a rich progress bar by one step."""
    task = progress.add_task("deconvolving", total=total)  # drawn from the run's start

    def callback(iteration: int, estimate: np.ndarray) -> None:
        progress.advance(task)

    callback.borrows_estimate = True  # it does not look at the estimate: no copy needed
    return callback


def deconvolve_single(
    input_path: Path,
    output: Path,
    *,
    psf_spec: str | None,
    psf_model: str,
    psf_size: int | tuple[int, ...] | None,
    method: str,
    boundary: str | None,
    color: str = "channels",
    params: dict[str, Any],
    dtype: str | None,
    report_path: Path | None,
    reference_path: Path | None,
    save_psf: Path | None = None,
    psf_grid: tuple[int, int] | None = None,
    device: str = "cpu",
    encoding: str | None = None,
    force: bool,
    as_json: bool,
) -> None:
    """Restore one image (the PSF given or estimated) with ``method``.

    The output, the report and the estimated PSF (``save_psf``) are written only when all of
    them are ready: a failed report leaves an existing output as it was, even with ``--force``.
    """
    from ..io import OutputSet

    sources = [input_path, *psf_files(psf_spec)]
    if reference_path is not None:
        sources.append(reference_path)
    outputs = [p for p in (output, report_path, save_psf) if p is not None]
    with OutputSet(outputs, inputs=sources, force=force) as staged:
        run, k, estimate, compared = _restore(
            input_path,
            staged,
            psf_spec=psf_spec,
            psf_model=psf_model,
            psf_size=psf_size,
            method=method,
            boundary=boundary,
            color=color,
            params=params,
            dtype=dtype,
            report_path=report_path,
            reference_path=reference_path,
            save_psf=save_psf,
            psf_grid=psf_grid,
            device=device,
            encoding=encoding,
        )
        staged.commit()  # the image, its report and its PSF, or none of them
    logger.info("parameters: %s", run["parameters"])
    if as_json:
        echo_json(
            {
                "input": str(input_path),
                "output": str(output),
                **psf_fields(psf_spec, k, estimate),
                **run,
                **({} if report_path is None else {"report": str(report_path)}),
                **({} if compared is None else {"reference": compared}),
                **({} if save_psf is None else {"psf_saved": str(save_psf)}),
            }
        )
        return
    echo_estimate(estimate)
    if compared is not None and "note" in compared:
        click.echo(f"reference: {compared['note']}")
    if (run.get("conservative") or {}).get("action") == "input":
        click.echo(f"wrote {output} ({restored_text(run['method'], run)}: not restored)")
    else:
        click.echo(
            f"wrote {output} ({restored_text(run['method'], run)}, {run['seconds']:.2f} s; "
            f"{params_text(run['parameters'])})"
        )
    if report_path is not None:
        click.echo(f"wrote {report_path} (report)")
    if save_psf is not None:
        what = (
            f"the estimated PSF field, {shape_text(k.grid_shape)} PSFs of "
            f"{shape_text(k.psf_shape)}, each summing to 1"
            if hasattr(k, "grid_shape")
            else f"the estimated PSF, {shape_text(k.shape)}, sum 1"
        )
        click.echo(f"wrote {save_psf} ({what})")


def _plain_png(path: Path | None, info) -> bytes | None:
    """The bytes of ``path`` when :func:`~unblur.io.read_image` returned its 8-bit samples
    divided by 255, unchanged: an 8-bit PNG without alpha, ICC profile or EXIF (so not
    turned upright either). The report embeds such a file as it is (it checks the file's size
    and chunks) rather than encode the same picture again."""
    if (
        path is None
        or info is None
        or path.suffix.lower() != ".png"
        or info.dtype != "uint8"
        or info.has_alpha
        or info.icc_profile is not None
        or info.exif is not None
        or info.n_pages != 1
    ):
        return None
    return path.read_bytes()


def _encoded(writer: Callable[[Any], None]) -> bytes:
    """The bytes that ``writer`` (from :func:`~unblur.io.encode_image`) writes."""
    import io

    buffer = io.BytesIO()
    writer(buffer)
    return buffer.getvalue()


def _file_shape(psf_spec: str | None) -> list[tuple[int, ...]]:
    """``[shape]`` of the PSF file ``psf_spec`` names, as stored (before it is cleaned)."""
    from ..errors import UnblurError
    from ..io import read_header

    for path in psf_files(psf_spec):
        try:
            header = read_header(path)
        except UnblurError:
            return []
        return [tuple(header.shape[:-1] if header.channel_axis is not None else header.shape)]
    return []


def _restore(
    input_path: Path,
    staged,
    *,
    psf_spec: str | None,
    psf_model: str,
    psf_size: int | tuple[int, ...] | None,
    method: str,
    boundary: str | None,
    color: str,
    params: dict[str, Any],
    dtype: str | None,
    report_path: Path | None,
    reference_path: Path | None,
    save_psf: Path | None,
    device: str,
    psf_grid: tuple[int, int] | None = None,
    encoding: str | None = None,
) -> tuple[dict[str, Any], np.ndarray, dict[str, Any] | None, dict[str, Any] | None]:
    """Read, restore and stage the output (and the report) in ``staged`` (an OutputSet).

    Returns the run's info, the PSF, the PSF estimate (or None) and what the reference was
    compared on (:func:`~._reference.align_reference`, with the restoration's ``psnr``; None
    without a reference).
    """
    from ..io import encode_image, read_header, read_image

    output = staged.outputs[0]
    console = stderr_console()
    # a first line on the terminal before the imports and the reading (issue 20: within 2 s)
    with starting(console, f"reading {input_path.name}"):
        # every check that needs no result, from the headers, before any decoding (issue 20)
        header = read_header(input_path)
        check_writable([output], like=header, dtype=dtype)
        if save_psf is not None:
            check_writable([save_psf])
        if reference_path is not None:
            check_reference_header(reference_path, input_path, header)
        check_grid_fits(psf_grid, header)
        from ..api import deconvolve  # after those checks: the models take a second to import
        from ..restore import resolve

        chosen = resolve(method, (), params).method  # an unknown method or parameter
        check_restore_memory(input_path, method, header)
        image, info = read_image(input_path)
        colour, alpha, axis = split_alpha(image, info)
        k = None if psf_spec is None else read_psf(psf_spec, colour.shape, axis, info.voxel_size)
        check_psf_fits(input_path, info, image.shape, k)
        reference, compared, reference_info = None, None, None
        if reference_path is not None:  # the same size, or the sharp original of a 'valid' blur
            reference, reference_info = read_image(reference_path)
            reference, compared = align_reference(
                split_alpha(reference, reference_info)[0],
                colour.shape,
                axis,
                None if k is None else [kernel_shape(k), *_file_shape(psf_spec)],
                reference_path=reference_path,
                input_path=input_path,
            )
    estimate = None
    if k is None:
        k, estimate = estimate_psf(
            file_values(colour, info),
            axis,
            psf_size,
            psf_model,
            console=console,
            grid=psf_grid,
            encoding=encoding,
        )

    total = None
    declared = chosen.parameters.get("num_iter")
    n_iter = params.get("num_iter", None if declared is None else declared.default)
    if chosen.iterative and isinstance(n_iter, int) and n_iter > 0:
        restored_channels = 1 if axis is None or color == "luminance" else colour.shape[axis]
        total = n_iter * restored_channels
    progress = progress_bar(console, "{task.description}")
    # no callback without a terminal: a bar that is not drawn needs no call per iteration
    callback = None if progress.disable else _progress_callback(progress, total)
    monitor = None
    if report_path is not None:
        from ..report import ConvergenceMonitor

        if color == "luminance" and axis is not None and reference is not None:
            from ..colour import rgb_to_ycbcr  # the luma is what is restored: compare it

            luma = np.take(rgb_to_ycbcr(reference, channel_axis=axis), 0, axis=axis)
            monitor = ConvergenceMonitor(luma, callback=callback)
        else:
            monitor = ConvergenceMonitor(reference, channel_axis=axis, callback=callback)
    with progress:
        run: dict[str, Any] = {}
        restored = deconvolve(
            colour,
            k,
            method,
            boundary=boundary,
            channel_axis=axis,
            color=data_color(color, colour, axis),
            callback=callback if monitor is None else monitor,
            info=run,
            device=device,
            psf_info=estimate,
            encoding=encoding,
            **params,
        )
    warn(conservative_warning(run))  # a doubtful estimate: said on stderr
    writer = encode_image(output, with_alpha(restored, alpha), info=info, dtype=dtype)
    restored_png = None
    if report_path is not None and alpha is None and output.suffix.lower() == ".png":
        restored_png = _encoded(writer)  # the report shows the file itself (if 8-bit plain)
        staged.write(output, lambda f: f.write(restored_png))
    else:
        staged.write(output, writer)
    if save_psf is not None:
        stage_psf(staged, save_psf, k)
    report_info: dict[str, Any] = {}
    if report_path is not None:
        from ..report import write_report

        psf_text = psf_spec if estimate is None else f"estimated: {estimate_text(estimate)}"
        details = {"input": str(input_path), "output": str(output), "PSF": psf_text}
        if compared is not None:
            note = compared.get("note")
            details["reference"] = str(reference_path) + (f" ({note})" if note else "")
        if run["auto"]:
            details["method choice"] = "automatic (-m auto)"
        write_report(
            staged.path(report_path),
            blurred=colour,
            restored=restored,
            psf=k,
            method=run["method"],
            parameters=run["parameters"],
            seconds=run["seconds"],
            channel_axis=axis,
            reference=reference,
            convergence=monitor,
            given=set(params) | ({"boundary"} if boundary is not None else set()),
            details=details,
            png_files={
                name: png
                for name, path, file_info in (
                    ("blurred", input_path, info),
                    ("reference", reference_path, reference_info),
                )
                if (png := _plain_png(path, file_info)) is not None
            }
            | ({} if restored_png is None or info.linear else {"restored": restored_png}),
            info=report_info,
        )
    if compared is not None and "quality" in report_info:  # the report's score, not again
        compared["psnr"] = report_info["quality"]["restored"][0]
    elif compared is not None:
        from ..metrics import psnr

        compared["psnr"] = psnr(restored, reference, data_range=1.0)
    return run, k, estimate, compared
