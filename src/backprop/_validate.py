"""Argument checks shared by the public API.

Every check runs before the compiled core is called and raises a ValueError or
TypeError that names the argument, what was expected and what was given.
"""
import math
import numbers
import operator

import numpy as np

from ._core import as_float_array
from ._dtypes import core


def check_finite(arr, name, source=None):
    """arr: a C-contiguous float64 or float32 array, converted from source
    (for the message: a finite value of source that float32 cannot hold
    became an infinity)."""
    if core(arr.dtype).is_finite(arr.reshape(-1)):
        return
    if not np.isfinite(arr).all():
        bad = tuple(np.argwhere(~np.isfinite(arr))[0])
        where = ", ".join(str(int(i)) for i in bad)
        given = arr[bad]
        source = None if source is None else np.asarray(source)
        if source is not None and source.size == arr.size:
            # (a 1-D sample is checked as a row: the value as given, at its place)
            given = source.reshape(arr.shape)[bad]
        if np.isfinite(given):
            raise ValueError(f"{name}[{where}] is {given}, beyond the range of the network's "
                             f"{arr.dtype} (its largest value is {np.finfo(arr.dtype).max})")
        raise ValueError(f"{name} must be finite, but {name}[{where}] is {given}")


def as_samples(value, name, width, width_name, dtype=np.float64):
    """A 2-D (n, width) array of finite values of dtype (float64 or float32:
    the network's).  A 1-D array is one sample.  Returns (array, was_1d)."""
    arr = as_float_array(value, name, dtype)
    single = arr.ndim == 1
    if single:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 1-D (one sample) or 2-D (samples x {width_name}), "
                         f"got {arr.ndim}-D with shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty: it has no samples (shape {arr.shape})")
    if arr.shape[1] != width:
        raise ValueError(f"{name} must have {width} {width_name} per sample (the network's "
                         f"layer sizes), got {arr.shape[1]}")
    check_finite(arr, name, None if arr is value else value)
    return arr, single


def as_pair(X, Y, n_in, n_out, names=("X", "Y"), dtype=np.float64):
    """Validated (X, Y) of dtype with matching sample counts."""
    X2, _ = as_samples(X, names[0], n_in, "inputs", dtype)
    Y2, _ = as_samples(Y, names[1], n_out, "outputs", dtype)
    if X2.shape[0] != Y2.shape[0]:
        raise ValueError(f"{names[0]} and {names[1]} must have the same number of samples, got "
                         f"{X2.shape[0]} and {Y2.shape[0]}")
    return X2, Y2


def as_int(value, name, minimum=None, maximum=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = operator.index(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def as_real(value, name, minimum=None, maximum=None, min_open=False, max_open=False):
    """A finite float in the given range (bounds closed unless *_open)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    try:
        value = float(value)
    except OverflowError:
        raise ValueError(f"{name} must be finite, got an integer too large for a float") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None and (value <= minimum if min_open else value < minimum):
        raise ValueError(f"{name} must be {'>' if min_open else '>='} {minimum}, got {value}")
    if maximum is not None and (value >= maximum if max_open else value > maximum):
        raise ValueError(f"{name} must be {'<' if max_open else '<='} {maximum}, got {value}")
    return value


def as_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def choice(value, name, options):
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {sorted(options)}, got {value!r}")
    if value not in options:
        raise ValueError(f"unknown {name} {value!r}; expected one of {sorted(options)}")
    return value
