"""Classification from the Network API: labels to one-hot targets, class
predictions and accuracy, targets the output layer cannot reach, saturation,
and the traps a newcomer meets (assigning weights, optimiser names, a
validation split, interrupted runs)."""
import pickle
import warnings

import numpy as np
import pytest

import backprop as bp


def blobs(n=300, k=3, seed=0, scale=1.0):
    """n samples of k well-separated classes in 2-D: (X, labels)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    centres = 3.0 * np.stack([np.cos(2 * np.pi * np.arange(k) / k), np.sin(2 * np.pi * np.arange(k) / k)], 1)
    return scale * (centres[labels] + 0.5 * rng.normal(size=(n, 2))), labels


# ------------------------------------------------------------------ one_hot
def test_one_hot_sorts_the_distinct_labels_into_columns():
    Y, classes = bp.one_hot(["dog", "cat", "dog", "bird"])
    assert classes.tolist() == ["bird", "cat", "dog"]
    np.testing.assert_array_equal(Y, [[0, 0, 1], [0, 1, 0], [0, 0, 1], [1, 0, 0]])
    assert Y.dtype == np.float64


def test_one_hot_with_given_classes_keeps_a_missing_class_column():
    Y, classes = bp.one_hot([2, 0], classes=[0, 1, 2])
    np.testing.assert_array_equal(Y, [[0, 0, 1], [1, 0, 0]])
    assert classes.tolist() == [0, 1, 2]


@pytest.mark.parametrize("labels, classes, message", [
    ([[0, 1]], None, "labels must be a non-empty 1-D"),
    ([], None, "labels must be a non-empty 1-D"),
    ([0, 3], [0, 1], "labels holds 3, which is not one of classes"),
    ([0, 1], [0, 0, 1], "classes must not repeat"),
])
def test_one_hot_refuses_bad_labels(labels, classes, message):
    with pytest.raises(ValueError, match=message):
        bp.one_hot(labels, classes)


# ------------------------------------------------------- targets and labels
def test_integer_labels_for_a_multi_output_network_say_how_to_one_hot_them():
    X, labels = blobs(30)
    net = bp.Network([2, 5, 3], activation=["tanh", "softmax"], loss="cross_entropy", seed=0)
    before = net.params.copy()
    for Y in (labels, labels.reshape(-1, 1), labels.astype(float)):
        with pytest.raises(ValueError, match=r"one class label per sample .*backprop\.one_hot"):
            net.train(X, Y)
    np.testing.assert_array_equal(net.params, before)


def test_a_1d_target_vector_is_a_column_for_a_one_output_network():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    a = bp.Network([3, 4, 1], activation=["tanh", "identity"], seed=2)
    b = a.copy()
    a.train(X, y, epochs=3, lr=0.05)
    b.train(X, y.reshape(-1, 1), epochs=3, lr=0.05)
    np.testing.assert_array_equal(a.params, b.params)
    assert a.loss(X, y) == b.loss(X, y.reshape(-1, 1))


@pytest.mark.parametrize("activation, bad", [("logistic", 2.0), ("logistic", -0.5), ("tanh", 1.5)])
def test_targets_outside_the_output_range_are_refused_before_training(activation, bad):
    X = np.zeros((4, 2))
    Y = np.array([[0.0], [0.5], [bad], [0.0]])
    net = bp.Network([2, 3, 1], activation=activation, seed=0)
    before = net.params.copy()
    with pytest.raises(ValueError, match=r"Y\[2, 0\] = .* outside the range .* identity output"):
        net.train(X, Y)
    with pytest.raises(ValueError, match=r"t\[0, 0\] = .* outside the range"):
        net.trace(X[0], Y[2])
    np.testing.assert_array_equal(net.params, before)


def test_class_labels_as_one_logistic_target_get_the_classifier_hint():
    X, labels = blobs(30)
    net = bp.Network([2, 3, 1], seed=0)
    with pytest.raises(ValueError, match="looks like class labels: for K classes use K softmax"):
        net.train(X, labels)


def test_identity_outputs_take_any_targets_and_loss_still_evaluates_out_of_range():
    X = np.zeros((3, 2))
    Y = np.array([[5.0], [-7.0], [0.0]])
    bp.Network([2, 3, 1], activation=["tanh", "identity"], seed=0).train(X, Y)
    # Evaluating a loss is not fitting: no range check there.
    assert np.isfinite(bp.Network([2, 3, 1], seed=0).loss(X, Y))


# ------------------------------------------------ predictions and accuracy
def test_a_softmax_classifier_learns_blobs_and_reports_its_accuracy():
    X, labels = blobs(400)
    Y, classes = bp.one_hot(labels)
    net = bp.Network([2, 16, 3], activation=["tanh", "softmax"], loss="cross_entropy", seed=0)
    net.train(X[:300], Y[:300], epochs=30, lr=0.05, shuffle=True, seed=0)
    predicted = net.predict_classes(X[300:])
    np.testing.assert_array_equal(predicted, net.predict(X[300:]).argmax(axis=1))
    expected = float(np.mean(predicted == labels[300:]))
    assert expected > 0.95
    assert net.accuracy(X[300:], labels[300:]) == expected
    assert net.accuracy(X[300:], Y[300:]) == expected
    assert net.predict_classes(X[300]) == predicted[0]


@pytest.mark.parametrize("activation, middle", [("logistic", 0.5), ("tanh", 0.0)])
def test_one_output_classes_split_at_the_middle_of_its_range(activation, middle):
    net = bp.Network([1, 1], activation=activation, bias="none", seed=0)
    net.weights[0] = [[1.0]]
    X = np.array([[-2.0], [-0.1], [0.1], [3.0]])
    np.testing.assert_array_equal(net.predict_classes(X), [0, 0, 1, 1])
    assert (net.predict(X)[:, 0] > middle).tolist() == [False, False, True, True]
    assert net.accuracy(X, [0, 1, 1, 1]) == 0.75
    low = 2 * middle - 1.0                   # the bottom of the range: 0 or -1
    assert net.accuracy(X, [[low], [1.0], [1.0], [1.0]]) == 0.75


def test_accuracy_refuses_labels_that_are_no_class_index():
    net = bp.Network([2, 3, 3], activation=["tanh", "softmax"], seed=0)
    with pytest.raises(ValueError, match="class indices from 0 to 2"):
        net.accuracy(np.zeros((2, 2)), [0, 3])
    with pytest.raises(ValueError, match="class indices"):
        net.accuracy(np.zeros((2, 2)), [0.5, 1])


def test_classes_name_the_outputs_and_travel_with_copies_and_pickles():
    X, labels = blobs(200)
    names = np.array(["east", "north-west", "south-west"])
    Y, classes = bp.one_hot(names[labels])
    net = bp.Network([2, 8, 3], activation=["tanh", "softmax"], loss="cross_entropy", seed=0)
    net.classes = classes
    net.train(X, Y, epochs=10, lr=0.05)
    for other in (net.copy(), pickle.loads(pickle.dumps(net))):
        np.testing.assert_array_equal(other.classes, classes)
    predicted = net.classes[net.predict_classes(X)]
    assert np.mean(predicted == names[labels]) > 0.95
    with pytest.raises(ValueError, match="classes must be 3 labels"):
        net.classes = ["a", "b"]
    with pytest.raises(ValueError, match="must not repeat"):
        net.classes = ["a", "b", "a"]
    one = bp.Network([2, 1], seed=0)
    one.classes = [False, True]
    with pytest.raises(ValueError, match="two for one logistic output"):
        one.classes = ["only"]


# ------------------------------------------------------------- saturation
def pixels(scale, n=500, seed=0):
    """Ten classes of 64 "pixel" features of 0 to 16 (as scikit-learn's digits),
    times ``scale``: (X, one-hot Y)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    X = rng.uniform(0, 16, (10, 64))[labels] + 2.0 * rng.normal(size=(n, 64))
    return scale * X, bp.one_hot(labels)[0]


def test_raw_scale_inputs_that_saturate_the_hidden_layer_are_reported():
    X, Y = pixels(100.0)
    net = bp.Network([64, 32, 10], activation=["logistic", "softmax"], loss="cross_entropy", seed=0)
    with pytest.warns(bp.SaturationWarning, match=r"hidden layer 1 are saturated.*Scale the inputs"):
        net.train(X, Y, epochs=10, lr=0.1, shuffle=True, seed=0)
    # The same data at unit scale trains.
    X, Y = pixels(1 / 16)
    net = bp.Network([64, 32, 10], activation=["logistic", "softmax"], loss="cross_entropy", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", bp.SaturationWarning)
        net.train(X, Y, epochs=10, lr=0.1, shuffle=True, seed=0)
    assert net.accuracy(X, Y) > 0.95


def test_outputs_saturated_at_the_wrong_end_by_a_huge_learning_rate_are_reported():
    X, Y = pixels(100.0)
    net = bp.Network([64, 32, 10], activation=["logistic", "softmax"], loss="cross_entropy", seed=0)
    with pytest.warns(bp.SaturationWarning, match="softmax outputs saturated at the wrong end"):
        net.train(X, Y, epochs=10, lr=1.0, shuffle=True, seed=0)


def test_a_network_that_trains_well_raises_no_saturation_warning():
    X, labels = blobs(200, k=4)
    Y, _ = bp.one_hot(labels)
    net = bp.Network([2, 16, 4], activation=["logistic", "softmax"], loss="cross_entropy", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", bp.SaturationWarning)
        net.train(X, Y, epochs=30, lr=0.1, shuffle=True, seed=0)
        net.train(X, Y, epochs=5, lr=0.1)       # converged: a flat loss, units not saturated
    assert net.accuracy(X, labels) > 0.95


# ------------------------------------------------------------------- traps
def test_assigning_a_layer_of_weights_or_biases_writes_the_parameters():
    net = bp.Network([2, 3, 1], bias="shared", seed=0)
    W = np.arange(6.0).reshape(3, 2)
    net.weights[0] = W
    net.biases[1] = 0.25
    np.testing.assert_array_equal(net.weights[0], W)
    np.testing.assert_array_equal(net.params[:6], W.ravel())
    assert net.biases[1][0] == 0.25 and net.params[-1] == 0.25
    assert len(net.weights) == 2 and [w.shape for w in net.weights] == [(3, 2), (1, 3)]


@pytest.mark.parametrize("index, value, error, message", [
    (0, np.zeros((2, 3)), ValueError, r"weights\[0\] has shape \(3, 2\)"),
    (0, [[np.nan, 0], [0, 0], [0, 0]], ValueError, r"weights\[0\] must be finite"),
    (slice(0, 1), [np.zeros((3, 2))], TypeError, "one layer at a time"),
    (0, "abc", TypeError, r"weights\[0\] must hold real numbers"),
])
def test_a_bad_layer_assignment_is_refused_and_changes_nothing(index, value, error, message):
    net = bp.Network([2, 3, 1], seed=0)
    before = net.params.copy()
    with pytest.raises(error, match=message):
        net.weights[index] = value
    np.testing.assert_array_equal(net.params, before)


@pytest.mark.parametrize("name, optimizer", [
    ("sgd", bp.SGD()), ("momentum", bp.SGD(momentum=0.9)),
    ("nesterov", bp.SGD(momentum=0.9, nesterov=True)), ("adam", bp.Adam()),
])
def test_optimizers_by_name_are_the_defaults_the_cli_uses(name, optimizer):
    X, labels = blobs(50)
    Y, _ = bp.one_hot(labels)
    a = bp.Network([2, 4, 3], activation=["tanh", "softmax"], loss="cross_entropy", seed=0)
    b = a.copy()
    a.train(X, Y, epochs=2, optimizer=name)
    b.train(X, Y, epochs=2, optimizer=optimizer)
    assert a.optimizer == optimizer
    np.testing.assert_array_equal(a.params, b.params)


def test_an_unknown_optimizer_name_is_refused():
    with pytest.raises(ValueError, match="unknown optimizer 'adagrad'"):
        bp.Network([2, 1], seed=0).train([[0, 0]], [[0]], optimizer="adagrad")


def test_validation_split_holds_out_the_same_samples_as_the_cli():
    X, labels = blobs(100)
    Y, _ = bp.one_hot(labels)
    a = bp.Network([2, 4, 3], activation=["tanh", "softmax"], loss="cross_entropy", seed=3)
    b = a.copy()
    ha = a.train(X, Y, epochs=3, lr=0.1, validation_split=0.2)
    Xt, Yt, Xv, Yv = bp.data.split_validation(X, Y, 0.2, a.seed)
    assert len(Xv) == 20 and len(Xt) == 80
    hb = b.train(Xt, Yt, epochs=3, lr=0.1, validation=(Xv, Yv))
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(ha.val_loss, hb.val_loss)


@pytest.mark.parametrize("kwargs, message", [
    (dict(validation_split=1.0), "validation_split must be < 1"),
    (dict(validation_split=0.001), "leaves 100 for training and 0 for validation"),
    (dict(validation_split=0.2, validation=(np.zeros((1, 2)), np.zeros((1, 3)))), "not both"),
])
def test_bad_validation_splits_are_refused(kwargs, message):
    X, labels = blobs(100)
    Y, _ = bp.one_hot(labels)
    net = bp.Network([2, 4, 3], activation=["tanh", "softmax"], loss="cross_entropy", seed=3)
    with pytest.raises(ValueError, match=message):
        net.train(X, Y, **kwargs)


def test_history_says_whether_the_run_was_interrupted():
    assert bp.History(stop_reason="interrupted").interrupted
    assert not bp.History(stop_reason="target_loss").interrupted
    assert not bp.History().interrupted


def test_the_example_prints_significant_digits_after_many_updates():
    text = bp.examples.format_walkthrough(1_000_000)
    line = next(line for line in text.splitlines()[-4:] if "E_total" in line)
    value = float(line.split("=")[1])
    assert 0 < value < 1e-12
    assert "e-" in line and "0.000000000" not in line
    # At the post's 10,000 updates the post's format stays.
    assert "E_total                  = 0.000035102" in bp.examples.format_walkthrough(10_000)


@pytest.mark.parametrize("classes", [["b", "a", "c"], [3, 1, 2], [0.5, 1.5, -1.0]])
def test_classes_are_saved_and_loaded(tmp_path, classes):
    net = bp.Network([2, 3, 3], activation=["tanh", "softmax"], seed=0)
    net.classes = classes
    net.save(tmp_path / "m.npz")
    loaded = bp.load(tmp_path / "m.npz")
    assert loaded.classes.tolist() == classes
    assert bp.io.read_header(tmp_path / "m.npz")["classes"] == classes
    plain = bp.Network([2, 3, 3], activation=["tanh", "softmax"], seed=0)
    plain.save(tmp_path / "p.npz")
    assert bp.load(tmp_path / "p.npz").classes is None
    assert "classes" not in bp.io.read_header(tmp_path / "p.npz")


@pytest.mark.parametrize("bad", [[], ["a", 1, 2], [None, "a", "b"], ["a", "a", "b"], ["a", "b"]])
def test_a_file_with_bad_classes_is_refused(tmp_path, bad):
    import json
    import zipfile

    net = bp.Network([2, 3, 3], activation=["tanh", "softmax"], seed=0)
    net.classes = ["x", "y", "z"]
    net.save(tmp_path / "m.npz")
    with zipfile.ZipFile(tmp_path / "m.npz") as z:
        members = {name: z.read(name) for name in z.namelist()}
    header = bp.io.read_header(tmp_path / "m.npz")
    header["classes"] = bad
    raw = json.dumps(header).encode()
    arr = np.frombuffer(raw, dtype=np.uint8)
    with open(tmp_path / "h.npy", "wb") as f:
        np.save(f, arr)
    members["header.npy"] = (tmp_path / "h.npy").read_bytes()
    with zipfile.ZipFile(tmp_path / "bad.npz", "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(bp.ModelFileError, match="classes"):
        bp.load(tmp_path / "bad.npz")
