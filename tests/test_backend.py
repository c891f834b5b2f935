"""Array backends (unblur.backend): the device dispatch, tested on the CPU.

CI has no GPU, so the code path that CuPy takes is exercised with a stand-in device,
``"cpu-test"``: its arrays (:class:`DeviceArray`) wrap NumPy arrays but behave like CuPy's
where that matters for portability. They refuse implicit conversion to NumPy (``np.asarray``,
SciPy functions), refuse to mix with host arrays in ufuncs, indexing and assignment, reject
the ufunc ``where=`` argument that CuPy lacks, and return 0-d arrays from reductions. Every
GPU-capable method must run through it and agree with the plain CPU result; any stray
``np.zeros(shape)`` or host-only helper fails loudly here as it would on a GPU.
"""

from __future__ import annotations

import json
import sys
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import scipy.fft
from click.testing import CliRunner
from numpy.lib.mixins import NDArrayOperatorsMixin

import unblur
from unblur import backend as backend_module
from unblur.backend import Backend, array_module, backend_of, get_backend, to_numpy
from unblur.errors import BackendUnavailableError, InvalidParameterError
from unblur.restore import METHODS, Method, available_methods, get_method


# --------------------------------------------------------------------------------------------
# the stand-in device
# --------------------------------------------------------------------------------------------
class HostArrayError(TypeError):
    """A host (NumPy) array met a device array: the code would fail on a GPU."""


def _unwrap(obj: Any, strict: bool = True) -> Any:
    if isinstance(obj, DeviceArray):
        return obj._a
    if isinstance(obj, np.ndarray):
        if strict:
            raise HostArrayError(f"host array of shape {obj.shape} mixed with device arrays")
        return obj
    if isinstance(obj, list | tuple):
        return type(obj)(_unwrap(o, strict) for o in obj)
    if isinstance(obj, dict):
        return {k: _unwrap(v, strict) for k, v in obj.items()}
    return obj


def _wrap(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return DeviceArray(obj)
    if isinstance(obj, np.generic):  # CuPy reductions give 0-d arrays, not scalars
        return DeviceArray(np.asarray(obj))
    if isinstance(obj, list | tuple):
        return type(obj)(_wrap(o) for o in obj)
    return obj


class DeviceArray(NDArrayOperatorsMixin):
    """A NumPy array posing as device memory (see the module docstring)."""

    __slots__ = ("_a",)

    def __init__(self, a: np.ndarray) -> None:
        self._a = a

    def __array__(self, dtype=None, copy=None):
        raise HostArrayError("implicit conversion of a device array to NumPy")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if "where" in kwargs:
            raise HostArrayError(f"{ufunc.__name__}(where=...) is not supported by CuPy")
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = _unwrap(out)
        result = getattr(ufunc, method)(*_unwrap(inputs), **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        return _wrap(func(*_unwrap(args), **_unwrap(kwargs)))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # no __array_interface__ etc.: no implicit transfers
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if callable(attr):
            return lambda *args, **kwargs: _wrap(attr(*_unwrap(args), **_unwrap(kwargs)))
        return _wrap(attr)

    def __getitem__(self, index):
        return _wrap(self._a[_unwrap(index)])

    def __setitem__(self, index, value) -> None:
        self._a[_unwrap(index)] = _unwrap(value)

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self):
        return (_wrap(row) for row in self._a)

    def __bool__(self) -> bool:
        return bool(self._a)

    def __float__(self) -> float:
        return float(self._a)

    def __int__(self) -> int:
        return int(self._a)

    def __repr__(self) -> str:
        return f"DeviceArray({self._a!r})"


class StrictNamespace:
    """A module (numpy, scipy.fft) whose functions take and give device arrays only.

    ``asarray`` / ``array`` also accept host arrays: they are the host-to-device transfer.
    """

    _TRANSFERS = frozenset({"asarray", "array", "asanyarray"})

    def __init__(self, module: ModuleType) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._module, name)
        if isinstance(attr, ModuleType):
            return StrictNamespace(attr)
        if isinstance(attr, type) or not callable(attr):
            return attr
        strict = name not in self._TRANSFERS

        def call(*args, **kwargs):
            return _wrap(attr(*_unwrap(args, strict), **_unwrap(kwargs, strict)))

        return call


def _to_device(a: np.ndarray) -> DeviceArray:
    if not isinstance(a, np.ndarray):
        raise HostArrayError(f"to_device expects a NumPy array, got {type(a).__name__}")
    return DeviceArray(np.array(a, copy=True))


def _to_host(a: DeviceArray) -> np.ndarray:
    if not isinstance(a, DeviceArray):
        raise HostArrayError(f"the method returned a {type(a).__name__}, not a device array")
    return a._a.copy()


TEST_BACKEND = Backend(
    "cpu-test",
    StrictNamespace(np),
    StrictNamespace(scipy.fft),
    DeviceArray,
    _to_device,
    _to_host,
)


@pytest.fixture
def test_device(monkeypatch):
    """Register the stand-in device ``"cpu-test"`` for one test."""
    monkeypatch.setitem(backend_module._factories, "cpu-test", lambda: TEST_BACKEND)
    return "cpu-test"


@pytest.fixture
def no_cupy(monkeypatch):
    """Make ``import cupy`` fail (as on a machine without it), whatever is installed."""
    monkeypatch.setitem(sys.modules, "cupy", None)
    monkeypatch.setitem(sys.modules, "cupyx", None)
    monkeypatch.setitem(sys.modules, "cupyx.scipy", None)
    monkeypatch.setitem(sys.modules, "cupyx.scipy.fft", None)
    monkeypatch.delitem(backend_module._loaded, "cuda", raising=False)


# --------------------------------------------------------------------------------------------
# the stand-in is strict: what would break on a GPU breaks here
# --------------------------------------------------------------------------------------------
def test_stand_in_refuses_what_cupy_refuses():
    d = _to_device(np.ones((4, 4), np.float32))
    with pytest.raises(HostArrayError):
        d + np.ones((4, 4))  # mixing with a host array
    with pytest.raises(HostArrayError):
        np.asarray(d)  # implicit transfer (also what SciPy functions do)
    with pytest.raises(HostArrayError):
        np.divide(d, d, out=d, where=d > 0)  # CuPy ufuncs have no where=
    with pytest.raises(HostArrayError):
        d[np.zeros((4, 4), bool)] = 0  # host mask
    with pytest.raises(HostArrayError):
        scipy.fft.rfftn(d)
    # what CuPy allows: ufuncs with scalars, *_like creation, reductions to 0-d, float()
    e = np.zeros_like(d) + 2.0 * d
    assert isinstance(e, DeviceArray) and float(e.sum()) == 32.0
    assert isinstance(e.max(), DeviceArray) and e.max().ndim == 0


# --------------------------------------------------------------------------------------------
# backends and errors
# --------------------------------------------------------------------------------------------
def test_cpu_backend_is_numpy_and_scipy():
    b = get_backend("cpu")
    x = np.ones(3)
    assert b.xp is np and b.fft is scipy.fft and b.is_cpu
    assert backend_of(x) is b and array_module(x) is np and to_numpy(x) is x
    assert backend_of(3.0) is b and get_backend(b) is b


def test_backend_of_device_arrays(test_device):
    b = get_backend(test_device)
    d = b.to_device(np.arange(3.0))
    assert backend_of(d) is b and array_module(d) is b.xp
    assert np.array_equal(to_numpy(d), [0, 1, 2]) and isinstance(to_numpy(d), np.ndarray)


def test_unknown_device_is_a_clear_error():
    with pytest.raises(InvalidParameterError, match=r"unknown device 'tpu'; choose one of auto"):
        get_backend("tpu")
    with pytest.raises(InvalidParameterError, match="device must be a string"):
        get_backend(0)


def test_cuda_without_cupy_says_what_to_install(no_cupy):
    msg = r"device='cuda' needs CuPy and a CUDA GPU: pip install unblur\[cuda\] \(cupy-cuda12x\)"
    with pytest.raises(BackendUnavailableError, match=msg):
        get_backend("cuda")
    x = np.random.default_rng(0).random((16, 16))
    with pytest.raises(BackendUnavailableError, match=msg):
        unblur.deconvolve(x, unblur.psf.gaussian(1.0), device="cuda")
    assert issubclass(BackendUnavailableError, unblur.UnblurError)


def test_auto_device_falls_back_to_the_cpu(no_cupy):
    x = np.random.default_rng(0).random((16, 16)).astype(np.float32)
    k = unblur.psf.gaussian(1.0)
    info = {}
    out = unblur.deconvolve(x, k, method="wiener", device="auto", info=info)
    assert info["device"] == "cpu"
    assert np.array_equal(out, unblur.deconvolve(x, k, method="wiener"))


def test_cli_device_cuda_without_cupy_is_one_line(no_cupy, tmp_path):
    from unblur.cli import cli

    rng = np.random.default_rng(0)
    src = tmp_path / "in.npy"
    np.save(src, rng.random((24, 24)).astype(np.float32))
    out = tmp_path / "out.npy"
    result = CliRunner().invoke(
        cli,
        ["deconvolve", str(src), "-o", str(out), "--psf", "gaussian:sigma=1", "--device", "cuda"],
    )
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "pip install unblur[cuda]" in lines[0], result.output
    assert not out.exists()


# --------------------------------------------------------------------------------------------
# every GPU-capable method through the stand-in device, against the CPU
# --------------------------------------------------------------------------------------------
GPU_METHODS = sorted(n for n in available_methods() if get_method(n).gpu)
#: each method's boundaries worth covering (all code paths that differ per boundary)
BOUNDARIES = {
    "inverse": ["periodic", "taper"],
    "wiener": ["taper", "reflect"],
    "tikhonov": ["taper", "periodic"],
}
#: short runs keep the test fast; the code path is the same as for long ones
FAST = {
    "richardson_lucy": {"num_iter": 4, "tol": 1e-9},
    "landweber": {"num_iter": 4, "tol": 1e-9},
    "tv": {"num_iter": 4, "tol": 1e-9},
    "hyper_laplacian": {"num_iter": 4, "tol": 1e-9},
}


def _problem(shape=(40, 36), seed=0):
    rng = np.random.default_rng(seed)
    x = np.kron(rng.random((shape[0] // 4, shape[1] // 4)), np.ones((4, 4))).astype(np.float32)
    k = unblur.psf.motion(7, angle=30)
    y = unblur.add_noise(unblur.blur(x, k, boundary="valid"), gaussian=0.01, rng=seed)
    return x, y.astype(np.float32), k


def test_the_classic_methods_run_on_a_gpu():
    expected = {"hyper_laplacian", "inverse", "landweber", "richardson_lucy", "tikhonov", "tv"}
    assert expected | {"wiener"} <= set(GPU_METHODS)


@pytest.mark.parametrize(
    ("method", "boundary"),
    [(m, b) for m in GPU_METHODS for b in BOUNDARIES.get(m, ["unknown", "taper"])],
)
def test_method_on_device_matches_cpu(test_device, method, boundary, monkeypatch):
    # a device keeps the ADMM's split state in float32 (the CPU: tv's in bfloat16)
    monkeypatch.setattr("unblur.restore._admm.SPLIT_STORAGE", "float32")
    _, y, k = _problem()
    params = dict(FAST.get(method, {}), boundary=boundary)
    if method == "inverse":
        params["epsilon"] = 1e-3
    info_cpu = {}
    cpu = unblur.deconvolve(y, k, method=method, info=info_cpu, **params)
    info_dev = {}
    dev = unblur.deconvolve(y, k, method=method, info=info_dev, device=test_device, **params)
    assert isinstance(dev, np.ndarray) and dev.dtype == np.float32 and dev.shape == y.shape
    assert info_dev["device"] == "cpu-test" and info_cpu["device"] == "cpu"
    scale = float(np.abs(cpu).max())
    np.testing.assert_allclose(dev, cpu, rtol=0, atol=1e-5 * scale)
    # automatic parameters are plain Python numbers, equal to the CPU's (up to float32
    # rounding: ``relative_change`` is a difference of nearly equal iterates)
    for key, value in info_cpu["parameters"].items():
        assert not isinstance(info_dev["parameters"][key], DeviceArray), key
        if isinstance(value, float):
            assert info_dev["parameters"][key] == pytest.approx(value, rel=1e-3), key


def test_inverse_threshold_and_float64_on_device(test_device):
    _, y, k = _problem()
    y64 = y.astype(np.float64)
    cpu = unblur.deconvolve(y64, k, method="inverse", threshold=0.05)
    dev = unblur.deconvolve(y64, k, method="inverse", threshold=0.05, device=test_device)
    assert dev.dtype == np.float64
    np.testing.assert_allclose(dev, cpu, rtol=0, atol=1e-12)


def test_tikhonov_fixed_lambda_and_wiener_balance_on_device(test_device):
    _, y, k = _problem()
    for method, params in [("tikhonov", {"lam": 1e-3}), ("wiener", {"balance": 1e-2})]:
        cpu = unblur.deconvolve(y, k, method=method, **params)
        dev = unblur.deconvolve(y, k, method=method, device=test_device, **params)
        np.testing.assert_allclose(dev, cpu, rtol=0, atol=1e-5)


def test_device_restores_the_image(test_device):
    # not only equal to the CPU: actually better than the blurred input against the truth
    x, y, k = _problem(shape=(48, 48))
    (r, c), (h, w) = [p // 2 for p in k.shape], y.shape
    truth = x[r : r + h, c : c + w]  # the part of x that the valid observation sees
    out = unblur.deconvolve(y, k, method="tv", num_iter=40, device=test_device)
    assert unblur.metrics.psnr(out, truth) > unblur.metrics.psnr(y, truth) + 2


def test_colour_and_callback_on_device(test_device):
    _, y, k = _problem()
    rgb = np.stack([y, 0.5 * y, 0.25 * y], axis=-1)
    seen: list[tuple[int, type]] = []
    out = unblur.deconvolve(
        rgb,
        k,
        method="richardson_lucy",
        channel_axis=-1,
        num_iter=3,
        device=test_device,
        callback=lambda i, est: seen.append((i, type(est))),
    )
    cpu = unblur.deconvolve(rgb, k, method="richardson_lucy", channel_axis=-1, num_iter=3)
    np.testing.assert_allclose(out, cpu, rtol=0, atol=1e-5)
    assert seen[:3] == [(1, np.ndarray), (2, np.ndarray), (3, np.ndarray)] and len(seen) == 9


def test_cpu_only_method_on_a_device_is_refused(test_device, monkeypatch):
    def host_only(image, psf, *, info=None):
        """A method that has not been ported."""
        return np.asarray(image)

    monkeypatch.setitem(METHODS, "host_only", Method("host_only", host_only, "host only"))
    _, y, k = _problem()
    with pytest.raises(InvalidParameterError, match="'host_only' runs on the CPU only"):
        unblur.deconvolve(y, k, method="host_only", device=test_device)
    assert unblur.deconvolve(y, k, method="host_only", device="cpu").shape == y.shape


# --------------------------------------------------------------------------------------------
# a real GPU, wherever there is one
# --------------------------------------------------------------------------------------------
def _cuda_or_skip() -> Backend:
    pytest.importorskip("cupy")
    try:
        return get_backend("cuda")
    except BackendUnavailableError as exc:
        pytest.skip(str(exc))


@pytest.mark.parametrize("method", GPU_METHODS)
def test_cuda_matches_cpu(method):
    _cuda_or_skip()
    _, y, k = _problem(shape=(64, 64))
    params = FAST.get(method, {})
    cpu = unblur.deconvolve(y, k, method=method, **params)
    gpu = unblur.deconvolve(y, k, method=method, device="cuda", **params)
    np.testing.assert_allclose(gpu, cpu, rtol=0, atol=1e-4 * float(np.abs(cpu).max()))


def test_cli_device_auto_without_gpu_restores_on_the_cpu(no_cupy, tmp_path):
    from unblur.cli import cli

    _, y, _ = _problem()
    src, out = tmp_path / "in.npy", tmp_path / "out.npy"
    np.save(src, y)
    args = ["deconvolve", str(src), "-o", str(out), "--psf", "motion:length=7,angle=30"]
    result = CliRunner().invoke(cli, [*args, "-m", "wiener", "--device", "auto", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["device"] == "cpu"
    expected = unblur.deconvolve(y, unblur.psf.motion(length=7, angle=30), method="wiener")
    np.testing.assert_allclose(np.load(out), expected, rtol=0, atol=1e-6)


# --------------------------------------------------------------------------------------------
# a PSF field (spatially varying blur) on the device
# --------------------------------------------------------------------------------------------
def _field_problem(shape=(40, 36), seed=0):
    rng = np.random.default_rng(seed)
    x = np.kron(rng.random((shape[0] // 4, shape[1] // 4)), np.ones((4, 4))).astype(np.float32)
    field = unblur.psf.from_function(
        lambda p: unblur.psf.motion(7, angle=10 + p[1], size=7), shape, grid=(2, 2)
    )
    y = unblur.add_noise(unblur.blur(x, field), gaussian=0.01, rng=seed)
    return y.astype(np.float32), field


@pytest.mark.parametrize(
    ("method", "boundary"),
    [(m, b) for m in GPU_METHODS for b in BOUNDARIES.get(m, ["unknown", "taper"])],
)
def test_field_on_device_matches_cpu(test_device, method, boundary, monkeypatch):
    monkeypatch.setattr("unblur.restore._admm.SPLIT_STORAGE", "float32")  # as on a device
    # the field's operator (local transforms, weights, the conjugate-gradient x step, the
    # per-cell blend of the direct methods) creates its arrays on the image's device
    y, field = _field_problem()
    params = dict(FAST.get(method, {}), boundary=boundary)
    if method == "inverse":
        params["epsilon"] = 1e-3
    cpu = unblur.deconvolve(y, field, method=method, **params)
    dev = unblur.deconvolve(y, field, method=method, device=test_device, **params)
    assert isinstance(dev, np.ndarray) and dev.dtype == np.float32 and dev.shape == y.shape
    np.testing.assert_allclose(dev, cpu, rtol=0, atol=1e-5 * float(np.abs(cpu).max()))
