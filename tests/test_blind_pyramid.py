"""The free-form estimator's stages on their own: the coarse-to-fine alternation
(``unblur.blind.pyramid``) and the full-resolution refinement (``unblur.blind.refinement``).

The problem is ``test_blind_kernel.py``'s: a crop of the camera photograph blurred with a 9 x 9
L-shaped camera-shake kernel (boundary "reflect") plus 1 % Gaussian noise, on the support the
truth occupies.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from _kernels import l_shake
from skimage import data

import unblur
from unblur.blind._common import normalise
from unblur.blind.kernel_step import similarity
from unblur.blind.pyramid import RATIO, STARTS, Settings, coarse_to_fine, starting_kernel
from unblur.blind.refinement import refine
from unblur.noise import estimate_noise


@pytest.fixture(scope="module")
def window() -> tuple[np.ndarray, float]:
    sharp = data.camera()[::2, ::2][32:224, 32:224] / 255.0
    y = unblur.add_noise(unblur.blur(sharp, l_shake(), boundary="reflect"), gaussian=0.01, rng=0)
    ys, _ = normalise(y)
    return ys, estimate_noise(ys)


def _settings(noise: float, start: str = STARTS[0]) -> Settings:
    """``estimate_kernel``'s defaults."""
    return Settings(
        num_iter=5, num_iter_fine=5, lam_grad=4e-3, lam_intensity=4e-3, kernel_reg=2.0,
        threshold=0.05, min_mass=0.1, edge_ratio=2.0, edge_decay=2.0, latent_blur=0.3,
        pyramid_smooth=0.0, join=0, noise=noise, adaptive=1.0, start_kernel=start,
    )  # fmt: skip


@pytest.mark.parametrize("start", STARTS)
def test_starting_kernels_are_two_centred_pixels_or_a_delta(start):
    k = starting_kernel((5, 5), start)
    assert k.sum() == pytest.approx(1.0)
    assert k[2, 2] == pytest.approx(1.0 if start == "delta" else 0.5)
    assert np.count_nonzero(k) == (1 if start == "delta" else 2)


def test_coarse_to_fine_finds_the_shake_level_by_level(window):
    ys, sigma = window
    seen: list[int] = []
    k, latent, levels = coarse_to_fine(
        ys, None, (9, 9), _settings(sigma), lambda i, kk: seen.append(i)
    )
    assert k.shape == (9, 9) and k.sum() == pytest.approx(1.0) and k.min() >= 0
    assert similarity(k, l_shake()) > 0.8
    assert latent.shape == ys.shape
    # coarse to fine, each level smaller than the next by the pyramid's ratio
    assert [lv["level"] for lv in levels] == sorted((lv["level"] for lv in levels), reverse=True)
    assert levels[-1]["level"] == 0 and seen == list(range(len(levels)))
    for coarse, fine in itertools.pairwise(levels):
        ratio = coarse["image_shape"][0] / fine["image_shape"][0]
        assert ratio == pytest.approx(RATIO, abs=0.02)


def test_coarse_to_fine_stops_at_the_level_asked(window):
    ys, sigma = window
    k, _, levels = coarse_to_fine(ys, None, (21, 21), _settings(sigma), None, until=2)
    assert levels[-1]["level"] == 2
    assert k.shape == tuple(levels[-1]["kernel_shape"])
    with pytest.raises(ValueError, match="the pyramid has levels 1 to 0, not 2"):
        coarse_to_fine(ys, None, (9, 9), _settings(sigma), None, until=2)


def test_refinement_moves_the_pyramids_kernel_towards_the_truth(window):
    ys, sigma = window
    k0, latent, _ = coarse_to_fine(ys, None, (9, 9), _settings(sigma), None)
    k, x = refine(ys, None, k0, latent, 2, 0.03, 0.1, 10.0, sigma, 1.0)
    assert x.shape == ys.shape and k.sum() == pytest.approx(1.0) and k.min() >= 0
    # measured: 0.968 -> 0.987
    assert similarity(k, l_shake()) > similarity(k0, l_shake()) + 0.01


def test_refinement_alone_moves_a_rough_kernel_towards_the_truth(window):
    ys, sigma = window
    rough = np.zeros((9, 9))
    rough[3:6, 1:7] = 1.0  # a box where the L lies
    rough /= rough.sum()
    k, _ = refine(ys, None, rough, None, 8, 0.03, 0.1, 10.0, sigma, 1.0)
    # measured: 0.62 -> 0.81 in 8 alternations
    assert similarity(k, l_shake()) > similarity(rough, l_shake()) + 0.1


def test_refinement_leaves_out_the_clipped_pixels(window):
    """A mask over a region where the data were replaced by garbage: the kernel found with the
    mask is the kernel found on clean data, within the data the mask removes."""
    ys, sigma = window
    clean, _ = refine(ys, None, l_shake(), None, 1, 0.03, 0.1, 10.0, sigma, 1.0)
    spoilt = ys.copy()
    spoilt[60:100, 60:100] = 1.0
    mask = np.zeros(ys.shape, dtype=bool)
    mask[60:100, 60:100] = True
    masked, _ = refine(spoilt, mask, l_shake(), None, 1, 0.03, 0.1, 10.0, sigma, 1.0)
    unmasked, _ = refine(spoilt, None, l_shake(), None, 1, 0.03, 0.1, 10.0, sigma, 1.0)
    assert similarity(masked, clean) > similarity(unmasked, clean)
