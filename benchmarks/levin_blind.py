"""Blind deconvolution on the Levin et al. (2009) data: kernels estimated from the image alone.

Each of the 32 real camera-shake photographs (4 images x 8 measured kernels) is given to a
kernel estimator with nothing but the blurred image and (except in row ``default``) the size of
that pair's true kernel.
The estimated kernel and the true kernel are then both used by the same non-blind method,
``unblur.deconvolve(y, k, method="tv")`` unless ``--non-blind`` names another, and both
restorations are scored with :func:`unblur.metrics.score` (clipped to [0, 1], best integer
shift within +-5 px, a 10 px border excluded; PSNR peak 1, SSIM data range 1), exactly as in
``levin.py``.

Levin's error ratio is the SSD of the restoration with the estimated kernel over the SSD of
the restoration with the true kernel, on the same aligned interior; because both interiors
have the same number of pixels it equals ``10 ** ((PSNR_true - PSNR_est) / 10)``. Levin et al.
count a kernel as successful when the ratio is at most 2 (their figures stop at 3).

The ``¼ px`` columns repeat the scores with the shift searched on a quarter-pixel grid
(bilinear interpolation, ``score(..., subpixel=4)``), as Levin et al.'s ``comp_upto_shift``
does and as the published figures on this data are computed. An estimated kernel is only
defined up to a translation: its centroid sits a fraction of a pixel away from the true
kernel's, so its restoration is translated by that fraction, which the integer search cannot
undo. The issue's targets are judged on the integer protocol; the ¼ px figures are the ones
to compare with the literature.

Rows
----
sized
    ``unblur.estimate_psf(y, size)``: the defaults with the true kernel's size given.
default
    ``unblur.estimate_psf(y)``: the user's call, nothing but the image (issue 14: within
    0.5 dB of ``sized``).
free
    ``unblur.estimate_psf(y, size, model="free")`` (:mod:`unblur.blind.kernel`).
parametric
    ``unblur.blind.estimate_parametric(y, size=size)``: the best of the Gaussian, motion and
    disk fits by BIC, for reference (camera shake is none of them); before issue 14 this was
    what ``sized`` and ``default`` returned.

``--non-blind METHOD`` restores both kernels with another method of :func:`unblur.deconvolve`;
Levin et al. computed their ratios with their hyper-Laplacian prior (alpha 0.8, first and second
derivatives), which is ``--non-blind hyper_laplacian``.

Run ``python benchmarks/levin_blind.py --help`` for the options. Targets of issue 5: mean PSNR
>= 32.5 dB, error ratio <= 3 on every image and <= 2 on >= 90 %, <= 10 s per 255 x 255 image.

Measured 2026-12-06 (all 32 pairs, 2 CPUs shared, load average 10-12; quarter pixel, whole
pixel in brackets): true kernel 34.80 (34.24) dB, blurred input 22.96 (22.91); ``sized``
32.20 (30.24), ratio <= 2 on 75 % (31 %), <= 3 on 84 % (72 %), max 17.7 (two pairs fall back
to a disk, see docs/notes/blind_kernel.md), median 9.2 s per estimate; ``default`` 32.70
(30.22), <= 2 on 72 % (22 %), <= 3 on 88 % (59 %), max 4.0 (3.9), no pair below the input,
15.9 s (two passes). Issue 14's targets (sized >= 33.3 dB, ratio <= 2 on >= 90 % and <= 3 on
all; default within 0.5 dB of sized; no pair below the input): the last two are met. The
history of the estimator is in docs/notes/blind_kernel.md.

References
----------
A. Levin, Y. Weiss, F. Durand, W. T. Freeman, "Understanding and evaluating blind
deconvolution algorithms", IEEE CVPR 2009, pp. 1964-1971.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
from _common import (
    RESULTS_DIR,
    fmt,
    free_checks,
    free_sizing,
    machine_info,
    now_iso,
    parse_options,
    progress_bar,
    write_json,
)
from levin import BORDER, DEFAULT_DATA, MAX_SHIFT, QUICK_PAIRS, load_pairs, pair_numbers
from rich.console import Console
from rich.table import Table

import unblur
from unblur.blind import estimate_parametric
from unblur.metrics import score

NON_BLIND = "tv"
#: Secondary alignment: quarter-pixel steps, as Levin et al.'s comp_upto_shift.
SUBPIXEL = 4
#: Estimator options given with ``--options`` (rows sized, default and free).
OPTIONS: dict = {}
#: Row name -> how the kernel is estimated from the blurred image y and the true kernel's side n.
ROWS = {
    "sized": lambda y, n, info: unblur.estimate_psf(y, n, info=info, **OPTIONS),
    "default": lambda y, n, info: unblur.estimate_psf(y, info=info, **OPTIONS),
    "free": lambda y, n, info: unblur.estimate_psf(y, n, model="free", info=info, **OPTIONS),
    "parametric": lambda y, n, info: estimate_parametric(y, size=n, info=info),
}


def restore_and_score(
    y: np.ndarray,
    k: np.ndarray,
    reference: np.ndarray,
    method: str = NON_BLIND,
    psf_info: dict | None = None,
) -> dict:
    start = time.perf_counter()
    restored = unblur.deconvolve(y, k, method=method, psf_info=psf_info)
    seconds = time.perf_counter() - start
    out = score(restored, reference, max_shift=MAX_SHIFT, border=BORDER)
    quarter = score(restored, reference, max_shift=MAX_SHIFT, border=BORDER, subpixel=SUBPIXEL)
    return {
        "psnr": out["psnr"],
        "ssim": out["ssim"],
        "shift": list(out["shift"]),
        "psnr_subpixel": quarter["psnr"],
        "ssim_subpixel": quarter["ssim"],
        "shift_subpixel": list(quarter["shift"]),
        "restore_s": seconds,
    }


def blurred_score(y: np.ndarray, reference: np.ndarray) -> dict:
    """The blurred input itself, scored like a restoration (what 'worse' is measured against)."""
    out = score(y, reference, max_shift=MAX_SHIFT, border=BORDER)
    quarter = score(y, reference, max_shift=MAX_SHIFT, border=BORDER, subpixel=SUBPIXEL)
    return {"psnr": out["psnr"], "ssim": out["ssim"], "psnr_subpixel": quarter["psnr"]}


def _info_fields(info: dict) -> dict:
    """What the estimator said: its confidence, why this model, the auto rule's evidence."""
    keep = ("confidence", "reasons", "reason", "evidence", "size", "checks")
    out = {n: info[n] for n in keep if n in info}
    checks = free_checks(info)
    if checks is not None:
        out["free_checks"] = checks
    sizing = free_sizing(info)
    if sizing is not None:
        out["free_sizing"] = sizing
    return out


def run(pairs, rows: list[str], progress: bool, method: str = NON_BLIND) -> dict:
    results: dict = {"true": [], "blurred": [], **{r: [] for r in rows}}
    with progress_bar(progress) as bar:
        task = bar.add_task("levin blind", total=len(pairs) * (1 + len(rows)))
        for pair in pairs:
            y, kt = pair.observed.astype(np.float64), pair.psf.astype(np.float64)
            bar.update(task, description=f"{pair.name}: true kernel")
            truth = restore_and_score(y, kt, pair.reference, method)
            results["true"].append({"pair": pair.name, **truth})
            blurred = blurred_score(y, pair.reference)
            results["blurred"].append({"pair": pair.name, **blurred})
            bar.advance(task)
            for row in rows:
                bar.update(task, description=f"{pair.name}: {row}")
                entry: dict = {"pair": pair.name}
                try:
                    info: dict = {}
                    start = time.perf_counter()
                    k = ROWS[row](y, kt.shape[0], info)
                    entry["estimate_s"] = time.perf_counter() - start
                    entry["model"] = info.get("model", row)
                    # the default row restores as deconvolve(y, "auto") does (the rule for a
                    # doubtful estimate); the others with the kernel alone
                    psf_info = info if row == "default" else None
                    entry.update(restore_and_score(y, k, pair.reference, method, psf_info))
                    entry["error_ratio"] = 10 ** ((truth["psnr"] - entry["psnr"]) / 10)
                    entry["error_ratio_subpixel"] = 10 ** (
                        (truth["psnr_subpixel"] - entry["psnr_subpixel"]) / 10
                    )
                    entry["kernel_shape"] = list(k.shape)
                    entry["gain"] = entry["psnr"] - blurred["psnr"]
                    entry["gain_subpixel"] = entry["psnr_subpixel"] - blurred["psnr_subpixel"]
                    entry["info"] = _info_fields(info)
                except unblur.UnblurError as exc:
                    entry["error"] = f"{type(exc).__name__}: {exc}"
                results[row].append(entry)
                bar.advance(task)
    return results


def summarise(entries: list[dict]) -> dict:
    good = [e for e in entries if "error" not in e]
    out: dict = {"n": len(entries), "n_ok": len(good)}
    if not good:
        return out
    out["mean_psnr"] = float(np.mean([e["psnr"] for e in good]))
    out["mean_ssim"] = float(np.mean([e["ssim"] for e in good]))
    out["mean_psnr_subpixel"] = float(np.mean([e["psnr_subpixel"] for e in good]))
    if "error_ratio" in good[0]:
        ratios = np.array([e["error_ratio"] for e in good])
        out["mean_error_ratio"] = float(ratios.mean())
        out["max_error_ratio"] = float(ratios.max())
        out["fraction_ratio_le_2"] = float(np.mean(ratios <= 2))
        out["fraction_ratio_le_3"] = float(np.mean(ratios <= 3))
        out["median_estimate_s"] = float(np.median([e["estimate_s"] for e in good]))
        quarter = np.array([e["error_ratio_subpixel"] for e in good])
        out["fraction_ratio_le_2_subpixel"] = float(np.mean(quarter <= 2))
        out["fraction_ratio_le_3_subpixel"] = float(np.mean(quarter <= 3))
    if "gain" in good[0]:  # restorations scoring below the blurred input, and of those unflagged
        worse = [e for e in good if e["gain_subpixel"] < 0]
        out["worse"] = int(sum(e["gain"] < 0 for e in good))
        out["worse_subpixel"] = len(worse)
        out["worse_subpixel_unflagged"] = sum(
            e.get("info", {}).get("confidence") != "low" for e in worse
        )
    return out


def summary_table(results: dict, caption: str, method: str = NON_BLIND) -> Table:
    title = f"Levin 2009 blind: estimated kernels, restored by {method}"
    table = Table(title=title, caption=caption)
    columns = (
        "kernel", "PSNR (dB)", "SSIM", "ratio mean", "ratio max", "≤2", "≤3", "s / est.",
        "¼ px: PSNR", "≤2", "≤3", "worse",
    )  # fmt: skip
    for col in columns:
        table.add_column(col, justify="left" if col == "kernel" else "right")
    for row, entries in results.items():
        s = summarise(entries)
        if row == "blurred":
            table.add_row("blurred input", fmt(s["mean_psnr"]), fmt(s["mean_ssim"], 3),
                          *[""] * 5, fmt(s["mean_psnr_subpixel"]), "", "", "")  # fmt: skip
            continue
        if not s.get("n_ok"):
            table.add_row(row, "[red]failed", *[""] * (len(columns) - 2))
            continue
        pct = (lambda v: f"{100 * v:.0f} %") if "fraction_ratio_le_2" in s else (lambda v: "")
        table.add_row(
            "true kernel" if row == "true" else row,
            fmt(s["mean_psnr"]),
            fmt(s["mean_ssim"], 3),
            fmt(s.get("mean_error_ratio", math.nan)),
            fmt(s.get("max_error_ratio", math.nan)),
            pct(s.get("fraction_ratio_le_2", 0)),
            pct(s.get("fraction_ratio_le_3", 0)),
            fmt(s.get("median_estimate_s", math.nan)),
            fmt(s["mean_psnr_subpixel"]),
            pct(s.get("fraction_ratio_le_2_subpixel", 0)),
            pct(s.get("fraction_ratio_le_3_subpixel", 0)),
            f"{s['worse_subpixel']} ({s['worse']})" if "worse" in s else "",
        )
    return table


def per_image_table(results: dict, rows: list[str]) -> Table:
    table = Table(title="per image: PSNR (dB), error ratio (integer and ¼ px alignment)")
    table.add_column("pair")
    table.add_column("true (input)", justify="right")
    for row in rows:
        table.add_column(row, justify="right")
        table.add_column("ratio", justify="right")
        table.add_column("¼ px", justify="right")
        table.add_column("s", justify="right")
    for i, truth in enumerate(results["true"]):
        cells = [truth["pair"], fmt(truth["psnr"])]
        if "blurred" in results:
            cells[1] += f" ({fmt(results['blurred'][i]['psnr'])})"
        for row in rows:
            e = results[row][i]
            if "error" in e:
                cells += ["[red]fail", "", "", ""]
                continue
            r = e["error_ratio"]
            style = "green" if r <= 2 else ("yellow" if r <= 3 else "red")
            q = e["error_ratio_subpixel"]
            cells += [fmt(e["psnr"]), f"[{style}]{r:.2f}", f"{q:.2f}", fmt(e["estimate_s"], 1)]
        table.add_row(*cells)
    return table


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Blind kernel estimation benchmark on Levin et al. (2009).",
        epilog="Pairs are numbered 1-32 image-major: pair (image i, kernel k) = 8*(i-1)+k.",
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="data folder")
    parser.add_argument("--rows", default="free", help=f"comma list of: {', '.join(ROWS)}")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--pairs", help="pair numbers, e.g. 1-8,12 (default: all 32)")
    which.add_argument(
        "--quick", action="store_true", help=f"only pairs {', '.join(map(str, QUICK_PAIRS))}"
    )
    parser.add_argument(
        "--non-blind",
        default=NON_BLIND,
        choices=unblur.available_methods(),
        help=f"non-blind method for both kernels (default {NON_BLIND}; Levin et al. used the "
        "hyper-Laplacian prior, alpha 0.8: hyper_laplacian)",
    )
    parser.add_argument("--per-image", action="store_true", help="print the per-image table")
    parser.add_argument(
        "--json", type=Path, default=RESULTS_DIR / "levin_blind.json", help="results file"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--options", help="estimator options key=value,... (rows sized, default, free)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console() if Console().is_terminal else Console(width=160)
    numbers = pair_numbers(args, console)
    if numbers is None:
        return 2
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = sorted(set(rows) - set(ROWS))
    if unknown or not rows:
        console.print(f"[red]--rows: unknown {unknown}; choose from {', '.join(ROWS)}")
        return 2
    OPTIONS.clear()
    OPTIONS.update(parse_options(args.options))
    pairs = load_pairs(args.data, numbers)
    progress = not args.no_progress and sys.stderr.isatty()
    start = time.perf_counter()
    results = run(pairs, rows, progress, args.non_blind)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    caption = (
        f"{len(pairs)} real pairs, kernel size given (row default: not given); "
        f"restored by method={args.non_blind!r}; "
        f"clipped, best shift within ±{MAX_SHIFT} px, {BORDER} px border excluded. "
        "ratio: SSD(estimated kernel) / SSD(true kernel). ¼ px: the same, best shift on a "
        "quarter-pixel grid (bilinear), as Levin et al.'s comp_upto_shift."
    )
    if load:
        caption += f" Load average at the end {load[0]:.1f} on {os.cpu_count()} CPUs."
    console.print(summary_table(results, caption, args.non_blind))
    if args.per_image:
        console.print(per_image_table(results, rows))
    payload = {
        "benchmark": "levin2009 blind (kernel estimated, size given)",
        "date": now_iso(),
        "command": [Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])],
        "machine": machine_info(),
        "load_average": list(load) if load else None,
        "wall_seconds": time.perf_counter() - start,
        "data": str(args.data),
        "options": dict(OPTIONS),
        "protocol": {
            "input": "blurred image and the true kernel's size only",
            "non_blind": f"unblur.deconvolve(y, k, method={args.non_blind!r})",
            "clip": [0, 1],
            "max_shift": MAX_SHIFT,
            "border": BORDER,
            "error_ratio": "SSD(est) / SSD(true) = 10 ** ((PSNR_true - PSNR_est) / 10)",
            "subpixel": f"*_subpixel: same, shifts on a 1/{SUBPIXEL} px grid (bilinear)",
        },
        "summary": {row: summarise(entries) for row, entries in results.items()},
        "per_pair": results,
    }
    write_json(args.json, payload)
    console.print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
