"""Benchmark backprop side by side with the peers a user would pick.

Runs every selected workload for every selected peer that is installed, each
row in a subprocess of its own with its thread count pinned, all from the same
data and initial weights; judges every peer's final parameters with one common
loss function; prints one table and writes it to benchmarks/results/latest.md.
See benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

import loss
import peers
import workloads

HERE = Path(__file__).resolve().parent
WORKER = HERE / "worker.py"
DEFAULT_OUTPUT = HERE / "results" / "latest.md"
QUICK_OUTPUT = HERE / "results" / "quick.md"  # --quick never overwrites a real table
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")
# Final losses and parameters are compared with the first of these rows that
# ran, among the rows of the same dtype (Row.dtype). backprop's own float32 row
# joins as "backprop-float32" (one Row in peers/lib_backprop.py).
REFERENCES = {"float64": ("backprop", "numpy", "c-native", "c-O2"),
              "float32": ("backprop-float32", "c-native-float32")}
# Same algorithm, same start: parameters further apart than this (relative) are
# flagged. The parameters are the judge because the loss can be ill-conditioned:
# W0's final loss is ~4e-27, and one ulp in an output changes it by ~1e-4.
# float32 peers round each operation to 2^-24 relative and order their sums
# differently (FMA, BLAS blocking), so they agree only to what that rounding,
# accumulated over a run's updates, leaves.
AGREE = {"float64": 1e-9, "float32": 1e-4}
SPEED_REFERENCE = "c-native"


def worker_env(threads: int) -> dict:
    env = dict(os.environ)
    env.update({name: str(threads) for name in THREAD_VARIABLES})
    return env


def worker(args: list[str], threads: int = 1) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(WORKER), *args], env=worker_env(threads), capture_output=True, text=True
    )


def probe(peer: str) -> dict:
    proc = worker(["probe", peer])
    if proc.returncode != 0:
        return {"unavailable": f"probe failed: {last_line(proc.stderr)}"}
    return json.loads(proc.stdout)


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def run_row(row: peers.Row, data_dir: Path, build_dir: Path, repeat: int | None) -> dict:
    result_path = data_dir / f"{row.key}.json"
    params_path = data_dir / f"{row.key}.params.f64"
    args = ["run", row.peer, row.key, str(data_dir), str(build_dir), str(result_path), str(params_path)]
    if repeat:
        args += ["--repeat", str(repeat)]
    # A row's thread budget is shared by the networks it trains at once: the
    # threads row runs two networks, each with one BLAS thread, on two cores.
    proc = worker(args, max(1, row.threads // row.copies))
    if proc.returncode != 0:
        return {"status": "failed", "reason": last_line(proc.stderr)}
    result = json.loads(result_path.read_text())
    result["status"] = "ok"
    result["params"] = np.fromfile(params_path)
    return result


def judge(wl: workloads.Workload, rows: list[dict], X: np.ndarray, Y: np.ndarray) -> None:
    """Fill in each row's rate, final loss, ratios and honesty checks."""
    by_key = {r["key"]: r for r in rows if r["status"] == "ok"}
    for r in by_key.values():
        model = {k: tuple(v) if isinstance(v, list) else v for k, v in r["model"].items()}
        r["loss"] = loss.mean_loss(dataclasses.replace(wl, **model), r["params"], X, Y)
        r["rate"] = wl.samples_trained * r["copies"] / r["seconds"]
    refs = {dtype: next((by_key[k] for k in keys if k in by_key), None) for dtype, keys in REFERENCES.items()}
    speed = by_key.get(SPEED_REFERENCE)
    for r in by_key.values():
        notes = [r["note"]] if r["note"] else []
        if speed:
            r["speed_ratio"] = r["rate"] / speed["rate"]
        ref, agree = refs[r["dtype"]], AGREE[r["dtype"]]
        if ref is r:
            r["reference"] = True
            wide = refs["float64"]
            if r["dtype"] != "float64" and wide and r["same_model"] and wide["same_model"]:
                notes.append(f"{r['dtype']} reference; vs {wide['key']}: loss "
                             f"{abs(r['loss'] - wide['loss']) / abs(wide['loss']):.1e}, params "
                             f"{params_diff(r['params'], wide['params']):.1e} apart")
        elif ref:
            r["rel_diff"] = abs(r["loss"] - ref["loss"]) / abs(ref["loss"])
            if r["same_model"]:
                r["params_diff"] = params_diff(r["params"], ref["params"])
                if r["params_diff"] > agree:
                    notes.append(f"DISAGREES with {ref['key']} beyond {agree:.0e}")
                elif r["rel_diff"] > agree:
                    notes.append(f"loss ill-conditioned at {ref['loss']:.1e}: parameters agree")
        if not r["repeats_same_bits"]:
            notes.append("repeated runs gave different parameters")
        if r["key"] == "backprop-threads" and r["pairs"]:
            notes.append(f"{pair_gain(r):.2f}x the throughput of one network: median of "
                         f"{len(r['pairs'])} pairs, one thread then two, in the row's process "
                         "(target >= 1.8)")
            if by_key.get("c-native-pair", {}).get("pairs"):
                notes.append(f"C's pair row in this run: {pair_gain(by_key['c-native-pair']):.2f}x")
            if "backprop" in by_key:
                notes.append(f"{r['rate'] / by_key['backprop']['rate']:.2f}x the best rate of the "
                             "backprop row")
        if r["key"] == "c-native-pair" and r["pairs"]:
            notes.append(f"{pair_gain(r):.2f}x the throughput of one process: median of "
                         f"{len(r['pairs'])} pairs, one process then two at once (what this "
                         "machine's two cores give hand-written C)")
        if r["key"] == "c-native-fused" and "c-native" in by_key:
            same = np.array_equal(r["params"], by_key["c-native"]["params"])
            notes.append("same bits as unfused" if same else "bits differ from unfused")
        r["note"] = "; ".join(notes)


def pair_gain(r: dict) -> float:
    """The median, over a row's pairs, of copies x (seconds alone) / (seconds of
    the copies at once): the throughput of the copies over that of one."""
    return statistics.median(r["copies"] * alone / both for alone, both in r["pairs"])


def params_diff(params: np.ndarray, ref: np.ndarray) -> float:
    """max |p - p_ref| / max |p_ref|, a relative difference that stays meaningful
    for parameters near zero."""
    return float(np.abs(params - ref).max() / np.abs(ref).max())


def relative(r: dict, key: str) -> str:
    if r.get("reference"):
        return "reference"
    if key not in r:
        return "—"
    return "0" if r[key] == 0 else f"{r[key]:.1e}"


def si(value: float) -> str:
    for factor, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if value >= factor:
            return f"{value / factor:.3g}{suffix}"
    return f"{value:.3g}"


def ratio(x: float) -> str:
    return f"{x:.2f}" if x >= 0.095 else f"{x:.2g}"


def size(n_bytes: float | None) -> str:
    if n_bytes is None:
        return "—"
    for factor, suffix in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if n_bytes >= factor:
            return f"{n_bytes / factor:.3g} {suffix}"
    return f"{n_bytes:.0f} B"


COLUMNS = ["workload", "peer", "rate /s", "x C -O3 native", "final loss", "rel. diff. loss",
           "rel. diff. params", "peak RSS", "tracemalloc peak", "note"]


def table_row(r: dict) -> list[str]:
    if r["status"] != "ok":
        return [r["workload"], r["label"]] + ["—"] * (len(COLUMNS) - 3) + [
            ("failed: " if r["status"] == "failed" else "") + r["reason"]]
    tm = size(r["tracemalloc_peak"])
    if r["tracemalloc_peak"] is not None and r["tracemalloc_epochs"] != r["epochs"]:
        tm += f" ({r['tracemalloc_epochs']:,} ep.)"
    return [
        r["workload"], r["label"], si(r["rate"]),
        ratio(r["speed_ratio"]) if "speed_ratio" in r else "—",
        f"{r['loss']:.12g}", relative(r, "rel_diff"), relative(r, "params_diff"),
        size(r["rss_kib"] * 1024), tm, r["note"],
    ]


def markdown(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def report(table: str, versions: dict, skipped: dict, references: dict, command: str, quick: bool) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# backprop benchmarks: latest results" + (" (--quick: tiny sizes, not a measurement)" if quick else ""),
        "",
        f"- date: {now}",
        f"- machine: {cpu_model()}, {os.cpu_count()} logical CPUs, {platform.platform()}",
        f"- command: `{command}`",
        "- versions: " + "; ".join(versions[p] for p in versions),
    ]
    lines += [f"- skipped {peer}: {reason}" for peer, reason in skipped.items()]
    lines += [
        "",
        table,
        "",
        "rate: samples per second of training-loop time (W0: updates per second; the threads row "
        "counts both networks, the C pair row both processes). x C -O3 native: rate / the rate "
        "of the C reference built with -O3 -march=native. final loss: mean per-sample loss of the "
        "final parameters on the training data, all evaluated by one NumPy function "
        "(benchmarks/loss.py). rel. diff. loss: |loss - loss_ref| / loss_ref, the reference being "
        "the first row of the same dtype (a float32 row's label says float32) among "
        + ", ".join(f"{wl}: {key}" for wl, key in references.items())
        + ". rel. diff. params: max |p - p_ref| / max |p_ref| over all parameters, for peers "
        "that train the same model; beyond "
        + ", ".join(f"{agree:.0e} ({dtype})" for dtype, agree in AGREE.items())
        + " the row is flagged DISAGREES. "
        "peak RSS: the peak resident set of the row's process (Linux VmHWM; the C program's own "
        "for C rows), data and interpreter included. tracemalloc peak: Python "
        "and NumPy allocations during one training call (shortened to the epochs shown), not "
        "torch's or numba's own allocators.",
    ]
    return "\n".join(lines) + "\n"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default=",".join(workloads.WORKLOADS),
                        help="comma-separated, from " + ",".join(workloads.WORKLOADS))
    parser.add_argument("--peers", default=",".join(peers.MODULES),
                        help="comma-separated, from " + ",".join(peers.MODULES))
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and epochs, so that everything runs in seconds")
    parser.add_argument("--repeat", type=int,
                        help="best of N runs of every measurement (default: best of up to 3, "
                             "while runs take under a second)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run every row this many times, in rounds that go over every "
                             "workload's rows in turn, and keep each row's best (default 1)")
    parser.add_argument("--output", type=Path,
                        help=f"the Markdown report (default {DEFAULT_OUTPUT.relative_to(HERE.parent)}; "
                             f"with --quick, {QUICK_OUTPUT.relative_to(HERE.parent)})")
    parser.add_argument("--json", type=Path, help="also write every row's measurements as JSON")
    args = parser.parse_args(argv)
    args.workloads = args.workloads.split(",")
    args.peers = args.peers.split(",")
    for name, chosen, known in (("workload", args.workloads, workloads.WORKLOADS),
                                ("peer", args.peers, peers.MODULES)):
        unknown = [c for c in chosen if c not in known]
        if unknown:
            parser.error(f"unknown {name} {', '.join(unknown)}; choose from {', '.join(known)}")
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.output is None:
        args.output = QUICK_OUTPUT if args.quick else DEFAULT_OUTPUT
    return args


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    command = "python " + shlex.join([str(Path(sys.argv[0]))] + (argv if argv is not None else sys.argv[1:]))
    versions = {"python": f"CPython {platform.python_version()}, numpy {np.__version__} (harness)"}
    skipped, available = {}, []
    for peer in args.peers:
        found = probe(peer)
        if "unavailable" in found:
            skipped[peer] = found["unavailable"]
            progress(f"skipping {peer}: {found['unavailable']}")
        else:
            versions[peer] = found["version"]
            available.append(peer)

    all_rows, references = [], {}
    with tempfile.TemporaryDirectory(prefix="backprop-bench-") as tmp:
        build_dir = Path(tmp) / "build"
        build_dir.mkdir()
        for peer in list(available):
            module = peers.load(peer)
            if hasattr(module, "build"):
                try:
                    module.build(build_dir)
                except subprocess.CalledProcessError as error:
                    skipped[peer] = f"build failed: {last_line(error.stderr)}"
                    available.remove(peer)
                    progress(f"skipping {peer}: {skipped[peer]}")
        prepared = {}
        for name in args.workloads:
            wl = workloads.get(name, quick=args.quick)
            try:
                X, Y = workloads.make_data(wl)
            except workloads.DatasetUnavailable as reason:
                skipped[name] = str(reason)
                progress(f"skipping {name}: {reason}")
                continue
            data_dir = Path(tmp) / name
            workloads.save(data_dir, wl, X, Y, workloads.initial_params(wl))
            prepared[name] = (wl, data_dir, [])
        for round_ in range(args.rounds):
            # Rounds interleave the rows, so that a slow spell of a shared
            # machine does not fall on one peer only, and they go over every
            # workload in turn, so that a workload's rounds are minutes apart
            # and one slow minute cannot spoil all of them; each row keeps its best.
            for name, (wl, data_dir, rows) in prepared.items():
                todo = [(peer, row) for peer in available for row in peers.load(peer).rows(wl)]
                for i, (peer, row) in enumerate(todo):
                    if round_ == 0:
                        rows.append(dataclasses.asdict(row) | {"workload": name, "epochs": wl.epochs})
                    r = rows[i]
                    if row.skip:
                        r.update(status="skipped", reason=row.skip)
                        continue
                    if r.get("status") == "failed":
                        continue
                    result = run_row(row, data_dir, build_dir, args.repeat)
                    if round_ == 0 or result["status"] != "ok":
                        r.update(result)
                    else:
                        r["repeats_same_bits"] &= bool(np.array_equal(result["params"], r["params"]))
                        r["seconds"] = min(r["seconds"], result["seconds"])
                        r["pairs"] += result["pairs"]
                    progress(f"{name:4} {row.label:55} "
                             + (f"{wl.samples_trained * row.copies / r['seconds']:11.4g} /s"
                                if r["status"] == "ok" else f"{r['status']}: {r['reason']}"))
        for name, (wl, data_dir, rows) in prepared.items():
            # the data back from its file: the harness holds one workload's at a time
            _, X, Y, _ = workloads.load(data_dir)
            judge(wl, rows, X, Y)
            references[name] = " and ".join(r["key"] for r in rows if r.get("reference")) or "none"
            all_rows += rows

    table = markdown([table_row(r) for r in all_rows])
    text = report(table, versions, skipped, references, command, args.quick)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    if args.json:
        keep = [{k: v for k, v in r.items() if k != "params"} for r in all_rows]
        args.json.write_text(json.dumps({"versions": versions, "skipped": skipped, "rows": keep}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
