/* bp_math.h: backprop's own elementary functions, and the scalar pieces of
 * the forward pass that exported networks share with the core.
 *
 *     bp_exp(x)    exp(x)
 *     bp_expm1(x)  exp(x) - 1, accurate (relative) near 0
 *     bp_log(x)    natural log, x > 0
 *     bp_log1p(x)  log(1 + x), x > -1, accurate (relative) near 0
 *     bp_tanh(x)   tanh(x), exactly odd, saturating to +-1
 *     bp_exp_normal, bp_exp_scalar: bp_exp's bits, for |x| <= 600 / one value at a time
 *     bp_dot(w, x, n)      the forward pass's dot product, in its fixed order
 *     bp_logistic_of(z, e), bp_logistic(z), bp_softmax(z, a, n)
 *
 * This file is the only implementation of these functions.  The compiled core
 * declares it in Cython (src/backprop/_math.pxd, `cdef extern from
 * "bp_math.h"`), and backprop.export embeds its text in the C headers it
 * writes, so exported networks compute predict's bits.  It is C99 and C++17
 * (hexadecimal floating literals), uses no libm and no global state: only
 * static inline functions and static const tables.
 *
 * Why: the core must give the same bits on every CPU (SSE2, AVX2, AVX-512,
 * NEON) and whatever the platform's libm is.  These functions use only IEEE-754
 * + - * /, comparisons, integer and bit operations, and constant tables, so each
 * result is a fixed function of the input bits.  They do not use libm and do not
 * rely on FMA.  They REQUIRE that the C compiler does not contract a*b+c into
 * fused multiply-adds (-ffp-contract=off, as setup.py passes): several steps
 * below are error-free transformations (Fast2Sum, TwoSum, Dekker's product)
 * that are wrong if a multiply and an add are fused.  They assume
 * round-to-nearest-even, the default rounding mode, and double arithmetic
 * without excess precision (FLT_EVAL_METHOD == 0: SSE2 on x86, not the x87).
 *
 * Accuracy, max error in ulps of the exact result, measured against mpmath
 * (200 bits) on ~2 million points per function across the whole domain:
 *
 *     exp 0.506   expm1 0.527   log 0.506   log1p 0.512   tanh 0.513
 *
 * (exp's polynomial was regrouped since, to shorten its chain of dependent
 * operations: 0.505 on 227k points over the whole domain, near 0 and the hard
 * cases of tests/test_math.py.)
 *
 * tests/test_math.py asserts 0.52 / 0.54 / 0.52 / 0.52 / 0.52 on 20k+ random
 * and a few thousand hand-picked points.  The requirements were exp <= 0.52,
 * expm1/log/log1p <= 1, and tanh <= 2 ulp.
 *
 * Vectorisation
 * -------------
 * A loop `for (i = 0; i < n; i++) y[i] = bp_exp(x[i]);` (also expm1, log,
 * log1p, tanh) is vectorised by gcc 12 at -O3 -ffp-contract=off with
 * -march=x86-64-v3 and -march=x86-64-v4.  With gcc's generic tuning (the
 * kernels' builds keep it) the table lookups are scalar loads: that tuning
 * emits no hardware gathers.  Three things make this work:
 *
 * - There are no branches.  Every path (main path, special-case path,
 *   fix-ups) is computed for every input, and the answer is chosen with
 *   bp__sel, a bit-mask select on the integer bit patterns.  Plain c ? a : b
 *   does not work for doubles here.  gcc sinks the unused arm's
 *   floating-point operations into a branch.  Under the default
 *   -ftrapping-math the if-converter then refuses to run them
 *   unconditionally, and the loop is not vectorised at AVX2, which has no
 *   masked arithmetic.
 * - Integer and constant choices are arithmetic on 0/1 flags, not ternaries.
 *   Ternaries would not block vectorisation.  But in scalar code gcc turns
 *   (x <= 0 ? -1022 : 1) into a real branch, which mispredicts on random-sign
 *   data, in the baseline (non-vectorised) build above all.
 * - There are no float<->int64 conversions.  AVX2 has no packed instruction
 *   for them, so integers are moved in and out of doubles by adding 1.5*2^52
 *   and reinterpreting the bits.
 *
 * Every select computes the discarded value too.  That value may be garbage
 * (NaN, inf, a nonsense exponent), but its computation is harmless: unsigned
 * integer arithmetic wraps, table indices are masked, and floating-point
 * exceptions are not trapped.
 *
 * Tables and polynomial coefficients are in the generated block below.  They
 * come from tools/gen_math_consts.py, which rounds mpmath values computed at
 * 100 digits and finds minimax polynomials with a Remez exchange
 * (tools/remez.py).
 */
#ifndef BP_MATH_H
#define BP_MATH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* --------------------------------------------------------------------------
 * Bit-level helpers: bit casts through memcpy are the portable,
 * optimiser-friendly form; gcc turns them into register moves. */
static inline uint64_t bp__asu64(double x) { uint64_t u; memcpy(&u, &x, sizeof u); return u; }
static inline double bp__asf64(uint64_t u) { double x; memcpy(&x, &u, sizeof x); return x; }
/* Branch-free select c ? a : b on the bit patterns (see the notes above). */
static inline double bp__sel(int c, double a, double b) {
    uint64_t m = (uint64_t)0 - (uint64_t)(c != 0);
    return bp__asf64((bp__asu64(a) & m) | (bp__asu64(b) & ~m));
}
/* |x|: the sign bit cleared, exactly (IEEE-754 abs); gcc and clang keep the
   value in a vector register for it (a bit-mask AND), where the integer form
   would move it to a general register and back, on the latency chain of a
   scalar logistic. */
#if defined(__GNUC__)
#define bp__fabs(x) __builtin_fabs(x)
#else
static inline double bp__fabs(double x) { return bp__asf64(bp__asu64(x) & 0x7FFFFFFFFFFFFFFFULL); }
#endif
/* Constants given by their bits: +inf and the positive quiet NaN
   (constant, so that invalid arguments give the same NaN on x86 and arm64,
   whose hardware default NaNs differ in sign). */
#define BP__INF (bp__asf64(0x7FF0000000000000ULL))
#define BP__NAN (bp__asf64(0x7FF8000000000000ULL))
/* 64-bit masks and bit patterns */
#define BP__SHIFT_BITS  0x4338000000000000ULL  /* bits of SHIFT = 1.5 * 2^52 */
#define BP__OFF_BITS    0x3FE6000000000000ULL  /* bits of OFF = 0.6875 (log) */
#define BP__EXPO_MASK   0xFFF0000000000000ULL  /* sign and exponent fields */
#define BP__SPLIT_MASK  0xFFFFFFFFFFE00000ULL  /* keeps 32 significant bits */
#define BP__SIGN_MASK   0x8000000000000000ULL
#define BP__ABS_MASK    0x7FFFFFFFFFFFFFFFULL

/* BEGIN GENERATED by tools/gen_math_consts.py (do not edit by hand) */
/* ---- generated by tools/gen_math_consts.py: do not edit by hand ---- */
#define BP__EXP_TABLE_BITS 7
#define BP__LOG_TABLE_BITS 7
static const double BP__EXP_INVLN2N = 0x1.71547652b82fep+7; /* 184.6649652337873: N/ln2 */
static const double BP__EXP_LN2HIN = 0x1.62e42fefc0000p-8; /* 0.0054152123482253955: ln2/N, 35 significant bits */
static const double BP__EXP_LN2LON = -0x1.c610ca86c3899p-44; /* -1.0082281460997769e-13: ln2/N - BP__EXP_LN2HIN */
static const double BP__EXP_C2 = 0x1.fffffffffff58p-2; /* 0.4999999999999907: exp poly, r^2 */
static const double BP__EXP_C3 = 0x1.5555555555495p-3; /* 0.16666666666666133: exp poly, r^3 */
static const double BP__EXP_C4 = 0x1.55555accc11d3p-5; /* 0.04166667684879468: exp poly, r^4 */
static const double BP__EXP_C5 = 0x1.111115c092049p-7; /* 0.008333335515217881: exp poly, r^5 */
static const double BP__EXPM1_C3 = 0x1.5555555555555p-3; /* 0.16666666666666666: expm1 small-|x| poly, x^3 */
static const double BP__EXPM1_C4 = 0x1.5555555555555p-5; /* 0.041666666666666664: expm1 small-|x| poly, x^4 */
static const double BP__EXPM1_C5 = 0x1.1111111111087p-7; /* 0.008333333333333094: expm1 small-|x| poly, x^5 */
static const double BP__EXPM1_C6 = 0x1.6c16c16c16b0bp-10; /* 0.0013888888888888308: expm1 small-|x| poly, x^6 */
static const double BP__EXPM1_C7 = 0x1.a01a01a12e19fp-13; /* 0.0001984126984433511: expm1 small-|x| poly, x^7 */
static const double BP__EXPM1_C8 = 0x1.a01a01a1622b9p-16; /* 2.480158730614149e-05: expm1 small-|x| poly, x^8 */
static const double BP__EXPM1_C9 = 0x1.71de2e4168f65p-19; /* 2.7557305492687016e-06: expm1 small-|x| poly, x^9 */
static const double BP__EXPM1_C10 = 0x1.27e4f103f7415p-22; /* 2.755730437157178e-07: expm1 small-|x| poly, x^10 */
static const double BP__EXPM1_C11 = 0x1.aed2bfba97a38p-26; /* 2.5077212954084447e-08: expm1 small-|x| poly, x^11 */
static const double BP__EXPM1_C12 = 0x1.1f39450b543cap-29; /* 2.0898275381602385e-09: expm1 small-|x| poly, x^12 */
static const double BP__LOG_LN2HI = 0x1.62e42fefa3800p-1; /* 0.6931471805598903: ln2, 42 significant bits */
static const double BP__LOG_LN2LO = 0x1.ef35793c76730p-45; /* 5.497923018708371e-14: ln2 - BP__LOG_LN2HI */
static const double BP__LOG_C2 = -0x1.0000000000000p-1; /* -0.5: log1p(r) poly, r^2 */
static const double BP__LOG_C3 = 0x1.555555555554fp-2; /* 0.333333333333333: log1p(r) poly, r^3 */
static const double BP__LOG_C4 = -0x1.fffffffffde76p-3; /* -0.2499999999997617: log1p(r) poly, r^4 */
static const double BP__LOG_C5 = 0x1.9999999c693e0p-3; /* 0.20000000008181384: log1p(r) poly, r^5 */
static const double BP__LOG_C6 = -0x1.55555a25843fdp-3; /* -0.1666667025279195: log1p(r) poly, r^6 */
static const double BP__LOG_C7 = 0x1.2491291985436p-3; /* 0.14285499676830832: log1p(r) poly, r^7 */
static const double BP__LOG_C8 = -0x1.f9da38e84a516p-4; /* -0.12349912862250209: log1p(r) poly, r^8 */
static const double BP__TANH_C3 = -0x1.5555555555555p-2; /* -0.3333333333333333: tanh small-|x| poly, x^3 */
static const double BP__TANH_C5 = 0x1.1111111110a7fp-3; /* 0.13333333333328665: tanh small-|x| poly, x^5 */
static const double BP__TANH_C7 = -0x1.ba1ba1b550110p-5; /* -0.05396825393336446: tanh small-|x| poly, x^7 */
static const double BP__TANH_C9 = 0x1.664f3e4420800p-6; /* 0.02186947899509306: tanh small-|x| poly, x^9 */
static const double BP__TANH_C11 = -0x1.22644ed5ce593p-7; /* -0.008862055295696425: tanh small-|x| poly, x^11 */
static const double BP__TANH_C13 = 0x1.cdfd818b2c96cp-9; /* 0.00352470594733594: tanh small-|x| poly, x^13 */
static const double BP__TANH_CUTOFF = 0x1.30fc1931f09cap+4; /* 19.061547465398498: smallest double with RN(tanh) == 1 */
/* exp: {2^(j/N) rounded, relative tail (2^(j/N) - hi)/hi} for j = 0..N-1 */
static const double bp__exp_tab[256] = {
    0x1.0000000000000p+0, 0.0,
    0x1.0163da9fb3335p+0, 0x1.b3b4f1a88bf6ep-54,
    0x1.02c9a3e778061p+0, -0x1.160139cd8dc5dp-56,
    0x1.04315e86e7f85p+0, -0x1.05e7a108766d1p-54,
    0x1.059b0d3158574p+0, 0x1.cd2523567f613p-55,
    0x1.0706b29ddf6dep+0, -0x1.bce8023f98efap-55,
    0x1.0874518759bc8p+0, 0x1.0f74e61e6c861p-57,
    0x1.09e3ecac6f383p+0, 0x1.0a3e45b33d399p-54,
    0x1.0b5586cf9890fp+0, 0x1.79aa65d837b6dp-54,
    0x1.0cc922b7247f7p+0, 0x1.eb51a92fdeffcp-55,
    0x1.0e3ec32d3d1a2p+0, 0x1.ebe3d702f9cd1p-60,
    0x1.0fb66affed31bp+0, -0x1.a033489906e0bp-57,
    0x1.11301d0125b51p+0, -0x1.556522a2fbd0ep-54,
    0x1.12abdc06c31ccp+0, -0x1.080ef8c4eea55p-58,
    0x1.1429aaea92de0p+0, -0x1.1c923b9d5f416p-54,
    0x1.15a98c8a58e51p+0, 0x1.0d3e3e95c55afp-55,
    0x1.172b83c7d517bp+0, -0x1.01b15eaa59348p-55,
    0x1.18af9388c8deap+0, -0x1.f1ff055de323dp-55,
    0x1.1a35beb6fcb75p+0, 0x1.b898c3f1353bfp-55,
    0x1.1bbe084045cd4p+0, -0x1.6d99c7611eb26p-54,
    0x1.1d4873168b9aap+0, 0x1.aecf73e3a2f60p-54,
    0x1.1ed5022fcd91dp+0, -0x1.fe782cb86389dp-55,
    0x1.2063b88628cd6p+0, 0x1.a6f4144a6c38dp-55,
    0x1.21f49917ddc96p+0, 0x1.07a05b0e4047dp-55,
    0x1.2387a6e756238p+0, 0x1.68efde3a8a894p-54,
    0x1.251ce4fb2a63fp+0, 0x1.75e18f274487dp-55,
    0x1.26b4565e27cddp+0, 0x1.0472b981fe7f2p-55,
    0x1.284dfe1f56381p+0, -0x1.6b87b3f71085ep-54,
    0x1.29e9df51fdee1p+0, 0x1.2f7e16d09ab31p-55,
    0x1.2b87fd0dad990p+0, -0x1.d219b1a6fbffap-60,
    0x1.2d285a6e4030bp+0, 0x1.b3782720c0ab4p-55,
    0x1.2ecafa93e2f56p+0, 0x1.e149289cecb8fp-57,
    0x1.306fe0a31b715p+0, 0x1.34d754db0abb6p-55,
    0x1.32170fc4cd831p+0, 0x1.64201e2ac744cp-55,
    0x1.33c08b26416ffp+0, 0x1.fdd395dd3f84ap-55,
    0x1.356c55f929ff1p+0, -0x1.6a3803b8e5b04p-55,
    0x1.371a7373aa9cbp+0, -0x1.24aedcc4b5068p-54,
    0x1.38cae6d05d866p+0, -0x1.907f81b512d8ep-54,
    0x1.3a7db34e59ff7p+0, -0x1.1d1e83e9436d2p-56,
    0x1.3c32dc313a8e5p+0, -0x1.91919b3ce1b15p-54,
    0x1.3dea64c123422p+0, 0x1.59f48a72a4c6dp-55,
    0x1.3fa4504ac801cp+0, -0x1.312607a28698ap-54,
    0x1.4160a21f72e2ap+0, -0x1.8a78f4817895bp-58,
    0x1.431f5d950a897p+0, -0x1.c2c9b67499a1bp-56,
    0x1.44e086061892dp+0, 0x1.363ed60c2ac11p-59,
    0x1.46a41ed1d0057p+0, 0x1.666093b0664efp-54,
    0x1.486a2b5c13cd0p+0, 0x1.ecce1daa10379p-57,
    0x1.4a32af0d7d3dep+0, 0x1.3ff8e3f0f1230p-54,
    0x1.4bfdad5362a27p+0, 0x1.690cebb7aafb0p-56,
    0x1.4dcb299fddd0dp+0, 0x1.31dbdeb54e077p-54,
    0x1.4f9b2769d2ca7p+0, -0x1.f94340071a38ep-55,
    0x1.516daa2cf6642p+0, -0x1.7deccdc93a349p-55,
    0x1.5342b569d4f82p+0, -0x1.8dec6bd0f385fp-56,
    0x1.551a4ca5d920fp+0, -0x1.61246ec7b5cf6p-55,
    0x1.56f4736b527dap+0, 0x1.3350518fdd78ep-54,
    0x1.58d12d497c7fdp+0, 0x1.b98b72f8a9b05p-56,
    0x1.5ab07dd485429p+0, 0x1.063e1e21c5409p-54,
    0x1.5c9268a5946b7p+0, 0x1.4c7855019c6eap-60,
    0x1.5e76f15ad2148p+0, 0x1.432e62b64c035p-54,
    0x1.605e1b976dc09p+0, -0x1.ce44a6199769fp-55,
    0x1.6247eb03a5585p+0, -0x1.c33c53bef4da8p-55,
    0x1.6434634ccc320p+0, -0x1.45378892be9aep-55,
    0x1.6623882552225p+0, -0x1.3cedd78565858p-54,
    0x1.68155d44ca973p+0, 0x1.710aa807e1964p-58,
    0x1.6a09e667f3bcdp+0, -0x1.3b3efbf5e2228p-54,
    0x1.6c012750bdabfp+0, -0x1.a12ad8734b982p-57,
    0x1.6dfb23c651a2fp+0, -0x1.367efb86da9eep-57,
    0x1.6ff7df9519484p+0, -0x1.0dc3d54e08851p-55,
    0x1.71f75e8ec5f74p+0, -0x1.81f647e5a3ecfp-56,
    0x1.73f9a48a58174p+0, -0x1.6ee4ac08b7db0p-55,
    0x1.75feb564267c9p+0, -0x1.619321e55e68ap-55,
    0x1.780694fde5d3fp+0, 0x1.09ccb5e09d4d3p-54,
    0x1.7a11473eb0187p+0, -0x1.b32dcb94da51dp-56,
    0x1.7c1ed0130c132p+0, 0x1.4ecfd5467c06bp-54,
    0x1.7e2f336cf4e62p+0, 0x1.5ebe1abd66c55p-57,
    0x1.80427543e1a12p+0, -0x1.8a1c52fb3cf42p-55,
    0x1.82589994cce13p+0, -0x1.369b6f13b3734p-54,
    0x1.8471a4623c7adp+0, -0x1.05e843a19ff1ep-55,
    0x1.868d99b4492edp+0, -0x1.4d450d872576ep-54,
    0x1.88ac7d98a6699p+0, 0x1.0ad675b0e8a00p-54,
    0x1.8ace5422aa0dbp+0, 0x1.db72fc1f0eab4p-55,
    0x1.8cf3216b5448cp+0, -0x1.5b6609cc5e7ffp-57,
    0x1.8f1ae99157736p+0, 0x1.bf68359f35f44p-56,
    0x1.9145b0b91ffc6p+0, -0x1.3091fa71e3d83p-54,
    0x1.93737b0cdc5e5p+0, -0x1.da9b88b6c1e29p-58,
    0x1.95a44cbc8520fp+0, -0x1.c23f97c90b959p-57,
    0x1.97d829fde4e50p+0, -0x1.2434322f4f9aap-54,
    0x1.9a0f170ca07bap+0, -0x1.5ca6cd7668e4bp-55,
    0x1.9c49182a3f090p+0, 0x1.1affc2b91ce27p-56,
    0x1.9e86319e32323p+0, 0x1.dd235e10a73bbp-57,
    0x1.a0c667b5de565p+0, -0x1.7c50422622263p-55,
    0x1.a309bec4a2d33p+0, 0x1.b1c86e3e231d5p-55,
    0x1.a5503b23e255dp+0, -0x1.1bbd1d3bcbb15p-54,
    0x1.a799e1330b358p+0, 0x1.0cc319cee31d2p-54,
    0x1.a9e6b5579fdbfp+0, 0x1.469846e735ab3p-55,
    0x1.ac36bbfd3f37ap+0, -0x1.2dfcd978e9db4p-55,
    0x1.ae89f995ad3adp+0, 0x1.c1a7792cb3387p-55,
    0x1.b0e07298db666p+0, -0x1.07b8f4ad1d9fap-54,
    0x1.b33a2b84f15fbp+0, -0x1.5c3d956dcaebap-58,
    0x1.b59728de5593ap+0, -0x1.0a40e3da6f640p-54,
    0x1.b7f76f2fb5e47p+0, -0x1.8d6f438ad9334p-57,
    0x1.ba5b030a1064ap+0, -0x1.1eee26b588a35p-54,
    0x1.bcc1e904bc1d2p+0, 0x1.4ffd70a5fddcdp-56,
    0x1.bf2c25bd71e09p+0, -0x1.1bdfbfa9298acp-54,
    0x1.c199bdd85529cp+0, 0x1.36eae30af0cb3p-56,
    0x1.c40ab5fffd07ap+0, 0x1.ee3325c9ffd94p-55,
    0x1.c67f12e57d14bp+0, 0x1.4e08fd10959acp-55,
    0x1.c8f6d9406e7b5p+0, 0x1.3cdaf384e1a67p-57,
    0x1.cb720dcef9069p+0, 0x1.76b2c6c921968p-57,
    0x1.cdf0b555dc3fap+0, -0x1.08a1883ccb5d2p-55,
    0x1.d072d4a07897cp+0, -0x1.fad5d3ffffa6fp-55,
    0x1.d2f87080d89f2p+0, -0x1.00dae3875a949p-54,
    0x1.d5818dcfba487p+0, 0x1.4a385a63d07a7p-56,
    0x1.d80e316c98398p+0, -0x1.2919e2040220fp-55,
    0x1.da9e603db3285p+0, 0x1.e5a50d5c192acp-55,
    0x1.dd321f301b460p+0, 0x1.43a59ac016b4bp-55,
    0x1.dfc97337b9b5fp+0, -0x1.2d52107b43e1fp-55,
    0x1.e264614f5a129p+0, -0x1.92ab93b470dc9p-55,
    0x1.e502ee78b3ff6p+0, 0x1.4b604603a88d3p-56,
    0x1.e7a51fbc74c83p+0, 0x1.3c5ec519d7271p-55,
    0x1.ea4afa2a490dap+0, -0x1.ff7128fd391f0p-55,
    0x1.ecf482d8e67f1p+0, -0x1.dae98e223747dp-55,
    0x1.efa1bee615a27p+0, 0x1.ec3bc41aa2008p-55,
    0x1.f252b376bba97p+0, 0x1.42b94c3a9eb32p-55,
    0x1.f50765b6e4540p+0, 0x1.a64a931d185eep-55,
    0x1.f7bfdad9cbe14p+0, -0x1.e37bae43be3edp-55,
    0x1.fa7c1819e90d8p+0, 0x1.7893b4d91cd9dp-56,
    0x1.fd3c22b8f71f1p+0, 0x1.305c14160cc89p-58,
};
/* log: {1/c_i (21 bits), -log(1/c_i) hi, lo} for i = 0..N-1 (c = 1 for i = 79, 80) */
static const double bp__log_tab[384] = {
    0x1.734f100000000p+0, -0x1.7cc801fb46941p-2, 0x1.a4329a46e6809p-56,
    0x1.7137800000000p+0, -0x1.76fed9b946ea3p-2, 0x1.11b1580abecfcp-56,
    0x1.6f26000000000p+0, -0x1.713e2fa46a15cp-2, 0x1.9367f5b039228p-56,
    0x1.6d1a600000000p+0, -0x1.6b85ae0ffa3a2p-2, 0x1.457afe7d805f4p-56,
    0x1.6b14900000000p+0, -0x1.65d556f4ce004p-2, 0x1.9605ad3e8483bp-56,
    0x1.6914700000000p+0, -0x1.602cfe4f09115p-2, 0x1.7ba819378782fp-56,
    0x1.6719f00000000p+0, -0x1.5a8ca41bedee8p-2, 0x1.99b554622d37cp-56,
    0x1.6525000000000p+0, -0x1.54f447b7bdde1p-2, 0x1.aa9866693afffp-56,
    0x1.6335700000000p+0, -0x1.4f638b9ba96c4p-2, -0x1.0e7fd8ffad619p-57,
    0x1.614b300000000p+0, -0x1.49da6c5bcc156p-2, -0x1.132aa946730bcp-56,
    0x1.5f66400000000p+0, -0x1.4459148539e94p-2, -0x1.a9d26d1b38cd9p-57,
    0x1.5d86800000000p+0, -0x1.3edf513c1674cp-2, -0x1.83dd6f7e5d66bp-56,
    0x1.5babd00000000p+0, -0x1.396cedf9bbe72p-2, -0x1.b1edcb6f5a576p-58,
    0x1.59d6200000000p+0, -0x1.3401e3eaecb92p-2, 0x1.e6aaa4dce4fd4p-57,
    0x1.5805600000000p+0, -0x1.2e9e2b8e12286p-2, 0x1.e7dae5d9d17bep-58,
    0x1.5639800000000p+0, -0x1.2941bcb186a2ap-2, 0x1.85577f1aa291dp-57,
    0x1.5472600000000p+0, -0x1.23ec5e51eba1cp-2, 0x1.91204fff34c60p-58,
    0x1.52aff00000000p+0, -0x1.1e9e0618897dcp-2, -0x1.88aac71032c5cp-59,
    0x1.50f2300000000p+0, -0x1.1956d999bc2b5p-2, -0x1.5b9e77345e415p-56,
    0x1.4f38f00000000p+0, -0x1.14166c13674bap-2, -0x1.e75f47a5cea0ap-56,
    0x1.4d84400000000p+0, -0x1.0edd128b77f48p-2, -0x1.36afdcb1517aep-56,
    0x1.4bd3f00000000p+0, -0x1.09aa5dce6c67cp-2, -0x1.81e2f6f695de5p-56,
    0x1.4a28000000000p+0, -0x1.047e70cde81b8p-2, 0x1.07640deb4c766p-56,
    0x1.4880500000000p+0, -0x1.feb215fea071dp-3, -0x1.d8daf92cdcde6p-57,
    0x1.46dce00000000p+0, -0x1.f4749cb4df085p-3, 0x1.93eef6ac2639dp-57,
    0x1.453da00000000p+0, -0x1.ea4455704aa70p-3, -0x1.2cc8e149bf2b8p-57,
    0x1.43a2700000000p+0, -0x1.e020b92235943p-3, 0x1.40b702dadf5f5p-57,
    0x1.420b500000000p+0, -0x1.d60a08b90342cp-3, 0x1.c844979b4e3b8p-66,
    0x1.4078300000000p+0, -0x1.cc001f5db3af3p-3, 0x1.d84c2d281702ep-58,
    0x1.3ee8f00000000p+0, -0x1.c2026ff17f6e9p-3, 0x1.3bf923a6bb324p-59,
    0x1.3d5da00000000p+0, -0x1.b8119f8b81c16p-3, 0x1.96dee7c1aaf07p-58,
    0x1.3bd6100000000p+0, -0x1.ae2cb6b672adcp-3, -0x1.6b61c03e9905ap-57,
    0x1.3a52400000000p+0, -0x1.a453f12e6a8f4p-3, -0x1.df00ce7029a50p-58,
    0x1.38d2300000000p+0, -0x1.9a878b1eba8ebp-3, -0x1.b485e7a86752bp-57,
    0x1.3755c00000000p+0, -0x1.90c6ee9fcbb70p-3, -0x1.054d61e960466p-57,
    0x1.35dce00000000p+0, -0x1.8711ebf50e37cp-3, -0x1.ac6b68262ca9ep-58,
    0x1.3467a00000000p+0, -0x1.7d69264af562ap-3, 0x1.6ae24b2283d0dp-57,
    0x1.32f5d00000000p+0, -0x1.73cb9834fd111p-3, 0x1.921964e1f80b7p-57,
    0x1.3187700000000p+0, -0x1.6a39786bbce18p-3, 0x1.54204225c4de9p-58,
    0x1.301c800000000p+0, -0x1.60b2fe0b09332p-3, 0x1.5b3553e069b7bp-58,
    0x1.2eb4f00000000p+0, -0x1.5737f450186b1p-3, -0x1.0f9f38e2bb763p-57,
    0x1.2d50a00000000p+0, -0x1.4dc7b817bc1c7p-3, -0x1.6d82b87518f61p-57,
    0x1.2befa00000000p+0, -0x1.4462ea5c9aaacp-3, 0x1.b0b99758bbde3p-57,
    0x1.2a91d00000000p+0, -0x1.3b08e5357ea1fp-3, -0x1.ee9fe415188aep-57,
    0x1.2937200000000p+0, -0x1.31b96d53a496dp-3, 0x1.e288f53bb43b5p-57,
    0x1.27dfa00000000p+0, -0x1.287523411a94cp-3, -0x1.9c57fffaf628ep-57,
    0x1.268b300000000p+0, -0x1.1f3b5c1f251c2p-3, -0x1.7e2977f700880p-61,
    0x1.2539d00000000p+0, -0x1.160c48e4b1bc4p-3, -0x1.239acd26423b9p-58,
    0x1.23eb800000000p+0, -0x1.0ce81adccba49p-3, 0x1.68ab4302a9d0bp-57,
    0x1.22a0100000000p+0, -0x1.03cdb1651eb25p-3, 0x1.0621ca38a41e8p-57,
    0x1.2157a00000000p+0, -0x1.f57c38d8feceap-4, -0x1.b9d1684501d3fp-60,
    0x1.2012000000000p+0, -0x1.e3706ee3047fbp-4, -0x1.09cb978023844p-58,
    0x1.1ecf400000000p+0, -0x1.d179428218db2p-4, -0x1.9d48f9f667548p-59,
    0x1.1d8f500000000p+0, -0x1.bf962ae9fb95bp-4, 0x1.67e69decac31ep-58,
    0x1.1c52300000000p+0, -0x1.adc78265aea86p-4, -0x1.6fb1ee5d321f4p-59,
    0x1.1b17c00000000p+0, -0x1.9c0bd4d4d1406p-4, -0x1.f8ef2518c8003p-59,
    0x1.19e0100000000p+0, -0x1.8a6460291db15p-4, 0x1.7d45ca21dc3ecp-58,
    0x1.18ab100000000p+0, -0x1.78d093e3d69aap-4, -0x1.2da64fe34ca22p-58,
    0x1.1778a00000000p+0, -0x1.674ef19365971p-4, -0x1.94b9fb856049ep-60,
    0x1.1648d00000000p+0, -0x1.55e0b5d0df8adp-4, 0x1.c6806feb94243p-58,
    0x1.151ba00000000p+0, -0x1.4486353dbd191p-4, 0x1.c7299a85d6d0dp-59,
    0x1.13f0f00000000p+0, -0x1.333dea0182924p-4, -0x1.2ab432ff4c0d5p-58,
    0x1.12c8c00000000p+0, -0x1.220823c783cfcp-4, 0x1.ca5e783f1449ep-58,
    0x1.11a3000000000p+0, -0x1.10e4433cae711p-4, 0x1.a4a5a8d197786p-58,
    0x1.107fc00000000p+0, -0x1.ffa70d1ab83fdp-5, 0x1.cd03f64230899p-59,
    0x1.0f5ee00000000p+0, -0x1.dda8b7c67ee35p-5, -0x1.4e6cad449a15cp-59,
    0x1.0e40600000000p+0, -0x1.bbce1dc68da7fp-5, -0x1.e31b3f051399fp-60,
    0x1.0d24400000000p+0, -0x1.9a17d7573c438p-5, 0x1.73dd1d7879a99p-59,
    0x1.0c0a800000000p+0, -0x1.78867da35432ap-5, -0x1.e9e7becb27460p-59,
    0x1.0af2f00000000p+0, -0x1.5714e9c03a019p-5, 0x1.7254e9d263d25p-59,
    0x1.09ddc00000000p+0, -0x1.35c96baa11387p-5, 0x1.36a1757854452p-63,
    0x1.08cac00000000p+0, -0x1.149ed24004529p-5, 0x1.4f28e7d894a06p-61,
    0x1.07b9f00000000p+0, -0x1.e72b50813c181p-6, 0x1.15447395b308ap-61,
    0x1.06ab600000000p+0, -0x1.a560d88c57abdp-6, -0x1.feabe087bbde7p-62,
    0x1.059ef00000000p+0, -0x1.63d78d868c789p-6, -0x1.eb3b0582f5539p-60,
    0x1.0494a00000000p+0, -0x1.22907dfea19d6p-6, 0x1.cc21f4e355fb5p-61,
    0x1.038c700000000p+0, -0x1.c319744c70f25p-7, -0x1.8419ec9e807afp-61,
    0x1.0286500000000p+0, -0x1.4192bb96832bfp-7, 0x1.c55162cf66d18p-61,
    0x1.0182400000000p+0, -0x1.811dc14581034p-8, -0x1.a7aa9f5298192p-65,
    0x1.0000000000000p+0, 0.0, 0.0,
    0x1.0000000000000p+0, 0.0, 0.0,
    0x1.fa11d00000000p-1, 0x1.7dc319f812808p-7, -0x1.18841ef9d3c5fp-62,
    0x1.f631100000000p-1, 0x1.3ce99a346b391p-6, 0x1.bc6ea1356f8e1p-60,
    0x1.f25f600000000p-1, 0x1.b9fc8e7af9b2ap-6, -0x1.0769577978678p-64,
    0x1.ee9c800000000p-1, 0x1.1b0d90923d990p-5, -0x1.e9ae9df101997p-60,
    0x1.eae8000000000p-1, 0x1.58a63afc8f4d5p-5, -0x1.cdab1808380c7p-59,
    0x1.e741b00000000p-1, 0x1.95c7d1ec8ecbcp-5, -0x1.0aa4ddf4ee90cp-59,
    0x1.e3a9100000000p-1, 0x1.d27739adb1b92p-5, 0x1.483dc77b70256p-59,
    0x1.e01e000000000p-1, 0x1.075993598e4f1p-4, 0x1.80dcfdde71063p-59,
    0x1.dca0200000000p-1, 0x1.253f4ff0a14cbp-4, 0x1.e3eb6b06b05acp-58,
    0x1.d92f200000000p-1, 0x1.42eddeea647a5p-4, -0x1.111347cfdbf75p-58,
    0x1.d5cad00000000p-1, 0x1.6065451375a33p-4, -0x1.71e3403ad0bebp-59,
    0x1.d272d00000000p-1, 0x1.7da73457b17c8p-4, -0x1.6f17e92a862b0p-58,
    0x1.cf26e00000000p-1, 0x1.9ab45762038c1p-4, 0x1.6fde3d5fa4c62p-58,
    0x1.cbe6e00000000p-1, 0x1.b78c47bb0f46ep-4, -0x1.df33c1098cc90p-58,
    0x1.c8b2600000000p-1, 0x1.d4317066cb872p-4, -0x1.0d8df0db7f6b9p-59,
    0x1.c589500000000p-1, 0x1.f0a2f18116406p-4, -0x1.fa12e90792222p-58,
    0x1.c26b500000000p-1, 0x1.0671616ca5a76p-3, 0x1.d0d17498eca4fp-58,
    0x1.bf58400000000p-1, 0x1.14785346742c5p-3, 0x1.a287ea38fd595p-57,
    0x1.bc4fd00000000p-1, 0x1.22670ed0a5e23p-3, 0x1.ab42a6a31a191p-60,
    0x1.b951e00000000p-1, 0x1.303d7e0e4806fp-3, 0x1.f4a83228ab024p-58,
    0x1.b65e300000000p-1, 0x1.3dfc22cecc66ep-3, -0x1.2b3c04d57fdffp-58,
    0x1.b374800000000p-1, 0x1.4ba38539a57c9p-3, 0x1.68a5f921a8633p-57,
    0x1.b094b00000000p-1, 0x1.59339c598215fp-3, 0x1.8d1b185a59b36p-57,
    0x1.adbe800000000p-1, 0x1.66acfa272b2f5p-3, -0x1.0871ff8a9824dp-58,
    0x1.aaf1d00000000p-1, 0x1.740f9d9403870p-3, -0x1.325c7d127abc9p-58,
    0x1.a82e600000000p-1, 0x1.815c229435a43p-3, 0x1.6883974419ebcp-59,
    0x1.a574100000000p-1, 0x1.8e92902886d46p-3, -0x1.169d814e56763p-57,
    0x1.a2c2b00000000p-1, 0x1.9bb33e27e00cap-3, -0x1.a389b9cc75daap-59,
    0x1.a01a000000000p-1, 0x1.a8bed7c882f59p-3, -0x1.e8c223c36d496p-58,
    0x1.9d79f00000000p-1, 0x1.b5b52128fb5d9p-3, -0x1.75e0cdedb93e7p-63,
    0x1.9ae2500000000p-1, 0x1.c2967e98c18eep-3, 0x1.98416be381146p-58,
    0x1.9852f00000000p-1, 0x1.cf6359209c5eep-3, 0x1.639a216c061e3p-57,
    0x1.95cbb00000000p-1, 0x1.dc1bcdcabec8bp-3, 0x1.c34c632d8b75fp-57,
    0x1.934c600000000p-1, 0x1.e8c04daaa60c8p-3, 0x1.49ab2cf492927p-58,
    0x1.90d4f00000000p-1, 0x1.f550ab24b7b58p-3, 0x1.717eb56eb1643p-59,
    0x1.8e65200000000p-1, 0x1.00e6d81ad5329p-2, -0x1.968a5367382b8p-58,
    0x1.8bfcf00000000p-1, 0x1.071b715cd5c60p-2, -0x1.af46495d7f3aep-58,
    0x1.899c100000000p-1, 0x1.0d46b3d9ab750p-2, 0x1.a1f63b293b43ap-56,
    0x1.8742800000000p-1, 0x1.136865293a9a2p-2, 0x1.7b5f3ae440c63p-56,
    0x1.84f0100000000p-1, 0x1.1980c8bd4243cp-2, 0x1.bd37b3185757cp-56,
    0x1.82a4a00000000p-1, 0x1.1f8ffa248a2f3p-2, -0x1.49fdf99b6f5b1p-56,
    0x1.8060200000000p-1, 0x1.2595ebcdf79c1p-2, 0x1.df82a2faa28aep-59,
    0x1.7e22500000000p-1, 0x1.2b93114b89e98p-2, -0x1.a578cd7e196bfp-58,
    0x1.7beb400000000p-1, 0x1.31870a1544431p-2, 0x1.eac43989be05ap-56,
    0x1.79baa00000000p-1, 0x1.3772786bfdaf5p-2, 0x1.25cd53567ab8cp-58,
    0x1.7790800000000p-1, 0x1.3d54fd5c1f722p-2, -0x1.e326386a1c849p-56,
    0x1.756cb00000000p-1, 0x1.432ee8004e8f5p-2, 0x1.f666a9a1b5373p-56,
};
/* ---- end of generated constants ---- */
/* END GENERATED */

/* --------------------------------------------------------------------------
 * SHIFT = 1.5 * 2^52 = 6755399441055744.0, bits(SHIFT) = 0x4338000000000000.
 * For |v| < 2^51, v + SHIFT rounds v to the nearest integer n (ties to even),
 * and the bit pattern of the sum is bits(SHIFT) + n (n in two's complement).
 * Conversely bits-as-double(bits(SHIFT) + n) - SHIFT == n exactly. */

/* Argument reduction shared by exp, expm1 and tanh.
 *
 * Reduction: x = k * ln2/N + r with N = 128, k = round(x * N/ln2), and
 * |r| <= ln2/256 (1 + 2^-30) ~ 0.0027.  The product k * ln2hi/N is exact
 * (35-bit constant, |k| < 2^18).  x - k*ln2hi/N is then exact by Sterbenz,
 * so the only rounding in r is the subtraction of k*ln2lo/N, about 2^-62.
 * This is valid for |x| < ~1400; outside it the result is garbage, which
 * the callers select away.
 *
 * With k = 128 e + j (0 <= j < 128), exp(x) = 2^e * 2^(j/N) * e^r.  The
 * table holds hi_j = RN(2^(j/N)) and tail_j = RN((2^(j/N) - hi_j) / hi_j),
 * so 2^(j/N) = hi_j (1 + tail_j) to within 2^-106.
 *
 * Returns r, stores tail_j in tail[0], and stores in sbits[0] the bit
 * pattern of hi_j plus e << 52 (mod 2^64).  That is the double
 * scale = 2^e * hi_j, if it is normal, and exp(x) = scale (1 + tail_j) e^r. */
static inline double bp__exp_split(double x, uint64_t *sbits, double *tail) {
    double kd = x * BP__EXP_INVLN2N + 6755399441055744.0;     /* + SHIFT: round */
    uint64_t ki = bp__asu64(kd);
    double r;
    uint64_t j, e;
    kd = kd - 6755399441055744.0;                              /* k as a double */
    r = (x - kd * BP__EXP_LN2HIN) - kd * BP__EXP_LN2LON;
    /* k = ki - bits(SHIFT); bits(SHIFT) = 0x4338000000000000 has zero low bits */
    j = ki & 127;
    e = (uint64_t)(((int64_t)(ki - BP__SHIFT_BITS)) >> 7);
    sbits[0] = bp__asu64(bp__exp_tab[2 * j]) + (e << 52);
    tail[0] = bp__exp_tab[2 * j + 1];
    return r;
}

/* bp__exp_split, then tmp with exp(x) ~= scale * (1 + tmp), for expm1 and tanh:
 *     tmp = tail_j + r + r^2 (C2 + C3 r + C4 r^2 + C5 r^3).
 * The polynomial is the minimax fit of (e^r - 1 - r)/r^2 on |r| <= 0.00271,
 * degree 3, with error |r^2 (f - p)| <= 2^-63.7.  The term tail_j * (e^r - 1)
 * (< 2^-62) is included as well.  The rounding error of tmp is about 2^-61. */
static inline double bp__exp_reduce(double x, uint64_t *sbits) {
    double tail;
    double r = bp__exp_split(x, sbits, &tail);
    double r2 = r * r;
    double p = r + r2 * ((BP__EXP_C2 + r * BP__EXP_C3) + r2 * (BP__EXP_C4 + r * BP__EXP_C5));
    return tail + (p + tail * p);
}

/* exp(x) - scale for exp itself, from bp__exp_split's scale, r and tail
 * (or from scale times a power of two, which scales the result exactly).
 *
 * (1 + tail) e^r = 1 + tail (1 + r) + r + r^2 Q(r), Q the polynomial of
 * bp__exp_reduce, up to a dropped tail r^2 / 2 (< 2^-69).  The terms are
 * multiplied by scale before they are added, so the chain of dependent
 * operations after r is 6 deep (scale r, its product by r, times Q, two
 * additions) plus the caller's scale + sum, against 10 for scale * tmp
 * and scale + that with bp__exp_reduce's tmp.  Without FMA (bit-identity
 * forbids contraction) each step is a whole multiply or add, and that depth
 * is what a chain of dependent exps, as in a small network's forward pass,
 * waits for.  The sum's rounding errors are each below 2^-61.5 scale. */
static inline double bp__exp_sum(double scale, double r, double tail) {
    double sr = scale * r;
    double q = (BP__EXP_C2 + r * BP__EXP_C3) + (r * r) * (BP__EXP_C4 + r * BP__EXP_C5);
    return (scale * (tail + tail * r) + sr) + (sr * r) * q;
}

/* exp(x).  Max error 0.505 ulp (measured), over the whole domain.
 *
 * Result = 2^e * hi_j * (1 + tail_j) * e^r, computed as scale + p with
 * p = bp__exp_sum(scale, r, tail_j), where
 * scale = 2^(e - eb) hi_j is made a normal double by a bias eb.  The product
 * by 2^eb comes last:
 *   x > 0:  eb = 1.  e <= 1024 for x <= 709.9, so scale = 2^(e-1) hi_j is
 *           finite.  The final *2.0 overflows to +inf exactly when the
 *           rounded result does.
 *   x <= 0: eb = -1022 (e >= -1077 for x >= -746, so scale >= 2^-55).  If
 *           y = scale + p is >= 1, the result y * 2^-1022 is normal and the
 *           product exact.  If y < 1, the result is subnormal, and
 *           y * 2^-1022 would round a second time.  Instead y is rounded
 *           once, at the subnormal ulp, by computing (1 + y) - 1 with the
 *           rounding error of y carried along (Fast2Sum), and the product by
 *           2^-1022 is then exact.
 * Special cases, all by select:
 *   x > 709.9 (including +inf) -> +inf.  The rounded result overflows for
 *     x > 709.782712893384; in between, the final *2.0 gives +inf.
 *   x < -746 (including -inf) -> +0.  Results round to +0 below about
 *     -745.1332; in between, the subnormal path rounds them to 0.
 *   NaN -> NaN (the input, quieted).
 *   exp(0) = 1 exactly: r = 0, tail_0 = 0, p = 0, scale * 2^eb = 1. */
static inline double bp_exp(double x) {
    uint64_t sbits;
    double tail;
    double r = bp__exp_split(x, &sbits, &tail);
    int neg = x <= 0.0;
    int64_t eb = 1 - 1023 * (int64_t)neg;                      /* 1 or -1022, branch-free */
    double scale = bp__asf64(sbits - ((uint64_t)eb << 52));
    double twoeb = bp__asf64((uint64_t)(eb + 1023) << 52);
    double p = bp__exp_sum(scale, r, tail);
    double y = scale + p;
    /* subnormal result: round y once at the 2^-52 position (of 1 + y) */
    double lo = (scale - y) + p;       /* exact error of scale + p (Sterbenz + Fast2Sum) */
    double h = 1.0 + y;
    double ysub;
    lo = ((1.0 - h) + y) + lo;         /* Fast2Sum error of 1 + y, plus lo */
    ysub = (h + lo) - 1.0;             /* rounds once; the subtraction is exact */
    y = bp__sel(neg & (y < 1.0), ysub, y);
    y = y * twoeb;
    y = bp__sel(x > 709.9, BP__INF, y);
    y = bp__sel(x < -746.0, 0.0, y);
    return bp__sel(x != x, x + x, y);
}

/* exp(x) for |x| <= 600 only, with exactly the bits of bp_exp(x) there.
 *
 * In that range the result and every intermediate of bp_exp are normal
 * doubles, where bp_exp's bias by 2^eb is an exact power-of-two scaling, so
 * scale + p with the unbiased scale 2^e hi_j rounds to the same bits
 * (tests/test_math.py checks this on millions of points).  Branch-free and
 * without bp_exp's special cases: a loop over values known to be in range
 * vectorises to about half of bp_exp's work.  Outside the range the result
 * is garbage. */
static inline double bp_exp_normal(double x) {
    uint64_t sbits;
    double tail;
    double r = bp__exp_split(x, &sbits, &tail);
    double scale = bp__asf64(sbits);
    return scale + bp__exp_sum(scale, r, tail);
}

/* exp(x) with exactly the bits of bp_exp(x), faster for one value at a time:
 * bp_exp_normal for |x| <= 600, bp_exp beyond.  The branch is well predicted
 * in scalar code, but it stops vectorisation: loops over many values should
 * call bp_exp, or bp_exp_normal once they are known to be in range. */
static inline double bp_exp_scalar(double x) {
    if (-600.0 <= x && x <= 600.0)
        return bp_exp_normal(x);
    return bp_exp(x);
}

/* exp(x) - 1.  Max error 0.527 ulp (measured); relative accuracy near 0.
 *
 * |x| < 1/4: expm1(x) = x + x^2/2 + x^3 Q(x).  Q is the minimax fit of
 *   (expm1(x) - x - x^2/2)/x^3 on |x| <= 1/4, degree 9, with relative error
 *   of the result <= 2^-65.5.  x^2/2 is formed almost exactly by Dekker's
 *   split, and x + x^2/2 by Fast2Sum, so the last addition is the only
 *   large rounding.  (With x^2 simply rounded it was 0.60 ulp near |x| = 1/8.)
 * |x| >= 1/4: from the exp reduction, expm1(x) = 2^eb (scale (1 + tmp) - 2^-eb),
 *   with eb = 1 for x > 0 (to reach the overflow threshold) and 0 otherwise.
 *   scale - 2^-eb is formed exactly as a TwoSum pair and the small terms are
 *   added to its low part.  Cancellation is mild: |expm1(x)| >= 0.22 here,
 *   and scale*tmp <= 0.0027 scale.  The rounding error of tmp (~2^-61)
 *   weighs 1/0.22 times more here than in exp.  At the boundary 1/8 this
 *   gave 0.54 ulp, hence the boundary at 1/4.
 * Special cases: x < -40 -> -1 (exp(x) < 2^-57, so the result rounds to -1),
 *   x > 709.9 -> +inf, expm1(+-0) = +-0, NaN -> NaN. */
static inline double bp_expm1(double x) {
    /* --- small |x|: x + x^2/2 + x^3 Q(x), with x^2/2 = hh + hl nearly exact */
    double cx = 134217729.0 * x;                 /* Dekker split of x (2^27 + 1) */
    double xh = cx - (cx - x);                   /* top 26 bits: xh*xh is exact */
    double xl = x - xh;
    double hh = 0.5 * (xh * xh);                 /* exact */
    double hl = 0.5 * (xl * (x + xh));           /* x^2/2 - hh, rounded (tiny) */
    double sx = x + hh;                          /* Fast2Sum (|x| >= hh) */
    double ex = (x - sx) + hh;
    double x2 = x * x;
    double q = ((BP__EXPM1_C3 + x * BP__EXPM1_C4) + x2 * (BP__EXPM1_C5 + x * BP__EXPM1_C6)) + (x2 * x2) * (
               ((BP__EXPM1_C7 + x * BP__EXPM1_C8) + x2 * (BP__EXPM1_C9 + x * BP__EXPM1_C10))
               + (x2 * x2) * (BP__EXPM1_C11 + x * BP__EXPM1_C12));
    double small = sx + ((ex + hl) + x2 * (x * q));
    /* --- table path */
    uint64_t sbits;
    double tmp = bp__exp_reduce(x, &sbits);
    int64_t eb = (int64_t)(x > 0.0);                              /* 1 or 0 */
    double scale = bp__asf64(sbits - ((uint64_t)eb << 52));
    double m1 = bp__asf64((uint64_t)(1023 - eb) << 52);           /* 2^-eb */
    double twoeb = bp__asf64((uint64_t)(1023 + eb) << 52);        /* 2^eb */
    double h = scale - m1;
    double bb = h - scale;                                        /* TwoSum(scale, -m1) */
    double l = (scale - (h - bb)) + (-m1 - bb);
    double big = (h + (l + scale * tmp)) * twoeb;
    double y = bp__sel((x < 0.25) & (x > -0.25), small, big);
    y = bp__sel(x < -40.0, -1.0, y);
    y = bp__sel(x > 709.9, BP__INF, y);
    y = bp__sel(x == 0.0, x, y);                                  /* keeps the sign of zero */
    return bp__sel(x != x, x + x, y);
}

/* log(u + c) for a positive normal double u and a correction c.
 *
 * Requires |c| <= ulp(u)/2 and |c| <= 1, as for the rounding error of 1 + x.
 *
 * kadj is added to the exponent (-52 when u was prescaled by 2^52); with_c is
 * a compile-time constant at each call site (0: c is ignored).
 *
 * Reduction: u = 2^k z with z in [OFF, 2 OFF), OFF = 0.6875, done on the bit
 * pattern: tmp = bits(u) - bits(OFF), k = tmp >> 52 (arithmetic), z = u with
 * its exponent field replaced.  The index i of one of N = 128 subintervals is
 * the top 7 mantissa bits of tmp.  Each subinterval has a tabulated 1/c_i
 * (21 significant bits) and log(c_i) = -log(1/c_i) as a hi + lo pair, so
 *     log(u) = k ln2 + log(c_i) + log1p(r),   r = z/c_i - 1,
 * with |r| < 2^-8, or < 2^-7 in the two subintervals touching 1.0.  Those
 * two have 1/c = 1, so r = z - 1 exactly and log(c) = 0 there (no
 * cancellation near u = 1).
 * r is formed exactly without FMA: z = zh + zl where zh keeps the top 32
 * significant bits.  zh * (1/c_i) is exact and within 2^-7 of 1, so
 * rh = zh/c_i - 1 is exact (Sterbenz); rl = zl/c_i is exact (21 x 21 bits);
 * r = rh + rl is a TwoSum.  The correction enters as c/u (see the code).
 * log1p(r) ~ r + r^2 P(r): P is the minimax fit of (log1p(r) - r)/r^2 on
 * r in [-0.0039, 0.0078], degree 6, so the error of r^2 P is <= 2^-75.
 * The big terms k ln2hi + log(c_i)_hi + r are added exactly with TwoSums.
 * All small terms (k ln2lo, table lows, rounding errors, correction, r^2 P)
 * are summed into one low word, and the result is hi + lo.  That last
 * addition is the only large rounding. */
static inline double bp__log_core(double u, double c, double kadj, int with_c) {
    uint64_t iu = bp__asu64(u);
    uint64_t tmp = iu - BP__OFF_BITS;
    uint64_t i = (tmp >> 45) & 127;
    uint64_t ku = (uint64_t)(((int64_t)tmp) >> 52);              /* k, two's complement */
    double kd = (bp__asf64(BP__SHIFT_BITS + ku) - 6755399441055744.0) + kadj;
    uint64_t iz = iu - (tmp & BP__EXPO_MASK);
    double z = bp__asf64(iz);
    double zh = bp__asf64(iz & BP__SPLIT_MASK);
    double zl = z - zh;                                           /* exact */
    double invc = bp__log_tab[3 * i];
    double lchi = bp__log_tab[3 * i + 1];
    double lclo = bp__log_tab[3 * i + 2];
    double rh = zh * invc - 1.0;                                  /* exact */
    double rl = zl * invc;                                        /* exact */
    double r = rh + rl;                                           /* TwoSum(rh, rl) */
    double bb = r - rh;
    double re = (rh - (r - bb)) + (rl - bb);
    double a1, ahi, alo, bhi, blo, r2, p, lo;
    if (with_c) {
        /* log(u + c) = log(u) + c/u to within (c/u)^2 < 2^-106, and
           c/u = c 2^-k (1/c_i) / (1 + r) = c 2^-k (1/c_i) (1 - r) to within
           2^-53 r^2 relative.  The factor (1 - r) matters: for small results
           (u near 1) c is ~ulp(1), and dropping c*r costs up to 1 ulp.
           |c| <= 1 always (1 + x is exact, or u = x once x >= 2^54).  So for
           k > 1000 the term is below 2^-1000, and the clamp, which keeps 2^-k
           a normal double, changes nothing that matters. */
        int64_t kc = (int64_t)ku;
        kc = kc + (1000 - kc) * (int64_t)(kc > 1000);            /* min(k, 1000) */
        re = re + (c * invc * bp__asf64((uint64_t)(1023 - kc) << 52)) * (1.0 - r);
    }
    a1 = kd * BP__LOG_LN2HI;                                      /* exact (42 x 11 bits) */
    ahi = a1 + lchi;                                              /* TwoSum(a1, log(c)hi) */
    bb = ahi - a1;
    alo = (a1 - (ahi - bb)) + (lchi - bb);
    bhi = ahi + r;                                                /* TwoSum(ahi, r) */
    bb = bhi - ahi;
    blo = (ahi - (bhi - bb)) + (r - bb);
    r2 = r * r;
    p = r2 * ((BP__LOG_C2 + r * BP__LOG_C3) + r2 * ((BP__LOG_C4 + r * BP__LOG_C5)
              + r2 * ((BP__LOG_C6 + r * BP__LOG_C7) + r2 * BP__LOG_C8)));
    lo = (((alo + blo) + (kd * BP__LOG_LN2LO + lclo)) + re) + p;
    return bhi + lo;
}

/* Natural log.  Max error 0.506 ulp (measured).
 *
 * Subnormal x are first scaled by 2^52 (exactly), with 52 taken off the
 * exponent.  Special cases: log(+-0) = -inf, x < 0 (including -inf) -> NaN,
 * log(+inf) = +inf, NaN -> NaN, log(1) = +0 exactly. */
static inline double bp_log(double x) {
    int sub = x < 2.2250738585072014e-308;                        /* 2^-1022 */
    double u = bp__sel(sub, x * 4503599627370496.0, x);           /* * 2^52 */
    double y = bp__log_core(u, 0.0, bp__sel(sub, -52.0, 0.0), 0);
    y = bp__sel(x == 0.0, -BP__INF, y);
    y = bp__sel(x < 0.0, BP__NAN, y);
    y = bp__sel(x == BP__INF, BP__INF, y);
    return bp__sel(x != x, x + x, y);
}

/* log(1 + x).  Max error 0.512 ulp (measured); relative accuracy near 0.
 *
 * u = 1 + x is rounded, and its exact rounding error c comes from a TwoSum.
 * Then log1p(x) = log(u + c), which the shared log core computes.  u is never
 * subnormal (u >= 2^-53 for x > -1).  Near x = 0, u falls in a subinterval
 * with c = 1, and the core returns r + (c(1 - r) + r^2 P(r)) with
 * r = u - 1 exact.
 * |x| < 2^-30: that low word is no longer small next to the result.  For
 * x ~ -2^-54, r = -2^-53 and the result is ~r/2, so its roundings cost up to
 * 0.9 ulp.  The direct x + x^2 (x/3 - 1/2) is used instead.  Subnormal x
 * give x.
 * Special cases: log1p(-1) = -inf, x < -1 (including -inf) -> NaN,
 * log1p(+inf) = +inf, log1p(+-0) = +-0, NaN -> NaN. */
static inline double bp_log1p(double x) {
    double u = 1.0 + x;
    double bb = u - 1.0;                                          /* TwoSum(1, x) */
    double c = (1.0 - (u - bb)) + (x - bb);
    double y = bp__log_core(u, c, 0.0, 1);
    /* |x| < 2^-30: x + x^2 (x/3 - 1/2); the next term is below 2^-90 relative */
    double tiny = x + (x * x) * (x * 0.3333333333333333 - 0.5);
    y = bp__sel((x < 9.313225746154785e-10) & (x > -9.313225746154785e-10), tiny, y);
    y = bp__sel(x == -1.0, -BP__INF, y);
    y = bp__sel(x < -1.0, BP__NAN, y);
    y = bp__sel(x == BP__INF, BP__INF, y);
    y = bp__sel(x == 0.0, x, y);                                  /* keeps the sign of zero */
    return bp__sel(x != x, x + x, y);
}

/* tanh(x).  Max error 0.513 ulp (measured).  Exactly odd, -0 preserved.
 *
 * Computed for a = |x| (sign bit cleared), then the sign bit of x is OR-ed
 * back in, so tanh(-x) == -tanh(x) bit for bit, and tanh(-0) = -0.
 * a < 1/8: tanh(a) = a + a^3 P(a^2), where P is the minimax fit of
 *   (tanh(a) - a)/a^3 in t = a^2 on [0, 1/64], degree 5.  The relative error
 *   of the result is <= 2^-62.5.  The sum a + (small) is the last, dominant
 *   rounding, so tiny |x| is exact to the ulp (tanh(1e-10) = 1e-10 - ...),
 *   and subnormal x give x.
 * 1/8 <= a < CUTOFF: tanh(a) = 1 - 2/(E + 1) with E = exp(2a) from the exp
 *   reduction as a hi + lo pair (relative error ~2^-61).  D = E + 1 is a
 *   Fast2Sum pair, and q + ql = 2/D is a quotient with a remainder
 *   correction.  That remainder is exact via Dekker's product (no FMA).
 *   1 - q is a Fast2Sum, so the only big rounding is the final addition.
 *   Near a = 1/8 the subtraction cancels ~3 bits of E's error
 *   (2/(E+1) ~ 7 tanh).
 * a >= CUTOFF = 19.061547465398498 (0x1.30fc1931f09cap+4): +-1 exactly.
 *   This is the smallest double whose correctly rounded tanh is 1.0, where
 *   1 - tanh(a) <= 2^-54.  Just below it the formula gives 1 - 2^-53.  At
 *   and above it, in particular at +-inf, 1 is selected.
 * NaN -> NaN. */
static inline double bp_tanh(double x) {
    uint64_t ix = bp__asu64(x);
    uint64_t sgn = ix & BP__SIGN_MASK;
    double a = bp__asf64(ix & BP__ABS_MASK);
    /* --- small |x| */
    double t = a * a;
    double small = a + (a * t) * (BP__TANH_C3 + t * (BP__TANH_C5 + t * (BP__TANH_C7
                   + t * (BP__TANH_C9 + t * (BP__TANH_C11 + t * BP__TANH_C13)))));
    /* --- E = exp(2a) = eh + el   (2a < 38.2: scale = 2^e hi_j is normal) */
    uint64_t sbits;
    double tmp = bp__exp_reduce(a + a, &sbits);
    double scale = bp__asf64(sbits);
    double p = scale * tmp;
    double eh = scale + p;
    double el = (scale - eh) + p;                                 /* Fast2Sum */
    /* --- D = E + 1 = dh + dl (Fast2Sum: eh >= 1) */
    double dh = eh + 1.0;
    double dl = ((eh - dh) + 1.0) + el;
    /* --- 2/D = q + ql: ql = (2 - q dh - q dl) / dh, q*dh exact by Dekker */
    double q = 2.0 / dh;
    double cq = 134217729.0 * q;                                  /* split q (2^27 + 1) */
    double qh = cq - (cq - q);
    double qlo = q - qh;
    double cd = 134217729.0 * dh;                                 /* split dh */
    double dhh = cd - (cd - dh);
    double dhl = dh - dhh;
    double ph = q * dh;
    double pl = ((qh * dhh - ph) + qh * dhl + qlo * dhh) + qlo * dhl;
    double rem = ((2.0 - ph) - pl) - q * dl;                      /* 2 - ph is exact */
    double ql = rem * (0.5 * q);                                  /* rem / dh */
    /* --- 1 - (q + ql): Fast2Sum(1, -q) */
    double sh = 1.0 - q;
    double se = (1.0 - sh) - q;
    double big = sh + (se - ql);
    double y = bp__sel(a < 0.125, small, big);
    y = bp__sel(a >= BP__TANH_CUTOFF, 1.0, y);
    y = bp__asf64(bp__asu64(y) | sgn);
    return bp__sel(x != x, x + x, y);
}

/* --------------------------------------------------------------------------
 * Scalar pieces of the forward pass, z = W a + b, a' = f(z), one unit at a
 * time: the kernels call them, and exported networks (backprop.export) call
 * them in the kernels' order, so both give the same bits. */

/* sum_i w[i] x[i], summed in eight interleaved partial sums then a fixed
 * tree, then the remainder sequentially: the order does not depend on the
 * vector width, so every build (and every compiler without contraction)
 * gives the same bits. */
static inline double bp_dot(const double *w, const double *x, ptrdiff_t n) {
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    double s4 = 0.0, s5 = 0.0, s6 = 0.0, s7 = 0.0;
    double s;
    ptrdiff_t i, m = n - (n & 7);
    if (n < 8) {
        /* Below eight terms the partial sums stay zero and the tree adds only
           zeros: the plain sequential sum is the same bits, and cheaper. */
        for (i = 0; i < n; i++)
            s0 = s0 + w[i] * x[i];
        return s0;
    }
    for (i = 0; i < m; i += 8) {  /* vectorised */
        s0 = s0 + w[i] * x[i];
        s1 = s1 + w[i + 1] * x[i + 1];
        s2 = s2 + w[i + 2] * x[i + 2];
        s3 = s3 + w[i + 3] * x[i + 3];
        s4 = s4 + w[i + 4] * x[i + 4];
        s5 = s5 + w[i + 5] * x[i + 5];
        s6 = s6 + w[i + 6] * x[i + 6];
        s7 = s7 + w[i + 7] * x[i + 7];
    }
    s = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    for (i = m; i < n; i++)
        s = s + w[i] * x[i];
    return s;
}

/* logistic(z) from e = exp(-|z|), however e was computed.  e lies in (0, 1],
 * so it never overflows; 1/(1+e) and e/(1+e) keep full relative accuracy on
 * both tails (z = -1000 gives 0, not NaN).  Only the numerator is chosen by
 * the sign: one division, no branch, so a loop vectorises even without
 * masked arithmetic (AVX2). */
static inline double bp_logistic_of(double z, double e) {
    return (z >= 0.0 ? 1.0 : e) / (1.0 + e);
}

/* logistic(z) = 1 / (1 + exp(-z)) for one value (bp_exp_scalar). */
static inline double bp_logistic(double z) {
    return bp_logistic_of(z, bp_exp_scalar(-bp__fabs(z)));
}

/* a = softmax(z) over n >= 1 values.  Shifted by the largest z: every exp
 * argument is <= 0 and the sum, added in index order, lies in [1, n]. */
static inline void bp_softmax(const double *z, double *a, ptrdiff_t n) {
    double m = z[0], s = 0.0;
    ptrdiff_t i;
    for (i = 1; i < n; i++)
        if (z[i] > m)
            m = z[i];
    for (i = 0; i < n; i++) {
        a[i] = bp_exp_scalar(z[i] - m);
        s = s + a[i];
    }
    for (i = 0; i < n; i++)
        a[i] = a[i] / s;
}

#endif /* BP_MATH_H */
