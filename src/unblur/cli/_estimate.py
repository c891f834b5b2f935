"""Blind PSF estimation as the commands run and report it (estimate-psf, blind deconvolve)."""

from __future__ import annotations

import contextlib
import inspect
import time
from collections.abc import Callable
from typing import Any

import click
import numpy as np

from ._output import params_text, progress, shape_text


def _accepts_callback(func: Callable) -> bool:
    try:
        return "callback" in inspect.signature(func).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return False


def check_grid_fits(grid: tuple[int, int] | None, header) -> None:
    """Before decoding: the ``--psf-grid`` field can be estimated on the image of ``header``
    (a 2-D image, regions not smaller than the estimator's window)."""
    if grid is None:
        return
    from ..blind.field import check_grid

    spatial = tuple(header.shape[:-1] if header.channel_axis is not None else header.shape)
    if len(spatial) == 2:  # other layouts: check_psf_fits says that a PSF cannot be estimated
        check_grid(grid, (int(spatial[0]), int(spatial[1])))


def file_values(image: np.ndarray, info) -> np.ndarray:
    """What the blind estimator is given: the file's own 8-bit values when it held 8-bit data.

    The reader returns float32 in [0, 1], which :func:`unblur.estimate_psf` would take as linear
    light; called on the file's 8-bit values it takes them as an sRGB-encoded photograph
    (linearised, clipped at 252, noise measured on the 8-bit grid), as the library documents
    and its benchmarks measure. ``k / 255`` in float32 times 255 rounds back to ``k`` exactly.
    RAW photographs (linear) and every other depth are passed as read. ``info`` is the
    file's :class:`~unblur.io.ImageInfo` or :class:`~unblur.io.ImageHeader`.
    """
    image = np.asarray(image)
    if info is None or info.dtype != "uint8" or getattr(info, "linear", False):
        return image
    if image.dtype.kind != "f":  # the stored values already (a block-wise reader's)
        return image
    return np.rint(np.asarray(image, dtype=np.float32) * 255).astype(np.uint8)


def estimate_psf(
    image: np.ndarray,
    channel_axis: int | None,
    size: int | tuple[int, ...] | None,
    model: str,
    *,
    console=None,
    grid: tuple[int, int] | None = None,
    encoding: str | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Blind PSF estimation with ``unblur.estimate_psf``, shown on ``console`` (stderr).

    If the estimator takes a ``callback`` (the multi-scale free-form model: one call per
    pyramid level or iteration), a progress bar advances with it; otherwise a spinner turns.
    Returns the PSF and a summary: ``model``, ``parameters``, ``shape``, ``seconds``, the
    estimator's other reports (``noise_sigma``, ``scores``, ...) and, for parametric models,
    ``spec``: a ``--psf`` spec that rebuilds the same PSF. With ``grid`` (``--psf-grid``), a
    :class:`~unblur.psf.PSFField` estimated per region and fitted by one camera motion
    (:func:`unblur.estimate_psf` with ``grid``; ``model="free"``: each region's own kernel),
    and the summary adds ``grid``; ``shape`` is then the shape of each PSF. ``encoding``
    (``--encoding``), when given, is the estimator's data model instead of its ``"auto"``.
    """
    told = {} if encoding is None else {"encoding": encoding}
    if grid is not None:
        return _estimate_field(image, channel_axis, size, model, grid, console, told)
    from ..blind import estimate_psf

    info: dict[str, Any] = {}
    start = time.perf_counter()
    stepped = console is not None and _accepts_callback(estimate_psf)
    display, callback = _display(console, "estimating the PSF", stepped)
    with display:
        kwargs = {} if callback is None else {"callback": callback}
        k = estimate_psf(image, size, model, channel_axis=channel_axis, info=info, **kwargs, **told)
    if console is not None:  # an interactive command: the estimate's doubts are said on stderr
        warn(confidence_warning(info))
    summary = dict(info)
    summary.update(
        model=info.get("model", model),
        parameters=dict(info.get("parameters") or {}),
        shape=list(k.shape),
        seconds=time.perf_counter() - start,
    )
    if summary["model"] in ("gaussian", "motion", "disk") and summary["parameters"]:
        values = [f"{n}={v:.6g}" for n, v in summary["parameters"].items()]
        if info.get("size"):
            values.append(f"size={info['size']}")
        summary["spec"] = f"{summary['model']}:{','.join(values)}"
    return k, summary


def _estimate_field(
    image: np.ndarray,
    channel_axis: int | None,
    size: int | tuple[int, ...] | None,
    model: str,
    grid: tuple[int, int],
    console,
    told: dict[str, str] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """:func:`estimate_psf` with ``grid``: a field, under a spinner on ``console``."""
    from ..api import estimate_psf as estimate

    info: dict[str, Any] = {}
    # --psf-model free: each region keeps its own kernel; auto: one camera motion explains all
    options = {"motion": "free"} if model == "free" else {}
    options.update(told or {})
    start = time.perf_counter()
    display, _ = _display(console, f"estimating a {grid[0]}x{grid[1]} PSF field", False)
    with display:
        field = estimate(
            image, size, model, grid=grid, channel_axis=channel_axis, info=info, **options
        )
    summary = dict(info)
    cells = info.get("confidence") or {}  # "row,column" -> "high" or "low"
    summary.update(
        model="free",
        parameters={},
        grid=list(field.grid_shape),
        shape=list(field.psf_shape),
        seconds=time.perf_counter() - start,
        low_confidence_cells=sum(1 for c in cells.values() if c == "low"),
    )
    summary.pop("confidence", None)
    summary["cell_confidence"] = cells
    if console is not None and summary["low_confidence_cells"]:
        warn(
            f"{summary['low_confidence_cells']} of {len(cells)} regions of the PSF field have a "
            "kernel of low confidence; try a coarser --psf-grid, --psf-size, or one PSF for the "
            "whole image (no --psf-grid)"
        )
    return field, summary


def _display(console, text: str, stepped: bool):
    """A transient ``spinner text [bar steps] elapsed`` display on ``console`` (a context
    manager; a null one without a console) and, when ``stepped``, a callback that advances it."""
    if console is None:
        return contextlib.nullcontext(), None
    from rich.progress import BarColumn, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns: list = [SpinnerColumn(), TextColumn(text)]
    if stepped:
        columns += [BarColumn(), TextColumn("{task.completed} steps")]
    columns.append(TimeElapsedColumn())
    display = progress(console, *columns)
    task = display.add_task("estimating", total=None)
    callback = (lambda *args, **kw: display.advance(task)) if stepped else None
    return display, callback


def warn(warning: str | None) -> None:
    """``unblur: warning: ...`` on stderr (nothing for None)."""
    if warning is not None:
        click.echo(f"unblur: warning: {warning}", err=True)


def conservative_warning(run: dict[str, Any]) -> str | None:
    """One line when :func:`unblur.deconvolve` restored conservatively (its ``info`` of the
    run has ``conservative`` applied: a doubtful estimate), else None."""
    rule = run.get("conservative") or {}
    return f"restored conservatively: {rule['reason']}" if rule.get("applied") else None


def confidence_warning(info: dict[str, Any]) -> str | None:
    """One line when the estimate is not trusted (``info["warning"]``, with what to try)."""
    warning = info.get("warning")
    if not warning:
        return None
    if "--psf-size" in warning:  # the reason already names it
        return f"{warning}, --psf-model, or give a known --psf"
    return f"{warning}; try --psf-size, --psf-model, or give a known --psf"


def estimate_text(summary: dict[str, Any]) -> str:
    """One line: ``motion (length=10.9, angle=30.2), 7x11, 0.15 s`` (``, low confidence``)."""
    if "grid" in summary:  # a field (--psf-grid)
        low = summary.get("low_confidence_cells", 0)
        cells = summary["grid"][0] * summary["grid"][1]
        doubt = f", {low} of {cells} cells low confidence" if low else ""
        source = (
            "one camera motion (shift and rotation)"
            if summary.get("motion") == "rotation"
            else "free-form kernels per region"
        )
        return (
            f"PSF field {shape_text(summary['grid'])} from {source}, kernels "
            f"{shape_text(summary['shape'])}, {summary['seconds']:.2f} s{doubt}"
        )
    values = params_text(summary["parameters"])
    model = summary["model"] + (f" ({values})" if values else "")
    doubt = ", low confidence" if summary.get("confidence") == "low" else ""
    return f"{model}, {shape_text(summary['shape'])}, {summary['seconds']:.2f} s{doubt}"


def psf_fields(psf_spec: str | None, k, estimate: dict[str, Any] | None) -> dict:
    """The PSF part of a ``deconvolve --json`` report: the spec given, or the estimate (for a
    field, ``psf_shape`` is the shape of each PSF and ``psf_grid`` the cells)."""
    grid = getattr(k, "grid_shape", None)
    return {
        "psf": psf_spec if estimate is None else "estimated",
        "psf_shape": list(getattr(k, "psf_shape", None) or k.shape),
        **({} if grid is None else {"psf_grid": list(grid)}),
        **({} if estimate is None else {"psf_estimate": estimate}),
    }


def echo_estimate(estimate: dict[str, Any] | None) -> None:
    """``estimated PSF: ...`` on stdout, when the PSF was estimated."""
    if estimate is not None:
        click.echo(f"estimated PSF: {estimate_text(estimate)}")
