"""
A large image block by block with Dask
======================================

:func:`unblur.dask.deconvolve` cuts an image into blocks, extends each by an overlap of its
neighbours, restores the blocks independently (in parallel, and for an image on disk without
ever holding it whole in memory) and crops them back. With an overlap of a few PSF widths and
the same parameters for every block, the result matches the restoration of the whole image in
one piece to well within the noise.
"""

import matplotlib.pyplot as plt
import numpy as np
from skimage import data, transform

import unblur
import unblur.dask
from unblur import psf
from unblur.metrics import psnr

x = transform.resize(data.astronaut().mean(axis=-1) / 255.0, (768, 768), anti_aliasing=True)
k = psf.gaussian(sigma=2.5)
y = unblur.add_noise(unblur.blur(x, k, boundary="reflect"), gaussian=0.01, rng=0)

info = {}
lazy = unblur.dask.deconvolve(y, k, "wiener", chunks=256, balance=0.005, info=info)  # lazy
print("blocks:", lazy.numblocks, "of", lazy.chunksize, "pixels; overlap", info["overlap"])
blocks = lazy.compute(scheduler="threads")
# the whole image in one piece, with the same parameters
whole = unblur.deconvolve(y, k, "wiener", boundary=info["boundary"], balance=0.005)

print(
    f"PSNR: blurred {psnr(y, x):.2f} dB, by blocks {psnr(blocks, x):.2f} dB, "
    f"whole {psnr(whole, x):.2f} dB; largest difference {np.abs(blocks - whole).max():.4f}"
)

panels = {
    "blurred": y,
    "restored by 9 blocks": blocks,
    "difference to the whole (x10)": 0.5 + 10 * (blocks - whole),
}
fig, axes = plt.subplots(1, 3, figsize=(13, 4.6), layout="constrained")
for ax, (name, image) in zip(axes, panels.items(), strict=True):
    ax.imshow(np.clip(image, 0, 1), cmap="gray", vmin=0, vmax=1)
    ax.set_title(name)
    ax.set_axis_off()
for edge in (256, 512):  # the block borders
    axes[1].axhline(edge, color="tab:orange", lw=0.6)
    axes[1].axvline(edge, color="tab:orange", lw=0.6)
plt.show()
