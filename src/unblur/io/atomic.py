"""Atomic files: written in full beside the target, then moved onto it (or left untouched)."""

from __future__ import annotations

import contextlib
import os
import pathlib
import stat
import tempfile
from collections.abc import Callable
from typing import IO

from ..errors import ImageWriteError, UnblurError
from ._common import _detail, _q


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


def atomic_write(
    path: str | os.PathLike[str], writer: Callable[[IO[bytes]], None], *, force: bool = False
) -> pathlib.Path:
    """Write a file atomically: ``writer(fileobj)`` fills a temporary file beside ``path``,
    which is flushed, synced and then moved onto ``path``.

    Either ``path`` ends up complete or it is left as it was; the temporary file is removed on
    any failure. Without ``force`` an existing file (even one that appears meanwhile) is never
    replaced.

    Raises
    ------
    ImageWriteError
        The file exists (without ``force``) or cannot be written.
    """
    target = pathlib.Path(path)
    _atomic_write(target, _q(target), writer, force=force)
    return target


def _atomic_write(
    target: pathlib.Path, q: str, writer: Callable[[IO[bytes]], None], *, force: bool
) -> None:
    parent = target.parent
    mode = _new_file_mode(target)
    try:
        tmp = tempfile.NamedTemporaryFile(
            mode="w+b", delete=False, dir=parent, prefix=f".{target.name}.", suffix=target.suffix
        )
    except OSError as exc:
        raise ImageWriteError(f"cannot write {q}: {_detail(exc)}") from exc
    tmp_path = tmp.name
    try:
        with tmp:
            writer(tmp.file)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_path, mode)
        if force:
            os.replace(tmp_path, target)
        else:
            _move_no_clobber(tmp_path, target, q)
        _fsync_dir(parent)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_path)
        if isinstance(exc, UnblurError) or not isinstance(exc, Exception):
            raise
        raise ImageWriteError(f"cannot write {q}: {_detail(exc)}") from exc


def _move_no_clobber(tmp_path: str, target: pathlib.Path, q: str) -> None:
    """Rename ``tmp_path`` to ``target`` unless something appeared there meanwhile."""
    try:
        os.link(tmp_path, target)  # fails atomically if the target exists
    except FileExistsError:
        raise ImageWriteError(f"{q} exists; pass force=True (--force) to overwrite") from None
    except OSError:  # no hard links on this file system
        if target.exists():
            raise ImageWriteError(f"{q} exists; pass force=True (--force) to overwrite") from None
        os.replace(tmp_path, target)
        return
    os.unlink(tmp_path)


def _fsync_dir(folder: pathlib.Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
