"""A hyper-parameter search of backprop.sklearn on a real Dask cluster: a
distributed.LocalCluster with two worker processes, started here."""
import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="backprop.sklearn needs scikit-learn")
distributed = pytest.importorskip("distributed", reason="the Dask test needs dask.distributed")
joblib = pytest.importorskip("joblib", reason="scikit-learn's searches run on joblib")

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from backprop.sklearn import MLPClassifier  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                       dashboard_address=None)
    with cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    return X[:600], y[:600]


def _fit(X, y, **params):
    return MLPClassifier(**params).fit(X, y)


def test_grid_search_on_dask_gives_the_same_results(client, data):
    X, y = data
    # worker processes of their own, not this one
    pids = client.run(lambda: __import__("os").getpid())
    assert len(pids) == 2 and __import__("os").getpid() not in pids.values()

    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(20,), max_iter=25,
                                                         learning_rate_init=0.01, random_state=0))
    grid = {"mlpclassifier__alpha": [1e-4, 1e-1], "mlpclassifier__solver": ["sgd", "adam"]}
    local = GridSearchCV(pipe, grid, cv=3, n_jobs=1).fit(X, y)
    with distributed.get_task_stream(client) as stream, joblib.parallel_config(backend="dask"):
        remote = GridSearchCV(pipe, grid, cv=3, n_jobs=-1).fit(X, y)
    # the 12 fits ran as tasks on the cluster's workers
    assert len({task["worker"] for task in stream.data}) == 2
    assert remote.best_params_ == local.best_params_
    for key in ("mean_test_score", *(f"split{i}_test_score" for i in range(3))):
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    # the refitted best estimator is the same network, bit for bit
    np.testing.assert_array_equal(remote.best_estimator_[-1].network_.params,
                                  local.best_estimator_[-1].network_.params)


def test_networks_travel_to_workers_and_back_bit_exactly(client, data):
    X, y = data
    X = StandardScaler().fit_transform(X)
    params = dict(hidden_layer_sizes=(16,), solver="sgd", max_iter=5, random_state=1)
    here = _fit(X, y, **params)
    # fitted on a worker process, pickled back here
    there = client.submit(_fit, X, y, **params, pure=False).result()
    np.testing.assert_array_equal(there.network_.params, here.network_.params)
    np.testing.assert_array_equal(there.predict_proba(X), here.predict_proba(X))
    # and a fitted estimator sent there and back, then trained on both sides
    back = client.submit(lambda est: est.partial_fit(X, y), pickle.loads(pickle.dumps(here)),
                         pure=False).result()
    here.partial_fit(X, y)
    np.testing.assert_array_equal(back.network_.params, here.network_.params)
    assert back.n_iter_ == here.n_iter_ and back.t_ == here.t_
