"""Array backends: the same algorithms on NumPy (CPU) or CuPy (CUDA GPU).

A :class:`Backend` bundles an array module ``xp`` (``numpy`` or ``cupy``), its FFT module
(``scipy.fft`` or ``cupyx.scipy.fft``) and the transfers between host memory and the device.
:func:`unblur.deconvolve` moves the image and the PSF to the backend of ``device=``, runs the
method there and brings the result back, so the public API stays numpy-first.

The code below the dispatcher is written once for every backend:

* arrays are created with the module of an input (:func:`array_module`, or NumPy's ``*_like``
  functions, which CuPy arrays dispatch through ``__array_function__``), never with a bare
  ``np.zeros(shape)``, which would allocate on the host;
* NumPy ufuncs (``np.add(a, b, out=a)``) run on CuPy arrays through ``__array_ufunc__``, but
  without ``where=`` (CuPy does not support it);
* transforms go through :mod:`unblur.fft`, which calls the backend's FFT;
* whatever runs on the host (SciPy optimisers, the noise estimate) receives :func:`to_numpy`
  copies, and what it returns goes back with ``xp.asarray``.

Devices: ``"cpu"`` (NumPy, always available), ``"cuda"`` (CuPy; needs the ``cuda`` extra,
``pip install unblur[cuda]``, and a CUDA GPU) and ``"auto"`` (``cuda`` when it is usable,
``cpu`` otherwise). :func:`register_backend` adds others (the tests add a strict CPU stand-in
for a device).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import scipy.fft

from .errors import BackendUnavailableError, InvalidParameterError

__all__ = [
    "DEVICES",
    "Backend",
    "array_module",
    "backend_of",
    "get_backend",
    "register_backend",
    "to_numpy",
]

logger = logging.getLogger("unblur")

#: the devices accepted by ``device=`` (more can be registered)
DEVICES = ("auto", "cpu", "cuda")

CUDA_HINT = "device='cuda' needs CuPy and a CUDA GPU: pip install unblur[cuda] (cupy-cuda12x)"


@dataclass(frozen=True)
class Backend:
    """An array module and its FFT on one kind of device.

    Attributes
    ----------
    name : str
        The device name (``"cpu"``, ``"cuda"``, ...).
    xp : module
        The NumPy-compatible array module (``numpy``, ``cupy``).
    fft : module
        The matching ``scipy.fft``-compatible module (``rfftn``, ``irfftn``).
    array_type : type
        The class of this backend's arrays (``numpy.ndarray``, ``cupy.ndarray``).
    to_device : callable
        Host array -> array on the device (a copy, or the array itself on the CPU).
    to_host : callable
        Device array -> ``numpy.ndarray``.
    """

    name: str
    xp: Any
    fft: Any
    array_type: type
    to_device: Callable[[Any], Any]
    to_host: Callable[[Any], np.ndarray]

    @property
    def is_cpu(self) -> bool:
        """True for the NumPy backend (nothing to transfer)."""
        return self.xp is np


CPU = Backend("cpu", np, scipy.fft, np.ndarray, np.asarray, np.asarray)

_factories: dict[str, Callable[[], Backend]] = {}
_loaded: dict[str, Backend] = {"cpu": CPU}


def register_backend(name: str, factory: Callable[[], Backend]) -> None:
    """Make ``device=name`` available; ``factory`` builds the :class:`Backend` on first use.

    The factory raises :class:`~unblur.errors.BackendUnavailableError` when the device cannot
    be used (library missing, no hardware).
    """
    _factories[name] = factory
    _loaded.pop(name, None)


def _cuda() -> Backend:
    """CuPy on the current CUDA device (imports CuPy lazily)."""
    try:
        import cupy
        import cupyx.scipy.fft as cufft
    except ImportError as exc:
        raise BackendUnavailableError(f"{CUDA_HINT}; CuPy is not installed ({exc})") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDARuntimeError, missing driver library, ...
        raise BackendUnavailableError(f"{CUDA_HINT}; no usable GPU ({exc})") from None
    if count < 1:
        raise BackendUnavailableError(f"{CUDA_HINT}; no GPU found")
    return Backend("cuda", cupy, cufft, cupy.ndarray, cupy.asarray, cupy.asnumpy)


register_backend("cuda", _cuda)


def get_backend(device: str | Backend = "cpu") -> Backend:
    """The :class:`Backend` of ``device``.

    Parameters
    ----------
    device : str or Backend
        ``"cpu"``, ``"cuda"``, ``"auto"`` (``cuda`` when usable, else ``cpu``) or a name given
        to :func:`register_backend`. A :class:`Backend` is returned as it is.

    Raises
    ------
    BackendUnavailableError
        ``"cuda"`` without CuPy or without a GPU (the message says what to install).
    InvalidParameterError
        An unknown device name.
    """
    if isinstance(device, Backend):
        return device
    if not isinstance(device, str):
        raise InvalidParameterError(f"device must be a string, got {device!r}")
    name = device.lower()
    if name == "auto":
        try:
            return get_backend("cuda")
        except BackendUnavailableError as exc:
            logger.info("device='auto': running on the CPU (%s)", exc)
            return CPU
    if name in _loaded:
        return _loaded[name]
    if name not in _factories:
        known = ", ".join(sorted({*DEVICES, *_factories}))
        raise InvalidParameterError(f"unknown device {device!r}; choose one of {known}")
    backend = _factories[name]()
    _loaded[name] = backend
    return backend


def backend_of(x: Any) -> Backend:
    """The backend whose array type ``x`` is (NumPy for anything else: scalars, lists)."""
    if isinstance(x, np.ndarray | np.generic):
        return CPU
    for backend in _loaded.values():
        if isinstance(x, backend.array_type):
            return backend
    module = type(x).__module__.split(".")[0]
    if module == "cupy":  # a CuPy array made before the CUDA backend was first asked for
        return get_backend("cuda")
    return CPU


def array_module(x: Any) -> ModuleType:
    """The array module (``numpy``, ``cupy``, ...) to create arrays that go with ``x``."""
    return backend_of(x).xp


def to_numpy(x: Any) -> np.ndarray:
    """``x`` as a ``numpy.ndarray`` in host memory (no copy when it already is one)."""
    if isinstance(x, np.ndarray):
        return x
    return backend_of(x).to_host(x)
