"""train(threads=2) against BLAS's own two threads and one thread, on W3's
network and data, in interleaved rounds (one process; the machine's load
moves all three alike).

    python benchmarks/team.py [--rounds 8] [--epochs 1] [--optimizer sgd|adam]

BACKPROP_BLAS=0 in the environment runs the kernels' own loops instead of
SciPy's BLAS (then the BLAS-threads row is the same as one thread).  Needs
threadpoolctl (``pip install 'cybackprop[blas]'``) to set BLAS's threads.
Prints each configuration's best and median rate, in samples per second.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import backprop  # noqa: E402
import workloads  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

# name: (train's threads, BLAS threads)
CONFIGS = {"1 thread": (1, 1), "BLAS's 2 threads": (1, 2), "threads=2": (2, 1)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    args = parser.parse_args(argv)
    wl = workloads.get("W3")
    X, Y = workloads.make_data(wl)
    weights, biases = workloads.split(wl, workloads.initial_params(wl))

    def rate(threads, blas_threads, n=len(X)):
        net = backprop.Network.from_weights(
            weights=[W.copy() for W in weights], biases=[b.copy() for b in biases],
            activation=list(wl.activations), loss=wl.loss, bias=wl.bias,
            train_bias=wl.train_bias)
        optimizer = backprop.Adam() if args.optimizer == "adam" else backprop.SGD()
        with threadpool_limits(blas_threads, user_api="blas"):
            start = time.perf_counter()
            net.train(X[:n], Y[:n], epochs=args.epochs, lr=wl.lr, batch_size=wl.batch_size,
                      optimizer=optimizer, threads=threads)
            return args.epochs * n / (time.perf_counter() - start)

    for config in CONFIGS.values():
        rate(*config, n=2 * wl.batch_size)  # warm-up, as run.py's workers: SciPy's import
    rates = {name: [] for name in CONFIGS}
    for _ in range(args.rounds):
        for name, config in CONFIGS.items():
            rates[name].append(rate(*config))
    blas = "BLAS" if backprop._core.blas_in_use() else "own loops"
    print(f"W3, {args.optimizer}, {blas}, {args.rounds} rounds of {args.epochs} epoch(s):")
    for name, values in rates.items():
        print(f"  {name:18s} best {max(values) / 1e3:6.1f} k/s   median "
              f"{statistics.median(values) / 1e3:6.1f} k/s")


if __name__ == "__main__":
    sys.exit(main())
