from backprop._math cimport (bp_exp, bp_exp_scalar, bp_expm1, bp_log, bp_log1p, bp_tanh, bp_logistic,
                             bp_softmax, bp_dot, bp_expf, bp_expm1f, bp_logf, bp_log1pf, bp_tanhf,
                             bp_logisticf, bp_softmaxf, bp_dotf)

# Test-only shims for backprop._math, included into _core.pyx.  Each function
# is applied in its own plain loop, the same shape as the hot loops (and the
# loops the vectorisation notes in bp_math.h refer to).

_MATH_NAMES = ("exp", "expm1", "log1p", "log", "tanh", "exp_scalar", "logistic", "softmax")


cdef int _math_code(str name) except -1:
    if name not in _MATH_NAMES:
        raise ValueError("_math_apply: unknown function %r (expected %s)" % (name, ", ".join(_MATH_NAMES)))
    return _MATH_NAMES.index(name)


cdef void _math_apply_f64(int which, const double[::1] x, double[::1] out) noexcept nogil:
    cdef Py_ssize_t i, n = x.shape[0]
    if which == 0:
        for i in range(n):
            out[i] = bp_exp(x[i])
    elif which == 1:
        for i in range(n):
            out[i] = bp_expm1(x[i])
    elif which == 2:
        for i in range(n):
            out[i] = bp_log1p(x[i])
    elif which == 3:
        for i in range(n):
            out[i] = bp_log(x[i])
    elif which == 4:
        for i in range(n):
            out[i] = bp_tanh(x[i])
    elif which == 5:
        for i in range(n):
            out[i] = bp_exp_scalar(x[i])
    elif which == 6:
        for i in range(n):
            out[i] = bp_logistic(x[i])
    elif n > 0:
        bp_softmax(&x[0], &out[0], n)


cdef void _math_apply_f32(int which, const float[::1] x, float[::1] out) noexcept nogil:
    cdef Py_ssize_t i, n = x.shape[0]
    if which == 0 or which == 5:
        for i in range(n):
            out[i] = bp_expf(x[i])
    elif which == 1:
        for i in range(n):
            out[i] = bp_expm1f(x[i])
    elif which == 2:
        for i in range(n):
            out[i] = bp_log1pf(x[i])
    elif which == 3:
        for i in range(n):
            out[i] = bp_logf(x[i])
    elif which == 4:
        for i in range(n):
            out[i] = bp_tanhf(x[i])
    elif which == 6:
        for i in range(n):
            out[i] = bp_logisticf(x[i])
    elif n > 0:
        bp_softmaxf(&x[0], &out[0], n)


def _math_apply(str name, x, out):
    """Apply the named project function: out[i] = f(x[i]), or out = softmax(x).

    name is one of "exp", "expm1", "log1p", "log", "tanh", "exp_scalar",
    "logistic", "softmax".  x and out are 1-D C-contiguous arrays of the same
    length and dtype: float64 calls the double functions, float32 their
    float versions (bp_expf, ...; "exp_scalar" is bp_expf there, which has no
    scalar variant).  For tests and benchmarks of backprop._math only; not
    part of the public API.
    """
    cdef int which = _math_code(name)
    cdef const double[::1] xd
    cdef double[::1] od
    cdef const float[::1] xf
    cdef float[::1] of
    if memoryview(x).format == "f":
        xf = x
        of = out
        if of.shape[0] != xf.shape[0]:
            raise ValueError("_math_apply: x and out differ in length (%d != %d)" % (xf.shape[0], of.shape[0]))
        with nogil:
            _math_apply_f32(which, xf, of)
    else:
        xd = x
        od = out
        if od.shape[0] != xd.shape[0]:
            raise ValueError("_math_apply: x and out differ in length (%d != %d)" % (xd.shape[0], od.shape[0]))
        with nogil:
            _math_apply_f64(which, xd, od)


def _math_dot(w, x):
    """bp_dot(w, x, n) for float64 arrays, bp_dotf for float32 ones (same
    length, 1-D, C-contiguous).  Test-only, as _math_apply."""
    cdef const double[::1] wd, xd
    cdef const float[::1] wf, xf
    if memoryview(w).format == "f":
        wf = w
        xf = x
        if wf.shape[0] != xf.shape[0]:
            raise ValueError("_math_dot: w and x differ in length (%d != %d)" % (wf.shape[0], xf.shape[0]))
        return float(bp_dotf(&wf[0], &xf[0], wf.shape[0])) if wf.shape[0] else 0.0
    wd = w
    xd = x
    if wd.shape[0] != xd.shape[0]:
        raise ValueError("_math_dot: w and x differ in length (%d != %d)" % (wd.shape[0], xd.shape[0]))
    return bp_dot(&wd[0], &xd[0], wd.shape[0]) if wd.shape[0] else 0.0
