"""The package's version: the one source of truth, read by ``pyproject.toml`` at build time
(``[tool.setuptools.dynamic]``) and by the package at run time."""

from __future__ import annotations

__version__ = "0.1.0"
