"""Training semantics: History, chunking, consecutive calls, shuffling,
divergence, extreme values, threads."""
import copy
import pickle
import threading
import time

import numpy as np
import pytest

import backprop as bp
import backprop.training as training_module


OPTIMIZERS = [bp.SGD(), bp.SGD(momentum=0.9), bp.SGD(momentum=0.5, nesterov=True, weight_decay=0.01),
              bp.Adam(), bp.Adam(weight_decay=0.1, decay_bias=True)]


def data(n=30, n_in=4, n_out=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n_in)), rng.uniform(size=(n, n_out))


def test_history_is_the_mean_loss_before_each_update():
    X, Y = data()
    net = bp.Network([4, 6, 3], seed=1)
    twin = net.copy()
    hist = net.train(X, Y, epochs=3, lr=0.2)
    expected = [np.mean([twin.learn_one(x, y, lr=0.2) for x, y in zip(X, Y)]) for _ in range(3)]
    np.testing.assert_allclose(hist.loss, expected, rtol=1e-14)
    assert net.params.tobytes() == twin.params.tobytes()
    np.testing.assert_array_equal(hist.epoch, [0, 1, 2])
    np.testing.assert_array_equal(hist.lr, [0.2] * 3)
    assert len(hist) == 3 and net.epochs_trained == 3 and net.samples_seen == 90


def test_mini_batch_loss_is_taken_before_the_batch_update():
    X, Y = data(n=8)
    net = bp.Network([4, 6, 3], seed=1)
    before = net.loss(X, Y)
    hist = net.train(X, Y, epochs=1, lr=0.5, batch_size=None)
    assert hist.loss[0] == pytest.approx(before, rel=1e-14)


def test_epochs_zero_changes_nothing():
    X, Y = data()
    net = bp.Network([4, 6, 3], seed=1)
    before = net.params.copy()
    hist = net.train(X, Y, epochs=0)
    assert len(hist) == 0 and net.params.tobytes() == before.tobytes()


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=repr)
@pytest.mark.parametrize("batch_size", [1, 7, None])
def test_two_calls_equal_one_call_bit_for_bit(optimizer, batch_size):
    X, Y = data()
    schedule = bp.ExponentialDecay(0.05, 0.9)
    one = bp.Network([4, 6, 3], seed=2)
    two = one.copy()
    h1 = one.train(X, Y, epochs=4, lr=schedule, batch_size=batch_size, optimizer=optimizer,
                   shuffle=True, seed=5)
    a = two.train(X, Y, epochs=1, lr=schedule, batch_size=batch_size, optimizer=optimizer,
                  shuffle=True, seed=5)
    b = two.train(X, Y, epochs=3, lr=schedule, batch_size=batch_size, shuffle=True)
    assert one.params.tobytes() == two.params.tobytes()
    assert np.concatenate([a.loss, b.loss]).tobytes() == h1.loss.tobytes()
    np.testing.assert_array_equal(b.epoch, [1, 2, 3])


@pytest.mark.parametrize("batch_size", [1, 4])
def test_chunk_boundaries_do_not_change_results(monkeypatch, batch_size):
    X, Y = data(n=50)
    whole = bp.Network([4, 6, 3], seed=2)
    chunked = whole.copy()
    h1 = whole.train(X, Y, epochs=3, batch_size=batch_size, optimizer=bp.Adam(), shuffle=True, seed=1)
    monkeypatch.setattr(training_module, "CHUNK_WORK", 1)     # one step per compiled call
    h2 = chunked.train(X, Y, epochs=3, batch_size=batch_size, optimizer=bp.Adam(), shuffle=True, seed=1)
    assert whole.params.tobytes() == chunked.params.tobytes()
    assert h1.loss.tobytes() == h2.loss.tobytes()


@pytest.mark.parametrize("batch_size", [1, 3])
def test_epochs_longer_than_a_chunk_still_validate_and_call_back_after_each(monkeypatch,
                                                                           batch_size):
    X, Y = data(n=10)
    net = bp.Network([4, 6, 3], seed=2)
    twin = net.copy()
    step_work = batch_size * (net.n_params + 9 + training_module.STEP_COST)
    monkeypatch.setattr(training_module, "CHUNK_WORK", 3 * step_work)   # 3 steps per call
    seen = []
    hist = net.train(X, Y, epochs=3, batch_size=batch_size, validation=(X, Y),
                     callbacks=[lambda e, h, n: seen.append((e, len(h.val_loss)))])
    assert seen == [(0, 1), (1, 2), (2, 3)]
    # each validation loss is that of the network at the end of its epoch
    for e in range(3):
        twin.train(X, Y, epochs=1, batch_size=batch_size)
        assert hist.val_loss[e] == twin.loss(X, Y)
    assert twin.params.tobytes() == net.params.tobytes()


def test_history_per_epoch_fields_over_chunks_and_callbacks(monkeypatch):
    # epoch, samples and time are made when first read: a History handed to a
    # callback mid-call and read after the call must hold what it held then.
    X, Y = data(n=5)
    net = bp.Network([4, 6, 3], seed=2)
    net.learn_one(X[0], Y[0])
    seen = []
    monkeypatch.setattr(training_module, "CHUNK_WORK", 150)   # several epochs per compiled call
    start = time.perf_counter()
    hist = net.train(X, Y, epochs=40, lr=0.25)
    took = time.perf_counter() - start
    later = net.train(X, Y, epochs=3, callbacks=[lambda e, h, n: seen.append((e, h))])
    np.testing.assert_array_equal(hist.epoch, np.arange(40))
    # a constant rate reaches the kernels broadcast; the History holds a copy
    assert hist.lr.shape == (40,) and np.all(hist.lr == 0.25) and hist.lr.flags.writeable
    np.testing.assert_array_equal(hist.samples, 1 + 5 * np.arange(1, 41))
    assert hist.time.shape == (40,) and hist.time[0] > 0 and np.all(np.diff(hist.time) >= 0)
    assert hist.time[-1] <= took
    for e, h in seen:
        assert len(h) == e - 39 and h.epoch[-1] == e
        np.testing.assert_array_equal(h.samples, 201 + 5 * np.arange(1, len(h) + 1))
        np.testing.assert_array_equal(h.time, later.time[:len(h)])
    assert len(later.epoch) == 3 and later.epoch.dtype == np.int64
    fresh = net.train(X, Y, epochs=2)
    for copied in (pickle.loads(pickle.dumps(fresh)), copy.deepcopy(fresh)):
        for name in ("loss", "epoch", "lr", "time", "samples"):
            np.testing.assert_array_equal(getattr(copied, name), getattr(fresh, name))


def test_the_compiled_loop_takes_learning_rates_contiguous_or_broadcast():
    X, Y = data(n=2)
    net = bp.Network([4, 6, 3], seed=2)
    with pytest.raises(ValueError, match="lrs must be contiguous or a broadcast constant"):
        net._model.train(X, Y, None, np.full(4, 0.5)[::2], 1, 0, 2, np.zeros(2), -np.inf, 0,
                         np.empty(1), np.zeros(3))
    assert net.params.tobytes() == bp.Network([4, 6, 3], seed=2).params.tobytes()


def test_history_fields_can_be_given_or_left_empty():
    h = bp.History(loss=np.array([0.5, 0.25]), epoch=np.arange(2), time=np.array([0.1, 0.2]))
    np.testing.assert_array_equal(h.epoch, [0, 1])
    assert h.samples.size == 0 and h.lr.size == 0 and h.val_loss.size == 0 and len(h) == 2
    h.lr = np.array([0.5, 0.5])
    np.testing.assert_array_equal(h.lr, [0.5, 0.5])
    assert "2 epochs" in repr(h) and len(bp.History()) == 0


def test_shuffle_changes_the_order_each_epoch_reproducibly():
    X, Y = data()
    plain = bp.Network([4, 6, 3], seed=2)
    shuffled = plain.copy()
    plain.train(X, Y, epochs=2)
    shuffled.train(X, Y, epochs=2, shuffle=True, seed=0)
    assert plain.params.tobytes() != shuffled.params.tobytes()
    again = bp.Network([4, 6, 3], seed=2)
    again.train(X, Y, epochs=2, shuffle=True, seed=0)
    assert again.params.tobytes() == shuffled.params.tobytes()


def test_optimizer_state_continues_and_resets_on_a_new_kind():
    X, Y = data()
    net = bp.Network([4, 6, 3], seed=2)
    net.train(X, Y, epochs=1, optimizer=bp.Adam())
    assert net.optimizer == bp.Adam()
    state = net._model.snapshot()
    assert state[3][0] == 30 and state[1] is not None and np.abs(state[2]).max() > 0
    net.train(X, Y, epochs=1, optimizer=bp.SGD(momentum=0.9))
    assert net._model.snapshot()[3][0] == 30        # a fresh count for the new optimiser


@pytest.mark.parametrize("hidden", [16, 4], ids=["generic-step", "fused-small-step"])
def test_divergence_restores_the_last_finite_state(monkeypatch, hidden):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    Y = rng.normal(size=(20, 1))
    growing = lambda epoch: 0.001 * 1.5 ** epoch        # diverges after some epochs
    net = bp.Network([3, hidden, 1], activation=["relu", "identity"], seed=0)
    # One epoch per compiled chunk: the restore point is the start of the epoch.
    monkeypatch.setattr(training_module, "CHUNK_WORK",
                        len(X) * (net.n_params + hidden + 1 + training_module.STEP_COST))
    with pytest.raises(bp.DivergenceError) as info:
        net.train(X, Y, epochs=60, lr=growing)
    err = info.value
    assert "epoch" in str(err) and "smaller learning rate" in str(err)
    assert 5 < err.epoch < 60 and err.restored_epoch == err.epoch
    assert np.isfinite(net.params).all()
    assert len(err.history.loss) == err.restored_epoch == net.epochs_trained
    assert np.isfinite(err.history.loss).all()
    # The restored state is exactly that of an uninterrupted run of that many epochs.
    replay = bp.Network([3, hidden, 1], activation=["relu", "identity"], seed=0)
    replay.train(X, Y, epochs=err.restored_epoch, lr=growing)
    assert replay.params.tobytes() == net.params.tobytes()


def test_divergence_in_one_big_chunk_restores_the_start():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3)) * 10
    Y = rng.normal(size=(20, 1)) * 10
    net = bp.Network([3, 16, 1], activation=["relu", "identity"], seed=0)
    before = net.params.copy()
    with pytest.raises(bp.DivergenceError):
        net.train(X, Y, epochs=50, lr=0.5, optimizer=bp.SGD(momentum=0.9))
    assert net.params.tobytes() == before.tobytes()
    assert net.epochs_trained == 0


def test_learn_one_refuses_a_non_finite_loss_and_keeps_parameters():
    net = bp.Network.from_weights([np.full((1, 1), 1e200)], [np.zeros(1)], activation="identity")
    before = net.params.copy()
    with pytest.raises(bp.DivergenceError, match="learn_one"):
        net.learn_one([1e200], [0.0], lr=0.1)
    assert net.params.tobytes() == before.tobytes()


@pytest.mark.parametrize("act,loss", [("logistic", "cross_entropy"), ("softmax", "cross_entropy"),
                                      ("logistic", "squared"), ("tanh", "huber"), ("softmax", "squared")])
def test_extreme_preactivations_stay_finite(act, loss):
    W = np.array([[1000.0], [-1000.0]])
    net = bp.Network.from_weights([W], [np.zeros(2)], activation=act, loss=loss)
    for x in ([1.0], [-1.0]):
        for t in ([0.0, 1.0], [1.0, 0.0]):
            tr = net.trace(x, t, lr=0.1)
            assert np.isfinite(tr.error) and np.isfinite(tr.error_after)
            layer = tr.layers[0]
            assert np.isfinite(layer.grad_weights).all() and np.isfinite(layer.new_weights).all()
            assert np.isfinite(net.loss(x, t))
    # A confident right answer costs nothing; a confident wrong one about |z|.
    if loss == "cross_entropy":
        assert net.loss([1.0], [1.0, 0.0]) == 0.0
        assert net.loss([1.0], [0.0, 1.0]) == pytest.approx(2000.0 if act == "softmax" else 2000.0)


def test_hidden_extremes_stay_finite():
    for act in ["logistic", "tanh", "relu", "leaky_relu", "identity"]:
        net = bp.Network.from_weights([np.array([[1000.0], [-1000.0]]), np.full((2, 2), 1e-3)],
                                      [np.zeros(2), np.zeros(2)], activation=[act, "logistic"],
                                      loss="cross_entropy")
        tr = net.trace([1.0], [0.0, 1.0])
        assert all(np.isfinite(layer.grad_weights).all() for layer in tr.layers)


def test_a_second_thread_cannot_train_the_same_network():
    X, Y = data(n=2000, n_in=50, n_out=10)
    net = bp.Network([50, 200, 10], seed=0)
    worker = threading.Thread(target=net.train, args=(X, Y), kwargs={"epochs": 20, "lr": 0.01})
    worker.start()
    try:
        while not net._model.busy:      # until the worker holds the network
            pass
        with pytest.raises(RuntimeError, match="being trained already .by another thread"):
            net.train(X[:5], Y[:5], epochs=1)
        with pytest.raises(RuntimeError, match="being trained already .by another thread"):
            net.learn_one(X[0], Y[0])
    finally:
        worker.join()
    assert net.epochs_trained == 20 and net.samples_seen == 40000
    net.train(X[:5], Y[:5], epochs=1)        # free again afterwards


def test_a_snapshot_can_be_taken_into_an_earlier_ones_arrays():
    X, Y = data()
    net = bp.Network([4, 6, 3], seed=2)
    net.train(X, Y, optimizer=bp.Adam())
    first = net._model.snapshot()
    kept = [a.copy() for a in first[:3]]
    net.train(X, Y)
    again = net._model.snapshot(into=first)
    assert all(a is b for a, b in zip(again[:3], first[:3]))
    for a, b in zip(again[:3], net._model.snapshot()[:3]):
        assert a.tobytes() == b.tobytes()
    assert again[3] == net._model.get_counters() != (0, 1.0, 1.0)
    assert any(a.tobytes() != b.tobytes() for a, b in zip(again[:3], kept))
    # a snapshot without the optimiser state the model now has is not reused
    plain = bp.Network([4, 6, 3], seed=2)._model.snapshot()
    fresh = net._model.snapshot(into=plain)
    assert fresh[0] is not plain[0] and fresh[1] is not None and fresh[2] is not None
