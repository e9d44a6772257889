"""An independent NumPy reference implementation of what backprop computes.

Written from the textbook equations, not from the compiled kernels: matrix
products per layer, full Jacobians (``delta = Jᵀ dE/do``) for the non-canonical
output pairs, all gradients of a sample computed first and the parameters
updated afterwards, optimisers written as in ``torch.optim``.  Used only by the
tests, as the oracle the compiled core must agree with to ~1e-12.  With
``dtype=np.float32`` every array is float32 and NumPy computes in float32
(Python scalars do not widen it), as a float32 network does; each epoch's
loss is summed in float64.
"""
import math

import numpy as np


def activate(name, z, slope):
    if name == "logistic":
        return np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.where(z > 0, z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, z, slope * z)
    if name == "identity":
        return z.copy()
    if name == "softmax":
        e = np.exp(z - z.max())
        return e / e.sum()
    raise ValueError(name)


def jacobian(name, z, a, slope):
    """J[i, k] = ∂a_i / ∂z_k"""
    if name == "softmax":
        return np.diag(a) - np.outer(a, a)
    d = {
        "logistic": lambda: a * (1 - a),
        "tanh": lambda: 1 - a * a,
        "relu": lambda: (z > 0).astype(z.dtype),
        "leaky_relu": lambda: np.where(z > 0, 1.0, slope).astype(z.dtype),
        "identity": lambda: np.ones_like(z),
    }[name]()
    return np.diag(d)


def loss_and_output_delta(loss, param, out_act, slope, z, o, t):
    """(E, dE/dz of the output layer)"""
    if loss == "cross_entropy" and out_act == "logistic":
        E = np.sum(np.logaddexp(0, z) - t * z)
        return E, o - t
    if loss == "cross_entropy":
        lse = np.logaddexp.reduce(z)
        return np.sum(t * (lse - z)), o * t.sum() - t
    r = o - t
    if loss == "squared":
        E, dEdo = 0.5 * np.sum(r * r), r
    else:
        small = np.abs(r) <= param
        E = np.sum(np.where(small, 0.5 * r * r, param * (np.abs(r) - 0.5 * param)))
        dEdo = np.clip(r, -param, param)
    return E, jacobian(out_act, z, o, slope).T @ dEdo


class Reference:
    """acts: list of (name, slope) per layer; bias: "neuron" | "shared" | "none"."""

    def __init__(self, weights, biases, acts, loss, loss_param, bias, train_bias,
                 opt="sgd", momentum=0.0, nesterov=False, weight_decay=0.0, decay_bias=False,
                 beta1=0.9, beta2=0.999, eps=1e-8, dtype=np.float64):
        self.W = [np.array(w, dtype=dtype) for w in weights]
        self.b = [np.array(b, dtype=dtype).reshape(-1) for b in biases]
        self.acts, self.loss, self.loss_param = acts, loss, loss_param
        self.bias, self.train_bias = bias, train_bias
        self.opt, self.momentum, self.nesterov = opt, momentum, nesterov
        self.wd, self.decay_bias = weight_decay, decay_bias
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.state = {}
        self.t = 0

    def forward(self, x):
        a, zs, outs = x, [], []
        for (name, slope), W, b in zip(self.acts, self.W, self.b):
            z = W @ a + (b if self.bias == "neuron" else b.sum())
            a = activate(name, z, slope)
            zs.append(z)
            outs.append(a)
        return zs, outs

    def gradients(self, x, t):
        """(E, [dE/dW_l], [dE/db_l]) of one sample."""
        zs, outs = self.forward(x)
        E, delta = loss_and_output_delta(self.loss, self.loss_param, *self.acts[-1], zs[-1], outs[-1], t)
        gW, gb = [None] * len(self.W), [None] * len(self.W)
        for l in reversed(range(len(self.W))):
            a_prev = x if l == 0 else outs[l - 1]
            gW[l] = np.outer(delta, a_prev)
            gb[l] = {"neuron": delta, "shared": np.array([delta.sum()]), "none": np.zeros(0)}[self.bias]
            if l > 0:
                name, slope = self.acts[l - 1]
                delta = jacobian(name, zs[l - 1], outs[l - 1], slope).T @ (self.W[l].T @ delta)
        return E, gW, gb

    def _step(self, key, w, g, lr, decay):
        g = g + decay * w
        if self.opt == "sgd":
            if self.momentum:
                v = self.state.get(key, np.zeros_like(w))
                v = self.momentum * v + g
                self.state[key] = v
                g = g + self.momentum * v if self.nesterov else v
            return w - w.dtype.type(lr) * g
        m, v = self.state.get(key, (np.zeros_like(w), np.zeros_like(w)))
        m = self.beta1 * m + (1 - self.beta1) * g
        v = self.beta2 * v + (1 - self.beta2) * g * g
        self.state[key] = (m, v)
        step_size = lr / (1 - self.beta1 ** self.t)
        denom = np.sqrt(v) / math.sqrt(1 - self.beta2 ** self.t) + self.eps
        return w - step_size * m / denom

    def update(self, gW, gb, lr):
        self.t += 1
        for l in range(len(self.W)):
            self.W[l] = self._step(("W", l), self.W[l], gW[l], lr, self.wd)
            if self.train_bias and self.b[l].size:
                self.b[l] = self._step(("b", l), self.b[l], gb[l], lr, self.wd if self.decay_bias else 0.0)

    def train(self, X, Y, epochs, lr, batch_size=1, orders=None):
        """Mean per-sample loss of each epoch (each taken before its update)."""
        X, Y = (np.asarray(A, dtype=self.W[0].dtype) for A in (X, Y))
        n = len(X)
        k = n if batch_size is None else batch_size
        history = []
        for e in range(epochs):
            order = np.arange(n) if orders is None else orders[e]
            total = 0.0
            for start in range(0, n, k):
                batch = order[start:start + k]
                sums = None
                for i in batch:
                    E, gW, gb = self.gradients(X[i], Y[i])
                    total += float(E)
                    sums = (gW, gb) if sums is None else (
                        [s + g for s, g in zip(sums[0], gW)], [s + g for s, g in zip(sums[1], gb)])
                X_dtype = sums[0][0].dtype.type
                self.update([g / X_dtype(len(batch)) for g in sums[0]],
                            [g / X_dtype(len(batch)) for g in sums[1]],
                            lr(e) if callable(lr) else lr)
            history.append(total / n)
        return np.array(history)

    def loss_of(self, X, Y):
        X, Y = (np.asarray(A, dtype=self.W[0].dtype) for A in (X, Y))
        losses = []
        for x, t in zip(X, Y):
            zs, outs = self.forward(x)
            losses.append(loss_and_output_delta(self.loss, self.loss_param, *self.acts[-1],
                                                zs[-1], outs[-1], t)[0])
        return np.mean(losses)


def reference_for(net, **optimizer):
    """A Reference with the network's configuration, current parameters and dtype."""
    acts = [(name, p) for name, p in net._activations]
    return Reference([w.copy() for w in net.weights], [b.copy() for b in net.biases], acts,
                     net._loss[0], net._loss[1], net.bias, net.train_bias, dtype=net.dtype,
                     **optimizer)


def permutations(seed, epochs, n):
    """The sample orders a network seeded with ``seed`` uses: one
    ``default_rng(seed).permutation(n)`` per epoch, in epoch order."""
    rng = np.random.default_rng(seed)
    return [rng.permutation(n) for _ in range(epochs)]
