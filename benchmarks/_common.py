"""Helpers shared by the benchmark scripts: machine info, timing, summaries, tables, JSON.

Nothing here knows about a particular data set; ``levin.py`` (and later ``levin_blind.py``,
``speed.py``) build on it. Run the scripts from anywhere; they import ``unblur`` from the
environment (the editable install in ``.venv``).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "RESULTS_DIR",
    "MethodRow",
    "Outcome",
    "free_checks",
    "free_sizing",
    "machine_info",
    "parse_ranges",
    "progress_bar",
    "summarise",
    "write_json",
]

#: Default folder for JSON results (git-ignored).
RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class Outcome:
    """The result of one method on one image: its score, or why it failed."""

    pair: str
    psnr: float = math.nan
    ssim: float = math.nan
    shift: tuple[int, ...] = ()
    seconds: float = math.nan
    delta_psnr: float = math.nan  # PSNR minus the blurred input's PSNR on the same image
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict[str, Any]:
        out = {
            "pair": self.pair,
            "psnr": self.psnr,
            "ssim": self.ssim,
            "shift": list(self.shift),
            "seconds": self.seconds,
            "delta_psnr": self.delta_psnr,
            "error": self.error,
        }
        out.update(self.extra)
        return out


@dataclass
class MethodRow:
    """A row of a benchmark table: a key (for ``--methods`` and JSON), a label and a runner.

    ``run(image, psf)`` returns the restored image, or ``(restored, extra)`` where ``extra``
    is a dict recorded with the outcome (e.g. the method ``auto`` resolved to).
    """

    key: str
    label: str
    run: Callable[[np.ndarray, np.ndarray], Any]
    kind: str = "unblur"  # "unblur", "reference" or "baseline"
    outcomes: list[Outcome] = field(default_factory=list)


def parse_ranges(text: str, *, lo: int, hi: int) -> list[int]:
    """``"1-8,12,30-32"`` -> sorted unique ints, each checked to lie in ``[lo, hi]``."""
    values: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                a, b = (int(v) for v in part.split("-", 1))
                if a > b:
                    raise ValueError
                values.update(range(a, b + 1))
            else:
                values.add(int(part))
        except ValueError:
            raise ValueError(f"bad range {part!r} (use e.g. 1-8,12)") from None
    if not values:
        raise ValueError("empty selection")
    bad = sorted(v for v in values if not lo <= v <= hi)
    if bad:
        raise ValueError(f"{bad} outside {lo}-{hi}")
    return sorted(values)


def parse_options(text: str | None) -> dict[str, Any]:
    """``key=value,...`` (a benchmark's ``--options``) as a dict: each value an integer, else a
    float, else the stripped string; empty items are skipped."""
    out: dict[str, Any] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        key, value = part.split("=", 1)
        for kind in (int, float, str.strip):
            try:
                out[key.strip()] = kind(value)
                break
            except ValueError:
                continue
    return out


def summarise(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Mean PSNR/SSIM, worst PSNR gain over the blurred input, median time, counts."""
    good = [o for o in outcomes if o.ok]
    summary: dict[str, Any] = {"n": len(outcomes), "n_ok": len(good)}
    if good:
        summary.update(
            mean_psnr=float(np.mean([o.psnr for o in good])),
            mean_ssim=float(np.mean([o.ssim for o in good])),
            min_delta_psnr=float(min(o.delta_psnr for o in good)),
            median_seconds=float(statistics.median(o.seconds for o in good)),
        )
    errors = sorted({o.error for o in outcomes if o.error})
    if errors:
        summary["errors"] = errors
    return summary


def _git_commit() -> str | None:
    """The repository's HEAD commit (read-only), or None outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def machine_info() -> dict[str, Any]:
    """CPU count, platform and library versions, for reading timings later."""
    import scipy
    import skimage

    import unblur
    from unblur import fft

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        usable = os.cpu_count()
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "fft_workers": fft.get_workers(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-image": skimage.__version__,
        "unblur": unblur.__version__,
        "git_commit": _git_commit(),
    }


def now_iso() -> str:
    """The current time, UTC, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


def _jsonable(value: Any) -> Any:
    """Recursively make ``value`` strict JSON: non-finite floats become None, tuples lists."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def free_sizing(info: dict[str, Any]) -> dict[str, Any] | None:
    """How ``estimate_psf``'s free-form kernel was sized (its ``size_history``, the noisy
    levels' ``level_side`` and, where a cut-off kernel was estimated again larger,
    ``size_retry``), from a default or free row's ``info``; None when it says nothing."""
    free = info.get("candidates", {}).get("free", info)
    if "size_history" not in free:
        return None
    return {n: free[n] for n in ("size_history", "level_side", "size_retry") if n in free}


def free_checks(info: dict[str, Any]) -> dict[str, Any] | None:
    """The free-form candidate's checks in ``estimate_psf``'s ``info`` (``model="auto"``),
    also where the parametric fit was chosen; None when there is no such candidate."""
    free = (info.get("candidates") or {}).get("free") or {}
    return dict(free["checks"]) if "checks" in free else None


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as strict JSON (inf/NaN -> null), atomically, creating folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_jsonable(payload), indent=1, allow_nan=False)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fmt(value: float, digits: int = 2, *, signed: bool = False) -> str:
    """A number for a table cell; '-' for missing, 'inf' for infinite."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def progress_bar(enabled: bool):
    """A rich progress bar on stderr, or a do-nothing stand-in when ``enabled`` is false.

    Use as ``with progress_bar(True) as bar: task = bar.add_task("...", total=n)`` and
    ``bar.update(task, advance=1, description=...)``.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    return Progress(*columns, console=Console(stderr=True), transient=True, disable=not enabled)
