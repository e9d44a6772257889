"""Numba: the loops a Numba user would write, compiled with ``@njit`` (compile
time excluded: the kernel is compiled on a tiny run before the timed one)."""
import math
import time

import numpy as np

from peers import Row, Unavailable

LOGISTIC, TANH, RELU, SOFTMAX, IDENTITY = range(5)
CODES = {"logistic": LOGISTIC, "tanh": TANH, "relu": RELU, "softmax": SOFTMAX, "identity": IDENTITY}

_kernel = None


def probe():
    try:
        import numba
    except ImportError:
        raise Unavailable("not installed: pip install numba") from None
    return f"numba {numba.__version__}"


def rows(wl):
    return [Row("numba", "numba", "Numba @njit loops")]


def _compile():
    from numba import njit

    @njit(cache=False)
    def activate(a, z0, n, act):
        if act == LOGISTIC:
            for j in range(n):
                a[z0 + j] = 1.0 / (1.0 + math.exp(-a[z0 + j]))
        elif act == TANH:
            for j in range(n):
                a[z0 + j] = math.tanh(a[z0 + j])
        elif act == RELU:
            for j in range(n):
                a[z0 + j] = a[z0 + j] if a[z0 + j] > 0.0 else 0.0
        elif act == SOFTMAX:
            m = a[z0]
            for j in range(1, n):
                m = max(m, a[z0 + j])
            s = 0.0
            for j in range(n):
                a[z0 + j] = math.exp(a[z0 + j] - m)
                s += a[z0 + j]
            for j in range(n):
                a[z0 + j] /= s

    @njit(cache=False)
    def derivative(act, a):
        if act == LOGISTIC:
            return a * (1.0 - a)
        if act == TANH:
            return 1.0 - a * a
        if act == RELU:
            return 1.0 if a > 0.0 else 0.0
        return 1.0

    @njit(cache=False)
    def train(params, grads, X, Y, sizes, w_at, b_at, n_bias, acts, ce, train_bias, lr,
              epochs, batch_size, a, a_at, delta):
        """a and delta hold every layer's outputs and deltas, layer l at a_at[l]
        (a_at[0] is the input, copied in); params and grads are flat vectors,
        layer l's W at w_at[l], its biases at b_at[l]."""
        n_layers = sizes.size - 1
        n_samples = X.shape[0]
        online = batch_size == 1
        for _ in range(epochs):
            for first in range(0, n_samples, batch_size):
                last = min(first + batch_size, n_samples)
                for s in range(first, last):
                    for i in range(sizes[0]):
                        a[i] = X[s, i]
                    for l in range(n_layers):  # forward
                        n_in, n_out = sizes[l], sizes[l + 1]
                        for j in range(n_out):
                            z = 0.0
                            w0 = w_at[l] + j * n_in
                            for i in range(n_in):
                                z += params[w0 + i] * a[a_at[l] + i]
                            bj = j if n_bias[l] > 1 else 0
                            a[a_at[l + 1] + j] = z + params[b_at[l] + bj]
                        activate(a, a_at[l + 1], n_out, acts[l])
                    top = a_at[n_layers]
                    for k in range(sizes[n_layers]):  # output deltas
                        o = a[top + k]
                        if ce:
                            delta[top + k] = o - Y[s, k]
                        else:
                            delta[top + k] = (o - Y[s, k]) * derivative(acts[n_layers - 1], o)
                    for l in range(n_layers - 1, -1, -1):  # backward
                        n_in, n_out = sizes[l], sizes[l + 1]
                        d0, in0 = a_at[l + 1], a_at[l]
                        if l > 0:  # W^T delta, before W changes
                            for i in range(n_in):
                                delta[in0 + i] = 0.0
                            for j in range(n_out):
                                w0 = w_at[l] + j * n_in
                                d = delta[d0 + j]
                                for i in range(n_in):
                                    delta[in0 + i] += params[w0 + i] * d
                            for i in range(n_in):
                                delta[in0 + i] *= derivative(acts[l - 1], a[in0 + i])
                        total = 0.0
                        for j in range(n_out):
                            w0 = w_at[l] + j * n_in
                            d = delta[d0 + j]
                            bj = b_at[l] + (j if n_bias[l] > 1 else 0)
                            if online:
                                g = lr * d
                                for i in range(n_in):
                                    params[w0 + i] -= g * a[in0 + i]
                                if train_bias and n_bias[l] > 1:
                                    params[bj] -= g
                                total += d
                            else:
                                for i in range(n_in):
                                    grads[w0 + i] += d * a[in0 + i]
                                grads[bj] += d
                        if online and train_bias and n_bias[l] == 1:
                            params[b_at[l]] -= lr * total
                if not online:  # the mean gradient of the batch
                    scale = lr / (last - first)
                    for l in range(n_layers):
                        end = b_at[l] + n_bias[l] if train_bias else b_at[l]
                        for k in range(w_at[l], end):
                            params[k] -= scale * grads[k]
                    grads[:] = 0.0

    return train


class Trainer:
    def __init__(self, row, wl, data, build_dir):
        global _kernel
        if _kernel is None:
            _kernel = _compile()
        sizes = np.array(wl.sizes, dtype=np.int64)
        n_bias = np.array([n if wl.bias == "neuron" else 1 for n in wl.sizes[1:]], dtype=np.int64)
        w_at = np.zeros(len(wl.sizes) - 1, dtype=np.int64)
        b_at = np.zeros_like(w_at)
        at = 0
        for l in range(len(wl.sizes) - 1):
            w_at[l] = at
            b_at[l] = at + sizes[l + 1] * sizes[l]
            at = b_at[l] + n_bias[l]
        self.params_ = data.params0.copy()
        self.args = (
            self.params_, np.zeros_like(self.params_), data.X, data.Y, sizes, w_at, b_at, n_bias,
            np.array([CODES[name] for name in wl.activations], dtype=np.int64),
            wl.loss == "cross_entropy", wl.train_bias, wl.lr, wl.epochs, wl.batch_size,
            np.zeros(sizes.sum()), np.concatenate([[0], np.cumsum(sizes)[:-1]]),
            np.zeros(sizes.sum()),
        )
        # Compile (or reuse) the specialisation for these argument types on a
        # copy, with no epochs: the timed call below never compiles.
        warm = list(self.args)
        warm[0], warm[12] = self.params_.copy(), 0
        _kernel(*warm)

    def train(self):
        start = time.perf_counter()
        _kernel(*self.args)
        return time.perf_counter() - start

    def params(self):
        return self.params_
