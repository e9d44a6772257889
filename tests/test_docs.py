"""The documentation's code runs and its printed numbers are the library's.

Every ```python block of a page under docs/ runs, the blocks of one page in
order and in one namespace, as a reader would type them into one session,
from a temporary directory (a block may write files).  The pages assume
``import numpy as np`` and ``import backprop as bp``.  A block written with
``>>>`` prompts is a doctest: its output must match.  A block that is a
fragment (it uses data the page does not make) is marked by an HTML comment
on the line before its fence, ``<!-- fragment: why -->``, invisible in the
rendered page, and is not run.  A page whose code needs an optional library
that is not installed skips, naming it (CI runs it with every extra).

The docstrings' own examples (``>>>``, shown in the API reference) run as
doctests too, and the tutorial's transcript of ``python -m backprop example``
must be what the example prints.
"""
import doctest
import importlib
import pathlib
import pkgutil
import re

import numpy as np
import pytest

import backprop as bp

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)
FRAGMENT = re.compile(r"<!-- fragment: (\S.*?) -->\n\Z")
DOCTEST_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def pages():
    generated = {DOCS / "auto_examples", DOCS / "_build"}
    return sorted(page for page in DOCS.rglob("*.md")
                  if not generated.intersection(page.parents))


def python_blocks(text):
    """(code, fragment reason or None, line number) of each ```python block."""
    for match in BLOCK.finditer(text):
        before = text[:match.start()]
        marker = FRAGMENT.search(before)
        yield match[1], marker[1] if marker else None, before.count("\n") + 1


def optional_module(exc):
    """The module whose absence raised exc (directly, or through one of
    backprop's lazy imports, which re-raise with the extra to install), else None."""
    for cause in (exc, exc.__cause__):
        if isinstance(cause, (ModuleNotFoundError, MissingModule)) and cause.name:
            return cause.name
    return None


class MissingModule(ImportError):
    """A doctest example raised ModuleNotFoundError for an optional library."""


class DocTestRunner(doctest.DocTestRunner):
    """Records the first example that failed for want of an optional module;
    the examples after it fail only because it did not run."""

    missing = None

    def report_unexpected_exception(self, out, test, example, exc_info):
        if self.missing is None:
            self.missing = optional_module(exc_info[1])
        super().report_unexpected_exception(out, test, example, exc_info)


def run_doctest(source, namespace, name):
    """Run a doctest block in namespace, and keep the names it defines there
    for the page's later blocks (a DocTest runs in a copy of its globals)."""
    test = doctest.DocTestParser().get_doctest(source, namespace, name, name, 0)
    runner = DocTestRunner(optionflags=DOCTEST_FLAGS)
    output = []
    runner.run(test, out=output.append, clear_globs=False)
    if runner.missing is not None:
        raise MissingModule(name=runner.missing)
    assert runner.failures == 0, "".join(output)
    namespace.update(test.globs)


PAGES_WITH_CODE = [page for page in pages() if BLOCK.search(page.read_text())]


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_python_blocks_of_a_page_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"np": np, "bp": bp, "__name__": "__docs__"}
    for code, fragment, line in python_blocks(page.read_text()):
        if fragment is not None:
            continue
        name = f"{page.relative_to(ROOT)}:{line}"
        try:
            if code.lstrip().startswith(">>>"):
                run_doctest(code, namespace, name)
            else:
                exec(compile(code, name, "exec"), namespace)
        except ImportError as exc:
            missing = optional_module(exc)
            if missing is None:
                raise
            pytest.skip(f"{name} needs {missing}, which is not installed")


def test_the_block_finder_sees_fences_and_fragment_markers():
    text = ("text\n\n<!-- fragment: needs X -->\n```python\nnet.train(X)\n```\n\n"
            "```python\nx = 1\n```\n")
    assert list(python_blocks(text)) == [("net.train(X)\n", "needs X", 4), ("x = 1\n", None, 8)]


def test_the_docs_have_code_that_runs():
    runnable = [page for page in PAGES_WITH_CODE
                if any(fragment is None for _, fragment, _ in python_blocks(page.read_text()))]
    assert runnable, "no page under docs/ has a python block that the tests run"


def test_a_doctest_block_keeps_its_names_for_the_next_block():
    namespace = {}
    run_doctest(">>> x = 41\n", namespace, "first")
    run_doctest(">>> x + 1\n42\n", namespace, "second")
    assert namespace["x"] == 41


def test_a_doctest_block_that_prints_something_else_fails():
    with pytest.raises(AssertionError, match="Expected"):
        run_doctest(">>> 1 + 1\n3\n", {}, "wrong")


MODULES = ["backprop"] + sorted(
    name for _, name, _ in pkgutil.walk_packages(bp.__path__, "backprop.")
    if name != "backprop.__main__")


# The adapters import their library at the top: without it their docstrings
# cannot run (the test skips, naming it; CI's full run has every extra).
NEEDS = {"backprop.sklearn": "sklearn", "backprop._sklearn_base": "sklearn",
         "backprop._sklearn_loop": "sklearn", "backprop.river": "river"}


@pytest.mark.parametrize("name", MODULES)
def test_the_examples_in_the_docstrings_run(name):
    if name in NEEDS:
        pytest.importorskip(NEEDS[name], reason=f"{name} needs {NEEDS[name]}, which is not installed")
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=DOCTEST_FLAGS)
    output = []
    for test in doctest.DocTestFinder(exclude_empty=True).find(module, name):
        runner.run(test, out=output.append)
    assert runner.failures == 0, "".join(output)


def test_the_tutorial_shows_what_the_example_prints():
    text = (DOCS / "tutorial" / "worked-example.md").read_text()
    transcript = re.search(r"^```\n(The forward pass\n.*?)^```$", text, re.S | re.M)[1]
    printed = bp.examples.format_walkthrough(10_000).splitlines()
    at = 0
    for line in transcript.splitlines():
        if line.strip() == "...":
            continue
        assert line in printed[at:], f"the tutorial shows {line!r}; the example prints otherwise"
        at = printed.index(line, at) + 1
