"""Did the scalar kernel build (backprop._kernels_scalar, compiled without
auto-vectorisation) pay for the networks it ran?

Every network here is at most four units wide, so on an installation that
has the scalar build (commit c0d6001 and before) it ran there; the first
column is the same network on the active instruction-set build.  Each rate
is the best of ``--repeat`` runs of one ``Network.train`` call, the two builds
measured in alternation in one process.  On this tree, which no longer
builds it, only the first column is filled
(benchmarks/results/scalar-build.md).

    python benchmarks/scalar_build.py [--repeat 9]
    PYTHONPATH=/path/to/c0d6001/src python benchmarks/scalar_build.py
"""
import argparse
import time

import numpy as np

import backprop as bp
from backprop import _core

# (name, sizes, activations, loss, optimizer, batch_size, n_samples, epochs)
CASES = [
    ("W0: 2-2-2, 1 sample", [2, 2, 2], "logistic", "squared", "sgd", 1, 1, 200_000),
    ("2-2-2, 100 samples", [2, 2, 2], "logistic", "squared", "sgd", 1, 100, 2_000),
    ("4-3-4-3 tanh, squared", [4, 3, 4, 3], "tanh", "squared", "sgd", 1, 100, 2_000),
    ("4-4-4-4 logistic, squared", [4, 4, 4, 4], "logistic", "squared", "sgd", 1, 100, 2_000),
    ("3-4-3 relu, Adam", [3, 4, 3], "relu", "squared", "adam", 1, 100, 2_000),
    ("4-4-1, batches of 10", [4, 4, 1], "logistic", "squared", "sgd", 10, 100, 2_000),
]


def seconds(case):
    """The time of one training call of the case on a fresh network."""
    _, sizes, act, loss, opt, batch, n, epochs = case
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(n, sizes[0])), rng.uniform(size=(n, sizes[-1]))
    optimizer = bp.Adam() if opt == "adam" else bp.SGD()
    net = bp.Network(sizes, activation=act, loss=loss, seed=1)
    start = time.perf_counter()
    net.train(X, Y, epochs=epochs, lr=0.1, batch_size=batch, optimizer=optimizer, shuffle=False)
    return time.perf_counter() - start


def rates(case, repeat, has_scalar):
    """Samples per second on the active build and on the scalar build (None
    without it): the best of `repeat` runs each, taken in alternation so that
    a change in the machine's load meets both alike."""
    best = {False: float("inf"), True: float("inf")}
    for _ in range(repeat):
        for scalar in ([False, True] if has_scalar else [False]):
            if has_scalar:
                _core.use_scalar_kernels(scalar)
            best[scalar] = min(best[scalar], seconds(case))
    samples = case[6] * case[7]
    return samples / best[False], (samples / best[True] if has_scalar else None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    has_scalar = _core.use_scalar_kernels(True) if hasattr(_core, "use_scalar_kernels") else False
    print(f"active build: {_core.active_kernels()}; scalar build installed: {has_scalar}")
    print(f"| network | samples/s, {_core.active_kernels()} build | samples/s, scalar build | scalar / active |")
    print("|---|---|---|---|")
    for case in CASES:
        vector, scalar = rates(case, args.repeat, has_scalar)
        if scalar is None:
            print(f"| {case[0]} | {vector:.4g} | — | — |")
        else:
            print(f"| {case[0]} | {vector:.4g} | {scalar:.4g} | {scalar / vector:.2f} |")
    if has_scalar:
        _core.use_scalar_kernels(True)

if __name__ == "__main__":
    main()
