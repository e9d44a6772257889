"""The hand-written C reference (benchmarks/reference.c), compiled here with cc."""
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from peers import Row, Unavailable

SOURCE = Path(__file__).resolve().parents[1] / "reference.c"
# binary name -> flags; -O2 alone targets the compiler's baseline (x86-64: SSE2),
# what a portable wheel gets by default.
BUILDS = {"reference-O2": ["-O2"], "reference-native": ["-O3", "-march=native"]}


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
    ]
    if wl.name == "W2":
        rows.append(Row(
            "c", "c-native-fused", "C reference, -O3 -march=native, fused W1 update",
            note="first layer's update applied during the next sample's forward sweep",
        ))
    return rows


class Trainer:
    def __init__(self, row, wl, data, build_dir):
        self.work = Path(tempfile.mkdtemp(dir=build_dir))
        binary = build_dir / ("reference-O2" if row.key == "c-O2" else "reference-native")
        spec = self.work / "spec.txt"
        spec.write_text(
            f"layers {len(wl.sizes) - 1}\n"
            f"sizes {' '.join(map(str, wl.sizes))}\n"
            f"activations {' '.join(wl.activations)}\n"
            f"loss {wl.loss}\nbias {wl.bias}\ntrain_bias {int(wl.train_bias)}\n"
            f"lr {wl.lr!r}\nepochs {wl.epochs}\nbatch_size {wl.batch_size}\n"
            f"samples {wl.n_samples}\n"
        )
        self.out = self.work / "params.f64"
        self.command = [
            str(binary), str(spec), str(data.dir / "X.f64"), str(data.dir / "Y.f64"),
            str(data.dir / "params0.f64"), str(self.out),
        ] + (["fused"] if row.key == "c-native-fused" else [])
        self.peak_rss_kib = 0

    def train(self):
        proc = subprocess.run(self.command, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{self.command[0]} failed ({proc.returncode}): {proc.stderr.strip()}")
        report = dict(line.split() for line in proc.stdout.splitlines())
        self.peak_rss_kib = max(self.peak_rss_kib, int(report["peak_rss_kib"]))
        return float(report["seconds"])

    def params(self):
        return np.fromfile(self.out)
