"""The benchmark workloads, the one generator of their data and initial weights,
and the raw float64 files that carry both to every peer.

Every network here is float64 and trained by plain SGD (no momentum, no weight
decay) in the textbook order: forward sweep, output deltas, then from the top
layer down the deltas of the layer below, computed with the weights before this
sample's (or batch's) update. Mini-batch gradients are the mean of the
per-sample gradients over the batch, the last batch of an epoch averaged over
its own size.

Parameters travel as one flat vector, layer by layer: ``W_l`` (``n_l x n_{l-1}``,
row-major, ``W_l[j, i]`` the weight from unit ``i`` below to unit ``j``), then
its biases (``n_l`` of them for ``bias="neuron"``, one for ``bias="shared"``).
This is backprop's own layout.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA_SEED = 0  # random inputs and classes of R1, W2, W3
WEIGHT_SEED = 1  # Glorot-uniform initial weights of W1, W1x, W2, W3


class DatasetUnavailable(Exception):
    """A workload's data cannot be made here (say why)."""


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    sizes: tuple[int, ...]
    activations: tuple[str, ...]  # one per weight layer: logistic, tanh, relu, softmax, identity
    loss: str  # "squared": 1/2 sum (t - o)^2; "cross_entropy": -sum t log o (softmax output)
    bias: str  # "neuron": one bias per unit; "shared": one per layer
    train_bias: bool
    lr: float
    epochs: int  # W0: the number of online updates on its single sample
    batch_size: int
    dataset: str  # "mazur", "digits" or "random"
    n_samples: int
    memory_epochs: int  # epochs of the separate run that measures tracemalloc's peak

    @property
    def samples_trained(self) -> int:
        """Per-sample updates (online) or samples seen (mini-batch) in one training run."""
        return self.epochs * self.n_samples

    @property
    def n_params(self) -> int:
        return sum(n_out * n_in + n_bias for n_out, n_in, n_bias in layer_shapes(self))

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Workload:
        fields = json.loads(text)
        fields["sizes"] = tuple(fields["sizes"])
        fields["activations"] = tuple(fields["activations"])
        return cls(**fields)


# W1x's learning rate is 0.02, not 0.05: at 0.05 its training is chaotic (the
# loss after epochs 1-5 goes 0.50, 0.43, 0.20, 0.31, 0.22, and between two
# correct implementations that differ only in rounding the parameters' relative
# difference grows ~1e7x per epoch: 6e-15 after one epoch, 2e-8 after two, O(1)
# after five), so no two peers could agree on its final parameters. At 0.02 it converges (0.26, 0.16, 0.13, 0.13, 0.097)
# and peers agree to 2e-15.
WORKLOADS = {
    wl.name: wl
    for wl in [
        Workload(
            "W0", "worked example: 2-2-2, one sample, 10^6 online updates",
            sizes=(2, 2, 2), activations=("logistic", "logistic"), loss="squared",
            bias="shared", train_bias=False, lr=0.5, epochs=1_000_000, batch_size=1,
            dataset="mazur", n_samples=1, memory_epochs=10_000,
        ),
        Workload(
            "W1", "digits 64-32-10, logistic, 5 online epochs",
            sizes=(64, 32, 10), activations=("logistic", "logistic"), loss="squared",
            bias="neuron", train_bias=True, lr=0.1, epochs=5, batch_size=1,
            dataset="digits", n_samples=1797, memory_epochs=1,
        ),
        Workload(
            "W1x", "digits 64-64-32-10, tanh/ReLU/softmax, cross-entropy, 5 online epochs",
            sizes=(64, 64, 32, 10), activations=("tanh", "relu", "softmax"),
            loss="cross_entropy", bias="neuron", train_bias=True, lr=0.02, epochs=5,
            batch_size=1, dataset="digits", n_samples=1797, memory_epochs=1,
        ),
        Workload(
            "R1", "random 64-32-10, logistic, 10,000 samples, 1 online epoch",
            sizes=(64, 32, 10), activations=("logistic", "logistic"), loss="squared",
            bias="neuron", train_bias=True, lr=0.1, epochs=1, batch_size=1,
            dataset="random", n_samples=10_000, memory_epochs=1,
        ),
        Workload(
            "W2", "random 784-256-10, logistic, 20,000 samples, 1 online epoch",
            sizes=(784, 256, 10), activations=("logistic", "logistic"), loss="squared",
            bias="neuron", train_bias=True, lr=0.01, epochs=1, batch_size=1,
            dataset="random", n_samples=20_000, memory_epochs=1,
        ),
        Workload(
            "W3", "as W2, mini-batches of 64, 5 epochs",
            sizes=(784, 256, 10), activations=("logistic", "logistic"), loss="squared",
            bias="neuron", train_bias=True, lr=0.01, epochs=5, batch_size=64,
            dataset="random", n_samples=20_000, memory_epochs=1,
        ),
    ]
}

# --quick: tiny sizes so that a whole run takes seconds (used by the smoke test).
# W3's 200 samples keep a short last batch (3 x 64 + 8).
QUICK = {
    "W0": dict(epochs=1_000, memory_epochs=100),
    "W1": dict(n_samples=100, epochs=2),
    "W1x": dict(n_samples=100, epochs=2),
    "R1": dict(n_samples=200),
    "W2": dict(n_samples=200),
    "W3": dict(n_samples=200, epochs=2),
}


def get(name: str, quick: bool = False) -> Workload:
    wl = WORKLOADS[name]
    return dataclasses.replace(wl, **QUICK[name]) if quick else wl


def layer_shapes(wl: Workload) -> list[tuple[int, int, int]]:
    """``(n_out, n_in, n_bias)`` of each weight layer."""
    return [
        (n_out, n_in, n_out if wl.bias == "neuron" else 1)
        for n_in, n_out in zip(wl.sizes[:-1], wl.sizes[1:])
    ]


def split(wl: Workload, params: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Views of the flat vector: the weight matrices and bias vectors, layer by layer."""
    weights, biases, at = [], [], 0
    for n_out, n_in, n_bias in layer_shapes(wl):
        weights.append(params[at : at + n_out * n_in].reshape(n_out, n_in))
        at += n_out * n_in
        biases.append(params[at : at + n_bias])
        at += n_bias
    if at != params.size:
        raise ValueError(f"{wl.name}: expected {at} parameters, got {params.size}")
    return weights, biases


def join(weights, biases) -> np.ndarray:
    """The flat vector of lists of weight matrices and bias vectors."""
    parts = []
    for W, b in zip(weights, biases):
        parts += [np.ravel(W), np.ravel(b)]
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float64)


def one_hot(classes: np.ndarray, n_classes: int) -> np.ndarray:
    Y = np.zeros((classes.size, n_classes))
    Y[np.arange(classes.size), classes] = 1.0
    return Y


def make_data(wl: Workload) -> tuple[np.ndarray, np.ndarray]:
    """The inputs ``X`` (n_samples x n_in) and targets ``Y`` (n_samples x n_out)."""
    if wl.dataset == "mazur":
        return np.array([[0.05, 0.10]]), np.array([[0.01, 0.99]])
    if wl.dataset == "digits":
        try:
            from sklearn.datasets import load_digits
        except ImportError:
            raise DatasetUnavailable(
                "needs scikit-learn, whose bundled digits data it trains on"
            ) from None
        digits = load_digits()
        X = digits.data[: wl.n_samples] / 16.0
        return np.ascontiguousarray(X), one_hot(digits.target[: wl.n_samples], wl.sizes[-1])
    if wl.dataset == "random":
        rng = np.random.default_rng(DATA_SEED)
        X = rng.random((wl.n_samples, wl.sizes[0]))
        return X, one_hot(rng.integers(0, wl.sizes[-1], wl.n_samples), wl.sizes[-1])
    raise ValueError(f"unknown dataset {wl.dataset!r}")


def initial_params(wl: Workload) -> np.ndarray:
    """The flat initial parameters: the worked example's for W0, else Glorot uniform
    U(-r, r), r = sqrt(6 / (fan_in + fan_out)), from WEIGHT_SEED, and zero biases."""
    if wl.dataset == "mazur":
        W1 = [[0.15, 0.20], [0.25, 0.30]]
        W2 = [[0.40, 0.45], [0.50, 0.55]]
        return join([W1, W2], [[0.35], [0.60]])
    rng = np.random.default_rng(WEIGHT_SEED)
    weights, biases = [], []
    for n_out, n_in, n_bias in layer_shapes(wl):
        r = np.sqrt(6.0 / (n_in + n_out))
        weights.append(rng.uniform(-r, r, (n_out, n_in)))
        biases.append(np.zeros(n_bias))
    return join(weights, biases)


def save(directory: Path, wl: Workload, X: np.ndarray, Y: np.ndarray, params0: np.ndarray) -> None:
    """Write a workload for the peers: workload.json, X.f64, Y.f64, params0.f64."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "workload.json").write_text(wl.to_json())
    for name, array in (("X", X), ("Y", Y), ("params0", params0)):
        np.ascontiguousarray(array, dtype=np.float64).tofile(directory / f"{name}.f64")


def load(directory: Path) -> tuple[Workload, np.ndarray, np.ndarray, np.ndarray]:
    wl = Workload.from_json((directory / "workload.json").read_text())
    X = np.fromfile(directory / "X.f64").reshape(wl.n_samples, wl.sizes[0])
    Y = np.fromfile(directory / "Y.f64").reshape(wl.n_samples, wl.sizes[-1])
    params0 = np.fromfile(directory / "params0.f64")
    if params0.size != wl.n_params:
        raise ValueError(f"{directory}: {params0.size} parameters, expected {wl.n_params}")
    return wl, X, Y, params0
