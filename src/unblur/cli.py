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
    $ unblur compare restored.png photo.png
    $ unblur demo
"""

from __future__ import annotations

import errno
import inspect
import json
import logging
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
import numpy as np

from . import __version__, fft
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


_OUTPUT = click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file; the extension picks the format (.png .jpg .tif .npy ...).",
)
_FORCE = click.option("--force", is_flag=True, help="Overwrite an existing output file.")
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

    Make a PSF, simulate blur and noise, restore a blurred image whose PSF is known, and
    measure the result. Run `unblur COMMAND --help` for the options of each command.

    \b
    Examples:
      unblur demo                                   # the classic experiment, in ./unblur-demo
      unblur psf gaussian:sigma=2.5 -o psf.npy      # a PSF file and psf_preview.png
      unblur blur photo.png -o blurred.png --psf motion:length=15,angle=30 --noise 0.01
      unblur deconvolve blurred.png -o restored.png --psf motion:length=15,angle=30
      unblur compare restored.png photo.png
      unblur methods                                # the restoration methods and parameters
    """
    ctx.ensure_object(dict)["verbose"] = verbose
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
@click.option(
    "--preview",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the enlarged preview image. Default: <OUTPUT stem>_preview.png.",
)
@click.option("--no-preview", is_flag=True, help="Do not write the preview image.")
@_FORCE
def psf_command(
    spec: str, output: Path, preview: Path | None, no_preview: bool, force: bool
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
      unblur psf gaussian:sigma=1.5x4,angle=30 -o ellipse.npy
    """
    from . import psf as psf_models
    from .io import write_image
    from .report import psf_preview

    if preview is not None and no_preview:
        raise click.UsageError("--preview and --no-preview cannot be used together")
    target_preview = (
        None if no_preview else preview or output.with_name(f"{output.stem}_preview.png")
    )
    outputs = [output] if target_preview is None else [output, target_preview]
    spec_path = Path(spec)
    _check_outputs(outputs, inputs=[spec_path] if spec_path.is_file() else [], force=force)

    k = psf_models.parse_spec(spec)
    exact = output.suffix.lower() in (".npy", ".tif", ".tiff")
    if not exact and k.ndim != 2:
        raise CLIError(f"a {k.ndim}-D PSF can only be saved as .npy or .tif, not {output.name!r}")
    if exact:
        write_image(output, k, force=force)
    else:
        dtype = "uint16" if output.suffix.lower() == ".png" else None
        write_image(output, k / k.max(), dtype=dtype, force=force)
    click.echo(f"wrote {output} (PSF {'x'.join(map(str, k.shape))}, sum 1)")
    if target_preview is not None:
        existed = target_preview.exists()
        try:
            write_image(target_preview, psf_preview(k), force=force)
        except BaseException:
            if not existed:  # never leave half of the result behind
                output.unlink(missing_ok=True)
            raise
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
) -> None:
    """Blur INPUT with a PSF (and add noise): simulate a blurred photograph.

    Colour images are blurred channel by channel with the same PSF; an alpha channel is kept
    as it is (cropped like the image for --boundary valid). With --poisson, the blurred
    intensities are first clipped at zero.

    \b
    Examples:
      unblur blur photo.png -o blurred.png --psf gaussian:sigma=2
      unblur blur photo.png -o blurred.tif --psf motion:length=15,angle=30 \\
          --boundary periodic --noise 0.01 --seed 0 --dtype float32
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
    click.echo(f"wrote {output} ({'x'.join(map(str, y.shape))}, PSF {k.shape[0]}x{k.shape[-1]})")


# --------------------------------------------------------------------------------------------
# unblur deconvolve
# --------------------------------------------------------------------------------------------
@cli.command("deconvolve")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@_OUTPUT
@click.option(
    "--psf",
    "psf_spec",
    default=None,
    metavar="SPEC",
    help="PSF spec or file (required for now: blind PSF estimation is not available yet).",
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
@_FORCE
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
def deconvolve_command(
    input_path: Path,
    output: Path,
    psf_spec: str | None,
    method: str,
    boundary: str | None,
    params: dict[str, Any],
    dtype: str | None,
    report_path: Path | None,
    reference_path: Path | None,
    force: bool,
    as_json: bool,
) -> None:
    """Restore INPUT, blurred by a known PSF, into OUTPUT.

    Colour images are restored channel by channel (an alpha channel is kept as it is). The
    output keeps the input's bit depth unless --dtype is given; values are clipped to the
    range for integer outputs, kept as computed for float ones. Iterative methods show a
    progress bar on a terminal.

    \b
    Examples:
      unblur deconvolve blurred.png -o restored.png --psf gaussian:sigma=2
      unblur deconvolve blurred.tif -o restored.tif --psf psf.npy -m inverse
      unblur deconvolve blurred.png -o restored.png --psf motion:length=15,angle=30 \\
          -m wiener -p balance=0.01 --boundary reflect --json
      unblur deconvolve blurred.png -o restored.png --psf gaussian:sigma=2 \\
          -m richardson_lucy --report report.html --reference sharp.png
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from . import psf as psf_models
    from .api import DEFAULT_METHOD, deconvolve
    from .io import read_image, write_image
    from .restore import get_method

    if psf_spec is None:
        raise click.UsageError(
            "--psf is required for now: blind PSF estimation (without --psf) is not available "
            "yet; give e.g. --psf gaussian:sigma=2 or --psf psf.npy"
        )
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
    chosen = get_method(DEFAULT_METHOD if method == "auto" else method)  # unknown: lists them
    sources = [input_path] if reference_path is None else [input_path, reference_path]
    outputs = [output] if report_path is None else [output, report_path]
    _check_outputs(outputs, inputs=sources, force=force)
    image, info = read_image(input_path)
    k = psf_models.parse_spec(psf_spec)
    colour, alpha, axis = _split_alpha(image, info)
    reference = None
    if reference_path is not None:
        reference, reference_info = read_image(reference_path)
        reference = _split_alpha(reference, reference_info)[0]
        if reference.shape != colour.shape:
            raise CLIError(
                f"the reference {str(reference_path)!r} is {'x'.join(map(str, reference.shape))}"
                f" but {str(input_path)!r} is {'x'.join(map(str, colour.shape))}; give the sharp "
                "image of the same size and channels"
            )

    total = None
    declared = chosen.parameters.get("num_iter")
    n_iter = params.get("num_iter", None if declared is None else declared.default)
    if chosen.iterative and isinstance(n_iter, int) and n_iter > 0:
        total = n_iter * (1 if axis is None else colour.shape[axis])
    console = _stderr_console()
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
    result = restored
    if alpha is not None:
        result = np.concatenate([restored, alpha.astype(restored.dtype, copy=False)], axis=-1)
    existed = output.exists()
    write_image(output, result, info=info, dtype=dtype, force=force, inputs=[input_path])
    logger.info("parameters: %s", run["parameters"])
    if report_path is not None:
        from .report import write_report

        details = {"input": str(input_path), "output": str(output), "PSF": psf_spec}
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
                "psf": psf_spec,
                "psf_shape": list(k.shape),
                **run,
                **({} if report_path is None else {"report": str(report_path)}),
            }
        )
    else:
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
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON on stdout.")
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
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON on stdout.")
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
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON on stdout.")
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
