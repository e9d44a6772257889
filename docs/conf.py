"""Sphinx configuration of backprop's documentation site.

Build it with ``bash tools/build_docs.sh`` (warnings are errors); it needs
the ``docs`` extra: ``pip install '.[docs]'``.
"""
import importlib.machinery
import inspect
import importlib.util
import pathlib
import re
import sys
import __future__

import backprop

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent

project = "backprop"
author = "the backprop developers"
copyright = "the backprop developers, BSD-3-Clause"
release = version = backprop.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
# gallery/ holds the examples' sources, which sphinx-gallery turns into
# auto_examples/; its own pages (and the .py files' README) are not pages.
exclude_patterns = ["_build", "gallery", "Thumbs.db", ".DS_Store"]

myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"backprop {release}"

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": False}

sphinx_gallery_conf = {
    "examples_dirs": "gallery",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    # Every example runs in every build: its figures are drawn and its
    # printed output (the time it took) is captured then.
    "run_stale_examples": True,
    "download_all_examples": False,
    "remove_config_comments": True,
    "min_reported_time": 0,
}

# -- The compiled module, documented from its type stub ----------------------
# backprop._core is compiled: its docstrings are there but its signatures
# carry no types.  src/backprop/_core.pyi has both, so the reference page
# documents the stub, loaded as a module of its own (backprop._core_stub)
# whose source autodoc reads for the attribute docstrings.  The stub
# annotates with names defined further down (a method of Team returns Team),
# which a stub may do: it is compiled with postponed evaluation of
# annotations, as a type checker reads it.


class _StubLoader(importlib.machinery.SourceFileLoader):
    def source_to_code(self, data, path, *, _optimize=-1):
        return compile(data, path, "exec", flags=__future__.annotations.compiler_flag,
                       dont_inherit=True, optimize=_optimize)


def _load_stub(name, path):
    loader = _StubLoader(name, str(path))
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


_load_stub("backprop._core_stub", ROOT / "src" / "backprop" / "_core.pyi")
add_module_names = False
# The stub's names for float64 arrays (1-D and 2-D), shown as such.
autodoc_type_aliases = {"_Vector": "_Vector", "_Matrix": "_Matrix"}


# -- The project's docstring convention --------------------------------------
# backprop's docstrings list arguments and fields as aligned "name: text"
# lines (numpydoc's "name : text" in backprop.sklearn) whose continuation
# lines hang under the text (see Network, train, History).  In
# reStructuredText a hanging indent after a multi-line paragraph is an error,
# so such a block is rewritten as the definition list it stands for (each
# name a literal term, its text and continuations the definition under it),
# with a blank line before and after it.  Only lines at the docstring's left
# margin that start with one or more comma-separated identifiers and a colon
# are names, and only in a block of two or more of them, or of one with a
# hanging continuation: prose such as "Aliases: ..." stays prose.

_FIELD = re.compile(r"^([A-Za-z_]\w*(?:, [A-Za-z_]\w*)*) ?:\s+(\S.*)$")


def _field_blocks(lines):
    """(start, stop) of each block of "name: text" lines with their
    continuations, outside literal blocks."""
    blocks, i, literal = [], 0, False
    while i < len(lines):
        line = lines[i]
        if literal:
            literal = not line or line[0].isspace()
            if literal:
                i += 1
                continue
        if line.rstrip().endswith("::"):
            literal, i = True, i + 1
            continue
        if not _FIELD.match(line):
            i += 1
            continue
        start, fields, hanging = i, 0, False
        while i < len(lines) and _FIELD.match(lines[i]):
            fields, i = fields + 1, i + 1
            while i < len(lines) and lines[i][:1].isspace() and lines[i].strip():
                hanging, i = True, i + 1
        if fields >= 2 or hanging:
            blocks.append((start, i))
    return blocks


def _fields_to_rst(app, what, name, obj, options, lines):
    for start, stop in reversed(_field_blocks(lines)):
        out = []
        for line in lines[start:stop]:
            match = _FIELD.match(line)
            if match:
                out += [", ".join(f"``{name}``" for name in match[1].split(", ")),
                        "    " + match[2]]
            else:
                out.append("    " + line.strip())
        after = [""] if stop < len(lines) and lines[stop].strip() else []
        before = [""] if start > 0 and lines[start - 1].strip() else []
        lines[start:stop] = before + out + after


def _skip_foreign_methods(app, what, name, obj, skip, options):
    """Leave out the methods a class gets from another package: the
    scikit-learn estimators' generated ``set_*_request`` methods are
    scikit-learn's to document, not backprop's."""
    foreign = not (getattr(obj, "__module__", None) or "").startswith("backprop")
    if what == "class" and inspect.isfunction(obj) and foreign:
        return True
    return None


def setup(app):
    app.connect("autodoc-process-docstring", _fields_to_rst)
    app.connect("autodoc-skip-member", _skip_foreign_methods)
