"""Blind deconvolution: estimate the PSF from the blurred image alone.

:func:`estimate_psf` is the dispatcher behind ``unblur.estimate_psf``: it validates the input,
turns a colour image into grey (one kernel serves every channel) and hands it to a model:

``gaussian``, ``motion``, ``disk``
    Parametric blurs, read off the power spectrum (:mod:`unblur.blind.parametric`).
``auto``
    Fits every parametric model and keeps the one with the smallest Bayesian information
    criterion of its spectral fit (:func:`~unblur.blind.parametric.estimate_parametric`).
``free``
    Free-form (camera-shake) kernels, estimated coarse-to-fine with an L0 prior on the
    latent image (:func:`~unblur.blind.kernel.estimate_kernel`). ``auto`` keeps to the
    parametric models: the free kernel costs seconds rather than a fraction of one, needs a
    support, and on the Levin et al. (2009) benchmark it does not yet beat the parametric
    fits reliably (``benchmarks/levin_blind.py``), so a choice between them would need a
    criterion validated on real data first.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import InvalidParameterError, UnknownMethodError
from ._data import ENCODINGS, prepare
from .auto import estimate_auto
from .confidence import assess, image_checks, kernel_checks
from .kernel import estimate_kernel
from .parametric import (
    PARAMETRIC_MODELS,
    estimate_disk,
    estimate_gaussian,
    estimate_motion,
    estimate_parametric,
)

__all__ = [
    "ENCODINGS",
    "MODELS",
    "estimate_disk",
    "estimate_gaussian",
    "estimate_kernel",
    "estimate_motion",
    "estimate_parametric",
    "estimate_psf",
]

#: Every model name :func:`estimate_psf` accepts (``free``: free-form kernels).
MODELS = ("auto", *PARAMETRIC_MODELS, "free")

_ESTIMATORS = {"gaussian": estimate_gaussian, "motion": estimate_motion, "disk": estimate_disk}


# The options of estimate_kernel that estimate_psf passes on (model="free").
_FREE_OPTIONS = tuple(
    name
    for name, p in inspect.signature(estimate_kernel).parameters.items()
    if p.kind is inspect.Parameter.KEYWORD_ONLY and name not in ("callback", "info", "saturated")
)


def _check_options(model: str, options: dict[str, Any]) -> None:
    """Options are for the free-form estimator (``free`` and ``auto``), names it takes."""
    names = ", ".join(sorted(options))
    if model not in ("free", "auto"):
        raise InvalidParameterError(
            f"model {model!r} takes no options (got {names}); options are for model='free' "
            "(and 'auto', which runs it)"
        )
    unknown = sorted(set(options) - set(_FREE_OPTIONS))
    if unknown:
        raise InvalidParameterError(
            f"unknown option(s) for model={model!r}: {', '.join(unknown)}; "
            f"available: {', '.join(_FREE_OPTIONS)}"
        )


def estimate_psf(
    image: np.ndarray,
    size: int | None = None,
    model: str = "auto",
    *,
    channel_axis: int | None = None,
    encoding: str = "auto",
    info: dict[str, Any] | None = None,
    callback: Callable[[int, np.ndarray], Any] | None = None,
    **options: Any,
) -> np.ndarray:
    r"""Estimate the blur kernel (PSF) of an image from the image alone.

    A colour image is first averaged over its channels (the blur is assumed the same in every
    channel, so one grey image carries it); then ``model`` chooses the estimator:

    * ``"gaussian"``: :math:`\sigma` of a Gaussian blur
      (:func:`~unblur.blind.parametric.estimate_gaussian`);
    * ``"motion"``: length and angle of a straight-line motion
      (:func:`~unblur.blind.parametric.estimate_motion`);
    * ``"disk"``: radius of a defocus disk (:func:`~unblur.blind.parametric.estimate_disk`);
    * ``"auto"``: all three, keeping the one whose spectral model has the smallest Bayesian
      information criterion :math:`n\log(\mathrm{RSS}/n) + k\log n`
      (:func:`~unblur.blind.parametric.estimate_parametric`);
    * ``"free"``: a free-form (camera-shake) kernel, estimated coarse-to-fine with an L0
      intensity-and-gradient prior on the latent image (Pan et al. 2014;
      :func:`~unblur.blind.kernel.estimate_kernel`). ``auto`` does not try it (see
      :mod:`unblur.blind`).

    Every estimator fits the log power spectrum of the observation with the model's transfer
    function on a power-law image spectrum plus a white-noise floor; see
    :mod:`unblur.blind.parametric` for the maths.

    Parameters
    ----------
    image : numpy.ndarray
        Blurred image: 2-D grey, or colour with ``channel_axis``; at least 32 x 32. Integer
        images are scaled to [0, 1]. Large images are analysed on their central 512 x 512 crop.
    size : int or (int, int), optional
        Odd side of the returned PSF (an even value is rounded up to the next odd one); it also
        bounds the blur the search considers. Default: the fitted model's own size; for
        ``"free"``, found by trimming a generous estimate (see
        :func:`~unblur.blind.kernel.estimate_kernel`). A pair ``(h, w)`` only for ``"free"``.
    model : str, optional
        ``"auto"``, ``"gaussian"``, ``"motion"``, ``"disk"`` or ``"free"``.
    channel_axis : int, optional
        Axis of colour channels; they are averaged before estimation.
    info : dict, optional
        Receives ``model`` (the model used), ``parameters`` (its fitted values), ``size``,
        ``crop_shape``, ``noise_sigma`` and, for ``"auto"``, ``scores`` (per model: fitted
        ``parameters``, ``bic``, ``rss``) and ``criterion``. For ``"free"``: ``model``,
        ``parameters`` (empty), ``size``, ``levels``, ``window``, ``size_estimated``.
    callback : callable, optional
        ``"free"`` only: called as ``callback(level, kernel)`` after every pyramid level.
    **options
        ``"free"`` only: further keyword arguments of
        :func:`~unblur.blind.kernel.estimate_kernel` (``num_iter``, ``refine_iter``,
        ``max_side``, ...). The parametric models take none.

    Returns
    -------
    numpy.ndarray
        The PSF: float64, odd sides, sums to one.

    Raises
    ------
    UnknownMethodError
        ``model`` is not one of :data:`MODELS`.
    InvalidImageError
        The grey image is not 2-D, is smaller than 32 x 32, has NaN/inf, or is flat.
    InvalidParameterError
        ``size`` is not an integer >= 3 or is larger than the image; bad ``channel_axis``;
        an option the model does not take.

    References
    ----------
    J. P. Oliveira, M. A. T. Figueiredo, J. M. Bioucas-Dias, "Parametric blur estimation for
    blind restoration of natural images: linear motion and out-of-focus", IEEE TIP 23(1), 2014.
    M. Cannon, "Blind deconvolution of spatially invariant image blurs with phase", IEEE Trans.
    ASSP 24(1), 1976.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage.data import camera
    >>> from unblur import add_noise, blur, psf
    >>> from unblur.blind import estimate_psf
    >>> x = camera().reshape(256, 2, 256, 2).mean(axis=(1, 3)) / 255
    >>> y = add_noise(blur(x, psf.motion(11, angle=75)), gaussian=0.01, rng=0)
    >>> info = {}
    >>> k = estimate_psf(y, info=info)
    >>> info["model"], round(float(k.sum()), 6)
    ('motion', 1.0)
    """
    if not isinstance(model, str) or model not in MODELS:
        raise UnknownMethodError(f"unknown PSF model {model!r}; available: {', '.join(MODELS)}")
    if options:
        _check_options(model, options)
    obs = prepare(image, channel_axis, encoding)
    x = obs.grey
    details: dict[str, Any] = {}
    if model == "free":
        k = estimate_kernel(
            x, size, saturated=obs.saturated, callback=callback, info=details, **options
        )
        details.update(model="free", parameters={})
    elif model == "auto":
        k = estimate_auto(
            x, size, saturated=obs.saturated, callback=callback, info=details, **options
        )
    else:
        k = _ESTIMATORS[model](x, size=size, info=details)
    if info is not None:
        checks = details.pop("checks", None)
        if details.get("model") != "free" or checks is None:
            checks = image_checks(_central(x))
        checks.update(kernel_checks(k))
        info.update(details)
        info.update(
            encoding=obs.encoding,
            encoding_reason=obs.reason,
            saturated_fraction=0.0 if obs.saturated is None else float(obs.saturated.mean()),
            **assess(checks),
        )
    return k


def _central(x: np.ndarray, side: int = 512) -> np.ndarray:
    starts = [(n - min(n, side)) // 2 for n in x.shape]
    return x[tuple(slice(s, s + min(n, side)) for s, n in zip(starts, x.shape, strict=True))]
