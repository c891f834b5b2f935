"""Whether Numba may be used, and whether it is already loaded, without importing it.

Numba compiles the fused loops of :mod:`unblur.restore._kernels`, :mod:`unblur._ssim` and the
report's convergence monitor. Importing it costs about a quarter of a second, so ``import
unblur`` never does: the restorations import it on first use, and the cheaper passes use it
only when a restoration has already paid for it. Setting the environment variable
``UNBLUR_NO_NUMBA`` (to anything non-empty) disables it everywhere: the NumPy code runs.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys

__all__ = ["disabled", "loaded", "usable"]


def disabled() -> bool:
    """Whether ``UNBLUR_NO_NUMBA`` turns Numba off."""
    return bool(os.environ.get("UNBLUR_NO_NUMBA"))


@functools.cache
def _found() -> bool:
    return importlib.util.find_spec("numba") is not None


def usable() -> bool:
    """Whether Numba is installed and not disabled (found without importing it)."""
    return not disabled() and _found()


def loaded() -> bool:
    """Whether Numba is already imported (by a restoration) and not disabled."""
    return not disabled() and "numba" in sys.modules
