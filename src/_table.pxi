# The entries of a kernel build: train_steps, the losses and predictions of
# many samples, and the table that _core finds them through.

cdef int train_steps(bp_net* net, bp_work* work, bp_batch* batch, bp_run* run,
                     const real* X, const real* Y, Py_ssize_t n, const Py_ssize_t* order,
                     Py_ssize_t k, Py_ssize_t step0, Py_ssize_t n_steps,
                     Py_ssize_t* done, bp_team* team, int t) noexcept nogil:
    """Run optimiser steps step0 .. step0 + n_steps - 1 of a window of epochs.

    X: (n, size[0]) and Y: (n, size[L]), C-contiguous.  Step s belongs to
    epoch e = s // S of the window (S = ceil(n / k) steps per epoch) and covers
    positions [b k, min(b k + k, n)) of that epoch's sample order, b = s % S;
    order holds one permutation of range(n) per epoch of the window, or is
    NULL for the natural order.  k = 1 is online learning (an update per
    sample); k > 1 averages the gradient over the batch before one update.
    epoch_lr(run, e) is epoch e's learning rate; run.loss_sums[e] accumulates the
    loss of each sample, taken before the update that sample contributes to;
    with run.record_every = N the mean of every N consecutive losses is
    appended to run.record.  After the first epoch whose mean loss is at most
    run.target, training stops with run.stopped set.

    Stops early with BP_NONFINITE_LOSS when a sample's loss is not finite
    (before that sample's update) or BP_NONFINITE_PARAMS when the parameters
    or optimiser state are not finite at the end of an epoch or of the call.
    *done receives the number of steps completed (and checked).

    With team (k > 1 only), this is thread t's part of the call: every member
    runs train_steps with the same arguments but its own t and done, and
    thread 0's status and *done are the call's.
    """
    if k == 1:
        return train_online(net, work, run, X, Y, n, order, step0, n_steps, done)
    return train_batches(net, work, batch, run, X, Y, n, order, k, step0, n_steps, done,
                         team, t)


cdef void sample_losses(const bp_net* net, bp_work* work, const real* X,
                        const real* Y, Py_ssize_t n, real* losses) noexcept nogil:
    """losses[i] = E of sample i under the current parameters."""
    cdef Py_ssize_t i, n_in = net.size[0], n_out = net.size[net.n_layers]
    for i in range(n):
        # sweeps in alternate directions, as in train_online
        forward(<bp_net*>net, work, X + i * n_in, NULL, 0.0, (i & 1) != 0)
        losses[i] = bp_output(net, work, Y + i * n_out)


cdef void predict_rows(const bp_net* net, bp_work* work, const real* X,
                       const real* Y, Py_ssize_t n, real* out) noexcept nogil:
    """out[i, :] = the network's outputs for X[i] (Y is not used)."""
    cdef Py_ssize_t i, n_in = net.size[0], n_out = net.size[net.n_layers]
    for i in range(n):
        predict_into(net, work, X + i * n_in, out + i * n_out, (i & 1) != 0)


cdef void fill_table(bp_kernels* table, const char* name) noexcept nogil:
    """Point table at this build's kernels."""
    table.name = name
    table.train = train_steps
    table.predict = predict_rows
    table.losses = sample_losses
