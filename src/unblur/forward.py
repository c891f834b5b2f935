"""The forward model: blur an image with a PSF and add noise, for simulation and testing."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import fft
from ._checks import (
    as_float_image,
    check_bool,
    check_channel_axis,
    check_number,
    check_psf,
    check_text,
)
from .errors import InvalidParameterError, InvalidPSFError
from .operators import Convolution, FieldConvolution
from .psf import PSFField

__all__ = ["BLUR_BOUNDARIES", "add_noise", "blur"]

BLUR_BOUNDARIES = ("periodic", "reflect", "valid")


def blur(
    image: np.ndarray,
    psf: np.ndarray,
    *,
    boundary: str = "reflect",
    channel_axis: int | None = None,
) -> np.ndarray:
    """Convolve an image with a PSF (via real FFTs).

    Parameters
    ----------
    image : numpy.ndarray
        nD image. Integer images are scaled to [0, 1] first.
    psf : numpy.ndarray or PSFField
        PSF with one dimension per spatial axis of the image; normalised to sum to one. Its
        centre is the pixel at index ``n // 2`` on each axis, so a centred PSF does not shift.
        A :class:`~unblur.psf.PSFField` (:func:`unblur.psf.grid`) built for the image's spatial
        shape blurs with a spatially varying PSF: the product convolution
        :math:`\\sum_i h_i * (w_i x)` (:mod:`unblur.operators.field`); ``reflect`` mirrors the
        field with the image.
    boundary : {"reflect", "periodic", "valid"}, optional
        ``periodic``: circular convolution (the image wraps around). ``reflect``: the image is
        mirrored beyond its border; same shape out. ``valid``: the physical model, no
        assumption beyond the frame; the output is smaller by ``psf.shape - 1`` on each axis
        and equals ``scipy.signal.fftconvolve(image, psf, mode="valid")``.
    channel_axis : int, optional
        Axis of colour channels, each blurred with the same PSF.

    Returns
    -------
    numpy.ndarray
        Blurred image, float32 (float64 for float64 input).

    Examples
    --------
    >>> import numpy as np
    >>> from unblur import blur, psf
    >>> x = np.zeros((32, 32), np.float32); x[16, 16] = 1
    >>> y = blur(x, psf.gaussian(1.5), boundary="periodic")
    >>> bool(np.isclose(y.sum(), 1)), y.dtype
    (True, dtype('float32'))
    """
    if check_text("boundary", boundary) not in BLUR_BOUNDARIES:
        raise InvalidParameterError(
            f"unknown boundary {boundary!r} for blur; choose one of {', '.join(BLUR_BOUNDARIES)}"
        )
    x = as_float_image(image)
    axis = check_channel_axis(x.ndim, channel_axis)
    spatial = x.shape if axis is None else x.shape[:axis] + x.shape[axis + 1 :]
    if isinstance(psf, PSFField):
        if psf.image_shape != spatial:
            raise InvalidPSFError(
                f"the PSF field was built for an image of shape {psf.image_shape}, not {spatial}"
            )
        return _per_channel(x, axis, lambda channel: _blur_field(channel, psf, boundary))
    k = check_psf(psf, spatial)
    return _per_channel(x, axis, lambda channel: _blur_one(channel, k, boundary))


def _blur_field(x: np.ndarray, field: PSFField, boundary: str) -> np.ndarray:
    """:func:`_blur_one` for a field: the same grids, the field's frame on the image."""
    if boundary == "periodic":
        return FieldConvolution(field, x.shape, dtype=x.dtype).forward(x)
    kshape = field.psf_shape
    before = [p - 1 - p // 2 for p in kshape]
    if boundary == "reflect":
        x = np.pad(x, [(b, p - 1 - b) for b, p in zip(before, kshape, strict=True)], "symmetric")
    op = FieldConvolution(
        field,
        x.shape,
        offset=before if boundary == "reflect" else None,
        mirror=boundary == "reflect",
        dtype=x.dtype,
    )
    out = op.forward(x)
    return out[
        tuple(slice(b, b + n - p + 1) for b, n, p in zip(before, x.shape, kshape, strict=True))
    ]


def _blur_one(x: np.ndarray, k: np.ndarray, boundary: str) -> np.ndarray:
    if boundary == "periodic":
        return Convolution(k, x.shape, dtype=x.dtype).forward(x)
    if boundary == "reflect":
        before = [p - 1 - p // 2 for p in k.shape]
        x = np.pad(x, [(b, p - 1 - b) for b, p in zip(before, k.shape, strict=True)], "symmetric")
    # linear convolution, valid part: index i of the output sees x[i : i + p]
    grid = fft.fast_shape(x.shape)
    full = Convolution(k, grid, dtype=x.dtype).forward(
        np.pad(x, [(0, g - n) for g, n in zip(grid, x.shape, strict=True)])
    )
    start = [p - 1 - p // 2 for p in k.shape]
    return full[
        tuple(slice(s, s + n - p + 1) for s, n, p in zip(start, x.shape, k.shape, strict=True))
    ]


def _per_channel(
    x: np.ndarray, axis: int | None, func: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Apply ``func`` to each channel along ``axis`` (or to ``x`` when axis is None)."""
    if axis is None:
        return func(x)
    channels = [func(np.take(x, c, axis=axis)) for c in range(x.shape[axis])]
    return np.stack(channels, axis=axis)


#: Largest mean count NumPy's Poisson sampler accepts (about 9.2e18), with a margin.
_MAX_POISSON_RATE = 1e18


def _generator(rng) -> np.random.Generator:
    """``rng`` (None, a seed >= 0, a Generator or a BitGenerator) as a Generator."""
    if rng is None or isinstance(rng, np.random.Generator | np.random.BitGenerator):
        return np.random.default_rng(rng)
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool | np.bool_) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise InvalidParameterError(
        f"rng must be None, a seed (an integer >= 0) or a numpy.random.Generator, got {rng!r}"
    )


def add_noise(
    image: np.ndarray,
    *,
    gaussian: float = 0.0,
    poisson: float | None = None,
    rng: int | np.random.Generator | None = None,
    clip: bool = False,
) -> np.ndarray:
    """Add Poisson (shot) and/or Gaussian (read) noise, reproducibly.

    Parameters
    ----------
    image : numpy.ndarray
        Image in [0, 1] (integer images are scaled).
    gaussian : float, optional
        Standard deviation of additive white Gaussian noise, in image units (0.01 is 1%).
    poisson : float, optional
        Photon count at intensity 1: the image becomes ``Poisson(poisson * image) / poisson``.
        Applied before the Gaussian noise. Requires a non-negative image.
    rng : int or numpy.random.Generator, optional
        Seed or generator; the same seed gives the same noise.
    clip : bool, optional
        Clip the result to [0, 1].

    Returns
    -------
    numpy.ndarray
        Noisy image, float32 (float64 for float64 input).

    Examples
    --------
    >>> import numpy as np
    >>> from unblur import add_noise
    >>> y = add_noise(np.full((64, 64), 0.5, np.float32), gaussian=0.01, rng=0)
    >>> round(float(y.std()), 2)
    0.01
    """
    x = as_float_image(image)
    gaussian = check_number("gaussian noise sigma", gaussian, allow_zero=True)
    if gaussian > np.finfo(x.dtype).max / 1e3:
        raise InvalidParameterError(
            f"gaussian noise sigma {gaussian:g} is too large for {x.dtype} data"
        )
    if poisson is not None:
        poisson = check_number("poisson photon count", poisson)
    clip = check_bool("clip", clip)
    gen = _generator(rng)
    out = x.copy()
    if poisson is not None:
        if out.min() < -1e-6:
            raise InvalidParameterError("Poisson noise needs a non-negative image")
        peak = float(out.max()) * poisson
        if not peak < _MAX_POISSON_RATE:
            raise InvalidParameterError(
                f"poisson={poisson:g} photons at intensity 1 gives counts up to {peak:.3g}, "
                f"more than can be drawn ({_MAX_POISSON_RATE:.0e}); give a smaller count"
            )
        # rounding in an FFT blur can leave values of about -1e-17: they count as zero
        rate = np.clip(out.astype(np.float64), 0, None) * poisson
        out = (gen.poisson(rate) / poisson).astype(x.dtype)
    if gaussian > 0:
        out += gen.normal(0.0, gaussian, size=out.shape).astype(x.dtype)
    if clip:
        np.clip(out, 0, 1, out=out)
    return out
