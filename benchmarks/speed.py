"""Speed and memory of unblur's deconvolution against the FFT floor and scikit-image.

For each image size and PSF size, in one run:

* the **FFT floor**: median time of one ``rfftn`` + ``irfftn`` pair on the grid the method
  works on (its default boundary's padded shape), same dtype and worker count, measured just
  before and just after each method (the machine's load drifts);
* unblur's methods (``richardson_lucy`` 30 iterations, ``wiener`` and ``tikhonov`` with their
  automatic parameters and with a given one, ``tv``, ``hyper_laplacian``) and the
  scikit-image equivalents on the same data: ``restoration.richardson_lucy`` given the float32
  image and called as its documentation shows (a uint8 photograph through ``img_as_float``,
  i.e. float64), ``restoration.wiener`` with the same balance;
* peak traced memory (``tracemalloc``; numpy and scipy.fft buffers are traced) as a multiple of
  the image's bytes (the input itself not counted, the result counted). Not traced: Numba's
  per-thread scratch in the fused ADMM passes and pocketfft's per-line buffers (well under a
  megabyte here; ``irfftn_into`` avoids pocketfft's untraced grid-sized multi-axis buffer).

Printed ratios: ``pairs equiv.`` = time / floor (the cost in FFT-pair equivalents, issue
15's measure); ``x floor`` = time / (transform pairs the method needs x floor), where
Richardson-Lucy needs 2 pairs per iteration, Wiener and Tikhonov 1 pair and the ADMM methods
(``unknown`` boundary) 2 pairs per iteration (blank where a stopping rule decides);
``skimage / unblur`` = how many times faster unblur is. Times are medians of ``--repeat``
runs (scikit-image's float64 Richardson-Lucy on the 2048 x 2048 images: one run). Results go
to a JSON file.

Run ``python benchmarks/speed.py`` (full, about 20 minutes on 2 busy cores) or ``--quick``.
A method is given as ``name`` or ``name:param=value,...`` (``--methods``, separated by ``;``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from _common import machine_info, now_iso, write_json
from rich.console import Console
from rich.table import Table
from skimage import data, restoration, transform
from skimage.util import img_as_float

import unblur
from unblur import fft, psf
from unblur.operators import Boundary
from unblur.restore import get_method

ROOT = Path(__file__).resolve().parents[1]
NUM_ITER = 30
#: the rows: unblur method and parameters (Richardson-Lucy with NUM_ITER iterations)
DEFAULT_METHODS = (
    "auto;richardson_lucy;wiener;wiener:balance=0.01;tikhonov;tikhonov:lam=0.001;tv;hyper_laplacian"
)
#: transform pairs (one rfftn + one irfftn) per iteration, to express time in floors
PAIRS_PER_ITERATION = {"richardson_lucy": 2, "tv": 2, "hyper_laplacian": 2, "landweber": 2}
#: the ADMM methods (and ``auto``, which is ``tv``): benchmarked up to ``--admm-max-pixels``
ADMM = ("tv", "hyper_laplacian", "auto")
#: transform pairs of the direct methods
PAIRS_DIRECT = {"wiener": 1, "tikhonov": 1, "inverse": 1}


def parse_method(text: str) -> tuple[str, dict]:
    """``"wiener:balance=0.01"`` -> ``("wiener", {"balance": 0.01})``.

    Values are read as int, float, or left as text (``boundary=taper``).
    """
    name, _, rest = text.partition(":")
    params: dict = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        value = value.strip()
        for kind in (int, float):
            try:
                params[key.strip()] = kind(value)
                break
            except ValueError:
                continue
        else:
            params[key.strip()] = value
    if name == "richardson_lucy":
        params.setdefault("num_iter", NUM_ITER)
    return name.strip(), params


def pairs_for(method: str, params: dict) -> int | None:
    """Transform pairs one call needs (None when unknown: a stopping rule decides)."""
    if method in ("auto", "fast") or (method in ADMM and params.get("tol", 0) is not None):
        return None
    if method in PAIRS_DIRECT:
        return PAIRS_DIRECT[method]
    if method in PAIRS_PER_ITERATION:
        num_iter = params.get("num_iter")
        if num_iter is None:
            num_iter = get_method(method).parameters["num_iter"].default
        return PAIRS_PER_ITERATION[method] * int(num_iter)
    return None


def _median_time(func: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _peak_memory(func: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_image(shape: tuple[int, ...]) -> np.ndarray:
    """A natural uint8 photograph (scikit-image camera) resized to ``shape`` (3-D: tiled)."""
    cam = data.camera()
    if len(shape) == 2:
        img = transform.resize(cam, shape, order=1, preserve_range=True, anti_aliasing=False)
        return img.astype(np.uint8)
    plane = transform.resize(cam, shape[1:], order=1, preserve_range=True)
    z = np.linspace(0.6, 1.0, shape[0])[:, None, None]
    return (plane[None] * z).astype(np.uint8)


def _skimage_docs_rl(y_u8: np.ndarray, k: np.ndarray) -> np.ndarray:
    """scikit-image Richardson-Lucy called the way its documentation shows (uint8 -> float)."""
    return restoration.richardson_lucy(img_as_float(y_u8), k, num_iter=NUM_ITER)


def default_boundary(method: str) -> str:
    if method in ("auto", "fast"):
        from unblur.restore import resolve

        method = resolve(method, (64, 64)).name
    param = get_method(method).parameters.get("boundary")
    return param.default if param is not None else "periodic"


def floor_time(grid: tuple[int, ...], dtype, repeat: int) -> list[float]:
    """Times of ``repeat`` rfftn + irfftn pairs on ``grid`` (unblur's transforms).

    Always scipy.fft's (whatever ``--fft`` chose), so ``x floor`` stays comparable across runs.
    """
    x = np.random.default_rng(0).random(grid).astype(dtype)
    backend = fft.get_library()
    fft.set_library("scipy")
    try:
        fft.irfftn(fft.rfftn(x), grid)  # warm-up
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            fft.irfftn(fft.rfftn(x), grid)
            times.append(time.perf_counter() - start)
    finally:
        fft.set_library(backend)
    return times


def cases(quick: bool, given: str | None = None) -> list[tuple[tuple[int, ...], int]]:
    if given:  # "1024x1024:15,2048x2048:15"
        out = []
        for item in given.split(","):
            shape, _, size = item.partition(":")
            out.append((tuple(int(n) for n in shape.split("x")), int(size)))
        return out
    if quick:
        return [((512, 512), 15), ((1024, 1024), 15)]
    return [
        ((512, 512), 15),
        ((512, 512), 63),
        ((1024, 1024), 15),
        ((1024, 1024), 63),
        ((2048, 2048), 15),
        ((2048, 2048), 63),
        ((128, 256, 256), 15),
    ]


def kernel_for(ndim: int, size: int) -> np.ndarray:
    if ndim == 2:
        return psf.motion(size - 2, angle=30)
    return psf.gaussian((1.5, size / 8, size / 8), size=(9, size, size))


def run(args: argparse.Namespace) -> dict:
    console = Console()
    rows_spec = [parse_method(m) for m in args.methods.split(";") if m.strip()]
    rows_spec = [(m, p) for m, p in rows_spec if m in (*unblur.available_methods(), "auto", "fast")]
    rows = []
    for shape, ksize in cases(args.quick, args.cases):
        photo = test_image(shape)
        k = kernel_for(len(shape), ksize)
        y32 = unblur.blur(photo, k).astype(np.float32)
        y_u8 = np.clip(np.rint(y32 * 255), 0, 255).astype(np.uint8)
        big = np.prod(shape) >= 2048 * 2048
        for method, params in rows_spec:
            if method in ADMM and np.prod(shape) > args.admm_max_pixels:
                continue  # 150 iterations of ADMM on 4-8 megapixels: minutes per run
            boundary = params.get("boundary", default_boundary(method))
            grid = Boundary.create(boundary, shape, k).grid_shape
            floors = floor_time(grid, np.float32, args.repeat)
            run_it = partial(unblur.deconvolve, y32, k, method, **params)
            if not big:
                run_it()  # warm-up (imports, caches)
            ours = _median_time(run_it, args.repeat)
            floors += floor_time(grid, np.float32, args.repeat)
            floor = statistics.median(floors)
            pairs = pairs_for(method, params)
            row = {
                "shape": list(shape),
                "psf": ksize,
                "method": method,
                "params": params,
                "boundary": boundary,
                "grid": list(grid),
                "floor_s": floor,
                "unblur_s": ours,
                "pairs": pairs,
                "floor_ratio": ours / (pairs * floor) if pairs else None,
                "pair_equivalents": ours / floor,
            }
            if not args.no_memory:
                row["unblur_peak_x_image"] = _peak_memory(run_it) / y32.nbytes
            if method == "richardson_lucy" and len(shape) == 2:
                sk_f32 = _median_time(
                    partial(restoration.richardson_lucy, y32, k, num_iter=NUM_ITER), args.repeat
                )
                sk_docs = _median_time(
                    partial(_skimage_docs_rl, y_u8, k), 1 if big else args.repeat
                )
                row.update(
                    skimage_float32_s=sk_f32,
                    skimage_docs_s=sk_docs,
                    speedup_vs_skimage_float32=sk_f32 / ours,
                    speedup_vs_skimage_docs=sk_docs / ours,
                )
                if not args.no_memory:
                    peak = _peak_memory(
                        partial(restoration.richardson_lucy, y32, k, num_iter=NUM_ITER)
                    )
                    row["skimage_peak_x_image"] = peak / y32.nbytes
            if method == "wiener" and "balance" in params and len(shape) == 2:
                balance = params["balance"]
                sk = _median_time(partial(restoration.wiener, y32, k, balance=balance), args.repeat)
                row.update(skimage_s=sk, speedup_vs_skimage=sk / ours)
                if not args.no_memory:
                    peak = _peak_memory(partial(restoration.wiener, y32, k, balance=balance))
                    row["skimage_peak_x_image"] = peak / y32.nbytes
            rows.append(row)
            console.log(_describe(row))
    return {
        "date": now_iso(),
        "machine": {**machine_info(), "fft_backend": fft.get_library()},
        "command": " ".join(sys.argv),
        "num_iter": NUM_ITER,
        "rows": rows,
    }


def _label(row: dict) -> str:
    extra = {k: v for k, v in row.get("params", {}).items() if k != "num_iter"}
    return row["method"] + (
        "("
        + ",".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in extra.items())
        + ")"
        if extra
        else ""
    )


def _describe(row: dict) -> str:
    shape = "x".join(map(str, row["shape"]))
    return f"{_label(row):>24} {shape:>11} psf {row['psf']:>2}: {row['unblur_s']:.3f} s"


def _fmt(value, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def print_table(result: dict) -> None:
    table = Table(title=f"unblur speed ({result['machine']['cpu_count']} cores, float32)")
    for col in (
        "method",
        "image",
        "psf",
        "boundary",
        "floor ms",
        "unblur s",
        "pairs equiv.",
        "x floor",
        "skimage s",
        "skimage/unblur",
        "skimage(docs)/unblur",
        "peak mem x img",
        "skimage mem x img",
    ):
        table.add_column(col, justify="right")
    for r in result["rows"]:
        sk = r.get("skimage_float32_s", r.get("skimage_s"))
        speed = r.get("speedup_vs_skimage_float32", r.get("speedup_vs_skimage"))
        table.add_row(
            _label(r),
            "x".join(map(str, r["shape"])),
            str(r["psf"]),
            r["boundary"],
            f"{1000 * r['floor_s']:.1f}",
            f"{r['unblur_s']:.3f}",
            f"{r['pair_equivalents']:.0f}",
            _fmt(r["floor_ratio"]),
            _fmt(sk, ".3f"),
            _fmt(speed),
            _fmt(r.get("speedup_vs_skimage_docs")),
            _fmt(r.get("unblur_peak_x_image"), ".1f"),
            _fmt(r.get("skimage_peak_x_image"), ".1f"),
        )
    Console().print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two small cases only")
    parser.add_argument(
        "--cases", help="image shapes and PSF sizes, e.g. 1024x1024:15,2048x2048:15"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (median)")
    parser.add_argument(
        "--methods",
        default=DEFAULT_METHODS,
        help="unblur methods, ';'-separated, each name or name:param=value,...",
    )
    parser.add_argument("--workers", type=int, default=-1, help="FFT threads (-1: all cores)")
    parser.add_argument(
        "--fft",
        choices=("auto", "scipy", "pyfftw"),
        default="scipy",
        help="FFT backend of the methods (the floor is always scipy.fft's)",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip tracemalloc runs")
    parser.add_argument(
        "--admm-max-pixels",
        type=int,
        default=2048 * 2048,
        help="largest image (pixels) on which tv, hyper_laplacian and auto are run",
    )
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "speed.json")
    args = parser.parse_args(argv)
    fft.set_workers(args.workers)
    fft.set_library(args.fft)
    result = run(args)
    print_table(result)
    write_json(args.json, result)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
