# The activation table: each activation f and its derivative f', once.
#
# f' is written as a function of the unit's output a = f(z) where the
# activation allows it (logistic: a (1 - a), tanh: 1 - a²), else of z.
# act_one and act_slope pick them by code for one unit; activate, derivative
# and hidden_delta apply them to a layer.  Every pass calls these: the online
# step, the register loop of _small2.pxi and the mini-batch passes.

cdef inline double logistic(double z) noexcept nogil:
    # logistic(z) for the vectorised loops (bp_exp; see bp_logistic_of).
    return logistic_of(z, bp_exp(-fabs(z)))


cdef inline double logistic_normal(double z) noexcept nogil:
    # logistic(z), the same bits, for |z| <= 600 only (bp_exp_normal).
    return logistic_of(z, bp_exp_normal(-fabs(z)))


cdef inline double logistic_scalar(double z) noexcept nogil:
    # logistic(z), the same bits, one value at a time (bp_exp_scalar).
    return bp_logistic(z)


cdef inline double relu(double z) noexcept nogil:
    return z if z > 0.0 else 0.0


cdef inline double leaky_relu(double z, double slope) noexcept nogil:
    return z if z > 0.0 else slope * z


cdef inline double d_logistic(double a) noexcept nogil:
    # logistic'(z) = a (1 - a); also the diagonal of softmax's Jacobian
    return a * (1.0 - a)


cdef inline double d_tanh(double a) noexcept nogil:
    # tanh'(z) = 1 - a²
    return 1.0 - a * a


cdef inline double d_relu(double z) noexcept nogil:
    # relu'(0) = 0, as PyTorch
    return 1.0 if z > 0.0 else 0.0


cdef inline double d_leaky_relu(double z, double slope) noexcept nogil:
    return 1.0 if z > 0.0 else slope


cdef inline double act_one(int code, double slope, double z) noexcept nogil:
    """f(z) for one unit (not softmax, which needs its whole layer)."""
    if code == BP_LOGISTIC:
        return logistic_scalar(z)
    if code == BP_TANH:
        return bp_tanh(z)
    if code == BP_RELU:
        return relu(z)
    if code == BP_LEAKY_RELU:
        return leaky_relu(z, slope)
    return z


cdef inline double act_slope(int code, double slope, double z, double a) noexcept nogil:
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


cdef inline bint within(const double* v, Py_ssize_t n, double bound) noexcept nogil:
    """Whether every |v[i]| <= bound (false for a NaN)."""
    cdef Py_ssize_t i, inside = 0
    for i in range(n):  # vectorised
        inside += fabs(v[i]) <= bound
    return inside == n


# The layer loops: one loop per code, each calling the table above.  (A
# single loop over act_one or act_slope, whose switch is then inside the
# loop, is not vectorised: tests/test_kernels.py checks every loop marked.)

cdef void activate(int code, double slope, const double* z, double* a,
                   Py_ssize_t n) noexcept nogil:
    """a = f(z) for one layer."""
    cdef Py_ssize_t i, k
    if code == BP_LOGISTIC:
        if n < 8 or not BP_VECTOR_EXP:
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
        for i in range(n):  # vectorised
            a[i] = relu(z[i])
    elif code == BP_LEAKY_RELU:
        for i in range(n):
            a[i] = leaky_relu(z[i], slope)
    elif code == BP_IDENTITY:
        for i in range(n):  # vectorised
            a[i] = z[i]
    elif code == BP_SOFTMAX:
        bp_softmax(z, a, n)


cdef void derivative(int code, double slope, const double* z, const double* a,
                     double* d, Py_ssize_t n) noexcept nogil:
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


cdef void hidden_delta(int code, double slope, const double* z, const double* a,
                       const double* d_out, double* d_act, double* delta,
                       Py_ssize_t n) noexcept nogil:
    """d_act = f'(z) and delta = d_out d_act for a hidden layer."""
    cdef Py_ssize_t i
    derivative(code, slope, z, a, d_act, n)
    for i in range(n):  # vectorised
        delta[i] = d_out[i] * d_act[i]
