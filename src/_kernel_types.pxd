# cython: language_level=3
"""C types private to backprop's compiled modules: a mini-batch's workspace,
an optimiser step's constants, a team's shared state, a training call's
settings, and the table of a kernel build's entry points.  Declarations only
(no module of its own); not installed: no embedder sees them, so they may
change in any release without a change of BP_API_VERSION.
"""
from backprop._types cimport bp_net, bp_real, bp_work

# The type of the network's values (double, or float in backprop._core32).
ctypedef bp_real real


# BLAS gemm of the build's type (dgemm, or sgemm for float32), Fortran
# calling convention (column-major), as scipy exports it.
ctypedef void (*bp_gemm_fn)(char* transa, char* transb, int* m, int* n, int* k,
                             real* alpha, real* a, int* lda, real* b, int* ldb,
                             real* beta, real* c, int* ldc) noexcept nogil


ctypedef struct bp_batch:
    # Workspace of a mini-batch, processed as matrices: per layer l a block of
    # rows x size[l + 1] values (row-major) at rows * u_off[l] in each vector.
    Py_ssize_t rows                 # capacity: the batch size
    real* net
    real* out
    real* d_out
    real* d_act
    real* delta
    real* errors                    # rows x size[L]
    real* x                         # rows x size[0]: the batch's inputs, gathered
    real* y                         # rows x size[L]: its targets, gathered
    bp_gemm_fn gemm                 # BLAS for the large products, or NULL


ctypedef struct bp_step:
    # Per-step constants of the optimiser, computed once per update.
    real lr
    real step_size          # Adam: lr / (1 - beta1 ** t)
    real bc2_sqrt           # Adam: sqrt(1 - beta2 ** t)
    real weight_decay       # net.weight_decay, divided by the batch's mean sample weight


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
    double* penalty_sums            # out, or NULL: each epoch's sum over its samples of the
                                    # L2 term of their step (see note_penalty)
    double target                   # stop after an epoch whose mean loss <= target
    Py_ssize_t record_every         # N > 0: record the mean loss of every N samples
    double* record                  # out: those means
    Py_ssize_t record_len           # in/out: means written to record
    double record_sum               # in/out: the open window's sum of losses
    Py_ssize_t record_count         # in/out: and its number of samples
    bint stopped                    # out: training reached the target
    const real* weights             # n per-sample weights (indexed as X's rows), or NULL
    real* weight_rows               # 2 k: the weights of a batch gathered by an order


# The bulk kernels, one table per instruction-set build of _kernels.pxi
# (backprop._core holds the baseline one; backprop._kernels_v3 and _v4 hand
# theirs over in a capsule).  Every build gives the same bits.
ctypedef int (*bp_train_fn)(bp_net* net, bp_work* work, bp_batch* batch, bp_run* run,
                            const real* X, const real* Y, Py_ssize_t n,
                            const Py_ssize_t* order, Py_ssize_t k, Py_ssize_t step0,
                            Py_ssize_t n_steps, Py_ssize_t* done, bp_team* team,
                            int t) noexcept nogil
ctypedef void (*bp_rows_fn)(const bp_net* net, bp_work* work, const real* X,
                            const real* Y, Py_ssize_t n, real* out) noexcept nogil

cdef extern from "bp_real.h":
    const char* BP_KERNELS_CAPSULE  # the name of the capsule that hands a table over

ctypedef struct bp_kernels:
    const char* name
    bp_train_fn train           # train_steps
    bp_rows_fn predict          # out[i, :] = outputs for X[i] (Y unused)
    bp_rows_fn losses           # out[i] = loss of (X[i], Y[i])
