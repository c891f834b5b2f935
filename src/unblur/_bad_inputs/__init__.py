"""Bad inputs and the one-line error each must give: shared by ``tests/test_fuzz.py`` and by
``docs/make_bad_inputs.py``, which writes the table ``docs/bad_inputs.md`` from them.

Every case builds its files in the current folder (the test and the script ``chdir`` into an
empty temporary folder first) under fixed names, so the messages, which quote the paths, are
the same on every machine; the memory budget is pinned too (:data:`MEMORY_BUDGET`, given as
``UNBLUR_MAX_MEMORY``), so messages about memory are. An API case is a function that must
raise ``error``; a CLI case is the argument list of ``unblur`` that must exit with status 1
and one ``unblur: error:`` line, leave every file there as it was and run no payload.

Layout: :mod:`.files` (the bad files), :mod:`.api` and :mod:`.cli` (the cases). Not part of
the public API: a private package so that the documentation script
and the tests share it without importing from each other's folders.
"""

from __future__ import annotations

from pathlib import Path

from unblur.errors import UnblurError

from .api import API_CASES, ApiCase
from .cli import CLI_CASES, CliCase
from .files import FILES, png_chunk, png_header_only, valid_files

__all__ = [
    "API_CASES",
    "CLI_CASES",
    "FILES",
    "MEMORY_BUDGET",
    "ApiCase",
    "CliCase",
    "png_chunk",
    "png_header_only",
    "run_api_case",
    "run_cli_case",
    "snapshot",
    "valid_files",
]

#: the memory budget the cases run with (``UNBLUR_MAX_MEMORY``): messages about memory then
#: read the same on every machine with at least this much free
MEMORY_BUDGET = "1G"


def run_api_case(case: ApiCase) -> tuple[str, str]:
    """Run ``case`` in the current folder; return (exception class name, message).

    Any other outcome (no exception, or one that is not an UnblurError) raises AssertionError.
    """
    import os

    old = os.environ.get("UNBLUR_MAX_MEMORY")
    os.environ["UNBLUR_MAX_MEMORY"] = MEMORY_BUDGET
    try:
        case.call()
    except UnblurError as exc:
        return type(exc).__name__, str(exc)
    finally:
        if old is None:
            del os.environ["UNBLUR_MAX_MEMORY"]
        else:
            os.environ["UNBLUR_MAX_MEMORY"] = old
    raise AssertionError(f"{case.description}: no error raised")


def run_cli_case(case: CliCase) -> tuple[list[str], object]:
    """Run ``unblur ARGS`` of ``case`` in-process in the current folder.

    Returns the argument list and click's ``Result`` (``exit_code``, ``stderr``, ...), with
    ``result.files_before`` and ``result.files_after``: every path under the current folder
    and the bytes of its files, before and after the command.
    """
    from click.testing import CliRunner

    from unblur.cli import cli

    args = case.args(case.prepare())
    before = snapshot(Path("."))
    env = {"UNBLUR_MAX_MEMORY": MEMORY_BUDGET}
    result = CliRunner(env=env).invoke(cli, args, prog_name="unblur")
    result.files_before, result.files_after = before, snapshot(Path("."))
    return args, result


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` with the bytes of its files (None for folders)."""
    return {
        str(p.relative_to(folder)): (None if p.is_dir() else p.read_bytes())
        for p in sorted(folder.rglob("*"))
        if not (p.is_file() and p.stat().st_size > 1 << 24)  # sparse giants: name only
    }
