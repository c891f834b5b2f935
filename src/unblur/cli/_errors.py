"""Errors of the command line: one line ``unblur: error: <message>`` on stderr, exit status 1."""

from __future__ import annotations

import errno
import warnings
from typing import Any

import click

from ..errors import UnblurError


class CLIError(click.ClickException):
    """An error shown as the single line ``unblur: error: <message>`` (exit status 1)."""

    exit_code = 1

    def show(self, file=None) -> None:
        message = " ".join(self.format_message().split())
        click.echo(f"unblur: error: {message}", file=file, err=True)


def os_message(exc: OSError) -> str:
    """``"No such file or directory: 'x.png'"``: an OS error as one readable line."""
    text = exc.strerror or str(exc) or type(exc).__name__
    return f"{text}: {exc.filename}" if exc.filename else text


class Group(click.Group):
    """A group that turns every error of its commands into one line (see :class:`CLIError`)."""

    def invoke(self, ctx: click.Context) -> Any:
        from ..io import temp_files_removed_on_signals
        from ..io.atomic import Terminated

        try:
            with temp_files_removed_on_signals(), warnings.catch_warnings():
                # SIGTERM: temporary files removed, exit 143; warnings: one line each
                warnings.showwarning = show_warning
                return super().invoke(ctx)
        except Terminated as exc:
            click.echo(f"unblur: error: stopped by {exc.name}", err=True)
            raise
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except UnblurError as exc:
            raise CLIError(str(exc)) from None
        except OSError as exc:
            if exc.errno == errno.EPIPE:  # stdout closed early (`| head`): click exits quietly
                raise
            raise CLIError(os_message(exc)) from None
        except Exception as exc:
            if (ctx.obj or {}).get("verbose"):
                raise
            raise CLIError(
                f"unexpected {type(exc).__name__}: {exc} (run with -v to see the traceback)"
            ) from None


def show_warning(
    message, category, filename, lineno, file=None, line=None, *, about: str | None = None
) -> None:
    """A warning as the single line ``unblur: warning: <message>`` on stderr: Python's own
    format adds the file and the source line that raised it (a piece of click's code, as
    the warning is attributed to the first caller outside unblur). ``about``: the file the
    warning concerns, put first (``unblur: warning: NAME: <message>``, in a batch)."""
    text = " ".join(str(message).split())
    prefix = "" if about is None else f"{about}: "
    click.echo(f"unblur: warning: {prefix}{text}", err=True)
