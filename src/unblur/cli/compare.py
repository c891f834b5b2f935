"""``unblur compare``: PSNR and SSIM of an estimate against the sharp reference."""

from __future__ import annotations

import math
from pathlib import Path

import click

from ._errors import CLIError
from ._options import json_option
from ._output import echo_json, shape_text, stdout_console


@click.command("compare")
@click.argument("estimate", type=click.Path(path_type=Path))
@click.argument("reference", type=click.Path(path_type=Path))
@json_option
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

    from ..io import read_image
    from ..metrics import psnr, ssim

    est, est_info = read_image(estimate)
    ref, ref_info = read_image(reference)
    if est.shape != ref.shape:
        raise CLIError(
            f"cannot compare images of different shapes: {str(estimate)!r} is "
            f"{shape_text(est.shape)}, {str(reference)!r} is {shape_text(ref.shape)}"
        )
    colour = est_info.channel_axis is not None or ref_info.channel_axis is not None
    value_psnr = psnr(est, ref, data_range=1.0)
    value_ssim = ssim(est, ref, data_range=1.0, channel_axis=-1 if colour else None)
    if as_json:
        echo_json(
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
    stdout_console().print(table)
