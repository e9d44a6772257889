"""Record tests/golden_hashes.json: the digests of tests/test_golden.py's
training runs, from the baseline kernels with BLAS off.

Run on x86-64 after a deliberate change of results (say why in the commit):

    python tools/golden_hashes.py

It refuses to write if this machine's kernel builds disagree with each other: the recording must be the bits every build gives.
"""
import json
import pathlib
import platform
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import test_golden  # noqa: E402
from backprop import _core  # noqa: E402


def runs_of_every_build():
    for core in test_golden.CORES:
        core.use_blas(False)
    found = {}
    for kernels in _core.available_kernels():
        test_golden.use_kernels(kernels)
        found[kernels] = test_golden.all_runs()
    test_golden.use_kernels("baseline")
    return found


def main():
    found = runs_of_every_build()
    reference = found["baseline"]
    for build, runs in found.items():
        bad = test_golden.mismatches(runs, reference)
        if bad:
            sys.exit(f"kernel build {build} disagrees with the baseline: {bad}; nothing written")
    recorded_on = f"{platform.system()} {platform.machine()}, numpy {np.__version__}, " \
                  f"kernel builds {', '.join(_core.available_kernels())}"
    text = json.dumps({"recorded_on": recorded_on, "runs": reference}, indent=1, sort_keys=True)
    test_golden.GOLDEN.write_text(text + "\n")
    print(f"{test_golden.GOLDEN}: {len(reference)} runs ({recorded_on})")


if __name__ == "__main__":
    main()
