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

from . import metrics, psf
from ._version import __version__
from .api import deconvolve
from .blind import estimate_psf
from .errors import (
    BackendUnavailableError,
    ImageReadError,
    ImageWriteError,
    InvalidImageError,
    InvalidParameterError,
    InvalidPSFError,
    UnblurError,
    UnknownMethodError,
)
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
    "__version__",
    "add_noise",
    "available_methods",
    "blur",
    "deconvolve",
    "estimate_psf",
    "metrics",
    "psf",
]
