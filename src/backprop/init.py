"""Weight initialisation schemes.  Every scheme draws signed weights, centred on
zero, from the network's seeded generator; biases start at zero.

================== ============================================  =========================
name               distribution of W (n_out x n_in)              default for
================== ============================================  =========================
``glorot_uniform`` U(-r, r), r = sqrt(6 / (n_in + n_out))        logistic, tanh, identity,
                                                                 softmax layers
``glorot_normal``  N(0, σ²), σ = sqrt(2 / (n_in + n_out))
``he_uniform``     U(-r, r), r = sqrt(6 / n_in)                  relu, leaky_relu layers
``he_normal``      N(0, σ²), σ = sqrt(2 / n_in)
``Uniform(r)``     U(-r, r)
================== ============================================  =========================

Aliases: ``glorot`` = ``xavier`` = ``xavier_uniform`` = ``glorot_uniform``,
``xavier_normal`` = ``glorot_normal``, ``he`` = ``kaiming`` = ``he_uniform``,
``kaiming_normal`` = ``he_normal``.
"""
import math
import sys
from dataclasses import dataclass

import numpy as np

from ._validate import as_real, choice

SCHEMES = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal")
ALIASES = {
    "glorot": "glorot_uniform", "xavier": "glorot_uniform", "xavier_uniform": "glorot_uniform",
    "xavier_normal": "glorot_normal", "he": "he_uniform", "kaiming": "he_uniform",
    "kaiming_uniform": "he_uniform", "kaiming_normal": "he_normal",
}


@dataclass(frozen=True)
class Uniform:
    """Weights drawn from U(-radius, radius)."""

    radius: float

    def __post_init__(self):
        # U(-r, r) needs the width 2r to be a finite double.
        object.__setattr__(self, "radius", as_real(self.radius, "Uniform radius", 0.0,
                                                   sys.float_info.max / 2, min_open=True))


def check_init(init):
    """A scheme name (aliases resolved), a Uniform, or None (per-activation default)."""
    if init is None or isinstance(init, Uniform):
        return init
    name = choice(init, "init", set(SCHEMES) | set(ALIASES))
    return ALIASES.get(name, name)


def default_init(activation):
    return "he_uniform" if activation in ("relu", "leaky_relu") else "glorot_uniform"


def draw_weights(init, n_out, n_in, rng, out=None, layer_out=None):
    """An (n_out, n_in) weight matrix drawn by scheme ``init``; written into
    ``out`` (a C-contiguous float64 array of that shape) when given, with no
    temporary matrix.  Either way the values are the bits of
    ``rng.uniform(-r, r, shape)`` or ``rng.normal(0, σ, shape)``: those draw
    ``low + (high - low) * u`` and ``loc + scale * z`` from the same doubles
    ``u``, ``z`` as ``rng.random`` and ``rng.standard_normal``.  ``layer_out``
    (default n_out) is the width of the layer the rows belong to, for the
    Glorot schemes' fan: rows added to a layer are drawn as for that layer."""
    if out is None:
        out = np.empty((n_out, n_in))
    if isinstance(init, Uniform):
        return _uniform(rng, -init.radius, init.radius, out)
    fan = n_in + (n_out if layer_out is None else layer_out) if init.startswith("glorot") else n_in
    if init.endswith("uniform"):
        r = math.sqrt(6.0 / fan)
        return _uniform(rng, -r, r, out)
    rng.standard_normal(out=out)
    out *= math.sqrt(2.0 / fan)
    out += 0.0          # as loc + scale * z: a -0.0 becomes +0.0
    return out


def _uniform(rng, low, high, out):
    rng.random(out=out)
    out *= high - low
    out += low
    return out
