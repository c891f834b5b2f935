"""The *Compare* dock widget: PSNR and SSIM of an image layer against a reference layer.

Both layers are put on the scale :func:`unblur.deconvolve` works on before the comparison:
integer data are divided by the largest value of their type (uint8 by 255, uint16 by 65535),
float data are taken as they are, so a restored layer (float, [0, 1]) compares with its
8- or 16-bit original. The peak (``data_range``) is 1 unless given. The metrics are
:func:`unblur.metrics.psnr` and :func:`unblur.metrics.ssim` (Wang et al. 2004).
"""

from __future__ import annotations

from typing import Any

import napari
import numpy as np
from magicgui.widgets import Container, create_widget
from napari.utils.notifications import show_error

from ..errors import InvalidImageError, UnblurError
from ..metrics import psnr, ssim
from ._jobs import JobPanel
from ._layers import as_array, channel_axis, full_resolution
from ._params import ParameterField

__all__ = ["CompareWidget", "unit_scale"]


def unit_scale(x: np.ndarray) -> np.ndarray:
    """Integer and boolean data divided by their type's maximum; float data unchanged."""
    if x.dtype.kind in "ui":
        return x / float(np.iinfo(x.dtype).max)
    if x.dtype.kind == "b":
        return x.astype(np.float64)
    return x


class CompareWidget(Container):
    """PSNR and SSIM of an image layer against a reference layer."""

    def __init__(self, napari_viewer: napari.viewer.Viewer) -> None:
        self.viewer = napari_viewer
        self.image = create_widget(annotation=napari.layers.Image, label="image")
        self.reference = create_widget(annotation=napari.layers.Image, label="reference")
        self.data_range = ParameterField("data_range", "float | None", None)
        self.job = JobPanel("Compare", self.run)
        super().__init__(widgets=[self.image, self.reference, self.data_range, self.job])
        #: the last result: {"psnr": dB, "ssim": index, "image": name, "reference": name}
        self.result: dict[str, Any] | None = None

    def run(self) -> None:
        """Compute PSNR and SSIM (in a worker thread) and show them."""
        image, reference = self.image.value, self.reference.value
        if image is None or reference is None:
            show_error("choose an image layer and a reference layer")
            return
        try:
            if image is reference:
                raise InvalidImageError("the image and the reference are the same layer")
            peak = self.data_range.get() or 1.0
        except UnblurError as exc:
            show_error(str(exc))
            return
        axis = channel_axis(reference)
        a, b = full_resolution(image), full_resolution(reference)

        def task(step) -> dict[str, Any]:
            x, ref = unit_scale(as_array(a)), unit_scale(as_array(b))
            return {
                "psnr": psnr(x, ref, data_range=peak),
                "ssim": ssim(x, ref, data_range=peak, channel_axis=axis),
                "image": image.name,
                "reference": reference.name,
                "data_range": peak,
            }

        def on_result(result: dict[str, Any]) -> None:
            self.result = result
            self.data_range.show_chosen(peak)
            self.job.status.value = f"PSNR {result['psnr']:.2f} dB, SSIM {result['ssim']:.4f}"

        self.job.start(task, on_result, description=f"comparing {image.name}...")
