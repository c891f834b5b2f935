"""The plugin in a real napari window: sample data, Deconvolve, Compare, then a screenshot.

Run by ``test_napari_plugin.py`` in a child process on Qt's ``xcb`` platform (an X window on
the test's Xvfb display: Qt's ``offscreen`` platform cannot render napari's OpenGL canvas).
Everything goes through napari's plugin machinery as a user's clicks would: the sample from
File > Open Sample, the dock widgets from the Plugins menu. Prints one JSON line with what
the window showed; writes the screenshot to the path given as the first argument.
"""

from __future__ import annotations

import json
import sys
import time

import napari
import numpy as np
from qtpy.QtWidgets import QApplication

from unblur.metrics import psnr


def wait(widget, timeout: float = 120.0) -> None:
    app = QApplication.instance()
    end = time.monotonic() + timeout
    while widget.job.running and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)
    if widget.job.running:
        raise TimeoutError(f"{type(widget).__name__} did not finish in {timeout} s")


def main(out: str) -> None:
    viewer = napari.Viewer(title="unblur in napari")
    viewer.window.resize(1400, 860)
    sharp, k, blurred = viewer.open_sample("unblur", "blurred_stack")
    _, deconvolve = viewer.window.add_plugin_dock_widget("unblur", "Deconvolve")
    _, compare = viewer.window.add_plugin_dock_widget("unblur", "Compare")
    deconvolve.image.value, deconvolve.psf_layer.value = blurred, k
    deconvolve.method.value = "richardson_lucy"
    deconvolve.params["num_iter"].set(20)
    deconvolve.job.run_button.native.click()
    wait(deconvolve)
    restored = viewer.layers[-1]
    compare.image.value, compare.reference.value = restored, sharp
    compare.job.run_button.native.click()
    wait(compare)

    # blurred and restored side by side, on the middle plane
    viewer.grid.enabled = True
    viewer.grid.shape = (1, 2)
    for layer in viewer.layers:
        layer.visible = layer in (blurred, restored)
    viewer.layers.selection.active = restored
    viewer.dims.set_current_step(0, blurred.data.shape[0] // 2)
    viewer.reset_view()
    QApplication.instance().processEvents()
    shot = viewer.screenshot(out, canvas_only=False, flash=False)
    canvas = viewer.screenshot(canvas_only=True, flash=False)
    print(
        json.dumps(
            {
                "layers": [layer.name for layer in viewer.layers],
                "status": deconvolve.job.status.value,
                "compare": compare.job.status.value,
                "psnr_blurred": psnr(blurred.data, sharp.data),
                "psnr_restored": compare.result["psnr"],
                "shape": list(shot.shape),
                "canvas_std": float(np.asarray(canvas[..., :3], dtype=np.float64).std()),
            }
        )
    )
    viewer.close()


if __name__ == "__main__":
    main(sys.argv[1])
