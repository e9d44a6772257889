"""backprop.sklearn against scikit-learn's own MLPClassifier on load_digits.

    python benchmarks/sklearn_mlp_fit.py [--rounds 3] [--calls 300]

The digits (1,797 samples, 64 features) are standardised and split 75/25
(stratified, random_state=0).  Both estimators get the same settings and
random_state, so they start from the same weights and visit the samples in
the same order; the table shows that they end at the same parameters (max
|Δ|) and accuracy, and how long each took:

* fit: hidden_layer_sizes=(100,), relu, batch_size="auto" (200), max_iter
  epochs (tol=0 so that every epoch runs), solver "sgd" (lr 0.1, Nesterov
  momentum 0.9) and "adam" (lr 0.001); the best of --rounds fits;
* partial_fit: one call on one mini-batch of 200 samples (and of 10, where
  the fixed cost shows), the median over --calls calls after a warm-up (the
  network state carries on between calls); the last column is the median
  of the one ``Network.train`` call inside it, made directly on the same
  network and batches (the rest is the estimator's own Python).

BLAS runs on one thread for both (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and
MKL_NUM_THREADS default to 1 here; set them to compare multi-threaded BLAS).
Results of one run are in benchmarks/results/sklearn.md.
"""
import argparse
import os
import platform
import time
import warnings

# before numpy and scipy load their BLAS
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier as SklearnMLP  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import backprop  # noqa: E402
from backprop.sklearn import MLPClassifier as BackpropMLP  # noqa: E402

SOLVERS = {"sgd": dict(solver="sgd", learning_rate_init=0.1),
           "adam": dict(solver="adam", learning_rate_init=0.001)}


def data():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                        random_state=0)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def time_fit(cls, params, X, y, rounds):
    best, est = np.inf, None
    for _ in range(rounds):
        est = cls(**params)
        t0 = time.perf_counter()
        est.fit(X, y)
        best = min(best, time.perf_counter() - t0)
    return best, est


def time_partial_fit(cls, params, X, y, calls, rows):
    """The median seconds of one partial_fit call on `rows` samples, and the
    fitted estimator."""
    est = cls(**params)
    est.partial_fit(X[:rows], y[:rows], classes=np.unique(y))
    times = np.empty(calls)
    for i in range(calls):
        lo = (i * rows) % (len(X) - rows)
        Xb, yb = X[lo:lo + rows], y[lo:lo + rows]
        t0 = time.perf_counter()
        est.partial_fit(Xb, yb)
        times[i] = time.perf_counter() - t0
    return float(np.median(times)), est


def time_network_train(est, X, y, calls, rows):
    """The median seconds of the one Network.train call a backprop partial_fit
    on `rows` samples makes (same network, optimiser and batch), called
    directly: the part of partial_fit's time that is not the estimator's own."""
    net = est.network_
    Y = np.eye(len(est.classes_))[np.searchsorted(est.classes_, y)]
    times = np.empty(calls)
    for i in range(calls):
        lo = (i * rows) % (len(X) - rows)
        Xb, Yb = np.ascontiguousarray(X[lo:lo + rows]), Y[lo:lo + rows]
        t0 = time.perf_counter()
        net.train(Xb, Yb, epochs=1, lr=est._lr, batch_size=rows)
        times[i] = time.perf_counter() - t0
    return float(np.median(times))


def max_diff(a, b):
    return max(float(np.max(np.abs(p - q)))
               for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="fits per estimator (best kept)")
    parser.add_argument("--calls", type=int, default=300, help="partial_fit calls timed")
    parser.add_argument("--max-iter", type=int, default=50, help="epochs per fit")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    X_train, X_test, y_train, y_test = data()
    print(f"backprop {backprop.__version__}, scikit-learn {sklearn.__version__}, "
          f"numpy {np.__version__}, Python {platform.python_version()}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"load_digits standardised: {len(X_train)} training, {len(X_test)} test samples; "
          f"(100,) relu, batch 200, {args.max_iter} epochs, tol=0\n")
    print("| solver | what | scikit-learn | backprop | speed-up | test accuracy sklearn / backprop "
          "| max abs param diff | of which Network.train |")
    print("|---|---|---|---|---|---|---|---|")
    for name, solver in SOLVERS.items():
        params = dict(hidden_layer_sizes=(100,), max_iter=args.max_iter, tol=0.0, random_state=0,
                      **solver)
        t_sk, sk = time_fit(SklearnMLP, params, X_train, y_train, args.rounds)
        t_bp, bp = time_fit(BackpropMLP, params, X_train, y_train, args.rounds)
        assert sk.n_iter_ == bp.n_iter_ == args.max_iter
        acc = f"{sk.score(X_test, y_test):.4f} / {bp.score(X_test, y_test):.4f}"
        print(f"| {name} | fit ({args.max_iter} epochs) | {t_sk * 1e3:.1f} ms | {t_bp * 1e3:.1f} ms "
              f"| {t_sk / t_bp:.1f}x | {acc} | {max_diff(sk, bp):.1e} | |")
        for rows in (200, 10):
            p_sk, _ = time_partial_fit(SklearnMLP, params, X_train, y_train, args.calls, rows)
            p_bp, est = time_partial_fit(BackpropMLP, params, X_train, y_train, args.calls, rows)
            p_net = time_network_train(est, X_train, y_train, args.calls, rows)
            print(f"| {name} | partial_fit ({rows} samples) | {p_sk * 1e6:.0f} µs "
                  f"| {p_bp * 1e6:.0f} µs | {p_sk / p_bp:.1f}x | | | {p_net * 1e6:.0f} µs |")


if __name__ == "__main__":
    main()
