# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""backprop._kernels_v4: the bulk kernels of _kernels.pxi built for x86-64-v4.

backprop._core imports this module when the CPU supports x86-64-v4 and runs
its kernels through the table in `table`.  They give the same bits as every
other build: contraction into FMA stays off, and reductions have a fixed order.
"""
from cpython.pycapsule cimport PyCapsule_New

include "_kernels.pxi"

cdef bp_kernels TABLE
fill_table(&TABLE, b"x86-64-v4")
table = PyCapsule_New(&TABLE, BP_KERNELS_CAPSULE, NULL)
# The paths written with vector types that this build compiled in (tested).
VECTOR_PATHS = {"bp_rows4": BP_ROWS4, "bp_back_rows": BP_BACK_ROWS}
