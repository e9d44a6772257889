"""The import structure: the Python modules of backprop form a DAG, and the
compiled core imports nothing from backprop at run time.

The graph is read from the source with ``ast``, so it holds every import a
module can make: those at module level and those inside functions (a lazy
import is still a dependency; a cycle through one only waits for the first
call to show).  An import of ``backprop.a.b`` is an edge to ``backprop.a.b``
itself: its parent packages are initialised first, but their code is not
what the importing module uses.  ``from . import name`` is an edge to the
submodule ``name`` when there is one, else to the package's ``__init__``.
"""
import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def module_name(path, src=SRC):
    parts = path.relative_to(src).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def known_modules(src=SRC):
    """Every module of the package under ``src``: its .py files and its
    compiled extensions (named by their .pxd sources or built files)."""
    package = src / "backprop"
    names = {module_name(p, src) for p in package.rglob("*.py")}
    for p in package.rglob("*"):
        if p.suffix in (".so", ".pyd", ".pxd"):
            names.add(module_name(p.with_name(p.name.split(".")[0] + ".py"), src))
    names.add("backprop._core")
    return names


def imports_of(path, modules, src=SRC):
    """The backprop modules that the module at `path` imports anywhere in its code."""
    this = module_name(path, src)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "backprop")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "backprop":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in modules else target)
    found.discard(this)
    return found


def import_graph(src=SRC):
    """{module: the backprop modules it imports} for the package under ``src``."""
    modules = known_modules(src)
    return {module_name(p, src): imports_of(p, modules, src) for p in (src / "backprop").rglob("*.py")}


def find_cycle(graph):
    """One cycle of `graph` as a list of its modules (first == last), or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt, path)
                if cycle:
                    return cycle
        path.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node, [])
            if cycle:
                return cycle
    return None


def test_the_python_modules_form_a_dag():
    graph = import_graph()
    assert "backprop.network" in graph and graph["backprop"], "the graph was not read"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_names_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_function_level_and_relative_imports_are_edges(tmp_path):
    pkg = tmp_path / "src" / "backprop"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .a import f\n__version__ = '1'\n")
    (pkg / "a.py").write_text("def f():\n    from .b import g\n    from . import __version__\n")
    (pkg / "b.py").write_text("import backprop.sub.c\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "c.py").write_text("from .. import a\nfrom ..b import g\n")
    modules = {"backprop", "backprop.a", "backprop.b", "backprop.sub", "backprop.sub.c"}
    src = tmp_path / "src"
    assert imports_of(pkg / "a.py", modules, src) == {"backprop.b", "backprop"}
    assert imports_of(pkg / "b.py", modules, src) == {"backprop.sub.c"}
    assert imports_of(pkg / "sub" / "c.py", modules, src) == {"backprop.a", "backprop.b"}
    assert imports_of(pkg / "__init__.py", modules, src) == {"backprop.a"}


# A run-time import in Cython source: `import x` or `from x import y`, but not
# `cimport` (which reads a .pxd at compile time) nor `from x cimport y`.
RUNTIME_IMPORT = re.compile(r"^\s*(?:import\s+([\w.]+)|from\s+([\w.]+)\s+import\b)", re.M)


def cython_sources():
    return [SRC / "_core.pyx", *sorted(SRC.glob("*.pxi"))]


@pytest.mark.parametrize("path", cython_sources(), ids=lambda p: p.name)
def test_the_compiled_core_imports_nothing_from_backprop(path):
    text = path.read_text(encoding="utf-8")
    # Docstrings and string literals may mention imports; strip them first.
    code = re.sub(r'("""|\'\'\')(.*?)\1', "", text, flags=re.S)
    code = re.sub(r"#.*", "", code)
    found = [m.group(1) or m.group(2) for m in RUNTIME_IMPORT.finditer(code)]
    assert found or path.suffix == ".pxi", "no import read from _core.pyx"
    # The float32 build (backprop._core32, the same sources) takes its
    # exception class from the float64 build, so that both raise one class:
    # an import within the compiled core, not from the package above it.
    upward = [name for name in found if name.split(".")[0] == "backprop" and name != "backprop._core"]
    assert not upward, f"{path.name} imports from backprop at run time: {upward}"


def test_the_cython_scan_sees_runtime_imports_only():
    sample = ('from backprop._validate import x\n    import backprop.io\n'
              'from backprop._math cimport bp_exp\ncimport numpy as cnp\n')
    assert [m.group(1) or m.group(2) for m in RUNTIME_IMPORT.finditer(sample)] == \
        ["backprop._validate", "backprop.io"]


# Files by job: no hand-written source file is longer than this.  A block
# between "BEGIN GENERATED" and "END GENERATED" lines is written by a tool
# (tools/gen_math_consts.py) and not counted.
MAX_LINES = 500
# The files allowed beyond MAX_LINES, with why, and the length they may not pass.
LONGER = {
    "backprop/bp_math.h": (600, "one job, the elementary functions and the proofs of their "
                                "error bounds, sharing one set of reduction helpers; "
                                "backprop.export copies it whole into the C it writes"),
}
GENERATED = re.compile(r"^[^\n]*BEGIN GENERATED.*?END GENERATED[^\n]*\n?", re.M | re.S)


def hand_written_sources():
    patterns = ["*.pyx", "*.pxi", "*.pxd", "*.h", "backprop/*.pxd", "backprop/*.h", "backprop/**/*.py"]
    return sorted({p for pattern in patterns for p in SRC.glob(pattern)})


def hand_written_lines(path):
    return GENERATED.sub("", path.read_text(encoding="utf-8")).count("\n")


@pytest.mark.skipif(not (SRC / "_core.pyx").exists(), reason="needs the source tree (src/_core.pyx)")
def test_no_source_file_has_many_jobs():
    lengths = {p.relative_to(SRC).as_posix(): hand_written_lines(p) for p in hand_written_sources()}
    assert "_core.pyx" in lengths and "backprop/network.py" in lengths
    too_long = {name: n for name, n in lengths.items() if n > LONGER.get(name, (MAX_LINES,))[0]}
    assert too_long == {}, f"split these files by job (at most {MAX_LINES} lines): {too_long}"
    stale = [name for name in LONGER if lengths.get(name, 0) <= MAX_LINES]
    assert stale == [], f"no longer beyond {MAX_LINES} lines: drop them from LONGER: {stale}"


def test_the_line_count_leaves_out_generated_blocks(tmp_path):
    path = tmp_path / "x.h"
    path.write_text("a\n/* BEGIN GENERATED by a tool */\nb\nc\n/* END GENERATED */\nd\n")
    assert hand_written_lines(path) == 2
