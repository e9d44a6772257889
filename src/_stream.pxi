# The streaming path's Python-facing helpers (Model.learn_one): its
# learning-rate argument, checked in C, and the copy of the state that lets
# an update that diverged be undone.


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
    return v


cdef object save_undo(const bp_net* net, object undo):
    """Copy the parameters, optimiser state and Adam's bias-correction powers
    into undo (an earlier return value, reused when its size fits, or None);
    returns the buffer written.  The step count, an int64, is the caller's
    to keep."""
    cdef Py_ssize_t n = net.n_params
    cdef Py_ssize_t size = n * (1 + (net.state1 != NULL) + (net.state2 != NULL)) + 2
    cdef double* u
    if undo is None or cnp.PyArray_DIM(undo, 0) != size:
        undo = np.empty(size)
    u = <double*>cnp.PyArray_DATA(undo)
    u[0] = net.beta1_pow
    u[1] = net.beta2_pow
    memcpy(u + 2, net.params, n * sizeof(double))
    u += 2 + n
    if net.state1 != NULL:
        memcpy(u, net.state1, n * sizeof(double))
        u += n
    if net.state2 != NULL:
        memcpy(u, net.state2, n * sizeof(double))
    return undo


cdef void restore_undo(bp_net* net, object undo):
    """Put back what save_undo copied into undo."""
    cdef Py_ssize_t n = net.n_params
    cdef const double* u = <const double*>cnp.PyArray_DATA(undo)
    net.beta1_pow = u[0]
    net.beta2_pow = u[1]
    memcpy(net.params, u + 2, n * sizeof(double))
    u += 2 + n
    if net.state1 != NULL:
        memcpy(net.state1, u, n * sizeof(double))
        u += n
    if net.state2 != NULL:
        memcpy(net.state2, u, n * sizeof(double))
