"""The one output-safety rule, for every file unblur writes.

1. No output is one of the inputs (the image, a PSF file, a reference), however it is spelled:
   the same path, ``./`` or ``..`` detours, a symbolic link or a hard link to it, or a path
   inside an input folder (a Zarr store). This holds with ``force`` too.
2. An existing folder is never replaced or removed, with or without ``force``.
3. An existing file is replaced only with ``force``, and a file that appears at an output path
   while the run computes is not replaced either (see :func:`unblur.io.atomic.commit`).
4. A run that writes several files (an image and its report, a PSF and its preview) writes
   each under a temporary name first and moves them into place only when every one of them
   was written; if a move fails, the files already moved are put back as they were
   (:class:`OutputSet`).

The checks run before any work (:func:`check_outputs`), so a run that would break the rule
fails at once, and again at the final move.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
from collections.abc import Callable, Iterable, Sequence
from typing import IO

from .._checks import check_bool
from ..errors import ImageWriteError, InvalidParameterError
from ._common import _as_path, _q
from .atomic import (
    _exists,
    _exists_error,
    _folder_error,
    _is_folder,
    _is_special,
    _special_error,
    commit,
    discard,
    sweep_temp_files,
    temp_path,
    write_temp,
)

__all__ = ["OutputSet", "check_outputs", "same_file"]

PathLike = str | os.PathLike[str]


def same_file(a: PathLike, b: PathLike) -> bool:
    """Whether ``a`` and ``b`` are (or would be) the same file: the same inode when both
    exist (symbolic and hard links included), else the same resolved path."""
    a, b = os.fspath(a), os.fspath(b)
    with contextlib.suppress(OSError, ValueError):
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    norm = os.path.normcase
    return norm(os.path.realpath(a)) == norm(os.path.realpath(b))


def _paths(values, name: str) -> list:
    """``values`` as a list of path-likes (not one path, not a non-iterable)."""
    if isinstance(values, str | bytes | os.PathLike):
        raise InvalidParameterError(f"{name} must be a list of paths, got the one path {values!r}")
    try:
        return list(values)
    except TypeError:
        raise InvalidParameterError(f"{name} must be a list of paths, got {values!r}") from None


def _inside(path: PathLike, folder: PathLike) -> bool:
    """Whether ``path`` lies inside the existing folder ``folder`` (resolved)."""
    if not os.path.isdir(folder):
        return False
    inner = pathlib.Path(os.path.realpath(path))
    return inner.is_relative_to(os.path.realpath(folder))


def check_outputs(
    outputs: Sequence[PathLike], *, inputs: Iterable[PathLike] = (), force: bool = False
) -> None:
    """Refuse, before any work, outputs that would break the output-safety rule.

    Parameters
    ----------
    outputs : sequence of path-like
        Every file the run will write.
    inputs : iterable of path-like
        Every file (or folder) the run reads: never overwritten, even with ``force``.
    force : bool
        Allow replacing existing files (never inputs, never folders).

    Raises
    ------
    ImageWriteError
        An output is an input or inside an input folder, is a folder, is named twice, exists
        (without ``force``), or its folder does not exist or is not writable.
    """
    check_bool("force", force)
    sources = [os.fspath(_as_path(s)) for s in _paths(inputs, "inputs")]
    outputs = _paths(outputs, "outputs")
    targets = [_as_path(o, "write") for o in outputs]
    for i, (out, name) in enumerate(zip(targets, outputs, strict=True)):
        q = _q(name)
        for source in sources:
            if same_file(out, source) or _inside(out, source):
                raise ImageWriteError(
                    f"refusing to overwrite the input {q} (the image, a PSF or the reference); "
                    "choose another output"
                )
        for other in targets[:i]:
            if same_file(out, other):
                raise ImageWriteError(f"two outputs are the same file {q}")
        if _is_folder(out):
            raise _folder_error(q)
        if _is_special(out):
            raise _special_error(q)
        if not force and _exists(out):
            raise _exists_error(q)
        parent = out.parent
        if not parent.exists():
            raise ImageWriteError(f"cannot write {q}: output folder {_q(parent)} does not exist")
        if not parent.is_dir():
            raise ImageWriteError(f"cannot write {q}: {_q(parent)} is not a folder")
        if not os.access(parent, os.W_OK | os.X_OK):  # root may write anywhere but read-only
            raise ImageWriteError(
                f"cannot write {q}: output folder {_q(parent)} is not writable (permission "
                "denied or a read-only file system)"
            )


class OutputSet:
    """The outputs of one run: staged under temporary names, moved into place all together.

    Use as a context manager: whatever was staged and not committed is removed on leaving.

    Parameters
    ----------
    outputs : sequence of path-like
        Every output of the run, in the order they are moved into place.
    inputs : iterable of path-like
        The run's input files (see :func:`check_outputs`).
    force : bool
        Replace existing files.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with OutputSet([folder / "a.txt", folder / "b.txt"]) as outs:
    ...     outs.write(folder / "a.txt", lambda f: f.write(b"a"))
    ...     outs.write(folder / "b.txt", lambda f: f.write(b"b"))
    ...     outs.commit()
    >>> sorted(p.name for p in folder.iterdir())
    ['a.txt', 'b.txt']
    """

    def __init__(
        self, outputs: Sequence[PathLike], *, inputs: Iterable[PathLike] = (), force: bool = False
    ) -> None:
        outputs = _paths(outputs, "outputs")
        self.outputs = [_as_path(o, "write") for o in outputs]
        self._names = {
            p: os.fsdecode(os.fspath(o)) for p, o in zip(self.outputs, outputs, strict=True)
        }
        self.inputs = [os.fspath(_as_path(s)) for s in _paths(inputs, "inputs")]
        self.force = check_bool("force", force)
        check_outputs(list(self._names.values()), inputs=self.inputs, force=self.force)
        for folder in {o.parent for o in self.outputs}:
            sweep_temp_files(folder)
        self._staged: dict[pathlib.Path, pathlib.Path] = {}

    def _target(self, target: PathLike) -> pathlib.Path:
        path = pathlib.Path(os.fspath(target))
        if path not in self.outputs:
            raise ValueError(f"{_q(path)} is not one of the outputs of this run")
        return path

    def path(self, target: PathLike) -> pathlib.Path:
        """A fresh temporary path for ``target`` that a writer creates (a file or a folder)."""
        target = self._target(target)
        if target in self._staged:
            discard(self._staged.pop(target))
        tmp = temp_path(target)
        self._staged[target] = tmp
        return tmp

    def write(self, target: PathLike, writer: Callable[[IO[bytes]], None]) -> None:
        """Stage ``target``: ``writer(fileobj)`` fills its temporary file."""
        target = self._target(target)
        if target in self._staged:
            discard(self._staged.pop(target))
        self._staged[target] = write_temp(target, writer)

    def commit(self) -> list[pathlib.Path]:
        """Move every staged output into place (in the order of ``outputs``), or none.

        Returns
        -------
        list of pathlib.Path
            The outputs written.

        Raises
        ------
        ImageWriteError
            An output appeared meanwhile (without ``force``), became a folder, or could not be
            moved; the outputs already moved are then put back as they were.
        """
        # an input may have been swapped for a link to an output path meanwhile
        check_outputs(list(self._names.values()), inputs=self.inputs, force=True)
        undo = []
        done = []
        try:
            for target in self.outputs:
                tmp = self._staged.get(target)
                if tmp is None:
                    continue
                if not os.path.lexists(tmp):
                    raise ImageWriteError(f"cannot write {_q(target)}: nothing was written")
                undo.append(commit(tmp, target, force=self.force, name=self._names[target]))
                done.append(target)
        except BaseException:
            for step in reversed(undo):
                step()
            raise
        finally:
            self.discard()
        for step in undo:
            step.finish()
        return done

    def discard(self) -> None:
        """Remove every staged temporary file that was not moved into place."""
        for tmp in self._staged.values():
            discard(tmp)
        self._staged.clear()

    def __enter__(self) -> OutputSet:
        return self

    def __exit__(self, *exc_info) -> None:
        self.discard()
