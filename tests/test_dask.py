"""Chunked deconvolution with Dask: equal to whole-image results away from the border, on a
local distributed cluster; files read and written chunk-wise; progress; validation."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

import unblur
from unblur import InvalidParameterError, UnknownMethodError, psf

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
tifffile = pytest.importorskip("tifffile")

from conftest import psnr  # noqa: E402

from unblur import dask as ud  # noqa: E402
from unblur.errors import ImageReadError, ImageWriteError, InvalidImageError  # noqa: E402

KERNEL = psf.gaussian(1.5)  # 13 x 13, half-width 6: default overlap 18
MARGIN = 24  # compare away from the outer border (the methods' own border artefacts)


@pytest.fixture(scope="module")
def client():
    """A local distributed cluster: two single-threaded workers in this process."""
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    """The camera photograph, 192 x 192, float32 in [0, 1]."""
    from skimage import data, transform

    img = data.camera().astype(np.float64) / 255
    return transform.resize(img, (192, 192), anti_aliasing=True).astype(np.float32)


@pytest.fixture(scope="module")
def observed(scene) -> np.ndarray:
    return unblur.add_noise(unblur.blur(scene, KERNEL, boundary="reflect"), gaussian=0.003, rng=1)


def inner(a: np.ndarray, margin: int = MARGIN) -> np.ndarray:
    return a[(slice(margin, -margin),) * 2]


def registered(name: str) -> None:
    if name not in unblur.available_methods():
        pytest.skip(f"method {name!r} is not registered yet")


# --------------------------------------------------------------------------------------------
# chunked == whole image
# --------------------------------------------------------------------------------------------
CASES = {
    "inverse": ("inverse", dict(epsilon=1e-2), 1e-4),
    "wiener": ("wiener", dict(balance=1e-3), 1e-3),
    "tikhonov": ("tikhonov", dict(lam=3e-3), 1e-3),
    # plain RL: the acceleration factor and the TV smoothing scale are block-global quantities
    "richardson_lucy": (
        "richardson_lucy",
        dict(num_iter=25, acceleration=False, regularization=0.0),
        1e-3,
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_chunked_equals_whole_image_on_a_cluster(client, observed, scene, case):
    method, params, tol = CASES[case]
    registered(method)
    info: dict = {}
    lazy = ud.deconvolve(observed, KERNEL, method, chunks=64, info=info, **params)
    assert isinstance(lazy, da.Array)
    assert lazy.shape == observed.shape and lazy.dtype == np.float32
    assert info["overlap"] == (18, 18) and info["chunks"] == ((64,) * 3,) * 2
    out = lazy.compute()  # on the cluster: it is the default client
    whole = unblur.deconvolve(observed, KERNEL, method, boundary=info["boundary"], **params)
    assert out.dtype == np.float32 and out.shape == observed.shape
    assert np.abs(inner(out) - inner(whole)).max() < tol
    # the seams do not cost quality: a clear gain over the blurred input
    assert psnr(inner(out), inner(scene)) > psnr(inner(observed), inner(scene)) + 1.5


def test_srgb_blocks_equal_the_whole_image_in_linear_light(observed):
    """``encoding="srgb"``, given or followed from an estimate's ``psf_info``: every block is
    restored in linear light, the curve being per pixel, so the blocks give the whole-image
    result away from the border (to the block seams' 4e-4 magnified by the curve's slope,
    measured 2.6e-3), and not the encoded values' restoration."""
    y = np.round(np.clip(observed, 0, 1) * 255).astype(np.uint8)
    params = {"chunks": 64, "balance": 1e-3}
    info: dict = {}
    given = ud.deconvolve(y, KERNEL, "wiener", encoding="srgb", info=info, **params).compute()
    whole = unblur.deconvolve(y, KERNEL, "wiener", boundary=info["boundary"], encoding="srgb",
                              balance=1e-3)  # fmt: skip
    assert np.abs(inner(given) - inner(whole)).max() < 5e-3
    assert info["encoding"] == "srgb"
    estimate = {"confidence": "high", "encoding": "srgb"}
    followed: dict = {}
    out = ud.deconvolve(y, KERNEL, "wiener", psf_info=estimate, info=followed, **params)
    np.testing.assert_array_equal(out.compute(), given)
    assert followed["encoding"] == "srgb"
    encoded = ud.deconvolve(y, KERNEL, "wiener", **params).compute()
    assert np.abs(inner(encoded) - inner(given)).max() > 0.05
    with pytest.raises(InvalidParameterError, match="unknown encoding 'gamma'"):
        ud.deconvolve(y, KERNEL, "wiener", encoding="gamma", **params)


def test_automatic_parameters_are_chosen_once_for_all_blocks(client, observed):
    registered("tikhonov")
    info: dict = {}
    fixed = ud.deconvolve(observed, KERNEL, "tikhonov", chunks=64, info=info).compute()
    lam = info["parameters"]["lam"]
    assert 1e-6 < lam < 1
    whole = unblur.deconvolve(observed, KERNEL, "tikhonov", lam=lam)
    err_fixed = np.abs(inner(fixed) - inner(whole)).max()
    assert err_fixed < 3e-3  # the GCV weight is small (about 2e-4): a long restoring kernel
    # choosing lam per block instead makes neighbouring blocks disagree
    free = ud.deconvolve(observed, KERNEL, "tikhonov", chunks=64, fix_parameters=False)
    err_free = np.abs(inner(free.compute()) - inner(whole)).max()
    assert err_free > 10 * err_fixed


def test_richardson_lucy_uses_unknown_boundaries_per_block(client, observed):
    registered("richardson_lucy")
    info: dict = {}
    ud.deconvolve(observed, KERNEL, "richardson_lucy", num_iter=5, chunks=96, info=info)
    assert info["boundary"] is None  # the method's own default: "unknown"
    # a periodic-default method is solved with reflect in blocks
    ud.deconvolve(observed, KERNEL, "inverse", epsilon=1e-2, chunks=96, info=info)
    assert info["boundary"] == "reflect"


def test_3d_stack(client):
    from scipy import ndimage

    registered("richardson_lucy")
    rng = np.random.default_rng(5)
    vol = ndimage.gaussian_filter(rng.random((24, 48, 48)), 1.5)
    vol = ((vol - vol.min()) / np.ptp(vol)).astype(np.float32)
    k = psf.gaussian((1.0, 1.2, 1.2))  # 9 x 11 x 11
    y = unblur.blur(vol, k, boundary="reflect")
    params = dict(num_iter=10, acceleration=False, regularization=0.0)
    info: dict = {}
    out = ud.deconvolve(y, k, "richardson_lucy", chunks=(12, 24, 24), info=info, **params)
    assert info["overlap"] == (12, 15, 15)
    out = out.compute()
    whole = unblur.deconvolve(y, k, "richardson_lucy", **params)
    assert out.shape == vol.shape and out.dtype == np.float32
    core = (slice(6, -6), slice(12, -12), slice(12, -12))
    assert np.abs(out[core] - whole[core]).max() < 1e-3
    assert np.mean((out[core] - vol[core]) ** 2) < 0.7 * np.mean((y[core] - vol[core]) ** 2)


def test_colour_channels_are_never_chunked(client, astronaut):
    registered("wiener")
    rgb = unblur.blur(astronaut.astype(np.float32), KERNEL, channel_axis=-1)
    lazy = ud.deconvolve(rgb, KERNEL, "wiener", balance=1e-3, chunks=32, channel_axis=-1)
    assert lazy.chunks[-1] == (3,)
    out = lazy.compute()
    whole = unblur.deconvolve(rgb, KERNEL, "wiener", balance=1e-3, channel_axis=-1)
    assert out.shape == rgb.shape and out.dtype == np.float32
    assert np.abs(out[20:-20, 20:-20] - whole[20:-20, 20:-20]).max() < 1e-3
    # channel axis first works the same way
    first = ud.deconvolve(np.moveaxis(rgb, -1, 0), KERNEL, "wiener", balance=1e-3, chunks=32,
                          channel_axis=0)  # fmt: skip
    assert first.chunks[0] == (3,)
    np.testing.assert_allclose(np.moveaxis(first.compute(), 0, -1), out, atol=1e-6)


# --------------------------------------------------------------------------------------------
# dtypes, inputs, defaults
# --------------------------------------------------------------------------------------------
def test_numpy_input_dtypes_and_no_mutation(observed):
    y64 = observed.astype(np.float64)
    before = y64.copy()
    out64 = ud.deconvolve(y64, KERNEL, "inverse", epsilon=1e-2, chunks=96)
    assert out64.dtype == np.float64 and out64.compute(scheduler="sync").dtype == np.float64
    np.testing.assert_array_equal(y64, before)
    # integers are scaled to [0, 1] per block, consistently, and give float32
    y8 = np.round(np.clip(observed, 0, 1) * 255).astype(np.uint8)
    out8 = ud.deconvolve(y8, KERNEL, "inverse", epsilon=1e-2, chunks=96)
    assert out8.dtype == np.float32
    whole8 = unblur.deconvolve(y8, KERNEL, "inverse", epsilon=1e-2, boundary="reflect")
    assert np.abs(inner(out8.compute(scheduler="sync")) - inner(whole8)).max() < 1e-4


def test_dask_input_keeps_its_chunks_and_zero_images_stay_finite():
    zeros = da.zeros((128, 128), chunks=64, dtype=np.float32)
    out = ud.deconvolve(zeros, KERNEL, "inverse", epsilon=1e-3)
    assert out.chunks == ((64, 64), (64, 64))
    res = out.compute(scheduler="sync")
    assert res.dtype == np.float32 and np.all(np.isfinite(res)) and np.all(res == 0)
    if "richardson_lucy" in unblur.available_methods():
        rl = ud.deconvolve(zeros, KERNEL, "richardson_lucy", num_iter=3).compute(scheduler="sync")
        assert np.all(np.isfinite(rl))


def test_default_overlap_and_chunks():
    assert ud.default_overlap(KERNEL) == (18, 18)
    assert ud.default_overlap(psf.motion(9, angle=0)) == (1, 15)  # a 1 x 11 PSF
    assert ud.default_overlap(KERNEL, factor=2) == (12, 12)
    big = da.zeros((3000, 2500), chunks=(3000, 2500), dtype=np.float32)
    out = ud.deconvolve(big, KERNEL, "inverse", epsilon=1e-2, fix_parameters=False)
    assert max(out.chunks[0]) == 1024 and max(out.chunks[1]) == 1024
    # a last block smaller than the PSF is merged into its neighbour
    small = ud.deconvolve(np.zeros((70, 70), np.float32), KERNEL, "inverse", chunks=64)
    assert small.chunks == ((70,), (70,))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(overlap=3), InvalidParameterError, "smaller than the PSF half-width"),
        (dict(overlap=(18,)), InvalidParameterError, "one int per spatial axis"),
        (dict(chunks=0), InvalidParameterError, "chunks must be positive"),
        (dict(chunks=-5), InvalidParameterError, "chunks must be non-negative integers"),
        (dict(callback=print), InvalidParameterError, "callback is not available"),
        (dict(bogus=1), InvalidParameterError, "has no parameter 'bogus'"),
        (dict(boundary="mirror"), InvalidParameterError, "unknown boundary 'mirror'"),
        (dict(method="nope"), UnknownMethodError, "unknown method 'nope'"),
        (dict(channel_axis=5), InvalidParameterError, "channel_axis 5 is out of range"),
    ],
)
def test_invalid_parameters_fail_before_computing(kwargs, error, message):
    kwargs = {"method": "inverse", **kwargs}
    with pytest.raises(error, match=message) as err:
        ud.deconvolve(np.zeros((64, 64), np.float32), KERNEL, **kwargs)
    assert "\n" not in str(err.value)


def test_bad_images_are_refused():
    with pytest.raises(InvalidImageError, match="complex"):
        ud.deconvolve(np.zeros((32, 32), complex), KERNEL, "inverse")
    with pytest.raises(InvalidImageError, match="numeric"):
        ud.deconvolve(np.array([["a"] * 32] * 32), KERNEL, "inverse")
    with pytest.raises(unblur.InvalidPSFError, match="larger than the image"):
        ud.deconvolve(np.zeros((8, 8), np.float32), KERNEL, "inverse")


# --------------------------------------------------------------------------------------------
# progress, files
# --------------------------------------------------------------------------------------------
def test_compute_reports_progress_on_a_cluster_and_locally(client, observed):
    lazy = ud.deconvolve(observed, KERNEL, "inverse", epsilon=1e-2, chunks=64)
    seen: list = []
    out = ud.compute(lazy, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(i, 9) for i in range(1, 10)]
    with unblur_local_scheduler():
        seen_local: list = []
        local = ud.compute(lazy, progress=lambda d, t: seen_local.append((d, t)))
    assert seen_local == [(i, 9) for i in range(1, 10)]
    np.testing.assert_array_equal(out, local)


def unblur_local_scheduler():
    import dask

    return dask.config.set(scheduler="threads")


def test_tiff_pipeline_on_a_cluster(client, observed, tmp_path):
    src = tmp_path / "blurred.tif"
    tifffile.imwrite(src, observed)
    lazy_in = ud.from_file(src, chunks=64)
    assert lazy_in.chunks == ((64,) * 3,) * 2 and lazy_in.dtype == np.float32
    out = ud.deconvolve(lazy_in, KERNEL, "inverse", epsilon=1e-2)
    dst = tmp_path / "restored.tif"
    seen: list = []
    assert ud.to_file(out, dst, progress=lambda d, t: seen.append(d)) == dst
    assert seen == list(range(1, 10))
    written = tifffile.imread(dst)
    whole = unblur.deconvolve(observed, KERNEL, "inverse", epsilon=1e-2, boundary="reflect")
    assert written.dtype == np.float32 and written.shape == observed.shape
    assert np.abs(inner(written) - inner(whole)).max() < 1e-4
    assert sorted(os.listdir(tmp_path)) == ["blurred.tif", "restored.tif"]  # no temporaries


@pytest.mark.parametrize("suffix", [".npy", ".tif", ".zarr"])
def test_files_round_trip_chunk_wise(tmp_path, suffix):
    if suffix == ".zarr":
        pytest.importorskip("zarr")
    rng = np.random.default_rng(2)
    data = rng.random((20, 33, 47)).astype(np.float32)
    arr = da.from_array(data, chunks=(7, 16, 20))
    path = tmp_path / f"stack{suffix}"
    ud.to_file(arr, path)
    back = ud.from_file(path, chunks=(5, 11, 13))
    assert back.shape == data.shape and back.dtype == np.float32
    np.testing.assert_array_equal(back.compute(scheduler="sync"), data)
    # blocks really are read lazily: one block's worth of data from a slice
    np.testing.assert_array_equal(back[3:4, 10:12, 5:9].compute(), data[3:4, 10:12, 5:9])
    with pytest.raises(ImageWriteError, match="exists|never removes a folder"):
        ud.to_file(arr, path)
    if suffix == ".zarr":  # an existing folder is never replaced, even with force
        with pytest.raises(ImageWriteError, match="unblur never removes a folder"):
            ud.to_file(arr * 2, path, force=True)
        np.testing.assert_array_equal(ud.from_file(path).compute(), data)
    else:
        ud.to_file((arr * 2).rechunk((3, 33, 47)), path, force=True)  # whole trailing axes
        np.testing.assert_array_equal(ud.from_file(path).compute(), data * 2)
    assert len(os.listdir(tmp_path)) == 1


@pytest.mark.parametrize("zarr_available", [True, False])
def test_compressed_tiff_is_read_in_blocks(tmp_path, monkeypatch, zarr_available):
    if zarr_available:
        pytest.importorskip("zarr")
    else:
        import builtins

        real_import = builtins.__import__

        def no_zarr(name, *args, **kwargs):
            if name == "zarr" or name.startswith("zarr."):
                raise ImportError("no zarr")
            return real_import(name, *args, **kwargs)

        monkeypatch.setattr(builtins, "__import__", no_zarr)
    data = (np.arange(6 * 40 * 30) % 251).astype(np.uint16).reshape(6, 40, 30)
    path = tmp_path / "packed.tif"
    tifffile.imwrite(path, data, compression="zlib")
    back = ud.from_file(path, chunks=(2, 16, 16))
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back.compute(scheduler="sync"), data)
    np.testing.assert_array_equal(
        back[4:6, 3:9, 20:].compute(scheduler="sync"), data[4:6, 3:9, 20:]
    )


def test_fortran_ordered_npy_is_read_correctly(tmp_path):
    data = np.asfortranarray(np.arange(35 * 22, dtype=np.float64).reshape(35, 22))
    np.save(tmp_path / "f.npy", data)
    np.testing.assert_array_equal(ud.from_file(tmp_path / "f.npy", chunks=8).compute(), data)


def test_file_errors(tmp_path):
    with pytest.raises(ImageReadError, match="no such file"):
        ud.from_file(tmp_path / "missing.tif")
    with pytest.raises(ImageWriteError, match="writes .npy, .tif, .tiff, .zarr"):
        ud.to_file(da.zeros((4, 4)), tmp_path / "out.png")
    with pytest.raises(ImageWriteError, match="no such folder"):
        ud.to_file(da.zeros((4, 4)), tmp_path / "nope" / "out.npy")
    # a failing computation leaves no partial file behind
    bad = da.from_array(np.full((40, 40), np.nan, np.float32), chunks=20)
    lazy = ud.deconvolve(bad, KERNEL, "inverse", fix_parameters=False)
    with pytest.raises(InvalidImageError, match="NaN"):
        ud.to_file(lazy, tmp_path / "out.npy")
    assert os.listdir(tmp_path) == []


def test_work_shipped_to_workers_pickles(tmp_path, observed):
    np.save(tmp_path / "x.npy", observed)
    lazy = ud.deconvolve(ud.from_file(tmp_path / "x.npy", chunks=64), KERNEL, "inverse",
                         epsilon=1e-2)  # fmt: skip
    graph = dict(lazy.__dask_graph__())
    restored = pickle.loads(pickle.dumps(graph))
    assert len(restored) == len(graph)
    from unblur.dask.files import _RawWriter

    writer = _RawWriter(str(tmp_path / "x.npy"), 128, observed.shape, np.float32)
    assert pickle.loads(pickle.dumps(writer)).shape == observed.shape


def test_deconvolve_file_restores_a_colour_tiff_block_by_block(tmp_path, astronaut):
    rgb = unblur.blur(astronaut.astype(np.float32), KERNEL, channel_axis=-1)
    src, dst = tmp_path / "in.tif", tmp_path / "out.tif"
    tifffile.imwrite(src, rgb, photometric="rgb")
    steps: list = []
    info: dict = {}
    out = ud.deconvolve_file(
        src, dst, KERNEL, "wiener", balance=1e-3, chunks=48, channel_axis=-1, info=info,
        progress=lambda done, total: steps.append((done, total)),
    )  # fmt: skip
    assert out == dst and steps[-1] == (4, 4) and info["chunks"][-1] == (3,)
    written = tifffile.imread(dst)
    whole = unblur.deconvolve(rgb, KERNEL, "wiener", balance=1e-3, channel_axis=-1)
    assert written.shape == rgb.shape and written.dtype == np.float32
    assert np.abs(written[20:-20, 20:-20] - whole[20:-20, 20:-20]).max() < 1e-3
    with pytest.raises(ImageWriteError, match="exists; pass force=True"):
        ud.deconvolve_file(src, dst, KERNEL, "wiener", balance=1e-3, channel_axis=-1)
