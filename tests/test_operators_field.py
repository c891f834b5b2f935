"""The product-convolution operator of a PSF field: exact against a direct sum, exact adjoint,
the boundary models' grids, and blur() with a field against scipy's fftconvolve."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import fftconvolve

import unblur
from unblur import InvalidParameterError, InvalidPSFError, psf
from unblur.operators import (
    BOUNDARIES,
    Boundary,
    Convolution,
    FieldConvolution,
    field_boundary,
)


# ---------------------------------------------------------------------------------------------
# an independent model of the weights: hats written out piecewise, positions mirrored by hand
# ---------------------------------------------------------------------------------------------
def hat_weights(n_image: int, cells: int, positions: np.ndarray) -> np.ndarray:
    """(cells, len(positions)) hat weights, centres at (j + 1/2) n / g - 1/2, flat outside."""
    centres = [(j + 0.5) * n_image / cells - 0.5 for j in range(cells)]
    w = np.zeros((cells, len(positions)))
    for q, t in enumerate(positions):
        if cells == 1:
            w[0, q] = 1.0
            continue
        t = min(max(t, centres[0]), centres[-1])
        for j in range(cells - 1):
            lo, hi = centres[j], centres[j + 1]
            if lo <= t <= hi:
                w[j, q] = (hi - t) / (hi - lo)
                w[j + 1, q] = (t - lo) / (hi - lo)
                break
    return w


def mirrored(positions: np.ndarray, n: int) -> np.ndarray:
    out = []
    for t in positions:
        t = int(t) % (2 * n)
        out.append(t if t < n else 2 * n - 1 - t)
    return np.array(out, dtype=float)


def cell_weight(field, cell, shape, offset=None, mirror=False) -> np.ndarray:
    """w_i on a grid of ``shape`` whose index q is field position q - offset."""
    offset = offset or (0,) * len(shape)
    w = np.ones(shape)
    for a, j in enumerate(cell):
        t = np.arange(shape[a]) - offset[a]
        if mirror:
            t = mirrored(t, field.image_shape[a])
        line = hat_weights(field.image_shape[a], field.grid_shape[a], t)[j]
        w = w * line.reshape([-1 if b == a else 1 for b in range(len(shape))])
    return w


def direct(field, shape, x, offset=None, mirror=False) -> np.ndarray:
    """sum_i H_i (w_i x) with one full-grid convolution per cell (the slow way)."""
    return sum(
        Convolution(field.psfs[c], shape, dtype=np.float64).forward(
            cell_weight(field, c, shape, offset, mirror) * x
        )
        for c in field.cells()
    )


@st.composite
def field_on_grid(draw, max_dim=3):
    d = draw(st.integers(1, max_dim))
    image = tuple(draw(st.integers(4, 30 if d < 3 else 14)) for _ in range(d))
    cells = tuple(draw(st.integers(1, min(4, n))) for n in image)
    kshape = tuple(draw(st.integers(1, min(7, n))) for n in image)
    grid = tuple(n + draw(st.integers(0, 12)) for n in image)
    offset = tuple(draw(st.integers(-4, g - 1)) for g in grid)
    mirror = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    field = psf.grid(rng.random((*cells, *kshape)), image)
    return field, grid, offset, mirror, rng


@given(case=field_on_grid(), dtype=st.sampled_from([np.float32, np.float64]))
@settings(max_examples=60, deadline=None)
def test_adjoint_is_the_adjoint(case, dtype):
    """<A x, y> == <x, A^T y> for random fields, grids, offsets and mirroring (1-3-D)."""
    field, grid, offset, mirror, rng = case
    op = FieldConvolution(field, grid, offset=offset, mirror=mirror, dtype=dtype)
    x = rng.standard_normal(grid).astype(dtype)
    y = rng.standard_normal(grid).astype(dtype)
    ax, aty = op.forward(x), op.adjoint(y)
    assert ax.dtype == dtype and aty.dtype == dtype
    lhs = np.vdot(ax.astype(np.float64), y)
    rhs = np.vdot(x.astype(np.float64), aty)
    scale = np.linalg.norm(x) * np.linalg.norm(y)
    assert abs(lhs - rhs) <= (1e-5 if dtype == np.float32 else 1e-12) * scale


@given(case=field_on_grid())
@settings(max_examples=40, deadline=None)
def test_forward_equals_the_direct_sum(case):
    """The local transforms, wrapped into the grid, equal one circular convolution per cell."""
    field, grid, offset, mirror, rng = case
    op = FieldConvolution(field, grid, offset=offset, mirror=mirror, dtype=np.float64)
    x = rng.standard_normal(grid)
    np.testing.assert_allclose(
        op.forward(x), direct(field, grid, x, offset, mirror), atol=1e-12 * np.abs(x).sum()
    )


def test_local_transforms_are_used_and_smaller_than_the_grid():
    """A 4 x 4 field on a 128 x 160 grid transforms boxes about two cells wide, not the grid."""
    field = psf.from_function(lambda p: psf.gaussian(1 + p[0] / 64, size=9), (128, 160), 4)
    op = FieldConvolution(field, (128, 160), dtype=np.float64)
    assert all(m < n for m, n in zip(op.local_shape, op.shape, strict=True))
    x = np.random.default_rng(0).standard_normal(op.shape)
    np.testing.assert_allclose(op.forward(x), direct(field, op.shape, x), atol=1e-11)


def test_uniform_field_is_the_uniform_convolution():
    k = psf.motion(9, 30)
    field = psf.grid(np.broadcast_to(k, (3, 2, *k.shape)), (40, 50))
    op = FieldConvolution(field, (40, 50), dtype=np.float64)
    x = np.random.default_rng(1).random((40, 50))
    np.testing.assert_allclose(
        op.forward(x), Convolution(k, (40, 50), dtype=np.float64).forward(x), atol=1e-13
    )
    np.testing.assert_allclose(op.psf, k / k.sum(), atol=1e-15)


def test_a_point_source_is_imaged_with_the_psf_at_its_position():
    """The weights act on the scene: a point at t is blurred by h(t) = sum_i w_i(t) h_i."""
    kernels = np.stack([psf.gaussian(s, size=11) for s in (1.0, 1.5, 2.0, 3.0)]).reshape(
        2, 2, 11, 11
    )
    field = psf.grid(kernels, (64, 64))
    for t in [(10, 10), (20, 40), (31, 33), (50, 5), (60, 60)]:
        x = np.zeros((64, 64))
        x[t] = 1.0
        y = FieldConvolution(field, (64, 64), dtype=np.float64).forward(x)
        expected = np.zeros((64, 64))
        expected[:11, :11] = field.psf_at(t)
        expected = np.roll(expected, (t[0] - 5, t[1] - 5), axis=(0, 1))
        np.testing.assert_allclose(y, expected, atol=1e-14)


def test_flux_is_conserved_and_the_norm_bound_holds():
    rng = np.random.default_rng(2)
    field = psf.grid(rng.random((3, 3, 7, 7)) ** 4, (48, 48))
    op = FieldConvolution(field, (48, 48), dtype=np.float64)
    x = rng.random((48, 48))
    assert np.isclose(op.forward(x).sum(), x.sum())
    v = rng.random((48, 48))  # power iteration on A^T A
    for _ in range(200):
        v = op.normal(v)
        v /= np.linalg.norm(v)
    largest = float(np.vdot(v, op.normal(v)))
    assert largest <= op.norm_squared_bound * (1 + 1e-9)
    assert op.norm_squared_bound > 1  # differing PSFs: the row sums exceed one somewhere


@pytest.mark.parametrize("mode", BOUNDARIES)
@pytest.mark.parametrize("ndim", [2, 3])
def test_field_boundary_uses_the_boundary_grids(mode, ndim):
    """Same grid, offset and mask as the uniform boundary; the field sits on the observed
    image (mirrored for reflect and taper); the adjoint is exact there."""
    rng = np.random.default_rng(3)
    image = (30, 37) if ndim == 2 else (12, 18, 15)
    cells = (2, 3) if ndim == 2 else (2, 2, 3)
    kshape = (7, 5) if ndim == 2 else (3, 5, 5)
    field = psf.grid(rng.random((*cells, *kshape)), image)
    bc = field_boundary(mode, image, field, dtype=np.float64)
    uniform = Boundary.create(mode, image, np.ones(kshape), dtype=np.float64)
    assert (bc.grid_shape, bc.offset) == (uniform.grid_shape, uniform.offset)
    op = bc.operator
    assert isinstance(op, FieldConvolution) and op.shape == bc.grid_shape
    x, y = rng.standard_normal((2, *bc.grid_shape))
    assert np.isclose(np.vdot(op.forward(x), y), np.vdot(x, op.adjoint(y)), rtol=1e-10)
    mirror = mode in ("reflect", "taper")
    np.testing.assert_allclose(
        op.forward(x), direct(field, bc.grid_shape, x, bc.offset, mirror), atol=1e-10
    )
    observed = rng.random(image)
    assert bc.extend(observed).shape == bc.grid_shape  # taper blends with the mean PSF
    np.testing.assert_array_equal(bc.crop(bc.extend(observed)), observed)


def test_field_boundary_refuses_a_field_for_another_image():
    field = psf.grid(np.ones((2, 2, 3, 3)), (20, 20))
    with pytest.raises(
        InvalidPSFError, match=r"^the PSF field was built for an image of shape \(20, 20\), not"
    ):
        field_boundary("reflect", (20, 21), field)


def test_operator_refuses_wrong_arrays():
    field = psf.grid(np.ones((2, 2, 3, 3)), (20, 20))
    op = FieldConvolution(field, (24, 24))
    with pytest.raises(InvalidParameterError, match=r"^array of shape \(20, 20\) given to a"):
        op.forward(np.zeros((20, 20)))
    with pytest.raises(InvalidPSFError, match="^expected a PSFField, got ndarray$"):
        FieldConvolution(np.ones((3, 3)), (24, 24))
    with pytest.raises(InvalidPSFError, match=r"do not fit the grid \(2, 24\)$"):
        FieldConvolution(field, (2, 24))


# ---------------------------------------------------------------------------------------------
# blur() with a field: the done-when test of issue 16
# ---------------------------------------------------------------------------------------------
def reference_blur(x: np.ndarray, field) -> np.ndarray:
    """sum_i fftconvolve(w_i * x, h_i, mode="valid"), the weights from hat_weights()."""
    return sum(
        fftconvolve(cell_weight(field, c, x.shape) * x, field.psfs[c], mode="valid")
        for c in field.cells()
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blur_with_a_field_is_the_sum_of_weighted_convolutions_2d(dtype):
    rng = np.random.default_rng(4)
    x = rng.random((96, 128)).astype(dtype)
    # camera shake turning by 40 degrees across a 3 x 3 grid
    kernels = np.stack(
        [psf.motion(15, 20 * i + 10 * j, size=17) for i in range(3) for j in range(3)]
    ).reshape(3, 3, 17, 17)
    field = psf.grid(kernels, x.shape)
    y = unblur.blur(x, field, boundary="valid")
    ref = reference_blur(x.astype(np.float64), field)
    assert y.shape == ref.shape == (80, 112) and y.dtype == dtype
    assert np.abs(y - ref).max() <= 1e-5 * np.abs(ref).max()


def test_blur_with_a_field_is_the_sum_of_weighted_convolutions_3d():
    rng = np.random.default_rng(5)
    x = rng.random((24, 40, 36)).astype(np.float32)
    widths = rng.uniform(0.7, 2.5, size=(2, 2, 3, 3))
    kernels = np.array(
        [
            [[psf.gaussian(tuple(w), size=(5, 7, 7)) for w in row] for row in plane]
            for plane in widths
        ]
    )
    field = psf.grid(kernels, x.shape)
    y = unblur.blur(x, field, boundary="valid")
    ref = reference_blur(x.astype(np.float64), field)
    assert y.shape == ref.shape == (20, 34, 30)
    assert np.abs(y - ref).max() <= 1e-5 * np.abs(ref).max()


def test_blur_with_a_field_periodic_and_reflect():
    """periodic: the direct sum on the image grid; reflect: valid blur of the mirror-padded
    image with the field mirrored alike; a uniform field gives the uniform blur."""
    rng = np.random.default_rng(6)
    x = rng.random((40, 52))
    field = psf.grid(rng.random((2, 3, 5, 7)), x.shape)
    np.testing.assert_allclose(
        unblur.blur(x, field, boundary="periodic"), direct(field, x.shape, x), atol=1e-12
    )
    padded = np.pad(x, ((2, 2), (3, 3)), mode="symmetric")
    expected = sum(
        fftconvolve(
            cell_weight(field, c, padded.shape, (2, 3), True) * padded, field.psfs[c], "valid"
        )
        for c in field.cells()
    )
    np.testing.assert_allclose(unblur.blur(x, field, boundary="reflect"), expected, atol=1e-12)
    k = psf.gaussian(1.3, size=7)
    uniform = psf.grid(np.broadcast_to(k, (2, 2, 7, 7)), x.shape)
    for boundary in ("periodic", "reflect", "valid"):
        np.testing.assert_allclose(
            unblur.blur(x, uniform, boundary=boundary),
            unblur.blur(x, k, boundary=boundary),
            atol=1e-12,
        )


def test_blur_with_a_field_per_colour_channel():
    rng = np.random.default_rng(7)
    x = rng.random((30, 34, 3)).astype(np.float32)
    field = psf.grid(rng.random((2, 2, 5, 5)), (30, 34))
    y = unblur.blur(x, field, boundary="valid", channel_axis=-1)
    assert y.shape == (26, 30, 3)
    np.testing.assert_allclose(y[..., 1], unblur.blur(x[..., 1], field, boundary="valid"))


def test_blur_refuses_a_field_for_another_shape():
    field = psf.grid(np.ones((2, 2, 3, 3)), (20, 20))
    with pytest.raises(
        InvalidPSFError,
        match=r"^the PSF field was built for an image of shape \(20, 20\), not \(20, 24\)$",
    ):
        unblur.blur(np.zeros((20, 24)), field)


def test_mean_otf_power_is_the_area_weighted_power_of_the_cells():
    rng = np.random.default_rng(8)
    field = psf.grid(rng.random((2, 3, 5, 5)), (20, 30))  # cells of 10 x 10 pixels: equal areas
    op = FieldConvolution(field, (24, 36), dtype=np.float64)
    expected = (
        sum(Convolution(field.psfs[c], (24, 36), dtype=np.float64).otf_power for c in field.cells())
        / 6
    )
    np.testing.assert_allclose(op.mean_otf_power, expected, atol=1e-14)
    k = psf.gaussian(1.0, size=5)
    uniform = FieldConvolution(psf.grid(np.broadcast_to(k, (2, 2, 5, 5)), (20, 30)), (20, 30))
    np.testing.assert_allclose(
        uniform.mean_otf_power, Convolution(k, (20, 30)).otf_power, rtol=1e-5, atol=1e-7
    )
    np.testing.assert_allclose(
        uniform.uniform().forward(np.eye(20, 30)),
        Convolution(k, (20, 30)).forward(np.eye(20, 30)),
        atol=1e-6,
    )


# ---------------------------------------------------------------------------------------------
# the conjugate-gradient solve of the regularised normal equations (the solvers' x step)
# ---------------------------------------------------------------------------------------------
def dense(apply, shape) -> np.ndarray:
    """The matrix of a linear map on arrays of ``shape`` (column j = apply(e_j))."""
    n = int(np.prod(shape))
    columns = []
    for j in range(n):
        e = np.zeros(n)
        e[j] = 1.0
        columns.append(apply(e.reshape(shape)).ravel())
    return np.stack(columns, axis=1)


@pytest.mark.parametrize("regularizer", ["spectrum", "number"])
def test_solve_normal_cg_converges_to_the_dense_solution(regularizer):
    from unblur.operators import difference_spectrum

    rng = np.random.default_rng(5)
    field = psf.grid(rng.random((2, 3, 5, 5)) ** 3, (12, 14))
    op = FieldConvolution(field, (12, 14), offset=(1, 2), dtype=np.float64)
    r = (
        0.05 * difference_spectrum(op.shape, 1, dtype=np.float64)
        if regularizer == "spectrum"
        else 0.05
    )
    data, rhs = rng.standard_normal(op.shape), rng.standard_normal(op.shape)
    a = dense(op.forward, op.shape)
    reg = dense(
        lambda v: op.apply_multiplier(v, r) if regularizer == "spectrum" else r * v, op.shape
    )
    expected = np.linalg.solve(a.T @ a + reg, a.T @ data.ravel() + rhs.ravel()).reshape(op.shape)
    x = rng.standard_normal(op.shape)
    ax = op.forward(x)
    steps = op.solve_normal_cg(x, ax, data, rhs, r, max_iter=200)
    assert steps <= 200
    np.testing.assert_allclose(x, expected, atol=1e-8 * np.abs(expected).max())
    np.testing.assert_allclose(ax, op.forward(x), atol=1e-10)  # A x kept current


def test_solve_normal_cg_takes_one_step_for_a_uniform_field():
    # the preconditioner is then the exact inverse: one step solves the system
    from unblur.operators import difference_spectrum

    k = psf.motion(5, 20)
    field = psf.grid(np.broadcast_to(k, (2, 2, *k.shape)), (20, 24))
    op = FieldConvolution(field, (20, 24), dtype=np.float64)
    r = 0.1 * difference_spectrum(op.shape, 1, dtype=np.float64)
    rng = np.random.default_rng(6)
    data = rng.standard_normal(op.shape)
    x = np.zeros(op.shape)
    op.solve_normal_cg(x, op.forward(x), data, None, r, max_iter=1)
    uniform = Convolution(k, op.shape, dtype=np.float64)
    np.testing.assert_allclose(x, uniform.solve_normal(uniform.adjoint(data), 0.0, r), atol=1e-12)


def test_forward_and_adjoint_into_an_array_and_in_place():
    rng = np.random.default_rng(7)
    field = psf.grid(rng.random((2, 2, 5, 5)), (16, 16))
    op = FieldConvolution(field, (16, 16), dtype=np.float64)
    x = rng.standard_normal((16, 16))
    expected_f, expected_a = op.forward(x), op.adjoint(x)
    out = np.full((16, 16), 7.0)
    np.testing.assert_array_equal(op.forward_into(x, out, None), expected_f)
    same = x.copy()
    np.testing.assert_array_equal(op.adjoint_into(same, same, None), expected_a)
    assert op.diagonal is False and Convolution(psf.gaussian(1.0), (16, 16)).diagonal is True
