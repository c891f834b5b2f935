"""``unblur psf BEADS --from-beads``: the PSF measured from an image of isolated beads.

A thin layer over :func:`unblur.psf.from_beads`: read the bead image (2-D, or a 3-D stack),
measure one PSF (or, with ``--grid``, a field of PSFs, one per cell), write it as ``unblur
psf`` writes PSFs and report how many beads were used and the PSF's FWHM along each axis.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np

from ._errors import CLIError
from ._files import check_outputs, check_writable
from ._output import echo_json, progress, shape_text, stderr_console


def grid_option(ctx: click.Context, param: click.Parameter, value: str | None):
    """``--grid GY,GX`` (or ``GZ,GY,GX``): cells per axis, positive integers."""
    if value is None:
        return None
    try:
        cells = tuple(int(v) for v in value.lower().replace("x", ",").split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not GY,GX", ctx=ctx, param=param) from None
    if len(cells) not in (2, 3) or min(cells) < 1:
        raise click.BadParameter(f"{value!r}: give 2 or 3 positive integers", ctx=ctx, param=param)
    return cells


def psf_from_beads(
    beads: Path,
    output: Path,
    preview: Path | None,
    *,
    grid: tuple[int, ...] | None,
    force: bool,
    as_json: bool,
) -> None:
    """Measure the PSF (or with ``grid`` a PSF field) from ``beads`` and write it to ``output``
    (and the PSF's ``preview``; a field has none)."""
    from .. import psf as psf_models
    from ..io import OutputSet, encode_image, read_image
    from .psf import write_psf

    outputs = [output] if preview is None else [output, preview]
    check_outputs(outputs, inputs=[beads], force=force)
    check_writable(outputs)
    if grid is not None and output.suffix.lower() != ".npy":
        raise CLIError(
            f"a PSF field (--grid) is saved as .npy (cells per axis, then the PSF's axes), not "
            f"{output.name!r}"
        )
    image, info = read_image(beads)
    if info.channel_axis is not None:
        raise CLIError(f"{str(beads)!r} is a colour image: give a grey image (or stack) of beads")
    with progress(stderr_console(), "measuring the PSF from the beads") as display:
        display.add_task("beads", total=None)
        found: dict = {}
        k = psf_models.from_beads(image, grid=grid, info=found)
    if grid is None:
        write_psf(k, output, preview, force=force, inputs=[beads])
        shape = k.shape
    else:
        with OutputSet([output], inputs=[beads], force=force) as staged:
            staged.write(output, encode_image(output, np.asarray(k.psfs)))
            staged.commit()
        shape = k.psf_shape
    summary = _summary(found, info.voxel_size, info.voxel_unit)
    if as_json:
        extra: dict[str, Any] = {}
        if grid is not None:
            extra = {
                "grid": list(k.grid_shape),
                "beads_per_cell": np.asarray(found["beads_per_cell"]).tolist(),
            }
        echo_json(
            {"input": beads, "output": output, "preview": preview, "shape": list(shape),
             **summary, **extra}
        )  # fmt: skip
        return
    rejected = ", ".join(
        f"{summary[n]} {n.replace('_', ' ')}"
        for n in ("overlapping", "edge", "saturated", "outliers")
        if summary[n]
    )
    axes = "zyx"[3 - len(shape) :]
    line = f"{summary['n_beads']} beads used of {summary['candidates']} found"
    line += f" ({rejected} left out)" if rejected else ""
    line += "; FWHM (px): " + ", ".join(
        f"{a} {w:.2f}" for a, w in zip(axes, summary["fwhm"], strict=True)
    )
    if "fwhm_physical" in summary:
        line += f"; FWHM ({summary['unit']}): " + ", ".join(
            f"{a} {w:.3g}" for a, w in zip(axes, summary["fwhm_physical"], strict=True)
        )
    click.echo(line)
    if grid is None:
        click.echo(f"wrote {output} (PSF {shape_text(shape)}, sum 1)")
        if preview is not None:
            click.echo(f"wrote {preview} (preview)")
    else:
        click.echo(
            f"wrote {output} (a {shape_text(k.grid_shape)} field of {shape_text(shape)} PSFs, "
            f"array of shape {shape_text(k.psfs.shape)})"
        )


def _summary(found: dict[str, Any], voxel, unit) -> dict[str, Any]:
    """The counts and widths of :func:`unblur.psf.from_beads`'s info (physical with a voxel
    size read from the file)."""
    summary: dict[str, Any] = {
        n: int(found[n])
        for n in ("n_beads", "candidates", "overlapping", "edge", "saturated", "outliers")
    }
    summary["fwhm"] = [float(w) for w in found["fwhm"]]
    if voxel is not None and len(voxel) == len(summary["fwhm"]):
        widths = zip(summary["fwhm"], voxel, strict=True)
        summary["fwhm_physical"] = [w * float(v) for w, v in widths]
        summary["unit"] = unit or "µm"
    return summary
