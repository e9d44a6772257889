"""Network.train(sample_weight=...): weighted mini-batch steps in the compiled
core (used by backprop.sklearn for scikit-learn's sample weights)."""
import numpy as np
import pytest

import backprop as bp


def make_net():
    return bp.Network([4, 6, 3], activation=["tanh", "softmax"], loss="cross_entropy", seed=1)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(50, 4)), np.eye(3)[rng.integers(0, 3, 50)]


OPTIMIZERS = [bp.SGD(), bp.SGD(momentum=0.9, weight_decay=0.01), bp.SGD(momentum=0.5, nesterov=True),
              bp.Adam(weight_decay=0.01)]


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=repr)
def test_unit_weights_change_no_bit(data, optimizer, shuffle):
    X, Y = data
    a, b = make_net(), make_net()
    ha = a.train(X, Y, epochs=3, lr=0.1, batch_size=8, optimizer=optimizer, shuffle=shuffle, seed=3)
    hb = b.train(X, Y, epochs=3, lr=0.1, batch_size=8, optimizer=optimizer, shuffle=shuffle, seed=3,
                 sample_weight=np.ones(50))
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(ha.loss, hb.loss)


@pytest.mark.parametrize("optimizer", [bp.SGD(momentum=0.5), bp.Adam()], ids=repr)
def test_integer_weights_are_repeated_samples_in_one_batch(data, optimizer):
    """Full batch, no weight decay: weight w_i is sample i taken w_i times
    (the weighted mean gradient is the mean over the repeated batch)."""
    X, Y = data
    w = np.random.default_rng(2).integers(0, 4, 50)
    a, b = make_net(), make_net()
    ha = a.train(X, Y, epochs=5, lr=0.05, batch_size=None, optimizer=optimizer,
                 sample_weight=w.astype(float))
    hb = b.train(np.repeat(X, w, axis=0), np.repeat(Y, w, axis=0), epochs=5, lr=0.05,
                 batch_size=None, optimizer=optimizer)
    np.testing.assert_allclose(a.params, b.params, rtol=0, atol=1e-13)
    # each sample's loss counts w_i / mean(w) times: the mean is the repeated batch's
    np.testing.assert_allclose(ha.loss, hb.loss, rtol=1e-12)


def test_a_weighted_step_against_numpy(data):
    """One batch step of plain SGD with weight decay, by hand: the gradient of
    mean_i w_i E_i + ½ λ ‖W‖², divided by the mean weight."""
    X, Y = data
    w = np.random.default_rng(3).uniform(0.1, 2.0, 10)
    net = bp.Network([4, 3], activation="softmax", loss="cross_entropy", seed=0)
    W0, b0 = net.weights[0].copy(), net.biases[0].copy()
    lr, lam = 0.3, 0.05
    net.train(X[:10], Y[:10], lr=lr, batch_size=10, optimizer=bp.SGD(weight_decay=lam),
              sample_weight=w)
    Z = X[:10] @ W0.T + b0
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    D = (P - Y[:10]) * w[:, None]
    w_mean = w.mean()
    gW = (D.T @ X[:10] / 10 + lam * W0) / w_mean
    gb = D.sum(axis=0) / 10 / w_mean
    np.testing.assert_allclose(net.weights[0], W0 - lr * gW, rtol=0, atol=1e-14)
    np.testing.assert_allclose(net.biases[0], b0 - lr * gb, rtol=0, atol=1e-14)


def test_threads_and_shuffle_with_weights(data):
    X, Y = data
    w = np.random.default_rng(4).uniform(0.5, 2.0, 50)
    a, b = make_net(), make_net()
    a.train(X, Y, epochs=2, lr=0.1, batch_size=8, shuffle=True, seed=5, sample_weight=w, threads=2)
    b.train(X, Y, epochs=2, lr=0.1, batch_size=8, shuffle=True, seed=5, sample_weight=w)
    np.testing.assert_allclose(a.params, b.params, rtol=0, atol=1e-14)
    # the weights follow their samples through the shuffle: a weighted run differs
    c = make_net()
    c.train(X, Y, epochs=2, lr=0.1, batch_size=8, shuffle=True, seed=5, sample_weight=w[::-1])
    assert np.max(np.abs(c.params - b.params)) > 1e-6


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(sample_weight=np.ones(49)), ValueError, r"shape \(50,\)"),
    (dict(sample_weight=-np.ones(50)), ValueError, ">= 0"),
    (dict(sample_weight=np.full(50, np.nan)), ValueError, "sample_weight"),
    (dict(sample_weight=np.ones(50), batch_size=1), ValueError, "batch_size > 1"),
    (dict(sample_weight=np.r_[np.zeros(10), np.ones(40)]), ValueError, "batch 0"),
    (dict(sample_weight=np.r_[0.0, np.ones(49)], shuffle=True), ValueError, "positive"),
    (dict(sample_weight="heavy"), TypeError, "sample_weight"),
    (dict(sample_weight=np.ones(50), validation_split=0.2), ValueError, "validation_split"),
])
def test_bad_weights_are_refused_before_training(data, kwargs, error, match):
    X, Y = data
    net = make_net()
    before = net.params.copy()
    kwargs = {"batch_size": 10, **kwargs}
    with pytest.raises(error, match=match):
        net.train(X, Y, lr=0.1, **kwargs)
    np.testing.assert_array_equal(net.params, before)
