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
at zero, so it changes no prediction until training moves them; a feature
missing from a sample reads as 0, and a feature ``predict_*`` has not seen in
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

from ._core import gather
from ._validate import as_int, as_real
from .functions import activation_spec, check_pairing, layer_activations, loss_spec
from .network import Network
from .optim import check_optimizer

# River's mini-batch methods take pandas frames: offered when pandas is there.
_PANDAS = importlib.util.find_spec("pandas") is not None
_RegressorBase = base.MiniBatchRegressor if _PANDAS else base.Regressor
_ClassifierBase = base.MiniBatchClassifier if _PANDAS else base.Classifier


def _check_common(hidden, activation, optimizer, lr, seed):
    """The shared hyper-parameters, checked (River builds the network later)."""
    if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
        raise TypeError(f"hidden must be a tuple of layer widths like (32,), got {hidden!r}")
    widths = tuple(as_int(n, f"hidden[{i}]", 1) for i, n in enumerate(hidden))
    activation_spec(activation)
    layer_activations([activation] * len(widths) + ["identity"], len(widths) + 1)
    check_optimizer(optimizer)
    as_real(lr, "lr", 0.0, min_open=True)
    if seed is not None:
        as_int(seed, "seed", 0)
    return widths


def _ordered(keys):
    """Feature names in a fixed order, whatever order they came in: sorted, or
    for names that do not sort together (mixed types), by type and repr."""
    keys = list(keys)
    try:
        return sorted(keys)
    except TypeError:
        return sorted(keys, key=lambda k: (type(k).__name__, repr(k)))


def _as_dict(x):
    """A sample that is not a dict (pairs, a mapping) as one, or a TypeError naming x."""
    try:
        return dict(x)
    except (TypeError, ValueError):
        raise TypeError(f"x must be a dict of feature names to numbers (or (name, value) "
                        f"pairs), got {type(x).__name__}: {x!r:.80}") from None


def _check_label(y):
    """A new class label: refused if it is None or NaN (NaN never equals itself,
    so every NaN would add an output), naming y."""
    if y is None:
        raise ValueError("y is None: a class label must be a value (predict_one returns None "
                         "before any label is known); drop the unlabelled samples")
    try:
        unequal = bool(y != y)
    except Exception:       # an object whose comparison fails is no NaN
        unequal = False
    if unequal:
        raise ValueError(f"y is {y!r}: a NaN cannot be a class label (it equals no label, "
                         "itself included, so each one would add an output); drop the "
                         "unlabelled samples")


def _one_hot(indices, n):
    T = np.zeros((len(indices), n))
    T[np.arange(len(indices)), indices] = 1.0
    return T


class _Stream:
    """What both models share: the feature numbering, the dict and frame
    conversions, and building and growing the network."""

    def _reset(self):
        self._net = None
        self._index = {}            # feature name -> input unit

    @property
    def network(self):
        return self._net

    @property
    def features(self):
        return list(self._index)

    def _build(self, x):
        """The network, for a first sample with features x (a dict; its
        values checked first) or names x (a list)."""
        if isinstance(x, dict):
            self._check_values(x)
        index = {k: i for i, k in enumerate(_ordered(x))}
        out_activation, loss = self._output
        net = Network(self._sizes(max(1, len(index))),
                      activation=[self.activation] * len(self._widths) + [out_activation],
                      loss=loss, seed=self.seed)
        net.optimizer = self.optimizer
        self._net, self._index, self._width = net, index, net.sizes[0]

    def _add_features(self, keys):
        """Number the features ``keys`` (none known yet) and grow the inputs.
        With no feature known, the network's one input unit has carried 0
        and kept its initial weights: the first feature takes it."""
        index = self._index
        for k in _ordered(keys):
            index[k] = len(index)
        missing = len(index) - self._width
        if missing > 0:
            self._net.add_inputs(missing)
            self._width = self._net.sizes[0]

    def _vector(self, x, learning):
        """x as a new float64 vector over the network's inputs.  While
        learning, unknown features are added first (their values checked
        before the network grows); else they are ignored."""
        if not isinstance(x, dict):
            x = _as_dict(x)
        try:
            v = gather(x, self._index, self._width, learning)
        except (TypeError, OverflowError):
            self._check_values(x)
            raise
        if v is None:
            new = {k: value for k, value in x.items() if k not in self._index}
            self._check_values(new)
            self._add_features(new)
            v = gather(x, self._index, self._width, False)
        return v

    @staticmethod
    def _check_values(x):
        """TypeError or ValueError naming the first feature of x whose value
        is not a finite number."""
        for k, value in x.items():
            try:
                if isinstance(value, (str, bytes)):
                    raise TypeError
                number = float(value)
            except OverflowError:
                raise ValueError(f"feature {k!r} is {value!r:.40}, too large for a float") from None
            except (TypeError, ValueError):
                raise TypeError(
                    f"feature {k!r} is {value!r:.80} ({type(value).__name__}): backprop.river "
                    "models take numbers; encode other values first (e.g. "
                    "preprocessing.OneHotEncoder for categories)") from None
            if not math.isfinite(number):
                raise ValueError(f"feature {k!r} is {value!r}, not finite: drop a missing feature "
                                 "from the dict instead (it then reads as 0)")

    def _learn(self, x, t):
        """One online step on sample x (a dict, or pairs) with target t."""
        if type(x) is not dict:
            x = _as_dict(x)
        try:
            v = gather(x, self._index, self._width, True)
            if v is None:
                v = self._vector(x, True)       # new features: grow first
            self._net.learn_one(v, t, self.lr)
        except (TypeError, ValueError, OverflowError):
            self._check_values(x)
            raise

    def _predict(self, x):
        """The network's output for sample x (unknown features ignored)."""
        if type(x) is not dict:
            x = _as_dict(x)
        try:
            return self._net.predict_one(gather(x, self._index, self._width, False))
        except (TypeError, ValueError, OverflowError):
            self._check_values({k: v for k, v in x.items() if k in self._index})
            raise

    # ------------------------------------------------------------ frames
    @staticmethod
    def _values(X):
        """The frame's values as float64 (NaN where missing), or a TypeError
        naming the first column that is not numbers."""
        if not hasattr(X, "to_numpy") or not hasattr(X, "columns"):
            raise TypeError(f"X must be a pandas DataFrame (one column per feature), got "
                            f"{type(X).__name__}")
        try:
            values = X.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            for column in X.columns:
                try:
                    X[column].to_numpy(dtype=np.float64, na_value=np.nan)
                except (TypeError, ValueError):
                    raise TypeError(
                        f"column {column!r} holds {X[column].dtype} values that are not numbers: "
                        "backprop.river models take numbers; encode other values first") from None
            raise
        infinite = np.isinf(values).any(axis=0)
        if infinite.any():
            raise ValueError(f"column {X.columns[infinite.argmax()]!r} holds an infinite value; "
                             "a missing value (NaN) reads as 0")
        return values

    def _grow_for(self, X, values, row):
        """Before training on the frame's rows from ``row`` on: the network
        built (from that row's features) if it is not, and every feature the
        frame holds a value for numbered."""
        present = ~np.isnan(values)
        columns = list(X.columns)
        if self._net is None:
            self._build([c for c, there in zip(columns, present[row]) if there])
        new = [c for c, there in zip(columns, present[row:].any(axis=0))
               if there and c not in self._index]
        if new:
            self._add_features(new)

    def _matrix(self, X, values):
        """The frame's rows as a float64 matrix over the network's inputs:
        NaN and features it lacks read as 0, unknown features are ignored."""
        M = np.zeros((len(X), self._width))
        known = [(j, self._index[c]) for j, c in enumerate(X.columns) if c in self._index]
        if known:
            source, target = (list(v) for v in zip(*known))
            M[:, target] = np.nan_to_num(values[:, source], nan=0.0)
        return M

    def _train(self, M, T):
        if len(M):
            self._net.train(M, T, epochs=1, lr=self.lr, batch_size=1)


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
