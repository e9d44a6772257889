# cython: language_level=3
"""C-level API of backprop's compiled core for float32 networks,
``backprop._core32``: the API of ``backprop/_core.pxd`` with ``bp_real``
float.  A module that cimports it is compiled with BP_FLOAT32 defined, so
that it sees the structs as the core does (see ``backprop/bp_real.h``).
"""
include "_core.pxd"
