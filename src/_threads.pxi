# The threads of train(threads=n): members 1 .. n-1 of a team that shares
# each mini-batch, each running its part of a compiled call (the kernels'
# side, the barrier and the split of the work, is in _team.pxi).

# One compiled call shared by a team (Model.train with a Team): what every
# member needs to run its part of train_steps.
ctypedef struct bp_job:
    const bp_kernels* kernels
    bp_net* net
    bp_work* work
    bp_batch* batch
    bp_run* run
    const real* X
    const real* Y
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
