"""Compare two builds of backprop on one workload, in interleaved pairs of runs.

On a shared, noisy machine the rate of one run moves by more than most
changes are worth, and a table of best-of-N rows taken minutes apart cannot
tell a 10% gain from noise. This script alternates the two builds run by run,
each run a fresh worker process timing the workload ``--repeat`` times and
keeping its best, and reports the median of the per-pair ratios A/B and how
many pairs A won. A drift of the machine's speed then hits both halves of a
pair alike. The pairs take turns at which build runs first (A B, B A, A B,
...): the first run of a pair came out a few per cent slower often enough to
bias a comparison that always started with the same build.

A build is a directory to put first on PYTHONPATH in which ``import backprop``
finds the build to test, say a checkout's ``src`` after
``python setup.py build_ext --inplace``. Both builds must train the same bits
(a speed change must not change a result): the script says so if they do not.

    python benchmarks/ab.py NEW/src OLD/src --workload W1 --pairs 16
    python benchmarks/ab.py NEW/src OLD/src --workload W3 --row backprop-team2 --pairs 8 --repeat 2
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

import workloads
from peers import Row, lib_backprop
from run import THREAD_VARIABLES, WORKER


def backprop_file(build: Path) -> str:
    """Where `import backprop` leads with build first on the path."""
    proc = subprocess.run([sys.executable, "-c", "import backprop; print(backprop.__file__)"],
                          env=environment(build), capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"cannot import backprop from {build}: {proc.stderr.strip().splitlines()[-1]}")
    return proc.stdout.strip()


def environment(build: Path, threads: int = 1) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(build), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update({name: str(threads) for name in THREAD_VARIABLES})
    return env


def one_run(build: Path, work: Path, repeat: int, row: Row) -> tuple[float, np.ndarray]:
    """Best seconds of `repeat` timed trainings of row, and the final parameters."""
    result, params = work / "result.json", work / "params.f64"
    proc = subprocess.run(
        [sys.executable, str(WORKER), "run", "backprop", row.key, str(work / "data"), str(work),
         str(result), str(params), "--repeat", str(repeat)],
        env=environment(build, max(1, row.threads // row.copies)), capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"the run with {build} failed:\n{proc.stderr.strip()}")
    return json.loads(result.read_text())["seconds"], np.fromfile(params)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="build A: a directory to put first on PYTHONPATH")
    parser.add_argument("b", type=Path, help="build B, the same")
    parser.add_argument("--workload", default="W1", help="a workload of benchmarks/workloads.py")
    parser.add_argument("--pairs", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=5, help="timed trainings per run (best counts)")
    parser.add_argument("--quick", action="store_true", help="the workload's shortened form (run.py --quick)")
    parser.add_argument("--row", default="backprop",
                        help="which of run.py's backprop rows to time, e.g. backprop-team2 (default backprop)")
    args = parser.parse_args(argv)
    if args.pairs < 1 or args.repeat < 1:
        parser.error("--pairs and --repeat must be at least 1")
    builds = (args.a.resolve(), args.b.resolve())
    for name, build in zip("AB", builds):
        print(f"{name}: {backprop_file(build)}")
    if args.workload not in workloads.WORKLOADS:
        parser.error(f"unknown workload {args.workload!r}; expected one of {list(workloads.WORKLOADS)}")
    wl = workloads.get(args.workload, quick=args.quick)
    rows = {row.key: row for row in lib_backprop.rows(wl)}
    if args.row not in rows:
        parser.error(f"no row {args.row!r} on {wl.name}; expected one of {list(rows)}")
    row = rows[args.row]
    try:
        X, Y = workloads.make_data(wl)
    except workloads.DatasetUnavailable as reason:
        raise SystemExit(f"{wl.name}: {reason}") from None
    rates = ([], [])
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        workloads.save(work / "data", wl, X, Y, workloads.initial_params(wl))
        finals = [None, None]
        for pair in range(args.pairs):
            for k in (0, 1) if pair % 2 == 0 else (1, 0):
                seconds, finals[k] = one_run(builds[k], work, args.repeat, row)
                rates[k].append(wl.samples_trained * row.copies / seconds)
            print(f"pair {pair + 1:2d} ({'AB' if pair % 2 == 0 else 'BA'}): "
                  f"A {rates[0][-1]:12.4g}/s  B {rates[1][-1]:12.4g}/s  "
                  f"A/B {rates[0][-1] / rates[1][-1]:.3f}")
        same = np.array_equal(finals[0], finals[1])
    ratios = [a / b for a, b in zip(*rates)]
    print(f"{wl.name}, {row.key}: median rate A {statistics.median(rates[0]):.4g}/s, "
          f"B {statistics.median(rates[1]):.4g}/s; median of the pair ratios A/B "
          f"{statistics.median(ratios):.3f}; A faster in {sum(r > 1 for r in ratios)} of {args.pairs} pairs")
    print("the two builds train the same bits" if same else
          "THE TWO BUILDS TRAIN DIFFERENT BITS: this is not a pure speed change")


if __name__ == "__main__":
    sys.exit(main())
