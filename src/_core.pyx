# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""backprop._core: the compiled core.

``Model`` owns one network's buffers (flat parameters, optimiser state,
workspace) and runs the kernels of ``_kernels.pxi`` on them with the GIL
released.  It trusts its caller: shapes, dtypes, finiteness and option
ranges are checked by the Python layer (``backprop.network``) before any
method here is called.  The one exception is the streaming pair
``learn_one``/``predict_one``, which check widths and finiteness themselves
because a Python-level check would cost more than the work.
"""
import numpy as np

from libc.string cimport memcpy

include "_kernels.pxi"
include "_math_shims.pxi"

ACTIVATIONS = {
    "logistic": BP_LOGISTIC,
    "tanh": BP_TANH,
    "relu": BP_RELU,
    "leaky_relu": BP_LEAKY_RELU,
    "identity": BP_IDENTITY,
    "softmax": BP_SOFTMAX,
}
LOSSES = {"squared": BP_SQUARED, "cross_entropy": BP_CROSS_ENTROPY, "huber": BP_HUBER}
OPTIMIZERS = {"sgd": BP_SGD, "adam": BP_ADAM}
API_VERSION = BP_API_VERSION
STATUS_OK = BP_OK
STATUS_NONFINITE_LOSS = BP_NONFINITE_LOSS
STATUS_NONFINITE_PARAMS = BP_NONFINITE_PARAMS

ALIGNMENT = 64


def aligned_zeros(Py_ssize_t n):
    """A zeroed float64 vector of length n whose data is 64-byte aligned."""
    buf = np.zeros(n + ALIGNMENT // 8, dtype=np.float64)
    start = (-buf.ctypes.data % ALIGNMENT) // 8
    return buf[start:start + n]


cdef int bp_api_version() noexcept nogil:
    return BP_API_VERSION


cdef Model _model_of(object network):
    model = getattr(network, "_model", network)
    if not isinstance(model, Model):
        raise TypeError(f"expected a backprop.Network, got {type(network).__name__}")
    return <Model>model


cdef bp_net* bp_get_net(object network) except NULL:
    return &_model_of(network).net


cdef bp_work* bp_get_work(object network) except NULL:
    return &_model_of(network).work


cdef attach_work(bp_work* work, arrays):
    """Point work's buffers at arrays (net, out, d_out, d_act, delta, errors, grad)."""
    cdef double[::1] v
    cdef double** slots[7]
    slots[0] = &work.net
    slots[1] = &work.out
    slots[2] = &work.d_out
    slots[3] = &work.d_act
    slots[4] = &work.delta
    slots[5] = &work.errors
    slots[6] = &work.grad
    for i in range(7):
        v = arrays[i]
        slots[i][0] = &v[0]


cdef class Model:
    """The buffers of one network and the compiled operations on them.

    Model(sizes, n_bias, activations, act_params, loss, loss_param, train_bias)
        sizes: layer widths, inputs first (L + 1 integers >= 1)
        n_bias: biases per weight layer (size[l + 1], 1 or 0), L integers
        activations: L activation codes; act_params: L floats
        loss: loss code; loss_param: its parameter; train_bias: bool
    """

    def __cinit__(self, sizes, n_bias, activations, act_params, int loss,
                  double loss_param, bint train_bias):
        size = np.ascontiguousarray(sizes, dtype=np.intp)
        nb = np.ascontiguousarray(n_bias, dtype=np.intp)
        L = size.shape[0] - 1
        w_off = np.empty(L, dtype=np.intp)
        b_off = np.empty(L, dtype=np.intp)
        u_off = np.empty(L, dtype=np.intp)
        p = 0
        u = 0
        for l in range(L):
            w_off[l] = p
            p += size[l + 1] * size[l]
            b_off[l] = p
            p += nb[l]
            u_off[l] = u
            u += size[l + 1]
        act = np.ascontiguousarray(activations, dtype=np.intc)
        act_p = np.ascontiguousarray(act_params, dtype=np.float64)
        self._shape_arrays = (size, nb, w_off, b_off, u_off, act, act_p)

        cdef const Py_ssize_t[::1] v_size = size
        cdef const Py_ssize_t[::1] v_nb = nb
        cdef const Py_ssize_t[::1] v_w = w_off
        cdef const Py_ssize_t[::1] v_b = b_off
        cdef const Py_ssize_t[::1] v_u = u_off
        cdef const int[::1] v_act = act
        cdef const double[::1] v_actp = act_p
        self.net.n_layers = L
        self.net.size = &v_size[0]
        self.net.n_bias = &v_nb[0]
        self.net.w_off = &v_w[0]
        self.net.b_off = &v_b[0]
        self.net.u_off = &v_u[0]
        self.net.act = &v_act[0]
        self.net.act_param = &v_actp[0]
        self.net.loss = loss
        self.net.loss_param = loss_param
        self.net.train_bias = train_bias
        self.net.n_params = p
        self.net.n_units = u

        self.params = aligned_zeros(p)
        cdef double[::1] v_params = self.params
        self.net.params = &v_params[0]
        self.state1 = None
        self.state2 = None
        self.net.state1 = NULL
        self.net.state2 = NULL
        self.net.opt = BP_SGD
        self.net.momentum = 0.0
        self.net.nesterov = False
        self.net.weight_decay = 0.0
        self.net.decay_bias = False
        self.net.beta1 = 0.9
        self.net.beta2 = 0.999
        self.net.eps = 1e-8
        self.net.n_steps = 0
        self.net.beta1_pow = 1.0
        self.net.beta2_pow = 1.0

        self._work_arrays = tuple(np.zeros(u) for _ in range(5)) + (
            np.zeros(size[L]), aligned_zeros(p))
        attach_work(&self.work, self._work_arrays)
        self.busy = 0

    cdef _scratch(self, bp_work* work):
        """Private workspace arrays for a read-only pass (predict, loss), so
        that they never disturb the network's own workspace."""
        u = self.net.n_units
        arrays = tuple(np.empty(u) for _ in range(5)) + (
            np.empty(self.net.size[self.net.n_layers]), self._work_arrays[6])
        attach_work(work, arrays)
        return arrays

    def lock(self):
        """Mark the network busy for a multi-call operation (a whole training
        run); refused if it already is, i.e. another thread is training it."""
        if self.busy:
            raise RuntimeError(
                "this network is being trained by another thread; train or update one "
                "network from one thread at a time (give each thread its own net.copy())")
        self.busy = 1

    def unlock(self):
        self.busy = 0

    # ------------------------------------------------------------- shape
    @property
    def n_params(self):
        return self.net.n_params

    @property
    def n_units(self):
        return self.net.n_units

    @property
    def offsets(self):
        """(w_off, b_off, n_bias) as tuples of ints."""
        size, nb, w_off, b_off, _, _, _ = self._shape_arrays
        return tuple(int(v) for v in w_off), tuple(int(v) for v in b_off), tuple(int(v) for v in nb)

    @property
    def u_offsets(self):
        return tuple(int(v) for v in self._shape_arrays[4])

    @property
    def work(self):
        """The workspace arrays: net, out, d_out, d_act, delta, errors, grad."""
        return self._work_arrays

    # --------------------------------------------------------- optimiser
    def set_optimizer(self, int code, double momentum=0.0, bint nesterov=False,
                      double weight_decay=0.0, bint decay_bias=False,
                      double beta1=0.9, double beta2=0.999, double eps=1e-8):
        """Set the optimiser's hyper-parameters.  Its state is reset when the
        kind of optimiser changes or when momentum is switched on."""
        if code != self.net.opt:
            self.state1 = None
            self.state2 = None
            self.net.n_steps = 0
            self.net.beta1_pow = 1.0
            self.net.beta2_pow = 1.0
        self.net.opt = code
        self.net.momentum = momentum
        self.net.nesterov = nesterov
        self.net.weight_decay = weight_decay
        self.net.decay_bias = decay_bias
        self.net.beta1 = beta1
        self.net.beta2 = beta2
        self.net.eps = eps
        needs1 = code == BP_ADAM or momentum != 0.0
        if needs1 and self.state1 is None:
            self.state1 = aligned_zeros(self.net.n_params)
        if code == BP_ADAM and self.state2 is None:
            self.state2 = aligned_zeros(self.net.n_params)
        self._attach_state()

    cdef _attach_state(self):
        cdef double[::1] v
        self.net.state1 = NULL
        self.net.state2 = NULL
        if self.state1 is not None:
            v = self.state1
            self.net.state1 = &v[0]
        if self.state2 is not None:
            v = self.state2
            self.net.state2 = &v[0]

    def get_counters(self):
        """(n_steps, beta1_pow, beta2_pow)"""
        return int(self.net.n_steps), float(self.net.beta1_pow), float(self.net.beta2_pow)

    def set_state(self, params, state1, state2, counters):
        """Overwrite parameters, optimiser state vectors and counters (copies)."""
        np.copyto(self.params, params)
        if state1 is not None:
            if self.state1 is None:
                self.state1 = aligned_zeros(self.net.n_params)
            np.copyto(self.state1, state1)
        if state2 is not None:
            if self.state2 is None:
                self.state2 = aligned_zeros(self.net.n_params)
            np.copyto(self.state2, state2)
        self._attach_state()
        self.net.n_steps, self.net.beta1_pow, self.net.beta2_pow = counters

    def snapshot(self):
        """Copies of (params, state1, state2, counters), for restore()."""
        return (self.params.copy(),
                None if self.state1 is None else self.state1.copy(),
                None if self.state2 is None else self.state2.copy(),
                self.get_counters())

    def copy(self):
        """An independent Model with the same shape, parameters and optimiser."""
        size, nb, _, _, _, act, act_p = self._shape_arrays
        cdef Model other = Model(size, nb, act, act_p, self.net.loss, self.net.loss_param,
                                 self.net.train_bias)
        other.set_optimizer(self.net.opt, self.net.momentum, self.net.nesterov,
                            self.net.weight_decay, self.net.decay_bias,
                            self.net.beta1, self.net.beta2, self.net.eps)
        other.set_state(*self.snapshot())
        return other

    # -------------------------------------------------------- operations
    def predict(self, const double[:, ::1] X, double[:, ::1] out):
        """out[i] = the network's outputs for X[i]."""
        cdef bp_work work
        keep = self._scratch(&work)
        cdef Py_ssize_t i, n = X.shape[0], n_out = out.shape[1]
        with nogil:
            for i in range(n):
                bp_predict_one(&self.net, &work, &X[i, 0], &out[i, 0])
        del keep

    def sample_losses(self, const double[:, ::1] X, const double[:, ::1] Y, double[::1] out):
        """out[i] = the loss of sample i (X[i], Y[i])."""
        cdef bp_work work
        keep = self._scratch(&work)
        with nogil:
            sample_losses(&self.net, &work, &X[0, 0], &Y[0, 0], X.shape[0], &out[0])
        del keep

    def train(self, const double[:, ::1] X, const double[:, ::1] Y, order,
              const double[::1] lrs, Py_ssize_t batch_size, Py_ssize_t step0,
              Py_ssize_t n_steps, double[::1] loss_sums):
        """Run n_steps optimiser steps from step step0 of a window of epochs
        (see train_steps in _kernels.pxi).  order: (epochs, n) intp array or
        None.  The caller holds lock().  Returns (status, steps_done)."""
        cdef const Py_ssize_t[:, ::1] v_order
        cdef const Py_ssize_t* p_order = NULL
        cdef Py_ssize_t done = 0
        cdef int status
        if order is not None:
            v_order = order
            p_order = &v_order[0, 0]
        with nogil:
            status = train_steps(&self.net, &self.work, &X[0, 0], &Y[0, 0], X.shape[0],
                                 p_order, &lrs[0], batch_size, step0, n_steps,
                                 &loss_sums[0], &done)
        return status, done

    def capture_step(self, const double[::1] x, const double[::1] t, double lr):
        """One online update that also stores the gradient in work[6] (grad);
        afterwards the workspace holds every intermediate of the step.
        Returns (status, loss)."""
        cdef double E
        cdef bp_step st
        cdef int status = BP_OK
        with nogil:
            bp_forward(&self.net, &self.work, &x[0])
            E = bp_output(&self.net, &self.work, &t[0])
            if isfinite(E):
                memset(self.work.grad, 0, self.net.n_params * sizeof(double))
                st = begin_step(&self.net, lr)
                backward(&self.net, &self.work, &x[0], MODE_CAPTURE, &st)
            else:
                status = BP_NONFINITE_LOSS
        return status, E

    def learn_one(self, const double[::1] x, const double[::1] t, double lr):
        """One online update on one sample; returns its loss before the update.
        Checks widths and finiteness itself (the streaming fast path)."""
        cdef double E
        cdef int status
        if x.shape[0] != self.net.size[0] or t.shape[0] != self.net.size[self.net.n_layers]:
            raise ValueError(
                f"learn_one: x must have {self.net.size[0]} values and t "
                f"{self.net.size[self.net.n_layers]}, got {x.shape[0]} and {t.shape[0]}")
        if not (all_finite(&x[0], x.shape[0]) and all_finite(&t[0], t.shape[0])):
            raise ValueError("learn_one: x and t must be finite (found NaN or inf)")
        if self.busy:
            self.lock()
        # The GIL is held throughout: no other thread can start on this network.
        status = bp_learn_one(&self.net, &self.work, &x[0], &t[0], lr, &E)
        return status, E

    def predict_one(self, const double[::1] x):
        """The network's outputs for one sample, as a new array."""
        if x.shape[0] != self.net.size[0]:
            raise ValueError(f"predict_one: x must have {self.net.size[0]} values, got {x.shape[0]}")
        if not all_finite(&x[0], x.shape[0]):
            raise ValueError("predict_one: x must be finite (found NaN or inf)")
        out = np.empty(self.net.size[self.net.n_layers])
        cdef double[::1] v = out
        cdef bp_work work
        keep = self._scratch(&work)
        bp_predict_one(&self.net, &work, &x[0], &v[0])
        return out

    def state_finite(self):
        return bool(state_finite(&self.net))
