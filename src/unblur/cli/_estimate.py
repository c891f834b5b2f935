"""Blind PSF estimation as the commands run and report it (estimate-psf, blind deconvolve)."""

from __future__ import annotations

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


def estimate_psf(
    image: np.ndarray,
    channel_axis: int | None,
    size: int | tuple[int, ...] | None,
    model: str,
    *,
    console=None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Blind PSF estimation with ``unblur.estimate_psf``, shown on ``console`` (stderr).

    If the estimator takes a ``callback`` (the multi-scale free-form model: one call per
    pyramid level or iteration), a progress bar advances with it; otherwise a spinner turns.
    Returns the PSF and a summary: ``model``, ``parameters``, ``shape``, ``seconds``, the
    estimator's other reports (``noise_sigma``, ``scores``, ...) and, for parametric models,
    ``spec``: a ``--psf`` spec that rebuilds the same PSF.
    """
    from ..blind import estimate_psf

    info: dict[str, Any] = {}
    kwargs: dict[str, Any] = {}
    start = time.perf_counter()
    if console is None:
        k = estimate_psf(image, size, model, channel_axis=channel_axis, info=info)
    else:  # an interactive command: the estimate's doubts are said on stderr
        from rich.progress import BarColumn, SpinnerColumn, TextColumn, TimeElapsedColumn

        stepped = _accepts_callback(estimate_psf)
        columns: list = [SpinnerColumn(), TextColumn("estimating the PSF")]
        if stepped:
            columns += [BarColumn(), TextColumn("{task.completed} steps")]
        columns.append(TimeElapsedColumn())
        display = progress(console, *columns)
        with display:
            task = display.add_task("estimating", total=None)
            if stepped:
                kwargs["callback"] = lambda *args, **kw: display.advance(task)
            k = estimate_psf(image, size, model, channel_axis=channel_axis, info=info, **kwargs)
        warning = confidence_warning(info)
        if warning is not None:
            click.echo(f"unblur: warning: {warning}", err=True)
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


def confidence_warning(info: dict[str, Any]) -> str | None:
    """One line when the estimate is not trusted (``info["warning"]``, with what to try)."""
    warning = info.get("warning")
    if not warning:
        return None
    return f"{warning}; try --psf-size, --psf-model, or give a known --psf"


def estimate_text(summary: dict[str, Any]) -> str:
    """One line: ``motion (length=10.9, angle=30.2), 7x11, 0.15 s`` (``, low confidence``)."""
    values = params_text(summary["parameters"])
    model = summary["model"] + (f" ({values})" if values else "")
    doubt = ", low confidence" if summary.get("confidence") == "low" else ""
    return f"{model}, {shape_text(summary['shape'])}, {summary['seconds']:.2f} s{doubt}"


def psf_fields(psf_spec: str | None, k: np.ndarray, estimate: dict[str, Any] | None) -> dict:
    """The PSF part of a ``deconvolve --json`` report: the spec given, or the estimate."""
    return {
        "psf": psf_spec if estimate is None else "estimated",
        "psf_shape": list(k.shape),
        **({} if estimate is None else {"psf_estimate": estimate}),
    }


def echo_estimate(estimate: dict[str, Any] | None) -> None:
    """``estimated PSF: ...`` on stdout, when the PSF was estimated."""
    if estimate is not None:
        click.echo(f"estimated PSF: {estimate_text(estimate)}")
