r"""Fused, multi-threaded element-wise passes of the sparse-prior ADMM (2-D, Numba).

One iteration of :func:`unblur.restore._admm.admm` needs, besides its transforms, three
element-wise passes; written with NumPy they cost more than the transforms (each is ten to
forty array operations over the grid). Here each pass is one loop over the grid, compiled by
Numba and run on every core:

* :func:`prior_pass` -- the :math:`z` steps of the gradient and Hessian splits with their
  (over-relaxed) scaled duals, and the divergence of the result that the next :math:`x` step
  needs, :math:`\nabla^\top p_1 + s\,\nabla^{2\top} p_2`, written over the estimate
  itself (no second grid array);
* :func:`data_pass` -- the :math:`v` step of the data split (the observed pixels pulled
  towards the data, the others free) with its dual;
* :func:`spectral_pass` -- the :math:`x` step's right-hand side and solve in Fourier (its
  denominator computed on the fly, not stored) and the spectrum of :math:`Hx`;
* :func:`lattice_change` -- the squared change of the estimate on a lattice of pixels (the
  stopping rule), which keeps the previous estimate there only.

The split state of a float32 grid is stored as bfloat16 words (:mod:`unblur.restore._bfloat16`,
half the memory and half the prior pass's traffic): each row is decoded into float32, updated
there and rounded back, by the integer operations of the NumPy codec (bit for bit).

The grid is processed in bands of rows, one per thread; a band needs the split variables of
the two rows before it (the divergence's stencil) and its own last two rows read the next
band's first rows of the estimate, so a first parallel loop computes those rows from the inputs
before any band writes (the result does not depend on the number of threads).
Every pass reads the same formulas as the NumPy path of :mod:`unblur.restore._admm`, which is
used when Numba is not installed, for other dimensions and on GPUs; the tests compare the two.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _numba

__all__ = [
    "AVAILABLE",
    "bands_for",
    "constants",
    "data_pass",
    "lattice_change",
    "prior_pass",
    "spectral_pass",
]

try:  # pragma: no cover - depends on the environment
    if _numba.disabled():
        raise ImportError("disabled by UNBLUR_NO_NUMBA")
    import numba

    AVAILABLE = True
except ImportError:  # pragma: no cover
    numba = None
    AVAILABLE = False

_SQRT2 = math.sqrt(2.0)


def _jit(func):
    if numba is None:  # pragma: no cover
        return func
    return numba.njit(cache=True, nogil=True, inline="always")(func)


def _pjit(func):
    if numba is None:  # pragma: no cover
        return func
    return numba.njit(cache=True, nogil=True, parallel=True, fastmath=False)(func)


def _prange(n):  # pragma: no cover - replaced by numba.prange when compiled
    return range(n)


if numba is not None:
    _prange = numba.prange


# Every scalar of the passes comes in the array's precision (``consts``, see
# :func:`constants`): a float64 literal would promote the float32 arithmetic and keep the
# loops from vectorising (three times slower, measured).
#: indices into ``consts``
_R, _S, _THR, _WTAU, _CA, _AM1, _SQ2, _ZERO, _ONE, _TWO, _ALPHA, _TINY = range(12)


def constants(dtype, r, s, alpha, thr, w_tau, ca, am1) -> np.ndarray:
    """The scalars of :func:`prior_pass` as an array of ``dtype``."""
    tiny = float(np.finfo(dtype).tiny)
    values = (r, s, thr, w_tau, ca, am1, math.sqrt(2.0), 0.0, 1.0, 2.0, alpha, tiny)
    return np.array(values, dtype=dtype)


@_jit
def _shrink_mag(mag, c):
    """The minimiser's magnitude of :math:`|w|^\alpha + \frac\beta2 (w - v)^2`, |v| = mag.

    ``c[_THR]`` is :math:`1/\beta` for :math:`\alpha = 1`, the threshold :math:`\tau`
    otherwise (see :func:`unblur.restore._priors.shrink_magnitude`, whose steps this repeats).
    """
    thr = c[_THR]
    if mag <= thr:
        return c[_ZERO]
    if c[_ALPHA] == c[_ONE]:
        return mag - thr
    ca, am1, w_tau = c[_CA], c[_AM1], c[_WTAU]
    w = mag - ca * mag**am1
    if w < w_tau:
        w = w_tau
    for _ in range(2):
        p = ca * w**am1
        g = w - mag + p
        gp = c[_ONE] + p * am1 / w
        w -= g / gp
        if w < w_tau:
            w = w_tau
    return w


@_jit
def _group(t0, t1, t2, c):
    """Shrinkage factor of the group (t0, t1, t2) (isotropic)."""
    mag = np.sqrt(t0 * t0 + t1 * t1 + t2 * t2)
    if mag <= c[_ZERO]:
        return c[_ZERO]
    return _shrink_mag(mag, c) / mag


@_jit
def _single(t, c):
    """Component-wise (anisotropic) shrinkage of one value."""
    z = _shrink_mag(abs(t), c)
    return z if t >= c[_ZERO] else -z


@_jit
def _rows(x, i, ext):
    """Rows ``i``, ``i + 1`` (with their first two samples repeated at the end, in ``ext``) and
    ``i + 2`` of the periodic grid: the loops then read neighbours without a wrap-around
    test, which would keep them from vectorising."""
    ny, nx = x.shape
    for r in range(3):
        row = ext[r]
        row[:nx] = x[(i + r) % ny]
        for k in range(2):
            row[nx + k] = row[k % nx]
    return ext[0], ext[1], ext[2], ext[3]


@_jit
def _p_row_tv(xr0, xr1, xr2, m, c, prow, factor):
    """Total variation (isotropic soft thresholding): ``p = 2 z - t`` of one row into
    ``prow`` (ncomp, nx), the row's ``m`` (ncomp, nx, the grid's precision) updated in place.
    Branch-free loops over contiguous rows (they vectorise)."""
    nx = prow.shape[1]
    r, two, zero, sq2, thr, tiny = c[_R], c[_TWO], c[_ZERO], c[_SQ2], c[_THR], c[_TINY]
    m0, m1, p0, p1 = m[0], m[1], prow[0], prow[1]
    for j in range(nx):
        x0 = xr0[j]
        t0 = r * (xr1[j] - x0) + m0[j]
        t1 = r * (xr0[j + 1] - x0) + m1[j]
        mag = np.sqrt(t0 * t0 + t1 * t1)
        f = max(mag - thr, zero) / max(mag, tiny)
        z0 = f * t0
        z1 = f * t1
        m0[j] = t0 - r * z0
        m1[j] = t1 - r * z1
        p0[j] = two * z0 - t0
        p1[j] = two * z1 - t1
    if m.shape[0] == 2:
        return
    # the Hessian group: its shrinkage factor first, then one component per loop (a loop
    # that writes six rows at once does not vectorise: too many possible overlaps to check)
    m2, m3, m4, p2, p3, p4 = m[2], m[3], m[4], prow[2], prow[3], prow[4]
    f = factor
    for j in range(nx):
        x0 = xr0[j]
        t2 = r * (xr2[j] - two * xr1[j] + x0) + m2[j]
        t3 = r * (sq2 * ((xr1[j + 1] - xr0[j + 1]) - (xr1[j] - x0))) + m3[j]
        t4 = r * (xr0[j + 2] - two * xr0[j + 1] + x0) + m4[j]
        mag = np.sqrt(t2 * t2 + t3 * t3 + t4 * t4)
        f[j] = max(mag - thr, zero) / max(mag, tiny)
    for j in range(nx):
        t = r * (xr2[j] - two * xr1[j] + xr0[j]) + m2[j]
        z = f[j] * t
        m2[j] = t - r * z
        p2[j] = two * z - t
    for j in range(nx):
        t = r * (sq2 * ((xr1[j + 1] - xr0[j + 1]) - (xr1[j] - xr0[j]))) + m3[j]
        z = f[j] * t
        m3[j] = t - r * z
        p3[j] = two * z - t
    for j in range(nx):
        t = r * (xr0[j + 2] - two * xr0[j + 1] + xr0[j]) + m4[j]
        z = f[j] * t
        m4[j] = t - r * z
        p4[j] = two * z - t


@_jit
def _p_row_any(xr0, xr1, xr2, mrow, c, iso, prow):
    """:func:`_p_row_tv` for any exponent and for component-wise (anisotropic) shrinkage."""
    nx = prow.shape[1]
    r, two, zero, sq2 = c[_R], c[_TWO], c[_ZERO], c[_SQ2]
    ncomp = mrow.shape[0]
    t = np.empty(5, dtype=prow.dtype)
    for j in range(nx):
        x0 = xr0[j]
        t[0] = r * (xr1[j] - x0) + mrow[0, j]
        t[1] = r * (xr0[j + 1] - x0) + mrow[1, j]
        if ncomp == 5:
            t[2] = r * (xr2[j] - two * xr1[j] + x0) + mrow[2, j]
            t[3] = r * (sq2 * ((xr1[j + 1] - xr0[j + 1]) - (xr1[j] - x0))) + mrow[3, j]
            t[4] = r * (xr0[j + 2] - two * xr0[j + 1] + x0) + mrow[4, j]
        for lo, hi in ((0, 2), (2, ncomp)):
            if lo >= hi:
                continue
            if iso:
                f = _group(t[lo], t[lo + 1], t[lo + 2] if hi - lo == 3 else zero, c)
            for k in range(lo, hi):
                z = f * t[k] if iso else _single(t[k], c)
                mrow[k, j] = t[k] - r * z
                prow[k, j] = two * z - t[k]


def _words_to_grid(src, dst):
    """bfloat16 words (``uint16``, ncomp x nx) into float32 ``dst``: the word shifted into the
    upper half (exact)."""
    for k in range(src.shape[0]):
        s, d = src[k], dst[k].view(np.uint32)
        for j in range(src.shape[1]):
            d[j] = np.uint32(s[j]) << np.uint32(16)


def _grid_to_words(src, dst):
    """float32 ``src`` (ncomp x nx) rounded to bfloat16 words in ``dst``: to nearest, ties to
    even; a NaN stays a NaN, quieted (the integer operations of
    :func:`unblur.restore._bfloat16.encode`)."""
    one, half, shift = np.uint32(1), np.uint32(0x7FFF), np.uint32(16)
    inf, mag, quiet = np.uint32(0x7F800000), np.uint32(0x7FFFFFFF), np.uint32(0x0040)
    for k in range(src.shape[0]):
        s, d = src[k].view(np.uint32), dst[k]
        for j in range(src.shape[1]):
            b = s[j]
            high = b >> shift
            w = (b + half + (high & one)) >> shift
            if (b & mag) > inf:
                w = high | quiet
            d[j] = np.uint16(w)


def _copy_rows(src, dst):
    dst[:] = src


def _load_row(src, dst):  # pragma: no cover - compiled through its overload
    """One row of the state (ncomp, nx) into ``dst`` in the grid's precision: bfloat16 words
    decoded, other dtypes copied (chosen when compiled, by ``src``'s dtype)."""


def _store_row(src, dst):  # pragma: no cover - compiled through its overload
    """One row of the state from the grid's precision into its storage ``dst``: rounded to
    bfloat16 words, or copied (chosen when compiled, by ``dst``'s dtype)."""


if numba is not None:
    from numba.extending import overload

    @overload(_load_row, jit_options={"nogil": True})
    def _load_row_typed(src, dst):
        return _words_to_grid if src.dtype == numba.types.uint16 else _copy_rows

    @overload(_store_row, jit_options={"nogil": True})
    def _store_row_typed(src, dst):
        return _grid_to_words if dst.dtype == numba.types.uint16 else _copy_rows


@_jit
def _p_row(x, src, dst, i, c, iso, soft, prow, ext, mrow):
    """Split variables of grid row ``i`` into ``prow``; the row's state read from ``src``
    and written to ``dst`` (ncomp, nx, the state's storage), computed in ``mrow`` (the
    grid's precision)."""
    xr0, xr1, xr2, factor = _rows(x, i, ext)
    _load_row(src, mrow)
    if soft:
        _p_row_tv(xr0, xr1, xr2, mrow, c, prow, factor)
    else:
        _p_row_any(xr0, xr1, xr2, mrow, c, iso, prow)
    _store_row(mrow, dst)


@_pjit
def prior_pass(x, m, c, iso, bands):
    r"""One fused prior step on a 2-D periodic grid, in place; see the module docstring.

    ``x`` the current estimate, overwritten by :math:`\nabla^\top p_1 + s\nabla^{2\top} p_2`;
    ``m`` (ncomp, ny, nx) holds :math:`t - r z`, updated in place, in ``x``'s dtype or as
    bfloat16 words (``uint16``, :mod:`unblur.restore._bfloat16`: each row is decoded,
    computed in float32 and rounded back); ``c`` the scalars
    (:func:`constants`). Row ``i`` of the split variables reads rows ``i .. i + 2`` of ``x``
    and row ``i`` of the divergence the split variables of rows ``i - 2 .. i``, so each band
    overwrites its rows of ``x`` as it goes; the last two rows of a band, which read the next
    band's first rows, are computed (with their ``m``) before any band writes.
    """
    ncomp = m.shape[0]
    ny, nx = x.shape
    nb = len(bands) - 1
    soft = iso and c[_ALPHA] == c[_ONE]
    # the split variables of the last two rows of each band and their new m, from the inputs
    # only (before any band writes x or m): the next band reads them as its first rows' past
    halo = np.empty((nb, 2, ncomp, nx), dtype=x.dtype)
    halo_m = np.empty((nb, 2, ncomp, nx), dtype=m.dtype)
    for b in _prange(nb):
        ext = np.empty((4, nx + 2), dtype=x.dtype)
        mrow = np.empty((ncomp, nx), dtype=x.dtype)
        for h in range(2):
            i = (bands[b + 1] - 2 + h) % ny
            _p_row(x, m[:, i], halo_m[b, h], i, c, iso, soft, halo[b, h], ext, mrow)
    second = ncomp == 5
    s, two, sq2 = c[_S], c[_TWO], c[_SQ2]
    for b in _prange(nb):
        start, stop = bands[b], bands[b + 1]
        ring = np.empty((3, ncomp, nx), dtype=x.dtype)  # rows i - 2, i - 1, i at (i % 3)
        ext = np.empty((4, nx + 2), dtype=x.dtype)
        mrow = np.empty((ncomp, nx), dtype=x.dtype)
        before = halo[b - 1 if b > 0 else nb - 1]
        for i in range(start, stop):
            cur = ring[i % 3]
            if i >= stop - 2:  # precomputed: rows i + 1, i + 2 may be the next band's, written
                h = i - (stop - 2)
                cur[:] = halo[b, h]
                m[:, i] = halo_m[b, h]
            else:
                mi = m[:, i]
                _p_row(x, mi, mi, i, c, iso, soft, cur, ext, mrow)
            pa = before[1] if i - 1 < start else ring[(i - 1) % 3]
            if i - 2 >= start:
                pb = ring[(i - 2) % 3]
            elif i - 1 >= start:
                pb = before[1]
            else:
                pb = before[0]
            orow = x[i]  # no longer read: rows i - 2 .. i of the split variables are done
            c0, c1, a0 = cur[0], cur[1], pa[0]
            # gradient adjoint D0^T p0 + D1^T p1; the first columns wrap around
            for j in range(min(2, nx)):
                orow[j] = (a0[j] - c0[j]) + (c1[(j - 1) % nx] - c1[j])
            for j in range(2, nx):
                orow[j] = (a0[j] - c0[j]) + (c1[j - 1] - c1[j])
            if second:
                c2, c3, c4, a2, a3, b2 = cur[2], cur[3], cur[4], pa[2], pa[3], pb[2]
                for j in range(min(2, nx)):
                    jm = (j - 1) % nx
                    jm2 = (j - 2) % nx
                    hh = b2[j] - two * a2[j] + c2[j]
                    hh += sq2 * (a3[jm] - a3[j] - c3[jm] + c3[j])
                    hh += c4[jm2] - two * c4[jm] + c4[j]
                    orow[j] += s * hh
                for j in range(2, nx):
                    hh = b2[j] - two * a2[j] + c2[j]
                    hh += sq2 * (a3[j - 1] - a3[j] - c3[j - 1] + c3[j])
                    hh += c4[j - 2] - two * c4[j - 1] + c4[j]
                    orow[j] += s * hh
    return 0


@_pjit
def lattice_change(x, lattice, origin, stride):
    """Squared change of ``x`` on a lattice since the last call, the lattice updated.

    ``lattice[a, b]`` holds ``x[origin[0] + stride * a, origin[1] + stride * b]`` of the
    previous call; the sum of the squared differences (float64) is returned and the lattice
    takes the current values.
    """
    n0, n1 = lattice.shape
    acc = np.zeros(n0)
    for a in _prange(n0):
        xr = x[origin[0] + stride * a]
        lr = lattice[a]
        total = 0.0
        for b in range(n1):
            v = xr[origin[1] + stride * b]
            d = np.float64(v) - np.float64(lr[b])
            total += d * d
            lr[b] = v
        acc[a] = total
    return acc.sum()


@_pjit
def data_pass(hx, mv, y, observed, full, y_scale, r, rho_v, off0, off1, bands):
    """The :math:`v` step in place: ``hx`` (:math:`Hx`) becomes :math:`v - u_v`, ``mv`` (the
    dual, :math:`t - r v`) is updated. ``y`` is the observation at offset ``(off0, off1)`` of
    the grid (multiplied by ``y_scale``) and ``observed`` its mask (ignored when ``full``: every
    pixel observed)."""
    nx = hx.shape[1]
    oy, ox = y.shape
    nb = len(bands) - 1
    for b in _prange(nb):
        for i in range(bands[b], bands[b + 1]):
            iy = i - off0
            for j in range(nx):
                t = r * hx[i, j] + mv[i, j]
                jx = j - off1
                if 0 <= iy < oy and 0 <= jx < ox and (full or observed[iy, jx]):
                    v = (y_scale * y[iy, jx] + rho_v * t) / (1.0 + rho_v)
                else:
                    v = t
                mv[i, j] = t - r * v
                hx[i, j] = 2.0 * v - t
    return 0


@_pjit
def spectral_pass(rhs, data, otf, sym0, sym1, dc, rho, rho_v, hx, split):
    """The :math:`x` step in Fourier, in place in ``rhs``: :math:`\\hat x = (\\rho\\,\\hat r
    + \\rho_v \\bar H \\hat d)\\,/\\,\\text{den}`; with ``split`` also :math:`\\hat{Hx} = H\\hat x`
    into ``hx``. Without the split ``data`` already holds :math:`\\bar H \\hat y` (weight 1).

    The denominator :math:`\\text{den} = \\rho\\,(S + \\tfrac{w}{\\rho}|H|^2)` is computed on
    the fly, not stored: :math:`S = g + s g^2` with :math:`g` = ``sym0[i] + sym1[j]`` (the
    per-axis symbols :math:`4\\sin^2(\\pi f)` of the forward differences, float64) and
    ``dc`` = (:math:`s`, :math:`w/\\rho`, :math:`\\rho`, tiny) in the grid's precision, the
    same operations in the same order as :func:`unblur.restore._admm._inverse_denominator`
    (so the result is the same to the bit)."""
    n0, n1 = rhs.shape
    s, w_rho, rho_f, tiny = dc[0], dc[1], dc[2], dc[3]
    one = dc[2] / dc[2]
    for i in _prange(n0):
        cast = np.empty(2, dtype=dc.dtype)  # float64 -> the grid's precision, rounded
        for j in range(n1):
            h = otf[i, j]
            g = sym0[i] + sym1[j]
            cast[0] = g
            cast[1] = g * g
            spec, sq = cast[0], cast[1]
            den = (spec + s * sq) + (h.real * h.real + h.imag * h.imag) * w_rho
            den = max(den * rho_f, tiny)
            inv = one / den
            d = data[i, j]
            if split:
                d = rho_v * (h.real * d.real + h.imag * d.imag) + 1j * (
                    rho_v * (h.real * d.imag - h.imag * d.real)
                )
            xh = (rho * rhs[i, j] + d) * inv
            rhs[i, j] = xh
            if split:
                hx[i, j] = h * xh
    return 0


def bands_for(rows: int, threads: int) -> np.ndarray:
    """Row boundaries of one band per thread (at least two rows each)."""
    count = max(1, min(threads, rows // 2))
    return np.linspace(0, rows, count + 1).round().astype(np.int64)
