# cython: language_level=3
"""The C types of backprop's C-level API: the network (``bp_net``), one
sample's workspace (``bp_work``) and the integer codes.  Declarations only (no
module of its own), so that kernel modules built for other instruction sets
can use them without importing ``backprop._core``.  The types that only the
kernels use are in ``src/_kernel_types.pxd``, which is not installed.

Parameter layout (one flat vector): layer ``l`` (0-based weight layer, from
``size[l]`` units to ``size[l + 1]`` units) owns ``W_l`` at ``w_off[l]``,
row-major with shape ``(size[l + 1], size[l])`` so that ``W_l[j, i]`` is the
weight from unit ``i`` below to unit ``j``, followed by its ``n_bias[l]``
biases at ``b_off[l]`` (``size[l + 1]`` per-neuron, 1 shared, or 0).
Workspace vectors hold every layer's units back to back: layer ``l``'s
``size[l + 1]`` units start at ``u_off[l]``.
"""

# The floating type of a network's values (bp_real.h): double in
# backprop._core, float in backprop._core32 (built with BP_FLOAT32 defined).
cdef extern from "bp_real.h":
    ctypedef double bp_real
    const bint BP_REAL_IS_FLOAT32

cdef enum bp_dtype:
    BP_FLOAT64 = 0
    BP_FLOAT32 = 1

cdef enum bp_activation:
    BP_LOGISTIC = 0
    BP_TANH = 1
    BP_RELU = 2
    BP_LEAKY_RELU = 3
    BP_IDENTITY = 4
    BP_SOFTMAX = 5

cdef enum bp_loss:
    BP_SQUARED = 0
    BP_CROSS_ENTROPY = 1
    BP_HUBER = 2

cdef enum bp_optimizer:
    BP_SGD = 0
    BP_ADAM = 1

cdef enum bp_status:
    BP_OK = 0
    BP_NONFINITE_LOSS = 1       # a sample's loss was NaN or infinite
    BP_NONFINITE_PARAMS = 2     # a parameter or optimiser state became NaN or infinite


ctypedef struct bp_work:
    # One sample's intermediates, each of length n_units (all layers' units):
    bp_real* net        # pre-activations z = W a + b
    bp_real* out        # activations a = f(z)
    bp_real* d_out      # dE/d(out)
    bp_real* d_act      # d(out)/d(net), elementwise (not meaningful for softmax)
    bp_real* delta      # dE/d(net)
    bp_real* errors     # the output layer's per-output loss terms (size[L])
    bp_real* grad       # n_params: dE/d(params) of one sample, or a batch's sum


ctypedef struct bp_net:
    # shape, fixed at construction
    int dtype                       # bp_dtype: what bp_real is for this network
    Py_ssize_t n_layers             # L, the number of weight layers
    const Py_ssize_t* size          # L + 1 widths, inputs first
    const Py_ssize_t* w_off         # L offsets of the weight matrices in params
    const Py_ssize_t* b_off         # L offsets of the biases in params
    const Py_ssize_t* n_bias        # L bias counts: size[l + 1], 1 or 0
    const Py_ssize_t* u_off         # L offsets of each layer's units in a bp_work vector
    const int* act                  # L activation codes (bp_activation)
    const double* act_param         # L activation parameters (leaky ReLU slope)
    int loss                        # bp_loss
    double loss_param               # Huber threshold
    bint train_bias
    Py_ssize_t n_params
    Py_ssize_t n_units              # size[1] + ... + size[L]
    bp_real* params                 # n_params, 64-byte aligned
    # optimiser: hyper-parameters and state (state vectors share params' layout)
    int opt                         # bp_optimizer
    double momentum
    bint nesterov
    double weight_decay
    bint decay_bias                 # weight decay on biases too
    double beta1
    double beta2
    double eps
    bp_real* state1                 # SGD velocity, or Adam's first moment; NULL if unused
    bp_real* state2                 # Adam's second moment; NULL if unused
    long long n_steps               # optimiser steps taken
    double beta1_pow                # beta1 ** n_steps
    double beta2_pow                # beta2 ** n_steps
    # Adam's ε added to the uncorrected √v (scikit-learn's AdamOptimizer):
    # w -= lr·√(1-β2ᵗ)/(1-β1ᵗ) · m / (√v + ε) instead of torch's form.
    bint eps_uncorrected
