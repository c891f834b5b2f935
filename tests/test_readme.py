"""The README's promises: it opens with the two commands, and CI runs the test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```bash\n(.+?)\n```", text)


def test_readme_opens_with_demo_and_test_commands():
    commands = _readme_commands()
    assert "unblur demo" in commands[0]
    assert "pytest" in commands[1]
    head = (ROOT / "README.md").read_text().split("## ")[0]
    assert commands[0] in head and commands[1] in head


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _readme_commands()[1] in ci
