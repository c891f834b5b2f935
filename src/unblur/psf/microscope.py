r"""Diffraction-limited 3-D PSFs of fluorescence microscopes: widefield and confocal.

Both models describe the image of a point source by scalar diffraction through a circular
pupil of numerical aperture :math:`\mathrm{NA}` (vacuum wavenumber :math:`k = 2\pi/\lambda`),
as a function of the lateral distance :math:`r` from the optical axis and the axial position
:math:`z` of the focal plane:

.. math:: h(r, z) = \left|\int_0^{\rho_{\max}} J_0(k\,\mathrm{NA}\,r\rho)\,
          e^{\,i k W(\rho, z)}\,\rho\, d\rho\right|^2 .

``born_wolf``
    Perfect imaging in a homogeneous medium of index :math:`n` with the paraxial defocus
    aberration :math:`W = -z\,\mathrm{NA}^2\rho^2 / (2n)` (Born & Wolf, §8.8): the in-focus
    plane is the Airy pattern, :math:`(2J_1(v)/v)^2` with :math:`v = k\,\mathrm{NA}\,r`, whose
    first zero lies at :math:`0.61\,\lambda/\mathrm{NA}`; on the axis
    :math:`h(0, z) = \operatorname{sinc}^2(u/4)` with :math:`u = k\,\mathrm{NA}^2 z / n`, so the
    axial FWHM is :math:`1.772\, n\lambda/\mathrm{NA}^2` and the first axial zero lies at
    :math:`2n\lambda/\mathrm{NA}^2`.
``gibson_lanni``
    Gibson & Lanni's model of a real objective used off its design conditions: the wave
    crosses the sample (index :math:`n_s`, the point at depth :math:`z_p` below the coverslip),
    the coverslip (:math:`n_g`, thickness :math:`t_g`) and the immersion layer
    (:math:`n_i`, thickness :math:`t_i = t_{i0} + z`), whose design values are
    :math:`n_{g0}, t_{g0}, n_{i0}, t_{i0}`. The phase is the optical path difference from the
    design path, with :math:`s_m(\rho) = \sqrt{m^2 - \mathrm{NA}^2\rho^2}`,

    .. math:: W(\rho, z) = z_p\, s_{n_s} + (t_{i0} + z)\, s_{n_i} - t_{i0}\, s_{n_{i0}}
              + t_g\, s_{n_g} - t_{g0}\, s_{n_{g0}} ,

    integrated up to :math:`\rho_{\max} = \min(\mathrm{NA}, n_s, n_g, n_{g0}, n_i, n_{i0})
    /\mathrm{NA}`: rays beyond the critical angle of a layer do not reach the objective in
    this scalar model (as in Li et al. 2017; the evanescent coupling of emitters within a
    wavelength of the coverslip is left out). With every index equal to :math:`n` and the
    design thicknesses, :math:`W = (z_p + z)\,s_n`: the exact (non-paraxial) defocus, which is
    the Born & Wolf phase to second order in :math:`\mathrm{NA}/n` up to a constant; its axial
    FWHM is then within about 5 % of :math:`0.88\,\lambda / (n - \sqrt{n^2 -
    \mathrm{NA}^2})`, the usual non-paraxial estimate, shorter than the paraxial one at high
    aperture. A mismatch of
    :math:`n_s` and :math:`n_i` adds spherical aberration that grows with depth :math:`z_p`:
    the PSF gets longer, asymmetric along :math:`z` and its peak moves (focal shift).

How it is computed: the integral is evaluated by Gauss-Legendre quadrature (enough nodes for
the oscillation of the Bessel function and of the phase; with a critical-angle cut, in the
variable :math:`t` of :math:`\rho = \rho_{\max}\sin t`, which removes the square-root
singularity at the cut) on a fine radial grid for every plane at once, as one matrix product;
the radial profile is then interpolated linearly to the voxel grid of one quadrant, optionally
at ``oversample`` x ``oversample`` points per pixel that are averaged (integration over the
pixel area), and mirrored. A 65 x 65 x 65 PSF takes about 0.1 s (Born & Wolf) to 0.3 s
(Gibson-Lanni with a strong mismatch, whose focal shift is searched first).

References
----------
M. Born, E. Wolf, *Principles of Optics*, 7th ed., Cambridge University Press, 1999, §8.5.2
(the Airy pattern) and §8.8 (the three-dimensional light distribution near focus).
S. F. Gibson, F. Lanni, "Experimental test of an analytical model of aberration in an
oil-immersion objective lens used in three-dimensional light microscopy", J. Opt. Soc. Am. A
8(10), 1991, pp. 1601-1613.
J. Li, F. Xue, T. Blu, "Fast and accurate three-dimensional point spread function computation
for fluorescence microscopy", J. Opt. Soc. Am. A 34(6), 2017, pp. 1029-1034.
T. Wilson, "Resolution and optical sectioning in the confocal microscope", J. Microscopy
244(2), 2011, pp. 113-121.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.special

from .._checks import check_bool, check_number
from .._checks import normalize_psf as normalize
from ..errors import InvalidParameterError
from ._core import _odd, _size_tuple, check_psf_size

__all__ = ["MICROSCOPE_MODELS", "confocal", "widefield"]

#: Names accepted by the ``model`` parameter.
MICROSCOPE_MODELS = ("born_wolf", "gibson_lanni")

#: Gibson-Lanni defaults (micrometres): a #1.5 coverslip and a typical oil objective.
_DEFAULT_NG = 1.515
_DEFAULT_TG = 170.0
_DEFAULT_TI0 = 150.0

#: Fine radial grid: this many samples per pixel (times ``oversample``) and at least this
#: many per Airy radius 0.61 λ/NA, for the linear interpolation onto the voxel grid.
_RADIAL_PER_PIXEL = 8
_RADIAL_PER_AIRY = 100
#: ... but at most this many samples of the radial profile in all (reached only for voxels of
#: many wavelengths, where 4096 samples still put dozens in each Airy radius)
_MAX_RADIAL = 4096
#: Gauss-Legendre nodes: a base plus this many per radian of oscillation of the integrand.
_NODES_BASE = 24
_NODES_PER_RADIAN = 0.6
_MAX_NODES = 2048
#: Largest sub-pixel sampling per axis.
_MAX_OVERSAMPLE = 16
#: Physical ranges: the smallest numerical aperture, the largest refractive index, and the
#: range of voxel size / wavelength (both in the same unit) a PSF can be sampled at
_MIN_NA = 1e-3
_MAX_INDEX = 10.0
_VOXEL_PER_WAVELENGTH = (1e-3, 20.0)
#: longest thickness or depth (Gibson-Lanni) in wavelengths: 1e6 is half a metre of glass
_MAX_LENGTH_PER_WAVELENGTH = 1e6


@dataclass(frozen=True)
class _Optics:
    """The optical set-up of one model: what the pupil phase :math:`W(\\rho, z)` needs."""

    model: str
    na: float
    wavelength: float
    ni: float
    ns: float
    ng: float
    ng0: float
    ni0: float
    tg: float
    tg0: float
    ti0: float
    zp: float

    @property
    def rho_max(self) -> float:
        """Upper limit of the normalised pupil radius."""
        if self.model == "born_wolf":
            return 1.0
        return min(1.0, min(self.ns, self.ng, self.ng0, self.ni, self.ni0) / self.na)

    def phase(self, rho: np.ndarray, z: np.ndarray) -> np.ndarray:
        """:math:`k\\,W(\\rho, z)` for pupil radii ``rho`` (n,) and planes ``z`` (m,): (n, m)."""
        k = 2 * math.pi / self.wavelength
        rho = rho[:, None]
        z = np.asarray(z, dtype=np.float64)[None, :]
        if self.model == "born_wolf":
            return -k * z * (self.na**2 * rho**2) / (2 * self.ni)
        s2 = (self.na * rho) ** 2

        def s(m: float) -> np.ndarray:
            return np.sqrt(np.maximum(m * m - s2, 0.0))

        constant = self.zp * s(self.ns) + self.ti0 * (s(self.ni) - s(self.ni0))
        constant = constant + self.tg * s(self.ng) - self.tg0 * s(self.ng0)
        # subtract the on-axis value so the phase stays small (a global phase is irrelevant)
        on_axis = self.zp * self.ns + self.ti0 * (self.ni - self.ni0)
        on_axis = on_axis + self.tg * self.ng - self.tg0 * self.ng0
        return k * ((constant - on_axis) + z * (s(self.ni) - self.ni))

    def phase_range(self, z_max: float) -> float:
        """Largest variation over the pupil of :math:`kW` for :math:`|z| \\le` ``z_max``."""
        rho = np.linspace(0.0, self.rho_max, 65)
        w = self.phase(rho, np.array([-z_max, 0.0, z_max]))
        return float(np.max(w.max(axis=0) - w.min(axis=0)))


@functools.lru_cache(maxsize=32)
def _legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [-1, 1] (cached: costly for large ``n``)."""
    x, w = scipy.special.roots_legendre(n)
    x.flags.writeable = False
    w.flags.writeable = False
    return x, w


def _quadrature(optics: _Optics, r_max: float, z_max: float) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature nodes and weights on [0, rho_max], enough for the integrand's wiggles."""
    k = 2 * math.pi / optics.wavelength
    radians = k * optics.na * r_max * optics.rho_max + optics.phase_range(z_max)
    n = min(_MAX_NODES, int(_NODES_BASE + _NODES_PER_RADIAN * radians))
    n = 32 * math.ceil(n / 32)  # fewer distinct sizes for the cache
    x, w = _legendre(n)
    if optics.rho_max >= 1.0:
        return (x + 1) / 2, w / 2
    # The pupil is cut at a critical angle, where sqrt(m² - NA²ρ²) has an infinite slope:
    # with ρ = ρ_max sin t the integrand is smooth in t on [0, π/2] and the quadrature
    # converges fast again.
    t = (x + 1) * (math.pi / 4)
    return optics.rho_max * np.sin(t), optics.rho_max * np.cos(t) * w * (math.pi / 4)


def _profile(optics: _Optics, r: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Intensity :math:`h(r, z)` (unnormalised) for radii ``r`` (n,) and planes ``z`` (m,)."""
    k = 2 * math.pi / optics.wavelength
    z_max = float(np.max(np.abs(z))) if z.size else 0.0
    rho, weight = _quadrature(optics, float(np.max(r)) if r.size else 0.0, z_max)
    bessel = scipy.special.j0(k * optics.na * np.outer(r, rho))  # (n_r, n_rho), real
    pupil = (weight * rho)[:, None] * np.exp(1j * optics.phase(rho, z))  # (n_rho, n_z)
    field = bessel @ pupil
    return field.real**2 + field.imag**2


def _peak_z(paths: Sequence[_Optics], z_scale: float) -> float:
    """Axial position of the maximum of the product of the on-axis intensities of ``paths``.

    One path for widefield, excitation and emission for confocal (both see the same stage
    position). Born & Wolf PSFs are symmetric about z = 0.
    """
    if all(optics.model == "born_wolf" for optics in paths):
        return 0.0

    def on_axis(z: np.ndarray) -> np.ndarray:
        value = np.ones(z.shape)
        for optics in paths:
            value = value * _profile(optics, np.zeros(1), z)[0]
        return value

    # the focal shift is at most about zp * max(ni/ns, ns/ni) (geometric optics bounds)
    reach = 6 * z_scale + 1.5 * max(
        optics.zp * max(optics.ni / optics.ns, optics.ns / optics.ni) for optics in paths
    )
    n = min(4001, 2 * math.ceil(reach / (z_scale / 8)) + 1)
    z = np.linspace(-reach, reach, n)
    best = int(np.argmax(on_axis(z)))
    lo, hi = z[max(best - 1, 0)], z[min(best + 1, n - 1)]
    import scipy.optimize  # here: slow to import, and only the focus search needs it

    result = scipy.optimize.minimize_scalar(
        lambda t: -float(on_axis(np.array([t]))[0]),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": z_scale * 1e-6},
    )
    return float(result.x)


def _z_scale(optics: _Optics) -> float:
    """Paraxial axial FWHM, 1.772 n λ / NA²: the length scale of the axial search."""
    return 1.772 * optics.ni * optics.wavelength / optics.na**2


def _voxel_size(voxel_size) -> tuple[float, float, float]:
    """(dz, dy, dx) from a number, (dz, dxy) or (dz, dy, dx)."""
    if voxel_size is None:
        raise InvalidParameterError("voxel_size is required: (dz, dy, dx) in wavelength units")
    values = np.atleast_1d(np.asarray(voxel_size, dtype=object))
    if values.ndim != 1 or values.size not in (1, 2, 3):
        raise InvalidParameterError(
            f"voxel_size must be a number, (dz, dxy) or (dz, dy, dx), got {voxel_size!r}"
        )
    sizes = [check_number("voxel_size", v) for v in values]
    if len(sizes) == 1:
        return sizes[0], sizes[0], sizes[0]
    if len(sizes) == 2:
        return sizes[0], sizes[1], sizes[1]
    return sizes[0], sizes[1], sizes[2]


def _optics(
    model: str,
    na,
    wavelength,
    refractive_index,
    ns,
    ng,
    ng0,
    ni0,
    tg,
    tg0,
    ti0,
    zp,
) -> _Optics:
    if model not in MICROSCOPE_MODELS:
        raise InvalidParameterError(
            f"unknown microscope model {model!r}; choose one of {', '.join(MICROSCOPE_MODELS)}"
        )
    na = check_number("na", na)
    wavelength = check_number("wavelength", wavelength)
    ni = check_number("refractive_index", refractive_index)
    if na < _MIN_NA:
        raise InvalidParameterError(f"na must be at least {_MIN_NA}, got {na:g}")
    if ni > _MAX_INDEX:
        raise InvalidParameterError(f"refractive_index must be at most {_MAX_INDEX}, got {ni:g}")
    if na >= ni:
        raise InvalidParameterError(
            f"na must be smaller than the immersion refractive_index {ni}, got {na}"
        )
    gl = {"ns": ns, "ng": ng, "ng0": ng0, "ni0": ni0, "tg": tg, "tg0": tg0, "ti0": ti0, "zp": zp}
    if model == "born_wolf":
        given = sorted(name for name, value in gl.items() if value is not None)
        if given:
            raise InvalidParameterError(f"{', '.join(given)} only apply to model='gibson_lanni'")
        return _Optics(model, na, wavelength, ni, ni, ni, ni, ni, 0.0, 0.0, 0.0, 0.0)
    ns = ni if ns is None else check_number("ns", ns)
    ng = _DEFAULT_NG if ng is None else check_number("ng", ng)
    ng0 = ng if ng0 is None else check_number("ng0", ng0)
    ni0 = ni if ni0 is None else check_number("ni0", ni0)
    tg = _DEFAULT_TG if tg is None else check_number("tg", tg, allow_zero=True)
    tg0 = tg if tg0 is None else check_number("tg0", tg0, allow_zero=True)
    ti0 = _DEFAULT_TI0 if ti0 is None else check_number("ti0", ti0, allow_zero=True)
    zp = 0.0 if zp is None else check_number("zp", zp, allow_zero=True)
    for name, index in (("ns", ns), ("ng", ng), ("ng0", ng0), ("ni0", ni0)):
        if index > _MAX_INDEX:
            raise InvalidParameterError(f"{name} must be at most {_MAX_INDEX}, got {index:g}")
    for name, length in (("tg", tg), ("tg0", tg0), ("ti0", ti0), ("zp", zp)):
        if length > _MAX_LENGTH_PER_WAVELENGTH * wavelength:
            raise InvalidParameterError(
                f"{name} must be at most {_MAX_LENGTH_PER_WAVELENGTH:g} wavelengths, got {length:g}"
            )
    return _Optics(model, na, wavelength, ni, ns, ng, ng0, ni0, tg, tg0, ti0, zp)


def _default_shape(optics: _Optics, voxel: tuple[float, float, float]) -> tuple[int, int, int]:
    """Box covering two axial zeros above and below focus and the defocused light cone."""
    lam, na, n = optics.wavelength, optics.na, optics.ni
    z_half = 4 * n * lam / na**2  # twice the distance to the first axial zero
    cone = z_half * na / math.sqrt(n * n - na * na)  # geometric blur radius at z_half
    r_half = max(4.25 * 0.61 * lam / na, cone + 2 * 0.61 * lam / na)
    dz, dy, dx = voxel
    return _odd(z_half / dz), _odd(r_half / dy), _odd(r_half / dx)


def _render(
    optics: _Optics,
    voxel: tuple[float, float, float],
    shape: tuple[int, int, int],
    oversample: int,
    z0: float,
) -> np.ndarray:
    """Unnormalised intensity of one quadrant; the central plane is the stage position ``z0``.

    The PSF is radially symmetric, so only the pixels at and after the centre along y and x are
    computed, as sub-pixel samples of shape ``(nz, (ny//2 + 1) * oversample,
    (nx//2 + 1) * oversample)``: unbinned, so products (confocal) are taken before the pixel
    integration of :func:`_bin_lateral`; :func:`_unfold` mirrors the result to the full box.
    """
    dz, dy, dx = voxel
    nz, ny, nx = shape
    airy_radius = 0.61 * optics.wavelength / optics.na
    z = z0 + dz * (np.arange(nz) - nz // 2)

    # sub-pixel sample positions along y and x (pixel centres when oversample == 1) in the
    # quadrant of pixels at or after the centre
    sub = (np.arange(oversample) + 0.5) / oversample - 0.5
    y = dy * (np.arange(ny // 2 + 1)[:, None] + sub[None, :]).ravel()
    x = dx * (np.arange(nx // 2 + 1)[:, None] + sub[None, :]).ravel()
    r = np.hypot(y[:, None], x[None, :])

    # radial profile on a fine grid, then linear interpolation (all planes at once)
    r_max = float(r.max())
    dr = min(min(dy, dx) / (_RADIAL_PER_PIXEL * oversample), airy_radius / _RADIAL_PER_AIRY)
    dr = max(dr, r_max / _MAX_RADIAL)  # voxels of many wavelengths: bounded work
    n_r = math.ceil(r_max / dr) + 2
    radii = dr * np.arange(n_r)
    profile = _profile(optics, radii, z)  # (n_r, nz)
    pos = r / dr
    i0 = np.minimum(pos.astype(np.intp), n_r - 2)
    frac = pos - i0
    planes = np.empty((nz, *r.shape))
    for j, line in enumerate(profile.T):  # one plane at a time: memory of one plane
        np.multiply(line[i0], 1 - frac, out=planes[j])
        planes[j] += line[i0 + 1] * frac
    return np.maximum(planes, 0.0)


def _bin_lateral(planes: np.ndarray, oversample: int) -> np.ndarray:
    """Average ``oversample`` x ``oversample`` blocks of each plane: pixel integration."""
    if oversample == 1:
        return planes
    nz, h, w = planes.shape
    return planes.reshape(nz, h // oversample, oversample, w // oversample, oversample).mean(
        axis=(2, 4)
    )


def _unfold(quadrant: np.ndarray) -> np.ndarray:
    """Mirror a (z, ny//2 + 1, nx//2 + 1) quadrant (centre pixel first) to (z, ny, nx)."""
    rows = np.concatenate([quadrant[:, :0:-1], quadrant], axis=1)
    return np.concatenate([rows[:, :, :0:-1], rows], axis=2)


def _shape(shape, default: tuple[int, int, int]) -> tuple[int, int, int]:
    """Odd (z, y, x) side lengths from ``shape`` (an int or three), or ``default``; refused
    before allocation beyond :data:`~unblur.psf.MAX_PSF_PIXELS` voxels."""
    if shape is None:
        return _size_tuple(None, default, what="shape or a coarser voxel_size")
    try:
        sizes = (shape,) * 3 if np.isscalar(shape) else tuple(shape)
    except TypeError:
        sizes = ()
    if len(sizes) != 3:
        raise InvalidParameterError(f"shape must be an int or 3 ints (z, y, x), got {shape!r}")
    for n in sizes:
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1 or n % 2 == 0:
            raise InvalidParameterError(f"shape must be positive odd integers, got {shape!r}")
    return check_psf_size(sizes, what="shape")


def _check_oversample(oversample) -> int:
    if (
        isinstance(oversample, bool)
        or not isinstance(oversample, int | np.integer)
        or not 1 <= oversample <= _MAX_OVERSAMPLE
    ):
        raise InvalidParameterError(
            f"oversample must be an integer from 1 to {_MAX_OVERSAMPLE}, got {oversample!r}"
        )
    return int(oversample)


def _check_sampling(optics: _Optics, voxel: tuple[float, float, float]) -> None:
    """Refuse voxel sizes absurdly far from the wavelength (a unit mix-up, usually)."""
    low, high = _VOXEL_PER_WAVELENGTH
    for size in voxel:
        ratio = size / optics.wavelength
        if not low <= ratio <= high:
            raise InvalidParameterError(
                f"voxel_size {size:g} is {ratio:.3g} wavelengths ({optics.wavelength:g}); give "
                f"both in the same unit, between {low:g} and {high:g} wavelengths"
            )


def _check_render_memory(
    optics: _Optics, voxel: tuple[float, float, float], shape: tuple[int, int, int], oversample
) -> None:
    """Refuse, before allocation, a rendering whose arrays would not fit in memory: the
    sub-pixel planes of one quadrant and the radial profile (Bessel matrix and fields)."""
    from ..io.limits import check_memory

    _, dy, dx = voxel
    nz, ny, nx = shape
    qy, qx = (ny // 2 + 1) * oversample, (nx // 2 + 1) * oversample
    airy_radius = 0.61 * optics.wavelength / optics.na
    r_max = math.hypot(dy * (ny // 2 + 1), dx * (nx // 2 + 1))
    dr = min(min(dy, dx) / (_RADIAL_PER_PIXEL * oversample), airy_radius / _RADIAL_PER_AIRY)
    n_r = min(r_max / dr, _MAX_RADIAL) + 2
    planes = 8.0 * qy * qx * (nz + 4)
    profile = n_r * (8.0 * _MAX_NODES + 32.0 * nz)
    check_memory(
        2 * (planes + profile),  # confocal renders two
        f"building a {nz} x {ny} x {nx} microscope PSF",
        hint="give a smaller shape or oversample, or a coarser voxel_size",
        error=InvalidParameterError,
    )


def widefield(
    *,
    na: float,
    wavelength: float,
    voxel_size: float | Sequence[float],
    refractive_index: float = 1.0,
    shape: int | Sequence[int] | None = None,
    model: str = "born_wolf",
    oversample: int = 3,
    centre: bool = True,
    ns: float | None = None,
    ng: float | None = None,
    ng0: float | None = None,
    ni0: float | None = None,
    tg: float | None = None,
    tg0: float | None = None,
    ti0: float | None = None,
    zp: float | None = None,
) -> np.ndarray:
    r"""3-D PSF (z, y, x) of a widefield fluorescence microscope, normalised to sum to one.

    .. math:: h(r, z) = \left|\int_0^{\rho_{\max}} J_0(k\,\mathrm{NA}\,r\rho)\,
              e^{\,i k W(\rho, z)}\,\rho\, d\rho\right|^2, \qquad k = 2\pi/\lambda,

    with the pupil phase :math:`W` of the Born & Wolf (paraxial defocus in a homogeneous
    medium) or the Gibson & Lanni model (refractive-index mismatch between immersion,
    coverslip and sample); see :mod:`unblur.psf.microscope` for both formulas. The central
    plane (index ``nz // 2``) is the focus: in focus the Born & Wolf PSF is the Airy pattern,
    lateral FWHM :math:`0.51\lambda/\mathrm{NA}`, first zero :math:`0.61\lambda/\mathrm{NA}`;
    along the axis its FWHM is :math:`1.772\,n\lambda/\mathrm{NA}^2` (paraxial).

    Parameters
    ----------
    na : float
        Numerical aperture of the objective, :math:`0 <` ``na`` :math:`<` ``refractive_index``.
    wavelength : float
        Emission wavelength in vacuum, in the unit of ``voxel_size`` (e.g. µm: 0.52).
    voxel_size : float or sequence of float
        Sampling step ``(dz, dy, dx)``, or ``(dz, dxy)``, or one number for cubic voxels.
    refractive_index : float, optional
        Refractive index :math:`n_i` of the immersion medium (1.0 air, 1.33 water, 1.515 oil).
        For Born & Wolf the whole object space has this index.
    shape : int or (int, int, int), optional
        Odd side lengths (z, y, x). Default: two axial zeros :math:`\pm 4n\lambda/\mathrm{NA}^2`
        along z, and laterally the larger of four Airy rings and the geometric cone of
        defocused light at the outermost planes.
    model : {"born_wolf", "gibson_lanni"}, optional
        Pupil phase model.
    oversample : int, optional
        Lateral sub-samples per pixel and axis, averaged: the PSF integrated over each pixel.
        ``1`` samples at pixel centres.
    centre : bool, optional
        Put the axial intensity maximum on the central plane (a Gibson-Lanni PSF with index
        mismatch peaks away from the nominal focus, and with matched indices at
        :math:`z = -z_p`). With ``False`` the central plane is the stage position :math:`z=0`.
    ns, ng, ng0, ni0 : float, optional
        Gibson-Lanni only: refractive indices of the sample, the coverslip (actual and design)
        and the design immersion. Defaults: ``ns = ni0 = refractive_index``,
        ``ng = ng0 = 1.515``.
    tg, tg0, ti0, zp : float, optional
        Gibson-Lanni only, in the unit of ``wavelength``: coverslip thickness (actual and
        design), design working distance (immersion thickness) and depth of the point below
        the coverslip. Defaults are in **micrometres**, ``tg = tg0 = 170``, ``ti0 = 150``,
        ``zp = 0``: give them explicitly in any other unit. With matched indices and design
        thicknesses, only ``zp`` matters, as a defocus that ``centre`` removes.

    Returns
    -------
    numpy.ndarray
        float64 array of ``shape``, non-negative, summing to one, peak on the central voxel.

    Raises
    ------
    InvalidParameterError
        For a non-positive NA, wavelength, voxel size or refractive index, NA not below the
        immersion index, an even or non-integer shape, an unknown model, or Gibson-Lanni
        parameters given to the Born & Wolf model.

    References
    ----------
    M. Born, E. Wolf, *Principles of Optics*, 7th ed., Cambridge University Press, 1999, §8.8.
    S. F. Gibson, F. Lanni, J. Opt. Soc. Am. A 8(10), 1991, pp. 1601-1613.

    Examples
    --------
    >>> from unblur.psf.microscope import widefield
    >>> k = widefield(na=1.4, wavelength=0.52, refractive_index=1.515,
    ...               voxel_size=(0.2, 0.065, 0.065), shape=(33, 65, 65))
    >>> k.shape, round(float(k.sum()), 12)
    ((33, 65, 65), 1.0)
    >>> bool(k[16].max() == k.max())
    True
    """
    optics = _optics(model, na, wavelength, refractive_index, ns, ng, ng0, ni0, tg, tg0, ti0, zp)
    voxel = _voxel_size(voxel_size)
    _check_sampling(optics, voxel)
    oversample = _check_oversample(oversample)
    dims = _shape(shape, _default_shape(optics, voxel))
    _check_render_memory(optics, voxel, dims, oversample)
    z0 = _peak_z([optics], _z_scale(optics)) if check_bool("centre", centre) else 0.0
    quadrant = _render(optics, voxel, dims, oversample, z0)
    return normalize(_unfold(_bin_lateral(quadrant, oversample)))


def confocal(
    *,
    na: float,
    excitation_wavelength: float,
    emission_wavelength: float,
    voxel_size: float | Sequence[float],
    refractive_index: float = 1.0,
    shape: int | Sequence[int] | None = None,
    model: str = "born_wolf",
    oversample: int = 3,
    centre: bool = True,
    ns: float | None = None,
    ng: float | None = None,
    ng0: float | None = None,
    ni0: float | None = None,
    tg: float | None = None,
    tg0: float | None = None,
    ti0: float | None = None,
    zp: float | None = None,
) -> np.ndarray:
    r"""3-D PSF (z, y, x) of a point-scanning confocal microscope with an ideal pinhole.

    .. math:: h_\mathrm{conf}(r, z) = h_\mathrm{ex}(r, z)\; h_\mathrm{em}(r, z)

    the product of the widefield PSFs (:func:`widefield`) at the excitation and the emission
    wavelengths, normalised to sum to one. The product is exact for a pinhole of zero size
    (Wilson 2011); a real pinhole of :math:`\approx 1` Airy unit convolves :math:`h_\mathrm{em}`
    with its disk first, giving a PSF between this one and the widefield one: this model is the
    best case. With equal wavelengths the lateral FWHM is :math:`0.37\lambda/\mathrm{NA}`
    (against :math:`0.51\lambda/\mathrm{NA}` in widefield) and the axial extent shrinks by
    about :math:`\sqrt 2`, with no missing cone.

    Parameters
    ----------
    na, voxel_size, refractive_index, shape, model, oversample, centre
        As for :func:`widefield` (the default ``shape`` is that of the emission PSF). Both
        factors are taken at the same stage positions; ``centre`` puts the maximum of their
        product on the central plane.
    excitation_wavelength, emission_wavelength : float
        Vacuum wavelengths of the illumination and of the detected fluorescence, in the unit
        of ``voxel_size``.
    ns, ng, ng0, ni0, tg, tg0, ti0, zp : float, optional
        Gibson-Lanni parameters, shared by both paths (see :func:`widefield`).

    Returns
    -------
    numpy.ndarray
        float64 array (z, y, x), non-negative, summing to one, peak on the central voxel.

    References
    ----------
    T. Wilson, "Resolution and optical sectioning in the confocal microscope", J. Microscopy
    244(2), 2011, pp. 113-121.
    M. Born, E. Wolf, *Principles of Optics*, 7th ed., §8.8, 1999.

    Examples
    --------
    >>> from unblur.psf.microscope import confocal
    >>> k = confocal(na=1.2, excitation_wavelength=0.488, emission_wavelength=0.52,
    ...              refractive_index=1.33, voxel_size=(0.1, 0.04, 0.04), shape=(31, 41, 41))
    >>> k.shape, round(float(k.sum()), 12)
    ((31, 41, 41), 1.0)
    """
    params = dict(ns=ns, ng=ng, ng0=ng0, ni0=ni0, tg=tg, tg0=tg0, ti0=ti0, zp=zp)
    emission = _optics(model, na, emission_wavelength, refractive_index, **params)
    excitation = _optics(model, na, excitation_wavelength, refractive_index, **params)
    voxel = _voxel_size(voxel_size)
    _check_sampling(emission, voxel)
    _check_sampling(excitation, voxel)
    oversample = _check_oversample(oversample)
    dims = _shape(shape, _default_shape(emission, voxel))
    for optics in (excitation, emission):
        _check_render_memory(optics, voxel, dims, oversample)
    centre = check_bool("centre", centre)
    z0 = _peak_z([excitation, emission], _z_scale(emission)) if centre else 0.0
    h_em = _render(emission, voxel, dims, oversample, z0)
    h_ex = _render(excitation, voxel, dims, oversample, z0)
    # normalise each factor first so the product stays well inside the float range
    product = (h_em / h_em.max()) * (h_ex / h_ex.max())
    return normalize(_unfold(_bin_lateral(product, oversample)))
