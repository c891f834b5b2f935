"""The four dock widgets end to end in a headless napari viewer, on 2-D images and 3-D stacks.

Each test docks a widget in a viewer made by napari's ``make_napari_viewer``, sets its inputs
as a user would, clicks its run button and waits for the worker thread; then it checks the
new layer against a known truth (the sharp original, the PSF that made the blur, the library
called directly).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari", reason='napari is not installed: pip install -e ".[napari-test]"')
pytest.importorskip(
    "pytestqt", reason='pytest-qt is not installed: pip install -e ".[napari-test]"'
)


import _napari_support as support

import unblur
from unblur import psf
from unblur.metrics import psnr
from unblur.napari._compare_widget import CompareWidget
from unblur.napari._deconvolve_widget import DeconvolveWidget
from unblur.napari._estimate_widget import EstimatePSFWidget
from unblur.napari._psf_widget import PSFWidget
from unblur.napari._sample import blurred_stack

# the shared fixtures (a second conftest.py would shadow the suite's own `conftest` module)
x_display, viewer, run, notifications = (
    support.x_display,
    support.viewer,
    support.run,
    support.notifications,
)
sharp, blurred, dock = support.sharp, support.blurred, support.dock

#: PSNR gains (dB over the blurred input) the restored layers must reach; measured: 2-D
#: camera, Gaussian sigma 2 + 1 % noise, auto (tv): +3.5 dB; the sample stack (widefield,
#: Poisson), Richardson-Lucy 20 iterations: +2.3 dB
GAIN_2D = 3.0
GAIN_3D = 1.5


@pytest.fixture
def sample(viewer):
    """The plugin's sample data in the viewer: sharp stack, PSF, blurred stack."""
    layers = [viewer.add_image(d, **kw) for d, kw, _ in blurred_stack()]
    return dict(zip(("sharp", "psf", "blurred"), layers, strict=True))


# --------------------------------------------------------------------------------------------
# PSF
# --------------------------------------------------------------------------------------------
def test_psf_widget_2d_gaussian(viewer, run):
    w = dock(viewer, PSFWidget)
    w.model.value = "gaussian"
    w.params["sigma"].set("1.5x3")
    w.params["angle"].set(30)
    run(w)
    layer = viewer.layers[-1]
    np.testing.assert_allclose(layer.data, psf.gaussian((1.5, 3.0), angle=30))
    assert layer.name == "PSF gaussian sigma=1.5x3 angle=30 truncate=4"
    assert layer.metadata["unblur"]["parameters"]["sigma"] == [1.5, 3.0]


def test_psf_widget_3d_widefield_takes_the_voxel_size_of_the_image(viewer, run, sample):
    w = dock(viewer, PSFWidget)
    w.model.value = "widefield"
    w.image.value = sample["blurred"]
    w.params["na"].set(1.1)
    w.params["refractive_index"].set(1.33)
    w.params["shape"].set("17x25x25")
    run(w)
    layer = viewer.layers[-1]
    assert layer.ndim == 3
    assert tuple(layer.scale) == pytest.approx(sample["blurred"].scale)
    np.testing.assert_allclose(layer.data, sample["psf"].data, rtol=1e-5, atol=1e-9)


def test_psf_widget_every_model_with_its_starting_values(viewer, run, tmp_path):
    np.save(tmp_path / "k.npy", psf.disk(3.0))
    w = dock(viewer, PSFWidget)
    for model in [*psf.MODELS, "file"]:
        w.model.value = model
        if model in ("widefield", "confocal"):
            w.params["voxel_size"].set("0.3x0.1")
        if model == "file":
            w.file.value = tmp_path / "k.npy"
        before = len(viewer.layers)
        run(w)
        assert len(viewer.layers) == before + 1, (model, w.job.status.value)
        k = viewer.layers[-1].data
        assert k.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(k, psf.disk(3.0))


# --------------------------------------------------------------------------------------------
# Deconvolve
# --------------------------------------------------------------------------------------------
def test_deconvolve_2d_auto_beats_the_blurred_image_and_keeps_the_geometry(
    viewer, run, sharp, blurred
):
    image = viewer.add_image(blurred, name="photo", scale=(0.5, 0.25), translate=(10.0, -3.0))
    k = viewer.add_image(psf.gaussian(2.0), name="k")
    w = dock(viewer, DeconvolveWidget)
    w.image.value, w.psf_layer.value = image, k
    run(w)
    out = viewer.layers[-1]
    assert out.name == "photo restored (tv)"
    assert tuple(out.scale) == (0.5, 0.25) and tuple(out.translate) == (10.0, -3.0)
    meta = out.metadata["unblur"]
    assert meta["method"] == "tv" and meta["auto"] and meta["psf"] == "k"
    gain = psnr(out.data, sharp) - psnr(blurred, sharp)
    assert gain > GAIN_2D, gain
    np.testing.assert_allclose(out.data, unblur.deconvolve(blurred, psf.gaussian(2.0)), atol=1e-6)


def test_deconvolve_shows_the_automatic_values_it_chose(viewer, run, blurred):
    image = viewer.add_image(blurred, name="photo")
    w = dock(viewer, DeconvolveWidget)
    w.image.value = image
    w.psf_spec.value = "gaussian:sigma=2"
    w.method.value = "tv"
    w.params["num_iter"].set(20)
    assert w.params["lam"].is_auto and w.params["lam"].input.value == ""
    assert w.params["tol"].is_auto and w.params["tol"].input.value == ""  # default "auto"
    run(w)
    chosen_tol = viewer.layers[-1].metadata["unblur"]["parameters"]["tol"]
    assert float(w.params["tol"].input.value) == pytest.approx(chosen_tol, rel=1e-5)
    chosen = viewer.layers[-1].metadata["unblur"]["parameters"]["lam"]
    assert w.params["lam"].is_auto
    assert float(w.params["lam"].input.value) == pytest.approx(chosen, rel=1e-5)
    assert w.params["lam"].input.tooltip == f"chosen automatically: {w.params['lam'].input.value}"
    assert not w.params["lam"].input.enabled


def test_deconvolve_3d_stack_with_live_preview(viewer, run, sample):
    w = dock(viewer, DeconvolveWidget)
    w.image.value, w.psf_layer.value = sample["blurred"], sample["psf"]
    w.method.value = "richardson_lucy"
    w.params["num_iter"].set(20)
    w.preview_every.value = 5
    seen = []
    viewer.layers.events.inserted.connect(lambda e: seen.append(e.value.name))
    run(w)
    assert "blurred stack (preview)" in seen
    assert [layer.name for layer in viewer.layers][-1] == "blurred stack restored (richardson_lucy)"
    assert "blurred stack (preview)" not in viewer.layers
    out = viewer.layers[-1]
    assert tuple(out.scale) == pytest.approx(sample["blurred"].scale)
    assert [str(u) for u in out.units] == [str(u) for u in sample["blurred"].units]
    truth, y = sample["sharp"].data, sample["blurred"].data
    gain = psnr(out.data, truth) - psnr(y, truth)
    assert gain > GAIN_3D, gain


def test_deconvolve_colour_layer(viewer, run):
    from skimage import data, transform

    rgb = transform.resize(data.astronaut() / 255.0, (64, 64, 3), anti_aliasing=True)
    y = unblur.blur(rgb, psf.gaussian(1.5), channel_axis=-1).astype(np.float32)
    image = viewer.add_image(y, name="astronaut", rgb=True)
    w = dock(viewer, DeconvolveWidget)
    w.image.value = image
    w.psf_spec.value = "gaussian:sigma=1.5"
    w.method.value, w.colour.value = "wiener", "luminance"
    run(w)
    out = viewer.layers[-1]
    assert out.rgb and out.data.shape == (64, 64, 3)
    assert psnr(np.clip(out.data, 0, 1), rgb) > psnr(y, rgb)


def test_deconvolve_dask_and_multiscale_layers_give_the_numpy_result(viewer, run, blurred):
    da = pytest.importorskip("dask.array")
    image = viewer.add_image(da.from_array(blurred, chunks=32), name="lazy")
    w = dock(viewer, DeconvolveWidget)
    w.image.value = image
    w.psf_spec.value = "gaussian:sigma=2"
    w.method.value = "wiener"
    run(w)
    out = viewer.layers[-1]
    assert isinstance(out.data, np.ndarray)
    expected = unblur.deconvolve(blurred, psf.gaussian(2.0), "wiener")
    np.testing.assert_allclose(out.data, expected)
    # a multiscale layer is restored at its full resolution
    levels = [da.from_array(blurred, chunks=32), da.from_array(blurred[::2, ::2], chunks=32)]
    w.image.value = viewer.add_image(levels, name="pyramid", multiscale=True, scale=(2.0, 2.0))
    run(w)
    out = viewer.layers[-1]
    assert out.name == "pyramid restored (wiener)" and not out.multiscale
    assert tuple(out.scale) == (2.0, 2.0)
    np.testing.assert_allclose(out.data, expected)


def test_cancel_stops_a_running_job_and_adds_no_layer(viewer, qtbot, blurred):
    image = viewer.add_image(blurred, name="photo")
    w = dock(viewer, DeconvolveWidget)
    w.image.value = image
    w.psf_spec.value = "gaussian:sigma=2"
    w.method.value = "richardson_lucy"
    w.params["num_iter"].set(10**7)  # hours
    w.params["regularization"].set(0)
    w.preview_every.value = 50
    names = [layer.name for layer in viewer.layers]
    w.job.run_button.native.click()
    qtbot.waitUntil(lambda: w.job.progress.value > 100, timeout=30_000)  # it is iterating
    assert w.job.running and w.job.cancel_button.enabled
    w.job.cancel_button.native.click()
    # it stops at the next iteration (milliseconds); the bound is generous for a busy machine
    qtbot.waitUntil(lambda: not w.job.running, timeout=10_000)
    assert [layer.name for layer in viewer.layers] == names  # the preview went too
    assert w.job.status.value == "cancelled"
    assert w.job.run_button.enabled and not w.job.cancel_button.enabled


#: PSF specs the Deconvolve widget must refuse, and the library call that says why
BAD_SPECS = {
    "gaussian:sigma=-1": lambda: psf.parse_spec("gaussian:sigma=-1"),
    "blob:size=3": lambda: psf.parse_spec("blob:size=3"),
    "gaussian:sigma=40": lambda: unblur.deconvolve(np.zeros((96, 96)), psf.gaussian(40.0)),
}


def test_bad_input_gives_a_notification_and_no_layer(viewer, run, notifications, blurred):
    image = viewer.add_image(blurred, name="photo")
    w = dock(viewer, DeconvolveWidget)
    w.image.value = image
    w.method.value = "wiener"
    expected = []
    for spec, make_error in BAD_SPECS.items():
        with pytest.raises(unblur.UnblurError) as error:
            make_error()
        expected.append(str(error.value))
        w.psf_spec.value = spec
        run(w)
        assert len(viewer.layers) == 1
        assert w.job.status.value == f"error: {expected[-1]}"
    assert notifications.errors() == expected
    assert not any("\n" in message for message in expected)


def test_bad_parameter_text_is_refused_before_any_work(viewer, notifications, blurred):
    image = viewer.add_image(blurred, name="photo")
    w = dock(viewer, DeconvolveWidget)
    w.image.value = image
    w.psf_spec.value = "gaussian:sigma=2"
    w.method.value = "richardson_lucy"
    w.params["num_iter"].set("many")
    w.job.run_button.native.click()
    assert not w.job.running and len(viewer.layers) == 1
    assert notifications.errors() == ["num_iter: 'many' is not a number"]


def test_deconvolve_with_a_doubtful_estimate_keeps_the_input(viewer, run):
    """An image of nothing but noise: *Estimate PSF* distrusts its kernel (the signal check
    fails), and *Deconvolve* with that PSF layer returns the image unchanged, as the library
    and the command line do with the estimate's info; the same kernel as a plain layer (no
    estimator record) is restored at full strength."""
    noise = np.random.default_rng(3).random((96, 96)).astype(np.float32)
    image = viewer.add_image(noise, name="noise")
    est = dock(viewer, EstimatePSFWidget)
    est.image.value = image
    run(est)
    k_layer = viewer.layers[-1]
    assert k_layer.metadata["unblur"]["confidence"] == "low"
    w = dock(viewer, DeconvolveWidget)
    w.image.value, w.psf_layer.value = image, k_layer
    run(w)
    out = viewer.layers[-1]
    np.testing.assert_array_equal(out.data, noise)
    rule = out.metadata["unblur"]["conservative"]
    assert rule["applied"] and rule["action"] == "input"
    assert "not trusted" in w.job.status.value
    plain_k = viewer.add_image(np.asarray(k_layer.data), name="k copy")
    w.psf_layer.value = plain_k
    run(w)
    np.testing.assert_allclose(
        viewer.layers[-1].data, unblur.deconvolve(noise, np.asarray(k_layer.data)), atol=1e-6
    )


# --------------------------------------------------------------------------------------------
# Estimate PSF
# --------------------------------------------------------------------------------------------
def test_estimate_psf_2d_in_a_drawn_rectangle(viewer, run, sharp):
    big = np.tile(sharp, (2, 2))
    y = unblur.add_noise(unblur.blur(big, psf.motion(11, angle=30)), gaussian=0.005, rng=1)
    image = viewer.add_image(y.astype(np.float32), name="shaken", scale=(2.0, 2.0))
    # a rectangle over the top-left 96 x 96 pixels, drawn in world coordinates
    shapes = viewer.add_shapes([[0, 0], [0, 192], [192, 192], [192, 0]], shape_type="rectangle")
    w = dock(viewer, EstimatePSFWidget)
    w.image.value, w.model.value, w.region.value = image, "motion", shapes
    run(w)
    out = viewer.layers[-1]
    meta = out.metadata["unblur"]
    assert out.name == "PSF motion (estimated from shaken)"
    assert meta["region"] == [[0, 97], [0, 97]]
    assert meta["parameters"]["length"] == pytest.approx(11, abs=1.5)
    assert tuple(out.scale) == (2.0, 2.0)
    assert out.data.sum() == pytest.approx(1.0)


def test_estimate_psf_3d_uses_the_plane_shown(viewer, run, sharp):
    planes = [unblur.blur(sharp, psf.gaussian(s)) for s in (1.0, 2.5, 1.0)]
    image = viewer.add_image(np.stack(planes).astype(np.float32), name="stack")
    viewer.dims.set_current_step(0, 1)
    w = dock(viewer, EstimatePSFWidget)
    w.image.value, w.model.value = image, "gaussian"
    run(w)
    out = viewer.layers[-1]
    assert out.name == "PSF gaussian (estimated from stack, plane 1)"
    assert out.ndim == 2
    assert out.metadata["unblur"]["parameters"]["sigma"] == pytest.approx(2.5, abs=0.4)


def test_estimate_psf_empty_shapes_layer_is_refused(viewer, notifications, blurred):
    image = viewer.add_image(blurred, name="photo")
    shapes = viewer.add_shapes(name="nothing")
    w = dock(viewer, EstimatePSFWidget)
    w.image.value, w.region.value = image, shapes
    w.job.run_button.native.click()
    assert len(viewer.layers) == 2 and not w.job.running
    assert notifications.errors() == [
        "the Shapes layer 'nothing' has no shape; draw a rectangle around the region"
    ]


# --------------------------------------------------------------------------------------------
# Compare
# --------------------------------------------------------------------------------------------
def test_compare_2d_against_an_8_bit_reference(viewer, run, sharp, blurred):
    reference = viewer.add_image(np.round(sharp * 255).astype(np.uint8), name="sharp8")
    image = viewer.add_image(blurred, name="photo")
    w = dock(viewer, CompareWidget)
    w.image.value, w.reference.value = image, reference
    run(w)
    expected = np.round(sharp * 255) / 255
    assert w.result["psnr"] == pytest.approx(psnr(blurred, expected))
    assert w.result["ssim"] == pytest.approx(unblur.metrics.ssim(blurred, expected))
    assert w.job.status.value.startswith(f"PSNR {w.result['psnr']:.2f} dB")
    assert len(viewer.layers) == 2


def test_compare_3d_stack(viewer, run, sample):
    w = dock(viewer, CompareWidget)
    w.image.value, w.reference.value = sample["blurred"], sample["sharp"]
    run(w)
    assert w.result["psnr"] == pytest.approx(psnr(sample["blurred"].data, sample["sharp"].data))


def test_compare_shapes_that_differ(viewer, run, notifications, sharp):
    a = viewer.add_image(sharp, name="a")
    b = viewer.add_image(sharp[:64], name="b")
    w = dock(viewer, CompareWidget)
    w.image.value, w.reference.value = a, b
    run(w)
    assert w.result is None
    assert notifications.errors() == [
        "estimate and reference must have the same shape, got (96, 96) and (64, 96)"
    ]
