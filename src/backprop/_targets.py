"""Targets and sample pairs checked for a network: shapes, the loss's domain
and the range of the output activation."""
import numpy as np

from ._validate import as_float_array, as_pair, check_finite

# The range of each output activation's values: targets outside it cannot be fitted.
OUTPUT_RANGES = {"logistic": (0.0, 1.0), "softmax": (0.0, 1.0), "tanh": (-1.0, 1.0)}


def pair(net, X, Y, names=("X", "Y"), fitting=False):
    """(X, Y) validated for the network ``net``.  A 1-D Y with one value per sample
    of a 2-D X is a column for a one-output network; for more outputs, a Y
    of integer class labels is refused with the way to one-hot it."""
    n_out = net._sizes[-1]
    Yarr = Y if isinstance(Y, np.ndarray) else None
    if Yarr is None and not isinstance(Y, (str, bytes)):
        try:
            Yarr = np.asarray(Y)
        except Exception:       # as_pair below names the argument
            Yarr = None
    try:
        x_ndim = np.ndim(X)
    except ValueError:          # ragged nested lists: as_pair below names X
        x_ndim = None
    if Yarr is not None and Yarr.dtype.kind in "biuf" and x_ndim == 2:
        n = len(X)
        column = Yarr.ndim == 1 and Yarr.shape[0] == n and n > 1
        if column and n_out == 1:
            Y = Yarr.reshape(n, 1)
        elif n_out > 1 and Yarr.size == n and (column or Yarr.shape == (n, 1)):
            values = Yarr[np.isfinite(Yarr)] if Yarr.dtype.kind == "f" else Yarr
            if values.size and (values == np.round(values)).all() and values.min() >= 0:
                raise ValueError(
                    f"{names[1]} holds one class label per sample (integers from "
                    f"{int(values.min())} to {int(values.max())}), but the network has "
                    f"{n_out} outputs and takes one target per output: one-hot the labels "
                    f"with `{names[1]}, classes = backprop.one_hot(labels)` (or "
                    f"np.eye({n_out})[labels] for labels 0 to {n_out - 1})")
    X, Y = as_pair(X, Y, net._sizes[0], n_out, names=names, dtype=net._dtype)
    check_targets(net, Y, names[1], fitting)
    return X, Y


def check_targets(net, Y, name, fitting=True):
    """Targets the loss is defined for and, when fitting, in the range of
    the output activation (a logistic unit cannot reach 2)."""
    if net._loss[0] == "cross_entropy" and ((Y < 0) | (Y > 1)).any():
        bad = np.argwhere((Y < 0) | (Y > 1))[0]
        raise ValueError(f"cross_entropy targets must lie in [0, 1], but {name}"
                         f"[{', '.join(str(int(i)) for i in bad)}] = {Y[tuple(bad)]}")
    out = net._activations[-1][0]
    if not fitting or out not in OUTPUT_RANGES:
        return
    lo, hi = OUTPUT_RANGES[out]
    if Y.min() >= lo and Y.max() <= hi:
        return
    bad = np.argwhere((Y < lo) | (Y > hi))[0]
    hint = ""
    if Y.shape[1] == 1 and (Y == np.round(Y)).all() and Y.min() >= 0:
        hint = (f" {name} looks like class labels: for K classes use K softmax outputs "
                f"(sizes=[..., K], activation=[..., 'softmax'], loss='cross_entropy') and "
                f"one-hot targets from backprop.one_hot(labels).")
    raise ValueError(
        f"{name}[{', '.join(str(int(i)) for i in bad)}] = {Y[tuple(bad)]} lies outside the "
        f"range [{lo:g}, {hi:g}] of the network's {out} outputs, which cannot fit it.{hint} "
        f"For targets of any range use an identity output layer, or scale the targets "
        f"into the range.")


def class_indices(net, values):
    """The class index of each row of ``values`` (outputs or one-hot targets
    of ``net``): the largest entry for two or more outputs; for one output, 1
    where it is above the middle of the output's range (0 for tanh, else 0.5)."""
    if net._sizes[-1] > 1:
        return values.argmax(axis=-1)
    middle = 0.0 if net._activations[-1][0] == "tanh" else 0.5
    return (values[..., 0] > middle).astype(np.intp)


def true_classes(net, X, Y, n):
    """The class indices ``Network.accuracy`` compares with the n predicted
    ones: Y as targets (as for ``train``), or a 1-D array of n class indices."""
    n_out = net._sizes[-1]
    if np.ndim(Y) == 1 and len(Y) == n:
        labels = as_float_array(Y, "Y")
        check_finite(labels, "Y")
        if not ((labels == np.round(labels)).all() and labels.min() >= 0
                and labels.max() <= max(n_out - 1, 1)):
            raise ValueError(f"a 1-D Y holds class indices from 0 to {max(n_out - 1, 1)}, "
                             f"got values from {labels.min():g} to {labels.max():g}")
        return labels.astype(np.intp)
    return class_indices(net, pair(net, X, Y)[1])


def check_classes(net, labels):
    """``labels`` as the ``classes`` of ``net`` (a copy), checked: one distinct
    string or number per output (two for one logistic output)."""
    labels = np.asarray(labels)
    count = max(net._sizes[-1], 2)
    if labels.shape != (count,) or labels.dtype.kind not in "biufU":
        raise ValueError(f"classes must be {count} labels (strings or numbers), one per output"
                         f"{' (two for one logistic output)' if count != net._sizes[-1] else ''}, "
                         f"got {labels.dtype} of shape {labels.shape}")
    if np.unique(labels).size != count:
        raise ValueError(f"classes must not repeat a label, got {labels.tolist()!r:.200}")
    return labels.copy()
