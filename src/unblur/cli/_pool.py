"""Worker processes for a batch, where a worker that dies fails its own file only.

``concurrent.futures.ProcessPoolExecutor`` fails every pending task when one worker dies (an
out-of-memory kill, a crash in a C library), and cannot say which task was running. Here each
worker runs one job at a time, sent through its own pipe, so when its process ends without an
answer the job it held is known: that job is reported as failed, a new worker takes the
dead one's place, and the remaining jobs go on.
"""

from __future__ import annotations

import contextlib
import signal
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing import connection
from typing import Any

#: seconds a worker has to finish its current file after being asked to stop
_STOP_GRACE = 5.0


def _work(func: Callable[[Any], Any], conn) -> None:
    """A worker's loop: receive ``(index, job)``, send back ``(index, func(job))``; stop on None
    or when the parent goes away. SIGTERM raises SystemExit, so temporary files are removed."""
    from ..io import temp_files_removed_on_signals

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    with temp_files_removed_on_signals():
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                return
            if message is None:
                return
            index, job = message
            conn.send((index, func(job)))


@dataclass
class _Worker:
    process: Any
    conn: Any
    index: int | None = None


def death_message(exitcode: int | None) -> str:
    """Why a worker ended: ``"killed by SIGKILL"`` or ``"exit status 3"``."""
    if exitcode is not None and exitcode < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-exitcode).name}"
        return f"killed by signal {-exitcode}"
    return f"exit status {exitcode}"


def run_pool(
    func: Callable[[Any], Any],
    jobs: Sequence[Any],
    n_procs: int,
    context,
    *,
    on_result: Callable[[int, Any], None],
    on_death: Callable[[int, int | None], Any],
) -> None:
    """Run ``func(job)`` for every job in ``n_procs`` worker processes of ``context``.

    ``on_result(index, result)`` is called in this process as each job finishes; a job whose
    worker died gets ``on_result(index, on_death(index, exitcode))`` instead, and a fresh
    worker replaces the dead one. ``func`` and the jobs must be picklable.

    On any exception here (Ctrl-C, SIGTERM) the workers are stopped: asked with SIGTERM, so
    they remove their temporary files, and killed if they do not end within a few seconds.
    """
    pending = deque(enumerate(jobs))
    workers: list[_Worker] = []

    def start() -> _Worker:
        parent, child = context.Pipe()
        process = context.Process(target=_work, args=(func, child), daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def feed(worker: _Worker) -> None:
        worker.index = None
        if pending:
            worker.index, job = pending.popleft()
            worker.conn.send((worker.index, job))

    try:
        for _ in range(min(n_procs, len(pending))):
            worker = start()
            workers.append(worker)
            feed(worker)
        while True:
            busy = [w for w in workers if w.index is not None]
            if not busy:
                break
            waiting = [w.conn for w in busy] + [w.process.sentinel for w in busy]
            ready = set(connection.wait(waiting))
            for worker in busy:
                if worker.conn not in ready and worker.process.sentinel not in ready:
                    continue
                answer = None
                with contextlib.suppress(EOFError, OSError):
                    if worker.conn.poll():
                        answer = worker.conn.recv()
                if answer is not None:
                    index, result = answer
                    on_result(index, result)
                    feed(worker)
                elif not worker.process.is_alive():
                    index = worker.index
                    worker.process.join()
                    worker.conn.close()
                    on_result(index, on_death(index, worker.process.exitcode))
                    workers.remove(worker)
                    if pending:
                        replacement = start()
                        workers.append(replacement)
                        feed(replacement)
    except BaseException:
        _stop(workers, terminate=True)
        raise
    _stop(workers, terminate=False)


def _stop(workers: list[_Worker], *, terminate: bool) -> None:
    """End the workers: a polite request (or SIGTERM), then SIGKILL for those that linger."""
    for worker in workers:
        with contextlib.suppress(OSError, ValueError):
            if terminate:
                worker.process.terminate()
            else:
                worker.conn.send(None)
    for worker in workers:
        worker.process.join(_STOP_GRACE)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        with contextlib.suppress(OSError):
            worker.conn.close()
