r"""The classic deconvolution experiment, on a built-in photograph.

A sharp image :math:`x` (the *cameraman*, 256×256) is blurred circularly,
:math:`y = k \circledast x`, and restored. Four scenarios:

1. Gaussian blur (σ = 2) without noise, 2. straight-line motion blur (15 px at 30°) without
   noise: the inverse filter :math:`\hat X = \overline{H} Y / (|H|^2 + \epsilon)` undoes them to
   rounding error (PSNR above 100 dB), because in double precision no frequency of these PSFs is
   lost;
3., 4. the same blurs with the blurred image quantised to 8 bits and 1% Gaussian noise added:
   the inverse filter divides the noise by the tiny values of :math:`H` and the restoration
   drowns in it. Every other registered method runs here too, with its default parameters, so
   the figure shows what regularisation buys; new methods join automatically.

References
----------
R. C. Gonzalez, R. E. Woods, *Digital Image Processing*, 4th ed., §5.7-5.8 (inverse and Wiener
filtering), Pearson, 2018.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import psf as psf_models
from .api import deconvolve
from .errors import ImageWriteError, UnblurError
from .forward import add_noise, blur
from .metrics import psnr, ssim
from .restore import available_methods, get_method

__all__ = [
    "DEMO_FIGURE",
    "GALLERY_FIGURES",
    "GALLERY_INDEX",
    "Scenario",
    "demo_params",
    "run_demo",
    "run_gallery",
    "scenarios",
    "sharp_image",
]

logger = logging.getLogger("unblur")

#: file name of the figure :func:`run_demo` writes
DEMO_FIGURE = "demo.png"
#: the gallery's figures (:func:`run_gallery`), scenario -> file name, in index order
GALLERY_FIGURES: dict[str, str] = {
    "classic": DEMO_FIGURE,
    "noise": "noise.png",
    "colour": "colour.png",
    "photo": "photo.png",
}
#: the gallery's index page, linking the figures with their tables
GALLERY_INDEX = "index.md"
#: a method whose first run in the gallery takes longer than this (seconds; quick: a third)
#: is not run again in later scenarios, so that ``unblur demo`` stays near a minute
SLOW_METHOD_SECONDS = 12.0


@dataclass(frozen=True)
class Scenario:
    """One blur experiment: a PSF and whether the blurred image is quantised and noisy."""

    name: str
    label: str
    psf: np.ndarray
    noisy: bool


def demo_params(name: str, quick: bool = False) -> dict[str, Any]:
    """Parameters the demo gives a method: fewer iterations, so that the demo stays fast.

    An iterative method that declares ``num_iter`` runs at most 50 iterations (quick: 20);
    one whose default is already small (10 or fewer, e.g. plug-and-play) runs half of them
    (quick: one). Other methods get no parameters (their defaults).

    Examples
    --------
    >>> from unblur.demo import demo_params
    >>> demo_params("wiener"), demo_params("tv"), demo_params("tv", quick=True)
    ({}, {'num_iter': 50}, {'num_iter': 20})
    """
    method = get_method(name)
    declared = method.parameters.get("num_iter")
    if not method.iterative or declared is None or not isinstance(declared.default, int):
        return {}
    default = declared.default
    if default <= 10:
        return {"num_iter": 1 if quick else max(1, default // 2)}
    return {"num_iter": min(default, 20 if quick else 50)}


def sharp_image() -> np.ndarray:
    """The *cameraman* (``skimage.data.camera()``), averaged 2×2 to 256×256, float64 in [0, 1].

    Examples
    --------
    >>> from unblur.demo import sharp_image
    >>> x = sharp_image()
    >>> x.shape, x.dtype, float(x.min()) >= 0, float(x.max()) <= 1
    ((256, 256), dtype('float64'), True, True)
    """
    import skimage.data

    img = skimage.data.camera().astype(np.float64) / 255.0
    h, w = img.shape
    return img[: h // 2 * 2, : w // 2 * 2].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))


def scenarios() -> list[Scenario]:
    """The four scenarios of the demo, in figure order.

    Examples
    --------
    >>> from unblur.demo import scenarios
    >>> [s.name for s in scenarios()]
    ['gaussian', 'motion', 'gaussian+noise', 'motion+noise']
    """
    gauss = psf_models.gaussian(2.0)
    motion = psf_models.motion(15, angle=30)
    noise = "\n+ 8-bit + 1% noise"
    return [
        Scenario("gaussian", "Gaussian σ=2", gauss, False),
        Scenario("motion", "motion 15 px, 30°", motion, False),
        Scenario("gaussian+noise", "Gaussian σ=2" + noise, gauss, True),
        Scenario("motion+noise", "motion 15 px, 30°" + noise, motion, True),
    ]


def _metrics(estimate: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """PSNR and SSIM of ``estimate`` clipped to [0, 1] against ``reference``."""
    est = np.clip(estimate, 0.0, 1.0)
    return psnr(est, reference, data_range=1.0), ssim(est, reference, data_range=1.0)


def _fmt_db(value: float) -> str:
    return "∞ dB" if not np.isfinite(value) else f"{value:.1f} dB"


def run_demo(
    folder: str | os.PathLike,
    *,
    force: bool = False,
    methods: Sequence[str] | None = None,
    quick: bool = False,
) -> list[dict[str, Any]]:
    r"""Run the blur / restore experiment and write the figure ``demo.png`` into ``folder``.

    Each scenario (see :func:`scenarios`) blurs :func:`sharp_image` with
    ``boundary="periodic"``; the noisy ones then quantise, :math:`y \leftarrow
    \operatorname{round}(255 y) / 255`, and add white Gaussian noise of standard deviation
    0.01 (seed 0). Every scenario is restored with the inverse filter; the noisy ones also with
    each method in ``methods`` (default parameters, ``boundary="periodic"``). A method that
    raises an :class:`~unblur.UnblurError` is logged and skipped.

    Quality is measured on the restoration clipped to the display range [0, 1] (what an 8-bit
    file of it would hold): PSNR :math:`= 10 \log_{10}(1 / \mathrm{MSE})` and SSIM, both from
    scikit-image with ``data_range=1`` (see :mod:`unblur.metrics`).

    Parameters
    ----------
    folder : str or path-like
        Output folder, created if missing.
    force : bool, optional
        Overwrite an existing ``demo.png``; without it an existing figure raises
        :class:`~unblur.ImageWriteError` before any work is done.
    methods : sequence of str, optional
        Methods to run on the noisy scenarios besides the inverse filter. Default: every
        registered method (:func:`unblur.available_methods`) other than ``"inverse"``.
        Iterative methods run with :func:`demo_params`.
    quick : bool, optional
        Use the central 128×128 of the image (about 4x faster).

    Returns
    -------
    list of dict
        One row per (scenario, method): ``scenario``, ``method``, ``psnr`` (dB), ``ssim``,
        ``seconds`` (restoration time), and ``blurred_psnr`` (PSNR of the degraded input).

    Raises
    ------
    ImageWriteError
        ``demo.png`` exists and ``force`` is False, or the folder cannot be used.
    UnknownMethodError
        A name in ``methods`` is not registered.

    References
    ----------
    R. C. Gonzalez, R. E. Woods, *Digital Image Processing*, 4th ed., §5.7, Pearson, 2018.

    Examples
    --------
    >>> import tempfile
    >>> from unblur.demo import run_demo
    >>> rows = run_demo(tempfile.mkdtemp(), methods=[])  # doctest: +SKIP
    >>> [round(r["psnr"]) > 60 for r in rows]  # doctest: +SKIP
    [True, True, False, False]
    """
    from .report import Panel, psf_preview, save_grid

    folder = Path(folder)
    target = folder / DEMO_FIGURE
    if target.exists() and not force:
        raise ImageWriteError(f"{str(target)!r} already exists; use --force to overwrite it")
    if folder.exists() and not folder.is_dir():
        raise ImageWriteError(f"{str(folder)!r} exists and is not a folder")
    if methods is None:
        extra = [m for m in available_methods() if m != "inverse"]
    else:
        extra = [get_method(m).name for m in methods if m != "inverse"]  # unknown names raise

    x = sharp_image()
    if quick:
        x = x[64:192, 64:192]
    rows: list[dict[str, Any]] = []
    grid: list[list[Panel | None]] = []
    labels: list[str] = []
    for sc in scenarios():
        y = blur(x, sc.psf, boundary="periodic")
        if sc.noisy:
            y = add_noise(np.round(y * 255) / 255, gaussian=0.01, rng=0)
        blurred_psnr, _ = _metrics(y, x)
        panels: list[Panel | None] = [
            Panel(x, "sharp"),
            Panel(
                psf_preview(sc.psf, min_size=64), f"PSF {sc.psf.shape[0]}×{sc.psf.shape[1]}", 0, 255
            ),
            Panel(y, f"blurred {_fmt_db(blurred_psnr)}"),
        ]
        for name in ["inverse", *(extra if sc.noisy else [])]:
            start = time.perf_counter()
            try:
                x_hat = deconvolve(
                    y, sc.psf, method=name, boundary="periodic", **demo_params(name, quick)
                )
            except UnblurError as exc:
                logger.warning("demo: method %s failed on %s: %s", name, sc.name, exc)
                continue
            seconds = time.perf_counter() - start
            psnr, ssim = _metrics(x_hat, x)
            rows.append(
                {
                    "scenario": sc.name,
                    "method": name,
                    "psnr": psnr,
                    "ssim": ssim,
                    "seconds": seconds,
                    "blurred_psnr": blurred_psnr,
                }
            )
            panels.append(Panel(x_hat, f"{name} {_fmt_db(psnr)}"))
        grid.append(panels)
        labels.append(sc.label)

    folder.mkdir(parents=True, exist_ok=True)
    save_grid(
        target,
        grid,
        row_labels=labels,
        title="The inverse filter: exact without noise, useless with 8-bit rounding and 1% noise",
        force=force,
    )
    return rows


# ---------------------------------------------------------------------------------------------
# the gallery: one figure per scenario, every method side by side


def _half(img: np.ndarray) -> np.ndarray:
    """Average 2×2 blocks of the two spatial axes (channels, if any, last)."""
    h, w = img.shape[0] // 2 * 2, img.shape[1] // 2 * 2
    img = img[:h, :w]
    return img.reshape(h // 2, 2, w // 2, 2, *img.shape[2:]).mean(axis=(1, 3))


def _restore_all(
    y: np.ndarray,
    k: np.ndarray,
    names: Sequence[str],
    *,
    quick: bool,
    slow: dict[str, float],
    truth: np.ndarray | None = None,
    **kwargs: Any,
) -> list[tuple[str, np.ndarray | None, dict[str, Any]]]:
    """Restore ``y`` with each method: (name, estimate or None, row fields) per method.

    A method that raised an UnblurError, or was found too slow earlier (``slow``: name ->
    seconds of its first run), gives None and a ``note``.
    """
    budget = SLOW_METHOD_SECONDS / (3 if quick else 1)
    out = []
    for name in names:
        if name in slow:
            note = f"skipped: {slow[name]:.0f} s per image is too slow for the demo"
            out.append((name, None, {"note": note}))
            continue
        start = time.perf_counter()
        try:
            x_hat = deconvolve(y, k, method=name, **demo_params(name, quick), **kwargs)
        except UnblurError as exc:
            logger.warning("demo: method %s failed: %s", name, exc)
            out.append((name, None, {"note": f"failed: {exc}"}))
            continue
        seconds = time.perf_counter() - start
        if seconds > budget:
            slow[name] = seconds
        fields: dict[str, Any] = {"seconds": seconds}
        if truth is not None:
            axis = -1 if truth.ndim == 3 else None
            est = np.clip(x_hat, 0.0, 1.0)
            fields["psnr"] = psnr(est, truth, data_range=1.0)
            fields["ssim"] = ssim(est, truth, data_range=1.0, channel_axis=axis)
        out.append((name, x_hat, fields))
    return out


def _panels(results, *, truth: bool) -> list[Any]:
    from .report import Panel

    panels = []
    for name, x_hat, fields in results:
        if x_hat is None:
            continue
        quality = f" {_fmt_db(fields['psnr'])}" if truth else ""
        panels.append(Panel(np.clip(x_hat, 0, 1), f"{name}{quality}, {fields['seconds']:.2f} s"))
    return panels


def _rows(scenario: str, case: str, results) -> list[dict[str, Any]]:
    return [
        {"scenario": scenario, "case": case, "method": name, "psnr": None, "ssim": None,
         "seconds": None, "note": "", **fields}
        for name, _, fields in results
    ]  # fmt: skip


def _noise_gallery(target, names, *, quick, slow, force) -> list[dict[str, Any]]:
    """Gaussian blur σ = 2 with 0.5%, 2% and 5% white noise: what each method makes of it."""
    from .report import Panel, save_grid

    x = sharp_image()
    if quick:
        x = x[64:192, 64:192]
    k = psf_models.gaussian(2.0)
    grid, labels, rows = [], [], []
    for level in (0.005, 0.02, 0.05):
        y = add_noise(blur(x, k, boundary="periodic"), gaussian=level, rng=0)
        results = _restore_all(y, k, names, quick=quick, slow=slow, truth=x, boundary="periodic")
        case = f"noise {100 * level:g}%"
        grid.append([Panel(y, f"blurred {_fmt_db(psnr(np.clip(y, 0, 1), x, data_range=1))}"),
                     *_panels(results, truth=True)])  # fmt: skip
        labels.append(f"Gaussian σ=2\n+ {100 * level:g}% noise")
        rows += _rows("noise", case, results)
    save_grid(target, grid, row_labels=labels, title="Noise: the regularised methods hold up",
              force=force)  # fmt: skip
    return rows


def _colour_gallery(target, names, *, quick, slow, force) -> list[dict[str, Any]]:
    """The astronaut in colour, motion blur + 1% noise, restored per channel and by luminance."""
    import skimage.data

    from .report import Panel, save_grid

    x = _half(skimage.data.astronaut().astype(np.float64) / 255)  # 256 × 256 × 3
    if quick:
        x = x[20:148, 64:192]
    k = psf_models.motion(9, angle=45)
    y = add_noise(blur(x, k, boundary="periodic", channel_axis=-1), gaussian=0.01, rng=0)
    grid, labels, rows = [], [], []
    for color in ("channels", "luminance"):
        results = _restore_all(y, k, names, quick=quick, slow=slow, truth=x, channel_axis=-1,
                               color=color, boundary="periodic")  # fmt: skip
        blurred = psnr(np.clip(y, 0, 1), x, data_range=1)
        grid.append([Panel(np.clip(y, 0, 1), f"blurred {_fmt_db(blurred)}"),
                     *_panels(results, truth=True)])  # fmt: skip
        labels.append(f"color={color}")
        rows += _rows("colour", f"color={color}", results)
    save_grid(target, grid, row_labels=labels,
              title="Colour: motion 9 px + 1% noise; each channel, or the luminance only",
              force=force)  # fmt: skip
    return rows


def _photo_gallery(target, names, *, quick, slow, force) -> list[dict[str, Any]]:
    """A real motion-blurred photograph (``skimage.data.clock()``), restored blind."""
    import skimage.data

    from .blind import estimate_psf
    from .report import Panel, psf_preview, save_grid

    y = skimage.data.clock().astype(np.float64) / 255  # 300 × 400, the camera moved
    if quick:
        y = _half(y)
    fit: dict[str, Any] = {}
    start = time.perf_counter()
    k = estimate_psf(y, model="motion", info=fit)
    seconds = time.perf_counter() - start
    pars = fit.get("parameters", {})
    text = ", ".join(f"{n} {v:.1f}" for n, v in pars.items())
    results = _restore_all(y, k, names, quick=quick, slow=slow)
    grid = [[Panel(y, "photograph (blurred)"),
             Panel(psf_preview(k, min_size=64), f"estimated PSF ({seconds:.1f} s)", 0, 255),
             *_panels(results, truth=False)]]  # fmt: skip
    save_grid(target, grid, row_labels=[f"motion fit:\n{text}"],
              title="A real photograph: PSF estimated from the image, no truth to compare",
              force=force)  # fmt: skip
    rows = _rows("photo", f"blind motion PSF: {text}", results)
    return rows


_GALLERY_TEXT = {
    "classic": "The classic experiment: the inverse filter is exact without noise and useless "
    "with 8-bit rounding and 1% noise; the other methods show what regularisation buys.",
    "noise": "One Gaussian blur (σ = 2) at three noise levels.",
    "colour": "A colour photograph, motion-blurred with noise, restored channel by channel "
    '(`color="channels"`) and by its luminance only (`color="luminance"`).',
    "photo": "A real motion-blurred photograph (`skimage.data.clock()`): the motion PSF is "
    'estimated from the image (`unblur.estimate_psf(model="motion")`), then every method '
    "restores it. There is no sharp original, so only run times are given.",
}


def _index(rows: list[dict[str, Any]], quick: bool) -> str:
    """The gallery's index page (markdown): each figure, then its table."""
    lines = ["# unblur demo gallery", ""]
    lines.append(
        "Made by `unblur demo" + (" --quick" if quick else "") + "`. PSNR and SSIM against the "
        "sharp original, on the restoration clipped to [0, 1]; times in seconds on this machine."
    )
    for scenario, figure in GALLERY_FIGURES.items():
        lines += ["", f"## {scenario}", "", _GALLERY_TEXT[scenario], "",
                  f"![{scenario}]({figure})", ""]  # fmt: skip
        lines += ["| case | method | PSNR (dB) | SSIM | time (s) | note |",
                  "|---|---|---:|---:|---:|---|"]  # fmt: skip
        for r in (r for r in rows if r["scenario"] == scenario):
            db = "" if r["psnr"] is None else ("∞" if np.isinf(r["psnr"]) else f"{r['psnr']:.2f}")
            lines.append(
                f"| {r['case']} | {r['method']} | {db} | "
                f"{'' if r['ssim'] is None else format(r['ssim'], '.3f')} | "
                f"{'' if r['seconds'] is None else format(r['seconds'], '.2f')} | {r['note']} |"
            )
    return "\n".join(lines) + "\n"


def run_gallery(
    folder: str | os.PathLike,
    *,
    force: bool = False,
    methods: Sequence[str] | None = None,
    quick: bool = False,
) -> dict[str, Any]:
    r"""Run every demo scenario and write one figure each plus an index page into ``folder``.

    Scenarios (figure files in :data:`GALLERY_FIGURES`):

    ``classic``
        :func:`run_demo`: the inverse filter without and with noise.
    ``noise``
        The cameraman blurred by a Gaussian (σ = 2, periodic) with white noise of standard
        deviation 0.005, 0.02 and 0.05: every method, PSNR and run time in each title.
    ``colour``
        The astronaut (``skimage.data.astronaut()`` at half size), motion blur 9 px at 45° and
        1% noise, restored with ``color="channels"`` and ``color="luminance"``.
    ``photo``
        ``skimage.data.clock()``, a photograph blurred by the camera's motion: the PSF is
        estimated blind (:func:`unblur.estimate_psf` with ``model="motion"``) and each method
        restores with it (no sharp original: run times only).

    Iterative methods run with :func:`demo_params`; a method whose first run takes longer than
    :data:`SLOW_METHOD_SECONDS` (a third of it with ``quick``) is skipped in the later
    scenarios, with a note in the index.

    Parameters
    ----------
    folder : str or path-like
        Output folder, created if missing.
    force : bool, optional
        Replace existing figures and index; without it any existing one raises
        :class:`~unblur.ImageWriteError` before any work is done.
    methods : sequence of str, optional
        Methods to compare (the inverse filter always runs in ``classic``). Default: every
        registered method.
    quick : bool, optional
        128-pixel crops (the photograph at half size) and fewer iterations: about 4x faster.

    Returns
    -------
    dict
        ``index`` (path of ``index.md``), ``figures`` (scenario -> path) and ``rows``: one per
        (scenario, case, method) with ``psnr`` and ``ssim`` (None without a sharp original),
        ``seconds`` and ``note`` (why a method did not run).

    Raises
    ------
    ImageWriteError
        A figure or the index exists and ``force`` is False, or the folder cannot be used.
    UnknownMethodError
        A name in ``methods`` is not registered.

    References
    ----------
    R. C. Gonzalez, R. E. Woods, *Digital Image Processing*, 4th ed., §5.7-5.8, Pearson, 2018.
    A. Levin, Y. Weiss, F. Durand, W. T. Freeman, "Understanding and evaluating blind
    deconvolution algorithms", IEEE CVPR 2009.
    """
    folder = Path(folder)
    targets = {name: folder / file for name, file in GALLERY_FIGURES.items()}
    index = folder / GALLERY_INDEX
    for target in (*targets.values(), index):
        if target.exists() and not force:
            raise ImageWriteError(f"{str(target)!r} already exists; use --force to overwrite it")
    if folder.exists() and not folder.is_dir():
        raise ImageWriteError(f"{str(folder)!r} exists and is not a folder")
    names = list(available_methods()) if methods is None else [get_method(m).name for m in methods]

    rows = [
        {"case": r["scenario"], "note": "", **r, "scenario": "classic"}
        for r in run_demo(folder, force=force, methods=names, quick=quick)
    ]
    slow: dict[str, float] = {}
    for name, draw in (("noise", _noise_gallery), ("colour", _colour_gallery),
                       ("photo", _photo_gallery)):  # fmt: skip
        rows += draw(targets[name], names, quick=quick, slow=slow, force=force)
    from .io import atomic_write

    page = _index(rows, quick).encode("utf-8")
    atomic_write(index, lambda fh: fh.write(page), force=force)
    return {"index": index, "figures": targets, "rows": rows}
