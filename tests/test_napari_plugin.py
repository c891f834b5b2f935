"""The plugin as napari sees it: manifest, dock widgets by name, sample data, reader and
writer, and a screenshot of a real napari window (``docs/napari.png``).

``UNBLUR_UPDATE_DOCS=1 .venv/bin/python -m pytest tests/test_napari_plugin.py -k screenshot``
refreshes the screenshot in the README.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("napari", reason='napari is not installed: pip install -e ".[napari-test]"')
pytest.importorskip(
    "pytestqt", reason='pytest-qt is not installed: pip install -e ".[napari-test]"'
)


import _napari_support as support
import npe2
from PIL import Image

from unblur.napari import _sample

# the shared fixtures (a second conftest.py would shadow the suite's own `conftest` module)
x_display, viewer = support.x_display, support.viewer

ROOT = Path(__file__).resolve().parents[1]
DOCS_SCREENSHOT = ROOT / "docs" / "napari.png"
WIDGETS = ["PSF", "Deconvolve", "Estimate PSF", "Compare"]


def test_manifest_is_valid_and_every_command_imports():
    manifest = npe2.PluginManifest.from_distribution("unblur")
    manifest.validate_imports()
    contrib = manifest.contributions
    assert [w.display_name for w in contrib.widgets] == WIDGETS
    assert [s.key for s in contrib.sample_data] == ["blurred_stack"]
    assert contrib.readers[0].filename_patterns[:2] == ["*.tif", "*.tiff"]
    assert contrib.writers[0].layer_types == ["image"]


def test_napari_lists_the_plugin_and_docks_every_widget(viewer):
    from napari._app_model import get_app_model

    menus = dict(get_app_model().menus)
    titles = [item.command.title for item in menus["napari/plugins/unblur"]]
    assert titles == WIDGETS  # Plugins > unblur > ...
    for name in WIDGETS:
        _, widget = viewer.window.add_plugin_dock_widget("unblur", name)
        assert widget.job.run_button.text


def test_sample_data_is_a_blurred_stack_with_its_psf(viewer):
    layers = viewer.open_sample("unblur", "blurred_stack")
    sharp, k, blurred = layers
    assert [layer.name for layer in layers] == [
        "sharp stack",
        "PSF widefield (sample)",
        "blurred stack",
    ]
    for layer in layers:
        assert tuple(layer.scale) == pytest.approx(_sample.VOXEL)
    assert blurred.data.shape == sharp.data.shape == _sample.SHAPE
    assert k.data.sum() == pytest.approx(1.0, abs=1e-5)
    assert np.unravel_index(np.argmax(k.data), k.data.shape) == tuple(n // 2 for n in k.data.shape)
    # the same seed gives the same stack
    np.testing.assert_array_equal(_sample.blurred_stack()[2][0], blurred.data)


def test_writer_and_reader_keep_the_voxel_size(viewer, tmp_path):
    data = np.random.default_rng(0).random((5, 12, 16)).astype(np.float32)
    layer = viewer.add_image(data, name="original", scale=(0.3, 0.1, 0.05), units="µm")
    path = tmp_path / "stack.tif"
    written = layer.save(str(path), plugin="unblur")
    assert [Path(p) for p in written] == [path]
    [opened] = viewer.open(path, plugin="unblur")
    np.testing.assert_array_equal(opened.data, data)
    assert tuple(opened.scale) == pytest.approx((0.3, 0.1, 0.05))
    assert [str(u) for u in opened.units] == ["micrometer"] * 3
    assert opened.metadata["unblur"]["voxel_unit"] == "µm"
    assert opened.name == "stack"


def test_reader_declines_other_files():
    from unblur.napari._io import get_reader

    assert get_reader("image.png") is None
    assert get_reader(["a.tif", "b.tif"]) is None
    assert get_reader("stack.TIF") is not None


def test_screenshot_of_the_plugin_in_a_real_window(x_display, tmp_path):
    out = tmp_path / "napari.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "DISPLAY": x_display}
    script = Path(__file__).with_name("_napari_window.py")
    proc = subprocess.run(
        [sys.executable, str(script), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if 'Could not load the Qt platform plugin "xcb"' in proc.stderr:
        pytest.skip(
            "Qt's xcb platform cannot load: apt-get install libxcb-icccm4 libxcb-keysyms1 "
            "(see the README's napari section)"
        )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["layers"][-1] == "blurred stack restored (richardson_lucy)"
    assert report["psnr_restored"] > report["psnr_blurred"] + 1.5
    assert report["compare"].startswith(f"PSNR {report['psnr_restored']:.2f} dB")
    assert report["canvas_std"] > 10  # the canvas drew the images, it is not one flat colour
    with Image.open(out) as im:
        assert im.size == (report["shape"][1], report["shape"][0])
        small = tmp_path / "napari_small.png"
        im.convert("RGB").quantize(colors=128).save(small, optimize=True)
    assert small.stat().st_size < 300_000
    if os.environ.get("UNBLUR_UPDATE_DOCS") == "1":
        shutil.copyfile(small, DOCS_SCREENSHOT)
