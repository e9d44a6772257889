# A mini-batch runs as matrix products over its R rows.  train(threads=T)
# shares each batch among a team of T threads: thread t owns one block of
# every layer's units (`own`) and computes only its block of each product,
# so every value is computed as a lone thread computes it and the bits do
# not depend on T.  Thread t's blocks line up from layer to layer: the
# forward pass of layer l writes the columns of Z_l it owns; the backward
# pass of layer l >= 1 computes the columns of D_{l-1} it owns and updates
# the matching columns of W_l (which no other thread reads meanwhile);
# layer 0 updates the rows of W_0 of the units it owns.  The team meets at a
# barrier after each layer's forward pass and each backward level, and
# thread 0 alone runs the serial parts (each sample's loss, the optimiser's
# step counters, the finiteness and target checks), publishing the outcome
# in the team before the next barrier.


cdef extern from "bp_team.h":
    void bp_barrier(int* count, int* sense, int n, int* local) nogil


cdef inline int team_sync(bp_team* team, int t, int* local, int status) noexcept nogil:
    """Wait for the whole team; then thread 0's status, which it publishes as
    it arrives.  Alone (team NULL): status.  The status goes to the slot of
    the phase this barrier opens: a member that leaves the barrier late still
    reads this barrier's status, not one thread 0 wrote after it."""
    if team == NULL:
        return status
    if t == 0:
        team.status[1 - local[0]] = status
    bp_barrier(&team.count, &team.sense, team.n, local)
    return team.status[local[0]]


cdef inline void own(Py_ssize_t n, const bp_team* team, int t, Py_ssize_t* lo,
                     Py_ssize_t* hi) noexcept nogil:
    """Thread t's block [lo, hi) of n units: equal blocks of a multiple of 8
    units (whole cache lines of a row), in thread order; alone, all of them."""
    cdef Py_ssize_t T = 1 if team == NULL else team.n
    cdef Py_ssize_t b = ((n + T - 1) // T + 7) // 8 * 8
    lo[0] = t * b if t * b < n else n
    hi[0] = lo[0] + b if lo[0] + b < n else n
