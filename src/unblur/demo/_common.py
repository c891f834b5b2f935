"""What the demo's scenarios share: restoring with one method, measuring, counting steps."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import _numba
from ..api import deconvolve
from ..errors import ImageWriteError, UnblurError
from ..metrics import psnr, ssim
from ..restore import get_method

logger = logging.getLogger("unblur")

#: a method whose first run in the gallery takes longer than this (seconds; quick: a third)
#: is not run again in later scenarios, so that ``unblur demo`` stays near a minute; a run
#: that loaded Numba (and, on an installation's first run, compiled its passes) is not judged
SLOW_METHOD_SECONDS = 12.0
#: the note of a run whose time includes loading Numba
NUMBA_NOTE = "time includes loading Numba (its passes compile once per installation)"

#: ``progress(done, total, text)``: called before each step of the demo (``done`` steps are
#: finished) and once at the end with ``done == total``
Progress = Callable[[int, int, str], None]


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
    seconds of its first run), gives None and a ``note``. A run that loaded Numba is not
    judged too slow: on a fresh installation its time is mostly the one-off compilation of
    the fused passes (about 25 s on two cores), not the method's.
    """
    if slow is not None and name in slow:
        return None, {"note": f"skipped: {slow[name]:.0f} s per image is too slow for the demo"}
    numba_before = _numba.loaded()
    start = time.perf_counter()
    try:
        x_hat = deconvolve(y, k, method=name, **{**demo_params(name, quick), **kwargs})
    except UnblurError as exc:
        logger.warning("demo: method %s failed: %s", name, exc)
        return None, {"note": f"failed: {exc}"}
    seconds = time.perf_counter() - start
    fields: dict[str, Any] = {"seconds": seconds}
    if not numba_before and _numba.loaded():
        fields["note"] = NUMBA_NOTE
    elif slow is not None and seconds > SLOW_METHOD_SECONDS / (3 if quick else 1):
        slow[name] = seconds
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
