"""The peers: one module each, all with the same small interface.

A peer module defines

``probe() -> str``
    The versions it runs with; raises ``Unavailable`` (with the install hint)
    when it cannot run here. Called in a worker subprocess, so a peer imports
    its heavy libraries inside functions, never at module level.
``rows(wl) -> list[Row]``
    The table rows it offers for a workload (a row with ``skip`` set is shown
    as "—" with that reason).
``Trainer(row, wl, data, build_dir)``
    Set up one training run from the common initial parameters (untimed);
    ``train()`` runs it and returns the seconds of its training loop;
    ``params()`` returns the final parameters as one flat vector in the layout
    of ``workloads``. Optional attributes: ``model``, the Workload fields of
    the model it really trains where that differs from the workload's (the
    final loss is then evaluated for that model); ``peak_rss_kib``, set by a
    trainer whose training runs in another process, to that process's peak RSS.
    ``data`` has ``X``, ``Y``, ``params0`` (arrays) and ``dir``, where the
    same are stored as raw float64 files (X.f64, Y.f64, params0.f64). A
    float32 row (``Row.dtype``) rounds them to float32 in its set-up and
    returns its float32 parameters as float64 (exactly).

A peer may also define ``build(build_dir)``, run once by the harness before any
training (the C reference compiles itself there).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

# Table order; the key is what --peers takes.
MODULES = {
    "backprop": "lib_backprop",
    "c": "c_reference",
    "numpy": "numpy_loop",
    "python": "python_loop",
    "numba": "numba_loop",
    "torch": "torch_cpu",
    "sklearn": "sklearn_mlp",
}


# The rows that train two networks at once (backprop's threads row, the C
# reference's pair row) repeat the workload in laps, on fresh parameters each
# lap, until a lap count that lasts at least this long.
LAP_SECONDS = 0.25


class Unavailable(Exception):
    """This peer cannot run on this machine; the message says why and how to fix it."""


@dataclass(frozen=True)
class Row:
    peer: str  # key in MODULES
    key: str  # unique among all rows, e.g. "c-native"
    label: str
    threads: int = 1  # pinned through the environment of the row's subprocess, split among its copies
    copies: int = 1  # networks trained at once (the threads row trains two)
    same_model: bool = True  # False: the peer cannot train the workload's exact model
    dtype: str = "float64"  # "float32": trains in float32 (its label says so); the files stay float64
    note: str = ""
    skip: str = ""  # reason this row does not run on this workload


def load(peer: str):
    return importlib.import_module(f"peers.{MODULES[peer]}")
