"""PSF fields: construction, validation, immutability, the hat weights and interpolation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import unblur
from unblur import InvalidParameterError, InvalidPSFError, psf


def test_grid_normalises_and_freezes():
    rng = np.random.default_rng(0)
    raw = rng.random((2, 3, 5, 7)) * 10
    field = psf.grid(raw, (40, 60))
    assert field.grid_shape == (2, 3) and field.psf_shape == (5, 7) and field.ndim == 2
    assert field.n_cells == 6 and field.image_shape == (40, 60)
    assert field.psfs.dtype == np.float64
    np.testing.assert_allclose(field.psfs.sum(axis=(2, 3)), 1.0)
    np.testing.assert_allclose(field.psfs[1, 2], raw[1, 2] / raw[1, 2].sum())
    with pytest.raises(ValueError, match="read-only"):
        field.psfs[0, 0, 0, 0] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        field.image_shape = (10, 10)
    raw[0, 0] = 0  # the field holds its own copy
    assert field.psfs[0, 0].sum() == pytest.approx(1.0)
    assert repr(field) == "PSFField(grid 2 x 3, PSF (5, 7), image (40, 60))"


def test_grid_3d():
    k = psf.gaussian((1, 2, 2), size=(5, 9, 9))
    field = psf.grid(np.broadcast_to(k, (1, 2, 2, 5, 9, 9)), (16, 64, 64))
    assert field.grid_shape == (1, 2, 2) and field.psf_shape == (5, 9, 9)
    np.testing.assert_allclose(field.centres()[1], [15.5, 47.5])


BAD_SHAPES = [
    ((3, 3), (10, 10), InvalidPSFError, r"^psfs must have 4 dimensions .* got shape \(3, 3\)$"),
    (
        (2, 2, 12, 3),
        (10, 10),
        InvalidPSFError,
        r"^PSFs of shape \(12, 3\) are larger than the image \(10, 10\)$",
    ),
    (
        (11, 1, 3, 3),
        (10, 10),
        InvalidParameterError,
        "^grid has 11 cells along axis 0 but the image has only 10 pixels there$",
    ),
    ((2, 2, 3, 3), (10, 0), InvalidParameterError, "^image_shape must be a sequence of positive"),
    ((2, 2, 3, 3), 10, InvalidParameterError, "^image_shape must be a sequence of positive"),
    ((2, 2, 0, 3), (10, 10), InvalidPSFError, r"^PSF of cell \(0, 0\): PSF is empty$"),
]


@pytest.mark.parametrize(("psfs", "shape", "error", "message"), BAD_SHAPES)
def test_grid_refuses_bad_shapes(psfs, shape, error, message):
    with pytest.raises(error, match=message):
        psf.grid(np.ones(psfs), shape)


def test_grid_names_the_bad_cell():
    psfs = np.ones((2, 3, 3, 3))
    psfs[1, 2, 0, 0] = -1
    with pytest.raises(InvalidPSFError, match=r"^PSF of cell \(1, 2\): PSF has negative values"):
        psf.grid(psfs, (20, 20))
    psfs[1, 2] = 0
    with pytest.raises(InvalidPSFError, match=r"^PSF of cell \(1, 2\): PSF sums to zero"):
        psf.grid(psfs, (20, 20))
    psfs[1, 2, 0, 0] = np.nan
    with pytest.raises(InvalidPSFError, match=r"^PSF of cell \(1, 2\): PSF contains NaN"):
        psf.grid(psfs, (20, 20))


def test_too_many_cells_are_refused():
    with pytest.raises(InvalidParameterError, match=r"^grid \(100, 100\) has 10000 cells; at most"):
        psf.from_function(lambda p: np.ones((1, 1)), (200, 200), grid=100)


@given(
    n=st.integers(1, 200),
    g=st.integers(1, 12),
    positions=st.lists(st.floats(-300, 500), min_size=1, max_size=20),
)
@settings(max_examples=80, deadline=None)
def test_hat_weights_partition_unity(n, g, positions):
    """Non-negative, summing to one, one at their own centre, flat beyond the outer centres."""
    g = min(g, n)
    field = psf.grid(np.ones((g, 1, 1, 1)), (n, 1))
    w = field.axis_weights(0, positions)
    assert w.shape == (g, len(positions))
    assert (w >= 0).all() and np.allclose(w.sum(axis=0), 1.0)
    centres = field.centres()[0]
    np.testing.assert_allclose(field.axis_weights(0, centres), np.eye(g), atol=1e-12)
    outside = np.array([centres[0] - 1, centres[0] - 50, centres[-1] + 1, centres[-1] + 50])
    beyond = field.axis_weights(0, outside)
    np.testing.assert_array_equal(beyond[:, :2], field.axis_weights(0, [centres[0]] * 2))
    np.testing.assert_array_equal(beyond[:, 2:], field.axis_weights(0, [centres[-1]] * 2))


def test_centres_and_weights_over_the_image():
    field = psf.grid(np.ones((3, 2, 1, 1)), (30, 20))
    np.testing.assert_allclose(field.centres()[0], [4.5, 14.5, 24.5])
    np.testing.assert_allclose(field.centres()[1], [4.5, 14.5])
    total = sum(field.weights(c) for c in field.cells())
    np.testing.assert_allclose(total, 1.0)
    w = field.weights((1, 0))
    assert w[14, 4] == pytest.approx(0.95) and w[4, 4] == 0 and w[9, 0] == pytest.approx(0.45)


def test_psf_at_interpolates_between_centres():
    a, b = psf.gaussian(1.0, size=9), psf.gaussian(2.0, size=9)
    field = psf.grid(np.stack([a, b]).reshape(1, 2, 9, 9), (10, 40))
    np.testing.assert_allclose(field.psf_at((5, 9.5)), a)  # first centre
    np.testing.assert_allclose(field.psf_at((5, 0)), a)  # flat beyond it
    np.testing.assert_allclose(field.psf_at((5, 29.5)), b)
    np.testing.assert_allclose(field.psf_at((5, 19.5)), (a + b) / 2)
    np.testing.assert_allclose(field.mean_psf(), (a + b) / 2)
    with pytest.raises(InvalidParameterError, match="^position must have 2 coordinates, got 1$"):
        field.psf_at((3,))


def test_from_function_samples_the_cell_centres_and_pads_to_a_common_shape():
    seen = []

    def shake(position):
        seen.append(position)
        return psf.motion(length=5 + int(position[1] // 20), angle=0)

    field = psf.from_function(shake, (40, 60), grid=(2, 3))
    assert seen == [(9.5, 9.5), (9.5, 29.5), (9.5, 49.5), (29.5, 9.5), (29.5, 29.5), (29.5, 49.5)]
    assert field.grid_shape == (2, 3)
    assert field.psf_shape[1] == psf.motion(length=7, angle=0).shape[1]
    for cell in field.cells():
        k = psf.motion(length=5 + cell[1], angle=0)
        assert np.allclose(psf.centroid(field.psfs[cell]), np.array(field.psf_shape) // 2)
        assert np.isclose(field.psfs[cell].max(), k.max())


def test_from_function_refuses_bad_output():
    with pytest.raises(InvalidPSFError, match=r"^the PSF function returned 1 dimensions at"):
        psf.from_function(lambda p: np.ones(3), (20, 20), grid=2)
    with pytest.raises(InvalidParameterError, match=r"^grid must be 2 positive integers"):
        psf.from_function(lambda p: np.ones((3, 3)), (20, 20), grid=(2, 0))
    with pytest.raises(InvalidPSFError, match=r"^PSF of cell \(0, 0\): PSF has negative values"):
        psf.from_function(lambda p: -np.ones((3, 3)), (20, 20), grid=2)


# ---------------------------------------------------------------------------------------------
# crop: the field a window of the image sees (explicit centres)
# ---------------------------------------------------------------------------------------------
@given(
    n=st.integers(20, 120),
    g=st.integers(1, 6),
    start=st.integers(-10, 100),
    width=st.integers(3, 60),
    margin=st.integers(0, 8),
)
@settings(max_examples=80, deadline=None)
def test_crop_keeps_the_weights_of_the_window(n, g, start, width, margin):
    g = min(g, n)
    field = psf.grid(np.random.default_rng(g).random((1, g, 1, 3)), (1, n))
    part = field.crop((0, start), (1, width), margin=(0, margin))
    positions = np.arange(start - margin, start + width + margin)
    full = field.axis_weights(1, positions)
    kept = part.axis_weights(1, positions - start)
    first = int(np.argmin(np.abs(field.centres()[1] - (part.centres()[1][0] + start))))
    np.testing.assert_allclose(kept, full[first : first + part.grid_shape[1]], atol=1e-12)
    # the cells left out have no weight there
    assert np.allclose(np.delete(full, range(first, first + part.grid_shape[1]), axis=0), 0)


def test_a_cropped_field_blurs_a_window_as_the_whole_field_does():
    rng = np.random.default_rng(4)
    field = psf.grid(rng.random((3, 4, 7, 5)), (90, 120))
    x = rng.random((90, 120))
    start, shape = (20, 35), (50, 60)
    window = x[20:70, 35:95]
    part = field.crop(start, shape)
    assert part.cell_centres is not None and part.image_shape == shape
    whole = unblur.blur(x, field, boundary="valid")
    local = unblur.blur(window, part, boundary="valid")
    np.testing.assert_allclose(local, whole[20 : 20 + 44, 35 : 35 + 56], atol=1e-12)


def test_explicit_centres_are_checked():
    k = np.ones((1, 2, 3, 3))
    with pytest.raises(InvalidParameterError, match="strictly increasing"):
        psf.PSFField(k, (10, 10), ((4.5,), (3.0, 3.0)))
    with pytest.raises(InvalidParameterError, match="must have 2 axes"):
        psf.PSFField(k, (10, 10), ((4.5,),))
    part = psf.PSFField(k, (10, 10), ((4.5,), (-2.0, 30.0)))  # centres may lie outside
    assert "irregular" in repr(part)
    np.testing.assert_allclose(part.weights((0, 0)).sum() + part.weights((0, 1)).sum(), 100)
