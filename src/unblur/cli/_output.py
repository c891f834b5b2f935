"""What the commands print: JSON on stdout, numbers as text, rich consoles and progress bars.

Reports go to stdout (one JSON object with ``--json``); progress bars go to stderr and only
show on a terminal.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import click
import numpy as np


def stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def stdout_console():
    from rich.console import Console

    return Console()


def jsonable(value: Any) -> Any:
    """``value`` with numpy types, paths and tuples made JSON-friendly; inf/NaN become None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def echo_json(data: dict[str, Any]) -> None:
    """Print ``data`` as one indented JSON object on stdout."""
    click.echo(json.dumps(jsonable(data), indent=2))


def fmt(value: Any) -> str:
    """A number as short text: floats to 4 significant digits, ``inf`` as such."""
    if isinstance(value, float):
        return "inf" if math.isinf(value) else f"{value:.4g}"
    return str(value)


def params_text(parameters: Mapping[str, Any]) -> str:
    """``"balance=0.01, clip=True"``: parameters as one line."""
    return ", ".join(f"{n}={fmt(v)}" for n, v in parameters.items())


def method_text(method: str, run: Mapping[str, Any]) -> str:
    """``"tv"``, or ``"tv in linear light"`` when the restoration's ``info`` (``run``) says it
    ran there (``encoding`` ``"srgb"``, given or followed from the estimate)."""
    return f"{method} in linear light" if run.get("encoding") == "srgb" else method


def restored_text(method: str, run: Mapping[str, Any]) -> str:
    """What the written image is, from the restoration's ``info`` (``run``): ``"method tv in
    linear light"``, ``"... at 0.5 strength"`` when a doubtful estimate was blended with the
    input, or ``"the input, unchanged"`` when the conservative rule returned it."""
    rule = run.get("conservative") or {}
    if rule.get("action") == "input":
        return "the input, unchanged"
    text = f"method {method_text(method, run)}"
    return f"{text} at {rule['strength']:g} strength" if rule.get("action") == "half" else text


def shape_text(shape: Sequence[int]) -> str:
    """``"48x64"``."""
    return "x".join(map(str, shape))


def progress(console, *columns):
    """A rich progress display on ``console`` that vanishes when done; off unless a terminal."""
    from rich.progress import Progress

    return Progress(*columns, console=console, transient=True, disable=not console.is_terminal)


def starting(console, text: str):
    """A transient ``text  elapsed`` line (a context manager): the first progress line of a
    command, drawn before its heavy imports and its reading (off unless a terminal)."""
    from rich.progress import TextColumn, TimeElapsedColumn

    display = progress(console, TextColumn("{task.description}"), TimeElapsedColumn())
    display.add_task(text, total=None)
    return display


def progress_bar(console, label: str, count: str = "{task.completed}/{task.total}"):
    """``label  [bar]  count  time left``: :func:`progress` with the usual columns."""
    from rich.progress import BarColumn, TextColumn, TimeRemainingColumn

    return progress(
        console, TextColumn(label), BarColumn(), TextColumn(count), TimeRemainingColumn()
    )
