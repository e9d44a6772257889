# The optimisers: the constants of one step, and the update of a slice of
# the parameters from its gradient.

cdef inline bint plain_sgd(const bp_net* net) noexcept nogil:
    """Whether the optimiser is SGD without momentum or weight decay, whose
    step is w -= lr g: the case the fused and deferred updates handle."""
    return net.opt == BP_SGD and net.momentum == 0.0 and net.weight_decay == 0.0


cdef inline void note_penalty(const bp_net* net, bp_run* run, Py_ssize_t e, double decay,
                              Py_ssize_t rows) noexcept nogil:
    """With run.penalty_sums, count the L2 term of a step of `rows` samples
    with weight decay `decay`, taken before the step: rows ½ decay ‖W‖²,
    ‖W‖² over the parameters the decay acts on (every layer's weights, and
    its biases with net.decay_bias), each layer's part in bp_dot's order.
    Then penalty_sums[e] / n + loss_sums[e] / n is the epoch's mean of the
    objective its steps descend."""
    cdef Py_ssize_t l, m
    cdef const real* w
    cdef double s = 0.0
    if run.penalty_sums == NULL or decay == 0.0:
        return
    for l in range(net.n_layers):
        w = net.params + net.w_off[l]
        m = net.size[l] * net.size[l + 1] + (net.n_bias[l] if net.decay_bias else 0)
        s = s + dot(w, w, m)
    run.penalty_sums[e] += rows * (0.5 * decay * s)


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
                     real s, const real* src, real wd) noexcept nogil:
    """One optimiser step on params[off:off+n] with gradient g_i = s·src_i + wd·w_i.

    SGD (as torch.optim.SGD, zero dampening):  v = μ v + g;  w -= lr v
                                   (Nesterov:  w -= lr (g + μ v))
    plain SGD (μ = 0, wd = 0):                  w -= (lr s) src_i
    Adam (as torch.optim.Adam):  m = β1 m + (1-β1) g;  v = β2 v + (1-β2) g²
                                 w -= lr/(1-β1ᵗ) · m / (sqrt(v)/sqrt(1-β2ᵗ) + ε)
    (net.eps_uncorrected, as scikit-learn: w -= lr·sqrt(1-β2ᵗ)/(1-β1ᵗ) · m / (sqrt(v) + ε),
    through the same loop with the step constants of begin_step)
    """
    cdef real* w = net.params + off
    cdef real* v
    cdef real* m
    cdef real g, mu = net.momentum, lr = st.lr
    cdef real b1 = net.beta1, b2 = net.beta2, c1 = 1.0 - net.beta1, c2 = 1.0 - net.beta2
    cdef real step_size = st.step_size, bc2 = st.bc2_sqrt, eps = net.eps
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
        for i in range(n):      # vectorised
            g = s * src[i] + wd * w[i]
            m[i] = b1 * m[i] + c1 * g
            v[i] = b2 * v[i] + c2 * (g * g)
            w[i] = w[i] - step_size * m[i] / (r_sqrt(v[i]) / bc2 + eps)
