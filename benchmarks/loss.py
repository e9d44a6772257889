"""The one loss function that judges every peer's final parameters.

Written for accuracy, not speed, and independent of every peer's training code:
the same function evaluates all of them, so differences between peers' final
losses come from their parameters only.
"""
import numpy as np

import workloads


def _logistic(z):
    # 1 / (1 + e^-z) without overflow for large |z|: exp(-log(1 + e^-z)).
    return np.exp(-np.logaddexp(0.0, -z))


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


ACTIVATIONS = {
    "logistic": _logistic,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "softmax": _softmax,
    "identity": lambda z: z,
}


def mean_loss(wl: workloads.Workload, params: np.ndarray, X: np.ndarray, Y: np.ndarray) -> float:
    """Mean over the samples of the per-sample loss: squared ``1/2 sum_k (t_k - o_k)^2``,
    or cross-entropy ``-sum_k t_k log o_k`` of a softmax output (through log-sum-exp)."""
    weights, biases = workloads.split(wl, np.asarray(params, dtype=np.float64))
    a = X
    for l, (W, b, act) in enumerate(zip(weights, biases, wl.activations)):
        z = a @ W.T + b
        if l == len(weights) - 1 and wl.loss == "cross_entropy":
            if act != "softmax":
                raise ValueError("cross-entropy is defined here for a softmax output only")
            m = z.max(axis=1, keepdims=True)
            log_o = z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))
            return float(np.mean(-(Y * log_o).sum(axis=1)))
        a = ACTIVATIONS[act](z)
    return float(np.mean(0.5 * ((Y - a) ** 2).sum(axis=1)))
