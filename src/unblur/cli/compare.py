"""``unblur compare``: PSNR and SSIM of an estimate against the sharp reference."""

from __future__ import annotations

import math
from pathlib import Path

import click

from ._errors import CLIError
from ._options import json_option
from ._output import echo_json, shape_text, stdout_console

#: pixels --align leaves out at each edge: the shift range (5) and the border (10), as Levin et
#: al.'s comp_upto_shift (the defaults of unblur.metrics.score)
_ALIGN_MARGIN = 15


@click.command("compare")
@click.argument("estimate", type=click.Path(path_type=Path))
@click.argument("reference", type=click.Path(path_type=Path))
@click.option(
    "--align",
    is_flag=True,
    help="First find the best shift of ESTIMATE onto REFERENCE (quarter-pixel steps within "
    "5 px), then score the interior (15 px from each edge): for blind results, which may be "
    "shifted by a pixel or two.",
)
@json_option
def compare_command(estimate: Path, reference: Path, align: bool, as_json: bool) -> None:
    """Measure how close ESTIMATE is to REFERENCE: PSNR (dB) and SSIM.

    Both images are read as [0, 1] floats (8- and 16-bit files are divided by 255 / 65535)
    and compared pixel by pixel with data range 1; colour images over all channels. SSIM uses
    the Gaussian window of Wang et al. (2004). PSNR is inf (JSON: null) for identical images.

    A PSF estimated from the image (blind) is known only up to a translation, so its
    restoration may be shifted by a pixel or a fraction of one: --align compares up to that
    shift, with the protocol of Levin et al. (2009), comp_upto_shift: the shift of least
    squared error on a quarter-pixel grid within 5 px (bilinear interpolation between
    pixels), the border excluded (10 px beyond the shift range). The shift found (rows,
    columns; the estimate is the reference moved by it) is printed, and in --json.

    \b
    Examples:
      unblur compare restored.png sharp.png
      unblur compare restored.tif sharp.tif --json
      unblur compare blind_restored.png sharp.png --align
    """
    from rich.table import Table

    from ..io import read_image
    from ..metrics import psnr, score, ssim

    est, est_info = read_image(estimate)
    ref, ref_info = read_image(reference)
    if est.shape != ref.shape:
        raise CLIError(
            f"cannot compare images of different shapes: {str(estimate)!r} is "
            f"{shape_text(est.shape)}, {str(reference)!r} is {shape_text(ref.shape)}"
        )
    colour = est_info.channel_axis is not None or ref_info.channel_axis is not None
    axis = -1 if colour else None
    shift = None
    if align:
        spatial = est.shape[:-1] if colour else est.shape
        if min(spatial) <= 2 * _ALIGN_MARGIN:
            raise CLIError(
                f"--align needs images larger than {2 * _ALIGN_MARGIN} px on each side (it "
                f"leaves out {_ALIGN_MARGIN} px at every edge); {str(estimate)!r} is "
                f"{shape_text(est.shape)}"
            )
        scored = score(est, ref, clip=False, subpixel=4, channel_axis=axis)
        value_psnr, value_ssim, shift = scored["psnr"], scored["ssim"], list(scored["shift"])
    else:
        value_psnr = psnr(est, ref, data_range=1.0)
        value_ssim = ssim(est, ref, data_range=1.0, channel_axis=axis)
    if as_json:
        echo_json(
            {
                "estimate": str(estimate),
                "reference": str(reference),
                "psnr": value_psnr,
                "ssim": value_ssim,
                **({} if shift is None else {"aligned": True, "shift": shift}),
            }
        )
        return
    table = Table(title=None)
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("PSNR", "inf" if math.isinf(value_psnr) else f"{value_psnr:.2f} dB")
    table.add_row("SSIM", f"{value_ssim:.4f}")
    if shift is not None:
        table.add_row("shift (rows, columns)", ", ".join(f"{s:+.2f}" for s in shift) + " px")
    stdout_console().print(table)
