# The online step: forward pass, output stage and backward pass with the
# update, for one sample (online_step), and the online training loop over
# many samples (train_online).  Every online update runs online_step: train's
# online loop, Model.learn_one and the C API's bp_learn_one, and trace's
# capture_step, so a trace shows the numbers that training computes.  The one
# exception is the register loop of _small2.pxi (see there).

cdef void forward(bp_net* net, bp_work* work, const real* x, const real* xp,
                  real lrp, bint reverse=False) noexcept nogil:
    """Forward pass: fill work.net and work.out for every layer.

    With xp != NULL the first layer's weights have a pending plain-SGD update
    from the previous sample (input xp, learning rate lrp, deltas still in
    work.delta): each row gets it just before it is read, while it is in the
    L1 cache, so the matrix is swept once.  Where BP_ROWS4, rows go four at a
    time through bp_rows4 (inputs of BP_ROWS4_MIN or more), the rest one by one.

    `reverse` takes the blocks of four rows last to first, and so the rows
    one by one (the remainder after the blocks, or all of them).  Rows are
    independent, so the order changes no bits.  A sweep that starts on the
    rows the last one ended on finds them still in the cache, where a matrix
    a little larger than the cache would otherwise be evicted row by row just
    before it is needed again.  So online training with the deferred update
    (the forward sweeps alone meet the matrix), prediction and the loss
    alternate the direction from sample to sample.  Where the backward pass
    sweeps the matrix too (other optimisers, learn_one), the forward sweep
    keeps the first-to-last direction."""
    cdef Py_ssize_t l, j, jb, j4, n_in, n_out, nb
    cdef const real* a_in = x
    cdef real* W
    cdef const real* b
    cdef real* z
    cdef real c4[4]
    for l in range(net.n_layers):
        n_in = net.size[l]
        n_out = net.size[l + 1]
        W = net.params + net.w_off[l]
        b = net.params + net.b_off[l]
        nb = net.n_bias[l]
        z = work.net + net.u_off[l]
        j4 = 0
        if BP_ROWS4 and n_in >= BP_ROWS4_MIN:
            j4 = n_out - (n_out & 3)
            for jb in range(0, j4, 4):
                j = j4 - 4 - jb if reverse else jb
                if l == 0 and xp != NULL:
                    c4[0] = lrp * work.delta[j]
                    c4[1] = lrp * work.delta[j + 1]
                    c4[2] = lrp * work.delta[j + 2]
                    c4[3] = lrp * work.delta[j + 3]
                    bp_rows4(W + j * n_in, n_in, c4, xp, a_in, n_in, z + j)
                else:
                    bp_rows4(W + j * n_in, n_in, NULL, NULL, a_in, n_in, z + j)
        for jb in range(j4, n_out):
            j = n_out - 1 - (jb - j4) if reverse else jb
            if l == 0 and xp != NULL:
                z[j] = update_dot(W + j * n_in, lrp * work.delta[j], xp, a_in, n_in)
            else:
                z[j] = dot(W + j * n_in, a_in, n_in)
        if nb > 0:
            add_bias(z, b if nb > 1 else NULL, n_out, b[0])
        activate(net.act[l], net.act_param[l], z, work.out + net.u_off[l], n_out)
        a_in = work.out + net.u_off[l]


cdef void flush_pending(bp_net* net, const bp_work* work, const real* xp,
                        real lrp) noexcept nogil:
    """Apply the first layer's pending plain-SGD update (see MODE_DEFER):
    row j gets w - (lrp δ_j) xp, exactly as opt_update would have done."""
    cdef Py_ssize_t j, n_in = net.size[0]
    for j in range(net.size[1]):
        sub_scaled(net.params + net.w_off[0] + j * n_in, lrp * work.delta[j], xp, n_in)



cdef void backward(bp_net* net, bp_work* work, const real* x, int mode,
                   const bp_step* st) noexcept nogil:
    """Online backward pass from the output deltas in work.delta, layer by
    layer from the top.  For each layer the deltas of the layer below are
    computed with its weights *before* they are updated (the textbook order):
    each row of weights is updated right after it was read.  MODE_CAPTURE also
    adds the sample's gradient to work.grad; MODE_DEFER leaves the first
    layer's weights for the next forward sweep."""
    cdef Py_ssize_t l, j, i, n_in, n_out, nb, rows
    cdef real* W
    cdef real* G
    cdef const real* a
    cdef real* d
    cdef real* d_prev
    cdef real sb, wd = net.weight_decay
    cdef real wd_bias = net.weight_decay if net.decay_bias else 0.0
    cdef bint capture = mode == MODE_CAPTURE
    cdef bint plain = plain_sgd(net)
    for l in range(net.n_layers - 1, -1, -1):
        n_in = net.size[l]
        n_out = net.size[l + 1]
        nb = net.n_bias[l]
        W = net.params + net.w_off[l]
        G = work.grad + net.w_off[l]
        a = x if l == 0 else work.out + net.u_off[l - 1]
        d = work.delta + net.u_off[l]
        d_prev = work.d_out + net.u_off[l - 1] if l > 0 else NULL
        # MODE_DEFER leaves the first layer's rows to the next forward sweep,
        # and there are no deltas below them: its row loop has nothing to do.
        rows = 0 if l == 0 and mode == MODE_DEFER else n_out
        if d_prev != NULL and plain and not capture:
            # The common case in one pass over each row: read w into d_prev,
            # then update it (d_prev sees the old weights).
            back_rows(d_prev, d, W, n_out, n_in, st.lr, a)
            rows = 0
        for j in range(rows):
            if d_prev != NULL:
                if j == 0:
                    # 0.0 + ...: the same bits as clearing d_prev and adding.
                    for i in range(n_in):  # vectorised
                        d_prev[i] = 0.0 + d[0] * W[i]
                else:
                    axpy(d_prev, d[j], W + j * n_in, n_in)
            if capture:
                axpy(G + j * n_in, d[j], a, n_in)
            if plain:
                sub_scaled(W + j * n_in, st.lr * d[j], a, n_in)
            else:
                opt_update(net, st, net.w_off[l] + j * n_in, n_in, d[j], a, wd)
        if nb > 0:
            G = work.grad + net.b_off[l]
            if nb == 1:
                sb = 0.0
                for j in range(n_out):
                    sb = sb + d[j]
                if capture:
                    G[0] = G[0] + sb
                if net.train_bias:
                    opt_update(net, st, net.b_off[l], 1, 1.0, &sb, wd_bias)
            else:
                if capture:
                    axpy(G, 1.0, d, n_out)
                if net.train_bias:
                    opt_update(net, st, net.b_off[l], n_out, 1.0, d, wd_bias)
        if d_prev != NULL:
            i = net.u_off[l - 1]
            hidden_delta(net.act[l - 1], net.act_param[l - 1], work.net + i, work.out + i,
                         d_prev, work.d_act + i, work.delta + i, n_in)


cdef inline bint all_finite(const real* v, Py_ssize_t n) noexcept nogil:
    """True unless v holds a NaN or an infinity (v == NULL: nothing to check)."""
    cdef real a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
    cdef real a4 = 0.0, a5 = 0.0, a6 = 0.0, a7 = 0.0
    cdef Py_ssize_t i, m = n - (n & 7)
    if v == NULL:
        return True
    # v - v is 0 for finite values and NaN for NaN or ±inf, and NaN is sticky,
    # so the sums are 0 or NaN in any order: eight independent sums keep the
    # pass branch-free and vector-wide (one in-order sum waits on the adder's
    # latency at every element).
    for i in range(0, m, 8):               # vectorised
        a0 = a0 + (v[i] - v[i])
        a1 = a1 + (v[i + 1] - v[i + 1])
        a2 = a2 + (v[i + 2] - v[i + 2])
        a3 = a3 + (v[i + 3] - v[i + 3])
        a4 = a4 + (v[i + 4] - v[i + 4])
        a5 = a5 + (v[i + 5] - v[i + 5])
        a6 = a6 + (v[i + 6] - v[i + 6])
        a7 = a7 + (v[i + 7] - v[i + 7])
    for i in range(m, n):
        a0 = a0 + (v[i] - v[i])
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) == 0.0


cdef inline bint state_finite(const bp_net* net) noexcept nogil:
    return (all_finite(net.params, net.n_params) and all_finite(net.state1, net.n_params)
            and all_finite(net.state2, net.n_params))


cdef inline void predict_into(const bp_net* net, bp_work* work, const real* x,
                              real* out, bint reverse) noexcept nogil:
    cdef Py_ssize_t k, L = net.n_layers, u = net.u_off[L - 1]
    forward(<bp_net*>net, work, x, NULL, 0.0, reverse)
    for k in range(net.size[L]):
        out[k] = work.out[u + k]


cdef inline real online_step(bp_net* net, bp_work* work, const real* x, const real* t,
                             real lr, int mode, const real* xp, real lrp,
                             bint reverse) noexcept nogil:
    """One online step on the sample (x, t) with learning rate lr: forward
    pass, output stage, then the backward pass with the optimiser's update.
    Returns the sample's loss E, taken before the update; a loss that is not
    finite is returned with no update made.  The workspace holds every
    intermediate of the step afterwards.

    mode: MODE_ONLINE updates every layer; MODE_CAPTURE also stores the
    sample's gradient in work.grad; MODE_DEFER (plain SGD only) leaves the
    first layer's weight update pending: the caller passes x and lr as the
    next step's xp and lrp, whose forward sweep applies it (see forward), or
    applies it with flush_pending.  xp, lrp and reverse go to forward."""
    cdef real E
    cdef bp_step st
    forward(net, work, x, xp, lrp, reverse)
    E = bp_output(net, work, t)
    if not isfinite(E):
        return E
    if mode == MODE_CAPTURE:
        memset(work.grad, 0, net.n_params * sizeof(real))
    st = begin_step(net, lr)
    backward(net, work, x, mode, &st)
    return E


# ---------------------------------------------------------- the online loop
# Online training checks the parameters for finiteness at an epoch end once
# at least this many samples have passed since the last check (and at the end
# of every call): every epoch for epochs of this many samples or more; for
# tinier ones the check would cost as much as the steps.
cdef enum:
    CHECK_EVERY = 64


cdef inline double epoch_lr(const bp_run* run, Py_ssize_t e) noexcept nogil:
    """Epoch e's learning rate (run.lr_stride 0: one rate for every epoch)."""
    return run.lrs[e * run.lr_stride]


cdef inline void note_loss(bp_run* run, Py_ssize_t e, real E) noexcept nogil:
    """Count one sample's loss in its epoch's sum and in the record."""
    run.loss_sums[e] += E
    if run.record_every > 0:
        run.record_sum += E
        run.record_count += 1
        if run.record_count == run.record_every:
            run.record[run.record_len] = run.record_sum / run.record_every
            run.record_len += 1
            run.record_sum = 0.0
            run.record_count = 0


# Where an online loop stands in its window of epochs (see train_steps):
# sample position p of epoch e, the samples of the window taken in runs that
# end at an epoch's end or at the call's.  train_online and small2_online both
# walk the window with these functions:
#
#     c = cursor_at(step0, n_steps, n)
#     while cursor_run(&c):
#         while c.p < c.end:
#             ... step on sample cursor_sample(&c, order) of epoch c.e ...
#             c.p += 1; c.done += 1
#         status = cursor_verdict(cursor_end(&c, run), net, run, &c, done)
#         if status != CURSOR_GO_ON: return status
ctypedef struct bp_cursor:
    Py_ssize_t n            # samples per epoch
    Py_ssize_t e            # the epoch (of the window) of the next sample
    Py_ssize_t p            # the next sample's position in that epoch's order
    Py_ssize_t end          # the end of the current run of positions
    Py_ssize_t left         # the call's steps not yet in a run
    Py_ssize_t done         # the call's steps done
    Py_ssize_t unchecked    # samples since the last finiteness check

cdef enum:
    CURSOR_CHECK = 1        # check the parameters now
    CURSOR_STOP = 2         # the epoch that just ended reached run.target
    CURSOR_GO_ON = -1       # cursor_verdict: on to the next run


cdef inline bp_cursor cursor_at(Py_ssize_t step0, Py_ssize_t n_steps, Py_ssize_t n) noexcept nogil:
    """A cursor before step step0 of a window of epochs of n samples, with
    n_steps steps to take."""
    cdef bp_cursor c
    c.n = n
    c.e = step0 // n
    c.p = step0 - c.e * n
    c.end = c.p
    c.left = n_steps
    c.done = 0
    c.unchecked = 0
    return c


cdef inline bint cursor_run(bp_cursor* c) noexcept nogil:
    """Start the next run of positions, c.p .. c.end, to the end of the epoch
    or of the call; False when the call's steps are all done."""
    if c.left == 0:
        return False
    c.end = c.p + c.left if c.p + c.left < c.n else c.n
    c.unchecked += c.end - c.p
    c.left -= c.end - c.p
    return True


cdef inline Py_ssize_t cursor_sample(const bp_cursor* c, const Py_ssize_t* order) noexcept nogil:
    """The index in X and Y of the sample at the cursor (order NULL: natural order)."""
    return order[c.e * c.n + c.p] if order != NULL else c.p


cdef inline int cursor_end(bp_cursor* c, const bp_run* run) noexcept nogil:
    """At the end of a run: what is due (CURSOR_CHECK, CURSOR_STOP, or 0),
    and at an epoch's end, on to the next epoch.  The parameters are due for
    a check at the end of the call and at an epoch's end CHECK_EVERY samples
    or more after the last check."""
    cdef int due = 0
    if c.left == 0 or (c.p == c.n and c.unchecked >= CHECK_EVERY):
        due = CURSOR_CHECK
        c.unchecked = 0
    if c.p == c.n:
        if run.target > -INFINITY and run.loss_sums[c.e] / c.n <= run.target:
            due = due | CURSOR_STOP
        c.e += 1
        c.p = 0
    return due


cdef inline int cursor_verdict(int due, const bp_net* net, bp_run* run, const bp_cursor* c,
                               Py_ssize_t* done) noexcept nogil:
    """Act on what cursor_end found due (the parameters written back first):
    BP_NONFINITE_PARAMS if they are not finite (*done: the steps before the
    last, whose update made them so), BP_OK with run.stopped at the target,
    else CURSOR_GO_ON.  *done receives the steps done."""
    done[0] = c.done
    if (due & CURSOR_CHECK) and not state_finite(net):
        done[0] = c.done - 1
        return BP_NONFINITE_PARAMS
    if due & CURSOR_STOP:
        run.stopped = True
        return BP_OK
    return CURSOR_GO_ON


cdef int train_online(bp_net* net, bp_work* work, bp_run* run, const real* X,
                      const real* Y, Py_ssize_t n, const Py_ssize_t* order,
                      Py_ssize_t step0, Py_ssize_t n_steps, Py_ssize_t* done) noexcept nogil:
    """train_steps for k = 1: online_step on each sample.  With plain SGD the
    first layer's update of each sample is deferred into the next sample's
    forward sweep (same arithmetic, same bits, one pass over the largest
    matrix instead of two); it is flushed at the end of every epoch and of the
    call.  Networks that small2_fits accepts run small2_online instead."""
    cdef Py_ssize_t n_in = net.size[0], n_out = net.size[net.n_layers], idx
    cdef const real* x
    cdef const real* xp = NULL
    cdef real E, lr, lrp = 0.0
    cdef bint defer = n > 1 and plain_sgd(net)
    cdef bint penalised = run.penalty_sums != NULL and net.weight_decay != 0.0
    cdef int mode = MODE_DEFER if defer else MODE_ONLINE, status
    cdef bp_cursor c
    if small2_fits(net):
        return small2_online(net, run, X, Y, n, order, step0, n_steps, done)
    c = cursor_at(step0, n_steps, n)
    done[0] = 0
    while cursor_run(&c):
        lr = epoch_lr(run, c.e)
        while c.p < c.end:
            idx = cursor_sample(&c, order)
            x = X + idx * n_in
            if penalised:
                note_penalty(net, run, c.e, net.weight_decay, 1)
            E = online_step(net, work, x, Y + idx * n_out, lr, mode, xp, lrp,
                            defer and (c.p & 1) != 0)
            if not isfinite(E):
                done[0] = c.done
                return BP_NONFINITE_LOSS
            note_loss(run, c.e, E)
            if defer:
                xp = x
                lrp = lr
            c.p += 1
            c.done += 1
        if xp != NULL:
            flush_pending(net, work, xp, lrp)
            xp = NULL
        status = cursor_verdict(cursor_end(&c, run), net, run, &c, done)
        if status != CURSOR_GO_ON:
            return status
    done[0] = c.done
    return BP_OK
