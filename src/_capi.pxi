# The C-level API that other Cython modules cimport (backprop/_core.pxd):
# its version, the structs of a live network, the hold around an embedding
# loop, and the single-sample entries.

API_VERSION = BP_API_VERSION


cdef int bp_api_version() noexcept nogil:
    return BP_API_VERSION


cdef Model _model_of(object network):
    model = getattr(network, "_model", network)
    if not isinstance(model, Model):
        other = getattr(getattr(model, "params", None), "dtype", None)
        if other is not None and other != DTYPE:
            raise TypeError(f"expected a backprop.Network of dtype {DTYPE} (this core's), got "
                            f"one of dtype {other}: a {other} network's C API is in "
                            f"{'backprop._core32' if other == np.float32 else 'backprop._core'}")
        raise TypeError(f"expected a backprop.Network, got {type(network).__name__}")
    return <Model>model


cdef bp_net* bp_get_net(object network) except NULL:
    return &_model_of(network).net


cdef bp_work* bp_get_work(object network) except NULL:
    return &_model_of(network).work


cdef long long bp_acquire(object network) except -1:
    return _model_of(network).lock()


cdef int bp_release(object network, long long token) except -1:
    _model_of(network).unlock(token)
    return 0


# The last hold token handed out (lock()): every hold gets a new one, so that
# a release with a stale or made-up token is refused.
cdef long long _last_token = 0


# The single-sample entries of the C API (and of learn_one/predict_one) are
# _core's alone: the kernel builds of _kernels.pxi, which include the same
# file, have no use for them.
cdef void bp_forward(const bp_net* net, bp_work* work, const bp_real* x) noexcept nogil:
    """Forward pass: fill work.net and work.out for every layer."""
    forward(<bp_net*>net, work, x, NULL, 0.0)


cdef int bp_learn_one(bp_net* net, bp_work* work, const bp_real* x, const bp_real* t,
                      double lr, double* loss) noexcept nogil:
    """One online update on one sample; *loss receives its loss before the update.
    Returns BP_NONFINITE_LOSS (parameters untouched) if that loss is not finite,
    BP_NONFINITE_PARAMS if the update made a parameter or the optimiser state
    non-finite (it is not undone: the caller keeps a copy if it must undo)."""
    loss[0] = online_step(net, work, x, t, lr, MODE_ONLINE, NULL, 0.0, False)
    if not isfinite(loss[0]):
        return BP_NONFINITE_LOSS
    if not state_finite(net):
        return BP_NONFINITE_PARAMS
    return BP_OK


cdef int bp_predict_one(const bp_net* net, bp_work* work, const bp_real* x,
                        bp_real* out) noexcept nogil:
    """Forward one sample and copy the network's outputs to out."""
    predict_into(net, work, x, out, False)
    return BP_OK
