"""The demo gallery: every method on three noise levels, a colour photograph and a real
photograph restored blind, one figure each and an index page (:func:`run_gallery`).

Every figure shows each result whole at half size beside a detail at 1:1, under a title with
its PSNR and time, the degraded input first as the baseline (see
:func:`unblur.report.save_mosaic`).

References
----------
R. C. Gonzalez, R. E. Woods, *Digital Image Processing*, 4th ed., §5.7-5.8, Pearson, 2018.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import psf as psf_models
from ..api import deconvolve
from ..forward import add_noise, blur
from ..restore import available_methods, get_method
from ._common import (
    Progress,
    _check_folder,
    _half,
    _quality,
    _restore,
    _row,
    _Steps,
    _subtitle,
)
from .classic import DEMO_FIGURE, run_demo, sharp_image

#: the gallery's figures (:func:`run_gallery`), scenario -> file name, in index order
GALLERY_FIGURES: dict[str, str] = {
    "classic": DEMO_FIGURE,
    "noise": "noise.png",
    "colour": "colour.png",
    "photo": "photo.png",
}
#: the gallery's index page, linking the figures with their tables
GALLERY_INDEX = "index.md"
#: weights raised for the photograph restored with a PSF estimated blind: method ->
#: (parameter, the entry of the method's ``info`` it scales, factor). The automatic weights
#: follow the noise level, but a fitted PSF's model error is far above the noise of a clean
#: photograph; with them the spectral zeros of the fitted box kernel come back as dashed
#: streaks along strong edges and as echo rings (see :func:`run_gallery`).
BLIND_WEIGHT: dict[str, tuple[str, str, float]] = {
    "tv": ("lam", "lam", 4.0),
    "hyper_laplacian": ("lam", "lam", 4.0),
    "richardson_lucy": ("regularization", "regularization", 4.0),
}


def _detail(shape: tuple[int, ...], region: tuple[float, float, float, float]):
    """A detail box (row, col, height, width) from fractions of the image's size."""
    h, w = shape[:2]
    r, c, dh, dw = region
    return (int(r * h), int(c * w), max(2, int(dh * h)), max(2, int(dw * w)))


#: detail regions (fractions of the image: row, col, height, width): the cameraman's face and
#: camera, the astronaut's face, the clock
_CAMERA_DETAIL = (0.12, 0.3, 0.5, 0.5)
_ASTRONAUT_DETAIL = (0.04, 0.34, 0.5, 0.5)
_CLOCK_DETAIL = (0.25, 0.25, 0.5, 0.5)


def _method_tiles(results, detail, *, baseline) -> list[Any]:
    from ..report.figures import Tile

    tiles = [baseline]
    for name, x_hat, fields in results:
        if x_hat is not None:
            tiles.append(Tile(np.clip(x_hat, 0, 1), name, _subtitle(fields), detail=detail))
    return tiles


def _noise_gallery(target, names, *, quick, slow, force, steps) -> list[dict[str, Any]]:
    """Gaussian blur σ = 2 with 0.5%, 2% and 5% white noise: what each method makes of it."""
    from ..report.figures import Tile, save_mosaic

    x = sharp_image()
    if quick:
        x = x[64:192, 64:192]
    detail = _detail(x.shape, _CAMERA_DETAIL)
    k = psf_models.gaussian(2.0)
    figure, rows = [], []
    for level in (0.005, 0.02, 0.05):
        y = add_noise(blur(x, k, boundary="periodic"), gaussian=level, rng=0)
        case = f"noise {100 * level:g}%"
        blurred = dict(zip(("psnr", "ssim"), _quality(y, x), strict=True))
        rows.append(_row("noise", case, "blurred", **blurred))
        results = []
        for name in names:
            steps.start(f"noise {100 * level:g}%: {name}")
            x_hat, fields = _restore(y, k, name, quick=quick, slow=slow, truth=x,
                                     boundary="periodic")  # fmt: skip
            steps.finish()
            results.append((name, x_hat, fields))
            rows.append(_row("noise", case, name, **fields))
        base = Tile(np.clip(y, 0, 1), "blurred", _subtitle(blurred), detail=detail)
        figure.append((f"Gaussian σ=2 + {100 * level:g}% noise",
                       _method_tiles(results, detail, baseline=base)))  # fmt: skip
    steps.start("noise: figure")
    title = "Noise: each result whole (half size) beside a detail at 1:1"
    save_mosaic(target, figure, title=title, force=force)
    return rows


def _colour_gallery(target, names, *, quick, slow, force, steps) -> list[dict[str, Any]]:
    """The astronaut in colour, motion blur + 1% noise, restored per channel and by luminance."""
    import skimage.data

    from ..report.figures import Tile, save_mosaic

    x = _half(skimage.data.astronaut().astype(np.float64) / 255)  # 256 × 256 × 3
    if quick:
        x = x[20:148, 64:192]
    detail = _detail(x.shape, _ASTRONAUT_DETAIL if not quick else (0.0, 0.25, 0.5, 0.5))
    k = psf_models.motion(9, angle=45)
    y = add_noise(blur(x, k, boundary="periodic", channel_axis=-1), gaussian=0.01, rng=0)
    blurred = dict(zip(("psnr", "ssim"), _quality(y, x), strict=True))
    figure, rows = [], []
    for color in ("channels", "luminance"):
        case = f"color={color}"
        rows.append(_row("colour", case, "blurred", **blurred))
        results = []
        for name in names:
            steps.start(f"colour, {case}: {name}")
            x_hat, fields = _restore(y, k, name, quick=quick, slow=slow, truth=x,
                                     channel_axis=-1, color=color, boundary="periodic")  # fmt: skip
            steps.finish()
            results.append((name, x_hat, fields))
            rows.append(_row("colour", case, name, **fields))
        base = Tile(np.clip(y, 0, 1), "blurred", _subtitle(blurred), detail=detail)
        figure.append((f'color="{color}"', _method_tiles(results, detail, baseline=base)))
    steps.start("colour: figure")
    title = "Colour: motion 9 px + 1% noise, each channel or the luminance only"
    save_mosaic(target, figure, title=title, force=force)
    return rows


def _blind_weight(y: np.ndarray, k: np.ndarray, name: str, quick: bool) -> dict[str, Any]:
    """The raised weight of :data:`BLIND_WEIGHT` for ``name`` (its automatic value, scaled)."""
    if name not in BLIND_WEIGHT:
        return {}
    parameter, source, factor = BLIND_WEIGHT[name]
    probe = {"num_iter": 1} if "num_iter" in get_method(name).parameters else {}
    run: dict[str, Any] = {}
    deconvolve(y, k, method=name, info=run, **probe)
    automatic = run["parameters"].get(source)
    return {} if automatic is None else {parameter: float(automatic) * factor}


def _photo_gallery(target, names, *, quick, slow, force, steps) -> list[dict[str, Any]]:
    """A real motion-blurred photograph (``skimage.data.clock()``), restored blind."""
    import skimage.data

    from ..blind import estimate_psf
    from ..report.figures import Tile, psf_preview, save_mosaic

    y = skimage.data.clock().astype(np.float64) / 255  # 300 × 400, the camera moved
    if quick:
        y = _half(y)
    detail = _detail(y.shape, _CLOCK_DETAIL)
    fit: dict[str, Any] = {}
    steps.start("photo: estimating the motion PSF")
    start = time.perf_counter()
    k = estimate_psf(y, model="motion", info=fit)
    seconds = time.perf_counter() - start
    steps.finish()
    pars = fit.get("parameters", {})
    text = ", ".join(f"{n} {v:.1f}" for n, v in pars.items())
    rows = [_row("photo", "blind", "blurred", note=f"the photograph; PSF fitted blind: {text}")]
    results = []
    for name in names:
        steps.start(f"photo: {name}")
        weight = {} if name in slow else _blind_weight(y, k, name, quick)
        x_hat, fields = _restore(y, k, name, quick=quick, slow=slow, **weight)
        steps.finish()
        if weight and x_hat is not None:
            fields["note"] = ", ".join(f"{p}={v:.3g} (4x automatic)" for p, v in weight.items())
        results.append((name, x_hat, fields))
        rows.append(_row("photo", "blind", name, **fields))
    side = detail[2]
    preview = psf_preview(k, scale=1, min_size=side, max_size=side)
    base = Tile(y, "photograph", "as taken (no sharp original)", detail=detail)
    fitted = " · ".join(f"{n} {v:.1f}" for n, v in pars.items())
    psf_tile = Tile(preview, "estimated PSF", f"{fitted} · {seconds:.1f} s", pixelated=True)
    tiles = _method_tiles(results, detail, baseline=base)
    steps.start("photo: figure")
    save_mosaic(
        target,
        [(f"skimage.data.clock(), motion PSF fitted blind: {text}", [base, psf_tile, *tiles[1:]])],
        title="A real photograph: PSF estimated from the image, weights 4x for the model error",
        per_line=3,
        force=force,
    )
    return rows


_GALLERY_TEXT = {
    "classic": "The classic experiment: the inverse filter is exact without noise and useless "
    "with 8-bit rounding and 1% noise; beside it the two best other methods show what "
    "regularisation buys (all of them are in the table).",
    "noise": "One Gaussian blur (σ = 2) at three noise levels. Each result is shown whole at "
    "half size beside a detail at 1:1; the blurred input comes first as the baseline.",
    "colour": "A colour photograph, motion-blurred with noise, restored channel by channel "
    '(`color="channels"`) and by its luminance only (`color="luminance"`).',
    "photo": "A real motion-blurred photograph (`skimage.data.clock()`): the motion PSF is "
    'estimated from the image (`unblur.estimate_psf(model="motion")`), then every method '
    "restores it. There is no sharp original, so only run times are given. The methods whose "
    "weight follows the noise level (tv, hyper_laplacian, richardson_lucy) run with four "
    "times their automatic weight: a PSF estimated blind carries model error far above the "
    "noise of this clean photograph, and with the automatic weight the spectral zeros of the "
    "fitted box kernel come back as dashed streaks along the clock's rim (period: the kernel's "
    "length) and as echo rings. pnp starts from tv with tv's automatic weight and keeps the "
    "streaks.",
}


def _index(rows: list[dict[str, Any]], quick: bool) -> str:
    """The gallery's index page (markdown): each figure, then its table."""
    lines = ["# unblur demo gallery", ""]
    lines.append(
        "Made by `unblur demo" + (" --quick" if quick else "") + "`. PSNR and SSIM against the "
        "sharp original, on the restoration clipped to [0, 1]; times in seconds on this machine."
    )
    for scenario, figure in GALLERY_FIGURES.items():
        text = _GALLERY_TEXT[scenario]
        lines += ["", f"## {scenario}", "", text, "", f"![{scenario}]({figure})", ""]
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
    progress: Progress | None = None,
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
        restores with it (no sharp original: run times only), the methods of
        :data:`BLIND_WEIGHT` with four times their automatic weight.

    The inverse filter runs in ``classic`` only (its noise is shown there once). Every case
    has a ``"blurred"`` row, the degraded input's PSNR and SSIM: the baseline. Iterative
    methods run with :func:`demo_params`; a method whose first run takes longer than
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
    progress : callable, optional
        ``progress(done, total, text)`` before every step (a restoration, the PSF estimate, a
        figure) and once at the end (see :data:`Progress`).

    Returns
    -------
    dict
        ``index`` (path of ``index.md``), ``figures`` (scenario -> path) and ``rows``: one per
        (scenario, case, method), the ``"blurred"`` baseline first in each case, with ``psnr``
        and ``ssim`` (None without a sharp original), ``seconds`` and ``note`` (why a method
        did not run; the photograph's fitted PSF).

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
    _check_folder(folder, [*targets.values(), index], force)
    names = list(available_methods()) if methods is None else [get_method(m).name for m in methods]
    others = [n for n in names if n != "inverse"]
    classic = 2 + 2 * (1 + len(others)) + 1
    total = classic + len(others) * (3 + 2 + 1) + 1 + 3 + 1  # + PSF fit, 3 figures, index
    steps = _Steps(total, progress)

    steps.start("classic, gaussian: inverse")
    rows: list[dict[str, Any]] = []
    for r in run_demo(folder, force=force, methods=others, quick=quick, _steps=steps):
        if not any(row["case"] == r["scenario"] for row in rows):  # the baseline first
            rows.append(_row("classic", r["scenario"], "blurred", psnr=r["blurred_psnr"],
                             ssim=r["blurred_ssim"]))  # fmt: skip
        rows.append(_row("classic", r["scenario"], r["method"], psnr=r["psnr"], ssim=r["ssim"],
                         seconds=r["seconds"]))  # fmt: skip
    steps.finish()
    slow: dict[str, float] = {}
    for name, draw in (("noise", _noise_gallery), ("colour", _colour_gallery),
                       ("photo", _photo_gallery)):  # fmt: skip
        rows += draw(targets[name], others, quick=quick, slow=slow, force=force, steps=steps)
        steps.finish()
    from ..io import atomic_write

    steps.start("index")
    page = _index(rows, quick).encode("utf-8")
    atomic_write(index, lambda fh: fh.write(page), force=force)
    steps.close()
    return {"index": index, "figures": targets, "rows": rows}
