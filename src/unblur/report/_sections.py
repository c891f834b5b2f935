"""The sections of the HTML report, each a function returning its HTML fragment."""

from __future__ import annotations

import html
import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import InvalidParameterError
from ._display import (
    figure_uri,
    grey_plane,
    img_tag,
    png_uri,
    shape_text,
    table_html,
    value_text,
)
from .figures import psf_preview
from .monitor import ConvergenceMonitor

#: Channel names used in the report for 3-channel images.
_RGB = ("red", "green", "blue")
#: Largest side of a spectrum as drawn (larger spectra are averaged down in blocks).
_SPECTRUM_SIDE = 384


def quality(
    y: np.ndarray, x: np.ndarray, ref: np.ndarray, axis: int | None
) -> dict[str, tuple[float, float | None]]:
    """PSNR and SSIM (None when the image is smaller than the SSIM window) of input and output."""
    from ..metrics import psnr, ssim

    out = {}
    for name, est in (("input", y), ("restored", x)):
        value_psnr = psnr(est, ref, data_range=1.0)
        try:
            value_ssim = ssim(est, ref, data_range=1.0, channel_axis=axis)
        except InvalidParameterError:  # smaller than the 7 or 11 px window
            value_ssim = None
        out[name] = (value_psnr, value_ssim)
    return out


def db_text(value: float) -> str:
    return "\u221e (identical)" if math.isinf(value) else f"{value:.2f} dB"


def section_images(
    images: Sequence[tuple[str, str, np.ndarray]],
    note: str,
    size: tuple[int, int],
    metrics: dict[str, tuple[float, float | None]] | None,
) -> str:
    esc = html.escape
    small = max(size) < 512  # enlarge small images with visible pixels
    figures = []
    for id_, caption, img in images:
        extra = ""
        if metrics is not None and id_ != "img-reference":
            which = "input" if id_ == "img-blurred" else "restored"
            extra = f" &middot; PSNR {esc(db_text(metrics[which][0]))}"
        figures.append(
            f"<figure>{img_tag(png_uri(img), caption, id_=id_, pixelated=small)}"
            f"<figcaption>{esc(caption)}{extra}</figcaption></figure>"
        )
    h, w = size
    compare = (
        f"<div id='compare' class='compare' hidden style='aspect-ratio: {w} / {h}; "
        f"max-width: {max(w, 512) if small else w}px'>"
        f"<img class='c-before{' px' if small else ''}' alt='blurred input'>"
        f"<img class='c-after{' px' if small else ''}' alt='restored'>"
        "<div class='c-line' aria-hidden='true'></div>"
        "<span class='c-tag c-left' aria-hidden='true'>input</span>"
        "<span class='c-tag c-right' aria-hidden='true'>restored</span>"
        "<input type='range' min='0' max='100' step='1' value='50' "
        "aria-label='Comparison slider: share of the image shown restored (right part)'>"
        "</div>"
    )
    hint = (
        "<p class='hint' id='compare-hint' hidden>Drag the slider (or focus it and use the arrow "
        "keys): input on the left, restoration on the right.</p>"
    )
    return (
        "<section id='images'><h2>Before and after</h2>"
        + compare
        + hint
        + f"<div class='grid g{len(images)}'>"
        + "".join(figures)
        + "</div>"
        + f"<p class='note'>{esc(note)}</p></section>"
    )


def section_quality(metrics: dict[str, tuple[float, float | None]]) -> str:
    rows = []
    for name in ("input", "restored"):
        value_psnr, value_ssim = metrics[name]
        rows.append(
            (
                "blurred input" if name == "input" else "restored",
                db_text(value_psnr),
                "n/a (image smaller than the SSIM window)"
                if value_ssim is None
                else f"{value_ssim:.4f}",
            )
        )
    gain = metrics["restored"][0] - metrics["input"][0]
    gain_text = "" if not math.isfinite(gain) else f"<p>PSNR gain: <b>{gain:+.2f} dB</b></p>"
    return (
        "<section id='quality'><h2>Quality against the reference</h2>"
        + table_html(("image", "PSNR", "SSIM"), rows)
        + gain_text
        + "<p class='note'>Peak 1, on the arrays as computed (no clipping, no alignment); SSIM "
        "with the Gaussian window of Wang et al. (2004).</p></section>"
    )


def section_psf(k: np.ndarray) -> str:
    from matplotlib.figure import Figure

    centre = tuple(n // 2 for n in k.shape)
    fig = Figure(figsize=(4.6, 3.0), layout="constrained")
    ax = fig.subplots()
    names = ["rows (axis 0)", "columns (axis 1)"] if k.ndim == 2 else None
    for a in range(k.ndim):
        index = list(centre)
        index[a] = slice(None)
        profile = k[tuple(index)]
        offsets = np.arange(k.shape[a]) - centre[a]
        label = names[a] if names else f"axis {a}"
        style = ("-", "--", ":")[a % 3]
        ax.plot(offsets, profile, style, marker=".", markersize=3, linewidth=1.2, label=label)
    ax.set_xlabel("offset from the centre (px)")
    ax.set_ylabel("PSF value")
    ax.set_title("profiles through the centre", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    profile_uri = figure_uri(fig)
    preview = psf_preview(k, max_size=384)
    view = "maximum projection over the leading axes; " if k.ndim > 2 else ""
    return (
        "<section id='psf'><h2>Point-spread function</h2><div class='grid g2'>"
        f"<figure>{img_tag(png_uri(preview), 'PSF, enlarged', pixelated=True)}"
        f"<figcaption>PSF {html.escape(shape_text(k.shape))}, sum {float(k.sum()):.4g} "
        f"({view}peak shown white, nearest-neighbour enlargement)</figcaption></figure>"
        f"<figure>{img_tag(profile_uri, 'PSF profiles through the centre')}"
        "<figcaption>Central row and column (one line per axis)</figcaption></figure>"
        "</div></section>"
    )


def log_spectrum(a: np.ndarray) -> np.ndarray:
    window = np.outer(np.hanning(a.shape[0]), np.hanning(a.shape[1])) if min(a.shape) > 1 else 1
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2((a - a.mean()) * window)))
    factor = math.ceil(max(spectrum.shape) / _SPECTRUM_SIDE)
    if factor > 1:  # the panel is ~400 px wide: average blocks instead of dropping samples
        h, w = (n // factor * factor for n in spectrum.shape)
        spectrum = spectrum[:h, :w].reshape(h // factor, factor, w // factor, factor).mean((1, 3))
    floor = max(float(spectrum.max()) * 1e-12, np.finfo(np.float64).tiny)
    return np.log10(np.maximum(spectrum, floor))


def section_spectra(y: np.ndarray, x: np.ndarray, axis: int | None) -> str:
    from matplotlib.figure import Figure

    plane_y, note = grey_plane(y, axis)
    plane_x, _ = grey_plane(x, axis)
    log_y, log_x = log_spectrum(plane_y), log_spectrum(plane_x)
    top = max(float(log_y.max()), float(log_x.max()))
    bottom = min(float(np.percentile(log_y, 1)), float(np.percentile(log_x, 1)))
    if not bottom < top:
        bottom = top - 1
    fig = Figure(figsize=(8.4, 3.7), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, data, name in ((axes[0], log_y, "input"), (axes[1], log_x, "restored")):
        shown = ax.imshow(data, cmap="magma", vmin=bottom, vmax=top, interpolation="nearest")
        ax.set_title(f"{name}: log$_{{10}}$ |FFT|", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(shown, ax=list(axes), shrink=0.85)
    caption = "Zero frequency at the centre; Hann window; shared colour scale"
    if note:
        caption += f"; {note}"
    return (
        "<section id='spectra'><h2>Spectra</h2>"
        f"<figure class='wide'>{img_tag(figure_uri(fig), 'log-magnitude spectra')}"
        f"<figcaption>{html.escape(caption)}</figcaption></figure></section>"
    )


def section_convergence(monitor: ConvergenceMonitor | None, method: str) -> str:
    from matplotlib.figure import Figure

    head = "<section id='convergence'><h2>Convergence</h2>"
    traces = [] if monitor is None else [t for t in monitor.traces if t.iterations]
    if not traces:
        text = (
            "No iterations were recorded: the method is direct (one closed-form solve)."
            if monitor is not None
            else "Not recorded (iterative methods only; pass a ConvergenceMonitor as callback)."
        )
        return head + f"<p class='note'>{html.escape(text)} ({html.escape(method)})</p></section>"
    with_psnr = any(t.psnr for t in traces)
    fig = Figure(figsize=(8.4, 3.3), layout="constrained")
    axes = fig.subplots(1, 2 if with_psnr else 1, squeeze=False)[0]
    names = (
        list(_RGB)
        if len(traces) == 3
        else [f"channel {i}" for i in range(len(traces))]
        if len(traces) > 1
        else [None]
    )
    colours = ["tab:red", "tab:green", "tab:blue"] if len(traces) == 3 else [None] * len(traces)
    for trace, name, colour in zip(traces, names, colours, strict=True):
        if trace.relative_change:
            values = np.maximum(np.asarray(trace.relative_change), 1e-16)
            axes[0].semilogy(trace.iterations[1:], values, color=colour, label=name, lw=1.2)
        if with_psnr and trace.psnr:
            values = np.asarray(trace.psnr, dtype=np.float64)
            values = np.where(np.isfinite(values), values, np.nan)  # identical: off the plot
            axes[1].plot(trace.iterations, values, color=colour, label=name, lw=1.2)
    axes[0].set_title("relative change $\\|x_k - x_{k-1}\\| / \\|x_k\\|$", fontsize=9)
    axes[0].set_xlabel("iteration")
    if with_psnr:
        axes[1].set_title("PSNR against the reference (dB)", fontsize=9)
        axes[1].set_xlabel("iteration")
    for ax in axes:
        ax.grid(alpha=0.3)
        if len(traces) > 1:
            ax.legend(fontsize=8)
    last = traces[-1]
    summary = f"{len(last.iterations)} iterations"
    if len(traces) > 1:
        summary += f" per channel ({len(traces)} channels)"
    if last.relative_change:
        summary += f"; final relative change {last.relative_change[-1]:.3g}"
    finals = [t.psnr[-1] for t in traces if t.psnr]
    if finals:
        text = ", ".join("\u221e" if math.isinf(v) else f"{v:.2f}" for v in finals)
        summary += f"; final PSNR {text} dB" + (" (per channel)" if len(finals) > 1 else "")
    return (
        head
        + f"<figure class='wide'>{img_tag(figure_uri(fig), 'convergence curves')}"
        + f"<figcaption>{html.escape(summary)}</figcaption></figure></section>"
    )


def parameter_source(
    name: str, value: Any, given: Collection[str], defaults: dict[str, Any]
) -> str:
    if name in given:
        return "given"
    if name in defaults:
        default = defaults[name]
        try:
            same = default is value or bool(default == value)
        except Exception:  # arrays and other values without a plain truth value
            same = False
        if same:
            return "default"
    return "automatic"


def section_parameters(method: str, parameters: Mapping[str, Any], given) -> str:
    import inspect

    from ..errors import UnknownMethodError
    from ..restore import get_method

    rows: list[tuple[str, ...]]
    if given is None:
        columns: tuple[str, ...] = ("parameter", "value")
        rows = [(str(n), value_text(v)) for n, v in parameters.items()]
    else:
        try:
            declared = get_method(method).parameters
        except UnknownMethodError:
            declared = {}
        defaults = {
            n: p.default for n, p in declared.items() if p.default is not inspect.Parameter.empty
        }
        given = set(given)
        columns = ("parameter", "value", "source")
        rows = [
            (str(n), value_text(v), parameter_source(n, v, given, defaults))
            for n, v in parameters.items()
        ]
    if not rows:
        return "<section id='parameters'><h2>Parameters</h2><p class='note'>none</p></section>"
    return (
        "<section id='parameters'><h2>Parameters</h2>"
        + table_html(columns, rows)
        + "<p class='note'>Every parameter of the run, the ones chosen automatically included."
        "</p></section>"
    )
