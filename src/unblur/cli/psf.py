"""``unblur psf`` and ``unblur estimate-psf``: make a PSF, or estimate it from a blurred image."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click
import numpy as np

from ._beads import grid_option, psf_from_beads
from ._errors import CLIError
from ._estimate import estimate_psf, file_values
from ._files import check_outputs, check_writable, psf_files, split_alpha
from ._options import (
    MODEL_HELP,
    ModelChoice,
    force_option,
    json_option,
    no_preview_option,
    output_option,
    preview_option,
    size_option,
)
from ._output import echo_json, fmt, params_text, shape_text, stderr_console, stdout_console


def _targets(output: Path, preview: Path | None, no_preview: bool) -> tuple[Path | None, list]:
    """The preview to write (None: none) and every output: the PSF file, then the preview."""
    if preview is not None and no_preview:
        raise click.UsageError("--preview and --no-preview cannot be used together")
    target = None if no_preview else preview or output.with_name(f"{output.stem}_preview.png")
    return target, [output] if target is None else [output, target]


def write_psf(
    k: np.ndarray,
    output: Path,
    preview: Path | None,
    *,
    force: bool,
    inputs: Sequence[Path] = (),
) -> None:
    """Save a PSF as ``unblur psf`` does: exact floats in .npy/.tif, else scaled to the peak.

    The PSF and its preview (nearest-neighbour enlargement) are moved into place together,
    once both are written: a failed preview leaves no PSF file, and an existing PSF file is
    replaced (with ``force``) only when the preview succeeded too. ``inputs`` are never
    overwritten.
    """
    from ..io import OutputSet, encode_image
    from ..report import psf_preview

    exact = output.suffix.lower() in (".npy", ".tif", ".tiff")
    if not exact and k.ndim != 2:
        raise CLIError(f"a {k.ndim}-D PSF can only be saved as .npy or .tif, not {output.name!r}")
    outputs = [output] if preview is None else [output, preview]
    with OutputSet(outputs, inputs=inputs, force=force) as staged:
        if exact:
            staged.write(output, encode_image(output, k))
        else:
            dtype = "uint16" if output.suffix.lower() == ".png" else None
            staged.write(output, encode_image(output, k / k.max(), dtype=dtype))
        if preview is not None:
            staged.write(preview, encode_image(preview, psf_preview(k)))
        staged.commit()


def _echo_written(k: np.ndarray, output: Path, preview: Path | None) -> None:
    click.echo(f"wrote {output} (PSF {shape_text(k.shape)}, sum 1)")
    if preview is not None:
        click.echo(f"wrote {preview} (preview)")


@click.command("psf")
@click.argument("spec")
@output_option
@click.option(
    "--field",
    "as_field",
    is_flag=True,
    help="SPEC is a .npy or .tif array of PSFs on a grid, (gy, gx, ky, kx) or "
    "(gz, gy, gx, kz, ky, kx): save it normalised (OUTPUT .npy) and preview its PSFs in the "
    "grid's layout.",
)
@click.option(
    "--from-beads",
    is_flag=True,
    help="SPEC is an image (or 3-D stack) of isolated beads: measure the PSF from it.",
)
@click.option(
    "--grid",
    callback=grid_option,
    metavar="GY,GX",
    help="With --from-beads: one PSF per cell of a GY x GX grid, saved as a .npy field of "
    "shape (GY, GX, KY, KX) (no preview).",
)
@preview_option
@no_preview_option
@force_option
@json_option
def psf_command(
    spec: str,
    output: Path,
    as_field: bool,
    from_beads: bool,
    grid: tuple[int, ...] | None,
    preview: Path | None,
    no_preview: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Build a PSF from SPEC and save it to OUTPUT.

    SPEC is MODEL:key=value,... with MODEL one of gaussian (sigma, angle, size), motion
    (length, angle, size), disk (radius), airy (radius), moffat (fwhm or alpha, beta), or the
    3-D microscope PSFs widefield (na, wavelength, refractive_index, voxel_size=DZxDXY, ...)
    and confocal (excitation_wavelength and emission_wavelength instead of wavelength); sigma
    and size take AxB for per-axis values. SPEC may also be a
    PSF image or .npy file, which is cleaned (background removed, centred, cropped,
    normalised).

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
      unblur psf kernels.npy --field -o field.npy       # a 3x3 grid: field_preview.png
      unblur psf beads.tif -o measured.tif --from-beads        # the PSF measured from beads
      unblur psf beads.tif -o field.npy --from-beads --grid 3,3

    With --from-beads, SPEC is an image of isolated sub-resolution beads (2-D, or a 3-D
    stack): the beads are found, the isolated, unsaturated ones registered with sub-pixel
    accuracy and averaged (unblur.psf.from_beads); the number of beads used and the PSF's
    FWHM per axis are printed.

    With --field, SPEC holds one PSF per cell of a regular grid over the image (the PSF at
    the cell's centre; unblur.psf.grid): each is normalised to sum 1, the array is saved to
    OUTPUT (.npy) and the preview shows every PSF, scaled to its peak, in the grid's layout.
    """
    from .. import psf as psf_models

    if as_field and from_beads:
        raise click.UsageError("--field and --from-beads are exclusive")
    if as_field:
        target_preview, outputs = _targets(output, preview, no_preview)
        _field_command(spec, output, target_preview, outputs, force=force, as_json=as_json)
        return
    if grid is not None and not from_beads:
        raise click.UsageError("--grid goes with --from-beads")
    if grid is not None and preview is not None:
        raise click.UsageError("a PSF field (--grid) has no preview: leave out --preview")
    target_preview, outputs = _targets(output, preview, no_preview or grid is not None)
    if from_beads:
        return psf_from_beads(
            Path(spec), output, target_preview, grid=grid, force=force, as_json=as_json
        )
    inputs = psf_files(spec)
    check_outputs(outputs, inputs=inputs, force=force)
    check_writable(outputs)
    k = psf_models.parse_spec(spec)
    write_psf(k, output, target_preview, force=force, inputs=inputs)
    if as_json:
        echo_json(
            {"psf": spec, "shape": list(k.shape), "output": output, "preview": target_preview}
        )
        return
    _echo_written(k, output, target_preview)


@click.command("estimate-psf")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@output_option
@click.option(
    "--size",
    callback=size_option,
    metavar="N|HxW",
    help="Side of the PSF (odd: an even one is rounded up); it also bounds the blur searched. "
    "Default: the fitted model's own size.",
)
@click.option("--model", type=ModelChoice(), default="auto", show_default=True, help=MODEL_HELP)
@preview_option
@no_preview_option
@force_option
@json_option
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
    auto, which also estimates a free-form kernel and keeps it when its checks pass (stable
    across scales and windows, unlike the parametric fit); the reason is printed. OUTPUT is
    written as by `unblur psf`: .npy and .tif/.tiff keep the exact float PSF (sum 1) for
    `unblur deconvolve --psf`; .png is scaled to its peak, for viewing; a preview PNG is
    written beside OUTPUT unless --no-preview.

    \b
    Examples:
      unblur estimate-psf blurred.png -o psf.npy
      unblur estimate-psf blurred.png -o psf.npy --model motion --size 31 --force
      unblur estimate-psf photo.jpg -o psf.tif --preview psf_big.png --json
      unblur deconvolve blurred.png -o restored.png --psf psf.npy
    """
    from ..io import read_image

    target_preview, outputs = _targets(output, preview, no_preview)
    check_outputs(outputs, inputs=[input_path], force=force)
    check_writable(outputs)  # before the (possibly long) estimation
    image, info = read_image(input_path)
    colour, _, axis = split_alpha(image, info)
    k, summary = estimate_psf(
        file_values(colour, info), axis, size, model, console=stderr_console()
    )
    write_psf(k, output, target_preview, force=force, inputs=[input_path])
    if as_json:
        data = {n: v for n, v in summary.items() if n not in ("shape", "size")}
        echo_json(
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
    _print_estimate(input_path, summary)
    _echo_written(k, output, target_preview)


def _print_estimate(input_path: Path, summary: dict) -> None:
    """The estimated model and its parameters, then the score of every candidate (if any)."""
    from rich.markup import escape
    from rich.table import Table

    console = stdout_console()
    table = Table(title=f"PSF estimated from {escape(str(input_path))}")
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_row("model", escape(summary["model"]))
    for name, value in summary["parameters"].items():
        table.add_row(escape(name), fmt(value))
    table.add_row("size", shape_text(summary["shape"]))
    if summary.get("noise_sigma") is not None:
        table.add_row("noise sigma", fmt(summary["noise_sigma"]))
    table.add_row("time (s)", f"{summary['seconds']:.2f}")
    if summary.get("reason"):  # --model auto: why this model
        table.add_row("why", escape(str(summary["reason"])))
    console.print(table)
    scores = summary.get("scores")
    if isinstance(scores, dict) and scores:
        title = "candidates (BIC: lower wins)"
        if summary.get("criterion") == "ring":  # the disk's zero ring overturned the BIC
            title = "candidates (BIC; the disk chosen by its zero ring)"
        if "free" in scores:  # the free kernel's BIC is shown, but its checks decide (see why)
            title = title[:-1] + " among the parametric fits; free: by its checks, see why)"
        candidates = Table(title=title)
        for column in ("model", "parameters", "BIC"):
            candidates.add_column(column)
        for name, score in scores.items():
            chosen = " *" if name == summary["model"] else ""
            candidates.add_row(
                escape(name + chosen),
                escape(params_text(score.get("parameters", {}))),
                fmt(score.get("bic", float("nan"))),
            )
        console.print(candidates)


def _field_command(
    spec: str, output: Path, preview: Path | None, outputs: list, *, force: bool, as_json: bool
) -> None:
    """``unblur psf SPEC --field``: read a grid of PSFs, normalise, save, preview."""
    from .. import psf as psf_models
    from ..io import OutputSet, encode_image, read_image
    from ..report import field_preview

    source = Path(spec)
    if output.suffix.lower() != ".npy":
        raise CLIError(f"a PSF field is saved as .npy, not {output.name!r}")
    check_outputs(outputs, inputs=[source], force=force)
    data, _ = read_image(source)
    if data.ndim not in (4, 6):
        raise CLIError(
            f"--field needs an array of shape (gy, gx, ky, kx) or (gz, gy, gx, kz, ky, kx); "
            f"{source.name!r} has shape {shape_text(data.shape)}"
        )
    d = data.ndim // 2
    # the grid laid over an image of the PSFs' size per cell: the shape only checks the grid
    frame = tuple(g * k for g, k in zip(data.shape[:d], data.shape[d:], strict=True))
    field = psf_models.grid(data, frame)
    with OutputSet(
        [output] if preview is None else [output, preview], inputs=[source], force=force
    ) as staged:
        staged.write(output, encode_image(output, np.array(field.psfs)))
        if preview is not None:
            staged.write(preview, encode_image(preview, field_preview(field)))
        staged.commit()
    grid, kshape = field.grid_shape, field.psf_shape
    if as_json:
        echo_json(
            {
                "psf": spec,
                "field": True,
                "grid": list(grid),
                "shape": list(kshape),
                "output": output,
                "preview": preview,
            }
        )
        return
    click.echo(
        f"wrote {output} (PSF field {shape_text(grid)} cells of {shape_text(kshape)}, each sum 1)"
    )
    if preview is not None:
        click.echo(f"wrote {preview} (preview)")
