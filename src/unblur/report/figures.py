"""Figures drawn with matplotlib: PSF previews and grids of image panels (the demo's figures).

Everything here draws with matplotlib's object-oriented API on an Agg canvas (no pyplot, no
global state, no display needed), and writes files atomically: the content is written to a
temporary file beside the target, then moved over it with :func:`os.replace`, so a target is
either the old file or the complete new one, never a partial file.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InvalidParameterError, InvalidPSFError
from ..io import atomic_write
from ._files import check_target

__all__ = ["Panel", "psf_preview", "save_grid"]


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

    target = check_target(path, (".png",), "figure", force=force)
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
