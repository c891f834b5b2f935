"""The defaults on a 12-megapixel colour photograph, against ``tv`` run 150 iterations.

Issue 15's photo-size criterion: scikit-image's ``astronaut`` upscaled (bicubic) to
3464 x 3464 x 3 (12 megapixels), blurred by a seeded random camera-shake kernel of 25 px
(``blind_cases.shake_kernel``, 'valid' boundary: the photograph is what the sensor saw of a
larger scene), 1 % Gaussian noise (seed 0), float32. Restored with the known kernel by

* ``unblur.deconvolve(y, k, channel_axis=-1)``: the defaults (``auto`` = ``tv`` with its
  stopping rule);
* the same with ``num_iter=150, tol=None``: ``tv`` without the stopping rule, the reference the
  defaults should stay within 0.3 dB of;
* ``color="luminance"`` (one restoration of the luma instead of three channels).

Printed: wall and CPU time (the process's, all threads) and PSNR against the part of the
sharp image the observation sees (whole-pixel alignment: the kernel is known, so there is no
shift). Target: the defaults within 0.3 dB of the 150-iteration ``tv``, in at most 30 s on 2
cores. Run ``python benchmarks/photo_size.py`` (about 2 minutes on a quiet 2-core machine);
``--side`` for a smaller image. Results go to a JSON file.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _common import RESULTS_DIR, fmt, machine_info, now_iso, write_json
from blind_cases import shake_kernel
from skimage import data
from skimage.transform import resize

import unblur
from unblur.metrics import psnr

RUNS = (
    ("defaults", {}),
    ("tv, 150 iterations, no stopping rule", {"method": "tv", "num_iter": 150, "tol": None}),
    ("defaults, luminance", {"color": "luminance"}),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=3464, help="side of the square photograph")
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "photo_size.json")
    args = parser.parse_args()

    sharp = resize(data.astronaut() / 255.0, (args.side, args.side, 3), order=3)
    sharp = np.clip(sharp, 0.0, 1.0).astype(np.float32)
    k = shake_kernel(np.random.default_rng(15), 25)
    y = unblur.blur(sharp, k, boundary="valid", channel_axis=-1)
    y = unblur.add_noise(y, gaussian=0.01, rng=0).astype(np.float32)
    h0, h1 = k.shape[0] // 2, k.shape[1] // 2
    seen = sharp[h0 : h0 + y.shape[0], h1 : h1 + y.shape[1]]

    rows = [{"run": "blurred input", "psnr": psnr(np.clip(y, 0, 1), seen)}]
    for name, params in RUNS:
        info: dict = {}
        wall, cpu = time.perf_counter(), time.process_time()
        x = unblur.deconvolve(y, k, channel_axis=-1, info=info, **params)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rows.append(
            {"run": name, "psnr": psnr(np.clip(x, 0, 1), seen), "wall_s": wall, "cpu_s": cpu}
        )
        print(f"{name:40s} {fmt(rows[-1]['psnr'])} dB  {wall:6.1f} s wall  {cpu:6.1f} s CPU")
    print(f"{'blurred input':40s} {fmt(rows[0]['psnr'])} dB")
    write_json(
        args.json,
        {
            "date": now_iso(),
            "machine": machine_info(),
            "shape": list(y.shape),
            "kernel": list(k.shape),
            "rows": rows,
        },
    )
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
