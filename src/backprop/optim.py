"""Optimisers and learning-rate schedules.

An optimiser object holds hyper-parameters only.  Its state (velocities,
moments, step count) lives in the network, so consecutive ``train`` calls
continue where the previous one stopped.  The update rules are those of
``torch.optim.SGD`` (zero dampening) and ``torch.optim.Adam``:

* SGD:  g ← ∇E + λ w;  v ← μ v + g;  w ← w − lr v  (Nesterov: w ← w − lr (g + μ v));
  with μ = 0 and λ = 0 this is plain w ← w − lr ∇E.
* Adam: g ← ∇E + λ w;  m ← β1 m + (1 − β1) g;  v ← β2 v + (1 − β2) g²;
  w ← w − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε).

Weight decay λ applies to the weights only, unless ``decay_bias=True``.

A learning rate is a number, a schedule below, or any callable mapping the
epoch index (counted over the network's whole life, from 0) to a number.
"""
import math
from dataclasses import dataclass

import numpy as np

from . import _core
from ._validate import as_bool, as_int, as_real


@dataclass(frozen=True)
class SGD:
    """Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay."""

    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    decay_bias: bool = False

    default_lr = 0.1

    def __post_init__(self):
        object.__setattr__(self, "momentum", as_real(self.momentum, "momentum", 0.0, 1.0, max_open=True))
        object.__setattr__(self, "nesterov", as_bool(self.nesterov, "nesterov"))
        object.__setattr__(self, "weight_decay", as_real(self.weight_decay, "weight_decay", 0.0))
        object.__setattr__(self, "decay_bias", as_bool(self.decay_bias, "decay_bias"))
        if self.nesterov and self.momentum == 0.0:
            raise ValueError("nesterov=True needs a momentum > 0, got momentum=0.0")

    def _configure(self, model):
        model.set_optimizer(_core.OPTIMIZERS["sgd"], momentum=self.momentum, nesterov=self.nesterov,
                            weight_decay=self.weight_decay, decay_bias=self.decay_bias)


@dataclass(frozen=True)
class Adam:
    """Adam with bias correction (as ``torch.optim.Adam``, L2 weight decay coupled)."""

    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    decay_bias: bool = False

    default_lr = 0.001

    def __post_init__(self):
        object.__setattr__(self, "beta1", as_real(self.beta1, "beta1", 0.0, 1.0, max_open=True))
        object.__setattr__(self, "beta2", as_real(self.beta2, "beta2", 0.0, 1.0, max_open=True))
        object.__setattr__(self, "eps", as_real(self.eps, "eps", 0.0, min_open=True))
        object.__setattr__(self, "weight_decay", as_real(self.weight_decay, "weight_decay", 0.0))
        object.__setattr__(self, "decay_bias", as_bool(self.decay_bias, "decay_bias"))

    def _configure(self, model):
        model.set_optimizer(_core.OPTIMIZERS["adam"], weight_decay=self.weight_decay,
                            decay_bias=self.decay_bias, beta1=self.beta1, beta2=self.beta2,
                            eps=self.eps)


@dataclass(frozen=True)
class _SklearnAdam(Adam):
    """Adam as scikit-learn's ``AdamOptimizer``, which adds ε to the
    uncorrected √v:  w ← w − lr·√(1 − β2ᵗ)/(1 − β1ᵗ) · m / (√v + ε).  The same
    as ``Adam`` with a per-step ε_t = ε / √(1 − β2ᵗ); used by
    ``backprop.sklearn`` to follow scikit-learn's formula."""

    def _configure(self, model):
        model.set_optimizer(_core.OPTIMIZERS["adam"], weight_decay=self.weight_decay,
                            decay_bias=self.decay_bias, beta1=self.beta1, beta2=self.beta2,
                            eps=self.eps, eps_uncorrected=True)


# The optimisers a name stands for (the CLI's --optimizer choices).
BY_NAME = {"sgd": SGD(), "momentum": SGD(momentum=0.9), "nesterov": SGD(momentum=0.9, nesterov=True),
           "adam": Adam()}


def check_optimizer(optimizer):
    """An SGD or Adam object, or the one a name in ``BY_NAME`` stands for."""
    if isinstance(optimizer, str):
        if optimizer not in BY_NAME:
            raise ValueError(f"unknown optimizer {optimizer!r}; expected one of {sorted(BY_NAME)}, "
                             "or backprop.SGD(...) / backprop.Adam(...)")
        return BY_NAME[optimizer]
    if not isinstance(optimizer, (SGD, Adam)):
        raise TypeError(f"optimizer must be backprop.SGD(...), backprop.Adam(...) or one of "
                        f"{sorted(BY_NAME)}, got {optimizer!r}")
    return optimizer


@dataclass(frozen=True)
class StepDecay:
    """lr · gamma ** (epoch // step_size)   (``torch.optim.lr_scheduler.StepLR``)"""

    lr: float
    step_size: int
    gamma: float = 0.1

    def __post_init__(self):
        as_real(self.lr, "StepDecay lr", 0.0)
        as_int(self.step_size, "StepDecay step_size", 1)
        as_real(self.gamma, "StepDecay gamma", 0.0)

    def __call__(self, epoch):
        return self.lr * self.gamma ** (epoch // self.step_size)


@dataclass(frozen=True)
class ExponentialDecay:
    """lr · gamma ** epoch   (``torch.optim.lr_scheduler.ExponentialLR``)"""

    lr: float
    gamma: float

    def __post_init__(self):
        as_real(self.lr, "ExponentialDecay lr", 0.0)
        as_real(self.gamma, "ExponentialDecay gamma", 0.0)

    def __call__(self, epoch):
        return self.lr * self.gamma ** epoch


@dataclass(frozen=True)
class InverseTimeDecay:
    """lr / (1 + decay · epoch)"""

    lr: float
    decay: float

    def __post_init__(self):
        as_real(self.lr, "InverseTimeDecay lr", 0.0)
        as_real(self.decay, "InverseTimeDecay decay", 0.0)

    def __call__(self, epoch):
        return self.lr / (1.0 + self.decay * epoch)


@dataclass(frozen=True)
class CosineDecay:
    """lr_min + ½ (lr − lr_min)(1 + cos(π · min(epoch, epochs) / epochs))
    (``torch.optim.lr_scheduler.CosineAnnealingLR`` over one half period)"""

    lr: float
    epochs: int
    lr_min: float = 0.0

    def __post_init__(self):
        as_real(self.lr, "CosineDecay lr", 0.0)
        as_int(self.epochs, "CosineDecay epochs", 1)
        as_real(self.lr_min, "CosineDecay lr_min", 0.0)

    def __call__(self, epoch):
        phase = math.pi * min(epoch, self.epochs) / self.epochs
        return self.lr_min + 0.5 * (self.lr - self.lr_min) * (1.0 + math.cos(phase))


def learning_rates(lr, first_epoch, count):
    """The learning rate of each of ``count`` epochs from ``first_epoch``, checked.
    A constant is broadcast: a read-only view of one value, whatever the
    number of epochs."""
    if callable(lr):
        values = np.empty(count)
        for i in range(count):
            value = lr(first_epoch + i)
            try:
                values[i] = as_real(value, "lr")
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"the learning-rate schedule gave {value!r} for epoch "
                                f"{first_epoch + i}: {exc}") from None
            if values[i] < 0:
                raise ValueError(f"the learning-rate schedule gave a negative lr {value!r} for "
                                 f"epoch {first_epoch + i}")
        return values
    return np.broadcast_to(np.float64(as_real(lr, "lr", 0.0)), (count,))
