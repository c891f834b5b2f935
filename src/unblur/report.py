"""Figures and the HTML report: PSF previews, the demo's PNG grid, ``deconvolve --report``.

Everything here draws with matplotlib's object-oriented API on an Agg canvas (no pyplot, no
global state, no display needed), and writes files atomically: the content is written to a
temporary file beside the target, then moved over it with :func:`os.replace`, so a target is
either the old file or the complete new one, never a partial file.

:func:`write_report` writes one self-contained HTML page about a restoration (images embedded
as base64 PNG data URIs, inline CSS and JavaScript, no external resource): the input and the
result side by side and under a comparison slider, the PSF and its profiles, the log-magnitude
spectra, the convergence of iterative methods (recorded during the run by a
:class:`ConvergenceMonitor` passed as ``callback``), every parameter, the run time and, given
the sharp image, PSNR and SSIM.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ImageWriteError, InvalidParameterError, InvalidPSFError
from .io import atomic_write

__all__ = [
    "REPORT_MAX_SIDE",
    "ConvergenceMonitor",
    "Panel",
    "Trace",
    "psf_preview",
    "save_grid",
    "write_report",
]


def psf_preview(
    psf: np.ndarray, *, scale: int = 8, min_size: int = 128, max_size: int = 1024
) -> np.ndarray:
    r"""An 8-bit picture of a PSF for viewing: squared, scaled to its peak, enlarged.

    The PSF is zero-padded (centred) to a square, divided by its maximum so the peak is white,
    quantised to 8 bits and enlarged by pixel replication (nearest neighbour, so every PSF
    pixel stays a visible block). The enlargement factor is

    .. math:: f = \min\bigl(\max(\text{scale}, \lceil \text{min\_size} / n \rceil),
              \max(1, \lfloor \text{max\_size} / n \rfloor)\bigr)

    for a square side :math:`n`. A 3-D (or higher) PSF is shown as its maximum-intensity
    projection along the leading axes.

    Parameters
    ----------
    psf : numpy.ndarray
        Non-negative PSF, 1-D or more.
    scale : int, optional
        Usual enlargement factor.
    min_size : int, optional
        The preview is at least this many pixels on a side (unless ``max_size`` forbids).
    max_size : int, optional
        The preview is at most about this many pixels on a side.

    Returns
    -------
    numpy.ndarray
        ``uint8`` array of shape ``(f * n, f * n)``.

    Examples
    --------
    >>> from unblur import psf
    >>> from unblur.report import psf_preview
    >>> p = psf_preview(psf.motion(9, angle=0))
    >>> p.shape, p.dtype, int(p.max())
    ((132, 132), dtype('uint8'), 255)
    """
    for name, value in (("scale", scale), ("min_size", min_size), ("max_size", max_size)):
        if int(value) != value or value < 1:
            raise InvalidParameterError(f"{name} must be a positive integer, got {value!r}")
    k = np.asarray(psf, dtype=np.float64)
    if k.size == 0 or not np.all(np.isfinite(k)):
        raise InvalidPSFError("PSF preview: the PSF is empty or not finite")
    if k.ndim == 1:
        k = k[None, :]
    while k.ndim > 2:
        k = k.max(axis=0)
    n = max(k.shape)
    pad = [((n - s) // 2, n - s - (n - s) // 2) for s in k.shape]
    k = np.pad(k, pad)
    peak = k.max()
    k = np.clip(k / peak, 0, 1) if peak > 0 else np.zeros_like(k)
    factor = min(max(int(scale), math.ceil(min_size / n)), max(1, int(max_size) // n))
    img = np.round(k * 255).astype(np.uint8)
    return np.repeat(np.repeat(img, factor, axis=0), factor, axis=1)


@dataclass(frozen=True)
class Panel:
    """One image of a grid figure.

    Attributes
    ----------
    image : numpy.ndarray
        2-D grey image, or ``(rows, cols, 3|4)`` colour; float values outside
        ``[vmin, vmax]`` are clipped for display.
    title : str
        Text above the panel.
    vmin, vmax : float or None
        Display range of grey images; None takes the image's own minimum / maximum.
    """

    image: np.ndarray
    title: str = ""
    vmin: float | None = 0.0
    vmax: float | None = 1.0


def save_grid(
    path: str | os.PathLike,
    rows: Sequence[Sequence[Panel | None]],
    *,
    row_labels: Sequence[str] | None = None,
    title: str | None = None,
    panel_inches: float = 2.2,
    dpi: int = 100,
    max_pixels: int = 2400,
    force: bool = False,
) -> Path:
    """Draw rows of image panels into one PNG file, atomically.

    Rows may differ in length (missing cells, or ``None`` entries, are left blank). The figure
    is ``panel_inches`` per cell at ``dpi`` dots per inch, with the resolution lowered as
    needed so that its wider side stays within ``max_pixels`` (which keeps the PNG small).

    Parameters
    ----------
    path : str or path-like
        Output ``.png`` file. Its folder must exist.
    rows : sequence of sequence of Panel or None
        The panels, row by row.
    row_labels : sequence of str, optional
        One label per row, written left of the row's first panel.
    title : str, optional
        Title over the whole figure.
    panel_inches : float, optional
        Size of one cell in inches.
    dpi : int, optional
        Resolution in dots per inch (an upper bound, see ``max_pixels``).
    max_pixels : int, optional
        Largest width or height of the figure in pixels.
    force : bool, optional
        Replace an existing file; without it an existing ``path`` raises ImageWriteError.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ImageWriteError
        If ``path`` exists and ``force`` is False, is not a ``.png``, or cannot be written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from unblur.report import Panel, save_grid
    >>> img = np.linspace(0, 1, 64 * 64).reshape(64, 64)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> out = save_grid(folder / "grid.png", [[Panel(img, "ramp"), Panel(1 - img, "inverted")]])
    >>> out.read_bytes()[:4] == b"\\x89PNG"
    True
    """
    from matplotlib.figure import Figure  # heavy import, only when drawing

    target = _check_target(path, (".png",), "figure", force=force)
    n_rows = len(rows)
    n_cols = max((len(r) for r in rows), default=0)
    if n_rows == 0 or n_cols == 0:
        raise InvalidParameterError("save_grid needs at least one panel")
    if row_labels is not None and len(row_labels) != n_rows:
        raise InvalidParameterError(f"got {len(row_labels)} row labels for {n_rows} rows")

    extra = 0.4 if title else 0.0
    size = (panel_inches * n_cols, panel_inches * n_rows + extra)
    dpi = max(20, min(int(dpi), int(max_pixels / max(size))))
    fig = Figure(figsize=size, dpi=dpi, layout="constrained")
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    for i in range(n_rows):
        for j in range(n_cols):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            panel = rows[i][j] if j < len(rows[i]) else None
            if panel is None:
                ax.axis("off")
                continue
            _draw(ax, panel)
            if j == 0 and row_labels is not None:
                ax.set_ylabel(row_labels[i], fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)

    atomic_write(target, lambda f: fig.savefig(f, format="png", dpi=dpi), force=force)
    return target


def _check_target(
    path: str | os.PathLike, suffixes: Sequence[str], what: str, *, force: bool
) -> Path:
    """``path`` as a Path, after checking its extension, its folder and that it may be written."""
    target = Path(path)
    if target.suffix.lower() not in suffixes:
        raise ImageWriteError(f"{what} {str(target)!r} must be a {' or '.join(suffixes)} file")
    if target.is_dir():
        raise ImageWriteError(f"{what} {str(target)!r} is a folder")
    if (target.exists() or target.is_symlink()) and not force:
        raise ImageWriteError(f"{str(target)!r} already exists; use force=True to overwrite it")
    if not target.parent.is_dir():
        raise ImageWriteError(f"folder {str(target.parent)!r} does not exist")
    return target


def _draw(ax, panel: Panel) -> None:
    img = np.asarray(panel.image)
    if img.ndim == 3 and img.shape[-1] in (3, 4):
        shown = img if img.dtype == np.uint8 else np.clip(img, 0, 1)
        ax.imshow(shown, interpolation="nearest")
    elif img.ndim == 2:
        ax.imshow(img, cmap="gray", vmin=panel.vmin, vmax=panel.vmax, interpolation="nearest")
    else:
        raise InvalidParameterError(f"a panel must be 2-D or colour, got shape {img.shape}")
    if panel.title:
        ax.set_title(panel.title, fontsize=8)


# --------------------------------------------------------------------------------------------
# the HTML report
# --------------------------------------------------------------------------------------------
#: Largest side, in pixels, of the images embedded in the report (larger ones are averaged down).
REPORT_MAX_SIDE = 1024
#: Channel names used in the report for 3-channel images.
_RGB = ("red", "green", "blue")
#: Largest side of a spectrum as drawn (larger spectra are averaged down in blocks).
_SPECTRUM_SIDE = 384


@dataclass
class Trace:
    """The convergence record of one restored channel (or of the whole grey image).

    Attributes
    ----------
    iterations : list of int
        The iteration numbers reported by the method's callback, in order.
    relative_change : list of float
        :math:`\\|x_k - x_{k-1}\\| / \\|x_k\\|` for ``iterations[1:]`` (none for the first).
    psnr : list of float
        PSNR (dB) of each estimate against the reference, one per iteration; empty without a
        reference.

    Examples
    --------
    >>> from unblur.report import Trace
    >>> Trace(iterations=[1, 2], relative_change=[0.25], psnr=[])
    Trace(iterations=[1, 2], relative_change=[0.25], psnr=[])
    """

    iterations: list[int]
    relative_change: list[float]
    psnr: list[float]


class ConvergenceMonitor:
    r"""A ``callback(iteration, estimate)`` that records how an iterative restoration converges.

    Pass it as ``callback`` to :func:`unblur.deconvolve` (it may wrap another callback, such
    as a progress bar) and then as ``convergence`` to :func:`write_report`. For every iteration
    :math:`k` it records the relative change

    .. math:: r_k = \frac{\lVert x_k - x_{k-1} \rVert_2}{\max(\lVert x_k \rVert_2, \epsilon)}

    (from the second iteration on; :math:`\epsilon` is the smallest normal float64, so an
    all-zero estimate gives 0, never NaN) and, when a reference is given, the PSNR of
    :math:`x_k` against it (peak 1). Colour images are restored channel by channel: an
    iteration number that does not increase starts the record of the next channel, compared
    with the matching channel of the reference.

    Parameters
    ----------
    reference : numpy.ndarray, optional
        The sharp image, with the shape of the image being restored (channels included).
    channel_axis : int, optional
        The channel axis of ``reference`` (as given to :func:`unblur.deconvolve`).
    callback : callable, optional
        Another ``callback(iteration, estimate)`` to call after recording (e.g. a progress bar).

    Attributes
    ----------
    traces : list of Trace
        One record per channel restored so far (one for a grey image or a stack).

    References
    ----------
    A. Levin, Y. Weiss, F. Durand, W. T. Freeman, "Understanding and evaluating blind
    deconvolution algorithms", IEEE CVPR 2009 (PSNR against the sharp image as the measure of
    a restoration).

    Examples
    --------
    >>> import numpy as np
    >>> import unblur
    >>> from unblur import psf
    >>> from unblur.report import ConvergenceMonitor
    >>> x = np.random.default_rng(0).random((32, 32))
    >>> k = psf.gaussian(sigma=1.0)
    >>> monitor = ConvergenceMonitor(reference=x)
    >>> x_hat = unblur.deconvolve(unblur.blur(x, k), k, "landweber", num_iter=5, callback=monitor)
    >>> trace = monitor.traces[0]
    >>> trace.iterations, len(trace.relative_change), len(trace.psnr)
    ([1, 2, 3, 4, 5], 4, 5)
    """

    def __init__(
        self,
        reference: np.ndarray | None = None,
        *,
        channel_axis: int | None = None,
        callback: Callable[[int, np.ndarray], None] | None = None,
    ) -> None:
        from ._checks import as_float_image, check_channel_axis

        self.reference = None if reference is None else as_float_image(reference, name="reference")
        self.channel_axis = (
            None
            if self.reference is None
            else check_channel_axis(self.reference.ndim, channel_axis)
        )
        if callback is not None and not callable(callback):
            raise InvalidParameterError(f"callback must be callable, got {callback!r}")
        self.callback = callback
        self.traces: list[Trace] = []
        self._previous: np.ndarray | None = None

    def __call__(self, iteration: int, estimate: np.ndarray) -> None:
        """Record one iteration (see the class documentation), then call the wrapped callback."""
        from .metrics import psnr

        x = np.asarray(estimate)
        if not self.traces or iteration <= self.traces[-1].iterations[-1]:
            self.traces.append(Trace([], [], []))
            self._previous = None
        trace = self.traces[-1]
        if self._previous is not None and self._previous.shape == x.shape:
            diff = np.linalg.norm((x - self._previous).ravel().astype(np.float64))
            norm = np.linalg.norm(x.ravel().astype(np.float64))
            change = float(diff / max(norm, np.finfo(np.float64).tiny))
            trace.relative_change.append(change if math.isfinite(change) else 0.0)
        trace.iterations.append(int(iteration))
        if self.reference is not None:
            ref = self.reference
            if self.channel_axis is not None:
                channel = len(self.traces) - 1
                if channel >= ref.shape[self.channel_axis]:
                    raise InvalidParameterError(
                        f"the reference has {ref.shape[self.channel_axis]} channels, but channel "
                        f"{channel + 1} is being restored"
                    )
                ref = np.take(ref, channel, axis=self.channel_axis)
            if ref.shape != x.shape:
                raise InvalidParameterError(
                    f"the reference has shape {ref.shape} per channel but the estimate has shape "
                    f"{x.shape}"
                )
            trace.psnr.append(psnr(x.astype(np.float64), ref.astype(np.float64)))
        self._previous = x.copy()
        if self.callback is not None:
            self.callback(iteration, estimate)


def write_report(
    path: str | os.PathLike,
    *,
    blurred: np.ndarray,
    restored: np.ndarray,
    psf: np.ndarray,
    method: str,
    parameters: Mapping[str, Any],
    seconds: float,
    channel_axis: int | None = None,
    reference: np.ndarray | None = None,
    convergence: ConvergenceMonitor | None = None,
    given: Collection[str] | None = None,
    details: Mapping[str, Any] | None = None,
    title: str | None = None,
    force: bool = False,
) -> Path:
    r"""Write a self-contained HTML report of one restoration, atomically.

    The page holds, in order: the blurred input and the restoration side by side (and the
    reference, when given), with a comparison slider (a range input over the two stacked
    images, the restoration clipped with ``clip-path``; drag it or use the arrow keys); PSNR
    and SSIM of the input and of the restoration against the reference; the PSF, enlarged with
    nearest-neighbour blocks, and its profiles through the centre along every axis; the
    log-magnitude spectra :math:`\log_{10} |\mathcal F(w \cdot x)|` of input and output (Hann
    window :math:`w`, shared colour scale, so the frequencies the restoration brings back show
    as a brighter disc); for iterative methods the relative change :math:`r_k` per iteration
    and, with a reference, the PSNR per iteration (see :class:`ConvergenceMonitor`); every
    parameter; and the run time.

    Everything is embedded: images as base64 PNG data URIs, CSS and JavaScript inline, and a
    Content-Security-Policy that forbids the page any other resource. All text is HTML-escaped.
    Images are shown clipped to [0, 1] (integer inputs are scaled to [0, 1] first); colour in
    colour; a stack by its central slice; images larger than :data:`REPORT_MAX_SIDE` are
    averaged down in blocks for display (metrics and spectra use the full resolution; spectra
    a central crop of at most that size).

    PSNR and SSIM are computed as in ``unblur compare``, on the arrays as given (no clipping,
    no alignment), with peak 1: :math:`\mathrm{PSNR} = 10 \log_{10}(1 / \mathrm{MSE})`.

    Parameters
    ----------
    path : str or path-like
        Output ``.html`` (or ``.htm``) file; its folder must exist.
    blurred : numpy.ndarray
        The image that was restored (grey, colour with ``channel_axis``, or an nD stack).
    restored : numpy.ndarray
        The restoration, of the same shape.
    psf : numpy.ndarray
        The PSF used, one dimension per spatial axis.
    method : str
        Name of the method.
    parameters : mapping
        Every parameter of the run, automatic ones included (``info["parameters"]`` of
        ``unblur.deconvolve(..., return_info=True)``).
    seconds : float
        Run time of the restoration.
    channel_axis : int, optional
        Axis of colour channels of ``blurred``, ``restored`` and ``reference``.
    reference : numpy.ndarray, optional
        The sharp image, of the same shape as ``restored``; adds PSNR and SSIM.
    convergence : ConvergenceMonitor, optional
        The monitor that was passed as ``callback`` during the run.
    given : collection of str, optional
        Names of the parameters the user set; adds a column telling each parameter's source
        (given, default of the method, or chosen automatically).
    details : mapping, optional
        Extra rows for the run table, e.g. ``{"input": "blurred.png", "PSF": "gaussian:..."}``.
    title : str, optional
        Page title; default ``"unblur report: <method>"``.
    force : bool, optional
        Replace an existing file; without it an existing ``path`` raises ImageWriteError.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ImageWriteError
        ``path`` exists (without ``force``), is not ``.html``/``.htm``, or its folder is missing.
    InvalidParameterError
        Shapes differ (restored vs blurred, reference vs restored), or a bad ``channel_axis``.
    InvalidImageError
        An image is empty, non-numeric or not finite.

    References
    ----------
    Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality assessment: from
    error visibility to structural similarity", IEEE TIP 13(4), 2004, pp. 600-612 (SSIM).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> import unblur
    >>> from unblur import psf
    >>> from unblur.report import write_report
    >>> x = np.random.default_rng(0).random((48, 48))
    >>> k = psf.gaussian(sigma=1.5)
    >>> y = unblur.blur(x, k)
    >>> x_hat, run = unblur.deconvolve(y, k, "wiener", return_info=True)
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "report.html"
    >>> _ = write_report(out, blurred=y, restored=x_hat, psf=k, method=run["method"],
    ...                  parameters=run["parameters"], seconds=run["seconds"], reference=x)
    >>> text = out.read_text()
    >>> "wiener" in text and "PSNR" in text and "http://" not in text
    True
    """
    from ._checks import as_float_image, check_channel_axis
    from ._version import __version__

    target = _check_target(path, (".html", ".htm"), "report", force=force)
    y = as_float_image(blurred, name="blurred image")
    x = as_float_image(restored, name="restored image")
    if x.shape != y.shape:
        raise InvalidParameterError(
            f"the restored image has shape {x.shape} but the blurred one has shape {y.shape}"
        )
    axis = check_channel_axis(y.ndim, channel_axis)
    ref = None
    if reference is not None:
        ref = as_float_image(reference, name="reference")
        if ref.shape != x.shape:
            raise InvalidParameterError(
                f"the reference has shape {_shape(ref.shape)} but the restored image has shape "
                f"{_shape(x.shape)}; give the sharp image of the same size"
            )
    k = as_float_image(psf, name="PSF")
    if convergence is not None and not isinstance(convergence, ConvergenceMonitor):
        raise InvalidParameterError(
            f"convergence must be a ConvergenceMonitor, got {type(convergence).__name__}"
        )
    try:
        seconds = float(seconds)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"seconds must be a number, got {seconds!r}") from None
    method = str(method)
    title = f"unblur report: {method}" if title is None else str(title)

    shown_y, note = _display(y, axis)
    shown_x, _ = _display(x, axis)
    images = [("img-blurred", "Blurred input", shown_y), ("img-restored", "Restored", shown_x)]
    if ref is not None:
        images.append(("img-reference", "Reference (sharp)", _display(ref, axis)[0]))
    metrics = None if ref is None else _quality(y, x, ref, axis)

    esc = html.escape
    body: list[str] = [
        f"<header><h1>{esc(title)}</h1><p class='sub'>method <b>{esc(method)}</b> &middot; "
        f"{esc(_seconds(seconds))} &middot; image {esc(_shape(y.shape))}"
        f"{'' if axis is None else f' (channels on axis {axis})'} &middot; PSF "
        f"{esc(_shape(k.shape))} &middot; unblur {esc(__version__)}</p></header>"
    ]
    body.append(_section_images(images, note, shown_y.shape[:2], metrics))
    if metrics is not None:
        body.append(_section_quality(metrics))
    body.append(_section_psf(k))
    body.append(_section_spectra(y, x, axis))
    body.append(_section_convergence(convergence, method))
    body.append(_section_parameters(method, parameters, given))
    run_rows: list[tuple[str, str]] = [
        ("method", method),
        ("run time", _seconds(seconds)),
        ("image shape", _shape(y.shape)),
        ("image dtype", str(np.asarray(blurred).dtype)),
        ("channel axis", "none" if axis is None else str(axis)),
        ("PSF shape", _shape(k.shape)),
    ]
    run_rows += [(str(n), _value_text(v)) for n, v in (details or {}).items()]
    body.append(
        "<section id='run'><h2>Run</h2>"
        + _table(("", "value"), run_rows, header=False)
        + "</section>"
    )
    page = _PAGE.format(
        title=esc(title), css=_CSS, guard=_GUARD_JS, body="\n".join(body), script=_PAGE_JS
    )
    atomic_write(target, lambda f: f.write(page.encode("utf-8")), force=force)
    return target


# ---- display conversions -------------------------------------------------------------------
def _shape(shape: Sequence[int]) -> str:
    return "\u00d7".join(map(str, shape))


def _seconds(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "n/a"
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _value_text(value: Any) -> str:
    """A short, readable text for a parameter value (arrays summarised, floats to 6 digits)."""
    if isinstance(value, np.ndarray) and value.size > 8:
        return f"array {_shape(value.shape)} {value.dtype}"
    if isinstance(value, np.ndarray | np.generic):
        value = value.tolist()
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | tuple):
        inner = ", ".join(_value_text(v) for v in value)
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    return str(value)


def _slice_to_2d(a: np.ndarray, colour: bool) -> tuple[np.ndarray, str]:
    """The central 2-D plane of an nD image (channels last when ``colour``), and a note."""
    spatial = a.ndim - (1 if colour else 0)
    if spatial == 1:  # a 1-D signal: show it as a band of identical rows
        return np.repeat(a[None], max(1, min(32, a.shape[0] // 8)), axis=0), "1-D signal"
    if spatial == 2:
        return a, ""
    lead = tuple(n // 2 for n in a.shape[: spatial - 2])
    where = ", ".join(f"axis {i} = {c}" for i, c in enumerate(lead))
    return a[lead], f"central slice ({where})"


def _display(a: np.ndarray, axis: int | None) -> tuple[np.ndarray, str]:
    """An 8-bit picture of an image for the page: 2-D grey or RGB, at most REPORT_MAX_SIDE."""
    notes = []
    colour = axis is not None
    if colour:
        a = np.moveaxis(a, axis, -1)
    a, note = _slice_to_2d(a, colour)
    if note:
        notes.append(note)
    if colour:
        channels = a.shape[-1]
        if channels in (3, 4):
            a = a[..., :3]
            if channels == 4:
                notes.append("4th channel not shown")
        elif channels == 1:
            a = a[..., 0]
        else:
            a = a.mean(axis=-1)
            notes.append(f"mean of {channels} channels")
    factor = math.ceil(max(a.shape[:2]) / REPORT_MAX_SIDE)
    if factor > 1:
        h, w = (a.shape[0] // factor) * factor, (a.shape[1] // factor) * factor
        a = a[:h, :w].reshape(h // factor, factor, w // factor, factor, *a.shape[2:]).mean((1, 3))
        notes.append(f"shown averaged down {factor}\u00d7")
    notes.append("values clipped to [0, 1]")
    return np.round(np.clip(a, 0, 1) * 255).astype(np.uint8), "; ".join(notes)


def _grey_plane(a: np.ndarray, axis: int | None) -> tuple[np.ndarray, str]:
    """The full-resolution grey 2-D plane whose spectrum is shown (a central crop if large)."""
    colour = axis is not None
    if colour:
        a = np.moveaxis(a, axis, -1)
    a, note = _slice_to_2d(a, colour)
    if colour:
        a = a.mean(axis=-1)
    notes = [note] if note else []
    if colour:
        notes.append("mean of the channels")
    if max(a.shape) > REPORT_MAX_SIDE:
        start = [max(0, (n - REPORT_MAX_SIDE) // 2) for n in a.shape]
        a = a[tuple(slice(s, s + REPORT_MAX_SIDE) for s in start)]
        notes.append(f"central {_shape(a.shape)} crop")
    return np.asarray(a, np.float64), "; ".join(notes)


def _png_uri(img: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(img)).save(buffer, format="PNG", compress_level=9)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure_uri(fig, dpi: int = 100) -> str:
    """A matplotlib figure as a PNG data URI, reduced to a 256-colour palette (4-5x smaller).

    Plots use few colours (a colour map has 256), so the palette loses nothing visible.
    """
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    with Image.open(io.BytesIO(buffer.getvalue())) as rendered:
        palette = rendered.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE)
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _img(uri: str, alt: str, *, id_: str | None = None, pixelated: bool = False) -> str:
    attrs = f" id='{html.escape(id_)}'" if id_ else ""
    cls = " class='px'" if pixelated else ""
    return f"<img{attrs}{cls} src='{uri}' alt='{html.escape(alt)}'>"


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]], *, header: bool = True) -> str:
    esc = html.escape
    head = (
        "<thead><tr>" + "".join(f"<th>{esc(c)}</th>" for c in columns) + "</tr></thead>"
        if header
        else ""
    )
    cells = "".join(
        "<tr>"
        + "".join(
            f"<th scope='row'>{esc(c)}</th>" if j == 0 else f"<td>{esc(c)}</td>"
            for j, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table>{head}<tbody>{cells}</tbody></table>"


# ---- sections ------------------------------------------------------------------------------
def _quality(
    y: np.ndarray, x: np.ndarray, ref: np.ndarray, axis: int | None
) -> dict[str, tuple[float, float | None]]:
    """PSNR and SSIM (None when the image is smaller than the SSIM window) of input and output."""
    from .metrics import psnr, ssim

    out = {}
    for name, est in (("input", y), ("restored", x)):
        value_psnr = psnr(est, ref, data_range=1.0)
        try:
            value_ssim = ssim(est, ref, data_range=1.0, channel_axis=axis)
        except InvalidParameterError:  # smaller than the 7 or 11 px window
            value_ssim = None
        out[name] = (value_psnr, value_ssim)
    return out


def _db(value: float) -> str:
    return "\u221e (identical)" if math.isinf(value) else f"{value:.2f} dB"


def _section_images(
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
            extra = f" &middot; PSNR {esc(_db(metrics[which][0]))}"
        figures.append(
            f"<figure>{_img(_png_uri(img), caption, id_=id_, pixelated=small)}"
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


def _section_quality(metrics: dict[str, tuple[float, float | None]]) -> str:
    rows = []
    for name in ("input", "restored"):
        value_psnr, value_ssim = metrics[name]
        rows.append(
            (
                "blurred input" if name == "input" else "restored",
                _db(value_psnr),
                "n/a (image smaller than the SSIM window)"
                if value_ssim is None
                else f"{value_ssim:.4f}",
            )
        )
    gain = metrics["restored"][0] - metrics["input"][0]
    gain_text = "" if not math.isfinite(gain) else f"<p>PSNR gain: <b>{gain:+.2f} dB</b></p>"
    return (
        "<section id='quality'><h2>Quality against the reference</h2>"
        + _table(("image", "PSNR", "SSIM"), rows)
        + gain_text
        + "<p class='note'>Peak 1, on the arrays as computed (no clipping, no alignment); SSIM "
        "with the Gaussian window of Wang et al. (2004).</p></section>"
    )


def _section_psf(k: np.ndarray) -> str:
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
    profile_uri = _figure_uri(fig)
    preview = psf_preview(k, max_size=384)
    view = "maximum projection over the leading axes; " if k.ndim > 2 else ""
    return (
        "<section id='psf'><h2>Point-spread function</h2><div class='grid g2'>"
        f"<figure>{_img(_png_uri(preview), 'PSF, enlarged', pixelated=True)}"
        f"<figcaption>PSF {html.escape(_shape(k.shape))}, sum {float(k.sum()):.4g} "
        f"({view}peak shown white, nearest-neighbour enlargement)</figcaption></figure>"
        f"<figure>{_img(profile_uri, 'PSF profiles through the centre')}"
        "<figcaption>Central row and column (one line per axis)</figcaption></figure>"
        "</div></section>"
    )


def _log_spectrum(a: np.ndarray) -> np.ndarray:
    window = np.outer(np.hanning(a.shape[0]), np.hanning(a.shape[1])) if min(a.shape) > 1 else 1
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2((a - a.mean()) * window)))
    factor = math.ceil(max(spectrum.shape) / _SPECTRUM_SIDE)
    if factor > 1:  # the panel is ~400 px wide: average blocks instead of dropping samples
        h, w = (n // factor * factor for n in spectrum.shape)
        spectrum = spectrum[:h, :w].reshape(h // factor, factor, w // factor, factor).mean((1, 3))
    floor = max(float(spectrum.max()) * 1e-12, np.finfo(np.float64).tiny)
    return np.log10(np.maximum(spectrum, floor))


def _section_spectra(y: np.ndarray, x: np.ndarray, axis: int | None) -> str:
    from matplotlib.figure import Figure

    plane_y, note = _grey_plane(y, axis)
    plane_x, _ = _grey_plane(x, axis)
    log_y, log_x = _log_spectrum(plane_y), _log_spectrum(plane_x)
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
        f"<figure class='wide'>{_img(_figure_uri(fig), 'log-magnitude spectra')}"
        f"<figcaption>{html.escape(caption)}</figcaption></figure></section>"
    )


def _section_convergence(monitor: ConvergenceMonitor | None, method: str) -> str:
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
        + f"<figure class='wide'>{_img(_figure_uri(fig), 'convergence curves')}"
        + f"<figcaption>{html.escape(summary)}</figcaption></figure></section>"
    )


def _source(name: str, value: Any, given: Collection[str], defaults: dict[str, Any]) -> str:
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


def _section_parameters(method: str, parameters: Mapping[str, Any], given) -> str:
    import inspect

    from .errors import UnknownMethodError
    from .restore import get_method

    rows: list[tuple[str, ...]]
    if given is None:
        columns: tuple[str, ...] = ("parameter", "value")
        rows = [(str(n), _value_text(v)) for n, v in parameters.items()]
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
            (str(n), _value_text(v), _source(n, v, given, defaults)) for n, v in parameters.items()
        ]
    if not rows:
        return "<section id='parameters'><h2>Parameters</h2><p class='note'>none</p></section>"
    return (
        "<section id='parameters'><h2>Parameters</h2>"
        + _table(columns, rows)
        + "<p class='note'>Every parameter of the run, the ones chosen automatically included."
        "</p></section>"
    )


# ---- page template -------------------------------------------------------------------------
_CSS = """
:root { color-scheme: light; --fg: #1d232b; --muted: #5b6573; --line: #d9dee5; --accent: #0b63c5; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1180px; padding: 16px 24px 40px; color: var(--fg);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
h1 { font-size: 1.5rem; margin: 0.2em 0; } h2 { font-size: 1.15rem; margin: 1.6em 0 0.5em;
  border-bottom: 1px solid var(--line); padding-bottom: 0.2em; }
.sub, .note, figcaption, .hint { color: var(--muted); font-size: 0.88rem; }
figure { margin: 0; } figure img { display: block; max-width: 100%; height: auto; }
.grid { display: grid; gap: 16px; align-items: start; }
.g2 { grid-template-columns: repeat(2, minmax(0, 1fr)); }
.g3 { grid-template-columns: repeat(3, minmax(0, 1fr)); }
.grid figure img { width: 100%; }
#psf .grid figure img { width: auto; margin: 0 auto; }
.wide img { width: 100%; max-width: 900px; }
img.px { image-rendering: pixelated; }
table { border-collapse: collapse; margin: 0.4em 0; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 4px 14px 4px 0; border-bottom: 1px solid var(--line); }
tbody th { font-weight: 600; font-family: ui-monospace, Menlo, Consolas, monospace; }
.compare { position: relative; width: 100%; margin: 0 auto 8px; overflow: hidden;
  --pos: 50%; background: #000; user-select: none; touch-action: none; }
.compare img { position: absolute; inset: 0; width: 100%; height: 100%; display: block; }
.compare .c-after { clip-path: inset(0 0 0 var(--pos)); }
.compare .c-line { position: absolute; top: 0; bottom: 0; left: var(--pos); width: 2px;
  margin-left: -1px; background: #fff; box-shadow: 0 0 3px rgba(0,0,0,.8); pointer-events: none; }
.compare .c-tag { position: absolute; top: 6px; padding: 1px 6px; font-size: 12px;
  background: rgba(0,0,0,.55); color: #fff; border-radius: 3px; pointer-events: none; }
.compare .c-left { left: 6px; } .compare .c-right { right: 6px; }
.compare input[type=range] { position: absolute; inset: 0; width: 100%; height: 100%; margin: 0;
  background: transparent; -webkit-appearance: none; appearance: none; cursor: ew-resize; }
.compare input[type=range]::-webkit-slider-runnable-track { background: transparent; height: 100%; }
.compare input[type=range]::-moz-range-track { background: transparent; height: 100%; }
.compare input[type=range]::-webkit-slider-thumb { -webkit-appearance: none; width: 28px;
  height: 28px; margin-top: 0; border-radius: 50%; background: #fff;
  border: 2px solid var(--accent); box-shadow: 0 0 4px rgba(0,0,0,.6); position: relative;
  top: calc(50% - 14px); }
.compare input[type=range]::-moz-range-thumb { width: 24px; height: 24px; border-radius: 50%;
  background: #fff; border: 2px solid var(--accent); }
.compare:focus-within { outline: 3px solid var(--accent); outline-offset: 2px; }
@media (max-width: 700px) { .g2, .g3 { grid-template-columns: 1fr; } }
"""

#: first script of the page: records any script error on <html> (data-js-error)
_GUARD_JS = """
(function () {
  function mark(text) {
    var root = document.documentElement;
    var old = root.getAttribute("data-js-error") || "";
    root.setAttribute("data-js-error", old + String(text) + ";");
  }
  window.addEventListener("error", function (e) { mark(e.message || "error"); });
  window.addEventListener("unhandledrejection", function (e) { mark(e.reason || "rejection"); });
})();
"""

#: last script: the comparison slider, then data-images-ok / data-images-total on <body>
_PAGE_JS = """
(function () {
  var box = document.getElementById("compare");
  var before = document.getElementById("img-blurred");
  var after = document.getElementById("img-restored");
  if (box && before && after) {
    box.querySelector(".c-before").src = before.src;
    box.querySelector(".c-after").src = after.src;
    var range = box.querySelector("input");
    var update = function () {
      box.style.setProperty("--pos", range.value + "%");
      range.setAttribute("aria-valuetext", "input left of " + range.value + "%, restored right");
    };
    range.addEventListener("input", update);
    update();
    box.hidden = false;
    document.getElementById("compare-hint").hidden = false;
  }
  window.addEventListener("load", function () {  // every image has loaded or failed by now
    var imgs = Array.prototype.slice.call(document.images);
    var ok = imgs.filter(function (img) { return img.complete && img.naturalWidth > 0; });
    document.body.setAttribute("data-images-total", String(imgs.length));
    document.body.setAttribute("data-images-ok", String(ok.length));
  });
})();
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; \
style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="generator" content="unblur">
<title>{title}</title>
<script>{guard}</script>
<style>{css}</style>
</head>
<body>
{body}
<script>{script}</script>
</body>
</html>
"""
