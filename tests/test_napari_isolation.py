"""The napari plugin stays an optional front end: the core never imports Qt or napari, and the
plugin's manifest is shipped and points at code that exists. These tests need no napari."""

from __future__ import annotations

import ast
import importlib.metadata
import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import unblur

yaml = pytest.importorskip("yaml", reason="PyYAML (a dependency of dask) is not installed")

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "unblur"
MANIFEST = PACKAGE / "napari" / "napari.yaml"


def test_the_core_never_imports_qt_or_napari():
    modules = sorted(
        m.name
        for m in pkgutil.walk_packages(unblur.__path__, "unblur.")
        if not m.name.startswith("unblur.napari")
    )
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('napari', 'qtpy', 'PyQt5', 'PyQt6', 'PySide2', 'PySide6', 'magicgui', 'superqt', "
        "'vispy', 'npe2'))\n"
        "print(len(sys.modules), bad)\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "unblur.cli" in modules and "unblur.report" in modules


def test_manifest_is_package_data_behind_the_entry_point():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["entry-points"]["napari.manifest"] == {
        "unblur": "unblur.napari:napari.yaml"
    }
    assert "napari.yaml" in project["tool"]["setuptools"]["package-data"]["unblur.napari"]
    extras = project["project"]["optional-dependencies"]
    assert any(req.startswith("napari[pyqt6]") for req in extras["napari"])
    points = importlib.metadata.entry_points(group="napari.manifest")
    assert [p.value for p in points if p.name == "unblur"] in ([], ["unblur.napari:napari.yaml"])


def test_every_manifest_command_names_code_that_exists():
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert manifest["name"] == "unblur"
    commands = {c["id"]: c["python_name"] for c in manifest["contributions"]["commands"]}
    for python_name in commands.values():
        module, _, attr = python_name.partition(":")
        path = ROOT / "src" / Path(*module.split(".")).with_suffix(".py")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined = {
            node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)
        }
        assert attr in defined, python_name
    contributions = manifest["contributions"]
    used = [c["command"] for kind in ("widgets", "readers", "writers", "sample_data")
            for c in contributions[kind]]  # fmt: skip
    assert sorted(used) == sorted(commands)
