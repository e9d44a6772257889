"""backprop.export.to_torch / from_torch against real PyTorch: the modules'
forward outputs equal predict's, and one step of torch.optim.SGD on the
exported module equals one backprop training step (1e-12)."""
import numpy as np
import pytest

import backprop as bp

torch = pytest.importorskip("torch", reason="to_torch/from_torch need PyTorch (pip install 'cybackprop[torch]')")
nn = torch.nn

ACTS = [["logistic", "logistic"], ["tanh", "identity"], ["relu", "tanh"],
        [bp.LeakyReLU(0.1), "relu"], ["identity", bp.LeakyReLU()], ["tanh", "softmax"]]


def network(act, bias="neuron", train_bias=True, seed=0):
    loss = "cross_entropy" if act[-1] == "softmax" else "squared"
    net = bp.Network([7, 12, 5], activation=act, loss=loss, bias=bias, train_bias=train_bias, seed=seed)
    rng = np.random.default_rng(seed + 1)
    for b in net.biases:
        b[...] = rng.normal(size=b.shape) * 0.5
    return net


def data(n, seed=2, softmax=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 7))
    Y = np.eye(5)[rng.integers(0, 5, n)] if softmax else rng.uniform(size=(n, 5))
    return X, Y


def torch_loss(out, Y, softmax):
    """backprop's loss in torch: the batch mean of per-sample sums over outputs."""
    if softmax:
        return -(Y * torch.log(out)).sum(dim=1).mean()
    return (0.5 * (out - Y) ** 2).sum(dim=1).mean()


@pytest.mark.parametrize("act", ACTS, ids=lambda a: "-".join(getattr(x, "name", x) for x in a))
def test_forward_outputs_equal(act):
    net = network(act)
    module = net.to_torch()
    X, _ = data(500)
    with torch.no_grad():
        out = module(torch.from_numpy(X)).numpy()
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, net.predict(X), rtol=1e-12, atol=1e-14)


def test_state_dict_keys_and_values_are_torchs():
    net = network(["tanh", "softmax"])
    state = net.to_torch().state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    for l in range(2):
        assert np.array_equal(state[f"{2 * l}.weight"].numpy(), net.weights[l])
        assert np.array_equal(state[f"{2 * l}.bias"].numpy(), net.biases[l])


@pytest.mark.parametrize("batch", [1, 16])
@pytest.mark.parametrize("act", ACTS, ids=lambda a: "-".join(getattr(x, "name", x) for x in a))
def test_one_sgd_step_equals_one_backprop_step(act, batch):
    net = network(act)
    module = net.to_torch()
    softmax = act[-1] == "softmax"
    X, Y = data(batch, softmax=softmax)
    opt = torch.optim.SGD(module.parameters(), lr=0.3)
    opt.zero_grad()
    torch_loss(module(torch.from_numpy(X)), torch.from_numpy(Y), softmax).backward()
    opt.step()
    net.train(X, Y, epochs=1, lr=0.3, batch_size=batch)
    for l in range(2):
        np.testing.assert_allclose(module[2 * l].weight.detach().numpy(), net.weights[l], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(module[2 * l].bias.detach().numpy(), net.biases[l], rtol=1e-12, atol=1e-15)


def test_frozen_biases_do_not_require_grad():
    net = network(["tanh", "identity"], train_bias=False)
    module = net.to_torch()
    assert not module[0].bias.requires_grad and module[0].weight.requires_grad
    back = bp.Network.from_torch(module)
    assert back.train_bias is False


def test_frozen_shared_bias_is_a_constant_and_a_trainable_one_is_refused():
    net = network(["logistic", "logistic"], bias="shared", train_bias=False)
    module = net.to_torch()
    assert np.array_equal(module[0].bias.detach().numpy(), np.full(12, net.biases[0][0]))
    X, _ = data(100)
    with torch.no_grad():
        np.testing.assert_allclose(module(torch.from_numpy(X)).numpy(), net.predict(X), rtol=1e-12)
    with pytest.raises(ValueError, match="shared bias"):
        network(["logistic", "logistic"], bias="shared").to_torch()


def test_no_bias_and_float32():
    net = network(["relu", "identity"], bias="none")
    module = net.to_torch(dtype="float32")
    assert module[0].bias is None and module[0].weight.dtype == torch.float32
    X, _ = data(100)
    with torch.no_grad():
        out = module(torch.from_numpy(X.astype(np.float32))).numpy()
    np.testing.assert_allclose(out, net.predict(X), rtol=1e-4, atol=1e-5)


def test_a_float32_network_exports_and_imports_float32():
    net = bp.Network([7, 12, 5], activation=["tanh", "logistic"], seed=0, dtype="float32")
    module = net.to_torch()
    assert module[0].weight.dtype == torch.float32
    # dtype= takes what Network's does
    for dtype in (np.float64, np.dtype("float64"), "f8"):
        assert net.to_torch(dtype=dtype)[0].weight.dtype == torch.float64
    back = bp.Network.from_torch(module, dtype="float32")
    assert back.dtype == np.float32 and np.array_equal(back.params, net.params)
    assert bp.Network.from_torch(module).dtype == np.float64


@pytest.mark.parametrize("act", ACTS, ids=lambda a: "-".join(getattr(x, "name", x) for x in a))
def test_round_trip_gives_the_same_network(act):
    net = network(act)
    back = bp.Network.from_torch(net.to_torch(), loss=net.loss_function)
    assert back.sizes == net.sizes and back.activations == net.activations and back.bias == "neuron"
    assert np.array_equal(back.params, net.params)
    X, _ = data(50)
    assert np.array_equal(back.predict(X), net.predict(X))


def test_from_torch_reads_a_handwritten_module():
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(4, 8, dtype=torch.float64), nn.ReLU(), nn.Linear(8, 8, dtype=torch.float64),
                           nn.Linear(8, 3, dtype=torch.float64), nn.Softmax(dim=1))
    net = bp.Network.from_torch(module, loss="cross_entropy")
    assert net.sizes == (4, 8, 8, 3) and net.activations == ("relu", "identity", "softmax")
    X = np.random.default_rng(0).normal(size=(200, 4))
    with torch.no_grad():
        np.testing.assert_allclose(net.predict(X), module(torch.from_numpy(X)).numpy(), rtol=1e-12)


def test_from_torch_refuses_what_backprop_cannot_express():
    with pytest.raises(TypeError, match="Sequential"):
        bp.Network.from_torch(nn.Linear(3, 2))
    with pytest.raises(ValueError, match="Dropout"):
        bp.Network.from_torch(nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 2)))
    with pytest.raises(ValueError, match="first module must be a Linear"):
        bp.Network.from_torch(nn.Sequential(nn.ReLU(), nn.Linear(3, 2)))
    with pytest.raises(ValueError, match="expected a Linear"):
        bp.Network.from_torch(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Tanh()))
    with pytest.raises(ValueError, match="dim=0"):
        bp.Network.from_torch(nn.Sequential(nn.Linear(3, 4), nn.Softmax(dim=0)))
    with pytest.raises(ValueError, match="bias"):
        bp.Network.from_torch(nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2, bias=False)))
    with pytest.raises(ValueError, match="no Linear"):
        bp.Network.from_torch(nn.Sequential())
    with pytest.raises(ValueError, match="dtype"):
        network(["tanh", "tanh"]).to_torch(dtype="float16")
