"""Blind deblurring on the broad, generated validation set (``blind_cases.py``).

Each case (a photograph as a camera records it: blur in linear light, clipping, sRGB, noise,
8-bit or JPEG; see ``blind_cases.py``) is given to the estimator exactly as a user would:
``unblur.estimate_psf(observed, channel_axis=...)`` with nothing else (row ``default``). The
estimated kernel and the true kernel are then used by the same restoration, and both are scored
against the sharp reference.

Rows
----
default
    ``unblur.estimate_psf(y, channel_axis=axis)``: the user's call, no size, no model.
sized
    ``unblur.estimate_psf(y, n, channel_axis=axis)`` with ``n`` the true kernel's side: the
    defaults told the size, as ``levin_blind.py``'s row ``sized`` (issue 14: the size given
    should never do worse than the user's call). Restored like ``default`` (with ``psf_info``),
    as ``unblur deconvolve --psf-size N`` does.
parametric
    ``unblur.blind.estimate_parametric`` on the channel mean: the best of the Gaussian, motion
    and defocus fits by BIC (what ``default`` returned before issue 14).
free
    ``unblur.estimate_psf(y, model="free", channel_axis=axis)``: the free-form estimator, size
    estimated.
true
    The true kernel (the reference every ratio is taken against).

Protocol
--------
*Restoration.* ``unblur.deconvolve(window, k, channel_axis=axis)`` with its defaults (method
``auto``), in linear light for the sRGB cases (``encoding="srgb"``: the data model
``deconvolve(y, "auto")`` follows for 8-bit data, whose PSF the estimator estimated in linear
light; the true kernel and every row restored the same way; before stop 32 every row
restored the encoded values), on a window of the observation: the central 256 x 256 px
*core* (the whole image when smaller) plus a margin of half the true kernel's side and the
estimated kernel's offset, so that the core's restoration sees all the data that blurred it;
only the core is scored. Restoring a window instead of a 12-megapixel photograph keeps the set
within minutes; every row uses the same window. The estimate itself always sees the whole
photograph.

*Alignment.* An estimated kernel is defined up to a translation, which translates its
restoration. The core is therefore cut from the restoration at the whole-pixel offset of the
estimated kernel's centroid from its centre (the true kernels are centred on their centroid),
then scored like ``levin_blind.py``: clipped to [0, 1], best shift within +-5 px on whole
pixels (``PSNR``), then on a quarter-pixel grid within +-1 px of that shift (``¼ px``: the
two-stage form of Levin et al.'s ``comp_upto_shift``), a 10 px border excluded, every colour
channel included (PSNR peak 1).

*Figures.* ``gap`` = PSNR(true kernel) - PSNR(estimate) and the error ratio
``10 ** (gap / 10)`` (Levin et al.: SSD with the estimate over SSD with the true kernel),
``worse`` = cases whose restoration scores below the blurred input itself. The noise columns
compare ``unblur.noise.estimate_noise`` with the true noise (RMS of the observation minus the
same pipeline without noise, quantisation and JPEG error included).

*Camera tone curves and the estimator's encoding* (issue 14, item 3). ``--tone hable|aces|
standard`` renders the 8-bit and JPEG cases with a camera-like tone curve instead of the exact
sRGB curve (``blind_cases.TONES``; the sharp reference with the same curve), ``--files-only``
keeps only those cases, and ``--encoding`` sets the ``encoding`` the estimator is called with
(default ``auto``: sRGB for 8-bit data): ``srgb``, ``linear`` (estimate on the encoded
values) or ``gamma2.2`` (a plain power law 2.2 as the guessed curve: the estimator's sRGB
linearisation and its noise slope are replaced by :math:`v^{2.2}` and :math:`2.2 v^{1.2}`
for the run, ``_power_law``). The restoration follows the encoding as ``unblur
deconvolve`` does: in linear light unless ``--encoding linear`` (the values as given).

Run ``python benchmarks/blind_broad.py --help``; ``--subset quick`` (default, 22 cases) for
tuning, ``--subset full`` (92 cases) for the record, ``--subset L`` the four 12-megapixel
photographs. The true-kernel and blurred-input scores do not depend on the estimator and are
cached in ``results/blind_broad_truth_v3.json`` (``--no-cache`` recomputes them).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

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
from blind_cases import TONES, Case, CaseSpec, cases
from rich.console import Console
from rich.table import Table

import unblur
from unblur._checks import to_float
from unblur.blind import _data, estimate_parametric
from unblur.blind._data import prepare
from unblur.blind.kernel_step import similarity
from unblur.blind.parametric import score_kernel
from unblur.metrics import align, psnr, ssim
from unblur.noise import estimate_noise
from unblur.restore._common import MODEL_ERROR

CORE = 256
MAX_SHIFT, BORDER, SUBPIXEL = 5, 10, 4
ROWS = ("default", "sized", "parametric", "free")
#: v2: the blurred input scored as ``deconvolve`` reads it (float32 for 8-bit data)
CACHE = RESULTS_DIR / "blind_broad_truth_v3.json"  # v3: in linear light
#: Folder for the estimated kernels (``--kernels``), or None.
KERNELS: Path | None = None
#: ``--encoding``: what the default and free rows' estimator is told about the values.
ENCODINGS = ("auto", "srgb", "linear", "gamma2.2")


@contextlib.contextmanager
def _power_law(gamma: float):
    """The estimator's sRGB linearisation replaced by ``v ** gamma`` (and the slope its noise
    conversion uses by ``gamma v ** (gamma - 1)``) while the block runs: a guessed camera
    curve, measured without a library option for it."""
    saved = _data.srgb_to_linear, _data._srgb_slope
    _data.srgb_to_linear = lambda v: np.clip(np.asarray(v), 0.0, None) ** gamma
    _data._srgb_slope = lambda v: gamma * np.clip(np.abs(v), 0.0, None) ** (gamma - 1.0)
    try:
        yield
    finally:
        _data.srgb_to_linear, _data._srgb_slope = saved


def _estimation(encoding: str) -> tuple[dict, contextlib.AbstractContextManager]:
    """``estimate_psf`` options and context for ``--encoding``."""
    if encoding == "gamma2.2":
        return {"encoding": "srgb"}, _power_law(2.2)
    return ({} if encoding == "auto" else {"encoding": encoding}), contextlib.nullcontext()


# --------------------------------------------------------------------------------------------
# restoration and scoring
# --------------------------------------------------------------------------------------------
def _as_values(observed: np.ndarray) -> np.ndarray:
    """The observation as ``deconvolve`` reads it (8-bit: float32 / 255, ``to_float``), so that
    a result equal to its input scores exactly as the blurred input does."""
    return to_float(observed)


def _core_origin(shape: tuple[int, ...]) -> tuple[int, int]:
    return tuple(max(0, (n - CORE) // 2) for n in shape[:2])  # type: ignore[return-value]


def _offset(k: np.ndarray) -> tuple[int, int]:
    """Whole-pixel offset of the kernel's centroid from its centre pixel."""
    c = unblur.psf.centroid(k)
    return tuple(round(ci) - n // 2 for ci, n in zip(c, k.shape, strict=True))  # type: ignore


def _score(est: np.ndarray, ref: np.ndarray) -> dict:
    """Whole-pixel score (+-5 px), then quarter-pixel within +-1 px of the whole shift.

    Colour: the shift is searched over the spatial axes, the PSNR takes every channel and the
    SSIM is that of the channel mean.
    """
    colour = ref.ndim == 3
    extra = (0,) if colour else ()
    est = np.clip(est, 0.0, 1.0)
    d, est_crop, ref_crop = align(est, ref, max_shift=(MAX_SHIFT,) * 2 + extra,
                                  border=(BORDER,) * 2 + extra)  # fmt: skip
    grey = (lambda a: a.mean(axis=-1)) if colour else (lambda a: a)
    rolled = np.roll(est, (-d[0], -d[1]), axis=(0, 1))
    inner = (BORDER + MAX_SHIFT - 1,) * 2 + extra
    q, est_q, ref_q = align(rolled, ref, max_shift=(1, 1, *extra), border=inner, subpixel=SUBPIXEL)
    return {
        "psnr": psnr(est_crop, ref_crop),
        "ssim": ssim(grey(est_crop), grey(ref_crop)),
        "psnr_q": psnr(est_q, ref_q),
        "shift": [float(a + b) for a, b in zip(d[:2], q[:2], strict=True)],
    }


def restore_and_score(
    case: Case, k: np.ndarray, psf_info: dict | None = None, **params: Any
) -> dict:
    y = case.observed
    r0, c0 = _core_origin(y.shape)
    h, w = min(CORE, y.shape[0]), min(CORE, y.shape[1])
    dr, dc = _offset(k)
    half = case.kernel.shape[0] // 2
    margin = [half + abs(dr) + 4, half + abs(dc) + 4]
    top, left = max(0, r0 - margin[0]), max(0, c0 - margin[1])
    bottom, right = min(y.shape[0], r0 + h + margin[0]), min(y.shape[1], c0 + w + margin[1])
    window = y[top:bottom, left:right]
    start = time.perf_counter()
    info = {}
    restored = unblur.deconvolve(
        window, k, channel_axis=case.channel_axis, info=info, psf_info=psf_info, **params
    )
    seconds = time.perf_counter() - start
    # x_hat(p) = x(p + d) for a kernel offset by d: the core of x is x_hat's core moved by -d
    rows = slice(r0 - top - dr, r0 - top - dr + h)
    cols = slice(c0 - left - dc, c0 - left - dc + w)
    if (
        rows.start < 0
        or cols.start < 0
        or rows.stop > window.shape[0]
        or cols.stop > window.shape[1]
    ):
        rows, cols = slice(r0 - top, r0 - top + h), slice(c0 - left, c0 - left + w)
    core = restored[rows, cols]
    ref = case.sharp[r0 : r0 + h, c0 : c0 + w]
    out = {**_score(core, ref), "restore_s": seconds, "method": info["method"]}
    if "conservative" in info:
        out["conservative"] = info["conservative"]["action"]
    rule = info.get("kernel_error")
    if rule is not None and rule["applied"]:  # the weight raised for the kernel's error:
        out["kernel_error_factor"] = rule["factor"]  # also scored at the noise's own weight
        plain_params = {**params, "model_error": MODEL_ERROR}
        plain = unblur.deconvolve(window, k, channel_axis=case.channel_axis, psf_info=psf_info,
                                  **plain_params)  # fmt: skip
        out["without_kernel_error"] = _score(plain[rows, cols], ref)
    return out


def blurred_score(case: Case) -> dict:
    r0, c0 = _core_origin(case.observed.shape)
    h, w = min(CORE, case.observed.shape[0]), min(CORE, case.observed.shape[1])
    core = _as_values(case.observed)[r0 : r0 + h, c0 : c0 + w]
    return _score(core, case.sharp[r0 : r0 + h, c0 : c0 + w])


# --------------------------------------------------------------------------------------------
# estimators
# --------------------------------------------------------------------------------------------
def estimate(
    row: str, case: Case, options: dict, encoding: str = "auto"
) -> tuple[np.ndarray, dict]:
    y, axis = case.observed, case.channel_axis
    info: dict = {}
    given, context = _estimation(encoding)
    if row in ("default", "free"):
        model = "auto" if row == "default" else "free"
        with context:
            k = unblur.estimate_psf(y, model=model, channel_axis=axis, info=info, **given,
                                    **options)  # fmt: skip
    elif row == "sized":
        with context:
            k = unblur.estimate_psf(y, case.kernel.shape[0], channel_axis=axis, info=info,
                                    **given, **options)  # fmt: skip
    elif row == "parametric":
        k = estimate_parametric(prepare(y, axis, "auto").grey, info=info)
    else:
        raise ValueError(row)
    return k, info


def _summary_info(info: dict) -> dict:
    keep = ("model", "size", "reason", "confidence", "reasons", "checks", "parameters",
            "evidence", "encoding", "saturated_fraction", "scale")  # fmt: skip
    out = {key: info[key] for key in keep if key in info}
    sizing = free_sizing(info)
    if sizing is not None:
        out["free_sizing"] = sizing
    checks = free_checks(info)
    if checks is not None:
        out["free_checks"] = checks
    return out


def _evidence(case: Case, kernels: dict, infos: dict) -> dict:
    """The auto rule's evidence from the free and parametric rows (to tune it offline)."""
    grey = prepare(case.observed, case.channel_axis, "auto").grey
    free = score_kernel(grey, kernels["free"])
    scores = infos["parametric"]["scores"]
    best = min(scores, key=lambda m: scores[m]["bic"])
    crop = infos["parametric"]["crop_shape"]
    n = crop[0] * (crop[1] // 2 + 1)
    return {
        "bic_gain_per_sample": (scores[best]["bic"] - free["bic"]) / n,
        "level_agreement": infos["free"].get("checks", {}).get("levels"),
        "shape_correlation": similarity(kernels["free"], kernels["parametric"]),
        "true_vs_free": similarity(kernels["free"], case.kernel),
        "true_vs_parametric": similarity(kernels["parametric"], case.kernel),
    }


def run_case(
    spec: CaseSpec, rows: list[str], options: dict, cache: dict | None, encoding: str = "auto"
) -> dict:
    case = spec.build()
    entry: dict = {
        "case": spec.name,
        "spec": spec.as_dict(),
        "shape": list(case.observed.shape),
        "kernel_shape": list(case.kernel.shape),
        "noise_true": case.noise,
        "noise_estimate": estimate_noise(case.observed, channel_axis=case.channel_axis),
    }
    # every row, the true kernel's included, is restored in the data model that
    # deconvolve(y, "auto") follows: an sRGB file in linear light (the estimator linearised it)
    light = {"encoding": "srgb"} if spec.srgb and encoding != "linear" else {}
    cached = cache.get(spec.name) if cache is not None else None
    if cached is None:
        cached = {"blurred": blurred_score(case),
                  "true": restore_and_score(case, case.kernel, **light)}  # fmt: skip
        if cache is not None:
            cache[spec.name] = cached
    entry.update(cached)
    kernels: dict = {}
    infos: dict = {}
    for row in rows:
        result: dict = {}
        try:
            start = time.perf_counter()
            if row == "parametric":
                k, info = estimate(row, case, {})
            else:
                k, info = estimate(row, case, options, encoding)
            kernels[row], infos[row] = k, info
            result["estimate_s"] = time.perf_counter() - start
            result["kernel_shape"] = list(k.shape)
            result["info"] = _summary_info(info)
            # the default and sized rows restore as deconvolve(y, "auto") does (psf_info: the
            # rule for a doubtful estimate); the others with the kernel alone
            told = row in ("default", "sized")
            result.update(restore_and_score(case, k, info if told else None, **light))
            for col in ("psnr", "psnr_q"):
                gap = entry["true"][col] - result[col]
                result[f"gap{col[4:]}"] = gap
                result[f"ratio{col[4:]}"] = 10 ** (gap / 10)
                result[f"gain{col[4:]}"] = result[col] - entry["blurred"][col]
        except unblur.UnblurError as exc:
            result["error"] = f"{type(exc).__name__}: {exc}"
        entry[row] = result
    if "free" in kernels and "parametric" in kernels:
        entry["evidence"] = _evidence(case, kernels, infos)
    if KERNELS is not None:
        KERNELS.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(KERNELS / f"{spec.name}.npz", true=case.kernel, **kernels)
    return entry


# --------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------
GROUPS = {
    "all": lambda s: True,
    "shake": lambda s: s["blur"] in ("shake", "lai"),
    "gaussian": lambda s: s["blur"] == "gaussian",
    "defocus": lambda s: s["blur"] == "defocus",
    "S (<=0.7 MP)": lambda s: s["size"] == "S",
    "M (2 MP)": lambda s: s["size"] == "M",
    "L (12 MP)": lambda s: s["size"] == "L",
    "8-bit": lambda s: s["jpeg"] is None,
    "JPEG": lambda s: s["jpeg"] is not None,
    "grey": lambda s: not s["colour"],
    "colour": lambda s: s["colour"],
    "clipped": lambda s: s["clipped"],
    "linear data": lambda s: not s["srgb"],
}


def summarise(entries: list[dict], row: str) -> dict:
    good = [e for e in entries if row in e and "error" not in e[row]]
    out: dict = {"n": len(entries), "n_ok": len(good)}
    if not good:
        return out
    for col in ("", "_q"):
        ratio = np.array([e[row][f"ratio{col}"] for e in good])
        out[f"mean_psnr{col}"] = float(np.mean([e[row][f"psnr{col}"] for e in good]))
        out[f"true_psnr{col}"] = float(np.mean([e["true"][f"psnr{col}"] for e in good]))
        out[f"blurred_psnr{col}"] = float(np.mean([e["blurred"][f"psnr{col}"] for e in good]))
        out[f"mean_gap{col}"] = float(np.mean([e[row][f"gap{col}"] for e in good]))
        out[f"ratio_le_2{col}"] = float(np.mean(ratio <= 2))
        out[f"ratio_le_3{col}"] = float(np.mean(ratio <= 3))
        out[f"worse{col}"] = int(sum(e[row][f"gain{col}"] < 0 for e in good))
    # worse than the input (quarter pixel) and not flagged by info["confidence"]
    out["worse_unflagged_q"] = int(
        sum(e[row]["gain_q"] < 0 and e[row]["info"].get("confidence") != "low" for e in good)
    )
    out["median_estimate_s"] = float(np.median([e[row]["estimate_s"] for e in good]))
    return out


def table(entries: list[dict], row: str, caption: str) -> Table:
    t = Table(title=f"broad blind set: row {row!r} (¼ px alignment; whole-pixel in brackets)",
              caption=caption)  # fmt: skip
    cols = ("group", "n", "blurred", "true k", "estimate", "gap (dB)", "≤2", "≤3", "worse",
            "unflagged", "s / est.")  # fmt: skip
    for c in cols:
        t.add_column(c, justify="left" if c == "group" else "right")
    for name, pick in GROUPS.items():
        subset = [e for e in entries if pick(e["spec"])]
        if not subset:
            continue
        s = summarise(subset, row)
        if not s.get("n_ok"):
            t.add_row(name, str(s["n"]), *["-"] * (len(cols) - 2))
            continue
        pct = lambda v: f"{100 * v:.0f} %"  # noqa: E731
        t.add_row(
            name,
            f"{s['n_ok']}/{s['n']}",
            fmt(s["blurred_psnr_q"]),
            fmt(s["true_psnr_q"]),
            f"{fmt(s['mean_psnr_q'])} ({fmt(s['mean_psnr'])})",
            f"{fmt(s['mean_gap_q'])} ({fmt(s['mean_gap'])})",
            f"{pct(s['ratio_le_2_q'])} ({pct(s['ratio_le_2'])})",
            f"{pct(s['ratio_le_3_q'])} ({pct(s['ratio_le_3'])})",
            f"{s['worse_q']} ({s['worse']})",
            str(s["worse_unflagged_q"]),
            fmt(s["median_estimate_s"], 1),
        )
    return t


def per_case_table(entries: list[dict], rows: list[str]) -> Table:
    t = Table(title="per case: ¼ px PSNR (dB) and ratio; model, kernel side")
    for c in ("case", "noise", "σ est.", "blurred", "true"):
        t.add_column(c, justify="left" if c == "case" else "right")
    for row in rows:
        for c in (row, "ratio", "model"):
            t.add_column(c, justify="right")
    for e in entries:
        cells = [e["case"], fmt(e["noise_true"], 4), fmt(e["noise_estimate"], 4),
                 fmt(e["blurred"]["psnr_q"]), fmt(e["true"]["psnr_q"])]  # fmt: skip
        for row in rows:
            r = e[row]
            if "error" in r:
                cells += ["[red]fail", "", r["error"][:30]]
                continue
            ratio = r["ratio_q"]
            style = "green" if ratio <= 2 else ("yellow" if ratio <= 3 else "red")
            model = f"{r['info'].get('model', '?')} {r['kernel_shape'][0]}"
            if r["info"].get("confidence") == "low":
                model += " [dim](low)"
            cells += [fmt(r["psnr_q"]), f"[{style}]{ratio:.2f}", model]
        t.add_row(*cells)
    return t


def noise_table(entries: list[dict]) -> Table:
    t = Table(title="noise estimate / true noise (observation's own units)")
    for c in ("group", "n", "median ratio", "within 30 %"):
        t.add_column(c, justify="left" if c == "group" else "right")
    for name in ("all", "8-bit", "JPEG", "linear data", "clipped"):
        subset = [e for e in entries if GROUPS[name](e["spec"])]
        if not subset:
            continue
        ratio = np.array([e["noise_estimate"] / e["noise_true"] for e in subset])
        t.add_row(name, str(len(subset)), fmt(float(np.median(ratio))),
                  f"{100 * np.mean(np.abs(ratio - 1) <= 0.3):.0f} %")  # fmt: skip
    return t


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Blind deblurring on the broad generated set.")
    parser.add_argument("--subset", default="quick", help="quick (default), full, S, M or L")
    parser.add_argument("--cases", help="comma list of case indices (into the chosen subset)")
    parser.add_argument("--rows", default="default", help=f"comma list of: {', '.join(ROWS)}")
    parser.add_argument(
        "--options", help="estimator options key=value,... (default/sized/free rows)"
    )
    parser.add_argument("--per-case", action="store_true", help="print the per-case table")
    parser.add_argument("--no-cache", action="store_true", help="recompute the truth scores")
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "blind_broad.json")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--kernels", type=Path, help="save every case's kernels (npz) here")
    parser.add_argument(
        "--tone",
        default="srgb",
        choices=list(TONES),
        help="rendering of the 8-bit / JPEG cases (default srgb, exact)",
    )
    parser.add_argument(
        "--encoding",
        default="auto",
        choices=list(ENCODINGS),
        help="encoding the default / sized / free rows' estimator is given",
    )
    parser.add_argument(
        "--files-only", action="store_true", help="only the 8-bit and JPEG cases (no linear data)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    global KERNELS
    KERNELS = args.kernels
    console = Console() if Console().is_terminal else Console(width=170)
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    if not rows or set(rows) - set(ROWS):
        console.print(f"[red]--rows: choose from {', '.join(ROWS)}")
        return 2
    specs = cases(args.subset, tone=args.tone)
    if args.cases:
        specs = [specs[int(i)] for i in args.cases.split(",")]
    if args.files_only:
        specs = [s for s in specs if s.srgb]
    options = parse_options(args.options)
    cache: dict | None = None
    if not args.no_cache:
        cache = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    progress = not args.no_progress and sys.stderr.isatty()
    start = time.perf_counter()
    entries = []
    with progress_bar(progress) as bar:
        task = bar.add_task("broad blind", total=len(specs))
        for spec in specs:
            bar.update(task, description=spec.name)
            entries.append(run_case(spec, rows, options, cache, args.encoding))
            bar.advance(task)
            if cache is not None:
                write_json(CACHE, cache)
    wall = time.perf_counter() - start
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    caption = (
        f"{len(entries)} cases ({args.subset}, tone {args.tone}, encoding {args.encoding}); "
        f"estimate on the whole photograph, restore "
        f"(deconvolve defaults) and score its central {CORE} px core; gap = PSNR(true kernel) "
        f"- PSNR(estimate), ≤2/≤3: error ratio; worse: below the blurred input. "
        f"Wall {wall:.0f} s"
    )
    if load:
        caption += f", load average {load[0]:.1f} on {os.cpu_count()} CPUs"
    for row in rows:
        console.print(table(entries, row, caption + "."))
    console.print(noise_table(entries))
    if args.per_case:
        console.print(per_case_table(entries, rows))
    payload = {
        "benchmark": "broad blind set (benchmarks/blind_cases.py)",
        "date": now_iso(),
        "command": [Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])],
        "machine": machine_info(),
        "load_average": list(load) if load else None,
        "wall_seconds": wall,
        "options": options,
        "tone": args.tone,
        "encoding": args.encoding,
        "protocol": {
            "core": CORE,
            "max_shift": MAX_SHIFT,
            "border": BORDER,
            "subpixel": f"psnr_q: 1/{SUBPIXEL} px within +-1 px of the whole-pixel shift",
            "restoration": "unblur.deconvolve(window, k, channel_axis) defaults",
        },
        "summary": {
            row: {
                name: summarise([e for e in entries if pick(e["spec"])], row)
                for name, pick in GROUPS.items()
            }
            for row in rows
        },
        "cases": entries,
    }
    write_json(args.json, payload)
    console.print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
