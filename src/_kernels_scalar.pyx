# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""backprop._kernels_scalar: the bulk kernels of _kernels.pxi built without
auto-vectorisation, for networks whose layers are all too narrow to fill a
vector (see SCALAR_WIDTH in _core.pyx).

Their loops run a few iterations each; vectorised, each carries a prologue, a
remainder loop and run-time checks that cost more than the arithmetic.
backprop._core runs these kernels through the table in `table` for such
networks.  They give the same bits as every other build: vectorisation never
changes a result of these kernels (contraction into FMA stays off, and
reductions have a fixed order).
"""
from cpython.pycapsule cimport PyCapsule_New

include "_kernels.pxi"

cdef bp_kernels TABLE
fill_table(&TABLE, b"scalar")
table = PyCapsule_New(&TABLE, b"backprop._kernels.table", NULL)
# The paths written with vector types that this build compiled in (tested).
VECTOR_PATHS = {"bp_rows4": BP_ROWS4, "bp_back_rows": BP_BACK_ROWS}
