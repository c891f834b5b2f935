"""A broad, seeded non-blind validation set: ``deconvolve`` defaults with the true kernels.

The Levin et al. (2009) benchmark (``levin.py``) is four images and eight kernels of one
camera; a default tuned on it alone can overfit those. This set spans what the defaults must
serve, generated on the fly from a seed (nothing stored) and restored with the *true* kernel:

scenes
    scikit-image's bundled photographs and textures (the list of ``blind_cases.py``), grey
    and colour, rescaled by a random factor 0.5-1 and cropped at random (256 px grey, 192 px
    colour, plus the kernel's margin).
kernels
    ``shake``: random camera trajectories (``blind_cases.shake_kernel``, after Boracchi & Foi
    2012) spanning 9-41 px; ``motion``: straight motion 9-41 px at any angle; ``gaussian``:
    sigma 1-4 px; ``defocus``: a disk of radius 2-8 px.
observation
    ``valid`` convolution (the frame sees scene beyond its border, as a photograph does),
    Gaussian noise of 0.25-3 % of the white level (log-uniform), then in 70 % of the cases
    8-bit quantisation. In a quarter of the cases the blur acts in linear light and the
    observation is sRGB-encoded (``gamma``): the kernel then describes the encoded image only
    approximately, the model error of a real photograph.

Scoring: the restoration (of the observation's size) is clipped to [0, 1] and compared with
the matching central crop of the sharp scene (exact geometry: no shift search, no border
excluded, so the frame's borders count). PSNR with peak 1; for colour, over all channels.

Run ``python benchmarks/nonblind_broad.py`` (all 48 cases, a few minutes on two busy cores;
``--cases 0-15`` for a subset). It prints the table (per case and the means per blur class)
and writes JSON (``--json``). :func:`evaluate` is importable, so an experiment can run the set
with any restoration function.

References
----------
G. Boracchi, A. Foi, "Modeling the performance of image restoration from motion blur", IEEE
TIP 21(8), 2012, pp. 3502-3517.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from _common import RESULTS_DIR, fmt, machine_info, now_iso, parse_ranges, write_json
from blind_cases import _SKIMAGE, _scene, shake_kernel
from rich.console import Console
from rich.table import Table
from scipy import signal
from skimage.transform import rescale

import unblur
from unblur import psf as psf_models
from unblur.colour import linear_to_srgb, srgb_to_linear

SEED = 20261206
N_CASES = 48
GREY_SIZE, COLOUR_SIZE = 256, 192
#: the scenes (the blind set's scikit-image list; ``text`` is too small to crop at 0.5x)
SCENES = tuple(s for s in _SKIMAGE if s != "text")


@dataclass(frozen=True)
class Spec:
    """One case, everything needed to build it deterministically."""

    index: int
    seed: int
    scene: str
    colour: bool
    blur: str  # shake, motion, gaussian, defocus
    blur_size: float  # extent / length (px), sigma or radius
    noise: float
    quantised: bool
    gamma: bool

    @property
    def name(self) -> str:
        tag = "rgb" if self.colour else "grey"
        return f"{self.index:02d}-{self.blur}{self.blur_size:g}-{self.scene}-{tag}"


@dataclass
class Case:
    spec: Spec
    observed: np.ndarray  # float32, (h, w) or (h, w, 3)
    kernel: np.ndarray
    reference: np.ndarray  # float64, the observation's shape


def specs(n: int = N_CASES, seed: int = SEED) -> list[Spec]:
    """The seeded case list: a quarter each of shake, motion, Gaussian and defocus blur."""
    rng = np.random.default_rng(seed)
    blurs = ("shake", "motion", "gaussian", "defocus")
    out = []
    for i in range(n):
        blur = blurs[i % 4]
        scene = SCENES[rng.integers(len(SCENES))]
        colour = bool(_SKIMAGE[scene] and rng.uniform() < 0.6)
        if blur in ("shake", "motion"):
            size: float = int(rng.integers(9, 42))
        elif blur == "gaussian":
            size = round(float(rng.uniform(1.0, 4.0)), 2)
        else:
            size = round(float(rng.uniform(2.0, 8.0)), 2)
        noise = round(float(np.exp(rng.uniform(np.log(0.0025), np.log(0.03)))), 4)
        quantised = bool(rng.uniform() < 0.7)
        gamma = bool(rng.uniform() < 0.25)
        out.append(Spec(i, seed + 1 + i, scene, colour, blur, size, noise, quantised, gamma))
    return out


def _kernel(spec: Spec, rng: np.random.Generator) -> np.ndarray:
    if spec.blur == "shake":
        return shake_kernel(rng, int(spec.blur_size))
    if spec.blur == "motion":
        return psf_models.motion(int(spec.blur_size), angle=float(rng.uniform(0, 180)))
    if spec.blur == "gaussian":
        return psf_models.gaussian(spec.blur_size)
    return psf_models.disk(spec.blur_size)


def _valid(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    if x.ndim == 2:
        return signal.fftconvolve(x, k, mode="valid")
    return np.stack([signal.fftconvolve(x[..., c], k, mode="valid") for c in range(3)], -1)


@functools.cache
def build(spec: Spec) -> Case:
    """Generate the case (deterministic in ``spec.seed``)."""
    rng = np.random.default_rng(spec.seed)
    k = np.asarray(_kernel(spec, rng), dtype=np.float64)
    k /= k.sum()
    p = k.shape
    scene = _scene(spec.scene)
    if not spec.colour and scene.ndim == 3:
        scene = scene @ np.array([0.299, 0.587, 0.114])
    side = COLOUR_SIZE if spec.colour else GREY_SIZE
    need = (side + p[0] - 1, side + p[1] - 1)
    lo = max(need[0] / scene.shape[0], need[1] / scene.shape[1])
    factor = max(lo, float(rng.uniform(0.5, 1.0)))
    if factor != 1.0:
        scene = rescale(scene, factor, order=3, anti_aliasing=factor < 1,
                        channel_axis=-1 if scene.ndim == 3 else None)  # fmt: skip
    scene = np.clip(scene, 0.0, 1.0)
    r0 = int(rng.integers(0, scene.shape[0] - need[0] + 1))
    c0 = int(rng.integers(0, scene.shape[1] - need[1] + 1))
    x = scene[r0 : r0 + need[0], c0 : c0 + need[1]]
    c = [q - 1 - q // 2 for q in p]
    reference = x[c[0] : c[0] + side, c[1] : c[1] + side]
    if spec.gamma:  # blur in linear light, observe the encoded values
        y = linear_to_srgb(np.clip(_valid(srgb_to_linear(x), k), 0.0, 1.0))
    else:
        y = _valid(x, k)
    y = y + spec.noise * rng.standard_normal(y.shape)
    if spec.quantised:
        y = np.round(np.clip(y, 0.0, 1.0) * 255) / 255
    return Case(spec, y.astype(np.float32), k, reference)


def psnr(estimate: np.ndarray, reference: np.ndarray) -> float:
    err = np.mean((np.clip(estimate, 0.0, 1.0) - reference) ** 2)
    return float(10 * np.log10(1.0 / err))


def default_restore(y: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, dict]:
    """``unblur.deconvolve`` defaults; returns the estimate and its ``info``."""
    info: dict = {}
    out = unblur.deconvolve(y, k, channel_axis=-1 if y.ndim == 3 else None, info=info)
    return out, info


def _iterations(info: dict) -> float:
    """Mean ADMM iterations over channels (nan when the method reports none)."""
    found = []

    def walk(d):
        if isinstance(d, dict):
            if "iterations" in d and isinstance(d["iterations"], int | float):
                found.append(float(d["iterations"]))
            for v in d.values():
                walk(v)
        elif isinstance(d, list | tuple):
            for v in d:
                walk(v)

    walk(info)
    return float(np.mean(found)) if found else float("nan")


def evaluate(
    restore: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, dict]] = default_restore,
    indices: list[int] | None = None,
    n: int = N_CASES,
) -> list[dict]:
    """Run ``restore`` on the cases; one record per case (PSNR in, PSNR out, iterations)."""
    records = []
    for spec in specs(n):
        if indices is not None and spec.index not in indices:
            continue
        case = build(spec)
        start = time.perf_counter()
        out, info = restore(case.observed, case.kernel)
        seconds = time.perf_counter() - start
        records.append(
            {
                **asdict(spec),
                "name": spec.name,
                "psnr_blurred": psnr(case.observed, case.reference),
                "psnr": psnr(out, case.reference),
                "iterations": _iterations(info),
                "seconds": seconds,
            }
        )
    return records


def summary(records: list[dict]) -> dict:
    """Means over all cases and per blur class and observation kind."""
    groups: dict[str, list[dict]] = {"all": records}
    for r in records:
        groups.setdefault(r["blur"], []).append(r)
        groups.setdefault("gamma" if r["gamma"] else "exact", []).append(r)
        groups.setdefault("rgb" if r["colour"] else "grey", []).append(r)
    return {
        key: {
            "n": len(rs),
            "psnr": float(np.mean([r["psnr"] for r in rs])),
            "gain": float(np.mean([r["psnr"] - r["psnr_blurred"] for r in rs])),
            "iterations": float(np.nanmean([r["iterations"] for r in rs])),
        }
        for key, rs in groups.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", help=f"case indices, e.g. 0-15 (default: all {N_CASES})")
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "nonblind_broad.json")
    parser.add_argument("--per-case", action="store_true", help="print every case")
    args = parser.parse_args(argv)
    indices = parse_ranges(args.cases, lo=0, hi=N_CASES - 1) if args.cases else None
    console = Console(width=160) if not Console().is_terminal else Console()
    records = evaluate(indices=indices)
    if args.per_case:
        table = Table(title="non-blind broad set, deconvolve defaults, true kernels")
        for col in ("case", "noise", "8-bit", "gamma", "blurred", "restored", "iterations"):
            table.add_column(col, justify="left" if col == "case" else "right")
        for r in records:
            table.add_row(r["name"], fmt(100 * r["noise"]), str(r["quantised"]),
                          str(r["gamma"]), fmt(r["psnr_blurred"]), fmt(r["psnr"], 3),
                          fmt(r["iterations"], 1))  # fmt: skip
        console.print(table)
    groups = summary(records)
    table = Table(title="means (PSNR dB, peak 1, whole frame)")
    for col in ("group", "n", "restored", "gain over blurred", "iterations"):
        table.add_column(col, justify="left" if col == "group" else "right")
    for key, g in groups.items():
        table.add_row(key, str(g["n"]), fmt(g["psnr"], 3), fmt(g["gain"], 2, signed=True),
                      fmt(g["iterations"], 1))  # fmt: skip
    console.print(table)
    payload = {
        "benchmark": "non-blind broad set (true kernels), deconvolve defaults",
        "date": now_iso(),
        "command": [Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])],
        "machine": machine_info(),
        "seed": SEED,
        "summary": groups,
        "cases": records,
    }
    write_json(args.json, payload)
    console.print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
