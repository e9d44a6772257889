"""Networks that grow: Network.add_inputs / add_outputs keep every existing
parameter and optimiser value bit-exactly, give the new units what the
docstrings promise (zero weights out of new inputs, init-drawn rows into new
outputs, zero optimiser state), survive save/load, copy and pickle, and are
refused while the network is held or given bad arguments."""
import copy
import math
import pickle

import numpy as np
import pytest

import backprop as bp

rng = np.random.default_rng(7)
X = rng.uniform(-1, 1, size=(30, 3))
Y = rng.uniform(0.1, 0.9, size=(30, 2))

OPTIMIZERS = [bp.SGD(), bp.SGD(momentum=0.9), bp.Adam()]
BIASES = ["neuron", "shared", "none"]


def trained(bias="neuron", optimizer=bp.Adam(), sizes=(3, 4, 2), activation="tanh", seed=0):
    net = bp.Network(list(sizes), activation=[activation, "logistic"], bias=bias, seed=seed)
    net.train(X[:, :sizes[0]], Y[:, :sizes[-1]], epochs=3, lr=0.05, optimizer=optimizer)
    return net


def vectors(net):
    """The flat vectors of the network's layout: parameters, optimiser state."""
    m = net._model
    return [v for v in (m.params, m.state1, m.state2) if v is not None]


def layers(vector, net):
    """Per layer (W matrix, biases) slices of a flat vector of net's layout."""
    w_off, b_off, n_bias = net._model.offsets
    out = []
    for l, (n_in, n_out) in enumerate(zip(net.sizes, net.sizes[1:])):
        out.append((vector[w_off[l]:w_off[l] + n_out * n_in].reshape(n_out, n_in),
                    vector[b_off[l]:b_off[l] + n_bias[l]]))
    return out


@pytest.mark.parametrize("bias", BIASES)
@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=["sgd", "momentum", "adam"])
def test_add_inputs_keeps_every_value_and_adds_zeros(bias, optimizer):
    net = trained(bias, optimizer)
    before = copy.deepcopy(net)
    old = [layers(v, before) for v in vectors(before)]
    counters = before._model.get_counters()
    net.add_inputs(2)
    assert net.sizes == (5, 4, 2)
    assert net.n_params == before.n_params + 2 * 4
    assert len(vectors(net)) == len(old)
    for old_layers, vector in zip(old, vectors(net)):
        new_layers = layers(vector, net)
        W0, b0 = new_layers[0]
        assert W0[:, :3].tobytes() == old_layers[0][0].tobytes()
        assert not W0[:, 3:].any()                 # weights and state out of new inputs: 0
        assert b0.tobytes() == old_layers[0][1].tobytes()
        for (W, b), (W_old, b_old) in zip(new_layers[1:], old_layers[1:]):
            assert W.tobytes() == W_old.tobytes() and b.tobytes() == b_old.tobytes()
    assert net._model.get_counters() == counters
    assert net.samples_seen == before.samples_seen and net.epochs_trained == before.epochs_trained
    assert net.optimizer == before.optimizer
    # the grown network computes what it did: new inputs carry no weight
    X5 = np.c_[X, rng.uniform(-1, 1, size=(30, 2))]
    np.testing.assert_allclose(net.predict(X5), before.predict(X), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=["sgd", "momentum", "adam"])
def test_grown_inputs_that_read_zero_train_as_the_original(optimizer):
    """Training a grown network on data whose new columns are 0 changes
    nothing about the new inputs (their gradient is 0), and the rest trains
    as the original network does."""
    net = trained(optimizer=optimizer)
    grown = copy.deepcopy(net)
    grown.add_inputs(3)
    net.train(X, Y, epochs=2, lr=0.05)
    grown.train(np.c_[X, np.zeros((30, 3))], Y, epochs=2, lr=0.05)
    for v, g in zip(vectors(net), vectors(grown)):
        (W0, b0), *rest = layers(v, net)
        (G0, c0), *grest = layers(g, grown)
        assert not G0[:, 3:].any()
        np.testing.assert_allclose(G0[:, :3], W0, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(c0, b0, rtol=1e-12, atol=1e-15)
        for (W, b), (G, c) in zip(rest, grest):
            np.testing.assert_allclose(G, W, rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(c, b, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("bias", BIASES)
@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=["sgd", "momentum", "adam"])
def test_add_outputs_keeps_every_value_and_draws_new_rows(bias, optimizer):
    net = trained(bias, optimizer)
    before = copy.deepcopy(net)
    old = [layers(v, before) for v in vectors(before)]
    generator = copy.deepcopy(net._rng)
    net.add_outputs(3)
    assert net.sizes == (3, 4, 5)
    assert len(vectors(net)) == len(old)
    for i, (old_layers, vector) in enumerate(zip(old, vectors(net))):
        (W0, b0), (W1, b1) = layers(vector, net)
        assert W0.tobytes() == old_layers[0][0].tobytes() and b0.tobytes() == old_layers[0][1].tobytes()
        assert W1[:2].tobytes() == old_layers[1][0].tobytes()
        assert b1[:old_layers[1][1].size].tobytes() == old_layers[1][1].tobytes()
        assert b1.size == {"neuron": 5, "shared": 1, "none": 0}[bias]
        assert not b1[old_layers[1][1].size:].any()      # new biases: 0
        if i == 0:
            # logistic outputs: Glorot uniform over the widened layer (4 in, 5 out),
            # drawn from the network's generator
            r = math.sqrt(6.0 / (4 + 5))
            expected = generator.uniform(-r, r, size=(3, 4))
            assert W1[2:].tobytes() == expected.tobytes()
        else:
            assert not W1[2:].any()                     # optimiser state of new rows: 0
    assert net._rng.bit_generator.state == generator.bit_generator.state
    # the old outputs are what they were (logistic units are independent)
    np.testing.assert_allclose(net.predict(X)[:, :2], before.predict(X), rtol=1e-13, atol=1e-15)


def test_add_outputs_draws_he_rows_for_relu_outputs():
    net = bp.Network([3, 4, 2], activation=["tanh", "relu"], seed=3)
    generator = copy.deepcopy(net._rng)
    net.add_outputs(2)
    r = math.sqrt(6.0 / 4)
    assert net.weights[1][2:].tobytes() == generator.uniform(-r, r, size=(2, 4)).tobytes()


def test_softmax_classifier_gains_a_class():
    labels = np.array(["a", "b", "c"])[np.arange(30) % 3]
    T, classes = bp.one_hot(labels)
    net = bp.Network([3, 5, 3], activation=["tanh", "softmax"], loss="cross_entropy", seed=1)
    net.classes = classes
    net.train(X, T, epochs=3, lr=0.1)
    logits_before = net.trace(X[0], T[0]).layers[-1].net.copy()
    net.add_outputs(1, classes=["d"])
    assert net.sizes == (3, 5, 4)
    assert net.classes.tolist() == ["a", "b", "c", "d"]
    logits = net.trace(X[0], np.r_[T[0], 0.0]).layers[-1].net
    assert logits[:3].tobytes() == logits_before.tobytes()
    p = net.predict(X)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-14)
    net.train(X, np.c_[T, np.zeros(30)], epochs=1, lr=0.1)       # trains at the new width


def test_classes_must_follow_the_outputs():
    net = bp.Network([3, 4, 3], activation=["tanh", "softmax"], loss="cross_entropy", seed=1)
    with pytest.raises(ValueError, match="classes"):
        net.add_outputs(1, classes=["x"])               # the network has no classes
    net.classes = ["a", "b", "c"]
    params = net.params.tobytes()
    for bad in (None, ["a"], ["d", "e"], [["d"]], [1]):
        with pytest.raises(ValueError, match="classes"):
            net.add_outputs(1, classes=bad)
    assert net.sizes == (3, 4, 3) and net.params.tobytes() == params
    assert net.classes.tolist() == ["a", "b", "c"]


def test_a_single_logistic_output_with_classes_is_not_grown():
    net = bp.Network([3, 4, 1], activation=["tanh", "logistic"], loss="cross_entropy", seed=1)
    net.classes = ["no", "yes"]
    with pytest.raises(ValueError, match="softmax"):
        net.add_outputs(1, classes=["maybe"])
    assert net.sizes == (3, 4, 1)
    # without classes a single logistic output becomes two independent ones
    net.classes = None
    before = net.predict(X)
    net.add_outputs(1)
    assert net.activations == ("tanh", "logistic")
    np.testing.assert_allclose(net.predict(X)[:, :1], before, rtol=1e-13, atol=1e-15)


def test_one_layer_network_grows_both_ways():
    net = bp.Network([3, 2], activation="logistic", seed=0)
    net.train(X, Y, epochs=2, lr=0.1, optimizer=bp.Adam())
    W, b = net.weights[0].copy(), net.biases[0].copy()
    net.add_inputs(1)
    net.add_outputs(1)
    assert net.sizes == (4, 3)
    assert net.weights[0][:2, :3].tobytes() == W.tobytes()
    assert not net.weights[0][:2, 3].any() and not net.biases[0][2:].any()
    assert net.biases[0][:2].tobytes() == b.tobytes()


def test_save_load_copy_and_pickle_carry_the_new_sizes(tmp_path):
    net = trained()
    net.add_inputs(2)
    net.add_outputs(1)
    path = tmp_path / "grown.npz"
    net.save(path)
    for other in (bp.load(path), net.copy(), pickle.loads(pickle.dumps(net))):
        assert other.sizes == (5, 4, 3)
        assert [v.tobytes() for v in vectors(other)] == [v.tobytes() for v in vectors(net)]
        assert other._model.get_counters() == net._model.get_counters()
        assert other.samples_seen == net.samples_seen
    # growing a loaded network is growing the network: same bits
    loaded = bp.load(path)
    for n in (net, loaded):
        n.add_inputs(1)
        n.add_outputs(2)
        n.train(np.c_[X, np.ones((30, 3))], np.c_[Y, np.full((30, 3), 0.5)], epochs=1, lr=0.05)
    assert [v.tobytes() for v in vectors(loaded)] == [v.tobytes() for v in vectors(net)]


def test_a_copy_is_independent_of_a_grown_original():
    net = trained()
    twin = net.copy()
    net.add_outputs(1)
    assert twin.sizes == (3, 4, 2)
    twin.train(X, Y, epochs=1)
    assert net.sizes == (3, 4, 3)


def test_streaming_after_growth():
    net = trained()
    net.add_inputs(1)
    net.add_outputs(1)
    loss = net.learn_one(np.r_[X[0], 0.5], np.r_[Y[0], 0.5], lr=0.1)
    assert np.isfinite(loss) and net.predict_one(np.r_[X[0], 0.5]).shape == (3,)
    with pytest.raises(ValueError, match="x must have 4 values"):
        net.learn_one(X[0], np.r_[Y[0], 0.5], lr=0.1)


def test_refused_while_training():
    net = trained()
    before = net.params.tobytes()
    seen = []

    def grow(epoch, history, network):
        for call in (lambda: network.add_inputs(1), lambda: network.add_outputs(1)):
            with pytest.raises(RuntimeError, match="being trained"):
                call()
        seen.append(network.sizes)

    net.train(X, Y, epochs=2, lr=0.0, callbacks=[grow])
    assert seen == [(3, 4, 2)] * 2 and net.sizes == (3, 4, 2)
    assert net.params.tobytes() == before


def test_refused_while_held():
    """As while an embedder holds the network (bp_acquire is this lock)."""
    net = trained()
    token = net._model.lock()
    with pytest.raises(RuntimeError):
        net.add_inputs(1)
    net._model.unlock(token)
    net.add_inputs(1)
    assert net.sizes == (4, 4, 2)


def test_views_from_before_a_resize_are_refused():
    net = trained()
    stale = net.weights
    net.add_inputs(1)
    with pytest.raises(RuntimeError):
        stale[0] = np.zeros((4, 3))
    assert net.weights[0][:, :3].any()


@pytest.mark.parametrize("method", ["add_inputs", "add_outputs"])
@pytest.mark.parametrize("k, error", [(0, ValueError), (-2, ValueError), (1.0, TypeError),
                                      ("2", TypeError), (True, TypeError), (None, TypeError)])
def test_bad_k(method, k, error):
    net = trained()
    before = net.params.tobytes()
    with pytest.raises(error, match=r"^k must"):
        getattr(net, method)(k)
    assert net.sizes == (3, 4, 2) and net.params.tobytes() == before


def test_numpy_integer_k():
    net = trained()
    net.add_inputs(np.int64(2))
    assert net.sizes == (5, 4, 2)


def test_the_optimizer_can_be_set_and_continues():
    """net.optimizer = ... is train(optimizer=...) without training: the same
    state rules, so learn_one after it uses the optimiser set."""
    a, b = trained(optimizer=bp.Adam()), trained(optimizer=bp.Adam())
    a.optimizer = bp.Adam(beta1=0.8)
    a.train(X, Y, epochs=1, lr=0.01)
    b.train(X, Y, epochs=1, lr=0.01, optimizer=bp.Adam(beta1=0.8))
    assert [v.tobytes() for v in vectors(a)] == [v.tobytes() for v in vectors(b)]
    a.optimizer = "sgd"
    assert a.optimizer == bp.SGD() and a._model.state1 is None
    with pytest.raises(ValueError, match="optimizer"):
        a.optimizer = "rmsprop"
    token = a._model.lock()
    with pytest.raises(RuntimeError):
        a.optimizer = "adam"
    a._model.unlock(token)
