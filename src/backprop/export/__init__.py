"""Export a trained Network.

    to_c(net, path=None, name="mynet")                  a C99 header whose NAME_predict
                                                        gives predict's bits
    to_onnx(net, path=None, opset=17, dtype="float64")  an onnx.ModelProto (needs onnx)

``Network.to_c`` and ``Network.to_onnx`` call them; onnx is imported only
when to_onnx runs (``pip install 'cybackprop[onnx]'``).  Exporters read the network through its
parameters (weights, biases, bias policy, activations) and refuse, with an
exception naming the argument, what their target cannot express.
"""
from ._c import to_c
from ._onnx import to_onnx

__all__ = ["to_c", "to_onnx"]
