/* bp_real.h: the floating type of a backprop network, bp_real, and the
 * project's maths for it.
 *
 * The compiled core is one source built twice: backprop._core (and its
 * kernel builds) for float64 networks, backprop._core32 (and its kernel
 * builds) for float32 networks, compiled with BP_FLOAT32 defined.  Every
 * parameter, optimiser state vector, intermediate, input and output of a
 * network is a bp_real; the sums of losses over many samples, the learning
 * rates and the hyper-parameters are double in both builds.  A C module that
 * cimports the C API of backprop._core32 defines BP_FLOAT32 too.
 *
 * The bp_r_* names pick the functions of bp_math.h (double) or bp_mathf.h
 * (float).  bp_math.h's exp has two faster forms with the same bits
 * (bp_exp_normal, bp_exp_scalar); bp_mathf.h's has one, which serves for all
 * three.  The logistic is bp_logistic_of(z, exp(-|z|)) in double, so that a
 * vectorised loop can take the exp of a whole group first, and bp_logisticf
 * in float, which is a vectorisable expression already.  BP_KERNELS_CAPSULE
 * names the capsule through which a kernel build hands its table to the
 * core of its type. */
#ifndef BP_REAL_H
#define BP_REAL_H

#include <math.h>
#include "bp_math.h"
#include "bp_mathf.h"

#if defined(BP_FLOAT32)
typedef float bp_real;
#define BP_REAL_IS_FLOAT32 1
#define BP_KERNELS_CAPSULE "backprop._kernels32.table"
#define bp_r_exp bp_expf
#define bp_r_exp_normal bp_expf
#define bp_r_exp_scalar bp_expf
#define bp_r_log bp_logf
#define bp_r_log1p bp_log1pf
#define bp_r_tanh bp_tanhf
#define bp_r_dot bp_dotf
#define bp_r_softmax bp_softmaxf
#define bp_r_logistic(z) bp_logisticf(z)
#define bp_r_logistic_normal(z) bp_logisticf(z)
#define bp_r_logistic_scalar(z) bp_logisticf(z)
#define bp_r_fabs fabsf
#define bp_r_sqrt sqrtf
#else
typedef double bp_real;
#define BP_REAL_IS_FLOAT32 0
#define BP_KERNELS_CAPSULE "backprop._kernels.table"
#define bp_r_exp bp_exp
#define bp_r_exp_normal bp_exp_normal
#define bp_r_exp_scalar bp_exp_scalar
#define bp_r_log bp_log
#define bp_r_log1p bp_log1p
#define bp_r_tanh bp_tanh
#define bp_r_dot bp_dot
#define bp_r_softmax bp_softmax
#define bp_r_logistic(z) bp_logistic_of((z), bp_exp(-fabs(z)))
#define bp_r_logistic_normal(z) bp_logistic_of((z), bp_exp_normal(-fabs(z)))
#define bp_r_logistic_scalar(z) bp_logistic(z)
#define bp_r_fabs fabs
#define bp_r_sqrt sqrt
#endif

#endif /* BP_REAL_H */
