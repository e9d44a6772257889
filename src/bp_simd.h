/* Vector primitives of backprop's kernels (src/_vector.pxi declares them).

   Every build of the kernels (baseline, scalar, x86-64-v3, x86-64-v4)
   includes this file; the preprocessor picks what the build's instruction set
   allows.  Each vector path gives the same bits as the scalar loops it
   replaces: the same operands are added in the same order, and contraction
   into FMA is off (setup.py). */
#ifndef BP_SIMD_H
#define BP_SIMD_H

#include <Python.h>     /* Py_ssize_t */
#include <string.h>     /* memcpy */
#include "bp_real.h"    /* bp_real: the network's type */

/* Restrict-qualified pointers for the vector primitives: the buffers they are
   given never overlap, and saying so lets the compiler vectorise the loops
   without run-time overlap checks and scalar fallbacks. */
#if defined(_MSC_VER)
#define BP_RESTRICT __restrict
#else
#define BP_RESTRICT __restrict__
#endif
typedef bp_real * BP_RESTRICT bp_out_vec;
typedef const bp_real * BP_RESTRICT bp_in_vec;

/* Whether this build has vector gathers (AVX2 and up), which the table
   lookups of bp_exp need to vectorise.  Without them (SSE2, NEON) a loop of
   bp_exp runs one value at a time, and bp_exp_scalar, the same bits without
   the vector form's overhead, is faster. */
#if defined(__AVX2__)
#define BP_VECTOR_EXP 1
#else
#define BP_VECTOR_EXP 0
#endif

/* Four rows of `dot` / `update_dot` at once, on builds with 512-bit vectors.
   Each row's partial sums are one vector (BP_LANES of them, dot's eight
   doubles or bp_dotf's sixteen floats: lane k sums the elements k mod
   BP_LANES), then the same tree and the same sequential remainder as `dot`:
   the same bits as four calls.  The four rows share each load of x (and xp),
   and their four independent accumulator chains keep the adder busy where
   one row's chain waits on its own latency.  The four trees run side by side
   in the lanes of vectors (bp_tree_rows4): a dozen shuffles and adds instead
   of some fifty scalar extracts and adds.  gcc 12 keeps four vectors of the
   scalar form in registers only when they are written as vectors, hence
   GCC's vector extensions here (clang has them too).  Elsewhere (AVX2, SSE2,
   NEON, MSVC) rows go one by one: with narrower vectors four rows of
   accumulators no longer fit in the registers.  BP_ROWS4_MIN is the
   narrowest row the form takes: below it dot sums sequentially. */
#if defined(__GNUC__) && defined(__AVX512F__)
#define BP_ROWS4 1
#define BP_LANES (64 / (int)sizeof(bp_real))
#define BP_ROWS4_MIN BP_LANES
#include <immintrin.h>
typedef bp_real bp_vrow __attribute__((vector_size(64)));
static inline bp_vrow bp_ldr(const bp_real *p) { bp_vrow v; memcpy(&v, p, sizeof v); return v; }
static inline void bp_str(bp_real *p, bp_vrow v) { memcpy(p, &v, sizeof v); }
#if !BP_REAL_IS_FLOAT32
/* s[r] = ((a_r[0] + a_r[1]) + (a_r[2] + a_r[3])) + ((a_r[4] + a_r[5]) + (a_r[6] + a_r[7])),
   dot's tree, for four rows at once: each level adds the same two operands
   as the scalar tree, with the rows side by side in the lanes. */
static inline void bp_tree_rows4(bp_vrow a0, bp_vrow a1, bp_vrow a2, bp_vrow a3, double *s) {
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
#else
/* bp_dotf's tree for four rows at once: each row's sixteen sums folded to
   eight (lane k + lane k + 8), then ((0+1) + (2+3)) + ((4+5) + (6+7)).  The
   pairs come from horizontal adds, whose operands are the tree's (in the
   other order, which is the same sum): rows 0 and 1, then 2 and 3, side by
   side in the lanes, then the two halves of the 256-bit result. */
static inline __m256 bp_fold16(bp_vrow a) {
    __m512 v = (__m512)a;
    return _mm256_add_ps(_mm512_castps512_ps256(v),
                         _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}
static inline void bp_tree_rows4(bp_vrow a0, bp_vrow a1, bp_vrow a2, bp_vrow a3, float *s) {
    __m256 q = _mm256_hadd_ps(_mm256_hadd_ps(bp_fold16(a0), bp_fold16(a1)),
                              _mm256_hadd_ps(bp_fold16(a2), bp_fold16(a3)));
    _mm_storeu_ps(s, _mm_add_ps(_mm256_castps256_ps128(q), _mm256_extractf128_ps(q, 1)));
}
#endif
/* out[r] = dot(w + r*ld, x, n) for r < 4; with xp, each row is first
   updated as by update_dot: w_r -= c[r] xp.  Needs n >= BP_ROWS4_MIN. */
static void bp_rows4(bp_real *w, Py_ssize_t ld, const bp_real *c, const bp_real *xp,
                     const bp_real *x, Py_ssize_t n, bp_real *out) {
    bp_real *w0 = w, *w1 = w + ld, *w2 = w + 2 * ld, *w3 = w + 3 * ld;
    bp_vrow a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, xv, u0, u1, u2, u3;
    Py_ssize_t i, m = n - (n & (BP_LANES - 1));
    bp_real s[4], v;
    if (xp) {
        bp_real c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3];
        for (i = 0; i < m; i += BP_LANES) {
            bp_vrow pv = bp_ldr(xp + i);
            xv = bp_ldr(x + i);
            u0 = bp_ldr(w0 + i) - c0 * pv; bp_str(w0 + i, u0);
            u1 = bp_ldr(w1 + i) - c1 * pv; bp_str(w1 + i, u1);
            u2 = bp_ldr(w2 + i) - c2 * pv; bp_str(w2 + i, u2);
            u3 = bp_ldr(w3 + i) - c3 * pv; bp_str(w3 + i, u3);
            a0 = a0 + u0 * xv; a1 = a1 + u1 * xv; a2 = a2 + u2 * xv; a3 = a3 + u3 * xv;
        }
        bp_tree_rows4(a0, a1, a2, a3, s);
        for (i = m; i < n; i++) {
            v = w0[i] - c0 * xp[i]; w0[i] = v; s[0] = s[0] + v * x[i];
            v = w1[i] - c1 * xp[i]; w1[i] = v; s[1] = s[1] + v * x[i];
            v = w2[i] - c2 * xp[i]; w2[i] = v; s[2] = s[2] + v * x[i];
            v = w3[i] - c3 * xp[i]; w3[i] = v; s[3] = s[3] + v * x[i];
        }
    } else {
        for (i = 0; i < m; i += BP_LANES) {
            xv = bp_ldr(x + i);
            a0 = a0 + bp_ldr(w0 + i) * xv; a1 = a1 + bp_ldr(w1 + i) * xv;
            a2 = a2 + bp_ldr(w2 + i) * xv; a3 = a3 + bp_ldr(w3 + i) * xv;
        }
        bp_tree_rows4(a0, a1, a2, a3, s);
        for (i = m; i < n; i++) {
            s[0] = s[0] + w0[i] * x[i]; s[1] = s[1] + w1[i] * x[i];
            s[2] = s[2] + w2[i] * x[i]; s[3] = s[3] + w3[i] * x[i];
        }
    }
    out[0] = s[0]; out[1] = s[1]; out[2] = s[2]; out[3] = s[3];
}
#else
#define BP_ROWS4 0
#define BP_ROWS4_MIN 0
static void bp_rows4(bp_real *w, Py_ssize_t ld, const bp_real *c, const bp_real *xp,
                     const bp_real *x, Py_ssize_t n, bp_real *out) {
    (void)w; (void)ld; (void)c; (void)xp; (void)x; (void)n; (void)out;
}
#endif

/* A whole layer of `back_and_update` on builds with AVX2 or AVX-512, column
   block by column block: d_prev[i] = 0.0 + d[0] w_0[i] + d[1] w_1[i] + ...
   added in the order of the rows, as row-by-row calls add it, but with a
   block of four vectors of d_prev (32 columns of doubles with AVX-512, 16
   with AVX2; twice as many floats)
   held in registers through all the rows instead of stored and loaded again
   for each row, whose sum would wait on the store at every row.  Each row is
   updated, w_j -= (lr d[j]) a, right after it was read.  The same bits as
   n_out calls. */
#if defined(__GNUC__) && (defined(__AVX512F__) || defined(__AVX2__))
#define BP_BACK_ROWS 1
#if defined(__AVX512F__)
#define BP_VB (64 / (int)sizeof(bp_real))
#else
#define BP_VB (32 / (int)sizeof(bp_real))
#endif
typedef bp_real bp_vb __attribute__((vector_size(BP_VB * sizeof(bp_real))));
static inline bp_vb bp_ldb(const bp_real *p) { bp_vb v; memcpy(&v, p, sizeof v); return v; }
static inline void bp_stb(bp_real *p, bp_vb v) { memcpy(p, &v, sizeof v); }
static void bp_back_rows(bp_real *d_prev, const bp_real *d, bp_real *w, Py_ssize_t n_out,
                         Py_ssize_t n, bp_real lr, const bp_real *a) {
    const Py_ssize_t B = 4 * BP_VB;
    Py_ssize_t i, j, m4 = n - n % B, m1 = n - n % BP_VB;
    bp_real *r;
    bp_real s, dj, c;
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
static void bp_back_rows(bp_real *d_prev, const bp_real *d, bp_real *w, Py_ssize_t n_out,
                         Py_ssize_t n, bp_real lr, const bp_real *a) {
    (void)d_prev; (void)d; (void)w; (void)n_out; (void)n; (void)lr; (void)a;
}
#endif

#endif /* BP_SIMD_H */
