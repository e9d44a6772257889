"""The compiled kernels: every instruction-set build gives the same bits, the
kernel code stays free of Python, and its hot loops stay vectorised.

The static checks compile the kernel sources from this checkout with Cython
and gcc; they are skipped (with the reason) only where those sources or tools
are absent, e.g. when the suite runs against an installed wheel elsewhere.
"""
import html
import importlib
import itertools
import os
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig

import numpy as np
import pytest

import backprop as bp
from backprop import _core

ROOT = pathlib.Path(__file__).resolve().parent.parent
KERNELS = ROOT / "src" / "_kernels.pxi"


def included(source):
    """source and the files it includes (include "x.pxi", found beside it), in order."""
    files = [source]
    for name in re.findall(r'^include "([^"]+)"', source.read_text(), re.M):
        files += included(source.parent / name)
    return files


# The kernel source: _kernels.pxi and the .pxi files it includes.
KERNEL_FILES = included(KERNELS) if KERNELS.exists() else []
MATH_H = ROOT / "src" / "backprop" / "bp_math.h"
MATHF_H = ROOT / "src" / "backprop" / "bp_mathf.h"
have_sources = pytest.mark.skipif(not KERNELS.exists(), reason="needs the source tree (src/_kernels.pxi)")


@pytest.fixture
def restore_kernels():
    active = _core.active_kernels()
    yield
    _core.use_kernels(active)


def train_all_ways(kernels):
    """Parameters and histories after a varied set of training runs."""
    _core.use_kernels(kernels)
    rng = np.random.default_rng(0)
    out = []
    configs = [
        ([37, 29, 11], ["logistic", "logistic"], "squared", bp.SGD(), 1),
        ([64, 33, 10], ["tanh", "softmax"], "cross_entropy", bp.SGD(momentum=0.9, nesterov=True), 1),
        ([19, 40, 17, 5], ["relu", bp.LeakyReLU(0.1), "logistic"], "cross_entropy", bp.Adam(), 1),
        ([23, 31, 9], ["identity", "tanh"], bp.Huber(0.5), bp.SGD(weight_decay=0.01), 7),
        ([70, 20, 3], ["logistic", "logistic"], "squared", bp.SGD(), None),
    ]
    for sizes, act, loss, opt, batch in configs:
        X = rng.normal(size=(60, sizes[0]))
        if act[-1] == "softmax":
            Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], 60)]
        else:
            Y = rng.uniform(size=(60, sizes[-1]))
        net = bp.Network(sizes, activation=act, loss=loss, seed=1)
        hist = net.train(X, Y, epochs=3, batch_size=batch, optimizer=opt, shuffle=True, seed=2)
        out += [net.params.copy(), hist.loss, net.predict(X).ravel(), np.array([net.loss(X, Y)])]
        if act[0] == "logistic":
            # Net inputs from small to far beyond ±600, where the logistic's
            # vector loops leave the exp without special cases for the full
            # one, and down to subnormal outputs.
            out.append(net.predict(np.concatenate([X * s for s in (1.0, 30.0, 300.0, 3e3)])).ravel())
    return out


# One configuration (tanh, momentum 0.9 on unscaled inputs) saturates its hidden
# layer, which train reports; the bits are what this test compares.
@pytest.mark.filterwarnings("ignore::backprop.SaturationWarning")
@pytest.mark.parametrize("kernels", _core.available_kernels())
def test_every_kernel_build_gives_the_same_bits(kernels, restore_kernels):
    baseline = train_all_ways("baseline")
    other = train_all_ways(kernels)
    for a, b in zip(baseline, other):
        assert a.tobytes() == b.tobytes()


def train_narrow_networks():
    """Parameters, histories and predictions of networks no wider than 4,
    whose loops take their short paths (and, for two layers with plain SGD
    and the squared error, the register loop of online training)."""
    rng = np.random.default_rng(3)
    out = []
    configs = [
        ([2, 2, 2], "logistic", "squared", bp.SGD(), 1, "shared"),
        ([4, 3, 4, 3], ["tanh", "tanh", "softmax"], "cross_entropy", bp.SGD(momentum=0.5), 1, "neuron"),
        ([3, 4, 3], "relu", bp.Huber(0.3), bp.Adam(), 5, "neuron"),
        ([4, 4, 1], ["logistic", "identity"], "squared", bp.SGD(weight_decay=0.01), None, "none"),
    ]
    for sizes, act, loss, opt, batch, bias in configs:
        assert max(sizes) <= 4
        X, Y = rng.normal(size=(30, sizes[0])), rng.uniform(size=(30, sizes[-1]))
        if loss == "cross_entropy":
            Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], 30)]
        net = bp.Network(sizes, activation=act, loss=loss, bias=bias, seed=4)
        hist = net.train(X, Y, epochs=4, batch_size=batch, optimizer=opt, shuffle=True, seed=5)
        out += [net.params.copy(), hist.loss, net.predict(X).ravel(), np.array([net.loss(X, Y)])]
    return out


@pytest.mark.parametrize("kernels", _core.available_kernels())
def test_narrow_networks_give_the_same_bits_on_every_build(kernels, restore_kernels):
    _core.use_kernels("baseline")
    baseline = train_narrow_networks()
    _core.use_kernels(kernels)
    assert _core.active_kernels() == kernels
    other = train_narrow_networks()
    for a, b in zip(baseline, other):
        assert a.tobytes() == b.tobytes()


def test_kernel_builds_are_reported():
    names = _core.available_kernels()
    assert names[0] == "baseline" and _core.active_kernels() in names
    if _core.cpu_level() >= 3 and (ROOT / "src" / "_kernels_v3.pyx").exists():
        # on an x86-64-v3 CPU the build of this checkout must have the variants
        assert "x86-64-v3" in names
    with pytest.raises(ValueError, match="unknown kernel build"):
        _core.use_kernels("sse9")


@pytest.mark.parametrize("forced", ["baseline", "bogus"])
def test_environment_variable_forces_a_build(forced):
    env = dict(os.environ, BACKPROP_KERNELS=forced)
    proc = subprocess.run([sys.executable, "-c", "from backprop import _core; print(_core.active_kernels())"],
                          env=env, capture_output=True, text=True)
    if forced == "baseline":
        assert proc.returncode == 0 and proc.stdout.strip() == "baseline"
    else:
        assert proc.returncode != 0 and "BACKPROP_KERNELS=bogus: unknown kernel build" in proc.stderr


def cythonize_kernels(tmp_path, annotate=False, suffix=""):
    """C code (and annotation HTML) of the v4 kernel module of this checkout
    (suffix "32": of the float32 build's)."""
    c_file = tmp_path / f"kernels{suffix}.c"
    cmd = [sys.executable, "-m", "cython", "-3", "-I", str(ROOT / "src"), "--module-name",
           f"backprop._kernels{suffix}_v4", str(ROOT / "src" / f"_kernels{suffix}_v4.pyx"),
           "-o", str(c_file)]
    if annotate:
        cmd.insert(3, "-a")
    subprocess.run(cmd, check=True, cwd=tmp_path, capture_output=True)
    return c_file


@have_sources
def test_kernel_lines_do_not_touch_python(tmp_path):
    pytest.importorskip("Cython", reason="needs Cython to annotate the kernels")
    cythonize_kernels(tmp_path, annotate=True)
    rows = []
    for source in KERNEL_FILES:
        page = tmp_path / (source.stem + ".html")
        if page.exists():   # the .pxi files the kernel modules include
            rows += [(source.name, score, body) for score, body in
                     re.findall(r'<pre class="cython line score-(\d+)"[^>]*>(.*?)</pre>',
                                page.read_text(), re.S)]
    assert len(rows) > 300
    python_lines = []
    for name, score, body in rows:
        number = re.search(r"<span class=\"\">(\d+)</span>", body)
        if int(score) > 0:
            python_lines.append((name, int(number.group(1)),
                                 html.unescape(re.sub("<[^>]+>", "", body)).strip()))
    assert python_lines == []


@have_sources
def test_kernel_c_bodies_hold_no_python(tmp_path):
    pytest.importorskip("Cython", reason="needs Cython to compile the kernels")
    c_code = cythonize_kernels(tmp_path).read_text()
    names = [name for source in KERNEL_FILES
             for name in re.findall(r"^cdef (?:inline )?\w+\*? (\w+)\(", source.read_text(), re.M)]
    assert "train_online" in names and "backward" in names
    forbidden = re.compile(r"PyGILState_Ensure|Py_INCREF|Py_DECREF|Py_XDECREF|__Pyx_AddTraceback|"
                           r"PyErr_|__PYX_ERR|__Pyx_RaiseException|__Pyx_GOTREF")
    checked = 0
    for name in names:
        for match in re.finditer(r"^static [^;{]*__pyx_f_8backprop_11_kernels_v4_" + name + r"\([^;]*?\{\n(.*?)^\}",
                                 c_code, re.M | re.S):
            checked += 1
            bad = forbidden.findall(match.group(1))
            assert not bad, f"{name}: {sorted(set(bad))}"
    assert checked >= len(names) - 2     # a few tiny inline helpers may be folded away


def vectorised_lines(c_file, level_flags, defines=(), header="bp_math.h"):
    """Source lines (file name, line) of _kernels.pxi and the files it
    includes, and lines of header (bp_math.h, or bp_mathf.h for the float32
    build), whose loops gcc vectorised, built with setup.py's release flags
    plus those of one instruction-set level."""
    source_of = {}
    current = None
    for number, line in enumerate(c_file.read_text().splitlines(), 1):
        m = re.search(r'/\* "(?:[^"]*/)?(_\w+\.pxi)":(\d+)', line)
        if m:
            current = (m.group(1), int(m.group(2)))
        elif re.search(r'/\* "', line):
            current = None
        source_of[number] = current
    cmd = ["gcc", "-O3", "-ffp-contract=off", "-fno-math-errno", *level_flags, *defines, "-fPIC",
           "-c", str(c_file),
           "-o", os.devnull,
           "-I", sysconfig.get_paths()["include"], "-I", str(MATH_H.parent), "-I", str(KERNELS.parent),
           "-fopt-info-vec-optimized"]
    report = subprocess.run(cmd, capture_output=True, text=True, check=True).stderr
    pxi = {source_of.get(int(n)) for n in re.findall(r"\.c:(\d+):\d+: optimized: loop vectorized", report)}
    lines = {int(n) for n in re.findall(re.escape(header) + r":(\d+):\d+: optimized: loop vectorized",
                                        report)}
    return pxi, lines


@have_sources
@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc for its vectoriser report")
def marked_lines(dtype):
    """The kernel lines marked "# vectorised", or "# vectorised in <dtype>"
    for loops that only that type's build runs (the other build compiles
    them out or never takes them)."""
    marks = ("# vectorised", "# vectorised in " + dtype)
    return [(source.name, n) for source in KERNEL_FILES
            for n, line in enumerate(source.read_text().splitlines(), 1) if line.endswith(marks)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("level_flags", [["-march=x86-64-v3"], ["-march=x86-64-v4"]],
                         ids=["x86-64-v3", "x86-64-v4"])
def test_marked_loops_stay_vectorised(tmp_path, level_flags, dtype):
    # The vectoriser drops loops silently after small edits; every loop marked
    # "# vectorised" (or "# vectorised in" the build's dtype) in _kernels.pxi
    # and the files it includes (or
    # "/* vectorised */" in bp_math.h, whose functions the kernels inline; in
    # bp_mathf.h for the float32 build) must be reported vectorised.
    pytest.importorskip("Cython", reason="needs Cython to compile the kernels")
    if sysconfig.get_platform().split("-")[-1] not in ("x86_64", "amd64"):
        pytest.skip("the x86-64 kernel builds exist on x86-64 only")
    marked = marked_lines(dtype)
    assert len(marked) >= 10
    float32 = dtype == "float32"
    math_h = MATHF_H if float32 else MATH_H
    marked_h = [n for n, line in enumerate(math_h.read_text().splitlines(), 1) if line.endswith("/* vectorised */")]
    assert len(marked_h) >= 1
    done, done_h = vectorised_lines(cythonize_kernels(tmp_path, suffix="32" if float32 else ""),
                                    level_flags, ["-DBP_FLOAT32=1"] if float32 else [], math_h.name)
    missing = [n for n in marked if n not in done]
    assert missing == [], f"loops no longer vectorised with {level_flags}: lines {missing}"
    missing_h = [n for n in marked_h if n not in done_h]
    assert missing_h == [], f"{math_h.name} loops no longer vectorised with {level_flags}: lines {missing_h}"


@pytest.mark.skipif(not _core.cpu_level(), reason="the x86-64 kernel builds exist on x86-64 only")
def test_level_builds_keep_their_vector_paths():
    # Losing one of these paths (a changed preprocessor test, a compiler
    # without the macros) would cost only speed, silently.  bp_rows4 needs
    # 512-bit vectors, bp_back_rows AVX2 or better.
    # The float32 builds (backprop._kernels32_*) have both, in float's form.
    expected = {"x86-64-v3": {"bp_rows4": False, "bp_back_rows": True},
                "x86-64-v4": {"bp_rows4": True, "bp_back_rows": True}}
    for core in (_core, importlib.import_module("backprop._core32")):
        for name in core.available_kernels():
            if name in expected:
                module = importlib.import_module(core.KERNEL_VARIANTS[name][0])
                assert module.VECTOR_PATHS == expected[name], (core.__name__, name)


def learn_one_epochs(net, X, Y, epochs, lr):
    """What train(X, Y, epochs, lr) does, one learn_one call at a time."""
    for _, (x, y) in itertools.product(range(epochs), zip(X, Y)):
        net.learn_one(x, y, lr=lr)


@pytest.mark.parametrize("sizes, n", [([50, 40, 10], 40), ([50, 39, 11, 3], 41)])
def test_train_results_do_not_depend_on_chunk_or_kernel_combination(restore_kernels, sizes, n):
    # learn_one always runs this module's own (baseline) code, train the active
    # build: a step-by-step run must match a single train call bit for bit.
    # train's forward sweeps take the rows last to first every other sample
    # (layers of 39 and 11 rows: blocks of four and the rows left over).
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(n, sizes[0])), rng.uniform(size=(n, sizes[-1]))
    for kernels in _core.available_kernels():
        _core.use_kernels(kernels)
        a = bp.Network(sizes, seed=3)
        b = a.copy()
        a.train(X, Y, epochs=2)
        learn_one_epochs(b, X, Y, 2, lr=0.1)
        assert a.params.tobytes() == b.params.tobytes(), kernels


def test_sweeps_in_either_direction_give_the_same_bits(restore_kernels):
    # predict and loss take every other sample's rows last to first, predict_one
    # and a one-sample loss first to last.  Adam's online steps, which do not
    # defer the update, sweep first to last, as learn_one does.
    rng = np.random.default_rng(6)
    X, Y = rng.normal(size=(9, 50)), rng.uniform(size=(9, 3))
    for kernels in _core.available_kernels():
        _core.use_kernels(kernels)
        net = bp.Network([50, 39, 11, 3], seed=3)
        rows = np.array([net.predict_one(x) for x in X])
        assert net.predict(X).tobytes() == rows.tobytes(), kernels
        losses, one = np.empty(len(X)), np.empty(1)
        net._model.sample_losses(X, Y, losses)
        for i in range(len(X)):
            net._model.sample_losses(X[i:i + 1], Y[i:i + 1], one)   # first to last
            assert losses[i] == one[0], (kernels, i)
        a, b = net.copy(), net.copy()
        a.train(X, Y, epochs=2, optimizer=bp.Adam(), lr=0.01)
        b.train(X[:1], Y[:1], epochs=0, optimizer=bp.Adam())
        learn_one_epochs(b, X, Y, 2, lr=0.01)
        assert a.params.tobytes() == b.params.tobytes(), kernels


SMALL_CASES = [
    ([2, 2, 2], ["logistic", "logistic"], "shared", False),
    ([2, 2, 2], ["logistic", "logistic"], "shared", True),
    ([3, 4, 1], ["tanh", "identity"], "neuron", True),
    ([1, 1], ["relu"], "neuron", True),
    ([4, 3, 4, 2], ["leaky_relu", "relu", "logistic"], "none", True),
    ([2, 3, 3], [bp.LeakyReLU(0.3), "tanh"], "shared", True),
    ([4, 4, 4, 4], ["identity", "logistic", "tanh"], "neuron", False),
    ([1, 4, 4], ["logistic", "logistic"], "neuron", True),
    ([4, 1, 3], ["relu", "tanh"], "none", True),
    ([3, 2, 1], [bp.LeakyReLU(0.1), "identity"], "shared", True),
    ([2, 5, 2], ["logistic", "logistic"], "neuron", True),   # too wide: the generic step
]


@pytest.mark.parametrize("sizes, acts, bias, train_bias", SMALL_CASES)
def test_the_fused_step_of_small_networks_gives_the_bits_of_the_generic_step(
        sizes, acts, bias, train_bias):
    # train() on two-layer networks no wider than 4 with plain SGD and the
    # squared error runs the register loop small2_online; on the others the
    # online_step with the deferred first-layer update.  learn_one always runs
    # online_step without deferring.  Same samples, same order: same bits.
    rng = np.random.default_rng(len(sizes) * 10 + sizes[1])
    X = rng.uniform(-2.0, 2.0, (5, sizes[0]))
    Y = rng.uniform(0.0, 1.0, (5, sizes[-1]))
    fused = bp.Network(sizes, activation=acts, bias=bias, train_bias=train_bias, seed=3)
    generic = fused.copy()
    hist = fused.train(X, Y, epochs=3, lr=0.4)
    for epoch in range(3):
        total = 0.0
        for x, t in zip(X, Y):
            total = total + generic.learn_one(x, t, lr=0.4)
        assert total / len(X) == hist.loss[epoch]
    assert fused.params.tobytes() == generic.params.tobytes()
    assert fused.samples_seen == generic.samples_seen == 15
    assert fused._model.get_counters() == generic._model.get_counters()


def test_the_small_two_layer_loop_follows_schedules_orders_and_targets():
    # Two-layer small networks train in small2_online, which keeps the
    # parameters in locals between samples: its epochs, learning-rate schedule,
    # sample order and target stop must be those of per-sample learn_one calls.
    rng = np.random.default_rng(11)
    X = rng.uniform(-1.0, 1.0, (7, 3))
    Y = rng.uniform(0.0, 1.0, (7, 2))
    order = [int(i) for i in rng.permutation(7)]
    lr = lambda epoch: 0.9 / (1 + epoch)
    fused = bp.Network([3, 4, 2], seed=5)
    generic = fused.copy()
    hist = fused.train(X[order], Y[order], epochs=400, lr=lr, target_loss=0.072)
    assert 1 < len(hist.loss) < 400 and hist.loss[-1] <= 0.072 < hist.loss[-2]
    for epoch in range(len(hist.loss)):
        total = 0.0
        for i in order:
            total = total + generic.learn_one(X[i], Y[i], lr=lr(epoch))
        assert total / len(X) == hist.loss[epoch], epoch
    assert fused.params.tobytes() == generic.params.tobytes()
    assert fused._model.get_counters() == generic._model.get_counters()
