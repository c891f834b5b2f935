r"""The loop every iterative method shares: iteration count, stopping rule, callback and info.

A method runs its own update and hands each new estimate to an :class:`IterationLoop`, which

* counts the iterations (``info["iterations"]``),
* keeps the last relative change :math:`\|x_k - x_{k-1}\| / \|x_k\|` (or whatever measure of
  convergence the method passes, ``info["relative_change"]``),
* stops once that change is below the tolerance ``tol`` (when the method says it may stop:
  e.g. not while a continuation schedule is still moving),
* calls the user's ``callback(iteration, estimate)`` with a copy of the cropped estimate (or,
  for a callback whose attribute ``borrows_estimate`` is true, the cropped working array
  itself: a callback that only reads it while it runs, such as the report's
  :class:`~unblur.report.ConvergenceMonitor`), and
* says why the loop ended (``info["stopped_by"]``: ``"num_iter"``, ``"tol"`` or a reason the
  method gives, such as ``"discrepancy"``).

A change that is NaN (a solver that diverged, or data whose magnitude overflows the working
precision) raises :class:`~unblur.errors.InvalidImageError` at once instead of returning NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..errors import InvalidImageError

__all__ = ["IterationLoop", "dot", "relative_norm"]


def dot(a: np.ndarray, b: np.ndarray) -> float:
    r""":math:`\langle a, b \rangle` of two contiguous arrays (BLAS, no copy)."""
    return float(np.vdot(a.reshape(-1), b.reshape(-1)))


def relative_norm(difference: np.ndarray, reference: np.ndarray) -> float:
    r""":math:`\|d\| / \|r\|` (zero when both vanish, infinite when only ``r`` does)."""
    diff = math.sqrt(max(dot(difference, difference), 0.0))
    norm = math.sqrt(max(dot(reference, reference), 0.0))
    if norm > 0:
        return diff / norm
    return 0.0 if diff == 0 else math.inf


class IterationLoop:
    """Iteration bookkeeping of one run of an iterative method.

    Parameters
    ----------
    num_iter : int
        Largest number of iterations.
    tol : float, optional
        Stop once the change passed to :meth:`done` is below it.
    callback : callable, optional
        ``callback(iteration, estimate)``, called after each iteration (from 1), with a copy
        of the estimate, or a view of the working array when ``callback.borrows_estimate`` is
        true (the callback reads it during the call only and keeps nothing of it).
    crop : callable, optional
        Maps the solver's working array to the image the callback sees.
    scale : float, optional
        The factor from the working array's units to the image's (a solver that works on the
        image divided by its contrast passes that contrast): the callback sees the estimate
        in the image's units, as the method returns it.

    Examples
    --------
    >>> loop = IterationLoop(10, tol=0.1)
    >>> for k in loop:
    ...     if loop.done(change=0.5 ** (k + 1)):
    ...         break
    >>> info = {}
    >>> loop.report(info)
    >>> info["iterations"], info["stopped_by"]
    (4, 'tol')
    """

    def __init__(
        self,
        num_iter: int,
        *,
        tol: float | None = None,
        callback: Callable[[int, np.ndarray], None] | None = None,
        crop: Callable[[np.ndarray], np.ndarray] | None = None,
        scale: float = 1.0,
    ) -> None:
        self.num_iter = int(num_iter)
        self.tol = tol
        self.callback = callback
        self.crop = crop if crop is not None else (lambda x: x)
        self.scale = scale
        self.iterations = 0
        self.change = math.inf
        self.stopped_by = "num_iter"

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.num_iter))

    def done(
        self, estimate: np.ndarray | None = None, *, change: float | None = None, may_stop=True
    ) -> bool:
        """Record one finished iteration; ``True`` when the loop should stop.

        ``estimate`` (the working array) goes to the callback; ``change`` is the convergence
        measure of this iteration; ``may_stop=False`` keeps the loop going whatever the change.
        """
        self.iterations += 1
        if change is not None:
            self.change = change
            if not math.isfinite(change) and change != math.inf:
                raise InvalidImageError(
                    f"the iteration diverged (non-finite change at iteration {self.iterations})"
                )
        if self.callback is not None and estimate is not None:
            view = self.crop(estimate)
            if self.scale != 1:
                given = view * self.scale  # a new array
            elif getattr(self.callback, "borrows_estimate", False):
                given = view  # a callback that only reads it while it runs
            else:
                given = view.copy()  # the working array changes: the callback may keep it
            self.callback(self.iterations, given)
        if self.tol is not None and may_stop and self.change < self.tol:
            self.stopped_by = "tol"
            return True
        return False

    def stop(self, reason: str) -> None:
        """End the loop for a method's own ``reason`` (call, then ``break``)."""
        self.stopped_by = reason

    def check_finite(self, estimate: np.ndarray) -> None:
        """Raise :class:`~unblur.errors.InvalidImageError` if ``estimate`` has NaN or inf.

        Two reductions (NaN propagates through both), no array allocated.
        """
        if estimate.size and not (
            math.isfinite(float(estimate.min())) and math.isfinite(float(estimate.max()))
        ):
            raise InvalidImageError(
                f"the restoration produced non-finite values after {self.iterations} "
                "iterations; the image's magnitude may be out of the working precision's range"
            )

    def report(self, info: dict[str, Any] | None) -> None:
        """Write ``iterations``, ``stopped_by`` and, with a tolerance, ``relative_change``."""
        if info is None:
            return
        info["iterations"] = self.iterations
        info["stopped_by"] = self.stopped_by
        if self.tol is not None:
            info["relative_change"] = self.change
