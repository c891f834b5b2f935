"""The installed package's version (``0.0.0`` when running from a source tree)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("unblur")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"
