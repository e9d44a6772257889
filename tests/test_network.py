"""The Network API: views, shapes, conversions, copies, initialisation, seeds."""
import copy

import numpy as np
import pytest

import backprop as bp


def test_views_share_memory_with_the_flat_vector():
    net = bp.Network([3, 4, 2], seed=0)
    assert net.params.shape == (3 * 4 + 4 + 4 * 2 + 2,)
    assert net.params.ctypes.data % 64 == 0
    for W, b in zip(net.weights, net.biases):
        assert np.shares_memory(W, net.params) and np.shares_memory(b, net.params)
    net.weights[1][1, 3] = 42.0
    assert net.params[3 * 4 + 4 + 1 * 4 + 3] == 42.0
    net.params[3 * 4] = -7.0          # first bias of layer 0 follows W0
    assert net.biases[0][0] == -7.0


@pytest.mark.parametrize("bias,count", [("neuron", 4), ("shared", 1), ("none", 0)])
def test_bias_policy_layout(bias, count):
    net = bp.Network([3, 4, 2], bias=bias, seed=0)
    assert [b.shape for b in net.biases] == [(count,), (min(count, 2) if bias != "shared" else 1,)]
    assert net.n_params == 12 + 8 + len(net.biases[0]) + len(net.biases[1])


def test_predict_shapes_and_one_sample():
    net = bp.Network([3, 5, 2], seed=0)
    X = np.arange(12.0).reshape(4, 3) / 10
    out = net.predict(X)
    assert out.shape == (4, 2)
    np.testing.assert_array_equal(net.predict(X[2]), out[2])
    np.testing.assert_array_equal(net.predict_one(X[2]), out[2])


def test_inputs_are_converted_not_rejected():
    net = bp.Network([3, 5, 2], seed=0)
    X = np.arange(12.0).reshape(4, 3)
    ref = net.predict(X)
    fortran = np.asfortranarray(X)
    readonly = X.copy()
    readonly.setflags(write=False)
    for variant in (X.tolist(), fortran, readonly, X.astype(np.int64), X.astype(np.float32),
                    X[:, ::-1][:, ::-1], np.arange(24.0).reshape(4, 6)[:, ::2] * 0 + X):
        np.testing.assert_array_equal(net.predict(variant), ref)
    Y = np.ones((4, 2), dtype=int)
    assert net.loss(fortran, Y) == net.loss(X, Y.astype(float))
    net.train(readonly, Y.tolist(), epochs=1, lr=0.1)


def test_loss_is_mean_of_per_sample_half_squared_error():
    net = bp.Network([2, 3, 2], seed=1)
    X = np.array([[0.1, 0.2], [0.3, -0.4], [1.0, 0.5]])
    Y = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    O = net.predict(X)
    assert net.loss(X, Y) == pytest.approx(np.mean(0.5 * np.sum((Y - O) ** 2, axis=1)), rel=1e-15)


def test_same_seed_same_bits_different_seed_different():
    a = bp.Network([5, 7, 3], seed=42)
    b = bp.Network([5, 7, 3], seed=42)
    c = bp.Network([5, 7, 3], seed=43)
    assert a.params.tobytes() == b.params.tobytes()
    assert a.params.tobytes() != c.params.tobytes()
    X = np.random.default_rng(0).normal(size=(20, 5))
    Y = np.random.default_rng(1).uniform(size=(20, 3))
    a.train(X, Y, epochs=3, shuffle=True)
    b.train(X, Y, epochs=3, shuffle=True)
    assert a.params.tobytes() == b.params.tobytes()


def test_unseeded_networks_record_their_seed():
    a = bp.Network([4, 3, 2])
    b = bp.Network([4, 3, 2], seed=a.seed)
    assert a.params.tobytes() == b.params.tobytes()
    assert bp.Network([4, 3, 2]).seed != a.seed


@pytest.mark.parametrize("init,activation,check", [
    (None, "logistic", lambda W, fi, fo: np.abs(W).max() <= np.sqrt(6 / (fi + fo))),
    (None, "relu", lambda W, fi, fo: np.abs(W).max() <= np.sqrt(6 / fi)),
    ("glorot_normal", "tanh", lambda W, fi, fo: abs(W.std() / np.sqrt(2 / (fi + fo)) - 1) < 0.05),
    ("he_normal", "relu", lambda W, fi, fo: abs(W.std() / np.sqrt(2 / fi) - 1) < 0.05),
    ("he", "tanh", lambda W, fi, fo: abs(np.abs(W).max() / np.sqrt(6 / fi) - 1) < 0.01),
    (bp.Uniform(0.05), "logistic", lambda W, fi, fo: abs(np.abs(W).max() / 0.05 - 1) < 0.01),
])
def test_initialisation_schemes_are_signed_and_scaled(init, activation, check):
    net = bp.Network([300, 200, 100], activation=activation, init=init, seed=3)
    for W in net.weights:
        assert (W < 0).mean() == pytest.approx(0.5, abs=0.02)
        assert abs(W.mean()) < 0.01 * np.abs(W).max()
        assert check(W, W.shape[1], W.shape[0])
    assert all((b == 0).all() for b in net.biases)


def test_from_weights_copies_and_infers_sizes():
    W = [np.ones((3, 2)), np.full((1, 3), 2.0)]
    net = bp.Network.from_weights(W, [np.zeros(3), [0.5]], activation=["tanh", "identity"])
    assert net.sizes == (2, 3, 1)
    W[0][0, 0] = 9.0
    assert net.weights[0][0, 0] == 1.0
    assert net.predict([0.0, 0.0])[0] == 0.5
    shared = bp.Network.from_weights(W, [0.1, 0.2], bias="shared")
    assert [b.tolist() for b in shared.biases] == [[0.1], [0.2]]
    none = bp.Network.from_weights(W, bias="none")
    assert none.n_params == 9


def test_copy_is_independent_and_identical():
    net = bp.Network([3, 4, 2], seed=0)
    X = np.random.default_rng(0).uniform(size=(10, 3))
    Y = np.random.default_rng(1).uniform(size=(10, 2))
    net.train(X, Y, epochs=2, optimizer=bp.SGD(momentum=0.9), shuffle=True)
    for twin in (net.copy(), copy.deepcopy(net)):
        assert twin.params.tobytes() == net.params.tobytes()
        twin.weights[0][0, 0] += 1
        assert twin.params.tobytes() != net.params.tobytes()
    a, b = net.copy(), net.copy()
    a.train(X, Y, epochs=2, shuffle=True)
    b.train(X, Y, epochs=2, shuffle=True)
    assert a.params.tobytes() == b.params.tobytes()
    assert net.epochs_trained == 2 and a.epochs_trained == 4


def test_trace_leaves_the_network_unchanged():
    net = bp.Network([3, 4, 2], seed=0)
    net.train(np.ones((2, 3)), np.zeros((2, 2)), epochs=1, optimizer=bp.Adam())
    before = net.params.copy()
    tr = net.trace([0.1, 0.2, 0.3], [0.0, 1.0])
    assert net.params.tobytes() == before.tobytes()
    assert tr.error > tr.error_after
    twin = net.copy()
    twin.learn_one(np.array([0.1, 0.2, 0.3]), np.array([0.0, 1.0]), lr=net.optimizer.default_lr)
    for l, layer in enumerate(tr.layers):
        np.testing.assert_array_equal(layer.new_weights, twin.weights[l])
        np.testing.assert_array_equal(layer.new_biases, twin.biases[l])
        np.testing.assert_array_equal(layer.weights, net.weights[l])


def test_trace_fields_are_consistent():
    net = bp.Network([3, 4, 2], activation=["tanh", "logistic"], seed=0)
    x, t = np.array([0.5, -0.2, 0.1]), np.array([0.2, 0.7])
    tr = net.trace(x, t, lr=0.3)
    hidden, out = tr.layers
    np.testing.assert_array_equal(hidden.input, x)
    np.testing.assert_array_equal(out.input, hidden.out)
    np.testing.assert_allclose(hidden.net, net.weights[0] @ x + net.biases[0], rtol=1e-15)
    np.testing.assert_allclose(out.d_out, out.out - t, rtol=1e-15)
    np.testing.assert_allclose(out.d_act, out.out * (1 - out.out), rtol=1e-15)
    np.testing.assert_allclose(out.delta, out.d_out * out.d_act, rtol=1e-15)
    np.testing.assert_allclose(hidden.d_out, net.weights[1].T @ out.delta, rtol=1e-14)
    np.testing.assert_allclose(hidden.d_act, 1 - hidden.out ** 2, rtol=1e-15)
    np.testing.assert_allclose(out.grad_weights, np.outer(out.delta, hidden.out), rtol=1e-15)
    np.testing.assert_allclose(out.new_weights, out.weights - 0.3 * out.grad_weights, rtol=1e-14)
    np.testing.assert_allclose(tr.errors, 0.5 * (t - out.out) ** 2, rtol=1e-15)
    assert tr.error == pytest.approx(tr.errors.sum(), rel=1e-15)
    np.testing.assert_array_equal(tr.output, out.out)
    soft = bp.Network([3, 4, 2], activation=["tanh", "softmax"], loss="cross_entropy", seed=0)
    assert soft.trace(x, [0.0, 1.0]).layers[1].d_act is None


def test_learn_one_is_one_online_step():
    net = bp.Network([3, 4, 2], seed=0)
    twin = net.copy()
    x, t = np.array([0.5, -0.2, 0.1]), np.array([0.2, 0.7])
    E = net.learn_one(x, t, lr=0.2)
    hist = twin.train(x, t, epochs=1, lr=0.2)
    assert E == hist.loss[0]
    assert net.params.tobytes() == twin.params.tobytes()
    assert net.samples_seen == 1
    assert net.learn_one([0.5, -0.2, 0.1], [0.2, 0.7], lr=0.2) < E


def test_repr_names_the_configuration():
    assert repr(bp.Network([2, 3, 1], activation=["relu", "logistic"], seed=0)) == (
        "Network([2, 3, 1], activation=['relu', 'logistic'], loss='squared', bias='neuron', train_bias=True)")


@pytest.mark.parametrize("n", [1, 7, 8, 9, 42, 1000])
def test_compiled_buffers_own_their_cache_lines(n):
    # Parameters and workspaces start on a 64-byte line and share no line with
    # any other allocation, so networks in parallel threads never false-share.
    v = bp._core.aligned_zeros(n)
    assert v.shape == (n,) and v.ctypes.data % 64 == 0 and not v.any()
    end = v.ctypes.data + 8 * n
    assert v.base.ctypes.data + v.base.nbytes >= end + (-end % 64)
    model = bp.Network([n, 3, 2], seed=0)._model
    assert all(a.ctypes.data % 64 == 0 for a in model._work_arrays)
