"""The sections of the HTML report, each a function returning its HTML fragment."""

from __future__ import annotations

import html
import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np

from ._display import (
    DeferredPictures,
    grey_plane,
    img_tag,
    png_bytes,
    png_data_uri,
    png_uri,
    shape_text,
    table_html,
    value_text,
)
from ._svg import Series, colour_bar, colour_map, line_plot
from .figures import psf_preview
from .monitor import ConvergenceMonitor

#: Channel names used in the report for 3-channel images, and their line colours.
_RGB = ("red", "green", "blue")
_RGB_COLOURS = ("#d62728", "#2ca02c", "#1f77b4")
#: Largest side of a spectrum as drawn (larger spectra are averaged down in blocks).
_SPECTRUM_SIDE = 384


def quality(
    y: np.ndarray, x: np.ndarray, ref: np.ndarray, axis: int | None
) -> dict[str, tuple[float, float | None]]:
    """PSNR and SSIM (None when the image is smaller than the SSIM window) of input and output;
    the two SSIMs share the reference's local statistics (:func:`unblur.metrics.ssim_many`),
    in single precision for float32 images (the page shows four decimals)."""
    from ..metrics import _scores

    (psnr_y, ssim_y), (psnr_x, ssim_x) = _scores(
        [y, x], ref, data_range=1.0, channel_axis=axis, precision="single"
    )
    return {"input": (psnr_y, ssim_y), "restored": (psnr_x, ssim_x)}


def db_text(value: float) -> str:
    return "\u221e (identical)" if math.isinf(value) else f"{value:.2f} dB"


def encode_pictures(
    images: Sequence[tuple[str, str, np.ndarray | None]],
    files: Mapping[str, bytes] | None = None,
    deferred: DeferredPictures | None = None,
) -> list[str]:
    """The PNG data URIs of the ``(id, caption, picture)`` triples of :func:`section_images`:
    a picture encoded, or for a picture given as None the PNG file ``files[id]`` as it is
    (one that :func:`~._display.png_shows` as the picture); their payloads kept by
    ``deferred`` when given."""
    files = files or {}
    pngs = [png_bytes(img) if img is not None else files[id_] for id_, _, img in images]
    return [png_data_uri(png) if deferred is None else deferred.uri(png) for png in pngs]


def section_images(
    images: Sequence[tuple[str, str, np.ndarray | None]],
    uris: Sequence[str],
    note: str,
    size: tuple[int, int],
    metrics: dict[str, tuple[float, float | None]] | None,
) -> str:
    esc = html.escape
    small = max(size) < 512  # enlarge small images with visible pixels
    figures = []
    for (id_, caption, _), uri in zip(images, uris, strict=True):
        extra = ""
        if metrics is not None and id_ != "img-reference":
            which = "input" if id_ == "img-blurred" else "restored"
            extra = f" &middot; PSNR {esc(db_text(metrics[which][0]))}"
        figures.append(
            f"<figure>{img_tag(uri, caption, id_=id_, pixelated=small)}"
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


def section_psf(k: np.ndarray, heading: str | None = None) -> str:
    centre = tuple(n // 2 for n in k.shape)
    names = ["rows (axis 0)", "columns (axis 1)"] if k.ndim == 2 else None
    series = []
    for a in range(k.ndim):
        index = list(centre)
        index[a] = slice(None)
        profile = k[tuple(index)]
        offsets = np.arange(k.shape[a]) - centre[a]
        series.append(
            Series(
                offsets.tolist(),
                profile.tolist(),
                label=names[a] if names else f"axis {a}",
                dash=(None, "6 3", "2 3")[a % 3],
                markers=True,
            )
        )
    plot = line_plot(
        series,
        title="profiles through the centre",
        xlabel="offset from the centre (px)",
        ylabel="PSF value",
    )
    preview = psf_preview(k, max_size=384)
    view = "maximum projection over the leading axes; " if k.ndim > 2 else ""
    return (
        f"<section id='psf'><h2>{html.escape(heading or 'Point-spread function')}</h2>"
        "<div class='grid g2'>"
        f"<figure>{img_tag(png_uri(preview), 'PSF, enlarged', pixelated=True)}"
        f"<figcaption>PSF {html.escape(shape_text(k.shape))}, sum {float(k.sum()):.4g} "
        f"({view}peak shown white, nearest-neighbour enlargement)</figcaption></figure>"
        f"<figure>{plot}"
        "<figcaption>Central row and column (one line per axis)</figcaption></figure>"
        "</div></section>"
    )


def log_spectrum(a: np.ndarray) -> np.ndarray:
    """``log10 |FFT|`` of the Hann-windowed, mean-removed plane ``a``, zero frequency at the
    centre, averaged down in blocks to about :data:`_SPECTRUM_SIDE` px. Computed in the
    plane's precision: float32 for a float32 plane, whose values hold nothing below their
    rounding.
    """
    import scipy.fft

    h, w = a.shape
    dtype = np.float32 if a.dtype == np.float32 else np.float64  # the plane's own precision
    centred = np.subtract(a, a.mean(dtype=np.float64), dtype=dtype)
    if min(a.shape) > 1:  # the separable Hann window, in place
        centred *= np.hanning(h).astype(dtype)[:, None]
        centred *= np.hanning(w).astype(dtype)[None, :]
    # the real transform's half plane, the other half by Hermitian symmetry
    # |F(u, v)| = |F(-u, -v)|: half the transform of fft2 for the same magnitudes
    half = np.abs(scipy.fft.rfftn(centred))
    del centred
    spectrum = np.empty((h, w), half.dtype)
    spectrum[:, : half.shape[1]] = half
    if w > half.shape[1]:
        spectrum[:, half.shape[1] :] = half[-np.arange(h) % h, 1 : w - half.shape[1] + 1][:, ::-1]
    del half
    spectrum = np.fft.fftshift(spectrum)
    factor = math.ceil(max(spectrum.shape) / _SPECTRUM_SIDE)
    if factor > 1:  # the panel is ~400 px wide: average blocks instead of dropping samples
        spectrum = block_mean(spectrum, factor)
    floor = max(float(spectrum.max()) * 1e-12, float(np.finfo(spectrum.dtype).tiny))
    return np.log10(np.maximum(spectrum, spectrum.dtype.type(floor)))


def block_mean(a: np.ndarray, factor: int) -> np.ndarray:
    """The means of ``a``'s ``factor x factor`` blocks (the rows and columns beyond the last
    whole block dropped), in ``a``'s precision: the blocks' rows added as strided slices, then
    their columns (a reduction over the short axes of a reshaped view is several times
    slower, and its float32 sums are no closer to float64 ones)."""
    h, w = (n // factor * factor for n in a.shape)
    rows = a[:h:factor, :w].copy()
    for i in range(1, factor):
        rows += a[i:h:factor, :w]
    out = rows[:, ::factor].copy()
    for j in range(1, factor):
        out += rows[:, j::factor]
    out /= factor * factor
    return out


def section_spectra(y: np.ndarray, x: np.ndarray, axis: int | None) -> str:
    plane_y, note = grey_plane(y, axis)
    plane_x, _ = grey_plane(x, axis)
    log_y, log_x = log_spectrum(plane_y), log_spectrum(plane_x)
    top = max(float(log_y.max()), float(log_x.max()))
    bottom = min(float(np.percentile(log_y, 1)), float(np.percentile(log_x, 1)))
    if not bottom < top:
        bottom = top - 1
    figures = [
        f"<figure>{img_tag(png_uri(colour_map(data, bottom, top)), f'{name} spectrum', id_=id_)}"
        f"<figcaption>{name}: log<sub>10</sub> |FFT|</figcaption></figure>"
        for data, name, id_ in ((log_y, "input", "spectrum-input"),
                                (log_x, "restored", "spectrum-restored"))
    ]  # fmt: skip
    caption = "Zero frequency at the centre; Hann window; shared colour scale"
    if note:
        caption += f"; {note}"
    bar = colour_bar(bottom, top, label="log10 |FFT|")
    return (
        "<section id='spectra'><h2>Spectra</h2><div class='spectra'>"
        + "".join(figures)
        + f"<figure class='bar'>{bar}</figure></div>"
        f"<p class='note'>{html.escape(caption)}</p></section>"
    )


def section_convergence(monitor: ConvergenceMonitor | None, method: str) -> str:
    head = "<section id='convergence'><h2>Convergence</h2>"
    traces = [] if monitor is None else [t for t in monitor.traces if t.iterations]
    if not traces:
        text = (
            "No iterations were recorded: the method is direct (one closed-form solve)."
            if monitor is not None
            else "Not recorded (iterative methods only; pass a ConvergenceMonitor as callback)."
        )
        return head + f"<p class='note'>{html.escape(text)} ({html.escape(method)})</p></section>"
    names: list[str | None] = (
        list(_RGB)
        if len(traces) == 3
        else [f"channel {i}" for i in range(len(traces))]
        if len(traces) > 1
        else [None]
    )
    colours = list(_RGB_COLOURS) if len(traces) == 3 else [None] * len(traces)
    change = [
        Series(t.iterations[1:], t.relative_change, label=n, colour=c)
        for t, n, c in zip(traces, names, colours, strict=True)
        if t.relative_change
    ]
    plots = [
        line_plot(
            change,
            title="relative change \u2016x\u2096 \u2212 x\u2096\u208b\u2081\u2016 / "
            "\u2016x\u2096\u2016",
            xlabel="iteration",
            log_y=True,
        )
    ]
    if any(t.psnr for t in traces):
        psnr = [
            Series(t.iterations, t.psnr, label=n, colour=c)
            for t, n, c in zip(traces, names, colours, strict=True)
            if t.psnr
        ]
        plots.append(line_plot(psnr, title="PSNR against the reference (dB)", xlabel="iteration"))
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
        + f"<div class='grid g{len(plots)}'>"
        + "".join(f"<figure>{p}</figure>" for p in plots)
        + f"</div><p class='note'>{html.escape(summary)}</p></section>"
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
