"""Export a trained Network::

    to_c(net, path=None, name="mynet")                  a C99 header whose NAME_predict
                                                        gives predict's bits
    to_onnx(net, path=None, opset=17, dtype=None)       an onnx.ModelProto (needs onnx)
    to_torch(net, dtype=None)                           a torch.nn.Sequential (needs torch)
    from_torch(module, loss="squared", ..., dtype=...)  a Network from such a module
    register_skl2onnx()                                 skl2onnx converters for
                                                        backprop.sklearn's estimators
    onnx_estimator_graph(scope, operator, container, network, classes)
                                                        their body, over network_ and classes_

``Network.to_c``, ``Network.to_onnx``, ``Network.to_torch`` and
``Network.from_torch`` call them; onnx and torch are imported only when their
exporter runs (``pip install 'cybackprop[onnx]'``, ``'cybackprop[torch]'``).
Exporters read the network through its parameters (weights, biases, bias
policy, activations) and refuse, with an exception naming the argument, what
their target cannot express.
"""
from ._c import to_c
from ._onnx import to_onnx
from ._skl2onnx import onnx_estimator_graph, register_skl2onnx
from ._torch import to_torch

__all__ = ["to_c", "to_onnx", "to_torch", "from_torch", "onnx_estimator_graph", "register_skl2onnx"]


def from_torch(module, *, loss="squared", train_bias=None, seed=None, dtype="float64"):
    """A Network with the layers and parameters of ``module`` (copied to
    ``dtype``): ``Network.from_torch``, which says what the arguments do."""
    from ..network import Network

    return Network.from_torch(module, loss=loss, train_bias=train_bias, seed=seed, dtype=dtype)
