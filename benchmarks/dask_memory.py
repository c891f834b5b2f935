"""Peak worker memory of chunked deconvolution (unblur.dask) against image size.

For each image size a synthetic blurred, noisy float32 image (tiles of the camera photograph)
is written to disk chunk-wise, then restored file-to-file on a local ``dask.distributed``
cluster of process workers with a memory limit smaller than the image:

    from_file(input) -> unblur.dask.deconvolve(...) -> to_file(output)

While it runs, the resident memory (RSS) of every worker process is sampled from outside (20
times a second, with psutil). If memory is bounded by the chunk size, the peak stays flat while
the image grows. For comparison, the peak memory of a whole-image ``unblur.deconvolve`` (in a
fresh subprocess) is measured for the sizes up to ``--whole-max``. A random 1024 x 1024 window
of the chunked result is checked against a whole-image run on a crop around it.

Usage::

    python benchmarks/dask_memory.py                      # 2048² to 8192², about a minute
    python benchmarks/dask_memory.py --sizes 2048 4096 8192 12288   # + a 576 MB image
    python benchmarks/dask_memory.py --sizes 2048 4096 --method richardson_lucy

With the defaults (two process workers limited to 256 MB each, 512² chunks, Wiener) the 8192²
float32 image (256 MB) is larger than a worker's limit and 12288² (576 MB) larger than both
together; the workers' peak stays near 180-200 MB of which about 125-150 MB is the idle
interpreter, while a whole-image run needs about ten times the image size.

Prints a table and writes JSON (default ``benchmarks/results/dask_memory.json``).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from _common import machine_info, write_json

import unblur
from unblur import dask as ud
from unblur import psf

PARAMS = {
    "wiener": {"balance": 1e-3},
    "inverse": {"epsilon": 1e-2},
    "tikhonov": {"lam": 3e-3},
    "richardson_lucy": {"num_iter": 10, "acceleration": False},
}


def _tile(block_info=None, *, tile: np.ndarray) -> np.ndarray:
    """One block of the synthetic image: the tiled photograph at the block's location."""
    loc = block_info[None]["array-location"]
    rows = np.arange(*loc[0]) % tile.shape[0]
    cols = np.arange(*loc[1]) % tile.shape[1]
    return tile[np.ix_(rows, cols)]


def make_input(path: Path, size: int, kernel: np.ndarray, chunk: int) -> None:
    """Write a size x size blurred noisy float32 image to ``path``, chunk-wise."""
    import dask
    import dask.array as da
    from skimage import data

    scene = data.camera().astype(np.float32) / 255  # 512 x 512, mirrored so tiles join
    scene = np.block([[scene, scene[:, ::-1]], [scene[::-1], scene[::-1, ::-1]]])
    blurred = unblur.blur(scene, kernel, boundary="periodic")
    tile = unblur.add_noise(blurred, gaussian=0.005, rng=0)
    arr = da.map_blocks(
        _tile,
        tile=tile,
        chunks=da.core.normalize_chunks((chunk, chunk), (size, size)),
        dtype=np.float32,
        meta=np.empty((0, 0), np.float32),
    )
    with dask.config.set(scheduler="threads"):
        ud.to_file(arr, path, force=True)


class RssSampler:
    """Samples the RSS of some processes from a background thread; keeps the peak of each."""

    def __init__(self, pids: list[int], interval: float = 0.05):
        import psutil

        self.procs = {pid: psutil.Process(pid) for pid in pids}
        self.peak = {pid: 0 for pid in pids}
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid, proc in self.procs.items():
                try:
                    self.peak[pid] = max(self.peak[pid], proc.memory_info().rss)
                except Exception:  # a worker restarted by the nanny: recorded as a failure
                    self.peak[pid] = max(self.peak[pid], -1)
            time.sleep(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def whole_image_peak(path: Path, method: str, params: dict, sigma: float) -> float:
    """Peak RSS (MB) of a fresh process that restores the whole image in memory."""
    code = (
        "import resource, numpy as np, unblur\n"
        "from unblur import psf\n"
        f"y = np.load({str(path)!r})\n"
        f"unblur.deconvolve(y, psf.gaussian({sigma}), {method!r}, **{params!r})\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024  # kB -> MB on Linux


def check_window(inp: Path, out: Path, kernel, method, params, overlap: int, rng) -> float:
    """Max |chunked - whole-image| over a 1024² window, restored whole from a padded crop."""
    y = np.load(inp, mmap_mode="r")
    x = np.load(out, mmap_mode="r")
    n = y.shape[0]
    pad = 4 * overlap
    w = min(1024, n - 2 * pad)
    r0, c0 = (int(v) for v in rng.integers(pad, n - w - pad + 1, size=2))
    crop = np.array(y[r0 - pad : r0 + w + pad, c0 - pad : c0 + w + pad])
    ref = unblur.deconvolve(crop, kernel, method, boundary="reflect", **params)[pad:-pad, pad:-pad]
    return float(np.abs(np.array(x[r0 : r0 + w, c0 : c0 + w]) - ref).max())


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 4096, 8192])
    parser.add_argument("--chunk", type=int, default=512)
    parser.add_argument("--method", default="wiener", choices=sorted(PARAMS))
    parser.add_argument("--sigma", type=float, default=2.0, help="Gaussian PSF sigma (px)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="256MB", help="per worker")
    parser.add_argument("--whole-max", type=int, default=8192, help="largest whole-image run")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--json", type=Path, default=Path(__file__).parent / "results" / "dask_memory.json"
    )
    args = parser.parse_args(argv)

    from dask.utils import parse_bytes
    from distributed import Client, LocalCluster

    kernel = psf.gaussian(args.sigma)
    params = PARAMS[args.method]
    overlap = ud.default_overlap(kernel)[0]
    limit_mb = parse_bytes(args.memory_limit) / 2**20
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="unblur-dask-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = []
    try:
        with (
            LocalCluster(
                n_workers=args.workers,
                threads_per_worker=1,
                processes=True,
                memory_limit=args.memory_limit,
                dashboard_address=None,
                silence_logs=logging.ERROR,  # not the "unmanaged memory" notes at 60 %
            ) as cluster,
            Client(cluster) as client,
        ):
            client.run(lambda: __import__("unblur.dask"))  # import cost outside the timing
            pids = list(client.run(os.getpid).values())
            for size in args.sizes:
                inp, out = workdir / f"in_{size}.npy", workdir / f"out_{size}.npy"
                make_input(inp, size, kernel, args.chunk)
                client.run(__import__("gc").collect)
                base = {pid: 0 for pid in pids}
                with RssSampler(pids) as idle:
                    time.sleep(0.3)
                base = idle.peak
                lazy = ud.deconvolve(
                    ud.from_file(inp, chunks=args.chunk), kernel, args.method, **params
                )
                start = time.perf_counter()
                with RssSampler(pids) as sampler:
                    ud.to_file(lazy, out, force=True)
                seconds = time.perf_counter() - start
                alive = list(client.run(os.getpid).values())
                peak = max(sampler.peak.values()) / 2**20
                base_mb = max(base.values()) / 2**20
                whole = (
                    whole_image_peak(inp, args.method, params, args.sigma)
                    if size <= args.whole_max
                    else None
                )
                error = check_window(inp, out, kernel, args.method, params, overlap, rng)
                image_mb = size * size * 4 / 2**20
                rows.append(
                    {
                        "size": size,
                        "image_mb": round(image_mb, 1),
                        "blocks": len(lazy.to_delayed().ravel()),
                        "worker_limit_mb": round(limit_mb),
                        "worker_idle_mb": round(base_mb, 1),
                        "worker_peak_mb": round(peak, 1),
                        "worker_peak_minus_idle_mb": round(peak - base_mb, 1),
                        "whole_image_peak_mb": None if whole is None else round(whole, 1),
                        "seconds": round(seconds, 2),
                        "megapixels_per_s": round(size * size / 1e6 / seconds, 2),
                        "max_abs_diff_vs_whole": error,
                        "workers_survived": alive == pids,  # a nanny restart changes the pid
                    }
                )
                inp.unlink()
                out.unlink()
                print(f"done {size}: {rows[-1]}", file=sys.stderr, flush=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    header = (
        f"{'image':>13} {'MB':>7} {'blocks':>6} {'limit':>6} {'idle':>6} {'peak':>6} "
        f"{'peak-idle':>9} {'whole':>7} {'s':>7} {'MP/s':>6} {'max diff':>9}"
    )
    print(
        f"unblur.dask memory: method {args.method} {params}, Gaussian sigma {args.sigma} "
        f"(overlap {overlap}), chunks {args.chunk}, {args.workers} process workers "
        f"x 1 thread, limit {args.memory_limit} each; RSS in MB"
    )
    print(header)
    for r in rows:
        whole = "-" if r["whole_image_peak_mb"] is None else f"{r['whole_image_peak_mb']:.0f}"
        print(
            f"{r['size']:>6}x{r['size']:<6} {r['image_mb']:>7.0f} {r['blocks']:>6} "
            f"{r['worker_limit_mb']:>6} {r['worker_idle_mb']:>6.0f} {r['worker_peak_mb']:>6.0f} "
            f"{r['worker_peak_minus_idle_mb']:>9.0f} {whole:>7} {r['seconds']:>7.1f} "
            f"{r['megapixels_per_s']:>6.1f} {r['max_abs_diff_vs_whole']:>9.1e}"
        )
    result = {
        "benchmark": "dask_memory",
        "method": args.method,
        "params": params,
        "psf": f"gaussian(sigma={args.sigma})",
        "overlap": overlap,
        "chunk": args.chunk,
        "workers": args.workers,
        "memory_limit": args.memory_limit,
        "machine": machine_info(),
        "rows": rows,
    }
    write_json(args.json, result)
    print(f"wrote {args.json}")
    return result


if __name__ == "__main__":
    main()
