"""The model file format: a network's state as a JSON header and float64 or
float32 arrays (the network's dtype) in an ``.npz`` archive, and back, every
field checked (see ``backprop.io``)."""
import dataclasses
import json

import numpy as np

from . import _core
from ._archive import ModelFileError, read_npz
from ._dtypes import core
from ._atomic import destination, write_atomically
from ._layout import BIAS_POLICIES, MAX_PARAMS, n_params as layout_n_params
from ._version import __version__
from .functions import Huber, LeakyReLU
from .optim import SGD, Adam, _SklearnAdam

FORMAT = "backprop.Network"
# Version 2 added the header's "dtype"; a file of version 1 holds a float64
# network.
FORMAT_VERSION = 2
# The little-endian array type of each network dtype.
_ARRAY_TYPES = {"float64": "<f8", "float32": "<f4"}
# The bound on samples_seen and optimizer_steps in a model file: the largest
# count a network may reach (well inside the compiled core's int64 counters).
MAX_COUNT = _core.MAX_COUNT

_OPTIMIZERS = {"sgd": SGD, "adam": Adam, "sklearn_adam": _SklearnAdam}
# The optimiser state vectors of each kind, in the order of the core's
# (state1, state2) slots.
_STATE_ARRAYS = {"sgd": ("momentum_buffer",), "adam": ("exp_avg", "exp_avg_sq")}
# The most bytes the header member may hold: its JSON describes a network of
# thousands of layers in a small fraction of this.
MAX_HEADER_BYTES = 1 << 20
_HEADER_KEYS = {"format", "format_version", "backprop_version", "sizes", "activations", "loss",
                "bias", "train_bias", "seed", "optimizer", "optimizer_steps", "beta1_power",
                "beta2_power", "rng_state", "epochs_trained", "samples_seen", "arrays"}
# Entries a header may hold besides _HEADER_KEYS, and the entries of version 2.
_OPTIONAL_KEYS = {"classes"}
_VERSION_2_KEYS = {"dtype"}


def write_model(net, path):
    """Write the network ``net`` to ``path`` (``backprop.io.save``)."""
    user_path, target, existing = destination(path)
    state = net._state("save")
    params, state1, state2, (n_steps, beta1_power, beta2_power) = state["state"]
    for name, vector in (("parameters", params), ("optimiser state", state1),
                         ("optimiser state", state2)):
        if vector is not None and not core(vector.dtype).is_finite(vector):
            i = int(np.flatnonzero(~np.isfinite(vector))[0])
            raise ValueError(f"cannot save net: its {name} hold a non-finite value "
                             f"({vector[i]} at index {i}, written into net.params or a view "
                             f"of it), which load would refuse; nothing was written")
    optimizer = state["optimizer"]
    kind = "adam" if isinstance(optimizer, Adam) else "sgd"
    # Little-endian on every machine, so that a file moves between platforms.
    stored = _ARRAY_TYPES[state["dtype"]]
    arrays = {"params": params.astype(stored)}
    for name, vector in zip(_STATE_ARRAYS[kind], (state1, state2)):
        if vector is not None:
            arrays[name] = vector.astype(stored)
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "backprop_version": __version__,
        "dtype": state["dtype"],
        "sizes": list(state["sizes"]),
        "activations": [_activation_entry(a) for a in state["activation"]],
        "loss": _loss_entry(state["loss"]),
        "bias": state["bias"],
        "train_bias": state["train_bias"],
        "seed": state["seed"],
        "optimizer": {"kind": next(name for name, cls in _OPTIMIZERS.items() if type(optimizer) is cls),
                      **dataclasses.asdict(optimizer)},
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
    write_atomically(user_path, target, existing, lambda f: np.savez(f, header=encoded, **arrays))



def read_model(path):
    """(header, arrays) of the model file ``path`` (a str), the header checked
    for format, version and completeness and the arrays for names, dtypes and
    shapes.  No member is decompressed beyond the size the header gives it."""
    def check_header(raw, held):
        header = _decode_header(raw, path)
        declared = header["arrays"]
        if set(held) != set(declared):
            raise ModelFileError(f"{path}: the archive holds the arrays {held} but its header "
                                 f"lists {sorted(declared)}")
        n_params = _shape(header, _bad(path))[2]
        dtype = _dtype(header, _bad(path))
        for name, spec in declared.items():
            if spec["dtype"] != _ARRAY_TYPES[dtype] or spec["shape"] != [n_params]:
                raise _bad(path)(
                    f"array {name!r} must hold {n_params} little-endian {dtype} "
                    f"({_ARRAY_TYPES[dtype]!r}) values (sizes {header['sizes']}, bias "
                    f"{header['bias']!r}), got {spec['dtype']} of shape "
                    f"{_as_tuple(spec['shape'])}")
        return header, declared

    return read_npz(path, MAX_HEADER_BYTES, check_header)


def _as_tuple(shape):
    return tuple(shape) if isinstance(shape, list) else shape


def _activation_entry(activation):
    if isinstance(activation, LeakyReLU):
        return {"name": "leaky_relu", "slope": activation.slope}
    return {"name": activation}


def _loss_entry(loss):
    if isinstance(loss, Huber):
        return {"name": "huber", "delta": loss.delta}
    return {"name": loss}



def _bad(path):
    def bad(message):
        return ModelFileError(f"{path}: invalid model: {message}")
    return bad


def _dtype(header, bad):
    """The network dtype's name of a decoded header, checked (version 1:
    float64)."""
    dtype = header.get("dtype", "float64")
    if not isinstance(dtype, str) or dtype not in _ARRAY_TYPES:
        raise bad(f"dtype must be 'float64' or 'float32', got {dtype!r:.200}")
    return dtype


def _shape(header, bad):
    """(sizes, bias, n_params) of a decoded header, checked."""
    sizes = header["sizes"]
    if not isinstance(sizes, list) or len(sizes) < 2 or not all(_is_int(n) and n >= 1 for n in sizes):
        raise bad(f"sizes must be a list of at least two positive integers, got {sizes!r:.200}")
    bias = header["bias"]
    if bias not in BIAS_POLICIES:
        raise bad(f"bias must be 'neuron', 'shared' or 'none', got {bias!r:.200}")
    n_params = layout_n_params(sizes, bias)
    if n_params is None or n_params > MAX_PARAMS:
        count = "more than 2**63" if n_params is None else f"{n_params:.3g}"
        raise bad(f"sizes {sizes!r:.200} make a network of {count} parameters, more than a "
                  f"float64 vector can hold on this machine")
    return sizes, bias, n_params


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
    required = _HEADER_KEYS | (_VERSION_2_KEYS if version >= 2 else set())
    missing = required - set(header)
    extra = set(header) - required - _OPTIONAL_KEYS
    if missing or extra:
        what = "; ".join(f"{label} {sorted(keys)}" for label, keys in
                         (("missing", missing), ("unknown", extra)) if keys)
        raise ModelFileError(f"{path}: corrupted header: {what} entries")
    for name in ("optimizer_steps", "samples_seen", "epochs_trained"):
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


def network_state(header, arrays, path):
    """The ``Network.__setstate__`` dict described by a header and its arrays,
    every field checked."""
    bad = _bad(path)
    sizes, bias, n_params = _shape(header, bad)
    dtype = _dtype(header, bad)
    stored = _ARRAY_TYPES[dtype]
    n_layers = len(sizes) - 1
    activations = header["activations"]
    if not isinstance(activations, list) or len(activations) != n_layers:
        raise bad(f"activations must be a list of {n_layers} entries, got {activations!r}")
    activation = [_named(entry, {"leaky_relu": ("slope", LeakyReLU)}, "activation", bad)
                  for entry in activations]
    loss = _named(header["loss"], {"huber": ("delta", Huber)}, "loss", bad)

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
        if arr.dtype.str != stored or arr.shape != (n_params,):
            raise bad(f"array {name!r} must hold {n_params} little-endian {dtype} ({stored!r}) "
                      f"values (sizes {sizes}, bias {bias!r}), got {arr.dtype.str} of shape "
                      f"{arr.shape}")
        if not np.isfinite(arr).all():
            raise bad(f"array {name!r} holds non-finite values (at index {int(np.argmax(~np.isfinite(arr)))})")
    if kind == "adam" and (arrays["exp_avg_sq"] < 0).any():
        raise bad("array 'exp_avg_sq' (Adam's second moment) holds negative values")

    steps, beta1_power, beta2_power = (header[k] for k in ("optimizer_steps", "beta1_power", "beta2_power"))
    for name, value in (("beta1_power", beta1_power), ("beta2_power", beta2_power)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
            raise bad(f"{name} must be a number in [0, 1], got {value!r}")
    if not _is_int(header["seed"]) or header["seed"] < 0:
        raise bad(f"seed must be a non-negative integer, got {header['seed']!r:.200}")
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
    native = {name: arr.astype(dtype, copy=False) for name, arr in arrays.items()}
    state1, state2 = ([native.get(name) for name in names] + [None])[:2]
    return {"sizes": sizes, "dtype": dtype, "activation": activation, "loss": loss, "bias": bias,
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
