"""A network's layers as the exporters read them: weights, biases and activation."""
from dataclasses import dataclass

import numpy as np

# The activations every exporter can express (softmax only as the output layer,
# as in backprop itself).
ACTIVATIONS = ("logistic", "tanh", "relu", "leaky_relu", "identity", "softmax")


@dataclass(frozen=True)
class Layer:
    """One weight layer, z = W a + b, a' = f(z).

    W:     (n_out, n_in) float64, ``W[j, i]`` from unit i below to unit j
    b:     the biases as stored: n_out values (bias="neuron"), one value
           (bias="shared"), none (bias="none")
    bias:  the network's bias policy
    activation, slope: the activation's name, and the leaky ReLU's slope (0 otherwise)
    """

    W: np.ndarray
    b: np.ndarray
    bias: str
    activation: str
    slope: float

    @property
    def n_in(self):
        return self.W.shape[1]

    @property
    def n_out(self):
        return self.W.shape[0]

    def expanded_bias(self):
        """n_out biases: a shared bias repeated, zeros for bias="none"."""
        if self.bias == "none":
            return np.zeros(self.n_out)
        return np.broadcast_to(self.b, (self.n_out,)).copy()


def layers(net, who):
    """The layers of ``net`` (copies), after checking that it is a Network."""
    # Read by attribute: backprop.network imports the exporters, so this
    # module cannot import its Network class.
    if not all(hasattr(net, a) for a in ("weights", "biases", "bias", "_activations")):
        raise TypeError(f"{who} exports a backprop.Network, got {type(net).__name__}")
    # The activation parameters (the leaky ReLU's slope) are not a public
    # attribute of Network; this is the one place the exporters read them.
    specs = net._activations
    return [Layer(W=np.array(W), b=np.array(b), bias=net.bias, activation=name, slope=float(slope))
            for W, b, (name, slope) in zip(net.weights, net.biases, specs)]
