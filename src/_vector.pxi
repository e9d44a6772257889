# The vector primitives of the kernels: Cython's view of bp_simd.h, and the
# inline loops that every pass (online, mini-batch) builds on.  Each keeps a
# fixed summation order, so its bits do not depend on the vector width.

cdef extern from "bp_simd.h":
    ctypedef real* out_vec "bp_out_vec"
    ctypedef const real* in_vec "bp_in_vec"
    const bint BP_VECTOR_EXP
    const bint BP_ROWS4
    const Py_ssize_t BP_ROWS4_MIN
    void bp_rows4(real* w, Py_ssize_t ld, const real* c, const real* xp,
                  const real* x, Py_ssize_t n, real* out) noexcept nogil
    const bint BP_BACK_ROWS
    void bp_back_rows(real* d_prev, const real* d, real* w, Py_ssize_t n_out,
                      Py_ssize_t n, real lr, const real* a) noexcept nogil


cdef inline real update_dot(out_vec w, real c, in_vec xp, in_vec x, Py_ssize_t n) noexcept nogil:
    """w -= c xp, then Σ_i w[i] x[i] with the updated w in `dot`'s order: the
    same bits as sub_scaled then dot, in one pass over w.  (Float32 builds
    take the two passes: their dot has sixteen partial sums, not eight.)"""
    cdef real s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    cdef real s4 = 0.0, s5 = 0.0, s6 = 0.0, s7 = 0.0
    cdef real w0, w1, w2, w3, w4, w5, w6, w7
    cdef Py_ssize_t i, m = n - (n & 7)
    if BP_REAL_IS_FLOAT32:
        sub_scaled(w, c, xp, n)
        return dot(w, x, n)
    if n < 8:
        for i in range(n):
            w0 = w[i] - c * xp[i]
            w[i] = w0
            s0 = s0 + w0 * x[i]
        return s0
    for i in range(0, m, 8):  # vectorised in float64
        w0 = w[i] - c * xp[i]
        w1 = w[i + 1] - c * xp[i + 1]
        w2 = w[i + 2] - c * xp[i + 2]
        w3 = w[i + 3] - c * xp[i + 3]
        w4 = w[i + 4] - c * xp[i + 4]
        w5 = w[i + 5] - c * xp[i + 5]
        w6 = w[i + 6] - c * xp[i + 6]
        w7 = w[i + 7] - c * xp[i + 7]
        w[i] = w0
        w[i + 1] = w1
        w[i + 2] = w2
        w[i + 3] = w3
        w[i + 4] = w4
        w[i + 5] = w5
        w[i + 6] = w6
        w[i + 7] = w7
        s0 = s0 + w0 * x[i]
        s1 = s1 + w1 * x[i + 1]
        s2 = s2 + w2 * x[i + 2]
        s3 = s3 + w3 * x[i + 3]
        s4 = s4 + w4 * x[i + 4]
        s5 = s5 + w5 * x[i + 5]
        s6 = s6 + w6 * x[i + 6]
        s7 = s7 + w7 * x[i + 7]
    cdef real s = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    for i in range(m, n):
        w0 = w[i] - c * xp[i]
        w[i] = w0
        s = s + w0 * x[i]
    return s


cdef inline void axpy(out_vec y, real alpha, in_vec x, Py_ssize_t n) noexcept nogil:
    """y += alpha x"""
    cdef Py_ssize_t i
    for i in range(n):        # vectorised
        y[i] = y[i] + alpha * x[i]


cdef inline void add_bias(out_vec z, in_vec b, Py_ssize_t n, real shared=0.0) noexcept nogil:
    """z += b, or z += shared when b is NULL (one bias for the layer)"""
    cdef Py_ssize_t i
    if b != NULL:
        for i in range(n):    # vectorised
            z[i] = z[i] + b[i]
    else:
        for i in range(n):    # vectorised
            z[i] = z[i] + shared


cdef inline void sub_scaled(out_vec y, real c, in_vec x, Py_ssize_t n) noexcept nogil:
    """y -= c x"""
    cdef Py_ssize_t i
    for i in range(n):        # vectorised
        y[i] = y[i] - c * x[i]


cdef inline void back_and_update(out_vec d_prev, bint first, real dj, out_vec w, real c,
                                 in_vec a, Py_ssize_t n) noexcept nogil:
    """d_prev (+)= dj w, then w -= c a: one row of the online backward pass with
    plain SGD, the same bits as the separate passes (`first`: d_prev = 0.0 + ...).
    Only the builds without bp_back_rows (baseline, scalar) call it, so the
    vectoriser test, which compiles the AVX2 and AVX-512 levels, does not see
    its loops."""
    cdef Py_ssize_t i
    if first:
        for i in range(n):
            d_prev[i] = 0.0 + dj * w[i]
            w[i] = w[i] - c * a[i]
    else:
        for i in range(n):
            d_prev[i] = d_prev[i] + dj * w[i]
            w[i] = w[i] - c * a[i]


cdef inline void back_rows(real* d_prev, const real* d, real* W, Py_ssize_t n_out,
                           Py_ssize_t n_in, real lr, const real* a) noexcept nogil:
    """A whole layer of back_and_update, rows in order: through bp_back_rows
    where the build has it, else row by row.  The same bits either way."""
    cdef Py_ssize_t j
    if BP_BACK_ROWS:
        bp_back_rows(d_prev, d, W, n_out, n_in, lr, a)
        return
    for j in range(n_out):
        back_and_update(d_prev, j == 0, d[j], W + j * n_in, lr * d[j], a, n_in)
