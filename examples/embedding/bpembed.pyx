# cython: boundscheck=False, wraparound=False
"""Train a ``backprop.Network`` from Cython, in this module's own nogil loop.

An example of embedding backprop's C-level API (``backprop/_core.pxd``):
online SGD, one ``bp_learn_one`` per sample, the samples in order, epoch after
epoch.  With the network's default optimiser (plain SGD) the result is the same
bits as ``net.train(X, Y, epochs, lr)``.

The arrays are ``bp_real``, the network's type: double here.  Cimported from
``backprop._core32`` and built with ``BP_FLOAT32`` defined, the same code
serves float32 networks with float32 arrays.
"""
from array import array

from backprop._core cimport (BP_API_VERSION, bp_acquire, bp_api_version, bp_get_net,
                             bp_get_work, bp_learn_one, bp_net, bp_predict_one, bp_release,
                             bp_work)
from backprop._types cimport BP_OK, bp_real

# BP_API_VERSION is the version this module was compiled against;
# bp_api_version() is the installed core's.
COMPILED_API_VERSION = BP_API_VERSION
if bp_api_version() != BP_API_VERSION:
    raise ImportError(
        f"bpembed was built against backprop's C-level API version {BP_API_VERSION}, "
        f"but the installed backprop provides version {bp_api_version()}: rebuild bpembed")


def train_online(network, const bp_real[:, ::1] X, const bp_real[:, ::1] Y, Py_ssize_t epochs,
                 double lr):
    """Online SGD on (X, Y) for ``epochs`` passes, samples in order.

    Returns one mean per-sample loss per epoch, each sample's loss taken before
    its update (as ``History.loss``).  The network is held (bp_acquire) while
    the loop runs on its buffers: training it from Python meanwhile raises.
    """
    cdef bp_net* net = bp_get_net(network)
    cdef bp_work* work = bp_get_work(network)
    cdef Py_ssize_t n = X.shape[0], L = net.n_layers, e = 0, i = 0
    cdef double E
    cdef int status = BP_OK
    if n == 0 or Y.shape[0] != n:
        raise ValueError(f"X and Y need the same, non-zero number of rows, got {n} and {Y.shape[0]}")
    if X.shape[1] != net.size[0] or Y.shape[1] != net.size[L]:
        raise ValueError(f"X needs {net.size[0]} columns and Y {net.size[L]}, "
                         f"got {X.shape[1]} and {Y.shape[1]}")
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    sums = array("d", [0.0]) * epochs
    cdef double[::1] loss_sums = sums
    cdef long long token = bp_acquire(network)  # Python's train()/learn_one() now refuse
    try:
        with nogil:
            while e < epochs and status == BP_OK:
                i = 0
                while i < n:
                    status = bp_learn_one(net, work, &X[i, 0], &Y[i, 0], lr, &E)
                    if status != BP_OK:
                        break
                    loss_sums[e] += E
                    i += 1
                e += 1
    finally:
        bp_release(network, token)
    if status != BP_OK:
        raise FloatingPointError(
            f"sample {i} of epoch {e - 1} gave a non-finite loss or made the parameters "
            "non-finite; the updates before it were kept. Try a smaller learning rate.")
    return [total / n for total in sums]


def predict(network, const bp_real[:, ::1] X, bp_real[:, ::1] out):
    """out[i] = the network's outputs for X[i], through ``bp_predict_one``."""
    cdef bp_net* net = bp_get_net(network)
    cdef bp_work* work = bp_get_work(network)
    cdef Py_ssize_t i
    if X.shape[1] != net.size[0] or out.shape[1] != net.size[net.n_layers] or out.shape[0] != X.shape[0]:
        raise ValueError("predict: X must be (n, n_in) and out (n, n_out)")
    with nogil:
        for i in range(X.shape[0]):
            bp_predict_one(net, work, &X[i, 0], &out[i, 0])
