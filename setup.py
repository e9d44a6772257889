"""Build the compiled core, ``backprop._core``, from ``src/_core.pyx``.

Set ``BACKPROP_DEBUG=1`` to build with bounds checks and without optimisation
(for a test run that hunts out-of-range indexing in the kernels).
"""
import os

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

DEBUG = os.environ.get("BACKPROP_DEBUG", "") not in ("", "0")

# Portable flags only: no -march=native (a wheel must run on any CPU of its
# platform) and no -ffast-math (it breaks the finiteness checks).  Contraction
# of a*b+c into FMA is off so that results are the same bits on every CPU.
GCC_LIKE = ["-O0", "-g"] if DEBUG else ["-O3", "-ffp-contract=off"]
MSVC = ["/Od"] if DEBUG else ["/O2", "/fp:precise"]


class BuildExt(build_ext):
    def build_extensions(self):
        flags = MSVC if self.compiler.compiler_type == "msvc" else GCC_LIKE
        for ext in self.extensions:
            ext.extra_compile_args = flags + ext.extra_compile_args
        super().build_extensions()


directives = {"boundscheck": True, "wraparound": True, "initializedcheck": True} if DEBUG else {}

setup(
    ext_modules=cythonize(
        [Extension("backprop._core", ["src/_core.pyx"])],
        include_path=["src"],
        compiler_directives=directives,
    ),
    cmdclass={"build_ext": BuildExt},
)
