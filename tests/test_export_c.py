"""backprop.export.to_c: the exported header, compiled by a real C (and C++)
compiler, gives the bytes of Network.predict on thousands of random inputs,
for every activation and bias policy, and with every kernel build's predict."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import backprop as bp
from backprop import _core

pytestmark = pytest.mark.needs_compiler

CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
CXX = shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")
if CC is None or sys.platform == "win32":
    pytestmark = [pytestmark, pytest.mark.skip(reason="needs a gcc-like C compiler (cc)")]

FLAGS = {"O2": ["-std=c99", "-O2", "-ffp-contract=off"],
         "O3-native": ["-std=c99", "-O3", "-march=native", "-ffp-contract=off"]}

DRIVER = """#include <stdio.h>
#include "{name}.h"
/* Reads rows of {NAME}_N_IN values ({T}) from stdin, writes {name}_predict's
   {NAME}_N_OUT values per row to stdout, raw bytes both ways. */
int main(void)
{{
    {T} x[{NAME}_N_IN], out[{NAME}_N_OUT];
    while (fread(x, sizeof x, 1, stdin) == 1) {{
        {name}_predict(x, out);
        fwrite(out, sizeof out, 1, stdout);
    }}
    return 0;
}}
"""

HIDDEN = {"logistic": "tanh", "tanh": "logistic", "relu": bp.LeakyReLU(0.2), "leaky_relu": "relu",
          "identity": "logistic", "softmax": "tanh"}
OUTPUT = {"logistic": "logistic", "tanh": "tanh", "relu": "relu", "leaky_relu": bp.LeakyReLU(0.3),
          "identity": "identity", "softmax": "softmax"}


def network(out_act, bias, seed=0, dtype="float64"):
    """A 5-19-9-6 network (dot products of fewer than 8, 8 + 3 and 8 + 1
    terms; for float32, of fewer than 16 and 16 + 3), random weights and biases."""
    act = [HIDDEN[out_act], HIDDEN[out_act] if out_act != "identity" else "tanh", OUTPUT[out_act]]
    net = bp.Network([5, 19, 9, 6], activation=act, bias=bias, seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed + 1)
    for W in net.weights:
        W[...] = rng.normal(size=W.shape) * 0.7
    for b in net.biases:
        b[...] = rng.normal(size=b.shape)
    return net


def inputs(n_in, seed=2):
    """4000 rows from tiny to large (net inputs far beyond the exp's |x| <= 600
    fast path), and some exact zeros."""
    rng = np.random.default_rng(seed)
    scale = rng.choice([1e-8, 0.1, 1.0, 10.0, 300.0], size=(4000, 1))
    X = rng.normal(size=(4000, n_in)) * scale
    X[:50] = 0.0
    return X


def build(tmp_path, compiler, flags, source_name, header_dir):
    exe = tmp_path / ("drv-" + "-".join(f.strip("-") for f in flags))
    result = subprocess.run([compiler, *flags, "-Wall", "-Wextra", "-I", str(header_dir),
                             str(source_name), "-o", str(exe)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr, result.stderr
    return exe


def run(exe, X):
    return subprocess.run([str(exe)], input=np.ascontiguousarray(X).tobytes(), capture_output=True,
                          check=True).stdout


def accepts(compiler, flags, tmp_path):
    probe = tmp_path / "probe.c"
    probe.write_text("int main(void) { return 0; }\n")
    return subprocess.run([compiler, *flags, str(probe), "-o", str(tmp_path / "probe")],
                          capture_output=True).returncode == 0


def write_driver(tmp_path, net, name, suffix=".c"):
    net.to_c(tmp_path / f"{name}.h", name=name)
    driver = tmp_path / f"drv_{name}{suffix}"
    driver.write_text(DRIVER.format(name=name, NAME=name.upper(),
                                    T="float" if net.dtype == np.float32 else "double"))
    return driver


@pytest.mark.parametrize("bias,dtype", [("neuron", "float64"), ("shared", "float64"),
                                        ("none", "float64"), ("neuron", "float32"),
                                        ("shared", "float32")])
@pytest.mark.parametrize("out_act", list(OUTPUT))
def test_exported_c_gives_predicts_bytes(tmp_path, out_act, bias, dtype):
    net = network(out_act, bias, dtype=dtype)
    driver = write_driver(tmp_path, net, "mynet")
    X = inputs(5).astype(dtype)
    expected = net.predict(X).tobytes()
    for label, flags in FLAGS.items():
        if label == "O3-native" and not accepts(CC, flags, tmp_path):
            continue     # e.g. a compiler without -march=native for this CPU; O2 still runs
        got = run(build(tmp_path, CC, flags, driver, tmp_path), X)
        assert len(got) == len(expected)
        assert got == expected, f"{label}: outputs differ from predict in " \
            f"{np.count_nonzero(np.frombuffer(got, dtype) != np.frombuffer(expected, dtype))} of " \
            f"{X.shape[0] * 6} values"


def test_exported_c_matches_every_kernel_build(tmp_path):
    # predict gives the same bits on every instruction-set build, so the one
    # header matches each (x86-64: baseline, AVX2, AVX-512 where the CPU has them).
    net = network("softmax", "neuron")
    exe = build(tmp_path, CC, FLAGS["O2"], write_driver(tmp_path, net, "mynet"), tmp_path)
    X = inputs(5, seed=3)
    got = run(exe, X)
    active = _core.active_kernels()
    try:
        for kernels in _core.available_kernels():
            _core.use_kernels(kernels)
            assert net.predict(X).tobytes() == got, kernels
    finally:
        _core.use_kernels(active)


def test_worked_example_exports_its_outputs(tmp_path):
    # The worked example (2-2-2, logistic, one shared bias per layer, frozen).
    net, x, t, lr = bp.examples.mazur()
    exe = build(tmp_path, CC, FLAGS["O2"], write_driver(tmp_path, net, "mazur"), tmp_path)
    X = np.vstack([x, inputs(2, seed=4)])
    got = np.frombuffer(run(exe, X)).reshape(-1, 2)
    assert got.tobytes() == net.predict(X).tobytes()
    np.testing.assert_allclose(got[0], [0.75136507, 0.772928465], rtol=1e-8)


@pytest.mark.skipif(CXX is None, reason="needs a C++ compiler (c++)")
def test_exported_header_is_cxx17(tmp_path):
    net = network("leaky_relu", "shared")
    driver = write_driver(tmp_path, net, "cxxnet", suffix=".cpp")
    exe = build(tmp_path, CXX, ["-std=c++17", "-O2", "-ffp-contract=off"], driver, tmp_path)
    X = inputs(5, seed=5)
    assert run(exe, X) == net.predict(X).tobytes()


def test_header_is_self_contained_c99(tmp_path):
    net = network("tanh", "neuron")
    text = net.to_c(None, name="solo")
    assert "static inline void solo_predict(const double *x, double *out)" in text
    assert "malloc" not in text and "#include <math.h>" not in text
    # the maths are bp_math.h, verbatim: the file the compiled core is built from
    from backprop.export._c import math_header
    assert math_header() in text
    # two headers in one translation unit: bp_math.h's include guard keeps one copy
    (tmp_path / "solo.h").write_text(text)
    network("relu", "none").to_c(tmp_path / "other.h", name="other")
    main = tmp_path / "two.c"
    main.write_text('#include "solo.h"\n#include "other.h"\nint main(void) { double x[5] = {0}, o[6];'
                    ' solo_predict(x, o); other_predict(x, o); return 0; }\n')
    exe = build(tmp_path, CC, ["-std=c99", "-pedantic", "-O2", "-ffp-contract=off"], main, tmp_path)
    assert subprocess.run([str(exe)]).returncode == 0
    # -ffast-math would change the bits: the header refuses to compile
    fast = subprocess.run([CC, "-std=c99", "-O2", "-ffast-math", "-I", str(tmp_path), str(main), "-o",
                           str(tmp_path / "fast")], capture_output=True, text=True)
    assert fast.returncode != 0 and "-ffast-math changes the results" in fast.stderr


def test_to_c_refuses_bad_arguments(tmp_path):
    net = network("tanh", "neuron")
    for bad in ["", "1net", "my-net", "my net", "bp_net", "BP_x"]:
        with pytest.raises(ValueError, match="name"):
            net.to_c(None, name=bad)
    for bad in [None, 3]:
        with pytest.raises(TypeError, match="name"):
            net.to_c(None, name=bad)
    with pytest.raises(TypeError, match="path"):
        net.to_c(3.5)
    with pytest.raises(TypeError, match="Network"):
        from backprop.export import to_c
        to_c("not a network", None)
    assert not any(os.scandir(tmp_path))


def test_cli_exports_a_saved_model_to_c(tmp_path, capsys):
    from backprop.cli import main

    net = network("logistic", "neuron")
    net.save(tmp_path / "model.npz")
    assert main(["export", str(tmp_path / "model.npz"), "--format", "c", "-o", str(tmp_path / "cli.h"),
                 "--name", "cli"]) == 0
    driver = tmp_path / "drv_cli.c"
    driver.write_text(DRIVER.format(name="cli", NAME="CLI", T="double"))
    X = inputs(5, seed=6)
    assert run(build(tmp_path, CC, FLAGS["O2"], driver, tmp_path), X) == net.predict(X).tobytes()
    assert main(["export", str(tmp_path / "model.npz"), "--format", "c", "-o", str(tmp_path / "x.h"),
                 "--name", "no-good"]) == 2
    assert "name must be a C identifier" in capsys.readouterr().err
    assert not (tmp_path / "x.h").exists()


def test_networks_whose_layer_values_overflow_the_stack_are_refused():
    # NAME_predict keeps each layer's values on the stack; NAME_STACK_BYTES says how much
    import backprop.export._c as c_export
    text = bp.Network([2, 300, 1], activation=["tanh", "identity"], seed=0).to_c(name="ok")
    assert f"#define OK_STACK_BYTES {8 * (2 * 300 + 1)}\n" in text
    wide = bp.Network([1, c_export.MAX_STACK_BYTES // 16 + 1, 1], activation=["relu", "identity"],
                      bias="none", seed=0)
    with pytest.raises(ValueError, match="bytes of layer values on the stack, more than 1048576"):
        wide.to_c(name="wide")
