"""The Network: configuration, parameters, evaluation, copies and saving.

Training runs in ``backprop.training``, tracing in ``backprop._trace``,
growth in ``backprop._grow``; the methods here check and delegate."""

import numpy as np

from . import _core, _grow, _trace, training
from ._dtypes import check_dtype, check_rates, core
from ._exports import ExportMethods
from ._format import write_model
from ._layout import (BIAS_POLICIES, MAX_PARAMS, LayerViews, bias_counts, check_biases,
                      check_n_params, check_weights, out_of_memory)
from ._saturation import SaturationWarning
from ._targets import OUTPUT_RANGES, check_classes, class_indices, pair, true_classes
from ._validate import as_bool, as_int, as_real, as_samples, choice
from .functions import Huber, LeakyReLU, check_pairing, layer_activations, loss_spec
from .init import check_init, default_init, draw_weights
from .optim import SGD, check_optimizer, learning_rates

DivergenceError = _core.DivergenceError

__all__ = ["BIAS_POLICIES", "DivergenceError", "MAX_PARAMS", "Network", "OUTPUT_RANGES",
           "SaturationWarning"]


class Network(ExportMethods):
    """A multilayer perceptron trained by backpropagation.

    Network(sizes, activation="logistic", loss="squared", bias="neuron",
            train_bias=True, init=None, seed=None, dtype="float64")

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
    dtype:      ``"float64"`` or ``"float32"`` (or the numpy types): the type of
                the parameters, the optimiser state, every intermediate and the
                outputs.  Inputs of another type are converted once per call.
                Initial weights are drawn in float64 and rounded, so the two
                dtypes start from the same weights up to float32's rounding.

    All parameters live in one flat vector of that dtype, ``net.params``; ``net.weights``
    and ``net.biases`` are views into it, layer by layer: ``weights[l][j, i]`` is
    the weight from unit i of layer l to unit j of layer l + 1.
    """

    def __init__(self, sizes, *, activation="logistic", loss="squared", bias="neuron",
                 train_bias=True, init=None, seed=None, dtype="float64"):
        init = check_init(init)
        self._setup(sizes, activation, loss, bias, train_bias, seed, dtype)
        for l, W in enumerate(self._weights):
            scheme = init if init is not None else default_init(self._activations[l][0])
            # float64 weights are drawn straight into the parameter vector (no
            # temporary matrix); float32 ones are those, rounded
            drawn = draw_weights(scheme, W.shape[0], W.shape[1], self._rng,
                                 out=W if W.dtype == np.float64 else None)
            if drawn is not W:
                W[...] = drawn

    @classmethod
    def from_weights(cls, weights, biases=None, *, activation="logistic", loss="squared",
                     bias="neuron", train_bias=True, seed=None, dtype="float64"):
        """A network with the given parameters (copied).

        weights: one (n_out, n_in) matrix per layer, ``W[j, i]`` from unit i below
                 to unit j
        biases:  one per layer: a length-n_out vector for ``bias="neuron"``, a
                 scalar (or length-1 vector) for ``bias="shared"``; None for
                 ``bias="none"`` (or zeros otherwise)
        dtype:   the network's type (as for ``Network``); the values are rounded
                 to it, and refused if they are beyond its range
        """
        dtype = check_dtype(dtype)
        mats = check_weights(weights, dtype)
        sizes = [mats[0].shape[1]] + [W.shape[0] for W in mats]
        bias = choice(bias, "bias", BIAS_POLICIES)
        vecs = check_biases(biases, bias, sizes, dtype)
        net = cls.__new__(cls)
        net._setup(sizes, activation, loss, bias, train_bias, seed, dtype)
        for W, target in zip(mats, net._weights):
            target[...] = W
        for b, target in zip(vecs, net._biases):
            target[...] = b
        return net

    def _setup(self, sizes, activation, loss, bias, train_bias, seed, dtype):
        if isinstance(sizes, (str, bytes, dict, set, frozenset)) or not hasattr(sizes, "__len__"):
            raise TypeError(f"sizes must be a list of layer widths like [2, 2, 2], got {sizes!r}")
        sizes = tuple(as_int(n, f"sizes[{i}]") for i, n in enumerate(sizes))
        if len(sizes) < 2:
            raise ValueError(f"sizes needs at least two layer widths (inputs and outputs), got {list(sizes)}")
        for i, n in enumerate(sizes):
            if n < 1:
                raise ValueError(f"every layer needs at least one unit, but sizes[{i}] = {n}")
        bias = choice(bias, "bias", BIAS_POLICIES)
        check_n_params(sizes, bias)
        n_layers = len(sizes) - 1
        activations = layer_activations(activation, n_layers)
        loss_name, loss_param = loss_spec(loss)
        check_pairing(activations[-1][0], loss_name, sizes[-1])
        train_bias = as_bool(train_bias, "train_bias")
        if seed is None:
            seed = int(np.random.SeedSequence().entropy)
        seed = as_int(seed, "seed", 0)
        self._dtype = check_dtype(dtype)
        self._core = core(self._dtype)

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
            return self._core.Model(
                sizes, bias_counts(self._bias, sizes),
                [_core.ACTIVATIONS[a] for a, _ in self._activations],
                [p for _, p in self._activations],
                _core.LOSSES[self._loss[0]], self._loss[1], self._train_bias)
        except MemoryError:
            raise out_of_memory(sizes, self._bias, self._dtype.itemsize) from None

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
        copies W into layer l, checked (same shape, finite); writing into the
        view itself (``net.weights[l][...] = W``) is not checked."""
        return LayerViews(self._weights, "weights", self._model)

    @property
    def biases(self):
        """One view per layer into ``params``: n_out values for bias="neuron",
        one for "shared", none (empty) for "none".  ``net.biases[l] = b`` copies b in."""
        return LayerViews(self._biases, "biases", self._model)

    @property
    def params(self):
        """The flat parameter vector (a view): per layer W (row-major) then its biases."""
        return self._model.params

    @property
    def dtype(self):
        """The numpy dtype of the parameters, the optimiser state and the
        outputs: float64 or float32."""
        return self._dtype

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
        self._classes = None if labels is None else check_classes(self, labels)

    def __repr__(self):
        acts = self.activations
        act = acts[0] if len(set(acts)) == 1 else list(acts)
        dtype = "" if self._dtype == np.float64 else f", dtype={self._dtype.name!r}"
        return (f"Network({list(self._sizes)}, activation={act!r}, loss={self._loss[0]!r}, "
                f"bias={self._bias!r}, train_bias={self._train_bias}{dtype})")

    # ------------------------------------------------------------ evaluation
    def predict(self, X):
        """The network's outputs: (n, n_out) for an (n, n_in) X; (n_out,) for a 1-D x."""
        X, single = as_samples(X, "X", self._sizes[0], "inputs", self._dtype)
        out = np.empty((X.shape[0], self._sizes[-1]), dtype=self._dtype)
        self._model.predict(X, out)
        return out[0] if single else out

    def loss(self, X, Y):
        """The mean over samples of the per-sample loss (for ``"squared"``,
        E = ½ Σ_k (t_k − o_k)²).  Each sample's loss is computed in the
        network's dtype; their mean in float64."""
        X, Y = pair(self, X, Y)
        losses = np.empty(X.shape[0], dtype=self._dtype)
        self._model.sample_losses(X, Y, losses)
        return float(np.mean(losses, dtype=np.float64))

    def predict_classes(self, X):
        """The predicted class of each sample, as an index into the outputs:
        the largest output for two or more outputs; for one output, 1 where it
        is above the middle of its range (0.5 for logistic, identity and the
        others, 0 for tanh), else 0.  An (n,) integer array (a scalar for a 1-D x).

        With labels from ``backprop.one_hot(labels)``, ``classes[net.predict_classes(X)]``
        gives the predicted labels."""
        return class_indices(self, self.predict(X))

    def accuracy(self, X, Y):
        """The fraction of samples whose predicted class (``predict_classes``) is
        right.  Y is the targets as for ``train`` (one-hot rows, or 0/1 for one
        output), or a 1-D array of class indices (0 to n_out - 1; 0/1 for one output)."""
        predicted = np.atleast_1d(self.predict_classes(X))
        return float(np.mean(predicted == true_classes(self, X, Y, len(predicted))))

    def _lr(self, lr, optimizer):
        if lr is None:
            return optimizer.default_lr
        if callable(lr):
            return lr
        return as_real(lr, "lr", 0.0)

    def _lr_now(self, lr):
        """A single learning rate for one step (a schedule at the current epoch)."""
        lr = self._lr(lr, self._optimizer)
        rate = learning_rates(lr, self._epochs, 1)
        check_rates(rate, self._dtype)
        return float(rate[0])

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

        Ctrl-C stops training at the next chunk boundary (between two compiled
        calls, each a small fraction of a second of work) and returns the History so far with ``stop_reason == "interrupted"``
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
        return training.train(self, X, Y, epochs, lr, batch_size, optimizer, shuffle, seed,
                              validation, validation_split, target_loss, callbacks, record_every,
                              progress, threads, sample_weight)

    def _set_optimizer(self, optimizer):
        optimizer._configure(self._model)
        self._model.default_lr = optimizer.default_lr
        self._optimizer = optimizer

    # ------------------------------------------------------------- streaming
    def learn_one(self, x, t, lr=None):
        """One online update on one sample (x, t) with the network's optimiser;
        returns the sample's loss before the update.  ``lr`` is a number (by
        default the optimiser's default).  C-contiguous 1-D arrays of the
        network's dtype go straight to the compiled step, which still checks widths, finiteness
        and the learning rate before anything is touched."""
        return self._model.learn_one(x, t, lr)

    def predict_one(self, x):
        """The network's outputs (n_out,) for one sample x (fast path as learn_one)."""
        return self._model.predict_one(x)

    # ---------------------------------------------------------------- growth
    def add_inputs(self, k):
        """Append ``k`` input units (a positive int).  The weights out of them
        start at zero, and so does their optimiser state, and every existing
        parameter and optimiser value keeps its bits.  The network computes
        what it did up to rounding: the new terms are zeros, but the dot
        products' fixed summation order depends on the number of inputs, so an
        output may move in its last bit until training moves the new weights.  Refused (RuntimeError) while the network trains.

        The flat parameter vector is rebuilt: views taken before
        (``net.params``, ``net.weights[l]``) and the C API's ``bp_net`` /
        ``bp_work`` pointers refer to the old one; take them again."""
        k = as_int(k, "k", 1)
        _grow.grow(self, 0, k, None)

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
        _grow.grow(self, len(self._sizes) - 1, k, _grow.output_labels(self, k, classes))

    # ----------------------------------------------------------------- trace
    def trace(self, x, t, lr=None):
        """Every intermediate of one online step on (x, t), with the network's
        optimiser; the network itself is left unchanged.  Returns a ``Trace``.
        Refused (RuntimeError) while another thread trains the network."""
        return _trace.trace(self, x, t, lr)

    # ------------------------------------------------------------------ copy
    def copy(self):
        """An independent copy: parameters, optimiser and its state, generator state.
        Refused (RuntimeError) while another thread trains the network, whose
        parameters and counters may then not describe the same samples; a
        callback of its own training run may copy it."""
        other = type(self).__new__(type(self))
        other.__setstate__(self._state("copy"))
        return other

    def save(self, path):
        """Write the network to ``path``, a versioned ``.npz`` file that
        ``backprop.load`` reads back exactly (see ``backprop.io``)."""
        write_model(self, path)

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __getstate__(self):
        return self._state("pickle")

    def _state(self, what):
        """The whole state (for pickle, copy, save: `what`, which a refusal
        names); refused while another thread trains the network."""
        activations = [LeakyReLU(p) if name == "leaky_relu" else name for name, p in self._activations]
        loss = Huber(self._loss[1]) if self._loss[0] == "huber" else self._loss[0]
        token = self._model.hold(what)
        try:
            return {"sizes": self._sizes, "dtype": self._dtype.name, "activation": activations,
                    "loss": loss,
                    "bias": self._bias, "train_bias": self._train_bias, "seed": self._seed,
                    "optimizer": self._optimizer, "state": self._model.snapshot(),
                    "rng": self._rng.bit_generator.state, "epochs": self._epochs,
                    "samples": self._model.samples, "classes": self._classes}
        finally:
            if token:
                self._model.unlock(token)

    def __setstate__(self, state):
        self._setup(state["sizes"], state["activation"], state["loss"], state["bias"],
                    state["train_bias"], state["seed"], state.get("dtype", "float64"))
        self._set_optimizer(state["optimizer"])
        self._model.set_state(*state["state"])
        self._rng.bit_generator.state = state["rng"]
        self._epochs, self._model.samples = state["epochs"], state["samples"]
        self.classes = state.get("classes")
