"""scikit-learn estimators: ``MLPClassifier`` and ``MLPRegressor``.

Drop-in replacements for ``sklearn.neural_network.MLPClassifier`` and
``MLPRegressor`` (solvers ``"sgd"`` and ``"adam"``) that train a
``backprop.Network``: the same parameter names, defaults, formulas and fitted
attributes, so that from the same initial weights (the same ``random_state``)
a fit gives scikit-learn's parameters, up to floating-point rounding.  Needs
scikit-learn (``pip install 'cybackprop[sklearn]'``), imported only here.

How scikit-learn's formulas map onto the Network's (which are PyTorch's):

* initial weights: scikit-learn's Glorot-uniform draw, from the same
  ``check_random_state(random_state)`` in the same order (a layer's
  coefficients, then its intercepts, layer by layer);
* sample order: ``sklearn.utils.shuffle`` of the sample indices with that
  generator, every epoch; the epoch's permuted rows go to one compiled
  ``Network.train`` call (batches in order), never a Python loop per sample
  or per batch;
* L2 penalty: scikit-learn's gradient is mean ∇E + (alpha / n_batch) W, biases
  not decayed: weight decay alpha / batch_size, and the ``n mod batch_size``
  samples of an epoch's last, smaller batch get equal sample weights that
  scale its decay to alpha / n_batch (``_train_epoch``);
* sample weights: scikit-learn's (Σ s_i ∇E_i + alpha W) / Σ s_i per batch is
  the Network's weighted mini-batch step (``Network.train(sample_weight=)``);
* SGD momentum: scikit-learn's velocity u ← μ u − lr g is −lr times the
  Network's v ← μ v + g, the same while lr is constant; when ``"invscaling"``
  or ``"adaptive"`` changes lr between epochs, the Network's velocity is
  rescaled by lr_old / lr_new, which keeps u (and the updates) unchanged;
* Adam: scikit-learn adds ε to the uncorrected √v
  (w ← w − lr·√(1 − β2ᵗ)/(1 − β1ᵗ) · m / (√v + ε)); the Network's Adam runs in
  that form for these estimators (``backprop.optim._SklearnAdam``).

``loss_curve_`` follows scikit-learn's convention: the mean per-sample loss of
the epoch (squared error also averaged over the outputs, ½ mean (y − ŷ)²) plus
the L2 term ½ alpha ‖W‖² / n_batch of every batch.  The data term is exact.
The L2 term of an epoch's batches is interpolated linearly between the weight
norms before and after the compiled call that trains them (exact when a call
trains one batch, as ``partial_fit`` on one mini-batch and full-batch
training): scikit-learn evaluates it at each batch's own weights, which the
compiled loop does not report.

Beyond scikit-learn's estimators: ``class_weight``, ``activation="leaky_relu"``,
``validation_data=(X_val, y_val)`` in ``fit`` (used by ``early_stopping``
instead of a split when given), ``validation_loss_curve_``, ``callbacks`` and
``threads``.
"""
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import (_check_sample_weight, check_is_fitted, column_or_1d,
                                      validate_data)

from .network import DivergenceError, Network
from .optim import SGD, _SklearnAdam
from .results import History

__all__ = ["MLPClassifier", "MLPRegressor"]


def _is_seed(random_state):
    return isinstance(random_state, Integral) and not isinstance(random_state, bool)


class _BaseMLP(BaseEstimator):
    """The training loop shared by MLPClassifier and MLPRegressor."""

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

    def _sync(self):
        """Copy coefs_/intercepts_ into the network where the user replaced them."""
        params = self.network_.params
        arrays = self.coefs_ + self.intercepts_
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
        still the very object validated last time (partial_fit's common case:
        the validation costs more than training a small batch)."""
        cls = type(self)
        if "_param_names_cache" not in cls.__dict__:
            cls._param_names_cache = tuple(cls._get_param_names())
        values = tuple(getattr(self, name) for name in cls._param_names_cache)
        checked = self.__dict__.get("_checked_params")
        if checked is None or any(a is not b for a, b in zip(values, checked)):
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
        # fresh generator's permutation is kept (seeding costs more than a batch)
        reseeded = incremental and not first_pass and _is_seed(self.random_state)
        random_state = None if reseeded else check_random_state(self.random_state)
        if first_pass:
            self._initialize(layer_units, random_state)
        self.n_layers_ = len(layer_units)
        if not incremental or not hasattr(self, "network_"):
            self._check_coefs(layer_units)
            self._new_network()
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
        y_kinds): then it is skipped, as its checks cost more than training a
        small batch.  Non-finite values are refused here, as validate_data would."""
        plain = (not reset and type(X) is np.ndarray and type(y) is np.ndarray
                 and X.ndim == 2 and X.dtype in (np.float64, np.float32)
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

    def _optimizer(self, weight_decay):
        if self.solver == "sgd":
            return SGD(momentum=self.momentum,
                       nesterov=bool(self.nesterovs_momentum and self.momentum > 0),
                       weight_decay=weight_decay)
        return _SklearnAdam(beta1=self.beta_1, beta2=self.beta_2, eps=self.epsilon,
                            weight_decay=weight_decay)

    def _set_lr(self, lr):
        """scikit-learn's SGD keeps its velocity u = −lr v across a change of lr:
        rescale the Network's v so that u stays the same."""
        state = self.network_._model.state1
        if self.solver == "sgd" and self.momentum > 0 and state is not None and lr != self._lr:
            state *= self._lr / lr
        self._lr = lr

    def _weights_sq(self):
        """‖W‖² over every layer's weights (not the biases)."""
        params, sizes = self.network_.params, self.network_.sizes
        cached = self.__dict__.get("_weight_mask")
        if cached is None or cached[0] != sizes:
            mask = np.zeros_like(params)
            for W, off in zip(self.network_.weights, self.network_._model.offsets[0]):
                mask[off:off + W.size] = 1.0
            cached = self._weight_mask = (sizes, mask)
        return float(np.dot(params * cached[1], params))

    def _train_epoch(self, X, Y, w, batch_size):
        """One epoch over rows X, Y (sample weights w, or None) in batches of
        batch_size, in one compiled call; returns scikit-learn's accumulated
        loss of its batches (Σ batch loss × batch size).

        scikit-learn's batch gradient with weights s_i is (Σ s_i ∇E_i + alpha W) /
        Σ s_i: the Network's weighted step ∇[mean s_i E_i + ½ λ ‖W‖²] / s̄ with
        λ = alpha / batch_size (see ``Network.train``).  Without weights the last,
        smaller batch of r samples still needs alpha / r: its samples get the
        weight r / batch_size (and user weights are multiplied by it), which
        leaves the batch's data term alone and makes its s̄ · batch_size its Σ s_i.
        A batch of one sample s gives ∇E + (alpha / s) W, the unweighted step
        with weight decay alpha / s."""
        n = X.shape[0]
        starts = np.arange(0, n, batch_size)
        n_batches = len(starts)
        decay = self.alpha / batch_size
        sizes = np.minimum(batch_size, n - starts)
        # n_b / Σ_b s of each batch: its share of scikit-learn's L2 term
        inv_mean = np.ones(n_batches) if w is None else sizes / np.add.reduceat(w, starts)
        last = int(sizes[-1])
        if batch_size > 1 and last < batch_size and (self.alpha or w is not None):
            w = np.ones(n) if w is None else w.copy()
            w[n - last:] *= last / batch_size
        if w is not None and batch_size == 1:
            if not (w > 0).all():
                raise ValueError("sample_weight: a batch of one sample needs a positive weight "
                                 "(scikit-learn divides by it)")
            if self.alpha and (w != w[0]).any():
                raise ValueError("sample_weight with batch_size=1 and alpha > 0 gives every "
                                 "sample its own weight decay alpha / weight, which needs one "
                                 "compiled call per sample; use batch_size > 1, alpha=0 or equal "
                                 "weights")
            decay = self.alpha / w[0]
            w = None
        before = self._weights_sq() if self.alpha else 0.0
        threads = self.threads if batch_size > 1 else 1
        try:
            hist = self.network_.train(X, Y, epochs=1, lr=self._lr, batch_size=batch_size,
                                       optimizer=self._optimizer(decay), threads=threads,
                                       sample_weight=w)
        except DivergenceError as exc:
            raise ValueError("Solver produced non-finite parameter weights. The input data may "
                             "contain large values and need to be preprocessed.") from exc
        if hist.stop_reason == "interrupted":
            # Network.train turned Ctrl-C into an early return: stop as scikit-learn does
            raise KeyboardInterrupt
        loss = float(hist.loss[0]) * n * self._data_loss_scale()
        if self.alpha:
            # Σ_b ½ alpha ‖W_b‖² n_b / Σ_b s, ‖W_b‖² interpolated linearly from
            # `before` (b = 0) to the norm after the call (b = n_batches)
            norms = np.full(n_batches, before)
            if n_batches > 1:
                norms += (self._weights_sq() - before) * np.arange(n_batches) / n_batches
            loss += 0.5 * self.alpha * float(np.dot(norms, inv_mean))
        return loss

    def _validation_loss(self, X_val, Y_val, w_val):
        losses = np.empty(X_val.shape[0])
        self.network_._model.sample_losses(X_val, Y_val, losses)
        return float(np.average(losses, weights=w_val)) * self._data_loss_scale()

    def _fit_stochastic(self, X, Y, sample_weight, validation_data, random_state, incremental):
        early_stopping = self.early_stopping
        X_val = y_val = Y_val = w_val = None
        if validation_data is not None:
            X_val, y_val = validation_data
            Y_val = self._targets(y_val)
        elif early_stopping:
            # as scikit-learn: stratified for single-output classification only
            stratify = Y if self._stratify() else None
            if sample_weight is None:
                X, X_val, Y, Y_val = train_test_split(X, Y, random_state=random_state,
                                                      test_size=self.validation_fraction,
                                                      stratify=stratify)
            else:
                X, X_val, Y, Y_val, sample_weight, w_val = train_test_split(
                    X, Y, sample_weight, random_state=random_state,
                    test_size=self.validation_fraction, stratify=stratify)
            if X_val.shape[0] < 2:
                raise ValueError("The validation set is too small. Increase "
                                 "'validation_fraction' or the size of your dataset.")
            y_val = self._labels(Y_val)
        if Y_val is not None:
            X_val = np.ascontiguousarray(X_val, dtype=np.float64)
            Y_val = np.ascontiguousarray(Y_val, dtype=np.float64)
            if self.validation_scores_ is None:
                self.validation_scores_ = []
        X = np.ascontiguousarray(X, dtype=np.float64)
        Y = np.ascontiguousarray(Y, dtype=np.float64)
        n_samples = X.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                              "going to be clipped")
            batch_size = int(np.clip(self.batch_size, 1, n_samples))
        sample_idx = np.arange(n_samples, dtype=int)
        callbacks = list(self.callbacks or ())
        for cb in callbacks:
            if hasattr(cb, "on_train_begin"):
                cb.on_train_begin()
        curve_start = len(self.loss_curve_)
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                w_epoch = sample_weight
                if self.shuffle:
                    # sklearn.utils.shuffle(sample_idx, random_state=random_state),
                    # without its argument checks: the same draw, the same order
                    if random_state is None:
                        perm = self._seeded_permutation(n_samples)
                    else:
                        perm = np.arange(n_samples)
                        random_state.shuffle(perm)
                    sample_idx = sample_idx[perm]
                    X_epoch, Y_epoch = X[sample_idx], Y[sample_idx]
                    if sample_weight is not None:
                        w_epoch = sample_weight[sample_idx]
                else:
                    X_epoch, Y_epoch = X, Y
                accumulated = self._train_epoch(X_epoch, Y_epoch, w_epoch, batch_size)
                self.n_iter_ += 1
                self.loss_ = accumulated / n_samples
                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
                if Y_val is not None:
                    self.validation_loss_curve_.append(self._validation_loss(X_val, Y_val, w_val))
                self._update_no_improvement_count(early_stopping, X_val, y_val, w_val)
                if self.solver == "sgd" and self.learning_rate == "invscaling":
                    self._set_lr(float(self.learning_rate_init) / (self.t_ + 1) ** self.power_t)
                if self._no_improvement_count > self.n_iter_no_change:
                    target = "Validation score" if early_stopping else "Training loss"
                    msg = (f"{target} did not improve more than tol={self.tol:f} for "
                           f"{self.n_iter_no_change} consecutive epochs.")
                    if self._trigger_stopping(msg):
                        break
                    self._no_improvement_count = 0
                if callbacks and self._run_callbacks(callbacks, curve_start):
                    break
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn("Stochastic Optimizer: Maximum iterations (%d) reached and the "
                                  "optimization hasn't converged yet." % self.max_iter,
                                  ConvergenceWarning)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
        finally:
            for cb in callbacks:
                if hasattr(cb, "on_train_end"):
                    cb.on_train_end(self.network_)
        if early_stopping:
            for W, c in zip(self.network_.weights, self._best_coefs):
                W[...] = c.T
            for b, c in zip(self.network_.biases, self._best_intercepts):
                b[...] = c

    def _run_callbacks(self, callbacks, curve_start):
        """backprop's callbacks f(epoch, history, network) after an epoch, with a
        History of this call's curves (in scikit-learn's loss convention)."""
        history = History(loss=np.array(self.loss_curve_[curve_start:]),
                          val_loss=np.array(self.validation_loss_curve_[curve_start:]),
                          epoch=np.arange(self.n_iter_, dtype=np.int64))
        for cb in callbacks:
            if cb(self.n_iter_ - 1, history, self.network_):
                return True
        return False

    def _trigger_stopping(self, msg):
        if self.solver == "sgd" and self.learning_rate == "adaptive":
            if self._lr <= 1e-6:
                if self.verbose:
                    print(msg + " Learning rate too small. Stopping.")
                return True
            self._set_lr(self._lr / 5.0)
            if self.verbose:
                print(msg + " Setting learning rate to %f" % self._lr)
            return False
        if self.verbose:
            print(msg + " Stopping.")
        return True

    def _update_no_improvement_count(self, early_stopping, X_val, y_val, w_val):
        if X_val is not None:
            pred = self._predict_labels(self.network_.predict(X_val))
            score = (np.nan if np.issubdtype(pred.dtype, np.floating) and not np.isfinite(pred).all()
                     else self._score_function(y_val, pred, sample_weight=w_val))
            self.validation_scores_.append(score)
            if self.verbose:
                print("Validation score: %f" % score)
        if early_stopping:
            score = self.validation_scores_[-1]
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_coefs = [c.copy() for c in self.coefs_]
                self._best_intercepts = [b.copy() for b in self.intercepts_]
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    # --------------------------------------------------------------- pickling
    def __setstate__(self, state):
        super().__setstate__(state)
        if "network_" in self.__dict__:
            self._sync()


_SHARED_DOC = """
    Parameters are scikit-learn's (same names, defaults and meaning; solvers
    "sgd" and "adam" only), plus:

    activation : also "leaky_relu" (slope 0.01) for the hidden layers.
    callbacks : list of backprop callbacks ``f(epoch, history, network)``
        (``backprop.callbacks``), run after every epoch; a true result stops
        training.  ``history.loss`` is this call's ``loss_curve_`` and
        ``history.val_loss`` its ``validation_loss_curve_``.
    threads : int, default=1.  Threads that share each mini-batch (the
        Network's ``train(threads=...)``): the same bits as one thread with
        the kernels' own loops, the same up to rounding with BLAS.

    ``fit`` also takes ``validation_data=(X_val, y_val)``: scored after every
    epoch (``validation_scores_``, ``validation_loss_curve_``) and, with
    ``early_stopping=True``, used instead of a ``validation_fraction`` split.

    Fitted attributes are scikit-learn's (``coefs_`` fan_in × fan_out,
    ``intercepts_``, ``loss_curve_``, ``n_iter_``, ``t_``, ...) plus
    ``network_``, the trained ``backprop.Network`` whose parameters
    ``coefs_``/``intercepts_`` are views of, and ``validation_loss_curve_``,
    the validation loss after every epoch (without the L2 term).  Parameters
    are float64 whatever the input dtype.
"""


class MLPClassifier(ClassifierMixin, _BaseMLP):
    __doc__ = """Multi-layer perceptron classifier (scikit-learn's, trained by backprop).

    Binary and multilabel targets get logistic outputs, multiclass targets a
    softmax output, all with cross-entropy.

    class_weight : dict {class: weight}, "balanced" or None (scikit-learn's
        meaning, as in ``compute_sample_weight``): each sample's weight is
        multiplied by its class's; "balanced" is refused by ``partial_fit``.
    """ + _SHARED_DOC

    _parameter_constraints: dict = {
        **_BaseMLP._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }
    _network_loss = "cross_entropy"

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, class_weight=None,
                 callbacks=None, threads=1):
        self.class_weight = class_weight
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change,
            callbacks=callbacks, threads=threads)

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over (X, y) (one compiled call for its full batches);
        ``classes`` is required on the first call."""
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)

    def _sample_weight(self, sample_weight, X, y, incremental):
        sample_weight = super()._sample_weight(sample_weight, X, y, incremental)
        if self.class_weight is None:
            return sample_weight
        if incremental and self.class_weight == "balanced":
            raise ValueError("class_weight='balanced' is not supported by partial_fit (the "
                             "classes' frequencies are not known from one batch); pass a dict "
                             "{class: weight}")
        weights = compute_sample_weight(self.class_weight, y)
        return weights if sample_weight is None else weights * sample_weight

    def _validate_input(self, X, y, incremental, reset):
        if not (incremental and self._passes_as_is(X, y, reset, "biuUSO")):
            X, y = validate_data(self, X, y, multi_output=True, dtype=(np.float64, np.float32),
                                 reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        elif incremental and not self.warm_start and self._one_hot_applies(y):
            return X, self._one_hot(y)
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError("warm_start can only be used where `y` has the same classes "
                                     f"as in the previous call to fit. Previously got "
                                     f"{self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError("`y` has classes not in `self.classes_`. `self.classes_` has "
                                 f"{self.classes_}. 'y' has {classes}.")
        # bool, as scikit-learn (its early-stopping split stratifies on these values)
        return X, self._label_binarizer.transform(y).astype(bool)

    def _one_hot_applies(self, y):
        """Whether _one_hot encodes y as the label binarizer would: labels of a
        binary or multiclass problem of at least two classes, given as a 1-D array."""
        return (y.ndim == 1 and len(self.classes_) >= 2
                and self._label_binarizer.y_type_ in ("binary", "multiclass")
                and y.dtype.kind == self.classes_.dtype.kind)

    def _one_hot(self, y):
        """LabelBinarizer.transform(y).astype(bool) for partial_fit's labels by a
        search in the sorted classes_ (the binarizer's checks cost more than a
        small mini-batch's training); a label not in classes_ is refused."""
        classes = self.classes_
        idx = np.searchsorted(classes, y)
        known = classes[np.minimum(idx, len(classes) - 1)] == y
        if not known.all():
            raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                             f"{classes}. 'y' has {np.unique(y)}.")
        if len(classes) == 2:
            return (idx == 1).reshape(-1, 1)
        Y = np.zeros((len(y), len(classes)), dtype=bool)
        Y[np.arange(len(y)), idx] = True
        return Y

    def _set_output_activation(self):
        self.out_activation_ = ("softmax" if self._label_binarizer.y_type_ == "multiclass"
                                else "logistic")

    def _stratify(self):
        return self.n_outputs_ == 1

    def _targets(self, y):
        return self._label_binarizer.transform(y).astype(np.float64)

    def _labels(self, Y):
        return self._label_binarizer.inverse_transform(Y)

    def _predict_labels(self, out):
        return self._label_binarizer.inverse_transform(out.ravel() if self.n_outputs_ == 1 else out)

    @staticmethod
    def _score_function(y, pred, sample_weight=None):
        return accuracy_score(y, pred, sample_weight=sample_weight)

    def predict(self, X):
        """The predicted classes (n_samples,), or (n_samples, n_classes) for multilabel."""
        return self._predict_labels(self._predict_raw(X))

    def predict_proba(self, X):
        """Probability of each class (n_samples, n_classes), in the order of ``classes_``."""
        out = self._predict_raw(X)
        if self.n_outputs_ == 1:
            p = out.ravel()
            return np.vstack([1 - p, p]).T
        return out

    def predict_log_proba(self, X):
        """log(predict_proba(X))."""
        p = self.predict_proba(X)
        return np.log(p, out=p)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = """Multi-layer perceptron regressor (scikit-learn's, trained by backprop).

    Identity outputs with the squared error, one or many outputs.  ``loss``
    is "squared_error" only (scikit-learn's "poisson" needs an exp output,
    which the Network lacks).
    """ + _SHARED_DOC

    _parameter_constraints: dict = {
        **_BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error"})],
    }
    _network_loss = "squared"

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, callbacks=None,
                 threads=1):
        self.loss = loss
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change,
            callbacks=callbacks, threads=threads)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y) (one compiled call for its full batches)."""
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)

    def _validate_input(self, X, y, incremental, reset):
        if not (incremental and self._passes_as_is(X, y, reset, "fiu")):
            X, y = validate_data(self, X, y, multi_output=True, y_numeric=True,
                                 dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y.reshape(-1, 1) if y.ndim == 1 else y

    def _set_output_activation(self):
        self.out_activation_ = "identity"

    def _stratify(self):
        return False

    def _targets(self, y):
        y = np.asarray(y, dtype=np.float64)
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def _labels(self, Y):
        return Y.ravel() if Y.shape[1] == 1 else Y

    def _predict_labels(self, out):
        return out.ravel() if out.shape[1] == 1 else out

    @staticmethod
    def _score_function(y, pred, sample_weight=None):
        return r2_score(y, pred, sample_weight=sample_weight)

    def predict(self, X):
        """The predicted values (n_samples,), or (n_samples, n_outputs)."""
        return self._predict_labels(self._predict_raw(X))
