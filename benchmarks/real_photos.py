"""Blind restoration of real shaken photographs, to be looked at (no truth exists).

Lai et al. 2016's real blurred photographs (``../shared/data/lai2016/real``: 12 JPEGs of
360 x 480 to 1200 x 900, camera shake, some with saturated lights) are given to the blind
default exactly as a user would (``unblur.estimate_psf(y, channel_axis=-1)``, then
``unblur.deconvolve`` with that kernel and the estimator's ``info``, as ``deconvolve(y,
"auto")`` and the command line restore), and, for comparison, to the free-form model
(``model="free"``, restored with the kernel alone). There is no sharp reference, so nothing
is scored: the script writes, per photograph, a sheet of 1:1 crops (input | default | free,
the kernels enlarged below) and the whole restorations, and a JSON table of what each row
chose (model, size, confidence, reason, the restoration's conservative action and raised
weight) with its CPU and wall times. Look at the sheets; numbers on synthetic sets do not
replace them.

Run ``python benchmarks/real_photos.py`` (about 2 minutes per photograph on 2 cores at low
load) or ``--photos boat2,face2``; sheets go to ``results/real_photos/``. ``--encoding srgb``
restores in linear light (``deconvolve(..., encoding="srgb")``; give another ``--out`` to keep
both sets of sheets).

Looked at on 2026-12-06 (load 8-13 from other sessions: CPU 11-22 s per photograph and row,
wall 24-81 s); what the sheets show is in ``docs/notes/real_photos.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS_DIR, machine_info, now_iso, write_json

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "lai2016" / "real"
CROP = 256  # side of the 1:1 crops of the sheet
KERNEL_SIDE = 96  # side of the enlarged kernels under the crops


def _size(shape: list[int]) -> str:
    return "x".join(map(str, shape))


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return (np.clip(image, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def _busiest_crop(image: np.ndarray, side: int) -> tuple[int, int]:
    """The top-left corner of the ``side`` x ``side`` window with the most gradient energy
    (on a coarse grid): where blur and its removal show."""
    grey = image.mean(axis=-1)
    gy, gx = np.gradient(grey)
    energy = gy * gy + gx * gx
    step = side // 4
    best, corner = -1.0, (0, 0)
    for i in range(0, max(1, grey.shape[0] - side + 1), step):
        for j in range(0, max(1, grey.shape[1] - side + 1), step):
            value = float(energy[i : i + side, j : j + side].sum())
            if value > best:
                best, corner = value, (i, j)
    return corner


def _kernel_tile(k: np.ndarray, side: int) -> np.ndarray:
    """The kernel enlarged by whole-pixel blocks into a ``side`` x ``side`` grey tile."""
    k = np.asarray(k, dtype=np.float64)
    k = k / max(float(k.max()), np.finfo(float).tiny)
    block = max(1, side // max(k.shape))
    big = np.kron(k, np.ones((block, block)))[:side, :side]
    tile = np.zeros((side, side))
    oy, ox = (side - big.shape[0]) // 2, (side - big.shape[1]) // 2
    tile[oy : oy + big.shape[0], ox : ox + big.shape[1]] = big
    return np.repeat(_to_uint8(tile)[..., None], 3, axis=-1)


def _sheet(panels: list[np.ndarray], kernels: list[np.ndarray | None]) -> np.ndarray:
    """Crops side by side (white gutters), each with its kernel (or blank) centred below."""
    columns = []
    for crop, k in zip(panels, kernels, strict=True):
        below = np.full((KERNEL_SIDE, crop.shape[1], 3), 255, np.uint8)
        if k is not None:
            tile = _kernel_tile(k, KERNEL_SIDE)
            left = (crop.shape[1] - KERNEL_SIDE) // 2
            below[:, left : left + KERNEL_SIDE] = tile
        columns.append(np.pad(np.concatenate([crop, below], 0), ((4, 4), (4, 4), (0, 0)),
                              constant_values=255))  # fmt: skip
    return np.concatenate(columns, 1)


def run_photo(path: Path, out_dir: Path, encoding: str | None = None) -> dict:
    import imageio.v3 as iio

    import unblur

    y = iio.imread(path)[..., :3]
    record: dict = {"photo": path.stem, "shape": list(y.shape), "encoding": encoding}
    restored, kernels = {}, {}
    for row, options in (("default", {}), ("free", {"model": "free"})):
        info: dict = {}
        cpu, wall = time.process_time(), time.perf_counter()
        k = unblur.estimate_psf(y, channel_axis=-1, info=info, **options)
        # the default row restores as deconvolve(y, "auto") and the command line do (the
        # estimator's info: a doubtful kernel's rule, a noisy free kernel's weight); the free
        # row with the kernel alone
        told = {"psf_info": info} if row == "default" else {}
        run: dict = {}
        x = unblur.deconvolve(y, k, channel_axis=-1, encoding=encoding, info=run, **told)
        record[row] = {
            "model": info.get("model"),
            "size": list(k.shape),
            "confidence": info.get("confidence"),
            "reason": info.get("reason"),
            "conservative": run.get("conservative", {}).get("action"),
            "kernel_error_factor": run.get("kernel_error", {}).get("factor"),
            "cpu_s": time.process_time() - cpu,
            "wall_s": time.perf_counter() - wall,
        }
        restored[row], kernels[row] = _to_uint8(x), k
        iio.imwrite(out_dir / f"{path.stem}_{row}.png", restored[row])
    i, j = _busiest_crop(y.astype(np.float64) / 255.0, CROP)
    crops = [a[i : i + CROP, j : j + CROP] for a in (y, restored["default"], restored["free"])]
    iio.imwrite(out_dir / f"{path.stem}_sheet.png",
                _sheet(crops, [None, kernels["default"], kernels["free"]]))  # fmt: skip
    record["crop"] = [i, j]
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", help="comma list of names (default: every photograph)")
    parser.add_argument("--data", type=Path, default=DATA, help="folder of the JPEGs")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "real_photos")
    parser.add_argument(
        "--encoding",
        choices=("srgb", "linear"),
        help="restore with deconvolve(..., encoding=...): srgb restores in linear light "
        "(docs/notes/linear_light.md); default: the values as given",
    )
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"real_photos: {args.data} not found (../shared/data/lai2016/real)", file=sys.stderr)
        return 1
    names = sorted(p.stem for p in args.data.glob("*.jpg"))
    if args.photos:
        wanted = args.photos.split(",")
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            print(f"real_photos: unknown photographs {', '.join(unknown)}", file=sys.stderr)
            return 1
        names = wanted
    args.out.mkdir(parents=True, exist_ok=True)
    records = []
    print(f"{'photo':14s} {'default':34s} {'free':24s} {'CPU s (default, free)':>22s}")
    for name in names:
        r = run_photo(args.data / f"{name}.jpg", args.out, args.encoding)
        d, f = r["default"], r["free"]
        default = f"{d['model']} {_size(d['size'])} ({d['confidence']})"
        free = f"{_size(f['size'])} ({f['confidence']})"
        print(
            f"{name:14s} {default:34s} {free:24s} {d['cpu_s']:10.1f} {f['cpu_s']:10.1f}",
            flush=True,
        )
        records.append(r)
    write_json(
        args.out / "real_photos.json",
        {"when": now_iso(), "machine": machine_info(), "photos": records},
    )
    print(f"sheets and JSON in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
