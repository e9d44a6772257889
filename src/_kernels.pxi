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

# exp, log, log1p and tanh are the project's own (backprop/bp_math.h): the same
# bits on every CPU and with any libm.  sqrt is IEEE-exact everywhere.  The
# dot product, the logistic and the softmax are that header's too, so that the
# C code backprop.export writes computes them the same way.
from backprop._math cimport bp_exp, bp_exp_normal, bp_exp_scalar, bp_log, bp_log1p, bp_tanh
from backprop._math cimport bp_dot as dot, bp_logistic, bp_logistic_of as logistic_of, bp_softmax
from libc.string cimport memcpy, memset

# Restrict-qualified pointers for the vector primitives: the buffers they are
# given never overlap, and saying so lets the compiler vectorise the loops
# without run-time overlap checks and scalar fallbacks.
cdef extern from *:
    """
    #if defined(_MSC_VER)
    #define BP_RESTRICT __restrict
    #else
    #define BP_RESTRICT __restrict__
    #endif
    typedef double * BP_RESTRICT bp_out_vec;
    typedef const double * BP_RESTRICT bp_in_vec;
    """
    ctypedef double* out_vec "bp_out_vec"
    ctypedef const double* in_vec "bp_in_vec"

# Whether this build has vector gathers (AVX2 and up), which the table lookups
# of bp_exp need to vectorise.  Without them (SSE2, NEON) a loop of bp_exp runs
# one value at a time, and bp_exp_scalar, the same bits, is three times faster.
cdef extern from *:
    """
    #if defined(__AVX2__)
    #define BP_VECTOR_EXP 1
    #else
    #define BP_VECTOR_EXP 0
    #endif
    """
    const bint BP_VECTOR_EXP

cdef enum:
    MODE_ONLINE = 0     # update the parameters after each sample
    MODE_CAPTURE = 1    # as online, and also store the sample's gradient
    MODE_DEFER = 2      # as online, but leave the first layer's weight update
                        # pending, to be applied during the next forward sweep


cdef inline double update_dot(out_vec w, double c, in_vec xp, in_vec x, Py_ssize_t n) noexcept nogil:
    """w -= c xp, then Σ_i w[i] x[i] with the updated w in `dot`'s order: the
    same bits as sub_scaled then dot, in one pass over w."""
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    cdef double s4 = 0.0, s5 = 0.0, s6 = 0.0, s7 = 0.0
    cdef double w0, w1, w2, w3, w4, w5, w6, w7
    cdef Py_ssize_t i, m = n - (n & 7)
    if n < 8:
        for i in range(n):
            w0 = w[i] - c * xp[i]
            w[i] = w0
            s0 = s0 + w0 * x[i]
        return s0
    for i in range(0, m, 8):  # vectorised
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
    cdef double s = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    for i in range(m, n):
        w0 = w[i] - c * xp[i]
        w[i] = w0
        s = s + w0 * x[i]
    return s


# Four rows of `dot` / `update_dot` at once, on builds with 512-bit vectors.
# Each row's eight partial sums are one vector (lane k sums the elements
# k mod 8), then the same tree and the same sequential remainder as `dot`:
# the same bits as four calls.  The four rows share each load of x (and xp),
# and their four independent accumulator chains keep the adder busy where
# one row's chain waits on its own latency.  The four trees run side by side
# in the lanes of two vectors (bp_tree8x4): eleven shuffles and adds instead of
# some fifty scalar extracts and adds, which had cost each block of four rows
# about as much as a third of its loop (a C model of W1's first layer: 270
# ns a sample instead of 320).  gcc 12 keeps four vectors of
# the scalar form in registers only when they are written as vectors, hence
# GCC's vector extensions here (clang has them too).  Elsewhere (AVX2, SSE2,
# NEON, MSVC) rows go one by one: with narrower vectors four rows of
# accumulators no longer fit in the registers, and a C model of this loop was
# slower there.
cdef extern from *:
    """
    #if defined(__GNUC__) && defined(__AVX512F__)
    #define BP_ROWS4 1
    #include <immintrin.h>
    typedef double bp_v8d __attribute__((vector_size(64)));
    static inline bp_v8d bp_ld8(const double *p) { bp_v8d v; memcpy(&v, p, sizeof v); return v; }
    static inline void bp_st8(double *p, bp_v8d v) { memcpy(p, &v, sizeof v); }
    /* s[r] = ((a_r[0] + a_r[1]) + (a_r[2] + a_r[3])) + ((a_r[4] + a_r[5]) + (a_r[6] + a_r[7])),
       dot's tree, for four rows at once: each level adds the same two operands
       as the scalar tree, with the rows side by side in the lanes. */
    static inline void bp_tree8x4(bp_v8d a0, bp_v8d a1, bp_v8d a2, bp_v8d a3, double *s) {
        __m512d b0 = (__m512d)a0, b1 = (__m512d)a1, b2 = (__m512d)a2, b3 = (__m512d)a3;
        /* [a0 01, a1 01, a0 23, a1 23, a0 45, a1 45, a0 67, a1 67], likewise rows 2 and 3 */
        __m512d p01 = _mm512_add_pd(_mm512_unpacklo_pd(b0, b1), _mm512_unpackhi_pd(b0, b1));
        __m512d p23 = _mm512_add_pd(_mm512_unpacklo_pd(b2, b3), _mm512_unpackhi_pd(b2, b3));
        /* [0123 of rows 0..3, 4567 of rows 0..3] */
        __m512d q = _mm512_add_pd(
            _mm512_permutex2var_pd(p01, _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13), p23),
            _mm512_permutex2var_pd(p01, _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15), p23));
        _mm256_storeu_pd(s, _mm256_add_pd(_mm512_castpd512_pd256(q), _mm512_extractf64x4_pd(q, 1)));
    }
    /* out[r] = dot(w + r*ld, x, n) for r < 4; with xp, each row is first
       updated as by update_dot: w_r -= c[r] xp.  Needs n >= 8. */
    static void bp_rows4(double *w, Py_ssize_t ld, const double *c, const double *xp,
                         const double *x, Py_ssize_t n, double *out) {
        double *w0 = w, *w1 = w + ld, *w2 = w + 2 * ld, *w3 = w + 3 * ld;
        bp_v8d a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, xv, u0, u1, u2, u3;
        Py_ssize_t i, m = n - (n & 7);
        double s[4], v;
        if (xp) {
            double c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3];
            for (i = 0; i < m; i += 8) {
                bp_v8d pv = bp_ld8(xp + i);
                xv = bp_ld8(x + i);
                u0 = bp_ld8(w0 + i) - c0 * pv; bp_st8(w0 + i, u0);
                u1 = bp_ld8(w1 + i) - c1 * pv; bp_st8(w1 + i, u1);
                u2 = bp_ld8(w2 + i) - c2 * pv; bp_st8(w2 + i, u2);
                u3 = bp_ld8(w3 + i) - c3 * pv; bp_st8(w3 + i, u3);
                a0 = a0 + u0 * xv; a1 = a1 + u1 * xv; a2 = a2 + u2 * xv; a3 = a3 + u3 * xv;
            }
            bp_tree8x4(a0, a1, a2, a3, s);
            for (i = m; i < n; i++) {
                v = w0[i] - c0 * xp[i]; w0[i] = v; s[0] = s[0] + v * x[i];
                v = w1[i] - c1 * xp[i]; w1[i] = v; s[1] = s[1] + v * x[i];
                v = w2[i] - c2 * xp[i]; w2[i] = v; s[2] = s[2] + v * x[i];
                v = w3[i] - c3 * xp[i]; w3[i] = v; s[3] = s[3] + v * x[i];
            }
        } else {
            for (i = 0; i < m; i += 8) {
                xv = bp_ld8(x + i);
                a0 = a0 + bp_ld8(w0 + i) * xv; a1 = a1 + bp_ld8(w1 + i) * xv;
                a2 = a2 + bp_ld8(w2 + i) * xv; a3 = a3 + bp_ld8(w3 + i) * xv;
            }
            bp_tree8x4(a0, a1, a2, a3, s);
            for (i = m; i < n; i++) {
                s[0] = s[0] + w0[i] * x[i]; s[1] = s[1] + w1[i] * x[i];
                s[2] = s[2] + w2[i] * x[i]; s[3] = s[3] + w3[i] * x[i];
            }
        }
        out[0] = s[0]; out[1] = s[1]; out[2] = s[2]; out[3] = s[3];
    }
    #else
    #define BP_ROWS4 0
    static void bp_rows4(double *w, Py_ssize_t ld, const double *c, const double *xp,
                         const double *x, Py_ssize_t n, double *out) {
        (void)w; (void)ld; (void)c; (void)xp; (void)x; (void)n; (void)out;
    }
    #endif
    """
    const bint BP_ROWS4
    void bp_rows4(double* w, Py_ssize_t ld, const double* c, const double* xp,
                  const double* x, Py_ssize_t n, double* out) noexcept nogil


# A whole layer of `back_and_update` on builds with AVX2 or AVX-512, column
# block by column block: d_prev[i] = 0.0 + d[0] w_0[i] + d[1] w_1[i] + ...
# added in the order of the rows, as row-by-row calls add it, but with a
# block of four vectors of d_prev (32 columns with AVX-512, 16 with AVX2)
# held in registers through all the rows instead of stored and loaded again
# for each row, whose sum would wait on the store at every row.  Each row is
# updated, w_j -= (lr d[j]) a, right after it was read.  The same bits as
# n_out calls.
cdef extern from *:
    """
    #if defined(__GNUC__) && (defined(__AVX512F__) || defined(__AVX2__))
    #define BP_BACK_ROWS 1
    #if defined(__AVX512F__)
    #define BP_VB 8
    #else
    #define BP_VB 4
    #endif
    typedef double bp_vb __attribute__((vector_size(BP_VB * 8)));
    static inline bp_vb bp_ldb(const double *p) { bp_vb v; memcpy(&v, p, sizeof v); return v; }
    static inline void bp_stb(double *p, bp_vb v) { memcpy(p, &v, sizeof v); }
    static void bp_back_rows(double *d_prev, const double *d, double *w, Py_ssize_t n_out,
                             Py_ssize_t n, double lr, const double *a) {
        const Py_ssize_t B = 4 * BP_VB;
        Py_ssize_t i, j, m4 = n - n % B, m1 = n - n % BP_VB;
        double *r;
        double s, dj, c;
        for (i = 0; i < m4; i += B) {
            bp_vb a0 = bp_ldb(a + i), a1 = bp_ldb(a + i + BP_VB);
            bp_vb a2 = bp_ldb(a + i + 2 * BP_VB), a3 = bp_ldb(a + i + 3 * BP_VB);
            bp_vb s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0}, w0, w1, w2, w3;
            for (j = 0; j < n_out; j++) {
                r = w + j * n + i;
                dj = d[j];
                c = lr * dj;
                w0 = bp_ldb(r); w1 = bp_ldb(r + BP_VB);
                w2 = bp_ldb(r + 2 * BP_VB); w3 = bp_ldb(r + 3 * BP_VB);
                s0 = s0 + dj * w0; s1 = s1 + dj * w1; s2 = s2 + dj * w2; s3 = s3 + dj * w3;
                bp_stb(r, w0 - c * a0); bp_stb(r + BP_VB, w1 - c * a1);
                bp_stb(r + 2 * BP_VB, w2 - c * a2); bp_stb(r + 3 * BP_VB, w3 - c * a3);
            }
            bp_stb(d_prev + i, s0); bp_stb(d_prev + i + BP_VB, s1);
            bp_stb(d_prev + i + 2 * BP_VB, s2); bp_stb(d_prev + i + 3 * BP_VB, s3);
        }
        for (; i < m1; i += BP_VB) {
            bp_vb a0 = bp_ldb(a + i), s0 = {0}, w0;
            for (j = 0; j < n_out; j++) {
                r = w + j * n + i;
                dj = d[j];
                w0 = bp_ldb(r);
                s0 = s0 + dj * w0;
                bp_stb(r, w0 - (lr * dj) * a0);
            }
            bp_stb(d_prev + i, s0);
        }
        for (; i < n; i++) {
            s = 0.0;
            for (j = 0; j < n_out; j++) {
                r = w + j * n + i;
                dj = d[j];
                s = s + dj * r[0];
                r[0] = r[0] - (lr * dj) * a[i];
            }
            d_prev[i] = s;
        }
    }
    #else
    #define BP_BACK_ROWS 0
    static void bp_back_rows(double *d_prev, const double *d, double *w, Py_ssize_t n_out,
                             Py_ssize_t n, double lr, const double *a) {
        (void)d_prev; (void)d; (void)w; (void)n_out; (void)n; (void)lr; (void)a;
    }
    #endif
    """
    const bint BP_BACK_ROWS
    void bp_back_rows(double* d_prev, const double* d, double* w, Py_ssize_t n_out,
                      Py_ssize_t n, double lr, const double* a) noexcept nogil


cdef inline void axpy(out_vec y, double alpha, in_vec x, Py_ssize_t n) noexcept nogil:
    """y += alpha x"""
    cdef Py_ssize_t i
    for i in range(n):  # vectorised
        y[i] = y[i] + alpha * x[i]


cdef inline void add_bias(out_vec z, in_vec b, Py_ssize_t n, double shared=0.0) noexcept nogil:
    """z += b, or z += shared when b is NULL (one bias for the layer)"""
    cdef Py_ssize_t i
    if b != NULL:
        for i in range(n):  # vectorised
            z[i] = z[i] + b[i]
    else:
        for i in range(n):  # vectorised
            z[i] = z[i] + shared


cdef inline void sub_scaled(out_vec y, double c, in_vec x, Py_ssize_t n) noexcept nogil:
    """y -= c x"""
    cdef Py_ssize_t i
    for i in range(n):  # vectorised
        y[i] = y[i] - c * x[i]


cdef inline void back_and_update(out_vec d_prev, bint first, double dj, out_vec w, double c,
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


cdef inline void back_rows(double* d_prev, const double* d, double* W, Py_ssize_t n_out,
                           Py_ssize_t n_in, double lr, const double* a) noexcept nogil:
    """A whole layer of back_and_update, rows in order: through bp_back_rows
    where the build has it, else row by row.  The same bits either way."""
    cdef Py_ssize_t j
    if BP_BACK_ROWS:
        bp_back_rows(d_prev, d, W, n_out, n_in, lr, a)
        return
    for j in range(n_out):
        back_and_update(d_prev, j == 0, d[j], W + j * n_in, lr * d[j], a, n_in)


# The online region, by job: the activation table, the output stage and
# losses, the optimisers, the online step and loop, and the register loop
# of small two-layer networks.
include "_activations.pxi"
include "_losses.pxi"
include "_optim.pxi"
include "_online.pxi"
include "_small2.pxi"


# ------------------------------------------------------------- mini-batches
# A mini-batch runs as matrix products over its R rows.  train(threads=T)
# shares each batch among a team of T threads: thread t owns one block of
# every layer's units (`own`) and computes only its block of each product,
# so every value is computed as a lone thread computes it and the bits do
# not depend on T.  Thread t's blocks line up from layer to layer: the
# forward pass of layer l writes the columns of Z_l it owns; the backward
# pass of layer l >= 1 computes the columns of D_{l-1} it owns and updates
# the matching columns of W_l (which no other thread reads meanwhile);
# layer 0 updates the rows of W_0 of the units it owns.  The team meets at a
# barrier after each layer's forward pass and each backward level, and
# thread 0 alone runs the serial parts (each sample's loss, the optimiser's
# step counters, the finiteness and target checks), publishing the outcome
# in the team before the next barrier.

# Products below this many multiply-adds stay in the kernels' own loops even
# when BLAS is available: a BLAS call costs about a microsecond to set up.
cdef enum:
    BLAS_MIN = 4096

# A sense-reversing barrier on atomics: waiting threads spin briefly, then
# yield the CPU between looks.
cdef extern from *:
    """
    #if defined(_MSC_VER)
    #define WIN32_LEAN_AND_MEAN
    #define NOMINMAX
    #include <windows.h>
    #define BP_ADD_FETCH(p, v) (_InterlockedExchangeAdd((volatile long *)(p), (v)) + (v))
    #define BP_LOAD(p) _InterlockedOr((volatile long *)(p), 0)
    #define BP_STORE(p, v) _InterlockedExchange((volatile long *)(p), (v))
    #define BP_PAUSE() YieldProcessor()
    #define BP_YIELD() SwitchToThread()
    #else
    #include <sched.h>
    #define BP_ADD_FETCH(p, v) __atomic_add_fetch((p), (v), __ATOMIC_ACQ_REL)
    #define BP_LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
    #define BP_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
    #define BP_YIELD() sched_yield()
    #if defined(__x86_64__) || defined(__i386__)
    #define BP_PAUSE() __builtin_ia32_pause()
    #elif defined(__aarch64__)
    #define BP_PAUSE() __asm__ __volatile__("yield")
    #else
    #define BP_PAUSE() ((void)0)
    #endif
    #endif
    /* Wait until n threads have arrived (*local: this thread's phase). */
    static void bp_barrier(int *count, int *sense, int n, int *local) {
        int s = !*local, spins = 0;
        *local = s;
        if (BP_ADD_FETCH(count, 1) == n) {
            BP_STORE(count, 0);
            BP_STORE(sense, s);
            return;
        }
        while (BP_LOAD(sense) != s) {
            if (++spins < 2048)
                BP_PAUSE();
            else
                BP_YIELD();
        }
    }
    """
    void bp_barrier(int* count, int* sense, int n, int* local) nogil


cdef inline int team_sync(bp_team* team, int t, int* local, int status) noexcept nogil:
    """Wait for the whole team; then thread 0's status, which it publishes as
    it arrives.  Alone (team NULL): status.  The status goes to the slot of
    the phase this barrier opens: a member that leaves the barrier late still
    reads this barrier's status, not one thread 0 wrote after it."""
    if team == NULL:
        return status
    if t == 0:
        team.status[1 - local[0]] = status
    bp_barrier(&team.count, &team.sense, team.n, local)
    return team.status[local[0]]


cdef inline void own(Py_ssize_t n, const bp_team* team, int t, Py_ssize_t* lo,
                     Py_ssize_t* hi) noexcept nogil:
    """Thread t's block [lo, hi) of n units: equal blocks of a multiple of 8
    units (whole cache lines of a row), in thread order; alone, all of them."""
    cdef Py_ssize_t T = 1 if team == NULL else team.n
    cdef Py_ssize_t b = ((n + T - 1) // T + 7) // 8 * 8
    lo[0] = t * b if t * b < n else n
    hi[0] = lo[0] + b if lo[0] + b < n else n


cdef void gemm_abt(const bp_batch* batch, bint blas, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                   const double* A, const double* B, double* C, Py_ssize_t ldc) noexcept nogil:
    """C = A Bᵀ: A is M x K, B is N x K, C is M x N with row stride ldc, all
    row-major.  Own loops: C[r, j] = dot(B[j], A[r]), as a per-sample forward pass."""
    cdef int m = <int>M, n = <int>N, k = <int>K, ld = <int>ldc
    cdef double one = 1.0, zero = 0.0
    cdef char tr = 84, no = 78      # 'T', 'N'
    cdef Py_ssize_t r, j
    if blas:
        # row-major C = A Bᵀ is column-major Cᵀ = B Aᵀ
        batch.dgemm(&tr, &no, &n, &m, &k, &one, <double*>B, &k, <double*>A, &k, &zero, C, &ld)
        return
    for j in range(N):
        for r in range(M):
            C[r * ldc + j] = dot(B + j * K, A + r * K, K)


cdef void gemm_atb_add(const bp_batch* batch, bint blas, double alpha, Py_ssize_t M,
                       Py_ssize_t N, Py_ssize_t K, const double* A, Py_ssize_t lda,
                       const double* B, Py_ssize_t ldb, double* C,
                       Py_ssize_t ldc) noexcept nogil:
    """C += alpha Aᵀ B: A is K x M, B is K x N, C is M x N, row-major with row
    strides lda, ldb, ldc.  Own loops: row by row of A and B, in order, as
    per-sample accumulation."""
    cdef int m = <int>M, n = <int>N, k = <int>K
    cdef int la = <int>lda, lb = <int>ldb, lc = <int>ldc
    cdef double one = 1.0
    cdef char tr = 84, no = 78
    cdef Py_ssize_t r, j
    if blas:
        # row-major C += alpha Aᵀ B is column-major Cᵀ += alpha Bᵀ A
        batch.dgemm(&no, &tr, &n, &m, &k, &alpha, <double*>B, &lb, <double*>A, &la, &one, C, &lc)
        return
    for r in range(K):
        for j in range(M):
            axpy(C + j * ldc, alpha * A[r * lda + j], B + r * ldb, N)


cdef void gemm_ab(const bp_batch* batch, bint blas, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                  const double* A, const double* B, Py_ssize_t ldb, double* C,
                  Py_ssize_t ldc) noexcept nogil:
    """C = A B: A is M x K, B is K x N (row stride ldb), C is M x N (row
    stride ldc), all row-major.  Own loops: C[r] = Σ_j A[r, j] B[j] in order
    of j, as a per-sample Wᵀδ."""
    cdef int m = <int>M, n = <int>N, k = <int>K, lb = <int>ldb, lc = <int>ldc
    cdef double one = 1.0, zero = 0.0
    cdef char no = 78
    cdef Py_ssize_t r, j, i
    cdef double* c
    if blas:
        # row-major C = A B is column-major Cᵀ = Bᵀ Aᵀ
        batch.dgemm(&no, &no, &n, &m, &k, &one, <double*>B, &lb, <double*>A, &k, &zero, C, &lc)
        return
    for r in range(M):
        c = C + r * ldc
        for i in range(N):  # vectorised
            c[i] = 0.0 + A[r * K] * B[i]
        for j in range(1, K):
            axpy(c, A[r * K + j], B + j * ldb, N)


cdef inline bint layer_blas(const bp_batch* batch, Py_ssize_t R, Py_ssize_t n_in,
                          Py_ssize_t n_out) noexcept nogil:
    """Whether a layer's products go to BLAS: decided on the whole product,
    so that every thread of a team decides alike."""
    return batch.dgemm != NULL and R * n_in * n_out >= BLAS_MIN


cdef void rows_apply(int code, double slope, double* Z, double* O, double* d_out, double* d_act,
                     double* D, Py_ssize_t R, Py_ssize_t width, Py_ssize_t lo, Py_ssize_t hi,
                     bint backward) noexcept nogil:
    """activate (forward) or hidden_delta (backward) on columns [lo, hi) of
    R rows of width units: in one pass when the block is whole rows."""
    cdef Py_ssize_t r, o
    if lo == 0 and hi == width:
        R, width, hi = 1, R * width, R * width
    for r in range(R):
        o = r * width + lo
        if backward:
            hidden_delta(code, slope, Z + o, O + o, d_out + o, d_act + o, D + o, hi - lo)
        else:
            activate(code, slope, Z + o, O + o, hi - lo)


cdef void weight_step(bp_net* net, const bp_batch* batch, const bp_step* st, double* grad,
                      bint blas, bint direct, Py_ssize_t R, Py_ssize_t M, Py_ssize_t N,
                      const double* D, Py_ssize_t ldd, const double* A, Py_ssize_t lda,
                      Py_ssize_t off, Py_ssize_t ld) noexcept nogil:
    """The step of the block of weights params[off + j ld + i] (j < M, i < N)
    from their gradient Σ_r D[r, j] A[r, i] over R rows (D and A row-major,
    row strides ldd and lda).  direct (plain SGD on BLAS): one dgemm adds
    -(lr / R) Dᵀ A to the weights; else the gradient goes to grad (the
    gradient buffer, laid out as params) and then through the optimiser."""
    cdef Py_ssize_t j
    cdef double* G = grad + off
    if direct:
        gemm_atb_add(batch, True, -st.lr / R, M, N, R, D, ldd, A, lda, net.params + off, ld)
        return
    for j in range(M):
        memset(G + j * ld, 0, N * sizeof(double))
    gemm_atb_add(batch, blas, 1.0, M, N, R, D, ldd, A, lda, G, ld)
    if N == ld:
        M, N = 1, M * N     # whole rows: one pass
    for j in range(M):
        opt_update(net, st, off + j * ld, N, 1.0 / R, G + j * ld, st.weight_decay)


cdef void bias_step(bp_net* net, const bp_step* st, double* G, Py_ssize_t l,
                    const double* D, Py_ssize_t R, Py_ssize_t lo, Py_ssize_t hi,
                    bint direct) noexcept nogil:
    """Layer l's biases from its deltas D (R x size[l + 1]): the per-unit
    biases [lo, hi), or the shared one when lo == 0.  direct: plain SGD, b -=
    (lr / R) Σ_r D[r]; else the gradient Σ_r D[r] goes to G (the gradient
    buffer) and then through the optimiser."""
    cdef Py_ssize_t n_out = net.size[l + 1], nb = net.n_bias[l], r, j
    cdef double* b = net.params + net.b_off[l]
    cdef double* g = G + net.b_off[l]
    cdef double c = st.lr / R, sb
    cdef double wd = st.weight_decay if net.decay_bias else 0.0
    if not net.train_bias or nb == 0 or hi <= lo or (nb == 1 and lo > 0):
        return
    if nb == 1:
        if not direct:
            g[0] = 0.0
        for r in range(R):
            sb = 0.0
            for j in range(n_out):
                sb = sb + D[r * n_out + j]
            if direct:
                b[0] = b[0] - c * sb
            else:
                g[0] = g[0] + sb
        if not direct:
            opt_update(net, st, net.b_off[l], 1, 1.0 / R, g, wd)
        return
    if direct:
        for r in range(R):
            sub_scaled(b + lo, c, D + r * n_out + lo, hi - lo)
        return
    memset(g + lo, 0, (hi - lo) * sizeof(double))
    for r in range(R):
        axpy(g + lo, 1.0, D + r * n_out + lo, hi - lo)
    opt_update(net, st, net.b_off[l] + lo, hi - lo, 1.0 / R, g + lo, wd)


cdef int batch_step(bp_net* net, bp_work* work, bp_batch* batch, bp_run* run, Py_ssize_t e,
                    const double* X, const double* Y, const double* w, Py_ssize_t rows,
                    bp_team* team, int t, int* phase) noexcept nogil:
    """Thread t's part of one mini-batch step of epoch e on rows consecutive
    samples X, Y (row-major): the forward and backward passes as matrix
    products over the whole batch, the gradient averaged over its rows, then
    one optimiser step.  Each sample's loss, taken before the step, goes to
    note_loss.  With sample weights w (rows values, else NULL) the step
    follows ∇[mean_r w_r E_r + ½ λ ‖W‖²] / w̄, w̄ the batch's mean weight:
    sample r's output deltas and loss are scaled by c_r = w_r / w̄ (the
    gradient stays a mean over rows) and the weight decay λ by 1 / w̄.  So
    the step does not depend on the weights' overall scale, and with unit
    weights it is the unweighted one (c_r = 1 exactly).  Plain SGD on BLAS updates W_l -= (lr/R) D_lᵀ A_{l-1} in one
    dgemm, after D_{l-1} = (D_l W_l) ⊙ f' has read the old W_l; otherwise the
    gradient goes through work.grad and the optimiser."""
    cdef Py_ssize_t L = net.n_layers, R = rows, l, r, j, o, n_in, n_out, lo, hi, u
    cdef const double* A = X
    cdef double* Z
    cdef double* O
    cdef double* D
    cdef double* W
    cdef const double* b
    cdef double E, c, w_mean = 1.0
    cdef int code, status = BP_OK
    cdef bint blas, direct
    cdef bp_step st
    # forward: Z_l = A_{l-1} W_lᵀ + b_l, A_l = f(Z_l), on the columns t owns
    for l in range(L):
        n_in = net.size[l]
        n_out = net.size[l + 1]
        Z = batch.net + R * net.u_off[l]
        O = batch.out + R * net.u_off[l]
        code = net.act[l]
        own(n_out, team, t, &lo, &hi)
        if hi > lo:
            gemm_abt(batch, layer_blas(batch, R, n_in, n_out), R, hi - lo, n_in, A,
                     net.params + net.w_off[l] + lo * n_in, Z + lo, n_out)
            b = net.params + net.b_off[l]
            if net.n_bias[l] > 0:
                for r in range(R):
                    add_bias(Z + r * n_out + lo, b + lo if net.n_bias[l] > 1 else NULL, hi - lo,
                             b[0])
            if code != BP_SOFTMAX:
                rows_apply(code, net.act_param[l], Z, O, NULL, NULL, NULL, R, n_out, lo, hi,
                           False)
        if code == BP_SOFTMAX:
            # softmax needs whole rows: the team splits the rows instead
            status = team_sync(team, t, phase, status)
            if status != BP_OK:
                return status
            own(R, team, t, &lo, &hi)
            for r in range(lo, hi):
                activate(code, net.act_param[l], Z + r * n_out, O + r * n_out, n_out)
        status = team_sync(team, t, phase, status)
        if status != BP_OK:
            return status
        A = O
    # output layer (thread 0): each sample's loss and deltas, then the step's constants
    if t == 0:
        n_out = net.size[L]
        u = R * net.u_off[L - 1]
        if w != NULL:
            w_mean = 0.0
            for r in range(R):
                w_mean = w_mean + w[r]
            w_mean = w_mean / R
        for r in range(R):
            j = r * n_out
            E = output_stage(net, batch.net + u + j, batch.out + u + j, Y + j,
                             batch.d_out + u + j, batch.d_act + u + j, batch.delta + u + j,
                             batch.errors + j)
            if not isfinite(E):
                status = BP_NONFINITE_LOSS
                break
            if w != NULL:
                c = w[r] / w_mean
                E = c * E
                for o in range(n_out):
                    batch.delta[u + j + o] = c * batch.delta[u + j + o]
            note_loss(run, e, E)
        if status == BP_OK:
            st = begin_step(net, epoch_lr(run, e))
            st.weight_decay = net.weight_decay / w_mean
            if team != NULL:
                team.st = st
    status = team_sync(team, t, phase, status)
    if status != BP_OK:
        return status
    if team != NULL:
        st = team.st
    # backward, from the top: level l >= 1 computes t's columns of D_{l-1}
    # and updates the same columns of W_l; layer 0 updates t's rows of W_0.
    direct = batch.dgemm != NULL and plain_sgd(net)
    for l in range(L - 1, -1, -1):
        n_in = net.size[l]
        n_out = net.size[l + 1]
        D = batch.delta + R * net.u_off[l]
        A = X if l == 0 else batch.out + R * net.u_off[l - 1]
        W = net.params + net.w_off[l]
        blas = layer_blas(batch, R, n_in, n_out)
        own(n_in if l > 0 else n_out, team, t, &lo, &hi)
        if l > 0 and hi > lo:
            u = R * net.u_off[l - 1]
            gemm_ab(batch, blas, R, hi - lo, n_out, D, W + lo, n_in, batch.d_out + u + lo, n_in)
            rows_apply(net.act[l - 1], net.act_param[l - 1], batch.net + u, batch.out + u,
                       batch.d_out + u, batch.d_act + u, batch.delta + u, R, n_in, lo, hi, True)
            # columns [lo, hi) of W_l
            weight_step(net, batch, &st, work.grad, blas, direct, R, n_out, hi - lo, D, n_out,
                        A + lo, n_in, net.w_off[l] + lo, n_in)
        elif l == 0 and hi > lo:
            # rows [lo, hi) of W_0
            weight_step(net, batch, &st, work.grad, blas, direct, R, hi - lo, n_in, D + lo,
                        n_out, X, n_in, net.w_off[0] + lo * n_in, n_in)
        own(n_out, team, t, &lo, &hi)
        if l > 0 or net.n_bias[0] != 1:
            bias_step(net, &st, work.grad, l, D, R, lo, hi, direct)
        if l > 0:
            status = team_sync(team, t, phase, status)
            if status != BP_OK:
                return status
    if net.train_bias and net.n_bias[0] == 1:
        # the shared bias of layer 0 sums all of D_0, which the whole team wrote
        status = team_sync(team, t, phase, status)
        if status != BP_OK:
            return status
        own(net.size[1], team, t, &lo, &hi)
        bias_step(net, &st, work.grad, 0, batch.delta + R * net.u_off[0], R, lo, hi, direct)
        status = team_sync(team, t, phase, status)
    return status


cdef int train_batches(bp_net* net, bp_work* work, bp_batch* batch, bp_run* run,
                       const double* X, const double* Y, Py_ssize_t n, const Py_ssize_t* order,
                       Py_ssize_t k, Py_ssize_t step0, Py_ssize_t n_steps, Py_ssize_t* done,
                       bp_team* team, int t) noexcept nogil:
    """train_steps for k > 1: thread t's part of batch_step on each batch, its
    samples gathered (each thread its block of rows) into one of two halves
    of the batch workspace, in turn, when an order is given."""
    cdef Py_ssize_t n_in = net.size[0], n_out = net.size[net.n_layers]
    cdef Py_ssize_t S = (n + k - 1) // k
    cdef Py_ssize_t s, e, b, p, p_end, i, idx, lo, hi, half
    cdef const double* Xb
    cdef const double* Yb
    cdef const double* wb = NULL
    cdef int status = BP_OK, phase = 0
    done[0] = 0
    for s in range(step0, step0 + n_steps):
        e = s // S
        b = s - e * S
        p = b * k
        p_end = p + k if p + k < n else n
        if order == NULL:
            Xb = X + p * n_in
            Yb = Y + p * n_out
            if run.weights != NULL:
                wb = run.weights + p
        else:
            # two halves: a team member may still read the last batch's rows
            half = (s & 1) * batch.rows
            own(p_end - p, team, t, &lo, &hi)
            for i in range(p + lo, p + hi):
                idx = order[e * n + i]
                memcpy(batch.x + (half + i - p) * n_in, X + idx * n_in, n_in * sizeof(double))
                memcpy(batch.y + (half + i - p) * n_out, Y + idx * n_out, n_out * sizeof(double))
                if run.weights != NULL:
                    run.weight_rows[half + i - p] = run.weights[idx]
            status = team_sync(team, t, &phase, status)
            if status != BP_OK:
                return status
            Xb = batch.x + half * n_in
            Yb = batch.y + half * n_out
            if run.weights != NULL:
                wb = run.weight_rows + half
        status = batch_step(net, work, batch, run, e, Xb, Yb, wb, p_end - p, team, t, &phase)
        if status != BP_OK:
            return status
        if b == S - 1 or s == step0 + n_steps - 1:
            status = team_sync(team, t, &phase, status)
            if status != BP_OK:
                return status
            if t == 0:
                if not state_finite(net):
                    status = BP_NONFINITE_PARAMS
                elif b == S - 1 and run.loss_sums[e] / n <= run.target:
                    run.stopped = True
                if team != NULL:
                    team.stopped = run.stopped
            status = team_sync(team, t, &phase, status)
            if status != BP_OK:
                return status
        done[0] = s - step0 + 1
        if (team.stopped if team != NULL else run.stopped):
            return BP_OK
    return BP_OK


cdef int train_steps(bp_net* net, bp_work* work, bp_batch* batch, bp_run* run,
                     const double* X, const double* Y, Py_ssize_t n, const Py_ssize_t* order,
                     Py_ssize_t k, Py_ssize_t step0, Py_ssize_t n_steps,
                     Py_ssize_t* done, bp_team* team, int t) noexcept nogil:
    """Run optimiser steps step0 .. step0 + n_steps - 1 of a window of epochs.

    X: (n, size[0]) and Y: (n, size[L]), C-contiguous.  Step s belongs to
    epoch e = s // S of the window (S = ceil(n / k) steps per epoch) and covers
    positions [b k, min(b k + k, n)) of that epoch's sample order, b = s % S;
    order holds one permutation of range(n) per epoch of the window, or is
    NULL for the natural order.  k = 1 is online learning (an update per
    sample); k > 1 averages the gradient over the batch before one update.
    epoch_lr(run, e) is epoch e's learning rate; run.loss_sums[e] accumulates the
    loss of each sample, taken before the update that sample contributes to;
    with run.record_every = N the mean of every N consecutive losses is
    appended to run.record.  After the first epoch whose mean loss is at most
    run.target, training stops with run.stopped set.

    Stops early with BP_NONFINITE_LOSS when a sample's loss is not finite
    (before that sample's update) or BP_NONFINITE_PARAMS when the parameters
    or optimiser state are not finite at the end of an epoch or of the call.
    *done receives the number of steps completed (and checked).

    With team (k > 1 only), this is thread t's part of the call: every member
    runs train_steps with the same arguments but its own t and done, and
    thread 0's status and *done are the call's.
    """
    if k == 1:
        return train_online(net, work, run, X, Y, n, order, step0, n_steps, done)
    return train_batches(net, work, batch, run, X, Y, n, order, k, step0, n_steps, done,
                         team, t)


cdef void sample_losses(const bp_net* net, bp_work* work, const double* X,
                        const double* Y, Py_ssize_t n, double* losses) noexcept nogil:
    """losses[i] = E of sample i under the current parameters."""
    cdef Py_ssize_t i, n_in = net.size[0], n_out = net.size[net.n_layers]
    for i in range(n):
        # sweeps in alternate directions, as in train_online
        forward(<bp_net*>net, work, X + i * n_in, NULL, 0.0, (i & 1) != 0)
        losses[i] = bp_output(net, work, Y + i * n_out)


cdef void predict_rows(const bp_net* net, bp_work* work, const double* X,
                       const double* Y, Py_ssize_t n, double* out) noexcept nogil:
    """out[i, :] = the network's outputs for X[i] (Y is not used)."""
    cdef Py_ssize_t i, n_in = net.size[0], n_out = net.size[net.n_layers]
    for i in range(n):
        predict_into(net, work, X + i * n_in, out + i * n_out, (i & 1) != 0)


cdef void fill_table(bp_kernels* table, const char* name) noexcept nogil:
    """Point table at this build's kernels."""
    table.name = name
    table.train = train_steps
    table.predict = predict_rows
    table.losses = sample_losses
