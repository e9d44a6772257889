"""A bounded fuzz of model files: a few thousand mutations of valid files,
from a fixed seed (the same files on every run).

Zip-level mutations (truncation, flipped bytes in local headers, the
central directory and the end record, changed compression methods, LZMA and
bzip2 members, oversized and undersized declared sizes, inserted and deleted
bytes) and content-level ones (hostile JSON values, garbled .npy headers).
``load`` and ``read_header`` must raise ``ModelFileError`` and nothing else
(no zlib/LZMA/struct error, no MemoryError, no crash), or, where the
mutation touched nothing they read, give back the very same network.
"""
import io as stdio
import json
import struct
import zipfile

import numpy as np
import pytest

import backprop as bp
from backprop import io

SEED = 20261207


def saved(tmp_path, name, optimizer):
    X = np.random.default_rng(0).uniform(size=(8, 3))
    net = bp.Network([3, 5, 2], seed=0)
    net.train(X, X[:, :2], epochs=2, optimizer=optimizer, shuffle=True)
    path = tmp_path / name
    net.save(path)
    return path, net


def state(net):
    m = net._model
    return (m.params.tobytes(), None if m.state1 is None else m.state1.tobytes(),
            None if m.state2 is None else m.state2.tobytes(), m.get_counters(), m.samples,
            net.epochs_trained, net._rng.bit_generator.state, net.optimizer, net.seed)


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    return tmp, [saved(tmp, "adam.npz", bp.Adam()), saved(tmp, "momentum.npz", bp.SGD(momentum=0.9))]


def structure(blob):
    """Offsets of the zip structures: local headers, central entries, end record."""
    end = blob.rindex(b"PK\x05\x06")
    count, _, start = struct.unpack("<HII", blob[end + 10:end + 20])
    central, local = [], []
    for _ in range(count):
        central.append(start)
        local.append(struct.unpack("<I", blob[start + 42:start + 46])[0])
        name_len, extra_len, comment_len = struct.unpack("<HHH", blob[start + 28:start + 34])
        start += 46 + name_len + extra_len + comment_len
    return local, central, end


def check(path, expected):
    """load and read_header refuse the file with ModelFileError only, or load
    the expected network unchanged (expected None: a header rewritten with
    consistent values may describe another network, which must then work)."""
    try:
        net = bp.load(path)
    except bp.ModelFileError as exc:
        assert str(path) in str(exc)
    else:
        if expected is None:
            assert np.isfinite(net.params).all()
            assert np.isfinite(net.predict(np.zeros(net.sizes[0]))).all()
        else:
            assert state(net) == expected, "a mutated file loaded as a different network"
    try:
        io.read_header(path)
    except bp.ModelFileError:
        pass


def mutations(blob, rng):
    """(kind, bytes) of mutated archives, a bounded number of each kind."""
    local, central, end = structure(blob)
    n = len(blob)
    for cut in rng.integers(0, n, 120):
        yield "truncated", blob[:cut]
    for _ in range(300):
        bad = bytearray(blob)
        for at in rng.integers(0, n, rng.integers(1, 6)):
            bad[at] ^= int(rng.integers(1, 256))
        yield "flipped", bytes(bad)
    structures = [(o, 30) for o in local] + [(o, 46) for o in central] + [(end, 22)]
    for _ in range(300):
        start, length = structures[rng.integers(len(structures))]
        bad = bytearray(blob)
        bad[start + int(rng.integers(length))] ^= int(rng.integers(1, 256))
        yield "flipped structure", bytes(bad)
    for _ in range(150):
        bad = bytearray(blob)
        method = int(rng.choice([1, 6, 8, 9, 12, 14, 93, 95, 98, 99, int(rng.integers(65536))]))
        for o in rng.permutation(local)[:rng.integers(1, len(local) + 1)]:
            struct.pack_into("<H", bad, o + 8, method)
        if rng.random() < 0.7:
            for o in rng.permutation(central)[:rng.integers(1, len(central) + 1)]:
                struct.pack_into("<H", bad, o + 10, method)
        yield "method", bytes(bad)
    sizes = [0, 1, 7, 2 ** 16, 2 ** 28, 2 ** 31, 2 ** 32 - 1, 0xFFFFFFFF]
    for _ in range(250):
        bad = bytearray(blob)
        value = int(rng.choice(sizes)) if rng.random() < 0.6 else int(rng.integers(2 ** 32))
        which = rng.integers(4)
        if which == 0:      # uncompressed size in the central directory
            struct.pack_into("<I", bad, int(rng.choice(central)) + 24, value)
        elif which == 1:    # compressed size in the central directory
            struct.pack_into("<I", bad, int(rng.choice(central)) + 20, value)
        elif which == 2:    # sizes in a local header
            struct.pack_into("<II", bad, int(rng.choice(local)) + 18, value, value)
        else:               # the central directory's size or offset in the end record
            struct.pack_into("<I", bad, end + int(rng.choice([12, 16])), value)
        yield "sizes", bytes(bad)
    for _ in range(100):
        at = int(rng.integers(n))
        if rng.random() < 0.5:
            yield "deleted", blob[:at] + blob[at + int(rng.integers(1, 64)):]
        else:
            yield "inserted", blob[:at] + rng.bytes(int(rng.integers(1, 64))) + blob[at:]


def recompressed(src, method, rng):
    """src's members written with another compression method, some damaged."""
    with zipfile.ZipFile(src) as old:
        members = [(i.filename, old.read(i)) for i in old.infolist()]
    buffer = stdio.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as new:
        for name, data in members:
            new.writestr(name, data)
    blob = buffer.getvalue()
    yield "recompressed", blob
    local, _, _ = structure(blob)
    for _ in range(40):
        bad = bytearray(blob)
        o = int(rng.choice(local))
        name_len, extra_len = struct.unpack("<HH", blob[o + 26:o + 30])
        size = struct.unpack("<I", blob[o + 18:o + 22])[0]
        data = o + 30 + name_len + extra_len
        for at in rng.integers(data, data + max(size, 1), rng.integers(1, 4)):
            bad[at] ^= int(rng.integers(1, 256))
        yield "damaged recompressed", bytes(bad)


HOSTILE = [None, True, -1, 0, 2 ** 64, 10 ** 30, 1.5, float("nan"), float("inf"), "", "x" * 1000,
           [], [1, 2], {}, {"name": "tanh"}, [[[]]], [3, 10 ** 9, 2], [3, 0], [2 ** 31] * 3,
           {"kind": "adam"}, "backprop.Network"]


def rewritten(src, rng):
    """src with one header entry (or the arrays' list) replaced by a hostile value."""
    with zipfile.ZipFile(src) as old:
        header = json.loads(np.lib.format.read_array(old.open("header.npy")).tobytes())
        arrays = {i.filename[:-4]: np.lib.format.read_array(old.open(i))
                  for i in old.infolist() if i.filename != "header.npy"}
    for _ in range(200):
        h = json.loads(json.dumps(header))
        key = str(rng.choice(sorted(h)))
        value = HOSTILE[rng.integers(len(HOSTILE))]
        if isinstance(h[key], dict) and h[key] and rng.random() < 0.5:
            h[key][str(rng.choice(sorted(h[key])))] = value
        else:
            h[key] = value
        buffer = stdio.BytesIO()
        np.savez(buffer, header=np.frombuffer(json.dumps(h).encode(), dtype=np.uint8), **arrays)
        yield "header " + key, buffer.getvalue()
    blob = open(src, "rb").read()
    for _ in range(150):     # garbled .npy headers of stored members (the dict text)
        bad = bytearray(blob)
        local, _, _ = structure(blob)
        o = int(rng.choice(local))
        name_len, extra_len = struct.unpack("<HH", blob[o + 26:o + 30])
        data = o + 30 + name_len + extra_len
        at = data + int(rng.integers(0, 128))
        bad[at] = int(rng.choice(list(b"(),:'{}0123456789 \n\x00\xff")))
        yield "npy header", bytes(bad)


def test_mutated_model_files_raise_only_model_file_errors(originals):
    tmp, files = originals
    rng = np.random.default_rng(SEED)
    counts = {}
    for src, net in files:
        expected = state(net)
        blob = src.read_bytes()
        cases = list(mutations(blob, rng))
        for method in (zipfile.ZIP_DEFLATED, zipfile.ZIP_LZMA, zipfile.ZIP_BZIP2):
            cases += recompressed(src, method, rng)
        cases += rewritten(src, rng)
        for i, (kind, data) in enumerate(cases):
            path = tmp / f"mutant-{i}.npz"
            path.write_bytes(data)
            try:
                check(path, None if kind.startswith("header ") else expected)
            except AssertionError:
                raise
            except Exception as exc:
                raise AssertionError(f"{kind} mutation {i} raised {type(exc).__name__}: {exc}") from exc
            path.unlink()
            counts[kind] = counts.get(kind, 0) + 1
    assert sum(counts.values()) > 2500
