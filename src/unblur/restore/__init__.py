"""Non-blind restoration methods and the registry that ``unblur.deconvolve`` dispatches on.

Each method lives in its own module as a plain function ``method(image, psf, **params)`` that
takes one float nD image (no channel axis) and a normalised PSF and returns an array of the
image's shape and dtype. A method registers itself with :func:`register`; the public
dispatcher :func:`unblur.deconvolve` validates the input, handles colour channels and looks the
method up here.

Conventions every method follows: keyword-only parameters named as in scikit-image
(``num_iter``, ``balance``, ``clip``); ``boundary`` one of :data:`unblur.operators.BOUNDARIES`;
an optional ``info`` dict into which the method writes the parameters it chose automatically;
iterative methods take ``callback(iteration, estimate)``.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidParameterError, UnknownMethodError
from ..operators import Boundary

__all__ = [
    "METHODS",
    "Method",
    "Resolved",
    "available_methods",
    "direct_boundary",
    "get_method",
    "register",
    "resolve",
]


@dataclass(frozen=True)
class Method:
    """A registered restoration method."""

    name: str
    func: Callable
    summary: str
    iterative: bool = False
    #: runs on any array backend (CuPy on a GPU), see :mod:`unblur.backend`
    gpu: bool = False

    @property
    def parameters(self) -> dict[str, inspect.Parameter]:
        """The method's own keyword parameters (everything after ``image, psf``)."""
        params = list(inspect.signature(self.func).parameters.values())[2:]
        return {p.name: p for p in params if p.name not in {"info", "callback"}}


METHODS: dict[str, Method] = {}


def register(
    name: str, *, iterative: bool = False, gpu: bool = False
) -> Callable[[Callable], Callable]:
    """Decorator that adds a method function to :data:`METHODS` under ``name``.

    ``gpu=True`` declares that the method runs unchanged on device arrays (CuPy): it creates
    arrays with its input's module and sends host-only work through
    :func:`unblur.backend.to_numpy` (see :mod:`unblur.backend`).
    """

    def decorate(func: Callable) -> Callable:
        doc = inspect.getdoc(func) or ""
        METHODS[name] = Method(name, func, doc.splitlines()[0] if doc else name, iterative, gpu)
        return func

    return decorate


@functools.cache
def _load() -> None:
    """Import every module of this package (once); each registers its methods."""
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


def available_methods() -> list[str]:
    """Names of every registered method, sorted."""
    _load()
    return sorted(METHODS)


def get_method(name: str) -> Method:
    """The registered :class:`Method` called ``name``.

    Raises
    ------
    UnknownMethodError
        If no method has that name; the message lists the available ones.
    """
    _load()
    try:
        return METHODS[name]
    except KeyError:
        raise UnknownMethodError(
            f"unknown method {name!r}; available: {', '.join(available_methods())}"
        ) from None


@dataclass(frozen=True)
class Resolved:
    """What a method name resolves to for one image: see :func:`resolve`."""

    #: the registered name that runs
    name: str
    method: Method
    #: why ``auto`` chose it (``None`` when the name was given)
    reason: str | None = None
    #: the method's parameters as given (checked against its signature)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def auto(self) -> bool:
        """Whether the method was chosen by ``auto``."""
        return self.reason is not None


def resolve(
    method: str, spatial_shape: Sequence[int], params: Mapping[str, Any] | None = None
) -> Resolved:
    """The method that ``method`` names for an image of ``spatial_shape``, parameters checked.

    The one place where ``"auto"`` is resolved (:func:`unblur.restore.auto.choose_method`) and
    the parameters are checked against the method's signature; :func:`unblur.deconvolve` and
    :func:`unblur.dask.deconvolve` both use it.

    Parameters
    ----------
    method : str
        A registered name, ``"auto"`` (the strongest default) or ``"fast"`` (one transform
        pair), see :mod:`unblur.restore.auto`.
    spatial_shape : sequence of int
        Shape of one channel of the image (what one solve sees).
    params : mapping, optional
        The method's own keyword parameters.

    Returns
    -------
    Resolved
        ``name``, ``method``, ``reason`` (for ``auto``) and ``params``.

    Raises
    ------
    UnknownMethodError
        For a name that is not registered (or not a string); the message lists the methods.
    InvalidParameterError
        For a parameter the method does not have; the message lists its parameters.

    Examples
    --------
    >>> resolve("wiener", (64, 64), {"balance": 0.01}).name
    'wiener'
    >>> resolve("auto", (255, 255)).auto
    True
    """
    params = dict(params or {})
    if not isinstance(method, str):
        raise UnknownMethodError(
            f"method must be a name, got {type(method).__name__}; "
            f"available: auto, fast, {', '.join(available_methods())}"
        )
    reason = None
    from .auto import ALIASES, choose_method

    if method in ALIASES:
        name, reason = choose_method(spatial_shape, method)
    else:
        name = method
    chosen = get_method(name)
    accepted = chosen.parameters
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise InvalidParameterError(
            f"method {name!r} has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters are: {', '.join(accepted)}"
        )
    return Resolved(name, chosen, reason, params)


def direct_boundary(method: str, mode: str, image: np.ndarray, psf: np.ndarray) -> Boundary:
    """The :class:`~unblur.operators.Boundary` for a direct (non-iterative) Fourier method.

    Direct methods solve on the whole grid at once, so they cannot leave the pixels outside the
    observation free: ``unknown`` is refused with a message pointing to the iterative methods.
    """
    if mode == "unknown":
        raise InvalidParameterError(
            f"boundary='unknown' needs an iterative method; {method} supports periodic, "
            "reflect and taper"
        )
    return Boundary.create(mode, image.shape, psf, dtype=image.dtype)
