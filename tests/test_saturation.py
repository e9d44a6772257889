"""The end-of-run saturation warning for outputs stuck at the wrong end,
with targets near but not at 0 and 1 (the rows the check looks at)."""
import warnings

import numpy as np
import pytest

import backprop as bp
from backprop._saturation import WRONG_END


def saturated_net():
    """One logistic output whose net input is about 40 for every x in [0, 1]^2:
    its output rounds to 1."""
    return bp.Network.from_weights([np.full((1, 2), 20.0)], [np.array([20.0])])


X = np.random.default_rng(0).random((16, 2))


@pytest.mark.parametrize("target", [0.0, 0.004, 1 - WRONG_END - 1e-9])
def test_a_target_the_stuck_output_is_more_than_wrong_end_away_from_warns(target):
    Y = np.full((16, 1), target)
    net = saturated_net()
    assert (np.abs(net.predict(X) - Y) > WRONG_END).all()
    with pytest.warns(bp.SaturationWarning, match="logistic outputs saturated at the wrong end"):
        net.train(X, Y, epochs=1, lr=0.0)


# 1 - WRONG_END + 1e-9 lies inside the check's margin (the outputs are computed),
# 0.03 outside it (they need not be).
@pytest.mark.parametrize("target", [1 - WRONG_END + 1e-9, 0.03])
def test_a_target_no_output_can_be_wrong_end_away_from_does_not_warn(target):
    Y = np.full((16, 1), target)
    net = saturated_net()
    assert not (np.abs(net.predict(X) - Y) > WRONG_END).any()
    with warnings.catch_warnings():
        warnings.simplefilter("error", bp.SaturationWarning)
        history = net.train(X, Y, epochs=1, lr=0.0)
    # the loss is as high as saturated outputs would make it: only the targets rule it out
    assert history.loss[-1] >= 0.5 * (0.5 * WRONG_END ** 2)
