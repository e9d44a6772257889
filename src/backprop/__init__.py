"""backprop: multilayer perceptrons trained by backpropagation in a compiled core.

    >>> import backprop as bp
    >>> X, Y = [[0, 0], [0, 1], [1, 0], [1, 1]], [[0], [1], [1], [0]]
    >>> net = bp.Network([2, 3, 1], activation="tanh", seed=0)
    >>> history = net.train(X, Y, epochs=100, lr=0.1)

See ``Network`` for the API, ``backprop.examples`` for the worked example.
"""

from ._version import __version__
from . import callbacks, data, examples, init, optim, plotting
from .callbacks import EarlyStopping
from .data import one_hot
from .functions import Huber, LeakyReLU
from .init import Uniform
from .io import ModelFileError, load
from .network import DivergenceError, Network, SaturationWarning
from .optim import SGD, Adam, CosineDecay, ExponentialDecay, InverseTimeDecay, StepDecay
from .results import History, Trace, TraceLayer

__all__ = [
    "Adam", "CosineDecay", "DivergenceError", "EarlyStopping", "ExponentialDecay", "History", "Huber",
    "InverseTimeDecay", "LeakyReLU", "ModelFileError", "Network", "SGD", "SaturationWarning",
    "StepDecay", "Trace", "TraceLayer", "Uniform", "callbacks", "data", "examples", "init", "load",
    "one_hot", "optim", "plotting",
]
