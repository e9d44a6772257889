"""History holds plain arrays: every field is an ndarray as soon as train
returns, pickles as itself, and says what the run did."""
import pickle

import numpy as np
import backprop as bp

FIELDS = ("loss", "val_loss", "penalty", "epoch", "lr", "time", "samples", "record",
          "record_samples")


def test_every_field_is_an_array_in_the_instance_dict():
    net, x, t, lr = bp.examples.mazur()
    history = net.train(x[None], t[None], epochs=1000, lr=lr)
    for name in FIELDS:
        assert type(vars(history)[name]) is np.ndarray, name
    assert not any(callable(v) for v in vars(history).values())
    np.testing.assert_array_equal(history.epoch, np.arange(1000))
    np.testing.assert_array_equal(history.samples, np.arange(1, 1001))
    np.testing.assert_array_equal(history.lr, np.full(1000, lr))
    assert history.time.shape == (1000,) and (np.diff(history.time) >= 0).all() and history.time[0] > 0


def test_a_second_call_continues_the_counts_and_pickles_unchanged():
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((10, 3)), rng.random((10, 2))
    net = bp.Network([3, 4, 2], seed=0)
    net.train(X, Y, epochs=2, lr=0.1)
    history = net.train(X, Y, epochs=3, batch_size=4, lr=bp.StepDecay(0.1, 2, 0.5), record_every=5)
    np.testing.assert_array_equal(history.epoch, [2, 3, 4])
    np.testing.assert_array_equal(history.samples, [30, 40, 50])
    np.testing.assert_array_equal(history.lr, [0.05, 0.05, 0.025])     # 0.1 · 0.5 ** (epoch // 2)
    np.testing.assert_array_equal(history.record_samples, [25, 30, 35, 40, 45, 50])
    back = pickle.loads(pickle.dumps(history))
    assert vars(back).keys() == vars(history).keys()
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(back, name), getattr(history, name))
    assert back.record_every == 5 and back.stop_reason is None


def test_callbacks_see_the_epochs_so_far_and_the_final_history_all():
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((8, 2)), rng.random((8, 1))
    seen = []
    net = bp.Network([2, 3, 1], seed=0)
    history = net.train(X, Y, epochs=4, lr=0.1,
                        callbacks=[lambda e, h, n: seen.append((e, h.epoch.copy(), h.samples.copy()))])
    assert [e for e, _, _ in seen] == [0, 1, 2, 3]
    for e, epoch, samples in seen:
        np.testing.assert_array_equal(epoch, np.arange(e + 1))
        np.testing.assert_array_equal(samples, 8 * np.arange(1, e + 2))
    np.testing.assert_array_equal(history.epoch, np.arange(4))


def test_a_run_stopped_early_ends_its_arrays_at_the_last_epoch():
    X = np.linspace(-1, 1, 20).reshape(10, 2)
    Y = np.full((10, 1), 0.5)
    net = bp.Network([2, 2, 1], seed=0)
    history = net.train(X, Y, epochs=3, lr=0.1, target_loss=1e300)
    assert history.stop_reason == "target_loss" and len(history) == 1
    for name in ("loss", "epoch", "lr", "time", "samples"):
        assert getattr(history, name).shape == (1,), name
    np.testing.assert_array_equal(history.samples, [10])


def decayed_sq(net, decay_bias):
    """‖W‖² over the parameters weight decay acts on, in NumPy."""
    return sum(float(np.sum(W * W)) + (float(np.sum(b * b)) if decay_bias else 0.0)
               for W, b in zip(net.weights, net.biases))


def test_penalty_is_the_l2_term_of_each_step_before_it():
    # History.penalty, against steps taken one compiled call at a time on a
    # twin, ‖W‖² read from the twin before each: a batch of R samples with
    # mean weight w̄ counts R ½ (λ / w̄) ‖W‖², the epoch's mean over its n samples
    from backprop import training

    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(23, 4)), rng.random((23, 3))
    weights = rng.uniform(0.5, 2.0, 23)
    cases = [(5, weights, bp.SGD(momentum=0.9, weight_decay=0.3)),
             (5, None, bp.Adam(weight_decay=0.2, decay_bias=True)),
             (1, None, bp.SGD(weight_decay=0.1)),
             (4, None, bp.SGD())]
    for k, w, optimizer in cases:
        net = bp.Network([4, 6, 3], seed=1)
        twin = net.copy()
        hist = training.train(net, X, Y, 2, 0.05, k, optimizer, False, None, None, None, None,
                              (), None, False, 1, w, penalty=True)
        expected = []
        for _ in range(2):
            total = 0.0
            for p in range(0, len(X), k):
                rows = slice(p, p + k)
                mean_w = 1.0 if w is None else float(np.mean(w[rows]))
                R = len(X[rows])
                total += R * 0.5 * optimizer.weight_decay / mean_w * decayed_sq(
                    twin, optimizer.decay_bias)
                twin.train(X[rows], Y[rows], lr=0.05, batch_size=R,
                           optimizer=optimizer, sample_weight=None if w is None else w[rows])
            expected.append(total / len(X))
        assert twin.params.tobytes() == net.params.tobytes()
        np.testing.assert_allclose(hist.penalty, expected, rtol=1e-13, atol=0)
        assert (hist.penalty > 0).all() == (optimizer.weight_decay > 0)


def test_penalty_is_empty_unless_asked_for():
    rng = np.random.default_rng(6)
    X, Y = rng.normal(size=(10, 3)), rng.random((10, 2))
    net = bp.Network([3, 4, 2], seed=0)
    hist = net.train(X, Y, epochs=3, batch_size=4, optimizer=bp.SGD(weight_decay=0.5))
    assert hist.penalty.shape == (0,) and hist.loss.shape == (3,)
