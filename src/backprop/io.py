"""Saving and loading networks: one self-describing, versioned ``.npz`` file.

The archive holds plain float64 arrays and a JSON header (UTF-8 bytes in a
uint8 array), nothing pickled, so ``load`` reads it with
``numpy.load(..., allow_pickle=False)``: a file from a stranger cannot run code.

Arrays (``n_params`` float64 values each, in ``Network.params``' layout):

=====================  ==========================================================
``params``             the flat parameter vector
``momentum_buffer``    SGD's velocity (present once momentum was used)
``exp_avg``            Adam's first moment m
``exp_avg_sq``         Adam's second moment v
=====================  ==========================================================

(the optimiser state names are PyTorch's).  The header records the format
name and version, the backprop version that wrote the file, the layer sizes,
activations, loss, bias policy, the optimiser and its step counters, the seed
and state of the network's shuffle generator, the epochs trained, the samples
seen, the shape and dtype of every array and, for a classifier, the class
label of each output (``classes``: a list of strings or numbers, absent when
``Network.classes`` is None).  ``load`` checks all of it and raises
``ModelFileError`` naming the file and the problem.
"""
import dataclasses
import json
import os
import secrets
import tokenize
import zipfile
import zlib

import numpy as np

from . import __version__, _core
from .functions import Huber, LeakyReLU
from .network import Network
from .optim import SGD, Adam

FORMAT = "backprop.Network"
FORMAT_VERSION = 1
# The bound on samples_seen and optimizer_steps in a model file: the largest
# count a network may reach (well inside the compiled core's int64 counters).
MAX_COUNT = _core.MAX_COUNT

_OPTIMIZERS = {"sgd": SGD, "adam": Adam}
# The optimiser state vectors of each kind, in the order of the core's
# (state1, state2) slots.
_STATE_ARRAYS = {"sgd": ("momentum_buffer",), "adam": ("exp_avg", "exp_avg_sq")}
# What numpy.load and reading an archive's member raise for a damaged or hostile
# file (besides MemoryError): zipfile's RuntimeError for a member flagged as
# encrypted and NotImplementedError for an unknown compression method or zip
# version, and the tokenize.TokenError numpy lets out of a garbled .npy header.
ARCHIVE_ERRORS = (ValueError, EOFError, OSError, RuntimeError, NotImplementedError, zipfile.BadZipFile,
                  zlib.error, tokenize.TokenError)
_HEADER_KEYS = {"format", "format_version", "backprop_version", "sizes", "activations", "loss",
                "bias", "train_bias", "seed", "optimizer", "optimizer_steps", "beta1_power",
                "beta2_power", "rng_state", "epochs_trained", "samples_seen", "arrays"}
# Entries a header may hold besides _HEADER_KEYS.
_OPTIONAL_KEYS = {"classes"}


class ModelFileError(ValueError):
    """A file that is not a valid backprop model file: not an ``.npz`` archive,
    truncated or corrupted, written by a newer backprop, or inconsistent."""


def save(net, path):
    """Write ``net`` to ``path`` (a str, bytes or path-like object; exactly that
    name, ``.npz`` is the usual suffix).

    Everything needed to continue training is saved: parameters, optimiser and
    its state, the generator that shuffles samples, the epoch and sample
    counters.  The file is written next to its destination first and then
    renamed over it, so an interrupted save never leaves a half-written model.
    """
    if not isinstance(net, Network):
        raise TypeError(f"save needs a backprop.Network, got {type(net).__name__}")
    state = net.__getstate__()
    params, state1, state2, (n_steps, beta1_power, beta2_power) = state["state"]
    optimizer = state["optimizer"]
    kind = "adam" if isinstance(optimizer, Adam) else "sgd"
    # Little-endian on every machine, so that a file moves between platforms.
    arrays = {"params": params.astype("<f8")}
    for name, vector in zip(_STATE_ARRAYS[kind], (state1, state2)):
        if vector is not None:
            arrays[name] = vector.astype("<f8")
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "backprop_version": __version__,
        "sizes": list(state["sizes"]),
        "activations": [_activation_entry(a) for a in state["activation"]],
        "loss": _loss_entry(state["loss"]),
        "bias": state["bias"],
        "train_bias": state["train_bias"],
        "seed": state["seed"],
        "optimizer": {"kind": kind, **dataclasses.asdict(optimizer)},
        "optimizer_steps": n_steps,
        "beta1_power": beta1_power,
        "beta2_power": beta2_power,
        "rng_state": state["rng"],
        "epochs_trained": state["epochs"],
        "samples_seen": state["samples"],
        "arrays": {name: {"shape": list(a.shape), "dtype": a.dtype.str} for name, a in arrays.items()},
    }
    if state["classes"] is not None:
        header["classes"] = state["classes"].tolist()
    encoded = np.frombuffer(json.dumps(header, indent=1).encode("utf-8"), dtype=np.uint8)
    path = os.fsdecode(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save to {path}: the directory {folder} does not exist")
    tmp = f"{path}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "xb") as f:
            np.savez(f, header=encoded, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path):
    """The network saved in ``path``, ready to predict or to continue training
    exactly where it stopped.  Raises ``ModelFileError`` for anything but an
    intact backprop model file of a format version this backprop can read.
    ``path`` is a str, bytes or path-like object."""
    path = os.fsdecode(path)
    header, arrays = _read(path)
    state = _network_state(header, arrays, path)
    net = Network.__new__(Network)
    try:
        net.__setstate__(state)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ModelFileError(f"{path}: invalid model: {exc}") from None
    return net


def read_header(path):
    """The JSON header of the model file ``path`` (a dict: format and backprop
    versions, sizes, activations, loss, optimiser, counters), checked for
    format, version and completeness, and against the archive's arrays."""
    return _read(os.fsdecode(path))[0]


def _activation_entry(activation):
    if isinstance(activation, LeakyReLU):
        return {"name": "leaky_relu", "slope": activation.slope}
    return {"name": activation}


def _loss_entry(loss):
    if isinstance(loss, Huber):
        return {"name": "huber", "delta": loss.delta}
    return {"name": loss}


def _read(path):
    """(header, arrays) of a model file, with the header checked for format,
    version and completeness and the arrays for names, dtypes and shapes."""
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != b"PK\x03\x04":
        what = "a single .npy array" if magic == b"\x93NUM" else "not an .npz archive"
        raise ModelFileError(f"{path}: not a backprop model file ({what})")
    try:
        archive = np.load(path, allow_pickle=False)
    except ARCHIVE_ERRORS as exc:
        raise ModelFileError(f"{path}: corrupted or truncated .npz archive ({exc})") from None
    with archive:
        if "header" not in archive.files:
            raise ModelFileError(f"{path}: not a backprop model file (an .npz archive without a "
                                 f"'header' entry; it holds {sorted(archive.files)})")
        header = _decode_header(_member(archive, "header", path), path)
        declared = header["arrays"]
        if set(archive.files) != set(declared) | {"header"}:
            raise ModelFileError(f"{path}: the archive holds the arrays {sorted(set(archive.files) - {'header'})} "
                                 f"but its header lists {sorted(declared)}")
        arrays = {}
        for name, spec in declared.items():
            arr = _member(archive, name, path)
            if arr.dtype.str != spec["dtype"] or list(arr.shape) != spec["shape"]:
                raise ModelFileError(f"{path}: array {name!r} is {arr.dtype.str} of shape {list(arr.shape)}, "
                                     f"but the header says {spec['dtype']} of shape {spec['shape']}")
            arrays[name] = arr
    return header, arrays


def _member(archive, name, path):
    try:
        arr = archive[name]
    except ARCHIVE_ERRORS as exc:
        raise ModelFileError(f"{path}: corrupted or truncated: cannot read array {name!r} ({exc})") from None
    except MemoryError as exc:
        raise ModelFileError(f"{path}: cannot read array {name!r}: its .npy header asks for more "
                             f"memory than this machine has ({exc})") from None
    # numpy returns the raw bytes of a member that does not start like an .npy file
    if not isinstance(arr, np.ndarray):
        raise ModelFileError(f"{path}: corrupted or truncated: cannot read array {name!r} (not in "
                             f".npy format)")
    return arr


def _decode_header(raw, path):
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise ModelFileError(f"{path}: not a backprop model file (its 'header' is {raw.dtype} of "
                             f"shape {raw.shape}, not UTF-8 JSON bytes)")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path}: corrupted header (not UTF-8 JSON: {exc})") from None
    except (ValueError, RecursionError) as exc:
        # an integer of more digits than int() reads, or arrays nested deeper
        # than the recursion limit
        raise ModelFileError(f"{path}: corrupted header (JSON beyond Python's limits: {exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        found = header.get("format") if isinstance(header, dict) else type(header).__name__
        raise ModelFileError(f"{path}: not a backprop model file (header format {found!r}, "
                             f"expected {FORMAT!r})")
    version = header.get("format_version")
    if not _is_int(version) or version < 1:
        raise ModelFileError(f"{path}: corrupted header (format_version {version!r})")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{path}: written by backprop {header.get('backprop_version')} in model "
                             f"format version {version}; this backprop ({__version__}) reads versions up "
                             f"to {FORMAT_VERSION}: upgrade backprop to load it")
    missing = _HEADER_KEYS - set(header)
    extra = set(header) - _HEADER_KEYS - _OPTIONAL_KEYS
    if missing or extra:
        what = "; ".join(f"{label} {sorted(keys)}" for label, keys in
                         (("missing", missing), ("unknown", extra)) if keys)
        raise ModelFileError(f"{path}: corrupted header: {what} entries")
    for name in ("optimizer_steps", "samples_seen"):
        if not _is_int(header[name]) or not 0 <= header[name] <= MAX_COUNT:
            raise ModelFileError(f"{path}: corrupted header: {name} must be an integer from 0 to "
                                 f"2**62, got {header[name]!r:.200}")
    arrays = header["arrays"]
    if not isinstance(arrays, dict) or "params" not in arrays or not all(
            isinstance(s, dict) and set(s) == {"shape", "dtype"} for s in arrays.values()):
        raise ModelFileError(f"{path}: corrupted header: 'arrays' must describe 'params' and the "
                             f"optimiser state by shape and dtype, got {arrays!r:.200}")
    return header


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _network_state(header, arrays, path):
    """The ``Network.__setstate__`` dict described by a header and its arrays,
    every field checked."""
    def bad(message):
        return ModelFileError(f"{path}: invalid model: {message}")

    sizes = header["sizes"]
    if not isinstance(sizes, list) or len(sizes) < 2 or not all(_is_int(n) and n >= 1 for n in sizes):
        raise bad(f"sizes must be a list of at least two positive integers, got {sizes!r}")
    n_layers = len(sizes) - 1
    activations = header["activations"]
    if not isinstance(activations, list) or len(activations) != n_layers:
        raise bad(f"activations must be a list of {n_layers} entries, got {activations!r}")
    activation = [_named(entry, {"leaky_relu": ("slope", LeakyReLU)}, "activation", bad)
                  for entry in activations]
    loss = _named(header["loss"], {"huber": ("delta", Huber)}, "loss", bad)
    bias = header["bias"]
    if bias not in ("neuron", "shared", "none"):
        raise bad(f"bias must be 'neuron', 'shared' or 'none', got {bias!r}")
    n_bias = {"neuron": sum(sizes[1:]), "shared": n_layers, "none": 0}[bias]
    n_params = sum(a * b for a, b in zip(sizes, sizes[1:])) + n_bias

    optimizer = _optimizer(header["optimizer"], bad)
    kind = "adam" if isinstance(optimizer, Adam) else "sgd"
    names = _STATE_ARRAYS[kind]
    required = {"params"} | (set(names) if kind == "adam" or optimizer.momentum else set())
    missing = required - set(arrays)
    unexpected = set(arrays) - {"params", *names}
    if missing:
        raise bad(f"the arrays {sorted(missing)} are missing: the {optimizer} optimiser needs "
                  f"{sorted(required)}, the file has {sorted(arrays)}")
    if unexpected:
        raise bad(f"unexpected arrays {sorted(unexpected)} for the {optimizer} optimiser")
    for name, arr in arrays.items():
        if arr.dtype.str != "<f8" or arr.shape != (n_params,):
            raise bad(f"array {name!r} must hold {n_params} little-endian float64 ('<f8') values "
                      f"(sizes {sizes}, bias {bias!r}), got {arr.dtype.str} of shape {arr.shape}")
        if not np.isfinite(arr).all():
            raise bad(f"array {name!r} holds non-finite values (at index {int(np.argmax(~np.isfinite(arr)))})")
    if kind == "adam" and (arrays["exp_avg_sq"] < 0).any():
        raise bad("array 'exp_avg_sq' (Adam's second moment) holds negative values")

    steps, beta1_power, beta2_power = (header[k] for k in ("optimizer_steps", "beta1_power", "beta2_power"))
    for name, value in (("beta1_power", beta1_power), ("beta2_power", beta2_power)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
            raise bad(f"{name} must be a number in [0, 1], got {value!r}")
    for name in ("seed", "epochs_trained"):
        if not _is_int(header[name]) or header[name] < 0:
            raise bad(f"{name} must be a non-negative integer, got {header[name]!r}")
    if not isinstance(header["train_bias"], bool):
        raise bad(f"train_bias must be true or false, got {header['train_bias']!r}")

    classes = header.get("classes")
    if classes is not None and not (
            isinstance(classes, list) and classes
            and (all(isinstance(c, str) for c in classes) or all(
                isinstance(c, (int, float)) and not isinstance(c, bool) for c in classes)
                 or all(isinstance(c, bool) for c in classes))):
        raise bad(f"classes must be a non-empty list of strings, of numbers or of booleans, "
                  f"got {classes!r:.200}")
    native = {name: arr.astype(np.float64) for name, arr in arrays.items()}
    state1, state2 = ([native.get(name) for name in names] + [None])[:2]
    return {"sizes": sizes, "activation": activation, "loss": loss, "bias": bias,
            "train_bias": header["train_bias"], "seed": header["seed"], "optimizer": optimizer,
            "state": (native["params"], state1, state2, (steps, float(beta1_power), float(beta2_power))),
            "rng": _rng_state(header["rng_state"], bad),
            "epochs": header["epochs_trained"], "samples": header["samples_seen"],
            "classes": classes}


def _named(entry, parametrised, what, bad):
    """A name, or the parameter object of a parametrised one, from {"name": ...}."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise bad(f"{what} must be an object with a 'name', got {entry!r}")
    name = entry["name"]
    if name in parametrised:
        key, cls = parametrised[name]
        if set(entry) != {"name", key}:
            raise bad(f"{what} {name!r} must have exactly the entries 'name' and {key!r}, got {entry!r}")
        try:
            return cls(entry[key])
        except (TypeError, ValueError, OverflowError) as exc:
            raise bad(str(exc)) from None
    if set(entry) != {"name"}:
        raise bad(f"{what} {name!r} takes no parameters, got {entry!r}")
    return name


def _optimizer(entry, bad):
    if not (isinstance(entry, dict) and isinstance(entry.get("kind"), str)
            and entry["kind"] in _OPTIMIZERS):
        raise bad(f"optimizer must be an object with kind 'sgd' or 'adam', got {entry!r}")
    cls = _OPTIMIZERS[entry["kind"]]
    fields = {f.name for f in dataclasses.fields(cls)}
    given = set(entry) - {"kind"}
    if given != fields:
        raise bad(f"a {entry['kind']} optimizer needs exactly the hyper-parameters {sorted(fields)}, "
                  f"got {sorted(given)}")
    try:
        return cls(**{k: entry[k] for k in fields})
    except (TypeError, ValueError, OverflowError) as exc:
        raise bad(f"optimizer: {exc}") from None


def _rng_state(state, bad):
    """A PCG64 ``bit_generator.state`` dict, checked by letting numpy take it."""
    generator = np.random.default_rng(0).bit_generator
    ok = (isinstance(state, dict) and state.get("bit_generator") == type(generator).__name__
          and isinstance(state.get("state"), dict)
          and all(_is_int(v) and 0 <= v < 2 ** 128 for v in state["state"].values()))
    if ok:
        try:
            generator.state = state
        except (TypeError, ValueError, OverflowError, KeyError) as exc:
            raise bad(f"rng_state: {exc}") from None
    if not ok or generator.state != state:
        raise bad(f"rng_state must be the state of a {type(generator).__name__} generator, got {state!r:.200}")
    return state
