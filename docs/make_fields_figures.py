"""Draw ``docs/fields.png`` (a PSF field, an image before and after its blur),
``docs/fields_restored.png`` (that blur restored with the field and with its centre PSF) and
``docs/beads.png`` (a widefield PSF measured from a synthetic bead stack against the truth).

Run from anywhere with ``python docs/make_fields_figures.py``; seeded, so the figures are the
same every time.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import scipy.fft
import skimage.data

import unblur
from unblur import psf

DOCS = Path(__file__).resolve().parent


def shake(position: tuple[float, float]) -> np.ndarray:
    """Camera shake whose direction turns by 40 degrees from the top-left to the bottom-right."""
    turn = (position[0] + position[1]) / (2 * 511)
    return psf.motion(length=19, angle=10 + 40 * turn, size=21)


def field_figure() -> None:
    sharp = skimage.data.camera().astype(np.float32) / 255
    field = psf.from_function(shake, sharp.shape, grid=(3, 3))
    blurred = unblur.blur(sharp, field, boundary="reflect")

    fig, axes = plt.subplots(1, 3, figsize=(12, 4.3), layout="constrained")
    axes[0].imshow(sharp, cmap="gray", vmin=0, vmax=1)
    axes[0].set_title("sharp (cell centres marked)")
    cy, cx = field.centres()
    axes[0].plot(*np.meshgrid(cx, cy), "r+", markersize=12)
    for n, ax in zip(sharp.shape, (axes[0].axhline, axes[0].axvline), strict=True):
        for edge in np.arange(1, 3) * n / 3 - 0.5:
            ax(edge, color="r", lw=0.6, ls=":")
    # the nine PSFs, tiled in their cells' places
    k = field.psf_shape[0]
    tiles = np.ones((3 * (k + 2), 3 * (k + 2)))
    for i, j in field.cells():
        kernel = field.psfs[i, j]
        tiles[i * (k + 2) + 1 : i * (k + 2) + 1 + k, j * (k + 2) + 1 : j * (k + 2) + 1 + k] = (
            1 - kernel / kernel.max()
        )
    axes[1].imshow(tiles, cmap="gray", vmin=0, vmax=1)
    axes[1].set_title("the 3 x 3 PSF field (motion turning by 40°)")
    axes[2].imshow(blurred, cmap="gray", vmin=0, vmax=1)
    axes[2].set_title("blur(x, field): interpolated between the centres")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.savefig(DOCS / "fields.png", dpi=80)
    plt.close(fig)


def restored_figure() -> None:
    """The field's blur (valid, 1 % noise) restored with one PSF and with the field (tv)."""
    sharp = skimage.data.camera().astype(np.float32) / 255
    field = psf.from_function(shake, sharp.shape, grid=(3, 3))
    half = [k // 2 for k in field.psf_shape]
    blurred = unblur.add_noise(unblur.blur(sharp, field, boundary="valid"), gaussian=0.01, rng=0)
    seen = field.crop(half, blurred.shape)  # the field in the observation's frame
    inner = sharp[half[0] : half[0] + blurred.shape[0], half[1] : half[1] + blurred.shape[1]]
    centre = unblur.deconvolve(blurred, field.psfs[1, 1])
    with_field = unblur.deconvolve(blurred, seen)
    panels = [
        ("blurred by the field, 1 % noise", blurred),
        ("restored with the centre PSF (tv)", centre),
        ("restored with the field (tv)", with_field),
    ]
    fig, axes = plt.subplots(2, 3, figsize=(12, 8.4), layout="constrained")
    zoom = (slice(300, 490), slice(300, 490))  # bottom right: 20 degrees off the centre PSF
    for col, (title, image) in enumerate(panels):
        score = unblur.metrics.psnr(np.clip(image, 0, 1), inner)
        axes[0, col].imshow(image, cmap="gray", vmin=0, vmax=1)
        axes[0, col].set_title(f"{title}\n{score:.2f} dB")
        axes[1, col].imshow(image[zoom], cmap="gray", vmin=0, vmax=1)
        axes[1, col].set_title("bottom-right corner")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.savefig(DOCS / "fields_restored.png", dpi=72)
    plt.close(fig)


def bead_stack(truth: np.ndarray, n_beads: int, seed: int) -> np.ndarray:
    """Beads (flux 2e5-8e5 photons) on a jittered lattice, Poisson noise on 20 photons."""
    rng = np.random.default_rng(seed)
    kz, ky, _ = truth.shape
    spacing = ky + 14
    cols = math.ceil(math.sqrt(n_beads))
    rows = math.ceil(n_beads / cols)
    rate = np.full((kz + 14, rows * spacing + 16, cols * spacing + 16), 20.0)
    for b in range(n_beads):
        r, c = divmod(b, cols)
        centre = np.array([rate.shape[0] / 2, 8 + spacing * (r + 0.5), 8 + spacing * (c + 0.5)])
        centre += rng.uniform(-3, 3, size=3)
        base = np.floor(centre).astype(int)
        kernel = np.pad(truth, 2)
        spectrum = scipy.fft.fftn(kernel)
        for ax, (n, s) in enumerate(zip(kernel.shape, centre - base, strict=True)):
            ramp = np.exp(-2j * np.pi * scipy.fft.fftfreq(n) * s)
            spectrum *= ramp.reshape([-1 if a == ax else 1 for a in range(3)])
        bead = rng.uniform(2e5, 8e5) * np.maximum(scipy.fft.ifftn(spectrum).real, 0)
        start = base - np.array(bead.shape) // 2
        rate[tuple(slice(s, s + n) for s, n in zip(start, bead.shape, strict=True))] += bead
    return rng.poisson(rate).astype(np.float64)


def beads_figure() -> None:
    truth = psf.widefield(
        na=1.2,
        wavelength=0.52,
        refractive_index=1.33,
        voxel_size=(0.25, 0.1, 0.1),
        shape=(17, 31, 31),
    )
    stack = bead_stack(truth, 20, seed=0)
    info: dict = {}
    measured = psf.from_beads(stack, size=truth.shape, info=info)
    error = np.linalg.norm(measured - truth) / np.linalg.norm(truth)

    fig, axes = plt.subplots(2, 3, figsize=(12, 6.6), layout="constrained")
    zc, yc, xc = (n // 2 for n in truth.shape)
    gamma = 0.4  # show the rings and the defocus cone
    axes[0, 0].imshow(stack.max(axis=0) ** gamma, cmap="magma")
    axes[0, 0].set_title(f"bead stack, max projection ({stack.shape[0]} planes)")
    for row, (name, k) in enumerate((("measured", measured), ("truth", truth))):
        if row == 0:
            ax_xy, ax_xz = axes[0, 1], axes[0, 2]
        else:
            ax_xy, ax_xz = axes[1, 0], axes[1, 1]
        ax_xy.imshow(k[zc] ** gamma, cmap="magma")
        ax_xy.set_title(f"{name}: focal plane (x-y)")
        ax_xz.imshow(k[:, yc] ** gamma, cmap="magma", aspect=2.5)
        ax_xz.set_title(f"{name}: x-z section (dz = 2.5 dx)")
    ax = axes[1, 2]
    ax.plot(truth[zc, yc], "k-", label="truth, x")
    ax.plot(measured[zc, yc], "C1--", label="measured, x")
    ax.plot(truth[:, yc, xc], "k:", label="truth, z")
    ax.plot(measured[:, yc, xc], "C0--", label="measured, z")
    ax.set_title(
        f"{info['n_beads']} beads used; error {100 * error:.1f} %\n"
        f"FWHM z, y, x: {', '.join(f'{w:.2f}' for w in info['fwhm'])} px"
    )
    ax.legend(fontsize=8)
    for a in axes.flat[:5]:
        a.set_xticks([])
        a.set_yticks([])
    fig.savefig(DOCS / "beads.png", dpi=72)
    plt.close(fig)


if __name__ == "__main__":
    field_figure()
    restored_figure()
    beads_figure()
