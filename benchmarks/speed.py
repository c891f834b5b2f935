"""Speed and memory of unblur's deconvolution against the FFT floor and scikit-image.

For each image size and PSF size, in one run:

* the **FFT floor**: median time of one ``rfftn`` + ``irfftn`` pair on the grid the method
  works on (its default boundary's padded shape), same dtype and worker count;
* unblur's methods (``richardson_lucy`` 30 iterations, ``wiener``, ``tv``, ``hyper_laplacian``,
  whichever are registered) and the scikit-image equivalents on the same data;
* peak traced memory (``tracemalloc``; numpy and scipy.fft buffers are traced) as a multiple of
  the image's bytes.

Printed ratios: ``floor x`` = time / (transform pairs the method needs x floor), where
Richardson-Lucy needs 2 pairs per iteration and Wiener 1 pair; ``skimage / unblur`` = how many
times faster unblur is. Times are medians of ``--repeat`` runs. Results go to a JSON file.

Run ``python benchmarks/speed.py`` (full, several minutes on 2 cores) or ``--quick``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import numpy as np
import scipy
import scipy.fft
import skimage
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
#: transform pairs (one rfftn + one irfftn) each method needs, to express time in floors
PAIRS = {"richardson_lucy": 2 * NUM_ITER, "wiener": 1, "tikhonov": 1}


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
    param = get_method(method).parameters.get("boundary")
    return param.default if param is not None else "periodic"


def floor_time(grid: tuple[int, ...], dtype, repeat: int) -> float:
    x = np.random.default_rng(0).random(grid).astype(dtype)
    x_hat = fft.rfftn(x)
    return _median_time(lambda: fft.irfftn(fft.rfftn(x), grid), repeat) if x_hat.size else 0.0


def cases(quick: bool) -> list[tuple[tuple[int, ...], int]]:
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
    methods = [m for m in args.methods.split(",") if m in unblur.available_methods()]
    rows = []
    for shape, ksize in cases(args.quick):
        photo = test_image(shape)
        k = kernel_for(len(shape), ksize)
        y32 = unblur.blur(photo, k).astype(np.float32)
        y_u8 = np.clip(np.rint(y32 * 255), 0, 255).astype(np.uint8)
        big = np.prod(shape) >= 2048 * 2048
        repeat = 1 if big else args.repeat
        for method in methods:
            boundary = default_boundary(method)
            grid = Boundary.create(boundary, shape, k).grid_shape
            floor = floor_time(grid, np.float32, args.repeat)
            params = {"num_iter": NUM_ITER} if method == "richardson_lucy" else {}
            ours = _median_time(partial(unblur.deconvolve, y32, k, method, **params), repeat)
            row = {
                "shape": list(shape),
                "psf": ksize,
                "method": method,
                "boundary": boundary,
                "grid": list(grid),
                "floor_s": floor,
                "unblur_s": ours,
                "floor_ratio": ours / (PAIRS[method] * floor) if method in PAIRS else None,
            }
            if not args.no_memory:
                peak = _peak_memory(partial(unblur.deconvolve, y32, k, method, **params))
                row["unblur_peak_x_image"] = peak / y32.nbytes
            if method == "richardson_lucy" and len(shape) == 2:
                sk_f32 = _median_time(
                    partial(restoration.richardson_lucy, y32, k, num_iter=NUM_ITER), repeat
                )
                sk_docs = _median_time(
                    partial(_skimage_docs_rl, y_u8, k),
                    repeat,
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
            if method == "wiener" and len(shape) == 2:
                sk = _median_time(partial(restoration.wiener, y32, k, balance=0.01), repeat)
                row.update(skimage_s=sk, speedup_vs_skimage=sk / ours)
            rows.append(row)
            console.log(_describe(row))
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "skimage": skimage.__version__,
            "unblur": unblur.__version__,
            "workers": fft.get_workers(),
        },
        "num_iter": NUM_ITER,
        "rows": rows,
    }


def _describe(row: dict) -> str:
    shape = "x".join(map(str, row["shape"]))
    return f"{row['method']:>16} {shape:>11} psf {row['psf']:>2}: {row['unblur_s']:.3f} s"


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
            r["method"],
            "x".join(map(str, r["shape"])),
            str(r["psf"]),
            r["boundary"],
            f"{1000 * r['floor_s']:.1f}",
            f"{r['unblur_s']:.3f}",
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
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (median)")
    parser.add_argument(
        "--methods",
        default="richardson_lucy,wiener,tikhonov,tv,hyper_laplacian",
        help="comma-separated unblur methods",
    )
    parser.add_argument("--workers", type=int, default=-1, help="FFT threads (-1: all cores)")
    parser.add_argument("--no-memory", action="store_true", help="skip tracemalloc runs")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "speed.json")
    args = parser.parse_args(argv)
    fft.set_workers(args.workers)
    result = run(args)
    print_table(result)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
