"""train(threads=T): a team of threads shares each mini-batch.  Every value
is computed as a lone thread computes it, so the kernels' own loops give the
same bits for any T; BLAS sums in its own order, which may depend on the
block shapes."""
import sys
import threading

import numpy as np
import pytest

import backprop as bp
from backprop import _core

CASES = {
    "three layers": ([5, 40, 7, 3], {}, {"batch_size": 16}),
    "shuffled, ragged last batch": ([5, 40, 7, 3], {}, {"batch_size": 9, "shuffle": True, "seed": 1}),
    "shared bias": ([5, 40, 3], {"bias": "shared"}, {"batch_size": 8}),
    "no bias": ([5, 40, 3], {"bias": "none"}, {"batch_size": 8}),
    "frozen bias": ([5, 40, 3], {"train_bias": False}, {"batch_size": 8}),
    "adam": ([5, 40, 3], {}, {"batch_size": 8, "optimizer": bp.Adam(weight_decay=0.1, decay_bias=True)}),
    "nesterov": ([5, 40, 3], {}, {"batch_size": 8,
                                  "optimizer": bp.SGD(momentum=0.9, nesterov=True, weight_decay=0.01)}),
    "softmax": ([5, 40, 4], {"activation": ["tanh", "softmax"], "loss": "cross_entropy"},
                {"batch_size": 7}),
    "full batch": ([30, 300, 20], {"activation": ["relu", "identity"], "loss": "huber"},
                   {"batch_size": None}),
    "layers narrower than the team": ([3, 2, 2], {}, {"batch_size": 4}),
}


@pytest.fixture
def blas():
    """Run a test with BLAS off, then restore the process's setting."""
    used = _core.blas_in_use()
    yield _core.use_blas
    _core.use_blas(used)


def trained(sizes, net_kw, train_kw, threads, n=203):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, sizes[0]))
    Y = rng.uniform(size=(n, sizes[-1]))
    if net_kw.get("loss") == "cross_entropy":
        Y /= Y.sum(axis=1, keepdims=True)
    net = bp.Network(sizes, seed=3, **net_kw)
    hist = net.train(X, Y, epochs=3, lr=0.05, threads=threads, **train_kw)
    return net, hist


@pytest.mark.parametrize("case", CASES)
def test_own_loops_give_the_same_bits_for_any_team(blas, case):
    blas(False)
    sizes, net_kw, train_kw = CASES[case]
    alone, h1 = trained(sizes, net_kw, train_kw, 1)
    for threads in (2, 3, 5):
        team, h = trained(sizes, net_kw, train_kw, threads)
        assert team.params.tobytes() == alone.params.tobytes(), threads
        assert h.loss.tobytes() == h1.loss.tobytes(), threads
        assert team.epochs_trained == 3 and team.samples_seen == alone.samples_seen


@pytest.mark.parametrize("case", ["three layers", "adam", "full batch"])
def test_blas_teams_agree_to_rounding(blas, case):
    if not blas(True):
        pytest.skip("SciPy's BLAS is not installed")
    sizes, net_kw, train_kw = CASES[case]
    alone, h1 = trained(sizes, net_kw, train_kw, 1)
    team, h2 = trained(sizes, net_kw, train_kw, 2)
    np.testing.assert_allclose(team.params, alone.params, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h2.loss, h1.loss, rtol=1e-12)


def test_a_team_stops_at_the_target_loss_like_one_thread(blas):
    blas(False)
    _, full = trained([5, 40, 3], {}, {"batch_size": 8}, 1)
    kw = {"batch_size": 8, "target_loss": full.loss[1]}        # reached after two epochs
    alone, h1 = trained([5, 40, 3], {}, kw, 1)
    team, h2 = trained([5, 40, 3], {}, kw, 3)
    assert h1.stop_reason == h2.stop_reason == "target_loss" and len(h1.loss) == len(h2.loss) == 2
    assert team.params.tobytes() == alone.params.tobytes()


@pytest.mark.parametrize("threads", [2, 3])
def test_a_team_diverging_restores_the_network_like_one_thread(blas, threads):
    blas(False)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3)) * 50
    Y = rng.normal(size=(40, 1)) * 50
    net = bp.Network([3, 20, 1], activation=["relu", "identity"], seed=0)
    before = net.params.copy()
    with pytest.raises(bp.DivergenceError):
        net.train(X, Y, epochs=50, lr=lambda e: 0.01 * 4.0 ** e, batch_size=8, threads=threads)
    assert np.isfinite(net.params).all()
    replay = bp.Network([3, 20, 1], activation=["relu", "identity"], seed=0)
    assert replay.params.tobytes() == before.tobytes()
    replay.train(X, Y, epochs=net.epochs_trained, lr=lambda e: 0.01 * 4.0 ** e, batch_size=8)
    assert replay.params.tobytes() == net.params.tobytes()


def test_threads_are_checked():
    X, Y = np.zeros((10, 2)), np.zeros((10, 1))
    net = bp.Network([2, 3, 1])
    with pytest.raises(ValueError, match="batch_size > 1"):
        net.train(X, Y, threads=2)
    with pytest.raises(ValueError, match="threads"):
        net.train(X, Y, batch_size=2, threads=0)
    with pytest.raises(ValueError, match="threads"):
        net.train(X, Y, batch_size=2, threads=10_000)
    with pytest.raises(TypeError, match="threads"):
        net.train(X, Y, batch_size=2, threads=2.5)
    assert net.epochs_trained == 0


def test_a_member_that_cannot_start_leaves_no_thread_and_no_trace(monkeypatch):
    X, Y = np.random.default_rng(0).normal(size=(64, 5)), np.zeros((64, 2))
    net = bp.Network([5, 40, 2], seed=1)
    before = net.params.copy()
    started = []
    real_start = threading.Thread.start

    def start(thread):
        if started:
            raise RuntimeError("can't start new thread")
        started.append(thread)
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", start)
    with pytest.raises(RuntimeError, match="start new thread"):
        net.train(X, Y, batch_size=16, threads=3)
    started[0].join(timeout=10)
    assert not started[0].is_alive()        # released from the barrier it waited at
    assert net.params.tobytes() == before.tobytes() and net.epochs_trained == 0
    monkeypatch.undo()
    net.train(X, Y, batch_size=16, threads=3)
    assert net.epochs_trained == 1


def test_a_team_holds_blas_to_one_thread_per_member_while_it_runs(blas, monkeypatch):
    if not blas(True):
        pytest.skip("SciPy's BLAS is not installed")
    calls = []

    class Limits:
        def __init__(self, limits, user_api):
            calls.append((limits, user_api))

        def __enter__(self):
            calls.append("enter")

        def __exit__(self, *exc):
            calls.append("exit")

    fake = type(sys)("threadpoolctl")
    fake.threadpool_limits = Limits
    monkeypatch.setitem(sys.modules, "threadpoolctl", fake)
    trained([5, 40, 3], {}, {"batch_size": 8}, 1)
    assert calls == []                      # one thread: BLAS keeps its own threads
    trained([5, 40, 3], {}, {"batch_size": 8}, 2)
    assert calls == [(1, "blas"), "enter", "exit"]


def test_a_team_needs_two_threads():
    with pytest.raises(ValueError, match="at least 2 threads"):
        _core.Team(1)
    with _core.Team(3) as team:
        assert team.n == 3
