"""What backprop.river's two models share, apart from River itself: their
common hyper-parameters, the feature numbering, the checks and conversions of
dict samples and pandas frames, and building and growing the network."""
import math

import numpy as np

from ._core import gather
from ._validate import as_int, as_real
from .functions import activation_spec, check_pairing, layer_activations, loss_spec
from .network import Network
from .optim import check_optimizer


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
