"""The flat parameter vector's layout as the Python layer needs it, from the
compiled core's ``layout()``, the one definition of it."""
import sys
from collections.abc import Sequence

import numpy as np

from . import _core
from ._validate import as_float_array, check_finite

BIAS_POLICIES = ("neuron", "shared", "none")

# The most float64 values one buffer can address (its size in bytes must fit a Py_ssize_t).
MAX_PARAMS = sys.maxsize // 8


def bias_counts(bias, sizes):
    """The biases of each weight layer of a network of widths ``sizes`` under
    the bias policy ``bias``."""
    per_layer = {"neuron": None, "shared": 1, "none": 0}[bias]
    return [n if per_layer is None else per_layer for n in sizes[1:]]


def n_params(sizes, bias):
    """The length of the parameter vector of a network of widths ``sizes``
    with bias policy ``bias``; None when its offsets do not fit a Py_ssize_t
    (then it is beyond MAX_PARAMS too)."""
    try:
        return _core.layout(sizes, bias_counts(bias, sizes))[3]
    except OverflowError:
        return None


def check_n_params(sizes, bias):
    """ValueError when a network of widths ``sizes`` and bias policy ``bias``
    has more parameters than one float64 vector can hold."""
    count = n_params(sizes, bias)
    if count is None or count > MAX_PARAMS:
        about = f"at least {sys.maxsize:.3g}" if count is None else f"about {count:.3g}"
        raise ValueError(f"sizes {list(sizes)} make a network of {about} parameters, "
                         f"more than a float64 vector can hold on this machine "
                         f"({MAX_PARAMS:.3g} at most)")
    return count


def copy_layout(source, sizes, offsets, target, new_sizes, new_offsets):
    """Copy a flat vector of a network's layout (``offsets`` as
    ``Model.offsets``) into the layout of a network at least as wide in every
    layer: each layer's weights into the top-left block of its new matrix,
    its biases into the first slots of its new ones."""
    for l, ((n_in, n_out), (new_in, new_out)) in enumerate(
            zip(zip(sizes, sizes[1:]), zip(new_sizes, new_sizes[1:]))):
        w, b, nb = (o[l] for o in offsets)
        new_w, new_b, _ = (o[l] for o in new_offsets)
        block = target[new_w:new_w + new_out * new_in].reshape(new_out, new_in)
        block[:n_out, :n_in] = source[w:w + n_out * n_in].reshape(n_out, n_in)
        target[new_b:new_b + nb] = source[b:b + nb]


def check_weights(weights, dtype):
    """The weight matrices of ``from_weights`` as arrays of dtype (the
    network's), checked: 2-D, finite, consecutive layers' widths matching."""
    if not isinstance(weights, (list, tuple)) or len(weights) == 0:
        raise TypeError("weights must be a non-empty list with one matrix per layer, "
                        f"got {type(weights).__name__}")
    mats = []
    for l, W in enumerate(weights):
        W = as_float_array(W, f"weights[{l}]", dtype)
        if W.ndim != 2 or 0 in W.shape:
            raise ValueError(f"weights[{l}] must be a non-empty 2-D (n_out, n_in) matrix, got shape {W.shape}")
        check_finite(W, f"weights[{l}]", weights[l])
        mats.append(W)
    for l in range(1, len(mats)):
        if mats[l].shape[1] != mats[l - 1].shape[0]:
            raise ValueError(f"weights[{l}] has {mats[l].shape[1]} inputs (columns) but "
                             f"weights[{l - 1}] has {mats[l - 1].shape[0]} outputs (rows); "
                             "they must match")
    return mats


def check_biases(biases, bias, sizes, dtype):
    """The bias vectors of ``from_weights`` as arrays of dtype, checked
    against the layout."""
    counts = bias_counts(bias, sizes)
    if biases is None:
        return [np.zeros(c) for c in counts]
    if bias == "none":
        raise ValueError('biases were given but bias="none"; pass bias="neuron" or "shared"')
    if not isinstance(biases, (list, tuple)) or len(biases) != len(counts):
        raise ValueError(f"biases must be a list with one entry per layer ({len(counts)}), "
                         f"got {biases!r:.80}")
    vecs = []
    for l, (b, c) in enumerate(zip(biases, counts)):
        source = b
        b = as_float_array(b, f"biases[{l}]", dtype)
        if b.ndim > 1 or b.size != c:
            what = "one value (a scalar)" if bias == "shared" else f"{c} values"
            raise ValueError(f'biases[{l}] must hold {what} for bias="{bias}", got shape {b.shape}')
        b = b.reshape(-1)
        check_finite(b, f"biases[{l}]", np.reshape(source, -1))
        vecs.append(b)
    return vecs


class LayerViews(Sequence):
    """``net.weights`` / ``net.biases``: one view per layer into the flat
    parameters.  Assigning an item copies the value into that layer's view
    (the same shape, or for a 1-D view any array of its size; finite), so
    ``net.weights[0] = W`` changes the network, as it reads."""

    def __init__(self, views, name, model):
        self._views, self._name, self._model = views, name, model

    def __len__(self):
        return len(self._views)

    def __getitem__(self, index):
        return self._views[index]

    def __setitem__(self, index, value):
        if isinstance(index, slice):
            raise TypeError(f"assign {self._name} one layer at a time: net.{self._name}[l] = value")
        view = self._views[index]
        name = f"{self._name}[{index}]"
        arr = as_float_array(value, name, view.dtype)
        if arr.shape != view.shape and not (view.ndim == 1 and arr.size == view.size):
            raise ValueError(f"{name} has shape {view.shape}, got an array of shape {arr.shape}")
        check_finite(arr, name, value)
        token = self._model.lock()
        try:
            view[...] = arr.reshape(view.shape)
        finally:
            self._model.unlock(token)

    def __repr__(self):
        return repr(list(self._views))


def out_of_memory(sizes, bias, itemsize=8):
    """The MemoryError of a network of widths ``sizes`` whose values of
    ``itemsize`` bytes could not be allocated."""
    count = n_params(sizes, bias)
    return MemoryError(
        f"sizes {list(sizes)} make a network of {count:,} parameters: it needs "
        f"{_gib(itemsize * count)} for its parameters and as much again for its gradient "
        f"workspace ({itemsize} bytes a value; training keeps a copy of the parameters and "
        "optimiser state too), more than this machine could allocate")


def _gib(n_bytes):
    return f"{n_bytes / 2**30:,.1f} GiB"
