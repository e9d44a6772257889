from backprop._math cimport bp_exp, bp_exp_scalar, bp_expm1, bp_log, bp_log1p, bp_tanh

# Test-only shims for backprop._math, included into _core.pyx.  Each function
# is applied in its own plain loop, the same shape as the hot loops (and the
# loops the vectorisation notes in bp_math.h refer to).


def _math_apply(str name, const double[::1] x, double[::1] out):
    """Apply the named project elementary function elementwise: out[i] = f(x[i]).

    name is one of "exp", "expm1", "log1p", "log", "tanh", "exp_scalar".  For tests and
    benchmarks of backprop._math only; not part of the public API.
    """
    cdef Py_ssize_t i, n = x.shape[0]
    cdef int which
    if out.shape[0] != n:
        raise ValueError("_math_apply: x and out differ in length (%d != %d)" % (n, out.shape[0]))
    if name == "exp":
        which = 0
    elif name == "expm1":
        which = 1
    elif name == "log1p":
        which = 2
    elif name == "log":
        which = 3
    elif name == "tanh":
        which = 4
    elif name == "exp_scalar":
        which = 5
    else:
        raise ValueError("_math_apply: unknown function %r (expected exp, expm1, log1p, log, tanh, "
                         "exp_scalar)" % (name,))
    with nogil:
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
        elif which == 5:
            for i in range(n):
                out[i] = bp_exp_scalar(x[i])
        else:
            for i in range(n):
                out[i] = bp_tanh(x[i])
