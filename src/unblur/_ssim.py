r"""SSIM of one or two images against a common reference in one pass (2-D, Numba).

The structural similarity of Wang et al. (2004) averages over the image the local index

.. math::
    S(x, r) = \frac{(2\mu_x\mu_r + C_1)(2\sigma_{xr} + C_2)}
    {(\mu_x^2 + \mu_r^2 + C_1)(\sigma_x^2 + \sigma_r^2 + C_2)},

whose local statistics are Gaussian-weighted means: :math:`\mu_x = g * x`,
:math:`\sigma_x^2 = g * x^2 - \mu_x^2`, :math:`\sigma_{xr} = g * (x r) - \mu_x \mu_r`, with
:math:`g` the separable :math:`11 \times 11` window (:math:`\sigma = 1.5`, truncated at
3.5 sigma and normalised). Only pixels at least the window's half-width from the edge enter the
mean, so every window lies inside the image and no boundary rule is needed.

Computed with NumPy, each of the five filtered maps is an image-sized float64 array and the
formula ten more passes over the image; a report scores both its input and its output against
the same reference, which doubles all of it. :func:`ssim_sums` instead streams the rows once:
the products of a row (:math:`r, r^2` and, per estimate, :math:`x, x^2, x r`) are filtered
along the row into a ring of the last 11 rows, the ring is filtered down the columns for the
row it centres, and the local indices of that row are summed at once. The reference's two
statistics are shared by the estimates. Arithmetic is float64 whatever the input precision,
so the result equals scikit-image's :func:`~skimage.metrics.structural_similarity` (with the
same settings) to rounding; on request (``single``) float32 images are filtered in float32,
each row's or strip's sum still added in float64, faster and within a few 1e-6 (timed in
``benchmarks/report_overhead.py``).

References
----------
Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality assessment: from error
visibility to structural similarity", IEEE TIP 13(4), 2004, pp. 600-612.
"""

from __future__ import annotations

import numpy as np

from . import _numba

__all__ = ["AVAILABLE", "add_local_ssim", "gaussian_window", "ssim_sums", "ssim_sums_banded"]


#: whether Numba can be used (found without importing it, and not disabled)
AVAILABLE = _numba.usable()


def gaussian_window(sigma: float = 1.5, truncate: float = 3.5) -> np.ndarray:
    """The normalised 1-D Gaussian weights of :func:`scipy.ndimage.gaussian_filter` (radius
    ``int(truncate * sigma + 0.5)``), as scikit-image's SSIM uses them."""
    radius = int(truncate * sigma + 0.5)
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    w = np.exp(-0.5 * (t / sigma) ** 2)
    return w / w.sum()


def _ssim_sums(ref, a, b, two, weights, constants, out):  # pragma: no cover - compiled
    """Sums of the local SSIM over the valid rows and columns, per channel, added to ``out``
    (``(2, C)``, zeros: ``a`` then ``b``; ``b`` is skipped unless ``two``). Arrays are
    ``(C, H, W)``; ``weights`` the 11 symmetric taps of the window and ``constants`` the
    pair ``(C1, C2)``, both in the working precision, which the buffers take (the samples are
    converted as they are stored); each row's indices are added in float64.

    Each filtered value is one expression over the 11 samples, the symmetric taps paired
    (six products instead of eleven), so the loops over a row vectorise with one store per
    value rather than one per tap.
    """
    channels, height, width = ref.shape
    inner = width - 10
    estimates = 2 if two else 1
    nq = 2 + 3 * estimates
    w0 = weights[5]
    w1 = weights[4]
    w2 = weights[3]
    w3 = weights[2]
    w4 = weights[1]
    w5 = weights[0]
    c1 = constants[0]
    c2 = constants[1]
    products = np.empty((nq, width), weights.dtype)
    ring = np.empty((11, nq, inner), weights.dtype)
    column = np.empty((nq, inner), weights.dtype)
    for c in range(channels):
        for i in range(height):
            # the products of row i: r, r^2, then e, e^2, e r for each estimate e
            for j in range(width):
                products[0, j] = ref[c, i, j]
            for j in range(width):
                products[1, j] = products[0, j] * products[0, j]
            for k in range(estimates):
                e = a if k == 0 else b
                q = 2 + 3 * k
                for j in range(width):
                    products[q, j] = e[c, i, j]
                for j in range(width):
                    ev = products[q, j]
                    products[q + 1, j] = ev * ev
                    products[q + 2, j] = ev * products[0, j]
            slot = ring[i % 11]
            for q in range(nq):
                row = slot[q]
                p = products[q]
                for j in range(inner):
                    row[j] = (
                        w0 * p[j + 5]
                        + w1 * (p[j + 4] + p[j + 6])
                        + w2 * (p[j + 3] + p[j + 7])
                        + w3 * (p[j + 2] + p[j + 8])
                        + w4 * (p[j + 1] + p[j + 9])
                        + w5 * (p[j] + p[j + 10])
                    )
            if i < 10:
                continue
            # the rows i - 10 ... i are in the ring: filter down the columns for row i - 5
            for q in range(nq):
                r0 = ring[(i + 1) % 11, q]
                r1 = ring[(i + 2) % 11, q]
                r2 = ring[(i + 3) % 11, q]
                r3 = ring[(i + 4) % 11, q]
                r4 = ring[(i + 5) % 11, q]
                r5 = ring[(i + 6) % 11, q]
                r6 = ring[(i + 7) % 11, q]
                r7 = ring[(i + 8) % 11, q]
                r8 = ring[(i + 9) % 11, q]
                r9 = ring[(i + 10) % 11, q]
                r10 = ring[i % 11, q]
                col = column[q]
                for j in range(inner):
                    col[j] = (
                        w0 * r5[j]
                        + w1 * (r4[j] + r6[j])
                        + w2 * (r3[j] + r7[j])
                        + w3 * (r2[j] + r8[j])
                        + w4 * (r1[j] + r9[j])
                        + w5 * (r0[j] + r10[j])
                    )
            # the local indices of row i - 5, summed per estimate
            for k in range(estimates):
                q = 2 + 3 * k
                total = out[k, c]
                for j in range(inner):
                    mr = column[0, j]
                    vr = column[1, j] - mr * mr
                    me = column[q, j]
                    ve = column[q + 1, j] - me * me
                    cov = column[q + 2, j] - me * mr
                    num = (me * mr + me * mr + c1) * (cov + cov + c2)
                    den = (me * me + mr * mr + c1) * (ve + vr + c2)
                    total += num / den if den != 0.0 else 1.0
                out[k, c] = total


_kernel = None


def _compiled():
    """The kernel, compiled for float32 and float64 arrays of any strides, with float64
    arithmetic, and for float32 arrays with float32 arithmetic (cached on disk)."""
    global _kernel
    if _kernel is None:
        if not AVAILABLE:  # pragma: no cover
            _kernel = _ssim_sums
        else:
            import numba

            f32, f64 = numba.types.float32, numba.types.float64
            signatures = [
                (
                    numba.types.Array(dt, 3, "A", readonly=True),
                    numba.types.Array(dt, 3, "A", readonly=True),
                    numba.types.Array(dt, 3, "A", readonly=True),
                    numba.types.boolean,
                    numba.types.Array(work, 1, "C"),
                    numba.types.Array(work, 1, "C"),
                    numba.types.Array(f64, 2, "C"),
                )
                for dt, work in ((f32, f64), (f64, f64), (f32, f32))
            ]  # read-only views: writable arrays convert to them, so three variants serve all
            _kernel = numba.njit(signatures, cache=True, nogil=True)(_ssim_sums)
    return _kernel


def ssim_sums(
    reference: np.ndarray,
    estimates: list[np.ndarray],
    c1: float,
    c2: float,
    window: np.ndarray,
    single: bool = False,
) -> np.ndarray:
    """Sums of the local SSIM of each estimate against ``reference`` over the valid region.

    Parameters
    ----------
    reference : numpy.ndarray
        ``(C, H, W)``, float32 or float64 (any strides).
    estimates : list of numpy.ndarray
        One or two arrays like ``reference``, of its dtype.
    c1, c2 : float
        The stabilising constants :math:`(K_1 R)^2` and :math:`(K_2 R)^2`.
    window : numpy.ndarray
        The 11 weights of the 1-D window, symmetric (:func:`gaussian_window`); each spatial
        side at least 11.
    single : bool
        Filter and form the local indices in float32 (float32 arrays only; each row's sum is
        still added in float64): faster, within a few 1e-6 of the float64 result on images
        in [0, 1] (tested; timed in ``benchmarks/report_overhead.py``).

    Returns
    -------
    numpy.ndarray
        ``(len(estimates), C)`` float64: the sum over the valid ``(H - 2h) x (W - 2h)`` pixels
        (``h`` the window's half-width) of each channel.
    """
    if window.shape != (11,) or not np.array_equal(window, window[::-1]):
        raise ValueError("the compiled SSIM pass takes a symmetric 11-tap window")
    if single and reference.dtype != np.float32:
        raise ValueError("single-precision SSIM takes float32 arrays")
    work = np.float32 if single else np.float64
    out = np.zeros((2, reference.shape[0]))
    two = len(estimates) == 2
    a = estimates[0]
    b = estimates[1] if two else a
    weights = np.ascontiguousarray(window, work)
    _compiled()(reference, a, b, two, weights, np.array([c1, c2], work), out)
    return out[: len(estimates)]


#: output rows per strip of :func:`ssim_sums_banded`, and output columns per block of its pass
#: along the rows: every matrix product then has ``M N K`` under OpenBLAS's threshold for
#: threading (``65536 * 4``), whose spinning threads cost more than they save on products this
#: small (measured: ``benchmarks/report_overhead.py``)
_ROWS = 16
_COLUMNS = 16
_SPAN = 512
#: OpenBLAS's threshold on ``M N K`` for threading a matrix product, and the most strips of
#: :data:`_ROWS` rows the pass along the rows takes at once under it
_THREADED = 65536 * 4
_GROUP = 4


def _band(outputs: int, window: np.ndarray) -> np.ndarray:
    """``(outputs, outputs + 2h)`` matrix whose row ``i`` holds ``window`` from column ``i``:
    the valid correlation of ``outputs + 2h`` samples with ``window`` as a matrix product."""
    band = np.zeros((outputs, outputs + window.size - 1))
    for i in range(outputs):
        band[i, i : i + window.size] = window
    return band


def ssim_sums_banded(
    reference: np.ndarray,
    estimates: list[np.ndarray],
    c1: float,
    c2: float,
    window: np.ndarray,
    single: bool = False,
) -> list[np.ndarray]:
    """:func:`ssim_sums` without Numba, for 2-D planes: the filters as banded matrix products.

    The rows are taken in strips of 16 output rows (with the window's ``2h`` rows of context).
    A strip's products (:math:`r, r^2` and, per estimate, :math:`x, x^2, x r`) are stacked in
    one buffer; the pass along the rows multiplies blocks of 16 + 2h columns by the
    ``(16 + 2h) x 16`` band of the window, every map at once and for up to four strips at once
    (as many as keep each product under OpenBLAS's threshold for threading), and the pass down
    the columns multiplies the band ``(16, 16 + 2h)`` by each strip. A banded product does
    ``16 + 2h`` multiply-adds per output where a direct correlation does ``2h + 1``, but at the
    speed of the machine's BLAS, in float64: about half the time of
    :func:`scipy.ndimage.correlate1d` along both axes, to rounding the same values. Windows
    whose denominator is 0/0 (flat and equal in both images with constants that underflowed)
    count as 1, as in :func:`ssim`.

    Parameters
    ----------
    reference : numpy.ndarray
        ``(C, H, W)``, any real dtype and strides.
    estimates : list of numpy.ndarray
        Arrays like ``reference``.
    c1, c2 : float
        The stabilising constants :math:`(K_1 R)^2` and :math:`(K_2 R)^2`.
    window : numpy.ndarray
        The 1-D window (odd length, at most each spatial side).
    single : bool
        Products, filters and local indices in float32 (each strip's sum in float64): faster,
        within a few 1e-6 of the float64 result on images in [0, 1] (tested; timed in
        ``benchmarks/report_overhead.py``).

    Returns
    -------
    list of numpy.ndarray
        Per estimate, ``(C,)`` float64: the sum over the valid pixels of each channel.
    """
    out = [np.zeros(reference.shape[0]) for _ in estimates]
    for start in range(0, len(estimates), 2):  # two at a time keeps the products small
        pair = estimates[start : start + 2]
        for k, sums in enumerate(_banded_pair(reference, pair, c1, c2, window, single)):
            out[start + k] += sums
    return out


def _banded_pair(
    reference: np.ndarray,
    estimates: list[np.ndarray],
    c1: float,
    c2: float,
    window: np.ndarray,
    single: bool,
) -> list[np.ndarray]:
    """:func:`ssim_sums_banded` for one or two estimates."""
    work = np.float32 if single else np.float64
    channels, height, width = reference.shape
    context = window.size - 1
    inner = width - context
    maps = 2 + 3 * len(estimates)
    down = _band(_ROWS, window).astype(work)  # (rows, rows + context), applied on the left
    along = np.ascontiguousarray(_band(_COLUMNS, window).T, work)  # (columns + context, columns)
    # the pass along the rows takes as many strips at once as keep its products under the
    # threshold (fewer, larger products, and the context rows filtered once per group)
    group = max(
        1, min(_GROUP, (_THREADED // (_COLUMNS * (_COLUMNS + context)) // maps - context) // _ROWS)
    )
    tall = group * _ROWS
    products = np.empty(maps * (tall + context) * width, work)
    across = np.empty(maps * (tall + context) * inner, work)
    filtered = np.empty((maps, _ROWS, inner), work)
    out = [np.zeros(channels) for _ in estimates]
    with np.errstate(invalid="ignore", divide="ignore", under="ignore", over="ignore"):
        for c in range(channels):
            for top in range(0, height - context, tall):
                rows_all = min(tall, height - context - top)
                span = rows_all + context
                p = products[: maps * span * width].reshape(maps, span, width)
                a = across[: maps * span * inner].reshape(maps, span, inner)
                p[0] = reference[c, top : top + span]
                np.multiply(p[0], p[0], out=p[1])
                for k, est in enumerate(estimates):
                    q = 2 + 3 * k
                    p[q] = est[c, top : top + span]
                    np.multiply(p[q], p[q], out=p[q + 1])
                    np.multiply(p[q], p[0], out=p[q + 2])
                flat_p = p.reshape(maps * span, width)
                flat_a = a.reshape(maps * span, inner)
                for left in range(0, inner, _COLUMNS):
                    cols = min(_COLUMNS, inner - left)
                    np.matmul(
                        flat_p[:, left : left + cols + context],
                        along[: cols + context, :cols],
                        out=flat_a[:, left : left + cols],
                    )
                for first in range(0, rows_all, _ROWS):
                    rows = min(_ROWS, rows_all - first)
                    f = filtered[:, :rows]
                    strip = a[:, first : first + rows + context]
                    for left in range(0, inner, _SPAN):
                        part = slice(left, left + _SPAN)
                        np.matmul(
                            down[:rows, : rows + context], strip[:, :, part], out=f[:, :, part]
                        )
                    add_local_ssim(f, len(estimates), c1, c2, out, c)
    return out


def add_local_ssim(
    f: np.ndarray, estimates: int, c1: float, c2: float, out: list[np.ndarray], channel: int
) -> None:
    """Add the local SSIM of filtered maps ``f`` (``mu_r, E r^2``, then ``mu_x, E x^2, E x r``
    per estimate) summed over the strip to ``out[k][channel]``; overwrites ``f``."""
    mr, vr = f[0], f[1]
    mr2 = mr * mr
    vr -= mr2  # sigma_r^2
    vr += c2
    mr2 += c1
    for k in range(estimates):
        me, ve, cov = f[2 + 3 * k], f[3 + 3 * k], f[4 + 3 * k]
        num = me * mr
        cov -= num  # sigma_xr
        num *= 2.0
        num += c1
        cov *= 2.0
        cov += c2
        num *= cov  # (2 mu_x mu_r + C1)(2 sigma_xr + C2)
        np.multiply(me, me, out=me)
        ve -= me  # sigma_x^2
        ve += vr
        me += mr2
        me *= ve  # (mu_x^2 + mu_r^2 + C1)(sigma_x^2 + sigma_r^2 + C2)
        num /= me
        total = float(np.sum(num, dtype=np.float64))
        if total != total:  # a 0/0 window: it counts as 1
            total = float(np.sum(np.where(np.isnan(num), 1.0, num), dtype=np.float64))
        out[k][channel] += total
