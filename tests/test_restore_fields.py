"""Restoration with a PSF field (a spatially varying blur): every method accepts one.

The contract: every iterative method solves the product-convolution model with every boundary
model (a field of identical PSFs gives the uniform result; a varying field beats the blurred
input and the centre PSF), and the direct methods restore per cell and blend.
"""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest
from conftest import SHARED_DATA
from scipy import ndimage

import unblur
from unblur import InvalidParameterError, InvalidPSFError, psf
from unblur.metrics import psnr
from unblur.restore import available_methods, get_method

ITERATIVE = [m for m in available_methods() if get_method(m).iterative]
DIRECT = [m for m in available_methods() if not get_method(m).iterative]
#: quick settings (the code paths are those of the defaults)
QUICK = {"pnp": {"denoiser": "tv", "num_iter": 2}}


def scene(shape=(72, 72), seed=0) -> np.ndarray:
    """Blocks with a few edges at every orientation (float64)."""
    rng = np.random.default_rng(seed)
    x = np.kron(rng.random((shape[0] // 8, shape[1] // 8)), np.ones((8, 8)))
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    x += 0.5 * ((xx - shape[1] / 2) ** 2 + (yy - shape[0] / 2) ** 2 < (shape[0] / 4) ** 2)
    return x / x.max()


def turning_field(shape, turn=40.0, grid=3, length=9):
    """Motion blur whose angle turns by ``turn`` degrees from the first cell to the last."""
    cells = (grid, grid)

    def kernel(pos):
        t = (pos[0] + pos[1]) / (shape[0] + shape[1] - 2)
        return psf.motion(length, angle=-turn / 2 + turn * t, size=length)

    return psf.from_function(kernel, shape, cells)


def observe(x, field, noise=0.01, seed=1):
    """The valid blur of ``x`` by ``field`` with noise, the field seen by the observation and the
    part of ``x`` the observation sees."""
    half = [k // 2 for k in field.psf_shape]
    y = unblur.add_noise(unblur.blur(x, field, boundary="valid"), gaussian=noise, rng=seed)
    seen = field.crop(half, y.shape)
    inner = x[tuple(slice(h, h + n) for h, n in zip(half, y.shape, strict=True))]
    return y, seen, inner


@pytest.mark.parametrize("method", ITERATIVE)
def test_every_iterative_method_restores_with_a_field(method):
    x = scene()
    field = turning_field(x.shape)
    y, seen, inner = observe(x, field)
    out = unblur.deconvolve(y, seen, method=method, **QUICK.get(method, {}))
    assert out.shape == y.shape and out.dtype == y.dtype
    assert psnr(out, inner) > psnr(y, inner) + 1.0


@pytest.mark.parametrize("method", ITERATIVE)
@pytest.mark.parametrize("boundary", ["unknown", "periodic", "reflect", "taper"])
def test_a_field_of_one_psf_gives_the_uniform_result(method, boundary):
    # the field's operator, its adjoint, norm bound and conjugate-gradient x step against the
    # Fourier-diagonal ones: a uniform field is the uniform blur, to rounding (float64)
    x = scene((40, 48))
    k = psf.motion(7, angle=30)
    field = psf.grid(np.broadcast_to(k, (2, 3, *k.shape)), x.shape)
    y = unblur.add_noise(unblur.blur(x, k), gaussian=0.01, rng=2)
    params = {"num_iter": 6, **QUICK.get(method, {})}
    uniform = unblur.deconvolve(y, k, method=method, boundary=boundary, **params)
    with_field = unblur.deconvolve(y, field, method=method, boundary=boundary, **params)
    np.testing.assert_allclose(with_field, uniform, rtol=0, atol=1e-9)


def rotated(kernel: np.ndarray, angle: float) -> np.ndarray:
    """``kernel`` rotated by ``angle`` degrees (cubic spline, clipped, normalised)."""
    out = np.clip(ndimage.rotate(kernel, angle, reshape=False, order=3), 0, None)
    return out / out.sum()


def test_the_field_beats_the_centre_psf_and_nears_a_uniform_blur():
    # issue 16's experiment in small (benchmarks/fields.py runs the full one): a real
    # camera-shake kernel whose angle turns by 40 degrees over a 3 x 3 grid, valid blur, 1 %
    # noise; restoring with the field beats the centre PSF by >= 2 dB and comes within 1 dB of
    # the same image blurred uniformly by the centre kernel and restored with it
    path = SHARED_DATA / "levin2009"
    if not path.is_dir():
        pytest.skip("the Levin et al. data are not in ../shared/data")
    x = iio.imread(path / "sharp" / "im1.png")[:128, :128] / 255.0
    kernel = np.load(path / "kernels" / "kernel2.npy")
    kernels = [[rotated(kernel, -20 + 10 * (i + j)) for j in range(3)] for i in range(3)]
    field = psf.grid(np.array(kernels), x.shape)
    centre = field.psfs[1, 1]
    y, seen, inner = observe(x, field, seed=0)
    noise = y - unblur.blur(x, field, boundary="valid")
    uniform = unblur.blur(x, centre, boundary="valid") + noise
    with_field = psnr(unblur.deconvolve(y, seen), inner)
    assert with_field > psnr(unblur.deconvolve(y, centre), inner) + 2.0
    assert with_field > psnr(unblur.deconvolve(uniform, centre), inner) - 1.0


@pytest.mark.parametrize("method", DIRECT)
def test_direct_methods_restore_per_cell_and_blend(method):
    x = scene()
    field = turning_field(x.shape)
    y = unblur.add_noise(unblur.blur(x, field), gaussian=0.01, rng=1)
    params = {"epsilon": 1e-2} if method == "inverse" else {}
    info = {}
    out = unblur.deconvolve(y, field, method=method, boundary="reflect", info=info, **params)
    assert out.shape == y.shape
    assert psnr(out, x) > psnr(y, x) + 0.5
    assert len(info["parameters"]["patches"]) == field.n_cells
    # one cell: the patch is the whole image, the result the uniform one
    k = field.psfs[1, 1]
    one = psf.grid(k[None, None], x.shape)
    np.testing.assert_array_equal(
        unblur.deconvolve(y, one, method=method, **params),
        unblur.deconvolve(y, k, method=method, **params),
    )


def test_direct_methods_refuse_unknown_with_a_field():
    x = scene()
    field = turning_field(x.shape)
    with pytest.raises(InvalidParameterError, match="boundary='unknown' needs an iterative"):
        unblur.deconvolve(x, field, method="wiener", boundary="unknown")


def test_landweber_checks_its_step_against_the_fields_norm_bound():
    x = scene((40, 40))
    field = turning_field(x.shape, length=7)
    with pytest.raises(InvalidParameterError, match=r"step must be < 2/\(the PSF field's bound"):
        unblur.deconvolve(x, field, method="landweber", step=2.5)


def test_a_field_for_another_shape_is_refused():
    field = turning_field((64, 64))
    with pytest.raises(InvalidPSFError, match=r"built for an image of shape \(64, 64\), not"):
        unblur.deconvolve(np.zeros((60, 64)), field)


def test_colour_with_a_field():
    x = scene((48, 48))
    field = turning_field(x.shape, length=7)
    rgb = np.stack([x, 0.8 * x, 0.5 * x], axis=-1).astype(np.float32)
    y = unblur.blur(rgb, field, channel_axis=-1)
    out = unblur.deconvolve(y, field, method="richardson_lucy", channel_axis=-1, num_iter=5)
    single = unblur.deconvolve(y[..., 1], field, method="richardson_lucy", num_iter=5)
    assert out.shape == rgb.shape and out.dtype == np.float32
    np.testing.assert_allclose(out[..., 1], single, rtol=0, atol=1e-6)


def test_info_reports_the_conjugate_gradient_steps():
    x = scene((48, 48))
    field = turning_field(x.shape, length=7)
    info = {}
    unblur.deconvolve(unblur.blur(x, field), field, method="tv", info=info)
    parameters = info["parameters"]
    assert parameters["cg_steps"] >= parameters["iterations"] >= 1
