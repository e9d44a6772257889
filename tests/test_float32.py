"""float32 networks (``dtype="float32"``, the core ``backprop._core32``): the
NumPy reference run in float32 and PyTorch float32 agree within tolerances
derived from float32's epsilon and the step count; every kernel build and
thread count gives the same bits; the API keeps the network's dtype through
predictions, traces, copies and files; and float32's cost, updates below half
an ulp, shows on the worked example."""
import copy
import itertools
import pickle

import numpy as np
import pytest

import backprop as bp
from backprop import _core, examples

from reference import permutations, reference_for
from test_reference import COMBOS, OPTIMIZERS, activations, data

_core32 = pytest.importorskip("backprop._core32")

EPS = float(np.finfo(np.float32).eps)
SIZES = [3, 5, 4, 3]


def tolerance(steps, width):
    """The relative distance two float32 computations of `steps` training
    steps may drift apart: each step's gradient and update round every value
    with a relative error of at most (width + 1) u (u = eps / 2: a dot of
    `width` terms, a product and a sum), and those errors add up over the
    steps."""
    return steps * (width + 1) * EPS / 2


def assert_close(actual, expected, tol, what):
    scale = max(np.abs(expected).max(), 1.0)
    error = np.abs(np.asarray(actual, dtype=np.float64) - expected).max() / scale
    assert error <= tol, f"{what}: relative error {error:.3g} > tolerance {tol:.3g}"


def network(dtype="float32", **kwargs):
    kwargs.setdefault("activation", "tanh")
    net = bp.Network(kwargs.pop("sizes", SIZES), seed=7, dtype=dtype, **kwargs)
    for b in net.biases:
        b[...] = np.linspace(-0.2, 0.3, b.size)
    return net


# ------------------------------------------------------------ the reference
@pytest.mark.parametrize("hidden,out,loss", COMBOS)
@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_float32_agrees_with_the_float32_reference(hidden, out, loss, opt):
    """Every activation, loss and optimiser, online, in batches and full
    batch: 3 shuffled epochs of 10 samples."""
    optimizer, ref_opt = OPTIMIZERS[opt]
    lr = 0.005 if opt == "adam" else 0.05
    for (bias, train_bias), batch in itertools.product([("neuron", True), ("shared", True)],
                                                        [1, 4, None]):
        X, Y = data(loss, out, seed=len(hidden) + len(out))
        net = network(activation=activations(hidden, out), loss=loss, bias=bias,
                      train_bias=train_bias)
        ref = reference_for(net, **ref_opt)
        hist = net.train(X, Y, epochs=3, lr=lr, batch_size=batch, optimizer=optimizer,
                         shuffle=True, seed=11)
        ref_hist = ref.train(X, Y, 3, lr, batch_size=batch, orders=permutations(11, 3, len(X)))
        assert ref.W[0].dtype == np.float32 and hist.loss.dtype == np.float64
        steps = 3 * -(-len(X) // (batch or len(X)))
        tol = tolerance(steps, max(SIZES))
        if (out, bias, opt) == ("softmax", "shared", "adam"):
            # the shared softmax bias's gradient is rounding noise, which Adam
            # normalises to steps of size lr (see test_reference)
            ref.b[-1] = net.biases[-1]
        for l, (W, b) in enumerate(zip(net.weights, net.biases)):
            assert W.dtype == np.float32
            assert_close(W, ref.W[l], tol, f"weights[{l}], batch {batch}, bias {bias}")
            assert_close(b, ref.b[l], tol, f"biases[{l}], batch {batch}, bias {bias}")
        assert_close(hist.loss, ref_hist, tol, f"History.loss, batch {batch}, bias {bias}")


def test_float32_stays_as_close_to_float64_as_numpys_float32():
    """Against the float64 trajectory, the float32 core drifts no further than
    the float32 reference does, up to the tolerance of their own distance."""
    X, Y = data("squared", "logistic", seed=3)
    runs = {}
    for dtype in ("float64", "float32"):
        net = network(dtype, activation=["tanh", "relu", "logistic"])
        ref = reference_for(net, momentum=0.9)
        net.train(X, Y, epochs=20, lr=0.05, optimizer=bp.SGD(momentum=0.9), shuffle=True, seed=5)
        ref.train(X, Y, 20, 0.05, orders=permutations(5, 20, len(X)))
        runs[dtype] = (net.params.astype(np.float64), np.concatenate(
            [np.r_[W.ravel(), b] for W, b in zip(ref.W, ref.b)]).astype(np.float64))
    exact = runs["float64"][0]
    core_drift = np.abs(runs["float32"][0] - exact).max()
    numpy_drift = np.abs(runs["float32"][1] - exact).max()
    assert core_drift > 0.0
    assert core_drift <= numpy_drift + tolerance(200, max(SIZES)) * np.abs(exact).max()


# ------------------------------------------------------------------ PyTorch
@pytest.mark.parametrize("batch,optimizer", [(1, "sgd"), (16, "sgd"), (16, "momentum"),
                                             (16, "adam")])
def test_float32_agrees_with_torch_float32(batch, optimizer):
    torch = pytest.importorskip("torch", reason="needs PyTorch")
    rng = np.random.default_rng(2)
    X = rng.normal(size=(64, 7)).astype(np.float32)
    Y = rng.uniform(size=(64, 5)).astype(np.float32)
    net = bp.Network([7, 12, 5], activation=["tanh", "logistic"], seed=0, dtype="float32")
    module = net.to_torch(dtype="float32")
    lr = 0.001 if optimizer == "adam" else 0.3
    make = {"sgd": lambda p: torch.optim.SGD(p, lr=lr),
            "momentum": lambda p: torch.optim.SGD(p, lr=lr, momentum=0.9),
            "adam": lambda p: torch.optim.Adam(p, lr=lr)}[optimizer]
    opt = make(module.parameters())
    epochs = 3
    for _ in range(epochs):
        for start in range(0, len(X), batch):
            xb, yb = torch.from_numpy(X[start:start + batch]), torch.from_numpy(Y[start:start + batch])
            opt.zero_grad()
            (0.5 * (module(xb) - yb) ** 2).sum(dim=1).mean().backward()
            opt.step()
    net.train(X, Y, epochs=epochs, lr=lr, batch_size=batch, optimizer=optimizer)
    tol = tolerance(epochs * len(X) // batch, 12)
    for l in range(2):
        assert_close(net.weights[l], module[2 * l].weight.detach().numpy(), tol, f"weights[{l}]")
        assert_close(net.biases[l], module[2 * l].bias.detach().numpy(), tol, f"biases[{l}]")


# ------------------------------------------------------------- the same bits
def trained_bits(batch, threads=1, sizes=(20, 33, 17, 4)):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(48, sizes[0]))
    Y = rng.uniform(size=(48, sizes[-1]))
    net = bp.Network(list(sizes), activation=["tanh", "relu", "logistic"], seed=1, dtype="float32")
    net.train(X, Y, epochs=3, lr=0.05, batch_size=batch, shuffle=True, threads=threads)
    return net.params.copy(), net.predict(X), net.loss(X, Y)


@pytest.fixture
def own_loops():
    """BLAS off (its sums have its own order) for the duration of a test."""
    was = _core32.blas_in_use()
    _core32.use_blas(False)
    yield
    _core32.use_blas(was)


@pytest.mark.parametrize("batch", [1, 8])
def test_every_kernel_build_gives_the_same_bits(batch, own_loops):
    builds = _core32.available_kernels()
    active = _core32.active_kernels()
    results = {}
    try:
        for name in builds:
            _core32.use_kernels(name)
            results[name] = trained_bits(batch)
    finally:
        _core32.use_kernels(active)
    first = results[builds[0]]
    for name in builds[1:]:
        for a, b in zip(first, results[name]):
            assert np.array_equal(a, b), name


def test_threads_give_the_same_bits(own_loops):
    one, two = trained_bits(8), trained_bits(8, threads=2)
    for a, b in zip(one, two):
        assert np.array_equal(a, b)


def test_sgemm_agrees_with_the_own_loops():
    if not _core32.use_blas(True):
        pytest.skip("BLAS needs SciPy")
    try:
        with_blas = trained_bits(32, sizes=(64, 96, 40, 10))
        _core32.use_blas(False)
        own = trained_bits(32, sizes=(64, 96, 40, 10))
    finally:
        _core32.use_blas(True)
    assert_close(with_blas[0], own[0], tolerance(6, 96), "parameters with sgemm")


def test_learn_one_is_an_online_step_of_train():
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(6, 3)).astype(np.float32), rng.uniform(size=(6, 3))
    a, b = network(), network()
    a.train(X, Y, epochs=1, lr=0.1)
    losses = [b.learn_one(x, y, lr=0.1) for x, y in zip(X, Y)]
    assert np.array_equal(a.params, b.params)
    assert all(isinstance(E, float) for E in losses)
    out = b.predict_one(X[0])
    assert out.dtype == np.float32 and np.array_equal(out, b.predict(X[:1])[0])


# ---------------------------------------------------------------- the API
@pytest.mark.parametrize("dtype", ["float32", np.float32, np.dtype("float32"), "f4", "single"])
def test_dtype_forms(dtype):
    net = network(dtype)
    assert net.dtype == np.float32 and repr(net).endswith("train_bias=True, dtype='float32')")


@pytest.mark.parametrize("dtype,error", [("float16", ValueError), ("int32", ValueError),
                                         (">f4", ValueError), ("double precision", TypeError),
                                         (None, TypeError), (True, TypeError), (3, TypeError)])
def test_other_dtypes_are_refused(dtype, error):
    with pytest.raises(error, match="dtype"):
        bp.Network([2, 2], dtype=dtype)


def test_float32_starts_from_float64s_weights_rounded():
    a, b = bp.Network([4, 6, 2], seed=3), bp.Network([4, 6, 2], seed=3, dtype="float32")
    assert b.params.dtype == np.float32
    assert np.array_equal(b.params, a.params.astype(np.float32))
    net = bp.Network.from_weights([[[0.1, 0.2]]], [[0.3]], dtype="float32")
    assert net.params.tolist() == np.array([0.1, 0.2, 0.3], np.float32).tolist()


def test_outputs_and_results_keep_the_dtype():
    net = network()
    X = np.random.default_rng(0).normal(size=(5, 3))
    Y = np.random.default_rng(1).uniform(size=(5, 3))
    assert net.predict(X).dtype == np.float32 and net.predict(X[0]).shape == (3,)
    assert isinstance(net.loss(X, Y), float)
    tr = net.trace(X[0], Y[0])
    assert tr.output.dtype == np.float32 and tr.layers[0].grad_weights.dtype == np.float32
    h = net.train(X, Y, epochs=2, lr=0.1, validation=(X, Y), record_every=2)
    assert h.loss.dtype == h.val_loss.dtype == h.record.dtype == np.float64
    assert net.weights[0].dtype == net.biases[0].dtype == np.float32


@pytest.mark.parametrize("how", ["copy", "deepcopy", "pickle"])
def test_copies_keep_the_dtype_and_bits(how):
    net = network()
    net.train(np.ones((4, 3)), np.zeros((4, 3)), epochs=2, lr=0.1, optimizer="adam")
    other = {"copy": lambda n: n.copy(), "deepcopy": copy.deepcopy,
             "pickle": lambda n: pickle.loads(pickle.dumps(n))}[how](net)
    assert other.dtype == np.float32
    assert np.array_equal(other.params, net.params)
    for n in (net, other):
        n.train(np.ones((4, 3)), np.zeros((4, 3)), epochs=1, lr=0.1)
    assert np.array_equal(other.params, net.params)


def test_save_and_load_keep_the_dtype(tmp_path):
    net = network()
    net.train(np.ones((4, 3)), np.zeros((4, 3)), epochs=2, lr=0.1, optimizer="adam")
    net.save(tmp_path / "f32.npz")
    loaded = bp.load(tmp_path / "f32.npz")
    assert loaded.dtype == np.float32
    assert np.array_equal(loaded.params, net.params)
    with np.load(tmp_path / "f32.npz") as archive:
        assert archive["params"].dtype == np.dtype("<f4") and archive["exp_avg"].dtype == np.dtype("<f4")


def test_values_beyond_float32s_range_are_refused():
    with pytest.raises(ValueError, match=r"weights\[0\]\[0, 1\] is 1e\+39, beyond the range"):
        bp.Network.from_weights([[[0.5, 1e39]]], dtype="float32")
    net = network()
    with pytest.raises(ValueError, match=r"biases\[1\]\[2\] is -1e\+40"):
        net.biases[1] = [0.0, 0.0, -1e40, 0.0]
    with pytest.raises(ValueError, match=r"X\[1, 0\] is 4e\+38, beyond the range"):
        net.predict([[0.0, 0.0, 0.0], [4e38, 0.0, 0.0]])
    with pytest.raises(ValueError, match=r"x\[0\] is inf \(a NaN or infinity, or a value beyond"):
        net.learn_one([1e39, 0.0, 0.0], [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"X\[0, 1\] is 1e\+39, beyond the range"):
        net.predict(np.array([0.0, 1e39, 0.0]))      # one sample, 1-D
    with pytest.raises(ValueError, match=r"lr must be at most 3.40282347e\+38 .float32's largest"):
        net.learn_one([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], lr=1e39)
    with pytest.raises(ValueError, match="lr must be at most"):
        net.train(np.zeros((2, 3)), np.zeros((2, 3)), lr=3.5e38)
    with pytest.raises(ValueError, match="lr must be at most"):
        net.trace(np.zeros(3), np.zeros(3), lr=1e39)
    assert net.samples_seen == 0


@pytest.mark.parametrize("scale", [1e37, 1e-44])
def test_sample_weights_of_any_size_give_the_unit_weights_step(scale):
    # Only the ratios of a batch's weights matter; their mean is taken in
    # double, so a float32 total that would overflow (or underflow) does not.
    rng = np.random.default_rng(6)
    X, Y = rng.normal(size=(16, 3)).astype(np.float32), rng.uniform(size=(16, 3))
    plain, weighted = network(), network()
    h1 = plain.train(X, Y, epochs=2, batch_size=8, sample_weight=np.ones(16))
    h2 = weighted.train(X, Y, epochs=2, batch_size=8, sample_weight=np.full(16, scale))
    # equal weights in a batch: their mean is the weight, exactly (1e-44 is a
    # float32 subnormal, 7 2^-149), so each sample's factor is 1.0
    assert np.array_equal(weighted.params, plain.params) and np.array_equal(h1.loss, h2.loss)


def test_divergence_raises_the_one_divergence_error():
    net = network(activation="identity")
    before = net.params.copy()
    with pytest.raises(bp.DivergenceError) as info:
        net.train(np.full((4, 3), 1e18), np.zeros((4, 3)), epochs=3, lr=10.0)
    assert type(info.value) is _core.DivergenceError
    assert np.array_equal(net.params, before)


# -------------------------------------------------------- what float32 costs
def worked_example(dtype, lr, updates=10_000):
    net = bp.Network.from_weights([examples.W1, examples.W2], [examples.B1, examples.B2],
                                  bias="shared", train_bias=False, dtype=dtype)
    x, t = np.array(examples.INPUTS), np.array(examples.TARGETS)
    start = net.params.copy()
    net.train(x, t, epochs=updates, lr=lr)
    return net.loss(x, t), net.params.astype(np.float64) - start


def test_the_worked_example_in_float32():
    e64, _ = worked_example("float64", examples.LEARNING_RATE)
    e32, _ = worked_example("float32", examples.LEARNING_RATE)
    assert f"{e64:.9f}" == "0.000035102"
    assert 0 < abs(e32 - e64) / e64 <= tolerance(10_000, 2)


def test_updates_below_half_an_ulp_are_lost_in_float32():
    """With lr 1e-7 each update is below half an ulp of every weight (about
    2^-25 of a weight of 0.5): float32 rounds every one of them away, where
    float64 moves the weights by 10,000 of them.  (The biases are frozen.)"""
    _, moved64 = worked_example("float64", 1e-7)
    _, moved32 = worked_example("float32", 1e-7)
    assert np.count_nonzero(moved64) == 8 and not moved32.any()
