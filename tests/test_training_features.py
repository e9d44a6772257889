"""Validation loss, records, stopping, callbacks, progress and Ctrl-C."""
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import backprop as bp
import backprop.training as training_module
from backprop.examples import mazur


def data(n=40, n_in=5, n_out=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n_in)), rng.uniform(size=(n, n_out))


@pytest.fixture(params=[False, True], ids=["big-chunks", "one-step-chunks"])
def chunking(request, monkeypatch):
    if request.param:
        monkeypatch.setattr(training_module, "CHUNK_WORK", 1)
    return request.param


def test_validation_loss_is_measured_after_each_epoch(chunking):
    X, Y = data()
    Xv, Yv = data(15, seed=1)
    net = bp.Network([5, 7, 3], seed=0)
    twin = net.copy()
    hist = net.train(X, Y, epochs=4, lr=0.2, validation=(Xv, Yv), shuffle=True, seed=3)
    expected = []
    for e in range(4):
        twin.train(X, Y, epochs=1, lr=0.2, shuffle=True, seed=3 if e == 0 else None)
        expected.append(twin.loss(Xv, Yv))
    np.testing.assert_array_equal(hist.val_loss, expected)
    assert net.params.tobytes() == twin.params.tobytes()


def test_record_every_gives_a_curve_for_one_sample():
    net, x, t, lr = mazur()
    twin = net.copy()
    hist = net.train(x, t, epochs=10_000, lr=lr, record_every=100)
    losses = np.array([twin.learn_one(x, t, lr) for _ in range(10_000)])
    assert hist.record.shape == (100,)
    np.testing.assert_allclose(hist.record, losses.reshape(100, 100).mean(axis=1), rtol=1e-13)
    np.testing.assert_array_equal(hist.record_samples, np.arange(100, 10_001, 100))
    assert hist.record[0] > hist.record[-1]


@pytest.mark.parametrize("batch_size", [1, 3])
def test_records_span_epochs_and_chunks(chunking, batch_size):
    X, Y = data(n=10)
    net = bp.Network([5, 7, 3], seed=0)
    hist = net.train(X, Y, epochs=5, batch_size=batch_size, record_every=7)
    per_sample = []
    twin = bp.Network([5, 7, 3], seed=0)
    for _ in range(5):
        for start in range(0, 10, batch_size):
            xb, yb = X[start:start + batch_size], Y[start:start + batch_size]
            per_sample += [twin.loss(x, y) for x, y in zip(xb, yb)]
            twin.train(xb, yb, epochs=1, batch_size=None)
    assert hist.record.shape == (50 // 7,)
    np.testing.assert_allclose(hist.record, np.array(per_sample[:49]).reshape(7, 7).mean(axis=1), rtol=1e-12)


def test_target_loss_stops_inside_the_compiled_loop():
    net, x, t, lr = mazur()
    hist = net.train(x, t, epochs=100_000, lr=lr, target_loss=1e-3)
    assert hist.stop_reason == "target_loss"
    assert hist.loss[-1] <= 1e-3 < hist.loss[-2]
    assert net.epochs_trained == len(hist) == net.samples_seen
    replay, *_ = mazur()
    replay.train(x, t, epochs=len(hist), lr=lr)
    assert replay.params.tobytes() == net.params.tobytes()


def test_target_loss_with_mini_batches():
    X, Y = data()
    net = bp.Network([5, 7, 3], seed=0)
    first = net.copy().train(X, Y, epochs=30, batch_size=8, lr=0.5).loss
    target = first[10]
    hist = net.train(X, Y, epochs=30, batch_size=8, lr=0.5, target_loss=target)
    assert len(hist) == np.argmax(first <= target) + 1 and hist.stop_reason == "target_loss"


def test_callbacks_see_each_epoch_and_can_stop(chunking):
    X, Y = data()
    seen = []

    def watch(epoch, history, network):
        seen.append((epoch, len(history), network.epochs_trained))
        return epoch == 4

    net = bp.Network([5, 7, 3], seed=0)
    net.train(X, Y, epochs=2)
    hist = net.train(X, Y, epochs=10, callbacks=[watch])
    assert seen == [(2, 1, 3), (3, 2, 4), (4, 3, 5)]
    assert hist.stop_reason == "callback" and len(hist) == 3 and net.epochs_trained == 5


@pytest.mark.parametrize("meddling", ["train", "learn_one", "raise"])
def test_a_callback_cannot_train_its_own_network(meddling):
    X, Y = data()
    net = bp.Network([5, 7, 3], seed=0)

    def meddle(epoch, history, network):
        if meddling == "train":
            network.train(X, Y)
        elif meddling == "learn_one":
            network.learn_one(X[0], Y[0])
        else:
            raise KeyError("from the callback")

    error, pattern = ((KeyError, "from the callback") if meddling == "raise"
                      else (RuntimeError, "being trained already .* callback"))
    with pytest.raises(error, match=pattern):
        net.train(X, Y, epochs=3, callbacks=[meddle])
    # The epoch before the callback stands, and the network is free again.
    replay = bp.Network([5, 7, 3], seed=0)
    replay.train(X, Y, epochs=1)
    assert net.epochs_trained == 1 and net.params.tobytes() == replay.params.tobytes()
    net.train(X, Y, epochs=1)
    assert net.epochs_trained == 2


def test_early_stopping_restores_the_best_parameters():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 5))
    Y = rng.uniform(size=(30, 3))
    Xv, Yv = rng.normal(size=(30, 5)), rng.uniform(size=(30, 3))     # unrelated: val loss turns up
    net = bp.Network([5, 40, 3], seed=0)
    stopper = bp.EarlyStopping(patience=3)
    hist = net.train(X, Y, epochs=500, lr=0.5, validation=(Xv, Yv), callbacks=[stopper])
    assert hist.stop_reason == "early_stopping"
    best = int(np.argmin(hist.val_loss))
    assert len(hist) == best + 5 and stopper.best == hist.val_loss[best]
    replay = bp.Network([5, 40, 3], seed=0)
    replay.train(X, Y, epochs=best + 1, lr=0.5)
    assert replay.params.tobytes() == net.params.tobytes()
    with pytest.raises(ValueError, match="validation"):
        net.train(X, Y, callbacks=[bp.EarlyStopping()])


def test_history_times_and_sample_counts():
    X, Y = data()
    net = bp.Network([5, 7, 3], seed=0)
    net.learn_one(X[0], Y[0])
    hist = net.train(X, Y, epochs=6)
    assert np.all(np.diff(hist.time) >= 0) and hist.time[0] > 0
    np.testing.assert_array_equal(hist.samples, 1 + 40 * np.arange(1, 7))
    assert hist.stop_reason is None


def test_progress_bar_shows_the_running_loss(capsys):
    pytest.importorskip("tqdm")
    X, Y = data()
    bp.Network([5, 7, 3], seed=0).train(X, Y, epochs=3, progress=True)
    err = capsys.readouterr().err
    assert "train" in err and "loss=" in err and "120/120" in err


def test_bad_training_options():
    X, Y = data()
    net = bp.Network([5, 7, 3], seed=0)
    with pytest.raises(ValueError, match="target_loss must be >= 0"):
        net.train(X, Y, target_loss=-1)
    with pytest.raises(ValueError, match="record_every must be >= 1"):
        net.train(X, Y, record_every=0)
    with pytest.raises(TypeError, match="callbacks must be a list"):
        net.train(X, Y, callbacks=lambda *a: False)
    with pytest.raises(TypeError, match="every callback must be callable"):
        net.train(X, Y, callbacks=[1])
    with pytest.raises(ValueError, match="validation X must have 5"):
        net.train(X, Y, validation=(X[:, :2], Y))
    with pytest.raises(ValueError, match="progress must be True, False or 'auto'"):
        net.train(X, Y, progress="yes")
    assert net.epochs_trained == 0


INTERRUPTED = textwrap.dedent("""
    import json, os, signal, sys, threading
    import numpy as np
    import backprop as bp
    import backprop.training as nm
    mode = sys.argv[1]
    # A process started in the background by a non-interactive shell inherits
    # SIGINT ignored, and Python then leaves it so: give it Python's own handler,
    # the one an interactive run has.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(400, 30)), rng.uniform(size=(400, 5))
    net = bp.Network([30, 50, 5], seed=0)
    start = net.copy()
    if mode == "callback":
        kill = lambda epoch, h, n: os.kill(os.getpid(), signal.SIGINT) if epoch == 2 else None
        hist = net.train(X, Y, epochs=50, callbacks=[kill])
    else:
        nm.CHUNK_WORK = 20_000                # several chunks per epoch
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
        hist = net.train(X, Y, epochs=100_000)
    done = int(hist.samples[-1])
    full, rest = divmod(done, 400)
    start.train(X, Y, epochs=full)
    for x, y in zip(X[:rest], Y[:rest]):
        start.learn_one(x, y)
    print(json.dumps({"reason": hist.stop_reason, "epochs": len(hist), "samples": done,
                      "trained": net.epochs_trained, "seen": net.samples_seen,
                      "consistent": start.params.tobytes() == net.params.tobytes()}))
""")


@pytest.mark.parametrize("mode", ["callback", "timer"])
def test_ctrl_c_stops_at_a_chunk_boundary_and_leaves_the_network_consistent(mode):
    proc = subprocess.run([sys.executable, "-c", INTERRUPTED, mode], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["reason"] == "interrupted" and result["consistent"]
    assert result["seen"] == result["samples"]
    assert result["trained"] == result["samples"] // 400
    if mode == "callback":
        assert result["epochs"] == 3 and result["samples"] == 1200
