"""Markers shared by the tests.

``needs_compiler``: the test compiles a Cython extension.  Where there is no C
compiler, Cython or setuptools (a wheel installed on a machine without build
tools) it is skipped, saying what is missing; with BACKPROP_REQUIRE_COMPILER=1
(set by CI) a missing tool fails the test instead, so CI cannot skip it.

``repo``: the test checks the repository's packaging files (cibuildwheel
configuration, GitHub workflow) with the dev extra's tools.  It says nothing
about the installed package: test runs against a built wheel deselect it with
``-m "not repo"``.
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


def pytest_runtest_setup(item):
    if item.get_closest_marker("needs_compiler") is None:
        return
    reason = missing_build_tool()
    if reason is None:
        return
    if os.environ.get("BACKPROP_REQUIRE_COMPILER") == "1":
        pytest.fail(f"BACKPROP_REQUIRE_COMPILER=1 but {reason}", pytrace=False)
    pytest.skip(f"needs a C compiler, Cython and setuptools: {reason}")


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
