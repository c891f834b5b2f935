"""The ``--reference`` of ``unblur deconvolve``: the same size as the input, or the sharp
original of a 'valid' blur, aligned by a centred crop.

A 'valid' blur (``unblur blur --boundary valid``, or a camera: the scene goes on beyond the
frame) of an ``N``-pixel side by a ``P``-pixel PSF keeps the ``N - P + 1`` pixels whose PSF
footprint lies inside the original: the blurred pixel ``i`` is centred on the original pixel
``i + P // 2`` (the PSF's centre). So a reference larger than the input by ``d = P - 1`` along
each axis is the sharp original, and its pixels ``d // 2 ... d // 2 + n - 1`` (``d // 2 =
P - 1 - P // 2``) are the ones the restored image estimates. With a PSF given, the reference
is accepted only when ``d = P - 1`` on every axis, ``P`` being the PSF's shape or, for a PSF
file, the file's own shape (cleaning a PSF file centres it, which pads an even side to an odd
one); with the PSF estimated (blind), the true PSF's size is not known, and any larger
reference is taken as such a support, with a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import CLIError
from ._files import data_shape
from ._output import shape_text


def _split(shape: tuple[int, ...], colour: bool) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(spatial axes, channel axis) of a data shape."""
    return (shape[:-1], shape[-1:]) if colour else (shape, ())


def _refused(
    reference_path: Path,
    input_path: Path,
    reference: tuple[int, ...],
    image: tuple[int, ...],
    colour: bool,
    psf_shape: tuple[int, ...] | None,
) -> CLIError:
    spatial, channels = _split(image, colour)
    if psf_shape is None:
        valid = (
            "larger by the PSF's size - 1 along each axis (the sharp original of a 'valid' blur)"
        )
    else:
        grown = tuple(n + p - 1 for n, p in zip(spatial, psf_shape, strict=True)) + channels
        valid = (
            f"{shape_text(grown)} (the sharp original of a 'valid' blur by this "
            f"{shape_text(psf_shape)} PSF)"
        )
    return CLIError(
        f"the reference {str(reference_path)!r} is {shape_text(reference)} but "
        f"{str(input_path)!r} is {shape_text(image)}; accepted: {shape_text(image)} (the same "
        f"size) or {valid}"
    )


def check_reference_header(reference_path: Path, input_path: Path, header) -> None:
    """Before decoding anything: the reference has the input's channels and axes, and is the
    same size or larger along every axis (the exact size is checked against the PSF later)."""
    from ..io import read_header

    reference_header = read_header(reference_path)
    reference, image = data_shape(reference_header), data_shape(header)
    if reference == image:
        return
    colour = header.channel_axis is not None
    ref_spatial, ref_channels = _split(reference, reference_header.channel_axis is not None)
    spatial, channels = _split(image, colour)
    if (
        ref_channels != channels
        or len(ref_spatial) != len(spatial)
        or any(r < n for r, n in zip(ref_spatial, spatial, strict=True))
    ):
        raise _refused(reference_path, input_path, reference, image, colour, None)


def align_reference(
    reference: np.ndarray,
    image_shape: tuple[int, ...],
    channel_axis: int | None,
    psf_shapes: Sequence[tuple[int, ...]] | None,
    *,
    reference_path: Path,
    input_path: Path,
) -> tuple[np.ndarray, dict[str, Any]]:
    """The part of ``reference`` that the restored image estimates, and what was done.

    Parameters
    ----------
    reference, image_shape, channel_axis
        The reference's data (alpha split off), the input's data shape and channel axis.
    psf_shapes : sequence of tuples of int, or None
        The shape of the PSF given, then that of its file if it differs (the reference must
        be larger by exactly one of them - 1), or None when the PSF is estimated.

    Returns
    -------
    reference : numpy.ndarray
        ``reference`` itself, or its centred crop to ``image_shape``.
    fields : dict
        For the JSON summary and the report: ``path``, ``shape``, and for a crop ``crop``
        (pixels removed before and after, per spatial axis) and ``note``.

    Raises
    ------
    CLIError
        Any other shape, with the shapes that would be accepted.
    """
    fields: dict[str, Any] = {"path": str(reference_path), "shape": list(reference.shape)}
    image_shape = tuple(image_shape)
    if reference.shape == image_shape:
        return reference, fields
    colour = channel_axis is not None
    ref_spatial, ref_channels = _split(reference.shape, colour)
    spatial, channels = _split(image_shape, colour)
    grown = tuple(r - n for r, n in zip(ref_spatial, spatial, strict=True))
    if (
        ref_channels != channels
        or min(grown) < 0
        or (psf_shapes is not None and grown not in [tuple(p - 1 for p in q) for q in psf_shapes])
    ):
        used = None if psf_shapes is None else tuple(psf_shapes[0])
        raise _refused(reference_path, input_path, reference.shape, image_shape, colour, used)
    before = [d // 2 for d in grown]  # = P - 1 - P // 2: blur(boundary="valid")'s crop
    region = tuple(slice(b, b + n) for b, n in zip(before, spatial, strict=True))
    kernel = shape_text(tuple(d + 1 for d in grown))
    support = (
        f"the 'valid' support of the {kernel} PSF"
        if psf_shapes is not None
        else f"taken as the 'valid' support of a {kernel} PSF (the PSF was estimated: its true "
        "size is not known)"
    )
    fields["crop"] = [[b, d - b] for b, d in zip(before, grown, strict=True)]
    fields["note"] = (
        f"the reference ({shape_text(reference.shape)}) is {support}; its centre "
        f"{shape_text(spatial)} is compared"
    )
    return reference[region], fields
