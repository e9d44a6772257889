"""Activation functions and losses, by name or as small parameter objects.

Activations (per layer):

==============  ===========================================  ==============================
name            f(z)                                         f'(z)
==============  ===========================================  ==============================
``logistic``    1 / (1 + exp(-z))                            f (1 - f)
``tanh``        tanh z                                       1 - f²
``relu``        max(z, 0)                                    1 if z > 0 else 0
``leaky_relu``  z if z > 0 else s·z  (``LeakyReLU(s)``,      1 if z > 0 else s
                s = 0.01 by default)
``identity``    z                                            1
``softmax``     exp(z_k) / Σ_j exp(z_j)  (output layer)      f_k (δ_kj - f_j)  (not diagonal)
==============  ===========================================  ==============================

Losses (per sample, summed over the outputs o against the targets t):

=================  ===================================================  =====================
name               E                                                    with
=================  ===================================================  =====================
``squared``        ½ Σ (t - o)²                                         any output
``cross_entropy``  -Σ [t log o + (1 - t) log(1 - o)]  (binary)          logistic outputs
                   -Σ t log o                          (categorical)    softmax outputs
``huber``          Σ ½ r² if abs(r) <= δ else δ (abs(r) - ½ δ)          any output
                   (``Huber(δ)``, δ = 1 by default), r = o - t
=================  ===================================================  =====================
"""
from dataclasses import dataclass

from . import _core
from ._validate import as_real, choice


@dataclass(frozen=True)
class LeakyReLU:
    """Leaky ReLU activation: z for z > 0, else ``slope``·z (PyTorch's convention,
    so its derivative at 0 is ``slope``)."""

    slope: float = 0.01

    def __post_init__(self):
        object.__setattr__(self, "slope", as_real(self.slope, "LeakyReLU slope", minimum=0.0))

    name = "leaky_relu"

    @property
    def param(self):
        return self.slope


@dataclass(frozen=True)
class Huber:
    """Huber loss with threshold ``delta``: ½ r² for abs(r) <= delta, else
    delta (abs(r) - ½ delta), summed over outputs (PyTorch's ``HuberLoss`` per output)."""

    delta: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "delta", as_real(self.delta, "Huber delta", minimum=0.0, min_open=True))

    name = "huber"

    @property
    def param(self):
        return self.delta


def activation_spec(value, what="activation"):
    """(name, parameter) of one activation given by name or object."""
    if isinstance(value, LeakyReLU):
        return value.name, value.param
    name = choice(value, what, _core.ACTIVATIONS)
    return name, LeakyReLU().param if name == "leaky_relu" else 0.0


def loss_spec(value):
    """(name, parameter) of a loss given by name or object."""
    if isinstance(value, Huber):
        return value.name, value.param
    name = choice(value, "loss", _core.LOSSES)
    return name, Huber().param if name == "huber" else 0.0


def layer_activations(activation, n_layers):
    """One (name, parameter) per weight layer, from one spec or a list of them."""
    if isinstance(activation, (list, tuple)):
        if len(activation) != n_layers:
            raise ValueError(f"activation must be one name or a list of one per weight layer "
                             f"({n_layers}), got a list of {len(activation)}")
        specs = [activation_spec(a, f"activation[{i}]") for i, a in enumerate(activation)]
    else:
        specs = [activation_spec(activation)] * n_layers
    for i, (name, _) in enumerate(specs[:-1]):
        if name == "softmax":
            raise ValueError(f"softmax is for the output layer only, but weight layer {i} of "
                             f"{n_layers} uses it; choose e.g. activation=[..., 'softmax'] "
                             "with another activation for the hidden layers")
    return specs


def check_pairing(out_activation, loss, n_out):
    """Refuse an output activation and loss that make no sense together."""
    if out_activation == "softmax" and n_out < 2:
        raise ValueError("softmax needs at least two outputs (with one it is the constant 1); "
                         "use a logistic output for a single probability")
    if loss == "cross_entropy" and out_activation not in ("logistic", "softmax"):
        raise ValueError(f"cross_entropy needs probabilities: a logistic output layer (binary, per "
                         f"output) or softmax (categorical), not {out_activation!r}; use 'squared' "
                         f"or 'huber' with {out_activation!r} outputs")
