"""The ``unblur`` command line: make PSFs, simulate blur, restore, compare, demo.

A thin layer over the library: every command parses its options, reads files with
:mod:`unblur.io`, calls the public API and writes the result atomically. Problems with the
input (a missing or corrupt file, a bad PSF spec, an unknown method or parameter, an output that
exists) end the command with one line ``unblur: error: <message>`` on stderr and exit status 1;
misused options give click's usage message and exit status 2. No command leaves a partial
output file behind, and no command ever overwrites one of its inputs.

Examples
--------
.. code-block:: console

    $ unblur psf motion:length=21,angle=30 -o motion.npy
    $ unblur blur photo.png -o blurred.png --psf motion.npy --noise 0.01 --seed 0
    $ unblur deconvolve blurred.png -o restored.png --psf motion.npy --method wiener
    $ unblur estimate-psf blurred.png -o estimated.npy
    $ unblur deconvolve blurred.png -o restored.png             # blind: PSF estimated first
    $ unblur deconvolve 'raw/*.tif' -o restored/ --jobs 4       # a batch, in parallel
    $ unblur deconvolve big.zarr -o restored.zarr --psf motion.npy --chunks 1024
    $ unblur compare restored.png photo.png --json
    $ unblur demo

Every command that reports something takes ``--json``: one JSON object on stdout and nothing
else there (progress bars and log lines go to stderr).
"""

from __future__ import annotations

import errno
import glob
import inspect
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import numpy as np

from . import __version__, fft
from .blind import MODELS as PSF_MODELS
from .errors import UnblurError

__all__ = ["cli", "main", "parse_param"]

logger = logging.getLogger("unblur")

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
#: output dtypes accepted by ``--dtype``
DTYPES = ("uint8", "uint16", "float32", "float64")
#: names a ``-p/--param`` may not use: the command line sets them itself
_RESERVED = frozenset({"image", "psf", "method", "channel_axis", "callback", "return_info"})


# --------------------------------------------------------------------------------------------
# errors: one line on stderr, exit status 1
# --------------------------------------------------------------------------------------------
class CLIError(click.ClickException):
    """An error shown as the single line ``unblur: error: <message>`` (exit status 1)."""

    exit_code = 1

    def show(self, file=None) -> None:
        message = " ".join(self.format_message().split())
        click.echo(f"unblur: error: {message}", file=file, err=True)


def _os_message(exc: OSError) -> str:
    text = exc.strerror or str(exc) or type(exc).__name__
    return f"{text}: {exc.filename}" if exc.filename else text


class _Group(click.Group):
    """A group that turns every error of its commands into one line (see :class:`CLIError`)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except UnblurError as exc:
            raise CLIError(str(exc)) from None
        except OSError as exc:
            if exc.errno == errno.EPIPE:  # stdout closed early (`| head`): click exits quietly
                raise
            raise CLIError(_os_message(exc)) from None
        except Exception as exc:
            if (ctx.obj or {}).get("verbose"):
                raise
            raise CLIError(
                f"unexpected {type(exc).__name__}: {exc} (run with -v to see the traceback)"
            ) from None


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def parse_param(text: str) -> tuple[str, Any]:
    """Split ``"key=value"`` and convert the value: int, float, bool, None, else the string.

    ``true/yes/on`` and ``false/no/off`` are booleans, ``none/null`` is None (any case).

    Examples
    --------
    >>> parse_param("num_iter=30"), parse_param("balance=1e-3"), parse_param("clip=false")
    (('num_iter', 30), ('balance', 0.001), ('clip', False))
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
            return key, convert(value)
        except ValueError:
            pass
    return key, value


def _collect_params(
    ctx: click.Context, param: click.Parameter, values: Sequence[str]
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for text in values:
        key, value = parse_param(text)
        if key in params:
            raise click.BadParameter(f"{key!r} is given twice", ctx=ctx, param=param)
        if key in _RESERVED:
            raise click.BadParameter(
                f"{key!r} is set by the command line, not a method parameter", ctx=ctx, param=param
            )
        params[key] = value
    return params


def _same_path(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def _check_outputs(outputs: Sequence[Path], *, inputs: Sequence[Path], force: bool) -> None:
    """Fail early (before any work) for outputs that would overwrite something."""
    for i, out in enumerate(outputs):
        for src in inputs:
            if _same_path(out, src):
                raise CLIError(
                    f"refusing to overwrite the input {str(out)!r}; choose another output"
                )
        for other in outputs[:i]:
            if _same_path(out, other):
                raise CLIError(f"two outputs are the same file {str(out)!r}")
        if (out.exists() or out.is_symlink()) and not force:
            raise CLIError(f"{str(out)!r} exists; use --force to overwrite it")


def _split_alpha(image: np.ndarray, info) -> tuple[np.ndarray, np.ndarray | None, int | None]:
    """(colour or grey data, alpha channel or None, channel axis for the API) of a read image."""
    if info.channel_axis is None:
        return image, None, None
    if info.has_alpha:
        return image[..., :-1], image[..., -1:], -1
    return image, None, -1


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def _stdout_console():
    from rich.console import Console

    return Console()


def _jsonable(value: Any) -> Any:
    """``value`` with numpy types, paths and tuples made JSON-friendly; inf/NaN become None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def _echo_json(data: dict[str, Any]) -> None:
    click.echo(json.dumps(_jsonable(data), indent=2))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "inf" if math.isinf(value) else f"{value:.4g}"
    return str(value)


def _progress_callback(progress, total: int | None) -> Callable[[int, np.ndarray], None]:
    """A ``callback(iteration, estimate)`` that advances a rich progress bar by one step."""
    state: dict[str, Any] = {}

    def callback(iteration: int, estimate: np.ndarray) -> None:
        if "task" not in state:
            state["task"] = progress.add_task("deconvolving", total=total)
        progress.advance(state["task"])

    return callback


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


def _size_option(ctx: click.Context, param: click.Parameter, value: str | None):
    """``--size N|HxW``: an int (square, or N) or an (H, W) tuple."""
    if value is None:
        return None
    sides = _parse_sides(value, param.opts[0])
    if len(sides) > 2:
        raise click.BadParameter(f"{value!r} is not N or HxW", ctx=ctx, param=param)
    return sides[0] if len(set(sides)) == 1 else sides


def _sides_option(ctx: click.Context, param: click.Parameter, value: str | None):
    """``--chunks`` / ``--overlap``: an int for every axis, or one per spatial axis."""
    if value is None:
        return None
    sides = _parse_sides(value, param.opts[0])
    return sides[0] if len(sides) == 1 else sides


def _shape_text(shape: Sequence[int]) -> str:
    return "x".join(map(str, shape))


def _write_psf(k: np.ndarray, output: Path, preview: Path | None, *, force: bool) -> None:
    """Save a PSF as ``unblur psf`` does: exact floats in .npy/.tif, else scaled to the peak.

    The preview (nearest-neighbour enlargement) is written after the PSF; if it fails, a PSF
    file this call created is removed again, so no half of the result is left behind.
    """
    from .io import write_image
    from .report import psf_preview

    exact = output.suffix.lower() in (".npy", ".tif", ".tiff")
    if not exact and k.ndim != 2:
        raise CLIError(f"a {k.ndim}-D PSF can only be saved as .npy or .tif, not {output.name!r}")
    if exact:
        write_image(output, k, force=force)
    else:
        dtype = "uint16" if output.suffix.lower() == ".png" else None
        write_image(output, k / k.max(), dtype=dtype, force=force)
    if preview is not None:
        existed = preview.exists()
        try:
            write_image(preview, psf_preview(k), force=force)
        except BaseException:
            if not existed:
                output.unlink(missing_ok=True)
            raise


def _preview_path(output: Path, preview: Path | None, no_preview: bool) -> Path | None:
    if preview is not None and no_preview:
        raise click.UsageError("--preview and --no-preview cannot be used together")
    return None if no_preview else preview or output.with_name(f"{output.stem}_preview.png")


def _accepts_callback(func: Callable) -> bool:
    try:
        return "callback" in inspect.signature(func).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return False


def _estimate_psf(
    image: np.ndarray,
    channel_axis: int | None,
    size: int | tuple[int, ...] | None,
    model: str,
    *,
    console=None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Blind PSF estimation with ``unblur.estimate_psf``, shown on ``console`` (stderr).

    If the estimator takes a ``callback`` (the multi-scale free-form model: one call per
    pyramid level or iteration), a progress bar advances with it; otherwise a spinner turns.
    Returns the PSF and a summary: ``model``, ``parameters``, ``shape``, ``seconds``, the
    estimator's other reports (``noise_sigma``, ``scores``, ...) and, for parametric models,
    ``spec``: a ``--psf`` spec that rebuilds the same PSF.
    """
    from .blind import estimate_psf

    info: dict[str, Any] = {}
    kwargs: dict[str, Any] = {}
    start = time.perf_counter()
    if console is None:
        k = estimate_psf(image, size, model, channel_axis=channel_axis, info=info)
    else:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        stepped = _accepts_callback(estimate_psf)
        columns: list = [SpinnerColumn(), TextColumn("estimating the PSF")]
        if stepped:
            columns += [BarColumn(), TextColumn("{task.completed} steps")]
        columns.append(TimeElapsedColumn())
        progress = Progress(
            *columns, console=console, transient=True, disable=not console.is_terminal
        )
        with progress:
            task = progress.add_task("estimating", total=None)
            if stepped:
                kwargs["callback"] = lambda *args, **kw: progress.advance(task)
            k = estimate_psf(image, size, model, channel_axis=channel_axis, info=info, **kwargs)
    summary = dict(info)
    summary.update(
        model=info.get("model", model),
        parameters=dict(info.get("parameters") or {}),
        shape=list(k.shape),
        seconds=time.perf_counter() - start,
    )
    if summary["model"] in ("gaussian", "motion", "disk") and summary["parameters"]:
        values = [f"{n}={v:.6g}" for n, v in summary["parameters"].items()]
        if info.get("size"):
            values.append(f"size={info['size']}")
        summary["spec"] = f"{summary['model']}:{','.join(values)}"
    return k, summary


def _estimate_text(summary: dict[str, Any]) -> str:
    """One line: ``motion (length=10.9, angle=30.2), 7x11, 0.15 s``."""
    values = ", ".join(f"{n}={_fmt(v)}" for n, v in summary["parameters"].items())
    model = summary["model"] + (f" ({values})" if values else "")
    return f"{model}, {_shape_text(summary['shape'])}, {summary['seconds']:.2f} s"


_OUTPUT = click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file; the extension picks the format (.png .jpg .tif .npy ...).",
)
_FORCE = click.option("--force", is_flag=True, help="Overwrite an existing output file.")
_PREVIEW = click.option(
    "--preview",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the enlarged preview image. Default: <OUTPUT stem>_preview.png.",
)
_NO_PREVIEW = click.option("--no-preview", is_flag=True, help="Do not write the preview image.")
_JSON = click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object on stdout (nothing else)."
)
_DTYPE = click.option(
    "--dtype",
    type=click.Choice(DTYPES),
    default=None,
    help="Output data type. Default: the input file's (a 16-bit PNG stays 16-bit).",
)


# --------------------------------------------------------------------------------------------
# the group
# --------------------------------------------------------------------------------------------
@click.group(cls=_Group, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name="unblur")
@click.option(
    "--workers",
    type=int,
    default=None,
    metavar="N",
    help="Threads per FFT (-1: all cores). Default: all cores, or $UNBLUR_WORKERS.",
)
@click.option("-v", "--verbose", count=True, help="Log what is done (-vv: more; tracebacks).")
@click.pass_context
def cli(ctx: click.Context, workers: int | None, verbose: int) -> None:
    """unblur: remove blur from images.

    Make a PSF, simulate blur and noise, estimate the PSF of a blurred image, restore it
    (one image, a batch of files in parallel, or a big image block by block) and measure the
    result. Run `unblur COMMAND --help` for the options of each command; --json makes any
    report one JSON object on stdout.

    \b
    Examples:
      unblur demo                                   # the classic experiment, in ./unblur-demo
      unblur psf gaussian:sigma=2.5 -o psf.npy      # a PSF file and psf_preview.png
      unblur blur photo.png -o blurred.png --psf motion:length=15,angle=30 --noise 0.01
      unblur deconvolve blurred.png -o restored.png --psf motion:length=15,angle=30
      unblur estimate-psf blurred.png -o psf.npy        # blind: the PSF from the image
      unblur deconvolve blurred.png -o restored.png     # blind: estimate, then restore
      unblur deconvolve 'raw/*.png' -o restored/ --psf psf.npy --jobs 4
      unblur compare restored.png photo.png
      unblur methods                                # the restoration methods and parameters
    """
    ctx.ensure_object(dict)["verbose"] = verbose
    ctx.obj["workers"] = workers
    if workers is not None:
        try:
            fft.set_workers(workers)
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param_hint="--workers") from None
    handler, level = _CLIHandler(), logger.level
    logger.addHandler(handler)
    if verbose:
        logger.setLevel(logging.DEBUG if verbose >= 2 else logging.INFO)

    def restore_logging() -> None:  # leave the library's logger as it was (tests, embedding)
        logger.removeHandler(handler)
        logger.setLevel(level)

    ctx.call_on_close(restore_logging)


class _CLIHandler(logging.Handler):
    """Log records as ``unblur: <level>: <message>`` lines on the current stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            click.echo(f"unblur: {record.levelname.lower()}: {record.getMessage()}", err=True)
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


# --------------------------------------------------------------------------------------------
# unblur psf
# --------------------------------------------------------------------------------------------
@cli.command("psf")
@click.argument("spec")
@_OUTPUT
@_PREVIEW
@_NO_PREVIEW
@_FORCE
@_JSON
def psf_command(
    spec: str, output: Path, preview: Path | None, no_preview: bool, force: bool, as_json: bool
) -> None:
    """Build a PSF from SPEC and save it to OUTPUT.

    SPEC is MODEL:key=value,... with MODEL one of gaussian (sigma, angle, size), motion
    (length, angle, size), disk (radius), airy (radius), moffat (fwhm or alpha, beta); sigma
    and size take AxB for per-axis values. SPEC may also be a PSF image or .npy file, which is
    cleaned (background removed, centred, cropped, normalised).

    .npy and .tif/.tiff keep the exact float PSF (sum 1): use them as --psf of the other
    commands. Other formats (.png, .jpg) are for viewing only: scaled so the peak is white
    (PNG: 16 bits). A preview PNG, enlarged with nearest-neighbour blocks (8x, at least
    128 px), is written beside OUTPUT unless --no-preview.

    \b
    Examples:
      unblur psf gaussian:sigma=2.5 -o gauss.npy          # also gauss_preview.png
      unblur psf motion:length=21,angle=30 -o motion.tif --preview motion_big.png
      unblur psf disk:radius=4 -o disk.png --no-preview
      unblur psf gaussian:sigma=1.5x4,angle=30 -o ellipse.npy --json
    """
    from . import psf as psf_models

    target_preview = _preview_path(output, preview, no_preview)
    outputs = [output] if target_preview is None else [output, target_preview]
    spec_path = Path(spec)
    _check_outputs(outputs, inputs=[spec_path] if spec_path.is_file() else [], force=force)

    k = psf_models.parse_spec(spec)
    _write_psf(k, output, target_preview, force=force)
    if as_json:
        _echo_json(
            {"psf": spec, "shape": list(k.shape), "output": output, "preview": target_preview}
        )
        return
    click.echo(f"wrote {output} (PSF {_shape_text(k.shape)}, sum 1)")
    if target_preview is not None:
        click.echo(f"wrote {target_preview} (preview)")


# --------------------------------------------------------------------------------------------
# unblur blur
# --------------------------------------------------------------------------------------------
@cli.command("blur")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@_OUTPUT
@click.option("--psf", "psf_spec", required=True, metavar="SPEC", help="PSF spec or file.")
@click.option(
    "--boundary",
    type=click.Choice(("reflect", "periodic", "valid")),
    default="reflect",
    show_default=True,
    help="periodic: wrap around; reflect: mirror; valid: no assumption, the output is "
    "smaller by the PSF size - 1.",
)
@click.option(
    "--noise",
    type=float,
    default=0.0,
    metavar="SIGMA",
    help="Standard deviation of added Gaussian noise, in [0, 1] units (0.01 is 1%).",
)
@click.option(
    "--poisson",
    type=float,
    default=None,
    metavar="PHOTONS",
    help="Add Poisson (shot) noise for this photon count at intensity 1.",
)
@click.option("--seed", type=int, default=None, help="Seed of the noise, for repeatable runs.")
@_DTYPE
@_FORCE
@_JSON
def blur_command(
    input_path: Path,
    output: Path,
    psf_spec: str,
    boundary: str,
    noise: float,
    poisson: float | None,
    seed: int | None,
    dtype: str | None,
    force: bool,
    as_json: bool,
) -> None:
    """Blur INPUT with a PSF (and add noise): simulate a blurred photograph.

    Colour images are blurred channel by channel with the same PSF; an alpha channel is kept
    as it is (cropped like the image for --boundary valid). With --poisson, the blurred
    intensities are first clipped at zero.

    \b
    Examples:
      unblur blur photo.png -o blurred.png --psf gaussian:sigma=2
      unblur blur photo.png -o blurred.tif --psf motion:length=15,angle=30 \\
          --boundary periodic --noise 0.01 --seed 0 --dtype float32 --json
      unblur blur cells.tif -o low_light.tif --psf psf3d.npy --poisson 100 --seed 1
    """
    from . import psf as psf_models
    from .forward import add_noise, blur
    from .io import read_image, write_image

    _check_outputs([output], inputs=[input_path], force=force)
    image, info = read_image(input_path)
    k = psf_models.parse_spec(psf_spec)
    colour, alpha, axis = _split_alpha(image, info)
    y = blur(colour, k, boundary=boundary, channel_axis=axis)
    if noise or poisson is not None:
        if poisson is not None:
            y = np.maximum(y, 0)  # FFT round-off can leave -1e-17 where the image is black
        y = add_noise(y, gaussian=noise, poisson=poisson, rng=seed)
    if alpha is not None:
        if boundary == "valid":
            alpha = alpha[
                tuple(
                    slice(p - 1 - p // 2, n - p // 2)
                    for p, n in zip(k.shape, alpha.shape[:-1], strict=True)
                )
            ]
        y = np.concatenate([y, alpha.astype(y.dtype, copy=False)], axis=-1)
    write_image(output, y, info=info, dtype=dtype, force=force, inputs=[input_path])
    if as_json:
        _echo_json(
            {
                "input": input_path,
                "output": output,
                "psf": psf_spec,
                "psf_shape": list(k.shape),
                "shape": list(y.shape),
                "boundary": boundary,
                "noise": noise,
                "poisson": poisson,
                "seed": seed,
            }
        )
        return
    click.echo(f"wrote {output} ({_shape_text(y.shape)}, PSF {k.shape[0]}x{k.shape[-1]})")


# --------------------------------------------------------------------------------------------
# unblur estimate-psf
# --------------------------------------------------------------------------------------------
_MODEL_HELP = (
    "auto: the parametric model the spectrum supports best (BIC); gaussian, motion (length, "
    "angle), disk (defocus radius); free: a free-form (camera-shake) kernel."
)


@cli.command("estimate-psf")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@_OUTPUT
@click.option(
    "--size",
    callback=_size_option,
    metavar="N|HxW",
    help="Side of the PSF (odd: an even one is rounded up); it also bounds the blur searched. "
    "Default: the fitted model's own size.",
)
@click.option(
    "--model", type=click.Choice(PSF_MODELS), default="auto", show_default=True, help=_MODEL_HELP
)
@_PREVIEW
@_NO_PREVIEW
@_FORCE
@_JSON
def estimate_psf_command(
    input_path: Path,
    output: Path,
    size: int | tuple[int, ...] | None,
    model: str,
    preview: Path | None,
    no_preview: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Estimate the PSF of the blurred image INPUT from INPUT alone; save it to OUTPUT.

    The parametric models are fitted to the log power spectrum of the image (its central
    512 x 512 crop; colour is averaged to grey: one PSF serves every channel). The chosen
    model and its parameters are printed, with the score of every candidate for --model
    auto. OUTPUT is written as by `unblur psf`: .npy and .tif/.tiff keep the exact float PSF
    (sum 1) for `unblur deconvolve --psf`; .png is scaled to its peak, for viewing; a preview
    PNG is written beside OUTPUT unless --no-preview.

    \b
    Examples:
      unblur estimate-psf blurred.png -o psf.npy
      unblur estimate-psf blurred.png -o psf.npy --model motion --size 31 --force
      unblur estimate-psf photo.jpg -o psf.tif --preview psf_big.png --json
      unblur deconvolve blurred.png -o restored.png --psf psf.npy
    """
    from rich.markup import escape
    from rich.table import Table

    from .io import SUPPORTED_WRITE_EXTENSIONS, read_image

    target_preview = _preview_path(output, preview, no_preview)
    outputs = [output] if target_preview is None else [output, target_preview]
    _check_outputs(outputs, inputs=[input_path], force=force)
    for target in outputs:  # before the (possibly long) estimation
        if target.suffix.lower() not in SUPPORTED_WRITE_EXTENSIONS:
            raise CLIError(
                f"cannot write {str(target)!r}: unsupported file type "
                f"{target.suffix or '(no extension)'!r} "
                f"(supported: {', '.join(SUPPORTED_WRITE_EXTENSIONS)})"
            )
    image, info = read_image(input_path)
    colour, _, axis = _split_alpha(image, info)
    k, summary = _estimate_psf(colour, axis, size, model, console=_stderr_console())
    _write_psf(k, output, target_preview, force=force)
    if as_json:
        data = {n: v for n, v in summary.items() if n not in ("shape", "size")}
        _echo_json(
            {
                "input": input_path,
                "output": output,
                "preview": target_preview,
                **data,
                "size": summary["shape"],
                "requested_size": size,
            }
        )
        return
    console = _stdout_console()
    table = Table(title=f"PSF estimated from {escape(str(input_path))}")
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_row("model", escape(summary["model"]))
    for name, value in summary["parameters"].items():
        table.add_row(escape(name), _fmt(value))
    table.add_row("size", _shape_text(summary["shape"]))
    if summary.get("noise_sigma") is not None:
        table.add_row("noise sigma", _fmt(summary["noise_sigma"]))
    table.add_row("time (s)", f"{summary['seconds']:.2f}")
    console.print(table)
    scores = summary.get("scores")
    if isinstance(scores, dict) and scores:
        candidates = Table(
            title=f"candidates ({str(summary.get('criterion', 'score')).upper()}: lower wins)"
        )
        for column in ("model", "parameters", str(summary.get("criterion", "score")).upper()):
            candidates.add_column(column)
        for name, score in scores.items():
            values = ", ".join(f"{n}={_fmt(v)}" for n, v in score.get("parameters", {}).items())
            chosen = " *" if name == summary["model"] else ""
            candidates.add_row(
                escape(name + chosen), escape(values), _fmt(score.get("bic", float("nan")))
            )
        console.print(candidates)
    click.echo(f"wrote {output} (PSF {_shape_text(k.shape)}, sum 1)")
    if target_preview is not None:
        click.echo(f"wrote {target_preview} (preview)")


# --------------------------------------------------------------------------------------------
# unblur deconvolve
# --------------------------------------------------------------------------------------------
def _expand_inputs(args: Sequence[str]) -> tuple[list[Path], bool]:
    """The input files that ``args`` name, and whether they make a batch.

    An argument is a file (or a ``.zarr`` folder: one image), a folder (its image files, not
    recursively, hidden files skipped) or a glob pattern (``*``, ``?``, ``[...]``, ``**``)
    quoted so that the shell leaves it alone. Folders and patterns always make a batch (even
    of one file), and so do several arguments. A file named twice is restored once.
    """
    from .io import SUPPORTED_READ_EXTENSIONS as extensions

    def images(paths) -> list[Path]:
        return sorted(
            p
            for p in paths
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in extensions
        )

    batch = len(args) > 1
    found: list[Path] = []
    for arg in args:
        path = Path(arg)
        if path.is_dir() and path.suffix.lower() != ".zarr":
            batch = True
            inside = images(path.iterdir())
            if not inside:
                raise CLIError(
                    f"no image files in the folder {arg!r} (looked for {', '.join(extensions)})"
                )
            found += inside
        elif not path.exists() and any(c in arg for c in "*?["):
            batch = True
            matches = images(Path(m) for m in glob.glob(arg, recursive=True))
            if not matches:
                raise CLIError(f"no image file matches {arg!r}")
            found += matches
        else:
            found.append(path)
    unique: dict[str, Path] = {}
    for path in found:
        unique.setdefault(os.path.realpath(path), path)
    return list(unique.values()), batch


def _batch_target(folder: Path, source: Path, suffix: str, out_format: str | None) -> Path:
    """``folder/<stem><suffix><extension>``: the input's extension, or ``.png`` if unwritable."""
    from .io import SUPPORTED_WRITE_EXTENSIONS

    extension = f".{out_format}" if out_format else source.suffix
    if extension.lower() not in SUPPORTED_WRITE_EXTENSIONS:  # .gif, a folder: PNG
        extension = ".png"
    return folder / f"{source.stem}{suffix}{extension}"


def _with_alpha(restored: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    if alpha is None:
        return restored
    return np.concatenate([restored, alpha.astype(restored.dtype, copy=False)], axis=-1)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class _Job:
    """One file of a batch: everything a worker process needs (picklable)."""

    source: Path
    target: Path
    psf: np.ndarray | None  # None: estimate it from the image
    psf_model: str
    psf_size: int | tuple[int, ...] | None
    method: str
    boundary: str | None
    params: dict[str, Any]
    dtype: str | None
    force: bool
    fft_workers: int | None  # FFT threads in the worker; None: leave as is


def _run_job(job: _Job) -> dict[str, Any]:
    """Restore one file of a batch. Never raises: a failure becomes the row's message."""
    import contextlib

    from .api import deconvolve
    from .io import read_image, write_image

    start = time.perf_counter()
    row: dict[str, Any] = {
        "input": str(job.source),
        "output": str(job.target),
        "status": "error",
        "method": job.method,
        "seconds": 0.0,
        "message": "",
    }
    threads = contextlib.nullcontext() if job.fft_workers is None else fft.workers(job.fft_workers)
    try:
        with threads:
            image, info = read_image(job.source)
            colour, alpha, axis = _split_alpha(image, info)
            k, notes = job.psf, []
            if k is None:
                k, estimate = _estimate_psf(colour, axis, job.psf_size, job.psf_model)
                row["psf_estimate"] = estimate
                notes.append(f"PSF {_estimate_text(estimate)}")
            restored, run = deconvolve(
                colour,
                k,
                job.method,
                boundary=job.boundary,
                channel_axis=axis,
                return_info=True,
                **job.params,
            )
            write_image(
                job.target,
                _with_alpha(restored, alpha),
                info=info,
                dtype=job.dtype,
                force=job.force,
                inputs=[job.source],
            )
        notes.append(", ".join(f"{n}={_fmt(v)}" for n, v in run["parameters"].items()))
        row.update(
            status="ok",
            method=run["method"],
            parameters=run["parameters"],
            message="; ".join(n for n in notes if n),
        )
    except UnblurError as exc:
        row["message"] = str(exc)
    except OSError as exc:
        row["message"] = _os_message(exc)
    except Exception as exc:
        row["message"] = f"unexpected {type(exc).__name__}: {exc}"
    row["message"] = " ".join(row["message"].split())
    row["seconds"] = time.perf_counter() - start
    return row


def _pool_context():
    """Worker processes that start clean: forkserver (unblur preloaded) where there is one."""
    import multiprocessing

    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["unblur.cli"])
        return context
    return multiprocessing.get_context("spawn")  # pragma: no cover - Windows


def _run_batch(jobs: list[_Job], n_procs: int, console) -> list[dict[str, Any]]:
    """Run the jobs (in ``n_procs`` processes when more than one) behind a progress bar."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    rows: list[dict[str, Any]] = [{} for _ in jobs]
    progress = Progress(
        TextColumn("restoring"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} files"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with progress:
        task = progress.add_task("files", total=len(jobs))
        if n_procs == 1:
            for i, job in enumerate(jobs):
                rows[i] = _run_job(job)
                progress.advance(task)
            return rows
        with ProcessPoolExecutor(max_workers=n_procs, mp_context=_pool_context()) as pool:
            futures = {pool.submit(_run_job, job): i for i, job in enumerate(jobs)}
            try:
                for future in as_completed(futures):
                    i = futures[future]
                    try:
                        rows[i] = future.result()
                    except BrokenProcessPool:
                        rows[i] = _failed_row(jobs[i], "its worker process died (out of memory?)")
                    except Exception as exc:  # e.g. the job could not be sent to the worker
                        rows[i] = _failed_row(jobs[i], f"unexpected {type(exc).__name__}: {exc}")
                    progress.advance(task)
            except BaseException:  # Ctrl-C: drop what has not started (outputs are atomic)
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    return rows


def _failed_row(job: _Job, message: str) -> dict[str, Any]:
    return {
        "input": str(job.source),
        "output": str(job.target),
        "status": "error",
        "method": job.method,
        "seconds": 0.0,
        "message": message,
    }


def _deconvolve_batch(
    ctx: click.Context,
    sources: list[Path],
    folder: Path,
    *,
    psf_spec: str | None,
    psf_model: str,
    psf_size: int | tuple[int, ...] | None,
    method: str,
    boundary: str | None,
    params: dict[str, Any],
    dtype: str | None,
    suffix: str | None,
    out_format: str | None,
    jobs: int | None,
    force: bool,
    as_json: bool,
) -> None:
    """``unblur deconvolve`` with several inputs: one output per input in ``folder``."""
    from rich.markup import escape
    from rich.table import Table

    from . import psf as psf_models
    from .io import SUPPORTED_WRITE_EXTENSIONS

    if folder.exists() and not folder.is_dir():
        raise CLIError(
            f"{str(folder)!r} is a file: with several inputs, -o names a folder for the outputs"
        )
    if not folder.exists() and folder.suffix.lower() in SUPPORTED_WRITE_EXTENSIONS:
        raise CLIError(
            f"-o {str(folder)!r} looks like a file name: with several inputs, -o names a folder "
            "for the outputs"
        )
    suffix = "_unblur" if suffix is None else suffix
    if os.sep in suffix or (os.altsep and os.altsep in suffix):
        raise click.BadParameter(f"{suffix!r} must not contain a path separator", "--suffix")
    k = None if psf_spec is None else psf_models.parse_spec(psf_spec)
    targets = [_batch_target(folder, source, suffix, out_format) for source in sources]
    _check_outputs(targets, inputs=sources, force=force)
    folder.mkdir(parents=True, exist_ok=True)

    cores = _cpu_count()
    n_procs = max(1, min(jobs or min(4, cores), len(sources)))
    workers = (ctx.obj or {}).get("workers")
    if workers is None and n_procs > 1:  # threads x processes ~ cores
        workers = max(1, cores // n_procs)
    batch = [
        _Job(
            source,
            target,
            k,
            psf_model,
            psf_size,
            method,
            boundary,
            params,
            dtype,
            force,
            workers if n_procs > 1 else None,
        )
        for source, target in zip(sources, targets, strict=True)
    ]
    rows = _run_batch(batch, n_procs, _stderr_console())
    failed = [r for r in rows if r["status"] != "ok"]
    if as_json:
        _echo_json(
            {
                "output": folder,
                "jobs": n_procs,
                "ok": len(rows) - len(failed),
                "failed": len(failed),
                "files": rows,
            }
        )
    else:
        table = Table(
            title=f"unblur deconvolve: {len(rows) - len(failed)} of {len(rows)} files restored "
            f"into {escape(str(folder))}"
        )
        table.add_column("file", overflow="fold")
        table.add_column("status")
        table.add_column("method")
        table.add_column("seconds", justify="right")
        table.add_column("message", overflow="fold")
        for r in rows:
            ok = r["status"] == "ok"
            table.add_row(
                escape(r["input"]),
                "[green]ok[/green]" if ok else "[red]error[/red]",
                escape(str(r["method"])),
                f"{r['seconds']:.2f}",
                escape(r["message"]),
            )
        _stdout_console().print(table)
    if failed:
        names = ", ".join(Path(r["input"]).name for r in failed[:3])
        more = f" and {len(failed) - 3} more" if len(failed) > 3 else ""
        raise CLIError(f"{len(failed)} of {len(rows)} files failed: {names}{more}")


def _central_sample(lazy, channel_axis: int | None, side: int = 512) -> np.ndarray:
    """The central ``side`` x ``side`` (x ...) part of a lazy image, computed."""
    axis = None if channel_axis is None else channel_axis % lazy.ndim
    region = []
    for a, n in enumerate(lazy.shape):
        if a == axis:
            region.append(slice(None))
        else:
            start = max(0, (n - side) // 2)
            region.append(slice(start, start + min(n, side)))
    return np.asarray(lazy[tuple(region)].compute())


def _deconvolve_chunked(
    ctx: click.Context,
    input_path: Path,
    output: Path,
    *,
    psf_spec: str | None,
    psf_model: str,
    psf_size: int | tuple[int, ...] | None,
    method: str,
    boundary: str | None,
    params: dict[str, Any],
    chunks: int | tuple[int, ...] | None,
    overlap: int | tuple[int, ...] | None,
    force: bool,
    as_json: bool,
) -> None:
    """``unblur deconvolve`` block by block with :func:`unblur.dask.deconvolve_file`."""
    try:
        import dask.array  # noqa: F401
    except ImportError:
        raise CLIError(
            "--chunks and .zarr files need Dask, which is not installed: pip install 'unblur[dask]'"
        ) from None
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from . import dask as unblur_dask
    from . import psf as psf_models

    _check_outputs([output], inputs=[input_path], force=force)
    if output.suffix.lower() not in unblur_dask.WRITE_SUFFIXES:
        raise CLIError(
            f"cannot write {str(output)!r} block by block: give a "
            f"{', '.join(unblur_dask.WRITE_SUFFIXES)} output"
        )
    lazy = unblur_dask.from_file(input_path)  # lazy: shape and dtype only
    axis = -1 if lazy.ndim in (3, 4) and lazy.shape[-1] <= 4 else None  # as unblur.io: colour
    console = _stderr_console()
    estimate = None
    if psf_spec is None:
        sample = _central_sample(lazy, axis)
        k, estimate = _estimate_psf(sample, axis, psf_size, psf_model, console=console)
    else:
        k = psf_models.parse_spec(psf_spec)
    progress = Progress(
        TextColumn("deconvolving blocks"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    run: dict[str, Any] = {}
    # Dask runs one block per core: one FFT thread each, unless --workers says otherwise
    workers = (ctx.obj or {}).get("workers") or 1
    start = time.perf_counter()
    with progress, fft.workers(workers):
        task = progress.add_task("blocks", total=None)

        def on_block(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        unblur_dask.deconvolve_file(
            input_path,
            output,
            k,
            method,
            chunks=chunks,
            overlap=overlap,
            boundary=boundary,
            channel_axis=axis,
            overwrite=force,
            progress=on_block,
            info=run,
            **params,
        )
    seconds = time.perf_counter() - start
    blocks = math.prod(len(c) for c in run.get("chunks", ()))
    parameters = {**params, **run.get("parameters", {})}
    if run.get("boundary") is not None:  # None: each method's own
        parameters["boundary"] = run["boundary"]
    channel = None if axis is None else axis % lazy.ndim
    chunk_sides = [max(c) for a, c in enumerate(run.get("chunks", ())) if a != channel]
    if as_json:
        _echo_json(
            {
                "input": input_path,
                "output": output,
                "psf": psf_spec if estimate is None else "estimated",
                "psf_shape": list(k.shape),
                **({} if estimate is None else {"psf_estimate": estimate}),
                "method": run.get("method", method),
                "parameters": parameters,
                "seconds": seconds,
                "chunks": chunk_sides,
                "overlap": list(run.get("overlap", ())),
                "blocks": blocks,
            }
        )
        return
    if estimate is not None:
        click.echo(f"estimated PSF: {_estimate_text(estimate)}")
    shown = ", ".join(f"{n}={_fmt(v)}" for n, v in parameters.items())
    click.echo(
        f"wrote {output} (method {run.get('method', method)}, {blocks} blocks, "
        f"{seconds:.2f} s; {shown})"
    )


_BATCH = "With several inputs, a folder or a pattern: "


@cli.command("deconvolve")
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(path_type=Path),
    help="Output file; the extension picks the format (.png .tif .npy .zarr ...). With several "
    "inputs, a folder (created if missing).",
)
@click.option(
    "--psf",
    "psf_spec",
    default=None,
    metavar="SPEC",
    help="PSF spec or file. Default: estimate the PSF from the image (blind; see --psf-model).",
)
@click.option(
    "--psf-model",
    type=click.Choice(PSF_MODELS),
    default=None,
    help="Without --psf: the PSF model to estimate (default auto). " + _MODEL_HELP,
)
@click.option(
    "--psf-size",
    callback=_size_option,
    metavar="N|HxW",
    help="Without --psf: side of the estimated PSF (default: the fitted model's own).",
)
@click.option(
    "-m",
    "--method",
    default="auto",
    show_default=True,
    help="Restoration method (see `unblur methods`).",
)
@click.option(
    "--boundary",
    type=click.Choice(("periodic", "reflect", "taper", "unknown")),
    default=None,
    help="Boundary model. Default: the method's own.",
)
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    callback=_collect_params,
    help="A method parameter, repeatable (-p num_iter=50 -p clip=false). Values are read as "
    "int, float, true/false, none, or text.",
)
@_DTYPE
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="PATH",
    help="Also write a self-contained HTML report (.html): before/after slider, PSF, spectra, "
    "convergence, every parameter, run time.",
)
@click.option(
    "--reference",
    "reference_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="PATH",
    help="The sharp image (same size as INPUT): adds PSNR and SSIM to the --report.",
)
@click.option(
    "--suffix",
    default=None,
    help=_BATCH + "added to each input's name for its output  [default: _unblur].",
)
@click.option(
    "--format",
    "out_format",
    type=click.Choice(("png", "tif", "npy")),
    default=None,
    help=_BATCH + "output format. Default: the input's (.gif: png).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help=_BATCH + "files restored at once, in separate processes. Default: min(4, cores).",
)
@click.option(
    "--chunks",
    callback=_sides_option,
    metavar="N|HxW",
    help="Restore block by block with Dask, in blocks of this side (for images larger than "
    "memory; .npy, .tif or .zarr in and out). Implied for .zarr inputs.",
)
@click.option(
    "--overlap",
    callback=_sides_option,
    metavar="N|HxW",
    help="With --chunks: pixels of context around each block. Default: 3 PSF half-widths.",
)
@_FORCE
@_JSON
@click.pass_context
def deconvolve_command(
    ctx: click.Context,
    inputs: tuple[str, ...],
    output: Path,
    psf_spec: str | None,
    psf_model: str | None,
    psf_size: int | tuple[int, ...] | None,
    method: str,
    boundary: str | None,
    params: dict[str, Any],
    dtype: str | None,
    report_path: Path | None,
    reference_path: Path | None,
    suffix: str | None,
    out_format: str | None,
    jobs: int | None,
    chunks: int | tuple[int, ...] | None,
    overlap: int | tuple[int, ...] | None,
    force: bool,
    as_json: bool,
) -> None:
    """Restore the blurred image INPUT into OUTPUT; or many images into a folder.

    Without --psf the PSF is first estimated from the image itself (as `unblur estimate-psf`
    does; in a batch, from each image) and reported. Colour images are restored channel by
    channel (an alpha channel is kept as it is). The output keeps the input's bit depth unless
    --dtype is given; values are clipped to the range for integer outputs, kept as computed
    for float ones. Iterative methods show a progress bar on a terminal.

    Batch: several INPUTs, a folder, or a quoted glob pattern ('raw/*.tif') restore every file
    into the folder OUTPUT as <name><suffix>.<ext>, --jobs at a time in separate processes; a
    file that fails is reported in the summary table and does not stop the others (exit
    status 1 if any failed).

    Big images: with --chunks (or a .zarr INPUT) the image is read, restored and written
    block by block with Dask (pip install 'unblur[dask]'), so memory holds a few blocks only.

    \b
    Examples:
      unblur deconvolve blurred.png -o restored.png --psf gaussian:sigma=2
      unblur deconvolve blurred.png -o restored.png                  # blind
      unblur deconvolve blurred.tif -o restored.tif --psf psf.npy -m inverse
      unblur deconvolve blurred.png -o restored.png --psf motion:length=15,angle=30 \\
          -m wiener -p balance=0.01 --boundary reflect --json
      unblur deconvolve blurred.png -o restored.png --psf gaussian:sigma=2 \\
          -m richardson_lucy --report report.html --reference sharp.png
      unblur deconvolve 'raw/*.tif' -o restored --psf psf.npy --jobs 4 --format png
      unblur deconvolve big.zarr -o restored.zarr --psf psf.npy --chunks 1024
    """
    from .api import DEFAULT_METHOD
    from .restore import get_method

    if psf_spec is not None and (psf_model is not None or psf_size is not None):
        raise click.UsageError(
            "--psf-model and --psf-size are for estimating the PSF: leave them out with --psf"
        )
    psf_model = psf_model or "auto"
    if "boundary" in params:
        if boundary is not None:
            raise click.UsageError("give the boundary once: --boundary or -p boundary=...")
        boundary = params.pop("boundary")
    if reference_path is not None and report_path is None:
        raise click.UsageError("--reference is used by the report: add --report PATH")
    if report_path is not None and report_path.suffix.lower() not in (".html", ".htm"):
        raise click.BadParameter(
            f"{str(report_path)!r} must be an .html file", param_hint="--report"
        )
    sources, batch = _expand_inputs(inputs)
    get_method(DEFAULT_METHOD if method == "auto" else method)  # unknown: lists them
    if batch:
        if psf_spec is not None and Path(psf_spec).is_file():  # a PSF file beside the images
            sources = [s for s in sources if not _same_path(s, Path(psf_spec))]
            if not sources:
                raise CLIError("nothing to restore: the only input is the --psf file")
        for name, given in (
            ("--report", report_path),
            ("--reference", reference_path),
            ("--chunks", chunks),
            ("--overlap", overlap),
        ):
            if given is not None:
                raise click.UsageError(f"{name} works with one input, not a batch")
        return _deconvolve_batch(
            ctx,
            sources,
            output,
            psf_spec=psf_spec,
            psf_model=psf_model,
            psf_size=psf_size,
            method=method,
            boundary=boundary,
            params=params,
            dtype=dtype,
            suffix=suffix,
            out_format=out_format,
            jobs=jobs,
            force=force,
            as_json=as_json,
        )
    input_path = sources[0]
    for name, given in (("--suffix", suffix), ("--format", out_format), ("--jobs", jobs)):
        if given is not None:
            raise click.UsageError(
                f"{name} is for a batch: give several inputs, a folder or a pattern "
                "(one input is written to -o)"
            )
    if chunks is not None or input_path.suffix.lower() == ".zarr":
        for name, given in (
            ("--report", report_path),
            ("--reference", reference_path),
            ("--dtype", dtype),
        ):
            if given is not None:
                raise click.UsageError(f"{name} is not available block by block (--chunks, .zarr)")
        return _deconvolve_chunked(
            ctx,
            input_path,
            output,
            psf_spec=psf_spec,
            psf_model=psf_model,
            psf_size=psf_size,
            method=method,
            boundary=boundary,
            params=params,
            chunks=chunks,
            overlap=overlap,
            force=force,
            as_json=as_json,
        )
    if overlap is not None:
        raise click.UsageError("--overlap goes with --chunks")
    if output.is_dir():
        raise CLIError(
            f"{str(output)!r} is a folder: give an output file (a folder is for several inputs)"
        )
    return _deconvolve_single(
        input_path,
        output,
        psf_spec=psf_spec,
        psf_model=psf_model,
        psf_size=psf_size,
        method=method,
        boundary=boundary,
        params=params,
        dtype=dtype,
        report_path=report_path,
        reference_path=reference_path,
        force=force,
        as_json=as_json,
    )


def _deconvolve_single(
    input_path: Path,
    output: Path,
    *,
    psf_spec: str | None,
    psf_model: str,
    psf_size: int | tuple[int, ...] | None,
    method: str,
    boundary: str | None,
    params: dict[str, Any],
    dtype: str | None,
    report_path: Path | None,
    reference_path: Path | None,
    force: bool,
    as_json: bool,
) -> None:
    """``unblur deconvolve`` of one image in memory (the PSF given or estimated)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from . import psf as psf_models
    from .api import DEFAULT_METHOD, deconvolve
    from .io import read_image, write_image
    from .restore import get_method

    chosen = get_method(DEFAULT_METHOD if method == "auto" else method)
    sources = [input_path] if reference_path is None else [input_path, reference_path]
    outputs = [output] if report_path is None else [output, report_path]
    _check_outputs(outputs, inputs=sources, force=force)
    image, info = read_image(input_path)
    k = None if psf_spec is None else psf_models.parse_spec(psf_spec)
    colour, alpha, axis = _split_alpha(image, info)
    reference = None
    if reference_path is not None:
        reference, reference_info = read_image(reference_path)
        reference = _split_alpha(reference, reference_info)[0]
        if reference.shape != colour.shape:
            raise CLIError(
                f"the reference {str(reference_path)!r} is {_shape_text(reference.shape)}"
                f" but {str(input_path)!r} is {_shape_text(colour.shape)}; give the sharp "
                "image of the same size and channels"
            )
    console = _stderr_console()
    estimate = None
    if k is None:
        k, estimate = _estimate_psf(colour, axis, psf_size, psf_model, console=console)

    total = None
    declared = chosen.parameters.get("num_iter")
    n_iter = params.get("num_iter", None if declared is None else declared.default)
    if chosen.iterative and isinstance(n_iter, int) and n_iter > 0:
        total = n_iter * (1 if axis is None else colour.shape[axis])
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    callback = _progress_callback(progress, total)
    monitor = None
    if report_path is not None:
        from .report import ConvergenceMonitor

        monitor = ConvergenceMonitor(reference, channel_axis=axis, callback=callback)
    with progress:
        restored, run = deconvolve(
            colour,
            k,
            method,
            boundary=boundary,
            channel_axis=axis,
            callback=callback if monitor is None else monitor,
            return_info=True,
            **params,
        )
    existed = output.exists()
    write_image(
        output,
        _with_alpha(restored, alpha),
        info=info,
        dtype=dtype,
        force=force,
        inputs=[input_path],
    )
    logger.info("parameters: %s", run["parameters"])
    psf_text = psf_spec if estimate is None else f"estimated: {_estimate_text(estimate)}"
    if report_path is not None:
        from .report import write_report

        details = {"input": str(input_path), "output": str(output), "PSF": psf_text}
        if reference_path is not None:
            details["reference"] = str(reference_path)
        if run["auto"]:
            details["method choice"] = "automatic (-m auto)"
        try:
            write_report(
                report_path,
                blurred=colour,
                restored=restored,
                psf=k,
                method=run["method"],
                parameters=run["parameters"],
                seconds=run["seconds"],
                channel_axis=axis,
                reference=reference,
                convergence=monitor,
                given=set(params) | ({"boundary"} if boundary is not None else set()),
                details=details,
                force=force,
            )
        except BaseException:
            if not existed:  # never leave half of the result behind
                output.unlink(missing_ok=True)
            raise
    if as_json:
        _echo_json(
            {
                "input": str(input_path),
                "output": str(output),
                "psf": psf_spec if estimate is None else "estimated",
                "psf_shape": list(k.shape),
                **({} if estimate is None else {"psf_estimate": estimate}),
                **run,
                **({} if report_path is None else {"report": str(report_path)}),
            }
        )
    else:
        if estimate is not None:
            click.echo(f"estimated PSF: {_estimate_text(estimate)}")
        shown = ", ".join(f"{n}={_fmt(v)}" for n, v in run["parameters"].items())
        click.echo(f"wrote {output} (method {run['method']}, {run['seconds']:.2f} s; {shown})")
        if report_path is not None:
            click.echo(f"wrote {report_path} (report)")


# --------------------------------------------------------------------------------------------
# unblur compare
# --------------------------------------------------------------------------------------------
@cli.command("compare")
@click.argument("estimate", type=click.Path(path_type=Path))
@click.argument("reference", type=click.Path(path_type=Path))
@_JSON
def compare_command(estimate: Path, reference: Path, as_json: bool) -> None:
    """Measure how close ESTIMATE is to REFERENCE: PSNR (dB) and SSIM.

    Both images are read as [0, 1] floats (8- and 16-bit files are divided by 255 / 65535)
    and compared pixel by pixel with data range 1; colour images over all channels. SSIM uses
    the Gaussian window of Wang et al. (2004). PSNR is inf (JSON: null) for identical images.

    \b
    Examples:
      unblur compare restored.png sharp.png
      unblur compare restored.tif sharp.tif --json
    """
    from rich.table import Table

    from .io import read_image
    from .metrics import psnr, ssim

    est, est_info = read_image(estimate)
    ref, ref_info = read_image(reference)
    if est.shape != ref.shape:
        raise CLIError(
            f"cannot compare images of different shapes: {str(estimate)!r} is "
            f"{'x'.join(map(str, est.shape))}, {str(reference)!r} is "
            f"{'x'.join(map(str, ref.shape))}"
        )
    colour = est_info.channel_axis is not None or ref_info.channel_axis is not None
    value_psnr = psnr(est, ref, data_range=1.0)
    value_ssim = ssim(est, ref, data_range=1.0, channel_axis=-1 if colour else None)
    if as_json:
        _echo_json(
            {
                "estimate": str(estimate),
                "reference": str(reference),
                "psnr": value_psnr,
                "ssim": value_ssim,
            }
        )
        return
    table = Table(title=None)
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("PSNR", "inf" if math.isinf(value_psnr) else f"{value_psnr:.2f} dB")
    table.add_row("SSIM", f"{value_ssim:.4f}")
    _stdout_console().print(table)


# --------------------------------------------------------------------------------------------
# unblur methods
# --------------------------------------------------------------------------------------------
def _default_text(p: inspect.Parameter) -> str:
    return "(required)" if p.default is inspect.Parameter.empty else repr(p.default)


@cli.command("methods")
@click.argument("name", required=False)
@_JSON
def methods_command(name: str | None, as_json: bool) -> None:
    """List the restoration methods and their parameters, or document method NAME.

    Pass parameters to `unblur deconvolve` as -p KEY=VALUE; `auto` (the default method)
    picks one for you.

    \b
    Examples:
      unblur methods
      unblur methods wiener          # the full documentation of one method
      unblur methods --json
    """
    from rich.markup import escape
    from rich.table import Table

    from .restore import available_methods, get_method

    if name is not None:
        m = get_method(name)
        if as_json:
            _echo_json(_method_json(m))
        else:
            kind = "iterative" if m.iterative else "direct"
            click.echo(f"{m.name} ({kind})\n")
            click.echo(inspect.getdoc(m.func) or m.summary)
        return
    methods = [get_method(n) for n in available_methods()]
    if as_json:
        _echo_json({"methods": [_method_json(m) for m in methods]})
        return
    table = Table(title="unblur methods (unblur deconvolve -m NAME -p KEY=VALUE)")
    table.add_column("method", style="bold")
    table.add_column("kind")
    table.add_column("parameters (defaults)", overflow="fold")
    table.add_column("summary")
    for m in methods:
        table.add_row(
            escape(m.name),
            "iterative" if m.iterative else "direct",
            escape("\n".join(f"{n}={_default_text(p)}" for n, p in m.parameters.items())),
            escape(m.summary),
        )
    _stdout_console().print(table)


def _method_json(m) -> dict[str, Any]:
    return {
        "name": m.name,
        "iterative": m.iterative,
        "summary": m.summary,
        "parameters": {
            n: (None if p.default is inspect.Parameter.empty else p.default)
            for n, p in m.parameters.items()
        },
    }


# --------------------------------------------------------------------------------------------
# unblur demo
# --------------------------------------------------------------------------------------------
@cli.command("demo")
@click.option(
    "-o",
    "--output",
    "folder",
    default="unblur-demo",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for demo.png (created if missing).",
)
@click.option(
    "-m",
    "--method",
    "methods",
    multiple=True,
    help="Method to run on the noisy scenarios besides the inverse filter (repeatable). "
    "Default: every registered method.",
)
@_FORCE
@_JSON
def demo_command(folder: Path, methods: tuple[str, ...], force: bool, as_json: bool) -> None:
    """Blur a photograph and restore it: the classic inverse-filter experiment.

    The cameraman (256x256) is blurred circularly by a Gaussian (sigma 2) and by a straight
    motion (15 px at 30 degrees). Without noise the inverse filter restores it exactly
    (PSNR > 100 dB); after 8-bit rounding and 1% noise it fails completely, and the other
    restoration methods show what regularisation recovers. Writes FOLDER/demo.png (one row
    per scenario: sharp, PSF, blurred, restorations, PSNR in each title) and prints a table.

    \b
    Examples:
      unblur demo
      unblur demo -o results --force
      unblur demo -m wiener --json
    """
    from rich.table import Table

    from .demo import DEMO_FIGURE, run_demo

    rows = run_demo(folder, force=force, methods=list(methods) if methods else None)
    if as_json:
        _echo_json({"figure": str(folder / DEMO_FIGURE), "rows": rows})
        return
    table = Table(title="unblur demo: cameraman 256x256, periodic blur")
    for col, justify in (
        ("scenario", "left"),
        ("method", "left"),
        ("PSNR (dB)", "right"),
        ("SSIM", "right"),
        ("time (s)", "right"),
    ):
        table.add_column(col, justify=justify)
    for r in rows:
        table.add_row(
            r["scenario"],
            r["method"],
            "inf" if math.isinf(r["psnr"]) else f"{r['psnr']:.1f}",
            f"{r['ssim']:.3f}",
            f"{r['seconds']:.3f}",
        )
    console = _stdout_console()
    console.print(table)
    click.echo(f"wrote {folder / DEMO_FIGURE}")


# --------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line (the ``unblur`` console script; ``python -m unblur``)."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="unblur")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
