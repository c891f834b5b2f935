"""Figures and the HTML report: PSF previews, the demo's figures, ``deconvolve --report``.

The package is split by concern:

:mod:`unblur.report.figures`
    figures shared with the demo: :func:`psf_preview`, :class:`Panel` and :func:`save_grid`
    (matplotlib), :class:`Tile` and :func:`save_mosaic` (images at their own pixels).
:mod:`unblur.report._field`
    a PSF field's pictures: :func:`field_preview` (its PSFs in the grid's layout, for
    ``unblur psf --field``) and the report's view of the grid drawn over the image.
:mod:`unblur.report.monitor`
    the runtime monitor: :class:`ConvergenceMonitor` records how an iterative restoration
    converges while it runs (:class:`Trace` per channel).
:mod:`unblur.report.page`
    :func:`write_report`, one self-contained HTML page about a restoration: the input and the
    result side by side and under a comparison slider, the PSF and its profiles (for a PSF
    field, its grid of PSFs over the image), the
    log-magnitude spectra, the convergence of iterative methods, every parameter, the run time
    and, given the sharp image, PSNR and SSIM. Its template (HTML, CSS, JavaScript) lives in
    the package data folder ``templates``.

Every public name is importable from :mod:`unblur.report` itself.
"""

from __future__ import annotations

from ._display import REPORT_MAX_SIDE
from ._field import field_preview
from .figures import Panel, Tile, psf_preview, save_grid, save_mosaic
from .monitor import ConvergenceMonitor, Trace
from .page import write_report

__all__ = [
    "REPORT_MAX_SIDE",
    "ConvergenceMonitor",
    "Panel",
    "Tile",
    "Trace",
    "field_preview",
    "psf_preview",
    "save_grid",
    "save_mosaic",
    "write_report",
]
