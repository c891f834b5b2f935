"""``unblur demo``: the demo gallery (run by :func:`unblur.demo.run_gallery`)."""

from __future__ import annotations

import math
from pathlib import Path

import click

from ._options import force_option, json_option
from ._output import echo_json, stdout_console


def _num(value: float | None, spec: str) -> str:
    if value is None:
        return ""
    return "inf" if math.isinf(value) else format(value, spec)


@click.command("demo")
@click.option(
    "-o",
    "--output",
    "folder",
    default="unblur-demo",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the figures and index.md (created if missing).",
)
@click.option(
    "-m",
    "--method",
    "methods",
    multiple=True,
    help="Method to compare (repeatable; the inverse filter always runs in the classic "
    "experiment). Default: every registered method.",
)
@click.option(
    "--quick",
    is_flag=True,
    help="128-pixel crops and fewer iterations: about 4x faster.",
)
@force_option
@json_option
def demo_command(
    folder: Path, methods: tuple[str, ...], quick: bool, force: bool, as_json: bool
) -> None:
    """Blur photographs and restore them with every method: a gallery of figures.

    One figure per scenario, each method side by side with its PSNR and run time:
    demo.png, the classic experiment (the cameraman blurred by a Gaussian and by a motion:
    the inverse filter is exact without noise and fails after 8-bit rounding and 1% noise);
    noise.png, three noise levels; colour.png, a colour photograph restored per channel and
    by luminance; photo.png, a real motion-blurred photograph restored blind (PSF estimated
    from the image). FOLDER/index.md links them with their tables. Slow methods are skipped
    after their first scenario.

    \b
    Examples:
      unblur demo
      unblur demo --quick -o results --force
      unblur demo -m wiener -m tv --json
    """
    from rich.table import Table

    from ..demo import DEMO_FIGURE, run_gallery

    result = run_gallery(
        folder, force=force, methods=list(methods) if methods else None, quick=quick
    )
    if as_json:
        echo_json(
            {
                "figure": str(folder / DEMO_FIGURE),
                "index": str(result["index"]),
                "figures": {k: str(v) for k, v in result["figures"].items()},
                "rows": result["rows"],
            }
        )
        return
    table = Table(title="unblur demo" + (" (quick)" if quick else ""))
    for col, justify in (
        ("scenario", "left"),
        ("case", "left"),
        ("method", "left"),
        ("PSNR (dB)", "right"),
        ("SSIM", "right"),
        ("time (s)", "right"),
    ):
        table.add_column(col, justify=justify)
    for r in result["rows"]:
        table.add_row(
            r["scenario"],
            r["case"],
            r["method"],
            _num(r["psnr"], ".1f"),
            _num(r["ssim"], ".3f"),
            _num(r["seconds"], ".3f") if r["seconds"] is not None else r["note"],
        )
    stdout_console().print(table)
    for path in result["figures"].values():
        click.echo(f"wrote {path}")
    click.echo(f"wrote {result['index']}")
