r"""Plug-and-play deconvolution: half-quadratic splitting with an off-the-shelf denoiser.

Plug-and-play priors (Venkatakrishnan, Bouman & Wohlberg 2013) split the MAP problem

.. math:: \hat x = \arg\min_x \tfrac12 \|M(Hx - y)\|^2 + \sigma^2 \phi(x)

as :math:`z = x` and replace the proximal step of the (never written) prior :math:`\phi` by a
Gaussian denoiser :math:`D(\cdot, \sigma_k)`: with penalty :math:`\frac{\rho_k}{2}\|x - z\|^2`
the :math:`z` step is exactly a MAP denoising at noise level
:math:`\sigma_k = \sigma/\sqrt{\rho_k}`. :math:`H` is the blur on the boundary model's grid and
:math:`M` selects the observed pixels. With ``boundary="unknown"`` the observation is the
*valid* part of a larger scene and the data term is split as well, :math:`v = Hx` (Almeida &
Figueiredo 2013), so each outer iteration is

* a :math:`z` step, :math:`z = D(x, \sigma_k)`;
* ``num_inner`` rounds of

  - an :math:`x` step, :math:`(H^\top H + \rho_k I)\,x = H^\top(v - u_v) + \rho_k z`, diagonal
    in Fourier on the grid (without the :math:`v` split, :math:`v - u_v` is the observation);
  - a :math:`v` step, diagonal in space: :math:`v = (My + Hx + u_v)/(M + 1)`, observed pixels
    pulled towards the data and the others free, so nothing wraps around the grid; then the
    scaled multiplier :math:`u_v \leftarrow u_v + Hx - v` (ADMM on the boundary split, so its
    constraint is met).

The penalty grows along the iterations (Chan, Wang & Elgendy 2017) through a geometric schedule
of the denoiser's noise level, :math:`\sigma_k = \sigma_0 (\sigma_K/\sigma_0)^{k/(K-1)}`,
:math:`\rho_k = \sigma^2/\sigma_k^2`, the half-quadratic-splitting schedule of IRCNN and DPIR
(Zhang et al. 2017, 2021). No multiplier is kept on :math:`z = x` (half-quadratic splitting, as
in DPIR). The iteration starts from the :func:`~unblur.restore.sparse.tv` estimate by default,
so a few (expensive) denoiser calls suffice.

Every computation runs on a copy of the image mapped affinely so that its 1st-99th percentile
range is [0, 1] (the scale that denoisers such as BM3D are tuned for); the result is mapped
back.

References
----------
S. V. Venkatakrishnan, C. A. Bouman, B. Wohlberg, "Plug-and-play priors for model based
reconstruction", IEEE GlobalSIP 2013, pp. 945-948.
S. H. Chan, X. Wang, O. A. Elgendy, "Plug-and-play ADMM for image restoration: fixed-point
convergence and applications", IEEE Trans. Comput. Imaging 3(1), 2017, pp. 84-98.
K. Zhang, W. Zuo, S. Gu, L. Zhang, "Learning deep CNN denoiser prior for image restoration"
(IRCNN), IEEE CVPR 2017.
K. Zhang, Y. Li, W. Zuo, L. Zhang, L. Van Gool, R. Timofte, "Plug-and-play image restoration
with deep denoiser prior" (DPIR), IEEE TPAMI 44(10), 2021.
K. Dabov, A. Foi, V. Katkovnik, K. Egiazarian, "Image denoising by sparse 3-D transform-domain
collaborative filtering" (BM3D), IEEE TIP 16(8), 2007, pp. 2080-2095.
A. Buades, B. Coll, J.-M. Morel, "A non-local algorithm for image denoising", IEEE CVPR 2005.
A. Chambolle, "An algorithm for total variation minimization and applications", J. Math.
Imaging Vis. 20, 2004, pp. 89-97.
S. G. Chang, B. Yu, M. Vetterli, "Adaptive wavelet thresholding for image denoising and
compression" (BayesShrink), IEEE TIP 9(9), 2000, pp. 1532-1546.
M. S. C. Almeida, M. A. T. Figueiredo, "Deconvolving images with unknown boundaries using the
alternating direction method of multipliers", IEEE TIP 22(8), 2013, pp. 3074-3086.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable

import numpy as np

from .._checks import check_int, check_number
from ..errors import InvalidParameterError
from ..noise import estimate_noise
from . import get_method, register
from ._admm import CG_STEPS
from ._common import MODEL_ERROR, boundary_for, percentile_range
from ._loop import IterationLoop

__all__ = ["DENOISERS", "available_denoisers", "pnp"]

#: A denoiser: ``denoiser(x, sigma) -> x`` for a float image scaled to about [0, 1].
Denoiser = Callable[[np.ndarray, float], np.ndarray]

#: Default final denoiser level relative to the noise level, and first level relative to the
#: final one when starting from a variational estimate (see :func:`pnp`).
_FINAL_SCALE = 0.75
_INIT_SCALE = 1.6
#: First denoiser level (in units of the image's range) when starting from the observation.
_COLD_START_SIGMA = 0.2


# --------------------------------------------------------------------------------------------
# denoisers: f(x, sigma) -> x, float arrays scaled to about [0, 1]
# --------------------------------------------------------------------------------------------
def _slicewise(func: Denoiser, x: np.ndarray, sigma: float, name: str) -> np.ndarray:
    """A 2-D denoiser on a 2-D image, or slice by slice along the first axis of a 3-D stack."""
    if x.ndim == 2:
        return func(x, sigma)
    if x.ndim == 3:
        return np.stack([func(s, sigma) for s in x])
    raise InvalidParameterError(
        f"denoiser {name!r} takes 2-D images and 3-D stacks, got {x.ndim} dimensions; "
        "denoiser='tv' or 'wavelet' work in any dimension"
    )


def _bm3d_2d(x: np.ndarray, sigma: float) -> np.ndarray:
    import bm3d

    # at most one 8x8 block: nothing to match, use TV (bm3d 4.0 segfaults on exactly 8 x 8)
    if min(x.shape) <= 8:
        return _tv(x, sigma)
    profile = bm3d.BM3DProfile()  # the paper's settings, with a sparser search (2x faster)
    profile.step_ht = profile.step_wiener = 4
    profile.search_window_ht = profile.search_window_wiener = 25
    out = bm3d.bm3d(x.astype(np.float64), sigma_psd=sigma, profile=profile)
    return np.asarray(out, dtype=x.dtype).reshape(x.shape)


def _bm3d(x: np.ndarray, sigma: float) -> np.ndarray:
    """BM3D (Dabov et al. 2007), both stages, of the ``bm3d`` package; 3-D slice by slice."""
    return _slicewise(_bm3d_2d, x, sigma, "bm3d")


#: :func:`skimage.restoration.denoise_tv_chambolle` weight per unit noise level.
_TV_WEIGHT = 1.0


def _tv(x: np.ndarray, sigma: float) -> np.ndarray:
    r"""Chambolle's TV denoiser (scikit-image), weight :math:`\sigma`; any dimension."""
    from skimage.restoration import denoise_tv_chambolle

    return denoise_tv_chambolle(x, weight=_TV_WEIGHT * sigma).astype(x.dtype, copy=False)


def _wavelet(x: np.ndarray, sigma: float) -> np.ndarray:
    """BayesShrink soft wavelet thresholding (scikit-image with PyWavelets); any dimension."""
    from skimage.restoration import denoise_wavelet

    out = denoise_wavelet(x, sigma=sigma, mode="soft", method="BayesShrink", rescale_sigma=False)
    return out.astype(x.dtype, copy=False)


def _nl_means(x: np.ndarray, sigma: float) -> np.ndarray:
    """Non-local means (Buades et al. 2005) of scikit-image, 2-D and 3-D."""
    from skimage.restoration import denoise_nl_means

    if x.ndim not in (2, 3):
        raise InvalidParameterError(
            f"denoiser 'nl_means' takes 2-D images and 3-D stacks, got {x.ndim} dimensions; "
            "denoiser='tv' or 'wavelet' work in any dimension"
        )
    # 5x5 patches searched within 13x13 in 2-D; 3x3x3 within 5x5x5 in 3-D (the search
    # volume grows with the cube of the distance)
    size, distance = (5, 6) if x.ndim == 2 else (3, 2)
    out = denoise_nl_means(
        x, h=0.8 * sigma, sigma=sigma, fast_mode=True, patch_size=size, patch_distance=distance
    )
    return out.astype(x.dtype, copy=False)


#: Built-in denoisers, best first: name -> (function, module it needs or None).
DENOISERS: dict[str, tuple[Denoiser, str | None]] = {
    "bm3d": (_bm3d, "bm3d"),
    "nl_means": (_nl_means, None),
    "tv": (_tv, None),
    "wavelet": (_wavelet, "pywt"),
}


def available_denoisers() -> list[str]:
    """Names of the built-in denoisers whose libraries are installed, best first."""
    return [
        name
        for name, (_, module) in DENOISERS.items()
        if module is None or importlib.util.find_spec(module) is not None
    ]


def _resolve_denoiser(denoiser: str | Denoiser | None) -> tuple[Denoiser, str]:
    """The denoiser function and its name (the best available one for ``None``)."""
    available = available_denoisers()
    if denoiser is None:
        return DENOISERS[available[0]][0], available[0]
    if isinstance(denoiser, str):
        if denoiser not in available:
            why = " (its library is not installed)" if denoiser in DENOISERS else ""
            raise InvalidParameterError(
                f"unknown denoiser {denoiser!r}{why}; available: {', '.join(available)}"
            )
        return DENOISERS[denoiser][0], denoiser
    if callable(denoiser):
        return denoiser, getattr(denoiser, "__name__", type(denoiser).__name__)
    raise InvalidParameterError(
        f"denoiser must be a name ({', '.join(available)}) or a callable "
        f"denoiser(x, sigma), got {denoiser!r}"
    )


def _denoise(func: Denoiser, name: str, x: np.ndarray, sigma: float) -> np.ndarray:
    out = np.asarray(func(x, sigma))
    if out.shape != x.shape:
        raise InvalidParameterError(
            f"denoiser {name!r} returned shape {out.shape} for an input of shape {x.shape}"
        )
    return out.astype(x.dtype, copy=False)


# --------------------------------------------------------------------------------------------
# the method
# --------------------------------------------------------------------------------------------
INITS = ("tv", "hyper_laplacian", "observation")


@register("pnp", iterative=True)
def pnp(
    image: np.ndarray,
    psf: np.ndarray,
    *,
    denoiser: str | Denoiser | None = None,
    num_iter: int = 2,
    sigma: float | None = None,
    sigma_init: float | None = None,
    sigma_final: float | None = None,
    init: str = "tv",
    num_inner: int = 5,
    boundary: str = "unknown",
    callback: Callable[[int, np.ndarray], None] | None = None,
    info: dict | None = None,
) -> np.ndarray:
    r"""Plug-and-play deconvolution: a denoiser as the prior, unknown boundaries by default.

    Half-quadratic splitting of :math:`\tfrac12\|M(Hx - y)\|^2 + \sigma^2\phi(x)` with the
    denoiser in place of the prior's proximal step (Venkatakrishnan et al. 2013), the penalty
    :math:`\rho_k = \sigma^2/\sigma_k^2` increased along a geometric schedule of denoiser
    levels :math:`\sigma_k` from ``sigma_init`` to ``sigma_final`` (Chan et al. 2017; the
    IRCNN/DPIR schedule of Zhang et al. 2017, 2021) and, for ``boundary="unknown"``, the
    :math:`v = Hx` split of Almeida & Figueiredo (2013) on the observed pixels (see the module
    docstring for the steps). Each iteration costs one denoiser call and ``4 num_inner`` real
    FFTs of the grid.

    Parameters
    ----------
    image : numpy.ndarray
        Blurred float image (nD, float32 or float64).
    psf : numpy.ndarray or PSFField
        Normalised PSF with the image's number of dimensions, or a
        :class:`~unblur.psf.PSFField` built for the image's shape (a spatially varying blur,
        :mod:`unblur.operators.field`), with every boundary model. Its x steps are then
        solved by conjugate gradients.
    denoiser : str or callable, optional
        A name of :func:`available_denoisers`: ``"bm3d"`` (BM3D of Dabov et al. 2007, needs
        the ``bm3d`` package: ``pip install unblur[bm3d]``; 3-D slice by slice), ``"nl_means"``
        (non-local means, 2-D/3-D), ``"tv"`` (Chambolle's TV, any dimension), ``"wavelet"``
        (BayesShrink, any dimension; needs PyWavelets); or any callable
        ``denoiser(x, sigma) -> x`` that returns an array of ``x``'s shape. It is called on the
        image mapped so that its 1st-99th percentile range is [0, 1], ``sigma`` in those units.
        Default: the best installed, ``bm3d`` when importable, else ``nl_means`` (written to
        ``info["denoiser"]``).
    num_iter : int, optional
        Number of outer iterations (denoiser calls; BM3D costs about 1-3 s per call on a
        256 x 256 image).
    sigma : float, optional
        Noise level :math:`\sigma` of the data (image units), which sets the penalties.
        Default :math:`\sqrt{\hat\sigma^2 + (0.006\,a)^2}`, with :math:`\hat\sigma` from
        :func:`unblur.noise.estimate_noise` and :math:`a` the image's 1st-99th percentile
        range: the floor stands for the model error of real blur, as in
        :func:`~unblur.restore.sparse.tv`.
    sigma_init, sigma_final : float, optional
        First and last denoiser level (image units). Defaults: ``sigma_final`` =
        :math:`0.75\,\sigma`; ``sigma_init`` = :math:`1.6\,\sigma_{final}` after a
        variational ``init`` (a gentle refinement of it), :math:`0.2\,a` from the
        observation (then raise ``num_iter`` to 8 or more: the DPIR-style cold start).
    init : {"tv", "hyper_laplacian", "observation"}, optional
        Starting estimate: :func:`~unblur.restore.sparse.tv` or
        :func:`~unblur.restore.sparse.hyper_laplacian` with their defaults (about a second for
        a 256 x 256 image), or the observation itself (then use more iterations).
    num_inner : int, optional
        Rounds of the :math:`x`/:math:`v` steps per denoiser call (``unknown`` boundary only;
        they only cost FFTs).
    boundary : str, optional
        ``unknown`` (default), ``periodic``, ``reflect`` or ``taper`` (see
        :mod:`unblur.operators`).
    callback : callable, optional
        Called as ``callback(iteration, estimate)`` after each outer iteration (from 1), with a
        copy of the current estimate cropped to the image's shape.
    info : dict, optional
        Receives ``denoiser`` (its name), ``noise_sigma``, ``sigma_schedule`` (the denoiser
        levels, image units), ``rho_schedule``, ``init`` and ``iterations``.

    Returns
    -------
    numpy.ndarray
        Restored image, same shape and dtype as ``image``.

    Notes
    -----
    The defaults are the strongest setting measured on the real camera-shake photographs of
    Levin et al. (2009) (``benchmarks/levin.py``), so ``pnp`` with its defaults is the
    quality method; no separate preset is registered. There the blur model is only
    approximate (the kernels leave a residual well above the sensor noise and the sharp
    references are registered to sub-pixel accuracy only), which rewards a gentle refinement
    of the :func:`~unblur.restore.sparse.tv` estimate: longer schedules or higher denoiser
    levels (which help on synthetic blur) scored lower there.

    Raises
    ------
    InvalidParameterError
        For an unknown or unavailable denoiser name (the message lists the available ones), a
        denoiser that returns the wrong shape or does not support the image's dimensions,
        non-positive ``sigma``, ``sigma_init`` or ``sigma_final``, ``num_iter`` or
        ``num_inner`` below one, an unknown ``init`` or boundary.

    References
    ----------
    S. V. Venkatakrishnan, C. A. Bouman, B. Wohlberg, "Plug-and-play priors for model based
    reconstruction", IEEE GlobalSIP 2013.
    S. H. Chan, X. Wang, O. A. Elgendy, "Plug-and-play ADMM for image restoration: fixed-point
    convergence and applications", IEEE Trans. Comput. Imaging 3(1), 2017.
    K. Zhang, W. Zuo, S. Gu, L. Zhang, "Learning deep CNN denoiser prior for image
    restoration", IEEE CVPR 2017; K. Zhang et al., "Plug-and-play image restoration with deep
    denoiser prior", IEEE TPAMI 44(10), 2021.
    K. Dabov, A. Foi, V. Katkovnik, K. Egiazarian, "Image denoising by sparse 3-D
    transform-domain collaborative filtering", IEEE TIP 16(8), 2007.
    M. S. C. Almeida, M. A. T. Figueiredo, "Deconvolving images with unknown boundaries using
    the alternating direction method of multipliers", IEEE TIP 22(8), 2013.

    Examples
    --------
    >>> import numpy as np
    >>> from unblur import add_noise, blur, psf
    >>> from unblur.restore.pnp import pnp
    >>> x = np.zeros((48, 48), np.float32); x[12:36, 12:36] = 1
    >>> k = psf.gaussian(1.5)
    >>> y = add_noise(blur(x, k, boundary="periodic"), gaussian=0.01, rng=0)
    >>> x_hat = pnp(y, k, denoiser="tv", boundary="periodic")
    >>> bool(np.mean((x_hat - x) ** 2) < 0.5 * np.mean((y - x) ** 2))
    True
    """
    num_iter = check_int("num_iter", num_iter)
    if isinstance(num_inner, bool) or not isinstance(num_inner, int | np.integer) or num_inner < 1:
        raise InvalidParameterError(f"num_inner must be a positive integer, got {num_inner!r}")
    func, name = _resolve_denoiser(denoiser)
    if init not in INITS:
        raise InvalidParameterError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
    dtype = image.dtype
    bc = boundary_for(boundary, image, psf, dtype=dtype)
    op = bc.operator

    # normalised copy: 1st-99th percentile range -> [0, 1], the scale denoisers are tuned for
    low, span = percentile_range(image)
    y = ((image - low) / span).astype(dtype)
    if sigma is None:
        sigma = math.hypot(estimate_noise(image) / span, MODEL_ERROR)
    else:
        sigma = check_number("sigma", sigma) / span
    if sigma_final is None:
        sigma_final = _FINAL_SCALE * sigma
    else:
        sigma_final = check_number("sigma_final", sigma_final) / span
    if sigma_init is None:
        sigma_init = _INIT_SCALE * sigma_final if init != "observation" else _COLD_START_SIGMA
    else:
        sigma_init = check_number("sigma_init", sigma_init) / span
    if num_iter == 1:
        levels = [sigma_final]
    else:
        ratio = sigma_final / sigma_init
        levels = [sigma_init * ratio ** (k / (num_iter - 1)) for k in range(num_iter)]
    rhos = [(sigma / s) ** 2 for s in levels]

    if init == "observation":
        x = bc.extend(y).astype(dtype, copy=True)
    else:  # the registered variational method, through the registry (no private import)
        start = get_method(init).func
        x = bc.extend(start(y, psf, boundary=boundary)).astype(dtype, copy=True)

    steps = (_FourierSteps if op.diagonal else _FieldSteps)(bc, y, x)
    loop = IterationLoop(
        num_iter, callback=callback, crop=lambda a: (bc.crop(a) * span + low).astype(dtype)
    )
    for k in loop:
        level, rho = levels[k], rhos[k]
        # ---- z step: the denoiser at the level the penalty implies ----------------------------
        z = _denoise(func, name, x, level)
        # ---- x (and v) steps --------------------------------------------------------------
        x = steps.run(z, rho, num_inner)
        loop.done(x)
    loop.report(info)
    if info is not None:
        info.update(
            denoiser=name,
            noise_sigma=sigma * span,
            sigma_schedule=[s * span for s in levels],
            rho_schedule=rhos,
            init=init,
        )
        if not op.diagonal:
            info["cg_steps"] = steps.steps
    return (bc.crop(x) * span + low).astype(dtype, copy=True)


class _FourierSteps:
    r"""The :math:`x` and :math:`v` steps of :func:`pnp` for a uniform blur (exact, in Fourier).

    ``run(z, rho, rounds)`` does ``rounds`` rounds of the :math:`x` step
    :math:`(H^\top H + \rho I)\,x = H^\top(v - u_v) + \rho z` and, on a grid with
    unobserved pixels, the :math:`v` step and its multiplier; it returns :math:`x`.
    """

    def __init__(self, bc, y: np.ndarray, x: np.ndarray) -> None:
        op = bc.operator
        self.op, self.region, self.y = op, bc.region, y
        self.masked = bc.mask is not None
        self.otf, self.otf_conj = op.otf, op.otf.conj()
        if self.masked:
            self.v = op.forward(x)
            self.uv = np.zeros_like(x)
        else:
            self.data_hat = self.otf_conj * op.fft(bc.extend(y))  # H^T y in Fourier
        self.tiny = np.finfo(x.dtype).tiny

    def run(self, z: np.ndarray, rho: float, rounds: int) -> np.ndarray:
        op, otf, otf_conj, region = self.op, self.otf, self.otf_conj, self.region
        z_hat = op.fft(z)
        z_hat *= rho
        inv_denominator = (1.0 / np.maximum(op.otf_power + rho, self.tiny)).astype(op.dtype)
        for _ in range(rounds if self.masked else 1):
            # ---- x step: (H^T H + rho I) x = H^T (v - u_v) + rho z ----------------------------
            if self.masked:
                rhs_hat = otf_conj * op.fft(self.v - self.uv)
                rhs_hat += z_hat
            else:
                rhs_hat = self.data_hat + z_hat
            rhs_hat *= inv_denominator
            x = op.ifft(rhs_hat)
            # ---- v step: data on the observed pixels, free elsewhere; scaled multiplier ------
            if self.masked:
                rhs_hat *= otf
                t = op.ifft(rhs_hat)
                t += self.uv  # t = Hx + u_v
                v = t.copy()
                v[region] = (self.y + t[region]) / 2
                self.v, self.uv = v, t - v
        return x


class _FieldSteps:
    r""":class:`_FourierSteps` for a PSF field: each :math:`x` step is :data:`CG_STEPS`
    conjugate-gradient steps from the previous :math:`x`
    (:meth:`~unblur.operators.FieldConvolution.solve_normal_cg`), :math:`Hx` kept current;
    without unobserved pixels the one :math:`x` step of an outer iteration gets ``num_inner``
    times as many (the denoiser moves :math:`z` more than an inner round moves :math:`v`)."""

    def __init__(self, bc, y: np.ndarray, x: np.ndarray) -> None:
        op = bc.operator
        self.op, self.region, self.y = op, bc.region, y
        self.masked = bc.mask is not None
        self.x = x.copy()
        self.ax = op.forward(self.x)
        if self.masked:
            self.v = self.ax.copy()
            self.uv = np.zeros_like(x)
        else:
            self.data = bc.extend(y)
        self.steps = 0

    def run(self, z: np.ndarray, rho: float, rounds: int) -> np.ndarray:
        x, ax, op = self.x, self.ax, self.op
        rhs = z * rho
        if not self.masked:
            self.steps += op.solve_normal_cg(x, ax, self.data, rhs, rho, max_iter=CG_STEPS * rounds)
        for _ in range(rounds if self.masked else 0):
            self.steps += op.solve_normal_cg(x, ax, self.v - self.uv, rhs, rho, max_iter=CG_STEPS)
            t = ax + self.uv  # t = Hx + u_v
            v = t.copy()
            v[self.region] = (self.y + t[self.region]) / 2
            self.v, self.uv = v, t - v
        return x.copy()
