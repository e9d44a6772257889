"""Pure Python: lists of floats and loops, online updates only."""
import math
import platform
import time
from operator import mul

import numpy as np

import workloads
from peers import Row

# Measured on the development machine: ~17 ms per 784-256-10 sample.
TOO_SLOW = {
    "W2": "too slow: ~17 ms per sample in interpreted loops, ~6 min for W2",
    "W3": "too slow: ~17 ms per sample in interpreted loops, ~30 min for W3",
}


def probe():
    return f"CPython {platform.python_version()}"


def rows(wl):
    return [Row("python", "python", "pure Python loops", skip=TOO_SLOW.get(wl.name, ""))]


def _logistic(zs):
    return [1.0 / (1.0 + math.exp(-z)) for z in zs]


def _softmax(zs):
    m = max(zs)
    es = [math.exp(z - m) for z in zs]
    s = sum(es)
    return [e / s for e in es]


ACTIVATIONS = {
    "logistic": _logistic,
    "tanh": lambda zs: [math.tanh(z) for z in zs],
    "relu": lambda zs: [z if z > 0.0 else 0.0 for z in zs],
    "softmax": _softmax,
    "identity": list,
}

# f'(z) in terms of a = f(z)
DERIVATIVES = {
    "logistic": lambda a: a * (1.0 - a),
    "tanh": lambda a: 1.0 - a * a,
    "relu": lambda a: 1.0 if a > 0.0 else 0.0,
    "identity": lambda a: 1.0,
}


class Trainer:
    def __init__(self, row, wl, data, build_dir):
        if wl.batch_size != 1:
            raise ValueError("the pure Python peer trains online only")
        self.wl = wl
        weights, biases = workloads.split(wl, data.params0)
        self.weights = [W.tolist() for W in weights]
        self.biases = [b.tolist() for b in biases]
        self.X, self.Y = data.X.tolist(), data.Y.tolist()

    def train(self):
        start = time.perf_counter()
        _train(self.weights, self.biases, self.X, self.Y, self.wl)
        return time.perf_counter() - start

    def params(self):
        return workloads.join([np.array(W) for W in self.weights], self.biases)


def _train(weights, biases, X, Y, wl):
    lr, shared, ce = wl.lr, wl.bias == "shared", wl.loss == "cross_entropy"
    fs = [ACTIVATIONS[name] for name in wl.activations]
    dfs = [DERIVATIVES.get(name) for name in wl.activations]
    n_layers = len(weights)
    for _ in range(wl.epochs):
        for x, t in zip(X, Y):
            outs = [x]
            for W, b, f in zip(weights, biases, fs):
                a = outs[-1]
                if shared:
                    zs = [sum(map(mul, row, a)) + b[0] for row in W]
                else:
                    zs = [sum(map(mul, row, a)) + bj for row, bj in zip(W, b)]
                outs.append(f(zs))
            if ce:
                delta = [o - tk for o, tk in zip(outs[-1], t)]
            else:
                df = dfs[-1]
                delta = [(o - tk) * df(o) for o, tk in zip(outs[-1], t)]
            for l in range(n_layers - 1, -1, -1):
                W, b, a_in = weights[l], biases[l], outs[l]
                if l:  # W^T delta, before W changes
                    df = dfs[l - 1]
                    below = [sum(map(mul, col, delta)) * df(a) for col, a in zip(zip(*W), a_in)]
                for row, d in zip(W, delta):
                    g = lr * d
                    row[:] = [w - g * a for w, a in zip(row, a_in)]
                if wl.train_bias:
                    if shared:
                        b[0] -= lr * sum(delta)
                    else:
                        b[:] = [bj - lr * d for bj, d in zip(b, delta)]
                if l:
                    delta = below
