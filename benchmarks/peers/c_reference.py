"""The hand-written C reference (benchmarks/reference.c), compiled here with cc.

Besides its one-process rows it has a pair row, the machine's own yardstick
for the threads target (what two cores give hand-written C): two processes of the -O3 -march=native build at once, as
backprop's threads row runs two threads. They train the workload lap after
lap, each lap on fresh parameters, taking the laps from one shared counter (a
file both map) until a lap count calibrated to last LAP_SECONDS per process
is done. Right before, each run times the same number of laps in one process
alone (``pair``, as in backprop's threads row). The two processes load their
data, say they are ready and start their clocks on one go-ahead; the pair's
time runs from the first start to the last end (CLOCK_MONOTONIC, which both
processes share).
"""
import math
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from peers import LAP_SECONDS, Row, Unavailable

SOURCE = Path(__file__).resolve().parents[1] / "reference.c"
# binary name -> flags; -O2 alone targets the compiler's baseline (x86-64: SSE2),
# what a portable wheel gets by default. The float32 build is the same source
# with BP_REAL=float (libm's expf/tanhf; see reference.c).
BUILDS = {"reference-O2": ["-O2"], "reference-native": ["-O3", "-march=native"],
          "reference-native-float32": ["-O3", "-march=native", "-DBP_REAL=float"]}
BINARY = {"c-O2": "reference-O2", "c-native-float32": "reference-native-float32"}


def probe():
    cc = shutil.which("cc")
    if cc is None:
        raise Unavailable("no C compiler: `cc` not found on PATH")
    return subprocess.run([cc, "--version"], capture_output=True, text=True).stdout.splitlines()[0]


def build(build_dir: Path) -> None:
    for name, flags in BUILDS.items():
        subprocess.run(
            ["cc", *flags, "-o", str(build_dir / name), str(SOURCE), "-lm"],
            check=True, capture_output=True, text=True,
        )


def rows(wl):
    rows = [
        Row("c", "c-O2", "C reference, cc -O2 (portable baseline)"),
        Row("c", "c-native", "C reference, cc -O3 -march=native"),
        Row("c", "c-native-float32", "C reference float32, cc -O3 -march=native", dtype="float32"),
    ]
    if wl.name == "W2":
        rows.append(Row(
            "c", "c-native-fused", "C reference, -O3 -march=native, fused W1 update",
            note="first layer's update applied during the next sample's forward sweep",
        ))
    # W3's lap lasts ~13 s in C: its pairs would add minutes to a table
    rows.append(Row("c", "c-native-pair", "C reference -O3 native, 2 processes at once", threads=2,
                    copies=2, skip="" if wl.batch_size == 1 else "online workloads only"))
    return rows


class Trainer:
    def __init__(self, row, wl, data, build_dir):
        self.work = Path(tempfile.mkdtemp(dir=build_dir))
        binary = build_dir / BINARY.get(row.key, "reference-native")
        spec = self.work / "spec.txt"
        spec.write_text(
            f"layers {len(wl.sizes) - 1}\n"
            f"sizes {' '.join(map(str, wl.sizes))}\n"
            f"activations {' '.join(wl.activations)}\n"
            f"loss {wl.loss}\nbias {wl.bias}\ntrain_bias {int(wl.train_bias)}\n"
            f"lr {wl.lr!r}\nepochs {wl.epochs}\nbatch_size {wl.batch_size}\n"
            f"samples {wl.n_samples}\n"
        )
        # one output file per process: the first is the lone run's
        processes = 1 if row.copies == 1 else 1 + row.copies
        self.outs = [self.work / f"params{i}.f64" for i in range(processes)]
        self.counter = self.work / "next-lap"
        self.command = [
            str(binary), str(spec), str(data.dir / "X.f64"), str(data.dir / "Y.f64"),
            str(data.dir / "params0.f64"),
        ]
        self.options = ["fused"] if row.key == "c-native-fused" else []
        self.copies = row.copies
        self.peak_rss_kib = 0
        self.pair = None
        self.laps = 1
        if self.copies > 1:
            # untimed: how many laps last LAP_SECONDS
            lap = float(self._report(self._start(0, []))["seconds"])
            self.laps = max(1, math.ceil(LAP_SECONDS / lap))

    def _start(self, i, extra):
        return subprocess.Popen(self.command + [str(self.outs[i])] + self.options + extra,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def _report(self, proc):
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"{self.command[0]} failed ({proc.returncode}): {err.strip()}")
        report = dict(line.split() for line in out.splitlines())
        self.peak_rss_kib = max(self.peak_rss_kib, int(report["peak_rss_kib"]))
        return report

    def train(self):
        seconds = float(self._report(self._start(0, [f"laps={self.laps}"]))["seconds"])
        if self.copies == 1:
            return seconds
        self.counter.write_bytes(bytes(8))
        for out in self.outs[1:]:
            out.unlink(missing_ok=True)
        shared = [f"laps={self.copies * self.laps}", f"share={self.counter}", "wait"]
        procs = [self._start(i, shared) for i in range(1, self.copies + 1)]
        try:
            for proc in procs:
                if proc.stdout.readline() != "ready\n":
                    self._report(proc)
                    raise RuntimeError(f"{self.command[0]} did not get ready")
            for proc in procs:
                proc.stdin.write("go\n")
                proc.stdin.flush()
            reports = [self._report(proc) for proc in procs]
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        if sum(int(r["laps"]) for r in reports) != self.copies * self.laps:
            raise RuntimeError(f"the processes trained {[int(r['laps']) for r in reports]} laps, "
                               f"not {self.copies * self.laps} in all")
        both = max(float(r["end"]) for r in reports) - min(float(r["start"]) for r in reports)
        self.pair = (seconds / self.laps, both / self.laps)
        return self.pair[1]

    def params(self):
        """The lone run's parameters; in the pair row every process that trained
        a lap must agree with them bit for bit (each checks its own laps)."""
        flat = [np.fromfile(out) for out in self.outs if out.exists()]
        if any(not np.array_equal(f, flat[0]) for f in flat):
            raise RuntimeError("two processes trained from the same start ended with different "
                               "parameters")
        return flat[0]
