"""Type stub for ``backprop._core32``, the compiled core of float32 networks:
the API of ``backprop._core`` (see ``_core.pyi``) with the network's arrays
float32."""
from ._core import *  # noqa: F401,F403
from ._core import DivergenceError as DivergenceError
