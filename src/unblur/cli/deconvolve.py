"""``unblur deconvolve``: its options, their checks, and the choice of how to run.

One image is restored in memory (:mod:`.single`), several files in parallel processes
(:mod:`.batch`), a big image block by block with Dask (:mod:`.chunked`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ._errors import CLIError
from ._files import FIELD_EXTENSIONS, field_output_message, same_path
from ._options import (
    MODEL_HELP,
    ModelChoice,
    collect_params,
    device_option,
    dtype_option,
    forbid,
    force_option,
    grid_option,
    json_option,
    sides_option,
    size_option,
)
from .batch import deconvolve_batch, expand_inputs
from .chunked import deconvolve_chunked
from .single import deconvolve_single

_BATCH = "With several inputs, a folder or a pattern: "


@click.command("deconvolve")
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
    help="PSF spec or file (a .npy/.tif of shape (gy, gx, ky, kx) is a field of PSFs on a grid "
    "over the image). Default: estimate the PSF from the image (blind; see --psf-model).",
)
@click.option(
    "--psf-model",
    type=ModelChoice(),
    default=None,
    help="Without --psf: the PSF model to estimate (default auto). " + MODEL_HELP,
)
@click.option(
    "--psf-size",
    callback=size_option,
    metavar="N|HxW",
    help="Without --psf: side of the estimated PSF (default: the fitted model's own).",
)
@click.option(
    "--psf-grid",
    callback=grid_option,
    metavar="GYxGX",
    help="Without --psf: estimate a PSF field instead of one PSF, on a GY x GX grid (e.g. 3x3, "
    "each 1 to 16), for blur that varies across the frame (a camera that rotated): free-form "
    "kernels per region, fitted by one camera motion (shift and rotation; with --psf-model "
    "free each region keeps its own kernel); restored with the field. "
    "--save-psf saves it as .npy or .tif (for --psf).",
)
@click.option(
    "--save-psf",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="PATH",
    help="Without --psf: also save the estimated PSF (.npy or .tif: exact, for --psf; .png: "
    "for viewing), written with the image or not at all.",
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
    "--color",
    type=click.Choice(("channels", "luminance")),
    default="channels",
    show_default=True,
    help="Colour images: restore each channel, or the luminance only (BT.601 luma; chroma "
    "kept, so no colour fringes, 3x less work). Alpha is always kept as it is.",
)
@click.option(
    "--encoding",
    type=click.Choice(("srgb", "linear")),
    default=None,
    help="How the values relate to light. srgb: an sRGB-encoded photograph (camera JPEG or "
    "PNG) blurred in linear light before the camera encoded it: it is linearised, restored "
    "and re-encoded (measured 2-3 dB better on such data; much worse on data blurred in "
    "their stored values, such as Levin et al.'s). linear: the values as given, for the PSF "
    "estimate too. Default: with --psf, the values as given; without, the estimator's: "
    "8-bit files as sRGB, the PSF estimated and the image restored in linear light.",
)
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    callback=collect_params,
    help="A method parameter, repeatable (-p num_iter=50 -p clip=false). Values are read as "
    "int, float, true/false, none, or text.",
)
@dtype_option
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
    help="The sharp image: adds PSNR and SSIM to the --report (and PSNR to --json). The same "
    "size as INPUT, or the sharp original of a 'valid' blur (larger by the PSF's size - 1), "
    "compared on its centre.",
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
    help=_BATCH + "output format. Default: the input's (RAW: 16-bit linear tif; .gif, .heic, "
    ".avif: png).",
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
    callback=sides_option,
    metavar="N|HxW",
    help="Restore block by block with Dask, in blocks of this side (for images larger than "
    "memory; .npy, .tif or .zarr in and out). Implied for .zarr inputs.",
)
@click.option(
    "--overlap",
    callback=sides_option,
    metavar="N|HxW",
    help="With --chunks: pixels of context around each block. Default: 3 PSF half-widths.",
)
@device_option
@force_option
@json_option
@click.pass_context
def deconvolve_command(
    ctx: click.Context,
    inputs: tuple[str, ...],
    output: Path,
    psf_spec: str | None,
    psf_model: str | None,
    psf_size: int | tuple[int, ...] | None,
    psf_grid: tuple[int, int] | None,
    save_psf: Path | None,
    method: str,
    boundary: str | None,
    color: str,
    encoding: str | None,
    params: dict[str, Any],
    dtype: str | None,
    report_path: Path | None,
    reference_path: Path | None,
    suffix: str | None,
    out_format: str | None,
    jobs: int | None,
    chunks: int | tuple[int, ...] | None,
    overlap: int | tuple[int, ...] | None,
    device: str,
    force: bool,
    as_json: bool,
) -> None:
    """Restore the blurred image INPUT into OUTPUT; or many images into a folder.

    Without --psf the PSF is first estimated from the image itself (as `unblur estimate-psf`
    does; in a batch, from each image) and reported. Colour images are restored channel by
    channel, or only their luminance with --color luminance (an alpha channel is kept as it
    is). The output keeps the input's bit depth unless
    --dtype is given; values are clipped to the range for integer outputs, kept as computed
    for float ones. Iterative methods show a progress bar on a terminal.

    Photographs: HEIC/HEIF (pip install 'unblur[heif]') and AVIF are read as 8-bit colour;
    camera RAW files (.dng .cr2 .cr3 .nef .arw .raf .orf .rw2 ...; pip install 'unblur[raw]')
    are demosaiced to linear 16-bit RGB and restored in linear light; a .tif output keeps
    them linear and 16-bit, a .png or .jpg output is encoded with the sRGB curve.

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
      unblur deconvolve blurred.png -o restored.png --save-psf psf.npy   # keep its PSF
      unblur deconvolve rotated.png -o restored.png --psf-grid 3x3 --save-psf field.npy
      unblur deconvolve blurred.tif -o restored.tif --psf psf.npy -m inverse
      unblur deconvolve blurred.png -o restored.png --psf motion:length=15,angle=30 \\
          -m wiener -p balance=0.01 --boundary reflect --json
      unblur deconvolve photo.jpg -o restored.jpg --psf disk:radius=3 --color luminance
      unblur deconvolve blurred.png -o restored.png --psf gaussian:sigma=2 \\
          -m richardson_lucy --report report.html --reference sharp.png
      unblur deconvolve 'raw/*.tif' -o restored --psf psf.npy --jobs 4 --format png
      unblur deconvolve big.zarr -o restored.zarr --psf psf.npy --chunks 1024
      unblur deconvolve photo.heic -o restored.png --psf disk:radius=3
      unblur deconvolve shot.dng -o restored.tif --psf motion:length=15,angle=30
    """
    if psf_spec is not None and (
        psf_model is not None or psf_size is not None or save_psf is not None or psf_grid
    ):
        raise click.UsageError(
            "--psf-model, --psf-size, --psf-grid and --save-psf are for estimating the PSF: "
            "leave them out with --psf"
        )
    if psf_grid is not None:
        if psf_model not in (None, "auto", "free"):
            raise click.UsageError(
                f"--psf-grid estimates free-form kernels: --psf-model {psf_model} cannot go with "
                "it (leave it out, or give auto or free)"
            )
        if save_psf is not None and save_psf.suffix.lower() not in FIELD_EXTENSIONS:
            raise click.BadParameter(field_output_message(save_psf), param_hint="--save-psf")
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
    if device != "cpu":
        from ..backend import get_backend

        get_backend(device)  # no GPU: one clear line before any file is read
    sources, batch = expand_inputs(inputs)
    # Each way of running checks its outputs first (a fraction of a second), then the method:
    # unknown names and parameters fail before any file is read ('auto' and 'fast' do not
    # depend on the image's size), though importing the methods takes most of a second.
    psf = {"psf_spec": psf_spec, "psf_model": psf_model, "psf_size": psf_size}
    restore = {"method": method, "boundary": boundary, "params": params}
    fft_workers = (ctx.obj or {}).get("workers")
    if batch:
        if psf_spec is not None and Path(psf_spec).is_file():  # a PSF file beside the images
            sources = [s for s in sources if not same_path(s, Path(psf_spec))]
            if not sources:
                raise CLIError("nothing to restore: the only input is the --psf file")
        forbid(
            {
                "--report": report_path,
                "--reference": reference_path,
                "--save-psf": save_psf,
                "--psf-grid": psf_grid,
                "--chunks": chunks,
                "--overlap": overlap,
                "--device": None if device == "cpu" else device,
            },
            "{name} works with one input, not a batch",
        )
        return deconvolve_batch(
            sources,
            output,
            **psf,
            **restore,
            dtype=dtype,
            suffix=suffix,
            out_format=out_format,
            jobs=jobs,
            color=color,
            encoding=encoding,
            fft_workers=fft_workers,
            force=force,
            as_json=as_json,
        )
    input_path = sources[0]
    forbid(
        {"--suffix": suffix, "--format": out_format, "--jobs": jobs},
        "{name} is for a batch: give several inputs, a folder or a pattern "
        "(one input is written to -o)",
    )
    if chunks is not None or input_path.suffix.lower() == ".zarr":
        forbid(
            {
                "--report": report_path,
                "--reference": reference_path,
                "--dtype": dtype,
                "--device": None if device == "cpu" else device,
                "--psf-grid": psf_grid,
            },
            "{name} is not available block by block (--chunks, .zarr)",
        )
        if save_psf is not None:
            raise click.UsageError(
                "--save-psf is not available block by block (--chunks, .zarr): estimate the "
                "PSF with `unblur estimate-psf` and pass it with --psf"
            )
        if color != "channels":
            raise click.UsageError("--color luminance is not available block by block")
        return deconvolve_chunked(
            input_path,
            output,
            **psf,
            **restore,
            chunks=chunks,
            overlap=overlap,
            fft_workers=fft_workers,
            encoding=encoding,
            force=force,
            as_json=as_json,
        )
    forbid({"--overlap": overlap}, "{name} goes with --chunks")
    if output.is_dir():
        raise CLIError(
            f"{str(output)!r} is a folder: give an output file (a folder is for several inputs)"
        )
    return deconvolve_single(
        input_path,
        output,
        **psf,
        **restore,
        color=color,
        dtype=dtype,
        report_path=report_path,
        reference_path=reference_path,
        save_psf=save_psf,
        psf_grid=psf_grid,
        device=device,
        encoding=encoding,
        force=force,
        as_json=as_json,
    )
