"""Small result objects: the History of a training run and the Trace of one step."""
from dataclasses import dataclass

import numpy as np


class History:
    """What one ``Network.train`` call did, one entry per epoch.

    loss:      the mean per-sample loss during the epoch, each sample's loss taken
               before the update it contributes to (for online learning: before
               its own update).  Per-sample losses are those of ``Network.loss``.
    val_loss:  the mean loss on the validation data after each epoch (empty
               when no validation data was given)
    penalty:   with weight decay λ, the mean over the epoch's samples of the L2
               term ½ λ ‖W‖² of the step each sample is in (‖W‖² taken before
               the step, over the parameters the decay acts on), so that loss
               + penalty is the mean of the objective the steps descend; empty
               unless the train call was asked for it (``backprop.sklearn``
               asks, for ``loss_curve_``)
    epoch:     the network's epoch index of each entry (counted over its life)
    lr:        the learning rate used in each epoch
    time:      seconds from the start of the call to the end of each epoch
    samples:   samples seen by the network (over its life) at the end of each epoch
    record_every, record, record_samples: with ``record_every=N``, the mean loss
               of every N consecutive samples and the network's sample count at
               the end of each such window (so a run on one sample has a curve)
    stop_reason: None if all epochs ran, else why training stopped early:
               "target_loss", "early_stopping", "callback" or "interrupted"

    Every field is a keyword of the constructor; arrays left out are empty.
    """

    def __init__(self, loss=None, val_loss=None, epoch=None, lr=None, time=None, samples=None,
                 record_every=None, record=None, record_samples=None, stop_reason=None,
                 penalty=None):
        self.loss = np.empty(0) if loss is None else loss
        self.val_loss = np.empty(0) if val_loss is None else val_loss
        self.penalty = np.empty(0) if penalty is None else penalty
        self.epoch = np.empty(0, dtype=np.int64) if epoch is None else epoch
        self.lr = np.empty(0) if lr is None else lr
        self.time = np.empty(0) if time is None else time
        self.samples = np.empty(0, dtype=np.int64) if samples is None else samples
        self.record_every = record_every
        self.record = np.empty(0) if record is None else record
        self.record_samples = np.empty(0, dtype=np.int64) if record_samples is None else record_samples
        self.stop_reason = stop_reason

    def __len__(self):
        return len(self.loss)

    @property
    def interrupted(self):
        """Whether Ctrl-C stopped the run (``stop_reason == "interrupted"``)."""
        return self.stop_reason == "interrupted"

    def __repr__(self):
        return (f"History({len(self)} epochs, loss {self.loss[-1] if len(self) else None}, "
                f"stop_reason={self.stop_reason!r})")

    def plot(self, ax=None, **kwargs):
        """Plot the loss curves (needs matplotlib); see
        ``backprop.plotting.plot_history`` for the options.  Returns the Axes."""
        from .plotting import plot_history

        return plot_history(self, ax, **kwargs)


@dataclass(frozen=True)
class TraceLayer:
    """One weight layer's part of a traced step (layer l maps a_{l-1} to a_l).

    input:      a_{l-1}, the activations coming in (the sample itself for l = 0)
    net:        z = W a_{l-1} + b, the net input of each unit
    out:        a = f(z), each unit's output
    d_out:      ∂E/∂out (for hidden layers Wᵀδ of the layer above, original weights)
    d_act:      ∂out/∂net, elementwise; None for softmax, whose Jacobian is not diagonal
    delta:      ∂E/∂net, the unit's delta
    grad_weights, grad_biases:  ∂E/∂W = δ aᵀ and ∂E/∂b (shared bias: Σδ; no bias: empty)
    weights, biases:            the parameters before the step
    new_weights, new_biases:    the parameters after the step
    """

    input: np.ndarray
    net: np.ndarray
    out: np.ndarray
    d_out: np.ndarray
    d_act: object
    delta: np.ndarray
    grad_weights: np.ndarray
    grad_biases: np.ndarray
    weights: np.ndarray
    biases: np.ndarray
    new_weights: np.ndarray
    new_biases: np.ndarray


@dataclass(frozen=True)
class Trace:
    """Every intermediate of one online training step on one sample.

    x, t:         the sample and its target
    lr:           the learning rate of the step
    output:       the network's output before the step
    errors:       the per-output loss terms before the step (E_o1, E_o2, ... in the worked example)
    error:        their sum, the sample's loss E before the step
    error_after:  the sample's loss after the step
    layers:       one TraceLayer per weight layer, from the input side
    """

    x: np.ndarray
    t: np.ndarray
    lr: float
    output: np.ndarray
    errors: np.ndarray
    error: float
    error_after: float
    layers: tuple
