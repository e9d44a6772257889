"""Central-difference checks of the gradients the core computes (via trace)
against the loss it computes, for every activation and loss pair."""
import itertools

import numpy as np
import pytest

import backprop as bp

ACTS = ["logistic", "tanh", "relu", "leaky_relu", "identity", "softmax"]
PAIRS = [(a, l) for a, l in itertools.product(ACTS, ["squared", "cross_entropy", "huber"])
         if l != "cross_entropy" or a in ("logistic", "softmax")]


def numeric_gradient(net, x, t, h=1e-6):
    p = net.params
    g = np.empty_like(p)
    for i in range(p.size):
        keep = p[i]
        p[i] = keep + h
        up = net.loss(x, t)
        p[i] = keep - h
        down = net.loss(x, t)
        p[i] = keep
        g[i] = (up - down) / (2 * h)
    return g


def traced_gradient(net, x, t):
    tr = net.trace(x, t, lr=0.1)
    parts = []
    for layer in tr.layers:
        parts += [layer.grad_weights.ravel(), layer.grad_biases]
    return np.concatenate(parts)


@pytest.mark.parametrize("out,loss", PAIRS)
@pytest.mark.parametrize("hidden", ["logistic", "tanh", "relu", bp.LeakyReLU(0.1), "identity"],
                         ids=["logistic", "tanh", "relu", "leaky_relu", "identity"])
@pytest.mark.parametrize("bias", ["neuron", "shared", "none"])
def test_gradient_matches_central_differences(hidden, out, loss, bias):
    act = [hidden, hidden, bp.LeakyReLU(0.3) if out == "leaky_relu" else out]
    if loss == "huber":
        loss = bp.Huber(0.3)    # small enough that some outputs are past the threshold
    rng = np.random.default_rng(0)
    for attempt in range(20):
        net = bp.Network([4, 5, 4, 3], activation=act, loss=loss, bias=bias, seed=attempt)
        for b in net.biases:
            b[...] = rng.uniform(-0.5, 0.5, b.size)
        x = rng.normal(size=4)
        t = rng.dirichlet(np.ones(3)) if out == "softmax" else rng.uniform(size=3)
        tr = net.trace(x, t)
        # Kinks (ReLU at 0, Huber at |r| = delta) break central differences,
        # and a ReLU output layer can be dead for a draw: draw again until every
        # unit is clearly on one side and the gradient is not identically zero.
        kink = min(np.abs(layer.net).min() for layer in tr.layers)
        r = np.abs(np.abs(tr.output - t) - 0.3) if isinstance(loss, bp.Huber) else np.inf
        analytic = traced_gradient(net, x, t)
        if kink > 1e-3 and np.min(r) > 1e-3 and np.abs(analytic).max() > 1e-3:
            break
    numeric = numeric_gradient(net, x, t)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)
    assert np.abs(analytic).max() > 1e-3      # a real gradient, not all zeros
