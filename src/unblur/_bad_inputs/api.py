"""Library calls that must raise one UnblurError."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unblur.errors import (
    ImageReadError,
    InvalidImageError,
    InvalidParameterError,
    InvalidPSFError,
    UnblurError,
    UnknownMethodError,
)

from .files import _RNG_SEED, FILES, _black_png, _truncated


@dataclass(frozen=True)
class ApiCase:
    """A call that must raise ``error``: ``call()`` runs in an empty current folder."""

    description: str
    call: Callable[[], object]
    error: type[UnblurError]


def _deconvolve(image=None, psf=None, **kwargs) -> Callable[[], object]:
    def call():
        import unblur

        x = np.random.default_rng(_RNG_SEED).random((16, 16)) if image is None else image
        k = np.ones((3, 3)) if psf is None else psf
        return unblur.deconvolve(x, k, **kwargs)

    return call


def _nan_image() -> np.ndarray:
    x = np.zeros((16, 16))
    x[4, 5] = np.nan
    return x


def _spec(text: str) -> Callable[[], object]:
    def call():
        from unblur.psf import parse_spec

        return parse_spec(text)

    return call


def _read(make: Callable[[], Path]) -> Callable[[], object]:
    def call():
        from unblur.io import read_image

        return read_image(make())

    return call


def _psf_file(make: Callable[[], Path]) -> Callable[[], object]:
    def call():
        from unblur.psf import from_file

        return from_file(make())

    return call


def _noise(**kwargs) -> Callable[[], object]:
    def call():
        import unblur

        return unblur.add_noise(np.full((8, 8), 0.5), **kwargs)

    return call


def _model(name: str, *args, **kwargs) -> Callable[[], object]:
    def call():
        from unblur import psf

        return getattr(psf, name)(*args, **kwargs)

    return call


def _read_path(path) -> Callable[[], object]:
    def call():
        from unblur.io import read_image

        return read_image(path)

    return call


def _set_workers(n) -> Callable[[], object]:
    def call():
        from unblur import fft

        old = fft.get_workers()
        try:
            fft.set_workers(n)
        finally:
            fft.set_workers(old)

    return call


def _estimate(image=None, size=15, model="free", **options) -> Callable[[], object]:
    def call():
        import unblur

        x = np.random.default_rng(_RNG_SEED).random((64, 64)) if image is None else image
        return unblur.estimate_psf(x, size, model=model, **options)

    return call


API_CASES: list[ApiCase] = [
    ApiCase("deconvolve: image with NaN", _deconvolve(image=_nan_image()), InvalidImageError),
    ApiCase(
        "deconvolve: empty image (0 x 16)", _deconvolve(image=np.zeros((0, 16))), InvalidImageError
    ),
    ApiCase(
        "deconvolve: complex image", _deconvolve(image=np.zeros((8, 8), complex)), InvalidImageError
    ),
    ApiCase(
        "deconvolve: image of strings", _deconvolve(image=np.array([["a", "b"]])), InvalidImageError
    ),
    ApiCase(
        "deconvolve: PSF larger than the image",
        _deconvolve(image=np.zeros((4, 4)), psf=np.ones((5, 5))),
        InvalidPSFError,
    ),
    ApiCase(
        "deconvolve: 3-D PSF for a 2-D image", _deconvolve(psf=np.ones((3, 3, 3))), InvalidPSFError
    ),
    ApiCase("deconvolve: PSF of zeros", _deconvolve(psf=np.zeros((3, 3))), InvalidPSFError),
    ApiCase(
        "deconvolve: PSF with negative values", _deconvolve(psf=-np.ones((3, 3))), InvalidPSFError
    ),
    ApiCase("deconvolve: PSF with NaN", _deconvolve(psf=np.full((3, 3), np.nan)), InvalidPSFError),
    ApiCase("deconvolve: unknown method", _deconvolve(method="sharpen"), UnknownMethodError),
    ApiCase(
        "deconvolve: unknown parameter",
        _deconvolve(method="wiener", num_iter=5),
        InvalidParameterError,
    ),
    ApiCase("deconvolve: unknown boundary", _deconvolve(boundary="mirror"), InvalidParameterError),
    ApiCase(
        "deconvolve: boundary='unknown' with a direct method",
        _deconvolve(method="inverse", boundary="unknown"),
        InvalidParameterError,
    ),
    ApiCase(
        "deconvolve: channel_axis out of range", _deconvolve(channel_axis=5), InvalidParameterError
    ),
    ApiCase(
        "deconvolve: num_iter=0",
        _deconvolve(method="richardson_lucy", num_iter=0),
        InvalidParameterError,
    ),
    ApiCase("parse_spec: unknown model", _spec("bokeh:radius=3"), InvalidPSFError),
    ApiCase("parse_spec: value not a number", _spec("gaussian:sigma=abc"), InvalidPSFError),
    ApiCase("parse_spec: item without '='", _spec("gaussian:sigma"), InvalidPSFError),
    ApiCase("parse_spec: unknown key", _spec("disk:radius=3,sigma=2"), InvalidPSFError),
    ApiCase("parse_spec: missing parameter", _spec("motion:angle=30"), InvalidPSFError),
    ApiCase("parse_spec: negative value", _spec("gaussian:sigma=-1"), InvalidPSFError),
    ApiCase("parse_spec: key given twice", _spec("gaussian:sigma=1,sigma=2"), InvalidPSFError),
    ApiCase("parse_spec: infinite value", _spec("disk:radius=inf"), InvalidPSFError),
    ApiCase("parse_spec: sigma=1e308", _spec("gaussian:sigma=1e308"), InvalidPSFError),
    ApiCase("parse_spec: size=inf", _spec("motion:length=5,size=inf"), InvalidPSFError),
    ApiCase("parse_spec: size=5.5", _spec("motion:length=5,size=5.5"), InvalidPSFError),
    ApiCase("parse_spec: even size", _spec("gaussian:sigma=1,size=4"), InvalidPSFError),
    ApiCase("parse_spec: oversample=0", _spec("disk:radius=3,oversample=0"), InvalidPSFError),
    ApiCase("parse_spec: PSF too large", _spec("gaussian:sigma=5000"), InvalidPSFError),
    ApiCase("parse_spec: 300-character name", _spec("p" * 300), InvalidPSFError),
    ApiCase("parse_spec: empty string", _spec(""), InvalidPSFError),
    *[ApiCase(f"read_image: {what}", _read(make), error) for what, make, error in FILES],
    ApiCase("psf.from_file: image of zeros", _psf_file(lambda: _black_png()), InvalidPSFError),
    ApiCase("psf.from_file: truncated PNG", _psf_file(_truncated("rgb.png", 0.5)), ImageReadError),
    ApiCase("estimate_psf: flat image", _estimate(image=np.full((64, 64), 0.5)), InvalidImageError),
    ApiCase(
        "estimate_psf: image smaller than 32 x 32",
        _estimate(image=np.random.default_rng(_RNG_SEED).random((16, 16))),
        InvalidImageError,
    ),
    ApiCase(
        "estimate_psf: kernel larger than half the image", _estimate(size=41), InvalidParameterError
    ),
    ApiCase("estimate_psf: absurd kernel size", _estimate(size=10**9), InvalidParameterError),
    ApiCase("estimate_psf: unknown model", _estimate(model="shake"), UnknownMethodError),
    ApiCase(
        "estimate_psf: option for a parametric model",
        _estimate(model="motion", num_iter=3),
        InvalidParameterError,
    ),
    ApiCase(
        "estimate_psf: unknown option of the free model",
        _estimate(model="free", iterations=3),
        InvalidParameterError,
    ),
    ApiCase("deconvolve: method=['tv']", _deconvolve(method=["tv"]), InvalidParameterError),
    ApiCase("deconvolve: callback=5", _deconvolve(method="tv", callback=5), InvalidParameterError),
    ApiCase(
        "deconvolve: clip='yes'",
        _deconvolve(method="richardson_lucy", clip="yes"),
        InvalidParameterError,
    ),
    ApiCase("deconvolve: channel_axis=1.5", _deconvolve(channel_axis=1.5), InvalidParameterError),
    ApiCase("deconvolve: channel_axis=True", _deconvolve(channel_axis=True), InvalidParameterError),
    ApiCase("deconvolve: ragged PSF list", _deconvolve(psf=[[1, 2], [3]]), InvalidPSFError),
    ApiCase("add_noise: poisson=1e30", _noise(poisson=1e30), InvalidParameterError),
    ApiCase("add_noise: rng='x'", _noise(rng="x"), InvalidParameterError),
    ApiCase("add_noise: rng=-1", _noise(rng=-1), InvalidParameterError),
    ApiCase("add_noise: gaussian='x'", _noise(gaussian="x"), InvalidParameterError),
    ApiCase(
        "psf.motion: angle=inf", _model("motion", 5, angle=float("inf")), InvalidParameterError
    ),
    ApiCase("psf.moffat: beta=1e308", _model("moffat", 2, beta=1e308), InvalidParameterError),
    ApiCase("psf.gaussian: ndim=0", _model("gaussian", 2, ndim=0), InvalidParameterError),
    ApiCase("parse_spec: size=30001", _spec("gaussian:sigma=1,size=30001"), InvalidPSFError),
    ApiCase("parse_spec: ndim=12", _spec("gaussian:sigma=2,ndim=12"), InvalidPSFError),
    ApiCase("parse_spec: angle=nan", _spec("gaussian:sigma=2,angle=nan"), InvalidPSFError),
    ApiCase("parse_spec: length=1e8, size=5", _spec("motion:length=1e8,size=5"), InvalidPSFError),
    ApiCase(
        "parse_spec: widefield voxel_size=0.005x0.005",
        _spec("widefield:na=1.4,wavelength=0.52,refractive_index=1.518,voxel_size=0.005x0.005"),
        InvalidPSFError,
    ),
    ApiCase("read_image: b'..' (a folder)", _read_path(b".."), ImageReadError),
    ApiCase("read_image: 3", _read_path(3), InvalidParameterError),
    ApiCase("read_image: None", _read_path(None), InvalidParameterError),
    ApiCase("read_image: a path with NUL", _read_path("a\x00b.png"), ImageReadError),
    ApiCase("fft.set_workers(0)", _set_workers(0), InvalidParameterError),
]
