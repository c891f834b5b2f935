"""Sphinx configuration of the unblur documentation (``sphinx-build -W docs docs/_build/html``).

The API reference is generated from the numpydoc docstrings (``numpydoc``); the examples in
``docs/examples`` are run by ``sphinx-gallery`` on every build and shown with their figures and
output. Install what the build needs with ``pip install -e ".[docs]"``.
"""

from __future__ import annotations

import os
import re
import sys

import matplotlib

matplotlib.use("Agg")  # the examples draw off-screen

import unblur

sys.path.insert(0, os.path.abspath("."))

project = "unblur"
author = "unblur developers"
copyright = "unblur developers"
release = unblur.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

root_doc = "index"
exclude_patterns = ["_build", "notes", "examples", "methods.inc"]
templates_path: list[str] = []
html_theme = "alabaster"
html_title = f"unblur {release}"
html_static_path: list[str] = []
html_theme_options = {
    "description": "Remove blur from images",
    "fixed_sidebar": True,
    "page_width": "1180px",
}

# --- autodoc / numpydoc -------------------------------------------------------------------
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the numpydoc "Parameters" sections give the types
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# no network at build time: links to other projects are plain text
intersphinx_mapping: dict[str, tuple[str, None]] = {}

# --- sphinx-gallery -----------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "show_memory": False,
    "image_scrapers": ("matplotlib",),
    "reference_url": {},
}


def _write_methods(app) -> None:
    """``methods.inc``: one autofunction per registered method, wherever its module is."""
    from unblur.restore import available_methods, get_method

    lines = []
    for name in available_methods():
        func = get_method(name).func
        lines += [f".. autofunction:: {func.__module__}.{func.__qualname__}", ""]
    target = os.path.join(os.path.dirname(__file__), "methods.inc")
    text = "\n".join(lines)
    if not os.path.exists(target) or open(target, encoding="utf-8").read() != text:
        with open(target, "w", encoding="utf-8") as fh:
            fh.write(text)


_INITIAL = re.compile(r"^(\s*)([A-Z])\. (?=[A-Z])")


def _escape_initials(app, what, name, obj, options, lines) -> None:
    """An author's initial at the start of a line ("L. Landweber, ...", "M. Bertero, ...") is
    no enumerated list item: escape its period so that docutils reads a paragraph."""
    lines[:] = [_INITIAL.sub(r"\1\2\\. ", line) for line in lines]


def setup(app) -> None:
    app.connect("builder-inited", _write_methods)
    app.connect("autodoc-process-docstring", _escape_initials)
