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

Reading is bounded by what the header describes: the archive's members must
be stored or deflated (what numpy writes; LZMA and bzip2 members, which can
expand without bound in one step, are refused), the header member may hold
at most ``MAX_HEADER_BYTES``, and every other member exactly the bytes of the
``n_params`` values the header's sizes give (checked on the zip entry's
declared size, then on its .npy header, before any array data is
decompressed).

``save`` writes a temporary file ``.<name>.bp-XXXXXX.tmp`` (the first
``TEMP_PREFIX`` characters of the file's name, six random hex digits) beside
the destination, flushes it to disk (``fsync``), renames it over the
destination and flushes the directory, so that a crash or power loss leaves
the old file or the new one, never a mixture.  A save killed before the
rename leaves its temporary file behind, under that recognisable name.
Through a symlink it writes the file the link points to (the link stays); a
destination that exists but is not a regular file (a directory, FIFO,
device or socket) is refused.  See docs/guide/saving-and-errors.md.
"""
import contextlib
import dataclasses
import errno
import json
import os
import secrets
import stat
import struct
import tokenize
import zipfile
import zlib

try:
    import lzma
except ImportError:             # a Python built without it reads no LZMA member anyway
    lzma = None

import numpy as np

from . import __version__, _core
from .functions import Huber, LeakyReLU
from .network import MAX_PARAMS, Network
from .optim import SGD, Adam, _SklearnAdam

FORMAT = "backprop.Network"
FORMAT_VERSION = 1
# The bound on samples_seen and optimizer_steps in a model file: the largest
# count a network may reach (well inside the compiled core's int64 counters).
MAX_COUNT = _core.MAX_COUNT

_OPTIMIZERS = {"sgd": SGD, "adam": Adam, "sklearn_adam": _SklearnAdam}
# The optimiser state vectors of each kind, in the order of the core's
# (state1, state2) slots.
_STATE_ARRAYS = {"sgd": ("momentum_buffer",), "adam": ("exp_avg", "exp_avg_sq")}
# What reading a damaged or hostile archive and its members raises (besides
# MemoryError): zipfile's RuntimeError for a member flagged as encrypted and
# NotImplementedError for an unknown compression method or zip version,
# struct.error from a garbled extra field, the decompressors' own errors, and
# the tokenize.TokenError numpy lets out of a garbled .npy header.
ARCHIVE_ERRORS = (ValueError, EOFError, OSError, RuntimeError, NotImplementedError, zipfile.BadZipFile,
                  zlib.error, tokenize.TokenError, struct.error) + (
                      (lzma.LZMAError,) if lzma is not None else ())
# ... and what a hostile .npy header can make numpy's parser raise too (a
# literal nested beyond the recursion limit, or one too large to hold)
_MEMBER_ERRORS = ARCHIVE_ERRORS + (MemoryError, RecursionError)
# The most bytes the header member may hold: its JSON describes a network of
# thousands of layers in a small fraction of this.
MAX_HEADER_BYTES = 1 << 20
# The most bytes an .npy header (magic, length, dict) may take in a member:
# numpy writes 128 for a 1-D array.
MAX_NPY_HEADER = 4096
# The most characters of the destination's name in a temporary file's name,
# which then stays far below NAME_MAX (255 bytes) whatever the name.
TEMP_PREFIX = 24
_MEMBER_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
_METHOD_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA"}
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
    counters.  The file is written next to its destination first, flushed to
    disk and then renamed over it, so an interrupted save never leaves a
    half-written model (see the module's docstring: temporary names,
    symlinks, destinations that are not regular files).  Refused with
    RuntimeError while another thread trains ``net``.
    """
    if not isinstance(net, Network):
        raise TypeError(f"save needs a backprop.Network, got {type(net).__name__}")
    user_path, target, existing = _destination(path)
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
    _write_atomically(user_path, target, existing, lambda f: np.savez(f, header=encoded, **arrays))


def _path(path):
    """path (str, bytes or path-like) as a str, checked."""
    try:
        name = os.fsdecode(path)
    except TypeError as exc:
        raise TypeError(f"path must name a file: {exc}") from None
    if "\0" in name:
        raise ValueError(f"path must not contain a NUL character, got {name!r}")
    return name


def _destination(path):
    """(path as str, the file to replace, its os.stat or None), checked:
    symlinks resolved, directories and other non-regular files refused."""
    name = _path(path)
    if name == "":
        raise ValueError("path is empty: pass the name of the file to write")
    if name.endswith(os.sep) or (os.altsep and name.endswith(os.altsep)):
        raise IsADirectoryError(errno.EISDIR, f"cannot save to {name}: the path ends with a "
                                "separator, so it names a directory, not a file", name)
    target = os.path.realpath(name)
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        existing = None
    if existing is not None and stat.S_ISDIR(existing.st_mode):
        raise IsADirectoryError(errno.EISDIR, f"cannot save to {name}: it is a directory", name)
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        mode = existing.st_mode
        kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
        raise FileExistsError(errno.EEXIST, f"cannot save to {name}: it is {kind}, and save replaces "
                              "only regular files", name)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save to {name}: the directory {folder} does not exist")
    return name, target, existing


def _write_atomically(name, target, existing, write):
    """write(f) into a temporary file beside target, fsync it, rename it over
    target (keeping an existing file's permission bits) and fsync the
    directory.  OSErrors name the user's path, not the temporary file."""
    folder, base = os.path.split(target)
    try:
        for _ in range(100):
            tmp = os.path.join(folder, f".{base[:TEMP_PREFIX]}.bp-{secrets.token_hex(3)}.tmp")
            try:
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
                fd = os.open(tmp, flags, 0o666)
                break
            except FileExistsError:
                continue
        else:
            raise FileExistsError(errno.EEXIST, "no free temporary name beside it", name)
    except OSError as exc:
        raise _naming(exc, name) from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if existing is not None:
            os.chmod(tmp, stat.S_IMODE(existing.st_mode))
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _naming(exc, name) from None
        raise
    _fsync_directory(folder)


def _naming(exc, name):
    """The OSError exc (its subclass, by errno) about the user's path `name`."""
    if exc.errno is None:
        return OSError(f"cannot save to {name}: {exc}")
    return OSError(exc.errno, f"cannot save to {name}: {exc.strerror}", name)


def _fsync_directory(folder):
    """Flush the directory entry of a rename (POSIX).  The model is written
    already: a file system that cannot open or flush a directory costs only
    that durability, so errors are not raised."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load(path):
    """The network saved in ``path``, ready to predict or to continue training
    exactly where it stopped.  Raises ``ModelFileError`` for anything but an
    intact backprop model file of a format version this backprop can read.
    ``path`` is a str, bytes or path-like object."""
    path = _path(path)
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
    return _read(_path(path))[0]


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
    version and completeness and the arrays for names, dtypes and shapes.
    No member is decompressed beyond the size the header gives it."""
    with open(path, "rb") as f:
        magic = f.read(4)
        if magic != b"PK\x03\x04":
            what = "a single .npy array" if magic == b"\x93NUM" else "not an .npz archive"
            raise ModelFileError(f"{path}: not a backprop model file ({what})")
        f.seek(0)
        try:
            archive = zipfile.ZipFile(f)
            members = archive.infolist()
        except ARCHIVE_ERRORS as exc:
            raise ModelFileError(f"{path}: corrupted or truncated .npz archive ({exc})") from None
        with archive:
            by_name = {}
            for info in members:
                key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                if key in by_name:
                    raise ModelFileError(f"{path}: corrupted: the archive holds {info.filename!r} twice")
                by_name[key] = info
            if "header" not in by_name:
                raise ModelFileError(f"{path}: not a backprop model file (an .npz archive without a "
                                     f"'header' entry; it holds {sorted(by_name)})")
            raw = _member(archive, by_name["header"], "header", path, MAX_HEADER_BYTES, None)
            header = _decode_header(raw, path)
            declared = header["arrays"]
            held = sorted(set(by_name) - {"header"})
            if set(held) != set(declared):
                raise ModelFileError(f"{path}: the archive holds the arrays {held} but its header "
                                     f"lists {sorted(declared)}")
            n_params = _shape(header, _bad(path))[2]
            arrays = {}
            for name, spec in declared.items():
                if spec["dtype"] != "<f8" or spec["shape"] != [n_params]:
                    raise _bad(path)(
                        f"array {name!r} must hold {n_params} little-endian float64 ('<f8') values "
                        f"(sizes {header['sizes']}, bias {header['bias']!r}), got {spec['dtype']} of "
                        f"shape {_as_tuple(spec['shape'])}")
                arrays[name] = _member(archive, by_name[name], name, path,
                                       MAX_NPY_HEADER + 8 * n_params, spec)
    return header, arrays


def _as_tuple(shape):
    return tuple(shape) if isinstance(shape, list) else shape


def _member(archive, info, name, path, limit, spec):
    """The array in member `info`, read only if its zip entry declares at
    most `limit` bytes and its .npy header agrees with `spec` (the model
    header's {"shape", "dtype"}; None for the header member, which must be
    1-D uint8)."""
    def unreadable(why):
        return ModelFileError(f"{path}: corrupted or truncated: cannot read array {name!r} ({why})")

    if info.compress_type not in _MEMBER_METHODS:
        method = _METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
        raise ModelFileError(
            f"{path}: corrupted or truncated: member {info.filename!r} is compressed with {method}; "
            "that compression method is not supported in a backprop model file (only stored or "
            "deflated members are)")
    if info.file_size > limit:
        what = "the header member may hold" if spec is None else "its header's sizes allow"
        raise ModelFileError(f"{path}: corrupted: member {info.filename!r} declares {info.file_size} "
                             f"bytes, but {what} at most {limit}")
    try:
        with archive.open(info) as f:
            start = f.read(8)
            if len(start) < 8 or start[:6] != b"\x93NUMPY":
                raise unreadable("not in .npy format")
            version = tuple(start[6:8])
            if version not in ((1, 0), (2, 0)):
                raise unreadable(f".npy format version {version[0]}.{version[1]}, not 1.0 or 2.0")
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read_header(f, max_header_size=MAX_NPY_HEADER)
            if dtype.hasobject:
                raise unreadable("it holds Python objects, which load never unpickles")
            if spec is None:
                if dtype != np.uint8 or len(shape) != 1:
                    raise ModelFileError(f"{path}: not a backprop model file (its 'header' is {dtype} "
                                         f"of shape {shape}, not UTF-8 JSON bytes)")
            elif dtype.str != spec["dtype"] or list(shape) != spec["shape"]:
                raise ModelFileError(f"{path}: cannot read array {name!r}: the array {name!r} is "
                                     f"{dtype.str} of shape {list(shape)}, but the header says "
                                     f"{spec['dtype']} of shape {spec['shape']}")
            count = int(np.prod(shape, dtype=object))
            n_bytes = count * dtype.itemsize
            if f.tell() + n_bytes != info.file_size:
                raise unreadable(f"its .npy header describes {n_bytes} bytes of data, but the member "
                                 f"holds {info.file_size - f.tell()}")
            arr = np.empty(count, dtype=dtype)
            data = arr.view(np.uint8)
            filled = 0
            while filled < n_bytes:
                chunk = f.read(min(1 << 24, n_bytes - filled))
                if not chunk:
                    raise unreadable("the member ends early")
                data[filled:filled + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
                filled += len(chunk)
            if f.read(1):
                raise unreadable("data beyond the declared size")
    except ModelFileError:
        raise
    except _MEMBER_ERRORS as exc:
        if isinstance(exc, MemoryError):
            raise ModelFileError(f"{path}: cannot read array {name!r}: it asks for more memory than "
                                 f"this machine has ({exc})") from None
        raise unreadable(exc) from None
    return arr.reshape(shape)


def _bad(path):
    def bad(message):
        return ModelFileError(f"{path}: invalid model: {message}")
    return bad


def _shape(header, bad):
    """(sizes, bias, n_params) of a decoded header, checked."""
    sizes = header["sizes"]
    if not isinstance(sizes, list) or len(sizes) < 2 or not all(_is_int(n) and n >= 1 for n in sizes):
        raise bad(f"sizes must be a list of at least two positive integers, got {sizes!r:.200}")
    bias = header["bias"]
    if bias not in ("neuron", "shared", "none"):
        raise bad(f"bias must be 'neuron', 'shared' or 'none', got {bias!r:.200}")
    n_bias = {"neuron": sum(sizes[1:]), "shared": len(sizes) - 1, "none": 0}[bias]
    n_params = sum(a * b for a, b in zip(sizes, sizes[1:])) + n_bias
    if n_params > MAX_PARAMS:
        raise bad(f"sizes {sizes!r:.200} make a network of {n_params:.3g} parameters, more than a "
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
    missing = _HEADER_KEYS - set(header)
    extra = set(header) - _HEADER_KEYS - _OPTIONAL_KEYS
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


def _network_state(header, arrays, path):
    """The ``Network.__setstate__`` dict described by a header and its arrays,
    every field checked."""
    bad = _bad(path)
    sizes, bias, n_params = _shape(header, bad)
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
    native = {name: arr.astype(np.float64, copy=False) for name, arr in arrays.items()}
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
