"""Markers shared by the tests.

``needs_compiler``: the test compiles a Cython extension.  Where there is no C
compiler, Cython or setuptools (a wheel installed on a machine without build
tools) it is skipped, saying what is missing; with BACKPROP_REQUIRE_COMPILER=1
(set by CI) a missing tool fails the test instead, so CI cannot skip it.

``repo``: the test checks the repository's packaging files (cibuildwheel
configuration, GitHub workflow) with the dev extra's tools (cibuildwheel,
jsonschema, check-jsonschema, ruamel.yaml).  It says nothing about the
installed package: test runs against a built wheel deselect it with
``-m "not repo"``.  Where those tools are missing (``pip install '.[test]'``
does not bring them) it is skipped, naming them; with
BACKPROP_REQUIRE_REPO_TOOLS=1 it fails instead.

BACKPROP_NO_SKIPS=1 turns every skip this suite makes (for a missing library or
tool) into a failure; a check suite it drives may still skip what does not
apply (scikit-learn's checks skip pandas input without pandas).  And
BACKPROP_SKIPPED_LOG=FILE writes the node id of every skipped test to FILE:
CI runs the README's test command with the log, then exactly the tests it
skipped with every optional dependency installed and no skip allowed.
"""
import functools
import importlib.util
import os
import tempfile

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_compiler: compiles a Cython extension (see conftest.py)")
    config.addinivalue_line("markers", "repo: checks the repository's packaging files (see conftest.py)")


@functools.cache
def missing_build_tool():
    """Why no Cython extension can be built here, or None if one can."""
    for module in ("Cython", "setuptools"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed"
    from setuptools._distutils.ccompiler import new_compiler
    from setuptools._distutils.errors import CCompilerError, DistutilsError
    from setuptools._distutils.sysconfig import customize_compiler

    compiler = new_compiler()
    customize_compiler(compiler)
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "probe.c")
        with open(source, "w") as f:
            f.write("int probe(void) { return 0; }\n")
        try:
            compiler.compile([source], output_dir=tmp)
        except (CCompilerError, DistutilsError, OSError) as e:
            return f"no working C compiler ({type(e).__name__}: {e})"
    return None


TESTS = os.path.dirname(os.path.abspath(__file__))
REPO_TOOLS = {"cibuildwheel": "cibuildwheel", "jsonschema": "jsonschema",
              "check_jsonschema": "check-jsonschema", "ruamel.yaml": "ruamel.yaml",
              "tomllib": "Python >= 3.11 (tomllib)"}


@functools.cache
def missing_repo_tools():
    """The dev extra's tools that are not installed (their distribution names)."""
    missing = []
    for module, name in REPO_TOOLS.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:         # a dotted name whose parent is missing
            found = False
        if not found:
            missing.append(name)
    return missing


def _skip_or_fail(variable, reason):
    if os.environ.get(variable) == "1":
        pytest.fail(f"{variable}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_runtest_setup(item):
    if item.get_closest_marker("needs_compiler") is not None:
        reason = missing_build_tool()
        if reason is not None:
            _skip_or_fail("BACKPROP_REQUIRE_COMPILER",
                          f"needs a C compiler, Cython and setuptools: {reason}")
    if item.get_closest_marker("repo") is not None:
        missing = missing_repo_tools()
        if missing:
            _skip_or_fail("BACKPROP_REQUIRE_REPO_TOOLS",
                          f"checks the packaging files with the dev extra's tools "
                          f"(pip install '.[dev]'); missing: {', '.join(missing)}")


def _skipped(report, nodeid):
    """Apply BACKPROP_NO_SKIPS / BACKPROP_SKIPPED_LOG to a test's or a module's report."""
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    if os.environ.get("BACKPROP_NO_SKIPS") == "1":
        where, reason = (report.longrepr[0], report.longrepr[2]) if isinstance(report.longrepr, tuple) \
            else ("", report.longrepr)
        # Only this suite's own skips (a missing tool or library) fail: a check
        # suite we drive (scikit-learn's) may skip a check that does not apply.
        if os.path.abspath(where).startswith(TESTS + os.sep):
            report.outcome = "failed"
            report.longrepr = f"BACKPROP_NO_SKIPS=1 but {nodeid} skipped: {reason}"
    elif os.environ.get("BACKPROP_SKIPPED_LOG"):
        with open(os.environ["BACKPROP_SKIPPED_LOG"], "a") as log:
            log.write(nodeid + "\n")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _skipped(outcome.get_result(), item.nodeid)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    # a whole module skipped (pytest.importorskip at its top)
    outcome = yield
    _skipped(outcome.get_result(), collector.nodeid)


try:
    from hypothesis import HealthCheck, settings
except ImportError:     # the property battery skips itself without Hypothesis
    pass
else:
    # A fixed profile: the same examples on every run (derandomize, no example
    # database), few enough that the whole battery takes seconds on two cores.
    # HYPOTHESIS_PROFILE=thorough explores further (locally, not in CI).
    settings.register_profile("backprop-ci", max_examples=500, derandomize=True, database=None,
                              deadline=None, print_blob=True,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("thorough", max_examples=3000, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "backprop-ci"))
