"""Atomic files: written in full under a temporary name beside the target, then moved onto it.

Either the target ends up complete or it is left as it was. The temporary names are
recognisable, ``.<name>.unblur-tmp-<host>-<pid>-<random><suffix>``, so that what a killed run
(``kill -9``, a power cut) left behind is removed by the next run that writes into the same
folder (:func:`sweep_temp_files`: only names of this host whose process is gone). While the
command line runs, SIGTERM and SIGHUP become ``SystemExit`` (:func:`temp_files_removed_on_signals`),
so that the temporary files are removed on the way out, as they are for Ctrl-C.

Moving into place never replaces a file without ``force``, even one that appeared during the
run (a hard link is made, which fails if the name exists; where the file system has no hard
links, the name is first created exclusively), and never removes a folder, with or without
``force``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pathlib
import re
import secrets
import shutil
import signal
import socket
import stat
import threading
from collections.abc import Callable, Iterator
from typing import IO

from ..errors import ImageWriteError, UnblurError
from ._common import _detail, _q

__all__ = [
    "atomic_write",
    "commit",
    "discard",
    "remove_temp_files",
    "sweep_temp_files",
    "temp_files_removed_on_signals",
    "temp_path",
]

_TAG = ".unblur-tmp-"
_PATTERN = re.compile(
    r"^\..+\.unblur-tmp-(?P<host>[A-Za-z0-9-]+)-(?P<pid>\d+)-[0-9a-f]{8}(\.[^.]*)?$"
)

#: temporary paths of this process that are not yet moved into place or removed
_live: set[str] = set()
_lock = threading.Lock()
#: folders already swept by this process
_swept: set[str] = set()


def _host() -> str:
    name = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:32]
    return name or "host"


def temp_path(target: str | os.PathLike[str]) -> pathlib.Path:
    """A fresh temporary name beside ``target`` (same folder and suffix), registered so that
    :func:`remove_temp_files` removes it until :func:`commit` or :func:`discard` is called."""
    target = pathlib.Path(target)
    name = f".{target.name}{_TAG}{_host()}-{os.getpid()}-{secrets.token_hex(4)}{target.suffix}"
    path = target.with_name(name)
    with _lock:
        _live.add(os.fspath(path))
    return path


def _remove(path: str | os.PathLike[str]) -> None:
    """Remove a temporary file or folder of ours (never follows a symlink)."""
    with contextlib.suppress(OSError):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)


def discard(path: str | os.PathLike[str]) -> None:
    """Remove a temporary path of :func:`temp_path` (if it exists) and forget it."""
    _remove(path)
    with _lock:
        _live.discard(os.fspath(path))


def remove_temp_files() -> None:
    """Remove every temporary path of this process that was not moved into place."""
    with _lock:
        paths = list(_live)
        _live.clear()
    for path in paths:
        _remove(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. EPERM: it exists, under another user
        return True
    return True


def sweep_temp_files(folder: str | os.PathLike[str]) -> list[pathlib.Path]:
    """Remove the temporary files and folders that runs which were killed left in ``folder``.

    Only names of :func:`temp_path` qualify, made on this host by a process that no longer
    exists; the temporary files of running processes are left alone. Each folder is swept
    once per process.

    Returns
    -------
    list of pathlib.Path
        What was removed.
    """
    key = os.path.realpath(folder)
    with _lock:
        if key in _swept:
            return []
        _swept.add(key)
    removed = []
    host, me = _host(), os.getpid()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        match = _PATTERN.match(entry.name) if _TAG in entry.name else None
        if match is None or match["host"] != host:
            continue
        pid = int(match["pid"])
        if pid == me or _alive(pid):
            continue
        _remove(entry.path)
        removed.append(pathlib.Path(entry.path))
    return removed


# ---------------------------------------------------------------------------------------------
# signals
# ---------------------------------------------------------------------------------------------
class Terminated(SystemExit):
    """Raised in the main thread by SIGTERM or SIGHUP while :func:`temp_files_removed_on_signals`
    is active; its exit status is 128 + the signal number, as for a process killed by it."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum
        self.name = signal.Signals(signum).name


@contextlib.contextmanager
def temp_files_removed_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Terminated` (a ``SystemExit``) in the
    main thread, so every ``finally`` runs and no temporary file is left; on leaving, the old
    handlers come back and any temporary file still registered is removed.

    Outside the main thread (where handlers cannot be set) only the final removal happens.
    """

    def handler(signum: int, frame) -> None:
        raise Terminated(signum)

    old = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(ValueError, OSError):
                old[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, previous in old.items():
            signal.signal(signum, previous)
        remove_temp_files()


# ---------------------------------------------------------------------------------------------
# moving into place
# ---------------------------------------------------------------------------------------------
def _exists(path: pathlib.Path) -> bool:
    return path.exists() or path.is_symlink()


def _is_folder(path: pathlib.Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _is_special(path: pathlib.Path) -> bool:
    """Whether ``path`` is a device, a pipe or a socket (not a file, a folder or a link):
    ``-o /dev/full --force`` would otherwise replace the device node with an image."""
    try:
        mode = os.lstat(path).st_mode
    except (OSError, ValueError):
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode))


def _special_error(q: str) -> ImageWriteError:
    return ImageWriteError(
        f"refusing to replace {q}: it is not a regular file (a device, a pipe or a socket); "
        "choose another output"
    )


def _exists_error(q: str) -> ImageWriteError:
    return ImageWriteError(f"{q} exists; use --force (force=True) to overwrite it")


def _folder_error(q: str) -> ImageWriteError:
    return ImageWriteError(
        f"refusing to replace {q}: it is a folder, and unblur never removes a folder; "
        "choose another output"
    )


def commit(
    tmp: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    force: bool,
    name: str | os.PathLike[str] | None = None,
) -> _Undo:
    """Move the finished temporary file or folder ``tmp`` onto ``target``.

    Without ``force`` nothing that exists at ``target`` is replaced, even if it appeared after
    the run began: a file is hard-linked to ``target`` (which fails if the name exists) or,
    without hard links, ``target`` is first created exclusively; a folder (a Zarr store) is
    renamed onto an empty folder made exclusively. With ``force`` an existing file is
    replaced; an existing folder never is.

    Parameters
    ----------
    tmp : path-like
        The finished temporary file or folder (from :func:`temp_path`).
    target : path-like
        Where it goes.
    force : bool
        Replace an existing file.
    name : path-like, optional
        ``target`` as the user spelled it, for messages.

    Returns
    -------
    callable
        ``undo()`` puts back what ``target`` was before (for a run whose later output failed);
        ``undo.finish()`` drops the backup of a replaced file once the run has succeeded.

    Raises
    ------
    ImageWriteError
        ``target`` exists (without ``force``) or is a folder, or the move failed. ``tmp`` is
        left for the caller to discard.
    """
    q = _q(target if name is None else name)
    tmp = pathlib.Path(tmp)
    target = pathlib.Path(target)
    folder = _is_folder(tmp)
    if _is_folder(target):
        raise _folder_error(q)
    if _is_special(target):
        raise _special_error(q)
    backup = None
    if force and _exists(target):
        backup = temp_path(target)
        try:
            os.link(target, backup, follow_symlinks=False)
        except OSError:  # no hard links here: replaced without a way back
            discard(backup)
            backup = None
        if folder:  # a folder cannot replace a file in one step
            with contextlib.suppress(FileNotFoundError):
                os.unlink(target)
    try:
        if folder:
            _rename_folder(tmp, target, q)
        elif force:
            os.replace(tmp, target)
        else:
            _link_file(tmp, target, q)
    except BaseException as exc:
        if backup is not None:
            with contextlib.suppress(OSError):
                if not _exists(target):
                    os.replace(backup, target)
            discard(backup)
        if isinstance(exc, IsADirectoryError):  # a folder appeared meanwhile
            raise _folder_error(q) from None
        if isinstance(exc, OSError):
            raise ImageWriteError(f"cannot write {q}: {_detail(exc)}") from exc
        raise
    with _lock:
        _live.discard(os.fspath(tmp))
    _fsync_dir(target.parent)
    return _Undo(target, backup, folder)


class _Undo:
    """Puts back what a :func:`commit` replaced: ``undo()``; ``finish()`` drops the backup."""

    def __init__(self, target: pathlib.Path, backup: pathlib.Path | None, folder: bool):
        self.target, self.backup, self.folder = target, backup, folder

    def __call__(self) -> None:
        if self.backup is not None:
            if self.folder:
                _remove(self.target)
            with contextlib.suppress(OSError):
                os.replace(self.backup, self.target)
            discard(self.backup)
        else:
            _remove(self.target)

    def finish(self) -> None:
        if self.backup is not None:
            discard(self.backup)


def _link_file(tmp: pathlib.Path, target: pathlib.Path, q: str) -> None:
    try:
        os.link(tmp, target)  # fails atomically if the name exists
    except FileExistsError:
        raise _exists_error(q) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK, errno.ENOSYS):
            raise
        # no hard links on this file system: claim the name exclusively, then replace it
        try:
            fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            raise _exists_error(q) from None
        os.close(fd)
        os.replace(tmp, target)
        return
    os.unlink(tmp)


def _rename_folder(tmp: pathlib.Path, target: pathlib.Path, q: str) -> None:
    try:
        os.mkdir(target)  # claims the name; fails if anything is there
    except FileExistsError:
        if _is_folder(target):
            raise _folder_error(q) from None
        raise _exists_error(q) from None
    try:
        os.rename(tmp, target)  # replaces the empty folder just made
    except OSError:
        with contextlib.suppress(OSError):
            os.rmdir(target)  # only if still empty: someone else's files stay
        raise


def _fsync_dir(folder: pathlib.Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ---------------------------------------------------------------------------------------------
# one file
# ---------------------------------------------------------------------------------------------
def _new_file_mode(target: pathlib.Path) -> int:
    """Permission bits for the output: those of the file replaced, else 0o666 minus umask."""
    with contextlib.suppress(OSError):
        return stat.S_IMODE(target.stat().st_mode)
    umask = None
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("Umask:"):
                umask = int(line.split()[1], 8)
                break
    if umask is None:
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask


def write_temp(target: pathlib.Path, writer: Callable[[IO[bytes]], None]) -> pathlib.Path:
    """Run ``writer(fileobj)`` into a new temporary file beside ``target``; flushed, synced and
    with the permissions the output will have. Removed again if anything fails."""
    q = _q(target)
    tmp = temp_path(target)
    try:
        with open(tmp, "xb") as fh:
            writer(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _new_file_mode(target))
    except BaseException as exc:
        discard(tmp)
        if isinstance(exc, UnblurError) or not isinstance(exc, Exception):
            raise
        raise ImageWriteError(f"cannot write {q}: {_detail(exc)}") from exc
    return tmp


def atomic_write(
    path: str | os.PathLike[str], writer: Callable[[IO[bytes]], None], *, force: bool = False
) -> pathlib.Path:
    """Write a file atomically: ``writer(fileobj)`` fills a temporary file beside ``path``,
    which is flushed, synced and then moved onto ``path``.

    Either ``path`` ends up complete or it is left as it was; the temporary file is removed on
    any failure. Without ``force`` an existing file (even one that appears meanwhile) is never
    replaced; a folder never is.

    Raises
    ------
    ImageWriteError
        The file exists (without ``force``), is a folder, or cannot be written.
    """
    target = pathlib.Path(path)
    _atomic_write(target, _q(target), writer, force=force)
    return target


def _atomic_write(
    target: pathlib.Path, q: str, writer: Callable[[IO[bytes]], None], *, force: bool
) -> None:
    if _is_folder(target):
        raise _folder_error(q)
    if _is_special(target):
        raise _special_error(q)
    if not force and _exists(target):
        raise _exists_error(q)
    if not target.parent.is_dir():
        raise ImageWriteError(f"cannot write {q}: output folder {_q(target.parent)} does not exist")
    sweep_temp_files(target.parent)
    tmp = write_temp(target, writer)
    try:
        commit(tmp, target, force=force).finish()
    finally:
        discard(tmp)
