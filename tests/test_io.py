"""Saving and loading networks (backprop.io), pickle and deepcopy."""
import copy
import json
import multiprocessing
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import backprop as bp
from backprop import io

OPTIMIZERS = {
    "sgd": bp.SGD(),
    "momentum": bp.SGD(momentum=0.9, weight_decay=1e-3),
    "nesterov": bp.SGD(momentum=0.8, nesterov=True),
    "adam": bp.Adam(beta1=0.8, weight_decay=1e-3, decay_bias=True),
}
LR = {"sgd": 0.3, "momentum": 0.1, "nesterov": 0.1, "adam": 0.01}


def data(n=13, n_in=3, n_out=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (n, n_in)), rng.uniform(0, 1, (n, n_out))


def state_bytes(net):
    """Everything that determines the network's future, as comparable values."""
    params, s1, s2, counters = net._model.snapshot()
    return (params.tobytes(), None if s1 is None else s1.tobytes(),
            None if s2 is None else s2.tobytes(), counters, net._rng.bit_generator.state,
            net.epochs_trained, net.samples_seen, net.seed, net.optimizer, net.sizes,
            net.activations, net.loss_function, net.bias, net.train_bias)


def trained(optimizer="adam", bias="neuron", epochs=1, **kwargs):
    X, Y = data()
    net = bp.Network([3, 4, 2], activation=["tanh", "logistic"], bias=bias, seed=3, **kwargs)
    net.train(X, Y, epochs=epochs, lr=LR[optimizer], optimizer=OPTIMIZERS[optimizer],
              batch_size=4, shuffle=True, seed=7)
    return net


@pytest.mark.parametrize("bias", ["neuron", "shared", "none"])
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_round_trip_is_bit_exact(tmp_path, optimizer, bias):
    net = trained(optimizer, bias, train_bias=bias != "shared")
    path = tmp_path / "model.npz"
    net.save(path)
    loaded = bp.load(path)
    assert state_bytes(loaded) == state_bytes(net)
    X, _ = data(seed=1)
    assert loaded.predict(X).tobytes() == net.predict(X).tobytes()
    for W, V in zip(loaded.weights, net.weights):
        np.testing.assert_array_equal(W, V)


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_training_continues_bit_for_bit_after_a_save_and_load(tmp_path, optimizer):
    X, Y = data()
    whole = bp.Network([3, 4, 2], activation="tanh", loss="huber", seed=3)
    hist = whole.train(X, Y, epochs=2, lr=LR[optimizer], optimizer=OPTIMIZERS[optimizer],
                       batch_size=4, shuffle=True, seed=7)

    first = bp.Network([3, 4, 2], activation="tanh", loss="huber", seed=3)
    first.train(X, Y, epochs=1, lr=LR[optimizer], optimizer=OPTIMIZERS[optimizer],
                batch_size=4, shuffle=True, seed=7)
    first.save(tmp_path / "half.npz")
    resumed = bp.load(tmp_path / "half.npz")
    second = resumed.train(X, Y, epochs=1, lr=LR[optimizer], batch_size=4, shuffle=True)

    assert resumed.params.tobytes() == whole.params.tobytes()
    assert state_bytes(resumed) == state_bytes(whole)
    assert second.loss.tobytes() == hist.loss[1:].tobytes()
    assert list(second.epoch) == [1]


ACTIVATIONS = st.sampled_from(["logistic", "tanh", "relu", "identity"]) | st.builds(
    bp.LeakyReLU, st.floats(0.0, 1.0))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(1, 5), min_size=2, max_size=4),
       activations=st.lists(ACTIVATIONS, min_size=3, max_size=3),
       loss=st.sampled_from(["squared"]) | st.builds(bp.Huber, st.floats(0.1, 3.0)),
       bias=st.sampled_from(["neuron", "shared", "none"]), train_bias=st.booleans(),
       optimizer=st.sampled_from(list(OPTIMIZERS)), seed=st.integers(0, 2 ** 64))
def test_round_trip_of_any_network(tmp_path, sizes, activations, loss, bias, train_bias,
                                   optimizer, seed):
    net = bp.Network(sizes, activation=activations[:len(sizes) - 1], loss=loss, bias=bias,
                     train_bias=train_bias, seed=seed)
    X, Y = data(n=5, n_in=sizes[0], n_out=sizes[-1], seed=seed % 7)
    net.train(X, Y, epochs=2, lr=0.01, optimizer=OPTIMIZERS[optimizer], batch_size=2, shuffle=True)
    net.save(tmp_path / "any.npz")
    loaded = bp.load(tmp_path / "any.npz")
    assert state_bytes(loaded) == state_bytes(net)
    assert loaded._activations == net._activations and loaded._loss == net._loss
    for n in (net, loaded):
        n.train(X, Y, epochs=1, lr=0.01, shuffle=True)
    assert state_bytes(loaded) == state_bytes(net)


def test_parametrised_activations_and_losses_survive(tmp_path):
    net = bp.Network([2, 3, 3, 2], activation=[bp.LeakyReLU(0.2), "relu", "identity"],
                     loss=bp.Huber(0.25), seed=1)
    net.save(tmp_path / "a.npz")
    loaded = bp.load(tmp_path / "a.npz")
    assert loaded._activations == net._activations and loaded._loss == net._loss
    soft = bp.Network([2, 3, 3], activation=["tanh", "softmax"], loss="cross_entropy", seed=1)
    soft.save(tmp_path / "s.npz")
    assert state_bytes(bp.load(tmp_path / "s.npz")) == state_bytes(soft)


def test_momentum_buffer_is_kept_after_switching_momentum_off(tmp_path):
    net = trained("momentum")
    X, Y = data()
    net.train(X, Y, epochs=1, optimizer=bp.SGD())       # same kind: the velocity is kept
    net.save(tmp_path / "m.npz")
    loaded = bp.load(tmp_path / "m.npz")
    assert state_bytes(loaded) == state_bytes(net)
    for n in (net, loaded):
        n.train(X, Y, epochs=1, optimizer=bp.SGD(momentum=0.9), shuffle=True)
    assert loaded.params.tobytes() == net.params.tobytes()


def test_streaming_counters_and_untrained_networks(tmp_path):
    net = bp.Network([2, 2, 1], seed=5)
    net.save(tmp_path / "fresh.npz")
    assert state_bytes(bp.load(tmp_path / "fresh.npz")) == state_bytes(net)
    net.learn_one([0.1, 0.2], [1.0], lr=0.5)
    net.save(tmp_path / "one.npz")
    loaded = bp.load(tmp_path / "one.npz")
    assert loaded.samples_seen == 1 and loaded.epochs_trained == 0
    assert state_bytes(loaded) == state_bytes(net)


def test_header_describes_the_model(tmp_path):
    net = trained("nesterov", epochs=2)
    net.save(tmp_path / "m.npz")
    header = io.read_header(tmp_path / "m.npz")
    assert header["format"] == "backprop.Network" and header["format_version"] == 2
    assert header["backprop_version"] == bp.__version__
    assert header["dtype"] == "float64"
    assert header["sizes"] == [3, 4, 2]
    assert header["activations"] == [{"name": "tanh"}, {"name": "logistic"}]
    assert header["optimizer"] == {"kind": "sgd", "momentum": 0.8, "nesterov": True,
                                   "weight_decay": 0.0, "decay_bias": False}
    assert header["epochs_trained"] == 2 and header["samples_seen"] == 26
    assert header["optimizer_steps"] == 8
    assert header["arrays"] == {"params": {"shape": [26], "dtype": "<f8"},
                                "momentum_buffer": {"shape": [26], "dtype": "<f8"}}
    with np.load(tmp_path / "m.npz", allow_pickle=False) as archive:
        assert sorted(archive.files) == ["header", "momentum_buffer", "params"]
        np.testing.assert_array_equal(archive["params"], net.params)


def test_save_writes_exactly_the_given_path_and_replaces_it(tmp_path):
    net = trained("sgd")
    net.save(tmp_path / "model")
    net.save(str(tmp_path / "model"))
    assert os.listdir(tmp_path) == ["model"]
    assert bp.load(tmp_path / "model").params.tobytes() == net.params.tobytes()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        net.save(tmp_path / "no" / "such" / "dir.npz")
    with pytest.raises(TypeError, match="Network"):
        io.save("not a network", tmp_path / "x.npz")


class BytesPath:
    """A path-like object whose ``__fspath__`` gives bytes."""

    def __init__(self, path):
        self.path = os.fsencode(path)

    def __fspath__(self):
        return self.path


@pytest.mark.parametrize("kind", [os.fsencode, BytesPath])
def test_bytes_and_path_like_paths(tmp_path, kind):
    net = trained("adam")
    path = tmp_path / "model.npz"
    net.save(kind(path))
    assert os.listdir(tmp_path) == ["model.npz"]
    assert state_bytes(bp.load(kind(path))) == state_bytes(net)
    assert io.read_header(kind(path))["sizes"] == [3, 4, 2]
    (tmp_path / "text.npz").write_text("x")
    with pytest.raises(bp.ModelFileError) as info:
        bp.load(kind(tmp_path / "text.npz"))
    assert str(info.value).startswith(f"{tmp_path / 'text.npz'}: not a backprop model file")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        net.save(kind(tmp_path / "no" / "dir.npz"))
    with pytest.raises(TypeError, match="expected str, bytes or os.PathLike object, not int"):
        net.save(3)


# ------------------------------------------------------------------ bad files
def rewrite(src, dst, header=None, relist=False, **arrays):
    """Copy the model file ``src`` to ``dst`` with header fields and arrays
    replaced (an array given as None is dropped); ``relist`` updates the
    header's list of arrays to match."""
    with np.load(src, allow_pickle=False) as archive:
        contents = {name: archive[name] for name in archive.files}
    h = json.loads(contents.pop("header").tobytes())
    h.update(header or {})
    for name, value in arrays.items():
        if value is None:
            contents.pop(name)
        else:
            contents[name] = value
    if relist:
        h["arrays"] = {n: {"shape": list(a.shape), "dtype": a.dtype.str} for n, a in contents.items()}
    np.savez(dst, header=np.frombuffer(json.dumps(h).encode(), dtype=np.uint8), **contents)
    return dst


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "good.npz"
    trained("adam").save(path)
    return path


def raises_model_error(path, match):
    with pytest.raises(bp.ModelFileError, match=match) as info:
        bp.load(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)
    return info.value


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        bp.load(tmp_path / "nothing.npz")


def test_foreign_files_are_refused(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("x,y\n1,2\n")
    raises_model_error(text, r"not a backprop model file \(not an \.npz archive\)")
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    raises_model_error(empty, "not an .npz archive")
    np.save(tmp_path / "array.npy", np.zeros(3))
    raises_model_error(tmp_path / "array.npy", "single .npy array")
    np.savez(tmp_path / "other.npz", X=np.zeros((3, 2)), Y=np.ones(3))
    raises_model_error(tmp_path / "other.npz", r"without a 'header' entry; it holds \['X', 'Y'\]")
    np.savez(tmp_path / "strhead.npz", header=np.array("{}"))
    raises_model_error(tmp_path / "strhead.npz", "not UTF-8 JSON bytes")
    np.savez(tmp_path / "json.npz", header=np.frombuffer(b'{"format": "keras"}', dtype=np.uint8))
    raises_model_error(tmp_path / "json.npz", "header format 'keras'")
    np.savez(tmp_path / "garbage.npz", header=np.frombuffer(b"\xff{not json", dtype=np.uint8))
    raises_model_error(tmp_path / "garbage.npz", "corrupted header")


def test_pickled_arrays_are_never_loaded(tmp_path, good):
    evil = rewrite(good, tmp_path / "evil.npz", params=np.array([print], dtype=object))
    raises_model_error(evil, "cannot read array 'params'")


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.99])
def test_truncated_files_are_refused(tmp_path, good, keep):
    blob = good.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(blob[:int(len(blob) * keep)])
    raises_model_error(cut, "corrupted or truncated")


def test_corrupted_bytes_are_caught_by_the_checksums(tmp_path, good):
    blob = good.read_bytes()
    with zipfile.ZipFile(good) as archive:
        members = archive.infolist()
    assert sorted(m.filename for m in members) == ["exp_avg.npy", "exp_avg_sq.npy", "header.npy",
                                                   "params.npy"]
    for member in members:
        # the member's data follow its 30-byte local header, name and extra field
        name_len, extra_len = struct.unpack("<HH", blob[member.header_offset + 26:member.header_offset + 30])
        start = member.header_offset + 30 + name_len + extra_len
        for offset in (start, start + member.file_size // 2, start + member.file_size - 1):
            bad = bytearray(blob)
            bad[offset] ^= 0x10
            path = tmp_path / f"flip-{member.filename}-{offset}.npz"
            path.write_bytes(bytes(bad))
            raises_model_error(path, "corrupted")


def central_directory(blob):
    """The offsets of the central-directory entries of the zip archive ``blob``."""
    end = blob.rindex(b"PK\x05\x06")
    count, _, start = struct.unpack("<HII", blob[end + 10:end + 20])
    offsets = []
    for _ in range(count):
        offsets.append(start)
        name_len, extra_len, comment_len = struct.unpack("<HHH", blob[start + 28:start + 34])
        start += 46 + name_len + extra_len + comment_len
    return offsets


@pytest.mark.parametrize("field,bit,match", [
    (8, 0x01, "is encrypted, password required"),       # general purpose flags
    (8, 0x20, "compressed patched data"),
    (8, 0x40, "strong encryption"),
    (10, 0x01, "compression method is not supported"),  # compression method
    (6, 0x40, "zip file version"),                      # version needed to extract
])
def test_unsupported_zip_features_are_refused(tmp_path, good, field, bit, match):
    blob = good.read_bytes()
    entries = central_directory(blob)
    assert len(entries) == 4
    for entry in entries:
        bad = bytearray(blob)
        bad[entry + field] ^= bit
        path = tmp_path / f"zip-{entry}.npz"
        path.write_bytes(bytes(bad))
        raises_model_error(path, f"corrupted or truncated.*{match}")


def with_member(src, dst, name, data):
    """Copy the model file ``src`` to ``dst`` with the bytes ``data`` as its member ``name``."""
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w") as new:
        for member in old.infolist():
            new.writestr(member, data if member.filename == name else old.read(member))
    return dst


def npy_start(header):
    """The first bytes of an .npy file (format 1.0) whose header is ``header``."""
    text = header.ljust(117) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


PARAMS = "{'descr': '<f8', 'fortran_order': False, 'shape': (26,)}"


@pytest.mark.parametrize("name,data,match", [
    ("params.npy", npy_start(PARAMS.replace("26", "1099511627776")) + bytes(208),     # 8 TiB
     "cannot read array 'params'"),
    ("params.npy", npy_start(PARAMS[:-2]) + bytes(208),
     r"cannot read array 'params' \(\('EOF in multi-line statement'"),
    ("params.npy", npy_start(PARAMS + "'''") + bytes(208),
     r"cannot read array 'params' \(\('EOF in multi-line string'"),
    ("params.npy", b"not an array", r"cannot read array 'params' \(not in \.npy format\)"),
    ("header.npy", b'{"format": "backprop.Network"}', r"cannot read array 'header' \(not in \.npy format\)"),
])
def test_damaged_members_are_refused(tmp_path, good, name, data, match):
    raises_model_error(with_member(good, tmp_path / "bad.npz", name, data), match)


def test_version_1_files_load_as_float64(tmp_path, good):
    # a file of format 1, as backprop wrote it before the dtype: no "dtype" entry
    with np.load(good, allow_pickle=False) as archive:
        header = json.loads(archive["header"].tobytes())
    del header["dtype"]
    header["format_version"] = 1
    old = tmp_path / "v1.npz"
    with np.load(good, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files if name != "header"}
    np.savez(old, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8), **arrays)
    loaded, original = bp.load(old), bp.load(good)
    assert loaded.dtype == np.float64 and loaded.params.tobytes() == original.params.tobytes()
    # version 1 has no dtype entry, and version 2 needs one
    raises_model_error(rewrite(old, tmp_path / "v1dtype.npz", {"dtype": "float64"}),
                       r"unknown \['dtype'\] entries")
    raises_model_error(rewrite(old, tmp_path / "v2bare.npz", {"format_version": 2}),
                       r"missing \['dtype'\] entries")


def test_float32_files_hold_float32_arrays(tmp_path):
    net = trained("adam", dtype="float32")
    net.save(tmp_path / "f32.npz")
    assert io.read_header(tmp_path / "f32.npz")["dtype"] == "float32"
    raises_model_error(rewrite(tmp_path / "f32.npz", tmp_path / "mixed.npz", {"dtype": "float64"}),
                       r"array 'params' must hold 26 little-endian float64 \('<f8'\) values")
    raises_model_error(rewrite(tmp_path / "f32.npz", tmp_path / "half.npz", {"dtype": "float16"}),
                       "dtype must be 'float64' or 'float32', got 'float16'")
    raises_model_error(rewrite(tmp_path / "f32.npz", tmp_path / "obj.npz", {"dtype": {"a": 1}}),
                       "dtype must be 'float64' or 'float32'")


def test_future_versions_ask_for_an_upgrade(tmp_path, good):
    future = rewrite(good, tmp_path / "future.npz", {"format_version": 3, "backprop_version": "9.0"})
    raises_model_error(future, r"written by backprop 9\.0 in model format version 3; this backprop "
                               r"\(0\.1\.0\) reads versions up to 2: upgrade backprop")


@pytest.mark.parametrize("header,arrays,match", [
    ({"sizes": [3, 5, 2]}, {}, r"array 'params' must hold 32 little-endian float64"),
    ({"sizes": [3, 0, 2]}, {}, "sizes must be a list of at least two positive integers"),
    ({"activations": [{"name": "tanh"}, {"name": "swish"}]}, {}, r"unknown activation\[1\] 'swish'"),
    ({"activations": [{"name": "tanh"}]}, {}, "activations must be a list of 2 entries"),
    ({"activations": [{"name": "leaky_relu", "slope": -1}, {"name": "logistic"}]}, {},
     "LeakyReLU slope must be >= 0.0"),
    ({"activations": [{"name": "tanh", "slope": 1}, {"name": "logistic"}]}, {}, "takes no parameters"),
    ({"loss": {"name": "hinge"}}, {}, "unknown loss 'hinge'"),
    ({"loss": {"name": "huber"}}, {}, "must have exactly the entries 'name' and 'delta'"),
    ({"bias": "layer"}, {}, "bias must be 'neuron', 'shared' or 'none'"),
    ({"train_bias": 1}, {}, "train_bias must be true or false"),
    ({"optimizer": {"kind": "rmsprop"}}, {}, "kind 'sgd' or 'adam'"),
    ({"optimizer": {"kind": "adam", "beta1": 0.9}}, {}, "exactly the hyper-parameters"),
    ({"optimizer": {"kind": "adam", "beta1": 1.5, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0,
                    "decay_bias": False}}, {}, "beta1 must be < 1.0"),
    ({"optimizer": {"kind": []}}, {}, "kind 'sgd' or 'adam'"),
    ({"optimizer_steps": -1}, {}, r"corrupted header: optimizer_steps must be an integer from 0 to 2\*\*62"),
    ({"beta2_power": 2.0}, {}, r"beta2_power must be a number in \[0, 1\]"),
    ({"epochs_trained": 1.5}, {}, r"epochs_trained must be an integer from 0 to 2\*\*62"),
    ({"seed": "x"}, {}, "seed must be a non-negative integer"),
    ({"rng_state": {"bit_generator": "MT19937"}}, {}, "rng_state must be the state of a PCG64"),
    ({"rng_state": {"bit_generator": "PCG64", "state": {"state": -1, "inc": 3}, "has_uint32": 0,
                    "uinteger": 0}}, {}, "rng_state"),
    ({"epochs": 3}, {}, r"unknown \['epochs'\]"),
    ({"arrays": []}, {}, "'arrays' must describe 'params'"),
    ({}, {"params": np.zeros(26, dtype=np.float32)}, r"array 'params' is <f4 of shape \[26\], but the "
                                                     r"header says <f8 of shape \[26\]"),
    ({}, {"exp_avg": None}, r"holds the arrays \['exp_avg_sq', 'params'\] but its header lists"),
    ({}, {"extra": np.zeros(26)}, "holds the arrays"),
])
def test_inconsistent_contents_are_refused(tmp_path, good, header, arrays, match):
    path = rewrite(good, tmp_path / "bad.npz", header, **arrays)
    raises_model_error(path, match)


@pytest.mark.parametrize("field", ["samples_seen", "optimizer_steps"])
@pytest.mark.parametrize("value", [-1, 2 ** 62 + 1, 2 ** 63, 2 ** 64, 10 ** 4000, 1.5, True, "7"],
                         ids=["-1", "2**62+1", "2**63", "2**64", "10**4000", "1.5", "true", "string"])
def test_counters_beyond_2_to_the_62_are_refused(tmp_path, good, field, value):
    path = rewrite(good, tmp_path / "bad.npz", {field: value})
    error = raises_model_error(path, rf"corrupted header: {field} must be an integer from 0 to 2\*\*62")
    assert str(error).endswith(f"got {value!r:.200}")
    with pytest.raises(bp.ModelFileError, match=field):
        io.read_header(path)


def test_counters_of_2_to_the_62_are_accepted(tmp_path, good):
    path = rewrite(good, tmp_path / "edge.npz", {"samples_seen": 2 ** 62, "optimizer_steps": 2 ** 62})
    net = bp.load(path)
    assert net.samples_seen == 2 ** 62 and net._model.snapshot()[3][0] == 2 ** 62


@pytest.mark.parametrize("header,match", [
    ({"optimizer": {"kind": "sgd", "momentum": 10 ** 400, "nesterov": False, "weight_decay": 0.0,
                    "decay_bias": False}}, "invalid model: optimizer: "),
    ({"activations": [{"name": "leaky_relu", "slope": 10 ** 400}, {"name": "logistic"}]}, "invalid model"),
    ({"loss": {"name": "huber", "delta": 10 ** 400}}, "invalid model"),
])
def test_numbers_too_large_for_a_float_are_refused(tmp_path, good, header, match):
    raises_model_error(rewrite(good, tmp_path / "bad.npz", header), match)


@pytest.mark.parametrize("entry", ["has_uint32", "uinteger"])
def test_rng_state_entries_too_large_for_a_c_integer_are_refused(tmp_path, good, entry):
    rng_state = {**io.read_header(good)["rng_state"], entry: 2 ** 64}
    raises_model_error(rewrite(good, tmp_path / "bad.npz", {"rng_state": rng_state}), "invalid model: rng_state: ")


def with_header_text(src, dst, text):
    """Copy the model file ``src`` to ``dst`` with ``text`` as its header."""
    with np.load(src, allow_pickle=False) as archive:
        contents = {name: archive[name] for name in archive.files if name != "header"}
    np.savez(dst, header=np.frombuffer(text.encode(), dtype=np.uint8), **contents)
    return dst


def test_headers_beyond_pythons_json_limits_are_refused(tmp_path, good):
    text = json.dumps(io.read_header(good))
    digits = with_header_text(good, tmp_path / "digits.npz",
                              text.replace('"samples_seen": 13', '"samples_seen": ' + "9" * 5000))
    raises_model_error(digits, r"corrupted header \(JSON beyond Python's limits: Exceeds the limit "
                               r"\(\d+ digits\) for integer string conversion")
    nested = with_header_text(good, tmp_path / "nested.npz", "[" * 100_000 + "]" * 100_000)
    raises_model_error(nested, r"corrupted header \(JSON beyond Python's limits: maximum recursion depth")


@pytest.mark.parametrize("arrays,match", [
    ({"params": np.full(26, np.nan)}, r"array 'params' holds non-finite values \(at index 0\)"),
    ({"params": np.zeros(26, dtype=np.float32)}, "array 'params' must hold 26 little-endian float64"),
    ({"params": np.zeros(26, dtype=">f8")}, "array 'params' must hold 26 little-endian float64"),
    ({"params": np.zeros((2, 13))}, r"got <f8 of shape \(2, 13\)"),
    ({"exp_avg_sq": -np.ones(26)}, "negative values"),
    ({"exp_avg": None}, r"the arrays \['exp_avg'\] are missing: the Adam\(.*\) optimiser needs"),
    ({"momentum_buffer": np.zeros(26)}, r"unexpected arrays \['momentum_buffer'\] for the Adam\("),
])
def test_inconsistent_arrays_are_refused(tmp_path, good, arrays, match):
    path = rewrite(good, tmp_path / "bad.npz", relist=True, **arrays)
    raises_model_error(path, match)


def test_missing_momentum_buffer_is_refused(tmp_path):
    src = tmp_path / "m.npz"
    trained("momentum").save(src)
    path = rewrite(src, tmp_path / "bad.npz", relist=True, momentum_buffer=None)
    raises_model_error(path, r"the arrays \['momentum_buffer'\] are missing: the SGD\(momentum=0.9")


# ------------------------------------------------------------ pickle, copies
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_pickle_round_trip_is_bit_exact_and_continues_identically(optimizer):
    net = trained(optimizer)
    clone = pickle.loads(pickle.dumps(net))
    deep = copy.deepcopy(net)
    assert state_bytes(clone) == state_bytes(net) == state_bytes(deep)
    X, Y = data(seed=2)
    for n in (net, clone, deep):
        n.train(X, Y, epochs=2, lr=LR[optimizer], batch_size=3, shuffle=True)
    assert state_bytes(clone) == state_bytes(net) == state_bytes(deep)


def continue_training(blob):
    """Run in a worker process: unpickle a network, train it one more epoch."""
    net = pickle.loads(blob)
    X, Y = data(seed=2)
    net.train(X, Y, epochs=1, lr=0.01, shuffle=True)
    return net


def test_a_pickled_network_trains_in_a_spawned_process():
    net = trained("adam")
    local = net.copy()
    local.train(*data(seed=2), epochs=1, lr=0.01, shuffle=True)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        remote = pool.apply(continue_training, (pickle.dumps(net),))
    assert state_bytes(remote) == state_bytes(local)
