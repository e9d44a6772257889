# The per-sample kernels of backprop's compiled core.
#
# Notation (one sample, weight layer l from n_in = size[l] units to
# n_out = size[l + 1] units, a_0 = x the input):
#
#     z_l = W_l a_{l-1} + b_l                       (forward, "net")
#     a_l = f_l(z_l)                                (forward, "out")
#     δ_L = dE/da_L ⊙ f_L'(z_L)                     (output deltas)
#     dE/da_{l-1} = W_lᵀ δ_l                        (with W_l before its update)
#     δ_{l-1} = dE/da_{l-1} ⊙ f_{l-1}'(z_{l-1})
#     dE/dW_l = δ_l a_{l-1}ᵀ,  dE/db_l = δ_l        (shared bias: Σ_j δ_l[j])
#
# Everything here is `noexcept nogil` and allocates nothing: the callers own
# every buffer.  Reductions are written with a fixed summation order (eight
# partial sums in `dot`, sequential over rows in `axpy` accumulations) so the
# bits do not depend on how wide the vector unit is.

from libc.math cimport INFINITY, fabs, isfinite, sqrt

from backprop._types cimport *
from _kernel_types cimport *

# exp, log, log1p and tanh are the project's own (backprop/bp_math.h): the same
# bits on every CPU and with any libm.  sqrt is IEEE-exact everywhere.  The
# dot product, the logistic and the softmax are that header's too, so that the
# C code backprop.export writes computes them the same way.
from backprop._math cimport bp_exp, bp_exp_normal, bp_exp_scalar, bp_log, bp_log1p, bp_tanh
from backprop._math cimport bp_dot as dot, bp_logistic, bp_logistic_of as logistic_of, bp_softmax
from libc.string cimport memcpy, memset

# The vector primitives (their C in bp_simd.h); the mini-batch passes are
# included at the end.
include "_vector.pxi"

cdef enum:
    MODE_ONLINE = 0     # update the parameters after each sample
    MODE_CAPTURE = 1    # as online, and also store the sample's gradient
    MODE_DEFER = 2      # as online, but leave the first layer's weight update
                        # pending, to be applied during the next forward sweep


cdef inline double logistic(double z) noexcept nogil:
    # logistic(z) for the vectorised loops (bp_exp; see bp_logistic_of).
    return logistic_of(z, bp_exp(-fabs(z)))


cdef inline double logistic_normal(double z) noexcept nogil:
    # logistic(z), the same bits, for |z| <= 600 only (bp_exp_normal).
    return logistic_of(z, bp_exp_normal(-fabs(z)))


cdef inline bint within(const double* v, Py_ssize_t n, double bound) noexcept nogil:
    """Whether every |v[i]| <= bound (false for a NaN)."""
    cdef Py_ssize_t i, inside = 0
    for i in range(n):  # vectorised
        inside += fabs(v[i]) <= bound
    return inside == n


cdef inline double logistic_scalar(double z) noexcept nogil:
    # logistic(z), the same bits, for layers too narrow to vectorise.
    return bp_logistic(z)


cdef void activate(int code, double slope, const double* z, double* a,
                   Py_ssize_t n) noexcept nogil:
    """a = f(z) for one layer."""
    cdef Py_ssize_t i, k
    if code == BP_LOGISTIC:
        if n < 8 or not BP_VECTOR_EXP:
            for i in range(n):
                a[i] = logistic_scalar(z[i])
        else:
            # Whole groups of eight in vectors; the rest (an output layer of
            # 10 leaves 2) one by one with the scalar exp, same bits: the
            # vectoriser's own scalar epilogue would run the branch-free
            # bp_exp, three times slower one value at a time.
            # Net inputs beyond ±600 are rare (saturated units, divergence):
            # when there are none, the exp without special cases will do.
            k = n - (n & 7)
            if within(z, k, 600.0):
                for i in range(k):  # vectorised
                    a[i] = logistic_normal(z[i])
            else:
                for i in range(k):  # vectorised
                    a[i] = logistic(z[i])
            for i in range(k, n):
                a[i] = logistic_scalar(z[i])
    elif code == BP_TANH:
        # tanh saturates to ±1 without overflow for any finite z.
        for i in range(n):  # vectorised
            a[i] = bp_tanh(z[i])
    elif code == BP_RELU:
        for i in range(n):
            a[i] = z[i] if z[i] > 0.0 else 0.0
    elif code == BP_LEAKY_RELU:
        for i in range(n):
            a[i] = z[i] if z[i] > 0.0 else slope * z[i]
    elif code == BP_IDENTITY:
        for i in range(n):
            a[i] = z[i]
    elif code == BP_SOFTMAX:
        bp_softmax(z, a, n)


cdef void derivative(int code, double slope, const double* z, const double* a,
                     double* d, Py_ssize_t n) noexcept nogil:
    """d = f'(z), written from the output a where the function allows it.

    For softmax, whose Jacobian is not diagonal, d is its diagonal a(1 - a);
    the output deltas use the full Jacobian instead.
    """
    cdef Py_ssize_t i
    if code == BP_LOGISTIC or code == BP_SOFTMAX:
        for i in range(n):
            d[i] = a[i] * (1.0 - a[i])
    elif code == BP_TANH:
        for i in range(n):
            d[i] = 1.0 - a[i] * a[i]
    elif code == BP_RELU:
        for i in range(n):
            d[i] = 1.0 if z[i] > 0.0 else 0.0
    elif code == BP_LEAKY_RELU:
        for i in range(n):
            d[i] = 1.0 if z[i] > 0.0 else slope
    else:
        for i in range(n):
            d[i] = 1.0


cdef void forward(bp_net* net, bp_work* work, const double* x, const double* xp,
                  double lrp, bint reverse=False) noexcept nogil:
    """Forward pass: fill work.net and work.out for every layer.

    With xp != NULL the first layer's weights have a pending plain-SGD update
    from the previous sample (input xp, learning rate lrp, deltas still in
    work.delta): each row gets it just before it is read, while it is in the
    L1 cache, so the matrix is swept once.  Where BP_ROWS4, rows go four at a
    time through bp_rows4 (inputs of 8 or more), the rest one by one.

    `reverse` takes the blocks of four rows last to first, and so the rows
    one by one (the remainder after the blocks, or all of them).  Rows are
    independent, so the order changes no bits.  Every sweep over a matrix
    should start on the rows the last one ended on, still in the cache: a
    matrix a little larger than the L2 cache (W2's 784 x 256, 1.6 MB) is
    otherwise evicted row by row just before it is needed again.  So online
    training with the deferred update (the forward sweeps alone meet the
    matrix), prediction and the loss alternate the direction from sample to
    sample.  (Where the backward pass sweeps the matrix too, the optimiser's
    state or learn_one's undo copy outgrows the cache anyway: a last-to-first
    forward sweep gained nothing there.)"""
    cdef Py_ssize_t l, j, jb, j4, n_in, n_out, nb
    cdef const double* a_in = x
    cdef double* W
    cdef const double* b
    cdef double* z
    cdef double c4[4]
    for l in range(net.n_layers):
        n_in = net.size[l]
        n_out = net.size[l + 1]
        W = net.params + net.w_off[l]
        b = net.params + net.b_off[l]
        nb = net.n_bias[l]
        z = work.net + net.u_off[l]
        j4 = 0
        if BP_ROWS4 and n_in >= 8:
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


cdef void flush_pending(bp_net* net, const bp_work* work, const double* xp,
                        double lrp) noexcept nogil:
    """Apply the first layer's pending plain-SGD update (see MODE_DEFER):
    row j gets w - (lrp δ_j) xp, exactly as opt_update would have done."""
    cdef Py_ssize_t j, n_in = net.size[0]
    for j in range(net.size[1]):
        sub_scaled(net.params + net.w_off[0] + j * n_in, lrp * work.delta[j], xp, n_in)


cdef void hidden_delta(int code, double slope, const double* z, const double* a,
                       const double* d_out, double* d_act, double* delta,
                       Py_ssize_t n) noexcept nogil:
    """d_act = f'(z) and delta = d_out d_act for a hidden layer (as `derivative`,
    with the product folded into the same pass)."""
    cdef Py_ssize_t i
    if code == BP_LOGISTIC:
        for i in range(n):  # vectorised
            d_act[i] = a[i] * (1.0 - a[i])
            delta[i] = d_out[i] * d_act[i]
    elif code == BP_TANH:
        for i in range(n):  # vectorised
            d_act[i] = 1.0 - a[i] * a[i]
            delta[i] = d_out[i] * d_act[i]
    elif code == BP_RELU:
        for i in range(n):  # vectorised
            d_act[i] = 1.0 if z[i] > 0.0 else 0.0
            delta[i] = d_out[i] * d_act[i]
    elif code == BP_LEAKY_RELU:
        for i in range(n):  # vectorised
            d_act[i] = 1.0 if z[i] > 0.0 else slope
            delta[i] = d_out[i] * d_act[i]
    else:
        for i in range(n):
            d_act[i] = 1.0
            delta[i] = d_out[i] * d_act[i]


cdef double output_stage(const bp_net* net, const double* z, const double* o,
                         const double* t, double* d_out, double* d_act, double* delta,
                         double* err) noexcept nogil:
    """Loss of one forwarded sample (output pre-activations z, outputs o,
    targets t); fills the output layer's err, d_out, d_act and delta.
    Returns E = Σ_k err[k].

    squared:        e_k = ½ (o_k - t_k)²,  dE/do_k = o_k - t_k
    huber (h):      e_k = ½ r² if |r| <= h else h (|r| - ½ h),  r = o_k - t_k
    cross-entropy with logistic outputs (binary, per output):
                    e_k = -[t log o + (1 - t) log(1 - o)] = softplus(-z) t + softplus(z) (1 - t)
                    δ_k = o_k - t_k
    cross-entropy with softmax outputs (categorical):
                    e_k = -t_k log o_k = t_k (logsumexp(z) - z_k)
                    δ_k = o_k Σ_j t_j - t_k        (= o_k - t_k for targets summing to 1)
    """
    cdef Py_ssize_t L = net.n_layers, n = net.size[L], k
    cdef int code = net.act[L - 1]
    cdef double r, ar, h = net.loss_param, e, lp, m, s, lse, tsum, total
    cdef bint canonical = net.loss == BP_CROSS_ENTROPY

    derivative(code, net.act_param[L - 1], z, o, d_act, n)
    if net.loss == BP_SQUARED and code != BP_SOFTMAX:
        # The common case in one pass.
        total = 0.0
        for k in range(n):
            r = o[k] - t[k]
            err[k] = 0.5 * r * r
            d_out[k] = r
            delta[k] = r * d_act[k]
            total = total + err[k]
        return total
    if net.loss == BP_SQUARED:
        for k in range(n):
            r = o[k] - t[k]
            err[k] = 0.5 * r * r
            d_out[k] = r
    elif net.loss == BP_HUBER:
        for k in range(n):
            r = o[k] - t[k]
            ar = fabs(r)
            if ar <= h:
                err[k] = 0.5 * r * r
                d_out[k] = r
            else:
                err[k] = h * (ar - 0.5 * h)
                d_out[k] = h if r > 0.0 else -h
    elif code == BP_LOGISTIC:
        for k in range(n):
            # softplus(±z) = max(±z, 0) + log1p(exp(-|z|)): no overflow, and
            # no cancellation between the two terms of the loss.
            lp = bp_log1p(bp_exp_scalar(-fabs(z[k])))
            if z[k] > 0.0:
                err[k] = lp + (1.0 - t[k]) * z[k]
            else:
                err[k] = lp - t[k] * z[k]
            # dE/do = -t/o + (1-t)/(1-o); a term whose target weight is zero is
            # left out so that a saturated output gives ±inf, never 0·inf = NaN.
            e = 0.0
            if t[k] != 0.0:
                e = e - t[k] / o[k]
            if t[k] != 1.0:
                e = e + (1.0 - t[k]) / (1.0 - o[k])
            d_out[k] = e
            delta[k] = o[k] - t[k]
    else:
        # softmax: logsumexp(z) = m + log Σ exp(z - m) with m = max z.
        m = z[0]
        for k in range(1, n):
            if z[k] > m:
                m = z[k]
        s = 0.0
        for k in range(n):
            s = s + bp_exp_scalar(z[k] - m)
        lse = m + bp_log(s)
        tsum = 0.0
        for k in range(n):
            err[k] = t[k] * (lse - z[k])
            d_out[k] = -t[k] / o[k] if t[k] != 0.0 else 0.0
            tsum = tsum + t[k]
        for k in range(n):
            delta[k] = o[k] * tsum - t[k]

    if not canonical:
        if code == BP_SOFTMAX:
            # δ_k = Σ_j dE/do_j do_j/dz_k = o_k (dE/do_k - Σ_j o_j dE/do_j)
            s = 0.0
            for k in range(n):
                s = s + o[k] * d_out[k]
            for k in range(n):
                delta[k] = o[k] * (d_out[k] - s)
        else:
            for k in range(n):
                delta[k] = d_out[k] * d_act[k]

    total = 0.0
    for k in range(n):
        total = total + err[k]
    return total


cdef double bp_output(const bp_net* net, bp_work* work, const double* t) noexcept nogil:
    """Loss of the sample just forwarded into work (see output_stage)."""
    cdef Py_ssize_t u = net.u_off[net.n_layers - 1]
    return output_stage(net, work.net + u, work.out + u, t, work.d_out + u, work.d_act + u,
                        work.delta + u, work.errors)


cdef inline double epoch_lr(const bp_run* run, Py_ssize_t e) noexcept nogil:
    """Epoch e's learning rate (run.lr_stride 0: one rate for every epoch)."""
    return run.lrs[e * run.lr_stride]


cdef inline bint plain_sgd(const bp_net* net) noexcept nogil:
    """Whether the optimiser is SGD without momentum or weight decay, whose
    step is w -= lr g: the case the fused and deferred updates handle."""
    return net.opt == BP_SGD and net.momentum == 0.0 and net.weight_decay == 0.0


cdef inline bp_step begin_step(bp_net* net, double lr) noexcept nogil:
    """Count one optimiser step and compute its constants."""
    cdef bp_step st
    net.n_steps += 1
    st.lr = lr
    st.step_size = lr
    st.bc2_sqrt = 1.0
    st.weight_decay = net.weight_decay
    if net.opt == BP_ADAM:
        net.beta1_pow = net.beta1_pow * net.beta1
        net.beta2_pow = net.beta2_pow * net.beta2
        st.step_size = lr / (1.0 - net.beta1_pow)
        st.bc2_sqrt = sqrt(1.0 - net.beta2_pow)
        if net.eps_uncorrected:
            # The same update with the correction of √v moved into the step
            # size, so that ε is added to the uncorrected √v (÷ 1.0 is exact).
            st.step_size = lr * st.bc2_sqrt / (1.0 - net.beta1_pow)
            st.bc2_sqrt = 1.0
    return st


cdef void opt_update(bp_net* net, const bp_step* st, Py_ssize_t off, Py_ssize_t n,
                     double s, const double* src, double wd) noexcept nogil:
    """One optimiser step on params[off:off+n] with gradient g_i = s·src_i + wd·w_i.

    SGD (as torch.optim.SGD, zero dampening):  v = μ v + g;  w -= lr v
                                   (Nesterov:  w -= lr (g + μ v))
    plain SGD (μ = 0, wd = 0):                  w -= (lr s) src_i
    Adam (as torch.optim.Adam):  m = β1 m + (1-β1) g;  v = β2 v + (1-β2) g²
                                 w -= lr/(1-β1ᵗ) · m / (sqrt(v)/sqrt(1-β2ᵗ) + ε)
    (net.eps_uncorrected, as scikit-learn: w -= lr·sqrt(1-β2ᵗ)/(1-β1ᵗ) · m / (sqrt(v) + ε),
    through the same loop with the step constants of begin_step)
    """
    cdef double* w = net.params + off
    cdef double* v
    cdef double* m
    cdef double g, mu = net.momentum, lr = st.lr
    cdef double b1 = net.beta1, b2 = net.beta2, c1 = 1.0 - net.beta1, c2 = 1.0 - net.beta2
    cdef double step_size = st.step_size, bc2 = st.bc2_sqrt, eps = net.eps
    cdef Py_ssize_t i
    if net.opt == BP_SGD:
        if mu == 0.0 and wd == 0.0:
            sub_scaled(w, lr * s, src, n)
        elif mu == 0.0:
            for i in range(n):  # vectorised
                g = s * src[i] + wd * w[i]
                w[i] = w[i] - lr * g
        elif net.nesterov:
            v = net.state1 + off
            for i in range(n):  # vectorised
                g = s * src[i] + wd * w[i]
                v[i] = mu * v[i] + g
                w[i] = w[i] - lr * (g + mu * v[i])
        else:
            v = net.state1 + off
            for i in range(n):  # vectorised
                g = s * src[i] + wd * w[i]
                v[i] = mu * v[i] + g
                w[i] = w[i] - lr * v[i]
    else:
        m = net.state1 + off
        v = net.state2 + off
        for i in range(n):  # vectorised
            g = s * src[i] + wd * w[i]
            m[i] = b1 * m[i] + c1 * g
            v[i] = b2 * v[i] + c2 * (g * g)
            w[i] = w[i] - step_size * m[i] / (sqrt(v[i]) / bc2 + eps)


cdef void backward(bp_net* net, bp_work* work, const double* x, int mode,
                   const bp_step* st) noexcept nogil:
    """Online backward pass from the output deltas in work.delta, layer by
    layer from the top.  For each layer the deltas of the layer below are
    computed with its weights *before* they are updated (the textbook order):
    each row of weights is updated right after it was read.  MODE_CAPTURE also
    adds the sample's gradient to work.grad; MODE_DEFER leaves the first
    layer's weights for the next forward sweep."""
    cdef Py_ssize_t l, j, i, n_in, n_out, nb, rows
    cdef double* W
    cdef double* G
    cdef const double* a
    cdef double* d
    cdef double* d_prev
    cdef double sb, wd = net.weight_decay
    cdef double wd_bias = net.weight_decay if net.decay_bias else 0.0
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
        # MODE_DEFER leaves the first layer's rows alone (no deltas below it):
        # its row loop, 32 passes through the tests below for W1, is skipped.
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


cdef inline bint all_finite(const double* v, Py_ssize_t n) noexcept nogil:
    """True unless v holds a NaN or an infinity (v == NULL: nothing to check)."""
    cdef double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
    cdef double a4 = 0.0, a5 = 0.0, a6 = 0.0, a7 = 0.0
    cdef Py_ssize_t i, m = n - (n & 7)
    if v == NULL:
        return True
    # v - v is 0 for finite values and NaN for NaN or ±inf, and NaN is sticky,
    # so the sums are 0 or NaN in any order: eight independent sums keep the
    # pass branch-free and vector-wide (one in-order sum waits on the adder's
    # latency at every element).
    for i in range(0, m, 8):  # vectorised
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


cdef inline void predict_into(const bp_net* net, bp_work* work, const double* x,
                              double* out, bint reverse) noexcept nogil:
    cdef Py_ssize_t k, L = net.n_layers, u = net.u_off[L - 1]
    forward(<bp_net*>net, work, x, NULL, 0.0, reverse)
    for k in range(net.size[L]):
        out[k] = work.out[u + k]


# Narrow networks, whose layers are all at most NARROW_WIDTH wide, trained
# online with plain SGD and the squared error on a non-softmax output (the
# worked example's kind), take one fused step per sample: forward pass, loss,
# deltas and update in one function, with the activation, its derivative and
# the loss inlined per unit.  The generic path spends most of such a tiny step
# dispatching (activate, output_stage and hidden_delta are calls with a
# switch over codes and loops set up for any width); this one does the same
# arithmetic in the same order, so it gives the same bits.  (_core also runs
# narrow networks on the scalar build of these kernels: see kernels_for.)
cdef enum:
    NARROW_WIDTH = 4


cdef inline bint narrow(const bp_net* net) noexcept nogil:
    """Whether every layer of the network is at most NARROW_WIDTH wide."""
    cdef Py_ssize_t l
    for l in range(net.n_layers + 1):
        if net.size[l] > NARROW_WIDTH:
            return False
    return True


cdef inline double act_one(int code, double slope, double z) noexcept nogil:
    """f(z) for one unit, the bits of `activate` (not softmax)."""
    if code == BP_LOGISTIC:
        return logistic_scalar(z)
    if code == BP_TANH:
        return bp_tanh(z)
    if code == BP_RELU:
        return z if z > 0.0 else 0.0
    if code == BP_LEAKY_RELU:
        return z if z > 0.0 else slope * z
    return z


cdef inline double act_slope(int code, double slope, double z, double a) noexcept nogil:
    """f'(z) for one unit, the bits of `derivative` (not softmax)."""
    if code == BP_LOGISTIC:
        return a * (1.0 - a)
    if code == BP_TANH:
        return 1.0 - a * a
    if code == BP_RELU:
        return 1.0 if z > 0.0 else 0.0
    if code == BP_LEAKY_RELU:
        return 1.0 if z > 0.0 else slope
    return 1.0


cdef inline double dot_n(const double* w, const double* a, Py_ssize_t n) noexcept nogil:
    """0.0 + w[0] a[0] + ... + w[n-1] a[n-1] in index order."""
    cdef double s = 0.0
    cdef Py_ssize_t i
    for i in range(n):
        s = s + w[i] * a[i]
    return s


cdef inline void row_n(double* d_prev, bint first, double dj, double* w, double c,
                       const double* a, Py_ssize_t n) noexcept nogil:
    """back_and_update without restrict (d_prev NULL: the update alone)."""
    cdef Py_ssize_t i
    if d_prev != NULL:
        for i in range(n):
            d_prev[i] = (0.0 if first else d_prev[i]) + dj * w[i]
    for i in range(n):
        w[i] = w[i] - c * a[i]


# The tiny loops of small_step, called with a constant length for each width
# up to NARROW_WIDTH: inlined, the compiler writes each out in full, so that a
# step of a 2-wide network is not mostly loop control.  Same order, same bits.
cdef inline double small_dot(const double* w, const double* a, Py_ssize_t n) noexcept nogil:
    if n == 1:
        return dot_n(w, a, 1)
    if n == 2:
        return dot_n(w, a, 2)
    if n == 3:
        return dot_n(w, a, 3)
    return dot_n(w, a, 4)


cdef inline void small_row(double* d_prev, bint first, double dj, double* w, double c,
                           const double* a, Py_ssize_t n) noexcept nogil:
    if n == 1:
        row_n(d_prev, first, dj, w, c, a, 1)
    elif n == 2:
        row_n(d_prev, first, dj, w, c, a, 2)
    elif n == 3:
        row_n(d_prev, first, dj, w, c, a, 3)
    else:
        row_n(d_prev, first, dj, w, c, a, 4)


cdef bint small_path(const bp_net* net) noexcept nogil:
    """Whether online training of this network takes small_step."""
    return (narrow(net) and plain_sgd(net) and net.loss == BP_SQUARED
            and net.act[net.n_layers - 1] != BP_SOFTMAX)


cdef double small_step(bp_net* net, bp_work* work, const double* x, const double* t,
                       double lr) noexcept nogil:
    """One online plain-SGD update on (x, t) for a network that small_path
    accepts; returns the sample's loss, taken before the update.  A loss that
    is not finite is returned with the parameters untouched.  Fills the same
    workspace arrays as forward, bp_output and backward."""
    cdef Py_ssize_t L = net.n_layers, l, j, i, n_in, n_out, nb, u
    cdef const double* a_in = x
    cdef double* W
    cdef double* b
    cdef double* z
    cdef double* o
    cdef double* d
    cdef double* d_prev
    cdef double s, r, E, sb
    cdef int code
    for l in range(L):
        n_in = net.size[l]
        n_out = net.size[l + 1]
        W = net.params + net.w_off[l]
        b = net.params + net.b_off[l]
        nb = net.n_bias[l]
        u = net.u_off[l]
        z = work.net + u
        o = work.out + u
        code = net.act[l]
        for j in range(n_out):
            s = small_dot(W + j * n_in, a_in, n_in)
            if nb == n_out:
                s = s + b[j]
            elif nb == 1:
                s = s + b[0]
            z[j] = s
            o[j] = act_one(code, net.act_param[l], s)
        a_in = o
    # output layer: squared error, as output_stage's common case
    n_out = net.size[L]
    u = net.u_off[L - 1]
    code = net.act[L - 1]
    E = 0.0
    for j in range(n_out):
        work.d_act[u + j] = act_slope(code, net.act_param[L - 1], work.net[u + j], work.out[u + j])
        r = work.out[u + j] - t[j]
        work.errors[j] = 0.5 * r * r
        work.d_out[u + j] = r
        work.delta[u + j] = r * work.d_act[u + j]
        E = E + work.errors[j]
    if not isfinite(E):
        return E
    net.n_steps += 1
    # backward, as `backward` with plain SGD: each row is read into the deltas
    # below, then updated
    for l in range(L - 1, -1, -1):
        n_in = net.size[l]
        n_out = net.size[l + 1]
        W = net.params + net.w_off[l]
        b = net.params + net.b_off[l]
        nb = net.n_bias[l]
        a_in = x if l == 0 else work.out + net.u_off[l - 1]
        d = work.delta + net.u_off[l]
        d_prev = work.d_out + net.u_off[l - 1] if l > 0 else NULL
        for j in range(n_out):
            small_row(d_prev, j == 0, d[j], W + j * n_in, lr * d[j], a_in, n_in)
        if nb > 0 and net.train_bias:
            if nb == 1:
                sb = 0.0
                for j in range(n_out):
                    sb = sb + d[j]
                b[0] = b[0] - lr * sb
            else:
                for j in range(n_out):
                    b[j] = b[j] - lr * d[j]
        if d_prev != NULL:
            u = net.u_off[l - 1]
            code = net.act[l - 1]
            for i in range(n_in):
                work.d_act[u + i] = act_slope(code, net.act_param[l - 1], work.net[u + i],
                                              work.out[u + i])
                work.delta[u + i] = d_prev[i] * work.d_act[u + i]
    return E


# Online training checks the parameters for finiteness at an epoch end once at
# least this many samples have passed since the last check (and at the end of
# every call): every epoch for epochs of 64 samples or more; for tinier ones
# (the worked example has one) the check would otherwise cost as much as the step.
cdef enum:
    CHECK_EVERY = 64


cdef inline void note_loss(bp_run* run, Py_ssize_t e, double E) noexcept nogil:
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


cdef inline void small2_copy(bp_net* net, double* w0, double* b0, double* w1, double* b1,
                             bint store) noexcept nogil:
    """Copy a small two-layer network's parameters into small2_online's locals
    (rows of W_l at a stride of NARROW_WIDTH, the biases in order), or with
    store, the locals back into the parameters."""
    cdef Py_ssize_t l, j, i
    cdef double* w
    cdef double* b
    cdef double* p
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


cdef inline void small2_flush(bp_net* net, double* w0, double* b0, double* w1, double* b1,
                              Py_ssize_t* steps) noexcept nogil:
    """Write small2_online's locals back: the parameters, and the steps taken
    since the last flush into the network's step count."""
    net.n_steps += steps[0]
    steps[0] = 0
    small2_copy(net, w0, b0, w1, b1, True)


cdef int small2_online(bp_net* net, bp_run* run, const double* X, const double* Y,
                       Py_ssize_t n, const Py_ssize_t* order, Py_ssize_t step0,
                       Py_ssize_t n_steps, Py_ssize_t* done) noexcept nogil:
    """train_online for a network of two layers that small_path accepts: the
    steps of small_step, the same operations in the same order, with the
    parameters held in fixed-size locals from one sample to the next.  Every
    loop has the constant trip count NARROW_WIDTH and a guard, so the
    compiler unrolls them and keeps the locals in registers: a sample's
    forward pass no longer waits for the last sample's updates to go through
    memory (the worked example is one chain of dependent operations from
    sample to sample).  The parameters are written back before every
    finiteness check and every return.  The workspace is not filled."""
    cdef Py_ssize_t n_in = net.size[0], n_h = net.size[1], n_out = net.size[2]
    cdef Py_ssize_t nb0 = net.n_bias[0], nb1 = net.n_bias[1]
    cdef int code0 = net.act[0], code1 = net.act[1]
    cdef double slope0 = net.act_param[0], slope1 = net.act_param[1]
    cdef bint bias0 = nb0 > 0 and net.train_bias, bias1 = nb1 > 0 and net.train_bias
    cdef double w0[NARROW_WIDTH * NARROW_WIDTH]
    cdef double w1[NARROW_WIDTH * NARROW_WIDTH]
    cdef double b0[NARROW_WIDTH]
    cdef double b1[NARROW_WIDTH]
    cdef double zh[NARROW_WIDTH]
    cdef double h[NARROW_WIDTH]
    cdef double dh[NARROW_WIDTH]
    cdef double o[NARROW_WIDTH]
    cdef double d[NARROW_WIDTH]
    cdef Py_ssize_t e = step0 // n, p = step0 - e * n, p_end, idx, left = n_steps
    cdef Py_ssize_t unchecked = 0, steps = 0, j, i
    cdef const double* x
    cdef const double* t
    cdef double lr, s, r, E, sb
    small2_copy(net, w0, b0, w1, b1, False)
    for j in range(NARROW_WIDTH):
        dh[j] = 0.0  # set by every sample before use, but gcc cannot see that
    done[0] = 0
    while left > 0:
        lr = epoch_lr(run, e)
        p_end = p + left if p + left < n else n
        unchecked += p_end - p
        while p < p_end:
            idx = order[e * n + p] if order != NULL else p
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
                return BP_NONFINITE_LOSS
            note_loss(run, e, E)
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
            p += 1
            done[0] += 1
        left = n_steps - done[0]
        if left == 0 or (p == n and unchecked >= CHECK_EVERY):
            small2_flush(net, w0, b0, w1, b1, &steps)
            if not state_finite(net):
                done[0] -= 1
                return BP_NONFINITE_PARAMS
            unchecked = 0
        if p == n:
            if run.target > -INFINITY and run.loss_sums[e] / n <= run.target:
                small2_flush(net, w0, b0, w1, b1, &steps)
                run.stopped = True
                return BP_OK
            e += 1
            p = 0
    small2_flush(net, w0, b0, w1, b1, &steps)
    return BP_OK


cdef int train_online(bp_net* net, bp_work* work, bp_run* run, const double* X,
                      const double* Y, Py_ssize_t n, const Py_ssize_t* order,
                      Py_ssize_t step0, Py_ssize_t n_steps, Py_ssize_t* done) noexcept nogil:
    """train_steps for k = 1: one update per sample.  With plain SGD the first
    layer's update of each sample is deferred into the next sample's forward
    sweep (same arithmetic, same bits, one pass over the largest matrix instead
    of two); it is flushed at the end of every epoch and of the call.  The
    parameters are checked for finiteness at the end of the call and at every
    epoch end at least CHECK_EVERY samples after the previous check."""
    cdef Py_ssize_t n_in = net.size[0], n_out = net.size[net.n_layers]
    cdef Py_ssize_t e = step0 // n, p = step0 - e * n, p_end, idx, left = n_steps
    cdef Py_ssize_t unchecked = 0
    cdef const double* x
    cdef const double* xp = NULL
    cdef double E, lr, lrp = 0.0
    cdef bp_step st
    cdef bint small = small_path(net)
    cdef bint defer = n > 1 and plain_sgd(net) and not small
    cdef int mode = MODE_DEFER if defer else MODE_ONLINE
    if small and net.n_layers == 2:
        return small2_online(net, run, X, Y, n, order, step0, n_steps, done)
    done[0] = 0
    while left > 0:
        lr = epoch_lr(run, e)
        p_end = p + left if p + left < n else n
        unchecked += p_end - p
        while p < p_end:
            idx = order[e * n + p] if order != NULL else p
            x = X + idx * n_in
            if small:
                # the update is part of the step, and skipped if E is not finite
                E = small_step(net, work, x, Y + idx * n_out, lr)
            else:
                forward(net, work, x, xp, lrp, defer and (p & 1) != 0)
                xp = NULL
                E = bp_output(net, work, Y + idx * n_out)
            if not isfinite(E):
                return BP_NONFINITE_LOSS
            note_loss(run, e, E)
            if not small:
                st = begin_step(net, lr)
                backward(net, work, x, mode, &st)
                if defer:
                    xp = x
                    lrp = lr
            p += 1
            done[0] += 1
        left = n_steps - done[0]
        if xp != NULL:
            flush_pending(net, work, xp, lrp)
            xp = NULL
        if left == 0 or (p == n and unchecked >= CHECK_EVERY):
            if not state_finite(net):
                done[0] -= 1
                return BP_NONFINITE_PARAMS
            unchecked = 0
        if p == n:
            if run.target > -INFINITY and run.loss_sums[e] / n <= run.target:
                run.stopped = True
                return BP_OK
            e += 1
            p = 0
    return BP_OK


# ------------------------------------------------------------- mini-batches
include "_team.pxi"
include "_gemm.pxi"
include "_batch.pxi"
include "_table.pxi"
