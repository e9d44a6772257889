"""Time the project's elementary functions (backprop._math) against numpy's.

Uses the test-only shim ``backprop._core._math_apply`` of an installed (or
in-place built) backprop; builds nothing itself.  For each function it times
a loop over a float64 array, ours and then numpy's ufunc with ``out=``, and
the same over float32 arrays (bp_expf, ... against numpy's float32 ufuncs).
It prints the median (and min) ns per value over several repeats.

numpy computes these ufuncs with its own SIMD kernels where it has them (on
x86-64 with AVX-512, ``np.exp``/``np.log`` use numpy's own AVX-512F code and
``tanh``/``expm1``/``log1p`` use SVML-derived kernels).  Elsewhere it calls
the C library's libm.  So the numpy column is "what numpy does on this
machine", not necessarily glibc.  ``np.show_runtime()`` lists the SIMD
extensions numpy found.

    python benchmarks/bench_math.py [--n 16384] [--repeat 7] [--module backprop._core]
                                    [--dtype float64,float32]

The shim's loops are compiled with the core's (baseline) flags.  ``--c LEVELS``
instead compiles bp_math.h and bp_mathf.h themselves into a small C timing
loop per function with ``cc -O3 -ffp-contract=off -march=LEVEL`` for each comma-separated level (the
flags of the kernels' builds, e.g. ``x86-64,x86-64-v3,x86-64-v4``) and prints
ns/value of the float64 and float32 functions side by side:

    python benchmarks/bench_math.py --c x86-64,x86-64-v3,x86-64-v4
"""
import argparse
import importlib
import os
import shutil
import statistics
import subprocess
import tempfile
import time

import numpy as np

FUNCS = ("exp", "expm1", "log", "log1p", "tanh")
NUMPY = {"exp": np.exp, "expm1": np.expm1, "log": np.log, "log1p": np.log1p, "tanh": np.tanh}


def inputs(name, n, rng):
    """Typical arguments: the range a network's activations and losses see,
    plus some spread; no special values."""
    if name == "exp":
        return rng.uniform(-30.0, 30.0, n)
    if name == "expm1":
        return rng.uniform(-5.0, 5.0, n)
    if name == "log":
        return np.exp(rng.uniform(-30.0, 30.0, n))
    if name == "log1p":
        return np.expm1(rng.uniform(-5.0, 5.0, n))
    if name == "tanh":
        return rng.uniform(-6.0, 6.0, n)
    raise ValueError(name)


def ns_per_value(fn, n, repeat, min_time=0.02):
    """Median and min over `repeat` samples of ns per value; each sample loops
    fn() enough times to last about min_time seconds."""
    fn()  # warm up
    loops = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(loops):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_time:
            break
        loops *= 2
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        for _ in range(loops):
            fn()
        samples.append((time.perf_counter_ns() - t0) / (loops * n))
    return statistics.median(samples), min(samples)


C_TIMER = r"""
#define _POSIX_C_SOURCE 200112L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "bp_mathf.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* the empty asm with a memory clobber tells the compiler y is read: the stores stay */
#define LOOPS(F, T) \
    static void loop_##F(const T *x, T *y, long n) { \
        for (long i = 0; i < n; i++) y[i] = F(x[i]); \
        __asm__ volatile("" : : "r"(y) : "memory"); }
LOOPS(bp_exp, double) LOOPS(bp_expm1, double) LOOPS(bp_log, double) LOOPS(bp_log1p, double)
LOOPS(bp_tanh, double) LOOPS(bp_logistic, double)
LOOPS(bp_expf, float) LOOPS(bp_expm1f, float) LOOPS(bp_logf, float) LOOPS(bp_log1pf, float)
LOOPS(bp_tanhf, float) LOOPS(bp_logisticf, float)

/* median of REPEAT samples of ns per value, each sample ~20 ms of loops */
#define TIME(F, T, X, Y) do { \
    double best[64]; long loops = 1; \
    for (;;) { double t0 = now(); for (long k = 0; k < loops; k++) loop_##F(X, Y, n); \
               if (now() - t0 > 0.02) break; loops *= 2; } \
    for (int r = 0; r < repeat; r++) { double t0 = now(); \
        for (long k = 0; k < loops; k++) loop_##F(X, Y, n); \
        best[r] = (now() - t0) / (loops * (double)n) * 1e9; } \
    for (int a = 0; a < repeat; a++) for (int b = a + 1; b < repeat; b++) \
        if (best[b] < best[a]) { double t = best[a]; best[a] = best[b]; best[b] = t; } \
    printf("%s %.3f\n", #F, best[repeat / 2]); } while (0)

int main(int argc, char **argv) {
    long n = atol(argv[1]);
    int repeat = atoi(argv[2]);
    double *xd = malloc(n * sizeof *xd), *yd = malloc(n * sizeof *yd);
    float *xf = malloc(n * sizeof *xf), *yf = malloc(n * sizeof *yf);
    /* the arguments of bench_math.inputs(), from a fixed LCG */
    unsigned long long s = 1;
    const char *kind[] = {"exp", "expm1", "log", "log1p", "tanh", "logistic"};
    for (int f = 0; f < 6; f++) {
        for (long i = 0; i < n; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            double u = (double)(s >> 11) / 9007199254740992.0;
            double v = f == 0 ? 60 * u - 30 : f == 1 ? 10 * u - 5 : f == 2 ? bp_exp(60 * u - 30)
                     : f == 3 ? bp_expm1(10 * u - 5) : f == 4 ? 12 * u - 6 : 20 * u - 10;
            xd[i] = v;
            xf[i] = (float)v;
        }
        switch (f) {
        case 0: TIME(bp_exp, double, xd, yd); TIME(bp_expf, float, xf, yf); break;
        case 1: TIME(bp_expm1, double, xd, yd); TIME(bp_expm1f, float, xf, yf); break;
        case 2: TIME(bp_log, double, xd, yd); TIME(bp_logf, float, xf, yf); break;
        case 3: TIME(bp_log1p, double, xd, yd); TIME(bp_log1pf, float, xf, yf); break;
        case 4: TIME(bp_tanh, double, xd, yd); TIME(bp_tanhf, float, xf, yf); break;
        default: TIME(bp_logistic, double, xd, yd); TIME(bp_logisticf, float, xf, yf); break;
        }
        (void)kind;
    }
    return 0;
}
"""
MATH_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "backprop")


def c_levels(levels, n, repeat):
    """Build C_TIMER per -march level and print float64 vs float32 ns/value."""
    cc = shutil.which("cc")
    if cc is None:
        raise SystemExit("--c needs a C compiler (cc)")
    names = ("exp", "expm1", "log", "log1p", "tanh", "logistic")
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "timer.c")
        with open(src, "w") as f:
            f.write(C_TIMER)
        results = {}
        for level in levels:
            exe = os.path.join(tmp, "timer-" + level)
            subprocess.run([cc, "-O3", "-ffp-contract=off", "-fno-math-errno", "-march=" + level, "-I", MATH_DIR,
                            src, "-o", exe], check=True)
            out = subprocess.run([exe, str(n), str(min(repeat, 64))], check=True, capture_output=True,
                                 text=True).stdout
            results[level] = dict((k, float(v)) for k, v in (line.split() for line in out.splitlines()))
    print("bp_math.h / bp_mathf.h in a C loop, cc -O3 -ffp-contract=off -march=LEVEL, n = %d, median of %d, ns/value"
          % (n, repeat))
    print("%-9s" % "func" + "".join("%28s" % level for level in levels))
    print("%-9s" % "" + "".join("%28s" % "f64    f32  f32/f64" for _ in levels))
    for name in names:
        cells = []
        for level in levels:
            d, f = results[level]["bp_" + name], results[level]["bp_" + name + "f"]
            cells.append("%28s" % ("%6.2f %6.2f %6.2f" % (d, f, f / d)))
        print("%-9s" % name + "".join(cells))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=16384, help="array length (default 16384: fits in L2)")
    ap.add_argument("--repeat", type=int, default=7, help="timed samples per function (median reported)")
    ap.add_argument("--module", default="backprop._core",
                    help="module providing _math_apply (default backprop._core)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", default="float64,float32", help="comma-separated: float64, float32")
    ap.add_argument("--c", metavar="LEVELS",
                    help="time bp_math.h and bp_mathf.h compiled in C for these comma-separated -march levels instead")
    args = ap.parse_args(argv)
    if args.c:
        c_levels(args.c.split(","), args.n, args.repeat)
        return
    dtypes = args.dtype.split(",")
    if not set(dtypes) <= {"float64", "float32"}:
        ap.error("--dtype takes float64 and/or float32")

    mod = importlib.import_module(args.module)
    apply = mod._math_apply
    rng = np.random.default_rng(args.seed)
    print("%s._math_apply vs numpy %s, n = %d, median (min) of %d samples, ns/value"
          % (args.module, np.__version__, args.n, args.repeat))
    print("%-6s %-8s %18s %18s %8s" % ("func", "dtype", "backprop._math", "numpy", "ratio"))
    ours_by = {}
    for name in FUNCS:
        x64 = inputs(name, args.n, rng)
        for dtype in dtypes:
            x = x64.astype(dtype)
            out = np.empty_like(x)
            ours = ns_per_value(lambda: apply(name, x, out), args.n, args.repeat)
            f = NUMPY[name]
            theirs = ns_per_value(lambda: f(x, out=out), args.n, args.repeat)
            ours_by[name, dtype] = ours[0]
            print("%-6s %-8s %10.2f (%5.2f) %10.2f (%5.2f) %8.2f"
                  % (name, dtype, ours[0], ours[1], theirs[0], theirs[1], ours[0] / theirs[0]))
    if len(dtypes) == 2:
        print("float32 / float64 time of backprop._math (median):",
              ", ".join("%s %.2f" % (name, ours_by[name, "float32"] / ours_by[name, "float64"])
                        for name in FUNCS))


if __name__ == "__main__":
    main()
