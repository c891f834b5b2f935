"""The runtime monitor: how an iterative restoration converges, recorded while it runs."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from .. import _numba
from ..errors import InvalidParameterError

__all__ = ["ConvergenceMonitor", "Trace"]


@dataclass
class Trace:
    """The convergence record of one restored channel (or of the whole grey image).

    Attributes
    ----------
    iterations : list of int
        The iteration numbers reported by the method's callback, in order.
    relative_change : list of float
        :math:`\\|x_k - x_{k-1}\\| / \\|x_k\\|` for ``iterations[1:]`` (none for the first).
    psnr : list of float
        PSNR (dB) of each estimate against the reference, one per iteration; empty without a
        reference.

    Examples
    --------
    >>> from unblur.report import Trace
    >>> Trace(iterations=[1, 2], relative_change=[0.25], psnr=[])
    Trace(iterations=[1, 2], relative_change=[0.25], psnr=[])
    """

    iterations: list[int]
    relative_change: list[float]
    psnr: list[float]


class ConvergenceMonitor:
    r"""A ``callback(iteration, estimate)`` that records how an iterative restoration converges.

    Pass it as ``callback`` to :func:`unblur.deconvolve` (it may wrap another callback, such
    as a progress bar) and then as ``convergence`` to :func:`write_report`. For every iteration
    :math:`k` it records the relative change

    .. math:: r_k = \frac{\lVert x_k - x_{k-1} \rVert_2}{\max(\lVert x_k \rVert_2, \epsilon)}

    (from the second iteration on; :math:`\epsilon` is the smallest normal float64, so an
    all-zero estimate gives 0, never NaN) and, when a reference is given, the PSNR of
    :math:`x_k` against it (peak 1). Colour images are restored channel by channel: an
    iteration number that does not increase starts the record of the next channel, compared
    with the matching channel of the reference.

    Parameters
    ----------
    reference : numpy.ndarray, optional
        The sharp image, with the shape of the image being restored (channels included).
    channel_axis : int, optional
        The channel axis of ``reference`` (as given to :func:`unblur.deconvolve`).
    callback : callable, optional
        Another ``callback(iteration, estimate)`` to call after recording (e.g. a progress bar).

    Attributes
    ----------
    traces : list of Trace
        One record per channel restored so far (one for a grey image or a stack).

    References
    ----------
    A. Levin, Y. Weiss, F. Durand, W. T. Freeman, "Understanding and evaluating blind
    deconvolution algorithms", IEEE CVPR 2009 (PSNR against the sharp image as the measure of
    a restoration).

    Examples
    --------
    >>> import numpy as np
    >>> import unblur
    >>> from unblur import psf
    >>> from unblur.report import ConvergenceMonitor
    >>> x = np.random.default_rng(0).random((32, 32))
    >>> k = psf.gaussian(sigma=1.0)
    >>> monitor = ConvergenceMonitor(reference=x)
    >>> x_hat = unblur.deconvolve(unblur.blur(x, k), k, "landweber", num_iter=5, callback=monitor)
    >>> trace = monitor.traces[0]
    >>> trace.iterations, len(trace.relative_change), len(trace.psnr)
    ([1, 2, 3, 4, 5], 4, 5)
    """

    def __init__(
        self,
        reference: np.ndarray | None = None,
        *,
        channel_axis: int | None = None,
        callback: Callable[[int, np.ndarray], None] | None = None,
    ) -> None:
        from .._checks import as_float_image, check_channel_axis

        self.reference = (
            None
            if reference is None
            else as_float_image(reference, name="reference", check_range=False)
        )
        self.channel_axis = (
            None
            if self.reference is None
            else check_channel_axis(self.reference.ndim, channel_axis)
        )
        if callback is not None and not callable(callback):
            raise InvalidParameterError(f"callback must be callable, got {callback!r}")
        self.callback = callback
        self.traces: list[Trace] = []
        # buffers kept from channel to channel: a new 1024 x 1024 array costs page faults
        # (system time) each time it is first written, more than the arithmetic on it
        self._previous: np.ndarray | None = None
        self._fresh = True  # no previous estimate in this channel yet
        self._buffer: np.ndarray | None = None
        self._channel_buffer: np.ndarray | None = None
        self._channel_reference: np.ndarray | None = None

    @property
    def borrows_estimate(self) -> bool:
        """Whether a call only reads the estimate while it runs (it then keeps its own copy):
        true when the record is taken by NumPy (Numba not loaded) and the wrapped callback,
        if any, says the same. :class:`~unblur.restore._loop.IterationLoop` then passes a
        view of the solver's estimate instead of a copy; the compiled pass wants a contiguous
        copy, which the loop's copy is."""
        return not _numba.loaded() and (
            self.callback is None or bool(getattr(self.callback, "borrows_estimate", False))
        )

    def __call__(self, iteration: int, estimate: np.ndarray) -> None:
        """Record one iteration (see the class documentation), then call the wrapped callback."""
        x = np.asarray(estimate)
        if not self.traces or iteration <= self.traces[-1].iterations[-1]:
            self.traces.append(Trace([], [], []))
            self._fresh = True
            self._channel_reference = None
        trace = self.traces[-1]
        ref = None if self.reference is None else self._reference_for(x.shape)
        changed, total, error = self._sums(x, ref)
        if changed is not None:
            change = math.sqrt(changed) / max(math.sqrt(total), np.finfo(np.float64).tiny)
            trace.relative_change.append(change if math.isfinite(change) else 0.0)
        trace.iterations.append(int(iteration))
        if error is not None:
            mse = error / x.size
            with np.errstate(divide="ignore"):
                trace.psnr.append(float(10 * np.log10(1.0 / mse)) if mse > 0 else math.inf)
        if self.callback is not None:
            self.callback(iteration, estimate)

    def _sums(
        self, x: np.ndarray, ref: np.ndarray | None
    ) -> tuple[float | None, float, float | None]:
        """``(sum (x - previous)^2, sum x^2, sum (x - ref)^2)`` (the first None on a channel's
        first iteration, the last None without a reference), then ``x`` kept as the previous
        estimate: by one compiled pass (:func:`_monitor_pass`) when Numba is already loaded and
        the arrays suit it, by NumPy otherwise."""
        prev = self._previous
        first = self._fresh
        self._fresh = False
        if prev is None or prev.shape != x.shape or prev.dtype != x.dtype:
            first = True  # a new buffer: the pass only copies the estimate into it
            prev = self._previous = np.empty(x.shape, x.dtype)
        kernel = _compiled_pass()
        if (
            kernel is not None
            and x.dtype in (np.float32, np.float64)
            and x.flags.c_contiguous
            and (ref is None or (ref.dtype == x.dtype and ref.flags.c_contiguous))
        ):
            sums = np.zeros(3)
            flat = x.reshape(-1)
            kernel(flat, prev.reshape(-1), flat if ref is None else ref.reshape(-1),
                   ref is not None, sums)  # fmt: skip
            changed, total, error = (float(v) for v in sums)
        else:
            changed, total, error = _chunked_pass(x, prev, ref, first, self._chunk_buffer(x, ref))
        return (None if first else changed), total, (None if ref is None else error)

    def _chunk_buffer(self, x: np.ndarray, ref: np.ndarray | None) -> np.ndarray:
        """The scratch block of :func:`_chunked_pass` (float32, or float64 if an input is;
        at least a row long where ``x`` is walked by rows: :func:`_blocks`), kept between
        calls."""
        dtype = np.result_type(x.dtype, np.float32, *(() if ref is None else (ref.dtype,)))
        if dtype not in (np.float32, np.float64):
            dtype = np.dtype(np.float64)
        by_rows = x.ndim == 2 and not x.flags.c_contiguous
        size = max(_CHUNK, x.shape[1]) if by_rows else _CHUNK
        if self._buffer is None or self._buffer.dtype != dtype or self._buffer.size < size:
            self._buffer = np.empty(size, dtype)
        return self._buffer

    def _reference_for(self, shape: tuple[int, ...]) -> np.ndarray:
        """The reference (the channel being restored, taken once per channel) of ``shape``."""
        ref = self._channel_reference
        if ref is None:
            ref = self.reference
            if self.channel_axis is not None:
                channel = len(self.traces) - 1
                if channel >= ref.shape[self.channel_axis]:
                    raise InvalidParameterError(
                        f"the reference has {ref.shape[self.channel_axis]} channels, but channel "
                        f"{channel + 1} is being restored"
                    )
                view = np.moveaxis(ref, self.channel_axis, 0)[channel]
                buffer = self._channel_buffer
                if buffer is None or buffer.shape != view.shape:
                    buffer = self._channel_buffer = np.empty(view.shape, view.dtype)
                np.copyto(buffer, view)  # contiguous, for the compiled pass
                ref = buffer
            self._channel_reference = ref
        if ref.shape != shape:
            raise InvalidParameterError(
                f"the reference has shape {ref.shape} per channel but the estimate has shape "
                f"{shape}"
            )
        return ref


#: values per block of :func:`_chunked_pass`: the block's difference stays in the cache
_CHUNK = 1 << 15


def _chunked_pass(
    x: np.ndarray,
    previous: np.ndarray,
    reference: np.ndarray | None,
    first: bool,
    buffer: np.ndarray,
) -> tuple[float, float, float]:
    """:func:`_monitor_pass` by NumPy: ``(sum (x - previous)^2, sum x^2, sum (x - reference)^2)``
    (the first two 0 when ``first``, the last 0 without a reference), then ``previous[:] = x``.

    The arrays are walked in blocks of about :data:`_CHUNK` values, each read once from memory
    while its differences stay in the cache (whole-image differences cost a pass to write and
    one to read back, and a page fault per 4 kB of a new buffer); each block's sums are taken
    in the arrays' precision by ``einsum`` (NumPy's own vectorised loops: ``np.linalg.norm``
    calls BLAS, whose idle threads then spin against the restoration's own) and added in
    float64. A 2-D ``x`` with gaps between its rows (the cropped view of a solver's padded
    grid) is walked by blocks of whole rows, without a contiguous copy of it.
    """
    if x.dtype not in (np.float32, np.float64):  # float16: summed in the buffer's precision
        x = x.astype(buffer.dtype)
    changed = total = error = 0.0
    same = previous.dtype == x.dtype
    for xc, pc, rc in _blocks(x, previous, reference):
        block = buffer[: xc.size].reshape(xc.shape)
        if not first:
            np.subtract(xc, pc, out=block)
            changed += float(np.einsum(_SUM[xc.ndim], block, block))
        pc[...] = xc
        xc = pc if same else xc  # the same values, contiguous
        if not first:
            total += float(np.einsum(_SUM[xc.ndim], xc, xc))
        if rc is not None:
            np.subtract(xc, rc, out=block)
            error += float(np.einsum(_SUM[xc.ndim], block, block))
    return changed, total, error


#: the ``einsum`` of a block's sum of products, by the block's dimensions
_SUM = {1: "i,i->", 2: "ij,ij->"}


def _blocks(
    x: np.ndarray, previous: np.ndarray, reference: np.ndarray | None
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
    """Matching blocks of ``x``, ``previous`` (contiguous, ``x``'s shape) and ``reference``
    (``x``'s shape): flat runs of :data:`_CHUNK` values, or for a 2-D ``x`` whose rows are
    not contiguous in memory, runs of whole rows (about :data:`_CHUNK` values each)."""
    if x.ndim == 2 and not x.flags.c_contiguous:
        step = max(1, _CHUNK // max(x.shape[1], 1))
        for start in range(0, x.shape[0], step):
            rows = slice(start, start + step)
            yield x[rows], previous[rows], None if reference is None else reference[rows]
        return
    xf, pf = x.reshape(-1), previous.reshape(-1)
    rf = None if reference is None else reference.reshape(-1)
    for start in range(0, xf.size, _CHUNK):
        part = slice(start, start + _CHUNK)
        yield xf[part], pf[part], None if rf is None else rf[part]


def _monitor_pass(
    x: np.ndarray, previous: np.ndarray, reference: np.ndarray, use_reference: bool, out
) -> None:
    """One pass over the flat arrays: ``out = [sum (x - previous)^2, sum x^2,
    sum (x - reference)^2]`` accumulated in float64 (the last 0 without ``use_reference``),
    and ``previous[:] = x``."""
    changed = 0.0
    total = 0.0
    error = 0.0
    if use_reference:
        for i in range(x.size):
            v = np.float64(x[i])
            d = v - previous[i]
            e = v - reference[i]
            changed += d * d
            total += v * v
            error += e * e
            previous[i] = x[i]
    else:
        for i in range(x.size):
            v = np.float64(x[i])
            d = v - previous[i]
            changed += d * d
            total += v * v
            previous[i] = x[i]
    out[0] = changed
    out[1] = total
    out[2] = error


_kernel: Callable | None = None


def _compiled_pass() -> Callable | None:
    """:func:`_monitor_pass` compiled by Numba, or None unless Numba is already imported.

    Importing Numba costs more than the pass saves in one run (the figures are in
    ``benchmarks/report_overhead.py``), so the monitor uses it only in a run whose restoration
    loaded Numba. The sums may be reassociated (``fastmath`` reassoc, so that they vectorise):
    they then differ from a sequential sum by rounding only.
    """
    global _kernel
    if _kernel is None:
        if not _numba.loaded():
            return None
        import numba

        vector = numba.types.Array
        signatures = [
            (
                vector(dt, 1, "C", readonly=True),
                vector(dt, 1, "C"),
                vector(dt, 1, "C", readonly=True),
                numba.types.boolean,
                vector(numba.types.float64, 1, "C"),
            )
            for dt in (numba.types.float32, numba.types.float64)
        ]  # read-only views of the estimate and the reference: writable arrays convert to them
        # compiled for its two signatures here (loaded from the disk cache): lazy compilation
        # at the first call costs more, typing the call (benchmarks/report_overhead.py)
        _kernel = numba.njit(signatures, cache=True, nogil=True, fastmath={"reassoc"})(
            _monitor_pass
        )
    return _kernel
