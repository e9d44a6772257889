# cython: language_level=3
"""C-level API of backprop's compiled core, ``backprop._core``.

A network is a ``bp_net`` (see ``backprop/_types.pxd``): its shape (layer
widths, activation and loss codes, bias policy), its flat float64 parameter
vector and its optimiser state.  One sample's intermediates live in a
``bp_work``.  Every kernel is ``noexcept nogil``: errors come back as
``bp_status`` codes.  Only what an embedding module uses is declared here;
everything else of the core is private to it.
"""
from backprop._types cimport *

# The version of this C-level API (the structs and codes in _types.pxd and
# the functions below).  It changes whenever either changes incompatibly; an
# embedding module compares it with bp_api_version() of the installed core.
# (Version 3 dropped from these files what no embedder uses: the kernels'
# private structs, two status codes nothing returned, and the fields of the
# Model extension type.  Version 4 made the network's values bp_real, float
# in backprop._core32, and gave bp_net its dtype.)
cdef enum:
    BP_API_VERSION = 4

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

cdef void bp_forward(const bp_net* net, bp_work* work, const bp_real* x) noexcept nogil
cdef bp_real bp_output(const bp_net* net, bp_work* work, const bp_real* t) noexcept nogil
cdef int bp_predict_one(const bp_net* net, bp_work* work, const bp_real* x,
                        bp_real* out) noexcept nogil
cdef int bp_learn_one(bp_net* net, bp_work* work, const bp_real* x, const bp_real* t,
                      double lr, double* loss) noexcept nogil

