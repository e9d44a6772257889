# Matrix products of the mini-batch passes: BLAS dgemm for large ones when
# the batch workspace carries it, else the kernels' own loops, whose sums run
# in the order of a per-sample pass.

# Products below this many multiply-adds stay in the kernels' own loops even
# when BLAS is available: a BLAS call has a fixed cost to set up that
# smaller products do not repay.
cdef enum:
    BLAS_MIN = 4096


cdef void gemm_abt(const bp_batch* batch, bint blas, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                   const real* A, const real* B, real* C, Py_ssize_t ldc) noexcept nogil:
    """C = A Bᵀ: A is M x K, B is N x K, C is M x N with row stride ldc, all
    row-major.  Own loops: C[r, j] = dot(B[j], A[r]), as a per-sample forward pass."""
    cdef int m = <int>M, n = <int>N, k = <int>K, ld = <int>ldc
    cdef real one = 1.0, zero = 0.0
    cdef char tr = 84, no = 78      # 'T', 'N'
    cdef Py_ssize_t r, j
    if blas:
        # row-major C = A Bᵀ is column-major Cᵀ = B Aᵀ
        batch.gemm(&tr, &no, &n, &m, &k, &one, <real*>B, &k, <real*>A, &k, &zero, C, &ld)
        return
    for j in range(N):
        for r in range(M):
            C[r * ldc + j] = dot(B + j * K, A + r * K, K)


cdef void gemm_atb_add(const bp_batch* batch, bint blas, real alpha, Py_ssize_t M,
                       Py_ssize_t N, Py_ssize_t K, const real* A, Py_ssize_t lda,
                       const real* B, Py_ssize_t ldb, real* C,
                       Py_ssize_t ldc) noexcept nogil:
    """C += alpha Aᵀ B: A is K x M, B is K x N, C is M x N, row-major with row
    strides lda, ldb, ldc.  Own loops: row by row of A and B, in order, as
    per-sample accumulation."""
    cdef int m = <int>M, n = <int>N, k = <int>K
    cdef int la = <int>lda, lb = <int>ldb, lc = <int>ldc
    cdef real one = 1.0
    cdef char tr = 84, no = 78
    cdef Py_ssize_t r, j
    if blas:
        # row-major C += alpha Aᵀ B is column-major Cᵀ += alpha Bᵀ A
        batch.gemm(&no, &tr, &n, &m, &k, &alpha, <real*>B, &lb, <real*>A, &la, &one, C, &lc)
        return
    for r in range(K):
        for j in range(M):
            axpy(C + j * ldc, alpha * A[r * lda + j], B + r * ldb, N)


cdef void gemm_ab(const bp_batch* batch, bint blas, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                  const real* A, const real* B, Py_ssize_t ldb, real* C,
                  Py_ssize_t ldc) noexcept nogil:
    """C = A B: A is M x K, B is K x N (row stride ldb), C is M x N (row
    stride ldc), all row-major.  Own loops: C[r] = Σ_j A[r, j] B[j] in order
    of j, as a per-sample Wᵀδ."""
    cdef int m = <int>M, n = <int>N, k = <int>K, lb = <int>ldb, lc = <int>ldc
    cdef real one = 1.0, zero = 0.0
    cdef char no = 78
    cdef Py_ssize_t r, j, i
    cdef real* c
    if blas:
        # row-major C = A B is column-major Cᵀ = Bᵀ Aᵀ
        batch.gemm(&no, &no, &n, &m, &k, &one, <real*>B, &lb, <real*>A, &k, &zero, C, &lc)
        return
    for r in range(M):
        c = C + r * ldc
        for i in range(N):  # vectorised
            c[i] = 0.0 + A[r * K] * B[i]
        for j in range(1, K):
            axpy(c, A[r * K + j], B + j * ldb, N)


cdef inline bint layer_blas(const bp_batch* batch, Py_ssize_t R, Py_ssize_t n_in,
                            Py_ssize_t n_out) noexcept nogil:
    """Whether a layer's products go to BLAS: decided on the whole product,
    so that every thread of a team decides alike."""
    return batch.gemm != NULL and R * n_in * n_out >= BLAS_MIN
