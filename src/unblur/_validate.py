"""Input checks shared by the public functions: one clear error per problem."""

from __future__ import annotations

import numpy as np

from .errors import InvalidImageError, InvalidParameterError, InvalidPSFError
from .psf import normalize

__all__ = ["as_float_image", "check_channel_axis", "check_psf", "float_dtype"]


def float_dtype(dtype: np.dtype) -> np.dtype:
    """Compute dtype for an input dtype: float64 stays float64, everything else float32."""
    return np.dtype(np.float64) if np.dtype(dtype) == np.float64 else np.dtype(np.float32)


def as_float_image(image, *, name: str = "image", min_ndim: int = 1) -> np.ndarray:
    """Return ``image`` as a finite float array (no copy when already float32/float64).

    Integer images are scaled to [0, 1] by their dtype's maximum (uint8 / 255, uint16 / 65535)
    and become float32; booleans become 0/1; float16 becomes float32.
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
    if arr.dtype == np.bool_:
        arr = arr.astype(np.float32)
    elif np.issubdtype(arr.dtype, np.integer):
        info = np.iinfo(arr.dtype)
        arr = arr.astype(np.float32) / np.float32(info.max)
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
