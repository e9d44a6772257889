"""Build ``bpembed`` against the installed backprop.

Cython finds ``backprop/_core.pxd`` through the include path: the directory
that holds the installed ``backprop`` package.  Only the location is looked up;
backprop is not imported here.
"""
import importlib.util
import os

from Cython.Build import cythonize
from setuptools import Extension, setup

spec = importlib.util.find_spec("backprop")
if spec is None or not spec.submodule_search_locations:
    raise RuntimeError("bpembed builds against an installed backprop: pip install . in a clone of "
                       "backprop first (cybackprop is not on PyPI yet)")
site = os.path.dirname(list(spec.submodule_search_locations)[0])

setup(
    ext_modules=cythonize(
        [Extension("bpembed", ["bpembed.pyx"])],
        include_path=[site],
        build_dir="build",              # the generated bpembed.c, beside setuptools' own output
        compiler_directives={"language_level": 3},
    ),
)
