"""Where a figure or a report may be written: the checks made before anything is drawn."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import ImageWriteError

__all__ = ["check_target"]


def check_target(
    path: str | os.PathLike, suffixes: Sequence[str], what: str, *, force: bool
) -> Path:
    """``path`` as a Path, after checking its extension, its folder and that it may be written.

    Raises
    ------
    ImageWriteError
        The extension is not one of ``suffixes``, ``path`` is a folder, exists (without
        ``force``), or its folder is missing.
    """
    target = Path(path)
    if target.suffix.lower() not in suffixes:
        raise ImageWriteError(f"{what} {str(target)!r} must be a {' or '.join(suffixes)} file")
    if target.is_dir():
        raise ImageWriteError(f"{what} {str(target)!r} is a folder")
    if (target.exists() or target.is_symlink()) and not force:
        raise ImageWriteError(f"{str(target)!r} already exists; use force=True to overwrite it")
    if not target.parent.is_dir():
        raise ImageWriteError(f"folder {str(target.parent)!r} does not exist")
    return target
