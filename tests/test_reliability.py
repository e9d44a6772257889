"""One test (or a few) per defect of issue 17, each failing on the code before
its fix: byte order and alignment, zip bombs, decompressor errors, the epoch
counter's bound, save's destinations and temporary files, signal handlers
that raise during train, torn snapshots, the owner token of a hold, the
trace a diverged first chunk left, where a divergence restores to, and
absurd sizes."""
import copy
import errno
import json
import os
import pickle
import re
import signal
import stat
import struct
import subprocess
import sys
import threading
import time
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

import backprop as bp
from backprop import io
from backprop import training as training_module

rng = np.random.default_rng(0)
X = rng.uniform(-1, 1, size=(40, 3))
Y = rng.uniform(0, 1, size=(40, 2))


def state(net):
    """Everything a save writes: parameters, optimiser state and counters,
    generator, epoch and sample counters, optimiser and seed."""
    m = net._model
    return (m.params.tobytes(), None if m.state1 is None else m.state1.tobytes(),
            None if m.state2 is None else m.state2.tobytes(), m.get_counters(), m.samples,
            net.epochs_trained, net._rng.bit_generator.state, net.optimizer, net.seed)


def unaligned(values):
    """A float64 copy of values whose data is not 8-byte aligned."""
    values = np.asarray(values, dtype=np.float64)
    raw = np.zeros(values.nbytes + 1, dtype=np.uint8)
    out = raw[1:].view(np.float64).reshape(values.shape)
    out[...] = values
    assert not out.flags.aligned
    return out


# ----------------------------------------------------- 1. byte order, alignment
@pytest.mark.parametrize("form", ["swapped", "unaligned"])
def test_streaming_reads_byte_swapped_and_unaligned_arrays_as_their_values(form):
    make = (lambda a: np.asarray(a).astype(">f8")) if form == "swapped" else unaligned
    net = bp.Network([3, 5, 2], seed=1)
    twin = net.copy()
    for x, t in zip(X[:10], Y[:10]):
        assert net.predict_one(make(x)).tobytes() == twin.predict_one(x).tobytes()
        assert net.learn_one(make(x), make(t), lr=0.3) == twin.learn_one(x, t, lr=0.3)
    assert state(net)[:5] == state(twin)[:5]
    bad = X[0].copy()
    bad[1] = np.nan
    before = state(net)
    with pytest.raises(ValueError, match=r"predict_one: x must be finite, but x\[1\] is nan"):
        net.predict_one(make(bad))
    with pytest.raises(ValueError, match=r"learn_one: x must be finite, but x\[1\] is nan"):
        net.learn_one(make(bad), Y[0])
    with pytest.raises(ValueError, match=r"learn_one: t must be finite, but t\[0\] is inf"):
        net.learn_one(X[0], np.r_[np.inf, Y[0][1:]])
    assert state(net) == before


@pytest.mark.parametrize("form", ["swapped", "unaligned"])
def test_every_entry_point_reads_byte_swapped_and_unaligned_arrays(form):
    make = (lambda a: np.asarray(a).astype(">f8")) if form == "swapped" else unaligned
    net = bp.Network([3, 5, 2], seed=2)
    twin = net.copy()
    assert net.predict(make(X)).tobytes() == twin.predict(X).tobytes()
    assert net.loss(make(X), make(Y)) == twin.loss(X, Y)
    assert net.trace(make(X[0]), make(Y[0])).error == twin.trace(X[0], Y[0]).error
    h1 = net.train(make(X), make(Y), epochs=2, lr=0.2, validation=(make(X), make(Y)))
    h2 = twin.train(X, Y, epochs=2, lr=0.2, validation=(X, Y))
    assert h1.loss.tobytes() == h2.loss.tobytes() and h1.val_loss.tobytes() == h2.val_loss.tobytes()
    assert state(net)[:6] == state(twin)[:6]
    W, b = [make(w) for w in twin.weights], [make(v) for v in twin.biases]
    assert bp.Network.from_weights(W, b).params.tobytes() == twin.params.tobytes()
    nan_X = X.copy()
    nan_X[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"X must be finite.*X\[3, 2\] is nan"):
        net.train(make(nan_X), Y)


# --------------------------------------------------------------- 2. zip bombs
def good_file(tmp_path, name="good.npz"):
    path = tmp_path / name
    net = bp.Network([3, 4, 2], seed=0)
    net.train(X, Y, epochs=1, optimizer=bp.Adam())
    net.save(path)
    return path


def replace_member(src, dst, name, data, method=zipfile.ZIP_DEFLATED):
    """src with member `name` replaced by `data` (compressed with `method`)."""
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w") as new:
        for info in old.infolist():
            payload = data if info.filename == name else old.read(info)
            new.writestr(info.filename, payload, compress_type=method)
    return dst


def npy_bytes_of_zeros(n_values):
    """An .npy file of n_values float64 zeros, streamed (never held whole)."""
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (%d,), }" % n_values
    header = header.ljust(117) + "\n"
    start = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1")
    return start, 8 * n_values


def deflated_member(start, n_zero_bytes):
    """(compressed bytes, crc) of start + n_zero_bytes zero bytes."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = bytes(1 << 20)
    out = [comp.compress(start)]
    crc = zlib.crc32(start)
    left = n_zero_bytes
    while left:
        piece = block[:min(left, len(block))]
        out.append(comp.compress(piece))
        crc = zlib.crc32(piece, crc)
        left -= len(piece)
    out.append(comp.flush())
    return b"".join(out), crc


def with_raw_member(src, dst, name, compressed, crc, size):
    """src with member `name` replaced by already deflated bytes."""
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w") as new:
        for info in old.infolist():
            if info.filename != name:
                new.writestr(info.filename, old.read(info))
    # append the member by hand: zipfile would compress it again
    blob = bytearray(open(dst, "rb").read())
    end = blob.rindex(b"PK\x05\x06")
    count, cd_size, cd_start = struct.unpack("<HII", blob[end + 10:end + 20])
    central = bytes(blob[cd_start:cd_start + cd_size])
    body = bytes(blob[:cd_start])
    fname = name.encode()
    offset = len(body)
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(compressed),
                        size, len(fname), 0) + fname
    entry = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc,
                        len(compressed), size, len(fname), 0, 0, 0, 0, 0, offset) + fname
    new_body = body + local + compressed
    new_central = central + entry
    eocd = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count + 1, count + 1, len(new_central),
                       len(new_body), 0)
    open(dst, "wb").write(new_body + new_central + eocd)
    return dst


def peak_bytes(fn):
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("reader", [bp.load, io.read_header])
def test_a_deflated_params_member_bigger_than_the_header_says_is_never_decompressed(tmp_path, reader):
    good = good_file(tmp_path)
    start, n = npy_bytes_of_zeros(1 << 24)              # 128 MiB of zeros, ~130 KB deflated
    compressed, crc = deflated_member(start, n)
    bomb = with_raw_member(good, tmp_path / "bomb.npz", "params.npy", compressed, crc, len(start) + n)
    assert os.path.getsize(bomb) < 1 << 20
    with zipfile.ZipFile(bomb) as z:                    # a well-formed bomb: zipfile would inflate it
        assert z.getinfo("params.npy").file_size == len(start) + n

    def load():
        with pytest.raises(bp.ModelFileError, match=r"member 'params.npy' declares 134217856 bytes, "
                                                    r"but its header's sizes allow at most"):
            reader(bomb)
    assert peak_bytes(load) < 4 << 20


def test_a_header_member_beyond_a_mebibyte_is_never_decompressed(tmp_path):
    good = good_file(tmp_path)
    header = json.dumps(io.read_header(good)).encode()
    text = header[:-1] + b" " * (64 << 20) + b"}"     # valid JSON, 64 MiB of spaces
    start = b"\x93NUMPY\x01\x00"
    h = ("{'descr': '|u1', 'fortran_order': False, 'shape': (%d,), }" % len(text)).ljust(117) + "\n"
    start += struct.pack("<H", len(h)) + h.encode("latin1")
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    compressed = comp.compress(start + text) + comp.flush()
    bomb = with_raw_member(good, tmp_path / "bomb.npz", "header.npy", compressed,
                           zlib.crc32(start + text), len(start) + len(text))
    del text

    def load():
        for reader in (bp.load, io.read_header):
            with pytest.raises(bp.ModelFileError, match=r"the header member may hold at most 1048576"):
                reader(bomb)
    assert peak_bytes(load) < 4 << 20


def test_an_npy_header_that_disagrees_with_the_member_size_is_refused(tmp_path):
    good = good_file(tmp_path)
    n = io.read_header(good)["arrays"]["params"]["shape"][0]
    start, _ = npy_bytes_of_zeros(n)
    short = replace_member(good, tmp_path / "short.npz", "params.npy", start + bytes(8 * n - 8))
    with pytest.raises(bp.ModelFileError, match="describes 208 bytes of data, but the member holds 200"):
        bp.load(short)


# ------------------------------------------------------ 3. decompressor errors
@pytest.mark.parametrize("method,label", [(zipfile.ZIP_LZMA, "LZMA"), (zipfile.ZIP_BZIP2, "bzip2")])
def test_lzma_and_bzip2_members_are_refused_before_decompressing(tmp_path, method, label):
    good = good_file(tmp_path)
    with zipfile.ZipFile(good) as old, zipfile.ZipFile(tmp_path / "c.npz", "w", method) as new:
        for info in old.infolist():
            new.writestr(info.filename, old.read(info))
    with pytest.raises(bp.ModelFileError, match=rf"'header.npy' is compressed with {label}; that "
                                                "compression method is not supported"):
        bp.load(tmp_path / "c.npz")


def test_decompressor_errors_are_model_file_errors():
    import lzma

    assert lzma.LZMAError in io.ARCHIVE_ERRORS and struct.error in io.ARCHIVE_ERRORS
    assert zlib.error in io.ARCHIVE_ERRORS


def test_a_damaged_deflated_member_is_a_model_file_error(tmp_path):
    good = good_file(tmp_path)
    deflated = replace_member(good, tmp_path / "d.npz", "params.npy",
                              zipfile.ZipFile(good).read("params.npy"))
    blob = bytearray(deflated.read_bytes())
    info = zipfile.ZipFile(deflated).getinfo("params.npy")
    data_at = info.header_offset + 30 + len(info.filename)
    for offset in range(data_at, data_at + info.compress_size, 7):
        bad = bytearray(blob)
        bad[offset] ^= 0xA5
        (tmp_path / "x.npz").write_bytes(bytes(bad))
        with pytest.raises(bp.ModelFileError):
            bp.load(tmp_path / "x.npz")


# ------------------------------------------------------------- 4. epoch count
def rewrite_header(src, dst, **fields):
    with zipfile.ZipFile(src) as old:
        header = json.loads(np.lib.format.read_array(old.open("header.npy")).tobytes())
        arrays = {i.filename[:-4]: np.lib.format.read_array(old.open(i))
                  for i in old.infolist() if i.filename != "header.npy"}
    header.update(fields)
    np.savez(dst, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8), **arrays)
    return dst


def test_epochs_trained_is_bounded_in_a_file_like_the_other_counters(tmp_path):
    good = good_file(tmp_path)
    for value in (2 ** 70, 2 ** 62 + 1, -1):
        bad = rewrite_header(good, tmp_path / "bad.npz", epochs_trained=value)
        for reader in (bp.load, io.read_header):
            with pytest.raises(bp.ModelFileError,
                               match=r"epochs_trained must be an integer from 0 to 2\*\*62"):
                reader(bad)
    edge = bp.load(rewrite_header(good, tmp_path / "edge.npz", epochs_trained=2 ** 62 - 3))
    assert list(edge.train(X, Y, epochs=2).epoch) == [2 ** 62 - 3, 2 ** 62 - 2]
    before = state(edge)
    with pytest.raises(ValueError, match="epochs=2 would take the network's epoch count past"):
        edge.train(X, Y, epochs=2)
    assert state(edge) == before


# ------------------------------------------------------------ 5. destinations
@pytest.fixture
def net():
    n = bp.Network([3, 4, 2], seed=3)
    n.train(X, Y, epochs=1)
    return n


def test_save_through_a_symlink_replaces_its_target_and_keeps_the_link(tmp_path, net):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "model.npz"
    bp.Network([3, 4, 2], seed=9).save(target)
    link = tmp_path / "link.npz"
    link.symlink_to(os.path.join("real", "model.npz"))
    net.save(link)
    assert link.is_symlink() and os.readlink(link) == os.path.join("real", "model.npz")
    assert bp.load(target).params.tobytes() == net.params.tobytes()
    assert sorted(os.listdir(tmp_path / "real")) == ["model.npz"]
    assert sorted(os.listdir(tmp_path)) == ["link.npz", "real"]
    dangling = tmp_path / "dangling.npz"
    dangling.symlink_to(tmp_path / "real" / "new.npz")
    net.save(dangling)
    assert dangling.is_symlink() and bp.load(tmp_path / "real" / "new.npz").params.tobytes() == \
        net.params.tobytes()


def test_save_refuses_destinations_that_are_not_regular_files(tmp_path, net):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(FileExistsError, match=f"cannot save to {re.escape(str(fifo))}: it is a FIFO") as info:
        net.save(fifo)
    assert info.value.filename == str(fifo) and stat.S_ISFIFO(os.stat(fifo).st_mode)
    with pytest.raises(IsADirectoryError, match="it is a directory"):
        net.save(tmp_path)
    if os.path.exists("/dev/full"):
        with pytest.raises(FileExistsError, match="cannot save to /dev/full: it is a device"):
            net.save("/dev/full")
        assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
    fifo_link = tmp_path / "to-fifo"
    fifo_link.symlink_to(fifo)
    with pytest.raises(FileExistsError, match="it is a FIFO"):
        net.save(fifo_link)
    assert sorted(os.listdir(tmp_path)) == ["fifo", "to-fifo"]


def test_save_names_the_users_path_in_its_errors(tmp_path, net, monkeypatch):
    with pytest.raises(ValueError, match="path is empty"):
        net.save("")
    slash = str(tmp_path / "model.npz") + os.sep
    with pytest.raises(IsADirectoryError, match=re.escape(f"cannot save to {slash}: the path ends with")):
        net.save(slash)
    real_open = os.open

    def refused(path, *args, **kwargs):
        if str(path).endswith(".tmp"):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(os, "open", refused)
    with pytest.raises(PermissionError, match=re.escape(f"cannot save to {tmp_path / 'm.npz'}")) as info:
        net.save(tmp_path / "m.npz")
    assert ".tmp" not in str(info.value) and info.value.filename == str(tmp_path / "m.npz")


def test_a_write_error_names_the_users_path_and_leaves_no_temporary_file(tmp_path, net, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "fsync", full)
    path = tmp_path / "model.npz"
    with pytest.raises(OSError, match=re.escape(f"cannot save to {path}: No space left on device")) as info:
        net.save(path)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(path)
    assert os.listdir(tmp_path) == []


def test_temporary_names_are_short_recognisable_and_flushed(tmp_path, net, monkeypatch):
    long_name = "m" * 251 + ".npz"                       # 255 bytes: NAME_MAX on Linux
    seen = []
    real_fsync = os.fsync

    def fsync(fd):
        mode = os.fstat(fd).st_mode
        seen.append(("dir" if stat.S_ISDIR(mode) else "file", sorted(os.listdir(tmp_path))))
        real_fsync(fd)
    monkeypatch.setattr(os, "fsync", fsync)
    net.save(tmp_path / long_name)
    assert [kind for kind, _ in seen] == ["file", "dir"]
    temp = seen[0][1]
    assert len(temp) == 1 and re.fullmatch(r"\.m{24}\.bp-[0-9a-f]{6}\.tmp", temp[0])
    assert seen[1][1] == [long_name]                    # renamed before the directory's fsync
    assert bp.load(tmp_path / long_name).params.tobytes() == net.params.tobytes()


def test_save_keeps_the_replaced_files_permissions(tmp_path, net):
    path = tmp_path / "m.npz"
    net.save(path)
    os.chmod(path, 0o600)
    net.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


KILLED_SAVER = """
import sys, numpy as np, backprop as bp
net = bp.Network([400, 400, 400, 10], seed=int(sys.argv[2]))
print("ready", flush=True)
while True:
    net.save(sys.argv[1])
"""


def test_a_killed_save_leaves_the_old_or_the_new_file_and_a_recognisable_orphan(tmp_path):
    path = tmp_path / "big.npz"
    bp.Network([400, 400, 400, 10], seed=0).save(path)
    seeds = {bp.load(path).params[:4].tobytes()}
    for trial in range(1, 4):
        seeds.add(bp.Network([400, 400, 400, 10], seed=trial).params[:4].tobytes())
        proc = subprocess.Popen([sys.executable, "-c", KILLED_SAVER, str(path), str(trial)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.05 + 0.1 * trial)
        proc.kill()
        proc.wait()
        proc.stdout.close()
        assert bp.load(path).params[:4].tobytes() in seeds
        for name in os.listdir(tmp_path):
            assert name == "big.npz" or re.fullmatch(r"\.big\.npz\.bp-[0-9a-f]{6}\.tmp", name), name


# ---------------------------------------------------------- 6. signal handlers
class Timeout(Exception):
    pass


def consistent(net, X, Y, make, **train):
    """net's parameters and optimiser state are those of a fresh network
    trained for exactly the epochs its counters record."""
    reference = make()
    epochs = net.epochs_trained
    assert net.samples_seen == epochs * len(X)
    if epochs:
        reference.train(X, Y, epochs=epochs, **train)
    assert state(net)[:6] == state(reference)[:6]
    assert net._rng.bit_generator.state == reference._rng.bit_generator.state


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs signal.setitimer (POSIX)")
@pytest.mark.parametrize("threads", [1, 2])
def test_a_raising_signal_handler_leaves_the_network_consistent(monkeypatch, threads):
    monkeypatch.setattr(training_module, "CHUNK_WORK", 200_000)
    data = np.random.default_rng(5)
    Xs, Ys = data.normal(size=(64, 8)), data.normal(size=(64, 3))

    def make():
        return bp.Network([8, 24, 3], activation=["tanh", "identity"], seed=4)
    train = dict(lr=0.01, batch_size=4, optimizer=bp.Adam(), shuffle=True, seed=1, threads=threads)

    def alarm(signum, frame):
        raise Timeout()
    previous = signal.signal(signal.SIGALRM, alarm)
    interrupted = 0
    try:
        for delay in (0.003, 0.011, 0.023, 0.037, 0.061):
            net = make()
            signal.setitimer(signal.ITIMER_REAL, delay)
            try:
                net.train(Xs, Ys, epochs=3000, **train)
            except Timeout:
                interrupted += 1
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            consistent(net, Xs, Ys, make, **train)
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert interrupted


def test_an_exception_between_a_chunk_and_its_counters_puts_back_the_chunks_start(monkeypatch):
    monkeypatch.setattr(training_module, "CHUNK_WORK", 40 * (26 + 6 + training_module.STEP_COST) * 3)
    calls = []
    original = training_module._Run.keep_records

    def keep_records(run, record):
        calls.append(1)
        if len(calls) == 4:
            raise Timeout()         # right after the 4th compiled call, before its counters
        original(run, record)
    monkeypatch.setattr(training_module._Run, "keep_records", keep_records)

    def make():
        return bp.Network([3, 4, 2], seed=6)
    net = make()
    with pytest.raises(Timeout):
        net.train(X, Y, epochs=30, lr=0.2, optimizer=bp.SGD(momentum=0.9), shuffle=True)
    assert net.epochs_trained == 9                      # three epochs per chunk, three chunks
    monkeypatch.setattr(training_module._Run, "keep_records", original)
    consistent(net, X, Y, make, lr=0.2, optimizer=bp.SGD(momentum=0.9), shuffle=True)


# ---------------------------------------------------------- 7. torn snapshots
def train_in_background(net, **train):
    started = threading.Event()
    errors = []

    def work():
        try:
            net.train(callbacks=[lambda *a: started.set()], **train)
        except BaseException as exc:    # reported by the test
            errors.append(exc)
        started.set()
    worker = threading.Thread(target=work)
    worker.start()
    started.wait()
    return worker, errors


def test_snapshots_are_refused_while_another_thread_trains(tmp_path):
    data = np.random.default_rng(1)
    Xs, Ys = data.normal(size=(300, 20)), data.uniform(size=(300, 5))
    net = bp.Network([20, 60, 5], seed=0)
    worker, errors = train_in_background(net, X=Xs, Y=Ys, epochs=400, lr=0.001)
    try:
        # each refusal names what was asked for
        refused = {
            "copy": lambda: net.copy(), "deepcopy": lambda: copy.deepcopy(net),
            "shallow copy": lambda: copy.copy(net), "pickle": lambda: pickle.dumps(net),
            "trace": lambda: net.trace(Xs[0], Ys[0], lr=0.1),
            "save": lambda: net.save(tmp_path / "m.npz")}
        for what, call in refused.items():
            if not worker.is_alive():
                break
            word = {"deepcopy": "copy", "shallow copy": "copy"}.get(what, what)
            with pytest.raises(RuntimeError,
                               match=f"cannot {word} this network while another thread trains or holds it"):
                call()
    finally:
        worker.join()
    assert not errors and net.epochs_trained == 400
    assert not (tmp_path / "m.npz").exists() and os.listdir(tmp_path) == []
    net.save(tmp_path / "m.npz")            # and after train returns they work
    assert pickle.loads(pickle.dumps(net)).params.tobytes() == net.params.tobytes()


def test_a_callback_of_the_training_thread_saves_a_consistent_checkpoint(tmp_path):
    def make():
        return bp.Network([3, 4, 2], seed=8)
    net = make()

    def checkpoint(epoch, history, network):
        network.save(tmp_path / f"e{epoch}.npz")
        copy.deepcopy(network)
    net.train(X, Y, epochs=4, lr=0.3, shuffle=True, callbacks=[checkpoint])
    for epoch in range(4):
        saved = bp.load(tmp_path / f"e{epoch}.npz")
        assert saved.epochs_trained == epoch + 1
        consistent(saved, X, Y, make, lr=0.3, shuffle=True)


# ------------------------------------------------------------ 8. owner token
def test_only_the_holder_releases_a_network():
    net = bp.Network([3, 4, 2], seed=0)
    token = net._model.lock()
    assert token > 0 and net._model.busy == token
    for stray in (0, token + 1, -token):
        with pytest.raises(RuntimeError, match=f"token {stray} does not hold this network"):
            net._model.unlock(stray)
    with pytest.raises(RuntimeError, match="being trained already"):
        net.train(X, Y)
    net._model.unlock(token)
    with pytest.raises(RuntimeError, match="is not held"):
        net._model.unlock(token)            # a second release of the same hold
    assert net._model.lock() != token       # every hold has a token of its own


def test_a_stray_release_cannot_let_a_second_trainer_in():
    data = np.random.default_rng(2)
    Xs, Ys = data.normal(size=(200, 20)), data.uniform(size=(200, 5))
    net = bp.Network([20, 40, 5], seed=0)
    worker, errors = train_in_background(net, X=Xs, Y=Ys, epochs=40, lr=0.001)
    try:
        for guess in range(0, 50):
            if not worker.is_alive():
                break
            with pytest.raises(RuntimeError):
                net._model.unlock(guess if guess != net._model.busy else -1)
        with pytest.raises(RuntimeError, match="being trained already"):
            net.train(Xs, Ys, epochs=200)
    finally:
        worker.join()
    assert not errors and net.epochs_trained == 40


# ------------------------------------------- 9. a first chunk that diverges
def test_a_diverged_first_chunk_leaves_no_optimiser_state_behind(tmp_path):
    net = bp.Network([3, 4, 2], activation=["relu", "identity"], seed=0)
    net.train(X, Y, epochs=1)
    net.save(tmp_path / "before.npz")
    before = state(net)
    with pytest.raises(bp.DivergenceError, match="its first epoch diverged"):
        net.train(X * 1e200, Y, epochs=3, lr=1e200, optimizer=bp.SGD(momentum=0.9))
    assert state(net) == before and net._model.state1 is None
    net.save(tmp_path / "after.npz")
    with zipfile.ZipFile(tmp_path / "after.npz") as z:
        assert sorted(z.namelist()) == ["header.npy", "params.npy"]
    assert io.read_header(tmp_path / "after.npz") == io.read_header(tmp_path / "before.npz")


# ------------------------------------------- 10. where a divergence restores
def growing(epoch):
    return 0.002 * 2.0 ** epoch


def rising(epoch):           # Adam: the loss overflows first
    return 1e-3 * 10.0 ** min(epoch, 300)


def soaring(epoch):          # Adam: the parameters overflow first
    return 1e-3 * 1e30 ** min(epoch, 10)


def diverge(net, lr=growing, **train):
    with pytest.raises(bp.DivergenceError) as info:
        net.train(X * 3, Y * 3, epochs=400, lr=lr, **train)
    return info.value


@pytest.mark.parametrize("train", [
    dict(), dict(shuffle=True, optimizer=bp.Adam(), lr=rising),
    dict(shuffle=True, optimizer=bp.Adam(), lr=soaring),
    dict(batch_size=4, optimizer=bp.SGD(momentum=0.5)), dict(shuffle=True, record_every=7),
    # the replay of the finite epochs weighs their samples as the call did
    dict(batch_size=4, optimizer=bp.SGD(momentum=0.5), sample_weight=np.linspace(0.5, 2.0, len(X)))],
    ids=["sgd", "adam-loss", "adam-params", "batches", "records", "weighted-batches"])
def test_a_divergence_inside_a_chunk_keeps_every_finite_epoch(train):
    def make():
        return bp.Network([3, 6, 2], activation=["relu", "identity"], seed=0)
    train = dict(train)
    lr = train.pop("lr", growing)
    net = make()
    err = diverge(net, lr, **train)
    assert err.epoch >= 2 and err.restored_epoch == err.epoch == net.epochs_trained
    assert f"diverged in epoch {err.epoch + 1} of this call" in str(err)
    assert f"restored to the end of epoch {err.epoch} of this call, its last finite epoch" in str(err)
    assert f"nothing of epoch {err.epoch + 1} is kept" in str(err)
    reference = make()
    hist = reference.train(X * 3, Y * 3, epochs=err.epoch, lr=lr, **train)
    assert state(net)[:6] == state(reference)[:6]
    assert net._rng.bit_generator.state == reference._rng.bit_generator.state
    assert err.history.loss.tobytes() == hist.loss.tobytes()
    assert err.history.record.tobytes() == hist.record.tobytes()


def test_an_epoch_over_several_chunks_restores_its_start(monkeypatch):
    def make():
        return bp.Network([3, 6, 2], activation=["relu", "identity"], seed=0)
    monkeypatch.setattr(training_module, "CHUNK_WORK", 7 * (44 + 8 + training_module.STEP_COST))
    net = make()
    err = diverge(net)
    assert err.epoch > 2 and err.restored_epoch == err.epoch == net.epochs_trained
    reference = make()
    reference.train(X * 3, Y * 3, epochs=err.epoch, lr=growing)
    assert state(net)[:6] == state(reference)[:6]


def test_without_an_epoch_snapshot_the_text_says_what_is_kept(monkeypatch):
    def make():
        return bp.Network([3, 6, 2], activation=["relu", "identity"], seed=0)
    monkeypatch.setattr(training_module, "CHUNK_WORK", 7 * (44 + 8 + training_module.STEP_COST))
    monkeypatch.setattr(training_module, "EPOCH_SNAPSHOT_BYTES", 0)
    net = make()
    err = diverge(net)
    within = net.samples_seen - err.restored_epoch * len(X)
    assert within > 0 and within % 7 == 0
    assert (f"restored to the start of the last compiled chunk, {within} samples into epoch "
            f"{err.epoch + 1}") in str(err)
    assert f"epoch {err.epoch + 1} is kept up to there" in str(err)
    reference = make()
    reference.train(X * 3, Y * 3, epochs=err.epoch, lr=growing)
    reference.train(X[:within] * 3, Y[:within] * 3, epochs=1, lr=growing(err.epoch))
    assert state(net)[:5] == state(reference)[:5]


# ------------------------------------------------------------ 11. absurd sizes
def test_absurd_sizes_say_how_much_memory_they_need():
    with pytest.raises(MemoryError, match=r"sizes \[1000000, 1000000\] make a network of "
                                          r"1,000,001,000,000 parameters: it needs 7,450\.6 GiB"):
        bp.Network([10 ** 6, 10 ** 6])
    with pytest.raises(ValueError, match=r"sizes .* more than a float64 vector can hold"):
        bp.Network([2 ** 40, 2 ** 40])


def test_construction_makes_no_temporary_copy_of_the_weights():
    sizes = [1500, 1500, 1]
    n_params = 1500 * 1501 + 1 * 1501
    # parameters and the gradient workspace, one vector each; nothing else as large
    assert peak_bytes(lambda: bp.Network(sizes, seed=0)) < 8 * n_params * 2.1
    assert peak_bytes(lambda: bp.Network(sizes, init="he_normal", seed=0)) < 8 * n_params * 2.1


def test_save_refuses_non_finite_parameters_and_keeps_the_file(tmp_path):
    # params and the weight views are writable: a NaN written into them would
    # make a file that load refuses, replacing a good one
    net = bp.Network([3, 4, 2], seed=0)
    path = tmp_path / "m.npz"
    net.save(path)
    before = path.read_bytes()
    net.weights[1][0, 2] = np.nan
    with pytest.raises(ValueError, match=r"cannot save net: its parameters hold a non-finite "
                                         r"value \(nan at index 18"):
        net.save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.npz"]
    net.params[18] = 0.5
    net.save(path)
    assert bp.load(path).params.tobytes() == net.params.tobytes()
