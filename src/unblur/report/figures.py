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

__all__ = ["Panel", "Tile", "psf_preview", "save_grid", "save_mosaic"]


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


# --------------------------------------------------------------------------------------------
# mosaics: images at their own pixels (no resampling by a plotting library)
# --------------------------------------------------------------------------------------------
#: gap between tiles and around the figure, in pixels
_GAP = 10
_TITLE_PX = 15


@dataclass(frozen=True)
class Tile:
    """One cell of a mosaic: an image, shown whole at half size beside a crop at 1:1.

    Attributes
    ----------
    image : numpy.ndarray
        2-D grey or ``(rows, cols, 3)`` colour image in [0, 1] (clipped for display), or
        ``uint8``.
    title : str
        First line above the tile (e.g. the method).
    subtitle : str
        Second line (e.g. PSNR and time).
    detail : tuple of int, optional
        ``(row, col, height, width)`` of a region shown at 1:1 beside the whole, which is then
        shown at half size with the region outlined. Without it the whole is shown at 1:1.
    pixelated : bool
        Enlarge by pixel replication to the row's height (for PSF previews).
    """

    image: np.ndarray
    title: str = ""
    subtitle: str = ""
    detail: tuple[int, int, int, int] | None = None
    pixelated: bool = False


def _font(size: int, bold: bool = False):
    """DejaVu Sans (shipped with matplotlib) at ``size`` pixels, or Pillow's default font."""
    from PIL import ImageFont

    try:
        import matplotlib

        name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
        return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts/ttf" / name), size)
    except (ImportError, OSError):  # pragma: no cover - matplotlib is a dependency
        return ImageFont.load_default(size)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[-1] == 4:
        a = a[..., :3]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] != 3):
        raise InvalidParameterError(f"a tile must be 2-D grey or RGB, got shape {a.shape}")
    if a.dtype == np.uint8:
        return a
    return np.round(np.clip(np.asarray(a, np.float64), 0, 1) * 255).astype(np.uint8)


def _half(a: np.ndarray) -> np.ndarray:
    """2x2 block means (the last odd row / column dropped)."""
    h, w = a.shape[0] // 2 * 2, a.shape[1] // 2 * 2
    small = a[:h, :w].astype(np.float64).reshape(h // 2, 2, w // 2, 2, *a.shape[2:]).mean((1, 3))
    return np.round(small).astype(np.uint8)


def _tile_pictures(tile: Tile, height: int) -> list[np.ndarray]:
    """The pictures of a tile (whole, and its 1:1 detail), as uint8 RGB arrays."""
    a = _to_uint8(tile.image)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=-1)
    if tile.pixelated:
        f = max(1, height // max(a.shape[:2]))
        return [np.repeat(np.repeat(a, f, axis=0), f, axis=1)]
    if tile.detail is None:
        return [a]
    r, c, h, w = tile.detail
    crop = a[r : r + h, c : c + w]
    whole = _half(a).copy()
    r2, c2 = r // 2, c // 2
    r3, c3 = (
        min(r2 + max(1, h // 2), whole.shape[0]) - 1,
        min(c2 + max(1, w // 2), whole.shape[1]) - 1,
    )
    for value, inset in ((255, 0), (0, 1)):  # a white frame with a black one inside: grey
        top, left, bottom, right = r2 + inset, c2 + inset, r3 - inset, c3 - inset
        if bottom > top and right > left:
            whole[[top, bottom], left : right + 1] = value
            whole[top : bottom + 1, [left, right]] = value
    return [whole, crop]


def save_mosaic(
    path: str | os.PathLike,
    rows: Sequence[tuple[str, Sequence[Tile]]],
    *,
    title: str,
    per_line: int = 4,
    force: bool = False,
) -> Path:
    """Compose labelled rows of tiles into one PNG, every image at its own pixels, atomically.

    Each row is ``(label, tiles)``: the label is written above the row, its tiles follow left
    to right, ``per_line`` to a line. A tile with a ``detail`` shows the whole image at half
    size (2x2 means), the region outlined, beside the region at 1:1; a ``pixelated`` tile (a
    PSF preview) is enlarged to the height of the other pictures, so every picture of a line
    has the same height. Text is DejaVu Sans (shipped with matplotlib); nothing is resampled
    by a plotting library, so what the PNG shows at 100 % is what the arrays hold.

    Parameters
    ----------
    path : str or path-like
        Output ``.png`` file; its folder must exist.
    rows : sequence of (str, sequence of Tile)
        The labelled rows.
    title : str
        Title over the figure.
    per_line : int, optional
        Most tiles on one line.
    force : bool, optional
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ImageWriteError
        ``path`` exists (without ``force``), is not a ``.png``, or its folder is missing.
    InvalidParameterError
        No tile, or a tile image that is not 2-D grey or RGB.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> from unblur.report.figures import Tile, save_mosaic
    >>> img = np.linspace(0, 1, 64 * 64).reshape(64, 64)
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "m.png"
    >>> _ = save_mosaic(out, [("ramp", [Tile(img, "a", detail=(0, 0, 32, 32))])], title="t")
    >>> out.read_bytes()[:4] == b"\\x89PNG"
    True
    """
    from PIL import Image, ImageDraw

    target = check_target(path, (".png",), "figure", force=force)
    if not any(tiles for _, tiles in rows):
        raise InvalidParameterError("save_mosaic needs at least one tile")
    font, bold, big = _font(13), _font(13, bold=True), _font(17, bold=True)
    lines: list[tuple[str | None, list[tuple[Tile, list[np.ndarray]]]]] = []
    for label, tiles in rows:
        heights = [max(p.shape[0] for p in _tile_pictures(t, 1)) for t in tiles if not t.pixelated]
        height = max(heights, default=128)
        drawn = [(t, _tile_pictures(t, height)) for t in tiles]
        for i in range(0, len(drawn), per_line):
            lines.append((label if i == 0 else None, drawn[i : i + per_line]))

    def tile_width(pictures: list[np.ndarray]) -> int:
        return sum(p.shape[1] for p in pictures) + 4 * (len(pictures) - 1)

    width = 2 * _GAP + max(
        sum(tile_width(p) for _, p in line) + _GAP * (len(line) - 1) for _, line in lines
    )
    heading = _wrap(title, big, width - 2 * _GAP, " ")
    texts = [
        [(t.title, _wrap(t.subtitle, font, max(tile_width(p), 60), " · ")) for t, p in line]
        for _, line in lines
    ]
    height = 12 + 22 * len(heading)
    for (label, line), text in zip(lines, texts, strict=True):
        n = max(len(sub) for _, sub in text)
        height += (24 if label else 0) + _TITLE_PX * (1 + n) + 8
        height += max(p.shape[0] for _, ps in line for p in ps) + _GAP
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    y = 8
    for text_line in heading:
        draw.text((_GAP, y), text_line, fill=(25, 25, 25), font=big)
        y += 22
    y += 4
    for (label, line), text in zip(lines, texts, strict=True):
        if label:
            draw.text((_GAP, y + 4), label, fill=(25, 25, 25), font=bold)
            draw.line((_GAP, y + 21, width - _GAP, y + 21), fill=(208, 208, 208))
            y += 24
        x = _GAP
        text_h = _TITLE_PX * (1 + max(len(sub) for _, sub in text)) + 8
        line_h = max(p.shape[0] for _, ps in line for p in ps)
        for (_, pictures), (name, sub) in zip(line, text, strict=True):
            draw.text((x, y + 2), name, fill=(25, 25, 25), font=bold)
            for i, s in enumerate(sub):
                draw.text((x, y + 3 + _TITLE_PX * (i + 1)), s, fill=(90, 90, 90), font=font)
            px = x
            for p in pictures:
                canvas.paste(Image.fromarray(p), (px, y + text_h))
                px += p.shape[1] + 4
            x += tile_width(pictures) + _GAP
        y += text_h + line_h + _GAP
    pixels = np.asarray(canvas)
    grey = bool(
        (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()
    )
    picture = canvas.convert("L") if grey else canvas

    def write(f) -> None:
        picture.save(f, format="PNG", optimize=True)

    atomic_write(target, write, force=force)
    return target


def _wrap(text: str, font, width: int, separator: str) -> list[str]:
    """``text`` split at ``separator`` into lines of at most ``width`` pixels (when possible)."""
    if not text:
        return []
    lines: list[str] = []
    for part in text.split(separator):
        if lines and font.getlength(lines[-1] + separator + part) <= width:
            lines[-1] += separator + part
        else:
            lines.append(part)
    return lines
