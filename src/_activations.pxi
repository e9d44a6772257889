# The activation table: each activation f and its derivative f', once.
#
# f' is written as a function of the unit's output a = f(z) where the
# activation allows it (logistic: a (1 - a), tanh: 1 - a²), else of z.
# act_one and act_slope pick them by code for one unit; activate, derivative
# and hidden_delta apply them to a layer.  Every pass calls these: the online
# step, the register loop of _small2.pxi and the mini-batch passes.

cdef inline real logistic(real z) noexcept nogil:
    # logistic(z) for the vectorised loops (bp_real.h's bp_r_logistic).
    return r_logistic(z)


cdef inline real logistic_normal(real z) noexcept nogil:
    # logistic(z), the same bits, for |z| <= 600 only (bp_exp_normal).
    return r_logistic_normal(z)


cdef inline real logistic_scalar(real z) noexcept nogil:
    # logistic(z), the same bits, one value at a time (bp_exp_scalar).
    return r_logistic_scalar(z)


cdef inline real relu(real z) noexcept nogil:
    return z if z > 0.0 else 0.0


cdef inline real leaky_relu(real z, real slope) noexcept nogil:
    return z if z > 0.0 else slope * z


cdef inline real d_logistic(real a) noexcept nogil:
    # logistic'(z) = a (1 - a); also the diagonal of softmax's Jacobian
    return a * (1.0 - a)


cdef inline real d_tanh(real a) noexcept nogil:
    # tanh'(z) = 1 - a²
    return 1.0 - a * a


cdef inline real d_relu(real z) noexcept nogil:
    # relu'(0) = 0, as PyTorch
    return 1.0 if z > 0.0 else 0.0


cdef inline real d_leaky_relu(real z, real slope) noexcept nogil:
    return 1.0 if z > 0.0 else slope


cdef inline real act_one(int code, real slope, real z) noexcept nogil:
    """f(z) for one unit (not softmax, which needs its whole layer)."""
    if code == BP_LOGISTIC:
        return logistic_scalar(z)
    if code == BP_TANH:
        return r_tanh(z)
    if code == BP_RELU:
        return relu(z)
    if code == BP_LEAKY_RELU:
        return leaky_relu(z, slope)
    return z


cdef inline real act_slope(int code, real slope, real z, real a) noexcept nogil:
    """f'(z) for one unit with net input z and output a.  For softmax, whose
    Jacobian is not diagonal, its diagonal a (1 - a): the output stage uses
    the full Jacobian instead."""
    if code == BP_LOGISTIC or code == BP_SOFTMAX:
        return d_logistic(a)
    if code == BP_TANH:
        return d_tanh(a)
    if code == BP_RELU:
        return d_relu(z)
    if code == BP_LEAKY_RELU:
        return d_leaky_relu(z, slope)
    return 1.0


cdef inline bint within(const real* v, Py_ssize_t n, real bound) noexcept nogil:
    """Whether every |v[i]| <= bound (false for a NaN)."""
    cdef Py_ssize_t i, inside = 0
    for i in range(n):  # vectorised in float64
        inside += r_fabs(v[i]) <= bound
    return inside == n


# The layer loops: one loop per code, each calling the table above.  (A
# single loop over act_one or act_slope, whose switch is then inside the
# loop, is not vectorised: tests/test_kernels.py checks every loop marked.)

cdef void activate(int code, real slope, const real* z, real* a,
                   Py_ssize_t n) noexcept nogil:
    """a = f(z) for one layer."""
    cdef Py_ssize_t i, k
    if code == BP_LOGISTIC:
        if BP_REAL_IS_FLOAT32:
            # bp_logisticf is one branch-free expression for every input, and
            # its three forms are one function: one loop over the layer.
            for i in range(n):  # vectorised in float32
                a[i] = logistic(z[i])
        elif n < 8 or not BP_VECTOR_EXP:
            for i in range(n):
                a[i] = logistic_scalar(z[i])
        else:
            # Whole groups of eight in vectors; the rest one by one with the
            # scalar exp, same bits: the vectoriser's own scalar epilogue
            # would run the branch-free bp_exp one value at a time.  Net
            # inputs beyond ±600 are rare (saturated units, divergence): when
            # there are none, the exp without special cases will do.
            k = n - (n & 7)
            if within(z, k, 600.0):
                for i in range(k):  # vectorised in float64
                    a[i] = logistic_normal(z[i])
            else:
                for i in range(k):  # vectorised in float64
                    a[i] = logistic(z[i])
            for i in range(k, n):
                a[i] = logistic_scalar(z[i])
    elif code == BP_TANH:
        # tanh saturates to ±1 without overflow for any finite z.
        for i in range(n):  # vectorised
            a[i] = r_tanh(z[i])
    elif code == BP_RELU:
        for i in range(n):  # vectorised
            a[i] = relu(z[i])
    elif code == BP_LEAKY_RELU:
        for i in range(n):
            a[i] = leaky_relu(z[i], slope)
    elif code == BP_IDENTITY:
        for i in range(n):  # vectorised
            a[i] = z[i]
    elif code == BP_SOFTMAX:
        r_softmax(z, a, n)


cdef void derivative(int code, real slope, const real* z, const real* a,
                     real* d, Py_ssize_t n) noexcept nogil:
    """d = f'(z) for one layer (see act_slope)."""
    cdef Py_ssize_t i
    if code == BP_LOGISTIC or code == BP_SOFTMAX:
        for i in range(n):  # vectorised
            d[i] = d_logistic(a[i])
    elif code == BP_TANH:
        for i in range(n):  # vectorised
            d[i] = d_tanh(a[i])
    elif code == BP_RELU:
        for i in range(n):  # vectorised
            d[i] = d_relu(z[i])
    elif code == BP_LEAKY_RELU:
        for i in range(n):  # vectorised
            d[i] = d_leaky_relu(z[i], slope)
    else:
        for i in range(n):
            d[i] = 1.0


cdef void hidden_delta(int code, real slope, const real* z, const real* a,
                       const real* d_out, real* d_act, real* delta,
                       Py_ssize_t n) noexcept nogil:
    """d_act = f'(z) and delta = d_out d_act for a hidden layer."""
    cdef Py_ssize_t i
    derivative(code, slope, z, a, d_act, n)
    for i in range(n):  # vectorised
        delta[i] = d_out[i] * d_act[i]
