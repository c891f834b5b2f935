"""GPU against CPU: the same unblur methods on ``device="cuda"`` and on the CPU, same run.

For each image size and every GPU-capable method (``unblur.deconvolve(..., device=...)``, so
each with its own default boundary and parameters; Richardson-Lucy with 30 iterations), the
script times the method on the CPU (NumPy / scipy.fft, all cores) and on the device (CuPy /
cuFFT), end to end: host-to-device copy, the method, device-to-host copy (which also
synchronises the GPU). One untimed warm-up run on the device first compiles CuPy's kernels
and builds the cuFFT plans. It checks that both agree, ``max |gpu - cpu| / max |cpu|``, and
prints the speed-up ``cpu s / device s``. Times are medians of ``--repeat`` runs; results go
to a JSON file.

Run on a machine with a CUDA GPU and ``pip install 'unblur[cuda]'``::

    python benchmarks/speed_gpu.py                     # 512, 1024, 2048 squared, float32
    python benchmarks/speed_gpu.py --quick             # 256 squared only
    python benchmarks/speed_gpu.py --device cpu --quick  # smoke test without a GPU

Without a GPU, ``--device cuda`` stops with unblur's one-line message.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from _common import machine_info, now_iso, write_json
from rich.console import Console
from rich.table import Table
from skimage import data, transform

import unblur
from unblur import psf
from unblur.backend import get_backend
from unblur.errors import UnblurError
from unblur.restore import available_methods, get_method

ROOT = Path(__file__).resolve().parents[1]
#: parameters that differ from the defaults (as in speed.py: 30 Richardson-Lucy iterations)
PARAMS = {"richardson_lucy": {"num_iter": 30}}


def camera(shape: tuple[int, int]) -> np.ndarray:
    """scikit-image's camera photograph resized to ``shape``, float32 in [0, 1]."""
    img = transform.resize(data.camera(), shape, order=1, preserve_range=True)
    return (img / 255.0).astype(np.float32)


def _median_time(func, repeat: int) -> tuple[float, np.ndarray]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def run(args: argparse.Namespace) -> dict:
    backend = get_backend(args.device)
    methods = args.methods.split(",") if args.methods else None
    methods = methods or [m for m in available_methods() if get_method(m).gpu]
    sizes = [256] if args.quick else args.sizes
    k = psf.motion(15, angle=30)
    rows = []
    for n in sizes:
        x = camera((n, n))
        y = unblur.add_noise(unblur.blur(x, k, boundary="valid"), gaussian=0.01, rng=0)
        for method in methods:
            params = PARAMS.get(method, {})

            def on(device: str, method=method, params=params, y=y) -> np.ndarray:
                return unblur.deconvolve(y, k, method=method, device=device, **params)

            on(backend.name)  # warm-up: kernels compiled, FFT plans built
            cpu_s, cpu = _median_time(lambda on=on: on("cpu"), args.repeat)
            dev_s, dev = _median_time(lambda on=on: on(backend.name), args.repeat)
            scale = float(np.abs(cpu).max()) or 1.0
            row = {
                "method": method,
                "shape": list(y.shape),
                "cpu_s": cpu_s,
                "device_s": dev_s,
                "speedup": cpu_s / dev_s,
                "max_rel_diff": float(np.abs(dev - cpu).max()) / scale,
                "psnr_vs_cpu_db": float(unblur.metrics.psnr(dev, cpu, data_range=scale)),
            }
            rows.append(row)
            print(
                f"{method:>16} {n}^2: cpu {cpu_s:.3f} s, {backend.name} {dev_s:.4f} s "
                f"(x{row['speedup']:.1f}), max rel diff {row['max_rel_diff']:.1e}",
                file=sys.stderr,
            )
    device_name = backend.name
    if backend.name == "cuda":
        props = backend.xp.cuda.runtime.getDeviceProperties(backend.xp.cuda.Device().id)
        device_name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    return {
        "date": now_iso(),
        "machine": {
            **machine_info(),
            "device": device_name,
            "cupy": getattr(backend.xp, "__version__", None) if backend.name == "cuda" else None,
        },
        "dtype": "float32",
        "psf": "motion(15, angle=30)",
        "rows": rows,
    }


def print_table(result: dict) -> None:
    machine = result["machine"]
    table = Table(title=f"unblur on {machine['device']} vs {machine['cpu_count']} CPU cores")
    for col in ("method", "image", "cpu s", "device s", "speed-up", "max rel diff", "PSNR dB"):
        table.add_column(col, justify="right")
    for r in result["rows"]:
        table.add_row(
            r["method"],
            "x".join(map(str, r["shape"])),
            f"{r['cpu_s']:.3f}",
            f"{r['device_s']:.4f}",
            f"{r['speedup']:.1f}",
            f"{r['max_rel_diff']:.1e}",
            f"{r['psnr_vs_cpu_db']:.1f}",
        )
    Console().print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="device to compare with the CPU")
    parser.add_argument("--quick", action="store_true", help="one 256 x 256 case per method")
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048])
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (median)")
    parser.add_argument("--methods", default="", help="comma-separated (default: GPU-capable)")
    parser.add_argument(
        "--json", type=Path, default=ROOT / "benchmarks" / "results" / "speed_gpu.json"
    )
    args = parser.parse_args(argv)
    try:
        result = run(args)
    except UnblurError as exc:
        print(f"speed_gpu: error: {exc}", file=sys.stderr)
        return 1
    print_table(result)
    write_json(args.json, result)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
