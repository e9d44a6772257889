"""The end-of-run check for training stalled on saturated units."""
import warnings

import numpy as np

from ._targets import OUTPUT_RANGES


class SaturationWarning(UserWarning):
    """After training, the network's logistic or softmax outputs are saturated
    at the wrong end for many samples: their gradients vanish and training has
    stalled (usually inputs far from unit scale, or too large a learning rate)."""


# An output unit is "saturated at the wrong end" when it is this far from its
# target (for 0/1 targets: o < 0.01 where t = 1, or o > 0.99 where t = 0).
WRONG_END = 0.99
# The end-of-run saturation check looks at this many training samples, and only
# when the last epoch's mean loss is at least what this fraction of samples
# saturated at the wrong end would give.
SATURATION_SAMPLES = 64
SATURATION_FRACTION = 0.5
# A logistic/tanh hidden layer counts as saturated when at least this fraction
# of its units, on the first HIDDEN_SAMPLES training samples, lie within
# 1 - WRONG_END (of the range) of an end; looked at only when the call's loss
# fell by less than STALLED (relative) from its first epoch to its last.
HIDDEN_SAMPLES = 8
HIDDEN_SATURATED = 0.9
STALLED = 0.1


def warn_if_saturated(net, X, Y, history, lrs):
    """SaturationWarning when training has stalled on saturated units:
    logistic/softmax outputs saturated at the wrong end for most of (a
    sample of) the training data, looked at when the last epoch's loss is
    as high as that makes it; or logistic/tanh hidden layers saturated
    nearly everywhere, looked at when the loss did not fall over the call."""
    if not len(history):
        return
    found = []
    out = net._activations[-1][0]
    targets = Y[:SATURATION_SAMPLES]
    if (out in ("logistic", "softmax")
            and history.loss[-1] >= SATURATION_FRACTION * wrong_end_loss(net._loss)
            and _near_an_end(targets) >= SATURATION_FRACTION * len(targets)):
        rows = np.ascontiguousarray(X[:SATURATION_SAMPLES])
        outputs = np.empty((rows.shape[0], Y.shape[1]), dtype=net._dtype)
        net._model.predict(rows, outputs)
        wrong = (np.abs(outputs - targets) > WRONG_END).any(axis=1)
        fraction = np.count_nonzero(wrong) / wrong.size
        if fraction >= SATURATION_FRACTION:
            found.append(f"{fraction:.0%} of the first {len(rows)} training samples meet {out} "
                         f"outputs saturated at the wrong end (within {1 - WRONG_END:g} of 0 or 1 "
                         "where the target is at the other end)")
    hidden = [l for l, (name, _) in enumerate(net._activations[:-1]) if name in OUTPUT_RANGES]
    if hidden and len(history) > 1 and not history.loss[-1] < (1 - STALLED) * history.loss[0]:
        traces = [net.trace(x, t) for x, t in zip(X[:HIDDEN_SAMPLES], Y[:HIDDEN_SAMPLES])]
        for l in hidden:
            lo, hi = OUTPUT_RANGES[net._activations[l][0]]
            a = np.array([tr.layers[l].out for tr in traces])
            saturated = np.minimum(a - lo, hi - a) < (1 - WRONG_END) * (hi - lo)
            if saturated.mean() >= HIDDEN_SATURATED:
                found.append(f"{saturated.mean():.0%} of the {net._activations[l][0]} units of "
                             f"hidden layer {l + 1} are saturated on the first {len(traces)} "
                             "training samples")
    if found:
        warnings.warn(SaturationWarning(
            f"after training, {'; '.join(found)}: their gradients vanish, so training has "
            f"stalled (last epoch's loss {history.loss[-1]:.4g}, lr {lrs[-1]:g}). Scale the "
            "inputs to about unit size (subtract each column's mean, divide by its standard "
            "deviation) and try a smaller learning rate."), stacklevel=4)

def wrong_end_loss(loss):
    """The loss (a network's ``_loss`` pair) of one output unit saturated at
    the wrong end (|o - t| = WRONG_END)."""
    name, delta = loss
    if name == "cross_entropy":
        return -np.log1p(-WRONG_END)
    if name == "huber" and WRONG_END > delta:
        return delta * (WRONG_END - 0.5 * delta)
    return 0.5 * WRONG_END ** 2


def _near_an_end(targets):
    """How many rows of ``targets`` have a target that an output in [0, 1]
    can be WRONG_END away from: only one within 1 - WRONG_END of 0 or of 1
    can be (the bound here is twice that, so rounding in |o - t| cannot
    hide one).  Rows without such a target are never saturated at the wrong
    end, so the outputs need not be computed when too few rows have one."""
    margin = 2 * (1 - WRONG_END)
    return np.count_nonzero(((targets < margin) | (targets > 1 - margin)).any(axis=1))
