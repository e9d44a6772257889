"""The epoch loop of backprop.sklearn's estimators (a mixin of ``_BaseMLP``):
scikit-learn's stochastic solver, one compiled ``Network.train`` call per
epoch, with its loss curve, early stopping, learning-rate schedules and
callbacks.  The formulas it maps are listed in ``backprop.sklearn``'s
docstring."""
import warnings
from collections import namedtuple

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from . import training
from .network import DivergenceError
from .optim import SGD, _SklearnAdam
from .results import History


# The solver's settings, as scikit-learn's optimiser object holds them: taken
# when the network is built (fit, or a first partial_fit) and kept by later
# partial_fit calls, whatever set_params changes in between (as scikit-learn,
# which builds its optimiser only then).  alpha is read at every call.
_Solver = namedtuple("_Solver", "solver learning_rate_init learning_rate power_t momentum "
                                "nesterovs_momentum beta_1 beta_2 epsilon")


class _EpochLoop:
    """Training of a _BaseMLP whose network_ is built: epochs, their loss,
    the stopping rules.  Reads the estimator's parameters and fitted state."""

    def _take_solver(self):
        self._solver = _Solver(*(getattr(self, name) for name in _Solver._fields))

    def _optimizer(self, weight_decay):
        """The Network optimiser of the solver settings of this network's start
        (``_solver``) with this weight decay, or None when the network already
        has it (then ``Network.train`` keeps the one it has; it is the same
        object, so nothing is re-configured)."""
        key = (self._solver, weight_decay)
        cached = self.__dict__.get("_optimizer_cache")
        if cached is None or cached[0] != key:
            s = self._solver
            if s.solver == "sgd":
                optimizer = SGD(momentum=s.momentum,
                                nesterov=bool(s.nesterovs_momentum and s.momentum > 0),
                                weight_decay=weight_decay)
            else:
                optimizer = _SklearnAdam(beta1=s.beta_1, beta2=s.beta_2, eps=s.epsilon,
                                         weight_decay=weight_decay)
            cached = self._optimizer_cache = (key, optimizer)
        return None if self.network_.optimizer is cached[1] else cached[1]

    def _set_lr(self, lr):
        """scikit-learn's SGD keeps its velocity u = −lr v across a change of lr:
        rescale the Network's v so that u stays the same."""
        state = self.network_._model.state1
        s = self._solver
        if s.solver == "sgd" and s.momentum > 0 and state is not None and lr != self._lr:
            state *= self._lr / lr
        self._lr = lr

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
        with weight decay alpha / s.

        So each batch's weight decay is scikit-learn's alpha / Σ s_i, and its
        share of the loss, ½ alpha ‖W‖² n_b / Σ s_i taken before its update, is
        n_b times the step's L2 term: n ``History.penalty``."""
        n = X.shape[0]
        decay = self.alpha / batch_size
        last = n - (n - 1) // batch_size * batch_size
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
        threads = self.threads if batch_size > 1 else 1
        optimizer = self._optimizer(decay)
        try:
            hist = training.train(self.network_, X, Y, epochs=1, lr=self._lr,
                                  batch_size=batch_size, optimizer=optimizer, shuffle=False,
                                  seed=None, validation=None, validation_split=None,
                                  target_loss=None, callbacks=(), record_every=None,
                                  progress=False, threads=threads, sample_weight=w,
                                  penalty=bool(self.alpha))
        except DivergenceError as exc:
            raise ValueError("Solver produced non-finite parameter weights. The input data may "
                             "contain large values and need to be preprocessed.") from exc
        if hist.stop_reason == "interrupted":
            # Network.train turned Ctrl-C into an early return: stop as scikit-learn does
            raise KeyboardInterrupt
        loss = float(hist.loss[0]) * n * self._data_loss_scale()
        if self.alpha:
            loss += float(hist.penalty[0]) * n
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
            batch_size = max(1, min(int(self.batch_size), n_samples))
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
                s = self._solver
                if s.solver == "sgd" and s.learning_rate == "invscaling":
                    self._set_lr(float(s.learning_rate_init) / (self.t_ + 1) ** s.power_t)
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
        if self._solver.solver == "sgd" and self._solver.learning_rate == "adaptive":
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
