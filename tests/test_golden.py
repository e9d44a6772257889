"""Same bits on every CPU and OS: a fixed set of training runs, hashed, against
golden hashes recorded on x86-64 (tests/golden_hashes.json).

Each configuration trains a small network and hashes (SHA-256) the bytes of
its parameters, its History, its predictions (also far into the saturated
range of every activation) and its loss.  The runs cover every activation,
loss and optimiser, online, mini-batch and full-batch training, every bias
policy with trainable and frozen biases, narrow networks (two-layer ones run
by the register loop of online training) and wide ones, a team of threads,
and the streaming path (learn_one, predict_one, trace), and float32 networks
(backprop._core32's builds) online, in mini-batches and wide.  BLAS is off: it
sums in its own order, and only the kernels' own loops promise the same bits.

The test runs every kernel build this machine has (baseline, x86-64-v3,
x86-64-v4), so it checks the builds of one machine against each other as well
as against the recording; tools/check_arm64.sh runs it on arm64.

The inputs are made with IEEE-754 basic operations only, each rounded once
(numpy's 53-bit uniform doubles, exact scalings by powers of two), so they are
the same bits wherever numpy runs, whatever its compiler fused or its libm
does.  One configuration draws its weights with ``Network(seed=...)``: the
same seed must give the same network everywhere too.

After a deliberate change of results, record new hashes with
``python tools/golden_hashes.py`` (on x86-64) and say why in the commit.
"""
import hashlib
import importlib.util
import json
import pathlib
import platform

import numpy as np
import pytest

import backprop as bp
from backprop import _core, _core32

CORES = (_core, _core32)

GOLDEN = pathlib.Path(__file__).resolve().parent / "golden_hashes.json"
N_SAMPLES = 24
EPOCHS = 3


def uniform(rng, shape, scale):
    """Values in [-scale, scale) for a power-of-two scale, every operation exact
    or rounded once."""
    return (rng.random(shape) * 2.0 - 1.0) * scale


def inputs_and_targets(rng, sizes, out_activation, loss):
    X = uniform(rng, (N_SAMPLES, sizes[0]), 2.0)
    if out_activation == "softmax":
        Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], N_SAMPLES)]
    elif loss == "cross_entropy":
        Y = rng.integers(0, 2, (N_SAMPLES, sizes[-1])).astype(float)
    else:
        Y = rng.random((N_SAMPLES, sizes[-1]))
    return X, Y


def network(rng, sizes, activation, loss, bias, train_bias, dtype="float64"):
    weights = [uniform(rng, (n_out, n_in), 0.5) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    biases = None
    if bias != "none":
        biases = [uniform(rng, (n_out if bias == "neuron" else 1,), 0.25) for n_out in sizes[1:]]
    return bp.Network.from_weights(weights, biases, activation=activation, loss=loss, bias=bias,
                                   train_bias=train_bias, seed=7, dtype=dtype)


def config(sizes, activation, loss="squared", optimizer=None, batch_size=1, bias="neuron",
           train_bias=True, lr=None, shuffle=True, seeded_init=False, dtype="float64"):
    return dict(sizes=sizes, activation=activation, loss=loss, optimizer=optimizer or bp.SGD(),
                batch_size=batch_size, bias=bias, train_bias=train_bias, lr=lr, shuffle=shuffle,
                seeded_init=seeded_init, dtype=dtype)


MOMENTUM = bp.SGD(momentum=0.9)
NESTEROV = bp.SGD(momentum=0.9, nesterov=True, weight_decay=0.01)
ADAM = bp.Adam()
ADAM_DECAY = bp.Adam(weight_decay=0.05, decay_bias=True)

# name -> configuration.  Odd widths leave remainders after the vector loops;
# widths of 4 and less take their loops' short paths.
CONFIGS = {
    # every activation, in a hidden and an output layer
    "logistic squared online": config([5, 9, 3], "logistic"),
    "tanh squared online momentum": config([6, 11, 4], "tanh", optimizer=MOMENTUM, lr=0.05),
    "relu huber minibatch": config([7, 13, 5], ["relu", "identity"], bp.Huber(0.5), batch_size=5),
    "leaky_relu squared nesterov": config([5, 10, 6], [bp.LeakyReLU(0.1), "leaky_relu"],
                                          optimizer=NESTEROV, lr=0.02),
    "identity huber adam": config([8, 7, 5], ["identity", "tanh"], "huber", optimizer=ADAM, lr=0.01),
    "softmax cross_entropy minibatch": config([9, 17, 6], ["tanh", "softmax"], "cross_entropy",
                                              batch_size=4),
    "logistic cross_entropy full batch adam": config([6, 12, 5], "logistic", "cross_entropy",
                                                     optimizer=ADAM_DECAY, batch_size=None, lr=0.01),
    "deep mixed minibatch momentum": config([10, 21, 15, 9, 7], ["relu", "tanh", "logistic", "softmax"],
                                            "cross_entropy", optimizer=MOMENTUM, batch_size=6, lr=0.05),
    "wide tanh huber nesterov minibatch": config([33, 40, 37], ["tanh", "identity"], bp.Huber(0.3),
                                                 optimizer=NESTEROV, batch_size=8, lr=0.01),
    # bias policies, trainable and frozen
    "shared bias online": config([5, 9, 5], "logistic", bias="shared"),
    "shared bias frozen minibatch": config([6, 8, 5], "tanh", bias="shared", train_bias=False,
                                           batch_size=3, optimizer=MOMENTUM, lr=0.05),
    "neuron bias frozen adam": config([5, 10, 6], ["relu", "logistic"], train_bias=False,
                                      optimizer=ADAM_DECAY, lr=0.01),
    "no bias minibatch nesterov": config([7, 9, 5], ["leaky_relu", "identity"], bias="none",
                                         optimizer=NESTEROV, batch_size=5, lr=0.02),
    "no bias full batch": config([5, 6, 5], "logistic", bias="none", batch_size=None, lr=0.5,
                                 shuffle=False),
    # narrow networks
    "narrow 2-2-2 shared online": config([2, 2, 2], "logistic", bias="shared", lr=0.5),
    "narrow softmax momentum": config([4, 3, 4, 3], ["tanh", "tanh", "softmax"], "cross_entropy",
                                      optimizer=MOMENTUM, lr=0.05),
    "narrow relu huber adam minibatch": config([3, 4, 3], "relu", bp.Huber(0.3), optimizer=ADAM,
                                               batch_size=5, lr=0.01),
    "narrow no bias full batch": config([4, 4, 1], ["logistic", "identity"], bias="none",
                                        batch_size=None, optimizer=bp.SGD(weight_decay=0.01)),
    "narrow three layers plain sgd": config([4, 3, 4, 2], ["leaky_relu", "relu", "logistic"], bias="none",
                                            lr=0.4, shuffle=False),
    "narrow frozen shared nesterov": config([3, 3, 2], [bp.LeakyReLU(0.2), "logistic"], "cross_entropy",
                                            bias="shared", train_bias=False, optimizer=NESTEROV,
                                            batch_size=4, lr=0.1),
    # weights drawn from the network's own seeded generator
    "seeded init minibatch": config([6, 14, 4], ["relu", "logistic"], batch_size=4, seeded_init=True),
    # float32 networks: rows of fewer than 16 and of 16 + a remainder (the
    # four-row forward), online, in mini-batches and in the register loop
    "float32 logistic squared online": config([5, 9, 3], "logistic", dtype="float32"),
    "float32 softmax cross_entropy minibatch adam": config(
        [9, 17, 6], ["tanh", "softmax"], "cross_entropy", optimizer=ADAM, batch_size=4, lr=0.01,
        dtype="float32"),
    "float32 wide relu online momentum": config([33, 40, 37], ["relu", "logistic"],
                                                optimizer=MOMENTUM, lr=0.01, dtype="float32"),
    "float32 wide tanh huber nesterov minibatch": config(
        [33, 40, 37], ["tanh", "identity"], bp.Huber(0.3), optimizer=NESTEROV, batch_size=8,
        lr=0.01, dtype="float32"),
    "float32 wide logistic online": config([40, 36, 20], "logistic", lr=0.1, dtype="float32"),
    "float32 narrow 2-2-2 shared online": config([2, 2, 2], "logistic", bias="shared", lr=0.5,
                                                 dtype="float32"),
    "float32 seeded init minibatch": config([6, 14, 4], ["relu", "logistic"], batch_size=4,
                                            seeded_init=True, dtype="float32"),
}

# Mini-batch configurations that also run with a team of threads (the same bits).
THREADED = [name for name, c in CONFIGS.items() if c["batch_size"] != 1]


def build(name):
    c = CONFIGS[name]
    rng = np.random.default_rng(list(CONFIGS).index(name))
    if c["seeded_init"]:
        net = bp.Network(c["sizes"], activation=c["activation"], loss=c["loss"], bias=c["bias"],
                         train_bias=c["train_bias"], seed=11, dtype=c["dtype"])
    else:
        net = network(rng, c["sizes"], c["activation"], c["loss"], c["bias"], c["train_bias"],
                      c["dtype"])
    out_activation = net.activations[-1]
    X, Y = inputs_and_targets(rng, c["sizes"], out_activation, c["loss"])
    return net, X, Y


def digest(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype="<f8").tobytes())
    return h.hexdigest()


def train_run(name, threads=1):
    """Digests of one configuration's training run."""
    c = CONFIGS[name]
    net, X, Y = build(name)
    hist = net.train(X, Y, epochs=EPOCHS, lr=c["lr"], batch_size=c["batch_size"],
                     optimizer=c["optimizer"], shuffle=c["shuffle"], seed=3, threads=threads)
    # Saturation: net inputs far beyond every cutoff of the activations' formulas.
    far = np.concatenate([X * s for s in (16.0, 256.0, 4096.0)])
    return {"params": digest(net.params), "history": digest(hist.loss),
            "predict": digest(net.predict(X), net.predict(far)),
            "loss": digest(np.array([net.loss(X, Y)]))}


def streaming_run():
    """Digests of the single-sample path: learn_one, predict_one and trace."""
    rng = np.random.default_rng(100)
    sizes = [6, 11, 4]
    net = network(rng, sizes, ["tanh", "logistic"], "cross_entropy", "neuron", True)
    X, Y = inputs_and_targets(rng, sizes, "logistic", "cross_entropy")
    net.train(X, Y, epochs=1, lr=0.1, optimizer=MOMENTUM)
    losses = [net.learn_one(x, y, lr=0.1) for _ in range(EPOCHS) for x, y in zip(X, Y)]
    outputs = [net.predict_one(x) for x in X]
    tr = net.trace(X[0], Y[0], lr=0.1)
    layers = [a for layer in tr.layers for a in (layer.net, layer.out, layer.d_out, layer.delta,
                                                  layer.grad_weights, layer.grad_biases,
                                                  layer.new_weights, layer.new_biases)]
    return {"params": digest(net.params), "history": digest(np.array(losses)),
            "predict": digest(*outputs), "loss": digest(np.array([tr.error, tr.error_after]), *layers)}


STREAMING = "streaming learn_one predict_one trace"


def all_runs():
    runs = {name: train_run(name) for name in CONFIGS}
    runs[STREAMING] = streaming_run()
    return runs


def golden():
    return json.loads(GOLDEN.read_text())


def mismatches(found, expected):
    return [f"{name}: {part}" for name in sorted(set(found) | set(expected))
            for part in sorted(set(found.get(name, {})) | set(expected.get(name, {})))
            if found.get(name, {}).get(part) != expected.get(name, {}).get(part)]


def use_kernels(name):
    """The named kernel build in both cores (float64 and float32)."""
    for core in CORES:
        core.use_kernels(name)


@pytest.fixture
def own_loops():
    """BLAS off, the kernel builds restored afterwards."""
    saved = [(core.blas_in_use(), core.active_kernels()) for core in CORES]
    for core in CORES:
        core.use_blas(False)
    yield
    for core, (blas, kernels) in zip(CORES, saved):
        core.use_blas(blas)
        core.use_kernels(kernels)


def test_the_installation_holds_the_kernel_builds_of_its_architecture():
    # What setup.py builds: the baseline (in _core) everywhere, the
    # x86-64-v3/v4 builds on x86-64 only, where the CPU's level picks among
    # them.  On arm64 the baseline is all there is.
    x86 = platform.machine().lower() in ("x86_64", "amd64")
    for module, _ in _core.KERNEL_VARIANTS.values():
        assert (importlib.util.find_spec(module) is not None) == x86, module
    assert (_core.cpu_level() > 0) == x86


def test_golden_file_lists_every_configuration():
    assert set(golden()["runs"]) == set(CONFIGS) | {STREAMING}


@pytest.mark.parametrize("kernels", _core.available_kernels())
def test_training_gives_the_golden_bits(kernels, own_loops):
    use_kernels(kernels)
    bad = mismatches(all_runs(), golden()["runs"])
    assert not bad, f"{len(bad)} digests differ from {GOLDEN.name} ({golden()['recorded_on']}): {bad}"


@pytest.mark.parametrize("kernels", _core.available_kernels())
def test_a_team_of_threads_gives_the_golden_bits(kernels, own_loops):
    use_kernels(kernels)
    expected = golden()["runs"]
    bad = mismatches({name: train_run(name, threads=2) for name in THREADED},
                     {name: expected[name] for name in THREADED})
    assert not bad, f"threads=2: {bad}"
