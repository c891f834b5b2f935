"""Fourier transforms for unblur: fast shapes, worker threads and real FFT wrappers.

Every transform in the package goes through this module, so the number of threads (and, later,
the backend) is set in one place. Transforms are real-to-complex (:func:`scipy.fft.rfftn`) over
all axes of the array; float32 input gives complex64 spectra and float32 output.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence

import numpy as np
import scipy.fft

__all__ = ["fast_shape", "get_workers", "irfftn", "rfftn", "set_workers", "workers"]

_workers: int = -1  # scipy convention: -1 means all cores


def get_workers() -> int:
    """Return the number of threads each transform uses (``-1``: all cores)."""
    return _workers


def set_workers(n: int | None) -> None:
    """Set the number of threads used by every transform.

    Parameters
    ----------
    n : int or None
        Positive thread count, ``-1`` (or ``None``) for all cores. The environment variable
        ``UNBLUR_WORKERS`` sets the default at import time.
    """
    global _workers
    if n is None:
        n = -1
    n = int(n)
    if n == 0 or n < -1:
        raise ValueError(f"workers must be a positive integer or -1, got {n}")
    _workers = n


@contextlib.contextmanager
def workers(n: int | None) -> Iterator[None]:
    """Context manager that sets the transform thread count temporarily."""
    old = _workers
    set_workers(n)
    try:
        yield
    finally:
        set_workers(old)


def fast_shape(shape: Sequence[int]) -> tuple[int, ...]:
    """Smallest shape, axis by axis at least ``shape``, whose real FFT is fast (5-smooth)."""
    return tuple(scipy.fft.next_fast_len(int(n), real=True) for n in shape)


def rfftn(x: np.ndarray, shape: Sequence[int] | None = None) -> np.ndarray:
    """Real FFT over all axes, zero-padding ``x`` to ``shape`` when given."""
    return scipy.fft.rfftn(x, s=shape, workers=_workers)


def irfftn(x_hat: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Inverse of :func:`rfftn` for a real array of the given ``shape``."""
    return scipy.fft.irfftn(x_hat, s=tuple(shape), workers=_workers)


def _workers_from_env() -> None:
    value = os.environ.get("UNBLUR_WORKERS")
    if value:
        with contextlib.suppress(ValueError):
            set_workers(int(value))


_workers_from_env()
