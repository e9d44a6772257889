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
"""
import argparse
import importlib
import statistics
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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=16384, help="array length (default 16384: fits in L2)")
    ap.add_argument("--repeat", type=int, default=7, help="timed samples per function (median reported)")
    ap.add_argument("--module", default="backprop._core",
                    help="module providing _math_apply (default backprop._core)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", default="float64,float32", help="comma-separated: float64, float32")
    args = ap.parse_args(argv)
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
