"""
A hyper-parameter search on a Dask cluster
==========================================

``backprop.sklearn.MLPClassifier`` is a scikit-learn estimator, so
scikit-learn's ``GridSearchCV`` searches its hyper-parameters, and the search
runs its fits wherever joblib sends them.  Dask's ``distributed`` gives joblib
a backend that sends them to the workers of a cluster: here a
``LocalCluster`` of two worker processes on this machine, started and closed
by the example.  On a real cluster only the ``Client`` line changes (the
scheduler's address); each worker needs ``cybackprop[sklearn]`` installed.

The data: scikit-learn's handwritten digits (8×8 images, ten classes),
standardised inside the pipeline so that each fold's scaler sees only that
fold's training part.
"""
import time
import warnings

import joblib
import matplotlib.pyplot as plt
import numpy as np
from distributed import Client, LocalCluster
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from backprop.sklearn import MLPClassifier

started = time.perf_counter()
X, y = load_digits(return_X_y=True)
X, y = X[:1000], y[:1000]

# %%
# The grid: Adam's learning rate against the L2 penalty ``alpha``, for a
# network with one hidden layer of 32 units, 3-fold cross-validation: 36
# fits of 40 epochs each.  ``tol=0`` makes every fit run its 40 epochs, so
# scikit-learn's ``ConvergenceWarning`` would say so 36 times.  It is
# ignored here; scikit-learn's joblib tasks carry this process's warning
# filters to the workers.

model = make_pipeline(
    StandardScaler(),
    MLPClassifier(hidden_layer_sizes=(32,), max_iter=40, tol=0.0, random_state=0))
learning_rates = [1e-4, 1e-3, 1e-2, 1e-1]
alphas = [1e-4, 1.0, 100.0]
grid = {"mlpclassifier__learning_rate_init": learning_rates, "mlpclassifier__alpha": alphas}
warnings.filterwarnings("ignore", category=ConvergenceWarning)

# %%
# The figure: the mean cross-validated accuracy of every setting of the grid.

def plot_scores(search):
    scores = np.empty((len(alphas), len(learning_rates)))
    for params, score in zip(search.cv_results_["params"],
                             search.cv_results_["mean_test_score"]):
        row = alphas.index(params["mlpclassifier__alpha"])
        column = learning_rates.index(params["mlpclassifier__learning_rate_init"])
        scores[row, column] = score
    fig, ax = plt.subplots(figsize=(7, 4))
    image = ax.imshow(scores, cmap="viridis", vmin=0, vmax=1)
    for (row, column), score in np.ndenumerate(scores):
        ax.text(column, row, f"{score:.3f}", ha="center", va="center",
                color="black" if score > 0.5 else "white")
    ax.set_xticks(range(len(learning_rates)), [f"{lr:g}" for lr in learning_rates])
    ax.set_yticks(range(len(alphas)), [f"{alpha:g}" for alpha in alphas])
    ax.set(xlabel="learning_rate_init (Adam)", ylabel="alpha (L2 penalty)",
           title="GridSearchCV on a Dask LocalCluster: mean accuracy, 3 folds")
    fig.colorbar(image, ax=ax, label="mean accuracy")
    fig.tight_layout()
    plt.show()


# %%
# The cluster: two worker processes with one thread each, one per core, so
# that the fits do not compete for the cores (each estimator trains on one
# thread).  Inside ``joblib.parallel_config(backend="dask")`` the search's
# ``n_jobs=-1`` means "every worker of the cluster".
#
# Each worker process is a new Python that imports this script first
# (multiprocessing's "spawn"), so what starts the cluster runs only in the
# main process, under ``if __name__ == "__main__"``.
#
# In the figure, a learning rate too small for 40 epochs leaves the network
# under-trained.  scikit-learn divides the L2 term by the number of samples,
# so ``alpha`` changes little until it is large, and then holds the weights
# near zero.

if __name__ == "__main__":
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        workers = len(client.scheduler_info()["workers"])
        with joblib.parallel_config(backend="dask"):
            search = GridSearchCV(model, grid, cv=3, n_jobs=-1).fit(X, y)
    print(f"{len(search.cv_results_['params'])} settings x 3 folds on {workers} workers")
    print("best:", search.best_params_, f"mean accuracy {search.best_score_:.4f}")
    plot_scores(search)
    print(f"took {time.perf_counter() - started:.2f} s")
