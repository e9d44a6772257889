"""Plots: History.plot / plot_history and draw_network (matplotlib is optional)."""
import sys

import numpy as np
import pytest

import backprop as bp

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

from backprop.plotting import draw_network, plot_history  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def lines(ax):
    return {line.get_label(): (line.get_xdata(), line.get_ydata()) for line in ax.get_lines()}


def test_loss_and_validation_loss_against_epochs():
    h = bp.History(loss=np.array([0.5, 0.3, 0.2]), val_loss=np.array([0.6, 0.4, 0.35]),
                   epoch=np.array([4, 5, 6]))
    ax = plot_history(h)
    got = lines(ax)
    np.testing.assert_array_equal(got["training loss"][0], [4, 5, 6])
    np.testing.assert_array_equal(got["training loss"][1], h.loss)
    np.testing.assert_array_equal(got["validation loss"][1], h.val_loss)
    assert ax.get_xlabel() == "epoch" and ax.get_yscale() == "linear"
    assert ax.get_legend() is not None


def test_log_scale_when_the_loss_spans_decades():
    falling = bp.History(loss=np.geomspace(1.0, 1e-4, 50), epoch=np.arange(50))
    assert plot_history(falling).get_yscale() == "log"
    assert plot_history(falling, log=False).get_yscale() == "linear"
    flat = bp.History(loss=np.linspace(1.0, 0.5, 50), epoch=np.arange(50))
    assert plot_history(flat).get_yscale() == "linear"
    assert plot_history(flat, log=True).get_yscale() == "log"
    with_zero = bp.History(loss=np.array([1.0, 1e-5, 0.0]), epoch=np.arange(3))
    assert plot_history(with_zero).get_yscale() == "linear"


def test_recorded_curve_against_samples():
    h = bp.History(loss=np.array([0.2, 0.1]), val_loss=np.array([0.25, 0.15]), epoch=np.arange(2),
                   samples=np.array([100, 200]), record_every=25,
                   record=np.array([0.4, 0.3, 0.2, 0.15, 0.12, 0.1, 0.09, 0.08]),
                   record_samples=np.arange(25, 201, 25))
    ax = plot_history(h)
    got = lines(ax)
    x, y = got["training loss (mean of every 25 samples)"]
    np.testing.assert_array_equal(x, h.record_samples)
    np.testing.assert_array_equal(y, h.record)
    np.testing.assert_array_equal(got["validation loss"][0], [100, 200])
    assert ax.get_xlabel() == "samples seen"


def test_one_epoch_is_a_visible_point():
    ax = plot_history(bp.History(loss=np.array([0.3]), epoch=np.array([0])))
    (line,) = ax.get_lines()
    assert line.get_marker() == "o"
    assert ax.get_legend() is None


def test_a_real_training_history_and_history_plot(tmp_path):
    net, x, t, lr = bp.examples.mazur()
    h = net.train(x, t, epochs=200, lr=lr)
    ax = h.plot(title="Mazur", path=tmp_path / "loss.png")
    assert ax.get_title() == "Mazur"
    assert (tmp_path / "loss.png").read_bytes().startswith(PNG)
    np.testing.assert_array_equal(lines(ax)["training loss"][1], h.loss)


def test_drawing_into_a_given_axes():
    fig, (left, right) = plt.subplots(1, 2)
    h = bp.History(loss=np.array([0.5, 0.4]), epoch=np.arange(2))
    assert plot_history(h, right) is right
    assert draw_network(bp.examples.mazur()[0], ax=left) is left
    assert len(right.get_lines()) == 1


def test_saving_alone_leaves_pyplot_alone(tmp_path):
    h = bp.History(loss=np.array([0.5, 0.4]), epoch=np.arange(2))
    plot_history(h, path=tmp_path / "a.png")
    draw_network(bp.examples.mazur()[0], path=tmp_path / "b.svg")
    assert plt.get_fignums() == []
    assert (tmp_path / "a.png").read_bytes().startswith(PNG)
    assert b"<svg" in (tmp_path / "b.svg").read_bytes()[:500]


def test_bad_histories_are_refused():
    with pytest.raises(ValueError, match="history is empty"):
        plot_history(bp.History())
    with pytest.raises(ValueError, match="val_loss has 1 entries but history.loss has 2"):
        plot_history(bp.History(loss=np.ones(2), val_loss=np.ones(1)))
    with pytest.raises(TypeError, match="backprop.History"):
        plot_history([0.5, 0.4])


def texts(ax):
    return [t.get_text() for t in ax.texts]


def test_worked_example_drawing_names_every_weight_and_bias(tmp_path):
    net = bp.examples.mazur()[0]
    ax = draw_network(net, path=tmp_path / "mazur.png")
    labels = texts(ax)
    for k, w in enumerate([0.15, 0.2, 0.25, 0.3, 0.4, 0.45, 0.5, 0.55], start=1):
        assert f"$w_{{{k}}}$ = {w:g}" in labels
    for name in ("i_{1}", "i_{2}", "h_{1}", "h_{2}", "o_{1}", "o_{2}", "b_{1}", "b_{2}"):
        assert f"${name}$" in labels
    assert "b1 = 0.35 (fixed)" in labels and "b2 = 0.6 (fixed)" in labels
    assert "hidden\nlogistic" in labels
    assert (tmp_path / "mazur.png").read_bytes().startswith(PNG)
    # one line per weight and one per shared-bias connection
    assert len(ax.get_lines()) == 8 + 4


def test_weight_labels_follow_the_flat_parameter_order():
    net = bp.Network([3, 2, 2], activation="tanh", bias="neuron", seed=0)
    ax = draw_network(net, digits=4)
    flat = np.concatenate([W.ravel() for W in net.weights])
    for k, w in enumerate(flat, start=1):
        assert f"$w_{{{k}}}$ = {w:.4g}" in texts(ax)
    for b in np.concatenate(net.biases):
        assert f"b={b:.4g}" in texts(ax)


def test_labels_can_be_switched_and_big_networks_go_without():
    net = bp.Network([2, 2, 1], bias="none", seed=0)
    assert "$w_{1}$" in texts(draw_network(net, values=False))
    assert f"{net.weights[0][0, 0]:.3g}" in texts(draw_network(net, names=False))
    assert not any(t.startswith("b") for t in texts(draw_network(net)))
    big = bp.Network([6, 8, 3], seed=0)
    assert not any("w_" in t or "b=" in t for t in texts(draw_network(big)))
    with pytest.raises(ValueError, match="at most 32 units per layer"):
        draw_network(bp.Network([64, 10], seed=0))
    with pytest.raises(TypeError, match="backprop.Network"):
        draw_network("net")


def test_deep_networks_name_hidden_layers():
    labels = texts(draw_network(bp.Network([2, 3, 3, 1], seed=0)))
    assert "$h^{(1)}_{3}$" in labels and "$h^{(2)}_{1}$" in labels


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'cybackprop\[plot\]'"):
        plot_history(bp.History(loss=np.ones(2)))
