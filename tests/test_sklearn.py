"""backprop.sklearn against scikit-learn itself: the same fits from the same
random_state, scikit-learn's estimator checks, pipelines and searches."""
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason="backprop.sklearn needs scikit-learn")

from sklearn import neural_network as sknn  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.metrics import accuracy_score, log_loss  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from backprop.callbacks import EarlyStopping  # noqa: E402
from backprop.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

# From the same initial weights the two implementations do the same float64
# operations up to rounding (exp/tanh/BLAS summation order): parameters of
# order 1 agree to this after a few epochs.
ATOL = 1e-12


@pytest.fixture(autouse=True)
def _no_convergence_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return X[:400], y[:400]


@pytest.fixture(scope="module")
def regression():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(230, 6))
    Y = np.c_[np.sin(X[:, 0]) + X[:, 1] * X[:, 2], X[:, 3] ** 2 - X[:, 4]]
    return X, Y


def assert_same_fit(ours, theirs, loss_rtol=1e-12):
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.t_ == theirs.t_
    assert ours.n_layers_ == theirs.n_layers_ and ours.n_outputs_ == theirs.n_outputs_
    assert ours.out_activation_ == theirs.out_activation_
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=0, atol=ATOL)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=loss_rtol)
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=loss_rtol)


SGD_CONFIGS = [
    dict(solver="sgd"),                                             # Nesterov momentum 0.9
    dict(solver="sgd", nesterovs_momentum=False),
    dict(solver="sgd", momentum=0.0),
    dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.5),
    dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.5,
         nesterovs_momentum=False),
    dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.5, momentum=0.0),
    # tol large: every epoch fails to improve, so lr is divided by 5 again and again
    dict(solver="sgd", learning_rate="adaptive", tol=10.0, n_iter_no_change=1),
    dict(solver="sgd", learning_rate="adaptive", tol=10.0, n_iter_no_change=1,
         nesterovs_momentum=False),
]
ADAM_CONFIGS = [
    dict(solver="adam"),
    dict(solver="adam", beta_1=0.5, beta_2=0.9, epsilon=1e-4, learning_rate_init=0.01),
]


@pytest.mark.parametrize("alpha", [0.0, 0.01])
@pytest.mark.parametrize("config", SGD_CONFIGS + ADAM_CONFIGS, ids=repr)
def test_classifier_fit_matches_sklearn(digits, config, alpha):
    X, y = digits
    # 400 samples in batches of 64: six full batches and a remainder of 16
    params = dict(hidden_layer_sizes=(15, 10), activation="tanh", batch_size=64, max_iter=12,
                  random_state=0, alpha=alpha, **config)
    theirs = sknn.MLPClassifier(**params).fit(X, y)
    ours = MLPClassifier(**params).fit(X, y)
    # the L2 term too is each batch's, taken before its update in the core
    assert_same_fit(ours, theirs)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=0, atol=ATOL)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    if config.get("learning_rate", "constant") != "constant":
        assert theirs._optimizer.learning_rate < theirs.learning_rate_init     # lr did change
        assert ours._lr == pytest.approx(theirs._optimizer.learning_rate, rel=1e-15)


@pytest.mark.parametrize("activation", ["relu", "logistic", "identity"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_regressor_fit_matches_sklearn(regression, solver, activation):
    X, Y = regression
    params = dict(hidden_layer_sizes=(12,), activation=activation, solver=solver, max_iter=10,
                  learning_rate_init=0.01, batch_size=50, random_state=1)
    theirs = sknn.MLPRegressor(**params).fit(X, Y)
    ours = MLPRegressor(**params).fit(X, Y)
    assert_same_fit(ours, theirs, loss_rtol=1e-6)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=0, atol=ATOL)
    one = dict(params, alpha=0.0)
    theirs = sknn.MLPRegressor(**one).fit(X, Y[:, 0])
    ours = MLPRegressor(**one).fit(X, Y[:, 0])
    assert_same_fit(ours, theirs)
    assert ours.predict(X).shape == (len(X),)


def test_default_settings_and_convergence_match_sklearn(digits):
    """Defaults (adam, relu, 100 units, batch 200, tol 1e-4) until scikit-learn's
    stopping rule ends the fit: the same epoch, the same weights."""
    X, y = digits
    theirs = sknn.MLPClassifier(random_state=0, max_iter=300).fit(X, y)
    ours = MLPClassifier(random_state=0, max_iter=300).fit(X, y)
    assert theirs.n_iter_ < 300
    assert_same_fit(ours, theirs, loss_rtol=1e-7)
    assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=1e-7)


def test_binary_and_multilabel_match_sklearn(digits):
    X, y = digits
    params = dict(hidden_layer_sizes=(8,), solver="sgd", max_iter=8, random_state=2,
                  batch_size=100, learning_rate_init=0.05)
    labels = np.where(y % 2 == 0, "even", "odd")
    theirs = sknn.MLPClassifier(**params).fit(X, labels)
    ours = MLPClassifier(**params).fit(X, labels)
    assert ours.out_activation_ == "logistic" and ours.n_outputs_ == 1
    assert_same_fit(ours, theirs, loss_rtol=1e-6)
    np.testing.assert_array_equal(ours.classes_, ["even", "odd"])
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    assert ours.predict_proba(X).shape == (len(X), 2)
    np.testing.assert_allclose(ours.predict_log_proba(X), np.log(ours.predict_proba(X)))

    Y = np.c_[y % 2, y > 4, y % 3 == 0].astype(int)
    theirs = sknn.MLPClassifier(**params).fit(X, Y)
    ours = MLPClassifier(**params).fit(X, Y)
    assert_same_fit(ours, theirs, loss_rtol=1e-6)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    assert ours.predict(X).shape == Y.shape


def test_early_stopping_matches_sklearn(digits):
    X, y = digits
    params = dict(hidden_layer_sizes=(10,), solver="sgd", early_stopping=True, tol=0.05,
                  n_iter_no_change=2, max_iter=50, random_state=4, learning_rate_init=0.05)
    theirs = sknn.MLPClassifier(**params).fit(X, y)
    ours = MLPClassifier(**params).fit(X, y)
    assert theirs.n_iter_ < 50
    assert_same_fit(ours, theirs, loss_rtol=1e-6)
    assert ours.validation_scores_ == theirs.validation_scores_
    assert ours.best_validation_score_ == theirs.best_validation_score_
    assert ours.best_loss_ is None
    assert len(ours.validation_loss_curve_) == ours.n_iter_


def test_partial_fit_matches_sklearn(digits):
    X, y = digits
    params = dict(hidden_layer_sizes=(10,), solver="sgd", learning_rate="invscaling",
                  learning_rate_init=0.3, random_state=5, batch_size=30)
    ours, theirs = MLPClassifier(**params), sknn.MLPClassifier(**params)
    classes = np.unique(y)
    for i, lo in enumerate(range(0, 400, 70)):
        # each call: one epoch over its rows (two batches of 30 and one of 10)
        ours.partial_fit(X[lo:lo + 70], y[lo:lo + 70], classes=classes if i == 0 else None)
        theirs.partial_fit(X[lo:lo + 70], y[lo:lo + 70], classes=classes if i == 0 else None)
    assert_same_fit(ours, theirs, loss_rtol=1e-6)
    assert ours.n_iter_ == 1 and ours.t_ == 400


def test_one_batch_partial_fit_loss_is_exact_with_alpha(digits):
    """A partial_fit call that trains one batch evaluates the L2 term at that
    batch's own weights, as scikit-learn: loss_ to rounding, with and without
    sample weights."""
    X, y = digits
    w = np.random.default_rng(2).uniform(0.5, 2.0, len(y))
    params = dict(hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=0.05,
                  random_state=1, alpha=0.5)
    ours, theirs = MLPClassifier(**params), sknn.MLPClassifier(**params)
    classes = np.unique(y)
    for i, lo in enumerate(range(0, 400, 50)):
        weights = w[lo:lo + 50] if i % 2 else None
        for est in (ours, theirs):
            est.partial_fit(X[lo:lo + 50], y[lo:lo + 50], sample_weight=weights,
                            classes=classes if i == 0 else None)
        assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-12, abs=0)
    assert_same_fit(ours, theirs)


def test_set_coefs_then_partial_fit_and_warm_start_match_sklearn(digits):
    X, y = digits
    params = dict(hidden_layer_sizes=(10,), solver="adam", max_iter=3, random_state=6)
    ours = MLPClassifier(**params).fit(X, y)
    theirs = sknn.MLPClassifier(**params).fit(X, y)
    rng = np.random.default_rng(0)
    new = [rng.normal(scale=0.1, size=c.shape) for c in theirs.coefs_]
    ours.coefs_ = [c.copy() for c in new]
    theirs.coefs_ = [c.copy() for c in new]
    ours.partial_fit(X, y)
    theirs.partial_fit(X, y)
    assert_same_fit(ours, theirs, loss_rtol=1e-6)
    # the network holds what coefs_ show
    np.testing.assert_array_equal(ours.network_.weights[0], ours.coefs_[0].T)
    ours.set_params(warm_start=True)
    theirs.set_params(warm_start=True)
    ours.fit(X, y)
    theirs.fit(X, y)
    assert_same_fit(ours, theirs, loss_rtol=1e-6)
    assert len(ours.loss_curve_) == 3 + 1 + 3


def test_wrong_coefs_shape_is_refused(digits):
    X, y = digits
    est = MLPClassifier(hidden_layer_sizes=(5,), max_iter=1).fit(X, y)
    est.coefs_ = [np.zeros((64, 4)), est.coefs_[1]]
    with pytest.raises(ValueError, match=r"coefs_\[0\] must have shape \(64, 5\)"):
        est.partial_fit(X, y)


@pytest.mark.parametrize("bad, match", [
    (dict(solver="lbfgs"), "solver"),
    (dict(activation="softmax"), "activation"),
    (dict(momentum=1.0), "momentum"),
    (dict(threads=0), "threads"),
    (dict(hidden_layer_sizes=(3, 0)), "hidden_layer_sizes"),
    (dict(hidden_layer_sizes=["10"]), "hidden_layer_sizes"),
    (dict(hidden_layer_sizes=[2.5]), "hidden_layer_sizes"),
])
def test_bad_parameters_raise_naming_them(digits, bad, match):
    X, y = digits
    with pytest.raises(ValueError, match=match):
        MLPClassifier(**bad).fit(X, y)


def test_early_stopping_refused_in_partial_fit(digits):
    X, y = digits
    with pytest.raises(ValueError, match="early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=np.unique(y))


# scikit-learn's own checks.  scikit-learn lists no expected failure for its
# MLPs; the only per-estimator setting it uses is max_iter=100 (its
# _test_common/instance_generator.py), taken over here, so there is nothing to
# mark as expected to fail.
@parametrize_with_checks([MLPClassifier(max_iter=100), MLPRegressor(max_iter=100)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_pipeline_and_grid_search(digits):
    X, y = digits
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(16,), max_iter=40,
                                                         learning_rate_init=0.02, random_state=0))
    search = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1.0],
                                 "mlpclassifier__solver": ["sgd", "adam"]}, cv=3)
    search.fit(X, y)
    assert set(search.best_params_) == {"mlpclassifier__alpha", "mlpclassifier__solver"}
    assert search.best_score_ > 0.8
    # the search's scores are those of the same fits done by hand
    params = search.cv_results_["params"][0]
    train, test = next(StratifiedKFold(3).split(X, y))      # what cv=3 means for a classifier
    est = clone(pipe).set_params(**params).fit(X[train], y[train])
    assert search.cv_results_["split0_test_score"][0] == accuracy_score(y[test], est.predict(X[test]))


def test_inputs_float32_readonly_memmap_give_the_same_fit(digits, tmp_path):
    X, y = digits
    params = dict(hidden_layer_sizes=(7,), max_iter=3, random_state=0)
    X32 = X.astype(np.float32)
    reference = MLPClassifier(**params).fit(X32.astype(np.float64), y)
    ro = X32.copy()
    ro.flags.writeable = False
    mm = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float32, shape=X.shape)
    mm[...] = X32
    mm.flush()
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    for data in (X32, ro, mm, np.asfortranarray(X32)):
        est = MLPClassifier(**params).fit(data, y)
        for a, b in zip(est.coefs_, reference.coefs_):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(est.predict_proba(data), reference.predict_proba(X32))


def test_pickle_round_trip_is_bit_exact_and_continues(digits):
    X, y = digits
    est = MLPClassifier(hidden_layer_sizes=(9,), solver="sgd", max_iter=4, random_state=0).fit(X, y)
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(back.network_.params, est.network_.params)
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    # the optimiser state travels too: the next partial_fit gives the same bits
    est.partial_fit(X, y)
    back.partial_fit(X, y)
    np.testing.assert_array_equal(back.network_.params, est.network_.params)
    # and coefs_ are views of the unpickled network again
    assert np.shares_memory(back.coefs_[0], back.network_.params)


def test_clone_get_set_params():
    est = MLPRegressor(hidden_layer_sizes=(3, 4), solver="sgd", threads=2, alpha=0.5)
    params = est.get_params()
    assert params["hidden_layer_sizes"] == (3, 4) and params["threads"] == 2
    assert params["loss"] == "squared_error"
    # every parameter of scikit-learn's estimator that applies to sgd/adam is here
    skl = set(sknn.MLPRegressor().get_params()) - {"max_fun"}
    assert skl <= set(params)
    copy = clone(est)
    assert copy.get_params() == params and copy is not est
    assert est.set_params(alpha=2.0) is est and est.alpha == 2.0


def test_defaults_are_sklearns():
    for ours, theirs in ((MLPClassifier(), sknn.MLPClassifier()), (MLPRegressor(), sknn.MLPRegressor())):
        mine = ours.get_params()
        for name, value in theirs.get_params().items():
            if name != "max_fun":       # an L-BFGS setting; no L-BFGS here
                assert mine[name] == value, name


def test_validation_data_scores_and_loss_curve(digits):
    X, y = digits
    X_val, y_val = X[300:], y[300:]
    est = MLPClassifier(hidden_layer_sizes=(12,), max_iter=5, random_state=0, alpha=0.0)
    est.fit(X[:300], y[:300], validation_data=(X_val, y_val))
    assert len(est.validation_scores_) == len(est.validation_loss_curve_) == 5
    # the last entries describe the final network, by scikit-learn's metrics
    assert est.validation_scores_[-1] == accuracy_score(y_val, est.predict(X_val))
    assert est.validation_loss_curve_[-1] == pytest.approx(
        log_loss(y_val, est.predict_proba(X_val), labels=est.classes_), rel=1e-12)
    assert est.t_ == 5 * 300        # validation data are not trained on
    # with early_stopping the given set replaces the split: every sample trains
    est = MLPClassifier(hidden_layer_sizes=(12,), max_iter=5, random_state=0, early_stopping=True)
    est.fit(X[:300], y[:300], validation_data=(X_val, y_val))
    assert est.t_ == est.n_iter_ * 300 and est.best_validation_score_ == max(est.validation_scores_)


def test_validation_data_regression_loss_convention(regression):
    X, Y = regression
    est = MLPRegressor(hidden_layer_sizes=(6,), max_iter=3, random_state=0)
    est.fit(X[:200], Y[:200], validation_data=(X[200:], Y[200:]))
    # scikit-learn's squared loss: half the mean over samples and outputs
    expected = 0.5 * np.mean((Y[200:] - est.predict(X[200:])) ** 2)
    assert est.validation_loss_curve_[-1] == pytest.approx(expected, rel=1e-12)


def test_bad_validation_data(digits):
    X, y = digits
    with pytest.raises(TypeError, match="validation_data"):
        MLPClassifier(max_iter=1).fit(X, y, validation_data=X)
    with pytest.raises(ValueError, match="features"):
        MLPClassifier(max_iter=1).fit(X, y, validation_data=(X[:, :5], y))


def test_callbacks(digits):
    X, y = digits
    seen = []

    def stop_at_three(epoch, history, network):
        seen.append((epoch, len(history.loss), network.sizes))
        return epoch == 2

    est = MLPClassifier(hidden_layer_sizes=(5,), max_iter=20, random_state=0,
                        callbacks=[stop_at_three]).fit(X, y)
    assert est.n_iter_ == 3
    assert seen == [(0, 1, (64, 5, 10)), (1, 2, (64, 5, 10)), (2, 3, (64, 5, 10))]
    # backprop's EarlyStopping on the validation loss, restoring the best network
    stopper = EarlyStopping(monitor="val_loss", patience=1)
    est = MLPClassifier(hidden_layer_sizes=(30,), learning_rate_init=0.05, max_iter=200, tol=0,
                        random_state=0, callbacks=[stopper])
    est.fit(X[:300], y[:300], validation_data=(X[300:], y[300:]))
    assert est.n_iter_ < 200
    best = stopper.best_epoch
    assert est.validation_loss_curve_[best] == min(est.validation_loss_curve_)
    # coefs_ show the restored network
    assert est.validation_loss_curve_[best] == pytest.approx(
        log_loss(y[300:], est.predict_proba(X[300:]), labels=est.classes_), rel=1e-12)


def test_threads_give_the_same_bits(digits):
    X, y = digits
    params = dict(hidden_layer_sizes=(40,), solver="sgd", max_iter=3, random_state=0)
    one = MLPClassifier(**params).fit(X, y)
    two = MLPClassifier(threads=2, **params).fit(X, y)
    # the same bits with the kernels' own loops; BLAS sums in the order of its
    # blocks, which may differ in the last bits (see the README's Threads)
    np.testing.assert_allclose(one.network_.params, two.network_.params, rtol=0, atol=1e-14)


def test_leaky_relu_learns(digits):
    X, y = digits
    est = MLPClassifier(activation="leaky_relu", max_iter=50, random_state=0).fit(X, y)
    assert est.network_.activations == ("leaky_relu", "softmax")
    assert est.score(X, y) > 0.95


def test_import_backprop_does_not_import_sklearn():
    code = "import sys, backprop, backprop.network; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("labels", ["strings", "binary", "multilabel"])
def test_partial_fit_label_kinds_match_sklearn(digits, labels):
    X, y = digits
    y = {"strings": np.array(["d%d" % v for v in y]), "binary": y > 4,
         "multilabel": np.c_[y % 2, y > 4].astype(int)}[labels]
    classes = np.unique(y)      # required even for multilabel y, then unused (as scikit-learn)
    params = dict(hidden_layer_sizes=(6,), solver="sgd", random_state=0, learning_rate_init=0.1)
    ours, theirs = MLPClassifier(**params), sknn.MLPClassifier(**params)
    for i, lo in enumerate(range(0, 400, 100)):
        ours.partial_fit(X[lo:lo + 100], y[lo:lo + 100], classes=classes if i == 0 else None)
        theirs.partial_fit(X[lo:lo + 100], y[lo:lo + 100], classes=classes if i == 0 else None)
    assert_same_fit(ours, theirs, loss_rtol=1e-6)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


def test_partial_fit_refuses_an_unknown_class(digits):
    X, y = digits
    est = MLPClassifier(max_iter=1).partial_fit(X, y % 3, classes=[0, 1, 2])
    before = est.network_.params.copy()
    with pytest.raises(ValueError, match="classes not in"):
        est.partial_fit(X[:5], [0, 1, 2, 3, 1])
    np.testing.assert_array_equal(est.network_.params, before)


@pytest.mark.parametrize("config", [dict(solver="sgd"), dict(solver="sgd", momentum=0.0),
                                    dict(solver="sgd", learning_rate="invscaling"),
                                    dict(solver="adam")], ids=repr)
@pytest.mark.parametrize("alpha", [0.0, 0.01])
def test_sample_weight_matches_sklearn(digits, config, alpha):
    X, y = digits
    w = np.random.default_rng(7).uniform(0.0, 3.0, len(y))
    w[::9] = 0.0                    # zero weights too (no batch of 64 is all zero)
    params = dict(hidden_layer_sizes=(9,), activation="tanh", batch_size=64, max_iter=6,
                  random_state=3, alpha=alpha, learning_rate_init=0.05, **config)
    theirs = sknn.MLPClassifier(**params).fit(X, y, sample_weight=w)
    ours = MLPClassifier(**params).fit(X, y, sample_weight=w)
    assert_same_fit(ours, theirs)
    # and they differ from the unweighted fit
    plain = MLPClassifier(**params).fit(X, y)
    assert np.max(np.abs(plain.coefs_[0] - ours.coefs_[0])) > 1e-3


def test_sample_weight_regression_partial_fit_and_early_stopping_match_sklearn(regression, digits):
    X, Y = regression
    w = np.random.default_rng(8).uniform(0.5, 2.0, len(X))
    params = dict(hidden_layer_sizes=(7,), solver="sgd", learning_rate_init=0.01, batch_size=40,
                  random_state=0)
    ours, theirs = MLPRegressor(**params), sknn.MLPRegressor(**params)
    for lo in range(0, 230, 100):
        # batches of 40 and a last one of 20 or 30
        ours.partial_fit(X[lo:lo + 100], Y[lo:lo + 100], sample_weight=w[lo:lo + 100])
        theirs.partial_fit(X[lo:lo + 100], Y[lo:lo + 100], sample_weight=w[lo:lo + 100])
    assert_same_fit(ours, theirs, loss_rtol=1e-6)
    X, y = digits
    w = np.random.default_rng(9).uniform(0.5, 2.0, len(y))
    params = dict(hidden_layer_sizes=(10,), solver="adam", early_stopping=True, max_iter=15,
                  random_state=4, learning_rate_init=0.01)
    theirs = sknn.MLPClassifier(**params).fit(X, y, sample_weight=w)
    ours = MLPClassifier(**params).fit(X, y, sample_weight=w)
    assert_same_fit(ours, theirs, loss_rtol=1e-6)
    assert ours.validation_scores_ == theirs.validation_scores_


def test_sample_weight_online_batches(digits):
    """A batch of one sample: scikit-learn's weight cancels in the data term and
    divides the L2 term, which one compiled call can follow when the weights
    are equal or alpha is 0; a last batch of one sample is always exact."""
    X, y = digits
    X, y = X[:101], y[:101]         # batches of 20: the last one holds one sample
    w = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    params = dict(hidden_layer_sizes=(5,), solver="sgd", batch_size=20, max_iter=4,
                  random_state=0, alpha=0.1)
    theirs = sknn.MLPClassifier(**params).fit(X, y, sample_weight=w)
    ours = MLPClassifier(**params).fit(X, y, sample_weight=w)
    assert_same_fit(ours, theirs)
    online = dict(params, batch_size=1, max_iter=2)
    for weights, alpha in ((np.full(len(y), 2.5), 0.1), (w, 0.0)):
        theirs = sknn.MLPClassifier(**dict(online, alpha=alpha)).fit(X, y, sample_weight=weights)
        ours = MLPClassifier(**dict(online, alpha=alpha)).fit(X, y, sample_weight=weights)
        assert_same_fit(ours, theirs)
    with pytest.raises(ValueError, match="batch_size=1 and alpha > 0"):
        MLPClassifier(**online).fit(X, y, sample_weight=w)


def test_class_weight(digits):
    X, y = digits
    params = dict(hidden_layer_sizes=(6,), solver="sgd", max_iter=4, random_state=0,
                  batch_size=50)
    weights = {c: 1.0 + c for c in range(10)}
    by_class = MLPClassifier(class_weight=weights, **params).fit(X, y)
    by_sample = sknn.MLPClassifier(**params).fit(X, y, sample_weight=[weights[c] for c in y])
    assert_same_fit(by_class, by_sample, loss_rtol=1e-6)
    from sklearn.utils.class_weight import compute_sample_weight
    balanced = MLPClassifier(class_weight="balanced", **params).fit(X, y[::-1])
    expected = sknn.MLPClassifier(**params).fit(
        X, y[::-1], sample_weight=compute_sample_weight("balanced", y[::-1]))
    assert_same_fit(balanced, expected, loss_rtol=1e-6)
    # class and sample weights multiply
    w = np.linspace(0.5, 1.5, len(y))
    both = MLPClassifier(class_weight=weights, **params).fit(X, y, sample_weight=w)
    product = sknn.MLPClassifier(**params).fit(X, y, sample_weight=w * [weights[c] for c in y])
    assert_same_fit(both, product, loss_rtol=1e-6)
    with pytest.raises(ValueError, match="balanced"):
        MLPClassifier(class_weight="balanced").partial_fit(X, y, classes=np.unique(y))


def test_partial_fit_checks_changed_parameters_and_bad_arrays(digits):
    X, y = digits
    est = MLPClassifier(hidden_layer_sizes=(4,)).partial_fit(X, y, classes=np.unique(y))
    est.partial_fit(X[:10], y[:10])
    est.set_params(alpha=-1.0)
    with pytest.raises(ValueError, match="alpha"):
        est.partial_fit(X[:10], y[:10])
    est.alpha = 0.0
    est.learning_rate_init = "fast"
    with pytest.raises(ValueError, match="learning_rate_init"):
        est.partial_fit(X[:10], y[:10])
    est.learning_rate_init = 0.001
    before = est.network_.params.copy()
    bad = X[:10].copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="non-finite|NaN"):
        est.partial_fit(bad, y[:10])
    with pytest.raises(ValueError, match="features"):
        est.partial_fit(X[:10, :5], y[:10])
    np.testing.assert_array_equal(est.network_.params, before)
    reg = MLPRegressor(hidden_layer_sizes=(4,)).partial_fit(X, y.astype(float))
    with pytest.raises(ValueError, match="non-finite|NaN"):
        reg.partial_fit(X[:10], np.r_[np.inf, y[1:10]].astype(float))


def test_partial_fit_keeps_the_solver_of_its_first_call(digits):
    """As scikit-learn, whose optimiser object is built by fit or a first
    partial_fit: later partial_fit calls keep its solver, momentum and
    learning rate whatever set_params changes, and read alpha and the batch
    size afresh; a fit builds it anew."""
    X, y = digits
    params = dict(hidden_layer_sizes=(6,), solver="sgd", learning_rate_init=0.05,
                  random_state=0, alpha=0.0)
    ours, theirs = MLPClassifier(**params), sknn.MLPClassifier(**params)
    for est in (ours, theirs):
        est.partial_fit(X[:50], y[:50], classes=np.unique(y))
        est.set_params(momentum=0.5, nesterovs_momentum=False, learning_rate_init=0.5)
        est.partial_fit(X[50:100], y[50:100])
        est.set_params(solver="adam", alpha=1e-3)
        est.partial_fit(X[100:150], y[100:150])
        est.partial_fit(X[150:170], y[150:170])    # another batch size
    assert_same_fit(ours, theirs, loss_rtol=1e-6)
    for est in (ours, theirs):
        est.set_params(max_iter=2, alpha=0.0, tol=0.0, learning_rate_init=0.01)
        est.fit(X, y)
    assert_same_fit(ours, theirs)


def test_ctrl_c_stops_a_fit_as_in_sklearn():
    """Network.train turns Ctrl-C into an early return; the estimator then
    stops, warning "Training interrupted by user.", as scikit-learn's does."""
    code = """if True:
        import os, signal, threading, warnings
        import numpy as np
        from backprop.sklearn import MLPClassifier
        rng = np.random.default_rng(0)
        X, y = rng.normal(size=(5000, 20)), rng.integers(0, 3, 5000)
        threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est = MLPClassifier(hidden_layer_sizes=(50,), max_iter=100_000, tol=0).fit(X, y)
        print(est.n_iter_ < 100_000, [str(w.message) for w in caught])
    """
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True ['Training interrupted by user.']"


def test_saved_network_keeps_sklearns_adam(digits, tmp_path):
    """network_.save writes the Adam variant by its own kind, so a loaded network
    continues with scikit-learn's update, bit for bit."""
    import backprop as bp
    from backprop.optim import _SklearnAdam
    X, y = digits
    est = MLPClassifier(hidden_layer_sizes=(6,), solver="adam", max_iter=2, random_state=0)
    net = est.fit(X, y).network_
    net.save(tmp_path / "net.npz")
    back = bp.load(tmp_path / "net.npz")
    assert type(back.optimizer) is _SklearnAdam
    Y = np.eye(10)[y]
    net.train(X, Y, lr=0.01, batch_size=50)
    back.train(X, Y, lr=0.01, batch_size=50)
    np.testing.assert_array_equal(back.params, net.params)
    # and it is not the default Adam: that one goes elsewhere from the same state
    other = bp.load(tmp_path / "net.npz")
    other.train(X, Y, lr=0.01, batch_size=50, optimizer=bp.Adam())
    assert np.max(np.abs(other.params - net.params)) > 0
