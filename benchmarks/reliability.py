"""What the reliability guarantees of issue 17 cost.

    python benchmarks/reliability.py [DIRECTORY]

1. ``net.save``: the time of a save with its two fsyncs (the file before the
   rename, the directory after) against the same save with ``os.fsync``
   replaced by a no-op, for networks of a few sizes, median of several saves
   each.  DIRECTORY (default: a new one under the current directory; not
   /tmp, which is often a RAM file system where fsync costs nothing) is
   where the files go; it is removed afterwards.
2. A divergence's restore: the time of a train call that diverges in a late
   epoch of its one compiled chunk (and so replays the chunk up to the
   failing epoch's start) against a call of just the epochs it keeps.

Prints two tables.
"""
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

import backprop as bp
from backprop import io

SAVES = 15
SIZES = {"2-2-2 (worked example)": [2, 2, 2], "64-128-10 (~10k params)": [64, 128, 10],
         "784-512-512-10 (~670k params)": [784, 512, 512, 10],
         "2000-2000-1000 (~6M params)": [2000, 2000, 1000]}


def median_save(net, path, fsync):
    real = io.os.fsync
    io.os.fsync = real if fsync else (lambda fd: None)
    try:
        times = []
        for _ in range(SAVES):
            start = time.perf_counter()
            net.save(path)
            times.append(time.perf_counter() - start)
        return statistics.median(times)
    finally:
        io.os.fsync = real


def saving(folder):
    print(f"save, median of {SAVES}, files in {folder}")
    print(f"{'network':32} {'MB':>8} {'no fsync ms':>12} {'fsync ms':>10} {'ratio':>7}")
    for label, sizes in SIZES.items():
        net = bp.Network(sizes, seed=0)
        path = os.path.join(folder, "m.npz")
        without = median_save(net, path, False)
        with_sync = median_save(net, path, True)
        mb = os.path.getsize(path) / 1e6
        print(f"{label:32} {mb:8.2f} {1e3 * without:12.3f} {1e3 * with_sync:10.3f} "
              f"{with_sync / without:7.2f}")


def diverging():
    rng = np.random.default_rng(0)
    X, Y = rng.uniform(-1, 1, size=(40, 3)) * 3, rng.uniform(0, 1, size=(40, 2)) * 3

    def lr(epoch):              # the epoch after 5000 finite ones diverges
        return 0.01 if epoch < 5000 else 1e6

    def run(epochs, expect_divergence):
        best = float("inf")
        for _ in range(7):
            net = bp.Network([3, 6, 2], activation=["relu", "identity"], seed=0)
            start = time.perf_counter()
            try:
                net.train(X, Y, epochs=epochs, lr=lr)
                diverged = False
            except bp.DivergenceError as err:
                diverged, kept = True, err.restored_epoch
            best = min(best, time.perf_counter() - start)
            assert diverged == expect_divergence
        return best, (kept if diverged else epochs)

    print("\ndivergence restore (3-6-2 network, 40 samples, one compiled chunk), best of 7")
    print(f"{'call':44} {'ms':>8} {'epochs kept':>12}")
    t_div, kept = run(6000, True)
    t_ok, _ = run(kept, False)
    print(f"{'diverges in epoch %d, restores %d' % (kept + 1, kept):44} {1e3 * t_div:8.3f} {kept:12}")
    print(f"{'the %d kept epochs alone' % kept:44} {1e3 * t_ok:8.3f} {kept:12}")


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="bp-save-", dir=".")
    os.makedirs(folder, exist_ok=True)
    try:
        saving(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    diverging()


if __name__ == "__main__":
    main()
