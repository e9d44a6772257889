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
import _thread
import importlib
import importlib.util
import os
import threading

import numpy as np

cimport numpy as cnp
from cpython.pycapsule cimport PyCapsule_GetName, PyCapsule_GetPointer

cnp.import_array()

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

# The online kernels check the loss at every sample but the parameters and
# optimiser state only at an epoch's end at least this many samples after the
# last check, and at a call's end (mini-batch kernels: at every epoch's end).
PARAMS_CHECK_EVERY = CHECK_EVERY
ALIGNMENT = 64
# The largest sample or step count a network may reach (counters are int64;
# this leaves headroom for a whole training call's samples).
MAX_COUNT = 1 << 62


def aligned_zeros(Py_ssize_t n):
    """A zeroed float64 vector of length n whose data is 64-byte aligned and
    owns every cache line it touches (its buffer is padded to whole lines),
    so that two networks trained in two threads never share a line."""
    cdef Py_ssize_t per_line = ALIGNMENT // 8
    buf = np.zeros(n + 2 * per_line, dtype=np.float64)
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
cdef void bp_forward(const bp_net* net, bp_work* work, const double* x) noexcept nogil:
    """Forward pass: fill work.net and work.out for every layer."""
    forward(<bp_net*>net, work, x, NULL, 0.0)


cdef int bp_learn_one(bp_net* net, bp_work* work, const double* x, const double* t,
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


cdef int bp_predict_one(const bp_net* net, bp_work* work, const double* x,
                        double* out) noexcept nogil:
    """Forward one sample and copy the network's outputs to out."""
    predict_into(net, work, x, out, False)
    return BP_OK


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss or non-finite parameters.

    The network is left in, or restored to, its last finite state.  For a
    ``train`` call, ``epoch`` is the epoch (of that call) in which it happened,
    ``restored_epoch`` the number of its epochs whose result the network
    kept, and ``history`` their History; for ``learn_one`` they are None."""

    def __init__(self, message, epoch=None, restored_epoch=None, history=None):
        super().__init__(message)
        self.epoch = epoch
        self.restored_epoch = restored_epoch
        self.history = history


cdef inline const double* vector(object a, str name):
    """The data of a C-contiguous, aligned, native-byte-order float64 1-D
    numpy array, else NULL.  A byte-swapped array (dtype ">f8" on a
    little-endian machine) has type NPY_DOUBLE too, but its bytes are not
    doubles the kernels can read: it takes the converting path."""
    if (cnp.PyArray_CheckExact(a) and cnp.PyArray_TYPE(a) == cnp.NPY_DOUBLE
            and cnp.PyArray_NDIM(a) == 1 and cnp.PyArray_IS_C_CONTIGUOUS(a)
            and cnp.PyArray_ISBEHAVED_RO(a)):
        return <const double*>cnp.PyArray_DATA(a)
    return NULL


cdef object converted(object a, str name):
    """a as a C-contiguous float64 1-D array (the slow path of learn_one)."""
    # Imported here: backprop._validate imports this module.
    from backprop._validate import as_float_array
    arr = as_float_array(a, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one sample), got shape {arr.shape}")
    return arr


def is_finite(const double[::1] values):
    """Whether a float64 vector holds no NaN or infinity, without allocating
    (numpy's isfinite would make a boolean array as large as the data)."""
    cdef bint ok = True
    if values.shape[0]:
        with nogil:
            ok = all_finite(&values[0], values.shape[0])
    return ok


def gather(dict x, dict index, cnp.npy_intp n, bint strict):
    """A new zeroed float64 vector of n values with v[index[k]] = x[k] for
    every key k of x that index holds (index: key -> position in [0, n)).
    A key of x that index does not hold is skipped, or with strict gives
    None instead of a vector.  TypeError for a value that is not a number.
    The streaming adapters' sample conversion: River's samples are dicts."""
    cdef object v = cnp.PyArray_ZEROS(1, &n, cnp.NPY_DOUBLE, 0)
    cdef double* out = <double*>cnp.PyArray_DATA(v)
    cdef Py_ssize_t i
    for key, value in x.items():
        slot = index.get(key)
        if slot is None:
            if strict:
                return None
            continue
        i = slot
        if not 0 <= i < n:
            raise IndexError(f"gather: index[{key!r}] = {i} is outside [0, {n})")
        out[i] = value
    return v


cdef inline bint in_unit_interval(const double* v, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if not (0.0 <= v[i] <= 1.0):
            return False
    return True


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


# One compiled call shared by a team (Model.train with a Team): what every
# member needs to run its part of train_steps.
ctypedef struct bp_job:
    const bp_kernels* kernels
    bp_net* net
    bp_work* work
    bp_batch* batch
    bp_run* run
    const double* X
    const double* Y
    Py_ssize_t n
    const Py_ssize_t* order
    Py_ssize_t k
    Py_ssize_t step0
    Py_ssize_t n_steps
    bp_team* team


cdef class Team:
    """Members 1 .. n-1 of a team of n threads that shares each mini-batch
    (train's threads=n), for the length of one train call: each compiled call
    hands them its job, runs member 0 itself, then waits for them.  A context
    manager; close() ends the threads."""
    cdef readonly int n
    cdef object _buffer             # the job, then the bp_team on cache lines of its own
    cdef bp_job* job
    cdef bp_team* team
    # One lock per member for each direction, taken by the waiting side and
    # released by the other: "a job is waiting" and "my part is done".  They
    # are _thread locks, whose release is C code (no signal handler can run in
    # it) and whose interrupted acquire leaves them untaken.
    cdef object _go
    cdef object _done
    cdef object _threads
    cdef bint _closing

    def __cinit__(self, int n):
        cdef Py_ssize_t job_bytes = (sizeof(bp_job) + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT
        if n < 2:
            raise ValueError(f"a team needs at least 2 threads, got {n}")
        self.n = n
        self._buffer = aligned_zeros((job_bytes + sizeof(bp_team)) // 8 + 1)
        self.job = <bp_job*>cnp.PyArray_DATA(self._buffer)
        self.team = <bp_team*>(<char*>self.job + job_bytes)
        self._go = [_locked() for _ in range(n - 1)]
        self._done = [_locked() for _ in range(n - 1)]
        self._threads = []
        try:
            for t in range(1, n):
                thread = threading.Thread(target=self._serve, args=(t,), daemon=True,
                                          name=f"backprop team member {t}")
                thread.start()
                self._threads.append(thread)
        except BaseException:
            self.close()
            raise

    def _serve(self, int t):
        cdef Py_ssize_t done = 0
        cdef bp_job* job = self.job
        go = self._go[t - 1]
        done_lock = self._done[t - 1]
        while True:
            go.acquire()
            if self._closing:
                return
            with nogil:
                job.kernels.train(job.net, job.work, job.batch, job.run, job.X, job.Y, job.n,
                                  job.order, job.k, job.step0, job.n_steps, &done, job.team, t)
            done_lock.release()

    cdef dispatch(self, bp_job job):
        """Hand the members a job (whose team is this Team's, reset)."""
        memset(self.team, 0, sizeof(bp_team))
        self.team.n = self.n
        job.team = self.team
        self.job[0] = job
        for go in self._go:
            go.release()

    cdef collect(self):
        """Wait until every member has finished its part of the job.  An
        exception from a signal handler meanwhile (a timeout's) is raised only
        after that: once the caller sees it, no member writes to the network."""
        pending = None
        for done in self._done:
            while True:
                try:
                    done.acquire()
                    break
                except BaseException as exc:
                    pending = exc
        if pending is not None:
            raise pending

    def close(self):
        self._closing = True
        for go in self._go:
            if go.locked():
                go.release()
        for thread in self._threads:
            thread.join()
        self._threads = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


cdef object _locked():
    lock = _thread.allocate_lock()
    lock.acquire()
    return lock


def layout(sizes, n_bias):
    """The layout of a network's flat parameter vector, the one every part of
    backprop uses.

    sizes: layer widths, inputs first (L + 1 integers >= 1); n_bias: the
    biases of each weight layer (L integers).  Layer l's weights, row-major
    (size[l + 1] rows of size[l]), start at w_off[l]; its biases follow them
    at b_off[l].  Its units start at u_off[l] in the vectors of all units.
    Returns (w_off, b_off, u_off, n_params, n_units), the offsets as intp
    arrays.
    """
    L = len(sizes) - 1
    w_off = np.empty(L, dtype=np.intp)
    b_off = np.empty(L, dtype=np.intp)
    u_off = np.empty(L, dtype=np.intp)
    p = 0
    u = 0
    for l in range(L):
        w_off[l] = p
        p += int(sizes[l + 1]) * int(sizes[l])
        b_off[l] = p
        p += int(n_bias[l])
        u_off[l] = u
        u += int(sizes[l + 1])
    return w_off, b_off, u_off, p, u


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
        w_off, b_off, u_off, p, u = layout(size, nb)
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
        self.net.eps_uncorrected = False

        self._work_arrays = tuple(aligned_zeros(u) for _ in range(5)) + (
            aligned_zeros(size[L]), aligned_zeros(p))
        attach_work(&self.work, self._work_arrays)
        self._pwork_arrays = tuple(aligned_zeros(u) for _ in range(5)) + (
            aligned_zeros(size[L]), self._work_arrays[6])
        attach_work(&self.pwork, self._pwork_arrays)
        self.samples = 0
        self.default_lr = 0.1
        self._batch_arrays = None
        self.batch.rows = 0
        self.busy = 0
        self._holder = None

    cdef _scratch(self, bp_work* work):
        """Private workspace arrays for a read-only pass (predict, loss), so
        that they never disturb the network's own workspace."""
        u = self.net.n_units
        arrays = tuple(np.empty(u) for _ in range(5)) + (
            np.empty(self.net.size[self.net.n_layers]), self._work_arrays[6])
        attach_work(work, arrays)
        return arrays

    def lock(self):
        """Hold the network for a multi-call operation (a whole training run,
        an embedding loop, a snapshot); refused if it is held already: another
        thread is training, copying or saving it, or a callback of its own
        training run tries to train or update it.  Returns the hold's token,
        which unlock() needs: only the holder can release the network."""
        global _last_token
        if self.busy:
            raise RuntimeError(
                "this network is being trained already (by another thread, or by the train "
                "call whose callback or schedule this is), or another thread is copying or "
                "saving it; train or update one network from one thread at a time (give each "
                "thread its own net.copy())")
        _last_token += 1
        self.busy = _last_token
        self._holder = threading.get_ident()
        return _last_token

    def unlock(self, long long token):
        """Release the hold that lock() returned `token` for."""
        if token == 0 or token != self.busy:
            raise RuntimeError(
                f"unlock: token {token} does not hold this network (it is "
                f"{'held under another token' if self.busy else 'not held'}); only the "
                "holder, with the token its lock() or bp_acquire() returned, can release it")
        self.busy = 0
        self._holder = None

    def hold(self, str what):
        """A hold for reading the whole state at once (copy, save, pickle):
        lock()'s token, or 0 when the calling thread holds the network already
        (a callback of its own training run, between two compiled calls,
        where parameters and counters agree).  Refused while another thread
        holds it: its parameters may be mid-update."""
        if self.busy and self._holder == threading.get_ident():
            return 0
        if self.busy:
            raise RuntimeError(
                f"cannot {what} this network while another thread trains or holds it: the "
                "parameters, optimiser state and counters would not describe the same "
                f"samples. {what.capitalize()} it from the training thread (in a callback) or "
                "after train returns")
        return self.lock()

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
                      double beta1=0.9, double beta2=0.999, double eps=1e-8,
                      bint eps_uncorrected=False):
        """Set the optimiser's hyper-parameters.  Its state is reset when the
        kind of optimiser changes or when momentum is switched on.
        eps_uncorrected: Adam adds ε to the uncorrected √v (scikit-learn's form)."""
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
        self.net.eps_uncorrected = eps_uncorrected
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
        """Overwrite parameters, optimiser state vectors and counters (copies).
        A state vector given as None is dropped, unless the optimiser set now
        needs it (then it is zeros): set_state(*snapshot()) after a change of
        optimiser and back gives exactly the snapshot's state."""
        np.copyto(self.params, params)
        if state1 is None:
            self.state1 = None
        else:
            if self.state1 is None:
                self.state1 = aligned_zeros(self.net.n_params)
            np.copyto(self.state1, state1)
        if state2 is None:
            self.state2 = None
        else:
            if self.state2 is None:
                self.state2 = aligned_zeros(self.net.n_params)
            np.copyto(self.state2, state2)
        if self.state1 is None and (self.net.opt == BP_ADAM or self.net.momentum != 0.0):
            self.state1 = aligned_zeros(self.net.n_params)
        if self.state2 is None and self.net.opt == BP_ADAM:
            self.state2 = aligned_zeros(self.net.n_params)
        self._attach_state()
        self.net.n_steps, self.net.beta1_pow, self.net.beta2_pow = counters

    def snapshot(self, into=None):
        """Copies of (params, state1, state2, counters), for set_state().  With
        into, an earlier snapshot of this model, its arrays are overwritten
        instead of allocated anew (when it holds the same optimiser state)."""
        if (into is None or (into[1] is None) != (self.state1 is None)
                or (into[2] is None) != (self.state2 is None)):
            return (self.params.copy(),
                    None if self.state1 is None else self.state1.copy(),
                    None if self.state2 is None else self.state2.copy(),
                    self.get_counters())
        params, state1, state2, _ = into
        np.copyto(params, self.params)
        if state1 is not None:
            np.copyto(state1, self.state1)
        if state2 is not None:
            np.copyto(state2, self.state2)
        return params, state1, state2, self.get_counters()

    def copy(self):
        """An independent Model with the same shape, parameters, optimiser and counters."""
        size, nb, _, _, _, act, act_p = self._shape_arrays
        cdef Model other = Model(size, nb, act, act_p, self.net.loss, self.net.loss_param,
                                 self.net.train_bias)
        other.set_optimizer(self.net.opt, self.net.momentum, self.net.nesterov,
                            self.net.weight_decay, self.net.decay_bias,
                            self.net.beta1, self.net.beta2, self.net.eps,
                            self.net.eps_uncorrected)
        other.set_state(*self.snapshot())
        other.samples = self.samples
        other.default_lr = self.default_lr
        return other

    @property
    def kernels(self):
        """The name of the kernel build that runs this network."""
        return KERNELS.name.decode()

    # -------------------------------------------------------- operations
    def predict(self, const double[:, ::1] X, double[:, ::1] out):
        """out[i] = the network's outputs for X[i]."""
        cdef bp_work work
        keep = self._scratch(&work)
        with nogil:
            KERNELS.predict(&self.net, &work, &X[0, 0], NULL, X.shape[0], &out[0, 0])
        del keep

    def sample_losses(self, const double[:, ::1] X, const double[:, ::1] Y, double[::1] out):
        """out[i] = the loss of sample i (X[i], Y[i])."""
        cdef bp_work work
        keep = self._scratch(&work)
        with nogil:
            KERNELS.losses(&self.net, &work, &X[0, 0], &Y[0, 0], X.shape[0],
                                          &out[0])
        del keep

    cdef _batch_workspace(self, Py_ssize_t rows):
        """Size self.batch for mini-batches of `rows` samples."""
        cdef double[::1] v
        cdef double** slots[8]
        if self._batch_arrays is not None and self.batch.rows == rows:
            return
        n_in, n_out = self.net.size[0], self.net.size[self.net.n_layers]
        # x and y in two halves: a team gathers a batch into one half while
        # a member may still read the last batch in the other
        self._batch_arrays = tuple(aligned_zeros(rows * n) for n in
                                   [self.net.n_units] * 5 + [n_out, 2 * n_in, 2 * n_out])
        slots[0] = &self.batch.net
        slots[1] = &self.batch.out
        slots[2] = &self.batch.d_out
        slots[3] = &self.batch.d_act
        slots[4] = &self.batch.delta
        slots[5] = &self.batch.errors
        slots[6] = &self.batch.x
        slots[7] = &self.batch.y
        for i in range(8):
            v = self._batch_arrays[i]
            slots[i][0] = &v[0]
        self.batch.rows = rows

    def train(self, const double[:, ::1] X, const double[:, ::1] Y, order,
              const double[:] lrs, Py_ssize_t batch_size, Py_ssize_t step0,
              Py_ssize_t n_steps, double[::1] loss_sums, double target,
              Py_ssize_t record_every, double[::1] record, double[::1] record_state,
              Team team=None, const double[::1] weights=None):
        """Run n_steps optimiser steps from step step0 of a window of epochs
        (see train_steps in _kernels.pxi).  order: (epochs, n) intp array or
        None; lrs and loss_sums: one entry per epoch of the window (lrs may
        be a broadcast constant, of stride 0); target:
        the mean loss to stop at (-inf: none); record_every: 0 or N, with
        record a buffer for the means and record_state = [open window's sum,
        its count, means written], updated in place; team: a Team that
        shares each mini-batch (batch_size > 1) with this thread; weights:
        None or one weight per row of X (batch_size > 1, every batch with a
        positive total: see batch_step).  The caller holds lock().
        Returns (status, steps_done, stopped_at_target)."""
        cdef const Py_ssize_t[:, ::1] v_order
        cdef const Py_ssize_t* p_order = NULL
        cdef Py_ssize_t done = 0
        cdef int status
        cdef bp_run run
        cdef const bp_kernels* kernels = KERNELS
        cdef bp_team* shared = NULL
        cdef double[::1] weight_rows
        if lrs.strides[0] != 0 and lrs.strides[0] != sizeof(double):
            raise ValueError("lrs must be contiguous or a broadcast constant")
        if team is not None and batch_size < 2:
            raise ValueError("a team shares mini-batches: batch_size must be more than 1")
        run.weights = NULL
        run.weight_rows = NULL
        if weights is not None:
            if batch_size < 2 or weights.shape[0] != X.shape[0]:
                raise ValueError("weights need batch_size > 1 and one weight per sample")
            run.weights = &weights[0]
            if order is not None:
                weight_rows = np.empty(2 * batch_size)
                run.weight_rows = &weight_rows[0]
        if order is not None:
            v_order = order
            p_order = &v_order[0, 0]
        if batch_size > 1:
            self._batch_workspace(batch_size)
            self.batch.dgemm = blas_dgemm()
        run.lrs = &lrs[0]
        run.lr_stride = lrs.strides[0] // sizeof(double)
        run.loss_sums = &loss_sums[0]
        run.target = target
        run.record_every = record_every
        run.record = &record[0] if record_every > 0 else NULL
        run.record_sum = record_state[0]
        run.record_count = <Py_ssize_t>record_state[1]
        run.record_len = <Py_ssize_t>record_state[2]
        run.stopped = False
        if team is not None:
            team.dispatch(bp_job(kernels, &self.net, &self.work, &self.batch, &run, &X[0, 0],
                                 &Y[0, 0], X.shape[0], p_order, batch_size, step0, n_steps,
                                 NULL))
            shared = team.team
        with nogil:
            status = kernels.train(&self.net, &self.work, &self.batch, &run, &X[0, 0], &Y[0, 0],
                                   X.shape[0], p_order, batch_size, step0, n_steps, &done,
                                   shared, 0)
        if team is not None:
            team.collect()
        record_state[0] = run.record_sum
        record_state[1] = run.record_count
        record_state[2] = run.record_len
        return status, done, bool(run.stopped)

    def capture_step(self, const double[::1] x, const double[::1] t, double lr):
        """One online update that also stores the gradient in work[6] (grad);
        afterwards the workspace holds every intermediate of the step.
        Returns (status, loss)."""
        cdef double E
        with nogil:
            E = online_step(&self.net, &self.work, &x[0], &t[0], lr, MODE_CAPTURE, NULL, 0.0,
                            False)
        return (BP_OK if isfinite(E) else BP_NONFINITE_LOSS), E

    def learn_one(self, x, t, lr):
        """One online update on one sample (x, t) with the network's optimiser;
        returns the sample's loss before the update.

        The streaming fast path: float64 1-D arrays go straight to the kernel
        (numpy's C API, no buffer acquisition); anything else is converted
        first.  Widths, finiteness and the learning rate are checked here, in
        C, before anything is touched."""
        cdef double E, rate
        cdef int status
        cdef const double* px = vector(x, "x")
        cdef const double* pt = vector(t, "t")
        cdef Py_ssize_t n_in = self.net.size[0], n_out = self.net.size[self.net.n_layers]
        if px == NULL:
            x = converted(x, "x")
            px = <const double*>cnp.PyArray_DATA(x)
        if pt == NULL:
            t = converted(t, "t")
            pt = <const double*>cnp.PyArray_DATA(t)
        if cnp.PyArray_DIM(x, 0) != n_in or cnp.PyArray_DIM(t, 0) != n_out:
            raise ValueError(f"learn_one: x must have {n_in} values and t {n_out}, got "
                             f"{cnp.PyArray_DIM(x, 0)} and {cnp.PyArray_DIM(t, 0)}")
        if not (all_finite(px, n_in) and all_finite(pt, n_out)):
            raise ValueError("learn_one: x and t must be finite (found NaN or inf)")
        if self.net.loss == BP_CROSS_ENTROPY and not in_unit_interval(pt, n_out):
            raise ValueError(f"cross_entropy targets must lie in [0, 1], got t = {np.asarray(t)}")
        rate = self.rate(lr)
        if self.busy:
            self.lock()
        if self.samples >= MAX_COUNT:
            raise OverflowError(f"learn_one: the network's sample count ({self.samples}) is at "
                                "its limit")
        # The GIL is held throughout: no other thread can start on this network.
        self.save_undo()
        status = bp_learn_one(&self.net, &self.work, px, pt, rate, &E)
        if status == BP_NONFINITE_LOSS:
            raise DivergenceError(
                f"learn_one: the loss of this sample is {E} before the update (the network's "
                "outputs overflowed); the parameters were left as they were. Try a smaller "
                "learning rate or scaled inputs.")
        if status == BP_NONFINITE_PARAMS:
            self.restore_undo()
            raise DivergenceError(
                f"learn_one: the update (lr={rate:g}, loss {E:g} before it) made the parameters "
                "or the optimiser state non-finite; they were restored to their values before "
                "the call. Try a smaller learning rate or scaled inputs.")
        self.samples += 1
        return E

    cdef save_undo(self):
        """Copy the parameters, optimiser state and step counters (into a
        buffer kept between calls), for restore_undo."""
        cdef Py_ssize_t n = self.net.n_params
        cdef Py_ssize_t size = n * (1 + (self.net.state1 != NULL) + (self.net.state2 != NULL)) + 2
        cdef double* u
        if self._undo is None or cnp.PyArray_DIM(self._undo, 0) != size:
            self._undo = np.empty(size)
        u = <double*>cnp.PyArray_DATA(self._undo)
        u[0] = self.net.beta1_pow
        u[1] = self.net.beta2_pow
        self._undo_steps = self.net.n_steps
        memcpy(u + 2, self.net.params, n * sizeof(double))
        u += 2 + n
        if self.net.state1 != NULL:
            memcpy(u, self.net.state1, n * sizeof(double))
            u += n
        if self.net.state2 != NULL:
            memcpy(u, self.net.state2, n * sizeof(double))

    cdef restore_undo(self):
        """Put back what save_undo copied."""
        cdef Py_ssize_t n = self.net.n_params
        cdef const double* u = <const double*>cnp.PyArray_DATA(self._undo)
        self.net.beta1_pow = u[0]
        self.net.beta2_pow = u[1]
        self.net.n_steps = self._undo_steps
        memcpy(self.net.params, u + 2, n * sizeof(double))
        u += 2 + n
        if self.net.state1 != NULL:
            memcpy(self.net.state1, u, n * sizeof(double))
            u += n
        if self.net.state2 != NULL:
            memcpy(self.net.state2, u, n * sizeof(double))

    cdef double rate(self, lr) except -1.0:
        """A learning rate argument as a checked double (None: the default)."""
        cdef double v
        if lr is None:
            return self.default_lr
        if type(lr) is float:
            v = lr
        elif isinstance(lr, (int, float, np.integer, np.floating)) and not isinstance(lr, bool):
            try:
                v = float(lr)
            except OverflowError:
                raise ValueError(f"lr must be finite, got an integer too large for a float") from None
        else:
            raise TypeError(f"lr must be a real number, got {lr!r} ({type(lr).__name__})")
        if not isfinite(v):
            raise ValueError(f"lr must be finite, got {v}")
        if v < 0.0:
            raise ValueError(f"lr must be >= 0.0, got {v}")
        return v

    def predict_one(self, x):
        """The network's outputs for one sample, as a new array (the streaming
        fast path, as learn_one)."""
        cdef const double* px = vector(x, "x")
        cdef cnp.npy_intp n_out = self.net.size[self.net.n_layers]
        if px == NULL:
            x = converted(x, "x")
            px = <const double*>cnp.PyArray_DATA(x)
        if cnp.PyArray_DIM(x, 0) != self.net.size[0]:
            raise ValueError(f"predict_one: x must have {self.net.size[0]} values, got "
                             f"{cnp.PyArray_DIM(x, 0)}")
        if not all_finite(px, self.net.size[0]):
            raise ValueError("predict_one: x must be finite (found NaN or inf)")
        out = cnp.PyArray_SimpleNew(1, &n_out, cnp.NPY_DOUBLE)
        # The GIL is held and pwork is used only here: safe beside a training
        # thread, which works in self.work.
        bp_predict_one(&self.net, &self.pwork, px, <double*>cnp.PyArray_DATA(out))
        return out


# --------------------------------------------------------------------- BLAS
# Mini-batches run as matrix products.  Large products go to BLAS dgemm when
# SciPy is installed (its function pointer, fetched at run time: SciPy is
# needed neither to build nor to run backprop), else to the kernels' own loops.
# BLAS sums in its own order, so results then differ in the last bits from
# the own loops (which give the same bits on every CPU); BACKPROP_BLAS=0 or
# use_blas(False) keeps the own loops.

cdef bp_dgemm_fn _dgemm = NULL
cdef object _blas_state = None          # None: not looked up yet


cdef bp_dgemm_fn blas_dgemm():
    """The dgemm to use, looked up on first use."""
    if _blas_state is None:
        use_blas(os.environ.get("BACKPROP_BLAS", "1") not in ("0", ""))
    return _dgemm


def use_blas(bint enable=True):
    """Use SciPy's BLAS for large mini-batch products (if SciPy is installed);
    returns whether BLAS is now in use."""
    global _dgemm, _blas_state
    cdef bp_dgemm_fn found = NULL
    if enable:
        try:
            from scipy.linalg import cython_blas
        except ImportError:
            pass
        else:
            capsule = cython_blas.__pyx_capi__["dgemm"]
            found = <bp_dgemm_fn>PyCapsule_GetPointer(capsule, PyCapsule_GetName(capsule))
    # Publish only now: a thread asking meanwhile (the import above may let it
    # run) looks the state up itself rather than seeing a half-made decision.
    _dgemm = found
    _blas_state = found != NULL
    return _blas_state


def blas_in_use():
    blas_dgemm()
    return bool(_blas_state)


# ------------------------------------------------------------------ kernels
# The bulk kernels (train, predict, losses) run from a table of function
# pointers: this module's own build of _kernels.pxi (the baseline: SSE2 on
# x86-64, NEON on arm64), or, on x86-64 CPUs that have them, the builds for
# x86-64-v3 (AVX2) or x86-64-v4 (AVX-512) in backprop._kernels_v3/_v4.  All
# builds give the same bits; single-sample calls (learn_one, trace) always
# use this module's own code.

cdef extern from *:
    """
    #if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
    static int bp_cpu_level(void) {
        __builtin_cpu_init();
        int v3 = __builtin_cpu_supports("avx") && __builtin_cpu_supports("avx2")
              && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi")
              && __builtin_cpu_supports("bmi2");
        int v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
              && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq")
              && __builtin_cpu_supports("avx512vl");
        return v4 ? 4 : (v3 ? 3 : 1);
    }
    #elif defined(_MSC_VER) && defined(_M_X64)
    #include <intrin.h>
    static int bp_cpu_level(void) {
        int r[4];
        unsigned long long xcr0 = 0;
        int v3, v4;
        __cpuid(r, 0);
        if (r[0] < 7) return 1;
        __cpuid(r, 1);
        int fma = (r[2] >> 12) & 1, osxsave = (r[2] >> 27) & 1, avx = (r[2] >> 28) & 1;
        if (osxsave) xcr0 = _xgetbv(0);
        __cpuidex(r, 7, 0);
        int bmi1 = (r[1] >> 3) & 1, avx2 = (r[1] >> 5) & 1, bmi2 = (r[1] >> 8) & 1;
        int f = (r[1] >> 16) & 1, dq = (r[1] >> 17) & 1, cd = (r[1] >> 28) & 1;
        int bw = (r[1] >> 30) & 1, vl = (r[1] >> 31) & 1;
        v3 = fma && avx && avx2 && bmi1 && bmi2 && (xcr0 & 0x6) == 0x6;
        v4 = v3 && f && dq && cd && bw && vl && (xcr0 & 0xE6) == 0xE6;
        return v4 ? 4 : (v3 ? 3 : 1);
    }
    #else
    static int bp_cpu_level(void) { return 0; }
    #endif
    """
    int bp_cpu_level() nogil

cdef bp_kernels BASELINE
fill_table(&BASELINE, b"baseline")
cdef const bp_kernels* KERNELS = &BASELINE
cdef object _kernel_module = None

# level name -> (module, CPU level it needs)
KERNEL_VARIANTS = {"x86-64-v3": ("backprop._kernels_v3", 3), "x86-64-v4": ("backprop._kernels_v4", 4)}


def cpu_level():
    """1 for a baseline x86-64 CPU, 3 or 4 for one with the x86-64-v3/v4
    features, 0 for other architectures."""
    return bp_cpu_level()


def available_kernels():
    """The kernel builds this CPU can run, fastest last."""
    names = ["baseline"]
    for name, (module, level) in KERNEL_VARIANTS.items():
        if bp_cpu_level() >= level and importlib.util.find_spec(module) is not None:
            names.append(name)
    return names


def active_kernels():
    return KERNELS.name.decode()


def use_kernels(str name):
    """Run the bulk kernels from the named build ("baseline", "x86-64-v3",
    "x86-64-v4"); refused if this CPU or this installation lacks it."""
    global KERNELS, _kernel_module
    if name == "baseline":
        KERNELS = &BASELINE
        _kernel_module = None
        return
    if name not in KERNEL_VARIANTS:
        raise ValueError(f"unknown kernel build {name!r}; expected one of "
                         f"{['baseline'] + list(KERNEL_VARIANTS)}")
    module_name, level = KERNEL_VARIANTS[name]
    if bp_cpu_level() < level:
        raise RuntimeError(f"this CPU cannot run the {name} kernels (its level is "
                           f"{bp_cpu_level()}); available: {available_kernels()}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise RuntimeError(f"the {name} kernels are not part of this installation: {exc}") from None
    KERNELS = <const bp_kernels*>PyCapsule_GetPointer(module.table, b"backprop._kernels.table")
    _kernel_module = module


def _select_kernels():
    """At import: the build named by BACKPROP_KERNELS, else the fastest available."""
    forced = os.environ.get("BACKPROP_KERNELS", "")
    if forced:
        try:
            use_kernels(forced)
        except (ValueError, RuntimeError) as exc:
            raise ImportError(f"BACKPROP_KERNELS={forced}: {exc}") from None
    else:
        names = available_kernels()
        use_kernels(names[len(names) - 1])


_select_kernels()
