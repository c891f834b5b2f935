"""Shared fixtures: small natural test images and the path of the shared data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from skimage import data, transform

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def psnr(estimate: np.ndarray, reference: np.ndarray, peak: float = 1.0) -> float:
    """PSNR in dB (infinite for identical arrays)."""
    mse = float(np.mean((np.asarray(estimate, np.float64) - reference) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(peak**2 / mse)


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
