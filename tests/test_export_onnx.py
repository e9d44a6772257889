"""backprop.export.to_onnx, run by onnxruntime: the outputs agree with
Network.predict for every activation and bias policy (1e-12 in float64, a
few float32 roundings in float32), and the graph is one Gemm (transB=1) per layer and its
activation."""
import numpy as np
import pytest

import backprop as bp

onnx = pytest.importorskip("onnx", reason="to_onnx needs onnx (pip install 'cybackprop[onnx]')")
ort = pytest.importorskip("onnxruntime", reason="the ONNX models are checked by running them in onnxruntime")

HIDDEN = {"logistic": "tanh", "tanh": "logistic", "relu": bp.LeakyReLU(0.25), "leaky_relu": "relu",
          "identity": "logistic", "softmax": "tanh"}
OUTPUT = {"logistic": "logistic", "tanh": "tanh", "relu": "relu", "leaky_relu": bp.LeakyReLU(),
          "identity": "identity", "softmax": "softmax"}


def network(out_act, bias, seed=0):
    net = bp.Network([5, 19, 9, 6], activation=[HIDDEN[out_act], "tanh", OUTPUT[out_act]], bias=bias,
                     seed=seed)
    rng = np.random.default_rng(seed + 1)
    for W in net.weights:
        W[...] = rng.normal(size=W.shape) * 0.7
    for b in net.biases:
        b[...] = rng.normal(size=b.shape)
    return net


def inputs(seed=2):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(3000, 5)) * rng.choice([0.01, 1.0, 10.0], size=(3000, 1))


def run(model, X):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (out,) = session.run(["output"], {"input": X})
    return out


def assert_close(out, expected, rtol):
    # Elementwise relative, plus the same relative to the largest output: an
    # output near 0 that is a sum of larger terms (identity, relu) carries the
    # rounding of those terms, not of its own size.
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=rtol * np.abs(expected).max())


@pytest.mark.parametrize("bias", ["neuron", "shared", "none"])
@pytest.mark.parametrize("out_act", list(OUTPUT))
def test_onnxruntime_agrees_with_predict_in_float64(out_act, bias):
    net = network(out_act, bias)
    X = inputs()
    out = run(net.to_onnx(), X)
    assert out.dtype == np.float64 and out.shape == (3000, 6)
    assert_close(out, net.predict(X), 1e-12)


@pytest.mark.parametrize("bias", ["neuron", "shared", "none"])
@pytest.mark.parametrize("out_act", list(OUTPUT))
def test_onnxruntime_agrees_with_predict_in_float32(out_act, bias):
    net = network(out_act, bias)
    X = inputs()
    out = run(net.to_onnx(dtype="float32"), X.astype(np.float32))
    assert out.dtype == np.float32
    # the reference: predict on the float32-rounded inputs and parameters
    ref = bp.Network.from_weights([W.astype(np.float32) for W in net.weights],
                                  None if bias == "none" else [b.astype(np.float32) for b in net.biases],
                                  activation=[HIDDEN[out_act], "tanh", OUTPUT[out_act]], bias=bias)
    # float32 rounds every product and partial sum at 6e-8 of its size; through
    # three layers of sums of up to 19 terms larger than the result, the
    # outputs of the (leaky) ReLU networks carry up to ~1.5e-6 of the largest.
    assert_close(out, ref.predict(X.astype(np.float32).astype(np.float64)), 4e-6)


@pytest.mark.parametrize("out_act", list(OUTPUT))
def test_a_float32_network_exports_float32(out_act):
    net = network(out_act, "neuron")
    net32 = bp.Network.from_weights(list(net.weights), list(net.biases), dtype="float32",
                                    activation=[HIDDEN[out_act], "tanh", OUTPUT[out_act]])
    X = inputs().astype(np.float32)
    out = run(net32.to_onnx(), X)
    assert out.dtype == np.float32
    # both compute in float32, each in its own order (the tolerance as above)
    assert_close(out, net32.predict(X), 4e-6)


def test_graph_is_one_gemm_per_layer_then_the_activation():
    net = network("softmax", "shared")
    model = net.to_onnx(opset=13)
    nodes = model.graph.node
    assert [n.op_type for n in nodes] == ["Gemm", "Tanh", "Gemm", "Tanh", "Gemm", "Softmax"]
    init = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    for l, gemm in enumerate(n for n in nodes if n.op_type == "Gemm"):
        assert {a.name: a.i for a in gemm.attribute} == {"transB": 1}
        W, b = init[gemm.input[1]], init[gemm.input[2]]
        np.testing.assert_array_equal(W, net.weights[l])          # W[j, i], as backprop stores it
        np.testing.assert_array_equal(b, np.full(W.shape[0], net.biases[l][0]))   # shared, expanded
    assert [a.i for a in nodes[-1].attribute if a.name == "axis"] == [-1]
    assert model.opset_import[0].version == 13
    (x,), (y,) = model.graph.input, model.graph.output
    assert x.name == "input" and y.name == "output"
    assert [d.dim_param or d.dim_value for d in x.type.tensor_type.shape.dim] == ["N", 5]
    assert [d.dim_param or d.dim_value for d in y.type.tensor_type.shape.dim] == ["N", 6]


def test_identity_has_no_node_and_no_bias_has_no_gemm_input():
    net = bp.Network([3, 4, 2], activation=["identity", "identity"], bias="none", seed=0)
    model = net.to_onnx()
    assert [(n.op_type, len(n.input)) for n in model.graph.node] == [("Gemm", 2), ("Gemm", 2)]
    X = inputs()[:, :3]
    assert_close(run(model, X), net.predict(X), 1e-12)


def test_leaky_relu_slope_is_exact():
    # alpha is a 32-bit attribute: a slope float32 holds goes there, any other
    # into PRelu as a float64 tensor (0.01 is not a float32 value).
    net = bp.Network([3, 4, 2], activation=[bp.LeakyReLU(0.25), bp.LeakyReLU(0.01)], seed=0)
    model = net.to_onnx()
    ops = [n for n in model.graph.node if n.op_type != "Gemm"]
    assert ops[0].op_type == "LeakyRelu" and ops[0].attribute[0].f == 0.25
    assert ops[1].op_type == "PRelu"
    slope = [t for t in model.graph.initializer if t.name == ops[1].input[1]][0]
    assert onnx.numpy_helper.to_array(slope).tolist() == [0.01]
    X = inputs()[:, :3] * 100
    np.testing.assert_allclose(run(model, X), net.predict(X), rtol=1e-12, atol=0)


def test_writes_the_model_to_path(tmp_path):
    net = network("tanh", "neuron")
    model = net.to_onnx(tmp_path / "net.onnx")
    assert onnx.load(tmp_path / "net.onnx") == model


def test_to_onnx_refuses_bad_arguments(tmp_path):
    net = network("tanh", "neuron")
    with pytest.raises(ValueError, match="opset"):
        net.to_onnx(opset=12)
    with pytest.raises(ValueError, match="opset"):
        net.to_onnx(opset=onnx.defs.onnx_opset_version() + 1)
    with pytest.raises(TypeError, match="opset"):
        net.to_onnx(opset="17")
    with pytest.raises(ValueError, match="dtype"):
        net.to_onnx(dtype="float16")
    with pytest.raises(TypeError, match="path"):
        net.to_onnx(path=1.5)


def test_cli_exports_a_saved_model_to_onnx(tmp_path):
    from backprop.cli import main

    net = network("softmax", "none")
    net.save(tmp_path / "model.npz")
    assert main(["export", str(tmp_path / "model.npz"), "--format", "onnx", "-o", str(tmp_path / "m.onnx"),
                 "--opset", "15"]) == 0
    model = onnx.load(tmp_path / "m.onnx")
    assert model.opset_import[0].version == 15
    X = inputs()
    assert_close(run(model, X), net.predict(X), 1e-12)


def test_skl2onnx_converts_pipelines_holding_backprops_estimators():
    # backprop.sklearn's estimators in real pipelines, converted by
    # skl2onnx.to_onnx after register_skl2onnx, run in onnxruntime.
    skl2onnx = pytest.importorskip("skl2onnx", reason="the converters are checked through skl2onnx")
    pytest.importorskip("sklearn", reason="the converters are for backprop.sklearn's estimators")
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from backprop.export import register_skl2onnx
    from backprop.sklearn import MLPClassifier, MLPRegressor

    register_skl2onnx()
    register_skl2onnx()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4)) * 3 + 1
    types = [("X", DoubleTensorType([None, 4]))]
    for y in [np.where(X[:, 0] + X[:, 1] > 2, "yes", "no"), (X[:, 0] > 1).astype(int) + (X[:, 2] > 1)]:
        clf = MLPClassifier(hidden_layer_sizes=(6,), activation="tanh", max_iter=30, random_state=0)
        pipe = make_pipeline(StandardScaler(), clf).fit(X, y)
        model = skl2onnx.to_onnx(pipe, initial_types=types, options={MLPClassifier: {"zipmap": False}})
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        label, proba = session.run(None, {"X": X})
        assert (label == pipe.predict(X)).all()
        np.testing.assert_allclose(proba, pipe.predict_proba(X), rtol=1e-12, atol=1e-14)
    # float32 and skl2onnx's default ZipMap (float only): one {class: probability} per sample
    model = skl2onnx.to_onnx(pipe, initial_types=[("X", FloatTensorType([None, 4]))])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    label, maps = session.run(None, {"X": X.astype(np.float32)})
    proba = np.array([[m[c] for c in (0, 1, 2)] for m in maps])
    np.testing.assert_allclose(proba, pipe.predict_proba(X), rtol=1e-4, atol=1e-5)
    reg = MLPRegressor(hidden_layer_sizes=(5,), activation="tanh", max_iter=30, random_state=0)
    pipe = make_pipeline(StandardScaler(), reg).fit(X, np.c_[X[:, 0] - X[:, 1], X[:, 2]])
    model = skl2onnx.to_onnx(pipe, initial_types=types)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"X": X})
    assert_close(out, pipe.predict(X), 1e-12)
    multilabel = MLPClassifier(hidden_layer_sizes=(3,), max_iter=5, random_state=0).fit(X, X[:, :2] > 1)
    with pytest.raises(ValueError, match="multilabel"):
        skl2onnx.to_onnx(multilabel, initial_types=types)
