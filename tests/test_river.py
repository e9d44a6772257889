"""backprop.river: River's own estimator checks on both models, progressive
validation against River's linear models on datasets River ships, and the
adapter's growth, conversion and mini-batch semantics."""
import copy
import importlib.util
import itertools
import math
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

river = pytest.importorskip("river", reason="the River adapter needs river (pip install cybackprop[river])")
from river import checks, datasets, evaluate, linear_model, metrics, preprocessing  # noqa: E402

import backprop as bp  # noqa: E402
from backprop.river import MLPClassifier, MLPRegressor  # noqa: E402

MODELS = [MLPRegressor, MLPClassifier]


def _check_cases():
    """One case per River check and model configuration (its
    _unit_test_params), minus the model's declared _unit_test_skips."""
    if importlib.util.find_spec("sklearn") is None:
        # river.checks takes some of its streams from scikit-learn's datasets
        yield pytest.param(None, None, marks=pytest.mark.skip(
            reason="river.checks builds its test streams with scikit-learn (pip install scikit-learn)"))
        return
    for cls in MODELS:
        for i, params in enumerate(cls._unit_test_params()):
            model = cls(**params)
            skips = model._unit_test_skips()
            for check in checks.yield_checks(model):
                if check.__name__ in skips:
                    continue
                yield pytest.param(model, check, id=f"{cls.__name__}-{i}-{check.__name__}")


@pytest.mark.filterwarnings("ignore::backprop.SaturationWarning")   # unscaled ImageSegments
@pytest.mark.parametrize("model, check", list(_check_cases()))
def test_river_checks(model, check):
    check(copy.deepcopy(model))


def test_every_model_runs_the_mini_batch_checks():
    """With pandas installed both are River mini-batch estimators, so the
    checks above include learn_many/predict_many against their _one forms
    (where River has those checks: 0.26 has them, 0.21 not yet)."""
    pytest.importorskip("pandas", reason="River's mini-batch bases need pandas")
    pytest.importorskip("sklearn", reason="river.checks builds its test streams with scikit-learn")
    offered = {"check_learn_many_matches_learn_one",
               "check_predict_many_matches_predict_one"} & set(dir(checks.common))
    for cls in MODELS:
        names = {c.__name__ for c in checks.yield_checks(cls(seed=0))}
        assert offered <= names
        assert cls(seed=0)._unit_test_skips() == set()
    assert isinstance(MLPClassifier(), river.base.MiniBatchClassifier)
    assert isinstance(MLPRegressor(), river.base.MiniBatchRegressor)


# ------------------------------------------------------- progressive validation
def progressive(dataset, model, metric):
    return evaluate.progressive_val_score(dataset, model, metric).get()


SEEDS = range(10)


def test_phishing_accuracy_reaches_logistic_regression():
    """Mean progressive accuracy over ten seeds of the default MLP, behind
    the scaler River's own LogisticRegression gets."""
    reference = progressive(datasets.Phishing(),
                            preprocessing.StandardScaler() | linear_model.LogisticRegression(),
                            metrics.Accuracy())
    ours = [progressive(datasets.Phishing(),
                        preprocessing.StandardScaler() | MLPClassifier(hidden=(32,), seed=s),
                        metrics.Accuracy()) for s in SEEDS]
    assert np.mean(ours) >= reference, (ours, reference)
    assert min(ours) >= reference - 0.01, (ours, reference)


def test_trump_approval_mae_reaches_linear_regression():
    reference = progressive(datasets.TrumpApproval(),
                            preprocessing.StandardScaler() | linear_model.LinearRegression(),
                            metrics.MAE())
    ours = [progressive(datasets.TrumpApproval(),
                        preprocessing.StandardScaler() | MLPRegressor(hidden=(32,), seed=s),
                        metrics.MAE()) for s in SEEDS]
    assert max(ours) <= reference, (ours, reference)


# ------------------------------------------------------------------ semantics
def stream(n=200, n_features=4, seed=0, classes=("a", "b", "c")):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    y = np.asarray(classes)[(X[:, 0] > 0).astype(int) + (X[:, 1] > 1).astype(int)]
    return [({f"f{j}": float(v) for j, v in enumerate(row)}, label) for row, label in zip(X, y)]


def params(model):
    net = model.network
    return None if net is None else net.params.tobytes()


def test_learn_one_returns_none_and_calls_the_network_once(monkeypatch):
    calls = []
    original = bp.Network.learn_one
    monkeypatch.setattr(bp.Network, "learn_one",
                        lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    model = MLPClassifier(seed=0)
    data = stream(20)
    assert all(model.learn_one(x, y) is None for x, y in data)
    first_two = next(i for i, (_, y) in enumerate(data) if y != data[0][1])
    assert len(calls) == len(data) - first_two       # one call per sample once it can learn


def test_predicting_before_any_learning():
    clf, reg = MLPClassifier(seed=0), MLPRegressor(seed=0)
    x = {"a": 1.0}
    assert clf.predict_proba_one(x) == {} and clf.predict_one(x) is None
    assert reg.predict_one(x) == 0.0
    clf.learn_one(x, "only")
    assert clf.predict_proba_one(x) == {"only": 1.0} and clf.predict_one(x) == "only"
    assert clf.network is None                       # a softmax needs two labels


def test_a_new_label_adds_an_output_and_keeps_the_others():
    model = MLPClassifier(seed=0)
    data = stream(60)
    for x, y in data:
        model.learn_one(x, y)
    assert model.network.sizes[-1] == 3 and set(model.labels) == {"a", "b", "c"}
    before = model.network.weights[-1].copy()
    model.learn_one(data[0][0], "d")
    assert model.labels[-1] == "d" and model.network.sizes[-1] == 4
    proba = model.predict_proba_one(data[0][0])
    assert list(proba) == model.labels
    assert math.isclose(sum(proba.values()), 1.0)
    assert model.network.weights[-1].shape == (4, 32)
    # the old rows moved by one step only: the growth itself kept them
    assert np.abs(model.network.weights[-1][:3] - before).max() < 0.1


def test_binary_labels_give_false_and_true_keys():
    model = MLPClassifier(seed=0)
    model.learn_one({"a": 1.0}, True)
    assert set(model.predict_proba_one({"a": 1.0})) == {False, True}
    assert model.network.sizes[-1] == 2
    model.learn_one({"a": -1.0}, np.False_)
    assert model.labels == [False, True] and model.network.sizes[-1] == 2


def test_a_new_feature_grows_the_inputs_with_zero_weights():
    model = MLPRegressor(seed=0)
    model.learn_one({"a": 1.0, "b": 2.0}, 1.0)
    assert model.features == ["a", "b"] and model.network.sizes[0] == 2
    x = {"a": 0.5, "b": -1.0}
    before = model.predict_one(x)
    # a feature the model has not learned from is ignored when predicting
    assert model.predict_one({**x, "c": 3.0}) == before
    # a new feature that reads 0 is added with zero weights, and its
    # weights' gradient is 0: they stay 0 through the step
    W = model.network.weights[0].copy()
    model.learn_one({**x, "c": 0.0}, 0.0)
    assert model.features == ["a", "b", "c"] and model.network.sizes[0] == 3
    assert not model.network.weights[0][:, 2].any()
    assert (model.network.weights[0][:, :2] != W).any()
    assert model.predict_one({**x, "c": 3.0}) == model.predict_one(x)


def test_missing_features_read_as_zero_and_key_order_does_not_matter():
    model = MLPRegressor(seed=0)
    for x, _ in stream(50):
        model.learn_one(x, x["f0"] - x["f1"])
    x = {"f0": 0.3, "f1": -0.2, "f2": 0.0, "f3": 1.5}
    assert model.predict_one({"f0": 0.3, "f1": -0.2, "f3": 1.5}) == model.predict_one(x)
    assert model.predict_one(dict(reversed(list(x.items())))) == model.predict_one(x)
    # the features of a first sample are numbered in sorted order: any key
    # order gives the same network, bit for bit
    a, b = MLPClassifier(seed=3), MLPClassifier(seed=3)
    for x, y in stream(80):
        a.learn_one(x, y)
        b.learn_one(dict(reversed(list(x.items()))), y)
    assert params(a) == params(b)


def test_inputs_are_never_aliased():
    model = MLPClassifier(seed=0)
    data = stream(30)
    for x, y in data:
        model.learn_one(x, y)
    snapshot = params(model)
    x = dict(data[0][0])
    model.learn_one(x, data[0][1])
    after = params(model)
    x["f0"] = 1e9
    x.pop("f1")
    assert params(model) == after != snapshot


def test_memory_is_bounded_once_features_and_labels_are_known():
    model = MLPClassifier(seed=0)
    data = stream(400)
    for x, y in data[:200]:
        model.learn_one(x, y)
    sizes, n = model.network.sizes, len(pickle.dumps(model))
    for x, y in data[200:]:
        model.learn_one(x, y)
        model.predict_proba_one(x)
    # the state is the network and the names: only the counters' digits grow
    assert model.network.sizes == sizes and abs(len(pickle.dumps(model)) - n) < 16


def test_seed_clone_and_pickle():
    data = stream(100)
    a = MLPClassifier(seed=5)
    for x, y in data[:50]:
        a.learn_one(x, y)
    b = pickle.loads(pickle.dumps(a))
    fresh = a.clone()
    assert fresh.network is None and repr(fresh) == repr(a)
    for x, y in data[50:]:
        a.learn_one(x, y)
        b.learn_one(x, y)
    assert params(a) == params(b)
    assert MLPClassifier()._is_stochastic and not MLPClassifier(seed=1)._is_stochastic


def test_learn_many_learns_what_learn_one_row_by_row_does(monkeypatch):
    pd = pytest.importorskip("pandas", reason="learn_many takes pandas frames")
    data = stream(120, classes=("a", "b", "c"))
    rows = [dict(x) for x, _ in data]
    for i in range(30, 60):
        rows[i].pop("f3")                # missing from some rows: NaN in the frame
    labels = [y for _, y in data]
    labels[90] = "z"                     # a label first seen mid-frame
    one, many = MLPClassifier(seed=2), MLPClassifier(seed=2)
    for x, y in zip(rows, labels):
        one.learn_one(x, y)
    trains = []
    original = bp.Network.train
    monkeypatch.setattr(bp.Network, "train",
                        lambda self, *a, **k: trains.append(len(a[0])) or original(self, *a, **k))
    frames = [(pd.DataFrame(rows[i:i + 40]), pd.Series(labels[i:i + 40])) for i in (0, 40, 80)]
    for X, y in frames:
        many.learn_many(X, y)
    # one train call per frame, split where a label first appears; the rows
    # before the second label are not learned from (one label: no network)
    first_two = next(i for i, y in enumerate(labels) if y != labels[0])
    bounds = sorted({labels.index(y) for y in labels} | {0, 40, 80, 120})
    assert trains == [b - a for a, b in zip(bounds, bounds[1:]) if a >= first_two]
    assert len(trains) > 3
    assert one.labels == many.labels and one.features == many.features
    np.testing.assert_allclose(np.frombuffer(params(many)), np.frombuffer(params(one)),
                               rtol=1e-12, atol=1e-15)
    X = pd.DataFrame(rows[:10])
    P = many.predict_proba_many(X)
    assert list(P.columns) == many.labels
    for i, x in enumerate(rows[:10]):
        assert many.predict_proba_one(x) == pytest.approx(P.iloc[i].to_dict(), rel=1e-12)
    assert many.predict_many(X).tolist() == [many.predict_one(x) for x in rows[:10]]


def test_regressor_learn_many_matches_learn_one():
    pd = pytest.importorskip("pandas", reason="learn_many takes pandas frames")
    data = [(x, x["f0"] * 2 - x["f2"]) for x, _ in stream(90)]
    one, many = MLPRegressor(seed=4), MLPRegressor(seed=4)
    for x, y in data:
        one.learn_one(x, y)
    for i in range(0, 90, 30):
        chunk = data[i:i + 30]
        many.learn_many(pd.DataFrame([x for x, _ in chunk]), pd.Series([y for _, y in chunk]))
    np.testing.assert_allclose(np.frombuffer(params(many)), np.frombuffer(params(one)),
                               rtol=1e-12, atol=1e-15)
    X = pd.DataFrame([x for x, _ in data[:5]])
    assert many.predict_many(X).tolist() == pytest.approx([many.predict_one(x) for x, _ in data[:5]])


def test_a_mini_batch_pipeline():
    pd = pytest.importorskip("pandas", reason="learn_many takes pandas frames")
    X = pd.DataFrame([x for x, _ in datasets.Phishing().take(400)])
    y = pd.Series([y for _, y in datasets.Phishing().take(400)])
    model = preprocessing.StandardScaler() | MLPClassifier(seed=0)
    for i in range(0, 300, 50):
        model.learn_many(X[i:i + 50], y[i:i + 50])
    accuracy = (model.predict_many(X[300:]).to_numpy() == y[300:].to_numpy()).mean()
    assert accuracy > 0.75


@pytest.mark.parametrize("kwargs, error, name", [
    ({"hidden": (0,)}, ValueError, "hidden"), ({"hidden": 32}, TypeError, "hidden"),
    ({"hidden": ("a",)}, TypeError, "hidden"), ({"activation": "softmax"}, ValueError, "softmax"),
    ({"activation": "swish"}, ValueError, "activation"),
    ({"optimizer": "rmsprop"}, ValueError, "optimizer"), ({"lr": 0.0}, ValueError, "lr"),
    ({"lr": "fast"}, TypeError, "lr"), ({"seed": -1}, ValueError, "seed"),
])
@pytest.mark.parametrize("cls", MODELS)
def test_bad_hyper_parameters(cls, kwargs, error, name):
    with pytest.raises(error, match=name):
        cls(**kwargs)


def test_bad_regression_loss():
    with pytest.raises(ValueError, match="cross_entropy"):
        MLPRegressor(loss="cross_entropy")
    with pytest.raises(ValueError, match="loss"):
        MLPRegressor(loss="l1")


@pytest.mark.parametrize("cls", MODELS)
def test_bad_samples_name_the_feature(cls):
    model = cls(seed=0)
    model.learn_one({"a": 1.0}, 1.0 if cls is MLPRegressor else "x")
    model.learn_one({"a": 2.0}, 2.0 if cls is MLPRegressor else "y")
    before = params(model)
    y = 1.0 if cls is MLPRegressor else "x"
    for x, error in (({"a": "high"}, TypeError), ({"a": "1.5"}, TypeError), ({"a": None}, TypeError),
                     ({"a": float("nan")}, ValueError), ({"a": 1.0, "b": [1.0]}, TypeError),
                     ({"a": 1.0, "b": float("inf")}, ValueError), ({"a": 10 ** 400}, ValueError),
                     ({"a": 1.0, "b": 10 ** 400}, ValueError)):
        with pytest.raises(error, match="feature 'a'" if "b" not in x else "feature 'b'"):
            model.learn_one(x, y)
        if "b" not in x:
            with pytest.raises(error, match="feature 'a'"):
                model.predict_one(x)
        else:       # a feature the model has not learned from is ignored
            model.predict_one(x)
    with pytest.raises(ValueError, match="feature 'a'"):
        model.learn_one({"a": float("nan")}, "new label" if cls is MLPClassifier else 3.0)
    assert params(model) == before and model.features == ["a"]
    assert cls is MLPRegressor or model.labels == ["x", "y"]


def test_bad_regression_targets():
    model = MLPRegressor(seed=0)
    model.learn_one({"a": 1.0}, 1.0)
    before = params(model)
    # a string is refused even when it spells a number
    for y in ("ten", "1", b"2"):
        with pytest.raises(TypeError, match="y must be a number"):
            model.learn_one({"a": 1.0}, y)
    for y in (float("inf"), 10 ** 400):
        with pytest.raises(ValueError, match="y must be a finite"):
            model.learn_one({"a": 1.0}, y)
    assert params(model) == before


def test_bad_class_labels_are_refused_before_anything_changes():
    pd = pytest.importorskip("pandas")
    model = MLPClassifier(seed=0)
    model.learn_one({"a": 1.0}, "x")
    model.learn_one({"a": 2.0}, "y")
    before = params(model)
    # NaN never equals a label, itself included: each would have added an output
    for y in (float("nan"), np.nan, np.float32("nan")):
        with pytest.raises(ValueError, match="a NaN cannot be a class label"):
            model.learn_one({"a": 1.0}, y)
    with pytest.raises(ValueError, match="y is None"):
        model.learn_one({"a": 1.0}, None)
    with pytest.raises(TypeError, match="y must be a hashable class label, got list"):
        model.learn_one({"a": 1.0}, ["x"])
    with pytest.raises(ValueError, match="a NaN cannot be a class label"):
        model.learn_many(pd.DataFrame({"a": [1.0, 2.0]}), pd.Series(["x", None]))
    assert params(model) == before and model.labels == ["x", "y"]
    assert model.network.sizes[-1] == 2


@pytest.mark.parametrize("cls", MODELS)
def test_samples_that_are_not_dicts_are_named(cls):
    model = cls(seed=0)
    y = 1.0 if cls is MLPRegressor else "x"
    for x in (None, [1, 2], 3.0):
        with pytest.raises(TypeError, match="x must be a dict of feature names to numbers"):
            model.learn_one(x, y)
    model.learn_one([("a", 1.0)], y)        # (name, value) pairs are a sample
    model.learn_one([("a", 2.0)], 2.0 if cls is MLPRegressor else "z")
    assert model.features == ["a"]
    with pytest.raises(TypeError, match="x must be a dict"):
        model.predict_one(None)
    if importlib.util.find_spec("pandas") is not None:
        with pytest.raises(TypeError, match="X must be a pandas DataFrame"):
            model.learn_many(np.ones((2, 1)), [y, y])


def test_import_backprop_does_not_import_river():
    code = "import sys, backprop; print('river' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_the_docs_pipeline_runs():
    model = preprocessing.StandardScaler() | MLPClassifier(hidden=(32,), seed=0)
    metric = evaluate.progressive_val_score(itertools.islice(datasets.Phishing(), 300), model,
                                            metrics.Accuracy())
    assert metric.get() > 0.7


def test_the_stream_benchmark_runs():
    """benchmarks/river_stream.py prints its tables (a short stream; no timing is checked)."""
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "river_stream.py"
    out = subprocess.run([sys.executable, str(script), "--samples", "2000", "--rounds", "1"],
                         capture_output=True, text=True, check=True, timeout=300).stdout
    assert "| River linear_model.LogisticRegression() |" in out
    assert "| backprop.river.MLPClassifier(hidden=(32,))  [tanh] |" in out
    assert "| dict -> array conversion (x2) |" in out


def test_the_readme_quotes_the_doctested_progressive_accuracy():
    # river.py's docstring runs this pipeline on Phishing (tests/test_docs.py); the
    # README quotes its figure
    import re

    import backprop.river

    figure = re.search(r"Accuracy: ([0-9.]+%)", backprop.river.__doc__).group(1)
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert f"metrics.Accuracy()): {figure}" in readme
    assert "MLPClassifier(hidden=(32,), seed=0)" in readme and "hidden=(32,), seed=0)" in backprop.river.__doc__
