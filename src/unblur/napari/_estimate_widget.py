"""The *Estimate PSF* dock widget: blind PSF estimation with :func:`unblur.estimate_psf`.

It works on the whole image or on a rectangle drawn in a Shapes layer (a region with strong
edges and no saturation gives the best estimate). The estimators are 2-D, so on a 3-D stack
it works on the plane the viewer shows and gives a lateral PSF. The result is a PSF layer at
the image's lateral scale, with the fitted parameters in its metadata, ready for the
*Deconvolve* widget.
"""

from __future__ import annotations

import napari
from magicgui.widgets import ComboBox, Container, create_widget
from napari.utils.notifications import show_error

from ..blind import MODELS, estimate_psf
from ..errors import UnblurError
from ._jobs import JobPanel
from ._layers import (
    METADATA_KEY,
    as_array,
    channel_axis,
    current_plane,
    full_resolution,
    layer_geometry,
    plain,
    rectangle_of,
)
from ._params import ParameterField, format_value

__all__ = ["EstimatePSFWidget"]


class EstimatePSFWidget(Container):
    """Estimate the PSF of the chosen image layer; the result is a new PSF layer."""

    def __init__(self, napari_viewer: napari.viewer.Viewer) -> None:
        self.viewer = napari_viewer
        self.image = create_widget(annotation=napari.layers.Image, label="image")
        self.model = ComboBox(
            label="model",
            choices=list(MODELS),
            tooltip="auto: gaussian, motion or disk, whichever fits best; free: camera shake",
        )
        self.size = ParameterField("size", "int | Sequence[int] | None", None)
        self.region = create_widget(
            annotation=napari.layers.Shapes | None,
            label="region",
            value=None,
            options={"tooltip": "a Shapes layer whose first (or selected) shape bounds the region"},
        )
        self.job = JobPanel("Estimate PSF", self.run)
        super().__init__(widgets=[self.image, self.model, self.size, self.region, self.job])

    def run(self) -> None:
        """Start the estimation (in a worker thread)."""
        layer = self.image.value
        if layer is None:
            show_error("choose an image layer")
            return
        model = self.model.value
        try:
            size = self.size.get()
            rows, cols = (slice(None), slice(None))
            if self.region.value is not None:
                rows, cols = rectangle_of(self.region.value, layer)
        except UnblurError as exc:
            show_error(str(exc))
            return
        axis = channel_axis(layer)
        data = full_resolution(layer)
        plane = current_plane(self.viewer, layer) if layer.ndim == 3 else None
        where = "" if plane is None else f", plane {plane}"

        def task(step):
            x = data[plane] if plane is not None else data
            x = as_array(x[rows, cols])
            info: dict = {}
            callback = step if model == "free" else None
            k = estimate_psf(x, size, model, channel_axis=axis, info=info, callback=callback)
            return k, info

        def on_result(value) -> None:
            k, info = value
            region = None
            if self.region.value is not None:
                region = [[rows.start, rows.stop], [cols.start, cols.stop]]
            record = {"kind": "psf", "estimated_from": layer.name, "plane": plane}
            record.update(region=region, **info)
            self.viewer.add_image(
                k,
                name=f"PSF {info.get('model', model)} (estimated from {layer.name}{where})",
                colormap="magma",
                metadata={METADATA_KEY: plain(record)},
                scale=layer_geometry(layer, 2)["scale"],
            )
            fitted = ", ".join(
                f"{n}={format_value(v)}" for n, v in info.get("parameters", {}).items()
            )
            self.job.status.value = f"{info.get('model', model)} {fitted}, size {k.shape}".strip()

        self.job.start(task, on_result, description=f"estimating the PSF of {layer.name}{where}...")
