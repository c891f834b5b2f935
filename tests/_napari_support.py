"""Fixtures of the napari plugin tests (``test_napari_*.py`` import them from here, after
skipping when napari or pytest-qt is not installed: ``pip install -e ".[napari-test]"``).

The tests run on Qt's ``offscreen`` platform (no window appears). napari still draws its
canvas with OpenGL, and Qt's offscreen platform gets an OpenGL context only through an X
display, so a private ``Xvfb`` is started for the session when ``DISPLAY`` is not set
(``apt-get install xvfb``; without it the tests skip and say so).

Not a ``conftest.py``: the suite's modules import ``psnr`` from the top-level ``conftest``,
which a second ``conftest`` module would shadow.
"""

from __future__ import annotations

import contextlib
import ctypes
import numbers
import os
import shutil
import signal
import subprocess

import numpy as np
import pytest
from skimage import data, transform

import unblur
from unblur import psf

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _die_with_parent() -> None:  # pragma: no cover (runs in the child)
    """Ask Linux to end this process when the one that started it ends (PR_SET_PDEATHSIG)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


@pytest.fixture(scope="session")
def x_display() -> str:
    """An X display for OpenGL: ``$DISPLAY``, or a private Xvfb.

    Qt keeps its X connection until the interpreter exits, after every fixture has been torn
    down; a server stopped before that makes Xlib abort the process. So the private Xvfb is
    not stopped by the fixture: Linux ends it when the test process ends.
    """
    if os.environ.get("DISPLAY"):
        return os.environ["DISPLAY"]
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("napari draws with OpenGL, which needs an X server here: apt-get install xvfb")
    read, write = os.pipe()
    proc = subprocess.Popen(
        [xvfb, "-displayfd", str(write), "-screen", "0", "1400x1000x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    if not number:
        proc.kill()
        pytest.skip("Xvfb did not start")
    os.environ["DISPLAY"] = f":{number}"
    return os.environ["DISPLAY"]


def dock(viewer, cls):
    """Dock a new ``cls(viewer)`` widget in ``viewer`` (so its layer lists fill) and return it."""
    widget = cls(viewer)
    viewer.window.add_dock_widget(widget, name=cls.__name__)
    widget.reset_choices()
    return widget


@pytest.fixture
def viewer(x_display, make_napari_viewer, monkeypatch):
    """A napari viewer (not shown) on the headless display."""
    import napari._vispy.layers.image as image_nodes

    made = make_napari_viewer()
    if _gl_extensions(made) is None:
        # napari's answer for GPUs without float textures (napari/napari#3988): image layers
        # are drawn through textures of another format; only what is drawn changes
        monkeypatch.setattr(image_nodes, "get_gl_extensions", lambda: "")
    if _max_texture_sizes(made) is None:
        # the sizes OpenGL 3.0 guarantees: larger images are drawn in tiles or downsampled
        monkeypatch.setattr(image_nodes, "get_max_texture_sizes", lambda: _GL3_TEXTURE_SIZES)
    return made


#: The least maximum texture sizes (2-D, 3-D) OpenGL 3.0 guarantees.
_GL3_TEXTURE_SIZES = (1024, 256)


def _gl_extensions(viewer) -> str | None:
    """OpenGL's extensions, asked while the new viewer's canvas holds the current context, or
    None where the platform does not answer.

    napari asks once, when the first image layer is added, and caches the answer. Asked then,
    Qt's offscreen platform has at times had no current context and answered None
    (vispy/vispy#2736), which failed every napari test of one pytest-xdist worker inside
    napari's code (twice in seven CI runs, 2026-12-07, once after a first call here had
    failed too). So the canvas is made current and the question asked again, three times;
    where it still fails, the viewer fixture gives napari the answer it takes for a GPU
    without float textures."""
    from napari._vispy.utils.gl import get_gl_extensions

    for _ in range(3):
        try:
            return get_gl_extensions()
        except AttributeError:
            with contextlib.suppress(Exception):  # napari's private canvas: best effort
                viewer.window._qt_viewer.canvas._scene_canvas.set_current()
    return None


def _max_texture_sizes(viewer) -> tuple[int, int] | None:
    """OpenGL's maximum texture sizes (2-D, 3-D), asked while the new viewer's canvas holds
    the current context, or None where the platform does not answer.

    napari asks once per process and caches the answer (``functools.lru_cache``), an
    answer of no size included; every image layer of that process then fails inside napari
    (``make_tiles``: "'NoneType' object cannot be interpreted as an integer"; one pytest-xdist
    worker's 30 napari tests in a CI run of 2026-12-07, the same flake as the extensions'
    above). So a missing answer is forgotten and the question asked again with the canvas
    made current, three times; where it still fails, the fixture gives napari the sizes
    OpenGL 3.0 guarantees."""
    from napari._vispy.utils.gl import get_max_texture_sizes

    for _ in range(3):
        sizes = get_max_texture_sizes()
        if all(isinstance(n, numbers.Integral) and n > 0 for n in sizes):
            return sizes
        get_max_texture_sizes.cache_clear()
        with contextlib.suppress(Exception):  # napari's private canvas: best effort
            viewer.window._qt_viewer.canvas._scene_canvas.set_current()
    return None


@pytest.fixture(scope="session")
def sharp() -> np.ndarray:
    """The camera photograph, 96 x 96, float32 in [0, 1]."""
    img = data.camera().astype(np.float64) / 255
    return transform.resize(img, (96, 96), anti_aliasing=True).astype(np.float32)


@pytest.fixture(scope="session")
def blurred(sharp) -> np.ndarray:
    """``sharp`` blurred by a Gaussian (sigma 2 px) with 1 % noise."""
    y = unblur.blur(sharp, psf.gaussian(2.0), boundary="reflect")
    return unblur.add_noise(y, gaussian=0.01, rng=0).astype(np.float32)


@pytest.fixture
def run(qtbot):
    """``run(widget)``: click the widget's run button and wait until its job has finished."""

    def click_and_wait(widget, timeout: float = 120.0) -> None:
        widget.job.run_button.native.click()
        qtbot.waitUntil(lambda: not widget.job.running, timeout=int(timeout * 1000))

    return click_and_wait


@pytest.fixture
def notifications():
    """The napari notifications dispatched during the test (a list that fills itself)."""
    from napari.utils.notifications import notification_manager

    start = len(notification_manager.records)

    class Records:
        def __iter__(self):
            return iter(notification_manager.records[start:])

        def __len__(self):
            return len(notification_manager.records) - start

        def errors(self) -> list[str]:
            return [str(n.message) for n in self if str(n.severity).lower().endswith("error")]

    return Records()
