r"""The classic deconvolution experiment and a gallery of every method, on built-in photographs.

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

The gallery (:func:`run_gallery`) adds three noise levels, a colour photograph and a real
motion-blurred photograph restored blind. Its figures show every picture at its own pixels:
each result whole at half size beside a detail at 1:1, under a title with its PSNR and time,
the degraded input first as the baseline.

References
----------
R. C. Gonzalez, R. E. Woods, *Digital Image Processing*, 4th ed., §5.7-5.8 (inverse and Wiener
filtering), Pearson, 2018.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
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
    "BLIND_WEIGHT",
    "DEMO_FIGURE",
    "GALLERY_FIGURES",
    "GALLERY_INDEX",
    "Progress",
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

#: ``progress(done, total, text)``: called before each step of the demo (``done`` steps are
#: finished) and once at the end with ``done == total``
Progress = Callable[[int, int, str], None]


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
    return _half(img)


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
    noise = " + 8-bit + 1% noise"
    return [
        Scenario("gaussian", "Gaussian σ=2", gauss, False),
        Scenario("motion", "motion 15 px, 30°", motion, False),
        Scenario("gaussian+noise", "Gaussian σ=2" + noise, gauss, True),
        Scenario("motion+noise", "motion 15 px, 30°" + noise, motion, True),
    ]


# ---------------------------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------------------------
def _half(img: np.ndarray) -> np.ndarray:
    """Average 2×2 blocks of the two spatial axes (channels, if any, last)."""
    h, w = img.shape[0] // 2 * 2, img.shape[1] // 2 * 2
    img = img[:h, :w]
    return img.reshape(h // 2, 2, w // 2, 2, *img.shape[2:]).mean(axis=(1, 3))


def _fmt_db(value: float) -> str:
    return "∞ dB" if not np.isfinite(value) else f"{value:.1f} dB"


def _quality(estimate: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """PSNR and SSIM of ``estimate`` clipped to [0, 1] against ``truth``."""
    axis = -1 if truth.ndim == 3 else None
    est = np.clip(estimate, 0.0, 1.0)
    return psnr(est, truth, data_range=1.0), ssim(est, truth, data_range=1.0, channel_axis=axis)


def _check_folder(folder: Path, targets: Sequence[Path], force: bool) -> None:
    for target in targets:
        if target.exists() and not force:
            raise ImageWriteError(f"{str(target)!r} already exists; use --force to overwrite it")
    if folder.exists() and not folder.is_dir():
        raise ImageWriteError(f"{str(folder)!r} exists and is not a folder")


class _Steps:
    """Counts the demo's steps and reports them to a :data:`Progress` callback."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.done, self.total, self.progress = 0, total, progress

    def start(self, text: str) -> None:
        if self.progress is not None:
            self.progress(min(self.done, self.total), self.total, text)

    def finish(self) -> None:
        self.done += 1

    def close(self) -> None:
        if self.progress is not None:
            self.progress(self.total, self.total, "done")


def _restore(
    y: np.ndarray,
    k: np.ndarray,
    name: str,
    *,
    quick: bool,
    slow: dict[str, float] | None = None,
    truth: np.ndarray | None = None,
    **kwargs: Any,
) -> tuple[np.ndarray | None, dict[str, Any]]:
    """Restore ``y`` with one method: (estimate or None, row fields: seconds, quality, note).

    A method that raised an UnblurError, or was found too slow earlier (``slow``: name ->
    seconds of its first run), gives None and a ``note``.
    """
    if slow is not None and name in slow:
        return None, {"note": f"skipped: {slow[name]:.0f} s per image is too slow for the demo"}
    start = time.perf_counter()
    try:
        x_hat = deconvolve(y, k, method=name, **{**demo_params(name, quick), **kwargs})
    except UnblurError as exc:
        logger.warning("demo: method %s failed: %s", name, exc)
        return None, {"note": f"failed: {exc}"}
    seconds = time.perf_counter() - start
    if slow is not None and seconds > SLOW_METHOD_SECONDS / (3 if quick else 1):
        slow[name] = seconds
    fields: dict[str, Any] = {"seconds": seconds}
    if truth is not None:
        fields["psnr"], fields["ssim"] = _quality(x_hat, truth)
    return x_hat, fields


def _row(scenario: str, case: str, method: str, **fields: Any) -> dict[str, Any]:
    return {"scenario": scenario, "case": case, "method": method, "psnr": None, "ssim": None,
            "seconds": None, "note": "", **fields}  # fmt: skip


def _subtitle(fields: dict[str, Any]) -> str:
    parts = []
    if fields.get("psnr") is not None:
        parts.append(f"{_fmt_db(fields['psnr'])}, SSIM {fields['ssim']:.3f}")
    if fields.get("seconds") is not None:
        parts.append(f"{fields['seconds']:.2f} s")
    return " · ".join(parts)


# ---------------------------------------------------------------------------------------------
# the classic experiment
# ---------------------------------------------------------------------------------------------
def run_demo(
    folder: str | os.PathLike,
    *,
    force: bool = False,
    methods: Sequence[str] | None = None,
    quick: bool = False,
    progress: Progress | None = None,
    _steps: _Steps | None = None,
) -> list[dict[str, Any]]:
    r"""Run the blur / restore experiment and write the figure ``demo.png`` into ``folder``.

    Each scenario (see :func:`scenarios`) blurs :func:`sharp_image` with
    ``boundary="periodic"``; the noisy ones then quantise, :math:`y \leftarrow
    \operatorname{round}(255 y) / 255`, and add white Gaussian noise of standard deviation
    0.01 (seed 0). Every scenario is restored with the inverse filter; the noisy ones also with
    each method in ``methods`` (default parameters, ``boundary="periodic"``). A method that
    raises an :class:`~unblur.UnblurError` is logged and skipped. The figure shows, per
    scenario, the sharp image, the PSF, the blurred input, the inverse filter and (noisy
    scenarios) the two best other methods, every image at 1:1.

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
    progress : callable, optional
        ``progress(done, total, text)`` before every restoration (see :data:`Progress`).

    Returns
    -------
    list of dict
        One row per (scenario, method): ``scenario``, ``method``, ``psnr`` (dB), ``ssim``,
        ``seconds`` (restoration time), and ``blurred_psnr`` / ``blurred_ssim`` (of the
        degraded input, the baseline).

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
    from .report.figures import Tile, psf_preview, save_mosaic

    folder = Path(folder)
    target = folder / DEMO_FIGURE
    _check_folder(folder, [target], force)
    if methods is None:
        extra = [m for m in available_methods() if m != "inverse"]
    else:
        extra = [get_method(m).name for m in methods if m != "inverse"]  # unknown names raise
    steps = _steps or _Steps(2 + 2 * (1 + len(extra)), progress)

    x = sharp_image()
    if quick:
        x = x[64:192, 64:192]
    rows: list[dict[str, Any]] = []
    figure: list[tuple[str, list[Tile]]] = []
    for sc in scenarios():
        y = blur(x, sc.psf, boundary="periodic")
        if sc.noisy:
            y = add_noise(np.round(y * 255) / 255, gaussian=0.01, rng=0)
        blurred_psnr, blurred_ssim = _quality(y, x)
        preview = psf_preview(sc.psf, scale=1, min_size=x.shape[0], max_size=x.shape[0])
        tiles = [
            Tile(x, "sharp", "the original"),
            Tile(preview, f"PSF {sc.psf.shape[0]}×{sc.psf.shape[1]}", "enlarged", pixelated=True),
            Tile(y, "blurred", _subtitle({"psnr": blurred_psnr, "ssim": blurred_ssim})),
        ]
        results = []
        for name in ["inverse", *(extra if sc.noisy else [])]:
            steps.start(f"classic, {sc.name}: {name}")
            x_hat, fields = _restore(y, sc.psf, name, quick=quick, truth=x, boundary="periodic")
            steps.finish()
            if x_hat is None:
                continue
            rows.append({"scenario": sc.name, "method": name, "blurred_psnr": blurred_psnr,
                         "blurred_ssim": blurred_ssim, **fields})  # fmt: skip
            results.append((name, x_hat, fields))
        best = sorted(results[1:], key=lambda r: -r[2]["psnr"])[:2]
        for name, x_hat, fields in results[:1] + best:
            tiles.append(Tile(x_hat, name, _subtitle(fields)))
        figure.append((sc.label, tiles))

    folder.mkdir(parents=True, exist_ok=True)
    steps.start("classic: figure")
    save_mosaic(
        target,
        figure,
        title="The inverse filter: exact without noise, useless with 8-bit rounding and 1% noise"
        " (the two best other methods beside it)",
        per_line=6,
        force=force,
    )
    if _steps is None:
        steps.close()
    return rows


# ---------------------------------------------------------------------------------------------
# the gallery: one figure per scenario, every method side by side
# ---------------------------------------------------------------------------------------------
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
    from .report.figures import Tile

    tiles = [baseline]
    for name, x_hat, fields in results:
        if x_hat is not None:
            tiles.append(Tile(np.clip(x_hat, 0, 1), name, _subtitle(fields), detail=detail))
    return tiles


def _noise_gallery(target, names, *, quick, slow, force, steps) -> list[dict[str, Any]]:
    """Gaussian blur σ = 2 with 0.5%, 2% and 5% white noise: what each method makes of it."""
    from .report.figures import Tile, save_mosaic

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

    from .report.figures import Tile, save_mosaic

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
    _, run = deconvolve(y, k, method=name, return_info=True, **probe)
    automatic = run["parameters"].get(source)
    return {} if automatic is None else {parameter: float(automatic) * factor}


def _photo_gallery(target, names, *, quick, slow, force, steps) -> list[dict[str, Any]]:
    """A real motion-blurred photograph (``skimage.data.clock()``), restored blind."""
    import skimage.data

    from .blind import estimate_psf
    from .report.figures import Tile, psf_preview, save_mosaic

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
    from .io import atomic_write

    steps.start("index")
    page = _index(rows, quick).encode("utf-8")
    atomic_write(index, lambda fh: fh.write(page), force=force)
    steps.close()
    return {"index": index, "figures": targets, "rows": rows}
