r"""The photograph's data model for blind estimation: linear light and saturated pixels.

A camera blurs light, then clips it at the sensor's white level and encodes it with a transfer
function; an 8-bit file from a camera or the web holds sRGB-encoded values (IEC 61966-2-1). The
convolution model :math:`y = k * x + n` holds for the linear values only: in encoded values a
blurred edge between a dark and a bright region is bent (the encoding compresses the bright
side), which a kernel estimator reads as a different, asymmetric kernel. So the estimators see

* **linear light**: with ``encoding="srgb"`` the values are linearised by the inverse sRGB
  transfer function (:func:`unblur.colour.srgb_to_linear`; through a 256-entry table for
  8-bit input); ``"auto"`` assumes sRGB for 8-bit images (how photographs are stored) and
  linear data otherwise (16-bit and float images from scientific cameras, or already
  linearised data);
* **one grey image**: the channel mean (the blur is the same in every channel);
* **a saturation mask**: pixels where any channel reaches the top of the range. There the
  recorded value is :math:`\min(1, k * x)`, not :math:`k * x`; the kernel estimator treats them
  as censored observations (see :mod:`unblur.blind.kernel`), as Whyte, Sivic & Zisserman (2014)
  and Cho, Wang & Lee (2011) treat clipped pixels as outliers of the linear model. For 8-bit
  data the top is 252 and above (JPEG rings a little below a clipped plateau); for other data,
  values within 0.2 % of the image's maximum when at least 16 pixels (and 1/10000 of them)
  share it and the maximum is at least 0.9 (a sensor's white level, not a dim image's
  brightest pixel).

References
----------
IEC 61966-2-1:1999 (sRGB).
O. Whyte, J. Sivic, A. Zisserman, "Deblurring shaken and partially saturated images", IJCV
110(2), 2014, pp. 185-201.
S. Cho, J. Wang, S. Lee, "Handling outliers in non-blind image deconvolution", ICCV 2011.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import as_float_image, check_channel_axis
from ..colour import srgb_to_linear
from ..errors import InvalidParameterError
from ..noise import estimate_noise

__all__ = ["ENCODINGS", "Observation", "prepare", "saturated_pixels"]

#: Transfer functions :func:`prepare` understands.
ENCODINGS = ("auto", "srgb", "linear")
#: 8-bit values at or above this are taken as clipped.
_TOP_8BIT = 252
#: Other data: a plateau within this fraction of the maximum, of at least this many pixels
#: (and this share of them), at a maximum of at least this value.
_PLATEAU = 2e-3
_PLATEAU_MIN = 16
_PLATEAU_SHARE = 1e-4
_WHITE_MIN = 0.9
#: Side of the central crop the noise is measured on.
_NOISE_SIDE = 1024


@dataclass
class Observation:
    """The grey, linear observation an estimator works on, and what was done to get it."""

    grey: np.ndarray  # float64, 2-D
    saturated: np.ndarray | None  # bool, same shape, or None when nothing is clipped
    encoding: str  # "srgb" or "linear"
    reason: str  # why that encoding
    noise: float  # noise standard deviation of ``grey`` (see :func:`grey_noise`)


def _encoding(image: np.ndarray, encoding: str) -> tuple[str, str]:
    if not isinstance(encoding, str) or encoding not in ENCODINGS:
        raise InvalidParameterError(
            f"unknown encoding {encoding!r}; choose one of {', '.join(ENCODINGS)}"
        )
    if encoding != "auto":
        return encoding, "given"
    if np.asarray(image).dtype == np.uint8:
        return "srgb", "8-bit data: taken as an sRGB-encoded photograph"
    return "linear", f"{np.asarray(image).dtype} data: taken as linear"


def _saturated(image: np.ndarray, axis: int | None) -> np.ndarray | None:
    """Pixels where any channel is at the top of the range (None if there is no plateau)."""
    raw = np.asarray(image)
    if raw.dtype == np.uint8:
        top = raw >= _TOP_8BIT
    else:
        values = as_float_image(raw)
        peak = float(values.max())
        if peak < _WHITE_MIN:
            return None
        top = values >= peak - _PLATEAU * max(peak, 1.0)
        if int(top.sum()) < max(_PLATEAU_MIN, _PLATEAU_SHARE * top.size):
            return None
    if axis is not None:
        top = top.any(axis=axis)
    return top if top.any() else None


def prepare(image: np.ndarray, channel_axis: int | None, encoding: str) -> Observation:
    """Linear grey observation, saturation mask and encoding of ``image`` (see module docs)."""
    x = as_float_image(image)
    axis = check_channel_axis(x.ndim, channel_axis)
    enc, reason = _encoding(image, encoding)
    raw = np.asarray(image)
    if enc == "srgb":
        if raw.dtype == np.uint8:
            x = srgb_to_linear(np.arange(256, dtype=np.float32) / 255)[raw]
        else:
            x = srgb_to_linear(x)
    saturated = _saturated(raw, axis)
    noise = grey_noise(raw, axis, enc)
    if axis is not None:
        x = x.mean(axis=axis, dtype=np.float64)
    return Observation(np.asarray(x, dtype=np.float64), saturated, enc, reason, noise)


def grey_noise(
    image: np.ndarray, axis: int | None, encoding: str, side: int = _NOISE_SIDE
) -> float:
    r"""Noise of the linear grey observation, measured where it is measurable.

    :func:`unblur.noise.estimate_noise` runs on the *encoded* values (there an 8-bit or JPEG
    file's structure is intact; linearised, its values leave the 8-bit grid) of a central crop
    of at most ``side`` px, cut on the 8 x 8 JPEG grid. The encoded noise :math:`\sigma_V`
    becomes linear noise :math:`\sigma_V \sqrt{\overline{L'(V)^2}}` (the RMS slope of the
    inverse transfer function over the crop), and averaging :math:`C` channels with
    independent noise divides it by :math:`\sqrt C`.
    """
    raw = np.asarray(image)
    spatial = [a for a in range(raw.ndim) if a != axis]
    index: list[slice] = [slice(None)] * raw.ndim
    for a in spatial:
        n = raw.shape[a]
        start = max(0, (n - side) // 2) // 8 * 8
        index[a] = slice(start, start + min(side, n))
    crop = raw[tuple(index)]
    sigma = estimate_noise(crop, channel_axis=axis)
    if encoding == "srgb":
        values = as_float_image(crop).astype(np.float64)
        slope = _srgb_slope(values)
        sigma *= float(np.sqrt(np.mean(slope**2)))
    channels = 1 if axis is None else raw.shape[axis]
    return float(sigma / np.sqrt(channels))


def _srgb_slope(v: np.ndarray) -> np.ndarray:
    """Derivative of :func:`unblur.colour.srgb_to_linear` at the encoded values ``v``."""
    a = np.abs(v)
    return np.where(a <= 0.04045, 1 / 12.92, 2.4 / 1.055 * ((a + 0.055) / 1.055) ** 1.4)


def saturated_pixels(image: np.ndarray, channel_axis: int | None = None) -> np.ndarray | None:
    """Boolean mask of the clipped pixels of ``image`` (any channel at the top of the range).

    8-bit data: values of 252 and above; other data: a plateau within 0.2 % of a maximum of
    at least 0.9, shared by at least 16 pixels and 1/10000 of them. ``None`` when nothing is
    clipped. The mask has the image's spatial shape (the channel axis removed); a restoration
    can pass its complement as the weight of the data term, so that clipped highlights do
    not ring.

    Examples
    --------
    >>> import numpy as np
    >>> from unblur.blind import saturated_pixels
    >>> img = np.full((4, 4, 3), 100, dtype=np.uint8)
    >>> img[1, 2, 0] = 255
    >>> np.argwhere(saturated_pixels(img, channel_axis=-1)).tolist()
    [[1, 2]]
    """
    x = as_float_image(image)
    axis = check_channel_axis(x.ndim, channel_axis)
    return _saturated(np.asarray(image), axis)
