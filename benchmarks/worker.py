"""One peer's part of a benchmark, in a process of its own (started by run.py,
with the thread counts pinned in its environment).

    python worker.py probe PEER
        print {"version": ...} or {"unavailable": reason} as JSON
    python worker.py run PEER ROW DATA_DIR BUILD_DIR RESULT PARAMS [--repeat N]
        train ROW on the workload stored in DATA_DIR; write the final parameters
        to PARAMS (raw float64) and the measurements to RESULT (JSON)

A run: one untimed warm-up, then the timed runs (each from the common initial
parameters; the best time counts), then the process's peak RSS, then, for peers
that train in this process, one more run under tracemalloc whose peak is
recorded. That run is the whole workload when a timed run took under
FULL_MEMORY_RUN seconds, else it is shortened to the workload's
``memory_epochs`` (the per-sample working set is reached in the first epoch,
though not what grows with the epoch count). A trainer that times a one-thread
reference along with each timed run (backprop's threads row) sets ``pair`` =
(seconds alone, seconds of the run): the result lists them as ``pairs``, and
without --repeat it always makes AUTO_REPEAT runs, however long they take: a
median of five pairs (W2's and W3's, one run per round) moved by a few
hundredths from one table to the next.
"""
import argparse
import dataclasses
import json
import resource
import sys
import tracemalloc
from pathlib import Path
from typing import NamedTuple

import numpy as np

import peers
import workloads

# Without --repeat: up to 3 runs, while they take under a second; always 3 for
# a trainer that times pairs (its gain is the median of the pairs).
AUTO_REPEAT = 3
AUTO_REPEAT_BELOW = 1.0
FULL_MEMORY_RUN = 2.0
# The warm-up trains a throwaway trainer for one epoch on this many batches of
# the data: what a library does once per process (SciPy's BLAS lookup imports
# scipy.linalg, ~0.2 s; MKL and OpenMP start their thread pools) stays out of
# every peer's timing, as imports and JIT compilation do.
WARM_UP_BATCHES = 2


class Data(NamedTuple):
    X: np.ndarray
    Y: np.ndarray
    params0: np.ndarray
    dir: Path


def peak_rss_kib():
    """This process's peak RSS. Linux's VmHWM where there is one: ru_maxrss also
    counts the peak of the process that exec'd this one (here run.py's)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def probe(peer):
    try:
        return {"version": peers.load(peer).probe()}
    except peers.Unavailable as reason:
        return {"unavailable": str(reason)}


def warm_up(module, row, wl, data, build_dir):
    """Train a throwaway trainer of row on the first WARM_UP_BATCHES batches of
    the data, one epoch, untimed (peers that read the stored files get files of
    their own)."""
    n = min(wl.n_samples, WARM_UP_BATCHES * wl.batch_size)
    small = dataclasses.replace(wl, n_samples=n, epochs=1)
    directory = data.dir / "warm-up"
    workloads.save(directory, small, data.X[:n], data.Y[:n], data.params0)
    module.Trainer(row, small, Data(data.X[:n], data.Y[:n], data.params0, directory),
                   build_dir).train()


def run(peer, key, data_dir, build_dir, repeat):
    module = peers.load(peer)
    wl, X, Y, params0 = workloads.load(data_dir)
    (row,) = [r for r in module.rows(wl) if r.key == key]
    data = Data(X, Y, params0, data_dir)
    warm_up(module, row, wl, data, build_dir)

    runs, pairs, final, same_bits = [], [], None, True
    while len(runs) < (repeat or AUTO_REPEAT):
        trainer = module.Trainer(row, wl, data, build_dir)
        runs.append(trainer.train())
        if getattr(trainer, "pair", None):
            pairs.append(trainer.pair)
        params = np.array(trainer.params(), dtype=np.float64)
        if final is not None and not np.array_equal(params, final):
            same_bits = False
        final = params
        if repeat is None and min(runs) >= AUTO_REPEAT_BELOW and not pairs:
            break
    rss_kib = getattr(trainer, "peak_rss_kib", None)
    tracemalloc_peak = tracemalloc_epochs = None
    if rss_kib is None:
        rss_kib = peak_rss_kib()
        tracemalloc_epochs = wl.epochs if min(runs) < FULL_MEMORY_RUN else wl.memory_epochs
        memory_wl = dataclasses.replace(wl, epochs=tracemalloc_epochs)
        trainer = module.Trainer(row, memory_wl, data, build_dir)
        tracemalloc.start()
        trainer.train()
        tracemalloc_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    model = dict(getattr(trainer, "model", {}))
    result = {
        "seconds": min(runs),
        "runs": runs,
        "pairs": pairs,
        "repeats_same_bits": same_bits,
        "rss_kib": rss_kib,
        "tracemalloc_peak": tracemalloc_peak,
        "tracemalloc_epochs": tracemalloc_epochs,
        "model": model,
    }
    return result, final


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("probe")
    p.add_argument("peer", choices=peers.MODULES)
    r = sub.add_parser("run")
    r.add_argument("peer", choices=peers.MODULES)
    r.add_argument("row")
    for name in ("data_dir", "build_dir", "result", "params"):
        r.add_argument(name, type=Path)
    r.add_argument("--repeat", type=int)
    args = parser.parse_args(argv)
    if args.command == "probe":
        print(json.dumps(probe(args.peer)))
        return
    result, params = run(args.peer, args.row, args.data_dir, args.build_dir, args.repeat)
    params.tofile(args.params)
    args.result.write_text(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
