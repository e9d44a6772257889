"""The shared base of backprop.sklearn's estimators: scikit-learn's parameters,
the network built from ``coefs_``/``intercepts_`` (and kept in step with
them), input validation, and ``fit``."""
from numbers import Integral, Real
from operator import attrgetter, is_

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import (_check_sample_weight, check_is_fitted, column_or_1d,
                                      validate_data)

from ._sklearn_loop import _EpochLoop
from .network import Network


def _is_seed(random_state):
    return isinstance(random_state, Integral) and not isinstance(random_state, bool)


class _BaseMLP(_EpochLoop, BaseEstimator):
    """What MLPClassifier and MLPRegressor share; each adds its task's targets,
    output layer and scoring."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions({"identity", "logistic", "tanh", "relu", "leaky_relu"})],
        "solver": [StrOptions({"sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        # [0, 1): the Network's SGD refuses momentum 1 (velocities that never decay)
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "callbacks": [list, tuple, None],
        "threads": [Interval(Integral, 1, 256, closed="both")],
    }

    def __init__(self, hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate,
                 learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose,
                 warm_start, momentum, nesterovs_momentum, early_stopping, validation_fraction,
                 beta_1, beta_2, epsilon, n_iter_no_change, callbacks, threads):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.callbacks = callbacks
        self.threads = threads

    # ------------------------------------------------------------ the network
    def _init_coef(self, fan_in, fan_out, random_state):
        """scikit-learn's initialisation (Glorot et al.): uniform on ±√(f / (fan_in +
        fan_out)) with f = 2 for logistic hidden units, else 6; coefficients first."""
        factor = 2.0 if self.activation == "logistic" else 6.0
        bound = np.sqrt(factor / (fan_in + fan_out))
        coef = random_state.uniform(-bound, bound, (fan_in, fan_out))
        intercept = random_state.uniform(-bound, bound, fan_out)
        return coef, intercept

    def _initialize(self, layer_units, random_state):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_layers_ = len(layer_units)
        self.coefs_, self.intercepts_ = [], []
        for fan_in, fan_out in zip(layer_units, layer_units[1:]):
            coef, intercept = self._init_coef(fan_in, fan_out, random_state)
            self.coefs_.append(coef)
            self.intercepts_.append(intercept)
        self._best_coefs = [c.copy() for c in self.coefs_]
        self._best_intercepts = [b.copy() for b in self.intercepts_]
        self.loss_curve_ = []
        self.validation_loss_curve_ = []
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None

    def _check_coefs(self, layer_units):
        """coefs_ and intercepts_ (perhaps set by the user) fit the layer widths."""
        for name, arrays, shapes in (
                ("coefs_", self.coefs_, list(zip(layer_units, layer_units[1:]))),
                ("intercepts_", self.intercepts_, [(n,) for n in layer_units[1:]])):
            if len(arrays) != len(shapes):
                raise ValueError(f"{name} must hold {len(shapes)} arrays for layers {layer_units}, "
                                 f"got {len(arrays)}")
            for l, (a, shape) in enumerate(zip(arrays, shapes)):
                if np.shape(a) != shape:
                    raise ValueError(f"{name}[{l}] must have shape {shape} for layers "
                                     f"{layer_units}, got {np.shape(a)}")

    def _new_network(self):
        """A Network with the current coefs_/intercepts_ and a fresh optimiser state."""
        activations = [self.activation] * (self.n_layers_ - 2) + [self.out_activation_]
        net = Network.from_weights([np.asarray(c, dtype=np.float64).T for c in self.coefs_],
                                   [np.asarray(b, dtype=np.float64) for b in self.intercepts_],
                                   activation=activations, loss=self._network_loss, seed=0)
        self.network_ = net
        self._link()

    def _link(self):
        """coefs_ and intercepts_ become views of the network's parameters:
        coefs_[l] is W_l transposed (fan_in × fan_out)."""
        self.coefs_ = [W.T for W in self.network_.weights]
        self.intercepts_ = list(self.network_.biases)
        self._linked = (self.network_.params, self.coefs_ + self.intercepts_)

    def _sync(self):
        """Copy coefs_/intercepts_ into the network where the user replaced them.
        The arrays _link made, of the parameter vector the network still
        holds, need nothing (the network copies into that vector, never
        replaces it, while the layer widths stay)."""
        params = self.network_.params
        arrays = self.coefs_ + self.intercepts_
        linked = self.__dict__.get("_linked")
        if linked is not None and linked[0] is params and len(arrays) == len(linked[1]) \
                and all(map(is_, arrays, linked[1])):
            return
        if all(isinstance(a, np.ndarray) and np.may_share_memory(a, params) for a in arrays):
            return
        self._check_coefs(list(self.network_.sizes))
        for W, c in zip(self.network_.weights, self.coefs_):
            W[...] = np.asarray(c).T
        for b, c in zip(self.network_.biases, self.intercepts_):
            b[...] = c
        self._link()

    def _predict_raw(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        self._sync()
        return self.network_.predict(np.ascontiguousarray(X, dtype=np.float64))

    # --------------------------------------------------------------- training
    def _data_loss_scale(self):
        """Factor from the Network's per-sample loss to scikit-learn's: its squared
        error is averaged over the outputs, its log-losses are not."""
        return 1.0 / self.n_outputs_ if self._network_loss == "squared" else 1.0

    def _check_params(self):
        """scikit-learn's parameter validation, skipped when every parameter is
        still the very object validated last time (partial_fit's common case):
        validating the same objects again cannot give another answer."""
        cls = type(self)
        if "_param_getter" not in cls.__dict__:
            cls._param_getter = attrgetter(*cls._get_param_names())
        values = cls._param_getter(self)
        checked = self.__dict__.get("_checked_params")
        if checked is None or not all(map(is_, values, checked)):
            self._validate_params()
            self._checked_params = values

    def fit(self, X, y, sample_weight=None, *, validation_data=None):
        """Fit the model to data matrix X and target(s) y; returns self.
        sample_weight: one weight >= 0 per sample (scikit-learn's meaning: a
        batch's gradient is (Σ s_i ∇E_i + alpha W) / Σ s_i); validation_data:
        (X_val, y_val), see the class docstring."""
        return self._fit(X, y, incremental=False, sample_weight=sample_weight,
                         validation_data=validation_data)

    def _fit(self, X, y, incremental, sample_weight=None, validation_data=None):
        self._check_params()
        hidden = self.hidden_layer_sizes
        hidden = list(hidden) if hasattr(hidden, "__iter__") else [hidden]
        if not all(isinstance(h, Integral) and not isinstance(h, bool) and h > 0 for h in hidden):
            raise ValueError(f"hidden_layer_sizes must be positive integers, got {hidden}")
        hidden = [int(h) for h in hidden]
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        sample_weight = self._sample_weight(sample_weight, X, y, incremental)
        if validation_data is not None:
            validation_data = self._validate_validation_data(validation_data)
        n_samples, n_features = X.shape
        self.n_outputs_ = Y.shape[1]
        layer_units = [n_features] + hidden + [self.n_outputs_]
        self._set_output_activation()
        # scikit-learn starts check_random_state(random_state) afresh in every call;
        # a later partial_fit with an int seed only shuffles with it, and that
        # fresh generator's permutation is kept, so that no call seeds a generator
        reseeded = incremental and not first_pass and _is_seed(self.random_state)
        random_state = None if reseeded else check_random_state(self.random_state)
        if first_pass:
            self._initialize(layer_units, random_state)
        self.n_layers_ = len(layer_units)
        if not incremental or not hasattr(self, "network_"):
            self._check_coefs(layer_units)
            self._new_network()
            self._take_solver()
            self._lr = float(self.learning_rate_init)
        else:
            self._sync()
        self._fit_stochastic(X, Y, sample_weight, validation_data, random_state, incremental)
        return self

    def _seeded_permutation(self, n):
        """The permutation of n samples that a fresh check_random_state(seed)
        draws first, for an int seed (kept per n)."""
        key = (self.random_state, n)
        cached = self.__dict__.get("_first_permutation")
        if cached is None or cached[0] != key:
            perm = np.arange(n)
            check_random_state(self.random_state).shuffle(perm)
            cached = self._first_permutation = (key, perm)
        return cached[1]

    def _sample_weight(self, sample_weight, X, y, incremental):
        """The checked sample weights (times the class weights), or None."""
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        return sample_weight

    def _passes_as_is(self, X, y, reset, y_kinds):
        """Whether validate_data would pass X and y through unchanged (a later
        partial_fit with plain float arrays of the fitted width, 1-D y of one of
        y_kinds): then it is skipped, as it could only return them as they are.
        Non-finite values are refused here, as validate_data would."""
        plain = (not reset and type(X) is np.ndarray and type(y) is np.ndarray
                 and X.ndim == 2 and X.dtype.char in "df"
                 and X.shape[0] > 0 and X.shape[1] == self.n_features_in_
                 and "feature_names_in_" not in self.__dict__
                 and y.ndim == 1 and y.shape[0] == X.shape[0] and y.dtype.kind in y_kinds)
        if plain:
            for name, a in (("X", X), ("y", y)):
                if a.dtype.kind == "f" and not np.isfinite(a).all():
                    raise ValueError(f"Input {name} contains NaN or infinity.")
        return plain

    def _validate_validation_data(self, validation_data):
        if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
            raise TypeError("validation_data must be a pair (X_val, y_val), got "
                            f"{type(validation_data).__name__}")
        X_val, y_val = validation_data
        X_val = validate_data(self, X_val, dtype=(np.float64, np.float32), reset=False)
        y_val = np.asarray(y_val)
        if y_val.shape[0] != X_val.shape[0]:
            raise ValueError(f"validation_data: X_val has {X_val.shape[0]} samples but y_val has "
                             f"{y_val.shape[0]}")
        if y_val.ndim == 2 and y_val.shape[1] == 1:
            y_val = column_or_1d(y_val)
        return np.ascontiguousarray(X_val, dtype=np.float64), y_val

    # --------------------------------------------------------------- pickling
    def __getstate__(self):
        # _linked names this process's arrays; a copy relinks in __setstate__
        state = super().__getstate__()
        return {k: v for k, v in state.items() if k != "_linked"}

    def __setstate__(self, state):
        super().__setstate__(state)
        if "network_" in self.__dict__:
            self._sync()
