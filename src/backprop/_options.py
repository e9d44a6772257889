"""The options of one ``Network.train`` call, checked before anything is touched."""
from dataclasses import dataclass

import numpy as np

from . import _core
from ._targets import pair
from ._validate import as_bool, as_float_array, as_int, as_real, check_finite
from .data import split_validation
from .optim import check_optimizer

# The most threads one train call may share its mini-batches among.
MAX_THREADS = 256


@dataclass(frozen=True)
class TrainOptions:
    """What a checked ``train`` call asks for.

    epochs, batch_size: passes over the data and samples per update (the
                 number of samples for full batch)
    lr:          a number or a schedule (a callable of the epoch index)
    optimizer:   the optimiser to switch to, or None to keep the network's
    shuffle, seed: a new order every epoch; the seed to re-seed with, or None
    validation:  the checked (X_val, Y_val) pair, or None
    target:      the loss to stop at (-inf: none)
    callbacks:   a tuple of callables
    record_every: N for the per-N-samples record, or None
    progress:    the ``progress`` argument (True, False or "auto")
    threads:     threads sharing each mini-batch
    sample_weight: one weight per sample (C-contiguous, the network's dtype), or None
    """

    epochs: int
    batch_size: int
    lr: object
    optimizer: object
    shuffle: bool
    seed: object
    validation: object
    target: float
    callbacks: tuple
    record_every: object
    progress: object
    threads: int
    sample_weight: object


def check_options(net, X, Y, epochs, lr, batch_size, optimizer, shuffle, seed, validation,
                  validation_split, target_loss, callbacks, record_every, progress, threads,
                  sample_weight):
    """(X, Y, TrainOptions) of a ``train`` call on ``net``, every argument
    checked; a ValueError or TypeError naming the argument otherwise."""
    X, Y = pair(net, X, Y, fitting=True)
    if validation_split is not None:
        if validation is not None:
            raise ValueError("give validation=(X_val, Y_val) or validation_split, not both")
        if sample_weight is not None:
            raise ValueError("sample_weight is not split by validation_split; hold out the "
                             "validation samples yourself and pass validation=(X_val, Y_val)")
        fraction = as_real(validation_split, "validation_split", 0.0, 1.0, True, True)
        X, Y, *validation = split_validation(X, Y, fraction, net._seed)
    n = X.shape[0]
    epochs = as_int(epochs, "epochs", 0)
    if batch_size is None:
        k = n
    else:
        k = as_int(batch_size, "batch_size", 1)
        if k > n:
            raise ValueError(f"batch_size must be at most the number of samples ({n}), got {k}; "
                             "use batch_size=None for full batch")
    if net._model.samples + epochs * n > _core.MAX_COUNT:
        raise ValueError(f"epochs={epochs} of {n} samples would take the network's sample count "
                         f"past {_core.MAX_COUNT} (it is at {net._model.samples})")
    if net._epochs + epochs > _core.MAX_COUNT:
        raise ValueError(f"epochs={epochs} would take the network's epoch count past "
                         f"{_core.MAX_COUNT} (it is at {net._epochs})")
    shuffle = as_bool(shuffle, "shuffle")
    threads = as_int(threads, "threads", 1, MAX_THREADS)
    if threads > 1 and k == 1:
        raise ValueError(f"threads={threads} shares each mini-batch among threads: it needs "
                         "batch_size > 1 (online updates are sequential)")
    if sample_weight is not None:
        sample_weight = check_sample_weight(sample_weight, n, k, shuffle, net._dtype)
    if optimizer is not None:
        optimizer = check_optimizer(optimizer)
    lr = net._lr(lr, optimizer or net._optimizer)
    if seed is not None:
        seed = as_int(seed, "seed", 0)
    if validation is not None:
        if not (isinstance(validation, (tuple, list)) and len(validation) == 2):
            raise TypeError(f"validation must be a pair (X_val, Y_val), got {type(validation).__name__}")
        validation = pair(net, *validation, names=("validation X", "validation Y"))
    target = -np.inf if target_loss is None else as_real(target_loss, "target_loss", 0.0)
    callbacks = check_callbacks(callbacks, validation is not None)
    if record_every is not None:
        record_every = as_int(record_every, "record_every", 1, _core.MAX_COUNT)
    return X, Y, TrainOptions(epochs, k, lr, optimizer, shuffle, seed, validation, target,
                              callbacks, record_every, progress, threads, sample_weight)


def check_callbacks(callbacks, validated):
    """The callbacks as a tuple of callables; those that monitor the
    validation loss need `validated` (validation data given)."""
    if callable(callbacks) or isinstance(callbacks, (str, bytes)):
        raise TypeError("callbacks must be a list of callables, got a single "
                        f"{type(callbacks).__name__}; pass [callback]")
    if callbacks is None:
        return ()
    try:
        callbacks = tuple(callbacks)
    except TypeError:
        raise TypeError(f"callbacks must be a list of callables, got {callbacks!r}") from None
    for cb in callbacks:
        if not callable(cb):
            raise TypeError(f"every callback must be callable, got {cb!r}")
        if getattr(cb, "needs_validation", False) and not validated:
            raise ValueError(f"callbacks: {cb!r} monitors the validation loss: pass "
                             "validation=(X_val, Y_val)")
    return callbacks


def check_sample_weight(sample_weight, n, k, shuffle, dtype):
    """The sample weights of n samples in batches of k as a C-contiguous
    vector of dtype (the network's), checked: finite, >= 0, a positive total
    in every batch."""
    w = as_float_array(sample_weight, "sample_weight", dtype)
    if w.shape != (n,):
        raise ValueError(f"sample_weight must hold one weight per sample, shape ({n},), "
                         f"got shape {w.shape}")
    check_finite(w, "sample_weight", sample_weight)
    if (w < 0).any():
        raise ValueError(f"sample_weight must be >= 0, got {w[w < 0][0]} at index "
                         f"{int(np.argmax(w < 0))}")
    if k == 1:
        raise ValueError("sample_weight needs mini-batches (batch_size > 1): a batch of one "
                         "sample is normalised by its own weight, which cancels")
    if shuffle and not (w > 0).all():
        raise ValueError("with shuffle=True every sample_weight must be positive (a batch "
                         "of zero-weight samples has no mean weight to normalise by)")
    sums = np.add.reduceat(w, np.arange(0, n, k), dtype=np.float64)
    if not (sums > 0).all():
        b = int(np.argmax(sums <= 0))
        raise ValueError(f"the samples of batch {b} (rows {b * k} to {min(n, (b + 1) * k) - 1}) "
                         "have zero total sample_weight; every batch needs a positive total")
    return np.ascontiguousarray(w)
