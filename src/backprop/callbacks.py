"""Callbacks for ``Network.train``: called after every epoch, between compiled
chunks, never per sample.

A callback is any callable ``f(epoch, history, network)``: ``epoch`` is the
network's epoch index (counted over its life), ``history`` the History of
the running call so far (its last entry is this epoch), ``network`` the
network being trained (readable, savable; do not train it from a callback).
A true return value stops training after this epoch, with
``history.stop_reason == "callback"`` (or the callback's ``stop_reason``).
Giving callbacks makes every epoch end a compiled chunk: cheap for epochs of
many samples, noticeable for epochs of a few.
"""
import math

from ._validate import as_bool, as_int, as_real, choice


class EarlyStopping:
    """Stop when the monitored loss has not improved for ``patience`` epochs.

    monitor:      ``"val_loss"`` (needs ``validation=`` in ``train``) or ``"loss"``
    patience:     epochs without improvement to tolerate
    min_delta:    an improvement is a decrease by more than this
    restore_best: put back the parameters (and optimiser state) of the best
                  epoch when stopping, and at the end of training if the last
                  epochs were worse
    After training, ``best_epoch`` and ``best`` name the best epoch and its loss.
    """

    stop_reason = "early_stopping"

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, restore_best=True):
        self.monitor = choice(monitor, "monitor", {"val_loss", "loss"})
        self.patience = as_int(patience, "patience", 0)
        self.min_delta = as_real(min_delta, "min_delta", 0.0)
        self.restore_best = as_bool(restore_best, "restore_best")
        self.on_train_begin()

    @property
    def needs_validation(self):
        return self.monitor == "val_loss"

    def on_train_begin(self):
        self.best = math.inf
        self.best_epoch = None
        self.wait = 0
        self._best_state = None

    def __call__(self, epoch, history, network):
        value = float((history.val_loss if self.monitor == "val_loss" else history.loss)[-1])
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                self._best_state = network._model.snapshot()
            return False
        self.wait += 1
        if self.wait > self.patience:
            self.on_train_end(network)
            return True
        return False

    def on_train_end(self, network):
        if self.restore_best and self._best_state is not None and self.wait > 0:
            network._model.set_state(*self._best_state)
            self.wait = 0

    def __repr__(self):
        return (f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, "
                f"min_delta={self.min_delta}, restore_best={self.restore_best})")
