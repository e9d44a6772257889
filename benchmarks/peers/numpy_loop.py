"""NumPy, as a user would write it: a Python loop over the samples with one
matrix-vector product per layer; mini-batches as one GEMM-shaped computation
per batch."""
import time

import numpy as np

import workloads
from peers import Row


def probe():
    return f"numpy {np.__version__}"


def rows(wl):
    if wl.batch_size > 1:
        return [Row("numpy", "numpy", "NumPy, one GEMM per mini-batch")]
    return [Row("numpy", "numpy", "NumPy per-sample loop")]


def _logistic(z):
    return 1.0 / (1.0 + np.exp(-z))


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


ACTIVATIONS = {
    "logistic": _logistic,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "softmax": _softmax,
    "identity": lambda z: z,
}

# f'(z) in terms of a = f(z)
DERIVATIVES = {
    "logistic": lambda a: a * (1.0 - a),
    "tanh": lambda a: 1.0 - a * a,
    "relu": lambda a: (a > 0.0).astype(np.float64),
    "identity": np.ones_like,
}


class Trainer:
    def __init__(self, row, wl, data, build_dir):
        self.wl, self.X, self.Y = wl, data.X, data.Y
        self.flat = data.params0.copy()
        self.weights, self.biases = workloads.split(wl, self.flat)

    def train(self):
        wl = self.wl
        fs = [ACTIVATIONS[name] for name in wl.activations]
        dfs = [DERIVATIVES.get(name) for name in wl.activations]
        start = time.perf_counter()
        if wl.batch_size == 1:
            _online(self.weights, self.biases, fs, dfs, self.X, self.Y, wl)
        else:
            _batched(self.weights, self.biases, fs, dfs, self.X, self.Y, wl)
        return time.perf_counter() - start

    def params(self):
        return self.flat


def _online(weights, biases, fs, dfs, X, Y, wl):
    lr, shared, ce = wl.lr, wl.bias == "shared", wl.loss == "cross_entropy"
    for _ in range(wl.epochs):
        for x, t in zip(X, Y):
            outs = [x]
            for W, b, f in zip(weights, biases, fs):
                outs.append(f(W @ outs[-1] + b))
            o = outs[-1]
            delta = o - t if ce else (o - t) * dfs[-1](o)
            for l in range(len(weights) - 1, -1, -1):
                W, a_in = weights[l], outs[l]
                if l:
                    below = (delta @ W) * dfs[l - 1](a_in)  # W^T delta, before W changes
                g = lr * delta
                W -= np.outer(g, a_in)
                if wl.train_bias:
                    biases[l] -= lr * delta.sum() if shared else g
                if l:
                    delta = below


def _batched(weights, biases, fs, dfs, X, Y, wl):
    lr, shared, ce = wl.lr, wl.bias == "shared", wl.loss == "cross_entropy"
    for _ in range(wl.epochs):
        for first in range(0, len(X), wl.batch_size):
            outs = [X[first : first + wl.batch_size]]
            T = Y[first : first + wl.batch_size]
            for W, b, f in zip(weights, biases, fs):
                outs.append(f(outs[-1] @ W.T + b))
            o = outs[-1]
            delta = o - T if ce else (o - T) * dfs[-1](o)
            scale = lr / len(T)  # the mean of the per-sample gradients
            for l in range(len(weights) - 1, -1, -1):
                W, a_in = weights[l], outs[l]
                if l:
                    below = (delta @ W) * dfs[l - 1](a_in)
                W -= scale * (delta.T @ a_in)
                if wl.train_bias:
                    biases[l] -= scale * (delta.sum() if shared else delta.sum(axis=0))
                if l:
                    delta = below
