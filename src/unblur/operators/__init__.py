"""The blur operator, the boundary models and the finite differences that solvers work with.

Solvers never touch FFTs: they talk to a :class:`Convolution` (``forward``, ``adjoint``,
``solve_normal``, ``least_squares``), built on a grid by a :class:`Boundary`, which also says
how the observed image sits on that grid and how the result is cropped back. Derivative priors
use :mod:`unblur.operators.differences`.

Modules
-------
:mod:`~unblur.operators.convolution`
    :class:`Convolution`: forward, adjoint and normal-equation solves, its OTF cached.
:mod:`~unblur.operators.boundary`
    :class:`Boundary` and :data:`BOUNDARIES`: periodic, reflect, taper, unknown.
:mod:`~unblur.operators.field`
    :class:`FieldConvolution`: the product convolution of a PSF field (spatially varying
    blur), and :func:`field_boundary`, the boundary models' grids for it.
:mod:`~unblur.operators.differences`
    Gradient, Hessian, their adjoints and Fourier multipliers on a periodic grid.
"""

from __future__ import annotations

from .boundary import BOUNDARIES, Boundary, _pad_reflect  # noqa: F401  (pinned tests import it)
from .convolution import Convolution
from .differences import difference_spectrum, frequencies
from .field import FieldConvolution, field_boundary

__all__ = [
    "BOUNDARIES",
    "Boundary",
    "Convolution",
    "FieldConvolution",
    "difference_spectrum",
    "field_boundary",
    "frequencies",
]
