"""Time of blind PSF estimation at 255 x 255 and at 12 megapixels (issue 14, item 5).

``unblur.estimate_psf`` with its defaults (no size, no model) is timed on

* a Levin et al. (2009) photograph (255 x 255 grey; the first pair, ``--levin-pair``), and
* the 12-megapixel colour photographs of the broad set (``blind_cases.py``, subset ``L``:
  ``091-shake-L-people_01``, 3000 x 4000 x 3 px, 8-bit sRGB, a 44 px shake, by default),

each ``--repeat`` times (the median is reported). Wall times on a shared machine are noisy, so
each is also given as a ratio to a floor measured in the same run, right before it: one
``scipy.fft.rfft2`` of the image's grey channel in float64, padded to the next fast FFT size
(the unit every FFT-based method pays at least once), median of five; and as the process's
CPU time (all its threads: on a loaded machine the closest figure to the wall time it would
take alone, single-threaded). The load average is printed beside.

Issue 14's target: estimation for a 12-megapixel colour photograph in at most 20 s on 2 cores.

Run ``python benchmarks/blind_time.py --help``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np
import scipy.fft
from _common import RESULTS_DIR, machine_info, now_iso, write_json
from blind_cases import cases
from levin import DEFAULT_DATA, load_pairs

import unblur


def _fft_floor(grey: np.ndarray, repeat: int = 5) -> float:
    times = []
    shape = tuple(scipy.fft.next_fast_len(int(n), real=True) for n in grey.shape)
    for _ in range(repeat):
        start = time.perf_counter()
        scipy.fft.rfft2(grey, s=shape)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_estimate(name: str, image: np.ndarray, channel_axis: int | None, repeat: int) -> dict:
    values = image / 255.0 if image.dtype == np.uint8 else image.astype(np.float64)
    grey = values.mean(axis=-1) if channel_axis is not None else values
    floor = _fft_floor(np.ascontiguousarray(grey, dtype=np.float64))
    times, cpu, info = [], [], {}
    for _ in range(repeat):
        info = {}
        start, start_cpu = time.perf_counter(), time.process_time()
        k = unblur.estimate_psf(image, channel_axis=channel_axis, info=info)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    seconds = statistics.median(times)
    return {
        "name": name,
        "shape": list(image.shape),
        "seconds": seconds,
        "all_seconds": times,
        "cpu_seconds": statistics.median(cpu),
        "fft_seconds": floor,
        "ratio_to_fft": seconds / floor,
        "model": info.get("model"),
        "kernel_shape": list(k.shape),
        "confidence": info.get("confidence"),
        "load_average": list(os.getloadavg()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levin-pair", type=int, default=1, help="Levin pair number (1-32)")
    parser.add_argument("--cases", default="091", help="comma list of L-case number prefixes")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json", default=str(RESULTS_DIR / "blind_time.json"))
    args = parser.parse_args(argv)
    start = time.perf_counter()
    rows = []
    pair = load_pairs(DEFAULT_DATA, [args.levin_pair])[0]
    rows.append(time_estimate(f"levin pair {args.levin_pair}", pair.observed, None, args.repeat))
    wanted = [c.strip() for c in args.cases.split(",") if c.strip()]
    for spec in cases("L"):
        if any(spec.name.startswith(w) for w in wanted):
            case = spec.build()
            rows.append(time_estimate(spec.name, case.observed, case.channel_axis, args.repeat))
    print(f"{'image':34} {'shape':>16} {'s':>7} {'CPU s':>7} {'FFT s':>8} {'ratio':>7} "
          f"{'model':>8}  load")  # fmt: skip
    for r in rows:
        shape = "x".join(str(n) for n in r["shape"])
        load = " ".join(f"{v:.1f}" for v in r["load_average"])
        print(f"{r['name']:34} {shape:>16} {r['seconds']:7.2f} {r['cpu_seconds']:7.2f} "
              f"{r['fft_seconds']:8.4f} "
              f"{r['ratio_to_fft']:7.0f} {r['model']:>8}  {load}")  # fmt: skip
    write_json(
        args.json,
        {
            "benchmark": "blind estimation time",
            "date": now_iso(),
            "command": ["blind_time.py", *(argv if argv is not None else sys.argv[1:])],
            "machine": machine_info(),
            "wall_seconds": time.perf_counter() - start,
            "rows": rows,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
