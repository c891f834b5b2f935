"""Every method is scale-equivariant, and extreme magnitudes give a result or a clear error.

``deconvolve(c * y, psf)`` must equal ``c * deconvolve(y, psf)`` (issue 19): the automatic
weights follow the data's scale, and so do the ADMM penalties (they act on the image divided
by its contrast). Images scaled by 1e300 or 1e-300 give a finite result or an
:class:`~unblur.UnblurError`, never an OverflowError, ZeroDivisionError, NaN or a warning.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

import unblur
from unblur import psf

# these tests pass images beyond [0, 1] on purpose (scales, photon counts, integer ranges)
pytestmark = pytest.mark.filterwarnings("ignore::unblur.ValueRangeWarning")

METHODS = unblur.available_methods()
SCALES = (1e-3, 1.0, 255.0, 65535.0)


def _case() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(19)
    x = ndimage.gaussian_filter(rng.random((40, 44)), 1.5)
    x = (x - x.min()) / np.ptp(x)
    x[10:25, 12:30] += 0.4
    k = psf.motion(5, angle=30)
    y = unblur.add_noise(unblur.blur(x, k, boundary="valid"), gaussian=0.01, rng=1)
    return y, k


def _params(method: str) -> dict:
    if method == "pnp":
        return {"denoiser": "tv"}  # BM3D is slow; any denoiser shows the property
    return {}


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("method", METHODS)
def test_every_method_is_scale_equivariant(method):
    y, k = _case()
    base = unblur.deconvolve(y, k, method=method, **_params(method))
    for c in SCALES:
        scaled = unblur.deconvolve(c * y, k, method=method, **_params(method))
        err = np.linalg.norm(scaled - c * base) / np.linalg.norm(c * base)
        assert err < 1e-4, (method, c, err)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("scale", [1e300, 1e-300])
def test_extreme_magnitudes_give_a_result_or_a_clear_error(method, scale):
    y, k = _case()
    try:
        out = unblur.deconvolve(y * scale, k, method=method, **_params(method))
    except unblur.UnblurError as exc:
        assert "\n" not in str(exc)
        return
    assert np.isfinite(out).all(), method
    base = unblur.deconvolve(y, k, method=method, **_params(method))
    err = np.linalg.norm(out / scale - base) / np.linalg.norm(base)
    assert err < 1e-3, (method, err)
