r"""Chunked and distributed deconvolution of images larger than memory, with Dask.

:func:`deconvolve` restores a (lazy) Dask array block by block with any registered method:
every block is extended by an ``overlap`` of neighbouring pixels, restored on its own with
:func:`unblur.deconvolve`, and cropped back, so memory grows with the chunk size and not with
the image size, and the chunks run in parallel on threads, processes or a ``dask.distributed``
cluster. :func:`from_file` opens TIFF, ``.npy`` and Zarr files lazily; :func:`to_file` writes
a result chunk by chunk (atomically); :func:`compute` gathers it into memory. Both report
progress through a plain ``progress(done, total)`` callback.

Why the seams are invisible
---------------------------
Restoration with a PSF :math:`h` of half-width :math:`w` is not local: each output pixel
depends on the whole input, but with a weight that decays away from it. For a direct filter
:math:`\hat x = g * y` the decay is that of the restoration kernel :math:`g` (an inverse or
Wiener filter has most of its energy within a few PSF widths unless it is barely
regularised); for :math:`n` iterations of Richardson-Lucy or Landweber information travels
at most :math:`n w` pixels, but its weight falls off much faster. A block extended by
:math:`d` pixels and restored on its own therefore matches the whole-image result in its
centre up to an error that falls with :math:`d`. Each block is solved with a boundary model
(``unknown`` for methods that support it: the block is the valid part of a larger scene), so
the cut does not ring. The default overlap is three PSF half-widths on each side,
:math:`d = 3 \lceil w \rceil` (see :func:`default_overlap`); ``benchmarks/dask_memory.py`` and
``tests/test_dask.py`` measure the agreement. At the outer border of the image Dask adds no
padding: blocks there are solved with the method's boundary model like a whole-image call,
and differ from it only by that model's own border artefacts, which depend on the size of
the FFT grid (within about one overlap of the border).

Automatic parameters (a GCV weight, a noise level, ``method="auto"``) must not be chosen per
block, or neighbouring blocks would solve different problems. With ``fix_parameters=True``
:func:`deconvolve` runs the method once on a central sample block, reads the choices it
reports, and passes them to every block.

Layout: :mod:`.chunked` (:func:`deconvolve`, :func:`default_overlap`), :mod:`.tasks` (running
blocks with progress: :func:`compute`), :mod:`.readers` (:func:`from_file`), :mod:`.writers`
(:func:`to_file`) and :mod:`.files` (:func:`deconvolve_file`); every public name is importable
from ``unblur.dask``.

References
----------
M. Rocklin, "Dask: Parallel computation with blocked algorithms and task scheduling",
Proceedings of the 14th Python in Science Conference, 2015, pp. 126-132.
"""

from __future__ import annotations

from .chunked import OVERLAP_FACTOR as OVERLAP_FACTOR
from .chunked import TARGET_CHUNK_PIXELS as TARGET_CHUNK_PIXELS
from .chunked import deconvolve, default_overlap
from .files import MAX_BLOCKS as MAX_BLOCKS
from .files import deconvolve_file
from .readers import from_file
from .tasks import ProgressCallback as ProgressCallback
from .tasks import compute
from .writers import WRITE_SUFFIXES as WRITE_SUFFIXES
from .writers import to_file

__all__ = ["compute", "deconvolve", "deconvolve_file", "default_overlap", "from_file", "to_file"]
