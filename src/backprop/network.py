"""The Network: configuration, validation and bookkeeping around the compiled core."""
import contextlib
import copy as _copy
import signal
import sys
import threading
import time
import warnings
from collections.abc import Sequence

import numpy as np

from . import _core
from ._validate import (as_bool, as_float_array, as_int, as_pair, as_real, as_samples,
                        check_finite, choice)
from .functions import Huber, LeakyReLU, check_pairing, layer_activations, loss_spec
from .data import split_validation
from .init import check_init, default_init, draw_weights
from ._progress import Progress
from .optim import SGD, check_optimizer, learning_rates
from .results import History, Trace, TraceLayer

DivergenceError = _core.DivergenceError


class SaturationWarning(UserWarning):
    """After training, the network's logistic or softmax outputs are saturated
    at the wrong end for many samples: their gradients vanish and training has
    stalled (usually inputs far from unit scale, or too large a learning rate)."""


# The range of each output activation's values: targets outside it cannot be fitted.
OUTPUT_RANGES = {"logistic": (0.0, 1.0), "softmax": (0.0, 1.0), "tanh": (-1.0, 1.0)}
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

BIAS_POLICIES = ("neuron", "shared", "none")

# The most float64 values one buffer can address (its size in bytes must fit a Py_ssize_t).
MAX_PARAMS = sys.maxsize // 8

# A compiled call does about this much work before Python looks in again (for
# history, callbacks and Ctrl-C): ~0.1 s.  A sample's work is counted as its
# network's parameters and units plus STEP_COST for the per-sample overhead.
CHUNK_WORK = 300_000_000
STEP_COST = 32
# At most this many sample indices (one permutation per epoch) per compiled call.
ORDER_WINDOW = 1 << 20
# The most threads one train call may share its mini-batches among.
MAX_THREADS = 256
# When an epoch spans several compiled calls, train keeps the state at the
# epoch's start beside the state at the call's start (so that a divergence
# restores to the end of the last finite epoch) if it is at most this large.
EPOCH_SNAPSHOT_BYTES = 1 << 28


class Network:
    """A multilayer perceptron trained by backpropagation.

    Network(sizes, activation="logistic", loss="squared", bias="neuron",
            train_bias=True, init=None, seed=None)

    sizes:      layer widths, inputs first, e.g. ``[2, 2, 2]`` or ``[64, 128, 64, 10]``
    activation: one activation for every weight layer, or a list with one per
                weight layer (``len(sizes) - 1``): names ``"logistic"``, ``"tanh"``,
                ``"relu"``, ``"leaky_relu"``, ``"identity"``, ``"softmax"`` (output
                layer only) or a ``LeakyReLU(slope)``
    loss:       ``"squared"`` (E = ½ Σ_k (t_k − o_k)² per sample), ``"cross_entropy"``
                or ``"huber"`` / ``Huber(delta)``
    bias:       ``"neuron"`` (one bias per unit), ``"shared"`` (one per layer, as in
                the worked example) or ``"none"``
    train_bias: whether the optimiser updates the biases
    init:       weight initialisation scheme (see ``backprop.init``); by default
                Glorot uniform for logistic/tanh/identity/softmax layers and He
                uniform for (leaky) ReLU layers.  Biases start at zero.
    seed:       seed of the network's generator (initial weights and shuffling);
                None draws a fresh one, recorded in ``net.seed``.

    All parameters live in one flat float64 vector, ``net.params``; ``net.weights``
    and ``net.biases`` are views into it, layer by layer: ``weights[l][j, i]`` is
    the weight from unit i of layer l to unit j of layer l + 1.
    """

    def __init__(self, sizes, *, activation="logistic", loss="squared", bias="neuron",
                 train_bias=True, init=None, seed=None):
        init = check_init(init)
        self._setup(sizes, activation, loss, bias, train_bias, seed)
        for l, W in enumerate(self._weights):
            scheme = init if init is not None else default_init(self._activations[l][0])
            # drawn straight into the parameter vector: no temporary matrix
            draw_weights(scheme, W.shape[0], W.shape[1], self._rng, out=W)

    @classmethod
    def from_weights(cls, weights, biases=None, *, activation="logistic", loss="squared",
                     bias="neuron", train_bias=True, seed=None):
        """A network with the given parameters (copied).

        weights: one (n_out, n_in) matrix per layer, ``W[j, i]`` from unit i below
                 to unit j
        biases:  one per layer: a length-n_out vector for ``bias="neuron"``, a
                 scalar (or length-1 vector) for ``bias="shared"``; None for
                 ``bias="none"`` (or zeros otherwise)
        """
        if not isinstance(weights, (list, tuple)) or len(weights) == 0:
            raise TypeError("weights must be a non-empty list with one matrix per layer, "
                            f"got {type(weights).__name__}")
        mats = []
        for l, W in enumerate(weights):
            W = as_float_array(W, f"weights[{l}]")
            if W.ndim != 2 or 0 in W.shape:
                raise ValueError(f"weights[{l}] must be a non-empty 2-D (n_out, n_in) matrix, got shape {W.shape}")
            check_finite(W, f"weights[{l}]")
            mats.append(W)
        for l in range(1, len(mats)):
            if mats[l].shape[1] != mats[l - 1].shape[0]:
                raise ValueError(f"weights[{l}] has {mats[l].shape[1]} inputs (columns) but "
                                 f"weights[{l - 1}] has {mats[l - 1].shape[0]} outputs (rows); "
                                 "they must match")
        sizes = [mats[0].shape[1]] + [W.shape[0] for W in mats]
        bias = choice(bias, "bias", BIAS_POLICIES)
        vecs = cls._check_biases(biases, bias, sizes)
        net = cls.__new__(cls)
        net._setup(sizes, activation, loss, bias, train_bias, seed)
        for W, target in zip(mats, net._weights):
            target[...] = W
        for b, target in zip(vecs, net._biases):
            target[...] = b
        return net

    @staticmethod
    def _check_biases(biases, bias, sizes):
        counts = [_bias_count(bias, n) for n in sizes[1:]]
        if biases is None:
            return [np.zeros(c) for c in counts]
        if bias == "none":
            raise ValueError('biases were given but bias="none"; pass bias="neuron" or "shared"')
        if not isinstance(biases, (list, tuple)) or len(biases) != len(counts):
            raise ValueError(f"biases must be a list with one entry per layer ({len(counts)}), "
                             f"got {biases!r:.80}")
        vecs = []
        for l, (b, c) in enumerate(zip(biases, counts)):
            b = as_float_array(b, f"biases[{l}]")
            if b.ndim > 1 or b.size != c:
                what = "one value (a scalar)" if bias == "shared" else f"{c} values"
                raise ValueError(f'biases[{l}] must hold {what} for bias="{bias}", got shape {b.shape}')
            b = b.reshape(-1)
            check_finite(b, f"biases[{l}]")
            vecs.append(b)
        return vecs

    def _setup(self, sizes, activation, loss, bias, train_bias, seed):
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
            raise TypeError(f"sizes must be a list of layer widths like [2, 2, 2], got {sizes!r}")
        sizes = tuple(as_int(n, f"sizes[{i}]") for i, n in enumerate(sizes))
        if len(sizes) < 2:
            raise ValueError(f"sizes needs at least two layer widths (inputs and outputs), got {list(sizes)}")
        for i, n in enumerate(sizes):
            if n < 1:
                raise ValueError(f"every layer needs at least one unit, but sizes[{i}] = {n}")
        _check_n_params(sizes)
        n_layers = len(sizes) - 1
        activations = layer_activations(activation, n_layers)
        loss_name, loss_param = loss_spec(loss)
        check_pairing(activations[-1][0], loss_name, sizes[-1])
        bias = choice(bias, "bias", BIAS_POLICIES)
        train_bias = as_bool(train_bias, "train_bias")
        if seed is None:
            seed = int(np.random.SeedSequence().entropy)
        seed = as_int(seed, "seed", 0)

        self._sizes = sizes
        self._activations = tuple(activations)
        self._loss = (loss_name, loss_param)
        self._bias = bias
        self._train_bias = train_bias
        self._seed = seed
        self._rng = np.random.default_rng(seed)
        self._model = self._build_model(sizes)
        self._set_optimizer(SGD())
        self._epochs = 0
        self._classes = None
        self._make_views()

    def _build_model(self, sizes):
        """A compiled model of widths ``sizes`` with this network's activations,
        loss and bias policy (zero parameters, plain SGD)."""
        try:
            return _core.Model(
                sizes, [_bias_count(self._bias, n) for n in sizes[1:]],
                [_core.ACTIVATIONS[a] for a, _ in self._activations],
                [p for _, p in self._activations],
                _core.LOSSES[self._loss[0]], self._loss[1], self._train_bias)
        except MemoryError:
            n_params = _n_params(sizes)
            raise MemoryError(
                f"sizes {list(sizes)} make a network of {n_params:,} parameters: it needs "
                f"{_gib(8 * n_params)} for its parameters and as much again for its gradient "
                "workspace (8 bytes a value; training keeps a copy of the parameters and "
                "optimiser state too), more than this machine could allocate") from None

    def _make_views(self):
        params = self._model.params
        w_off, b_off, n_bias = self._model.offsets
        self._weights = []
        self._biases = []
        for l in range(len(self._sizes) - 1):
            n_in, n_out = self._sizes[l], self._sizes[l + 1]
            self._weights.append(params[w_off[l]:w_off[l] + n_out * n_in].reshape(n_out, n_in))
            self._biases.append(params[b_off[l]:b_off[l] + n_bias[l]])

    # ------------------------------------------------------------ properties
    @property
    def sizes(self):
        """Layer widths, inputs first."""
        return self._sizes

    @property
    def weights(self):
        """One (n_out, n_in) view per layer into ``params``.  ``net.weights[l] = W``
        copies W into layer l (same shape, finite); so does ``net.weights[l][...] = W``."""
        return _LayerViews(self._weights, "weights", self._model)

    @property
    def biases(self):
        """One view per layer into ``params``: n_out values for bias="neuron",
        one for "shared", none (empty) for "none".  ``net.biases[l] = b`` copies b in."""
        return _LayerViews(self._biases, "biases", self._model)

    @property
    def params(self):
        """The flat parameter vector (a view): per layer W (row-major) then its biases."""
        return self._model.params

    @property
    def activations(self):
        return tuple(name for name, _ in self._activations)

    @property
    def loss_function(self):
        return self._loss[0]

    @property
    def bias(self):
        return self._bias

    @property
    def train_bias(self):
        return self._train_bias

    @property
    def seed(self):
        """The seed the network's generator was last seeded with."""
        return self._seed

    @property
    def optimizer(self):
        """The optimiser used by ``train`` (when none is given), ``learn_one`` and ``trace``.
        Set it (an ``SGD``/``Adam`` or a name, as ``train``'s ``optimizer``) to change
        it for the next steps; its state continues unless the kind of optimiser
        changes.  Refused (RuntimeError) while the network trains."""
        return self._optimizer

    @optimizer.setter
    def optimizer(self, optimizer):
        optimizer = check_optimizer(optimizer)
        token = self._model.lock()
        try:
            self._set_optimizer(optimizer)
        finally:
            self._model.unlock(token)

    @property
    def epochs_trained(self):
        """Epochs completed by ``train`` over the network's life (the schedule's epoch index)."""
        return self._epochs

    @property
    def samples_seen(self):
        """Samples trained on over the network's life (``train`` and ``learn_one``)."""
        return self._model.samples

    @property
    def n_params(self):
        return self._model.n_params

    @property
    def classes(self):
        """The class label of each output (two labels for one logistic output:
        the label of 0, then of 1), or None.  Set it to name the outputs of a
        classifier; ``classes[net.predict_classes(X)]`` then gives labels, and
        it is saved with the network.  Labels are strings, integers, floats or
        booleans."""
        return self._classes

    @classes.setter
    def classes(self, labels):
        if labels is None:
            self._classes = None
            return
        labels = np.asarray(labels)
        count = max(self._sizes[-1], 2)
        if labels.shape != (count,) or labels.dtype.kind not in "biufU":
            raise ValueError(f"classes must be {count} labels (strings or numbers), one per output"
                             f"{' (two for one logistic output)' if count != self._sizes[-1] else ''}, "
                             f"got {labels.dtype} of shape {labels.shape}")
        if np.unique(labels).size != count:
            raise ValueError(f"classes must not repeat a label, got {labels.tolist()!r:.200}")
        self._classes = labels.copy()

    def __repr__(self):
        acts = self.activations
        act = acts[0] if len(set(acts)) == 1 else list(acts)
        return (f"Network({list(self._sizes)}, activation={act!r}, loss={self._loss[0]!r}, "
                f"bias={self._bias!r}, train_bias={self._train_bias})")

    # ------------------------------------------------------------ evaluation
    def predict(self, X):
        """The network's outputs: (n, n_out) for an (n, n_in) X; (n_out,) for a 1-D x."""
        X, single = as_samples(X, "X", self._sizes[0], "inputs")
        out = np.empty((X.shape[0], self._sizes[-1]))
        self._model.predict(X, out)
        return out[0] if single else out

    def loss(self, X, Y):
        """The mean over samples of the per-sample loss (for ``"squared"``,
        E = ½ Σ_k (t_k − o_k)²)."""
        X, Y = self._pair(X, Y)
        losses = np.empty(X.shape[0])
        self._model.sample_losses(X, Y, losses)
        return float(np.mean(losses))

    def predict_classes(self, X):
        """The predicted class of each sample, as an index into the outputs:
        the largest output for two or more outputs; for one output, 1 where it
        is above the middle of its range (0.5 for logistic, identity and the
        others, 0 for tanh), else 0.  An (n,) integer array (a scalar for a 1-D x).

        With labels from ``backprop.one_hot(labels)``, ``classes[net.predict_classes(X)]``
        gives the predicted labels."""
        out = self.predict(X)
        if self._sizes[-1] > 1:
            return out.argmax(axis=-1)
        middle = 0.0 if self._activations[-1][0] == "tanh" else 0.5
        return (out[..., 0] > middle).astype(np.intp)

    def accuracy(self, X, Y):
        """The fraction of samples whose predicted class (``predict_classes``) is
        right.  Y is the targets as for ``train`` (one-hot rows, or 0/1 for one
        output), or a 1-D array of class indices (0 to n_out - 1; 0/1 for one output)."""
        predicted = np.atleast_1d(self.predict_classes(X))
        n_out = self._sizes[-1]
        if np.ndim(Y) == 1 and len(Y) == len(predicted):
            labels = as_float_array(Y, "Y")
            check_finite(labels, "Y")
            if not ((labels == np.round(labels)).all() and labels.min() >= 0
                    and labels.max() <= max(n_out - 1, 1)):
                raise ValueError(f"a 1-D Y holds class indices from 0 to {max(n_out - 1, 1)}, "
                                 f"got values from {labels.min():g} to {labels.max():g}")
            truth = labels.astype(np.intp)
        else:
            _, Y = self._pair(X, Y)
            if n_out > 1:
                truth = Y.argmax(axis=1)
            else:
                middle = 0.0 if self._activations[-1][0] == "tanh" else 0.5
                truth = (Y[:, 0] > middle).astype(np.intp)
        return float(np.mean(predicted == truth))

    def _pair(self, X, Y, names=("X", "Y"), fitting=False):
        """(X, Y) validated for this network.  A 1-D Y with one value per sample
        of a 2-D X is a column for a one-output network; for more outputs, a Y
        of integer class labels is refused with the way to one-hot it."""
        n_out = self._sizes[-1]
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
        X, Y = as_pair(X, Y, self._sizes[0], n_out, names=names)
        self._check_targets(Y, names[1], fitting)
        return X, Y

    def _check_targets(self, Y, name, fitting=True):
        """Targets the loss is defined for and, when fitting, in the range of
        the output activation (a logistic unit cannot reach 2)."""
        if self._loss[0] == "cross_entropy" and ((Y < 0) | (Y > 1)).any():
            bad = np.argwhere((Y < 0) | (Y > 1))[0]
            raise ValueError(f"cross_entropy targets must lie in [0, 1], but {name}"
                             f"[{', '.join(str(int(i)) for i in bad)}] = {Y[tuple(bad)]}")
        out = self._activations[-1][0]
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

    def _lr(self, lr, optimizer):
        if lr is None:
            return optimizer.default_lr
        if callable(lr):
            return lr
        return as_real(lr, "lr", 0.0)

    def _lr_now(self, lr):
        """A single learning rate for one step (a schedule at the current epoch)."""
        lr = self._lr(lr, self._optimizer)
        return float(learning_rates(lr, self._epochs, 1)[0])

    # -------------------------------------------------------------- training
    def train(self, X, Y, epochs=1, lr=None, *, batch_size=1, optimizer=None, shuffle=False,
              seed=None, validation=None, validation_split=None, target_loss=None, callbacks=(),
              record_every=None, progress=False, threads=1, sample_weight=None):
        """Train by backpropagation; returns a ``History``.

        epochs:       passes over the data
        lr:           learning rate: a number, a schedule from ``backprop.optim`` or a
                      callable of the epoch index; by default the optimiser's
                      (SGD 0.1, Adam 0.001)
        batch_size:   1 is online learning (an update after every sample); k > 1
                      averages the gradient over k consecutive samples of the epoch's
                      order before each update (the last batch of an epoch holds the
                      n mod k remaining samples and is averaged over its own size);
                      None is full batch
        optimizer:    ``SGD(...)`` or ``Adam(...)``, or a name with the defaults:
                      "sgd", "momentum" (SGD(momentum=0.9)), "nesterov", "adam";
                      becomes the network's optimiser.  Its state continues from
                      earlier calls unless the kind of optimiser changes (then it
                      starts afresh)
        shuffle:      visit the samples in a new random order every epoch
        seed:         re-seed the network's generator first (else it continues)
        validation:   ``(X_val, Y_val)``: the mean loss on them after every epoch
                      goes to ``History.val_loss``
        validation_split: a fraction f in (0, 1): hold out round(n f) random
                      samples of X, Y as the validation data instead (drawn with
                      the network's seed, ``net.seed``, so every call on the same
                      data holds out the same samples; as the CLI's
                      ``--validation-split``)
        target_loss:  stop after the first epoch whose mean loss is at most this
                      (FANN's "desired error"), checked inside the compiled loop
        callbacks:    callables ``f(epoch, history, network)`` run after every epoch;
                      a true result stops training (see ``backprop.callbacks``)
        record_every: N: also record the mean loss of every N consecutive samples
                      (``History.record``), filled inside the compiled loop
        progress:     True shows a progress bar with the running loss (needs tqdm),
                      "auto" only on a terminal
        threads:      T > 1 shares each mini-batch's work among T threads (this
                      one included): each owns a block of every layer's units.
                      Needs batch_size > 1; gives the same bits as one thread
                      (with BLAS, see the guide's Threads section).  While it runs, BLAS is held
                      to one thread of its own when threadpoolctl is installed.
        sample_weight: one weight ≥ 0 per sample, for mini-batches (batch_size
                      > 1).  A batch's step follows ∇[mean_i w_i E_i + ½ λ ‖W‖²] / w̄
                      (w̄ its mean weight: only the weights' ratios within a
                      batch matter, unit weights change nothing), and each
                      sample's loss counts as w_i E_i / w̄ in ``History.loss``;
                      every batch needs a positive total weight (with shuffle,
                      every weight must be positive)

        Ctrl-C stops training at the next chunk boundary (within about 0.1 s)
        and returns the History so far with ``stop_reason == "interrupted"``
        (``History.interrupted``); the network then holds the updates of exactly
        the samples counted there (a last, partial epoch included).  It does not
        raise: a loop of train calls should test ``history.interrupted`` and stop.
        Warns with ``SaturationWarning`` when, after training, the logistic or
        softmax outputs are saturated at the wrong end for most samples. Raises ``DivergenceError`` if the loss
        or the parameters become non-finite: the network is then restored to
        the end of the last finite epoch, exactly as a call of just the epochs
        before the failing one would leave it (see
        docs/guide/saving-and-errors.md for the one exception, networks of
        more than EPOCH_SNAPSHOT_BYTES of state).  Any other exception that
        escapes (a signal handler's, a callback's) leaves parameters,
        optimiser state, generator and counters describing the same samples.
        Refused with RuntimeError while another thread trains the network.
        """
        X, Y = self._pair(X, Y, fitting=True)
        if validation_split is not None:
            if validation is not None:
                raise ValueError("give validation=(X_val, Y_val) or validation_split, not both")
            if sample_weight is not None:
                raise ValueError("sample_weight is not split by validation_split; hold out the "
                                 "validation samples yourself and pass validation=(X_val, Y_val)")
            fraction = as_real(validation_split, "validation_split", 0.0, 1.0, True, True)
            X, Y, *validation = split_validation(X, Y, fraction, self._seed)
        n = X.shape[0]
        epochs = as_int(epochs, "epochs", 0)
        if batch_size is None:
            k = n
        else:
            k = as_int(batch_size, "batch_size", 1)
            if k > n:
                raise ValueError(f"batch_size must be at most the number of samples ({n}), got {k}; "
                                 "use batch_size=None for full batch")
        if self._model.samples + epochs * n > _core.MAX_COUNT:
            raise ValueError(f"epochs={epochs} of {n} samples would take the network's sample count "
                             f"past {_core.MAX_COUNT} (it is at {self._model.samples})")
        if self._epochs + epochs > _core.MAX_COUNT:
            raise ValueError(f"epochs={epochs} would take the network's epoch count past "
                             f"{_core.MAX_COUNT} (it is at {self._epochs})")
        shuffle = as_bool(shuffle, "shuffle")
        threads = as_int(threads, "threads", 1, MAX_THREADS)
        if threads > 1 and k == 1:
            raise ValueError(f"threads={threads} shares each mini-batch among threads: it needs "
                             "batch_size > 1 (online updates are sequential)")
        if sample_weight is not None:
            sample_weight = self._check_sample_weight(sample_weight, n, k, shuffle)
        if optimizer is not None:
            optimizer = check_optimizer(optimizer)
        lr = self._lr(lr, optimizer or self._optimizer)
        if seed is not None:
            seed = as_int(seed, "seed", 0)
        if validation is not None:
            if not (isinstance(validation, (tuple, list)) and len(validation) == 2):
                raise TypeError(f"validation must be a pair (X_val, Y_val), got {type(validation).__name__}")
            validation = self._pair(*validation, names=("validation X", "validation Y"))
        target = -np.inf if target_loss is None else as_real(target_loss, "target_loss", 0.0)
        if callable(callbacks) or isinstance(callbacks, (str, bytes)):
            raise TypeError("callbacks must be a list of callables, got a single "
                            f"{type(callbacks).__name__}; pass [callback]")
        try:
            callbacks = list(callbacks or ())
        except TypeError:
            raise TypeError(f"callbacks must be a list of callables, got {callbacks!r}") from None
        for cb in callbacks:
            if not callable(cb):
                raise TypeError(f"every callback must be callable, got {cb!r}")
            if getattr(cb, "needs_validation", False) and validation is None:
                raise ValueError(f"callbacks: {cb!r} monitors the validation loss: pass "
                                 "validation=(X_val, Y_val)")
        if record_every is not None:
            record_every = as_int(record_every, "record_every", 1, _core.MAX_COUNT)
        bar = Progress(progress, epochs * n)

        token = self._model.lock()
        try:
            # A schedule runs under the lock, so that it cannot train this network.
            lrs = learning_rates(lr, self._epochs, epochs)
            progress_before = (self._epochs, self._model.samples)
            # What a call that trains nothing must put back besides the
            # parameters (which the chunk loop restores itself).
            undo = (None if optimizer is None and seed is None else
                    (self._optimizer, self._model.snapshot(), self._seed, self._rng))
            try:
                if optimizer is not None:
                    self._set_optimizer(optimizer)
                if seed is not None:
                    self._seed = seed
                    self._rng = np.random.default_rng(seed)
                for cb in callbacks:
                    if hasattr(cb, "on_train_begin"):
                        cb.on_train_begin()
                with bar, _stop_on_sigint() as sigint, _blas_alone(threads), \
                        (_core.Team(threads) if threads > 1 else contextlib.nullcontext()) as team:
                    history = self._run(_Run(X, Y, epochs, lrs, k, shuffle, validation, target,
                                             callbacks, record_every, bar, sigint,
                                             self._model.samples, team, sample_weight))
            except BaseException:
                if undo is not None and (self._epochs, self._model.samples) == progress_before:
                    # Nothing was trained: the call leaves no trace, not even
                    # its new optimiser or seed.
                    optimizer_before, state, self._seed, self._rng = undo
                    self._set_optimizer(optimizer_before)
                    self._model.set_state(*state)
                raise
        finally:
            self._model.unlock(token)
        self._warn_if_saturated(X, Y, history, lrs)
        return history

    def _warn_if_saturated(self, X, Y, history, lrs):
        """SaturationWarning when training has stalled on saturated units:
        logistic/softmax outputs saturated at the wrong end for most of (a
        sample of) the training data, looked at when the last epoch's loss is
        as high as that makes it; or logistic/tanh hidden layers saturated
        nearly everywhere, looked at when the loss did not fall over the call."""
        if not len(history):
            return
        found = []
        out = self._activations[-1][0]
        if out in ("logistic", "softmax") and history.loss[-1] >= SATURATION_FRACTION * self._wrong_end_loss():
            rows = X[:SATURATION_SAMPLES]
            wrong = (np.abs(self.predict(rows) - Y[:SATURATION_SAMPLES]) > WRONG_END).any(axis=1)
            if wrong.mean() >= SATURATION_FRACTION:
                found.append(f"{wrong.mean():.0%} of the first {len(rows)} training samples meet {out} "
                             f"outputs saturated at the wrong end (within {1 - WRONG_END:g} of 0 or 1 "
                             "where the target is at the other end)")
        hidden = [l for l, (name, _) in enumerate(self._activations[:-1]) if name in OUTPUT_RANGES]
        if hidden and len(history) > 1 and not history.loss[-1] < (1 - STALLED) * history.loss[0]:
            traces = [self.trace(x, t) for x, t in zip(X[:HIDDEN_SAMPLES], Y[:HIDDEN_SAMPLES])]
            for l in hidden:
                lo, hi = OUTPUT_RANGES[self._activations[l][0]]
                a = np.array([tr.layers[l].out for tr in traces])
                saturated = np.minimum(a - lo, hi - a) < (1 - WRONG_END) * (hi - lo)
                if saturated.mean() >= HIDDEN_SATURATED:
                    found.append(f"{saturated.mean():.0%} of the {self._activations[l][0]} units of "
                                 f"hidden layer {l + 1} are saturated on the first {len(traces)} "
                                 "training samples")
        if found:
            warnings.warn(SaturationWarning(
                f"after training, {'; '.join(found)}: their gradients vanish, so training has "
                f"stalled (last epoch's loss {history.loss[-1]:.4g}, lr {lrs[-1]:g}). Scale the "
                "inputs to about unit size (subtract each column's mean, divide by its standard "
                "deviation) and try a smaller learning rate."), stacklevel=3)

    def _wrong_end_loss(self):
        """The loss of one output unit saturated at the wrong end (|o - t| = WRONG_END)."""
        name, delta = self._loss
        if name == "cross_entropy":
            return -np.log1p(-WRONG_END)
        if name == "huber" and WRONG_END > delta:
            return delta * (WRONG_END - 0.5 * delta)
        return 0.5 * WRONG_END ** 2

    @staticmethod
    def _check_sample_weight(sample_weight, n, k, shuffle):
        w = as_float_array(sample_weight, "sample_weight")
        if w.shape != (n,):
            raise ValueError(f"sample_weight must hold one weight per sample, shape ({n},), "
                             f"got shape {w.shape}")
        check_finite(w, "sample_weight")
        if (w < 0).any():
            raise ValueError(f"sample_weight must be >= 0, got {w[w < 0][0]} at index "
                             f"{int(np.argmax(w < 0))}")
        if k == 1:
            raise ValueError("sample_weight needs mini-batches (batch_size > 1): a batch of one "
                             "sample is normalised by its own weight, which cancels")
        if shuffle and not (w > 0).all():
            raise ValueError("with shuffle=True every sample_weight must be positive (a batch "
                             "of zero-weight samples has no mean weight to normalise by)")
        sums = np.add.reduceat(w, np.arange(0, n, k))
        if not (sums > 0).all():
            b = int(np.argmax(sums <= 0))
            raise ValueError(f"the samples of batch {b} (rows {b * k} to {min(n, (b + 1) * k) - 1}) "
                             "have zero total sample_weight; every batch needs a positive total")
        return np.ascontiguousarray(w)

    def _set_optimizer(self, optimizer):
        optimizer._configure(self._model)
        self._model.default_lr = optimizer.default_lr
        self._optimizer = optimizer

    def _run(self, run):
        """The chunk loop: compiled calls of ~CHUNK_WORK multiply-adds each,
        with history, validation, callbacks, progress and Ctrl-C in between.

        Whatever leaves it, the network's parameters, optimiser state,
        generator and counters describe the same samples: an exception that
        escapes between two compiled calls (a signal handler's) before a
        call's counters are taken in puts back the state at that call's
        start; a divergence restores the end of the last finite epoch."""
        S, n, k = run.S, run.n, run.k
        chunk = max(1, CHUNK_WORK // (k * (self._model.n_params + self._model.n_units + STEP_COST)))
        if run.shuffle:
            # bound the sample orders drawn per call (epochs x n indices) to 8 MB
            chunk = min(chunk, max(1, ORDER_WINDOW // n) * S)
        if S <= chunk:
            chunk -= chunk % S      # whole epochs per call
        # Python acts after every epoch (validation, callbacks), or an epoch
        # spans several calls: then no call runs past an epoch's end, so every
        # epoch starts a call, whose snapshot is the epoch's restore point.
        to_epoch_end = run.validation is not None or run.callbacks or S > chunk
        keep_epoch_start = S > chunk and self._state_bytes() <= EPOCH_SNAPSHOT_BYTES
        orders, order_lo = None, 0
        step = 0
        start = time.perf_counter()
        t_prev = 0.0
        buffers = [None, None]      # snapshot arrays: a call that starts an epoch, one that does not
        at_epoch_start = None       # the snapshot of the current epoch's start, if kept
        pending = None              # the snapshot to put back if an exception escapes now
        try:
            while step < run.total:
                end = min(run.total, step + chunk)
                if to_epoch_end:
                    end = min(end, (step // S + 1) * S)
                e_lo, e_hi = step // S, (end - 1) // S + 1
                slot = 0 if step % S == 0 or not keep_epoch_start else 1
                buffers[slot] = self._model.snapshot(into=buffers[slot])
                snapshot = (buffers[slot], self._rng.bit_generator.state, run.record_state.copy(),
                            self._epochs, self._model.samples, len(run.records))
                if step % S == 0:
                    at_epoch_start = snapshot
                elif not keep_epoch_start:
                    at_epoch_start = None
                pending = snapshot
                window = orders, order_lo
                order = None
                if run.shuffle:
                    orders, order_lo = self._orders(orders, order_lo, e_lo, e_hi, n)
                    order = orders[e_lo - order_lo:e_hi - order_lo]
                record = run.record_buffer(end - step)
                status, done, stopped = self._model.train(
                    run.X, run.Y, order, run.lrs[e_lo:e_hi], k, step - e_lo * S, end - step,
                    run.loss_sums[e_lo:e_hi], run.target, run.record_every or 0, record,
                    run.record_state, run.team, run.weights)
                if status != _core.STATUS_OK:
                    kept, failed = self._restore_finite(run, status, step, step + done, snapshot,
                                                        at_epoch_start, window, t_prev, start)
                    pending = None
                    raise self._divergence(run, status, kept, failed)
                run.keep_records(record)
                now = time.perf_counter() - start
                first, last = step // S, (step + done) // S
                run.times.chunk(first, last, step, done, t_prev, now)
                self._epochs += last - first
                self._model.samples += run.samples_in(step + done) - run.samples_in(step)
                pending = None
                step += done
                t_prev = now
                run.bar.update(run.samples_in(step), run.running_loss(step))
                if stopped:
                    run.stop_reason = "target_loss"
                elif step % S == 0 and (run.validation is not None or run.callbacks):
                    self._after_epoch(run, step // S - 1)
                if run.stop_reason is None and run.sigint.fired:
                    run.stop_reason = "interrupted"
                if run.stop_reason is not None:
                    break
        except BaseException:
            if pending is not None:
                self._restore(run, pending)
            raise
        for cb in run.callbacks:
            if hasattr(cb, "on_train_end"):
                cb.on_train_end(self)
        return run.history(step, self._epochs)

    def _state_bytes(self):
        """The bytes of one snapshot: parameters and optimiser state."""
        m = self._model
        return 8 * m.n_params * (1 + (m.state1 is not None) + (m.state2 is not None))

    def _restore(self, run, snapshot):
        state, rng_state, record_state, epochs, samples, n_records = snapshot
        self._model.set_state(*state)
        if rng_state is not None:
            self._rng.bit_generator.state = rng_state
        run.record_state[:] = record_state
        del run.records[n_records:]
        self._epochs, self._model.samples = epochs, samples

    def _restore_finite(self, run, status, step, failed_step, snapshot, at_epoch_start, window,
                        t_prev, start):
        """After the compiled call from `step` diverged at step `failed_step`:
        restore the end of the last finite epoch; returns its step and the
        failing epoch (of the call, from 0).

        That is the failing epoch's own snapshot when it began in an earlier
        call, else the failed call's start replayed up to there (training is
        deterministic: a replay gives the same bits).  A non-finite loss is
        found at its sample; non-finite parameters only at the next check
        (PARAMS_CHECK_EVERY), so the replay goes in one call to an epoch end
        before the checked window, then epoch by epoch, each call ending in
        a check.  Without the epoch's snapshot (a network larger than
        EPOCH_SNAPSHOT_BYTES) it is the failed call's start."""
        S = run.S
        keep = failed_step // S * S
        if keep < step:
            if at_epoch_start is not None:
                self._restore(run, at_epoch_start)
                return keep, keep // S
            self._restore(run, snapshot)
            return step, keep // S
        self._restore(run, snapshot)
        if keep == step:
            return step, keep // S
        e_lo = step // S
        orders = None
        if run.shuffle:
            orders, order_lo = self._orders(*window, e_lo, keep // S, run.n)
            orders = orders[e_lo - order_lo:]
        run.loss_sums[e_lo:] = 0.0
        window_steps = 0 if status == _core.STATUS_NONFINITE_LOSS else \
            -(-_core.PARAMS_CHECK_EVERY // run.n) * S
        kept = max(step, keep - window_steps)
        if kept > step and not self._replay(run, step, kept, orders, e_lo):
            self._restore(run, snapshot)        # not expected: then epoch by epoch from the start
            run.loss_sums[e_lo:] = 0.0
            kept = step
        saved = None
        while kept < keep:
            saved = self._model.snapshot(into=saved)
            point = (saved, None, run.record_state.copy(), self._epochs, self._model.samples,
                     len(run.records))
            if not self._replay(run, kept, kept + S, orders, e_lo):
                self._restore(run, point)
                run.loss_sums[kept // S] = 0.0
                break
            kept += S
        if run.shuffle:
            # the generator as it was after drawing the kept epochs' orders
            self._rng.bit_generator.state = snapshot[1]
            self._orders(*window, e_lo, kept // S, run.n)
        run.times.chunk(e_lo, kept // S, step, kept - step, t_prev, time.perf_counter() - start)
        return kept, kept // S

    def _replay(self, run, first, stop, orders, e_base):
        """Train steps [first, stop) (epoch-aligned) again, from a restored
        state; on success take in their counters and records."""
        S = run.S
        e0, e1 = first // S, (stop - 1) // S + 1
        record = run.record_buffer(stop - first)
        status, _, _ = self._model.train(
            run.X, run.Y, None if orders is None else orders[e0 - e_base:e1 - e_base],
            run.lrs[e0:e1], run.k, 0, stop - first, run.loss_sums[e0:e1], -np.inf,
            run.record_every or 0, record, run.record_state, run.team)
        if status != _core.STATUS_OK:
            return False
        run.keep_records(record)
        self._epochs += e1 - e0
        self._model.samples += run.samples_in(stop) - run.samples_in(first)
        return True

    def _after_epoch(self, run, e):
        """Validation and callbacks after epoch e of the call."""
        if run.validation is not None:
            losses = np.empty(run.validation[0].shape[0])
            self._model.sample_losses(*run.validation, losses)
            run.val_loss.append(float(np.mean(losses)))
        history = run.history((e + 1) * run.S, self._epochs)
        for cb in run.callbacks:
            if cb(self._epochs - 1, history, self):
                run.stop_reason = getattr(cb, "stop_reason", "callback")
                break

    def _divergence(self, run, status, kept, e_failed):
        """The DivergenceError of a call that failed in its epoch `e_failed`
        and was restored to step `kept`.  Its text counts epochs from 1."""
        S = run.S
        e_kept = kept // S
        what = ("the loss of a sample became non-finite" if status == _core.STATUS_NONFINITE_LOSS
                else "the parameters or optimiser state became non-finite")
        if kept % S == 0:
            where = (f"to the end of epoch {e_kept} of this call, its last finite epoch"
                     if e_kept else "to its state before this call (its first epoch diverged)")
            discarded = f"nothing of epoch {e_failed + 1} is kept"
        else:
            where = (f"to the start of the last compiled chunk, {run.samples_in(kept) - e_kept * run.n} "
                     f"samples into epoch {e_kept + 1} (a network this large keeps no copy of "
                     "its state at each epoch's start)")
            discarded = f"epoch {e_kept + 1} is kept up to there"
        return DivergenceError(
            f"training diverged in epoch {e_failed + 1} of this call (lr={run.lrs[e_failed]:g}): "
            f"{what}. The network was restored {where}: it keeps the updates of this call's "
            f"first {e_kept} complete epochs, after {kept} of this call's {run.total} updates "
            f"({run.samples_in(kept)} samples), and {discarded}. Try a smaller learning rate, "
            "or scale the inputs (and regression targets) to about unit size.",
            epoch=e_failed, restored_epoch=e_kept, history=run.history(kept, self._epochs))

    def _orders(self, orders, order_lo, e_lo, e_hi, n):
        """Sample orders for epochs [e_lo, e_hi): the rows already drawn are kept,
        new epochs draw one permutation each, in epoch order, from the network's
        generator (so chunking never changes the sequence)."""
        if orders is not None and order_lo <= e_lo < order_lo + len(orders):
            kept = orders[e_lo - order_lo:]
        else:
            kept = np.empty((0, n), dtype=np.intp)
        fresh = e_hi - e_lo - len(kept)
        drawn = self._rng.permuted(np.tile(np.arange(n, dtype=np.intp), (fresh, 1)), axis=1)
        return np.ascontiguousarray(np.concatenate([kept, drawn])), e_lo

    # ------------------------------------------------------------- streaming
    def learn_one(self, x, t, lr=None):
        """One online update on one sample (x, t) with the network's optimiser;
        returns the sample's loss before the update.  ``lr`` is a number (by
        default the optimiser's default).  Float64 1-D arrays take a fast path
        (about 0.3 µs for the worked example's network); widths, finiteness and
        the learning rate are still checked before anything is touched."""
        return self._model.learn_one(x, t, lr)

    def predict_one(self, x):
        """The network's outputs (n_out,) for one sample x (fast path as learn_one)."""
        return self._model.predict_one(x)

    # ---------------------------------------------------------------- growth
    def add_inputs(self, k):
        """Append ``k`` input units (a positive int).  The weights out of them
        start at zero, and so does their optimiser state: the network computes
        exactly what it did (a new input changes nothing until training moves
        its weights), and every existing parameter and optimiser value keeps
        its bits.  Refused (RuntimeError) while the network trains.

        The flat parameter vector is rebuilt: views taken before
        (``net.params``, ``net.weights[l]``) and the C API's ``bp_net`` /
        ``bp_work`` pointers refer to the old one; take them again."""
        k = as_int(k, "k", 1)
        self._grow(0, k, None)

    def add_outputs(self, k, classes=None):
        """Append ``k`` output units (a positive int).  Their incoming weights
        are drawn as the network's default init for the output activation
        draws them (Glorot or He uniform, with the fan of the widened layer),
        from the network's generator; their biases (for ``bias="neuron"``) and
        optimiser state start at zero.  A shared bias is shared by the new
        units too; ``bias="none"`` adds no biases.  Every existing parameter
        and optimiser value keeps its bits.  Refused (RuntimeError) while the
        network trains; views and C API pointers are rebuilt as for
        ``add_inputs``.

        A softmax output layer gains k categories.  Other output units are
        independent of each other, so a single logistic output that becomes
        two is two logistic outputs (multi-label), not a two-class
        classifier: a network whose ``classes`` name the two ends of one
        logistic output is refused, as its labels would change meaning (grow
        a softmax layer for a classifier that learns new classes).
        classes: the labels of the new outputs (k of them), needed when the
        network's ``classes`` are set, and refused when they are not."""
        k = as_int(k, "k", 1)
        labels = None
        if self._classes is not None:
            if self._sizes[-1] == 1:
                raise ValueError(
                    f"add_outputs: the network's classes {self._classes.tolist()!r:.80} name the "
                    "two ends of its single output; with more outputs each would name one output. "
                    "Use a softmax output layer (two outputs or more) for a classifier that grows")
            if classes is None:
                raise ValueError(f"add_outputs: the network has classes, so give the labels of the "
                                 f"{k} new outputs: add_outputs({k}, classes=[...])")
            added = np.asarray(classes)
            if added.shape != (k,) or added.dtype.kind not in "biufU":
                raise ValueError(f"add_outputs: classes must be {k} labels (strings or numbers), "
                                 f"one per new output, got {classes!r:.80}")
            if "U" in (added.dtype.kind, self._classes.dtype.kind) and \
                    added.dtype.kind != self._classes.dtype.kind:
                raise ValueError(f"add_outputs: classes must be labels of the kind the network's are "
                                 f"({self._classes.dtype}), got {added.dtype}")
            labels = np.concatenate([self._classes, added])
            if np.unique(labels).size != labels.size:
                raise ValueError(f"add_outputs: classes must be new, distinct labels, got "
                                 f"{added.tolist()!r:.200} beside the network's "
                                 f"{self._classes.tolist()!r:.200}")
        elif classes is not None:
            raise ValueError("add_outputs: classes names the new outputs of a network with "
                             "classes, but this network has none (set net.classes first)")
        self._grow(len(self._sizes) - 1, k, labels)

    def _grow(self, layer, k, classes):
        """Widen layer ``layer`` (0: the inputs, L: the outputs) by k units."""
        sizes = list(self._sizes)
        sizes[layer] += k
        _check_n_params(sizes)
        token = self._model.lock()
        try:
            model = self._build_model(sizes)
            self._optimizer._configure(model)
            model.default_lr = self._model.default_lr
            old = self._model.snapshot()
            new = [np.zeros(model.n_params)] + [
                None if v is None else np.zeros(model.n_params) for v in old[1:3]]
            for source, target in zip(old[:3], new):
                if source is not None:
                    _copy_layout(source, self._sizes, self._model.offsets,
                                 target, sizes, model.offsets)
            if layer == len(sizes) - 1:
                n_in, n_out = sizes[-2], sizes[-1]
                w_off = model.offsets[0][-1] + (n_out - k) * n_in
                draw_weights(default_init(self._activations[-1][0]), k, n_in, self._rng,
                             out=new[0][w_off:w_off + k * n_in].reshape(k, n_in),
                             layer_out=n_out)
            model.set_state(*new, old[3])
            model.samples = self._model.samples
        except BaseException:
            self._model.unlock(token)
            raise
        # The old model stays held: a reference to it kept from before (a
        # stale net.weights, an embedder's loop) cannot train it by mistake.
        self._model = model
        self._sizes = tuple(sizes)
        self._make_views()
        if classes is not None:
            self._classes = classes

    # ----------------------------------------------------------------- trace
    def trace(self, x, t, lr=None):
        """Every intermediate of one online step on (x, t), with the network's
        optimiser; the network itself is left unchanged.  Returns a ``Trace``."""
        x2, _ = as_samples(x, "x", self._sizes[0], "inputs")
        t2, _ = as_samples(t, "t", self._sizes[-1], "outputs")
        if x2.shape[0] != 1 or t2.shape[0] != 1:
            raise ValueError(f"trace takes one sample: x and t must be 1-D, got shapes "
                             f"{np.shape(x)} and {np.shape(t)}")
        self._check_targets(t2, "t", fitting=True)
        lr = self._lr_now(lr)
        x, t = x2[0], t2[0]
        model = self._model.copy()
        status, E = model.capture_step(x, t, lr)
        if status != _core.STATUS_OK:
            raise DivergenceError(f"trace: the loss of this sample is {E} (the network's outputs "
                                  "overflowed); nothing to trace", epoch=self._epochs,
                                  restored_epoch=self._epochs, history=History())
        net, out, d_out, d_act, delta, errors, grad = (a.copy() for a in model.work)
        after = np.empty(1)
        model.sample_losses(x2, t2, after)
        w_off, b_off, n_bias = self._model.offsets
        u_off = self._model.u_offsets
        layers = []
        for l in range(len(self._sizes) - 1):
            n_in, n_out = self._sizes[l], self._sizes[l + 1]
            u = slice(u_off[l], u_off[l] + n_out)
            w = slice(w_off[l], w_off[l] + n_out * n_in)
            b = slice(b_off[l], b_off[l] + n_bias[l])
            layers.append(TraceLayer(
                input=x.copy() if l == 0 else out[u_off[l - 1]:u_off[l - 1] + n_in],
                net=net[u], out=out[u], d_out=d_out[u],
                d_act=None if self._activations[l][0] == "softmax" else d_act[u],
                delta=delta[u],
                grad_weights=grad[w].reshape(n_out, n_in), grad_biases=grad[b],
                weights=self._weights[l].copy(), biases=self._biases[l].copy(),
                new_weights=model.params[w].reshape(n_out, n_in).copy(),
                new_biases=model.params[b].copy()))
        return Trace(x=x.copy(), t=t.copy(), lr=lr, output=out[u].copy(), errors=errors,
                     error=float(E), error_after=float(after[0]), layers=tuple(layers))

    # ------------------------------------------------------------------ copy
    def copy(self):
        """An independent copy: parameters, optimiser and its state, generator state.
        Refused (RuntimeError) while another thread trains the network, whose
        parameters and counters may then not describe the same samples; a
        callback of its own training run may copy it."""
        token = self._model.hold("copy")
        try:
            other = _copy.copy(self)
            other._model = self._model.copy()
            other._rng = _copy.deepcopy(self._rng)
            other._make_views()
            return other
        finally:
            if token:
                self._model.unlock(token)

    def save(self, path):
        """Write the network to ``path``, a versioned ``.npz`` file that
        ``backprop.load`` reads back exactly (see ``backprop.io``)."""
        from .io import save

        save(self, path)

    def __deepcopy__(self, memo):
        return self.copy()

    def __getstate__(self):
        """The whole state (pickle, copy, save); refused, as copy() is, while
        another thread trains the network."""
        activations = [LeakyReLU(p) if name == "leaky_relu" else name for name, p in self._activations]
        loss = Huber(self._loss[1]) if self._loss[0] == "huber" else self._loss[0]
        token = self._model.hold("pickle")
        try:
            return {"sizes": self._sizes, "activation": activations, "loss": loss,
                    "bias": self._bias, "train_bias": self._train_bias, "seed": self._seed,
                    "optimizer": self._optimizer, "state": self._model.snapshot(),
                    "rng": self._rng.bit_generator.state, "epochs": self._epochs,
                    "samples": self._model.samples, "classes": self._classes}
        finally:
            if token:
                self._model.unlock(token)

    def __setstate__(self, state):
        self._setup(state["sizes"], state["activation"], state["loss"], state["bias"],
                    state["train_bias"], state["seed"])
        self._set_optimizer(state["optimizer"])
        self._model.set_state(*state["state"])
        self._rng.bit_generator.state = state["rng"]
        self._epochs, self._model.samples = state["epochs"], state["samples"]
        self.classes = state.get("classes")

    # ---------------------------------------------------------------- export
    def to_onnx(self, path=None, opset=17, dtype="float64"):
        """The network as an ONNX model, written to ``path`` if given
        (``backprop.export.to_onnx``; needs onnx)."""
        from .export import to_onnx

        return to_onnx(self, path, opset=opset, dtype=dtype)

    def to_c(self, path=None, name="mynet"):
        """A C99 header whose ``NAME_predict`` gives ``predict``'s bits, written
        to ``path`` if given; returns its text (``backprop.export.to_c``)."""
        from .export import to_c

        return to_c(self, path, name=name)

    def to_torch(self, dtype="float64"):
        """The network as a ``torch.nn.Sequential`` of Linear and activation
        modules (``backprop.export.to_torch``; needs torch)."""
        from .export import to_torch

        return to_torch(self, dtype=dtype)

    @classmethod
    def from_torch(cls, module, *, loss="squared", train_bias=None, seed=None):
        """A Network with the layers of a ``torch.nn.Sequential`` of Linear and
        activation modules (``backprop.export.from_torch``)."""
        from .export import from_torch

        return from_torch(module, loss=loss, train_bias=train_bias, seed=seed)


def _bias_count(bias, n_out):
    return {"neuron": n_out, "shared": 1, "none": 0}[bias]


class _Run:
    """The state of one train() call: data, settings, per-epoch results."""

    def __init__(self, X, Y, epochs, lrs, k, shuffle, validation, target, callbacks, record_every,
                 bar, sigint, samples_before, team, weights):
        self.X, self.Y, self.lrs, self.k, self.shuffle = X, Y, lrs, k, shuffle
        self.weights = weights              # sample weights (n,), or None
        self.validation, self.target, self.callbacks = validation, target, callbacks
        self.record_every, self.bar, self.sigint = record_every, bar, sigint
        self.team = team                    # a _core.Team, or None
        self.n = X.shape[0]
        self.S = -(-self.n // k)
        self.total = epochs * self.S
        self.samples_before = samples_before
        # Written after every sample by the compiled loop: on cache lines of its
        # own, not shared with another thread's (a 5-epoch run's sums fill 40 bytes).
        self.loss_sums = _core.aligned_zeros(epochs)
        self.times = _EpochTimes(epochs, self.S)
        self.val_loss = []
        self.record_state = np.zeros(3)     # open window's sum, its count, means written
        self.records = []
        self.stop_reason = None

    def samples_in(self, steps):
        """Samples visited by the first `steps` steps of the call."""
        full, partial = divmod(steps, self.S)
        return full * self.n + min(partial * self.k, self.n)

    def record_buffer(self, steps):
        """A buffer for the record means a call of `steps` steps can write."""
        if not self.record_every:
            return np.empty(1)
        self.record_state[2] = 0
        return np.empty((int(self.record_state[1]) + steps * self.k) // self.record_every + 1)

    def keep_records(self, buffer):
        if self.record_every:
            self.records.append(buffer[:int(self.record_state[2])].copy())

    def running_loss(self, step):
        """The mean loss of the current epoch so far (or of the last one)."""
        e = (step - 1) // self.S
        seen = self.samples_in(step) - e * self.n
        return self.loss_sums[e] / seen if seen else None

    def history(self, step, epochs_trained):
        """The History of the first `step` steps (a trailing partial epoch
        included, averaged over the samples it visited).  The entries of
        completed epochs never change afterwards.  `epoch`, `lr`, `samples`
        and `time` are made when first read."""
        full, partial = divmod(step, self.S)
        count = full + (partial > 0)
        # one sample per epoch (the worked example): the sums are the means
        loss = self.loss_sums[:count] / self.n if self.n > 1 else self.loss_sums[:count]
        if partial:
            loss[-1] = self.loss_sums[full] / (self.samples_in(step) - full * self.n)
        n, before, seen = self.n, self.samples_before, self.samples_in(step)
        times, lrs = self.times, self.lrs

        def samples():
            out = np.arange(before + n, before + (count + 1) * n, n, dtype=np.int64)[:count]
            out[-1:] = before + seen
            return out

        record = np.concatenate(self.records) if self.records else np.empty(0)
        first = epochs_trained - full
        return History(
            loss=loss, val_loss=np.array(self.val_loss[:count]),
            epoch=lambda: np.arange(first, first + count, dtype=np.int64),
            lr=lambda: np.array(lrs[:count]), time=lambda: times.first(count), samples=samples,
            record_every=self.record_every, record=record,
            record_samples=self.samples_before + self.record_every * np.arange(1, record.size + 1,
                                                                               dtype=np.int64)
            if self.record_every else np.empty(0, dtype=np.int64),
            stop_reason=self.stop_reason)


class _EpochTimes:
    """History.time of a call: the epochs that ended in a compiled call are
    timed by linear interpolation over its steps, written out when first
    read (W0 ends 10^6 epochs in one call)."""

    def __init__(self, epochs, steps_per_epoch):
        self.seconds = np.zeros(epochs)
        self.S = steps_per_epoch
        self.pending = []

    def chunk(self, first, last, step, done, t0, t1):
        """Epochs [first, last) ended in a call that made steps [step, step + done)
        from t0 to t1 seconds."""
        self.pending.append((first, last, step, done, t0, t1))

    def first(self, count):
        for first, last, step, done, t0, t1 in self.pending:
            ended = self.seconds[first:last]
            ended[:] = np.arange((first + 1) * self.S - step, (last + 1) * self.S - step, self.S)
            ended *= (t1 - t0) / done
            ended += t0
        self.pending.clear()
        return self.seconds[:count]


def _blas_alone(threads):
    """While a team of threads shares the mini-batches, each member's BLAS
    products run on one BLAS thread (through threadpoolctl, when installed):
    BLAS's own threads would otherwise oversubscribe the cores, or queue the
    members' calls one after another."""
    if threads == 1 or not _core.blas_in_use():
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


class _stop_on_sigint:
    """While active (in the main thread), Ctrl-C sets ``fired`` instead of
    raising KeyboardInterrupt, so training can stop at a chunk boundary."""

    def __init__(self):
        self.fired = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        self.fired = True

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


class _LayerViews(Sequence):
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
        arr = as_float_array(value, name)
        if arr.shape != view.shape and not (view.ndim == 1 and arr.size == view.size):
            raise ValueError(f"{name} has shape {view.shape}, got an array of shape {arr.shape}")
        check_finite(arr, name)
        token = self._model.lock()
        try:
            view[...] = arr.reshape(view.shape)
        finally:
            self._model.unlock(token)

    def __repr__(self):
        return repr(list(self._views))


def _n_params(sizes):
    """The parameters of a network of widths ``sizes`` with one bias per unit
    (the most any bias policy needs)."""
    return sum(n_out * (n_in + 1) for n_in, n_out in zip(sizes, sizes[1:]))


def _check_n_params(sizes):
    n_params = _n_params(sizes)
    if n_params > MAX_PARAMS:
        raise ValueError(f"sizes {list(sizes)} make a network of about {n_params:.3g} parameters, "
                         f"more than a float64 vector can hold on this machine "
                         f"({MAX_PARAMS:.3g} at most)")


def _copy_layout(source, sizes, offsets, target, new_sizes, new_offsets):
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


def _gib(n_bytes):
    return f"{n_bytes / 2**30:,.1f} GiB"
