# Arrays for the core: the layout of the flat parameter vector, aligned
# allocation, the fast checks and conversions of the streaming path
# (learn_one/predict_one), River's dict samples, and the workspaces.
# Nothing here imports from the backprop package: the compiled core sits
# below it.

ALIGNMENT = 64
# The type of this build's networks (bp_real): float64, or float32 in
# backprop._core32.
DTYPE = np.dtype(np.float32 if BP_REAL_IS_FLOAT32 else np.float64)
cdef int NPY_REAL = cnp.NPY_FLOAT if BP_REAL_IS_FLOAT32 else cnp.NPY_DOUBLE


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


def aligned_zeros(Py_ssize_t n, dtype=np.float64):
    """A zeroed vector of n values of dtype whose data is 64-byte aligned and
    owns every cache line it touches (its buffer is padded to whole lines),
    so that two networks trained in two threads never share a line."""
    dtype = np.dtype(dtype)
    cdef Py_ssize_t size = dtype.itemsize, per_line = ALIGNMENT // size
    buf = np.zeros(n + 2 * per_line, dtype=dtype)
    start = (-buf.ctypes.data % ALIGNMENT) // size
    return buf[start:start + n]


cdef inline const real* vector(object a, str name):
    """The data of a C-contiguous, aligned, native-byte-order 1-D numpy array
    of the network's type (DTYPE), else NULL.  A byte-swapped array (dtype
    ">f8" on a little-endian machine) has type NPY_DOUBLE too, but its bytes
    are not doubles the kernels can read: it takes the converting path."""
    if (cnp.PyArray_CheckExact(a) and cnp.PyArray_TYPE(a) == NPY_REAL
            and cnp.PyArray_NDIM(a) == 1 and cnp.PyArray_IS_C_CONTIGUOUS(a)
            and cnp.PyArray_ISBEHAVED_RO(a)):
        return <const real*>cnp.PyArray_DATA(a)
    return NULL


def as_float_array(value, name, dtype=np.float64):
    """``value`` as a C-contiguous array of dtype (float64 or float32), a
    copy only when needed.

    Lists, integer and boolean arrays, Fortran-ordered, byte-swapped, unaligned
    and read-only arrays are converted; complex, object and string data, and masked arrays (whose mask
    would be ignored), are refused.
    """
    # No masked array exists before numpy.ma.core has defined the class; while
    # another thread imports it, the module is there without the name yet.
    masked = getattr(sys.modules.get("numpy.ma.core"), "MaskedArray", None)
    if masked is not None and isinstance(value, masked):
        raise TypeError(f"{name} is a masked array; its mask would be ignored: pass "
                        f"{name}.filled(...) or leave out the masked samples")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged nested lists, unconvertible objects
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    # Native byte order (dtype=float64 converts ">f8" on a little-endian
    # machine) and aligned: the compiled core reads the buffer as numbers.
    if arr.dtype.itemsize > np.dtype(dtype).itemsize:
        # A value beyond float32's range becomes an infinity, which the
        # caller's finiteness check then reports, naming the value.
        with np.errstate(over="ignore"):
            arr = np.ascontiguousarray(arr, dtype=dtype)
    else:
        arr = np.ascontiguousarray(arr, dtype=dtype)
    return arr if arr.flags.aligned else arr.copy()


cdef object converted(object a, str name):
    """a as a C-contiguous 1-D array of DTYPE (the slow path of learn_one)."""
    arr = as_float_array(a, name, DTYPE)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one sample), got shape {arr.shape}")
    return arr


def is_finite(const real[::1] values):
    """Whether a vector of DTYPE holds no NaN or infinity, without allocating
    (numpy's isfinite would make a boolean array as large as the data)."""
    cdef bint ok = True
    if values.shape[0]:
        with nogil:
            ok = all_finite(&values[0], values.shape[0])
    return ok


def gather(dict x, dict index, cnp.npy_intp n, bint strict):
    """A new zeroed vector of n values of DTYPE with v[index[k]] = x[k] for
    every key k of x that index holds (index: key -> position in [0, n)).
    A key of x that index does not hold is skipped, or with strict gives
    None instead of a vector.  TypeError for a value that is not a number.
    The streaming adapters' sample conversion: River's samples are dicts."""
    cdef object v = cnp.PyArray_ZEROS(1, &n, NPY_REAL, 0)
    cdef real* out = <real*>cnp.PyArray_DATA(v)
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


cdef inline bint in_unit_interval(const real* v, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if not (0.0 <= v[i] <= 1.0):
            return False
    return True


cdef object workspace(bp_work* work, const bp_net* net, grad):
    """Allocate and attach work's buffers for one sample (net, out, d_out,
    d_act and delta: one value per unit; errors: one per output) beside
    grad, the gradient's (n_params values; None: a new one); returns the
    arrays, which the caller keeps alive."""
    cdef real[::1] v
    cdef real** slots[7]
    arrays = tuple(aligned_zeros(n, DTYPE) for n in [net.n_units] * 5 + [net.size[net.n_layers]]) + (
        aligned_zeros(net.n_params, DTYPE) if grad is None else grad,)
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
    return arrays


cdef object batch_workspace(bp_batch* batch, const bp_net* net, Py_ssize_t rows):
    """Allocate and attach batch's buffers for mini-batches of `rows`
    samples; returns the arrays, which the caller keeps alive."""
    cdef real[::1] v
    cdef real** slots[8]
    n_in, n_out = net.size[0], net.size[net.n_layers]
    # x and y in two halves: a team gathers a batch into one half while
    # a member may still read the last batch in the other
    arrays = tuple(aligned_zeros(rows * n, DTYPE) for n in
                   [net.n_units] * 5 + [n_out, 2 * n_in, 2 * n_out])
    slots[0] = &batch.net
    slots[1] = &batch.out
    slots[2] = &batch.d_out
    slots[3] = &batch.d_act
    slots[4] = &batch.delta
    slots[5] = &batch.errors
    slots[6] = &batch.x
    slots[7] = &batch.y
    for i in range(8):
        v = arrays[i]
        slots[i][0] = &v[0]
    batch.rows = rows
    return arrays
