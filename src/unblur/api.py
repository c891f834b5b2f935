"""The public entry point for restoration: validate, dispatch to a method, handle colour."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ._checks import (
    as_float_image,
    check_bool,
    check_callable,
    check_channel_axis,
    check_encoding,
    check_psf,
    check_text,
)
from .backend import Backend, array_module, get_backend
from .colour import check_color, linear_to_srgb, restore_colour, split_alpha, srgb_to_linear
from .errors import InvalidImageError, InvalidParameterError, InvalidPSFError
from .operators import BOUNDARIES
from .psf import PSFField
from .restore import Method, available_methods, get_method, resolve
from .restore.auto import DEFAULT_METHOD

__all__ = ["DEFAULT_METHOD", "deconvolve", "estimate_psf"]

logger = logging.getLogger("unblur")


def deconvolve(
    image: np.ndarray,
    psf: np.ndarray | PSFField | str,
    method: str = "auto",
    *,
    boundary: str | None = None,
    channel_axis: int | None = None,
    color: str | None = "channels",
    encoding: str | None = None,
    callback: Callable[[int, np.ndarray], None] | None = None,
    info: dict[str, Any] | None = None,
    device: str = "cpu",
    psf_info: dict[str, Any] | None = None,
    **params: Any,
) -> np.ndarray:
    r"""Restore a blurred image whose PSF is known, or estimated from the image (``"auto"``).

    Parameters
    ----------
    image : numpy.ndarray
        Blurred nD image (2-D, 3-D stack, or colour with ``channel_axis``). Integer images are
        scaled to [0, 1]; float32 stays float32 and float64 stays float64.
    psf : numpy.ndarray or PSFField
        PSF with one dimension per spatial axis; normalised to sum to one. Or a
        :class:`~unblur.psf.PSFField` built for the image's spatial shape
        (:func:`unblur.psf.grid`): a spatially varying blur, the product convolution of
        :mod:`unblur.operators.field`. Every iterative method solves that model exactly, with
        every boundary model; ``inverse``, ``wiener`` and ``tikhonov`` restore each cell's
        region with its PSF and blend the results with the field's weights (an approximation,
        :mod:`unblur.restore._patches`).
        Or ``"auto"``: blind deconvolution, the PSF estimated from the image by
        :func:`estimate_psf` with its defaults (``channel_axis`` and a given ``encoding``
        passed on), then restored as
        with ``psf_info`` (see Notes); ``info["psf"]`` holds the estimated PSF and
        ``info["psf_estimate"]`` the estimator's ``info``.
    method : str, optional
        A name from :func:`unblur.available_methods` (``"inverse"``, ...), ``"auto"``
        (default): ``tv`` at every size, stopped when converged; or ``"fast"``: ``wiener``,
        one transform pair (see :mod:`unblur.restore.auto`). ``info`` says which was chosen and
        why.
    boundary : str, optional
        Boundary model: ``periodic``, ``reflect``, ``taper`` or ``unknown`` (see
        :mod:`unblur.operators`). Default: the method's own default.
    channel_axis : int, optional
        Axis of colour channels; every channel is restored with the same PSF.
    color : {"channels", "luminance", None}, optional
        With ``channel_axis``: ``"channels"`` (default) restores each colour channel,
        ``"luminance"`` converts RGB to full-range BT.601 YCbCr, restores the luma
        :math:`Y = 0.299 R + 0.587 G + 0.114 B` only and converts back (no colour fringes, a
        third of the work); with either, a fourth channel is alpha and is returned unchanged.
        ``None`` restores every channel, whatever their number (multispectral data). See
        :mod:`unblur.colour`.
    encoding : {None, "linear", "srgb"}, optional
        How the values relate to light. ``"linear"``: the blur acts on the values as given,
        which are restored as they are. None (default): the same for a PSF you give; for an
        estimated one (``psf="auto"``, or ``psf_info``) the estimator's data model is followed,
        so values it took as sRGB-encoded (``psf_info["encoding"] == "srgb"``: 8-bit data, see
        :func:`estimate_psf`) are restored in linear light as with ``"srgb"``, where the PSF
        it estimated acts (``info["encoding_reason"]`` says so). With ``psf="auto"`` a given
        encoding is passed on to the estimator. ``"srgb"``: the image holds
        sRGB-encoded values (an 8-bit photograph, a PNG or JPEG file), blurred in linear light
        before the camera encoded them; it is linearised (:func:`unblur.colour.srgb_to_linear`),
        restored there and re-encoded (:func:`unblur.colour.linear_to_srgb`), so the result
        holds encoded values like the input (see Notes).
    callback : callable, optional
        For iterative methods, called as ``callback(iteration, estimate)`` after each step.
    info : dict, optional
        Filled in place (as the methods and :func:`unblur.estimate_psf` do): ``method`` (the
        method run), ``auto`` (whether it was chosen automatically), ``device``, ``reason``
        (with ``auto``), ``parameters`` (every parameter, automatic ones included),
        ``seconds`` and, when given, ``encoding``.
    device : {"cpu", "cuda", "auto"}, optional
        Where the method runs: ``"cuda"`` on a CUDA GPU through CuPy (``pip install
        unblur[cuda]``), ``"auto"`` there when one is usable and on the CPU otherwise. The
        image and the PSF are copied to the device and the result back, so input and output
        stay NumPy arrays (and ``callback`` receives NumPy arrays). Methods registered with
        ``gpu=True`` run on a GPU (see :mod:`unblur.backend`); for others ``"cuda"`` raises.
    psf_info : dict, optional
        The ``info`` that :func:`estimate_psf` filled when it estimated ``psf``. When it says
        the estimate is not trusted (``psf_info["confidence"] == "low"``) the restoration is
        conservative (see Notes) and ``info["conservative"]`` says what was done and why.
        Without it (a PSF the user knows) nothing changes. ``info["kernel_error"]`` records
        whether the weight was raised for a noisy free-form estimate of an encoded
        photograph (:func:`kernel_error_rule`).
    **params
        The method's own parameters (see each method's documentation). ``clip`` is one of
        them, for the methods that have it (see Notes).

    Returns
    -------
    numpy.ndarray
        The restored image, with the input's shape and float dtype, **not clipped** (see
        Notes).

    Raises
    ------
    UnblurError
        For bad input: NaN, a PSF of zero sum or larger than the image, wrong dimensions, an
        unknown method or parameter.

    Notes
    -----
    **A doubtful estimated PSF** (``psf="auto"``, or ``psf_info`` with ``confidence ==
    "low"``) is not allowed to make the picture worse. The rule (:func:`conservative_rule`;
    measured in ``docs/notes/blind_kernel.md``, section 8): a kernel that found almost no blur
    (participation number :math:`1/\sum k^2 < 10`) returns the input unchanged, since its
    restoration can gain little and is not trusted; any other doubtful kernel is restored at
    half strength, :math:`\tfrac12(\hat x + S_d y)`, the midpoint between the restoration
    and the input moved by the kernel's whole-pixel centroid offset :math:`d` (so that the two
    line up). The midpoint's error is at most the mean of the two errors' energies, so it is
    never worse than the worse of the two, and where the restoration's error is unlike the
    input's (ringing against blur) it is better than both. ``info["conservative"]`` records
    ``applied``, ``action`` (``"input"``, ``"half"`` or ``None``), ``strength`` (the weight of
    the restoration, 0, 0.5 or 1) and ``reason``. A trusted estimate, or a PSF given without
    ``psf_info``, is restored exactly as before.

    **Linear light** (``encoding="srgb"``). Optics and camera shake blur light,
    :math:`L_y = k * L_x`; the camera then encodes, :math:`y = E(L_y) + n` with :math:`E` the
    sRGB transfer function, so on the encoded values the convolution model holds only
    approximately (an edge between a dark and a bright region is bent). The restoration is
    run on :math:`E^{-1}(y) = k * L_x + n'` and the result re-encoded, :math:`E(\hat L_x)`.
    The noise :math:`n' \approx (E^{-1})'(y)\, n` of the linearised data grows with the
    brightness (about 0.08x the encoded noise in the shadows, 2.3x at white); the methods'
    automatic weights use the noise they estimate on the linearised data (the median of that
    signal-dependent level, which measured slightly better than its root mean square carried
    from the encoded data: ``docs/notes/linear_light.md``). Each colour channel (with
    ``color="luminance"``, the luma of the linear RGB) is restored in linear light; an alpha
    channel is returned unchanged; a doubtful estimate's blend (above) is taken in linear
    light, and a result that is the input unchanged is returned as given.

    **Clipping.** ``deconvolve`` never clips its result: values outside [0, 1] are returned
    as computed (the overshoot of ringing at edges, the negative lobes of the linear filters,
    the amplified noise of ``inverse``), so a result can be measured, compared and processed
    further without losing what the method produced. Clip it yourself where it must be an
    image, ``np.clip(restored, 0, 1)``; :func:`unblur.io.write_image` and the command line do
    so for integer outputs (PNG, JPEG, 8- and 16-bit TIFF) and keep float outputs as they are.
    Each method owns its bounds and its ``clip`` default:

    * ``richardson_lucy``: non-negative always (a multiplicative update); ``clip=True`` also
      clips to [0, 1]; default ``clip=False``.
    * ``landweber``: ``nonneg=True`` (default) projects onto x >= 0 at every step;
      no upper bound; no ``clip``.
    * ``inverse``, ``wiener``, ``tikhonov``, ``tv``, ``hyper_laplacian``, ``pnp``: unbounded,
      no ``clip`` parameter (passing one raises :class:`~unblur.InvalidParameterError`).

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
    >>> run = {}
    >>> x_hat = deconvolve(y, k, method="wiener", info=run)
    >>> run["method"], run["parameters"]["boundary"]
    ('wiener', 'taper')
    """
    _check_arguments(method, boundary, callback, info, device, params)
    encoding = check_encoding(encoding)
    if psf_info is not None and not isinstance(psf_info, dict):
        raise InvalidParameterError(
            f"psf_info must be a dict or None, got {type(psf_info).__name__}"
        )
    if isinstance(psf, str) and psf == "auto":  # other strings: check_psf says what to do
        psf_info = {}
        told = {} if encoding is None else {"encoding": encoding}  # the estimator's data model
        psf = estimate_psf(image, channel_axis=channel_axis, info=psf_info, **told)
        if info is not None:
            info.update(psf=psf, psf_estimate=psf_info)
    followed = follows_estimate(encoding, psf_info)
    if followed:  # the estimator linearised the values: the PSF is light's, restore there
        encoding = "srgb"
    x = as_float_image(image)
    axis = check_channel_axis(x.ndim, channel_axis)
    color = check_color(color)
    spatial = x.shape if axis is None else x.shape[:axis] + x.shape[axis + 1 :]
    k = check_psf_or_field(psf, spatial)
    rule = None if psf_info is None else conservative_rule(k, psf_info)
    resolved = resolve(method, spatial, params)
    name, chosen, reason = resolved.name, resolved.method, resolved.reason
    params = resolved.params
    doubt = None if psf_info is None else kernel_error_rule(k, psf_info)
    if doubt is not None and doubt["applied"]:
        if "model_error" not in chosen.parameters:
            doubt = {**doubt, "applied": False,
                     "reason": f"{name} has no automatic noise-based weight to raise"}  # fmt: skip
        elif "lam" in params or "model_error" in params:
            doubt = {**doubt, "applied": False, "reason": "the weight was given"}
        else:
            params["model_error"] = doubt["model_error"]
    backend = _device_backend(device, chosen)
    accepted = chosen.parameters
    if boundary is not None:
        if boundary not in BOUNDARIES:
            raise InvalidParameterError(
                f"unknown boundary {boundary!r}; choose one of {', '.join(BOUNDARIES)}"
            )
        params["boundary"] = boundary
    chosen_values: dict[str, Any] = {}  # what the method writes: its automatic parameters
    if chosen.iterative and callback is not None:
        params["callback"] = callback
    if reason is None:
        logger.info("deconvolve: method %s", name)
    else:
        logger.info("deconvolve: method %s (auto: %s)", name, reason)
    start = time.perf_counter()
    run = _on_device(backend, chosen.func, k, chosen_values, params)
    if rule is not None and rule["applied"]:
        run = _conservative(run, k, rule["strength"])
    if encoding == "srgb" and (rule is None or rule["strength"] > 0.0):
        restored = _in_linear_light(x, axis, run, color)
    else:
        restored = restore_colour(x, axis, run, color)
    elapsed = time.perf_counter() - start
    if info is not None:
        settings = {n: p.default for n, p in accepted.items()}
        settings.update({n: v for n, v in params.items() if n != "callback"})
        settings.update(chosen_values)
        info.update(
            {
                "method": name,
                "auto": resolved.auto,
                "device": backend.name,
                **({"reason": reason} if reason is not None else {}),
                "parameters": settings,
                "seconds": elapsed,
                **({} if encoding is None else {"encoding": encoding}),
                **({"encoding_reason": _FOLLOWED} if followed else {}),
                **({} if rule is None else {"conservative": rule}),
                **({} if doubt is None else {"kernel_error": doubt}),
            }
        )
    return restored


def follows_estimate(encoding: str | None, psf_info: dict[str, Any] | None) -> bool:
    """Whether a restoration given ``encoding`` (None: not given) and an estimate's
    ``psf_info`` runs in linear light because the estimator linearised sRGB-encoded values
    (``psf_info["encoding"] == "srgb"``) to estimate the PSF."""
    return encoding is None and (psf_info or {}).get("encoding") == "srgb"


#: ``info["encoding_reason"]`` when ``deconvolve`` restores in linear light because the
#: estimator did (``encoding`` not given, ``psf_info["encoding"] == "srgb"``).
_FOLLOWED = (
    "the PSF was estimated in linear light from sRGB-encoded values (psf_info['encoding']), "
    "so the image is restored there too"
)


#: A doubtful kernel whose participation number :math:`1/\sum k^2` is below this found almost
#: no blur (a Gaussian of sigma < 0.9 px, a disk of radius < 1.8 px): the estimator's own
#: limit for "almost no blur" (``unblur.blind.auto``).
ALMOST_NO_BLUR = 10.0
#: Weight of the restoration in the blend with the input when the kernel is doubtful.
DOUBTFUL_STRENGTH = 0.5


def conservative_rule(psf: np.ndarray | PSFField, psf_info: dict[str, Any]) -> dict[str, Any]:
    r"""How :func:`deconvolve` restores with an estimated PSF, given the estimator's ``info``.

    A trusted estimate (``psf_info.get("confidence") != "low"``), or a PSF field, is restored
    at full strength. An image the estimator found to hold almost nothing but noise (its
    ``signal`` check failed, :mod:`unblur.blind.confidence`) is returned unchanged: there is
    no structure to restore, whatever kernel came out. So is an image whose blur only the
    spectrum supports (its ``free_unstable`` check failed: a Gaussian or disk fit returned
    while the free-form estimate found nothing stable across scales), as smooth and sharp
    scenes are read that way. A doubtful kernel with participation
    number
    :math:`P = 1/\sum_i k_i^2` (the number of pixels it effectively spreads over; it sums to
    one) below :data:`ALMOST_NO_BLUR` found almost no blur: the input is returned unchanged.
    Any other doubtful kernel is restored at :data:`DOUBTFUL_STRENGTH`: the result is
    :math:`s\,\hat x + (1 - s)\,S_d y` with :math:`S_d` the shift by the kernel's whole-pixel
    centroid offset :math:`d` (the restoration with a kernel off its centre is shifted by
    :math:`d`). With :math:`e_x, e_y` the errors of the restoration and of the aligned input,
    the midpoint's squared error is :math:`\tfrac14\|e_x + e_y\|^2 \le
    \tfrac12(\|e_x\|^2 + \|e_y\|^2)`: never worse than the worse of the two, and better than
    both when the errors differ (the ringing of a wrong kernel against the blur it leaves).

    Returns
    -------
    dict
        ``applied`` (bool), ``action`` (``"input"``, ``"half"`` or None), ``strength`` (weight
        of the restoration: 0, :data:`DOUBTFUL_STRENGTH` or 1) and ``reason`` (one line).
    """
    if isinstance(psf, PSFField):  # its confidence is per region (info["confidence"] a dict)
        return _rule(None, "a PSF field is restored at full strength")
    if psf_info.get("confidence") != "low":
        return _rule(None, "the estimated PSF is trusted")
    from .blind.confidence import THRESHOLDS

    checks = psf_info.get("checks") or {}
    signal = checks.get("signal")
    if signal is not None and signal < THRESHOLDS["signal"]:
        return _rule(
            "input",
            f"the input is returned unchanged: it holds almost nothing but noise (signal-to-"
            f"noise variance ratio {signal:.2f}), so there is no blur to remove",
        )
    unstable = checks.get("free_unstable")
    if unstable is not None and unstable < THRESHOLDS["free_unstable"]:
        return _rule(
            "input",
            f"the input is returned unchanged: only the image's spectrum supports the blur, "
            f"the free-form estimate found nothing stable across scales (agreement "
            f"{unstable:.2f}), and a sharp or smooth scene reads that way",
        )
    participation = _unit_kernel(psf)[1]
    if participation < ALMOST_NO_BLUR:
        return _rule(
            "input",
            f"the input is returned unchanged: the PSF, not trusted, finds almost no blur "
            f"(participation number {participation:.1f} < {ALMOST_NO_BLUR:g})",
        )
    return _rule(
        "half",
        f"restored at {DOUBTFUL_STRENGTH:g} strength (the midpoint between the restoration "
        "and the input), as the PSF is not trusted",
    )


#: Local contrast :math:`c` of a scene within a blur kernel's footprint, as a fraction of the
#: image's range: it turns the relative error of an estimated kernel into an error of the model
#: :math:`k * x` (:func:`kernel_error_rule`; chosen on the broad set,
#: ``docs/notes/blind_kernel.md`` section 9). 0 turns the rule off.
KERNEL_ERROR_CONTRAST = 0.2
#: The estimator's ``encoding`` of the photographs the rule is applied to
#: (:func:`kernel_error_rule`): sRGB-encoded data (8-bit and JPEG files). On linear (float)
#: data it is not applied.
KERNEL_ERROR_ENCODINGS = ("srgb",)


def kernel_error_rule(psf: np.ndarray | PSFField, psf_info: dict[str, Any]) -> dict[str, Any]:
    r"""The model error an estimated free-form kernel adds to the restoration's weight.

    The automatic weight of ``tv`` grows with the effective noise
    :math:`\sigma_{eff}^2 = \hat\sigma^2 + (\epsilon a)^2`, :math:`\epsilon` the relative error
    of the blur model (0.006 for a measured PSF). An estimated kernel :math:`\hat k = k + \delta
    k` is a model error of its own: :math:`y = \hat k * x - \delta k * x + n`, so
    :math:`\delta k * x` acts as extra noise that a weight sized for :math:`n` lets through as
    ripples. Its size follows from the estimator's own account of its noise. The free-form
    kernel step fits :math:`P = 1/\sum_i k_i^2` effective values of about :math:`1/P` each
    from data of noise :math:`\sigma_w` (the analysed window's, relative to its range), so
    its relative error grows as :math:`\sigma_w P`; the estimator's priors hold it down while
    :math:`\sigma_w P` is below :math:`r` = 0.2, the limit beyond which its pyramid levels
    lose the kernel (``ANCHOR_NOISE`` of :mod:`unblur.blind.kernel_step`, with its cap of
    :math:`P` at 1.5 times the kernel's side). Past it the relative error is taken as
    :math:`\rho = \sqrt{\max(0, (\sigma_w P / r)^2 - 1)}` (the anchor's excess,
    :func:`unblur.blind.kernel_step.anchor_excess`), and the error of the model,
    :math:`\|\delta k * x\| \approx \|\delta k\|\, c\, a = \rho\, c\, a / \sqrt P` with
    :math:`c` = :data:`KERNEL_ERROR_CONTRAST` the scene's local contrast within the kernel's
    footprint, adds in quadrature:

    .. math:: \epsilon = \sqrt{0.006^2 + \rho^2 c^2 / P}.

    Only a free-form estimate (``psf_info["model"] == "free"``) is concerned: a parametric
    fit has one or two parameters, not :math:`P` values. A kernel given without ``psf_info``,
    a parametric estimate and a quiet window (:math:`\sigma_w P \le r` with the cap: all 32
    of the Levin et al. 2009 photographs' estimates) are restored exactly as before.

    **Encoded photographs only.** The rule is applied where the estimator took the data as
    sRGB-encoded (``psf_info["encoding"]`` in :data:`KERNEL_ERROR_ENCODINGS`: an 8-bit or
    JPEG photograph, or ``encoding="srgb"``), the data a user's camera or phone writes.
    On linear (float) data it is not: there, synthetic shakes with Gaussian noise whose
    kernels were good despite :math:`\sigma_w P > r` lost to the larger weight, while on
    encoded photographs the free-form estimates gain (measured in
    ``docs/notes/blind_kernel.md``, sections 9, 20 and 21): :math:`\sigma_w P` measures the
    noise the kernel was estimated from, not its actual error. ``KERNEL_ERROR_CONTRAST = 0``
    turns the rule off.

    Returns
    -------
    dict
        ``applied`` (bool), ``model_error`` (:math:`\epsilon`), ``kernel_error``
        (:math:`\rho`), ``window_noise`` (:math:`\sigma_w`), ``participation`` (:math:`P`)
        and ``reason`` (one line); when applied, ``factor``: the weight's growth at the
        window's noise, :math:`(\sigma_{eff}'/\sigma_{eff})^{4/3}` with :math:`\sigma_{eff}
        = \sqrt{\sigma_w^2 + 0.006^2}` (each channel's own noise sets its weight).
    """
    from .restore._common import MODEL_ERROR

    record: dict[str, Any] = {"applied": False, "model_error": MODEL_ERROR, "kernel_error": 0.0}
    if KERNEL_ERROR_CONTRAST <= 0:
        return {**record, "reason": "off (KERNEL_ERROR_CONTRAST = 0): the weight is the noise's"}
    if isinstance(psf, PSFField) or psf_info.get("model") != "free":
        return {**record, "reason": "not a free-form estimate: the weight is the noise's"}
    encoding = psf_info.get("encoding")
    if encoding not in KERNEL_ERROR_ENCODINGS:
        return {**record, "reason": (
            f"the data are not an encoded photograph (encoding {encoding!r}): the weight is "
            "the noise's")}  # fmt: skip
    free = psf_info.get("candidates", {}).get("free", psf_info)
    noise = free.get("window_noise") if isinstance(free, dict) else None
    if not isinstance(noise, (int, float)) or not math.isfinite(noise) or noise < 0:
        return {**record, "reason": "the estimator's window noise is not known"}
    from .blind.kernel_step import ANCHOR_NOISE, anchor_excess

    k, participation = _unit_kernel(psf)
    rho = math.sqrt(anchor_excess(float(noise), k))
    record.update(window_noise=float(noise), participation=participation, kernel_error=rho)
    if rho == 0.0:
        return {**record, "reason": (
            f"the kernel is well determined (window noise x participation "
            f"{noise * participation:.2f} <= {ANCHOR_NOISE:g})")}  # fmt: skip
    error = rho * KERNEL_ERROR_CONTRAST / math.sqrt(participation)
    model_error = math.hypot(MODEL_ERROR, error)
    sigma_eff = math.hypot(noise, MODEL_ERROR)
    factor = (math.hypot(sigma_eff, error) / sigma_eff) ** (4.0 / 3.0)
    return {**record, "applied": True, "model_error": model_error, "factor": factor,
            "reason": (
                f"the free-form kernel is noisy (relative error {rho:.2f} from window noise "
                f"{noise:.4f} x participation {participation:.0f}): model error "
                f"{model_error:.4f}, weight x {factor:.2f}")}  # fmt: skip


def _unit_kernel(psf: np.ndarray) -> tuple[np.ndarray, float]:
    r"""``psf`` in float64 scaled to sum to one, and its participation number
    :math:`P = 1/\sum_i k_i^2` (the number of pixels it effectively spreads over)."""
    k = np.asarray(psf, dtype=np.float64)
    k = k / k.sum()
    return k, float(1.0 / np.sum(k * k))


def _rule(action: str | None, reason: str) -> dict[str, Any]:
    """The record of :func:`conservative_rule`: ``applied`` and ``strength`` follow from the
    ``action`` (None: full strength; ``"input"``: 0; ``"half"``: :data:`DOUBTFUL_STRENGTH`)."""
    strength = {None: 1.0, "input": 0.0, "half": DOUBTFUL_STRENGTH}[action]
    return {"applied": action is not None, "action": action, "strength": strength,
            "reason": reason}  # fmt: skip


def _conservative(run: Callable, psf: np.ndarray, strength: float) -> Callable:
    """``run`` (one channel's restoration) blended with the channel aligned to it:
    ``strength * run(c) + (1 - strength) * S_d c``; ``strength == 0`` returns ``c`` as it is
    (nothing is restored)."""
    if strength == 0.0:
        return lambda c: c.copy()
    from scipy import ndimage

    from .psf import centroid

    offset = [round(float(m)) - n // 2 for m, n in zip(centroid(psf), psf.shape, strict=True)]

    def blended(channel: np.ndarray) -> np.ndarray:
        restored = run(channel)
        if any(offset):
            channel = ndimage.shift(channel, [-o for o in offset], order=0, mode="nearest")
        out = channel + strength * (restored - channel)
        return out.astype(restored.dtype, copy=False)

    return blended


def estimate_psf(
    image: np.ndarray,
    size: int | tuple[int, int] | None = None,
    model: str = "auto",
    *,
    grid: int | tuple[int, int] | None = None,
    **kwargs: Any,
) -> np.ndarray | PSFField:
    """Estimate the PSF of a blurred image from the image alone; with ``grid``, a PSF field.

    Without ``grid`` this is :func:`unblur.blind.estimate_psf` (one PSF for the whole image;
    its documentation lists every argument). With ``grid=(gy, gx)`` the blur may vary across
    the frame: free-form kernels estimated per region are fitted by one camera motion
    (translation and in-plane rotation), re-estimated from the image (``motion="free"`` keeps
    each region's own kernel, aligned and regularised towards its neighbours)
    (:func:`unblur.blind.field.estimate_field`, which takes ``channel_axis``, ``encoding``,
    ``info``, ``refine``, ``coupling``, ``start``, ``min_window``, ``span``, ``motion``,
    ``reestimate`` and the free-form estimator's options); the result is a
    :class:`~unblur.psf.PSFField` that :func:`deconvolve` restores with.

    Raises
    ------
    InvalidParameterError
        With ``grid``: a bad grid, or a ``model`` other than ``"auto"`` or ``"free"``.

    Examples
    --------
    >>> import numpy as np
    >>> import unblur
    >>> from skimage.data import camera
    >>> x = camera()[::2, ::2] / 255
    >>> y = unblur.add_noise(unblur.blur(x, unblur.psf.motion(7, angle=30)), gaussian=0.01,
    ...                      rng=0)
    >>> field = unblur.estimate_psf(y, 9, grid=(1, 2), refine=0)
    >>> field.grid_shape, field.psf_shape
    ((1, 2), (9, 9))
    >>> restored = unblur.deconvolve(y, field)
    """
    from .blind import estimate_psf as estimate_uniform

    if grid is None:
        return estimate_uniform(image, size, model, **kwargs)
    from .blind.field import estimate_field

    if model not in ("auto", "free"):
        raise InvalidParameterError(
            f"a PSF field (grid={grid!r}) holds free-form kernels: model must be 'auto' or "
            f"'free', got {model!r}"
        )
    return estimate_field(image, grid, size, **kwargs)


def check_psf_or_field(psf, spatial_shape: tuple[int, ...]) -> np.ndarray | PSFField:
    """:func:`~unblur._checks.check_psf` for a PSF array; a :class:`~unblur.psf.PSFField` must
    have been built for the image's spatial shape (it is validated when it is made).

    Raises
    ------
    InvalidPSFError
        A bad PSF, or a field built for another shape.
    """
    if isinstance(psf, PSFField):
        if psf.image_shape != tuple(spatial_shape):
            raise InvalidPSFError(
                f"the PSF field was built for an image of shape {psf.image_shape}, not "
                f"{tuple(spatial_shape)} (build it with the image's spatial shape)"
            )
        return psf
    return check_psf(psf, spatial_shape)


def _check_arguments(method, boundary, callback, info, device, params: dict) -> None:
    """The types of :func:`deconvolve`'s own arguments (the methods check their values)."""
    check_text("method", method)
    check_text("boundary", boundary, allow_none=True)
    check_text("device", device)
    check_callable("callback", callback)
    if info is not None and not isinstance(info, dict):
        raise InvalidParameterError(f"info must be a dict or None, got {type(info).__name__}")
    if "clip" in params:
        check_bool("clip", params["clip"])


def _in_linear_light(
    image: np.ndarray, axis: int | None, run: Callable, color: str | None
) -> np.ndarray:
    """:func:`restore_colour` of the linearised colour channels of an sRGB-encoded image,
    re-encoded; an alpha channel (which is not light) is kept as given."""
    if axis is None:
        return linear_to_srgb(run(srgb_to_linear(image)))
    colour, alpha = split_alpha(image, axis, color)
    restored = linear_to_srgb(restore_colour(srgb_to_linear(colour), axis, run, color))
    if alpha is None:
        return restored
    return np.concatenate([restored, alpha.astype(restored.dtype, copy=False)], axis=axis)


def _device_backend(device: str, method: Method) -> Backend:
    """The backend of ``device`` for ``method``; a clear error when it cannot run there."""
    backend = get_backend(device)
    if backend.is_cpu:
        return backend
    if not method.gpu:
        if device == "auto":
            logger.info("device='auto': %s runs on the CPU only", method.name)
            return get_backend("cpu")
        gpu = ", ".join(n for n in available_methods() if get_method(n).gpu)
        raise InvalidParameterError(
            f"method {method.name!r} runs on the CPU only; on device={device!r} use one of: {gpu}"
        )
    return backend


#: base-2 exponents beyond which a channel is rescaled before a method sees it (float32,
#: float64): squares of the data, sums of squares and the methods' weights then stay finite
_EXTREME_EXPONENT = {np.dtype(np.float32): 40, np.dtype(np.float64): 250}


def _rescaled(func: Callable, info: dict) -> Callable:
    """``func`` applied to a channel of extreme magnitude divided by a power of four.

    Every method is scale-equivariant, so ``func(c * x) = c * func(x)``; a power of four
    (exact in binary floating point, with an exact square root) brings data near the ends of
    the float range (1e300, 1e-300) to about one, where no square, weight or sum of squares
    overflows or underflows. The result is scaled back; ``info["rescaled_by"]`` records the
    factor (the automatic parameters in ``info`` are those of the rescaled data).
    """

    def run(channel, *args, **kwargs):
        xp = array_module(channel)
        peak = float(xp.abs(channel).max()) if channel.size else 0.0
        limit = _EXTREME_EXPONENT.get(np.dtype(channel.dtype))
        if limit is None or peak == 0.0 or not math.isfinite(peak):
            return func(channel, *args, **kwargs)
        exponent = math.frexp(peak)[1]
        if -limit <= exponent <= limit:
            return func(channel, *args, **kwargs)
        shift = 2 * (exponent // 2)  # even: the factor is a power of four
        out = func(xp.ldexp(channel, -shift).astype(channel.dtype, copy=False), *args, **kwargs)
        info["rescaled_by"] = 2.0**-shift if abs(shift) < 1000 else 0.0
        with np.errstate(over="ignore", under="ignore"):
            result = xp.ldexp(out, shift).astype(out.dtype, copy=False)
        if not bool(xp.isfinite(result).all()):
            raise InvalidImageError(
                "the restored image exceeds the range of its floating-point type; restore a "
                "rescaled copy"
            )
        return result

    return run


def _on_device(
    backend: Backend,
    func: Callable,
    psf: np.ndarray | PSFField,
    info: dict,
    params: dict[str, Any],
) -> Callable[[np.ndarray], np.ndarray]:
    """``func(channel, psf)`` run on ``backend``: inputs copied there, the result copied back."""
    func = _rescaled(func, info)
    if backend.is_cpu:
        return lambda c: func(c, psf, info=info, **params)
    # a field stays on the host: its operator moves the OTFs to the image's device
    psf_device = psf if isinstance(psf, PSFField) else backend.to_device(psf)
    callback = params.get("callback")
    if callback is not None:  # the public callback sees NumPy arrays
        params = {**params, "callback": lambda i, x: callback(i, backend.to_host(x))}

    def run(channel: np.ndarray) -> np.ndarray:
        out = func(backend.to_device(channel), psf_device, info=info, **params)
        return backend.to_host(out)

    return run
