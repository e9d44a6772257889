# cython: language_level=3
"""C types shared by backprop's compiled modules: the network (``bp_net``),
one sample's workspace (``bp_work``) and the integer codes.  Declarations only
(no module of its own), so that kernel modules built for other instruction sets
can use them without importing ``backprop._core``.

Parameter layout (one flat vector): layer ``l`` (0-based weight layer, from
``size[l]`` units to ``size[l + 1]`` units) owns ``W_l`` at ``w_off[l]``,
row-major with shape ``(size[l + 1], size[l])`` so that ``W_l[j, i]`` is the
weight from unit ``i`` below to unit ``j``, followed by its ``n_bias[l]``
biases at ``b_off[l]`` (``size[l + 1]`` per-neuron, 1 shared, or 0).
Workspace vectors hold every layer's units back to back: layer ``l``'s
``size[l + 1]`` units start at ``u_off[l]``.
"""

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
    BP_BAD_WIDTH = 3            # an input or target vector has the wrong length
    BP_NONFINITE_INPUT = 4      # an input or target value is NaN or infinite


ctypedef struct bp_work:
    # One sample's intermediates, each of length n_units (all layers' units):
    double* net         # pre-activations z = W a + b
    double* out         # activations a = f(z)
    double* d_out       # dE/d(out)
    double* d_act       # d(out)/d(net), elementwise (not meaningful for softmax)
    double* delta       # dE/d(net)
    double* errors      # the output layer's per-output loss terms (size[L])
    double* grad        # n_params: dE/d(params) of one sample, or a batch's sum


ctypedef struct bp_net:
    # shape, fixed at construction
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
    double* params                  # n_params, 64-byte aligned
    # optimiser: hyper-parameters and state (state vectors share params' layout)
    int opt                         # bp_optimizer
    double momentum
    bint nesterov
    double weight_decay
    bint decay_bias                 # weight decay on biases too
    double beta1
    double beta2
    double eps
    double* state1                  # SGD velocity, or Adam's first moment; NULL if unused
    double* state2                  # Adam's second moment; NULL if unused
    long long n_steps               # optimiser steps taken
    double beta1_pow                # beta1 ** n_steps
    double beta2_pow                # beta2 ** n_steps
    # Adam's ε added to the uncorrected √v (scikit-learn's AdamOptimizer):
    # w -= lr·√(1-β2ᵗ)/(1-β1ᵗ) · m / (√v + ε) instead of torch's form.
    bint eps_uncorrected


# BLAS dgemm, Fortran calling convention (column-major), as scipy exports it.
ctypedef void (*bp_dgemm_fn)(char* transa, char* transb, int* m, int* n, int* k,
                             double* alpha, double* a, int* lda, double* b, int* ldb,
                             double* beta, double* c, int* ldc) noexcept nogil


ctypedef struct bp_batch:
    # Workspace of a mini-batch, processed as matrices: per layer l a block of
    # rows x size[l + 1] values (row-major) at rows * u_off[l] in each vector.
    Py_ssize_t rows                 # capacity: the batch size
    double* net
    double* out
    double* d_out
    double* d_act
    double* delta
    double* errors                  # rows x size[L]
    double* x                       # rows x size[0]: the batch's inputs, gathered
    double* y                       # rows x size[L]: its targets, gathered
    bp_dgemm_fn dgemm               # BLAS for the large products, or NULL


ctypedef struct bp_step:
    # Per-step constants of the optimiser, computed once per update.
    double lr
    double step_size        # Adam: lr / (1 - beta1 ** t)
    double bc2_sqrt         # Adam: sqrt(1 - beta2 ** t)
    double weight_decay     # net.weight_decay, divided by the batch's mean sample weight


ctypedef struct bp_team:
    # The threads that share each mini-batch of one compiled call (train's
    # threads=T > 1); thread 0 runs the serial parts and publishes here.
    int n                           # T
    int count                       # arrivals at the open barrier (atomic)
    int sense                       # flips as each barrier opens (atomic)
    int status[2]                   # thread 0's status at the barrier that opens phase 0 / 1
    bint stopped                    # training reached the target loss
    bp_step st                      # the current optimiser step


ctypedef struct bp_run:
    # A training call's per-epoch settings and results, for a window of epochs.
    const double* lrs               # the learning rate of each epoch: lrs[e * lr_stride]
    Py_ssize_t lr_stride            # 1, or 0 when every epoch has the rate lrs[0]
    double* loss_sums               # out: each epoch's sum of per-sample losses
    double target                   # stop after an epoch whose mean loss <= target
    Py_ssize_t record_every         # N > 0: record the mean loss of every N samples
    double* record                  # out: those means
    Py_ssize_t record_len           # in/out: means written to record
    double record_sum               # in/out: the open window's sum of losses
    Py_ssize_t record_count         # in/out: and its number of samples
    bint stopped                    # out: training reached the target
    const double* weights           # n per-sample weights (indexed as X's rows), or NULL
    double* weight_rows             # 2 k: the weights of a batch gathered by an order


# The bulk kernels, one table per instruction-set build of _kernels.pxi
# (backprop._core holds the baseline one; backprop._kernels_v3 and _v4 hand
# theirs over in a capsule).  Every build gives the same bits.
ctypedef int (*bp_train_fn)(bp_net* net, bp_work* work, bp_batch* batch, bp_run* run,
                            const double* X, const double* Y, Py_ssize_t n,
                            const Py_ssize_t* order, Py_ssize_t k, Py_ssize_t step0,
                            Py_ssize_t n_steps, Py_ssize_t* done, bp_team* team,
                            int t) noexcept nogil
ctypedef void (*bp_rows_fn)(const bp_net* net, bp_work* work, const double* X,
                            const double* Y, Py_ssize_t n, double* out) noexcept nogil

ctypedef struct bp_kernels:
    const char* name
    bp_train_fn train           # train_steps
    bp_rows_fn predict          # out[i, :] = outputs for X[i] (Y unused)
    bp_rows_fn losses           # out[i] = loss of (X[i], Y[i])
