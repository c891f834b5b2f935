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

__all__ = ["DEMO_FIGURE", "Scenario", "run_demo", "scenarios", "sharp_image"]

logger = logging.getLogger("unblur")

#: file name of the figure :func:`run_demo` writes
DEMO_FIGURE = "demo.png"


@dataclass(frozen=True)
class Scenario:
    """One blur experiment: a PSF and whether the blurred image is quantised and noisy."""

    name: str
    label: str
    psf: np.ndarray
    noisy: bool


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
                x_hat = deconvolve(y, sc.psf, method=name, boundary="periodic")
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
