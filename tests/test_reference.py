"""The compiled core against the independent NumPy reference (tests/reference.py):
every activation, loss, optimiser, batch size and bias policy, after many steps."""
import itertools

import numpy as np
import pytest

import backprop as bp

from reference import permutations, reference_for

HIDDEN = ["logistic", "tanh", "relu", "leaky_relu", "identity"]
OUTPUT = HIDDEN + ["softmax"]
LOSSES = ["squared", "cross_entropy", "huber"]
OPTIMIZERS = {
    "sgd": (bp.SGD(), {}),
    "momentum": (bp.SGD(momentum=0.9), {"momentum": 0.9}),
    "nesterov": (bp.SGD(momentum=0.8, nesterov=True, weight_decay=0.01),
                 {"momentum": 0.8, "nesterov": True, "weight_decay": 0.01}),
    "decay_bias": (bp.SGD(weight_decay=0.05, decay_bias=True), {"weight_decay": 0.05, "decay_bias": True}),
    "adam": (bp.Adam(beta1=0.8, beta2=0.99, weight_decay=0.01),
             {"opt": "adam", "beta1": 0.8, "beta2": 0.99, "weight_decay": 0.01}),
}
BATCHES = [1, 4, None]
BIASES = [("neuron", True), ("shared", True), ("none", True), ("neuron", False)]
SIZES = [3, 5, 4, 3]


def valid(out, loss):
    return loss != "cross_entropy" or out in ("logistic", "softmax")


def data(loss, out, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(10, SIZES[0]))
    if out == "softmax" and loss == "cross_entropy":
        Y = np.eye(SIZES[-1])[rng.integers(0, SIZES[-1], 10)]
    else:
        Y = rng.uniform(0.05, 0.95, size=(10, SIZES[-1]))
    return X, Y


def activations(hidden, out):
    acts = [hidden, "tanh" if hidden != "tanh" else "logistic", out]
    return [bp.LeakyReLU(0.2) if a == "leaky_relu" else a for a in acts]


def compare(net, ref, hist, ref_hist, rtol=1e-12, skip_biases=()):
    for l, (W, b) in enumerate(zip(net.weights, net.biases)):
        np.testing.assert_allclose(W, ref.W[l], rtol=rtol, atol=1e-14, err_msg=f"weights[{l}]")
        if l not in skip_biases:
            np.testing.assert_allclose(b, ref.b[l], rtol=rtol, atol=1e-14, err_msg=f"biases[{l}]")
    np.testing.assert_allclose(hist.loss, ref_hist, rtol=rtol, atol=1e-15)


COMBOS = [(h, o, l) for h, o, l in itertools.product(HIDDEN, OUTPUT, LOSSES) if valid(o, l)]


@pytest.mark.parametrize("hidden,out,loss", COMBOS)
@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_core_agrees_with_reference(hidden, out, loss, opt):
    """For each activation/loss/optimiser combination, every batch size and bias
    policy: 3 epochs (30 samples) with shuffling, parameters to rtol 1e-12."""
    optimizer, ref_opt = OPTIMIZERS[opt]
    lr = 0.005 if opt == "adam" else 0.05
    for (bias, train_bias), batch in itertools.product(BIASES, BATCHES):
        X, Y = data(loss, out, seed=len(hidden) + len(out))
        net = bp.Network(SIZES, activation=activations(hidden, out), loss=loss, bias=bias,
                         train_bias=train_bias, seed=7)
        if bias != "none":
            for b in net.biases:
                b[...] = np.linspace(-0.2, 0.3, b.size)
        ref = reference_for(net, **ref_opt)
        hist = net.train(X, Y, epochs=3, lr=lr, batch_size=batch, optimizer=optimizer,
                         shuffle=True, seed=11)
        ref_hist = ref.train(X, Y, 3, lr, batch_size=batch, orders=permutations(11, 3, len(X)))
        # A bias shared by all units of a softmax layer has gradient Σ_k δ_k = 0
        # exactly in real arithmetic (softmax ignores a common shift), so in
        # floating point it is rounding noise; Adam normalises that noise to
        # steps of size lr, which two implementations cannot share.
        noise_only = (len(SIZES) - 2,) if (out, bias, opt) == ("softmax", "shared", "adam") else ()
        compare(net, ref, hist, ref_hist, skip_biases=noise_only)


@pytest.mark.parametrize("bias,train_bias", BIASES)
def test_many_epochs_on_a_deeper_network(bias, train_bias):
    rng = np.random.default_rng(3)
    sizes = [6, 9, 7, 5, 4]
    X = rng.uniform(size=(40, 6))
    Y = rng.uniform(size=(40, 4))
    net = bp.Network(sizes, activation="logistic", bias=bias, train_bias=train_bias, seed=5)
    ref = reference_for(net)
    hist = net.train(X, Y, epochs=25, lr=0.5)
    compare(net, ref, hist, ref.train(X, Y, 25, 0.5))


def test_schedule_agrees_with_reference():
    X, Y = data("squared", "logistic", 0)
    schedule = bp.StepDecay(0.2, step_size=2, gamma=0.5)
    net = bp.Network(SIZES, seed=1)
    ref = reference_for(net, momentum=0.5)
    hist = net.train(X, Y, epochs=5, lr=schedule, optimizer=bp.SGD(momentum=0.5))
    compare(net, ref, hist, ref.train(X, Y, 5, schedule))
    np.testing.assert_array_equal(hist.lr, [0.2, 0.2, 0.1, 0.1, 0.05])


def test_loss_and_predict_agree_with_reference():
    for out, loss in [("logistic", "cross_entropy"), ("softmax", "cross_entropy"),
                      ("identity", "huber"), ("tanh", "squared")]:
        X, Y = data(loss, out, 1)
        net = bp.Network(SIZES, activation=["relu", "tanh", out], loss=loss, seed=2)
        ref = reference_for(net)
        assert net.loss(X, Y) == pytest.approx(ref.loss_of(X, Y), rel=1e-13)
        np.testing.assert_allclose(net.predict(X), [ref.forward(x)[1][-1] for x in X], rtol=1e-13)


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("blas", [True, False])
@pytest.mark.parametrize("optimizer,ref_opt", [(bp.SGD(), {}), (bp.Adam(), {"opt": "adam"})])
def test_large_mini_batches_agree_with_reference(blas, optimizer, ref_opt, threads):
    """Matrix products big enough for BLAS (when SciPy is there) or the own
    loops, by one thread or shared among a team."""
    from backprop import _core

    used = _core.blas_in_use()
    try:
        _core.use_blas(blas)
        rng = np.random.default_rng(4)
        X = rng.uniform(size=(100, 40))
        Y = np.eye(12)[rng.integers(0, 12, 100)]
        net = bp.Network([40, 60, 30, 12], activation=["relu", "tanh", "softmax"], loss="cross_entropy",
                         seed=3)
        ref = reference_for(net, **ref_opt)
        lr = 0.01 if ref_opt else 0.1
        hist = net.train(X, Y, epochs=3, lr=lr, batch_size=32, optimizer=optimizer, shuffle=True, seed=9,
                         threads=threads)
        compare(net, ref, hist, ref.train(X, Y, 3, lr, batch_size=32, orders=permutations(9, 3, 100)))
    finally:
        _core.use_blas(used)
