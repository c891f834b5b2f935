"""From napari layers to arrays for the library, and from results back to layers.

Data leave a layer as NumPy arrays in the worker thread (a Dask-backed layer is computed
there, never in the main thread; a multiscale layer gives its full-resolution level).
Results go back with the geometry of the layer they came from (``scale``, ``translate``,
``units``, ``axis_labels``), so voxel sizes survive, and with what made them under
``metadata["unblur"]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidParameterError

__all__ = [
    "METADATA_KEY",
    "as_array",
    "channel_axis",
    "current_plane",
    "full_resolution",
    "layer_geometry",
    "plain",
    "rectangle_of",
]

#: key of the layer metadata where results record what made them
METADATA_KEY = "unblur"


def full_resolution(layer: Any) -> Any:
    """A layer's data, the first (finest) level of a multiscale layer."""
    return layer.data[0] if getattr(layer, "multiscale", False) else layer.data


def as_array(data: Any) -> np.ndarray:
    """``data`` (NumPy, Dask, Zarr or any array-like) as a NumPy array; call it off the main
    thread, since a lazy array is computed here."""
    compute = getattr(data, "compute", None)
    if callable(compute):
        data = compute()
    return np.asarray(data)


def channel_axis(layer: Any) -> int | None:
    """``-1`` for an RGB(A) image layer, else ``None``."""
    return -1 if getattr(layer, "rgb", False) else None


def layer_geometry(layer: Any, axes: int | None = None) -> dict[str, Any]:
    """``scale``, ``translate``, ``units`` and ``axis_labels`` of ``layer`` for a new layer,
    restricted to its last ``axes`` axes (e.g. 2 for a 2-D PSF estimated on one plane)."""
    n = layer.ndim if axes is None else axes
    out: dict[str, Any] = {
        "scale": tuple(float(s) for s in layer.scale[-n:]),
        "translate": tuple(float(t) for t in layer.translate[-n:]),
    }
    units = getattr(layer, "units", None)
    if units is not None:
        out["units"] = tuple(str(u) for u in units[-n:])
    labels = getattr(layer, "axis_labels", None)
    if labels is not None:
        out["axis_labels"] = tuple(labels[-n:])
    return out


def plain(value: Any) -> Any:
    """``value`` with NumPy scalars and arrays turned into Python numbers and lists, so layer
    metadata can be saved as JSON or YAML."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist() if value.size <= 64 else f"array of shape {value.shape}"
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value) if callable(value) else str(value)


def rectangle_of(shapes: Any, image: Any) -> tuple[slice, slice]:
    """The rows and columns of ``image`` (last two data axes) inside the first shape of the
    Shapes layer ``shapes`` (its bounding box, in world coordinates; rotation is ignored).

    Raises
    ------
    InvalidParameterError
        The Shapes layer is empty, or its first shape lies outside the image.
    """
    if len(shapes.data) == 0:
        raise InvalidParameterError(
            f"the Shapes layer {shapes.name!r} has no shape; draw a rectangle around the region"
        )
    selected = sorted(shapes.selected_data)
    vertices = np.asarray(shapes.data[selected[0] if selected else 0], dtype=np.float64)
    world = np.array([shapes.data_to_world(v) for v in vertices])[:, -2:]
    scale = np.asarray(image.scale[-2:], dtype=np.float64)
    translate = np.asarray(image.translate[-2:], dtype=np.float64)
    pixels = (world - translate) / scale
    shape = full_resolution(image).shape[image.ndim - 2 : image.ndim]
    low = np.clip(np.floor(pixels.min(axis=0) + 0.5), 0, shape).astype(int)
    high = np.clip(np.floor(pixels.max(axis=0) + 0.5) + 1, 0, shape).astype(int)
    if np.any(high - low < 1):
        raise InvalidParameterError(
            f"the first shape of {shapes.name!r} lies outside the image {image.name!r}"
        )
    return slice(low[0], high[0]), slice(low[1], high[1])


def current_plane(viewer: Any, layer: Any) -> int:
    """Index, along the first data axis of a 3-D layer, of the plane the viewer shows."""
    position = layer.world_to_data(viewer.dims.point)
    n = full_resolution(layer).shape[0]
    return int(np.clip(np.round(position[0]), 0, n - 1))
