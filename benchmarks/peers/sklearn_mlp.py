"""scikit-learn's MLPRegressor (squared error) and MLPClassifier (softmax with
cross-entropy), ``solver="sgd"`` with no momentum, no L2 penalty, constant
learning rate and no shuffling, started from the common initial weights.

Its model cannot match every workload: MLPRegressor's output units are the
identity, its biases are one per unit and always trained, and one activation
serves all hidden layers. Its squared-error *report* (``loss_``) also averages
over the outputs, though its gradients are those of 1/2 sum (t - o)^2, so the
learning rate means the same. ``rows`` says which of these apply.
"""
import time
import warnings

import numpy as np

import workloads
from peers import Row, Unavailable


def probe():
    try:
        import sklearn
    except ImportError:
        raise Unavailable("not installed: pip install scikit-learn") from None
    return f"scikit-learn {sklearn.__version__}"


def _model(wl):
    """The Workload fields of the model scikit-learn really trains."""
    hidden = wl.activations[-2]  # sklearn: one activation for every hidden layer
    output = "softmax" if wl.loss == "cross_entropy" else "identity"
    return {"activations": (hidden,) * (len(wl.activations) - 1) + (output,), "bias": "neuron"}


def rows(wl):
    model = _model(wl)
    differences = [
        f"{a} in layer {l + 1} (not {b})"
        for l, (a, b) in enumerate(zip(model["activations"], wl.activations))
        if a != b
    ]
    if wl.bias == "shared" or not wl.train_bias:
        differences.append("biases per unit and trained")
    estimator = "MLPClassifier" if wl.loss == "cross_entropy" else "MLPRegressor"
    batch = f"batch {wl.batch_size}"
    return [Row(
        "sklearn", "sklearn", f"scikit-learn {estimator}, sgd, {batch}",
        same_model=not differences, note="model differs: " + "; ".join(differences),
    )]


def _preset(cls, weights, biases):
    """``cls`` whose initialisation hands out the given parameters instead of
    drawing them: sklearn's own ``_initialize`` runs unchanged (so every fitted
    attribute is set as usual) and asks ``_init_coef`` for each layer in order."""

    class Preset(cls):
        def _init_coef(self, fan_in, fan_out, dtype):
            layer = len(self.coefs_)  # _initialize appends each layer's pair in turn
            return (
                np.ascontiguousarray(weights[layer].T, dtype=dtype),
                np.array(biases[layer], dtype=dtype),
            )

    Preset.__name__ = Preset.__qualname__ = cls.__name__
    return Preset


class Trainer:
    def __init__(self, row, wl, data, build_dir):
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        self.model = _model(wl)
        weights, biases = workloads.split(wl, data.params0)
        biases = [np.broadcast_to(b, (W.shape[0],)) for W, b in zip(weights, biases)]
        cls = MLPClassifier if wl.loss == "cross_entropy" else MLPRegressor
        self.estimator = _preset(cls, weights, biases)(
            hidden_layer_sizes=wl.sizes[1:-1], activation=self.model["activations"][0],
            solver="sgd", alpha=0.0, batch_size=wl.batch_size, learning_rate="constant",
            learning_rate_init=wl.lr, max_iter=wl.epochs, shuffle=False, momentum=0.0,
            nesterovs_momentum=False, early_stopping=False,
            tol=0.0, n_iter_no_change=wl.epochs,  # never stop early
            random_state=0,
        )
        self.X = data.X
        self.y = data.Y.argmax(axis=1) if wl.loss == "cross_entropy" else data.Y

    def train(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter reached, as asked
            start = time.perf_counter()
            self.estimator.fit(self.X, self.y)
            return time.perf_counter() - start

    def params(self):
        est = self.estimator
        return workloads.join([c.T for c in est.coefs_], est.intercepts_)
