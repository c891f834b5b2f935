r"""bfloat16 storage of float32 arrays: 16-bit words, computed in float32 (NumPy).

A bfloat16 number is the upper half of a float32 (sign, the 8-bit exponent, the 7 leading
bits of the mantissa): the same range as float32 at a relative precision of
:math:`2^{-9}`. It is stored here as the 16-bit pattern in a ``uint16`` array and converted
by integer operations on the float32 bits, so the compiled passes of
:mod:`unblur.restore._kernels` (which repeat these operations) give the same words:

* **float32 -> bfloat16** (:func:`encode`) rounds to nearest, ties to even: the bits
  :math:`b` become :math:`(b + \mathtt{7fff} + \lfloor b / 2^{16} \rfloor \bmod 2) / 2^{16}`
  (integer division); a carry out of the mantissa raises the exponent, so the largest
  magnitudes round to infinity as in IEEE arithmetic. Infinities stay infinities; float32
  subnormals round like any other value (to bfloat16 subnormals or zero; nothing is flushed);
  a NaN stays a NaN of the same sign (its upper half with the quiet bit set, ``0x0040``, so
  that a payload only in the lower half does not become an infinity).
* **bfloat16 -> float32** (:func:`decode`) is exact: the word shifted into the upper half.

Used for the split state of the sparse-prior ADMM (:mod:`unblur.restore._admm`): memory
traffic and footprint halved, every operation still in float32.

References
----------
S. Wang, P. Kanwar, "BFloat16: the secret to high performance on Cloud TPUs", Google Cloud
blog, 2019 (the format). IEEE 754-2019, §4.3.1 (round to nearest, ties to even).
"""

from __future__ import annotations

import numpy as np

__all__ = ["QUIET", "decode", "encode"]

#: The quiet bit of a bfloat16 NaN (the mantissa's leading bit).
QUIET = 0x0040


def encode(values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """float32 ``values`` rounded to bfloat16 words (``uint16``), into ``out`` if given.

    Round to nearest, ties to even; see the module docstring for infinities, NaN and
    subnormals. ``values`` must be float32 (any shape and layout).
    """
    values = np.asarray(values)
    if values.dtype != np.float32:
        raise TypeError(f"bfloat16 encodes float32 arrays, not {values.dtype}")
    bits = values.view(np.uint32)
    if out is None:
        out = np.empty(values.shape, np.uint16)
    high = bits >> np.uint32(16)
    rounded = high & np.uint32(1)
    rounded += bits
    rounded += np.uint32(0x7FFF)  # NaNs of either sign may wrap: replaced below
    rounded >>= np.uint32(16)
    nan = (bits & np.uint32(0x7FFFFFFF)) > np.uint32(0x7F800000)
    np.copyto(rounded, high | np.uint32(QUIET), where=nan)
    out[...] = rounded
    return out


def decode(words: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """bfloat16 ``words`` (``uint16``) as float32 (exact), into ``out`` if given."""
    words = np.asarray(words)
    if words.dtype != np.uint16:
        raise TypeError(f"bfloat16 words are uint16, not {words.dtype}")
    if out is None:
        out = np.empty(words.shape, np.float32)
    view = out.view(np.uint32)
    view[...] = words
    view <<= np.uint32(16)
    return out
