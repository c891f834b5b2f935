"""The public entry point for restoration: validate, dispatch to a method, handle colour."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ._validate import as_float_image, check_channel_axis, check_psf
from .errors import InvalidParameterError
from .forward import _per_channel
from .operators import BOUNDARIES
from .restore import get_method

__all__ = ["DEFAULT_METHOD", "deconvolve"]

logger = logging.getLogger("unblur")

#: the method ``method="auto"`` resolves to until per-input selection lands
DEFAULT_METHOD = "wiener"


def deconvolve(
    image: np.ndarray,
    psf: np.ndarray,
    method: str = "auto",
    *,
    boundary: str | None = None,
    channel_axis: int | None = None,
    callback: Callable[[int, np.ndarray], None] | None = None,
    return_info: bool = False,
    **params: Any,
) -> np.ndarray | tuple[np.ndarray, dict[str, Any]]:
    """Restore a blurred image whose PSF is known.

    Parameters
    ----------
    image : numpy.ndarray
        Blurred nD image (2-D, 3-D stack, or colour with ``channel_axis``). Integer images are
        scaled to [0, 1]; float32 stays float32 and float64 stays float64.
    psf : numpy.ndarray
        PSF with one dimension per spatial axis; normalised to sum to one.
    method : str, optional
        A name from :func:`unblur.available_methods` (``"inverse"``, ...), or ``"auto"``.
    boundary : str, optional
        Boundary model: ``periodic``, ``reflect``, ``taper`` or ``unknown`` (see
        :mod:`unblur.operators`). Default: the method's own default.
    channel_axis : int, optional
        Axis of colour channels; every channel is restored with the same PSF.
    callback : callable, optional
        For iterative methods, called as ``callback(iteration, estimate)`` after each step.
    return_info : bool, optional
        Also return a dict with the method used, every parameter (automatic ones included)
        and the run time in seconds.
    **params
        The method's own parameters (see each method's documentation).

    Returns
    -------
    restored : numpy.ndarray
        The restored image, with the input's shape.
    info : dict
        Only with ``return_info=True``.

    Raises
    ------
    UnblurError
        For bad input: NaN, a PSF of zero sum or larger than the image, wrong dimensions, an
        unknown method or parameter.

    Examples
    --------
    >>> import numpy as np
    >>> from unblur import blur, deconvolve, psf
    >>> x = np.random.default_rng(1).random((48, 48))
    >>> k = psf.motion(7, angle=30)
    >>> y = blur(x, k, boundary="periodic")
    >>> x_hat = deconvolve(y, k, method="inverse")
    >>> bool(np.allclose(x_hat, x, atol=1e-6))
    True
    """
    x = as_float_image(image)
    axis = check_channel_axis(x.ndim, channel_axis)
    spatial = x.shape if axis is None else x.shape[:axis] + x.shape[axis + 1 :]
    k = check_psf(psf, spatial)
    name = DEFAULT_METHOD if method == "auto" else method
    chosen = get_method(name)
    accepted = chosen.parameters
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise InvalidParameterError(
            f"method {name!r} has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters are: {', '.join(accepted)}"
        )
    if boundary is not None:
        if boundary not in BOUNDARIES:
            raise InvalidParameterError(
                f"unknown boundary {boundary!r}; choose one of {', '.join(BOUNDARIES)}"
            )
        params["boundary"] = boundary
    info: dict[str, Any] = {}
    if chosen.iterative and callback is not None:
        params["callback"] = callback
    logger.info("deconvolve: method %s%s", name, " (auto)" if method == "auto" else "")
    start = time.perf_counter()
    restored = _per_channel(x, axis, lambda c: chosen.func(c, k, info=info, **params))
    elapsed = time.perf_counter() - start
    if not return_info:
        return restored
    settings = {n: p.default for n, p in accepted.items()}
    settings.update({n: v for n, v in params.items() if n != "callback"})
    settings.update(info)
    return restored, {
        "method": name,
        "auto": method == "auto",
        "parameters": settings,
        "seconds": elapsed,
    }
