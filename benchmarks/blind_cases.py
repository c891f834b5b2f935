r"""The broad blind-deblurring validation set: seeded, generated on the fly, never stored.

Every case is a *photograph as a camera would record it*: a sharp scene in linear light is
blurred, clipped by the sensor, encoded by the sRGB transfer function, made noisy, quantised to
8 bits or compressed as JPEG, and handed over as the ``uint8`` array a user gets from
``imageio.imread`` (or, for the ``linear`` cases, as float32 linear data: raw or scientific
images). Each case also keeps what a blind estimator must find, so a benchmark can score it:
the true kernel, the sharp image as it would have been recorded without blur and noise, and
the true noise.

The axes the set spans (issue 14):

blur
    ``shake``: random camera trajectories in the spirit of Boracchi & Foi (2012), a particle
    whose velocity is pulled by random (Gaussian) forces, a centripetal force and, now and
    then, an abrupt jerk that reverses it; its speed varies smoothly (where the camera slows
    down the kernel is brighter) and the path is drawn with a slight optical blur. The
    kernel's larger side is drawn from 9 to 75 px. ``lai``: the four measured camera-shake
    kernels (31-75 px) of Lai et al. (2016). ``gaussian`` (sigma 1-4 px) and ``defocus`` (a
    disk of radius 2-8 px, the geometric-optics out-of-focus blur). ``none`` (not drawn by
    :func:`cases`; used by ``blind_heldout.py``): a sharp photograph, noise and file only.
scene
    scikit-image's photographs and textures (grey and colour) and Lai et al.'s five sharp
    photographs, resized (bicubic, anti-aliased) to a size class: ``S`` 0.25-0.7 megapixels,
    ``M`` about 2 megapixels, ``L`` about 12 megapixels. Upscaled scenes are smoother than a
    native photograph of that size, which is recorded as a limitation.
highlights
    ``clipped`` scenes: the linear scene is brightened (gain 1.5-3) and a few point lights
    (3-10x the white level) are added, so that after the blur the sensor clips streaks and
    bright areas at 1.
noise and file
    Gaussian noise of sigma 0.5-3 % of the white level, added to the encoded values (gamma
    encoding roughly stabilises the variance of a camera's shot noise), then 8-bit rounding or
    JPEG at quality 75-95 (Pillow, 4:2:0 chroma subsampling for colour).

The blur acts in linear light with ``valid`` convolution (the recorded frame sees scene beyond
its border, as a real photograph does); the sharp reference is the matching interior of the
scene, clipped to [0, 1] and encoded the same way. The true kernel is stored centred on its
centroid (rounded to the pixel), so the blurred image is not translated against the
reference.

*Camera tone curves* (``cases(subset, tone=...)``). A camera's JPEG engine does not encode
with the sRGB curve: it renders the linear sensor values with a picture style, an S-shaped
contrast curve on top of a gamma with a soft shoulder in the highlights. ``tone`` renders the
8-bit and JPEG cases (not the linear-data ones) with one of :data:`TONES` instead of the
exact sRGB curve, everything else (scene, kernel, noise, seed) unchanged; the sharp reference
is rendered with the same curve (what the user sees) and the case is named ``<name>+<tone>``.
Each curve maps the sensor's white level (linear 1, where it clips) to 1 and black to 0:

``hable``
    Hable's filmic curve (2010): :math:`H(x) = \frac{x(Ax + CB) + DE}{x(Ax + B) + DF} - E/F`
    with his constants A..F = 0.15, 0.50, 0.10, 0.20, 0.02, 0.30 and his exposure bias 2,
    normalised by :math:`H(2)` so that the clip maps to 1, then his display gamma 1/2.2.
    A toe, mid-tones brighter than sRGB (18 % grey -> 0.54, sRGB 0.46) and a strong shoulder.
``aces``
    Narkowicz's (2016) fit of the ACES reference rendering + sRGB output transform,
    :math:`N(x) = \frac{x(2.51x + 0.03)}{x(2.43x + 0.59) + 0.14}`, normalised by
    :math:`N(1)`, then the sRGB curve. The strongest S: deep shadows (2 % grey -> 0.12, sRGB
    0.15), bright mid-tones (18 % -> 0.61) and compressed highlights.
``standard``
    The sRGB curve followed by Adobe Camera Raw's "Medium Contrast" point curve (its default
    before process version 2012; points 0/0, 32/22, 64/56, 128/128, 192/196, 255/255,
    interpolated by a monotone cubic): a mild S, the look of a "standard" picture style.

``cases("quick")`` is a small subset for tuning (minutes on two cores), ``cases("full")`` the
whole set; both are lists of :class:`CaseSpec`, whose :meth:`CaseSpec.build` generates the
images deterministically from the case's seed.

References
----------
G. Boracchi, A. Foi, "Modeling the performance of image restoration from motion blur", IEEE
TIP 21(8), 2012, pp. 3502-3517.
W.-S. Lai, J.-B. Huang, Z. Hu, N. Ahuja, M.-H. Yang, "A comparative study for single image
blind deblurring", IEEE CVPR 2016.
IEC 61966-2-1:1999 (sRGB transfer function).
J. Hable, "Uncharted 2: HDR lighting", Game Developers Conference 2010 (filmic tone curve).
K. Narkowicz, "ACES filmic tone mapping curve", 2016,
https://knarkowicz.wordpress.com/2016/01/06/aces-filmic-tone-mapping-curve/.
Adobe Camera Raw / Lightroom XMP ``ToneCurveName="Medium Contrast"`` point curve.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage, signal
from scipy.interpolate import PchipInterpolator
from skimage import data as skdata
from skimage.transform import resize

from unblur import psf as psf_models
from unblur.colour import linear_to_srgb, srgb_to_linear

__all__ = ["TONES", "Case", "CaseSpec", "cases", "shake_kernel", "tone_curve"]

#: Lai et al. (2016) data next to the repository (see its README).
LAI = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "lai2016"

#: Scenes: name -> (loader, colour?). scikit-image's bundled photographs and textures.
_SKIMAGE = {
    "camera": False,
    "astronaut": True,
    "coffee": True,
    "chelsea": True,
    "rocket": True,
    "stereo_motorcycle": True,
    "brick": False,
    "grass": False,
    "gravel": False,
    "moon": False,
    "coins": False,
    "hubble_deep_field": True,
    "immunohistochemistry": True,
    "text": False,
}
_LAI_SCENES = ("manmade_01", "natural_01", "people_01", "saturated_01", "text_01")
#: Megapixel targets of the size classes.
_SIZES = {"S": None, "M": 2.0, "L": 12.0}


# --------------------------------------------------------------------------------------------
# tone curves: linear sensor values in [0, 1] -> encoded values in [0, 1]
# --------------------------------------------------------------------------------------------
def _hable(x: np.ndarray) -> np.ndarray:
    a, b, c, d, e, f = 0.15, 0.50, 0.10, 0.20, 0.02, 0.30  # Hable (2010)
    exposure = 2.0  # his exposure bias

    def h(v):
        return (v * (a * v + c * b) + d * e) / (v * (a * v + b) + d * f) - e / f

    return np.clip(h(exposure * x) / h(exposure), 0.0, 1.0) ** (1 / 2.2)


def _aces(x: np.ndarray) -> np.ndarray:
    def n(v):  # Narkowicz (2016)
        return v * (2.51 * v + 0.03) / (v * (2.43 * v + 0.59) + 0.14)

    return linear_to_srgb(np.clip(n(x) / n(1.0), 0.0, 1.0))


#: Adobe Camera Raw's "Medium Contrast" point curve (8-bit input -> output).
_MEDIUM_CONTRAST = PchipInterpolator([0, 32, 64, 128, 192, 255], [0, 22, 56, 128, 196, 255])


def _standard(x: np.ndarray) -> np.ndarray:
    return np.clip(_MEDIUM_CONTRAST(linear_to_srgb(x) * 255.0) / 255.0, 0.0, 1.0)


#: Rendering of the 8-bit and JPEG cases: ``"srgb"`` (the set's default, exact IEC 61966-2-1)
#: or a camera-like tone curve (module docstring).
TONES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "srgb": linear_to_srgb,
    "hable": _hable,
    "aces": _aces,
    "standard": _standard,
}


def tone_curve(tone: str) -> Callable[[np.ndarray], np.ndarray]:
    """The rendering ``tone`` (a key of :data:`TONES`): linear [0, 1] -> encoded [0, 1]."""
    if tone not in TONES:
        raise ValueError(f"unknown tone {tone!r}: {', '.join(TONES)}")
    curve = TONES[tone]
    return lambda x: curve(np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0))


@functools.cache
def _scene(name: str) -> np.ndarray:
    """The sharp scene, float64 sRGB-encoded values in [0, 1], (h, w) or (h, w, 3)."""
    if name in _LAI_SCENES:
        image = np.asarray(Image.open(LAI / "sharp" / f"{name}.png").convert("RGB"))
    else:
        image = getattr(skdata, name)()
        if isinstance(image, tuple):  # stereo_motorcycle: (left, right, disparity)
            image = image[0]
    image = np.asarray(image, dtype=np.float64) / 255.0
    return image[..., :3] if image.ndim == 3 else image


def _lai_kernel(number: int) -> np.ndarray:
    k = np.asarray(Image.open(LAI / "kernels" / f"kernel_{number:02d}.png").convert("L"), float)
    return k / k.sum()


# --------------------------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------------------------
def _trajectory(rng: np.random.Generator, samples: int = 2000) -> np.ndarray:
    """A random camera path (complex positions): inertia, random forces, rare jerks.

    The velocity keeps a constant step length; each step it receives a Gaussian force, a pull
    back towards the start (``centripetal``) and, with a small probability (up to two per
    path), a jerk that sends it back roughly the way it came (after Boracchi & Foi 2012, with
    weaker random forces: their full range gives Brownian scribbles unlike measured shake).
    """
    anxiety = rng.uniform(0.005, 0.03)
    centripetal = rng.uniform(0.0, 0.7)
    force = rng.uniform(1.0, 4.0)
    jerk_rate = rng.uniform(0.0, 2.0) / samples  # about one jerk per path at most
    step = 1.0 / (samples - 1)
    v = np.exp(2j * np.pi * rng.uniform()) * step
    x = np.zeros(samples, dtype=complex)
    for t in range(samples - 1):
        jerk = 0.0
        if rng.uniform() < jerk_rate:
            jerk = 2 * v * np.exp(1j * (np.pi + rng.uniform(-0.5, 0.5)))
        noise = complex(rng.standard_normal(), rng.standard_normal())
        v = v + jerk + anxiety * (force * noise - centripetal * x[t]) * step
        v = v / abs(v) * step
        x[t + 1] = x[t] + v
    return x


def _splat(points: np.ndarray, weights: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear splatting of weighted sub-pixel points (row, col) onto a grid."""
    out = np.zeros(shape)
    r0, c0 = np.floor(points[:, 0]).astype(int), np.floor(points[:, 1]).astype(int)
    fr, fc = points[:, 0] - r0, points[:, 1] - c0
    for dr, dc, w in ((0, 0, (1 - fr) * (1 - fc)), (1, 0, fr * (1 - fc)),
                      (0, 1, (1 - fr) * fc), (1, 1, fr * fc)):  # fmt: skip
        np.add.at(out, (r0 + dr, c0 + dc), weights * w)
    return out


def _centre_on_centroid(k: np.ndarray) -> np.ndarray:
    """Pad ``k`` to an odd square whose centre pixel is its centroid (rounded)."""
    k = k / k.sum()
    c = psf_models.centroid(k)
    half = int(max(max(round(ci), n - 1 - round(ci)) for ci, n in zip(c, k.shape, strict=True)))
    out = np.zeros((2 * half + 1, 2 * half + 1))
    r0, c0 = half - round(c[0]), half - round(c[1])
    out[r0 : r0 + k.shape[0], c0 : c0 + k.shape[1]] = k
    return out


def shake_kernel(rng: np.random.Generator, extent: int) -> np.ndarray:
    """A random camera-shake kernel whose larger side spans ``extent`` px, centred on its
    centroid, summing to one."""
    path = _trajectory(rng)
    speed = np.exp(0.6 * ndimage.gaussian_filter1d(rng.standard_normal(path.size), 80))
    # time spent per unit length ~ 1 / speed: resample the path at equal time steps
    seg = np.abs(np.diff(path))
    t = np.concatenate([[0.0], np.cumsum(seg / speed[1:])])
    when = np.linspace(0.0, t[-1], 4 * path.size)
    path = np.interp(when, t, path.real) + 1j * np.interp(when, t, path.imag)
    pts = np.stack([path.imag, path.real], axis=1)
    pts -= pts.min(axis=0)
    scale = (extent - 1) / max(float(pts.max()), 1e-9)
    pts = pts * scale + 2.0
    shape = tuple(math.ceil(m) + 4 for m in pts.max(axis=0))
    k = _splat(pts, np.ones(len(pts)), shape)
    k = ndimage.gaussian_filter(k, rng.uniform(0.2, 0.5))
    k[k < 1e-3 * k.max()] = 0.0
    rows, cols = np.nonzero(k)
    return _centre_on_centroid(k[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1])


# --------------------------------------------------------------------------------------------
# cases
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CaseSpec:
    """One case of the set: everything needed to build it deterministically."""

    name: str
    seed: int
    scene: str
    colour: bool
    size: str  # "S", "M", "L"
    blur: str  # "shake", "lai", "gaussian", "defocus", "none" (a sharp photograph)
    blur_size: float  # shake: extent (px); lai: kernel number; gaussian: sigma; defocus: radius
    noise: float  # sigma, in encoded units
    jpeg: int | None  # quality, or None for 8-bit PNG-like rounding
    clipped: bool
    srgb: bool  # False: linear float data (no transfer function, no 8-bit file)
    tone: str = "srgb"  # the rendering of the 8-bit / JPEG cases (a key of TONES)

    def build(self) -> Case:
        return _build(self)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Case:
    """A generated case: the observation a user has and the truth a benchmark scores with."""

    spec: CaseSpec
    observed: np.ndarray  # uint8 (sRGB cases) or float32 (linear cases), (h, w[, 3])
    sharp: np.ndarray  # float64 in [0, 1], same shape, same encoding as the observation
    kernel: np.ndarray  # float64, odd square, sums to one, centred on its centroid
    noise: float  # RMS of observed - (the same pipeline without noise), encoded units

    @property
    def channel_axis(self) -> int | None:
        return -1 if self.observed.ndim == 3 else None


def _kernel(spec: CaseSpec, rng: np.random.Generator) -> np.ndarray:
    if spec.blur == "none":  # no blur: the identity kernel
        return np.ones((1, 1))
    if spec.blur == "shake":
        return shake_kernel(rng, int(spec.blur_size))
    if spec.blur == "lai":
        return _centre_on_centroid(_lai_kernel(int(spec.blur_size)))
    if spec.blur == "gaussian":
        return psf_models.gaussian(spec.blur_size)
    return psf_models.disk(spec.blur_size)


def _sized_scene(spec: CaseSpec, margin: int) -> np.ndarray:
    image = _scene(spec.scene)
    if not spec.colour and image.ndim == 3:
        image = image @ np.array([0.299, 0.587, 0.114])
    h, w = image.shape[:2]
    target = _SIZES[spec.size]
    if target is None:  # S: at least 0.25 MP
        factor = max(1.0, math.sqrt(0.25e6 / (h * w)))
    else:
        factor = math.sqrt(target * 1e6 / (h * w))
    shape = (round(h * factor) + margin, round(w * factor) + margin)
    if shape[:2] != (h, w):
        image = resize(image, shape + image.shape[2:], order=3, anti_aliasing=factor < 1)
    return np.clip(image, 0.0, 1.0)


def _add_lights(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A few small, very bright point lights on the linear scene (streaks once blurred)."""
    h, w = x.shape[:2]
    yy, xx = np.mgrid[:h, :w]
    for _ in range(rng.integers(3, 8)):
        r, c = rng.uniform(0.1, 0.9) * h, rng.uniform(0.1, 0.9) * w
        radius = rng.uniform(1.0, 3.0)
        spot = np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / (2 * radius**2)) * rng.uniform(3, 10)
        x = x + (spot[..., None] if x.ndim == 3 else spot)
    return x


def _blur_valid(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    if x.ndim == 2:
        return signal.fftconvolve(x, k, mode="valid")
    return np.stack([signal.fftconvolve(x[..., c], k, mode="valid") for c in range(3)], -1)


def _jpeg(v: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(v).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())))


def _file(v: np.ndarray, spec: CaseSpec) -> np.ndarray:
    """Encoded float values -> what the file holds (uint8, or float32 on the 8-bit grid)."""
    q = np.round(np.clip(v, 0.0, 1.0) * 255).astype(np.uint8)
    if spec.jpeg is not None:
        q = _jpeg(q, spec.jpeg)
    return q if spec.srgb else (q / 255.0).astype(np.float32)


def _build(spec: CaseSpec) -> Case:
    rng = np.random.default_rng(spec.seed)
    k = _kernel(spec, rng)
    m = k.shape[0] - 1
    scene = _sized_scene(spec, m)
    x = srgb_to_linear(scene) if spec.srgb else scene
    if spec.clipped:
        x = _add_lights(x * rng.uniform(1.5, 3.0), rng)
    blurred = np.clip(_blur_valid(x, k), 0.0, 1.0)
    half = m // 2
    truth = np.clip(x[half : half + blurred.shape[0], half : half + blurred.shape[1]], 0, 1)
    encode = tone_curve(spec.tone) if spec.srgb else np.asarray
    clean = encode(blurred)
    noisy = clean + spec.noise * rng.standard_normal(clean.shape)
    observed = _file(noisy, spec)
    as_values = observed / 255.0 if observed.dtype == np.uint8 else observed
    noise = float(np.sqrt(np.mean((as_values - clean) ** 2)))
    return Case(spec, observed, np.clip(encode(truth), 0.0, 1.0), k, noise)


def _draw(rng: np.random.Generator, index: int, size: str, blur: str) -> CaseSpec:
    scenes = list(_SKIMAGE) + list(_LAI_SCENES)
    if size == "L":  # 12 MP: scenes with enough native resolution to upscale
        scenes = [*_LAI_SCENES, "hubble_deep_field", "stereo_motorcycle"]
    scene = scenes[rng.integers(len(scenes))]
    colour_scene = scene in _LAI_SCENES or _SKIMAGE.get(scene, True)
    colour = bool(colour_scene and rng.uniform() < 0.7)
    if blur == "shake":
        upper = {"S": 45, "M": 61, "L": 75}[size]
        lower = {"S": 9, "M": 15, "L": 25}[size]
        blur_size: float = int(rng.integers(lower, upper + 1))
    elif blur == "lai":
        blur_size = int(rng.integers(1, 5))
    elif blur == "gaussian":
        blur_size = round(float(rng.uniform(1.0, 4.0)), 2)
    else:
        blur_size = round(float(rng.uniform(2.0, 8.0)), 2)
    noise = round(float(np.exp(rng.uniform(np.log(0.005), np.log(0.03)))), 4)
    jpeg = int(rng.integers(75, 96)) if rng.uniform() < 0.4 else None
    clipped = bool(rng.uniform() < 0.2) or scene == "saturated_01"
    srgb = bool(rng.uniform() < 0.85)
    name = f"{index:03d}-{blur}-{size}-{scene}"
    return CaseSpec(name, 1000 + index, scene, colour, size, blur, blur_size, noise, jpeg,
                    clipped, srgb)  # fmt: skip


@functools.cache
def _full() -> tuple[CaseSpec, ...]:
    rng = np.random.default_rng(20261214)
    plan = (
        [("S", "shake")] * 40 + [("S", "lai")] * 6 + [("S", "gaussian")] * 12
        + [("S", "defocus")] * 12 + [("M", "shake")] * 12 + [("M", "gaussian")] * 3
        + [("M", "defocus")] * 3 + [("L", "shake")] * 4
    )  # fmt: skip
    return tuple(_draw(rng, i, size, blur) for i, (size, blur) in enumerate(plan))


#: Cases of the quick subset (indices into the full set): shake of every size class at S and
#: M, Lai kernels, Gaussian and defocus blurs, JPEG and clipped scenes among them.
QUICK = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 40, 41, 46, 47, 48, 58, 59, 60, 70, 71)


def cases(subset: str = "quick", tone: str = "srgb") -> list[CaseSpec]:
    """The case list: ``"quick"`` (tuning, minutes), ``"full"``, or ``"L"`` (12 MP only).

    ``tone``: the rendering of the 8-bit and JPEG cases, a key of :data:`TONES` (module
    docstring); other than ``"srgb"`` those cases are renamed ``<name>+<tone>``, the
    linear-data cases are unchanged.
    """
    full = _full()
    if subset == "full":
        chosen = list(full)
    elif subset == "quick":
        chosen = [full[i] for i in QUICK]
    elif subset in _SIZES:
        chosen = [c for c in full if c.size == subset]
    else:
        raise ValueError(f"unknown subset {subset!r}: quick, full, S, M or L")
    tone_curve(tone)  # an unknown tone: the error
    if tone == "srgb":
        return chosen
    return [replace(c, tone=tone, name=f"{c.name}+{tone}") if c.srgb else c for c in chosen]
