# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""backprop._core32: the compiled core for float32 networks.

The source of backprop._core (``_core.pyx`` and what it includes) built with
BP_FLOAT32 defined, so that bp_real, the type of every parameter, state
vector, intermediate, input and output, is float (``backprop/bp_real.h``).
Its kernel builds are backprop._kernels32_v3 and _v4.
"""

include "_core.pyx"
