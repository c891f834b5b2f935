"""One library call at a time off the main thread: progress bar, live preview, cancel.

Every widget owns a :class:`JobPanel` (a run button, a cancel button, a progress bar and a
status line). :meth:`JobPanel.start` runs ``task(step)`` in a napari worker thread
(:func:`napari.qt.threading.create_worker`), so the viewer stays responsive. The task passes
``step`` to the library as its ``callback``: each call

* raises :class:`Cancelled` once the job was cancelled (the cancel button, or napari's own
  activity dock, which calls ``worker.quit()``). The library does not catch exceptions from a
  callback, so an iterative method stops at its next iteration and nothing is returned;
* moves the progress bar, at most every :data:`REPORT_EVERY` seconds (the main thread is told
  through a queued call, never touched from the worker);
* hands every ``preview_every``-th estimate to ``on_preview`` in the main thread.

The outcome comes back in the main thread. An :class:`~unblur.errors.UnblurError` (bad input)
becomes a napari error notification with the library's one-line message and the result
callback is never called, so no layer is added; a bug (any other exception) goes to napari's
own error handling.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from magicgui.widgets import Container, Label, ProgressBar, PushButton
from napari.qt.threading import create_worker
from napari.utils.notifications import show_error
from superqt.utils import ensure_main_thread

from ..errors import UnblurError

__all__ = ["REPORT_EVERY", "Cancelled", "JobPanel", "Outcome"]

#: seconds between two progress reports sent to the main thread
REPORT_EVERY = 0.05


class Cancelled(Exception):
    """Raised inside the worker by the step callback once the job was cancelled."""


@dataclass
class Outcome:
    """What a job's worker hands back to the main thread."""

    value: Any = None
    error: str | None = None


Step = Callable[[int, Any], None]
_TOKENS = itertools.count(1)


class JobPanel(Container):
    """Run / cancel buttons, a progress bar and a status line for one job at a time.

    Parameters
    ----------
    run_text : str
        Text of the run button.
    on_run : callable
        Called (no argument) when the run button is clicked; it gathers the inputs and calls
        :meth:`start`.
    """

    def __init__(self, run_text: str, on_run: Callable[[], None]) -> None:
        self.run_button = PushButton(text=run_text)
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.progress = ProgressBar(min=0, max=1, value=0, visible=False, label="")
        self.status = Label(value="")
        buttons = Container(
            widgets=[self.run_button, self.cancel_button], layout="horizontal", labels=False
        )
        buttons.margins = (0, 0, 0, 0)
        super().__init__(widgets=[buttons, self.progress, self.status], labels=False)
        self.margins = (0, 0, 0, 0)
        self.run_button.changed.connect(on_run)
        self.cancel_button.changed.connect(self.cancel)
        self.worker = None
        self._token = 0
        self._preview: Callable[[Any], None] | None = None
        self._total = 0

    # ------------------------------------------------------------------ state
    @property
    def running(self) -> bool:
        """Whether a job is running (until its worker has finished)."""
        return self.worker is not None

    def cancel(self) -> None:
        """Ask the running job to stop at its next step; its result is discarded."""
        if self.worker is not None:
            self.worker.quit()
            self.status.value = "cancelling..."

    # ------------------------------------------------------------------ running
    def start(
        self,
        task: Callable[[Step], Any],
        on_result: Callable[[Any], None],
        *,
        total: int = 0,
        description: str = "",
        preview_every: int = 0,
        on_preview: Callable[[Any], None] | None = None,
        on_end: Callable[[], None] | None = None,
    ) -> None:
        """Run ``task(step)`` in a worker thread; ``on_result(value)`` in the main thread.

        Parameters
        ----------
        task : callable
            The work; it passes ``step`` to the library as ``callback`` (``step(i, estimate)``).
        on_result : callable
            Receives the task's return value, in the main thread, unless the job failed with an
            :class:`~unblur.errors.UnblurError` or was cancelled.
        total : int, optional
            Number of steps expected (``num_iter``); 0 for a busy indicator.
        description : str, optional
            Status text while running.
        preview_every : int, optional
            Hand every n-th estimate to ``on_preview`` (0: never).
        on_preview : callable, optional
            Receives an estimate, in the main thread.
        on_end : callable, optional
            Called in the main thread once the worker has finished, whatever the outcome (after
            ``on_result``): to remove a preview layer.
        """
        if self.worker is not None:
            return
        token = self._token = next(_TOKENS)
        self._preview = on_preview if preview_every > 0 else None
        self._total = max(int(total), 0)
        last = [0.0]

        def step(iteration: int, estimate: Any = None) -> None:
            if worker.abort_requested:
                raise Cancelled
            now = time.monotonic()
            show = (
                self._preview is not None
                and estimate is not None
                and iteration % preview_every == 0
            )
            if show or now - last[0] >= REPORT_EVERY:
                last[0] = now
                self._report(token, iteration, estimate if show else None)

        def run() -> Outcome:
            try:
                return Outcome(value=task(step))
            except Cancelled:
                return Outcome()
            except UnblurError as exc:
                return Outcome(error=str(exc))
            except MemoryError:
                return Outcome(error="not enough memory for this job; try a smaller image")

        worker = create_worker(run, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(lambda outcome: self._returned(token, outcome, on_result))
        worker.finished.connect(lambda: self._finished(token, on_end))
        self.worker = worker
        self.run_button.enabled = False
        self.cancel_button.enabled = True
        self.progress.max = self._total  # 0: a busy indicator
        self.progress.value = 0
        self.progress.visible = True
        self.status.value = description or "running..."
        worker.start()

    @ensure_main_thread
    def _report(self, token: int, iteration: int, estimate: Any) -> None:
        if token != self._token or self.worker is None:
            return  # a late report of a finished or cancelled job
        if self._total:
            self.progress.value = min(iteration, self._total)
        self.status.value = f"iteration {iteration}" + (f" / {self._total}" if self._total else "")
        if estimate is not None and self._preview is not None:
            self._preview(estimate)

    def _returned(self, token: int, outcome: Outcome, on_result: Callable[[Any], None]) -> None:
        if token != self._token:
            return
        if outcome.error is not None:
            self.status.value = f"error: {outcome.error}"
            show_error(outcome.error)
            return
        self.status.value = "done"
        on_result(outcome.value)

    def _finished(self, token: int, on_end: Callable[[], None] | None) -> None:
        if token != self._token:
            return
        cancelled = self.worker is not None and self.worker.abort_requested
        self.worker = None
        if on_end is not None:
            on_end()
        self.run_button.enabled = True
        self.cancel_button.enabled = False
        self.progress.visible = False
        if cancelled:
            self.status.value = "cancelled"
