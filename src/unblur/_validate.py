"""Input checks shared by the public functions: one clear error per problem."""

from __future__ import annotations

import numpy as np

from .errors import InvalidImageError, InvalidParameterError, InvalidPSFError
from .psf import normalize

__all__ = ["as_float_image", "check_channel_axis", "check_psf", "float_dtype", "scale_to_unit"]


def float_dtype(dtype: np.dtype) -> np.dtype:
    """Compute dtype for an input dtype: float64 stays float64, everything else float32."""
    return np.dtype(np.float64) if np.dtype(dtype) == np.float64 else np.dtype(np.float32)


def scale_to_unit(arr: np.ndarray, maxval: float | None = None) -> np.ndarray:
    """Scale integer or boolean data to float32 on the [0, 1] scale.

    Parameters
    ----------
    arr : numpy.ndarray
        Integer or boolean data.
    maxval : float, optional
        The integer value that maps to 1.0; by default the dtype's maximum (255 for uint8,
        65535 for uint16, 32767 for int16, ...). Not used for booleans.

    Returns
    -------
    numpy.ndarray
        float32 ``arr / maxval``, correctly rounded (8- and 16-bit data are divided in float32,
        which holds them exactly; wider integers in float64). Negative values of signed types
        stay negative. Booleans become 0.0 / 1.0.
    """
    if arr.dtype.kind == "b":
        return arr.astype(np.float32)
    if maxval is None:
        maxval = np.iinfo(arr.dtype).max
    if arr.dtype.itemsize <= 2:
        out = arr.astype(np.float32)
        out /= np.float32(maxval)
        return out
    return (arr / float(maxval)).astype(np.float32)


def as_float_image(image, *, name: str = "image", min_ndim: int = 1) -> np.ndarray:
    """Return ``image`` as a finite float array (no copy when already float32/float64).

    Integer and boolean images are scaled by :func:`scale_to_unit` (uint8 / 255,
    uint16 / 65535, booleans 0/1) and become float32; float16 becomes float32.
    """
    arr = np.asarray(image)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise InvalidImageError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise InvalidImageError(f"{name} must be real, got complex dtype {arr.dtype}")
    if arr.ndim < min_ndim:
        raise InvalidImageError(f"{name} must have at least {min_ndim} dimensions, got {arr.ndim}")
    if arr.size == 0:
        raise InvalidImageError(f"{name} is empty (shape {arr.shape})")
    if arr.dtype.kind in "biu":
        arr = scale_to_unit(arr)
    elif arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float32)
    if not np.all(np.isfinite(arr)):
        raise InvalidImageError(f"{name} contains NaN or infinite values")
    return arr


def check_channel_axis(ndim: int, channel_axis: int | None) -> int | None:
    """Normalise ``channel_axis`` to a non-negative axis index (or None)."""
    if channel_axis is None:
        return None
    try:
        axis = int(channel_axis)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"channel_axis must be an integer, got {channel_axis!r}"
        ) from None
    if not -ndim <= axis < ndim:
        raise InvalidParameterError(f"channel_axis {axis} is out of range for a {ndim}-D image")
    if ndim < 3:
        raise InvalidParameterError(
            "a colour image needs at least 3 dimensions (rows, cols, channels)"
        )
    return axis % ndim


def check_psf(psf, spatial_shape: tuple[int, ...]) -> np.ndarray:
    """Validate a PSF against the spatial shape of an image; return it normalised (float64)."""
    k = np.asarray(psf)
    if k.ndim != len(spatial_shape):
        raise InvalidPSFError(
            f"PSF has {k.ndim} dimensions but the image has {len(spatial_shape)} spatial "
            "dimensions (pass channel_axis for colour images)"
        )
    k = normalize(k)
    if any(p > n for p, n in zip(k.shape, spatial_shape, strict=True)):
        raise InvalidPSFError(f"PSF of shape {k.shape} is larger than the image {spatial_shape}")
    return k
