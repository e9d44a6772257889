"""A property-based battery over the public entry points (Hypothesis, with the
fixed profile of conftest.py).

Each example calls one entry point with one argument drawn from a pool of
valid and hostile values (wrong types, shapes, dtypes, byte orders and
alignments, NaN and infinities, huge integers, numpy scalars), the others
valid.  Every call must either give the right result, checked against the
NumPy oracle in tests/reference.py or against the same call with the
argument converted to what it means (a list to float64, an np.int64 to
int), or raise ValueError/TypeError naming the argument, leaving every byte
of the network as it was: parameters, optimiser state and counters,
generator, epoch and sample counts, optimiser, seed and the hold.
"""
import fractions
import math
import os
import re

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis", reason="the property battery needs Hypothesis")
from hypothesis import given, strategies as st  # noqa: E402

import backprop as bp  # noqa: E402
from backprop import io  # noqa: E402

from reference import reference_for  # noqa: E402

N_IN, N_OUT = 3, 2
rng = np.random.default_rng(7)
X = rng.uniform(-1, 1, size=(6, N_IN))
Y = rng.uniform(0, 1, size=(6, N_OUT))


def make_net():
    net = bp.Network([N_IN, 4, N_OUT], seed=0)
    net.train(X, Y, epochs=1, lr=0.1, optimizer=bp.SGD(momentum=0.5))
    return net


BASE = make_net()


def full_state(net):
    m = net._model
    return (m.params.tobytes(), None if m.state1 is None else m.state1.tobytes(),
            None if m.state2 is None else m.state2.tobytes(), m.get_counters(), m.samples,
            net.epochs_trained, net._rng.bit_generator.state, net.optimizer, net.seed,
            m.default_lr, m.busy)


def names(exc, *argument):
    """Whether the exception's text names one of the arguments."""
    text = str(exc)
    return any(re.search(rf"(?<![A-Za-z_]){re.escape(a)}(?![A-Za-z_])", text) for a in argument)


def refused_or(call, net, *argument, errors=(ValueError, TypeError)):
    """call(); if it raises one of `errors`, check that the text names the
    argument and that `net` is unchanged, and return None; else
    (True, result).  A DivergenceError (finite arguments whose loss
    overflows, such as a target of 1e308) is a result too: (False, error)."""
    before = None if net is None else full_state(net)
    try:
        result = call()
    except bp.DivergenceError as exc:
        return False, exc
    except errors as exc:
        assert names(exc, *argument), f"{type(exc).__name__} does not name {argument}: {exc}"
        if net is not None:
            assert full_state(net) == before, f"a refused call changed the network: {exc}"
        return None
    return True, result


def unaligned(a):
    raw = np.zeros(a.nbytes + 1, dtype=np.uint8)
    out = raw[1:].view(np.float64).reshape(a.shape)
    out[...] = a
    return out


def with_value(a, index, value):
    a = np.array(a, dtype=float)
    a[index] = value
    return a


def array_pool(a):
    """Forms of the valid array `a` (each meaning `a`), and hostile ones."""
    f = np.asfortranarray(np.atleast_2d(a)).reshape(a.shape)
    fine = [a, a.tolist(), a.astype(">f8"), unaligned(a), f, np.repeat(a, 2, axis=-1)[..., ::2],
            a.copy(), np.require(a, requirements="C").copy()]
    ro = a.copy()
    ro.flags.writeable = False
    fine.append(ro)
    if np.all(a == np.round(a)):
        fine.append(a.astype(np.int64))
    hostile = [
        with_value(a, (0,) * a.ndim, np.nan), with_value(a, (-1,) * a.ndim, np.inf),
        with_value(a, (0,) * a.ndim, -np.inf), a.astype(np.float32), a.astype(complex), a + 1j,
        a.astype(object), a.astype(str), a[..., :-1], np.concatenate([a, a], axis=-1),
        a[None], np.empty((0,) + a.shape[1:]), np.empty(a.shape[:-1] + (0,)), np.float64(1.5),
        None, "x", b"x", [[1, 2], [3]], np.ma.masked_array(a, mask=np.zeros(a.shape, bool)),
        {"a": 1}, object(), 3, with_value(a, (0,) * a.ndim, 1e308)]
    return st.sampled_from(fine + hostile)


SCALARS = [0, 1, 2, 3, -1, 2 ** 70, -(2 ** 70), 10 ** 400, 0.5, 0.0, -0.0, 1e-300, 1e300, -0.5,
           math.nan, math.inf, -math.inf, True, False, None, "1", b"1", 1j, np.int64(2),
           np.uint8(3), np.float64(0.25), np.float32(0.1), np.bool_(True), [1], (1,), object(),
           fractions.Fraction(1, 3)]


def scalar_pool():
    return st.one_of(st.sampled_from(SCALARS), st.integers(-5, 10 ** 6),
                     st.floats(allow_nan=True, allow_infinity=True))


def canonical(value):
    """What a scalar argument that was accepted means."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating, fractions.Fraction)):
        return float(value)
    return value


def as_f64(value):
    return np.array(value, dtype=np.float64)


# ------------------------------------------------------------- predict, loss
@given(st.data())
def test_predict(data):
    net = BASE.copy()
    x = data.draw(st.one_of(array_pool(X), array_pool(X[0])))
    outcome = refused_or(lambda: net.predict(x), net, "X")
    if outcome is not None:
        assert outcome[0], outcome[1]       # predict never diverges
        got = outcome[1]
        canon = as_f64(x)
        ref = reference_for(net)
        rows = canon if canon.ndim == 2 else canon[None]
        expected = np.array([ref.forward(r)[1][-1] for r in rows])
        np.testing.assert_allclose(got, expected if canon.ndim == 2 else expected[0], rtol=1e-12)


@given(st.data())
def test_loss(data):
    net = BASE.copy()
    which = data.draw(st.sampled_from(["X", "Y"]))
    value = data.draw(array_pool(X if which == "X" else Y))
    args = {"X": X, "Y": Y, which: value}
    outcome = refused_or(lambda: net.loss(args["X"], args["Y"]), net, which)
    if outcome is not None:
        Xc, Yc = np.atleast_2d(as_f64(args["X"])), np.atleast_2d(as_f64(args["Y"]))
        with np.errstate(over="ignore", invalid="ignore"):
            expected = reference_for(net).loss_of(Xc, Yc)
        assert outcome[0] and outcome[1] == pytest.approx(expected, rel=1e-12)


# --------------------------------------------------------------------- train
TRAIN_DEFAULTS = dict(epochs=2, lr=0.1, batch_size=1, optimizer=None, shuffle=False, seed=None,
                      validation=None, target_loss=None, callbacks=(), record_every=None,
                      progress=False, threads=1)
# the word the message uses for each argument
TRAIN_NAMES = {"validation": ("validation",), "callbacks": ("callbacks", "callback"),
               "lr": ("lr", "learning-rate")}
TRAIN_POOLS = {
    "optimizer": st.sampled_from([None, bp.SGD(), bp.Adam(), bp.SGD(momentum=0.9, nesterov=True),
                                  "sgd", 1, object(), bp.SGD]),
    "validation": st.sampled_from([None, (X, Y), [X, Y], (X,), (X, Y, X), X, (X[:, :2], Y),
                                   (X, Y + np.nan), "xy", (X.astype(">f8"), unaligned(Y))]),
    "callbacks": st.sampled_from([(), [], [lambda e, h, n: False], lambda e, h, n: False, [1],
                                  "abc", 3, None, [bp.callbacks.EarlyStopping(patience=1)]]),
    "progress": st.sampled_from([False, "auto", "x", 1, None, 2.0]),
    "shuffle": st.sampled_from([False, True, np.bool_(True), 1, "yes", None]),
}


@given(st.data())
def test_train(data):
    net = BASE.copy()
    which = data.draw(st.sampled_from(["X", "Y"] + list(TRAIN_DEFAULTS)))
    if which in ("X", "Y"):
        value = data.draw(array_pool(X if which == "X" else Y))
    else:
        value = data.draw(TRAIN_POOLS.get(which, scalar_pool()))
    kwargs = dict(TRAIN_DEFAULTS)
    if which == "threads":
        kwargs["batch_size"] = 2
    args = {"X": X, "Y": Y}
    if which in args:
        args[which] = value
    else:
        kwargs[which] = value
    outcome = refused_or(lambda: net.train(args["X"], args["Y"], **kwargs), net,
                         *TRAIN_NAMES.get(which, (which,)))
    if outcome is None:
        return
    # the same call with the argument as what it means
    twin = BASE.copy()
    if which in args:
        args[which] = np.atleast_2d(as_f64(value))
    elif which not in TRAIN_POOLS:
        kwargs[which] = canonical(value)
    if which == "callbacks" and callable(value):
        kwargs[which] = [value]
    try:
        history = twin.train(args["X"], args["Y"], **kwargs)
        twin_diverged = False
    except bp.DivergenceError as exc:
        history, twin_diverged = exc.history, True
    assert twin_diverged == (not outcome[0])
    assert full_state(net) == full_state(twin)
    assert len(history.loss) <= canonical(kwargs["epochs"]) and np.isfinite(history.loss).all()


def test_train_matches_the_oracle_after_an_accepted_conversion():
    # The twin comparison above shows that a converted argument means the
    # same as its float64 form; this anchors that form to the oracle.
    fresh = bp.Network([N_IN, 4, N_OUT], seed=0)
    ref = reference_for(fresh)
    fresh.train(X.astype(">f8"), unaligned(Y), epochs=3, lr=0.1)
    ref.train(X, Y, epochs=3, lr=0.1)
    for W, R in zip(fresh.weights, ref.W):
        np.testing.assert_allclose(W, R, rtol=1e-12)


# --------------------------------------------------------- streaming, trace
@given(st.data())
def test_learn_one_and_predict_one(data):
    net = BASE.copy()
    which = data.draw(st.sampled_from(["x", "t", "lr", "predict x"]))
    pool = {"x": array_pool(X[0]), "t": array_pool(Y[0]), "predict x": array_pool(X[0]),
            "lr": scalar_pool()}[which]
    value = data.draw(pool)
    if which == "predict x":
        outcome = refused_or(lambda: net.predict_one(value), net, "x")
        if outcome is not None:
            assert outcome[0], outcome[1]
            expected = reference_for(net).forward(as_f64(value))[1][-1]
            np.testing.assert_allclose(outcome[1], expected, rtol=1e-12)
        return
    args = {"x": X[0], "t": Y[0], "lr": 0.1, which: value}
    outcome = refused_or(lambda: net.learn_one(args["x"], args["t"], args["lr"]), net, which)
    if outcome is not None:
        twin = BASE.copy()
        canon = {k: (as_f64(v) if k != "lr" else canonical(v)) for k, v in args.items()}
        if outcome[0]:
            assert outcome[1] == twin.learn_one(canon["x"], canon["t"], canon["lr"])
        else:
            with pytest.raises(bp.DivergenceError):
                twin.learn_one(canon["x"], canon["t"], canon["lr"])
        assert full_state(net) == full_state(twin)


@given(st.data())
def test_trace(data):
    net = BASE.copy()
    which = data.draw(st.sampled_from(["x", "t", "lr"]))
    value = data.draw({"x": array_pool(X[0]), "t": array_pool(Y[0]), "lr": scalar_pool()}[which])
    args = {"x": X[0], "t": Y[0], "lr": 0.1, which: value}
    outcome = refused_or(lambda: net.trace(args["x"], args["t"], lr=args["lr"]), net, which)
    if outcome is not None:
        x, t = as_f64(args["x"]).reshape(1, -1), as_f64(args["t"]).reshape(1, -1)
        with np.errstate(over="ignore", invalid="ignore"):
            expected = reference_for(net).loss_of(x, t)
        if outcome[0]:
            assert outcome[1].error == pytest.approx(expected, rel=1e-12)
        else:
            assert not np.isfinite(expected) and full_state(net) == full_state(BASE)


# ------------------------------------------------------- constructors
NETWORK_POOLS = {
    "sizes": st.sampled_from([[3, 4, 2], (3, 4, 2), np.array([3, 4, 2]), [3, 0, 2], [3, -1, 2],
                              [3], [], [3.0, 4, 2], ["3", 4, 2], [True, 4, 2], "342", 342, None,
                              [2 ** 70, 2], [np.int64(3), np.uint8(4), 2], [[3], 4, 2],
                              [3, 4, 2 ** 40]]),
    "activation": st.sampled_from(["logistic", "tanh", ["relu", "identity"], "softmax", "swish",
                                   ["tanh"], ["tanh"] * 3, 3, None, bp.LeakyReLU(0.2),
                                   ["softmax", "logistic"]]),
    "loss": st.sampled_from(["squared", "cross_entropy", "huber", bp.Huber(0.5), "hinge", 1, None]),
    "bias": st.sampled_from(["neuron", "shared", "none", "layer", 0, None]),
    "train_bias": st.sampled_from([True, False, np.bool_(False), 1, "no", None]),
    "init": st.sampled_from([None, "glorot", "he_normal", bp.init.Uniform(0.5), "orthogonal", 3]),
    "seed": scalar_pool(),
}


@given(st.data())
def test_network(data):
    which = data.draw(st.sampled_from(list(NETWORK_POOLS)))
    value = data.draw(NETWORK_POOLS[which])
    kwargs = {"activation": "logistic", "loss": "squared", "bias": "neuron", "train_bias": True,
              "init": None, "seed": 0, which: value}
    sizes = kwargs.pop("sizes", [3, 4, 2])
    named = ("sizes", "sizes[") if which == "sizes" else (which,)
    # a network too large to allocate: MemoryError, naming sizes and the memory it needs
    outcome = refused_or(lambda: bp.Network(sizes, **kwargs), None, *named,
                         errors=(ValueError, TypeError, MemoryError))
    if outcome is not None:
        net = outcome[1]
        canon = [int(n) for n in sizes]
        kwargs = {k: canonical(v) for k, v in kwargs.items()}
        kwargs["seed"] = net.seed           # drawn afresh when None
        assert net.sizes == tuple(canon)
        assert net.params.tobytes() == bp.Network(canon, **kwargs).params.tobytes()


@given(st.data())
def test_from_weights(data):
    W = [w.copy() for w in BASE.weights]
    b = [v.copy() for v in BASE.biases]
    which = data.draw(st.sampled_from(["weights[0]", "weights[1]", "biases[0]", "biases[1]",
                                       "weights", "biases"]))
    if which == "weights":
        value = data.draw(st.sampled_from([W, tuple(W), [], None, W[0], [W[1], W[0]], "w", [W[0]]]))
        weights, biases = value, b
    elif which == "biases":
        value = data.draw(st.sampled_from([b, None, [], [b[0]], b + b, "b", 3]))
        weights, biases = W, value
    else:
        kind, l = which[:-3], int(which[-2])
        target = W if kind == "weights" else b
        target[l] = data.draw(array_pool(target[l]))
        weights, biases = W, b
    # weights and biases of different lengths: either may be named
    named = (which, "biases") if which == "weights" else (which,)
    outcome = refused_or(lambda: bp.Network.from_weights(weights, biases), None, *named)
    if outcome is not None:
        net = outcome[1]
        parts = []
        for w, v in zip(weights, biases if biases is not None else [np.zeros(len(w)) for w in weights]):
            parts += [as_f64(w).reshape(-1), as_f64(v).reshape(-1)]
        assert net.params.tobytes() == np.concatenate(parts).tobytes()


# --------------------------------------------------------- save, load
@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("battery")


PATH_KINDS = ["file", "bytes", "pathlike", "empty", "slash", "directory", "missing dir", "int",
              "none", "nul", "list"]


def path_for(kind, folder):
    base = os.path.join(folder, "m.npz")
    return {"file": base, "bytes": os.fsencode(base), "pathlike": folder / "m.npz", "empty": "",
            "slash": base + os.sep, "directory": str(folder), "int": 3, "none": None,
            "missing dir": os.path.join(folder, "nope", "m.npz"), "nul": base + "\0",
            "list": [base]}[kind]


@given(st.sampled_from(PATH_KINDS))
def test_save_and_load(folder, kind):
    net = BASE.copy()
    path = path_for(kind, folder)
    listing = sorted(os.listdir(folder))
    outcome = refused_or(lambda: net.save(path), net, "path", str(path),
                         errors=(ValueError, TypeError, OSError))
    if outcome is None:
        assert sorted(os.listdir(folder)) == listing      # no temporary file left
        return
    loaded = refused_or(lambda: bp.load(path), None, "path", str(path))
    assert loaded and full_state(loaded[1]) == full_state(net)
    header = io.read_header(path)
    assert header["sizes"] == [N_IN, 4, N_OUT] and header["samples_seen"] == net.samples_seen


@given(st.sampled_from(PATH_KINDS))
def test_load_and_read_header_of_bad_paths(folder, kind):
    path = path_for(kind, folder)
    for reader in (bp.load, io.read_header):
        outcome = refused_or(lambda: reader(path), None, "path", str(path),
                             errors=(ValueError, TypeError, OSError))
        if outcome is not None:
            assert kind in ("file", "bytes", "pathlike")
