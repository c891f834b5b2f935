"""
The inverse filter: exact without noise, useless with it
========================================================

The classic deconvolution experiment (Gonzalez & Woods, *Digital Image Processing*, §5.7).
A sharp photograph :math:`x` is blurred circularly by a Gaussian PSF, :math:`y = k \\circledast
x`. Without noise the inverse filter :math:`\\hat X = \\overline{H} Y / (|H|^2 + \\epsilon)`
recovers :math:`x` to rounding error: in double precision no frequency of the PSF is lost. Round
the blurred image to 8 bits and add 1 % noise, and the same filter divides the noise by the
tiny values of :math:`H`: the result drowns. A regularised method (Wiener, total variation)
trades a little sharpness for stability.
"""

import matplotlib.pyplot as plt
import numpy as np
from skimage import data

import unblur
from unblur import psf
from unblur.metrics import psnr

x = data.camera()[::2, ::2] / 255.0  # 256 x 256, float64 in [0, 1]
k = psf.gaussian(sigma=2.0)
y = unblur.blur(x, k, boundary="periodic")

# %%
# Without noise, the inverse filter is exact.
exact = unblur.deconvolve(y, k, "inverse", boundary="periodic")
print(f"no noise: blurred {psnr(y, x):.1f} dB, inverse filter {psnr(exact, x):.1f} dB")

# %%
# With 8-bit rounding and 1 % Gaussian noise it is useless; Wiener and TV hold up.
noisy = unblur.add_noise(np.round(y * 255) / 255, gaussian=0.01, rng=0)
results = {
    "blurred + noise": noisy,
    "inverse": unblur.deconvolve(noisy, k, "inverse", boundary="periodic"),
    "wiener": unblur.deconvolve(noisy, k, "wiener", boundary="periodic"),
    "tv": unblur.deconvolve(noisy, k, "tv", boundary="periodic", num_iter=50),
}
fig, axes = plt.subplots(1, 5, figsize=(15, 3.4), layout="constrained")
axes[0].imshow(exact, cmap="gray", vmin=0, vmax=1)
axes[0].set_title(f"inverse, no noise: {psnr(exact, x):.0f} dB")
for ax, (name, image) in zip(axes[1:], results.items(), strict=True):
    shown = np.clip(image, 0, 1)
    ax.imshow(shown, cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"{name}: {psnr(shown, x):.1f} dB")
for ax in axes:
    ax.set_axis_off()
plt.show()
