# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""backprop._kernels32_v3: _kernels_v3.pyx for float32 networks (built with
BP_FLOAT32 defined), whose table backprop._core32 runs."""

include "_kernels_v3.pyx"
