"""Export a trained Network.

    to_c(net, path=None, name="mynet")   a C99 header whose NAME_predict gives predict's bits

``Network.to_c`` calls it.  Exporters read the network through its
parameters (weights, biases, bias policy, activations) and refuse, with an
exception naming the argument, what their target cannot express.
"""
from ._c import to_c

__all__ = ["to_c"]
