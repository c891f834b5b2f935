"""Resource limits, decided before memory is allocated.

Two budgets guard every reader and the command line:

* a pixel budget, :data:`MAX_PIXELS`, checked against the size a file *declares* in its
  header, so a small file that claims to be huge (a "decompression bomb") is refused before
  anything is decoded;
* a memory budget, :func:`memory_budget`: the memory this process can still get (the
  ``MemAvailable`` of the system, a container's cgroup limit, ``RLIMIT_AS``), or less when
  the environment variable ``UNBLUR_MAX_MEMORY`` says so (``"4G"``, ``"512M"``, bytes).
  :func:`check_memory` compares an estimate of what a step needs with it and raises one
  clear error that names the way out (``--chunks`` for images too large to restore in
  memory, a smaller ``size`` for PSFs).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from collections.abc import Iterable

from ..errors import ImageReadError, UnblurError

__all__ = [
    "MAX_PIXELS",
    "WORKING_BYTES_PER_PIXEL",
    "check_memory",
    "format_bytes",
    "memory_budget",
    "restore_memory",
]

#: Largest number of pixels (rows x columns x pages, channels not counted) that
#: :func:`~unblur.io.read_image` accepts. The size a file declares is checked before any pixel
#: data are decoded, so a small file that claims to be huge (a "decompression bomb") is
#: refused cheaply. Set ``unblur.io.MAX_PIXELS`` to change it.
MAX_PIXELS: int = 1 << 29

#: environment variable that caps the memory unblur plans to use (``"4G"``, ``"512M"``, bytes)
MEMORY_VARIABLE = "UNBLUR_MAX_MEMORY"

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


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


def format_bytes(n: float) -> str:
    """``"6.7 GB"``: a byte count for a message (powers of 1000)."""
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"  # pragma: no cover


def _parse_bytes(text: str) -> int | None:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)I?B?\s*", text.upper())
    if match is None:
        return None
    return int(float(match[1]) * _UNITS[match[2]])


def _meminfo_available() -> int | None:
    with contextlib.suppress(OSError, ValueError), open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return None


def _cgroup_available() -> int | None:
    """What a cgroup (v2 or v1) memory limit leaves, if one is set."""
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ):
        with contextlib.suppress(OSError, ValueError):
            with open(limit_file) as fh:
                text = fh.read().strip()
            if text == "max":
                return None
            limit = int(text)
            if limit >= 1 << 60:  # cgroup v1 "no limit"
                return None
            with open(usage_file) as fh:
                usage = int(fh.read().strip())
            return max(0, limit - usage)
    return None


def _rlimit_available() -> int | None:
    with contextlib.suppress(ImportError, OSError, ValueError):
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            return soft
    return None


def memory_budget() -> int:
    """Bytes of memory unblur plans to use at most, for the checks before allocation.

    The lowest of: the memory the system has available (Linux ``MemAvailable``), what a
    container's cgroup limit leaves, the address-space limit (``ulimit -v``), and
    ``$UNBLUR_MAX_MEMORY`` when set (``"4G"``, ``"512M"`` or bytes). Where none is known
    (not Linux), the physical memory size; failing that, no limit.

    Raises
    ------
    InvalidParameterError
        ``$UNBLUR_MAX_MEMORY`` is set but not a size.
    """
    from ..errors import InvalidParameterError

    found = [v for v in (_meminfo_available(), _cgroup_available(), _rlimit_available()) if v]
    if not found:
        with contextlib.suppress(AttributeError, OSError, ValueError):
            found.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    text = os.environ.get(MEMORY_VARIABLE)
    if text:
        cap = _parse_bytes(text)
        if cap is None:
            raise InvalidParameterError(
                f"{MEMORY_VARIABLE}={text!r} is not a size; give bytes or e.g. 4G, 512M"
            )
        found.append(cap)
    return min(found) if found else 1 << 62


def check_memory(
    needed: float, what: str, *, hint: str = "", error: type[UnblurError] = ImageReadError
) -> None:
    """Refuse a step whose estimated memory ``needed`` exceeds :func:`memory_budget`.

    Parameters
    ----------
    needed : float
        Estimated bytes.
    what : str
        The step, as the message starts: ``"cannot read 'x.tif': decoding it"``.
    hint : str
        How to lift the limit, appended after ``"; "`` (e.g. ``"restore it block by block
        with --chunks"``).
    error : type
        The exception class raised.

    Raises
    ------
    UnblurError
        ``error``: ``"<what> needs about 6.7 GB of memory, but 2.1 GB is available; <hint>"``.
    """
    budget = memory_budget()
    if needed > budget:
        capped = f" ({MEMORY_VARIABLE})" if os.environ.get(MEMORY_VARIABLE) else ""
        tail = f"; {hint}" if hint else ""
        raise error(
            f"{what} needs about {format_bytes(needed)} of memory, but "
            f"{format_bytes(budget)} is available{capped}{tail}"
        )


def _check_decoding(q: str, n_values: int, dtype, *, copies: int = 2) -> None:
    """Refuse to decode ``n_values`` samples of ``dtype`` when the decoded data (``copies``
    times: the decoder's buffer, a rearranged copy) and their float32 conversion (integers
    only) would not fit in memory."""
    import numpy as np

    dtype = np.dtype(dtype)
    needed = n_values * dtype.itemsize * copies + (0 if dtype.kind == "f" else n_values * 4)
    check_memory(
        needed,
        f"cannot read {q}: decoding it",
        hint="cut it into smaller files, or restore it block by block (--chunks, unblur.dask)",
    )


#: Peak working memory of each restoration method, in bytes per pixel of one float32
#: channel (float64 doubles it), with the default parameters: measured with tracemalloc on
#: 512 x 512 and 1024 x 1024 images (see docs/notes/limits.md), rounded up. A method not
#: listed is assumed to need as much as the hungriest one.
WORKING_BYTES_PER_PIXEL: dict[str, int] = {
    "inverse": 28,
    "richardson_lucy": 28,
    "landweber": 32,
    "tikhonov": 48,
    "wiener": 80,
    "tv": 160,
    "hyper_laplacian": 160,
    "pnp": 170,
}


def restore_memory(n_pixels: int, n_channels: int, itemsize: int, method: str) -> int:
    """Estimated peak memory of restoring an image in memory, in bytes.

    The image is held three times whole (as read, as floats, restored) and one channel at a
    time is restored with the method's working memory (:data:`WORKING_BYTES_PER_PIXEL`).
    """
    size = max(int(itemsize), 4)
    per_pixel = WORKING_BYTES_PER_PIXEL.get(method, max(WORKING_BYTES_PER_PIXEL.values()))
    return int(n_pixels * n_channels * size * 3 + n_pixels * per_pixel * size / 4)
