"""Training: the run loop of ``Network.train`` and the state of one run.

A run is split into compiled calls ("chunks") of about CHUNK_WORK
multiply-adds each; between two calls Python takes in the counters, history
and records, runs validation and callbacks, updates the progress bar and
looks for Ctrl-C.  Whatever leaves a run, the network's parameters,
optimiser state, generator and counters describe the same samples.
"""
import contextlib
import signal
import threading
import time

try:
    # The C functions behind signal.signal/getsignal, which wrap their
    # arguments and results in enums: train installs and removes its SIGINT
    # handler on every call.
    from _signal import getsignal as _getsignal, signal as _setsignal
except ImportError:
    from signal import getsignal as _getsignal, signal as _setsignal

import numpy as np

from . import _core
from ._dtypes import check_rates
from ._options import check_options
from ._progress import Progress
from ._saturation import warn_if_saturated
from .optim import learning_rates
from .results import History

DivergenceError = _core.DivergenceError

# A compiled call does about this much work before Python looks in again (for
# history, callbacks and Ctrl-C), a small fraction of a second.  A sample's
# work is counted as its network's parameters and units plus STEP_COST for
# the per-sample overhead.
CHUNK_WORK = 300_000_000
STEP_COST = 32
# At most this many sample indices (one permutation per epoch) per compiled call.
ORDER_WINDOW = 1 << 20
# When an epoch spans several compiled calls, train keeps the state at the
# epoch's start beside the state at the call's start (so that a divergence
# restores to the end of the last finite epoch) if it is at most this large.
EPOCH_SNAPSHOT_BYTES = 1 << 28


def train(net, X, Y, epochs, lr, batch_size, optimizer, shuffle, seed, validation,
          validation_split, target_loss, callbacks, record_every, progress, threads,
          sample_weight, penalty=False):
    """``Network.train`` (its docstring says what each argument does).  With
    penalty, ``History.penalty`` holds each epoch's mean L2 term (what
    ``backprop.sklearn`` reports in ``loss_curve_``); it costs a pass over
    the weights per step."""
    X, Y, opts = check_options(net, X, Y, epochs, lr, batch_size, optimizer, shuffle, seed,
                               validation, validation_split, target_loss, callbacks,
                               record_every, progress, threads, sample_weight)
    bar = Progress(opts.progress, opts.epochs * X.shape[0])
    model = net._model
    token = model.lock()
    try:
        # A schedule runs under the lock, so that it cannot train this network.
        lrs = learning_rates(opts.lr, net._epochs, opts.epochs)
        check_rates(lrs, net._dtype)
        progress_before = (net._epochs, model.samples)
        # What a call that trains nothing must put back besides the
        # parameters (which the chunk loop restores itself).
        undo = (None if opts.optimizer is None and opts.seed is None else
                (net._optimizer, model.snapshot(), net._seed, net._rng))
        try:
            if opts.optimizer is not None:
                net._set_optimizer(opts.optimizer)
            if opts.seed is not None:
                net._seed = opts.seed
                net._rng = np.random.default_rng(opts.seed)
            for cb in opts.callbacks:
                if hasattr(cb, "on_train_begin"):
                    cb.on_train_begin()
            with bar, _stop_on_sigint() as sigint, _blas_alone(net, opts.threads), \
                    (net._core.Team(opts.threads) if opts.threads > 1
                     else contextlib.nullcontext()) as team:
                history = run_chunks(net, _Run(X, Y, opts, lrs, bar, sigint, model.samples, team,
                                                penalty))
        except BaseException:
            if undo is not None and (net._epochs, model.samples) == progress_before:
                # Nothing was trained: the call leaves no trace, not even
                # its new optimiser or seed.
                optimizer_before, state, net._seed, net._rng = undo
                net._set_optimizer(optimizer_before)
                model.set_state(*state)
            raise
    finally:
        model.unlock(token)
    warn_if_saturated(net, X, Y, history, lrs)
    return history


def run_chunks(net, run):
    """The chunk loop: compiled calls of ~CHUNK_WORK multiply-adds each,
    with history, validation, callbacks, progress and Ctrl-C in between.

    Whatever leaves it, the network's parameters, optimiser state,
    generator and counters describe the same samples: an exception that
    escapes between two compiled calls (a signal handler's) before a
    call's counters are taken in puts back the state at that call's
    start; a divergence restores the end of the last finite epoch."""
    S, n, k = run.S, run.n, run.k
    chunk = max(1, CHUNK_WORK // (k * (net._model.n_params + net._model.n_units + STEP_COST)))
    if run.shuffle:
        # bound the sample orders drawn per call (epochs x n indices) by ORDER_WINDOW
        chunk = min(chunk, max(1, ORDER_WINDOW // n) * S)
    if S <= chunk:
        chunk -= chunk % S      # whole epochs per call
    # Python acts after every epoch (validation, callbacks), or an epoch
    # spans several calls: then no call runs past an epoch's end, so every
    # epoch starts a call, whose snapshot is the epoch's restore point.
    to_epoch_end = run.validation is not None or run.callbacks or S > chunk
    keep_epoch_start = S > chunk and state_bytes(net) <= EPOCH_SNAPSHOT_BYTES
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
            buffers[slot] = net._model.snapshot(into=buffers[slot])
            # the generator moves only when the call draws sample orders
            rng_state = net._rng.bit_generator.state if run.shuffle else None
            snapshot = (buffers[slot], rng_state, run.record_state.copy(),
                        net._epochs, net._model.samples, len(run.records))
            if step % S == 0:
                at_epoch_start = snapshot
            elif not keep_epoch_start:
                at_epoch_start = None
            pending = snapshot
            window = orders, order_lo
            order = None
            if run.shuffle:
                orders, order_lo = orders_for(net, orders, order_lo, e_lo, e_hi, n)
                order = orders[e_lo - order_lo:e_hi - order_lo]
            record = run.record_buffer(end - step)
            status, done, stopped = net._model.train(
                run.X, run.Y, order, run.lrs[e_lo:e_hi], k, step - e_lo * S, end - step,
                run.loss_sums[e_lo:e_hi], run.target, run.record_every or 0, record,
                run.record_state, run.team, run.weights, run.penalty_in(e_lo, e_hi))
            if status != _core.STATUS_OK:
                kept, failed = restore_finite(net, run, status, step, step + done, snapshot,
                                                    at_epoch_start, window, t_prev, start)
                pending = None
                raise divergence(net, run, status, kept, failed)
            run.keep_records(record)
            now = time.perf_counter() - start
            first, last = step // S, (step + done) // S
            run.times.chunk(first, last, step, done, t_prev, now)
            net._epochs += last - first
            net._model.samples += run.samples_in(step + done) - run.samples_in(step)
            pending = None
            step += done
            t_prev = now
            if run.bar.enabled:
                run.bar.update(run.samples_in(step), run.running_loss(step))
            if stopped:
                run.stop_reason = "target_loss"
            elif step % S == 0 and (run.validation is not None or run.callbacks):
                after_epoch(net, run, step // S - 1)
            if run.stop_reason is None and run.sigint.fired:
                run.stop_reason = "interrupted"
            if run.stop_reason is not None:
                break
    except BaseException:
        if pending is not None:
            restore(net, run, pending)
        raise
    for cb in run.callbacks:
        if hasattr(cb, "on_train_end"):
            cb.on_train_end(net)
    return run.history(step, net._epochs)

def state_bytes(net):
    """The bytes of one snapshot: parameters and optimiser state."""
    m = net._model
    return net._dtype.itemsize * m.n_params * (1 + (m.state1 is not None) + (m.state2 is not None))

def restore(net, run, snapshot):
    state, rng_state, record_state, epochs, samples, n_records = snapshot
    net._model.set_state(*state)
    if rng_state is not None:
        net._rng.bit_generator.state = rng_state
    run.record_state[:] = record_state
    del run.records[n_records:]
    net._epochs, net._model.samples = epochs, samples

def restore_finite(net, run, status, step, failed_step, snapshot, at_epoch_start, window,
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
            restore(net, run, at_epoch_start)
            return keep, keep // S
        restore(net, run, snapshot)
        return step, keep // S
    restore(net, run, snapshot)
    if keep == step:
        return step, keep // S
    e_lo = step // S
    orders = None
    if run.shuffle:
        orders, order_lo = orders_for(net, *window, e_lo, keep // S, run.n)
        orders = orders[e_lo - order_lo:]
    run.clear_sums(e_lo)
    window_steps = 0 if status == _core.STATUS_NONFINITE_LOSS else \
        -(-_core.PARAMS_CHECK_EVERY // run.n) * S
    kept = max(step, keep - window_steps)
    if kept > step and not replay(net, run, step, kept, orders, e_lo):
        restore(net, run, snapshot)        # not expected: then epoch by epoch from the start
        run.clear_sums(e_lo)
        kept = step
    saved = None
    while kept < keep:
        saved = net._model.snapshot(into=saved)
        point = (saved, None, run.record_state.copy(), net._epochs, net._model.samples,
                 len(run.records))
        if not replay(net, run, kept, kept + S, orders, e_lo):
            restore(net, run, point)
            run.clear_sums(kept // S, kept // S + 1)
            break
        kept += S
    if run.shuffle:
        # the generator as it was after drawing the kept epochs' orders
        net._rng.bit_generator.state = snapshot[1]
        orders_for(net, *window, e_lo, kept // S, run.n)
    run.times.chunk(e_lo, kept // S, step, kept - step, t_prev, time.perf_counter() - start)
    return kept, kept // S

def replay(net, run, first, stop, orders, e_base):
    """Train steps [first, stop) (epoch-aligned) again, from a restored
    state; on success take in their counters and records."""
    S = run.S
    e0, e1 = first // S, (stop - 1) // S + 1
    record = run.record_buffer(stop - first)
    status, _, _ = net._model.train(
        run.X, run.Y, None if orders is None else orders[e0 - e_base:e1 - e_base],
        run.lrs[e0:e1], run.k, 0, stop - first, run.loss_sums[e0:e1], -np.inf,
        run.record_every or 0, record, run.record_state, run.team, run.weights,
        run.penalty_in(e0, e1))
    if status != _core.STATUS_OK:
        return False
    run.keep_records(record)
    net._epochs += e1 - e0
    net._model.samples += run.samples_in(stop) - run.samples_in(first)
    return True

def after_epoch(net, run, e):
    """Validation and callbacks after epoch e of the call."""
    if run.validation is not None:
        losses = np.empty(run.validation[0].shape[0], dtype=net._dtype)
        net._model.sample_losses(*run.validation, losses)
        run.val_loss.append(float(np.mean(losses, dtype=np.float64)))
    history = run.history((e + 1) * run.S, net._epochs)
    for cb in run.callbacks:
        if cb(net._epochs - 1, history, net):
            run.stop_reason = getattr(cb, "stop_reason", "callback")
            break

def divergence(net, run, status, kept, e_failed):
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
        epoch=e_failed, restored_epoch=e_kept, history=run.history(kept, net._epochs))

def orders_for(net, orders, order_lo, e_lo, e_hi, n):
    """Sample orders for epochs [e_lo, e_hi): the rows already drawn are kept,
    new epochs draw one permutation each, in epoch order, from the network's
    generator (so chunking never changes the sequence)."""
    if orders is not None and order_lo <= e_lo < order_lo + len(orders):
        kept = orders[e_lo - order_lo:]
    else:
        kept = np.empty((0, n), dtype=np.intp)
    fresh = e_hi - e_lo - len(kept)
    drawn = net._rng.permuted(np.tile(np.arange(n, dtype=np.intp), (fresh, 1)), axis=1)
    return np.ascontiguousarray(np.concatenate([kept, drawn])), e_lo


class _Run:
    """The state of one train() call: data, settings, per-epoch results."""

    def __init__(self, X, Y, opts, lrs, bar, sigint, samples_before, team, penalty):
        self.X, self.Y, self.lrs, self.k, self.shuffle = X, Y, lrs, opts.batch_size, opts.shuffle
        self.weights = opts.sample_weight   # sample weights (n,), or None
        self.validation, self.target, self.callbacks = opts.validation, opts.target, opts.callbacks
        self.record_every, self.bar, self.sigint = opts.record_every, bar, sigint
        self.team = team                    # a Team of the network's core, or None
        self.n = X.shape[0]
        self.S = -(-self.n // self.k)
        self.total = opts.epochs * self.S
        self.samples_before = samples_before
        # Written after every sample by the compiled loop: on cache lines of its
        # own, not shared with another thread's (a 5-epoch run's sums fill 40 bytes).
        self.loss_sums = _core.aligned_zeros(opts.epochs)
        self.penalty_sums = _core.aligned_zeros(opts.epochs) if penalty else None
        self.times = _EpochTimes(opts.epochs, self.S)
        self.val_loss = []
        self.record_state = np.zeros(3)     # open window's sum, its count, means written
        self.records = []
        self.stop_reason = None
        self.per_epoch = None               # epoch index, samples seen, lr: made once

    def penalty_in(self, e_lo, e_hi):
        """The penalty sums of epochs [e_lo, e_hi) for a compiled call, or None."""
        return None if self.penalty_sums is None else self.penalty_sums[e_lo:e_hi]

    def clear_sums(self, e_lo, e_hi=None):
        """Zero the per-epoch sums of epochs [e_lo, e_hi) (to the end by default)."""
        self.loss_sums[e_lo:e_hi] = 0.0
        if self.penalty_sums is not None:
            self.penalty_sums[e_lo:e_hi] = 0.0

    def means(self, sums, step):
        """Per-epoch means of per-sample sums over the first `step` steps (a
        trailing partial epoch averaged over the samples it visited)."""
        full, partial = divmod(step, self.S)
        # one sample per epoch (the worked example): the sums are the means
        means = sums[:full + (partial > 0)] / self.n if self.n > 1 else sums[:full]
        if partial:
            means[-1] = sums[full] / (self.samples_in(step) - full * self.n)
        return means

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
        completed epochs never change afterwards, so the per-epoch arrays
        are slices of arrays made once per call (a History for a callback
        after every epoch costs no copy of them)."""
        full, partial = divmod(step, self.S)
        count = full + (partial > 0)
        if self.per_epoch is None:
            first, epochs, n, before = epochs_trained - full, len(self.loss_sums), self.n, self.samples_before
            self.per_epoch = (np.arange(first, first + epochs, dtype=np.int64),
                              np.arange(before + n, before + (epochs + 1) * n, n, dtype=np.int64),
                              np.array(self.lrs))
        epoch, samples, lr = (a[:count] for a in self.per_epoch)
        if partial:
            samples = samples.copy()
            samples[-1] = self.samples_before + self.samples_in(step)
        record = np.concatenate(self.records) if self.records else np.empty(0)
        return History(
            loss=self.means(self.loss_sums, step), val_loss=np.array(self.val_loss[:count]),
            penalty=np.empty(0) if self.penalty_sums is None else self.means(self.penalty_sums, step),
            epoch=epoch, lr=lr,
            time=self.times.first(count), samples=samples,
            record_every=self.record_every, record=record,
            record_samples=self.samples_before + self.record_every * np.arange(1, record.size + 1,
                                                                               dtype=np.int64)
            if self.record_every else np.empty(0, dtype=np.int64),
            stop_reason=self.stop_reason)


class _EpochTimes:
    """History.time of a call: the epochs that ended in a compiled call are
    timed by linear interpolation over its steps, written out when a History
    is made (one compiled call may end many epochs)."""

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
            np.multiply(np.arange((first + 1) * self.S - step, (last + 1) * self.S - step, self.S),
                        (t1 - t0) / done, out=ended)
            ended += t0
        self.pending.clear()
        return self.seconds[:count]


def _blas_alone(net, threads):
    """While a team of threads shares the mini-batches, each member's BLAS
    products run on one BLAS thread (through threadpoolctl, when installed):
    BLAS's own threads would otherwise oversubscribe the cores, or queue the
    members' calls one after another."""
    if threads == 1 or not net._core.blas_in_use():
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
                _getsignal(signal.SIGINT) is signal.default_int_handler:
            self._previous = _setsignal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        self.fired = True

    def __exit__(self, *exc):
        if self._previous is not None:
            _setsignal(signal.SIGINT, self._previous)
        return False

