"""Input and output files: the output-safety checks, writable formats, alpha channels."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ._errors import CLIError


def same_path(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` are (or would be) the same file (links and spellings included)."""
    from ..io import same_file

    return same_file(a, b)


def psf_files(psf_spec: str | None) -> list[Path]:
    """``[Path(psf_spec)]`` when the ``--psf`` value names a file (an input to protect)."""
    if psf_spec is None:
        return []
    try:
        path = Path(psf_spec)
        return [path] if path.exists() else []
    except (OSError, ValueError):  # e.g. a name too long for the file system
        return []


def check_outputs(outputs: Sequence[Path], *, inputs: Sequence[Path], force: bool) -> None:
    """Fail early (before any work) for outputs that would break the output-safety rule:
    an input (image, PSF, reference) overwritten, a folder replaced, a file replaced without
    ``--force`` (see :mod:`unblur.io.outputs`)."""
    from ..io import check_outputs as check

    check(outputs, inputs=inputs, force=force)


def check_writable(outputs: Sequence[Path], *, like=None, dtype: str | None = None) -> None:
    """Fail early for image outputs that :func:`unblur.io.write_image` would refuse: the
    extension, ``--dtype`` for that format and, given the input's header ``like``, its layout
    (a stack to PNG, alpha to JPEG) (see :func:`unblur.io.check_output_format`)."""
    from ..io import check_output_format

    for target in outputs:
        check_output_format(target, like=like, dtype=dtype)


def stage_psf(staged, path: Path, k) -> None:
    """Stage the PSF ``k`` at ``path`` in ``staged`` (an :class:`unblur.io.OutputSet`) as
    ``unblur psf`` writes it: exact floats (sum 1) in .npy and .tif, else scaled so that the
    peak is white (PNG: 16 bits), for viewing. A :class:`~unblur.psf.PSFField` is saved as its
    ``(gy, gx, ky, kx)`` array of PSFs (.npy or .tif), which :func:`read_psf` reads back as a
    field over the image."""
    from ..io import encode_image

    ext = path.suffix.lower()
    if hasattr(k, "psfs"):
        if ext not in FIELD_EXTENSIONS:  # checked before the work (check_field_output)
            raise CLIError(field_output_message(path))
        staged.write(path, encode_image(path, np.asarray(k.psfs)))
        return
    if ext in (".npy", ".tif", ".tiff"):
        staged.write(path, encode_image(path, k))
        return
    if k.ndim != 2:
        raise CLIError(f"a {k.ndim}-D PSF can only be saved as .npy or .tif, not {path.name!r}")
    staged.write(path, encode_image(path, k / k.max(), dtype="uint16" if ext == ".png" else None))


#: where a PSF field can be saved (and read back by :func:`read_psf`)
FIELD_EXTENSIONS = (".npy", ".tif", ".tiff")


def field_output_message(path: Path) -> str:
    return (
        f"{str(path)!r}: a PSF field is saved as .npy or .tif (its (gy, gx, ky, kx) array of "
        "PSFs, which --psf reads back as a field)"
    )


def split_alpha(image: np.ndarray, info) -> tuple[np.ndarray, np.ndarray | None, int | None]:
    """(colour or grey data, alpha channel or None, channel axis for the API) of a read image."""
    if info.channel_axis is None:
        return image, None, None
    if info.has_alpha:
        return image[..., :-1], image[..., -1:], -1
    return image, None, -1


def data_color(color: str, colour: np.ndarray, axis: int | None) -> str | None:
    """The ``color`` to pass to :func:`unblur.deconvolve` for the data :func:`split_alpha`
    left: with ``"channels"`` the library takes a fourth channel for alpha (RGBA), but the
    file's own alpha is already split off here, so four channels are four data channels
    (RGB+X, a 4-channel microscope image) and are all restored (``None``)."""
    if color == "channels" and axis is not None and colour.shape[axis] == 4:
        return None
    return color


def with_alpha(image: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """``image`` with the ``alpha`` channel of :func:`split_alpha` put back (if any)."""
    if alpha is None:
        return image
    return np.concatenate([image, alpha.astype(image.dtype, copy=False)], axis=-1)


def check_restore_memory(path: Path, method: str, header=None) -> None:
    """Refuse, from the file's header and before decoding it, an image whose restoration with
    ``method`` would not fit in the memory available (the way out: ``--chunks``).
    ``header``: the file's :func:`unblur.io.read_header`, if already read."""
    from ..errors import InvalidImageError
    from ..io import read_header
    from ..io.limits import check_memory, restore_memory
    from ..restore import resolve

    header = read_header(path) if header is None else header
    spatial = header.shape[:-1] if header.channel_axis is not None else header.shape
    name = resolve(method, spatial).name
    channels = header.n_channels
    itemsize = 8 if header.dtype == np.float64 else 4
    needed = restore_memory(header.n_pixels, channels, itemsize, name)
    size = "x".join(map(str, header.shape))
    check_memory(
        needed,
        f"restoring {str(path)!r} ({size}) with {name}",
        hint="restore it block by block with --chunks (.npy, .tif and .zarr files)",
        error=InvalidImageError,
    )


def data_shape(header) -> tuple[int, ...]:
    """The shape of an image's data once its alpha channel is split off (:func:`split_alpha`),
    from its :func:`unblur.io.read_header`."""
    shape = tuple(int(n) for n in header.shape)
    if header.channel_axis is not None and shape[-1] in (2, 4):
        return (*shape[:-1], shape[-1] - 1)
    return shape


def layout_text(path: Path, info, shape) -> str:
    """How a read image is laid out, in words a command-line user can act on:
    ``"a stack of 5 pages of 40x40"``, ``"a 6x3 image with 3 colour channels"``."""
    colour = info.channel_axis is not None
    spatial = tuple(shape[:-1] if colour else shape)
    channels = f" with {shape[-1]} colour channels" if colour else ""
    if info.n_pages > 1:
        text = f"a stack of {info.n_pages} pages of {'x'.join(map(str, spatial[1:]))}{channels}"
    else:
        text = f"a {'x'.join(map(str, spatial))} image{channels}"
    if colour and path.suffix.lower() == ".npy":
        text += " (a last axis of at most 4 is read as colour channels)"
    return text


def read_psf(spec: str, shape: tuple[int, ...], axis: int | None, voxel_size=None):
    """The PSF of ``--psf SPEC`` for an image of ``shape`` (colour on ``axis``): a model spec
    or PSF file (:func:`unblur.psf.parse_spec`), or, for a ``.npy``/``.tif`` file with twice the
    image's spatial axes (``(gy, gx, ky, kx)`` for a 2-D image), the PSF field it holds
    (:func:`unblur.psf.grid` over the image, each PSF normalised)."""
    from .. import psf as psf_models
    from ..io import read_header, read_image

    spatial = tuple(n for i, n in enumerate(shape) if axis is None or i != axis % len(shape))
    path = Path(spec)
    if path.suffix.lower() in FIELD_EXTENSIONS and path.is_file():
        if len(read_header(path).shape) == 2 * len(spatial):
            return psf_models.grid(read_image(path)[0], spatial)
    return psf_models.parse_spec(spec, voxel_size=voxel_size)


def kernel_shape(k) -> tuple[int, ...]:
    """The shape of a PSF, or of every PSF of a field."""
    return tuple(k.psf_shape) if hasattr(k, "psf_shape") else tuple(k.shape)


def check_psf_fits(path: Path, info, shape, k) -> None:
    """One clear line when the PSF (or estimating one) does not suit the image as it was
    read: a stack (animated GIF, multi-page TIFF) needs a PSF with as many axes (or twice as
    many for a field), colour is read from a last axis of at most 4 entries, and the PSF must
    fit inside the image."""
    spatial = tuple(shape[:-1] if info.channel_axis is not None else shape)
    what = f"{str(path)!r} is {layout_text(path, info, shape)}"
    if k is None:
        if len(spatial) != 2:
            raise CLIError(
                f"{what}; the PSF can be estimated for a single 2-D image only: give --psf "
                f"(a {len(spatial)}-D PSF file)"
            )
        return
    kshape = kernel_shape(k)  # of a field: the shape of its PSFs, each of which must fit
    if len(kshape) != len(spatial):
        raise CLIError(
            f"{what}, so the PSF needs {len(spatial)} axes (or {2 * len(spatial)} for a field "
            f"of PSFs), but it has {len(kshape)}; give a {len(spatial)}-D PSF file (.npy or "
            ".tif), or restore the pages as separate files"
        )
    if any(p > n for p, n in zip(kshape, spatial, strict=True)):
        raise CLIError(
            f"the PSF ({'x'.join(map(str, kshape))}) is larger than the image: {what}; give "
            "a smaller PSF"
        )
