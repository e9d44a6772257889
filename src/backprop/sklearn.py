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
the L2 term ½ alpha ‖W‖² / n_batch of every batch, at the weights before that
batch's update: the compiled loop adds up each batch's L2 term as it trains
(``History.penalty``).

Beyond scikit-learn's estimators: ``class_weight``, ``activation="leaky_relu"``,
``validation_data=(X_val, y_val)`` in ``fit`` (used by ``early_stopping``
instead of a split when given), ``validation_loss_curve_``, ``callbacks`` and
``threads``.
"""
import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d, validate_data

from ._sklearn_base import _BaseMLP

__all__ = ["MLPClassifier", "MLPRegressor"]


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
        ``classes`` is required on the first call.  As in scikit-learn, the
        solver settings (solver, learning rates, momentum, Adam's betas and
        epsilon) are those of the call that built the network (``fit`` or the
        first ``partial_fit``); ``alpha`` and ``batch_size`` are read at every
        call."""
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
        """The targets LabelBinarizer.transform(y) gives, as float64, for
        partial_fit's labels, by a search in the sorted classes_ (the
        binarizer's type checks were done when it was fitted); a label not in
        classes_ is refused."""
        classes = self.classes_
        idx = classes.searchsorted(y)
        if not (classes.take(idx, mode="clip") == y).all():
            raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                             f"{classes}. 'y' has {np.unique(y)}.")
        if len(classes) == 2:
            return idx.astype(np.float64).reshape(-1, 1)
        cached = self.__dict__.get("_identity")
        if cached is None or len(cached) != len(classes):
            cached = self._identity = np.eye(len(classes))
        return cached[idx]

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
        """One epoch over (X, y) (one compiled call for its full batches); the
        solver settings are those of the call that built the network, as in
        ``MLPClassifier.partial_fit``."""
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
