"""The types a network computes in, and the compiled core of each: float64
(``backprop._core``, the default) and float32 (``backprop._core32``, the same
source built for float).  The float32 core is imported on first use, so that
``import backprop`` loads one compiled module."""
import importlib

import numpy as np

from . import _core

DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_dtype(dtype):
    """A network's ``dtype`` argument (a name such as "float32", or a numpy
    type or dtype) as a numpy dtype: float64 or float32, native byte order."""
    if isinstance(dtype, bool) or dtype is None:
        raise TypeError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    try:
        parsed = np.dtype(dtype)
    except (TypeError, ValueError):
        raise TypeError(f"dtype must be 'float64' or 'float32' (or np.float64, np.float32), "
                        f"got {dtype!r}") from None
    if parsed not in DTYPES:
        raise ValueError(f"dtype must be float64 or float32 (native byte order), got {dtype!r}")
    return parsed


def check_rates(lrs, dtype):
    """Learning rates (float64) for a network of dtype: a float32 network
    rounds each step's rate to float32, where one beyond float32's largest
    value would be an infinity (and an infinite step of a zero gradient NaN)."""
    if dtype == np.float32 and len(lrs):
        top = float(np.max(lrs))
        if top > FLOAT32_MAX:
            raise ValueError(f"lr must be at most {FLOAT32_MAX:.9g} (float32's largest value) "
                             f"for a float32 network, got {top:g}")


def core(dtype):
    """The compiled core of networks of ``dtype`` (a numpy dtype of DTYPES)."""
    if dtype == np.float64:
        return _core
    return importlib.import_module("backprop._core32")

