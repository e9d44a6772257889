"""The worked example: Matt Mazur's "A Step by Step Backpropagation Example".

A 2-2-2 network of logistic units with squared error E = ½ Σ (t − o)², one
bias per layer (0.35 for the hidden layer, 0.60 for the output layer) that is
never updated, trained online with learning rate 0.5 on one sample: inputs
(0.05, 0.10), targets (0.01, 0.99).

Weight names follow the post's arithmetic::

    net_h1 = w1·i1 + w2·i2 + b1        net_o1 = w5·out_h1 + w6·out_h2 + b2
    net_h2 = w3·i1 + w4·i2 + b1        net_o2 = w7·out_h1 + w8·out_h2 + b2

so in backprop's layout (``W[j, i]`` from unit i below to unit j)
``W1 = [[w1, w2], [w3, w4]]`` and ``W2 = [[w5, w6], [w7, w8]]``.  (The post's
figure labels the connections differently, which has confused many readers;
its numbers use the mapping above.)
"""
from collections import OrderedDict

import numpy as np

from .network import Network

W1 = [[0.15, 0.20], [0.25, 0.30]]
W2 = [[0.40, 0.45], [0.50, 0.55]]
B1, B2 = 0.35, 0.60
INPUTS = (0.05, 0.10)
TARGETS = (0.01, 0.99)
LEARNING_RATE = 0.5


def mazur():
    """The worked example's network, sample and learning rate: ``(net, x, t, lr)``."""
    net = Network.from_weights(weights=[W1, W2], biases=[B1, B2], activation="logistic",
                               loss="squared", bias="shared", train_bias=False, seed=0)
    return net, np.array(INPUTS), np.array(TARGETS), LEARNING_RATE


def mazur_walkthrough():
    """Every quantity the post computes, in its order and notation, taken from
    the library's own trace of the first training step."""
    net, x, t, lr = mazur()
    tr = net.trace(x, t, lr=lr)
    hidden, output = tr.layers
    W2_old = output.weights
    v = OrderedDict()
    # The forward pass.
    for j, h in enumerate(("h1", "h2")):
        v[f"net_{h}"] = hidden.net[j]
        v[f"out_{h}"] = hidden.out[j]
    for k, o in enumerate(("o1", "o2")):
        v[f"net_{o}"] = output.net[k]
        v[f"out_{o}"] = output.out[k]
    # The total error.
    v["E_o1"] = tr.errors[0]
    v["E_o2"] = tr.errors[1]
    v["E_total"] = tr.error
    # The output layer: w5 (from h1 to o1) step by step, then all four.
    v["dE_total/dout_o1"] = output.d_out[0]
    v["dout_o1/dnet_o1"] = output.d_act[0]
    v["dnet_o1/dw5"] = output.input[0]
    v["dE_total/dw5"] = output.grad_weights[0, 0]
    v["delta_o1"] = output.delta[0]
    v["delta_o2"] = output.delta[1]
    for name, (k, j) in zip(("w5", "w6", "w7", "w8"), ((0, 0), (0, 1), (1, 0), (1, 1))):
        v[f"{name}+"] = output.new_weights[k, j]
    # The hidden layer: w1 (from i1 to h1) step by step, with the original
    # output weights, then all four.
    v["dE_o1/dnet_o1"] = output.delta[0]
    v["dnet_o1/dout_h1"] = W2_old[0, 0]
    v["dE_o1/dout_h1"] = output.delta[0] * W2_old[0, 0]
    v["dE_o2/dout_h1"] = output.delta[1] * W2_old[1, 0]
    v["dE_total/dout_h1"] = hidden.d_out[0]
    v["dout_h1/dnet_h1"] = hidden.d_act[0]
    v["dnet_h1/dw1"] = hidden.input[0]
    v["dE_total/dw1"] = hidden.grad_weights[0, 0]
    v["delta_h1"] = hidden.delta[0]
    v["delta_h2"] = hidden.delta[1]
    for name, (j, i) in zip(("w1", "w2", "w3", "w4"), ((0, 0), (0, 1), (1, 0), (1, 1))):
        v[f"{name}+"] = hidden.new_weights[j, i]
    v["E_total after 1 update"] = tr.error_after
    return OrderedDict((k, float(val)) for k, val in v.items())


def mazur_after(updates):
    """(E_total, out_o1, out_o2) after ``updates`` online updates."""
    net, x, t, lr = mazur()
    net.train(x, t, epochs=updates, lr=lr)
    o = net.predict(x)
    return net.loss(x, t), float(o[0]), float(o[1])


SECTIONS = (
    ("The forward pass", "net_h1"),
    ("The total error", "E_o1"),
    ("The backwards pass: output layer", "dE_total/dout_o1"),
    ("The backwards pass: hidden layer (with the original w5..w8)", "dE_o1/dnet_o1"),
    ("After the first update", "E_total after 1 update"),
)


def format_walkthrough(steps=10_000):
    """The walkthrough as text, each value to 9 decimals, followed by the state
    after ``steps`` updates (a value too small for 9 decimals to show four
    significant digits, as E_total after many updates, in scientific notation)."""
    values = mazur_walkthrough()
    starts = dict((key, title) for title, key in SECTIONS)
    lines = ["A Step by Step Backpropagation Example (Mazur), computed by backprop",
             "inputs i1, i2 = 0.05, 0.10   targets 0.01, 0.99   lr = 0.5",
             "W1 = [[w1, w2], [w3, w4]] = [[0.15, 0.20], [0.25, 0.30]]   b1 = 0.35 (shared, fixed)",
             "W2 = [[w5, w6], [w7, w8]] = [[0.40, 0.45], [0.50, 0.55]]   b2 = 0.60 (shared, fixed)"]
    for key, value in values.items():
        if key in starts:
            lines += ["", starts[key]]
        lines.append(f"  {key:<24} = {value:.9f}")
    E, o1, o2 = mazur_after(steps)
    lines += ["", f"After {steps} updates",
              f"  {'E_total':<24} = {_decimals_or_digits(E)}",
              f"  {'out_o1':<24} = {o1:.9f}   (target 0.01)",
              f"  {'out_o2':<24} = {o2:.9f}   (target 0.99)"]
    return "\n".join(lines)


def _decimals_or_digits(value):
    """``value`` to 9 decimals where that shows at least 4 significant digits,
    else to 6 significant digits in scientific notation."""
    return f"{value:.9f}" if abs(value) >= 1e-6 else f"{value:.5e}"
