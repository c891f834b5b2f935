"""Compare ``blind_broad.py`` runs that differ in ``--tone`` and ``--encoding`` (issue 14,
item 3: how 8-bit camera photographs should be linearised before the blur is estimated).

Each argument is a results JSON of ``blind_broad.py`` (default row); runs of the same tone and
encoding are joined (their cases pooled). The runs are paired by case (the same cases in every
run of a tone); for each run the script prints the default row's
mean ¼ px PSNR, mean gap to the true kernel, the error ratio counts and the cases worse than
the blurred input, over all cases and per group (8-bit / JPEG, grey / colour), then a per-case
table of ¼ px PSNR by encoding. Run, for example::

    python benchmarks/tone_compare.py results/tone/*.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

GROUPS = {
    "all": lambda s: True,
    "8-bit": lambda s: s["jpeg"] is None,
    "JPEG": lambda s: s["jpeg"] is not None,
    "grey": lambda s: not s["colour"],
    "colour": lambda s: s["colour"],
    "shake": lambda s: s["blur"] in ("shake", "lai"),
}


def _load(path: Path) -> dict:
    payload = json.loads(Path(path).read_text())
    return {
        "tone": payload.get("tone", "srgb"),
        "encoding": payload.get("encoding", "auto"),
        "cases": [c for c in payload["cases"] if "error" not in c["default"]],
    }


def _row(cases: list[dict]) -> str:
    d = [c["default"] for c in cases]
    ratio = np.array([r["ratio_q"] for r in d])
    return (
        f"{len(d):>2} | {np.mean([c['blurred']['psnr_q'] for c in cases]):.2f} | "
        f"{np.mean([c['true']['psnr_q'] for c in cases]):.2f} | "
        f"{np.mean([r['psnr_q'] for r in d]):.2f} | {np.mean([r['gap_q'] for r in d]):.2f} | "
        f"{np.mean(ratio <= 2) * 100:.0f} % | {np.mean(ratio <= 3) * 100:.0f} % | "
        f"{sum(r['gain_q'] < 0 for r in d)}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="blind_broad.py results JSONs")
    args = parser.parse_args(argv)
    merged: dict[tuple[str, str], dict] = {}  # runs of one tone and encoding: their cases joined
    for path in args.runs:
        run = _load(path)
        key = (run["tone"], run["encoding"])
        if key in merged:
            merged[key]["cases"] += run["cases"]
        else:
            merged[key] = run
    runs = [merged[key] for key in sorted(merged)]
    for run in runs:
        run["cases"].sort(key=lambda c: c["case"])
    print("| tone | encoding | group | n | blurred | true k | estimate | gap | ≤2 | ≤3 | worse |")
    print("| --- | --- | --- | --: | --: | --: | --: | --: | --: | --: | --: |")
    for run in runs:
        for name, pick in GROUPS.items():
            subset = [c for c in run["cases"] if pick(c["spec"])]
            if subset:
                print(f"| {run['tone']} | {run['encoding']} | {name} | {_row(subset)} |")
    print()
    encodings = list(dict.fromkeys(r["encoding"] for r in runs))
    heads = " | ".join(f"{e} (model, ratio)" for e in encodings)
    print(f"| tone | case | blurred | true k | {heads} |")
    for tone in dict.fromkeys(r["tone"] for r in runs):
        by_encoding = {r["encoding"]: r for r in runs if r["tone"] == tone}
        names = sorted({c["case"] for r in by_encoding.values() for c in r["cases"]})
        for name in names:
            case = next(c for r in by_encoding.values() for c in r["cases"] if c["case"] == name)
            cells = [tone, name.split("+")[0], f"{case['blurred']['psnr_q']:.2f}",
                     f"{case['true']['psnr_q']:.2f}"]  # fmt: skip
            for enc in encodings:
                match = [c for c in by_encoding.get(enc, {"cases": []})["cases"]
                         if c["case"] == name]  # fmt: skip
                if not match:
                    cells.append("-")
                    continue
                r = match[0]["default"]
                model = f"{r['info'].get('model', '?')} {r['kernel_shape'][0]}"
                if r["info"].get("confidence") == "low":
                    model += " low"
                cells.append(f"{r['psnr_q']:.2f} ({model}, {r['ratio_q']:.2f})")
            print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
