"""The *Deconvolve* dock widget: restore an image layer with a PSF layer or a PSF spec.

The method list and each method's parameters come from the registry
(:func:`unblur.available_methods`, :attr:`unblur.restore.Method.parameters`); ``auto`` lets
:func:`unblur.deconvolve` choose (``tv`` at every size; ``fast`` is ``wiener``). The run goes
through :func:`unblur.deconvolve` with an ``info`` dict: the restored layer carries the
info (method, every parameter with the automatic ones, run time) in its metadata,
and the automatic values are shown in the form.

A PSF layer that *Estimate PSF* made from the same image carries the estimator's ``info`` in
its metadata; it is passed on as ``psf_info``, so a doubtful estimate is restored
conservatively (:func:`unblur.api.conservative_rule`), as on the command line.
"""

from __future__ import annotations

from typing import Any

import napari
import numpy as np
from magicgui.widgets import ComboBox, Container, LineEdit, SpinBox, create_widget
from napari.utils.notifications import show_error

from .. import psf as psf_models
from ..api import deconvolve
from ..errors import InvalidPSFError, UnblurError
from ..restore import available_methods, get_method
from ._jobs import JobPanel
from ._layers import (
    METADATA_KEY,
    as_array,
    channel_axis,
    full_resolution,
    layer_geometry,
    plain,
)
from ._params import ParameterForm

__all__ = ["DeconvolveWidget"]

_SPEC_HELP = (
    "used when no PSF layer is chosen: gaussian:sigma=2, gaussian:sigma=1x2x2 (3-D), "
    "motion:length=15,angle=30, disk:radius=3, widefield:na=1.2,wavelength=0.52 (voxel size "
    "from the image's scale), or the path of a PSF file"
)


class DeconvolveWidget(Container):
    """Restore the chosen image layer; the result is a new layer beside it."""

    def __init__(self, napari_viewer: napari.viewer.Viewer) -> None:
        self.viewer = napari_viewer
        self.image = create_widget(annotation=napari.layers.Image, label="image")
        self.psf_layer = create_widget(
            annotation=napari.layers.Image | None, label="PSF layer", value=None
        )
        self.psf_spec = LineEdit(label="or PSF spec", value="", tooltip=_SPEC_HELP)
        self.method = ComboBox(label="method", choices=["auto", *available_methods()])
        self.params = ParameterForm(label="parameters")
        self.colour = ComboBox(
            label="colour",
            choices=["channels", "luminance"],
            tooltip="RGB layers: restore each channel, or the luminance only (no fringes)",
        )
        self.device = ComboBox(label="device", choices=["cpu", "auto", "cuda"])
        self.preview_every = SpinBox(
            label="preview every",
            value=10,
            min=0,
            max=100_000,
            tooltip="iterative methods: show the current estimate every n iterations (0: never)",
        )
        self.job = JobPanel("Deconvolve", self.run)
        super().__init__(
            widgets=[
                self.image,
                self.psf_layer,
                self.psf_spec,
                self.method,
                self.params,
                self.colour,
                self.device,
                self.preview_every,
                self.job,
            ]
        )
        self._preview: napari.layers.Image | None = None
        self.method.changed.connect(self._method_changed)
        self._method_changed()

    # ------------------------------------------------------------------ form
    def _method_changed(self) -> None:
        name = self.method.value
        if name == "auto":
            self.params.set_parameters({})
            self.params.tooltip = "auto: tv at every size (fast: wiener, one transform pair)"
        else:
            self.params.set_parameters(get_method(name).parameters)
            self.params.tooltip = get_method(name).summary
        self.preview_every.enabled = name == "auto" or get_method(name).iterative

    def _psf_source(self, layer: napari.layers.Image) -> tuple[Any, str, str, dict | None]:
        """``(data or spec, kind, description, psf_info)`` of the PSF the run uses;
        ``psf_info`` is the estimator's record when *Estimate PSF* made the PSF layer from this
        image (None otherwise)."""
        if self.psf_layer.value is not None:
            psf_layer = self.psf_layer.value
            if psf_layer is layer:
                raise InvalidPSFError("the PSF layer is the image itself; choose another layer")
            return (
                full_resolution(psf_layer),
                "layer",
                psf_layer.name,
                _estimate_of(psf_layer, layer),
            )
        spec = self.psf_spec.value.strip()
        if not spec:
            raise InvalidPSFError("choose a PSF layer or type a PSF spec (e.g. gaussian:sigma=2)")
        return spec, "spec", spec, None

    # ------------------------------------------------------------------ run
    def run(self) -> None:
        """Start restoring the chosen layer (in a worker thread)."""
        layer = self.image.value
        if layer is None:
            show_error("choose an image layer to restore")
            return
        method = self.method.value
        try:
            params = self.params.values()
            source, kind, psf_name, psf_info = self._psf_source(layer)
        except UnblurError as exc:
            show_error(str(exc))
            return
        axis = channel_axis(layer)
        data = full_resolution(layer)
        voxel = tuple(float(s) for s in layer.scale) if layer.ndim == 3 else None
        options = {
            "method": method,
            "channel_axis": axis,
            "color": self.colour.value,
            "device": self.device.value,
        }

        def task(step):
            image = as_array(data)
            if kind == "spec":
                k = psf_models.parse_spec(source, voxel_size=voxel)
            else:
                k = as_array(source)
            run: dict[str, Any] = {}
            restored = deconvolve(
                image, k, callback=step, info=run, psf_info=psf_info, **options, **params
            )
            return restored, run

        total = 0
        if method != "auto" and "num_iter" in get_method(method).parameters:
            total = params.get("num_iter") or get_method(method).parameters["num_iter"].default
        shape = data.shape

        def on_preview(estimate: np.ndarray) -> None:
            if estimate.shape != shape:  # colour: each channel has its own run
                return
            if self._preview is None or self._preview not in self.viewer.layers:
                self._preview = self.viewer.add_image(
                    estimate,
                    name=f"{layer.name} (preview)",
                    colormap=layer.colormap.name,
                    contrast_limits=layer.contrast_limits,
                    **layer_geometry(layer),
                )
            else:
                self._preview.data = estimate

        def on_result(value: tuple[np.ndarray, dict[str, Any]]) -> None:
            restored, info = value
            self._drop_preview()
            record = {"kind": "restored", "image": layer.name, "psf": psf_name, **info}
            kwargs = {} if layer.rgb else {"colormap": layer.colormap.name}
            self.viewer.add_image(
                restored,
                name=f"{layer.name} restored ({info['method']})",
                rgb=layer.rgb,
                metadata={METADATA_KEY: plain(record)},
                **layer_geometry(layer),
                **kwargs,
            )
            if not info["auto"]:
                self.params.show_chosen(info["parameters"])
            chosen = f"auto chose {info['method']}" if info["auto"] else info["method"]
            status = f"{chosen}, {info['seconds']:.2f} s on {info['device']}"
            rule = info.get("conservative") or {}
            if rule.get("applied"):
                status += f"; the estimated PSF is not trusted: {rule['reason']}"
            self.job.status.value = status

        self.job.start(
            task,
            on_result,
            total=total,
            description=f"restoring {layer.name}...",
            preview_every=self.preview_every.value if self.preview_every.enabled else 0,
            on_preview=on_preview,
            on_end=self._drop_preview,
        )

    def _drop_preview(self) -> None:
        if self._preview is not None and self._preview in self.viewer.layers:
            self.viewer.layers.remove(self._preview)
        self._preview = None


def _estimate_of(psf_layer: napari.layers.Image, image: napari.layers.Image) -> dict | None:
    """The estimator's record of ``psf_layer`` (its metadata) when *Estimate PSF* made it from
    ``image`` (same layer name), else None: the confidence of an estimate speaks for the image
    it was estimated from only."""
    record = psf_layer.metadata.get(METADATA_KEY)
    if (
        isinstance(record, dict)
        and record.get("kind") == "psf"
        and "confidence" in record
        and record.get("estimated_from") == image.name
    ):
        return dict(record)
    return None
