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

The figure shows, per scenario, the sharp image, the PSF, the blurred input, the inverse
filter and the two best other methods, every image at its own pixels.

References
----------
R. C. Gonzalez, R. E. Woods, *Digital Image Processing*, 4th ed., §5.7-5.8 (inverse and Wiener
filtering), Pearson, 2018.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import psf as psf_models
from ..forward import add_noise, blur
from ..restore import available_methods, get_method
from ._common import Progress, _check_folder, _half, _quality, _restore, _Steps, _subtitle

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
    from ..report.figures import Tile, psf_preview, save_mosaic

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
