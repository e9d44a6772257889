"""Bad input: a clear ValueError or TypeError naming the argument, raised
before anything is touched (parameters, optimiser state and generator stay
bit-identical)."""
import sys
import types

import numpy as np
import pytest

import backprop as bp

X = np.random.default_rng(0).uniform(size=(6, 3))
Y = np.random.default_rng(1).uniform(size=(6, 2))
NAN_X = X.copy()
NAN_X[2, 1] = np.nan
INF_Y = Y.copy()
INF_Y[4, 0] = np.inf

CALLS = {
    "nan in X": (lambda n: n.train(NAN_X, Y), ValueError, r"X must be finite.*X\[2, 1\] is nan"),
    "inf in Y": (lambda n: n.train(X, INF_Y), ValueError, r"Y must be finite.*Y\[4, 0\] is inf"),
    "X width": (lambda n: n.train(X[:, :2], Y), ValueError, r"X must have 3 inputs per sample.*got 2"),
    "Y width": (lambda n: n.train(X, Y[:, :1]), ValueError, r"Y must have 2 outputs per sample.*got 1"),
    "row mismatch": (lambda n: n.train(X, Y[:5]), ValueError, r"same number of samples, got 6 and 5"),
    "empty": (lambda n: n.train(X[:0], Y[:0]), ValueError, r"X is empty"),
    "3-D X": (lambda n: n.train(X[None], Y), ValueError, r"X must be 1-D .* or 2-D.*got 3-D"),
    "complex X": (lambda n: n.train(X + 1j, Y), TypeError, r"X must hold real numbers.*complex"),
    "string X": (lambda n: n.predict([["a", "b", "c"]]), TypeError, r"X must hold real numbers"),
    "ragged X": (lambda n: n.predict([[1, 2, 3], [1, 2]]), TypeError, r"X must be an array of numbers"),
    "negative lr": (lambda n: n.train(X, Y, lr=-0.1), ValueError, r"lr must be >= 0.0, got -0.1"),
    "nan lr": (lambda n: n.train(X, Y, lr=float("nan")), ValueError, r"lr must be finite, got nan"),
    "inf lr": (lambda n: n.train(X, Y, lr=float("inf")), ValueError, r"lr must be finite, got inf"),
    "string lr": (lambda n: n.train(X, Y, lr="0.1"), TypeError, r"lr must be a real number"),
    "bad schedule": (lambda n: n.train(X, Y, epochs=3, lr=lambda e: 0.1 if e < 2 else -1),
                     ValueError, r"schedule gave a negative lr -1 for epoch 2"),
    "schedule nan": (lambda n: n.train(X, Y, epochs=3, lr=lambda e: float("nan")),
                     ValueError, r"schedule gave nan for epoch 1"),
    "negative epochs": (lambda n: n.train(X, Y, epochs=-1), ValueError, r"epochs must be >= 0, got -1"),
    "float epochs": (lambda n: n.train(X, Y, epochs=2.5), TypeError, r"epochs must be an integer"),
    "bool epochs": (lambda n: n.train(X, Y, epochs=True), TypeError, r"epochs must be an integer"),
    "batch 0": (lambda n: n.train(X, Y, batch_size=0), ValueError, r"batch_size must be >= 1, got 0"),
    "batch too big": (lambda n: n.train(X, Y, batch_size=7), ValueError,
                      r"batch_size must be at most the number of samples \(6\), got 7"),
    "shuffle str": (lambda n: n.train(X, Y, shuffle="yes"), TypeError, r"shuffle must be True or False"),
    "negative seed": (lambda n: n.train(X, Y, seed=-1), ValueError, r"seed must be >= 0"),
    "bad optimizer": (lambda n: n.train(X, Y, optimizer=0.1), TypeError, r"optimizer must be backprop.SGD"),
    "predict width": (lambda n: n.predict([1.0, 2.0]), ValueError, r"X must have 3 inputs per sample.*got 2"),
    "loss nan": (lambda n: n.loss(NAN_X, Y), ValueError, r"X must be finite"),
    "trace two samples": (lambda n: n.trace(X[:2], Y[:2]), ValueError, r"trace takes one sample"),
    "trace width": (lambda n: n.trace([1.0], [0.0, 1.0]), ValueError, r"x must have 3 inputs"),
    "learn_one width": (lambda n: n.learn_one(np.ones(2), np.ones(2)), ValueError,
                        r"x must have 3 values and t 2, got 2 and 2"),
    "learn_one target width": (lambda n: n.learn_one(np.ones(3), np.ones(3)), ValueError,
                               r"x must have 3 values and t 2, got 3 and 3"),
    "learn_one nan": (lambda n: n.learn_one(np.array([1.0, np.nan, 0.0]), np.ones(2)), ValueError,
                      r"must be finite"),
    "learn_one inf target": (lambda n: n.learn_one(np.ones(3), np.array([0.0, -np.inf])), ValueError,
                             r"must be finite"),
    "learn_one 2-D": (lambda n: n.learn_one(X, Y), ValueError, r"x must be 1-D"),
    "learn_one lr": (lambda n: n.learn_one(np.ones(3), np.ones(2), lr=-1.0), ValueError, r"lr must be >= 0"),
    "predict_one width": (lambda n: n.predict_one(np.ones(4)), ValueError, r"x must have 3 values, got 4"),
    "predict_one nan": (lambda n: n.predict_one(np.array([0.0, np.nan, 1.0])), ValueError, r"finite"),
    "huge int lr": (lambda n: n.train(X, Y, lr=10 ** 400), ValueError, r"lr must be finite, got an integer"),
    "record_every past int64": (lambda n: n.train(X, Y, record_every=2 ** 63, optimizer=bp.Adam(), seed=7),
                                ValueError, r"record_every must be <= 4611686018427387904"),
    "schedule fails, new optimizer": (lambda n: n.train(X, Y, lr=lambda e: 1 / 0, optimizer=bp.Adam(), seed=7),
                                      ZeroDivisionError, r"division by zero"),
    "schedule trains its network": (lambda n: n.train(X, Y, lr=lambda e: (n.learn_one(X[0], Y[0]), 0.1)[1]),
                                    RuntimeError, r"being trained already .* schedule"),
    "callback set-up fails": (lambda n: n.train(X, Y, optimizer=bp.Adam(), seed=7, callbacks=[Failing()]),
                              KeyError, r"on_train_begin"),
    "callbacks not iterable": (lambda n: n.train(X, Y, callbacks=3), TypeError,
                               r"callbacks must be a list of callables, got 3"),
    "callbacks false": (lambda n: n.train(X, Y, callbacks=False), TypeError,
                        r"callbacks must be a list of callables, got False"),
    "callbacks zero": (lambda n: n.train(X, Y, callbacks=0), TypeError,
                       r"callbacks must be a list of callables, got 0"),
    "masked X": (lambda n: n.train(np.ma.masked_greater(X, 0.5), Y), TypeError,
                 r"X is a masked array; its mask would be ignored"),
    "masked predict": (lambda n: n.predict(np.ma.masked_greater(X, 0.5)), TypeError, r"X is a masked array"),
    "masked learn_one": (lambda n: n.learn_one(np.ma.masked_greater(X[0], 0.5), Y[0]), TypeError,
                         r"x is a masked array"),
    "masked trace": (lambda n: n.trace(X[0], np.ma.masked_greater(Y[0], 0.5)), TypeError, r"is a masked array"),
}


class Failing:
    def on_train_begin(self):
        raise KeyError("on_train_begin")

    def __call__(self, epoch, history, network):
        return False


@pytest.mark.parametrize("case", sorted(CALLS))
def test_bad_call_raises_and_touches_nothing(case):
    call, error, pattern = CALLS[case]
    net = bp.Network([3, 4, 2], seed=0)
    net.train(X, Y, epochs=1, optimizer=bp.SGD(momentum=0.9), shuffle=True)
    before = net._model.snapshot()
    rng_state = net._rng.bit_generator.state
    counters = (net.epochs_trained, net.samples_seen, net.optimizer)
    with pytest.raises(error, match=pattern):
        call(net)
    after = net._model.snapshot()
    assert after[0].tobytes() == before[0].tobytes()
    assert after[1].tobytes() == before[1].tobytes()
    assert after[2] is None and after[3] == before[3]
    assert net._rng.bit_generator.state == rng_state
    assert (net.epochs_trained, net.samples_seen, net.optimizer) == counters


CONSTRUCTION = {
    "one size": (lambda: bp.Network([3]), ValueError, r"at least two layer widths"),
    "zero width": (lambda: bp.Network([3, 0, 2]), ValueError, r"sizes\[1\] = 0"),
    "float width": (lambda: bp.Network([3, 2.5, 2]), TypeError, r"sizes\[1\] must be an integer"),
    "sizes not a list": (lambda: bp.Network(3), TypeError, r"sizes must be a list"),
    "unknown activation": (lambda: bp.Network([2, 2], activation="sigmoid"), ValueError,
                           r"unknown activation 'sigmoid'; expected one of"),
    "activation list length": (lambda: bp.Network([2, 3, 2], activation=["tanh"]), ValueError,
                               r"one per weight layer \(2\), got a list of 1"),
    "hidden softmax": (lambda: bp.Network([2, 3, 2], activation="softmax"), ValueError,
                       r"softmax is for the output layer only"),
    "softmax one output": (lambda: bp.Network([2, 3, 1], activation=["tanh", "softmax"]), ValueError,
                           r"softmax needs at least two outputs"),
    "unknown loss": (lambda: bp.Network([2, 2], loss="mse"), ValueError, r"unknown loss 'mse'"),
    "cross-entropy on tanh": (lambda: bp.Network([2, 2], activation="tanh", loss="cross_entropy"),
                              ValueError, r"cross_entropy needs probabilities.*not 'tanh'"),
    "unknown bias": (lambda: bp.Network([2, 2], bias="layer"), ValueError, r"unknown bias 'layer'"),
    "train_bias str": (lambda: bp.Network([2, 2], train_bias="no"), TypeError, r"train_bias must be True or False"),
    "unknown init": (lambda: bp.Network([2, 2], init="zeros"), ValueError, r"unknown init 'zeros'"),
    "negative seed": (lambda: bp.Network([2, 2], seed=-3), ValueError, r"seed must be >= 0"),
    "negative slope": (lambda: bp.LeakyReLU(-0.1), ValueError, r"LeakyReLU slope must be >= 0"),
    "zero huber": (lambda: bp.Huber(0.0), ValueError, r"Huber delta must be > 0"),
    "negative momentum": (lambda: bp.SGD(momentum=-0.1), ValueError, r"momentum must be >= 0.0, got -0.1"),
    "momentum one": (lambda: bp.SGD(momentum=1.0), ValueError, r"momentum must be < 1.0"),
    "nesterov without momentum": (lambda: bp.SGD(nesterov=True), ValueError, r"nesterov=True needs a momentum"),
    "negative decay": (lambda: bp.SGD(weight_decay=-1e-3), ValueError, r"weight_decay must be >= 0"),
    "beta1 one": (lambda: bp.Adam(beta1=1.0), ValueError, r"beta1 must be < 1.0, got 1.0"),
    "beta2 negative": (lambda: bp.Adam(beta2=-0.5), ValueError, r"beta2 must be >= 0.0"),
    "eps zero": (lambda: bp.Adam(eps=0.0), ValueError, r"eps must be > 0.0"),
    "step decay size": (lambda: bp.StepDecay(0.1, step_size=0), ValueError, r"step_size must be >= 1"),
    "weights mismatch": (lambda: bp.Network.from_weights([np.ones((3, 2)), np.ones((2, 4))]), ValueError,
                         r"weights\[1\] has 4 inputs .* weights\[0\] has 3 outputs"),
    "weights 1-D": (lambda: bp.Network.from_weights([np.ones(3)]), ValueError, r"weights\[0\] must be a non-empty 2-D"),
    "weights nan": (lambda: bp.Network.from_weights([np.full((2, 2), np.nan)]), ValueError, r"weights\[0\] must be finite"),
    "weights empty list": (lambda: bp.Network.from_weights([]), TypeError, r"weights must be a non-empty list"),
    "biases shape": (lambda: bp.Network.from_weights([np.ones((3, 2))], [np.ones(2)]), ValueError,
                     r"biases\[0\] must hold 3 values"),
    "shared bias shape": (lambda: bp.Network.from_weights([np.ones((3, 2))], [np.ones(3)], bias="shared"),
                          ValueError, r"biases\[0\] must hold one value"),
    "biases count": (lambda: bp.Network.from_weights([np.ones((3, 2))], [np.ones(3), np.ones(3)]),
                     ValueError, r"one entry per layer \(1\)"),
    "sizes a dict": (lambda: bp.Network({2: 1, 3: 1}), TypeError, r"sizes must be a list of layer widths"),
    "sizes beyond memory": (lambda: bp.Network([2 ** 62, 2, 2]), ValueError,
                            r"make a network of at least 9.22e\+18 parameters, more than a float64 vector"),
    "ragged biases": (lambda: bp.Network.from_weights([np.ones((3, 2))], [[1.0, [2.0, 3.0]]]), TypeError,
                      r"biases\[0\] must be an array of numbers"),
    "uniform radius overflows": (lambda: bp.init.Uniform(1e308), ValueError, r"Uniform radius must be <="),
    "biases with none": (lambda: bp.Network.from_weights([np.ones((3, 2))], [np.ones(3)], bias="none"),
                         ValueError, r'bias="none"'),
}


@pytest.mark.parametrize("case", sorted(CONSTRUCTION))
def test_bad_construction_raises(case):
    call, error, pattern = CONSTRUCTION[case]
    with pytest.raises(error, match=pattern):
        call()


def test_cross_entropy_targets_must_be_probabilities():
    net = bp.Network([3, 4, 2], activation="logistic", loss="cross_entropy", seed=0)
    before = net.params.copy()
    with pytest.raises(ValueError, match=r"cross_entropy targets must lie in \[0, 1\].*Y\[1, 0\] = 1.5"):
        net.train(X, np.where(np.arange(12).reshape(6, 2) == 2, 1.5, 0.5))
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\]"):
        net.learn_one(X[0], np.array([0.0, -0.5]))
    assert net.params.tobytes() == before.tobytes()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_is_finite_finds_a_bad_value_anywhere(bad):
    assert bp._core.is_finite(np.empty(0))
    for n in range(1, 40):
        values = np.resize([np.finfo(float).max, -np.finfo(float).max, 5e-324, -0.0, 1.5], n)
        assert bp._core.is_finite(values)
        for i in range(n):
            spoiled = values.copy()
            spoiled[i] = bad
            assert not bp._core.is_finite(spoiled), (n, i)


def test_is_finite_refuses_what_it_cannot_read():
    with pytest.raises(ValueError):
        bp._core.is_finite(np.zeros(4)[::2])
    with pytest.raises(ValueError):
        bp._core.is_finite(np.zeros(4, dtype=np.float32))


def model_state(net):
    m = net._model
    return (m.params.tobytes(), None if m.state1 is None else m.state1.tobytes(),
            None if m.state2 is None else m.state2.tobytes(), m.get_counters(), m.samples)


@pytest.mark.parametrize("optimizer", [bp.SGD(), bp.SGD(momentum=0.9), bp.Adam()],
                         ids=["sgd", "momentum", "adam"])
def test_learn_one_undoes_an_update_that_overflows(optimizer):
    # The loss before the update is finite, but the update overflows the
    # parameters (or Adam's second moment): DivergenceError, nothing changed.
    net = bp.Network([2, 3, 2], activation=["relu", "identity"], seed=0)
    net.train(X[:, :2], Y, epochs=2, lr=0.01, optimizer=optimizer)
    before = model_state(net)
    with pytest.raises(bp.DivergenceError, match="non-finite; they were restored"):
        net.learn_one(np.array([1e100, 2e100]), np.array([0.1, 0.9]), lr=1e200)
    assert model_state(net) == before
    net.learn_one(X[0, :2], Y[0], lr=0.01)      # and it still learns
    assert model_state(net) != before


def test_divergence_before_any_update_leaves_no_trace():
    # The optimiser and seed of a call that trained nothing are undone too.
    net = bp.Network([3, 4, 2], activation=["relu", "identity"], seed=0)
    net.train(X, Y, epochs=1, optimizer=bp.SGD(momentum=0.9), shuffle=True)
    before = model_state(net), net._rng.bit_generator.state, net.optimizer, net.seed
    with pytest.raises(bp.DivergenceError, match="after 0 of this call's"):
        net.train(X * 1e200, Y, epochs=2, lr=1e200, optimizer=bp.Adam(), seed=7)
    assert (model_state(net), net._rng.bit_generator.state, net.optimizer, net.seed) == before


def test_sample_counts_stop_before_int64_overflows():
    net = bp.Network([3, 4, 2], seed=0)
    net._model.samples = bp._core.MAX_COUNT - 5
    before = model_state(net)
    with pytest.raises(ValueError, match="would take the network's sample count past"):
        net.train(X, Y)
    with_one_left = bp._core.MAX_COUNT - 1
    net._model.samples = with_one_left
    net.learn_one(X[0], Y[0])
    with pytest.raises(OverflowError, match="sample count .* is at its limit"):
        net.learn_one(X[0], Y[0])
    assert net._model.samples == bp._core.MAX_COUNT
    assert model_state(net)[0] != before[0]


def test_no_callbacks_may_be_given_as_none():
    assert len(bp.Network([3, 4, 2], seed=0).train(X, Y, epochs=2, callbacks=None)) == 2


def test_a_half_imported_numpy_ma_is_no_error(monkeypatch):
    # While another thread imports numpy.ma, its core module is in sys.modules
    # before it defines MaskedArray: no masked array can exist yet.
    for name in ("numpy.ma", "numpy.ma.core"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    net = bp.Network([3, 4, 2], seed=0)
    assert net.predict(X).shape == (len(X), 2)
    net.train(X, Y, epochs=1)
