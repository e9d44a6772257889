# The streaming path's Python-facing helpers (Model.learn_one): its
# learning-rate argument, checked in C, and the copy of the state that lets
# an update that diverged be undone.

from libc.float cimport FLT_MAX


cdef double checked_rate(object lr, double default) except -1.0:
    """A learning rate argument as a checked double (None: the default)."""
    cdef double v
    if lr is None:
        return default
    if type(lr) is float:
        v = lr
    elif isinstance(lr, (int, float, np.integer, np.floating)) and not isinstance(lr, bool):
        try:
            v = float(lr)
        except OverflowError:
            raise ValueError(f"lr must be finite, got an integer too large for a float") from None
    else:
        raise TypeError(f"lr must be a real number, got {lr!r} ({type(lr).__name__})")
    if not isfinite(v):
        raise ValueError(f"lr must be finite, got {v}")
    if v < 0.0:
        raise ValueError(f"lr must be >= 0.0, got {v}")
    if BP_REAL_IS_FLOAT32 and v > FLT_MAX:
        raise ValueError(f"lr must be at most {FLT_MAX:.9g} (float32's largest value) for a "
                         f"float32 network, got {v:g}")
    return v


# The optimiser's counters, as a copy of the state keeps them.
ctypedef struct bp_counters:
    long long n_steps
    double beta1_pow
    double beta2_pow


cdef str not_finite(str what, str name, object arr):
    """The message for a streaming input arr (of DTYPE) that holds a NaN or
    an infinity: which value, and in a float32 core what it may have been."""
    i = int(np.flatnonzero(~np.isfinite(arr))[0])
    note = " (a NaN or infinity, or a value beyond float32's range)" if BP_REAL_IS_FLOAT32 else ""
    return f"{what}: {name} must be finite, but {name}[{i}] is {arr[i]}{note}"


cdef object save_undo(const bp_net* net, object undo, bp_counters* counters):
    """Copy the parameters and optimiser state into undo (an earlier return
    value, reused when its size fits, or None) and the counters into
    *counters; returns the buffer written."""
    cdef Py_ssize_t n = net.n_params
    cdef Py_ssize_t size = n * (1 + (net.state1 != NULL) + (net.state2 != NULL))
    cdef real* u
    if undo is None or cnp.PyArray_DIM(undo, 0) != size:
        undo = np.empty(size, dtype=DTYPE)
    counters.n_steps = net.n_steps
    counters.beta1_pow = net.beta1_pow
    counters.beta2_pow = net.beta2_pow
    u = <real*>cnp.PyArray_DATA(undo)
    memcpy(u, net.params, n * sizeof(real))
    u += n
    if net.state1 != NULL:
        memcpy(u, net.state1, n * sizeof(real))
        u += n
    if net.state2 != NULL:
        memcpy(u, net.state2, n * sizeof(real))
    return undo


cdef void restore_undo(bp_net* net, object undo, const bp_counters* counters):
    """Put back what save_undo copied into undo and *counters."""
    cdef Py_ssize_t n = net.n_params
    cdef const real* u = <const real*>cnp.PyArray_DATA(undo)
    net.n_steps = counters.n_steps
    net.beta1_pow = counters.beta1_pow
    net.beta2_pow = counters.beta2_pow
    memcpy(net.params, u, n * sizeof(real))
    u += n
    if net.state1 != NULL:
        memcpy(net.state1, u, n * sizeof(real))
        u += n
    if net.state2 != NULL:
        memcpy(net.state2, u, n * sizeof(real))
