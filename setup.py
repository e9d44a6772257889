"""Build the compiled core, ``backprop._core``, from ``src/_core.pyx``, and on
x86-64 the kernels for two more instruction-set levels (``backprop._kernels_v3``:
AVX2, ``backprop._kernels_v4``: AVX-512), which ``_core`` picks at import from
the CPU's features.  The same sources built with ``BP_FLOAT32`` defined are
the core of float32 networks, ``backprop._core32``, and its kernels
(``backprop._kernels32_v3``, ``_v4``).

Set ``BACKPROP_DEBUG=1`` to build with bounds checks and without optimisation
(for a test run that hunts out-of-range indexing in the kernels).
"""
import os
import platform

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

DEBUG = os.environ.get("BACKPROP_DEBUG", "") not in ("", "0")

# Portable flags only: no -march=native (a wheel must run on any CPU of its
# platform) and no -ffast-math (it breaks the finiteness checks).  Contraction
# of a*b+c into FMA is off so that results are the same bits on every CPU.
# -fno-math-errno only stops sqrt from setting errno (no value changes), which
# lets the Adam loop vectorise.  -g0 drops the debug information that Python's
# own flags ask for, which would make the modules several times larger.
GCC_LIKE = ["-O0", "-g"] if DEBUG else ["-O3", "-ffp-contract=off", "-fno-math-errno", "-g0"]
MSVC = ["/Od"] if DEBUG else ["/O2", "/fp:precise"]
# Extra flags of the kernel builds for higher instruction-set levels.  The
# tuning stays generic: it loads the exp's table entries one by one instead of
# with vector gather instructions, which are slow on AMD CPUs and, since the
# "Downfall" microcode, on Intel's.  Tuning changes speed, never results.
LEVELS = {
    "v3": {"unix": ["-march=x86-64-v3"], "msvc": ["/arch:AVX2"]},
    "v4": {"unix": ["-march=x86-64-v4"], "msvc": ["/arch:AVX512"]},
}


def targets_x86_64():
    """Whether the extensions are built for x86-64 (macOS may cross-compile)."""
    archflags = os.environ.get("ARCHFLAGS", "")
    if archflags:
        return archflags.split() == ["-arch", "x86_64"]
    return platform.machine().lower() in ("x86_64", "amd64")


class BuildExt(build_ext):
    def build_extensions(self):
        kind = "msvc" if self.compiler.compiler_type == "msvc" else "unix"
        base = MSVC if kind == "msvc" else GCC_LIKE
        for ext in self.extensions:
            extra = [] if DEBUG else LEVELS.get(ext.name.rsplit("_", 1)[-1], {}).get(kind, [])
            ext.extra_compile_args = base + extra
        super().build_extensions()


# _core uses numpy's C API (the learn_one/predict_one fast path); the kernel
# builds do not.  NPY_TARGET_VERSION keeps the module loadable by numpy 1.26.
# Every build includes bp_math.h, the project's maths, from src/backprop.
MATH_H = "src/backprop"
NUMPY_API = [("NPY_NO_DEPRECATED_API", "NPY_1_22_API_VERSION"),
             ("NPY_TARGET_VERSION", "NPY_1_22_API_VERSION")]
extensions = []
for suffix, real in (("", []), ("32", [("BP_FLOAT32", "1")])):
    extensions.append(Extension(f"backprop._core{suffix}", [f"src/_core{suffix}.pyx"],
                                include_dirs=[MATH_H, numpy.get_include()],
                                define_macros=NUMPY_API + real))
    if targets_x86_64():
        extensions += [Extension(f"backprop._kernels{suffix}_{level}",
                                 [f"src/_kernels{suffix}_{level}.pyx"], include_dirs=[MATH_H],
                                 define_macros=real) for level in LEVELS]
# The kernels' own headers (bp_simd.h, bp_team.h, bp_cpu.h) are in src; unlike
# bp_math.h (which backprop.export copies into the C it writes), only the
# build needs them.
for ext in extensions:
    ext.include_dirs.insert(0, "src")

directives = {"boundscheck": True, "wraparound": True, "initializedcheck": True} if DEBUG else {}

setup(
    ext_modules=cythonize(extensions, include_path=["src"], compiler_directives=directives),
    cmdclass={"build_ext": BuildExt},
)
