"""Blind deconvolution: estimate the PSF from the blurred image alone.

:func:`estimate_psf` is the dispatcher behind ``unblur.estimate_psf``: it validates the input,
prepares the observation as a camera recorded it (:mod:`unblur.blind._data`: sRGB input
linearised, colour averaged to grey since one kernel serves every channel, clipped pixels
marked) and hands it to a model:

``gaussian``, ``motion``, ``disk``
    Parametric blurs, read off the power spectrum (:mod:`unblur.blind.parametric`).
``free``
    Free-form (camera-shake) kernels, estimated coarse-to-fine with an L0 prior on the
    latent image (:mod:`unblur.blind.kernel`).
``auto``
    Both, keeping the one the data support (:mod:`unblur.blind.auto`): the default, so that
    camera shake, the most common blur of photographs, is found without being asked for.

Every estimate is then judged (:mod:`unblur.blind.confidence`): ``info["confidence"]`` says
whether the data could determine it, ``info["reasons"]`` why not, and ``info["warning"]``
says so in one line.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import InvalidParameterError, UnknownMethodError
from ._data import ENCODINGS, prepare, saturated_pixels
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
    "saturated_pixels",
]

#: Every model name :func:`estimate_psf` accepts (``free``: free-form kernels).
MODELS = ("auto", *PARAMETRIC_MODELS, "free")

_ESTIMATORS = {"gaussian": estimate_gaussian, "motion": estimate_motion, "disk": estimate_disk}


# The options of estimate_kernel that estimate_psf passes on (model="free").
_FREE_OPTIONS = tuple(
    name
    for name, p in inspect.signature(estimate_kernel).parameters.items()
    if p.kind is inspect.Parameter.KEYWORD_ONLY
    and name not in ("callback", "info", "saturated", "noise")
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

    With no other argument this is the call for a photograph: the data model is that of a
    camera (8-bit input is sRGB-encoded and is linearised first; clipped highlights are kept
    out of the fit; a colour image is averaged to grey, one kernel serving every channel),
    the model is chosen from the data and the kernel sized by the estimator; ``info`` says
    which model, which size and why, and whether the estimate deserves trust.

    ``model`` chooses the estimator:

    * ``"auto"`` (default): the parametric fits below *and* a free-form kernel (size found
      from the data), keeping the free-form kernel when it is stable across the pyramid's
      scales, two windows of the image agree on it, and its shape differs from the best
      parametric model's (camera shake), the parametric model otherwise (see
      :mod:`unblur.blind.auto`);
    * ``"gaussian"``: :math:`\sigma` of a Gaussian blur
      (:func:`~unblur.blind.parametric.estimate_gaussian`);
    * ``"motion"``: length and angle of a straight-line motion
      (:func:`~unblur.blind.parametric.estimate_motion`);
    * ``"disk"``: radius of a defocus disk (:func:`~unblur.blind.parametric.estimate_disk`);
    * ``"free"``: a free-form (camera-shake) kernel only, estimated coarse-to-fine with an L0
      intensity-and-gradient prior on the latent image (Pan et al. 2014;
      :func:`~unblur.blind.kernel.estimate_kernel`).

    The parametric estimators fit the log power spectrum of the observation with the model's
    transfer function on a power-law image spectrum plus a white-noise floor; see
    :mod:`unblur.blind.parametric` for the maths.

    Parameters
    ----------
    image : numpy.ndarray
        Blurred image: 2-D grey, or colour with ``channel_axis``; at least 32 x 32. Integer
        images are scaled to [0, 1]. The parametric fits use the central 512 x 512 crop; the
        free-form estimator a textured window (see :func:`~unblur.blind.kernel.estimate_kernel`
        for large images).
    size : int or (int, int), optional
        Odd side of the returned PSF (an even value is rounded up to the next odd one); it also
        bounds the blur the search considers. Default: found from the data (the parametric
        model's own size; the free-form kernel's extent). A pair ``(h, w)`` for ``"free"`` and
        ``"auto"``.
    model : str, optional
        ``"auto"``, ``"gaussian"``, ``"motion"``, ``"disk"`` or ``"free"``.
    channel_axis : int, optional
        Axis of colour channels; they are averaged (in linear light) before estimation.
    encoding : {"auto", "srgb", "linear"}, optional
        Transfer function of the values: ``"srgb"`` linearises them first
        (:func:`unblur.colour.srgb_to_linear`), ``"linear"`` uses them as they are; ``"auto"``
        takes 8-bit images as sRGB photographs and everything else as linear (see
        :mod:`unblur.blind._data`).
    info : dict, optional
        Receives ``model`` (the model used), ``parameters`` (its fitted values, empty for
        ``"free"``), ``size``, ``encoding`` and ``encoding_reason``, ``saturated_fraction``,
        ``confidence`` (``"high"`` or ``"low"``), ``reasons`` (why it is low, with what to
        try), ``warning`` (None, or one line saying that a restoration with this PSF may be
        worse than the input, and why) and ``checks`` (the evidence, see
        :mod:`unblur.blind.confidence`). ``"auto"`` adds ``reason`` (why this model),
        ``scores`` (per parametric model and ``"free"``:
        ``bic``, ``rss``, ...), ``evidence`` and ``candidates``; the parametric models add
        ``crop_shape`` and ``noise_sigma``; ``"free"`` adds ``levels``, ``window``, ``scale``
        and ``size_estimated``.
    callback : callable, optional
        ``"free"`` and ``"auto"``: called as ``callback(level, kernel)`` after every pyramid
        level of the free-form estimator.
    **options
        ``"free"`` and ``"auto"``: further keyword arguments of
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
        ``size`` is not an integer >= 3 or is larger than the image; bad ``channel_axis`` or
        ``encoding``; an option the model does not take.

    References
    ----------
    J. P. Oliveira, M. A. T. Figueiredo, J. M. Bioucas-Dias, "Parametric blur estimation for
    blind restoration of natural images: linear motion and out-of-focus", IEEE TIP 23(1), 2014.
    M. Cannon, "Blind deconvolution of spatially invariant image blurs with phase", IEEE Trans.
    ASSP 24(1), 1976.
    J. Pan, Z. Hu, Z. Su, M.-H. Yang, "Deblurring text images via L0-regularized intensity
    and gradient prior", IEEE CVPR 2014.
    O. Whyte, J. Sivic, A. Zisserman, "Deblurring shaken and partially saturated images",
    IJCV 110(2), 2014.

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
            x, size, saturated=obs.saturated, noise=obs.noise, callback=callback,
            info=details, **options,
        )  # fmt: skip
        details.update(model="free", parameters={})
    elif model == "auto":
        k = estimate_auto(
            x, size, saturated=obs.saturated, noise=obs.noise, callback=callback,
            info=details, **options,
        )  # fmt: skip
    else:
        k = _ESTIMATORS[model](x, size=size, info=details)
    if info is not None:
        checks = details.pop("checks", None)
        if details.get("model") != "free" or checks is None:
            checks = image_checks(_central(x), obs.noise)
        checks.update(details.pop("fallback_checks", {}))
        if details.get("model") == "gaussian" and "blur_evidence" in details:
            checks["blur_evidence"] = details["blur_evidence"]
        checks.update(kernel_checks(k))
        info.update(details)
        info.update(
            encoding=obs.encoding,
            encoding_reason=obs.reason,
            saturated_fraction=0.0 if obs.saturated is None else float(obs.saturated.mean()),
            noise_sigma_linear=obs.noise,
            **assess(checks),
        )
    return k


def _central(x: np.ndarray, side: int = 512) -> np.ndarray:
    starts = [(n - min(n, side)) // 2 for n in x.shape]
    return x[tuple(slice(s, s + min(n, side)) for s, n in zip(starts, x.shape, strict=True))]
