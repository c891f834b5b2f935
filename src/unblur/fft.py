"""Fourier transforms for unblur: fast shapes, worker threads and real FFT wrappers.

Every transform in the package goes through this module, so the number of threads and the
backend (NumPy/SciPy or CuPy, see :mod:`unblur.backend`) are chosen in one place. Transforms
are real-to-complex (:func:`scipy.fft.rfftn`) over all axes of the array; float32 input gives
complex64 spectra and float32 output.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Sequence

import numpy as np
import scipy.fft

from .backend import backend_of
from .errors import InvalidParameterError

__all__ = [
    "fast_shape",
    "get_library",
    "get_workers",
    "irfftn",
    "irfftn_into",
    "rfftn",
    "rfftn_into",
    "rfftn_support",
    "set_library",
    "set_workers",
    "workers",
]

_workers: int = -1  # the default (set_workers); scipy convention: -1 means all cores
#: active ``workers(n)`` blocks: thread id -> its stack of counts, and the order they began
_overrides: dict[int, list[tuple[int, int]]] = {}
_order = iter(range(1 << 62))
#: most threads one transform may use
_MAX_WORKERS = 1 << 12
_overrides_lock = threading.Lock()


def get_workers() -> int:
    """Return the number of threads each transform uses (``-1``: all cores).

    Inside a :func:`workers` block that count, in the thread that opened it; in other threads
    the count of the most recent block still open in any thread (so Dask's worker threads
    follow the block their caller opened); otherwise the default of :func:`set_workers`.
    """
    own = _overrides.get(threading.get_ident())
    if own:
        return own[-1][1]
    with _overrides_lock:
        latest = max((s[-1] for s in _overrides.values() if s), default=None)
    return _workers if latest is None else latest[1]


def _check_workers(n) -> int:
    if n is None:
        return -1
    if (
        isinstance(n, bool | np.bool_)
        or not isinstance(n, int | np.integer)
        or n == 0
        or not -1 <= n <= _MAX_WORKERS
    ):
        raise InvalidParameterError(
            f"workers must be a positive integer (at most {_MAX_WORKERS}) or -1, got {n!r}"
        )
    return int(n)


def set_workers(n: int | None) -> None:
    """Set the number of threads used by every transform (the default outside any
    :func:`workers` block).

    Parameters
    ----------
    n : int or None
        Positive thread count, ``-1`` (or ``None``) for all cores. The environment variable
        ``UNBLUR_WORKERS`` sets the default at import time.

    Raises
    ------
    InvalidParameterError
        (a ``ValueError``) for anything else.
    """
    global _workers
    _workers = _check_workers(n)


@contextlib.contextmanager
def workers(n: int | None) -> Iterator[None]:
    """Context manager that sets the transform thread count temporarily.

    Thread-safe: blocks opened by several threads at once, in any order, each see their own
    count, and when the last one closes the default is back (see :func:`get_workers`).
    """
    n = _check_workers(n)
    ident = threading.get_ident()
    with _overrides_lock:
        entry = (next(_order), n)
        _overrides.setdefault(ident, []).append(entry)
    try:
        yield
    finally:
        with _overrides_lock:
            stack = _overrides.get(ident, [])
            if entry in stack:
                stack.remove(entry)
            if not stack:
                _overrides.pop(ident, None)


def fast_shape(shape: Sequence[int]) -> tuple[int, ...]:
    """Smallest shape, axis by axis at least ``shape``, whose real FFT is fast (5-smooth)."""
    return tuple(scipy.fft.next_fast_len(int(n), real=True) for n in shape)


def rfftn(x: np.ndarray, shape: Sequence[int] | None = None) -> np.ndarray:
    """Real FFT over all axes, zero-padding ``x`` to ``shape`` when given.

    NumPy arrays use :func:`scipy.fft.rfftn` with the worker threads set here; arrays of
    another backend (CuPy) use that backend's FFT (:mod:`unblur.backend`).
    """
    if isinstance(x, np.ndarray):
        grid = x.shape if shape is None else tuple(int(n) for n in shape)
        if x.dtype in _REAL and len(grid) == x.ndim and _use_pyfftw(grid, x.dtype):
            return _pyfftw_rfftn(x, grid).copy()
        return scipy.fft.rfftn(x, s=shape, workers=get_workers())
    return backend_of(x).fft.rfftn(x, s=None if shape is None else tuple(shape))


def irfftn(x_hat: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Inverse of :func:`rfftn` for a real array of the given ``shape`` (on ``x_hat``'s device)."""
    if isinstance(x_hat, np.ndarray):
        grid = tuple(int(n) for n in shape)
        if _pyfftw_spectrum_ok(x_hat, grid) and _use_pyfftw(grid, _real_of(x_hat.dtype)):
            return _pyfftw_irfftn(x_hat, grid).copy()
        return scipy.fft.irfftn(x_hat, s=tuple(shape), workers=get_workers())
    return backend_of(x_hat).fft.irfftn(x_hat, s=tuple(shape))


def _threads() -> int:
    """The worker count as a positive number of threads (scipy's ``-1``: all cores)."""
    n = get_workers()
    return n if n > 0 else max(1, (os.cpu_count() or 1) + 1 + n)


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
    if (
        isinstance(x, np.ndarray)
        and isinstance(out, np.ndarray)
        and x.dtype in _REAL
        and out.dtype == np.result_type(x.dtype, np.complex64)
        and out.shape == (*x.shape[:-1], x.shape[-1] // 2 + 1)
        and _use_pyfftw(x.shape, x.dtype)
    ):
        out[...] = _pyfftw_rfftn(x, x.shape)  # x may share out's memory: copied in first
        return out
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
    if (
        isinstance(out, np.ndarray)
        and out.dtype in _REAL
        and _pyfftw_spectrum_ok(x_hat, out.shape)
        and x_hat.dtype == np.result_type(out.dtype, np.complex64)
        and _use_pyfftw(out.shape, out.dtype)
    ):
        out[...] = _pyfftw_irfftn(x_hat, out.shape)
        return out
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
            out = scipy.fft.rfft(grown, axis=ax, workers=get_workers())
        else:
            out = scipy.fft.fft(grown, axis=ax, workers=get_workers(), overwrite_x=True)
    return out


# --- optional pyFFTW backend -------------------------------------------------------------------
#
# FFTW (Frigo & Johnson, "The design and implementation of FFTW3", Proc. IEEE 93(2), 2005) through
# pyFFTW: one plan per (grid, dtype, threads, direction), planned once with a bounded planning
# time and reused on its own aligned buffers. With ``"auto"`` the backend is measured once per
# (grid, dtype, threads) against scipy.fft and the faster one is kept for that grid.

_REAL = (np.dtype(np.float32), np.dtype(np.float64))
_BACKENDS = ("auto", "scipy", "pyfftw")
_backend: str = "scipy"  # opt-in: pyFFTW's plans hold their own buffers (see set_library)
#: (grid, dtype name, threads) -> True where pyFFTW measured faster
_choice: dict[tuple, bool] = {}
#: per calling thread (the plans own their buffers; dask runs chunks in threads):
#: .plans maps (direction, grid, dtype name, threads) -> planned pyfftw.FFTW object
_local = threading.local()
_planning = threading.Lock()
#: seconds FFTW may spend planning one transform (FFTW_MEASURE, bounded)
PLANNING_TIMELIMIT = 0.5


def _pyfftw():
    """The ``pyfftw`` module, or None where it is not installed."""
    try:
        import pyfftw
    except ImportError:
        return None
    return pyfftw


def get_library() -> str:
    """The CPU FFT library setting: ``"auto"``, ``"scipy"`` or ``"pyfftw"`` (see set_library)."""
    return _backend


def set_library(name: str) -> None:
    """Choose the CPU FFT library of every NumPy transform.

    (Not to be confused with the array backend, NumPy or CuPy, of :mod:`unblur.backend`.)

    Parameters
    ----------
    name : {"auto", "scipy", "pyfftw"}
        ``"scipy"``: :mod:`scipy.fft` (pocketfft). ``"pyfftw"``: FFTW through pyFFTW (the
        ``unblur[pyfftw]`` extra), planned once per grid and reused. ``"auto"``: pyFFTW where
        it is installed and, timed once per grid, dtype and thread count (best of a few rfftn +
        irfftn pairs each), faster than scipy.fft; scipy.fft otherwise. The default is
        ``"scipy"``: FFTW's plans own aligned buffers (about two images per grid and thread,
        kept for reuse), which breaks the allocation-free budget of the in-place solvers, so
        pyFFTW is opt-in. The
        environment variable ``UNBLUR_FFT`` sets the default at import time. Results agree to
        the working precision's rounding whichever backend runs.

    Raises
    ------
    InvalidParameterError
        For another name, or ``"pyfftw"`` where pyFFTW is not installed.
    """
    global _backend
    name = str(name).lower()
    if name not in _BACKENDS:
        raise InvalidParameterError(f"FFT backend must be one of {_BACKENDS}, got {name!r}")
    if name == "pyfftw" and _pyfftw() is None:
        raise InvalidParameterError(
            "FFT backend 'pyfftw' needs pyFFTW: pip install 'unblur[pyfftw]' (or pyfftw)"
        )
    _backend = name


def _use_pyfftw(grid: Sequence[int], dtype: np.dtype) -> bool:
    """Whether transforms on the real ``grid`` of ``dtype`` go through pyFFTW."""
    if _backend == "scipy" or np.dtype(dtype) not in _REAL:
        return False
    if _backend == "pyfftw":
        return True
    if _pyfftw() is None:
        return False
    key = (tuple(grid), np.dtype(dtype).name, _threads())
    if key not in _choice:
        t_scipy, t_fftw = _measure(tuple(grid), np.dtype(dtype))
        _choice[key] = t_fftw < t_scipy
    return _choice[key]


def _measure(grid: tuple[int, ...], dtype: np.dtype, runs: int = 3) -> tuple[float, float]:
    """Best-of-``runs`` seconds of one rfftn + irfftn pair: (scipy.fft, planned pyFFTW)."""
    import time

    x = np.random.default_rng(0).standard_normal(grid).astype(dtype)
    _pyfftw_irfftn(_pyfftw_rfftn(x, grid), grid)  # plans (not timed) and warms up
    scipy.fft.irfftn(scipy.fft.rfftn(x, workers=get_workers()), s=grid, workers=get_workers())
    best = [np.inf, np.inf]
    for _ in range(runs):
        t0 = time.perf_counter()
        scipy.fft.irfftn(scipy.fft.rfftn(x, workers=get_workers()), s=grid, workers=get_workers())
        t1 = time.perf_counter()
        _pyfftw_irfftn(_pyfftw_rfftn(x, grid), grid)
        t2 = time.perf_counter()
        best = [min(best[0], t1 - t0), min(best[1], t2 - t1)]
    return best[0], best[1]


def _real_of(dtype: np.dtype) -> np.dtype:
    return np.dtype(np.float32) if np.dtype(dtype) == np.complex64 else np.dtype(np.float64)


def _pyfftw_spectrum_ok(x_hat: object, grid: Sequence[int]) -> bool:
    """Whether ``x_hat`` is a NumPy half-spectrum of the real ``grid`` that pyFFTW can invert."""
    return (
        isinstance(x_hat, np.ndarray)
        and x_hat.dtype in (np.complex64, np.complex128)
        and x_hat.shape == (*tuple(grid)[:-1], int(grid[-1]) // 2 + 1)
    )


def _plan(direction: str, grid: tuple[int, ...], dtype: np.dtype):
    """The cached FFTW object (own aligned buffers) for ``direction`` on ``grid``."""
    threads = _threads()
    key = (direction, grid, dtype.name, threads)
    plans = _local.__dict__.setdefault("plans", {})
    plan = plans.get(key)
    if plan is None:
        other = plans.get(("c2r" if direction == "r2c" else "r2c", *key[1:]))
        pyfftw = _pyfftw()
        if pyfftw is None:  # pragma: no cover - set_library checks
            raise InvalidParameterError("FFT backend 'pyfftw' needs pyFFTW")
        complex_dtype = np.result_type(dtype, np.complex64)
        half = (*grid[:-1], grid[-1] // 2 + 1)
        if other is not None:  # both directions share one pair of buffers
            real, spectrum = (
                (other.output_array, other.input_array)
                if direction == "r2c"
                else (other.input_array, other.output_array)
            )
        else:
            real = pyfftw.empty_aligned(grid, dtype=dtype)
            spectrum = pyfftw.empty_aligned(half, dtype=complex_dtype)
        a, b = (real, spectrum) if direction == "r2c" else (spectrum, real)
        with _planning:  # FFTW's planner is not thread-safe
            plan = pyfftw.FFTW(
                a,
                b,
                axes=tuple(range(len(grid))),
                direction="FFTW_FORWARD" if direction == "r2c" else "FFTW_BACKWARD",
                flags=("FFTW_MEASURE", "FFTW_DESTROY_INPUT"),
                threads=threads,
                planning_timelimit=PLANNING_TIMELIMIT,
            )
        plans[key] = plan
    return plan


def _pyfftw_rfftn(x: np.ndarray, grid: tuple[int, ...]) -> np.ndarray:
    """rfftn of ``x`` zero-padded to ``grid``, in the plan's own buffer (copy it to keep it)."""
    plan = _plan("r2c", tuple(grid), x.dtype)
    buf = plan.input_array
    if x.shape == buf.shape:
        buf[...] = x
    else:
        buf[...] = 0
        region = tuple(slice(0, min(n, g)) for n, g in zip(x.shape, grid, strict=True))
        buf[region] = x[region]
    return plan()


def _pyfftw_irfftn(x_hat: np.ndarray, grid: tuple[int, ...]) -> np.ndarray:
    """irfftn of ``x_hat`` (1/N normalised), in the plan's own buffer (copy it to keep it)."""
    plan = _plan("c2r", tuple(grid), _real_of(x_hat.dtype))
    plan.input_array[...] = x_hat
    return plan()


def _backend_from_env() -> None:
    value = os.environ.get("UNBLUR_FFT")
    if value:
        with contextlib.suppress(InvalidParameterError):
            set_library(value)


def _workers_from_env() -> None:
    value = os.environ.get("UNBLUR_WORKERS")
    if value:
        with contextlib.suppress(ValueError):
            set_workers(int(value))


_workers_from_env()
_backend_from_env()
