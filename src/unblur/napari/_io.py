"""Reader and writer contributions: TIFF files with their voxel size.

napari's own TIFF reader gives every layer a scale of 1; this reader goes through
:func:`unblur.io.read_image`, which reads the physical pixel size of OME-TIFF
(``PhysicalSizeX/Y/Z``) and ImageJ TIFF files, so a calibrated stack opens with its voxel
size as the layer's scale (and unit) and microscope PSFs made from it have the right
sampling. The writer stores an image layer as (OME-)TIFF with its scale as the physical size
(:func:`unblur.io.write_image`), so the reader opens it again at the same size.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..io import ImageInfo, read_image, write_image
from ._layers import METADATA_KEY, as_array

__all__ = ["get_reader", "read_tiff", "write_tiff"]

SUFFIXES = (".tif", ".tiff")


def get_reader(path: str | list[str]) -> Callable[[Any], list] | None:
    """napari's reader hook: :func:`read_tiff` for one TIFF file, else None."""
    if isinstance(path, list | tuple):
        if len(path) != 1:
            return None
        path = path[0]
    if not str(path).lower().endswith(SUFFIXES):
        return None
    return read_tiff


def _units(unit: str | None, n: int) -> dict[str, Any]:
    """``units`` for napari when pint knows ``unit`` (``"µm"``, ``"nm"``), else nothing."""
    if not unit:
        return {}
    try:
        import pint

        pint.get_application_registry().Unit(unit)
    except Exception:  # an unknown unit name: keep the numbers, drop the unit
        return {}
    return {"units": (unit,) * n}


def read_tiff(path: str | list[str]) -> list[tuple[np.ndarray, dict[str, Any], str]]:
    """One image layer from a TIFF file, with its voxel size as the layer's scale.

    Data come as :func:`unblur.io.read_image` returns them: float in [0, 1] (integer files
    divided by their type's maximum), colour as RGB(A).
    """
    if isinstance(path, list | tuple):
        path = path[0]
    data, info = read_image(path)
    rgb = info.channel_axis is not None and data.shape[-1] in (3, 4)
    kwargs: dict[str, Any] = {
        "name": Path(os.fspath(path)).name.split(".")[0],
        "rgb": rgb,
        "metadata": {
            METADATA_KEY: {
                "source": os.fspath(path),
                "dtype": info.dtype,
                "voxel_size": list(info.voxel_size) if info.voxel_size else None,
                "voxel_unit": info.voxel_unit,
            }
        },
    }
    if info.voxel_size is not None:
        kwargs["scale"] = tuple(float(v) for v in info.voxel_size)
        kwargs.update(_units(info.voxel_unit, len(info.voxel_size)))
    return [(data, kwargs, "image")]


def write_tiff(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """Write one image layer to a TIFF file with its scale as the physical voxel size.

    The scale becomes OME-TIFF ``PhysicalSize`` metadata when the layer is 2-D or 3-D (a grey
    stack); the unit is the layer's first unit when napari knows one (``µm`` otherwise).
    Float data are written as float, integer data keep their type. napari has already asked
    before replacing an existing file, so the file is replaced (atomically).
    """
    arr = as_array(data)
    rgb = bool(meta.get("rgb", False))
    spatial = arr.ndim - (1 if rgb else 0)
    scale = meta.get("scale")
    voxel = tuple(float(s) for s in scale)[-spatial:] if scale is not None else None
    units = meta.get("units")
    unit = str(units[-1]) if units else None
    unit = {"micrometer": "µm", "nanometer": "nm", "pixel": None}.get(unit, unit)
    info = ImageInfo(
        path=None,
        dtype=arr.dtype.name,
        shape=tuple(arr.shape),
        value_range=(0.0, 1.0),
        channel_axis=-1 if rgb else None,
        has_alpha=rgb and arr.shape[-1] == 4,
        n_pages=arr.shape[0] if spatial == 3 else 1,
        voxel_size=voxel if spatial in (2, 3) else None,
        voxel_unit=unit,
    )
    written = write_image(path, arr, info=info, force=True)
    return [os.fspath(written)]
