"""
A shaken photograph, restored blind
===================================

``skimage.data.clock()`` is a real photograph of a wall clock taken while the camera moved
horizontally. There is no sharp original and no measured PSF: :func:`unblur.estimate_psf`
fits a straight-line motion blur (length and angle) to the image's power spectrum, then a
total-variation restoration uses it.

A fitted PSF is only a model of the real motion. With the automatic weight, set by this clean
photograph's low noise, the spectral zeros of the fitted box kernel come back as dashed streaks
along the clock's rim (their period is the kernel's length) and as echo rings; four times the
automatic weight removes them, as ``unblur demo`` does.
"""

import matplotlib.pyplot as plt
from skimage import data

import unblur

y = data.clock() / 255.0  # 300 x 400
fit = {}
k = unblur.estimate_psf(y, model="motion", info=fit)
print("fitted motion PSF:", {n: round(v, 1) for n, v in fit["parameters"].items()})

run = {}
automatic = unblur.deconvolve(y, k, "tv", num_iter=60, info=run)
lam = run["parameters"]["lam"]
stronger = unblur.deconvolve(y, k, "tv", num_iter=60, lam=4 * lam)

fig, axes = plt.subplots(
    1, 4, figsize=(16, 3.6), layout="constrained", gridspec_kw={"width_ratios": [4, 1, 4, 4]}
)
axes[0].imshow(y, cmap="gray", vmin=0, vmax=1)
axes[0].set_title("the photograph")
axes[1].imshow(k, cmap="gray", interpolation="nearest")
axes[1].set_title(f"PSF {k.shape[0]}x{k.shape[1]}")
axes[2].imshow(automatic.clip(0, 1), cmap="gray", vmin=0, vmax=1)
axes[2].set_title(f"tv, automatic weight ({lam:.2g}): streaks")
axes[3].imshow(stronger.clip(0, 1), cmap="gray", vmin=0, vmax=1)
axes[3].set_title(f"tv, 4x the weight ({4 * lam:.2g})")
for ax in axes:
    ax.set_axis_off()
plt.show()
