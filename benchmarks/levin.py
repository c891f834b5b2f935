"""Non-blind deconvolution on the Levin et al. (2009) data: 4 images x 8 measured kernels.

Every registered unblur method (default parameters, through ``unblur.deconvolve``), the
``auto`` default, two scikit-image reference rows and the blurred input itself restore each of
the 32 real camera-shake photographs with its ground-truth kernel. Each result is scored with
:func:`unblur.metrics.score`: clipped to [0, 1], aligned to that pair's sharp image by the best
integer shift within +-5 px, a 10 px border excluded, PSNR (peak 1) and SSIM (data range 1).

Tables
------
real (always)
    ``y`` is the real blurred photograph (it includes sensor noise, about 1.5/255, and the
    kernel is only approximately the true blur: interior residual RMS 0.004-0.012).
synthetic (``--synthetic``)
    The same sharp images blurred by ``unblur.blur(x, k, boundary="valid")`` plus Gaussian
    noise of standard deviation 0.01 (seeded per pair). A valid convolution has no boundary
    assumption: the observation is smaller than ``x`` by ``p - 1`` px per axis (``p`` the
    kernel size) and its pixel ``j`` is centred on ``x[j + c]``, ``c = p - 1 - p // 2``
    (``p // 2`` for the odd Levin kernels). The restoration (of the observation's size) is
    therefore scored against the central crop ``x[c : c + n - p + 1]``, whose geometry matches
    it exactly (true shift 0).

Run ``python benchmarks/levin.py --help`` for the options; see ``benchmarks/README.md``.

References
----------
A. Levin, Y. Weiss, F. Durand, W. T. Freeman, "Understanding and evaluating blind
deconvolution algorithms", IEEE CVPR 2009, pp. 1964-1971.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from _common import (
    RESULTS_DIR,
    MethodRow,
    Outcome,
    fmt,
    machine_info,
    now_iso,
    parse_ranges,
    progress_bar,
    summarise,
    write_json,
)
from rich.console import Console
from rich.table import Table

import unblur
from unblur.metrics import score

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "levin2009"
N_IMAGES, N_KERNELS = 4, 8
#: ``--quick``: one pair per image, kernels of different sizes (19, 27, 21, 23 px)
QUICK_PAIRS = (1, 12, 22, 32)
SYNTHETIC_SIGMA = 0.01
SYNTHETIC_SEED = 2009
MAX_SHIFT, BORDER = 5, 10
#: also score at Levin's quarter-pixel alignment (``--no-quarter`` turns it off)
QUARTER_PIXEL = True


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pair:
    """One test case: observation, kernel and the sharp image it is scored against."""

    number: int  # 1..32, image-major: (image - 1) * 8 + kernel
    image: int
    kernel: int
    observed: np.ndarray
    psf: np.ndarray
    reference: np.ndarray

    @property
    def name(self) -> str:
        return f"im{self.image}_kernel{self.kernel}"


def pair_number(image: int, kernel: int) -> int:
    return (image - 1) * N_KERNELS + kernel


def load_pairs(data: Path, numbers: list[int]) -> list[Pair]:
    """The real pairs ``numbers`` from the data folder (see its README.md for the layout)."""
    pairs = []
    for n in numbers:
        image, kernel = (n - 1) // N_KERNELS + 1, (n - 1) % N_KERNELS + 1
        name = f"im{image}_kernel{kernel}"
        pairs.append(
            Pair(
                n,
                image,
                kernel,
                observed=np.load(data / "blurred" / f"{name}_blurred.npy"),
                psf=np.load(data / "kernels" / f"kernel{kernel}.npy"),
                reference=np.load(data / "sharp" / f"{name}_sharp.npy"),
            )
        )
    return pairs


def synthesize(pair: Pair, sharp: np.ndarray) -> Pair:
    """Valid-blurred, noisy observation of ``sharp`` and the central crop that it sees.

    Output pixel ``j`` of a valid convolution with a ``p``-wide kernel is centred on input
    pixel ``j + c`` with ``c = p - 1 - p // 2``, so the matching reference is
    ``sharp[c : c + n - p + 1]`` on every axis.
    """
    y = unblur.blur(sharp, pair.psf, boundary="valid")
    rng = np.random.default_rng((SYNTHETIC_SEED, pair.image, pair.kernel))
    y = unblur.add_noise(y, gaussian=SYNTHETIC_SIGMA, rng=rng)
    start = [p - 1 - p // 2 for p in pair.psf.shape]
    crop = tuple(slice(s, s + m) for s, m in zip(start, y.shape, strict=True))
    return Pair(pair.number, pair.image, pair.kernel, y, pair.psf, sharp[crop])


# --------------------------------------------------------------------------------------------
# methods
# --------------------------------------------------------------------------------------------
def _unblur_method(y: np.ndarray, k: np.ndarray, *, method: str) -> np.ndarray:
    return unblur.deconvolve(y, k, method=method)


def _auto(y: np.ndarray, k: np.ndarray):
    info = {}
    restored = unblur.deconvolve(y, k, info=info)
    return restored, {"resolved": info["method"]}


def _skimage_wiener(y: np.ndarray, k: np.ndarray) -> np.ndarray:
    from skimage.restoration import wiener

    return wiener(y, k, balance=0.01)


def _skimage_rl(y: np.ndarray, k: np.ndarray) -> np.ndarray:
    from skimage.restoration import richardson_lucy

    return richardson_lucy(y, k, num_iter=30)


def build_rows(selected: list[str] | None) -> list[MethodRow]:
    """Every table row, in display order; ``selected`` keys only (the blurred input always)."""
    rows = [MethodRow("blurred", "blurred input", lambda y, k: y, kind="baseline")]
    rows += [
        MethodRow(name, name, functools.partial(_unblur_method, method=name))
        for name in unblur.available_methods()
    ]
    rows += [
        MethodRow("auto", "auto", _auto),
        MethodRow("skimage_wiener", "skimage wiener, balance 0.01", _skimage_wiener, "reference"),
        MethodRow("skimage_rl", "skimage richardson_lucy, 30 it", _skimage_rl, "reference"),
    ]
    if selected is None:
        return rows
    keys = {r.key for r in rows}
    unknown = sorted(set(selected) - keys)
    if unknown:
        choices = ", ".join(r.key for r in rows)
        raise SystemExit(f"unknown method(s) {', '.join(unknown)}; choose from {choices}")
    return [r for r in rows if r.key == "blurred" or r.key in selected]


def run_one(row: MethodRow, pair: Pair, baseline: float, strict: bool) -> Outcome:
    """Restore ``pair`` with ``row``, time it, and score it; failures become outcomes."""
    out = Outcome(pair.name)
    try:
        start = time.perf_counter()
        result = row.run(pair.observed, pair.psf)
        out.seconds = time.perf_counter() - start
        if isinstance(result, tuple):
            result, out.extra = result
        result = np.asarray(result)
        if result.shape != pair.observed.shape:
            raise RuntimeError(f"output shape {result.shape} != input {pair.observed.shape}")
        if not np.all(np.isfinite(result)):
            raise RuntimeError("output contains NaN or inf")
    except unblur.UnblurError as exc:
        out.error = f"{type(exc).__name__}: {exc}"
        return out
    except Exception as exc:  # a bug in a method must not cost the whole run
        if strict:
            raise
        out.error = f"crashed, {type(exc).__name__}: {exc}"
        return out
    scored = score(result, pair.reference, max_shift=MAX_SHIFT, border=BORDER)
    out.psnr, out.ssim, out.shift = scored["psnr"], scored["ssim"], scored["shift"]
    if QUARTER_PIXEL:  # Levin's comp_upto_shift: the best shift on a quarter-pixel grid
        quarter = score(result, pair.reference, max_shift=MAX_SHIFT, border=BORDER, subpixel=4)
        out.extra["psnr_quarter"] = quarter["psnr"]
    out.delta_psnr = out.psnr - baseline if row.key != "blurred" else 0.0
    return out


def run_table(rows: list[MethodRow], pairs: list[Pair], *, progress: bool, strict: bool, title):
    """Run every row on every pair (pair-major, so a partial run still covers every method)."""
    for row in rows:
        row.outcomes = []
    with progress_bar(progress) as bar:
        task = bar.add_task(title, total=len(rows) * len(pairs))
        for pair in pairs:
            baseline = np.nan
            for row in rows:
                bar.update(task, description=f"{title}: {pair.name} {row.key}")
                outcome = run_one(row, pair, baseline, strict)
                if row.key == "blurred":
                    baseline = outcome.psnr
                row.outcomes.append(outcome)
                bar.advance(task)
    return {
        "pairs": [p.name for p in pairs],
        "rows": {
            r.key: {
                "label": r.label,
                "kind": r.kind,
                "summary": summarise(r.outcomes),
                "per_pair": [o.as_dict() for o in r.outcomes],
            }
            for r in rows
        },
    }


# --------------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------------
def _label(row: MethodRow) -> str:
    label = row.label
    resolved = sorted({o.extra["resolved"] for o in row.outcomes if "resolved" in o.extra})
    if resolved:
        label += f" (= {', '.join(resolved)})"
    return label


def summary_table(rows: list[MethodRow], title: str, caption: str) -> Table:
    table = Table(title=title, caption=caption, caption_justify="left")
    table.add_column("method")
    table.add_column("PSNR (dB)", justify="right")
    table.add_column("PSNR ¼ px", justify="right")
    table.add_column("SSIM", justify="right")
    table.add_column("min ΔPSNR vs input", justify="right")
    table.add_column("s / image", justify="right")
    table.add_column("ok", justify="right")
    for row in rows:
        s = summarise(row.outcomes)
        ok = f"{s['n_ok']}/{s['n']}"
        if not s["n_ok"]:
            table.add_row(_label(row), "[red]failed", "", "", "", "", ok)
            table.add_row(f"  [dim]{s['errors'][0][:90]}", "", "", "", "", "", "")
            continue
        delta = s["min_delta_psnr"]
        style = "red" if delta < 0 else "green"
        quarter = [o.extra["psnr_quarter"] for o in row.outcomes if "psnr_quarter" in o.extra]
        table.add_row(
            _label(row),
            fmt(s["mean_psnr"]),
            fmt(float(np.mean(quarter))) if quarter else "",
            fmt(s["mean_ssim"], 3),
            "" if row.key == "blurred" else f"[{style}]{fmt(delta, signed=True)}",
            fmt(s["median_seconds"], 3),
            ok if s["n_ok"] == s["n"] else f"[red]{ok}",
        )
        if s["n_ok"] < s["n"]:
            table.add_row(f"  [dim]{s['errors'][0][:90]}", "", "", "", "", "", "")
    return table


def per_image_table(rows: list[MethodRow], pairs: list[Pair], title: str) -> Table:
    table = Table(title=f"{title}: PSNR per image (red: below the blurred input)")
    table.add_column("pair")
    for row in rows:
        table.add_column(row.key, justify="right")
    for i, pair in enumerate(pairs):
        base = rows[0].outcomes[i].psnr
        cells = []
        for row in rows:
            o = row.outcomes[i]
            if not o.ok:
                cells.append("[red]fail")
            else:
                cells.append(("[red]" if o.psnr < base else "") + fmt(o.psnr))
        table.add_row(pair.name, *cells)
    return table


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Non-blind deconvolution benchmark on Levin et al. (2009).",
        epilog="Pairs are numbered 1-32 image-major: pair (image i, kernel k) = 8*(i-1)+k.",
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="data folder")
    parser.add_argument("--methods", help="comma-separated row keys (default: all)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--pairs", help="pair numbers, e.g. 1-8,12 (default: all 32)")
    which.add_argument(
        "--quick", action="store_true", help=f"only pairs {', '.join(map(str, QUICK_PAIRS))}"
    )
    parser.add_argument(
        "--synthetic",
        action="store_true",
        help="also run the synthetic table (valid blur of the sharp images + 1%% noise)",
    )
    parser.add_argument(
        "--synthetic-only", action="store_true", help="run only the synthetic table"
    )
    parser.add_argument("--per-image", action="store_true", help="print per-image PSNR tables")
    parser.add_argument(
        "--no-quarter", action="store_true", help="skip the quarter-pixel alignment column"
    )
    parser.add_argument(
        "--json", type=Path, default=RESULTS_DIR / "levin.json", help="where to write results"
    )
    parser.add_argument("--workers", type=int, help="FFT threads for unblur (default: all)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--strict", action="store_true", help="re-raise crashes (non-UnblurError) from methods"
    )
    return parser.parse_args(argv)


def pair_numbers(args: argparse.Namespace, console: Console) -> list[int] | None:
    """The pair numbers ``--quick``/``--pairs`` select, or None after printing why not.

    Shared with ``levin_blind.py``; ``args`` needs ``data``, ``quick`` and ``pairs``.
    """
    if not (args.data / "README.md").is_file():
        console.print(f"[red]Levin 2009 data not found at {args.data} (use --data)")
        return None
    try:
        return (
            list(QUICK_PAIRS)
            if args.quick
            else parse_ranges(args.pairs or f"1-{N_IMAGES * N_KERNELS}", lo=1, hi=32)
        )
    except ValueError as exc:
        console.print(f"[red]--pairs: {exc}")
        return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    global QUARTER_PIXEL
    QUARTER_PIXEL = not args.no_quarter
    console = Console()
    if not console.is_terminal:  # logs and pipes: wide enough for every column
        console = Console(width=160)
    numbers = pair_numbers(args, console)
    if numbers is None:
        return 2
    if args.workers is not None:
        from unblur import fft

        fft.set_workers(args.workers)
    selected = [m.strip() for m in args.methods.split(",")] if args.methods else None
    rows = build_rows(selected)
    pairs = load_pairs(args.data, numbers)
    progress = not args.no_progress and sys.stderr.isatty()

    payload = {
        "benchmark": "levin2009 non-blind (ground-truth kernels)",
        "date": now_iso(),
        "command": [Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])],
        "machine": machine_info(),
        "data": str(args.data),
        "protocol": {
            "clip": [0, 1],
            "max_shift": MAX_SHIFT,
            "border": BORDER,
            "psnr_peak": 1.0,
            "ssim": "Wang et al. 2004 (Gaussian sigma 1.5, data_range 1), same alignment",
            "alignment": "integer shift minimising MSE over the interior (border + max_shift)",
            "reference": "sharp/im{i}_kernel{k}_sharp.npy of each pair",
        },
        "tables": {},
    }
    caption = (
        f"{len(pairs)} pairs; clipped to [0,1], best integer shift within ±{MAX_SHIFT} px, "
        f"{BORDER} px border excluded, PSNR peak 1, SSIM data_range 1. "
        "min ΔPSNR: worst image's PSNR minus the blurred input's (≥ 0: no image made worse)."
    )
    tables = []
    if not args.synthetic_only:
        tables.append(("real", "Levin 2009, real blurred photographs", pairs))
    if args.synthetic or args.synthetic_only:
        sharp = [p.reference for p in pairs]
        synthetic = [synthesize(p, x) for p, x in zip(pairs, sharp, strict=True)]
        tables.append(
            (
                "synthetic",
                f"Levin 2009 sharp images, valid blur + {SYNTHETIC_SIGMA:g} Gaussian noise",
                synthetic,
            )
        )
    for key, title, table_pairs in tables:
        result = run_table(rows, table_pairs, progress=progress, strict=args.strict, title=key)
        if key == "synthetic":
            result["generation"] = {
                "blur": "unblur.blur(x, k, boundary='valid')",
                "noise": f"unblur.add_noise(y, gaussian={SYNTHETIC_SIGMA}), "
                f"rng=np.random.default_rng(({SYNTHETIC_SEED}, image, kernel))",
                "reference": "x[c : c + n - p + 1] per axis, c = p - 1 - p // 2",
            }
        payload["tables"][key] = result
        console.print(summary_table(rows, title, caption))
        if args.per_image:
            console.print(per_image_table(rows, table_pairs, title))
        write_json(args.json, payload)  # after each table, so a long run leaves results
    console.print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
