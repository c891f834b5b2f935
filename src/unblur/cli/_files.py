"""Input and output files: overwrite checks, writable formats, alpha channels."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ._errors import CLIError


def same_path(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` are (or would be) the same file."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def check_outputs(outputs: Sequence[Path], *, inputs: Sequence[Path], force: bool) -> None:
    """Fail early (before any work) for outputs that would overwrite something."""
    for i, out in enumerate(outputs):
        for src in inputs:
            if same_path(out, src):
                raise CLIError(
                    f"refusing to overwrite the input {str(out)!r}; choose another output"
                )
        for other in outputs[:i]:
            if same_path(out, other):
                raise CLIError(f"two outputs are the same file {str(out)!r}")
        if (out.exists() or out.is_symlink()) and not force:
            raise CLIError(f"{str(out)!r} exists; use --force to overwrite it")


def check_writable(outputs: Sequence[Path]) -> None:
    """Fail early for outputs whose extension :func:`unblur.io.write_image` cannot write."""
    from ..io import SUPPORTED_WRITE_EXTENSIONS

    for target in outputs:
        if target.suffix.lower() not in SUPPORTED_WRITE_EXTENSIONS:
            raise CLIError(
                f"cannot write {str(target)!r}: unsupported file type "
                f"{target.suffix or '(no extension)'!r} "
                f"(supported: {', '.join(SUPPORTED_WRITE_EXTENSIONS)})"
            )


def split_alpha(image: np.ndarray, info) -> tuple[np.ndarray, np.ndarray | None, int | None]:
    """(colour or grey data, alpha channel or None, channel axis for the API) of a read image."""
    if info.channel_axis is None:
        return image, None, None
    if info.has_alpha:
        return image[..., :-1], image[..., -1:], -1
    return image, None, -1


def with_alpha(image: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """``image`` with the ``alpha`` channel of :func:`split_alpha` put back (if any)."""
    if alpha is None:
        return image
    return np.concatenate([image, alpha.astype(image.dtype, copy=False)], axis=-1)
