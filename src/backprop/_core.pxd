# cython: language_level=3
"""C-level API of backprop's compiled core, ``backprop._core``.

A network is a ``bp_net`` (see ``backprop/_types.pxd``): its shape (layer
widths, activation and loss codes, bias policy), its flat float64 parameter
vector and its optimiser state.  One sample's intermediates live in a
``bp_work``.  Every kernel is ``noexcept nogil``: errors come back as
``bp_status`` codes.
"""
from backprop._types cimport *

# The version of this C-level API (the structs in _types.pxd and the
# functions below).  It changes whenever either changes incompatibly; an
# embedding module compares it with bp_api_version() of the installed core.
cdef enum:
    BP_API_VERSION = 2

cdef int bp_api_version() noexcept nogil

# The C structs of a live backprop.Network (or backprop._core.Model).  They
# stay valid while that object is alive; its parameters, optimiser state and
# workspace are shared with Python, so do not train it from Python meanwhile.
cdef bp_net* bp_get_net(object network) except NULL
cdef bp_work* bp_get_work(object network) except NULL

# Hold a network for the duration of an embedding loop: while held, Python's
# train() and learn_one() on it raise RuntimeError instead of racing the loop,
# and so do copy(), save() and pickling from another thread.  bp_acquire
# raises RuntimeError if the network is already held or training, else it
# returns the hold's token (> 0); bp_release(network, token) releases it and
# raises RuntimeError for any other token, so that only the holder can.
# (Version 1 had no token.)
cdef long long bp_acquire(object network) except -1
cdef int bp_release(object network, long long token) except -1

cdef void bp_forward(const bp_net* net, bp_work* work, const double* x) noexcept nogil
cdef double bp_output(const bp_net* net, bp_work* work, const double* t) noexcept nogil
cdef int bp_predict_one(const bp_net* net, bp_work* work, const double* x,
                        double* out) noexcept nogil
cdef int bp_learn_one(bp_net* net, bp_work* work, const double* x, const double* t,
                      double lr, double* loss) noexcept nogil


# The extension type behind backprop.Network (its ``_model``).  Its fields are
# an implementation detail: they are not part of the versioned API above and
# may change between releases; use bp_get_net/bp_get_work.
cdef class Model:
    cdef bp_net net
    cdef bp_work work
    cdef bp_work pwork              # predict_one's, used only with the GIL held
    cdef bp_batch batch
    cdef object _batch_arrays
    cdef object _pwork_arrays
    cdef object _undo               # learn_one's copy of the parameters and optimiser state
    cdef long long _undo_steps
    cdef public long long samples   # samples trained on over the network's life
    cdef public double default_lr   # learn_one's learning rate when none is given
    cdef readonly long long busy    # the token of the hold on the network, 0 when free
    cdef object _holder             # the thread ident of the holder
    cdef readonly object params
    cdef readonly object state1
    cdef readonly object state2
    cdef readonly object _shape_arrays
    cdef readonly object _work_arrays
    cdef _scratch(self, bp_work* work)
    cdef _attach_state(self)
    cdef _batch_workspace(self, Py_ssize_t rows)
    cdef save_undo(self)
    cdef restore_undo(self)
    cdef double rate(self, lr) except -1.0
