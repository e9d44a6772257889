# One mini-batch step, and the loop over the steps of a training call that
# shares each batch among a team (see _team.pxi).

cdef void rows_apply(int code, real slope, real* Z, real* O, real* d_out, real* d_act,
                     real* D, Py_ssize_t R, Py_ssize_t width, Py_ssize_t lo, Py_ssize_t hi,
                     bint backward) noexcept nogil:
    """activate (forward) or hidden_delta (backward) on columns [lo, hi) of
    R rows of width units: in one pass when the block is whole rows."""
    cdef Py_ssize_t r, o
    if lo == 0 and hi == width:
        R, width, hi = 1, R * width, R * width
    for r in range(R):
        o = r * width + lo
        if backward:
            hidden_delta(code, slope, Z + o, O + o, d_out + o, d_act + o, D + o, hi - lo)
        else:
            activate(code, slope, Z + o, O + o, hi - lo)


cdef void weight_step(bp_net* net, const bp_batch* batch, const bp_step* st, real* grad,
                      bint blas, bint direct, Py_ssize_t R, Py_ssize_t M, Py_ssize_t N,
                      const real* D, Py_ssize_t ldd, const real* A, Py_ssize_t lda,
                      Py_ssize_t off, Py_ssize_t ld) noexcept nogil:
    """The step of the block of weights params[off + j ld + i] (j < M, i < N)
    from their gradient Σ_r D[r, j] A[r, i] over R rows (D and A row-major,
    row strides ldd and lda).  direct (plain SGD on BLAS): one dgemm adds
    -(lr / R) Dᵀ A to the weights; else the gradient goes to grad (the
    gradient buffer, laid out as params) and then through the optimiser."""
    cdef Py_ssize_t j
    cdef real* G = grad + off
    if direct:
        gemm_atb_add(batch, True, -st.lr / R, M, N, R, D, ldd, A, lda, net.params + off, ld)
        return
    for j in range(M):
        memset(G + j * ld, 0, N * sizeof(real))
    gemm_atb_add(batch, blas, 1.0, M, N, R, D, ldd, A, lda, G, ld)
    if N == ld:
        M, N = 1, M * N     # whole rows: one pass
    for j in range(M):
        opt_update(net, st, off + j * ld, N, 1.0 / R, G + j * ld, st.weight_decay)


cdef void bias_step(bp_net* net, const bp_step* st, real* G, Py_ssize_t l,
                    const real* D, Py_ssize_t R, Py_ssize_t lo, Py_ssize_t hi,
                    bint direct) noexcept nogil:
    """Layer l's biases from its deltas D (R x size[l + 1]): the per-unit
    biases [lo, hi), or the shared one when lo == 0.  direct: plain SGD, b -=
    (lr / R) Σ_r D[r]; else the gradient Σ_r D[r] goes to G (the gradient
    buffer) and then through the optimiser."""
    cdef Py_ssize_t n_out = net.size[l + 1], nb = net.n_bias[l], r, j
    cdef real* b = net.params + net.b_off[l]
    cdef real* g = G + net.b_off[l]
    cdef real c = st.lr / R, sb
    cdef real wd = st.weight_decay if net.decay_bias else 0.0
    if not net.train_bias or nb == 0 or hi <= lo or (nb == 1 and lo > 0):
        return
    if nb == 1:
        if not direct:
            g[0] = 0.0
        for r in range(R):
            sb = 0.0
            for j in range(n_out):
                sb = sb + D[r * n_out + j]
            if direct:
                b[0] = b[0] - c * sb
            else:
                g[0] = g[0] + sb
        if not direct:
            opt_update(net, st, net.b_off[l], 1, 1.0 / R, g, wd)
        return
    if direct:
        for r in range(R):
            sub_scaled(b + lo, c, D + r * n_out + lo, hi - lo)
        return
    memset(g + lo, 0, (hi - lo) * sizeof(real))
    for r in range(R):
        axpy(g + lo, 1.0, D + r * n_out + lo, hi - lo)
    opt_update(net, st, net.b_off[l] + lo, hi - lo, 1.0 / R, g + lo, wd)


cdef int batch_step(bp_net* net, bp_work* work, bp_batch* batch, bp_run* run, Py_ssize_t e,
                    const real* X, const real* Y, const real* w, Py_ssize_t rows,
                    bp_team* team, int t, int* phase) noexcept nogil:
    """Thread t's part of one mini-batch step of epoch e on rows consecutive
    samples X, Y (row-major): the forward and backward passes as matrix
    products over the whole batch, the gradient averaged over its rows, then
    one optimiser step.  Each sample's loss, taken before the step, goes to
    note_loss.  With sample weights w (rows values, else NULL) the step
    follows ∇[mean_r w_r E_r + ½ λ ‖W‖²] / w̄, w̄ the batch's mean weight:
    sample r's output deltas and loss are scaled by c_r = w_r / w̄ (the
    gradient stays a mean over rows) and the weight decay λ by 1 / w̄.  So
    the step does not depend on the weights' overall scale, and with unit
    weights it is the unweighted one (c_r = 1 exactly).  Plain SGD on BLAS updates W_l -= (lr/R) D_lᵀ A_{l-1} in one
    dgemm, after D_{l-1} = (D_l W_l) ⊙ f' has read the old W_l; otherwise the
    gradient goes through work.grad and the optimiser."""
    cdef Py_ssize_t L = net.n_layers, R = rows, l, r, j, o, n_in, n_out, lo, hi, u
    cdef const real* A = X
    cdef real* Z
    cdef real* O
    cdef real* D
    cdef real* W
    cdef const real* b
    cdef real E, c
    # the batch's mean weight, in double: float32 weights of a large (or tiny)
    # batch total would overflow (or underflow) in float
    cdef double w_mean = 1.0
    cdef int code, status = BP_OK
    cdef bint blas, direct
    cdef bp_step st
    # forward: Z_l = A_{l-1} W_lᵀ + b_l, A_l = f(Z_l), on the columns t owns
    for l in range(L):
        n_in = net.size[l]
        n_out = net.size[l + 1]
        Z = batch.net + R * net.u_off[l]
        O = batch.out + R * net.u_off[l]
        code = net.act[l]
        own(n_out, team, t, &lo, &hi)
        if hi > lo:
            gemm_abt(batch, layer_blas(batch, R, n_in, n_out), R, hi - lo, n_in, A,
                     net.params + net.w_off[l] + lo * n_in, Z + lo, n_out)
            b = net.params + net.b_off[l]
            if net.n_bias[l] > 0:
                for r in range(R):
                    add_bias(Z + r * n_out + lo, b + lo if net.n_bias[l] > 1 else NULL, hi - lo,
                             b[0])
            if code != BP_SOFTMAX:
                rows_apply(code, net.act_param[l], Z, O, NULL, NULL, NULL, R, n_out, lo, hi,
                           False)
        if code == BP_SOFTMAX:
            # softmax needs whole rows: the team splits the rows instead
            status = team_sync(team, t, phase, status)
            if status != BP_OK:
                return status
            own(R, team, t, &lo, &hi)
            for r in range(lo, hi):
                activate(code, net.act_param[l], Z + r * n_out, O + r * n_out, n_out)
        status = team_sync(team, t, phase, status)
        if status != BP_OK:
            return status
        A = O
    # output layer (thread 0): each sample's loss and deltas, then the step's constants
    if t == 0:
        n_out = net.size[L]
        u = R * net.u_off[L - 1]
        if w != NULL:
            w_mean = 0.0
            for r in range(R):
                w_mean = w_mean + w[r]
            w_mean = w_mean / R
        for r in range(R):
            j = r * n_out
            E = output_stage(net, batch.net + u + j, batch.out + u + j, Y + j,
                             batch.d_out + u + j, batch.d_act + u + j, batch.delta + u + j,
                             batch.errors + j)
            if not isfinite(E):
                status = BP_NONFINITE_LOSS
                break
            if w != NULL:
                c = <real>(w[r] / w_mean)
                E = c * E
                for o in range(n_out):
                    batch.delta[u + j + o] = c * batch.delta[u + j + o]
            note_loss(run, e, E)
        if status == BP_OK:
            st = begin_step(net, epoch_lr(run, e))
            st.weight_decay = net.weight_decay / w_mean
            note_penalty(net, run, e, st.weight_decay, R)
            if team != NULL:
                team.st = st
    status = team_sync(team, t, phase, status)
    if status != BP_OK:
        return status
    if team != NULL:
        st = team.st
    # backward, from the top: level l >= 1 computes t's columns of D_{l-1}
    # and updates the same columns of W_l; layer 0 updates t's rows of W_0.
    direct = batch.gemm != NULL and plain_sgd(net)
    for l in range(L - 1, -1, -1):
        n_in = net.size[l]
        n_out = net.size[l + 1]
        D = batch.delta + R * net.u_off[l]
        A = X if l == 0 else batch.out + R * net.u_off[l - 1]
        W = net.params + net.w_off[l]
        blas = layer_blas(batch, R, n_in, n_out)
        own(n_in if l > 0 else n_out, team, t, &lo, &hi)
        if l > 0 and hi > lo:
            u = R * net.u_off[l - 1]
            gemm_ab(batch, blas, R, hi - lo, n_out, D, W + lo, n_in, batch.d_out + u + lo, n_in)
            rows_apply(net.act[l - 1], net.act_param[l - 1], batch.net + u, batch.out + u,
                       batch.d_out + u, batch.d_act + u, batch.delta + u, R, n_in, lo, hi, True)
            # columns [lo, hi) of W_l
            weight_step(net, batch, &st, work.grad, blas, direct, R, n_out, hi - lo, D, n_out,
                        A + lo, n_in, net.w_off[l] + lo, n_in)
        elif l == 0 and hi > lo:
            # rows [lo, hi) of W_0
            weight_step(net, batch, &st, work.grad, blas, direct, R, hi - lo, n_in, D + lo,
                        n_out, X, n_in, net.w_off[0] + lo * n_in, n_in)
        own(n_out, team, t, &lo, &hi)
        if l > 0 or net.n_bias[0] != 1:
            bias_step(net, &st, work.grad, l, D, R, lo, hi, direct)
        if l > 0:
            status = team_sync(team, t, phase, status)
            if status != BP_OK:
                return status
    if net.train_bias and net.n_bias[0] == 1:
        # the shared bias of layer 0 sums all of D_0, which the whole team wrote
        status = team_sync(team, t, phase, status)
        if status != BP_OK:
            return status
        own(net.size[1], team, t, &lo, &hi)
        bias_step(net, &st, work.grad, 0, batch.delta + R * net.u_off[0], R, lo, hi, direct)
        status = team_sync(team, t, phase, status)
    return status


cdef int train_batches(bp_net* net, bp_work* work, bp_batch* batch, bp_run* run,
                       const real* X, const real* Y, Py_ssize_t n, const Py_ssize_t* order,
                       Py_ssize_t k, Py_ssize_t step0, Py_ssize_t n_steps, Py_ssize_t* done,
                       bp_team* team, int t) noexcept nogil:
    """train_steps for k > 1: thread t's part of batch_step on each batch, its
    samples gathered (each thread its block of rows) into one of two halves
    of the batch workspace, in turn, when an order is given."""
    cdef Py_ssize_t n_in = net.size[0], n_out = net.size[net.n_layers]
    cdef Py_ssize_t S = (n + k - 1) // k
    cdef Py_ssize_t s, e, b, p, p_end, i, idx, lo, hi, half
    cdef const real* Xb
    cdef const real* Yb
    cdef const real* wb = NULL
    cdef int status = BP_OK, phase = 0
    done[0] = 0
    for s in range(step0, step0 + n_steps):
        e = s // S
        b = s - e * S
        p = b * k
        p_end = p + k if p + k < n else n
        if order == NULL:
            Xb = X + p * n_in
            Yb = Y + p * n_out
            if run.weights != NULL:
                wb = run.weights + p
        else:
            # two halves: a team member may still read the last batch's rows
            half = (s & 1) * batch.rows
            own(p_end - p, team, t, &lo, &hi)
            for i in range(p + lo, p + hi):
                idx = order[e * n + i]
                memcpy(batch.x + (half + i - p) * n_in, X + idx * n_in, n_in * sizeof(real))
                memcpy(batch.y + (half + i - p) * n_out, Y + idx * n_out, n_out * sizeof(real))
                if run.weights != NULL:
                    run.weight_rows[half + i - p] = run.weights[idx]
            status = team_sync(team, t, &phase, status)
            if status != BP_OK:
                return status
            Xb = batch.x + half * n_in
            Yb = batch.y + half * n_out
            if run.weights != NULL:
                wb = run.weight_rows + half
        status = batch_step(net, work, batch, run, e, Xb, Yb, wb, p_end - p, team, t, &phase)
        if status != BP_OK:
            return status
        if b == S - 1 or s == step0 + n_steps - 1:
            status = team_sync(team, t, &phase, status)
            if status != BP_OK:
                return status
            if t == 0:
                if not state_finite(net):
                    status = BP_NONFINITE_PARAMS
                elif b == S - 1 and run.loss_sums[e] / n <= run.target:
                    run.stopped = True
                if team != NULL:
                    team.stopped = run.stopped
            status = team_sync(team, t, &phase, status)
            if status != BP_OK:
                return status
        done[0] = s - step0 + 1
        if (team.stopped if team != NULL else run.stopped):
            return BP_OK
    return BP_OK
