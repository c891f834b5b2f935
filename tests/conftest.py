"""Shared fixtures: small natural test images and the path of the shared data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings
from skimage import data, transform

from unblur import metrics

# property tests check outcomes, never time: hypothesis's per-example deadline (200 ms) failed
# test_srgb_round_trip under a load of 17 on the shared 2-core machine
settings.register_profile("unblur", deadline=None)
settings.load_profile("unblur")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def invoke(*args):
    """Run the CLI in-process with click's runner (fast; stdout and stderr kept apart)."""
    from click.testing import CliRunner

    from unblur.cli import cli

    return CliRunner().invoke(cli, [str(a) for a in args], prog_name="unblur")


def assert_error(result, fragment: str, *, quiet: bool = False) -> str:
    """Exit status 1, no uncaught exception, exactly one ``unblur: error:`` line on stderr
    that contains ``fragment``; not an 'unexpected' (internal) error unless ``fragment`` asks
    for one; with ``quiet``, nothing on stdout. Returns that line."""
    assert result.exit_code == 1, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("unblur: error: "), result.stderr
    if "unexpected" not in fragment:
        assert "unexpected" not in lines[0], lines[0]
    assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.output
    if quiet:
        assert result.stdout == "", result.stdout
    return lines[0]


def psnr(estimate: np.ndarray, reference: np.ndarray, *, clip: bool = False) -> float:
    """PSNR in dB with peak 1 (infinite for identical arrays); ``clip``: of the estimate
    clipped to [0, 1] first (what a display shows)."""
    estimate = np.asarray(estimate, np.float64)
    if clip:
        estimate = np.clip(estimate, 0, 1)
    return metrics.psnr(estimate, np.asarray(reference, np.float64))


def psnr_clipped(estimate: np.ndarray, reference: np.ndarray) -> float:
    """:func:`psnr` of the estimate clipped to [0, 1]."""
    return psnr(estimate, reference, clip=True)


def centre(sharp: np.ndarray, observed: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The part of ``sharp`` that a ``valid`` blur with ``k`` maps onto ``observed``."""
    start = [p // 2 for p in k.shape]
    return sharp[tuple(slice(s, s + n) for s, n in zip(start, observed.shape, strict=True))]


def camera_mean(size: int) -> np.ndarray:
    """scikit-image's camera averaged down to ``size`` x ``size`` (512 / size pixel blocks),
    float64 in [0, 1]: exact block means, no resampling filter."""
    f = 512 // size
    return data.camera().astype(np.float64).reshape(size, f, size, f).mean(axis=(1, 3)) / 255


@pytest.fixture(scope="session")
def camera() -> np.ndarray:
    """The scikit-image camera photograph, 128 x 128, float64 in [0, 1]."""
    img = data.camera().astype(np.float64) / 255
    return transform.resize(img, (128, 128), anti_aliasing=True)


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """The scikit-image astronaut photograph (RGB), 96 x 96 x 3, float64 in [0, 1]."""
    img = data.astronaut().astype(np.float64) / 255
    return transform.resize(img, (96, 96, 3), anti_aliasing=True)


@pytest.fixture(scope="session")
def stack() -> np.ndarray:
    """A smooth random 3-D stack, 16 x 40 x 40, float64 in [0, 1]."""
    from scipy import ndimage

    rng = np.random.default_rng(3)
    vol = ndimage.gaussian_filter(rng.random((16, 40, 40)), 1.5)
    vol -= vol.min()
    return vol / vol.max()


@pytest.fixture(scope="session")
def stack3d() -> np.ndarray:
    """A smooth random 3-D stack, 24 x 48 x 48, float64 in [0, 1]."""
    from scipy import ndimage

    vol = ndimage.gaussian_filter(np.random.default_rng(3).random((24, 48, 48)), 1.5)
    vol -= vol.min()
    return vol / vol.max()
