"""Growing a network: ``Network.add_inputs`` and ``Network.add_outputs``.

Every existing parameter and optimiser value keeps its bits; the flat
layout is rebuilt for the new widths."""
import numpy as np

from ._layout import check_n_params, copy_layout
from .init import default_init, draw_weights


def output_labels(net, k, classes):
    """The network's classes after adding k outputs labelled ``classes``
    (None for a network without classes), checked."""
    if net._classes is None:
        if classes is not None:
            raise ValueError("add_outputs: classes names the new outputs of a network with "
                             "classes, but this network has none (set net.classes first)")
        return None
    if net._sizes[-1] == 1:
        raise ValueError(
            f"add_outputs: the network's classes {net._classes.tolist()!r:.80} name the "
            "two ends of its single output; with more outputs each would name one output. "
            "Use a softmax output layer (two outputs or more) for a classifier that grows")
    if classes is None:
        raise ValueError(f"add_outputs: the network has classes, so give the labels of the "
                         f"{k} new outputs: add_outputs({k}, classes=[...])")
    added = np.asarray(classes)
    if added.shape != (k,) or added.dtype.kind not in "biufU":
        raise ValueError(f"add_outputs: classes must be {k} labels (strings or numbers), "
                         f"one per new output, got {classes!r:.80}")
    if "U" in (added.dtype.kind, net._classes.dtype.kind) and \
            added.dtype.kind != net._classes.dtype.kind:
        raise ValueError(f"add_outputs: classes must be labels of the kind the network's are "
                         f"({net._classes.dtype}), got {added.dtype}")
    labels = np.concatenate([net._classes, added])
    if np.unique(labels).size != labels.size:
        raise ValueError(f"add_outputs: classes must be new, distinct labels, got "
                         f"{added.tolist()!r:.200} beside the network's "
                         f"{net._classes.tolist()!r:.200}")
    return labels


def grow(net, layer, k, classes):
    """Widen layer ``layer`` (0: the inputs, L: the outputs) by k units."""
    sizes = list(net._sizes)
    sizes[layer] += k
    check_n_params(sizes, net._bias)
    token = net._model.lock()
    try:
        model = net._build_model(sizes)
        net._optimizer._configure(model)
        model.default_lr = net._model.default_lr
        old = net._model.snapshot()
        new = [np.zeros(model.n_params, net._dtype)] + [
            None if v is None else np.zeros(model.n_params, net._dtype) for v in old[1:3]]
        for source, target in zip(old[:3], new):
            if source is not None:
                copy_layout(source, net._sizes, net._model.offsets,
                            target, sizes, model.offsets)
        if layer == len(sizes) - 1:
            n_in, n_out = sizes[-2], sizes[-1]
            w_off = model.offsets[0][-1] + (n_out - k) * n_in
            # drawn in float64, as Network draws its initial weights
            new[0][w_off:w_off + k * n_in] = draw_weights(
                default_init(net._activations[-1][0]), k, n_in, net._rng,
                layer_out=n_out).reshape(-1)
        model.set_state(*new, old[3])
        model.samples = net._model.samples
    except BaseException:
        net._model.unlock(token)
        raise
    # The old model stays held: a reference to it kept from before (a
    # stale net.weights, an embedder's loop) cannot train it by mistake.
    net._model = model
    net._sizes = tuple(sizes)
    net._make_views()
    if classes is not None:
        net._classes = classes
