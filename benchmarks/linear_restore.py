"""The restoration of 8-bit photographs in encoded values (today) against linear light.

``unblur.deconvolve`` restores an 8-bit photograph's *encoded* values, although the blur acts
in linear light (``y = k * x`` holds for linear values only). This script measures what that
costs with the *true* kernels of the broad set (``blind_cases.py``, 8-bit and JPEG cases,
optionally rendered with a camera tone curve, ``--tones``): the same restoration
(``blind_broad.restore_and_score``: ``deconvolve`` defaults on the benchmark's window, ¼ px
PSNR of the central 256 px) once on the file's values and once on its sRGB-linearised values
(``unblur.colour.srgb_to_linear``), re-encoded after (``linear_to_srgb``). No estimator runs.

Run ``python benchmarks/linear_restore.py --tones srgb,hable,aces --cases 1,3,4,8``; results in
``results/linear_restore.json``. Figures: ``docs/notes/real_photos.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import blind_broad
import numpy as np
from _common import RESULTS_DIR, now_iso, write_json
from blind_cases import cases

import unblur
from unblur._checks import to_float
from unblur.colour import linear_to_srgb, srgb_to_linear


def _in_linear_light(deconvolve):
    """``deconvolve`` run on the sRGB-linearised values, its result sRGB-encoded."""

    def restore(image, psf, **kwargs):
        x = srgb_to_linear(to_float(image).astype(np.float64)).astype(np.float32)
        out = deconvolve(x, psf, **kwargs)
        return linear_to_srgb(np.clip(out, 0.0, 1.0).astype(np.float64))

    return restore


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tones", default="srgb", help="comma list of blind_cases.TONES")
    parser.add_argument("--cases", help="comma list of indices into the quick subset")
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "linear_restore.json")
    args = parser.parse_args(argv)
    rows = []
    plain = unblur.deconvolve
    for tone in args.tones.split(","):
        specs = cases("quick", tone=tone)
        chosen = [int(i) for i in args.cases.split(",")] if args.cases else range(len(specs))
        for i in chosen:
            if not specs[i].srgb:
                continue
            case = specs[i].build()
            encoded = blind_broad.restore_and_score(case, case.kernel)["psnr_q"]
            blind_broad.unblur.deconvolve = _in_linear_light(plain)
            try:
                linear = blind_broad.restore_and_score(case, case.kernel)["psnr_q"]
            finally:
                blind_broad.unblur.deconvolve = plain
            blurred = blind_broad.blurred_score(case)["psnr_q"]
            rows.append({"case": specs[i].name, "tone": tone, "blurred": blurred,
                         "encoded": encoded, "linear": linear})  # fmt: skip
            print(f"{specs[i].name}: blurred {blurred:.2f}, true kernel on encoded values "
                  f"{encoded:.2f}, in linear light {linear:.2f} dB", flush=True)  # fmt: skip
    for tone in dict.fromkeys(r["tone"] for r in rows):
        mine = [r for r in rows if r["tone"] == tone]
        means = {k: float(np.mean([r[k] for r in mine])) for k in ("blurred", "encoded", "linear")}
        print(f"{tone}: {len(mine)} cases, blurred {means['blurred']:.2f}, encoded "
              f"{means['encoded']:.2f}, linear light {means['linear']:.2f} dB")  # fmt: skip
    write_json(args.json, {"date": now_iso(), "command": sys.argv, "cases": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
