"""PSFs measured or drawn by users: loading, background removal, centring, cropping."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from .._checks import as_array, check_number
from .._checks import normalize_psf as normalize
from ..errors import InvalidParameterError, InvalidPSFError
from ..io import read_image
from ._core import _centre_crop_or_pad, _size_tuple, _trim, centroid

__all__ = ["from_array", "from_file"]


def from_file(
    path: str | os.PathLike,
    *,
    background: float | None = None,
    threshold: float | None = None,
    size: int | Sequence[int] | None = None,
) -> np.ndarray:
    """Load a measured or drawn PSF from an image or ``.npy`` file.

    Float data (``.npy``, float TIFF: for example a PSF saved by ``unblur psf``) is taken as
    exact: only all-zero borders are cropped, then it is centred and normalised, so a saved
    PSF loads back unchanged. Integer images (a photograph or drawing of a PSF) are turned to
    grey, their background (the median of the border pixels) subtracted and clipped at zero,
    shifted so the centroid falls on the central pixel, cropped to the smallest centred odd box
    holding every value above ``threshold`` times the peak (or to ``size``) and normalised.

    Parameters
    ----------
    path : str or path-like
        PNG, TIFF, JPEG, BMP or NPY file; 3-D float data gives a 3-D PSF.
    background : float, optional
        Background level to subtract, in the file's [0, 1] scale. Default: 0 for float data,
        the median of the border for integer images.
    threshold : float, optional
        Relative level below which outer rows and columns are cropped away. Default: 0 for
        float data (only exact zeros), 1e-3 for integer images.
    size : int or (int, int), optional
        Odd output side lengths instead of the automatic crop.

    Raises
    ------
    ImageReadError
        The file is missing, corrupt or of an unsupported format.
    InvalidPSFError
        Nothing is left after background removal.
    """

    data, info = read_image(path)
    exact = np.issubdtype(np.dtype(info.dtype), np.floating)
    if not exact and info.channel_axis is not None:
        colour = data.shape[-1] - (1 if info.has_alpha else 0)
        data = data[..., :colour].mean(axis=-1)
    if background is None and exact:
        background = 0.0
    if threshold is None:
        threshold = 0.0 if exact else 1e-3
    return from_array(data, background=background, threshold=threshold, size=size, name=path)


def from_array(
    data: np.ndarray,
    *,
    background: float | None = None,
    threshold: float = 1e-3,
    size: int | Sequence[int] | None = None,
    name: str | os.PathLike = "array",
) -> np.ndarray:
    """Clean an array into a PSF (see :func:`from_file`), in any number of dimensions."""
    label = f"PSF from {os.fspath(name)!r}"
    k = as_array(data, name=label, error=InvalidPSFError)
    if k.dtype.kind not in "biuf":
        raise InvalidPSFError(f"{label} must be real numbers, got dtype {k.dtype}")
    k = k.astype(np.float64)
    if k.ndim == 0 or k.size == 0:
        raise InvalidPSFError(f"{label} is empty")
    if not np.all(np.isfinite(k)):
        raise InvalidPSFError(f"{label} contains NaN or infinite values")
    if background is not None:
        background = check_number("background", background, allow_zero=True)
    threshold = check_number("threshold", threshold, allow_zero=True)
    if threshold >= 1:
        raise InvalidParameterError(
            f"threshold must be below 1 (a fraction of the peak), got {threshold}"
        )
    if background is None:
        border = np.concatenate(
            [np.take(k, idx, axis=ax).ravel() for ax in range(k.ndim) for idx in (0, -1)]
        )
        background = float(np.median(border)) if k.size > border.size else 0.0
    k = np.clip(k - background, 0, None)
    if not k.max() > 0:
        raise InvalidPSFError(
            f"PSF from {os.fspath(name)!r} is empty after removing background {background:.3g}"
        )
    # pad to odd sizes centred on the (rounded) centroid
    c = np.rint(centroid(k)).astype(int)
    half = [max(ci, n - 1 - ci) for ci, n in zip(c, k.shape, strict=True)]
    pads = [(h - ci, h - (n - 1 - ci)) for h, ci, n in zip(half, c, k.shape, strict=True)]
    k = np.pad(k, pads)
    if size is None:
        return normalize(_trim(k, threshold * (1 - 1e-12)))
    return normalize(_centre_crop_or_pad(k, _size_tuple(size, k.shape)))
