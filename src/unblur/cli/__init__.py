"""The ``unblur`` command line: make PSFs, simulate blur, restore, compare, demo.

A thin layer over the library: every command parses its options, reads files with
:mod:`unblur.io`, calls the public API and writes the result atomically. Problems with the
input (a missing or corrupt file, a bad PSF spec, an unknown method or parameter, an output that
exists) end the command with one line ``unblur: error: <message>`` on stderr and exit status 1;
misused options give click's usage message and exit status 2. Every command follows one
output-safety rule (:mod:`unblur.io.outputs`): no input (image, PSF file, reference) is ever
overwritten, however it is spelled, not even with ``--force``; an existing folder is never
removed; a file that appears at an output path during the run is not replaced without
``--force``; an image and its report (a PSF and its preview) are written together or not at
all. No command leaves a partial file behind: temporary files are removed on errors, Ctrl-C
and SIGTERM (exit status 143), and what a killed run left is removed by the next one.

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

Layout: this module holds the group (global options, logging, ``main``); each command lives in
its own module (:mod:`.psf`: psf and estimate-psf, :mod:`.blur`, :mod:`.deconvolve` with
:mod:`.single`, :mod:`.batch` and :mod:`.chunked`, :mod:`.compare`, :mod:`.methods`,
:mod:`.demo`); the ``_`` modules are what they share: errors, options, printing, files and
PSF estimation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import click

from .._version import __version__
from ._errors import CLIError, Group
from ._options import parse_param
from .blur import blur_command
from .compare import compare_command
from .deconvolve import deconvolve_command
from .demo import demo_command
from .methods import methods_command
from .psf import estimate_psf_command, psf_command

__all__ = ["CLIError", "cli", "main", "parse_param"]

logger = logging.getLogger("unblur")

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _CLIHandler(logging.Handler):
    """Log records as ``unblur: <level>: <message>`` lines on the current stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            click.echo(f"unblur: {record.levelname.lower()}: {record.getMessage()}", err=True)
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


@click.group(cls=Group, context_settings=CONTEXT_SETTINGS)
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
      unblur demo                                   # every method, in ./unblur-demo
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
        from .. import fft  # here: scipy.fft is a fifth of a second to import

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


for _command in (
    psf_command,
    blur_command,
    estimate_psf_command,
    deconvolve_command,
    compare_command,
    methods_command,
    demo_command,
):
    cli.add_command(_command)
del _command


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line (the ``unblur`` console script; ``python -m unblur``)."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="unblur")
