# The output stage of one sample: its loss, dE/do and the output deltas,
# for every loss and output activation.

cdef real output_stage(const bp_net* net, const real* z, const real* o,
                       const real* t, real* d_out, real* d_act, real* delta,
                       real* err) noexcept nogil:
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
    cdef real r, ar, h = net.loss_param, e, lp, m, s, lse, tsum, total
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
            ar = r_fabs(r)
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
            lp = r_log1p(r_exp_scalar(-r_fabs(z[k])))
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
            s = s + r_exp_scalar(z[k] - m)
        lse = m + r_log(s)
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


cdef real bp_output(const bp_net* net, bp_work* work, const real* t) noexcept nogil:
    """Loss of the sample just forwarded into work (see output_stage)."""
    cdef Py_ssize_t u = net.u_off[net.n_layers - 1]
    return output_stage(net, work.net + u, work.out + u, t, work.d_out + u, work.d_act + u,
                        work.delta + u, work.errors)
