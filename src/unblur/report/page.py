"""The HTML report of one restoration: :func:`write_report` assembles the page.

The page is one self-contained file: images as base64 PNG data URIs, and the style sheet and
scripts of :mod:`unblur.report`'s ``templates`` folder (``report.html``, ``report.css``,
``guard.js``, ``report.js``, shipped as package data) inlined, under a Content-Security-Policy
that forbids any other resource.
"""

from __future__ import annotations

import html
import os
from collections.abc import Collection, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import numpy as np

from ..errors import InvalidParameterError
from ..io import atomic_write
from ..psf import PSFField
from ._display import (
    DeferredPictures,
    display_plane,
    eight_bit,
    png_shows,
    seconds_text,
    shape_text,
    table_html,
    value_text,
)
from ._field import section_psf_field
from ._files import check_target
from ._sections import (
    encode_pictures,
    quality,
    section_convergence,
    section_images,
    section_parameters,
    section_psf,
    section_quality,
    section_spectra,
)
from .monitor import ConvergenceMonitor

__all__ = ["TEMPLATES", "render_page", "template", "write_report"]

#: the files of the page, in the package's ``templates`` folder
TEMPLATES: tuple[str, ...] = ("report.html", "report.css", "guard.js", "report.js")


@cache
def template(name: str) -> str:
    """The text of one of the :data:`TEMPLATES` (read once from the package data).

    Raises
    ------
    ValueError
        ``name`` is not one of :data:`TEMPLATES`.
    """
    if name not in TEMPLATES:
        raise ValueError(f"unknown report template {name!r}; one of {', '.join(TEMPLATES)}")
    return resources.files(__package__).joinpath("templates", name).read_text(encoding="utf-8")


def render_page(*, title: str, body: str) -> str:
    """The whole page: ``report.html`` with its style sheet and scripts inlined.

    ``title`` and ``body`` are inserted as they are: escape any text in them first.
    """
    return Template(template("report.html")).substitute(
        title=title,
        css=template("report.css"),
        guard=template("guard.js"),
        script=template("report.js"),
        body=body,
    )


def write_report(
    path: str | os.PathLike,
    *,
    blurred: np.ndarray,
    restored: np.ndarray,
    psf: np.ndarray | PSFField,
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
    png_files: Mapping[str, bytes] | None = None,
    info: dict[str, Any] | None = None,
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
    psf : numpy.ndarray or PSFField
        The PSF used, one dimension per spatial axis; or the :class:`~unblur.psf.PSFField` (a
        spatially varying blur, built for the image's spatial shape): the page then shows the
        grid of PSFs drawn over the blurred image at their cells' centres, the PSFs in the
        grid's layout, and the profiles of the field's mean PSF.
    method : str
        Name of the method.
    parameters : mapping
        Every parameter of the run, automatic ones included (``info["parameters"]`` of
        ``unblur.deconvolve(..., info=run)``).
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
    png_files : mapping, optional
        The PNG files (``bytes``) that ``blurred`` and ``reference`` were read from, under
        those keys, when the arrays are their 8-bit samples divided by 255, unchanged (as
        :func:`unblur.io.read_image` returns an 8-bit grey or RGB PNG without ICC profile or
        EXIF), and under ``"restored"`` the 8-bit PNG file written from ``restored`` (its
        values clipped to [0, 1], times 255, rounded: :func:`unblur.io.from_float`, the
        page's own rule): such a file is embedded as it is instead of encoding the same
        picture again,
        where it is an 8-bit grey or RGB PNG of the picture's size with no chunk that changes
        how a browser shows it (colour management, transparency, orientation, animation);
        otherwise the array is encoded. The pixels are not compared: pass only such files.
    info : dict, optional
        Filled with the scores the page shows, when there is a reference: ``info["quality"]
        = {"input": (psnr, ssim), "restored": (psnr, ssim)}`` (SSIM None for an image
        smaller than its window), so that a caller needs not compute them again.

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
    >>> run = {}
    >>> x_hat = unblur.deconvolve(y, k, "wiener", info=run)
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "report.html"
    >>> _ = write_report(out, blurred=y, restored=x_hat, psf=k, method=run["method"],
    ...                  parameters=run["parameters"], seconds=run["seconds"], reference=x)
    >>> text = out.read_text()
    >>> "wiener" in text and "PSNR" in text and "http://" not in text
    True
    """
    from .._checks import as_float_image, check_channel_axis
    from .._version import __version__

    target = check_target(path, (".html", ".htm"), "report", force=force)
    y = as_float_image(blurred, name="blurred image", check_range=False)
    x = as_float_image(restored, name="restored image", check_range=False)
    if x.shape != y.shape:
        raise InvalidParameterError(
            f"the restored image has shape {x.shape} but the blurred one has shape {y.shape}"
        )
    axis = check_channel_axis(y.ndim, channel_axis)
    ref = None
    if reference is not None:
        ref = as_float_image(reference, name="reference", check_range=False)
        if ref.shape != x.shape:
            raise InvalidParameterError(
                f"the reference has shape {shape_text(ref.shape)} but the restored image has shape "
                f"{shape_text(x.shape)}; give the sharp image of the same size"
            )
    field = None
    if isinstance(psf, PSFField):
        field = psf
        spatial = y.shape if axis is None else y.shape[:axis] + y.shape[axis + 1 :]
        if field.image_shape != spatial:
            raise InvalidParameterError(
                f"the PSF field was built for an image of shape {shape_text(field.image_shape)}"
                f", not {shape_text(spatial)}"
            )
        psf = field.mean_psf()
    k = as_float_image(psf, name="PSF", check_range=False)
    if convergence is not None and not isinstance(convergence, ConvergenceMonitor):
        raise InvalidParameterError(
            f"convergence must be a ConvergenceMonitor, got {type(convergence).__name__}"
        )
    files = dict(png_files or {})
    if not set(files) <= {"blurred", "restored", "reference"} or not all(
        isinstance(v, bytes) for v in files.values()
    ):
        raise InvalidParameterError(
            "png_files maps 'blurred', 'restored' and 'reference' to the bytes of PNG files, got "
            f"{sorted(map(str, files))}"
        )
    try:
        seconds = float(seconds)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"seconds must be a number, got {seconds!r}") from None
    method = str(method)
    title = f"unblur report: {method}" if title is None else str(title)

    # computed one after the other in the calling thread: worker threads each get their own
    # malloc arena, so their temporaries come from fresh pages (page faults, system time) for
    # no gain in wall time in a fresh process (measured in benchmarks/report_overhead.py)
    metrics = None if ref is None else quality(y, x, ref, axis)
    if info is not None and metrics is not None:
        info["quality"] = dict(metrics)
    spectra_html = section_spectra(y, x, axis)
    plane_y, note = display_plane(y, axis)
    # a picture that its PNG file shows is not computed: None, the file is embedded
    shown_y = _picture(plane_y, files.get("blurred"), field is not None)
    images = [
        ("img-blurred", "Blurred input", shown_y),
        ("img-restored", "Restored", _picture(display_plane(x, axis)[0], files.get("restored"))),
    ]
    if ref is not None:
        plane_ref = display_plane(ref, axis)[0]
        images.append(
            ("img-reference", "Reference (sharp)", _picture(plane_ref, files.get("reference")))
        )
    deferred = DeferredPictures()  # the large pictures written straight to the file
    pictures = encode_pictures(
        images, {f"img-{name}": png for name, png in files.items()}, deferred
    )

    esc = html.escape
    body: list[str] = [
        f"<header><h1>{esc(title)}</h1><p class='sub'>method <b>{esc(method)}</b> &middot; "
        f"{esc(seconds_text(seconds))} &middot; image {esc(shape_text(y.shape))}"
        f"{'' if axis is None else f' (channels on axis {axis})'} &middot; "
        f"{esc(_psf_text(k, field))} &middot; unblur {esc(__version__)}</p></header>"
    ]
    body.append(section_images(images, pictures, note, plane_y.shape[:2], metrics))
    if metrics is not None:
        body.append(section_quality(metrics))
    if field is not None:
        body.append(section_psf_field(field, eight_bit(plane_y) if shown_y is None else shown_y))
    body.append(section_psf(k, "Mean PSF of the field" if field is not None else None))
    body.append(spectra_html)
    body.append(section_convergence(convergence, method))
    body.append(section_parameters(method, parameters, given))
    run_rows: list[tuple[str, str]] = [
        ("method", method),
        ("run time", seconds_text(seconds)),
        ("image shape", shape_text(y.shape)),
        ("image dtype", str(np.asarray(blurred).dtype)),
        ("channel axis", "none" if axis is None else str(axis)),
        ("PSF shape", shape_text(k.shape)),
    ]
    if field is not None:
        run_rows.append(("PSF field", f"{shape_text(field.grid_shape)} cells"))
    run_rows += [(str(n), value_text(v)) for n, v in (details or {}).items()]
    body.append(
        "<section id='run'><h2>Run</h2>"
        + table_html(("", "value"), run_rows, header=False)
        + "</section>"
    )
    page = render_page(title=esc(title), body="\n".join(body))
    atomic_write(target, lambda f: deferred.write(f, page), force=force)
    return target


def _picture(plane: np.ndarray, png: bytes | None, needed: bool = False) -> np.ndarray | None:
    """The 8-bit picture of ``plane``, or None where the PNG file ``png`` shows it as it is
    (:func:`~._display.png_shows`) and the picture is not ``needed`` for anything else."""
    if png is not None and not needed and png_shows(png, plane.shape):
        return None
    return eight_bit(plane)


def _psf_text(k: np.ndarray, field: PSFField | None) -> str:
    """``PSF 15×15``, or ``PSF field 3×3 of 15×15`` for a field."""
    if field is None:
        return f"PSF {shape_text(k.shape)}"
    return f"PSF field {shape_text(field.grid_shape)} of {shape_text(k.shape)}"
