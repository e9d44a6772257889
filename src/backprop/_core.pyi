"""Type stub for ``backprop._core``, the compiled core (``src/_core.pyx``).

Its Python-visible API is internal: ``backprop.Network`` validates every
argument before it calls a ``Model`` method, and the methods trust their
inputs (shapes, dtypes, C-contiguity, finiteness), except ``learn_one`` and
``predict_one``, which check their arguments themselves.  Arrays are
float64 and C-contiguous unless said otherwise.  The C-level API for other
Cython modules is in ``backprop/_core.pxd``.

``backprop._core32`` (``_core32.pyi``) has the same API for float32
networks: there the network's arrays (``_Vector``, ``_Matrix``) are float32,
while learning rates, loss sums and records stay float64.
"""
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

_Vector = npt.NDArray[np.float64]
_Matrix = npt.NDArray[np.float64]

ACTIVATIONS: dict[str, int]
"""Activation name -> code: logistic, tanh, relu, leaky_relu, identity, softmax."""
LOSSES: dict[str, int]
"""Loss name -> code: squared, cross_entropy, huber."""
OPTIMIZERS: dict[str, int]
"""Optimiser name -> code: sgd, adam."""
API_VERSION: int
"""The version of the C-level API in ``_core.pxd`` (``BP_API_VERSION``)."""
STATUS_OK: int
STATUS_NONFINITE_LOSS: int
STATUS_NONFINITE_PARAMS: int
PARAMS_CHECK_EVERY: int
"""The online kernels check parameters for finiteness at an epoch's end once at
least this many samples have passed since the last check (and at a call's end)."""
DTYPE: np.dtype
"""The type of this core's networks: float64 (float32 in ``backprop._core32``)."""
ALIGNMENT: int
"""Byte alignment of parameter and optimiser-state vectors (64)."""
MAX_COUNT: int
"""The largest sample or step count a network may reach (2**62)."""

KERNEL_VARIANTS: dict[str, tuple[str, int]]
"""Kernel build name -> (its module, the CPU level it needs): x86-64-v3, x86-64-v4."""

def layout(sizes: Sequence[int], n_bias: Sequence[int]) -> tuple[
        npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp], int, int]:
    """(w_off, b_off, u_off, n_params, n_units): the flat parameter vector's
    layout, the one every part of backprop uses."""
def aligned_zeros(n: int, dtype: npt.DTypeLike = np.float64) -> npt.NDArray[np.floating]:
    """A zeroed vector of n values of dtype whose data is 64-byte aligned."""

def as_float_array(value: npt.ArrayLike, name: str,
                   dtype: npt.DTypeLike = np.float64) -> npt.NDArray[np.floating]:
    """``value`` as a C-contiguous, aligned, native-byte-order array of dtype
    (a copy only when needed); TypeError naming ``name`` for masked arrays and
    for data that are not real numbers."""

def is_finite(values: _Vector) -> bool:
    """Whether a vector of DTYPE holds no NaN or infinity, without allocating."""

def gather(x: dict, index: dict, n: int, strict: bool) -> _Vector | None:
    """A new vector of n values of DTYPE, v[index[k]] = x[k] for the keys of x
    that index holds; others skipped, or with strict None instead."""

def use_blas(enable: bool = True) -> bool:
    """Use SciPy's BLAS for large mini-batch products (if SciPy is installed);
    returns whether BLAS is now in use."""

def blas_in_use() -> bool: ...
def cpu_level() -> int:
    """1 for a baseline x86-64 CPU, 3 or 4 for x86-64-v3/v4, 0 for other architectures."""

def available_kernels() -> list[str]:
    """The kernel builds this CPU can run, fastest last."""

def active_kernels() -> str:
    """The name of the kernel build in use ("baseline", "x86-64-v3", "x86-64-v4")."""

def use_kernels(name: str) -> None:
    """Run the bulk kernels from the named build; refused if unavailable here."""

class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss or non-finite parameters."""

    epoch: int | None
    restored_epoch: int | None
    history: object
    def __init__(
        self,
        message: str,
        epoch: int | None = None,
        restored_epoch: int | None = None,
        history: object = None,
    ) -> None: ...

class Team:
    """Members 1 .. n-1 of a team of n threads that shares each mini-batch
    (train's threads=n), for the length of one train call."""

    n: int
    def __init__(self, n: int) -> None: ...
    def close(self) -> None:
        """End the members' threads."""
    def __enter__(self) -> Team: ...
    def __exit__(self, *exc: object) -> bool: ...

class Model:
    """The buffers of one network and the compiled operations on them."""

    samples: int
    """Samples trained on over the network's life."""
    default_lr: float
    """``learn_one``'s learning rate when none is given."""
    @property
    def busy(self) -> int:
        """The token of the hold on the network (``lock()``), 0 when free."""
    @property
    def params(self) -> _Vector:
        """The flat parameter vector, 64-byte aligned."""
    @property
    def state1(self) -> _Vector | None:
        """SGD velocity or Adam's first moment; None if unused."""
    @property
    def state2(self) -> _Vector | None:
        """Adam's second moment; None if unused."""
    @property
    def _shape_arrays(self) -> tuple[np.ndarray, ...]:
        """(size, n_bias, w_off, b_off, u_off, act, act_param)."""
    @property
    def _work_arrays(self) -> tuple[_Vector, ...]:
        """The network's workspace: net, out, d_out, d_act, delta, errors, grad."""
    def __init__(
        self,
        sizes: Sequence[int],
        n_bias: Sequence[int],
        activations: Sequence[int],
        act_params: Sequence[float],
        loss: int,
        loss_param: float,
        train_bias: bool,
    ) -> None: ...
    def lock(self) -> int:
        """Hold the network; returns the hold's token.  RuntimeError if it is
        held already (a training run, an embedding loop, a snapshot)."""
    def unlock(self, token: int) -> None:
        """Release the hold ``token`` is for; RuntimeError for any other token."""
    def hold(self, what: str) -> int:
        """A hold for reading the whole state (copy, save, pickle): a token,
        or 0 when the calling thread holds the network already; RuntimeError
        while another thread holds it."""
    @property
    def n_params(self) -> int: ...
    @property
    def n_units(self) -> int: ...
    @property
    def offsets(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """(w_off, b_off, n_bias)."""
    @property
    def u_offsets(self) -> tuple[int, ...]: ...
    @property
    def work(self) -> tuple[_Vector, ...]:
        """The workspace arrays: net, out, d_out, d_act, delta, errors, grad."""
    def set_optimizer(
        self,
        code: int,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        decay_bias: bool = False,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-08,
        eps_uncorrected: bool = False,
    ) -> None: ...
    def get_counters(self) -> tuple[int, float, float]:
        """(n_steps, beta1_pow, beta2_pow)."""
    def set_state(
        self,
        params: _Vector,
        state1: _Vector | None,
        state2: _Vector | None,
        counters: tuple[int, float, float],
    ) -> None: ...
    def snapshot(
        self,
        into: tuple[_Vector, _Vector | None, _Vector | None, tuple[int, float, float]]
        | None = None,
    ) -> tuple[_Vector, _Vector | None, _Vector | None, tuple[int, float, float]]: ...
    def copy(self) -> Model: ...
    def predict(self, X: _Matrix, out: _Matrix) -> None:
        """out[i] = the outputs for X[i]; X (n, n_in), out (n, n_out)."""
    def sample_losses(self, X: _Matrix, Y: _Matrix, out: _Vector) -> None:
        """out[i] = the loss of sample (X[i], Y[i])."""
    def train(
        self,
        X: _Matrix,
        Y: _Matrix,
        order: npt.NDArray[np.intp] | None,
        lrs: _Vector,  # or a broadcast constant (stride 0)
        batch_size: int,
        step0: int,
        n_steps: int,
        loss_sums: _Vector,
        target: float,
        record_every: int,
        record: _Vector,
        record_state: _Vector,
        team: Team | None = None,
        weights: _Vector | None = None,
        penalty_sums: _Vector | None = None,
    ) -> tuple[int, int, bool]:
        """Run optimiser steps; returns (status, steps_done, stopped_at_target).
        target: the mean epoch loss to stop at (-inf: none); record_every: 0 or
        N, the mean loss of every N samples going to record, with record_state
        = [open window's sum, its count, means written]; team: threads that
        share each mini-batch with this one.  Needs lock()."""
    def capture_step(self, x: _Vector, t: _Vector, lr: float) -> tuple[int, float]:
        """One online update that leaves every intermediate in ``work``;
        returns (status, loss before the update)."""
    def learn_one(self, x: npt.ArrayLike, t: npt.ArrayLike, lr: float | None) -> float:
        """One online update with the network's optimiser; returns the loss
        before the update.  Checks widths, finiteness and lr itself; raises
        DivergenceError (parameters untouched) if the loss is not finite."""
    def predict_one(self, x: npt.ArrayLike) -> _Vector:
        """The outputs for one sample, as a new array (checks x itself)."""
