r"""The classic deconvolution experiment and a gallery of every method, on built-in photographs.

:mod:`unblur.demo.classic`
    :func:`run_demo`: the cameraman blurred by a Gaussian and by a motion, restored by the
    inverse filter, exact without noise and useless after 8-bit rounding and 1% noise, beside
    the two best regularised methods.
:mod:`unblur.demo.gallery`
    :func:`run_gallery`: that experiment plus three noise levels, a colour photograph and a
    real motion-blurred photograph restored blind, one figure each and an index page; what
    ``unblur demo`` runs, reporting every step to a :data:`Progress` callback.

Every public name is importable from :mod:`unblur.demo` itself.

References
----------
R. C. Gonzalez, R. E. Woods, *Digital Image Processing*, 4th ed., §5.7-5.8 (inverse and Wiener
filtering), Pearson, 2018.
"""

from __future__ import annotations

from ._common import SLOW_METHOD_SECONDS, Progress, demo_params
from .classic import DEMO_FIGURE, Scenario, run_demo, scenarios, sharp_image
from .gallery import BLIND_WEIGHT, GALLERY_FIGURES, GALLERY_INDEX, run_gallery

__all__ = [
    "BLIND_WEIGHT",
    "DEMO_FIGURE",
    "GALLERY_FIGURES",
    "GALLERY_INDEX",
    "SLOW_METHOD_SECONDS",
    "Progress",
    "Scenario",
    "demo_params",
    "run_demo",
    "run_gallery",
    "scenarios",
    "sharp_image",
]
