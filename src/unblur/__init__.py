"""unblur: remove blur from images.

A numpy-first toolkit: PSF models (:mod:`unblur.psf`), a forward model (:func:`blur`,
:func:`add_noise`) and restoration (:func:`deconvolve`) with a registry of methods.

Examples
--------
>>> import numpy as np
>>> import unblur
>>> from unblur import psf
>>> x = np.random.default_rng(0).random((64, 64)).astype(np.float32)
>>> k = psf.gaussian(sigma=1.5)
>>> y = unblur.blur(x, k, boundary="periodic")
>>> x_hat = unblur.deconvolve(y, k, method="inverse")
>>> x_hat.shape, x_hat.dtype
((64, 64), dtype('float32'))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._version import __version__
from .errors import (
    BackendUnavailableError,
    ImageReadError,
    ImageWriteError,
    InvalidImageError,
    InvalidParameterError,
    InvalidPSFError,
    UnblurError,
    UnknownMethodError,
    ValueRangeWarning,
)

if TYPE_CHECKING:  # what the names below resolve to, for type checkers and editors
    from . import metrics, psf
    from .api import deconvolve, estimate_psf
    from .forward import add_noise, blur
    from .restore import available_methods

__all__ = [
    "BackendUnavailableError",
    "ImageReadError",
    "ImageWriteError",
    "InvalidImageError",
    "InvalidPSFError",
    "InvalidParameterError",
    "UnblurError",
    "UnknownMethodError",
    "ValueRangeWarning",
    "__version__",
    "add_noise",
    "available_methods",
    "blur",
    "deconvolve",
    "estimate_psf",
    "metrics",
    "psf",
]

# Imported on first use (PEP 562), so that ``import unblur`` and every command start fast:
# the PSF models, the metrics (scikit-image, scipy.ndimage and scipy.stats), blind estimation
# (scipy.signal) and the restoration methods (Numba) are loaded by what needs them. Every
# subpackage (``unblur.io``, ``unblur.restore``, ...) is reachable as an attribute, as it was
# when ``import unblur`` loaded them all.
_LAZY = {
    "deconvolve": ("api", "deconvolve"),
    "estimate_psf": ("api", "estimate_psf"),
    "add_noise": ("forward", "add_noise"),
    "blur": ("forward", "blur"),
    "available_methods": ("restore", "available_methods"),
}


def __getattr__(name: str):
    import importlib
    import importlib.util

    if name in _LAZY:
        module_name, attribute = _LAZY[name]
        value = getattr(importlib.import_module(f"{__name__}.{module_name}"), attribute)
    elif not name.startswith("__") and importlib.util.find_spec(f"{__name__}.{name}"):
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
