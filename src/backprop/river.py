"""River adapters: online multilayer perceptrons that grow with the stream.

    >>> from river import datasets, evaluate, metrics, preprocessing
    >>> import backprop.river
    >>> model = preprocessing.StandardScaler() | backprop.river.MLPClassifier(hidden=(32,), seed=0)
    >>> evaluate.progressive_val_score(datasets.Phishing(), model, metrics.Accuracy())
    Accuracy: 89.59%

``MLPClassifier`` and ``MLPRegressor`` are River estimators (``base.Classifier``
/ ``base.Regressor``, and River's mini-batch bases when pandas is installed)
around a ``backprop.Network``.  River's conventions hold, not the Network's:
samples are dicts of feature name to number, ``learn_one`` returns None,
labels are any hashable values and probabilities are dicts keyed by label.

Growth.  Features are numbered as they first appear in a ``learn_one`` (the
features of one sample in sorted order, so that key order never matters); a
new feature appends an input unit (``Network.add_inputs``) whose weights start
at zero, so it changes no prediction (beyond rounding) until training moves
them; a feature missing from a sample reads as 0, and a feature ``predict_*`` has not seen in
training is ignored (its weights would be zero).  A new label appends a
softmax output unit (``Network.add_outputs``).  The network is built at the
first sample that can train it: the first ``learn_one`` of a regressor, the
first of a classifier once it knows two labels (a softmax needs two; with
one label known every prediction is that label, with probability 1).  A
boolean label makes a binary task: both ``False`` and ``True`` become labels
at once, the keys River's binary classifiers use.  Memory grows with the
features and labels, never with the samples.

``learn_one`` is one ``Network.learn_one`` call after the dict is converted to
an array; ``learn_many`` (pandas) converts the frame at once (a missing value,
NaN, reads as 0) and makes one ``Network.train`` call over its rows in order
(online, ``batch_size=1``), so it learns exactly what ``learn_one`` row by row
does: the frame is split only at the rows where a label first appears, so
that the output layer grows where ``learn_one`` would grow it.
"""
import importlib.util
import math

import numpy as np
from river import base

from ._river_stream import _as_dict, _check_common, _check_label, _one_hot, _Stream
from .functions import check_pairing, loss_spec

# River's mini-batch methods take pandas frames: offered when pandas is there.
_PANDAS = importlib.util.find_spec("pandas") is not None
_RegressorBase = base.MiniBatchRegressor if _PANDAS else base.Regressor
_ClassifierBase = base.MiniBatchClassifier if _PANDAS else base.Classifier


class MLPRegressor(_Stream, _RegressorBase):
    """A multilayer perceptron regressor for River streams: one identity
    output, trained online by backpropagation (``backprop.Network``); its
    input layer grows as new features appear.

    Parameters
    ----------
    hidden
        Widths of the hidden layers, e.g. ``(32,)`` or ``(64, 32)``; ``()`` is
        a linear model.
    activation
        The hidden layers' activation: ``"relu"``, ``"leaky_relu"``,
        ``"tanh"``, ``"logistic"`` or ``"identity"`` (or a
        ``backprop.LeakyReLU(slope)``).
    optimizer
        ``"adam"``, ``"sgd"``, ``"momentum"``, ``"nesterov"``, or a
        ``backprop.Adam(...)`` / ``backprop.SGD(...)``.
    lr
        The learning rate of every update.
    loss
        ``"squared"`` (½ (y − ŷ)²) or ``"huber"`` / ``backprop.Huber(delta)``.
    seed
        Seed of the network's initial weights (and of the rows added to it);
        None draws a fresh one.

    Attributes
    ----------
    network
        The ``backprop.Network`` (None before the first ``learn_one``).
    features
        The feature names, in the order of the network's inputs.

    Notes
    -----
    Targets are used as they come: a network learns fastest on targets of
    about unit scale, so scale large ones (``preprocessing.TargetStandardScaler``).
    Before any learning, ``predict_one`` is 0.

    Examples
    --------
    >>> from river import datasets, evaluate, metrics, preprocessing
    >>> import backprop.river
    >>> model = preprocessing.StandardScaler() | backprop.river.MLPRegressor(seed=0)
    >>> evaluate.progressive_val_score(datasets.TrumpApproval(), model, metrics.MAE())
    MAE: 0.454627
    """

    def __init__(self, hidden=(32,), activation="tanh", optimizer="sgd", lr=0.02,
                 loss="squared", seed=None):
        self.hidden = hidden
        self.activation = activation
        self.optimizer = optimizer
        self.lr = lr
        self.loss = loss
        self.seed = seed
        self._widths = _check_common(hidden, activation, optimizer, lr, seed)
        name, _ = loss_spec(loss)
        check_pairing("identity", name, 1)
        self._output = ("identity", loss)
        self._reset()
        self._t = np.zeros(1)

    def _sizes(self, n_in):
        return [n_in, *self._widths, 1]

    @classmethod
    def _unit_test_params(cls):
        yield {"seed": 42}
        yield {"hidden": (8, 4), "activation": "tanh", "optimizer": "sgd", "lr": 0.005,
               "loss": "huber", "seed": 1}

    def learn_one(self, x, y):
        try:
            if isinstance(y, (str, bytes)):
                raise TypeError
            self._t[0] = y
        except OverflowError:
            raise ValueError(f"y must be a finite number, got {y!r:.40} (too large for a float)") from None
        except (TypeError, ValueError):
            raise TypeError(f"y must be a number, got {y!r} ({type(y).__name__})") from None
        if not math.isfinite(self._t[0]):
            raise ValueError(f"y must be a finite number, got {y!r}")
        if self._net is None:
            self._build(x if type(x) is dict else _as_dict(x))
        self._learn(x, self._t)

    def predict_one(self, x):
        if self._net is None:
            return 0.0
        return float(self._predict(x)[0])

    def learn_many(self, X, y):
        values = self._values(X)
        if not len(X):
            return
        self._grow_for(X, values, 0)
        self._train(self._matrix(X, values), np.asarray(y, dtype=np.float64).reshape(-1, 1))

    def predict_many(self, X):
        import pandas as pd

        if self._net is None or not len(X):
            return pd.Series(np.zeros(len(X)), index=X.index)
        values = self._values(X)
        return pd.Series(self._net.predict(self._matrix(X, values))[:, 0], index=X.index)


class MLPClassifier(_Stream, _ClassifierBase):
    """A multilayer perceptron classifier for River streams: one softmax
    output per label seen, trained online by backpropagation on the
    cross-entropy (``backprop.Network``); its input layer grows as new
    features appear and its output layer as new labels do.

    Parameters
    ----------
    hidden
        Widths of the hidden layers, e.g. ``(32,)`` or ``(64, 32)``; ``()`` is
        a (multinomial) logistic regression.
    activation
        The hidden layers' activation: ``"relu"``, ``"leaky_relu"``,
        ``"tanh"``, ``"logistic"`` or ``"identity"`` (or a
        ``backprop.LeakyReLU(slope)``).
    optimizer
        ``"adam"``, ``"sgd"``, ``"momentum"``, ``"nesterov"``, or a
        ``backprop.Adam(...)`` / ``backprop.SGD(...)``.
    lr
        The learning rate of every update.
    seed
        Seed of the network's initial weights (and of the rows added to it
        for new labels); None draws a fresh one.

    Attributes
    ----------
    network
        The ``backprop.Network`` (None until two labels are known).
    features
        The feature names, in the order of the network's inputs.
    labels
        The labels seen, in the order of the network's outputs.

    Notes
    -----
    ``predict_proba_one`` gives a probability to every label seen so far
    (``{}`` before any; a boolean label makes both ``False`` and ``True``
    known).

    Examples
    --------
    >>> from river import datasets, evaluate, metrics, preprocessing
    >>> import backprop.river
    >>> model = preprocessing.StandardScaler() | backprop.river.MLPClassifier(seed=0)
    >>> evaluate.progressive_val_score(datasets.Phishing(), model, metrics.Accuracy())
    Accuracy: 89.59%
    """

    def __init__(self, hidden=(32,), activation="tanh", optimizer="sgd", lr=0.02, seed=None):
        self.hidden = hidden
        self.activation = activation
        self.optimizer = optimizer
        self.lr = lr
        self.seed = seed
        self._widths = _check_common(hidden, activation, optimizer, lr, seed)
        self._output = ("softmax", "cross_entropy")
        self._reset()
        self._labels = []           # in the order of the outputs
        self._label_index = {}      # label -> output
        self._targets = []          # the one-hot target of each output

    def _sizes(self, n_in):
        return [n_in, *self._widths, len(self._labels)]

    @property
    def _multiclass(self):
        return True

    @property
    def labels(self):
        return list(self._labels)

    @classmethod
    def _unit_test_params(cls):
        yield {"seed": 42}
        yield {"hidden": (8, 4), "activation": "tanh", "optimizer": "sgd", "lr": 0.05, "seed": 1}

    def _add_label(self, y, x):
        """Make y a label (for a boolean, False and True): the network grows
        an output per new label, or is built once two labels are known (from
        the features ``x`` of the sample that brings them)."""
        _check_label(y)
        if isinstance(x, dict):
            self._check_values(x)
        if isinstance(y, (bool, np.bool_)):
            new = [v for v in (False, True) if v not in self._label_index]
        else:
            new = [y]
        if not new:
            return
        for label in new:
            self._label_index[label] = len(self._labels)
            self._labels.append(label)
        self._targets = list(np.eye(len(self._labels)))
        if self._net is not None:
            self._net.add_outputs(len(new))
        elif len(self._labels) >= 2:
            self._build(x)

    def learn_one(self, x, y):
        try:
            i = self._label_index.get(y)
        except TypeError:
            raise TypeError(f"y must be a hashable class label, got {type(y).__name__}") from None
        if i is None or self._net is None:
            if type(x) is not dict:
                x = _as_dict(x)
            if i is None:
                self._add_label(y, x)
                i = self._label_index[y]
            else:
                self._check_values(x)   # one label so far: no network to learn yet
        if self._net is not None:
            self._learn(x, self._targets[i])

    def predict_proba_one(self, x):
        if self._net is None:
            return {label: 1.0 for label in self._labels}
        return dict(zip(self._labels, self._predict(x).tolist()))

    def predict_one(self, x):
        if self._net is None:
            return self._labels[0] if self._labels else None
        p = self._predict(x).tolist()
        if len(p) == 2:
            return self._labels[p[1] > p[0]]        # the first of equal maxima, as below
        return self._labels[p.index(max(p))]

    def learn_many(self, X, y):
        import pandas as pd

        values = self._values(X)
        codes, uniques = pd.factorize(np.asarray(y, dtype=object), use_na_sentinel=False)
        # the rows where a label first appears, in order: the output layer grows there
        _, first = np.unique(codes, return_index=True)
        arrivals = sorted((int(first[c]), u) for c, u in enumerate(uniques)
                          if u not in self._label_index)
        for _, label in arrivals:
            _check_label(label)     # before any row is learnt
        start = 0
        for row, label in arrivals + [(len(X), None)]:
            if row > start and self._net is not None:
                # the labels of rows before `row` are all known by now
                lookup = np.array([self._label_index.get(u, -1) for u in uniques])
                out = lookup[codes[start:row]]
                self._grow_for(X, values, start)
                self._train(self._matrix(X.iloc[start:row], values[start:row]),
                            _one_hot(out, len(self._labels)))
            if label is None:
                break
            self._add_label(label, [c for c, v in zip(X.columns, values[row]) if not np.isnan(v)])
            start = row

    def predict_proba_many(self, X):
        import pandas as pd

        if self._net is None or not len(X):
            return pd.DataFrame(np.ones((len(X), len(self._labels))), index=X.index,
                                columns=list(self._labels))
        P = self._net.predict(self._matrix(X, self._values(X)))
        return pd.DataFrame(P, index=X.index, columns=list(self._labels))

    def predict_many(self, X):
        import pandas as pd

        if not self._labels:
            return pd.Series([None] * len(X), index=X.index, dtype=object)
        labels = np.empty(len(self._labels), dtype=object)
        labels[:] = self._labels
        if self._net is None or not len(X):
            return pd.Series(labels[np.zeros(len(X), dtype=np.intp)], index=X.index, dtype=object)
        P = self._net.predict(self._matrix(X, self._values(X)))
        return pd.Series(labels[P.argmax(axis=1)], index=X.index, dtype=object)
