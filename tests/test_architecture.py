"""The package's layers: every import, module-level or inside a function, points downwards.

The order below is the one `docs/architecture.md` describes. A unit is a top-level module or
subpackage of ``unblur``; inside a unit anything goes. Across units an import may only reach a
unit of a lower layer or of the same layer (and then the units of that layer must not import
each other in a circle).
"""

from __future__ import annotations

import ast
import itertools
import pathlib

import pytest

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "unblur"

#: bottom to top; units on one line form one layer
LAYERS: list[set[str]] = [
    {"errors", "_version", "_numba"},
    {"_checks"},
    {"backend"},
    {"fft", "io"},
    {"psf"},
    {"noise", "metrics", "_ssim", "colour", "operators"},
    {"forward", "restore"},
    {"blind"},
    {"api"},
    {"dask", "report"},
    {"demo"},
    {"cli", "napari"},
    {"__init__", "__main__", "_bad_inputs"},
]
RANK = {unit: i for i, layer in enumerate(LAYERS) for unit in layer}


def _unit_of(path: pathlib.Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _module_parts(path: pathlib.Path, root: pathlib.Path) -> list[str]:
    rel = path.relative_to(root).with_suffix("")
    parts = ["unblur", *rel.parts]
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imports(path: pathlib.Path, root: pathlib.Path = SRC) -> set[str]:
    """Names under ``unblur`` that ``path`` imports (the unit, or the name imported from the
    package itself), anywhere in the file."""
    parts = _module_parts(path, root)
    package = parts if path.name == "__init__.py" else parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = [*base, *(node.module.split(".") if node.module else [])]
            else:
                target = (node.module or "").split(".")
            if target[0] != "unblur":
                continue
            if len(target) == 1:  # from unblur import x / from . import x
                found.update(a.name for a in node.names)
            else:
                found.add(target[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                names = alias.name.split(".")
                if names[0] == "unblur":
                    found.add(names[1] if len(names) > 1 else "__init__")
    return found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        unit = _unit_of(path)
        # a name imported from the package itself that is no unit is the package's own
        deps = {d if d in RANK else "__init__" for d in _imports(path)}
        graph.setdefault(unit, set()).update(deps - {unit})
    return graph


def test_every_unit_has_a_layer():
    units = {_unit_of(p) for p in SRC.rglob("*.py")}
    assert units <= set(RANK), f"add these to LAYERS: {sorted(units - set(RANK))}"


def test_no_upward_import():
    upward = [
        f"{unit} imports {dep}"
        for unit, deps in _graph().items()
        for dep in deps
        if dep in RANK and RANK[dep] > RANK[unit]
    ]
    assert not upward


def test_no_import_circle_within_a_layer():
    graph = _graph()
    for layer in LAYERS:
        for a, b in itertools.permutations(sorted(layer), 2):
            assert not (b in graph.get(a, set()) and a in graph.get(b, set())), (a, b)


@pytest.mark.parametrize(
    ("where", "source", "expected"),
    [
        ("report.py", "from . import psf\n", {"psf"}),
        ("report.py", "from . import __version__\n", {"__version__"}),
        ("blind/kernel.py", "from ..restore.sparse import tv\n", {"restore"}),
        ("blind/kernel.py", "def f():\n    from ..io import read_image\n", {"io"}),
        ("blind/kernel.py", "from . import parametric\n", {"blind"}),
        ("cli/__init__.py", "import unblur.dask\n", {"dask"}),
        ("cli/__init__.py", "from .. import api\n", {"api"}),
    ],
)
def test_import_walker_sees_every_form(tmp_path, where, source, expected):
    path = tmp_path / "unblur" / where
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    assert _imports(path, root=tmp_path / "unblur") == expected
