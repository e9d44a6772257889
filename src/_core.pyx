# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""backprop._core: the compiled core.

``Model`` owns one network's buffers (flat parameters, optimiser state,
workspace) and runs the kernels of ``_kernels.pxi`` on them with the GIL
released.  It trusts its caller: shapes, dtypes, finiteness and option
ranges are checked by the Python layer (``backprop.network``) before any
method here is called.  The one exception is the streaming pair
``learn_one``/``predict_one``, which check widths and finiteness themselves
because a Python-level check would cost more than the work.

The sources by job, included here: ``_kernels.pxi`` (the kernels every
build compiles: the online region in ``_activations.pxi``, ``_losses.pxi``,
``_optim.pxi``, ``_online.pxi`` and ``_small2.pxi``, the mini-batches in
``_team.pxi``, ``_gemm.pxi``, ``_batch.pxi``, with ``_vector.pxi``,
``_table.pxi`` and the C of ``bp_simd.h``, ``bp_team.h``), ``_arrays.pxi``,
``_codes.pxi``, ``_capi.pxi`` (the API of ``backprop/_core.pxd``),
``_stream.pxi`` (``learn_one``'s helpers), ``_threads.pxi``, ``_blas.pxi``
and ``_dispatch.pxi`` (with ``bp_cpu.h``).  The kernels' private C types are in
``_kernel_types.pxd``, not installed.
"""
import _thread
import importlib
import importlib.util
import os
import sys
import threading

import numpy as np

cimport numpy as cnp
from cpython.pycapsule cimport PyCapsule_GetName, PyCapsule_GetPointer

cnp.import_array()

# The kernels, as every build compiles them (_kernels.pxi), and what only
# this module has, each in a file of its own.
include "_kernels.pxi"
include "_math_shims.pxi"
include "_arrays.pxi"
include "_codes.pxi"
include "_capi.pxi"
include "_stream.pxi"
include "_threads.pxi"
include "_blas.pxi"
include "_dispatch.pxi"

# The online kernels check the loss at every sample but the parameters and
# optimiser state only at an epoch's end at least this many samples after the
# last check, and at a call's end (mini-batch kernels: at every epoch's end).
PARAMS_CHECK_EVERY = CHECK_EVERY
# The largest sample or step count a network may reach (counters are int64;
# this leaves headroom for a whole training call's samples).
MAX_COUNT = 1 << 62


cdef class Model:
    """The buffers of one network and the compiled operations on them.

    Model(sizes, n_bias, activations, act_params, loss, loss_param, train_bias)
        sizes: layer widths, inputs first (L + 1 integers >= 1)
        n_bias: biases per weight layer (size[l + 1], 1 or 0), L integers
        activations: L activation codes; act_params: L floats
        loss: loss code; loss_param: its parameter; train_bias: bool
    """

    cdef bp_net net
    cdef bp_work work
    cdef bp_work pwork              # predict_one's, used only with the GIL held
    cdef bp_batch batch
    cdef object _batch_arrays
    cdef object _pwork_arrays
    cdef object _undo               # learn_one's copy of the parameters and optimiser state
    cdef bp_counters _undo_counters # and of the optimiser's counters
    cdef public long long samples   # samples trained on over the network's life
    cdef public double default_lr   # learn_one's learning rate when none is given
    cdef readonly long long busy    # the token of the hold on the network, 0 when free
    cdef object _holder             # the thread ident of the holder
    cdef readonly object params
    cdef readonly object state1
    cdef readonly object state2
    cdef readonly object _shape_arrays
    cdef readonly object _work_arrays

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
        self.net.dtype = BP_FLOAT32 if BP_REAL_IS_FLOAT32 else BP_FLOAT64
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

        self.params = aligned_zeros(p, DTYPE)
        cdef real[::1] v_params = self.params
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

        self._work_arrays = workspace(&self.work, &self.net, None)
        self._pwork_arrays = workspace(&self.pwork, &self.net, self._work_arrays[6])
        self.samples = 0
        self.default_lr = 0.1
        self._batch_arrays = None
        self.batch.rows = 0
        self.busy = 0
        self._holder = None

    cdef _scratch(self, bp_work* work):
        """Private workspace arrays for a read-only pass (predict, loss), so
        that they never disturb the network's own workspace."""
        return workspace(work, &self.net, self._work_arrays[6])

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
            self.state1 = aligned_zeros(self.net.n_params, DTYPE)
        if code == BP_ADAM and self.state2 is None:
            self.state2 = aligned_zeros(self.net.n_params, DTYPE)
        self._attach_state()

    cdef _attach_state(self):
        cdef real[::1] v
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
                self.state1 = aligned_zeros(self.net.n_params, DTYPE)
            np.copyto(self.state1, state1)
        if state2 is None:
            self.state2 = None
        else:
            if self.state2 is None:
                self.state2 = aligned_zeros(self.net.n_params, DTYPE)
            np.copyto(self.state2, state2)
        if self.state1 is None and (self.net.opt == BP_ADAM or self.net.momentum != 0.0):
            self.state1 = aligned_zeros(self.net.n_params, DTYPE)
        if self.state2 is None and self.net.opt == BP_ADAM:
            self.state2 = aligned_zeros(self.net.n_params, DTYPE)
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

    # -------------------------------------------------------- operations
    def predict(self, const real[:, ::1] X, real[:, ::1] out):
        """out[i] = the network's outputs for X[i]."""
        cdef bp_work work
        keep = self._scratch(&work)
        with nogil:
            KERNELS.predict(&self.net, &work, &X[0, 0], NULL, X.shape[0], &out[0, 0])
        del keep

    def sample_losses(self, const real[:, ::1] X, const real[:, ::1] Y, real[::1] out):
        """out[i] = the loss of sample i (X[i], Y[i])."""
        cdef bp_work work
        keep = self._scratch(&work)
        with nogil:
            KERNELS.losses(&self.net, &work, &X[0, 0], &Y[0, 0], X.shape[0],
                                          &out[0])
        del keep

    def train(self, const real[:, ::1] X, const real[:, ::1] Y, order,
              const double[:] lrs, Py_ssize_t batch_size, Py_ssize_t step0,
              Py_ssize_t n_steps, double[::1] loss_sums, double target,
              Py_ssize_t record_every, double[::1] record, double[::1] record_state,
              Team team=None, const real[::1] weights=None, double[::1] penalty_sums=None):
        """Run n_steps optimiser steps from step step0 of a window of epochs
        (see train_steps in _table.pxi).  order: (epochs, n) intp array or
        None; lrs and loss_sums: one entry per epoch of the window (lrs may
        be a broadcast constant, of stride 0); target:
        the mean loss to stop at (-inf: none); record_every: 0 or N, with
        record a buffer for the means and record_state = [open window's sum,
        its count, means written], updated in place; team: a Team that
        shares each mini-batch (batch_size > 1) with this thread; weights:
        None or one weight per row of X (batch_size > 1, every batch with a
        positive total: see batch_step); penalty_sums: None or one entry per
        epoch of the window, to which each step adds its L2 term (see
        note_penalty).  The caller holds lock().
        Returns (status, steps_done, stopped_at_target)."""
        cdef const Py_ssize_t[:, ::1] v_order
        cdef const Py_ssize_t* p_order = NULL
        cdef Py_ssize_t done = 0
        cdef int status
        cdef bp_run run
        cdef const bp_kernels* kernels = KERNELS
        cdef bp_team* shared = NULL
        cdef real[::1] weight_rows
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
                weight_rows = np.empty(2 * batch_size, dtype=DTYPE)
                run.weight_rows = &weight_rows[0]
        if order is not None:
            v_order = order
            p_order = &v_order[0, 0]
        if batch_size > 1:
            if self._batch_arrays is None or self.batch.rows != batch_size:
                self._batch_arrays = batch_workspace(&self.batch, &self.net, batch_size)
            self.batch.gemm = blas_gemm()
        run.lrs = &lrs[0]
        run.lr_stride = lrs.strides[0] // sizeof(double)
        run.loss_sums = &loss_sums[0]
        run.penalty_sums = NULL
        if penalty_sums is not None:
            if penalty_sums.shape[0] != loss_sums.shape[0]:
                raise ValueError("penalty_sums needs one entry per epoch, as loss_sums")
            run.penalty_sums = &penalty_sums[0]
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

    def capture_step(self, const real[::1] x, const real[::1] t, double lr):
        """One online update that also stores the gradient in work[6] (grad);
        afterwards the workspace holds every intermediate of the step.
        Returns (status, loss)."""
        cdef real E
        with nogil:
            E = online_step(&self.net, &self.work, &x[0], &t[0], lr, MODE_CAPTURE, NULL, 0.0,
                            False)
        return (BP_OK if isfinite(E) else BP_NONFINITE_LOSS), E

    def learn_one(self, x, t, lr):
        """One online update on one sample (x, t) with the network's optimiser;
        returns the sample's loss before the update.

        The streaming fast path: 1-D arrays of DTYPE go straight to the kernel
        (numpy's C API, no buffer acquisition); anything else is converted
        first.  Widths, finiteness and the learning rate are checked here, in
        C, before anything is touched."""
        cdef double E, rate
        cdef int status
        cdef const real* px = vector(x, "x")
        cdef const real* pt = vector(t, "t")
        cdef Py_ssize_t n_in = self.net.size[0], n_out = self.net.size[self.net.n_layers]
        if px == NULL:
            x = converted(x, "x")
            px = <const real*>cnp.PyArray_DATA(x)
        if pt == NULL:
            t = converted(t, "t")
            pt = <const real*>cnp.PyArray_DATA(t)
        if cnp.PyArray_DIM(x, 0) != n_in or cnp.PyArray_DIM(t, 0) != n_out:
            raise ValueError(f"learn_one: x must have {n_in} values and t {n_out}, got "
                             f"{cnp.PyArray_DIM(x, 0)} and {cnp.PyArray_DIM(t, 0)}")
        if not all_finite(px, n_in):
            raise ValueError(not_finite("learn_one", "x", x))
        if not all_finite(pt, n_out):
            raise ValueError(not_finite("learn_one", "t", t))
        if self.net.loss == BP_CROSS_ENTROPY and not in_unit_interval(pt, n_out):
            raise ValueError(f"cross_entropy targets must lie in [0, 1], got t = {np.asarray(t)}")
        rate = checked_rate(lr, self.default_lr)
        if self.busy:
            self.lock()
        if self.samples >= MAX_COUNT:
            raise OverflowError(f"learn_one: the network's sample count ({self.samples}) is at "
                                "its limit")
        # The GIL is held throughout: no other thread can start on this network.
        self._undo = save_undo(&self.net, self._undo, &self._undo_counters)
        status = bp_learn_one(&self.net, &self.work, px, pt, rate, &E)
        if status == BP_NONFINITE_LOSS:
            raise DivergenceError(
                f"learn_one: the loss of this sample is {E} before the update (the network's "
                "outputs overflowed); the parameters were left as they were. Try a smaller "
                "learning rate or scaled inputs.")
        if status == BP_NONFINITE_PARAMS:
            restore_undo(&self.net, self._undo, &self._undo_counters)
            raise DivergenceError(
                f"learn_one: the update (lr={rate:g}, loss {E:g} before it) made the parameters "
                "or the optimiser state non-finite; they were restored to their values before "
                "the call. Try a smaller learning rate or scaled inputs.")
        self.samples += 1
        return E

    def predict_one(self, x):
        """The network's outputs for one sample, as a new array (the streaming
        fast path, as learn_one)."""
        cdef const real* px = vector(x, "x")
        cdef cnp.npy_intp n_out = self.net.size[self.net.n_layers]
        if px == NULL:
            x = converted(x, "x")
            px = <const real*>cnp.PyArray_DATA(x)
        if cnp.PyArray_DIM(x, 0) != self.net.size[0]:
            raise ValueError(f"predict_one: x must have {self.net.size[0]} values, got "
                             f"{cnp.PyArray_DIM(x, 0)}")
        if not all_finite(px, self.net.size[0]):
            raise ValueError(not_finite("predict_one", "x", x))
        out = cnp.PyArray_SimpleNew(1, &n_out, NPY_REAL)
        # The GIL is held and pwork is used only here: safe beside a training
        # thread, which works in self.work.
        bp_predict_one(&self.net, &self.pwork, px, <real*>cnp.PyArray_DATA(out))
        return out


