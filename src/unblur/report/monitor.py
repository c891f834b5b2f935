"""The runtime monitor: how an iterative restoration converges, recorded while it runs."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

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

        self.reference = None if reference is None else as_float_image(reference, name="reference")
        self.channel_axis = (
            None
            if self.reference is None
            else check_channel_axis(self.reference.ndim, channel_axis)
        )
        if callback is not None and not callable(callback):
            raise InvalidParameterError(f"callback must be callable, got {callback!r}")
        self.callback = callback
        self.traces: list[Trace] = []
        self._previous: np.ndarray | None = None

    def __call__(self, iteration: int, estimate: np.ndarray) -> None:
        """Record one iteration (see the class documentation), then call the wrapped callback."""
        from ..metrics import psnr

        x = np.asarray(estimate)
        if not self.traces or iteration <= self.traces[-1].iterations[-1]:
            self.traces.append(Trace([], [], []))
            self._previous = None
        trace = self.traces[-1]
        if self._previous is not None and self._previous.shape == x.shape:
            diff = np.linalg.norm((x - self._previous).ravel().astype(np.float64))
            norm = np.linalg.norm(x.ravel().astype(np.float64))
            change = float(diff / max(norm, np.finfo(np.float64).tiny))
            trace.relative_change.append(change if math.isfinite(change) else 0.0)
        trace.iterations.append(int(iteration))
        if self.reference is not None:
            ref = self.reference
            if self.channel_axis is not None:
                channel = len(self.traces) - 1
                if channel >= ref.shape[self.channel_axis]:
                    raise InvalidParameterError(
                        f"the reference has {ref.shape[self.channel_axis]} channels, but channel "
                        f"{channel + 1} is being restored"
                    )
                ref = np.take(ref, channel, axis=self.channel_axis)
            if ref.shape != x.shape:
                raise InvalidParameterError(
                    f"the reference has shape {ref.shape} per channel but the estimate has shape "
                    f"{x.shape}"
                )
            trace.psnr.append(psnr(x.astype(np.float64), ref.astype(np.float64)))
        self._previous = x.copy()
        if self.callback is not None:
            self.callback(iteration, estimate)
