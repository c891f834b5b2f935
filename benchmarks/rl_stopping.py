"""Stopping rules for ``richardson_lucy``: PSNR and iterations of each rule, from one run.

Each case is restored once with ``unblur.deconvolve(y, k, method="richardson_lucy",
num_iter=N_MAX)`` (every other parameter at its default: accelerated, TV weight from the
noise, ``unknown`` boundary), and every iterate is kept. For each iterate the two measures a
rule can use are computed exactly as the method would:

* the relative change :math:`\\|x_k - x_{k-1}\\| / \\|x_k\\|` over the observed region (what
  ``tol`` compares; :math:`\\infty` at the first iteration);
* the discrepancy ratio :math:`\\|M(Hx_k - y)\\|^2 / (\\hat\\sigma^2 N)` (Morozov, as
  ``landweber`` stops by default), :math:`\\hat\\sigma` from
  :func:`unblur.noise.estimate_noise`, :math:`N` the observed pixels.

A rule then picks an iterate per channel (the first that satisfies it, else the cap), and the
result is scored as its benchmark scores: ``levin.py``'s protocol (best integer shift within
5 px, 10 px border; and the quarter-pixel search) on the 32 real photographs and on their
synthetic counterparts (``valid`` blur + 1 % noise), and ``nonblind_broad.py``'s whole-frame
PSNR on its 48 seeded cases. Since the iterates are those the method produces, a rule's figures
are what the method would return with it (up to the first iteration's change, which the method
measures against the start and this script leaves infinite; no rule here stops there).

Run ``python benchmarks/rl_stopping.py`` (about 20 minutes on two busy cores; ``--sets`` to
pick ``real,synthetic,broad``). ``--implemented misfit_tol=3e-3`` runs the method itself with
those parameters instead (one run per case; mean PSNR and mean iterations over channels).
The measured table is in ``docs/notes/restore_defaults.md``.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
from pathlib import Path
from typing import ClassVar

import levin
import nonblind_broad
import numpy as np
from rich.console import Console
from rich.table import Table

import unblur
from unblur.metrics import score
from unblur.noise import estimate_noise
from unblur.operators import Boundary
from unblur.restore import _loop
from unblur.restore import richardson_lucy as rl_module

N_MAX = 60


class _Recorder(_loop.IterationLoop):
    """The method's loop, keeping every iterate (the working grid) of every run."""

    runs: ClassVar[list[list[np.ndarray]]] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.iterates: list[np.ndarray] = []
        _Recorder.runs.append(self.iterates)

    def done(self, estimate=None, *, change=None, may_stop=True) -> bool:
        if estimate is not None:
            self.iterates.append(np.array(estimate, copy=True))
        return super().done(estimate, change=change, may_stop=may_stop)


def trajectories(y: np.ndarray, k: np.ndarray) -> list[dict]:
    """Restore ``y`` (grey or colour, last axis) with N_MAX iterations; per channel: the
    cropped iterates, the relative changes and the discrepancy ratios."""
    _Recorder.runs = []
    original = rl_module.IterationLoop
    rl_module.IterationLoop = _Recorder
    try:
        unblur.deconvolve(
            y, k, method="richardson_lucy", num_iter=N_MAX,
            channel_axis=-1 if y.ndim == 3 else None,
        )  # fmt: skip
    finally:
        rl_module.IterationLoop = original
    channels = [y] if y.ndim == 2 else [y[..., c] for c in range(y.shape[-1])]
    assert len(channels) == len(_Recorder.runs)
    out = []
    for ych, grids in zip(channels, _Recorder.runs, strict=True):
        ych = np.asarray(ych, dtype=grids[0].dtype)
        bc = Boundary.create("unknown", ych.shape, k, dtype=ych.dtype)
        sigma = estimate_noise(ych)
        cropped = [bc.crop(g).copy() for g in grids]
        change = [math.inf]
        for a, b in itertools.pairwise(cropped):
            nb = float(np.linalg.norm(b))
            change.append(float(np.linalg.norm(b - a)) / nb if nb > 0 else 0.0)
        disc = []
        for g in grids:
            r = bc.operator.forward(g)[bc.region] - ych
            disc.append(float(np.vdot(r, r)) / (sigma**2 * ych.size))
        out.append({"iterates": cropped, "change": change, "disc": disc})
    return out


def rules() -> dict[str, object]:
    """name -> function(channel trajectory) -> stop iteration (1-based)."""
    out: dict[str, object] = {}
    for n in (10, 15, 20, 25, 30, 40, 60):
        out[f"fixed {n}"] = lambda t, n=n: n
    for cap in (30, 60):
        for tol in (1e-2, 5e-3, 3e-3, 2e-3, 1.5e-3, 1e-3, 7e-4, 5e-4):
            out[f"tol {tol:g}, cap {cap}"] = lambda t, tol=tol, cap=cap: next(
                (i + 1 for i, c in enumerate(t["change"][:cap]) if c < tol), cap
            )
    for tau in (1.0, 1.5, 2.0, 3.0):
        out[f"discrepancy {tau:g}, cap 30"] = lambda t, tau=tau: next(
            (i + 1 for i, d in enumerate(t["disc"][:30]) if d <= tau**2), 30
        )
    for eps in (1e-2, 3e-3, 1e-3):  # the misfit's relative decrease (a residual plateau)
        out[f"misfit plateau {eps:g}, cap 30"] = lambda t, eps=eps: next(
            (i + 1 for i in range(1, 30) if t["disc"][i - 1] - t["disc"][i] < eps * t["disc"][i]),
            30,
        )
    return out


def _assemble(traj: list[dict], stops: list[int]) -> np.ndarray:
    parts = [t["iterates"][s - 1] for t, s in zip(traj, stops, strict=True)]
    return parts[0] if len(parts) == 1 else np.stack(parts, -1)


def run_set(name: str, cases, scorer) -> dict[str, dict]:
    """cases: iterable of (y, k, reference); scorer(estimate, reference) -> dict of PSNRs."""
    table = {r: {"iters": [], "scores": []} for r in rules()}
    for y, k, ref in cases:
        traj = trajectories(y, k)
        cache: dict[tuple, dict] = {}
        for rname, rule in rules().items():
            stops = [rule(t) for t in traj]
            key = tuple(stops)
            if key not in cache:
                cache[key] = scorer(_assemble(traj, stops), ref)
            table[rname]["iters"].append(float(np.mean(stops)))
            table[rname]["scores"].append(cache[key])
        print(f"{name}: case done", file=sys.stderr, flush=True)
    return table


def _levin_scorer(est, ref):
    whole = score(est, ref, max_shift=levin.MAX_SHIFT, border=levin.BORDER)["psnr"]
    quarter = score(est, ref, max_shift=levin.MAX_SHIFT, border=levin.BORDER, subpixel=4)["psnr"]
    return {"psnr": whole, "psnr_quarter": quarter}


def _broad_scorer(est, ref):
    return {"psnr": nonblind_broad.psnr(est, ref)}


def run_implemented(name: str, cases, scorer, params: dict) -> dict:
    """The method itself with ``params`` (one run per case): mean scores and iterations."""
    scores, iters = [], []
    for y, k, ref in cases:
        calls: list[int] = []  # every channel's iterations (info keeps the last channel's)
        out = unblur.deconvolve(
            y, k, method="richardson_lucy", callback=lambda i, e, calls=calls: calls.append(i),
            channel_axis=-1 if y.ndim == 3 else None, **params,
        )  # fmt: skip
        scores.append(scorer(out, ref))
        iters.append(len(calls) / (1 if y.ndim == 2 else y.shape[-1]))
    return {k: float(np.mean([s[k] for s in scores])) for k in scores[0]} | {
        "iterations": float(np.mean(iters)),
        "n": len(iters),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="real,synthetic,broad")
    parser.add_argument("--json", type=Path, help="write the per-case figures here")
    parser.add_argument(
        "--implemented", help="run the method itself with these parameters, e.g. misfit_tol=3e-3"
    )
    args = parser.parse_args(argv)
    sets = args.sets.split(",")
    pairs = levin.load_pairs(levin.DEFAULT_DATA, list(range(1, 33)))
    if args.implemented:
        params = {}
        for item in args.implemented.split(","):
            key, value = item.split("=")
            params[key] = None if value == "None" else float(value)
        for s in sets:
            if s == "real":
                cases, scorer = ((p.observed, p.psf, p.reference) for p in pairs), _levin_scorer
            elif s == "synthetic":
                synth = (levin.synthesize(p, p.reference) for p in pairs)
                cases, scorer = ((p.observed, p.psf, p.reference) for p in synth), _levin_scorer
            else:
                built = (nonblind_broad.build(sp) for sp in nonblind_broad.specs())
                cases, scorer = ((c.observed, c.kernel, c.reference) for c in built), _broad_scorer
            print(s, params, run_implemented(s, cases, scorer, params), flush=True)
        return 0
    results = {}
    if "real" in sets:
        cases = ((p.observed, p.psf, p.reference) for p in pairs)
        results["real"] = run_set("real", cases, _levin_scorer)
    if "synthetic" in sets:
        synth = (levin.synthesize(p, p.reference) for p in pairs)
        cases = ((p.observed, p.psf, p.reference) for p in synth)
        results["synthetic"] = run_set("synthetic", cases, _levin_scorer)
    if "broad" in sets:
        built = (nonblind_broad.build(s) for s in nonblind_broad.specs())
        cases = ((c.observed, c.kernel, c.reference) for c in built)
        results["broad"] = run_set("broad", cases, _broad_scorer)
    console = Console(width=200)
    table = Table(title=f"richardson_lucy stopping rules (iterates of one {N_MAX}-iteration run)")
    table.add_column("rule")
    for s in results:
        keys = ["psnr", "psnr_quarter"] if s != "broad" else ["psnr"]
        for key in keys:
            table.add_column(f"{s} {key.replace('psnr_', '')}", justify="right")
        table.add_column(f"{s} it", justify="right")
    for rname in rules():
        cells = []
        for s, t in results.items():
            keys = ["psnr", "psnr_quarter"] if s != "broad" else ["psnr"]
            for key in keys:
                cells.append(f"{np.mean([c[key] for c in t[rname]['scores']]):.3f}")
            cells.append(f"{np.mean(t[rname]['iters']):.1f}")
        table.add_row(rname, *cells)
    console.print(table)
    if args.json:
        import json

        args.json.write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
