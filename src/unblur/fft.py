"""Fourier transforms for unblur: fast shapes, worker threads and real FFT wrappers.

Every transform in the package goes through this module, so the number of threads and the
backend (NumPy/SciPy or CuPy, see :mod:`unblur.backend`) are chosen in one place. Transforms
are real-to-complex (:func:`scipy.fft.rfftn`) over all axes of the array; float32 input gives
complex64 spectra and float32 output.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence

import numpy as np
import scipy.fft

from .backend import backend_of

__all__ = [
    "fast_shape",
    "get_workers",
    "irfftn",
    "irfftn_into",
    "rfftn",
    "rfftn_into",
    "rfftn_support",
    "set_workers",
    "workers",
]

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
    """Real FFT over all axes, zero-padding ``x`` to ``shape`` when given.

    NumPy arrays use :func:`scipy.fft.rfftn` with the worker threads set here; arrays of
    another backend (CuPy) use that backend's FFT (:mod:`unblur.backend`).
    """
    if isinstance(x, np.ndarray):
        return scipy.fft.rfftn(x, s=shape, workers=_workers)
    return backend_of(x).fft.rfftn(x, s=None if shape is None else tuple(shape))


def irfftn(x_hat: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Inverse of :func:`rfftn` for a real array of the given ``shape`` (on ``x_hat``'s device)."""
    if isinstance(x_hat, np.ndarray):
        return scipy.fft.irfftn(x_hat, s=tuple(shape), workers=_workers)
    return backend_of(x_hat).fft.irfftn(x_hat, s=tuple(shape))


def _threads() -> int:
    """The worker count as a positive number of threads (scipy's ``-1``: all cores)."""
    return _workers if _workers > 0 else max(1, (os.cpu_count() or 1) + 1 + _workers)


def _pocketfft():
    """SciPy's pocketfft binding, whose transforms write into a given array (or None)."""
    try:
        from scipy.fft._pocketfft import pypocketfft
    except ImportError:  # pragma: no cover - private module moved
        return None
    return pypocketfft


def rfftn_into(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """:func:`rfftn` of ``x`` written into ``out`` (complex, the half-spectrum's shape).

    For hot loops: with NumPy arrays of matching precision (``out`` C-contiguous, ``x`` with a
    contiguous last axis) nothing is allocated (pocketfft writes the transform straight into
    ``out``); otherwise the result of :func:`rfftn` is copied in. ``x`` may share ``out``'s
    memory as :meth:`unblur.operators.Convolution.real_view` lays it out (each line of ``x``
    at the start of the same line of ``out``): pocketfft reads a line before it writes it.
    """
    pocket = _pocketfft()
    if (
        pocket is not None
        and isinstance(x, np.ndarray)
        and isinstance(out, np.ndarray)
        and x.dtype in (np.float32, np.float64)
        and out.dtype == np.result_type(x.dtype, np.complex64)
        and _rows_contiguous(x)
        and out.flags.c_contiguous
    ):
        return pocket.r2c(x, None, True, 0, out, _threads())
    out[...] = rfftn(x)
    return out


def irfftn_into(x_hat: np.ndarray, out: np.ndarray) -> np.ndarray:
    """:func:`irfftn` of ``x_hat`` written into the real array ``out`` (of the grid's shape).

    ``x_hat`` is overwritten (the transforms over the leading axes run in place in it), so
    nothing is allocated for C-contiguous NumPy arrays of matching precision. The result equals
    :func:`irfftn` up to rounding (the 1/N normalisation is applied per pass). ``out`` may be
    the real view of ``x_hat``'s memory (:meth:`unblur.operators.Convolution.real_view`).
    """
    pocket = _pocketfft()
    if (
        pocket is not None
        and isinstance(x_hat, np.ndarray)
        and isinstance(out, np.ndarray)
        and out.dtype in (np.float32, np.float64)
        and x_hat.dtype == np.result_type(out.dtype, np.complex64)
        and x_hat.flags.c_contiguous
        and _rows_contiguous(out)
        and x_hat.shape[:-1] == out.shape[:-1]
        and x_hat.shape[-1] == out.shape[-1] // 2 + 1
    ):
        threads = _threads()
        if x_hat.ndim > 1:  # complex passes over the leading axes, in place (1/n each)
            pocket.c2c(x_hat, tuple(range(x_hat.ndim - 1)), False, 2, x_hat, threads)
        return pocket.c2r(x_hat, (x_hat.ndim - 1,), out.shape[-1], False, 2, out, threads)
    out[...] = irfftn(x_hat, out.shape)
    return out


def _rows_contiguous(x: np.ndarray) -> bool:
    """Whether ``x``'s last axis is contiguous and the other axes are laid out in C order."""
    strides = x.strides
    if not strides or strides[-1] != x.itemsize:
        return False
    return all(a >= b * n for a, b, n in zip(strides[:-1], strides[1:], x.shape[1:], strict=True))


def rfftn_support(x: np.ndarray, shape: Sequence[int], shift: Sequence[int]) -> np.ndarray:
    """:func:`rfftn` of ``x`` zero-padded to ``shape`` and rolled by ``shift`` (per axis).

    The transform of a small array on a large grid (a PSF's OTF) is pruned: the last axis is
    transformed for the lines of ``x`` only, and each other axis for the lines that hold data
    so far, so a 2-D OTF costs about one pass over the columns, half a full transform. Equal to
    ``rfftn(roll(pad(x)))`` up to rounding; arrays of other backends take that direct route.
    """
    shape = tuple(int(n) for n in shape)
    shift = tuple(int(s) % n for s, n in zip(shift, shape, strict=True))
    if not isinstance(x, np.ndarray) or x.ndim != len(shape):
        xp = backend_of(x).xp
        padded = xp.zeros(shape, dtype=x.dtype)
        padded[tuple(slice(0, p) for p in x.shape)] = x
        return rfftn(xp.roll(padded, shift, axis=tuple(range(len(shape)))))
    out = x
    for ax in reversed(range(x.ndim)):
        n, p, s = shape[ax], x.shape[ax], shift[ax]
        grown = np.zeros((*out.shape[:ax], n, *out.shape[ax + 1 :]), out.dtype)
        index = (slice(None),) * ax
        # x's samples 0..p-1 land at (i + s) mod n: a head at s.., a tail wrapped to 0..
        head = min(p, n - s)
        grown[(*index, slice(s, s + head))] = out[(*index, slice(0, head))]
        grown[(*index, slice(0, p - head))] = out[(*index, slice(head, p))]
        if ax == x.ndim - 1:
            out = scipy.fft.rfft(grown, axis=ax, workers=_workers)
        else:
            out = scipy.fft.fft(grown, axis=ax, workers=_workers, overwrite_x=True)
    return out


def _workers_from_env() -> None:
    value = os.environ.get("UNBLUR_WORKERS")
    if value:
        with contextlib.suppress(ValueError):
            set_workers(int(value))


_workers_from_env()
