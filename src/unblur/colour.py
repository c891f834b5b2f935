r"""Colour images: which channels are restored, and in which colour space.

:func:`unblur.deconvolve` restores a colour image (``channel_axis`` given) in one of two ways,
chosen by ``color``:

``"channels"`` (default)
    Every colour channel is restored on its own with the one shared PSF. Exact for the
    linear methods (the blur acts on each channel alike) and the right choice when the
    channels differ in sharpness or noise.
``"luminance"``
    The RGB image is converted to luma/chroma, :math:`(Y, C_b, C_r)`, only the luma
    :math:`Y` is restored, and the result converted back to RGB. One restoration instead of
    three (about 3x faster), and the chroma, which carries little detail, keeps its blurred,
    low-noise values: the restoration cannot create colour noise or colour fringes. On an
    achromatic scene (:math:`R = G = B`) the chroma is zero and the result is achromatic
    exactly.
``None``
    No colour interpretation: every channel along ``channel_axis`` is restored, whatever
    their number (multispectral or multi-fluorophore data).

With ``"channels"`` or ``"luminance"``, a fourth channel is alpha (RGBA): it is returned
exactly as given, never deconvolved (transparency is not blurred by the optics).

The colour space is full-range ITU-R BT.601 YCbCr, as used by JPEG (JFIF), without the 0.5
offset of the chroma:

.. math::

    Y   &= 0.299\,R + 0.587\,G + 0.114\,B \\
    C_b &= (B - Y) / 1.772 \\
    C_r &= (R - Y) / 1.402

:math:`Y` is a convex combination of :math:`R, G, B`, so it stays in the image's range (a
method's ``clip`` to [0, 1] is still right) and equals the grey level of an achromatic pixel;
the weights follow the eye's sensitivity, so the restored channel is the one that carries the
perceived detail. The transform is linear and exactly invertible; white noise of standard
deviation :math:`\sigma` in each RGB channel has standard deviation
:math:`\sigma \sqrt{0.299^2 + 0.587^2 + 0.114^2} \approx 0.67\,\sigma` in :math:`Y`.

**Transfer function.** Photographs (8-bit PNG and JPEG files, most camera output) store
sRGB-encoded values, not light: a blur happens in linear light, before the camera encodes it,
so the convolution model :math:`y = k * x + n` holds for the linear values. :func:`srgb_to_linear`
and :func:`linear_to_srgb` apply the sRGB transfer function of IEC 61966-2-1,

.. math::

    L = \begin{cases} V / 12.92 & V \le 0.04045 \\
        \left(\frac{V + 0.055}{1.055}\right)^{2.4} & V > 0.04045 \end{cases}

and its exact inverse, extended to values outside [0, 1] as an odd function (restored images
overshoot both ends).

References
----------
IEC 61966-2-1:1999, *Multimedia systems and equipment - Colour measurement and management -
Part 2-1: Default RGB colour space - sRGB*.
ITU-R Recommendation BT.601-7, *Studio encoding parameters of digital television*, 2011.
E. Hamilton, *JPEG File Interchange Format*, version 1.02, C-Cube Microsystems, 1992 (full-range
YCbCr).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._checks import COLOR_MODES, check_color, to_float
from .errors import InvalidParameterError

__all__ = [
    "COLOR_MODES",
    "check_color",
    "linear_to_srgb",
    "restore_colour",
    "rgb_to_ycbcr",
    "split_alpha",
    "srgb_to_linear",
    "ycbcr_to_rgb",
]

_KR, _KB = 0.299, 0.114
_KG = 1.0 - _KR - _KB
#: RGB -> YCbCr (rows: Y, Cb, Cr), full-range BT.601 without the chroma offset
_RGB_TO_YCBCR = np.array(
    [
        [_KR, _KG, _KB],
        [-_KR / (2 - 2 * _KB), -_KG / (2 - 2 * _KB), 0.5],
        [0.5, -_KG / (2 - 2 * _KR), -_KB / (2 - 2 * _KR)],
    ]
)
#: YCbCr -> RGB (the exact inverse)
_YCBCR_TO_RGB = np.array(
    [
        [1.0, 0.0, 2 - 2 * _KR],
        [1.0, -(2 - 2 * _KB) * _KB / _KG, -(2 - 2 * _KR) * _KR / _KG],
        [1.0, 2 - 2 * _KB, 0.0],
    ]
)


def _apply(matrix: np.ndarray, image: np.ndarray, axis: int) -> np.ndarray:
    """``matrix @ pixel`` for every pixel, the 3 channels along ``axis``; keeps the float dtype."""
    x = np.asarray(image)
    if x.ndim == 0 or x.shape[axis] != 3:
        raise InvalidParameterError(
            f"a colour conversion needs 3 channels along axis {axis}, got shape {x.shape}"
        )
    dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    moved = np.moveaxis(x.astype(dtype, copy=False), axis, -1)
    out = moved @ matrix.T.astype(dtype)
    return np.moveaxis(out, -1, axis)


def rgb_to_ycbcr(rgb: np.ndarray, *, channel_axis: int = -1) -> np.ndarray:
    r"""Full-range BT.601 luma/chroma of an RGB image, chroma centred on zero.

    .. math::

        Y = 0.299 R + 0.587 G + 0.114 B, \quad C_b = \frac{B - Y}{1.772}, \quad
        C_r = \frac{R - Y}{1.402}

    Parameters
    ----------
    rgb : numpy.ndarray
        Float image with 3 channels along ``channel_axis``.
    channel_axis : int, optional
        The channel axis (default last).

    Returns
    -------
    numpy.ndarray
        :math:`(Y, C_b, C_r)` along ``channel_axis``, float32 for float32 input (float64
        otherwise). For :math:`R, G, B \in [0, 1]`: :math:`Y \in [0, 1]`,
        :math:`C_b, C_r \in [-0.5, 0.5]`; an achromatic pixel has :math:`C_b = C_r = 0`.

    References
    ----------
    ITU-R Recommendation BT.601-7, 2011; JPEG File Interchange Format 1.02, 1992.

    Examples
    --------
    >>> import numpy as np
    >>> from unblur.colour import rgb_to_ycbcr
    >>> np.round(rgb_to_ycbcr(np.array([[[0.5, 0.5, 0.5], [1.0, 0.0, 0.0]]])), 3) + 0.0
    array([[[ 0.5  ,  0.   ,  0.   ],
            [ 0.299, -0.169,  0.5  ]]])
    """
    return _apply(_RGB_TO_YCBCR, rgb, channel_axis)


def ycbcr_to_rgb(ycbcr: np.ndarray, *, channel_axis: int = -1) -> np.ndarray:
    r"""The inverse of :func:`rgb_to_ycbcr`.

    .. math::

        R = Y + 1.402\,C_r, \quad B = Y + 1.772\,C_b, \quad
        G = (Y - 0.299 R - 0.114 B) / 0.587

    Parameters
    ----------
    ycbcr : numpy.ndarray
        Float image with :math:`(Y, C_b, C_r)` along ``channel_axis``.
    channel_axis : int, optional
        The channel axis (default last).

    Returns
    -------
    numpy.ndarray
        RGB, same shape and float dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from unblur.colour import rgb_to_ycbcr, ycbcr_to_rgb
    >>> x = np.random.default_rng(0).random((4, 5, 3))
    >>> bool(np.allclose(ycbcr_to_rgb(rgb_to_ycbcr(x)), x, atol=1e-12))
    True
    """
    return _apply(_YCBCR_TO_RGB, ycbcr, channel_axis)


#: sRGB transfer function (IEC 61966-2-1): the encoded break point, the linear slope below it,
#: the offset and the exponent of the power segment.
_SRGB_BREAK, _SRGB_SLOPE, _SRGB_OFFSET, _SRGB_GAMMA = 0.04045, 12.92, 0.055, 2.4


def _float_copy(image: np.ndarray) -> np.ndarray:
    """Float values of ``image`` (integers scaled to [0, 1]), float32 kept, a new array."""
    x = to_float(image)
    return np.array(x, dtype=x.dtype if x.dtype == np.float32 else np.float64)


def srgb_to_linear(image: np.ndarray) -> np.ndarray:
    r"""Linear light from sRGB-encoded values (the inverse sRGB transfer function).

    .. math::

        L = \begin{cases} V / 12.92 & |V| \le 0.04045 \\
            \operatorname{sign}(V)\left(\frac{|V| + 0.055}{1.055}\right)^{2.4}
            & |V| > 0.04045 \end{cases}

    Parameters
    ----------
    image : numpy.ndarray
        Encoded values, nominally in [0, 1]; integer images are scaled to [0, 1] first
        (8-bit: divided by 255). Any shape: the function acts on every value alike, so a
        channel axis needs no mention.

    Returns
    -------
    numpy.ndarray
        Linear values, a new array: float32 for float32 and integer input (as everywhere in
        unblur), float64 otherwise.

    References
    ----------
    IEC 61966-2-1:1999 (sRGB), section 5.2.

    Examples
    --------
    >>> import numpy as np
    >>> from unblur.colour import srgb_to_linear
    >>> np.round(srgb_to_linear(np.array([0.0, 0.04045, 0.5, 1.0])), 6)
    array([0.      , 0.003131, 0.214041, 1.      ])
    """
    v = _float_copy(image)
    a = np.abs(v)
    power = a > _SRGB_BREAK
    a[~power] /= _SRGB_SLOPE
    a[power] = ((a[power] + _SRGB_OFFSET) / (1 + _SRGB_OFFSET)) ** _SRGB_GAMMA
    return np.copysign(a, v)


def linear_to_srgb(image: np.ndarray) -> np.ndarray:
    r"""sRGB-encoded values from linear light (the sRGB transfer function).

    .. math::

        V = \begin{cases} 12.92\,L & |L| \le 0.0031308 \\
            \operatorname{sign}(L)\left(1.055\,|L|^{1/2.4} - 0.055\right)
            & |L| > 0.0031308 \end{cases}

    The exact inverse of :func:`srgb_to_linear` (to rounding), values outside [0, 1] included.

    Parameters
    ----------
    image : numpy.ndarray
        Linear values (integer images are scaled to [0, 1] first).

    Returns
    -------
    numpy.ndarray
        Encoded values, a new array: float32 for float32 and integer input, float64 otherwise.

    References
    ----------
    IEC 61966-2-1:1999 (sRGB), section 5.3.

    Examples
    --------
    >>> import numpy as np
    >>> from unblur.colour import linear_to_srgb, srgb_to_linear
    >>> x = np.linspace(-0.2, 1.2, 15)
    >>> bool(np.allclose(linear_to_srgb(srgb_to_linear(x)), x, atol=1e-12))
    True
    """
    v = _float_copy(image)
    a = np.abs(v)
    power = a > _SRGB_BREAK / _SRGB_SLOPE
    a[~power] *= _SRGB_SLOPE
    a[power] = (1 + _SRGB_OFFSET) * a[power] ** (1 / _SRGB_GAMMA) - _SRGB_OFFSET
    return np.copysign(a, v)


def split_alpha(
    image: np.ndarray, channel_axis: int, color: str | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """(colour channels, alpha channel or None) of an image with channels along ``channel_axis``.

    With ``color`` ``"channels"`` or ``"luminance"`` a fourth channel is alpha (RGBA); with
    ``None`` there is no alpha. The alpha keeps its axis (length 1) so that
    ``np.concatenate([colour, alpha], axis=channel_axis)`` rebuilds the image.
    """
    n = image.shape[channel_axis]
    if color is None or n != 4:
        return image, None
    index = [slice(None)] * image.ndim
    index[channel_axis] = slice(0, 3)
    colour = image[tuple(index)]
    index[channel_axis] = slice(3, 4)
    return colour, image[tuple(index)]


def restore_colour(
    image: np.ndarray,
    channel_axis: int | None,
    restore: Callable[[np.ndarray], np.ndarray],
    color: str | None = "channels",
) -> np.ndarray:
    """Apply a single-channel restoration ``restore`` to an image as ``color`` says.

    Parameters
    ----------
    image : numpy.ndarray
        Float image; colour channels along ``channel_axis`` (non-negative), or None for a
        grey image or a stack (``restore`` is then applied to the whole array).
    channel_axis : int or None
        The channel axis, already normalised to a non-negative index.
    restore : callable
        ``restore(channel) -> restored channel`` of the same shape.
    color : {"channels", "luminance", None}
        See the module documentation: each channel, the BT.601 luma only, or every channel
        without colour meaning. An RGBA alpha channel is returned unchanged (same values, same
        dtype) with ``"channels"`` and ``"luminance"``.

    Returns
    -------
    numpy.ndarray
        The restored image, shape of ``image``.

    Raises
    ------
    InvalidParameterError
        ``color="luminance"`` on an image that has not 1 (grey), 3 (RGB) or 4 (RGBA)
        channels, or an unknown ``color``.
    """
    color = check_color(color)
    if channel_axis is None:
        return restore(image)
    colour, alpha = split_alpha(image, channel_axis, color)
    n = image.shape[channel_axis]
    if color == "luminance" and n > 1:  # one channel: grey, its own luminance
        if colour.shape[channel_axis] != 3:
            raise InvalidParameterError(
                f"color='luminance' needs 3 (RGB) or 4 (RGBA) channels, got {n}; "
                "use color='channels'"
            )
        ycc = rgb_to_ycbcr(colour, channel_axis=channel_axis)
        luma = np.take(ycc, 0, axis=channel_axis)
        index = [slice(None)] * ycc.ndim
        index[channel_axis] = 0
        ycc[tuple(index)] = restore(luma)
        restored = ycbcr_to_rgb(ycc, channel_axis=channel_axis)
    else:
        channels = [
            restore(np.take(colour, c, axis=channel_axis))
            for c in range(colour.shape[channel_axis])
        ]
        restored = np.stack(channels, axis=channel_axis)
    if alpha is None:
        return restored
    return np.concatenate([restored, alpha.astype(restored.dtype, copy=False)], axis=channel_axis)
