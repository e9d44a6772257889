"""ONNX export: one ``Gemm`` per layer, then the layer's activation.

    input  "input":  (N, n_in), float64 (or float32 with dtype="float32")
    output "output": (N, n_out), the same type

Each layer is ``Gemm(a, W, b, transB=1)``, which is ``a Wᵀ + b`` with W
stored as backprop stores it (``W[j, i]``, n_out x n_in); a shared bias is
expanded to one value per unit, and ``bias="none"`` leaves out Gemm's third
input.  Then ``Sigmoid``, ``Tanh``, ``Relu``, ``LeakyRelu(alpha=slope)``,
``Softmax(axis=-1)``, or nothing for the identity.  LeakyRelu's ``alpha``
is a 32-bit float attribute: in float64, a slope that float32 cannot hold
exactly (0.01, the default, among them) becomes ``PRelu`` with the slope as a
float64 tensor, the same function.  onnxruntime's CPU provider runs every one
of these ops in double.

What ONNX cannot carry: the bits.  A runtime computes exp, tanh and the
matrix products its own way, so outputs agree with ``predict`` to rounding
(about 1e-15 relative in float64), not bit for bit; ``to_c`` gives the bits.
Training state (loss, optimiser, which biases are frozen) is not exported: a
frozen bias is a constant like any other.
"""
import os

import numpy as np

from .._atomic import write_file
from .._dtypes import check_dtype
from ._layers import layers

MIN_OPSET = 13          # Softmax(axis=-1) over the last axis alone, Gemm's optional C
ACTIVATION_OPS = {"logistic": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "leaky_relu": "LeakyRelu",
                  "softmax": "Softmax", "identity": None}


def _import_onnx():
    try:
        import onnx
    except ImportError as exc:
        raise ImportError("to_onnx needs the onnx package: pip install 'cybackprop[onnx]'") from exc
    return onnx


def layer_nodes(specs, x, y, dtype, add_node, add_initializer, unique):
    """Add the nodes of the network's layers from tensor ``x`` to tensor ``y``.

    add_node(op_type, inputs, outputs, stem, **attributes) adds a node (named
    from stem) and add_initializer(name, array) a constant to the graph being
    built; unique(stem) gives an unused tensor name.  Shared by to_onnx and
    the scikit-learn converter.
    """
    a = x
    for l, s in enumerate(specs):
        last = l == len(specs) - 1
        op = ACTIVATION_OPS[s.activation]
        z = y if last and op is None else unique(f"z{l}")
        W = unique(f"W{l}")
        add_initializer(W, s.W.astype(dtype))
        inputs = [a, W]
        if s.bias != "none":
            b = unique(f"b{l}")
            add_initializer(b, s.expanded_bias().astype(dtype))
            inputs.append(b)
        add_node("Gemm", inputs, [z], f"gemm{l}", transB=1)
        if op is None:
            a = z
            continue
        out = y if last else unique(f"a{l}")
        inputs, attrs = [z], {"axis": -1} if op == "Softmax" else {}
        if op == "LeakyRelu":
            if dtype == np.float32 or float(np.float32(s.slope)) == s.slope:
                attrs = {"alpha": s.slope}
            else:
                # LeakyRelu's alpha is a 32-bit attribute: a slope it cannot
                # hold exactly goes into PRelu as a tensor of the model's type.
                op = "PRelu"
                inputs.append(unique(f"slope{l}"))
                add_initializer(inputs[-1], np.array([s.slope], dtype=dtype))
        add_node(op, inputs, [out], f"{s.activation}{l}", **attrs)
        a = out


def to_onnx(net, path=None, opset=17, dtype=None):
    """The network as an ``onnx.ModelProto``; written to ``path`` if given.

    opset:  the ONNX operator set, 13 up to the installed onnx's newest
    dtype:  "float64" or "float32", the type of the input, the output and the
            parameters; by default the network's
    The model's input is "input", (N, n_in), and its output "output", (N, n_out).
    """
    specs = layers(net, "to_onnx")
    dtype = net.dtype.name if dtype is None else check_dtype(dtype).name
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)):
        raise TypeError(f"opset must be an int, got {type(opset).__name__}")
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file name (str or os.PathLike) or None, got {type(path).__name__}")
    onnx = _import_onnx()
    from onnx import helper, numpy_helper

    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= newest:
        raise ValueError(f"opset must be between {MIN_OPSET} and {newest} (this onnx's newest), got {opset}")
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    nodes, initializers, names = [], [], {"input", "output"}

    def unique(stem):
        name, k = stem, 1
        while name in names:
            k += 1
            name = f"{stem}_{k}"
        names.add(name)
        return name

    def add_node(op, inputs, outputs, stem, **attrs):
        nodes.append(helper.make_node(op, inputs, outputs, name=unique(stem), **attrs))

    def add_initializer(name, array):
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))

    layer_nodes(specs, "input", "output", np.dtype(dtype), add_node, add_initializer, unique)
    graph = helper.make_graph(
        nodes, "backprop_network",
        [helper.make_tensor_value_info("input", elem, ["N", specs[0].n_in])],
        [helper.make_tensor_value_info("output", elem, ["N", specs[-1].n_out])],
        initializer=initializers)
    opsets = [helper.make_opsetid("", int(opset))]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="backprop",
                              ir_version=helper.find_min_ir_version_for(opsets))
    model.doc_string = f"backprop.Network {list(net.sizes)}, activations {list(net.activations)}"
    onnx.checker.check_model(model)
    if path is not None:
        write_file(path, model.SerializeToString())
    return model
