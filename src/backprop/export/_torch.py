"""PyTorch export and import: ``nn.Sequential`` of ``Linear`` and activation modules.

Layer l of the network is module ``2 l`` (``nn.Linear(n_in, n_out)``, whose
``weight`` is backprop's ``W[j, i]`` as it is) and module ``2 l + 1`` its
activation: ``nn.Sigmoid``, ``nn.Tanh``, ``nn.ReLU``,
``nn.LeakyReLU(negative_slope)``, ``nn.Softmax(dim=-1)`` or ``nn.Identity``.
So the ``state_dict`` keys are ``"0.weight"``, ``"0.bias"``, ``"2.weight"``, ...

What a Linear cannot express: a trainable shared bias (one value for a
layer's units; its gradient is the sum of the units').  to_torch refuses it;
a frozen shared bias is a constant, exported as a per-unit bias that does not
require grad.  Frozen biases (``train_bias=False``) do not require grad.  The
loss and the optimiser are not part of a module: pass the same ones to torch.
"""
from .._dtypes import check_dtype
from ..functions import LeakyReLU
from ._layers import layers


def _import_torch():
    try:
        import torch
    except ImportError as exc:
        raise ImportError("to_torch/from_torch need PyTorch: pip install 'cybackprop[torch]'") from exc
    return torch


def _activation_module(nn, spec):
    return {"logistic": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "identity": nn.Identity,
            "leaky_relu": lambda: nn.LeakyReLU(negative_slope=spec.slope),
            "softmax": lambda: nn.Softmax(dim=-1)}[spec.activation]()


def to_torch(net, dtype=None):
    """The network as a ``torch.nn.Sequential`` with the same parameters
    (copies), of ``dtype`` ("float64" or "float32"; by default the network's)."""
    specs = layers(net, "to_torch")
    dtype = net.dtype.name if dtype is None else check_dtype(dtype).name
    if net.bias == "shared" and net.train_bias:
        raise ValueError('to_torch cannot express a trainable shared bias (bias="shared", '
                         "train_bias=True): a Linear has one bias per unit.  A frozen one "
                         "(train_bias=False) is exported as a constant")
    torch = _import_torch()
    nn = torch.nn
    tdtype = getattr(torch, dtype)
    modules = []
    for s in specs:
        linear = nn.Linear(s.n_in, s.n_out, bias=s.bias != "none", dtype=tdtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(s.W))
            if s.bias != "none":
                linear.bias.copy_(torch.from_numpy(s.expanded_bias()))
                linear.bias.requires_grad_(net.train_bias)
        modules += [linear, _activation_module(nn, s)]
    return nn.Sequential(*modules)


def _activation_of(nn, module, where):
    """backprop's activation for a torch activation module."""
    if isinstance(module, nn.Sigmoid):
        return "logistic"
    if isinstance(module, nn.Tanh):
        return "tanh"
    if isinstance(module, nn.ReLU):
        return "relu"
    if isinstance(module, nn.Identity):
        return "identity"
    if isinstance(module, nn.LeakyReLU):
        return LeakyReLU(float(module.negative_slope))
    if isinstance(module, nn.Softmax):
        if module.dim not in (-1, 1):
            raise ValueError(f"{where}: Softmax over dim={module.dim}; backprop's softmax is over "
                             "the units of a layer (dim=-1)")
        return "softmax"
    raise ValueError(f"{where}: {type(module).__name__} has no backprop counterpart; from_torch takes "
                     "Linear layers, each followed by at most one of Sigmoid, Tanh, ReLU, "
                     "LeakyReLU, Softmax(dim=-1), Identity")


def torch_layers(module, train_bias=None):
    """The ``Network.from_weights`` arguments (weights, biases, activation, bias,
    train_bias) of the layers and parameters of ``module`` (copied to float64):
    what ``Network.from_torch`` and ``backprop.export.from_torch`` build.

    module:      an ``nn.Sequential`` of ``nn.Linear`` modules, each followed by
                 at most one activation module (none is the identity), as
                 ``to_torch`` makes
    train_bias:  whether the Network trains its biases; by default, whether the
                 Linear biases require grad (all alike)

    The bias policy is "neuron" when every Linear has a bias, "none" when none has.
    """
    torch = _import_torch()
    nn = torch.nn
    if not isinstance(module, nn.Sequential):
        raise TypeError(f"module must be a torch.nn.Sequential, got {type(module).__name__}")
    items = list(module.named_children())
    linears, activations, k = [], [], 0
    while k < len(items):
        name, m = items[k]
        if not isinstance(m, nn.Linear):
            raise ValueError(f"module[{name}]: expected a Linear, got {type(m).__name__}"
                             + ("" if linears else " (the first module must be a Linear)"))
        linears.append((name, m))
        k += 1
        if k < len(items) and not isinstance(items[k][1], nn.Linear):
            activations.append(_activation_of(nn, items[k][1], f"module[{items[k][0]}]"))
            k += 1
        else:
            activations.append("identity")
    if not linears:
        raise ValueError("module holds no Linear layer")
    with_bias = [m.bias is not None for _, m in linears]
    if any(with_bias) and not all(with_bias):
        raise ValueError("some Linear layers have a bias and some do not (modules "
                         f"{[n for (n, _), b in zip(linears, with_bias) if not b]} have none); backprop's "
                         'bias policy is one per network: "neuron" or "none"')
    bias = "neuron" if all(with_bias) else "none"
    if train_bias is None:
        grads = {m.bias.requires_grad for _, m in linears if m.bias is not None}
        if len(grads) > 1:
            raise ValueError("some Linear biases require grad and some do not; pass train_bias "
                             "to choose one for the network")
        train_bias = grads.pop() if grads else True
    weights = [m.weight.detach().cpu().to(torch.float64).numpy() for _, m in linears]
    biases = [m.bias.detach().cpu().to(torch.float64).numpy() for _, m in linears] if bias == "neuron" else None
    return dict(weights=weights, biases=biases, activation=activations, bias=bias,
                train_bias=train_bias)
