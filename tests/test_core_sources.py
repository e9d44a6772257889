"""The compiled core's place in the package: it imports nothing from the Python
layer above it (tests/test_architecture.py reads its sources for imports; this
runs it), its C lives in headers, not in Cython strings, and its installed
.pxd files declare the embedding API and nothing else."""
import os
import pathlib
import re
import subprocess
import sys

import pytest

import backprop
from backprop import _core

ROOT = pathlib.Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
have_sources = pytest.mark.skipif(not (SRC / "_core.pyx").exists(),
                                  reason="needs the source tree (src/_core.pyx)")


def test_the_compiled_core_imports_nothing_from_the_python_layer():
    # A package whose __init__ never runs: importing backprop._core then
    # loads only what the core itself imports.  The streaming path's
    # conversion of a list (learn_one, predict_one) is the import that the
    # core once made lazily, from backprop._validate.
    code = f"""
import sys, types
package = types.ModuleType("backprop")
package.__path__ = [{str(pathlib.Path(backprop.__file__).parent)!r}]
sys.modules["backprop"] = package
from backprop import _core
model = _core.Model([2, 3, 1], [3, 1], [0, 0], [0.0, 0.0], 0, 1.0, True)
model.learn_one([0.5, -1.0], [1.0], 0.1)
model.predict_one((0.5, -1.0))
print(sorted(name for name in sys.modules if name.startswith("backprop.")))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={k: v for k, v in os.environ.items() if k != "BACKPROP_KERNELS"})
    assert result.returncode == 0, result.stderr
    loaded = eval(result.stdout)
    assert "backprop._core" in loaded
    assert [name for name in loaded if not re.fullmatch(r"backprop\._core|backprop\._kernels_\w+", name)] == []


@have_sources
def test_c_code_lives_in_headers():
    # C written in Cython strings is invisible to C tools; every extern block
    # names a header, and each header is in the tree.
    sources = sorted(SRC.glob("*.pyx")) + sorted(SRC.glob("*.pxi")) + sorted(SRC.glob("*.pxd")) \
        + sorted((SRC / "backprop").glob("*.pxd"))
    inline, headers = [], set()
    for path in sources:
        text = path.read_text()
        inline += [path.name for _ in re.findall(r"^\s*cdef extern from \*", text, re.M)]
        headers |= set(re.findall(r'^\s*cdef extern from "([^"]+)"', text, re.M))
    assert inline == []
    assert {"bp_simd.h", "bp_team.h", "bp_cpu.h", "bp_math.h"} <= headers
    for name in headers:
        assert (SRC / name).exists() or (SRC / "backprop" / name).exists(), name


def declared(path):
    """The names a .pxd declares: (functions, types, extension types, enum constants)."""
    text = path.read_text()
    functions = set(re.findall(r"^cdef [^=\n]*?\b(\w+)\(", text, re.M))
    types = set(re.findall(r"^(?:ctypedef struct|cdef enum|cdef struct) (\w+)", text, re.M))
    types |= set(re.findall(r"^ctypedef [^\n]*\(\*(\w+)\)", text, re.M))
    classes = set(re.findall(r"^cdef class (\w+)", text, re.M))
    constants = set(re.findall(r"^    (BP_\w+) = ", text, re.M))
    return functions, types, classes, constants


def test_the_installed_pxd_files_declare_the_embedding_api_only():
    # What embedders cimport is a versioned contract: a name added or taken
    # away changes BP_API_VERSION.  The kernels' own structs and the fields of
    # Model are private to the core (src/_kernel_types.pxd, not installed).
    package = pathlib.Path(backprop.__file__).parent
    functions, types, classes, constants = declared(package / "_core.pxd")
    assert functions == {"bp_api_version", "bp_get_net", "bp_get_work", "bp_acquire", "bp_release",
                         "bp_forward", "bp_output", "bp_predict_one", "bp_learn_one"}
    assert (types, classes, constants) == (set(), set(), {"BP_API_VERSION"})
    functions, types, classes, constants = declared(package / "_types.pxd")
    assert (functions, classes) == (set(), set())
    assert types == {"bp_dtype", "bp_activation", "bp_loss", "bp_optimizer", "bp_status",
                     "bp_work", "bp_net"}
    assert constants == {"BP_FLOAT64", "BP_FLOAT32", "BP_LOGISTIC", "BP_TANH", "BP_RELU", "BP_LEAKY_RELU", "BP_IDENTITY",
                         "BP_SOFTMAX", "BP_SQUARED", "BP_CROSS_ENTROPY", "BP_HUBER", "BP_SGD",
                         "BP_ADAM", "BP_OK", "BP_NONFINITE_LOSS", "BP_NONFINITE_PARAMS"}
    assert _core.API_VERSION == 4
    # The float32 core's API is the same declarations, with bp_real float.
    assert re.findall(r"^\w.*$", (package / "_core32.pxd").read_text(), re.M)[-1] == 'include "_core.pxd"'
