r"""The free-form estimator's final refinement at full resolution: TV latent image, valid-pixel
kernel step.

The L0 latent image of the pyramid (:mod:`unblur.blind.pyramid`) drifts away even from the
true kernel, so the pyramid's kernel is refined with a better latent image: ``iterations``
alternations of the non-blind TV restoration (:func:`unblur.restore.sparse.tv`, unknown
boundary, automatic weight) with the current kernel, as in the TV alternation of Chan & Wong
1998 and Perrone & Favaro 2014, and the kernel step on the valid pixels with a smoothness prior
(:func:`~unblur.blind.kernel_step.valid_kernel_step`), projected with a lower threshold than
the pyramid's. A joint estimate of image and kernel has no fixed point at the truth (Levin et
al. 2009); the number of alternations is what bounds the drift. Clipped pixels (``mask``) get
zero weight in the kernel step.

References
----------
T. F. Chan, C.-K. Wong, "Total variation blind deconvolution", IEEE TIP 7(3), 1998.
D. Perrone, P. Favaro, "Total variation blind deconvolution: the devil is in the details",
IEEE CVPR 2014.
A. Levin, Y. Weiss, F. Durand, W. T. Freeman, "Understanding and evaluating blind
deconvolution algorithms", IEEE CVPR 2009.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..restore import sparse
from .kernel_step import CLIPPED_BAND, prior_boost, project, recentre, valid_kernel_step

__all__ = ["refine"]

#: TV latent iterations and stopping tolerance (the photograph tolerance of
#: :func:`~unblur.restore.sparse.tv`, not its size rule: the estimator was measured with it),
#: Tikhonov weight and conjugate-gradient steps of the valid-pixel kernel step.
_REFINE_LATENT_ITER = 50
_REFINE_LATENT_TOL = 1e-3
_REFINE_REG = 10.0
_REFINE_CG = 20


def refine(
    y: np.ndarray,
    mask: np.ndarray | None,
    k: np.ndarray,
    latent: np.ndarray | None,
    iterations: int,
    threshold: float,
    min_mass: float,
    smooth: float,
    noise: float = 0.0,
    adaptive: float = 0.0,
    join: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Full-resolution alternations of a TV latent image and the valid-pixel kernel step;
    returns the kernel and the last latent image. The kernel step's weights grow with the
    ``noise`` (see :func:`~unblur.blind.kernel_step.prior_boost`)."""
    weights = None
    if mask is not None:  # the clipped pixels and those the wrong latent near them reaches
        band = max(1, round((max(k.shape) // 2 + 1) * CLIPPED_BAND))
        weights = ~ndimage.binary_dilation(mask, iterations=band)
    x = latent
    for _ in range(iterations):
        x = sparse.tv(
            y, k, num_iter=_REFINE_LATENT_ITER, tol=_REFINE_LATENT_TOL, boundary="unknown"
        )
        boost = prior_boost(noise, k, adaptive)
        k = valid_kernel_step(x, y, k, _REFINE_REG * boost, smooth * boost, _REFINE_CG, weights)
        k = recentre(project(k, threshold, min_mass, join))
    return k, x
