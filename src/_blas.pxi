# Mini-batches run as matrix products.  Large products go to BLAS gemm of the
# network's type (dgemm, or sgemm in backprop._core32) when
# SciPy is installed (its function pointer, fetched at run time: SciPy is
# needed neither to build nor to run backprop), else to the kernels' own loops.
# BLAS sums in its own order, so results then differ in the last bits from
# the own loops (which give the same bits on every CPU); BACKPROP_BLAS=0 or
# use_blas(False) keeps the own loops.

cdef bp_gemm_fn _gemm = NULL
cdef object _blas_state = None          # None: not looked up yet


cdef bp_gemm_fn blas_gemm():
    """The gemm to use, looked up on first use."""
    if _blas_state is None:
        use_blas(os.environ.get("BACKPROP_BLAS", "1") not in ("0", ""))
    return _gemm


def use_blas(bint enable=True):
    """Use SciPy's BLAS for large mini-batch products (if SciPy is installed);
    returns whether BLAS is now in use."""
    global _gemm, _blas_state
    cdef bp_gemm_fn found = NULL
    if enable:
        try:
            from scipy.linalg import cython_blas
        except ImportError:
            pass
        else:
            capsule = cython_blas.__pyx_capi__["sgemm" if BP_REAL_IS_FLOAT32 else "dgemm"]
            found = <bp_gemm_fn>PyCapsule_GetPointer(capsule, PyCapsule_GetName(capsule))
    # Publish only now: a thread asking meanwhile (the import above may let it
    # run) looks the state up itself rather than seeing a half-made decision.
    _gemm = found
    _blas_state = found != NULL
    return _blas_state


def blas_in_use():
    blas_gemm()
    return bool(_blas_state)
