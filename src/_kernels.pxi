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

from libc.math cimport INFINITY, isfinite, sqrt

from backprop._types cimport *
from _kernel_types cimport *

# The network's type, real (bp_real: double in backprop._core's builds, float
# in backprop._core32's), and the maths for it, picked by backprop/bp_real.h.
# exp, log, log1p and tanh are the project's own (backprop/bp_math.h,
# bp_mathf.h): the same bits on every CPU and with any libm.  sqrt is
# IEEE-exact everywhere.  The dot product, the logistic and the softmax are
# those headers' too, so that the C code backprop.export writes computes them
# the same way.  (real is bp_real's name in _kernel_types.pxd.)
cdef extern from "bp_real.h" nogil:
    real r_exp "bp_r_exp"(real x) noexcept
    real r_exp_normal "bp_r_exp_normal"(real x) noexcept
    real r_exp_scalar "bp_r_exp_scalar"(real x) noexcept
    real r_log "bp_r_log"(real x) noexcept
    real r_log1p "bp_r_log1p"(real x) noexcept
    real r_tanh "bp_r_tanh"(real x) noexcept
    real dot "bp_r_dot"(const real* w, const real* x, Py_ssize_t n) noexcept
    void r_softmax "bp_r_softmax"(const real* z, real* a, Py_ssize_t n) noexcept
    real r_logistic "bp_r_logistic"(real z) noexcept
    real r_logistic_normal "bp_r_logistic_normal"(real z) noexcept
    real r_logistic_scalar "bp_r_logistic_scalar"(real z) noexcept
    real r_fabs "bp_r_fabs"(real x) noexcept
    real r_sqrt "bp_r_sqrt"(real x) noexcept

from libc.string cimport memcpy, memset

# The vector primitives (their C in bp_simd.h); the mini-batch passes are
# included at the end.
include "_vector.pxi"

cdef enum:
    MODE_ONLINE = 0     # update the parameters after each sample
    MODE_CAPTURE = 1    # as online, and also store the sample's gradient
    MODE_DEFER = 2      # as online, but leave the first layer's weight update
                        # pending, to be applied during the next forward sweep


# The online region, by job: the activation table, the output stage and
# losses, the optimisers, the online step and loop, and the register loop
# of small two-layer networks.
include "_activations.pxi"
include "_losses.pxi"
include "_optim.pxi"
include "_online.pxi"
include "_small2.pxi"


# ------------------------------------------------------------- mini-batches
include "_team.pxi"
include "_gemm.pxi"
include "_batch.pxi"
include "_table.pxi"
