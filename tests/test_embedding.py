"""Embedding from Cython: examples/embedding (bpembed) cimports backprop's
C-level API, is built here against the installed backprop, and must train a
Network to the same bits as Network.train."""
import importlib
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

import backprop as bp
from backprop import _core

pytestmark = pytest.mark.needs_compiler

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "embedding"


def install(source, name):
    """pip-install the example package at source, against the installed
    backprop (no build isolation: its build requirement cybackprop is what is
    installed), and import its module name; removed again afterwards."""
    target = source.parent / "site"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-deps",
         "--no-index", "--target", str(target), str(source)],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(target))
    try:
        yield importlib.import_module(name)
    finally:
        sys.path.remove(str(target))
        sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def bpembed(tmp_path_factory):
    """The example, built and imported."""
    source = tmp_path_factory.mktemp("embedding") / "bpembed"
    shutil.copytree(EXAMPLE, source)
    yield from install(source, "bpembed")


@pytest.fixture(scope="module")
def bpembed32(tmp_path_factory):
    """The example built for float32 networks: cimported from backprop._core32,
    compiled with BP_FLOAT32 defined (so bp_real is float), as bpembed32."""
    source = tmp_path_factory.mktemp("embedding32") / "bpembed32"
    shutil.copytree(EXAMPLE, source)
    pyx = (source / "bpembed.pyx").read_text()
    (source / "bpembed32.pyx").write_text(pyx.replace("from backprop._core cimport",
                                                      "from backprop._core32 cimport"))
    (source / "bpembed.pyx").unlink()
    setup = (source / "setup.py").read_text()
    (source / "setup.py").write_text(setup.replace(
        'Extension("bpembed", ["bpembed.pyx"])',
        'Extension("bpembed32", ["bpembed32.pyx"], define_macros=[("BP_FLOAT32", "1")])'))
    project = (source / "pyproject.toml").read_text()
    (source / "pyproject.toml").write_text(project.replace('name = "bpembed"', 'name = "bpembed32"'))
    yield from install(source, "bpembed32")


def data(n, n_in, n_out, kind, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in))
    if kind == "onehot":
        Y = np.eye(n_out)[rng.integers(0, n_out, n)]
    else:
        Y = rng.uniform(size=(n, n_out))
    return X, Y


CASES = {
    "logistic-squared": dict(sizes=[4, 6, 3], activation="logistic"),
    "tanh-softmax-xent": dict(sizes=[4, 8, 5, 3], activation=["tanh", "tanh", "softmax"],
                              loss="cross_entropy"),
    "relu-identity-huber-shared": dict(sizes=[4, 7, 3], activation=["relu", "identity"],
                                       loss=bp.Huber(0.5), bias="shared"),
    "leaky-nobias": dict(sizes=[4, 5, 3], activation=[bp.LeakyReLU(0.1), "logistic"], bias="none"),
}


def test_api_version_of_the_build_is_the_installed_cores(bpembed):
    assert bpembed.COMPILED_API_VERSION == _core.API_VERSION


@pytest.mark.parametrize("case", CASES, ids=str)
def test_nogil_loop_trains_the_same_bits_as_network_train(bpembed, case):
    spec = CASES[case]
    kind = "onehot" if spec.get("loss") == "cross_entropy" else "uniform"
    X, Y = data(40, spec["sizes"][0], spec["sizes"][-1], kind)
    net = bp.Network(**spec, seed=3)
    twin = net.copy()
    losses = bpembed.train_online(net, X, Y, 5, 0.05)
    hist = twin.train(X, Y, epochs=5, lr=0.05)           # plain SGD, online, no shuffle
    assert net.params.tobytes() == twin.params.tobytes()
    assert np.array(losses).tobytes() == hist.loss.tobytes()
    assert not np.array_equal(net.params, bp.Network(**spec, seed=3).params)


def test_worked_example_for_10000_updates(bpembed):
    net, x, t, lr = bp.examples.mazur()
    twin = net.copy()
    X, Y = np.array([x]), np.array([t])
    bpembed.train_online(net, X, Y, 10_000, lr)
    twin.train(X, Y, epochs=10_000, lr=lr)
    assert net.params.tobytes() == twin.params.tobytes()
    assert net.loss(X, Y) == pytest.approx(0.000035102, abs=5e-10)


@pytest.mark.parametrize("optimizer", [bp.SGD(momentum=0.9, nesterov=True, weight_decay=0.01),
                                       bp.Adam()], ids=repr)
def test_uses_the_networks_optimiser(bpembed, optimizer):
    X, Y = data(30, 4, 3, "uniform")
    net = bp.Network([4, 6, 3], seed=1)
    net.train(X, Y, epochs=1, lr=0.01, optimizer=optimizer)
    twin = net.copy()
    bpembed.train_online(net, X, Y, 3, 0.01)
    twin.train(X, Y, epochs=3, lr=0.01)
    assert net.params.tobytes() == twin.params.tobytes()


def test_predict_one_gives_network_predict(bpembed):
    X, _ = data(25, 4, 3, "uniform")
    net = bp.Network([4, 9, 3], activation=["tanh", "softmax"], loss="cross_entropy", seed=2)
    out = np.empty((25, 3))
    bpembed.predict(net, X, out)
    assert out.tobytes() == net.predict(X).tobytes()


def test_bad_arguments_are_refused_before_the_loop(bpembed):
    X, Y = data(10, 4, 3, "uniform")
    net = bp.Network([4, 6, 3], seed=1)
    before = net.params.copy()
    with pytest.raises(TypeError, match="expected a backprop.Network"):
        bpembed.train_online(object(), X, Y, 1, 0.1)
    with pytest.raises(ValueError, match="X needs 4 columns and Y 3"):
        bpembed.train_online(net, X[:, :3].copy(), Y, 1, 0.1)
    with pytest.raises(ValueError, match="same, non-zero number of rows"):
        bpembed.train_online(net, X, Y[:5], 1, 0.1)
    assert net.params.tobytes() == before.tobytes()


def test_divergence_is_reported_after_the_gil_is_back(bpembed):
    net = bp.Network.from_weights([np.full((1, 1), 1e300)], activation="identity")
    with pytest.raises(FloatingPointError, match="sample 0 of epoch 0 gave a non-finite loss"):
        bpembed.train_online(net, np.array([[1e10]]), np.array([[0.0]]), 2, 1.0)


def test_an_overflowing_update_is_reported_too(bpembed):
    # The loss is finite (0.5), the update w -= lr δ x overflows: bp_learn_one
    # says BP_NONFINITE_PARAMS instead of going on with an infinite weight.
    net = bp.Network.from_weights([np.zeros((1, 1))], activation="identity")
    with pytest.raises(FloatingPointError, match="made the parameters non-finite"):
        bpembed.train_online(net, np.array([[1e150]]), np.array([[1.0]]), 2, 1e200)
    assert np.isinf(net.weights[0][0, 0])


def test_python_training_is_refused_while_the_loop_holds_the_network(bpembed):
    import threading

    X, Y = data(2000, 30, 5, "uniform")
    net = bp.Network([30, 60, 5], seed=0)
    worker = threading.Thread(target=bpembed.train_online, args=(net, X, Y, 20, 0.01))
    worker.start()
    try:
        while not net._model.busy:      # until the loop holds the network
            pass
        with pytest.raises(RuntimeError, match="being trained already .by another thread"):
            net.train(X[:5], Y[:5])
        with pytest.raises(RuntimeError, match="being trained already .by another thread"):
            net.learn_one(X[0], Y[0])
    finally:
        worker.join()
    assert not net._model.busy
    net.train(X[:5], Y[:5])            # released afterwards


def test_a_float32_build_trains_float32_networks(bpembed32):
    X, Y = data(40, 4, 3, "uniform")
    X, Y = X.astype(np.float32), Y.astype(np.float32)
    net = bp.Network([4, 6, 3], seed=3, dtype="float32")
    twin = net.copy()
    losses = bpembed32.train_online(net, X, Y, 5, 0.05)
    hist = twin.train(X, Y, epochs=5, lr=0.05)
    assert net.params.tobytes() == twin.params.tobytes()
    assert np.array(losses).tobytes() == hist.loss.tobytes()
    out = np.empty((40, 3), dtype=np.float32)
    bpembed32.predict(net, X, out)
    assert out.tobytes() == net.predict(X).tobytes()
    # each build serves the networks of its own type
    with pytest.raises(TypeError, match="of dtype float32 .this core's., got one of dtype float64"):
        bpembed32.train_online(bp.Network([4, 6, 3]), X, Y, 1, 0.05)
