"""skl2onnx converters for backprop.sklearn's estimators: the network's
layers (as ``to_onnx`` writes them) and a classifier's label and
probabilities.  Apart from ``_onnx`` because it imports backprop.sklearn,
which the Network's own ``to_onnx`` must not."""
import numpy as np

from ._layers import layers
from ._onnx import layer_nodes


def onnx_estimator_graph(scope, operator, container, network, classes=None):
    """skl2onnx converter body for a scikit-learn estimator around a Network.

    network: the estimator's fitted ``network_``; classes: its ``classes_``
    (integers or strings) for a classifier, None for a regressor.  A
    regressor's one output is the network's outputs.  A classifier's outputs
    are those of skl2onnx's MLPClassifier converter: the label (the class of
    the largest probability) and the probabilities, (N, n_classes): the
    network's outputs, or ``[1 - p, p]`` for one logistic output and two
    classes.  The input's type (float32 or float64) is the graph's.

    ``register_skl2onnx`` registers it for backprop.sklearn's estimators.
    Multilabel classifiers (logistic outputs, one per class, each its own
    yes/no) are refused: their labels are not the argmax.
    """
    from onnx import TensorProto, helper
    from skl2onnx.common.data_types import guess_numpy_type

    specs = layers(network, "onnx_estimator_graph")
    dtype = np.dtype(guess_numpy_type(operator.inputs[0].type))
    unique = scope.get_unique_variable_name

    def add_node(op, inputs, outputs, stem, **attrs):
        container.add_node(op, inputs, outputs, name=scope.get_unique_operator_name(stem), **attrs)

    def add_initializer(name, array):
        container.add_initializer(name, helper.np_dtype_to_tensor_dtype(array.dtype), list(array.shape),
                                  array.ravel().tolist())

    x = operator.inputs[0].full_name
    if classes is None:
        layer_nodes(specs, x, operator.outputs[0].full_name, dtype, add_node, add_initializer, unique)
        return
    classes = np.asarray(classes)
    n_out = specs[-1].n_out
    if specs[-1].activation == "logistic" and n_out > 1:
        raise ValueError(f"a classifier with {n_out} logistic outputs is multilabel; the converter "
                         "gives one label per sample (binary: one logistic output, multiclass: softmax)")
    binary = n_out == 1 and len(classes) == 2
    if not binary and n_out != len(classes):
        raise ValueError(f"network has {n_out} outputs for {len(classes)} classes; a classifier's "
                         "network has one output per class, or one logistic output for two")
    label, probabilities = operator.outputs[0].full_name, operator.outputs[1].full_name
    out = unique("network_output") if binary else probabilities
    layer_nodes(specs, x, out, dtype, add_node, add_initializer, unique)
    if binary:
        one, other = unique("one"), unique("one_minus_p")
        add_initializer(one, np.ones(1, dtype=dtype))
        add_node("Sub", [one, out], [other], "one_minus_p")
        add_node("Concat", [other, out], [probabilities], "probabilities", axis=1)
    index, table = unique("class_index"), unique("classes")
    add_node("ArgMax", [probabilities], [index], "argmax", axis=1, keepdims=0)
    if classes.dtype.kind in "iub":
        add_initializer(table, classes.astype(np.int64))
    elif classes.dtype.kind in "US":
        container.add_initializer(table, TensorProto.STRING, [len(classes)],
                                  [str(c).encode("utf-8") for c in classes])
    else:
        raise ValueError(f"classes must be integers or strings for ONNX labels, got dtype {classes.dtype}")
    add_node("Gather", [table, index], [label], "label", axis=0)


def register_skl2onnx():
    """Register converters for backprop.sklearn's MLPClassifier and MLPRegressor
    with skl2onnx, so that ``skl2onnx.to_onnx(pipeline, ...)`` converts a
    pipeline that holds one (needs skl2onnx and scikit-learn).

    The classifier gives skl2onnx's usual classifier outputs: ``label`` and
    ``probabilities`` (through a ZipMap unless ``options={MLPClassifier:
    {"zipmap": False}}``; ZipMap takes float32 only, so a float64 input needs
    ``"zipmap": False``); the regressor ``variable``.  Calling it again
    changes nothing.
    """
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (calculate_linear_classifier_output_shapes,
                                                  calculate_linear_regressor_output_shapes)

    from ..sklearn import MLPClassifier, MLPRegressor

    def convert_classifier(scope, operator, container):
        est = operator.raw_operator
        est._sync()       # coefs_/intercepts_ the user assigned, into network_
        onnx_estimator_graph(scope, operator, container, est.network_, est.classes_)

    def convert_regressor(scope, operator, container):
        est = operator.raw_operator
        est._sync()
        onnx_estimator_graph(scope, operator, container, est.network_)

    update_registered_converter(MLPClassifier, "BackpropMLPClassifier",
                                calculate_linear_classifier_output_shapes, convert_classifier,
                                options={"zipmap": [True, False, "columns"], "nocl": [True, False]})
    update_registered_converter(MLPRegressor, "BackpropMLPRegressor",
                                calculate_linear_regressor_output_shapes, convert_regressor)
