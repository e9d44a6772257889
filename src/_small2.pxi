# The one special path of online training: networks of two weight layers,
# each at most NARROW_WIDTH units wide, trained with plain SGD on the squared
# error of a non-softmax output (small2_fits).  Such a step is a few dozen
# multiply-adds, and each sample's forward pass reads the weights the last
# sample's update just wrote, one chain of dependent operations from sample
# to sample.  Through online_step that chain runs through memory, between
# loops set up for any width and calls that switch over codes.  Here the
# parameters stay in fixed-size locals that the compiler keeps in registers,
# and every loop has the constant trip count NARROW_WIDTH.  It is online_step
# written out for this one shape: the same operations in the same order, the
# activations and derivatives from the same table (act_one, act_slope), so
# the same bits (tests/test_kernels.py compares it with learn_one's).

cdef enum:
    NARROW_WIDTH = 4


cdef inline bint narrow(const bp_net* net) noexcept nogil:
    """Whether every layer of the network is at most NARROW_WIDTH wide."""
    cdef Py_ssize_t l
    for l in range(net.n_layers + 1):
        if net.size[l] > NARROW_WIDTH:
            return False
    return True


cdef inline bint small2_fits(const bp_net* net) noexcept nogil:
    """Whether online training of this network runs small2_online."""
    return (net.n_layers == 2 and narrow(net) and plain_sgd(net) and net.loss == BP_SQUARED
            and net.act[1] != BP_SOFTMAX)


cdef inline void small2_copy(bp_net* net, real* w0, real* b0, real* w1, real* b1,
                             bint store) noexcept nogil:
    """Copy a small two-layer network's parameters into small2_online's locals
    (rows of W_l at a stride of NARROW_WIDTH, the biases in order), or with
    store, the locals back into the parameters."""
    cdef Py_ssize_t l, j, i
    cdef real* w
    cdef real* b
    cdef real* p
    for l in range(2):
        w = w0 if l == 0 else w1
        b = b0 if l == 0 else b1
        for j in range(net.size[l + 1]):
            p = net.params + net.w_off[l] + j * net.size[l]
            for i in range(net.size[l]):
                if store:
                    p[i] = w[j * NARROW_WIDTH + i]
                else:
                    w[j * NARROW_WIDTH + i] = p[i]
        p = net.params + net.b_off[l]
        for j in range(net.n_bias[l]):
            if store:
                p[j] = b[j]
            else:
                b[j] = p[j]


cdef inline void small2_flush(bp_net* net, real* w0, real* b0, real* w1, real* b1,
                              Py_ssize_t* steps) noexcept nogil:
    """Write small2_online's locals back: the parameters, and the steps taken
    since the last flush into the network's step count."""
    net.n_steps += steps[0]
    steps[0] = 0
    small2_copy(net, w0, b0, w1, b1, True)


cdef int small2_online(bp_net* net, bp_run* run, const real* X, const real* Y,
                       Py_ssize_t n, const Py_ssize_t* order, Py_ssize_t step0,
                       Py_ssize_t n_steps, Py_ssize_t* done) noexcept nogil:
    """train_online for a network that small2_fits accepts, with the
    parameters in locals from one sample to the next: written back before
    every finiteness check and every return.  The workspace is not filled."""
    cdef Py_ssize_t n_in = net.size[0], n_h = net.size[1], n_out = net.size[2]
    cdef Py_ssize_t nb0 = net.n_bias[0], nb1 = net.n_bias[1]
    cdef int code0 = net.act[0], code1 = net.act[1]
    cdef real slope0 = net.act_param[0], slope1 = net.act_param[1]
    cdef bint bias0 = nb0 > 0 and net.train_bias, bias1 = nb1 > 0 and net.train_bias
    cdef real w0[NARROW_WIDTH * NARROW_WIDTH]
    cdef real w1[NARROW_WIDTH * NARROW_WIDTH]
    cdef real b0[NARROW_WIDTH]
    cdef real b1[NARROW_WIDTH]
    cdef real zh[NARROW_WIDTH]
    cdef real h[NARROW_WIDTH]
    cdef real dh[NARROW_WIDTH]
    cdef real o[NARROW_WIDTH]
    cdef real d[NARROW_WIDTH]
    cdef Py_ssize_t steps = 0, idx, j, i
    cdef const real* x
    cdef const real* t
    cdef real lr, s, r, E, sb
    cdef int due
    cdef bp_cursor c
    small2_copy(net, w0, b0, w1, b1, False)
    for j in range(NARROW_WIDTH):
        dh[j] = 0.0  # set by every sample before use, but gcc cannot see that
    c = cursor_at(step0, n_steps, n)
    while cursor_run(&c):
        lr = epoch_lr(run, c.e)
        while c.p < c.end:
            idx = cursor_sample(&c, order)
            x = X + idx * n_in
            t = Y + idx * n_out
            for j in range(NARROW_WIDTH):
                if j < n_h:
                    s = 0.0
                    for i in range(NARROW_WIDTH):
                        if i < n_in:
                            s = s + w0[j * NARROW_WIDTH + i] * x[i]
                    if nb0 == n_h:
                        s = s + b0[j]
                    elif nb0 == 1:
                        s = s + b0[0]
                    zh[j] = s
                    h[j] = act_one(code0, slope0, s)
            E = 0.0
            for j in range(NARROW_WIDTH):
                if j < n_out:
                    s = 0.0
                    for i in range(NARROW_WIDTH):
                        if i < n_h:
                            s = s + w1[j * NARROW_WIDTH + i] * h[i]
                    if nb1 == n_out:
                        s = s + b1[j]
                    elif nb1 == 1:
                        s = s + b1[0]
                    o[j] = act_one(code1, slope1, s)
                    r = o[j] - t[j]
                    d[j] = r * act_slope(code1, slope1, s, o[j])
                    E = E + 0.5 * r * r
            if not isfinite(E):
                small2_flush(net, w0, b0, w1, b1, &steps)
                done[0] = c.done
                return BP_NONFINITE_LOSS
            note_loss(run, c.e, E)
            steps += 1
            # backward: the hidden deltas from W_1 before its update, then the updates
            for i in range(NARROW_WIDTH):
                if i < n_h:
                    s = 0.0 + d[0] * w1[i]
                    for j in range(1, NARROW_WIDTH):
                        if j < n_out:
                            s = s + d[j] * w1[j * NARROW_WIDTH + i]
                    dh[i] = s * act_slope(code0, slope0, zh[i], h[i])
            for j in range(NARROW_WIDTH):
                if j < n_out:
                    for i in range(NARROW_WIDTH):
                        if i < n_h:
                            w1[j * NARROW_WIDTH + i] = w1[j * NARROW_WIDTH + i] - (lr * d[j]) * h[i]
            if bias1:
                if nb1 == 1:
                    sb = 0.0
                    for j in range(NARROW_WIDTH):
                        if j < n_out:
                            sb = sb + d[j]
                    b1[0] = b1[0] - lr * sb
                else:
                    for j in range(NARROW_WIDTH):
                        if j < n_out:
                            b1[j] = b1[j] - lr * d[j]
            for j in range(NARROW_WIDTH):
                if j < n_h:
                    for i in range(NARROW_WIDTH):
                        if i < n_in:
                            w0[j * NARROW_WIDTH + i] = w0[j * NARROW_WIDTH + i] - (lr * dh[j]) * x[i]
            if bias0:
                if nb0 == 1:
                    sb = 0.0
                    for j in range(NARROW_WIDTH):
                        if j < n_h:
                            sb = sb + dh[j]
                    b0[0] = b0[0] - lr * sb
                else:
                    for j in range(NARROW_WIDTH):
                        if j < n_h:
                            b0[j] = b0[j] - lr * dh[j]
            c.p += 1
            c.done += 1
        due = cursor_end(&c, run)
        if due:
            small2_flush(net, w0, b0, w1, b1, &steps)
        due = cursor_verdict(due, net, run, &c, done)
        if due != CURSOR_GO_ON:
            return due
    small2_flush(net, w0, b0, w1, b1, &steps)
    done[0] = c.done
    return BP_OK
