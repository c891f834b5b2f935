"""Sample data: a widefield-blurred 3-D stack with its PSF and its sharp original.

A synthetic specimen (cells with a bright membrane round a textured interior, curved
filaments and beads, in a 32 x 128 x 128 stack sampled at 0.2 x 0.1 x 0.1 µm) is blurred with
the widefield PSF of a 1.1 NA water objective at 520 nm (:func:`unblur.psf.widefield`, Born &
Wolf) and given Poisson and read noise (:func:`unblur.blur`, :func:`unblur.add_noise`).
Everything is made by unblur, seeded, in about half a second; nothing is downloaded. The three
layers carry the voxel size as their scale, so *Deconvolve* (PSF layer = the sample's PSF) and
*Compare* (reference = the sharp stack) work on them directly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from .. import psf as psf_models
from ..forward import add_noise, blur
from ._layers import METADATA_KEY

__all__ = ["OPTICS", "SHAPE", "VOXEL", "blurred_stack", "specimen"]

#: stack shape (z, y, x) and voxel size in µm
SHAPE = (32, 128, 128)
VOXEL = (0.2, 0.1, 0.1)
#: the widefield microscope of the sample (keywords of :func:`unblur.psf.widefield`)
OPTICS = {"na": 1.1, "wavelength": 0.52, "refractive_index": 1.33}
#: photons at the brightest voxel before blurring, and the read noise (fraction of the peak)
PHOTONS = 2000.0
READ_NOISE = 0.003


def specimen(shape: tuple[int, int, int] = SHAPE, seed: int = 0) -> np.ndarray:
    """Cells (a bright membrane round a textured interior), filaments and beads, float32 in
    [0, 1]."""
    rng = np.random.default_rng(seed)
    size = np.asarray(shape, dtype=np.float64)
    grid = np.meshgrid(*(np.arange(n, dtype=np.float64) for n in shape), indexing="ij")
    vol = np.zeros(shape, dtype=np.float64)
    for _ in range(4):  # ellipsoidal cells
        centre = rng.uniform(0.25, 0.75, 3) * size
        radii = rng.uniform((0.2, 0.12, 0.12), (0.3, 0.2, 0.2)) * size
        d = np.sqrt(sum(((g - c) / r) ** 2 for g, c, r in zip(grid, centre, radii, strict=True)))
        texture = ndimage.gaussian_filter(rng.random(shape), 1.0)
        texture = (texture - texture.min()) / np.ptp(texture)
        vol = np.maximum(vol, 0.5 * np.exp(-(((d - 1) / 0.08) ** 2)))
        vol = np.where(d < 1, np.maximum(vol, 0.15 + 0.25 * texture), vol)
    t = np.linspace(0.0, 1.0, 4 * max(shape))
    lines = np.zeros(shape, dtype=np.float64)
    for _ in range(5):  # helical filaments through the stack
        c = rng.uniform(0.2, 0.8, 3) * size
        r = rng.uniform(0.15, 0.35) * shape[1]
        turns, phase = rng.uniform(0.3, 0.9), rng.uniform(0, 2 * np.pi)
        path = np.stack(
            [
                c[0] + (t - 0.5) * 0.6 * shape[0],
                c[1] + r * np.sin(2 * np.pi * turns * t + phase),
                c[2] + r * np.cos(2 * np.pi * turns * t + phase),
            ]
        )
        idx = np.round(path).astype(int)
        keep = np.all((idx >= 0) & (idx < np.asarray(shape)[:, None]), axis=0)
        lines[tuple(idx[:, keep])] = 0.5
    beads = rng.integers((2, 4, 4), (shape[0] - 2, shape[1] - 4, shape[2] - 4), size=(24, 3))
    lines[tuple(beads.T)] = rng.uniform(0.6, 1.0, len(beads))
    lines = ndimage.gaussian_filter(lines, (0.5, 0.7, 0.7))
    vol = np.maximum(vol, lines / lines.max()) + 0.02
    return (vol / vol.max()).astype(np.float32)


def blurred_stack() -> list[tuple[np.ndarray, dict[str, Any], str]]:
    """napari sample-data hook: blurred stack, its PSF and the sharp stack, as layer data."""
    truth = specimen()
    k = psf_models.widefield(**OPTICS, voxel_size=VOXEL, shape=(17, 25, 25))
    blurred = blur(truth, k, boundary="reflect")
    noisy = add_noise(blurred, poisson=PHOTONS, gaussian=READ_NOISE, rng=0).astype(np.float32)
    units = ("µm",) * 3
    about = {"optics": OPTICS, "voxel_size": list(VOXEL), "photons": PHOTONS}
    return [
        (
            truth,
            {"name": "sharp stack", "scale": VOXEL, "units": units, "visible": False},
            "image",
        ),
        (
            k.astype(np.float32),
            {
                "name": "PSF widefield (sample)",
                "scale": VOXEL,
                "units": units,
                "colormap": "magma",
                "visible": False,
                "metadata": {METADATA_KEY: {"kind": "psf", "model": "widefield", **about}},
            },
            "image",
        ),
        (
            noisy,
            {
                "name": "blurred stack",
                "scale": VOXEL,
                "units": units,
                "metadata": {METADATA_KEY: {"kind": "sample", **about}},
            },
            "image",
        ),
    ]
