"""The *PSF* dock widget: a PSF layer from any model of :mod:`unblur.psf`, or from a file.

The models and their parameters are read from :data:`unblur.psf.MODELS` and the functions'
signatures. Microscope PSFs (``widefield``, ``confocal``) need the voxel size: leave
``voxel_size`` empty and choose an image layer, and its scale (``dz, dy, dx``, in the unit of
the wavelength) is used. With an image layer chosen, the PSF layer gets that layer's scale
and units, so PSF and image are drawn at the same physical size.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import napari
from magicgui.widgets import ComboBox, Container, FileEdit, create_widget
from napari.utils.notifications import show_error

from .. import psf as psf_models
from ..errors import InvalidParameterError, UnblurError
from ._jobs import JobPanel
from ._layers import METADATA_KEY, layer_geometry, plain
from ._params import ParameterForm, format_value

__all__ = ["PSFWidget"]

#: the entry of the model list that loads a file
FILE = "file"
#: starting values of parameters the models require (no default)
EXAMPLES = {
    "sigma": "2",
    "length": "15",
    "radius": "3",
    "fwhm": "4",
    "na": "1.2",
    "wavelength": "0.52",
    "excitation_wavelength": "0.488",
    "emission_wavelength": "0.52",
    "refractive_index": "1.33",
}
_NEEDS_VOXEL = frozenset({"widefield", "confocal"})


def _parameters(model: str) -> dict[str, inspect.Parameter]:
    func = psf_models.from_file if model == FILE else psf_models.MODELS[model]
    params = inspect.signature(func).parameters
    return {n: p for n, p in params.items() if n != "path"}


class PSFWidget(Container):
    """Make a PSF layer from a model and its parameters, or from a PSF file."""

    def __init__(self, napari_viewer: napari.viewer.Viewer) -> None:
        self.viewer = napari_viewer
        self.model = ComboBox(label="model", choices=[*psf_models.MODELS, FILE])
        self.file = FileEdit(label="file", mode="r", visible=False)
        self.params = ParameterForm(label="parameters")
        self.image = create_widget(
            annotation=napari.layers.Image | None,
            label="image",
            value=None,
            options={"tooltip": "voxel size (microscope PSFs) and scale of the PSF layer"},
        )
        self.job = JobPanel("Make PSF", self.run)
        super().__init__(widgets=[self.model, self.file, self.params, self.image, self.job])
        self.model.changed.connect(self._model_changed)
        self._model_changed()

    def _model_changed(self) -> None:
        model = self.model.value
        self.file.visible = model == FILE
        self.params.set_parameters(_parameters(model), EXAMPLES)

    def _voxel_size(self, kwargs: dict[str, Any]) -> None:
        """Fill in ``voxel_size`` from the chosen image layer's scale when it is empty."""
        field = self.params.fields["voxel_size"]
        if str(field.input.value).strip():
            kwargs["voxel_size"] = field.get()
            return
        layer = self.image.value
        if layer is None or layer.ndim != 3:
            raise InvalidParameterError(
                "voxel_size: give it (dz x dy x dx, in the unit of the wavelength) or choose a "
                "3-D image layer whose scale is the voxel size"
            )
        kwargs["voxel_size"] = tuple(float(s) for s in layer.scale)

    def run(self) -> None:
        """Make the PSF (in a worker thread) and add it as a layer."""
        model = self.model.value
        try:
            kwargs = _values(self.params)
            if model in _NEEDS_VOXEL:
                self._voxel_size(kwargs)
            if model == FILE:
                path = str(self.file.value)
                if not path or path == "." or not Path(path).is_file():
                    raise InvalidParameterError(f"file: choose a PSF file (got {path!r})")
                kwargs["path"] = path
        except UnblurError as exc:
            show_error(str(exc))
            return
        func = psf_models.from_file if model == FILE else psf_models.MODELS[model]
        image = self.image.value

        def on_result(k) -> None:
            shown = {n: v for n, v in kwargs.items() if n != "path"}
            if model == FILE:
                name = f"PSF {Path(kwargs['path']).name}"
            else:
                summary = " ".join(f"{n}={format_value(v)}" for n, v in shown.items())
                name = f"PSF {model} {summary}".strip()
            geometry: dict[str, Any] = {}
            if model in _NEEDS_VOXEL:
                geometry["scale"] = tuple(kwargs["voxel_size"])
                if len(geometry["scale"]) == 2:  # (dz, dxy)
                    dz, dxy = geometry["scale"]
                    geometry["scale"] = (dz, dxy, dxy)
            if image is not None and image.ndim == k.ndim:
                geometry = {**layer_geometry(image), **geometry}
                geometry.pop("translate", None)
            record = {"kind": "psf", "model": model, "parameters": shown}
            self.viewer.add_image(
                k,
                name=name,
                colormap="magma",
                metadata={METADATA_KEY: plain(record)},
                **geometry,
            )
            self.job.status.value = f"{model}: shape {k.shape}"

        self.job.start(lambda step: func(**kwargs), on_result, description=f"making {model}...")


def _values(form: ParameterForm) -> dict[str, Any]:
    """Every non-automatic parameter but ``voxel_size`` (see ``PSFWidget._voxel_size``)."""
    out = {}
    for name, field in form.fields.items():
        value = None if name == "voxel_size" else field.get()
        if value is not None or (not field.automatic and name != "voxel_size"):
            out[name] = value
    return out
