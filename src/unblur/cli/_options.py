"""Options shared by several commands, and the parsing of their values."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

#: output dtypes accepted by ``--dtype``
DTYPES = ("uint8", "uint16", "float32", "float64")
#: names a ``-p/--param`` may not use: the command line sets them itself
RESERVED = frozenset({"image", "psf", "method", "channel_axis", "callback", "info", "device"})


class ModelChoice(click.Choice):
    """``click.Choice`` over the blind PSF models (:data:`unblur.blind.MODELS`), read when
    first needed: importing :mod:`unblur.blind` at start-up (scipy.signal, scipy.stats) would
    slow every command, ``--help`` and ``--version`` included."""

    def __init__(self) -> None:
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:  # type: ignore[override]
        from ..blind import MODELS

        return tuple(MODELS)

    @choices.setter
    def choices(self, value) -> None:  # click.Choice.__init__ sets it: the models win
        pass


#: help of ``--model`` (estimate-psf) and ``--psf-model`` (deconvolve)
MODEL_HELP = (
    "auto: the parametric model the spectrum supports best (BIC), or a free-form kernel "
    "when it is stable and unlike it; gaussian, motion (length, angle), disk (defocus radius); "
    "free: a free-form (camera-shake) kernel."
)


def parse_param(text: str) -> tuple[str, Any]:
    """Split ``"key=value"`` and convert the value: int, float, bool, None, else the string.

    ``true/yes/on`` and ``false/no/off`` are booleans, ``none/null`` is None (any case).

    Examples
    --------
    >>> parse_param("num_iter=30"), parse_param("balance=1e-3"), parse_param("clip=false")
    (('num_iter', 30), ('balance', 0.001), ('clip', False))
    >>> parse_param("num_iter=1e3"), parse_param("lam=2.0")
    (('num_iter', 1000), ('lam', 2.0))
    >>> parse_param("regularizer=laplacian")
    ('regularizer', 'laplacian')
    """
    key, eq, raw = text.partition("=")
    key = key.strip()
    if not eq or not key.isidentifier():
        raise click.BadParameter(f"{text!r} is not KEY=VALUE", param_hint="-p/--param")
    value = raw.strip()
    low = value.lower()
    if low in ("true", "yes", "on"):
        return key, True
    if low in ("false", "no", "off"):
        return key, False
    if low in ("none", "null"):
        return key, None
    for convert in (int, float):
        try:
            number = convert(value)
        except ValueError:
            continue
        if convert is float and "e" in low and "." not in low and number.is_integer():
            return key, int(number)  # num_iter=1e3: a whole number, as written
        return key, number
    return key, value


def collect_params(
    ctx: click.Context, param: click.Parameter, values: Sequence[str]
) -> dict[str, Any]:
    """``-p/--param`` callback: the ``KEY=VALUE`` options as a dict, each key once."""
    params: dict[str, Any] = {}
    for text in values:
        key, value = parse_param(text)
        if key in params:
            raise click.BadParameter(f"{key!r} is given twice", ctx=ctx, param=param)
        if key in RESERVED:
            raise click.BadParameter(
                f"{key!r} is set by the command line, not a method parameter", ctx=ctx, param=param
            )
        params[key] = value
    return params


def _parse_sides(text: str, what: str) -> tuple[int, ...]:
    """``"64"`` -> ``(64,)``, ``"48x64"`` (or ``"48,64"``) -> ``(48, 64)``; positive integers."""
    parts = text.lower().replace(",", "x").split("x")
    try:
        sides = tuple(int(p) for p in parts)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not N or HxW", param_hint=what) from None
    if any(s <= 0 for s in sides):
        raise click.BadParameter(f"{text!r}: sides must be positive", param_hint=what)
    return sides


def size_option(ctx: click.Context, param: click.Parameter, value: str | None):
    """``--size N|HxW``: an int (square, or N) or an (H, W) tuple."""
    if value is None:
        return None
    sides = _parse_sides(value, param.opts[0])
    if len(sides) > 2:
        raise click.BadParameter(f"{value!r} is not N or HxW", ctx=ctx, param=param)
    return sides[0] if len(set(sides)) == 1 else sides


def grid_option(ctx: click.Context, param: click.Parameter, value: str | None):
    """``--psf-grid N|GYxGX``: the cells ``(rows, columns)`` of an estimated PSF field, each
    from 1 to :data:`unblur.blind.field.MAX_GRID` (checked here, before any file is read)."""
    if value is None:
        return None
    from ..blind.field import MAX_GRID

    try:
        cells = _parse_sides(value, param.opts[0])
    except click.BadParameter:  # not integers, or not positive: the message below says what
        cells = ()
    if len(cells) == 1:
        cells = cells * 2
    if len(cells) != 2 or not all(1 <= c <= MAX_GRID for c in cells):
        raise click.BadParameter(
            f"{value!r} is not GYxGX (rows x columns of the field, each from 1 to {MAX_GRID}), "
            "e.g. 3x3",
            ctx=ctx,
            param=param,
        )
    return cells


def sides_option(ctx: click.Context, param: click.Parameter, value: str | None):
    """``--chunks`` / ``--overlap``: an int for every axis, or one per spatial axis."""
    if value is None:
        return None
    sides = _parse_sides(value, param.opts[0])
    return sides[0] if len(sides) == 1 else sides


def forbid(given: dict[str, Any], message: str) -> None:
    """A usage error for the first option of ``given`` that is set; ``{name}`` in ``message``."""
    for name, value in given.items():
        if value is not None:
            raise click.UsageError(message.format(name=name))


output_option = click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file; the extension picks the format (.png .jpg .tif .npy ...).",
)
force_option = click.option("--force", is_flag=True, help="Overwrite an existing output file.")
preview_option = click.option(
    "--preview",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the enlarged preview image. Default: <OUTPUT stem>_preview.png.",
)
no_preview_option = click.option(
    "--no-preview", is_flag=True, help="Do not write the preview image."
)
device_option = click.option(
    "--device",
    type=click.Choice(("cpu", "cuda", "auto")),
    default="cpu",
    show_default=True,
    help="Where the method runs: cuda is a GPU through CuPy (pip install 'unblur[cuda]'); "
    "auto: the GPU when one is usable, else the CPU.",
)
json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object on stdout (nothing else)."
)
dtype_option = click.option(
    "--dtype",
    type=click.Choice(DTYPES),
    default=None,
    help="Output data type. Default: the input file's (a 16-bit PNG stays 16-bit).",
)
