"""The worked example ("A Step by Step Backpropagation Example"), number by number."""
import subprocess
import sys

import numpy as np
import pytest

import backprop as bp
from backprop.examples import mazur, mazur_after, mazur_walkthrough

from reference import reference_for

# The post's figures (rounded to its printed digits).  Forward pass:
#   net_h1 = 0.15*0.05 + 0.20*0.10 + 0.35 = 0.3775,  out_h1 = 1/(1+e^-0.3775) = 0.593269992
#   net_o1 = 0.40*out_h1 + 0.45*out_h2 + 0.60 = 1.105905967,  out_o1 = 0.75136507
#   E_total = ½(0.01 - 0.75136507)² + ½(0.99 - 0.772928465)² = 0.298371109
# Output layer: dE/dw5 = (out_o1 - t1) · out_o1(1 - out_o1) · out_h1 = 0.082167041
#   w5+ = 0.40 - 0.5 · 0.082167041 = 0.35891648
# Hidden layer: dE/dout_h1 = δ_o1 w5 + δ_o2 w7 = 0.055399425 - 0.019049119 = 0.036350306
#   w1+ = 0.15 - 0.5 · 0.036350306 · 0.241300709 · 0.05 = 0.149780716
POST = {
    "net_h1": 0.3775, "out_h1": 0.593269992, "net_h2": 0.3925, "out_h2": 0.596884378,
    "net_o1": 1.105905967, "out_o1": 0.75136507, "out_o2": 0.772928465,
    "E_o1": 0.274811083, "E_o2": 0.023560026, "E_total": 0.298371109,
    "dE_total/dout_o1": 0.74136507, "dout_o1/dnet_o1": 0.186815602, "dnet_o1/dw5": 0.593269992,
    "dE_total/dw5": 0.082167041,
    "w5+": 0.35891648, "w6+": 0.408666186, "w7+": 0.511301270, "w8+": 0.561370121,
    "dE_o1/dout_h1": 0.055399425, "dE_o2/dout_h1": -0.019049119, "dE_total/dout_h1": 0.036350306,
    "dout_h1/dnet_h1": 0.241300709, "dnet_h1/dw1": 0.05, "dE_total/dw1": 0.000438568,
    "w1+": 0.149780716, "w2+": 0.19956143, "w3+": 0.24975114, "w4+": 0.29950229,
}


def test_configuration():
    net, x, t, lr = mazur()
    assert net.sizes == (2, 2, 2)
    np.testing.assert_array_equal(net.weights[0], [[0.15, 0.20], [0.25, 0.30]])
    np.testing.assert_array_equal(net.weights[1], [[0.40, 0.45], [0.50, 0.55]])
    np.testing.assert_array_equal(net.biases[0], [0.35])
    np.testing.assert_array_equal(net.biases[1], [0.60])
    assert (net.bias, net.train_bias) == ("shared", False)
    np.testing.assert_array_equal(x, [0.05, 0.10])
    np.testing.assert_array_equal(t, [0.01, 0.99])
    assert lr == 0.5


# The post multiplies already-rounded intermediates here: δ_o2 · w7 =
# -0.038098236 · 0.50 = -0.019049118 exactly, printed as -0.019049119; the
# unrounded product is -0.0190491183, so one unit in the last printed digit.
ROUNDED_IN_THE_POST = {"dE_o2/dout_h1": 1e-9}


@pytest.mark.parametrize("key", sorted(POST))
def test_walkthrough_matches_the_post(key):
    value = mazur_walkthrough()[key]
    digits = len(repr(POST[key]).split(".")[1])
    tolerance = ROUNDED_IN_THE_POST.get(key, 0.5 * 10.0 ** -digits + 1e-12)
    assert abs(value - POST[key]) <= tolerance, (key, value, POST[key])


def test_walkthrough_is_in_the_posts_order():
    keys = list(mazur_walkthrough())
    order = ["net_h1", "out_h1", "out_o1", "E_o1", "E_total", "dE_total/dout_o1", "dout_o1/dnet_o1",
             "dnet_o1/dw5", "dE_total/dw5", "w5+", "w8+", "dE_o1/dout_h1", "dE_o2/dout_h1",
             "dE_total/dout_h1", "dout_h1/dnet_h1", "dE_total/dw1", "w1+", "w4+"]
    positions = [keys.index(k) for k in order]
    assert positions == sorted(positions)


def test_walkthrough_agrees_with_the_reference_to_the_last_bits():
    net, x, t, lr = mazur()
    ref = reference_for(net)
    E, gW, _ = ref.gradients(x, t)
    ref.update(gW, [np.zeros(1), np.zeros(1)], lr)
    v = mazur_walkthrough()
    assert v["E_total"] == pytest.approx(E, rel=1e-14)
    assert v["dE_total/dw5"] == pytest.approx(gW[1][0, 0], rel=1e-14)
    assert v["dE_total/dw1"] == pytest.approx(gW[0][0, 0], rel=1e-14)
    for name, (l, j, i) in {"w1+": (0, 0, 0), "w2+": (0, 0, 1), "w3+": (0, 1, 0), "w4+": (0, 1, 1),
                            "w5+": (1, 0, 0), "w6+": (1, 0, 1), "w7+": (1, 1, 0), "w8+": (1, 1, 1)}.items():
        assert v[name] == pytest.approx(ref.W[l][j, i], rel=1e-14), name


def test_error_after_one_update_uses_the_original_weights():
    # The algorithm the post describes (hidden deltas from the weights before
    # the update) gives 0.291027774; the post prints 0.291027924, which is what
    # hidden deltas computed with the already-updated w5..w8 give.
    assert round(mazur_walkthrough()["E_total after 1 update"], 9) == 0.291027774
    net, x, t, lr = mazur()
    net.train(x, t, epochs=1, lr=lr)
    assert round(net.loss(x, t), 9) == 0.291027774


def _updated_weights_variant(steps):
    """The post's companion-script variant: hidden deltas from the new w5..w8."""
    net, x, t, lr = mazur()
    W1, W2 = net.weights[0].copy(), net.weights[1].copy()
    s = lambda z: 1 / (1 + np.exp(-z))
    for _ in range(steps):
        h = s(W1 @ x + 0.35)
        o = s(W2 @ h + 0.60)
        d2 = (o - t) * o * (1 - o)
        W2 = W2 - lr * np.outer(d2, h)
        d1 = (W2.T @ d2) * h * (1 - h)
        W1 = W1 - lr * np.outer(d1, x)
    h = s(W1 @ x + 0.35)
    o = s(W2 @ h + 0.60)
    return 0.5 * np.sum((t - o) ** 2), o


def test_the_posts_printed_figures_come_from_updated_hidden_weights():
    E1, _ = _updated_weights_variant(1)
    assert round(E1, 9) == 0.291027924
    _, o = _updated_weights_variant(10_000)
    assert round(o[0], 9) == 0.015912196 and round(o[1], 9) == 0.984065734


def test_the_posts_error_after_ten_thousand_is_the_loss_during_the_last_update():
    # 0.0000351085 is the algorithm the post describes, measured before the
    # 10,000th update (after 9,999): exactly History.loss[-1] of 10,000 epochs.
    net, x, t, lr = mazur()
    hist = net.train(x, t, epochs=10_000, lr=lr)
    assert round(hist.loss[-1], 10) == 0.0000351085
    assert round(net.loss(x, t), 9) == 0.000035102


def test_ten_thousand_updates_agree_with_the_reference():
    E, o1, o2 = mazur_after(10_000)
    net, x, t, lr = mazur()
    ref = reference_for(net)
    hist = ref.train(x[None], t[None], 10_000, lr)
    zs, outs = ref.forward(x)
    assert E == pytest.approx(ref.loss_of(x[None], t[None]), rel=1e-11)
    assert o1 == pytest.approx(outs[-1][0], rel=1e-12)
    assert o2 == pytest.approx(outs[-1][1], rel=1e-12)
    # The figures the README states for the algorithm the post describes.
    assert round(E, 9) == 0.000035102
    assert (round(o1, 9), round(o2, 9)) == (0.015913620, 0.984064274)
    assert hist[0] == pytest.approx(0.298371109, abs=5e-10)


def test_training_one_call_of_a_million_updates_keeps_the_biases():
    net, x, t, lr = mazur()
    hist = net.train(x, t, epochs=1000, lr=lr)
    assert len(hist.loss) == 1000
    assert np.all(np.diff(hist.loss) < 0)
    np.testing.assert_array_equal(net.biases[0], [0.35])
    np.testing.assert_array_equal(net.biases[1], [0.60])


def test_command_line_prints_the_walkthrough():
    out = subprocess.run([sys.executable, "-m", "backprop", "example", "--steps", "10000"],
                         capture_output=True, text=True, check=True).stdout
    for line in ["E_total                  = 0.298371109", "w5+                      = 0.358916480",
                 "w1+                      = 0.149780716", "dE_total/dout_h1         = 0.036350306",
                 "E_total after 1 update   = 0.291027774", "After 10000 updates",
                 "out_o1                   = 0.015913620", "out_o2                   = 0.984064274"]:
        assert line in out, line
    assert out.index("net_h1") < out.index("E_total") < out.index("w5+") < out.index("w1+")


def test_command_line_rejects_bad_steps():
    proc = subprocess.run([sys.executable, "-m", "backprop", "example", "--steps", "0"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "--steps" in proc.stderr


def test_mazur_network_is_a_fresh_copy_each_time():
    net, x, t, lr = mazur()
    net.train(x, t, epochs=3, lr=lr)
    assert bp.examples.mazur()[0].weights[0][0, 0] == 0.15
