"""Point spread function (PSF) models and PSF <-> OTF conversion.

Every model returns a non-negative float64 array that sums to one, has odd side lengths and
its centroid on the central pixel (index ``n // 2`` on each axis), sized from its parameters
unless ``size`` is given. Angles are in degrees, counter-clockwise from the image's x axis
(columns to the right, rows downwards, as an image is displayed).

Examples
--------
>>> from unblur import psf
>>> k = psf.motion(length=21, angle=30)
>>> round(float(k.sum()), 12)
1.0
>>> psf.parse_spec("gaussian:sigma=2.5").shape
(21, 21)
"""

from __future__ import annotations

from .._checks import normalize_psf as normalize
from ._core import MAX_SIZE, centroid
from .beads import from_beads, fwhm
from .field import PSFField, from_function, grid
from .files import from_array, from_file
from .microscope import MICROSCOPE_MODELS, confocal, widefield
from .models import airy, disk, gaussian, moffat, motion
from .otf import otf_to_psf, psf_to_otf
from .spec import MODELS, parse_spec

__all__ = [
    "MAX_SIZE",
    "MICROSCOPE_MODELS",
    "MODELS",
    "PSFField",
    "airy",
    "centroid",
    "confocal",
    "disk",
    "from_array",
    "from_beads",
    "from_file",
    "from_function",
    "fwhm",
    "gaussian",
    "grid",
    "moffat",
    "motion",
    "normalize",
    "otf_to_psf",
    "parse_spec",
    "psf_to_otf",
    "widefield",
]
