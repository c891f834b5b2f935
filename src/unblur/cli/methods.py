"""``unblur methods``: the restoration methods and their parameters."""

from __future__ import annotations

import inspect
from typing import Any

import click

from ._options import json_option
from ._output import echo_json, stdout_console


def _default_text(p: inspect.Parameter) -> str:
    return "(required)" if p.default is inspect.Parameter.empty else repr(p.default)


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


@click.command("methods")
@click.argument("name", required=False)
@json_option
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

    from ..restore import available_methods, get_method

    if name is not None:
        m = get_method(name)
        if as_json:
            echo_json(_method_json(m))
        else:
            kind = "iterative" if m.iterative else "direct"
            click.echo(f"{m.name} ({kind})\n")
            click.echo(inspect.getdoc(m.func) or m.summary)
        return
    methods = [get_method(n) for n in available_methods()]
    if as_json:
        echo_json({"methods": [_method_json(m) for m in methods]})
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
    stdout_console().print(table)
