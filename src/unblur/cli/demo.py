"""``unblur demo``: the demo gallery (run by :func:`unblur.demo.run_gallery`), with progress."""

from __future__ import annotations

import math
from pathlib import Path

import click

from ._options import force_option, json_option
from ._output import echo_json, progress, stderr_console, stdout_console


def _num(value: float | None, spec: str) -> str:
    if value is None:
        return ""
    return "inf" if math.isinf(value) else format(value, spec)


def _short_note(note: str) -> str:
    """A note short enough for the table's last column (the index keeps the whole note)."""
    if note.startswith("skipped"):
        return "skipped"
    if note.startswith("failed"):
        return "failed"
    return ""


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
@click.option(
    "-q", "--quiet", is_flag=True, help="No progress display (it only shows on a terminal)."
)
@force_option
@json_option
def demo_command(
    folder: Path, methods: tuple[str, ...], quick: bool, quiet: bool, force: bool, as_json: bool
) -> None:
    """Blur photographs and restore them with every method: a gallery of figures.

    One figure per scenario, each result with its PSNR and run time and the blurred input
    as the baseline: demo.png, the classic experiment (the cameraman blurred by a Gaussian and
    by a motion: the inverse filter is exact without noise and fails after 8-bit rounding and
    1% noise); noise.png, three noise levels; colour.png, a colour photograph restored per
    channel and by luminance; photo.png, a real motion-blurred photograph restored blind (PSF
    estimated from the image). FOLDER/index.md links them with their tables. Slow methods are
    skipped after their first scenario. Takes about 1-2 minutes (--quick: about 20 s); the
    progress of every step shows on stderr.

    \b
    Examples:
      unblur demo
      unblur demo --quick -o results --force
      unblur demo -m wiener -m tv --json
    """
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    console = stderr_console()
    display = progress(
        console,
        TextColumn("demo"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
    )
    if quiet:
        display.disable = True
    with display:
        task = display.add_task("starting", total=None)  # shown before the heavy imports
        display.refresh()

        def report(done: int, total: int, text: str) -> None:
            display.update(task, completed=done, total=total, description=text)
            display.refresh()  # every step is drawn, however short

        from ..demo import DEMO_FIGURE, run_gallery

        result = run_gallery(
            folder,
            force=force,
            methods=list(methods) if methods else None,
            quick=quick,
            progress=report,
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
    _print_table(result, quick)


def _case_label(row: dict) -> str:
    """One short label for the scenario and its case: "noise 2%", "colour, luminance"."""
    scenario, case = row["scenario"], str(row["case"])
    if case.startswith(scenario):
        return case
    if case.startswith("color="):
        return f"{scenario}, {case.removeprefix('color=')}"
    return f"{scenario}: {case}"


def _print_table(result: dict, quick: bool) -> None:
    from rich.table import Table

    table = Table(
        title="unblur demo" + (" (quick)" if quick else ""),
        caption="blurred: the degraded input (the baseline); details in index.md",
    )
    for col, justify in (
        ("case", "left"),
        ("method", "left"),
        ("PSNR dB", "right"),
        ("SSIM", "right"),
        ("time s", "right"),
    ):
        table.add_column(col, justify=justify, no_wrap=True)
    previous = None
    for r in result["rows"]:
        label = _case_label(r)
        if previous is not None and label != previous:
            table.add_section()
        table.add_row(
            label if label != previous else "",
            r["method"],
            _num(r["psnr"], ".1f"),
            _num(r["ssim"], ".3f"),
            _num(r["seconds"], ".2f") if r["seconds"] is not None else _short_note(r["note"]),
            style="dim" if r["method"] == "blurred" else None,
        )
        previous = label
    stdout_console().print(table)
    for path in result["figures"].values():
        click.echo(f"wrote {path}")
    click.echo(f"wrote {result['index']}")
