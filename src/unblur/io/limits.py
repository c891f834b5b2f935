"""Size limits, checked from a file's header before any pixel is decoded."""

from __future__ import annotations

import math
from collections.abc import Iterable

from ..errors import ImageReadError

#: Largest number of pixels (rows x columns x pages, channels not counted) that
#: :func:`~unblur.io.read_image` accepts. The size a file declares is checked before any pixel
#: data are decoded, so a small file that claims to be huge (a "decompression bomb") is
#: refused cheaply. Set ``unblur.io.MAX_PIXELS`` to change it.
MAX_PIXELS: int = 1 << 29


def _max_pixels() -> int:
    """The current limit: ``unblur.io.MAX_PIXELS`` (which users may change)."""
    import unblur.io

    return int(getattr(unblur.io, "MAX_PIXELS", MAX_PIXELS))


def _check_pixels(q: str, dims: Iterable[int]) -> None:
    """Refuse a declared size that is empty or larger than MAX_PIXELS (before decoding)."""
    dims = tuple(int(d) for d in dims)
    n = math.prod(dims)
    if n == 0:
        raise ImageReadError(f"cannot read {q}: the image has zero size (shape {dims})")
    limit = _max_pixels()
    if n > limit:
        size = " x ".join(str(d) for d in dims)
        raise ImageReadError(
            f"cannot read {q}: the image is too large ({size} = {n} pixels; "
            f"the limit is MAX_PIXELS = {limit})"
        )
