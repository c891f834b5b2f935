"""Pictures of a PSF field: its PSFs as a mosaic, and drawn over the image at their cells.

A :class:`~unblur.psf.PSFField` holds one PSF per cell of a grid over the image. Two views:

* :func:`field_preview`, the PSFs alone, tiled in the grid's layout (what ``unblur psf
  --field`` writes beside the field);
* :func:`field_overlay`, the report's view: the image dimmed, the cells' borders (half-way
  between neighbouring centres, where a cell's weight falls to one half) and each PSF,
  enlarged and drawn in colour at its cell's centre, so one sees which blur belongs where.

Each PSF is scaled to its own peak (the shapes matter here; their sums are all one). A 3-D
field is shown by the PSFs of the grid's plane nearest the image's central slice, each as its
maximum projection along the leading axes.
"""

from __future__ import annotations

import html
import math

import numpy as np

from ..errors import InvalidParameterError, InvalidPSFError
from ..psf import PSFField
from ._display import REPORT_MAX_SIDE, img_tag, png_uri, shape_text

__all__ = ["field_overlay", "field_preview", "section_psf_field"]

#: colour of the PSFs drawn over the image (RGB) and of the cell borders
_PSF_COLOUR = np.array([255.0, 196.0, 32.0])
_BORDER_COLOUR = np.array([0.0, 160.0, 255.0])
#: brightness of the image under the overlay
_DIM = 0.55


def _plane_psfs(field: PSFField) -> np.ndarray:
    """The PSFs of the grid's plane nearest the central slice (2-D: every cell) as 2-D
    pictures (maximum projection over the leading axes), shape ``(gy, gx, ky, kx)``."""
    d = field.ndim
    if d < 2:
        raise InvalidPSFError("a PSF field preview needs at least two dimensions")
    centres = field.centres()
    lead = tuple(
        int(np.argmin(np.abs(centres[a] - (field.image_shape[a] // 2)))) for a in range(d - 2)
    )
    psfs = field.psfs[lead]
    while psfs.ndim > 4:  # project the PSFs' leading axes
        psfs = psfs.max(axis=2)
    return psfs


def _unit(k: np.ndarray) -> np.ndarray:
    """``k`` scaled to its peak (zeros stay zeros)."""
    peak = float(k.max())
    return k / peak if peak > 0 else np.zeros_like(k)


def field_preview(field, *, scale: int | None = None, gap: int = 3) -> np.ndarray:
    """The PSFs of a field as an 8-bit mosaic in the grid's layout.

    Parameters
    ----------
    field : PSFField or numpy.ndarray
        A field, or its PSF array of shape ``(gy, gx, ky, kx)`` (2-D PSFs on a 2-D grid).
    scale : int, optional
        Enlargement of every PSF pixel (nearest neighbour). Default: so that a tile is about
        96 px (at least 2, at most 16).
    gap : int, optional
        Pixels of mid-grey between the tiles.

    Returns
    -------
    numpy.ndarray
        ``uint8``, ``(gy * (s * ky + gap) + gap, gx * (s * kx + gap) + gap)``; each PSF scaled
        to its own peak (white).

    Examples
    --------
    >>> import numpy as np
    >>> from unblur import psf
    >>> from unblur.report import field_preview
    >>> kernels = np.stack([psf.motion(9, angle=a) for a in (0, 45, 90)])[None]
    >>> field_preview(psf.grid(kernels, (64, 96)), scale=4).shape
    (42, 114)
    """
    if isinstance(field, PSFField):
        psfs = _plane_psfs(field)
    else:
        psfs = np.asarray(field, dtype=np.float64)
        if psfs.ndim != 4:
            raise InvalidPSFError(
                f"a field's PSFs must have shape (gy, gx, ky, kx), got {psfs.shape}"
            )
    gy, gx, ky, kx = psfs.shape
    if scale is None:
        scale = int(min(16, max(2, round(96 / max(ky, kx)))))
    if int(scale) != scale or scale < 1 or int(gap) != gap or gap < 0:
        raise InvalidParameterError(f"scale must be >= 1 and gap >= 0, got {scale!r}, {gap!r}")
    th, tw = scale * ky, scale * kx
    out = np.full((gy * (th + gap) + gap, gx * (tw + gap) + gap), 128, dtype=np.uint8)
    for i in range(gy):
        for j in range(gx):
            tile = np.kron(_unit(psfs[i, j]), np.ones((scale, scale)))
            top, left = gap + i * (th + gap), gap + j * (tw + gap)
            out[top : top + th, left : left + tw] = np.round(255 * tile).astype(np.uint8)
    return out


def field_overlay(shown: np.ndarray, field: PSFField) -> np.ndarray:
    """The displayed image (2-D grey or RGB ``uint8``) with the field drawn over it (RGB).

    ``shown`` is the image's central plane as the report shows it: possibly averaged down by
    the report's factor (``ceil(max side / REPORT_MAX_SIDE)``), which is undone here to place
    the cells.
    """
    rows, cols = field.image_shape[-2:]
    factor = max(1, math.ceil(max(rows, cols) / REPORT_MAX_SIDE))
    base = shown.astype(np.float64)
    if base.ndim == 2:
        base = np.repeat(base[..., None], 3, axis=-1)
    out = _DIM * base[..., :3]
    h, w = out.shape[:2]
    psfs = _plane_psfs(field)
    centres = [c / factor for c in field.centres()[-2:]]
    # cell borders: half-way between neighbouring centres
    for a, (c, n) in enumerate(zip(centres, (h, w), strict=True)):
        for b in (c[1:] + c[:-1]) / 2:
            line = round(b)
            if 0 <= line < n:
                index = (
                    (slice(line, line + 1), slice(None))
                    if a == 0
                    else (slice(None), slice(line, line + 1))
                )
                out[index] = 0.5 * out[index] + 0.5 * _BORDER_COLOUR
    gy, gx = psfs.shape[:2]
    spacing = min(h / gy, w / gx)
    ky, kx = psfs.shape[2:]
    scale = max(1, int(0.6 * spacing / max(ky, kx)))
    for i in range(gy):
        for j in range(gx):
            tile = np.kron(_unit(psfs[i, j]), np.ones((scale, scale)))
            top = round(centres[0][i]) - tile.shape[0] // 2
            left = round(centres[1][j]) - tile.shape[1] // 2
            r0, c0 = max(top, 0), max(left, 0)
            r1, c1 = min(top + tile.shape[0], h), min(left + tile.shape[1], w)
            if r0 >= r1 or c0 >= c1:
                continue
            alpha = tile[r0 - top : r1 - top, c0 - left : c1 - left, None]
            region = out[r0:r1, c0:c1]
            out[r0:r1, c0:c1] = (1 - alpha) * region + alpha * _PSF_COLOUR
    return np.round(np.clip(out, 0, 255)).astype(np.uint8)


def section_psf_field(field: PSFField, shown: np.ndarray) -> str:
    """The report's section on a PSF field: its grid over the image, and the PSFs alone."""
    grid = shape_text(field.grid_shape)
    kshape = shape_text(field.psf_shape)
    plane = "" if field.ndim == 2 else " (the grid's plane nearest the central slice; PSFs as "
    plane += "" if field.ndim == 2 else "maximum projections)"
    overlay = img_tag(
        png_uri(field_overlay(shown, field)), "PSF field over the blurred image",
        id_="psf-field-overlay",
    )  # fmt: skip
    mosaic = img_tag(
        png_uri(field_preview(field)), "PSFs of the field", id_="psf-field-mosaic",
        pixelated=True,
    )  # fmt: skip
    return (
        "<section id='psf-field'><h2>PSF field</h2><div class='grid g2'>"
        f"<figure>{overlay}"
        f"<figcaption>The {html.escape(grid)} grid of PSFs ({html.escape(kshape)}) over the "
        "blurred input: each PSF, scaled to its peak and enlarged, at its cell's centre; "
        "between the centres the PSF is interpolated (bilinear weights), the lines are where "
        f"neighbouring cells weigh one half{html.escape(plane)}</figcaption></figure>"
        f"<figure>{mosaic}"
        "<figcaption>The PSFs alone, in the grid's layout (each scaled to its peak)"
        "</figcaption></figure></div></section>"
    )
