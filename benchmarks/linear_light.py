"""Restoring sRGB-encoded observations in linear light: the non-blind broad set, true kernels.

A photograph is blurred in linear light (optics, camera shake) and then encoded by the
camera's transfer curve (sRGB-like) and quantised: in the encoded values the blur is not a
convolution. :func:`unblur.deconvolve` restores the values it is given. This benchmark runs
``benchmarks/nonblind_broad.py``'s 48 seeded cases (generated on the fly, nothing stored) with
their true kernels and compares restorations of the same observation:

``encoded``
    ``deconvolve`` defaults on the encoded values (today).
``linear``
    :func:`unblur.colour.srgb_to_linear`, ``deconvolve`` defaults (``tv``'s automatic weight
    from the noise it estimates on the linearised data), :func:`unblur.colour.linear_to_srgb`.
``linear-prop``
    As ``linear``, but the weight from the noise estimated on the *encoded* data (where it is
    white, and where the 8-bit floor and the JPEG estimator apply), carried to linear light by
    the curve's slope: :math:`\\sigma_L = \\sigma\\,\\sqrt{\\overline{g(y)^2}}` with
    :math:`g = dL/dV` at each pixel (the root mean square of the signal-dependent noise),
    and ``tv``'s own formula on the linear data's contrast.
``option``
    ``deconvolve(..., encoding="srgb")``: the library's option (it does what ``linear``
    does, and gives its figures to the last digit).
``linear*<f>``
    ``linear`` with ``tv``'s automatic weight times ``f``.
``eps=<e>``
    Encoded values, ``tv``'s relative model error raised from 0.006 to ``e`` (the module
    constant patched for the run).

The class that matters is ``gamma`` (linear-light blur, sRGB-encoded observation, a quarter of
the cases); the ``exact`` class (the blur acts on the values given) is the control: there the
linearisation itself is the model error. Scoring as ``nonblind_broad.py``: the restoration,
in the encoded domain (what the user sees), clipped to [0, 1], whole-frame PSNR against the
sharp scene's matching crop.

Run ``python benchmarks/linear_light.py --variants encoded,linear --only gamma`` (``--only
exact`` the control, ``--cases 0-15`` a subset); ``--twin`` observes every chosen case in
linear light (the exact cases become the same scene, kernel, noise and quantisation blurred
in linear light and sRGB-encoded: a paired set of 36 more realistic cases). Two more sets:
``--levin 1-32`` (Levin et al.'s real pairs, true kernels, scored as ``levin.py``) and
``--blind quick [--kernels DIR]`` (the blind broad set's cases, true kernels and saved
estimates, ``encoding="srgb"`` against the values as given, scored as ``blind_broad.py``).
See ``docs/notes/linear_light.md`` for the figures and commands.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
from _common import RESULTS_DIR, fmt, machine_info, now_iso, parse_ranges, write_json
from nonblind_broad import N_CASES, build, default_restore, psnr, specs, summary
from rich.console import Console
from rich.table import Table

import unblur
from unblur.colour import linear_to_srgb, srgb_to_linear
from unblur.noise import estimate_noise
from unblur.restore import sparse
from unblur.restore._common import percentile_range


def srgb_slope(v: np.ndarray) -> np.ndarray:
    """:math:`dL/dV` of the sRGB decoding curve (odd extension below zero)."""
    a = np.abs(np.asarray(v, dtype=np.float64))
    return np.where(a <= 0.04045, 1 / 12.92, 2.4 / 1.055 * ((a + 0.055) / 1.055) ** 1.4)


def _channels(y: np.ndarray) -> list[np.ndarray]:
    return [y] if y.ndim == 2 else [y[..., c] for c in range(y.shape[-1])]


def _stack(chans: list[np.ndarray]) -> np.ndarray:
    return chans[0] if len(chans) == 1 else np.stack(chans, -1)


def linear_restore(y: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, dict]:
    info: dict = {}
    lin = srgb_to_linear(y)
    out = unblur.deconvolve(lin, k, channel_axis=-1 if y.ndim == 3 else None, info=info)
    return linear_to_srgb(out), info


def propagated_lam(y: np.ndarray) -> float:
    """``tv``'s automatic weight for the linearised channel ``y`` (encoded, 2-D), with the
    noise estimated on the encoded values and carried through the curve's slope."""
    sigma = estimate_noise(y)
    lin = srgb_to_linear(y)
    sigma_l = sigma * float(np.sqrt(np.mean(srgb_slope(y) ** 2)))
    span = percentile_range(lin)[1]
    lam_n = sparse._auto_lam(sigma_l / span, sparse._TV_LAM_SCALE, 1.0, 0.5)
    return lam_n * span


def linear_prop_restore(y: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, dict]:
    info: dict = {}
    out = []
    for c in _channels(y):
        run: dict = {}
        lin = srgb_to_linear(c)
        out.append(linear_to_srgb(unblur.deconvolve(lin, k, lam=propagated_lam(c), info=run)))
        info.setdefault("channels", []).append(run)
    return _stack(out), info


def option_restore(y: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, dict]:
    info: dict = {}
    axis = -1 if y.ndim == 3 else None
    out = unblur.deconvolve(y, k, channel_axis=axis, encoding="srgb", info=info)
    return out, info


def _patched(name: str, value, base):
    """``base`` run with ``unblur.restore.sparse.<name>`` set to ``value(old)`` meanwhile."""

    def restore(y: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, dict]:
        saved = getattr(sparse, name)
        setattr(sparse, name, value(saved))
        try:
            return base(y, k)
        finally:
            setattr(sparse, name, saved)

    return restore


def eps_restore(eps: float):
    """The encoded values restored with tv's relative model error set to ``eps``."""
    return _patched("MODEL_ERROR", lambda _: eps, default_restore)


def scaled_linear_restore(factor: float):
    """Linear light with tv's automatic weight times ``factor``."""
    return _patched("_TV_LAM_SCALE", lambda scale: scale * factor, linear_restore)


def variant(name: str):
    fixed = {"encoded": default_restore, "linear": linear_restore,
             "linear-prop": linear_prop_restore, "option": option_restore}  # fmt: skip
    if name in fixed:
        return fixed[name]
    if name.startswith("eps="):
        return eps_restore(float(name[4:]))
    if name.startswith("linear*"):
        return scaled_linear_restore(float(name[7:]))
    raise SystemExit(f"unknown variant {name!r}")


def levin(names: list[str], numbers: list[int], console: Console) -> dict:
    """The variants on Levin et al.'s real pairs (true kernels), scored as ``levin.py``."""
    from levin import BORDER, DEFAULT_DATA, MAX_SHIFT, load_pairs

    from unblur.metrics import score

    results: dict = {n: [] for n in names}
    for pair in load_pairs(DEFAULT_DATA, numbers):
        for n in names:
            out = np.asarray(variant(n)(pair.observed, pair.psf)[0])
            whole = score(out, pair.reference, max_shift=MAX_SHIFT, border=BORDER)["psnr"]
            quarter = score(out, pair.reference, max_shift=MAX_SHIFT, border=BORDER, subpixel=4)
            results[n].append({"pair": pair.number, "psnr": whole, "psnr_quarter": quarter["psnr"]})
    table = Table(title=f"Levin et al. (2009), {len(numbers)} real pairs: whole / quarter pixel")
    for col in ("variant", "whole", "quarter"):
        table.add_column(col, justify="left" if col == "variant" else "right")
    for n in names:
        table.add_row(n, fmt(np.mean([r["psnr"] for r in results[n]]), 3),
                      fmt(np.mean([r["psnr_quarter"] for r in results[n]]), 3))  # fmt: skip
    console.print(table)
    return results


def blind(subset: str, kernels: Path | None, console: Console) -> dict:
    """The blind broad set's ``subset`` restored with its true kernels and, with ``kernels``
    (a folder of ``<case>.npz`` files holding a ``default`` array, e.g. estimates saved from a
    ``blind_broad.py`` run), with those: values as given against ``encoding="srgb"`` (on the
    sRGB cases; the linear float cases are restored as given either way). Scored as
    ``blind_broad.py`` (¼ px and whole-pixel PSNR of the 256 px core)."""
    from blind_broad import restore_and_score
    from blind_cases import cases

    rows = []
    for spec in cases(subset):
        case = spec.build()
        found = {"true": case.kernel}
        if kernels is not None and (kernels / f"{spec.name}.npz").exists():
            found["estimate"] = np.load(kernels / f"{spec.name}.npz")["default"]
        row = {"case": spec.name, "srgb": spec.srgb, "jpeg": spec.jpeg}
        for label, k in found.items():
            for enc in ("given", "srgb"):
                params = {"encoding": "srgb"} if enc == "srgb" and spec.srgb else {}
                scored = restore_and_score(case, k, **params)
                row[f"{label}/{enc}"] = [scored["psnr_q"], scored["psnr"]]
        rows.append(row)
        console.print(row)
    keys = [key for key in rows[0] if "/" in key]
    table = Table(title=f"blind broad set ({subset}): ¼ px (whole px) PSNR, mean")
    for col in ("kernels / values", "n", "¼ px", "whole"):
        table.add_column(col, justify="left" if col == "kernels / values" else "right")
    for key in keys:
        have = [r[key] for r in rows if key in r]
        table.add_row(key, str(len(have)), fmt(np.mean([h[0] for h in have]), 3),
                      fmt(np.mean([h[1] for h in have]), 3))  # fmt: skip
    console.print(table)
    return {"cases": rows}


def evaluate(restore, indices: list[int], twin: bool = False) -> list[dict]:
    """``restore`` on the cases ``indices`` (``nonblind_broad.evaluate``'s records); with
    ``twin`` every case is observed in linear light (``gamma``), the exact ones becoming the
    same scene, kernel, noise and quantisation blurred in linear light and sRGB-encoded."""
    records = []
    for spec in specs():
        if spec.index not in indices:
            continue
        if twin:
            spec = dataclasses.replace(spec, gamma=True)
        case = build(spec)
        out, _ = restore(case.observed, case.kernel)
        records.append({**dataclasses.asdict(spec), "name": spec.name,
                        "psnr_blurred": psnr(case.observed, case.reference),
                        "psnr": psnr(out, case.reference), "iterations": float("nan")})  # fmt: skip
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="encoded,linear,linear-prop")
    parser.add_argument("--cases", help=f"case indices, e.g. 0-15 (default: all {N_CASES})")
    parser.add_argument("--only", choices=("gamma", "exact"), help="one observation class")
    parser.add_argument("--twin", action="store_true",
                        help="every case observed in linear light (sRGB-encoded)")  # fmt: skip
    parser.add_argument("--levin", help="Levin pairs instead, e.g. 1-32")
    parser.add_argument("--blind", help="the blind broad set's subset instead, e.g. quick")
    parser.add_argument("--kernels", type=Path, help="with --blind: saved estimates (npz)")
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "linear_light.json")
    args = parser.parse_args(argv)
    console = Console(width=160) if not Console().is_terminal else Console()
    names = args.variants.split(",")
    if args.blind:
        payload = {"benchmark": "blind broad set, restoration in linear light",
                   "date": now_iso(), "machine": machine_info(),
                   **blind(args.blind, args.kernels, console)}  # fmt: skip
        write_json(args.json, payload)
        return 0
    if args.levin:
        results = levin(names, parse_ranges(args.levin, lo=1, hi=32), console)
        payload = {"benchmark": "Levin pairs, restoration in linear light", "date": now_iso(),
                   "machine": machine_info(), "cases": results}  # fmt: skip
        write_json(args.json, payload)
        return 0
    indices = parse_ranges(args.cases, lo=0, hi=N_CASES - 1) if args.cases else None
    chosen = [s.index for s in specs() if indices is None or s.index in indices]
    if args.only:
        chosen = [i for i in chosen if specs()[i].gamma == (args.only == "gamma")]
    results = {}
    for name in names:
        results[name] = evaluate(variant(name), chosen, twin=args.twin)
        g = summary(results[name])
        console.print(f"{name}: " + ", ".join(f"{key} {v['psnr']:.3f} (n {v['n']})"
                                              for key, v in g.items()))  # fmt: skip
    table = Table(title="PSNR (dB, encoded domain, whole frame) per case")
    for col in ("case", "gamma", "8-bit", "noise %", "blurred", *names):
        table.add_column(col, justify="left" if col == "case" else "right")
    for i, r in enumerate(results[names[0]]):
        scores = (fmt(results[n][i]["psnr"], 3) for n in names)
        table.add_row(r["name"], str(r["gamma"]), str(r["quantised"]), fmt(100 * r["noise"]),
                      fmt(r["psnr_blurred"]), *scores)  # fmt: skip
    console.print(table)
    table = Table(title="means (PSNR dB)")
    groups = list(summary(results[names[0]]))
    for col in ("group", "n", *names):
        table.add_column(col, justify="left" if col == "group" else "right")
    sums = {n: summary(results[n]) for n in names}
    for key in groups:
        table.add_row(key, str(sums[names[0]][key]["n"]),
                      *(fmt(sums[n][key]["psnr"], 3) for n in names))  # fmt: skip
    console.print(table)
    payload = {
        "benchmark": "non-blind broad set, restoration in linear light",
        "date": now_iso(),
        "command": [Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])],
        "machine": machine_info(),
        "summary": sums,
        "cases": results,
    }
    write_json(args.json, payload)
    console.print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
