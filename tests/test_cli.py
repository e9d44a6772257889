"""The command line, end to end in subprocesses (and its error messages in-process)."""
import csv
import importlib.util
import io
import json
import os
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import backprop as bp
from backprop._cli_data import _read_csv
from backprop.cli import main
from backprop.io import read_header

HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
# the subprocesses import the backprop these tests import, from any directory
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    [os.path.dirname(os.path.dirname(bp.__file__)), os.environ.get("PYTHONPATH", "")])}


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "backprop", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=ENV)


def one_line_error(proc, *fragments, status=2):
    assert proc.returncode == status, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A small regression problem as a CSV file with a header: inputs a, b, c;
    targets y1 (in the middle) and y2 (last)."""
    folder = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (40, 3))
    Y = np.column_stack([np.tanh(X[:, 0] * X[:, 1]), 0.5 * X[:, 2]])
    path = folder / "data.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["a", "b", "y1", "c", "y2"])
        for x, y in zip(X, Y):
            writer.writerow([x[0], x[1], y[0], x[2], y[1]])
    np.savez(folder / "data.npz", X=X, Y=Y)
    return folder, X, Y


def test_train_a_float32_network(data):
    folder, X, Y = data
    proc = run("train", "data.npz", "--sizes", "5", "--activation", "tanh,identity", "--epochs", "3",
               "--seed", "1", "--dtype", "float32", "-o", "f32.npz", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    net = bp.Network([3, 5, 2], activation=["tanh", "identity"], seed=1, dtype="float32")
    net.train(X, Y, epochs=3)
    saved = bp.load(folder / "f32.npz")
    assert saved.dtype == np.float32 and saved.params.tobytes() == net.params.tobytes()
    info = run("info", "f32.npz", cwd=folder)
    assert "parameters:      32 (25 weights, 7 biases), float32" in info.stdout
    pred = run("predict", "f32.npz", "data.npz", cwd=folder)
    assert read_predictions(pred.stdout)[1].tobytes() == net.predict(X).astype(float).tobytes()
    bad = run("train", "data.npz", "--dtype", "float16", "-o", "x.npz", cwd=folder)
    assert bad.returncode == 2 and "--dtype: invalid choice: 'float16'" in bad.stderr


def read_predictions(text):
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], np.array(rows[1:], dtype=float)


def test_train_info_predict(data):
    folder, X, Y = data
    extra = ["--plot", "loss.png"] if HAS_MATPLOTLIB else []
    proc = run("train", "data.csv", "--targets", "y1,y2", "--sizes", "6", "--activation",
               "tanh,identity", "--optimizer", "momentum", "--momentum", "0.8", "--lr", "0.05",
               "--epochs", "20", "--batch-size", "4", "--shuffle", "--seed", "3",
               "-o", "model.npz", "--history", "history.csv", *extra, cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "trained a 3-6-2 network for 20 epochs on 40 samples" in proc.stdout
    assert "model saved to model.npz" in proc.stdout

    # the same run through the library gives the same bits
    net = bp.Network([3, 6, 2], activation=["tanh", "identity"], seed=3)
    hist = net.train(X, Y, epochs=20, lr=0.05, batch_size=4, optimizer=bp.SGD(momentum=0.8),
                     shuffle=True)
    saved = bp.load(folder / "model.npz")
    assert saved.params.tobytes() == net.params.tobytes()
    assert saved.optimizer == bp.SGD(momentum=0.8) and saved.epochs_trained == 20

    with open(folder / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == list(range(20))
    assert [float(r["loss"]) for r in rows] == hist.loss.tolist()
    assert {float(r["lr"]) for r in rows} == {0.05}
    if HAS_MATPLOTLIB:
        assert (folder / "loss.png").read_bytes().startswith(b"\x89PNG")

    info = run("info", "model.npz", cwd=folder)
    assert info.returncode == 0, info.stderr
    for line in ["layer sizes:     3-6-2", "activations:     tanh, identity", "loss:            squared",
                 "bias:            neuron (one per unit, trained)",
                 "parameters:      38 (30 weights, 8 biases), float64",
                 "optimizer:       SGD(momentum=0.8, nesterov=False, weight_decay=0.0, decay_bias=False)",
                 "optimizer state: 200 steps; momentum_buffer", "epochs trained:  20",
                 "samples seen:    800", "seed:            3", "backprop model format 2"]:
        assert line in info.stdout, line

    pred = run("predict", "model.npz", "data.csv", "--targets", "y1,y2", cwd=folder)
    assert pred.returncode == 0, pred.stderr
    header, values = read_predictions(pred.stdout)
    assert header == ["o1", "o2"]
    assert values.tobytes() == net.predict(X).tobytes()        # exact: shortest round-trip reprs

    to_file = run("predict", "model.npz", "data.npz", "-o", "pred.csv", cwd=folder)
    assert to_file.returncode == 0 and to_file.stdout == ""
    assert read_predictions((folder / "pred.csv").read_text())[1].tobytes() == values.tobytes()


def test_npz_data_adam_and_validation_split(data):
    folder, X, Y = data
    proc = run("train", "data.npz", "--optimizer", "adam", "--beta1", "0.8", "--lr", "0.01",
               "--activation", "tanh,identity", "--epochs", "3", "--seed", "5", "--validation-split", "0.25", "-o", "adam.npz",
               "--no-progress", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert "on 30 samples" in proc.stdout
    # the held-out rows are a random quarter drawn with the seed; report the loss on them
    held = np.zeros(40, dtype=bool)
    held[np.random.default_rng(5).permutation(40)[:10]] = True
    net = bp.load(folder / "adam.npz")
    assert f"validation loss {net.loss(X[held], Y[held]):.6g} on 10 held-out samples" in proc.stdout
    assert net.samples_seen == 90 and net.optimizer == bp.Adam(beta1=0.8)


def test_default_targets_are_the_last_column(data):
    folder, X, Y = data
    proc = run("train", "data.csv", "--epochs", "1", "--seed", "0", "--activation", "tanh,identity",
               "-o", "last.npz", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert bp.load(folder / "last.npz").sizes == (4, 16, 1)


def test_targets_a_logistic_output_cannot_reach_are_refused(data):
    folder, _, _ = data
    # y2 holds negative values, and the default output is logistic.
    one_line_error(run("train", "data.csv", "--epochs", "1", "-o", "never.npz", cwd=folder),
                   "outside the range [0, 1] of the network's logistic outputs")
    assert not (folder / "never.npz").exists()


def test_errors_are_one_line_with_status_2(data):
    folder, _, _ = data
    (folder / "ragged.csv").write_text("1,2,3\n4,5\n")
    one_line_error(run("train", "ragged.csv", "-o", "m.npz", cwd=folder),
                   "ragged.csv line 2: 2 fields, but the first row has 3")
    one_line_error(run("train", "missing.csv", "-o", "m.npz", cwd=folder), "missing.csv: no such file")
    one_line_error(run("info", "data.csv", cwd=folder), "data.csv: not a backprop model file")
    one_line_error(run("predict", "data.npz", "data.csv", cwd=folder), "data.npz: not a backprop model file")
    one_line_error(run("train", "data.csv", "-o", "m.npz", "--optimizer", "rmsprop", cwd=folder),
                   "invalid choice: 'rmsprop'")
    one_line_error(run("train", "data.csv", "-o", "m.npz", "--activation", "swish", cwd=folder),
                   "unknown activation 'swish'")
    one_line_error(run("predict", "model.npz", "data.csv", cwd=folder),
                   "data.csv has 5 input columns but the model takes 3 inputs")
    one_line_error(run("train", "data.csv", "-o", "m.npz", "--lr", "1e6", "--activation", "identity",
                       "--epochs", "2", cwd=folder),
                   "training diverged", "Nothing was saved", status=1)
    assert not (folder / "m.npz").exists()


def test_broken_pipe_ends_quietly(tmp_path):
    net = bp.Network([2, 1], seed=0)
    net.save(tmp_path / "m.npz")
    np.savetxt(tmp_path / "big.csv", np.zeros((200_000, 2)), delimiter=",")
    proc = subprocess.Popen([sys.executable, "-m", "backprop", "predict", "m.npz", "big.csv"],
                            cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline() == b"o1\n"
    proc.stdout.close()
    assert proc.wait() == 1
    assert proc.stderr.read() == b""


# --------------------------------------------- error messages, in-process
def error_of(capsys, *argv):
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


@pytest.mark.parametrize("content,fragment", [
    ("", "holds no rows of data"),
    ("a,b\n", "holds no rows of data"),
    ("1,2\n3,x\n", "line 2, column 1: 'x' is not a number"),
    ("1,2\n3,\n", "line 2, column 1: an empty field"),
    ("1,2\n3,nan\n", "line 2, column 1: 'nan' is not a finite number"),
    ("1,2\n3, nan \n", "line 2, column 1: 'nan' is not a finite number"),
    ("1,2\n3,infinity\n", "line 2, column 1: 'infinity' is not a finite number"),
    ("1,2\n-Infinity,4\n", "line 2, column 0: '-Infinity' is not a finite number"),
    ("1,2\n3,1e400\n", "line 2, column 1: '1e400' is not a finite number"),
    ("1,2\n3,1_0\n", "line 2, column 1: '1_0' is not a number"),
    ("a,b\n1_000,2\n", "line 2, column 0: '1_000' is not a number"),
    ("1,2\n3,\uff11\uff10\n", "line 2, column 1: '\uff11\uff10' is not a number"),       # full-width 10
    ("1,2\n\u0661\u0660,4\n", "line 2, column 0: '\u0661\u0660' is not a number"),    # Arabic-Indic 10
    ("1,2\n\n3,4\n5,6,7\n", "line 4: 3 fields, but the first row has 2"),
])
def test_malformed_csv(tmp_path, capsys, content, fragment):
    (tmp_path / "d.csv").write_text(content)
    assert fragment in error_of(capsys, "train", str(tmp_path / "d.csv"), "-o", str(tmp_path / "m.npz"))


def test_csv_numbers(tmp_path):
    (tmp_path / "d.csv").write_text(" 7 ,-2.5,3e-4,+.5,1.,1E3\n")
    values, names, labels = _read_csv(str(tmp_path / "d.csv"))
    assert names is None and labels is None and values.tolist() == [[7, -2.5, 3e-4, 0.5, 1, 1000]]
    # digit groups are not numbers: a first row of them is a header
    (tmp_path / "h.csv").write_text("0_0,0_1,1_0\n1,2,3\n")
    values, names, _ = _read_csv(str(tmp_path / "h.csv"))
    assert names == ["0_0", "0_1", "1_0"] and values.tolist() == [[1, 2, 3]]
    # a label column may hold text, in a file with or without a header
    (tmp_path / "l.csv").write_text("x,kind,y\n1,cat,2\n3,dog,4\n")
    values, names, labels = _read_csv(str(tmp_path / "l.csv"), "kind")
    assert names == ["x", "y"] and values.tolist() == [[1, 2], [3, 4]] and labels.tolist() == ["cat", "dog"]
    (tmp_path / "n.csv").write_text("1,cat,2\n3,dog,4\n")
    values, names, labels = _read_csv(str(tmp_path / "n.csv"), "1")
    assert names is None and values.tolist() == [[1, 2], [3, 4]] and labels.tolist() == ["cat", "dog"]


@pytest.mark.parametrize("options,fragment", [
    (["--targets", "last:5"], "--targets last:5: the count must be from 1 to 4"),
    (["--targets", "b", "--loss", "cross_entropy"], "--targets b: the target column holds integers "
                                                    "from 2 to 2"),
    (["--targets", "first:x"], "--targets first:x: the count must be from 1 to 4"),
    (["--targets", "z"], "'z' is neither a column index nor a column name"),
    (["--targets", "0,0"], "a column is listed twice"),
    (["--targets", "0,5"], "column 5 is out of range (the file has 5 columns, 0 to 4)"),
    (["--targets", "-6"], "column -6 is out of range"),
    (["--targets", "0,1,2,3,4"], "every column is a target"),
    (["--sizes", "4,x"], "--sizes 4,x: expected comma-separated layer widths"),
    (["--sizes", "0"], "every layer needs at least one unit"),
    (["--sizes", "5,8,1"], "--sizes 5,8,1: ends with the data's 1 outputs but starts with 5, and the "
                           "data has 4 inputs; give the hidden widths only (--sizes 8) or every "
                           "width (4,8,1)"),
    (["--targets", "c"], "--targets c: the target column holds integers from 3 to 3, which logistic "
                         "outputs (range [0, 1]) cannot fit: for class labels train a classifier "
                         "with --classes COLUMN"),
    (["--activation", "tanh:2"], "only leaky_relu take a parameter"),
    (["--activation", "leaky_relu:-1"], "LeakyReLU slope must be >= 0.0"),
    (["--activation", "tanh,tanh,tanh"], "activation must be one name or a list of one per weight layer"),
    (["--loss", "cross_entropy", "--activation", "identity"], "cross_entropy needs probabilities"),
    (["--loss", "huber:x"], "--loss huber:x: could not convert"),
    (["--optimizer", "adam", "--momentum", "0.9"], "--momentum does not apply to --optimizer adam"),
    (["--optimizer", "nesterov", "--momentum", "1.5"], "momentum must be < 1.0"),
    (["--lr", "-1"], "lr must be >= 0.0"),
    (["--batch-size", "0"], "--batch-size: expected a positive integer or 'full'"),
    (["--batch-size", "100"], "batch_size must be at most the number of samples (4)"),
    (["--epochs", "0"], "--epochs: expected a positive integer"),
    (["--epochs", "1e20"], "--epochs: expected a positive integer"),
    (["--epochs", "100000000000000000000"], f"argument --epochs: at most {sys.maxsize // 8} epochs"),
    (["--epochs", str(2 ** 50)], "not enough memory to train for 1125899906842624 epochs (--epochs) on 4 "
                                 "samples (Unable to allocate 8.00 PiB"),
    (["--sizes", "10000000000000"], "--sizes: a 4-10000000000000-1 network does not fit in memory (sizes "
                                    "[4, 10000000000000, 1] make a network of"),
    (["--validation-split", "1.5"], "expected a fraction between 0 and 1"),
    (["--validation-split", "0.1"], "4 rows leave 4 for training and 0 for validation"),
    (["--seed", "-3"], "seed must be >= 0"),
])
def test_bad_options(tmp_path, capsys, options, fragment):
    (tmp_path / "d.csv").write_text("a,b,c,d,y\n" + "\n".join(["1,2,3,4,0.5"] * 4) + "\n")
    try:
        err = error_of(capsys, "train", str(tmp_path / "d.csv"), "-o", str(tmp_path / "m.npz"), *options)
    except SystemExit as exc:           # argparse's own checks exit from inside main
        assert exc.code == 2
        err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1
    assert not (tmp_path / "m.npz").exists()


def test_npz_data_errors(tmp_path, capsys):
    np.savez(tmp_path / "x.npz", X=np.ones((3, 2)))
    assert "has no array 'Y'" in error_of(capsys, "train", str(tmp_path / "x.npz"), "-o", "m.npz")
    assert "--targets and --classes are for CSV files" in error_of(capsys, "train", str(tmp_path / "x.npz"),
                                                    "--targets", "last:1", "-o", "m.npz")
    np.savez(tmp_path / "xy.npz", X=np.ones((3, 2)), Y=np.ones(4))
    assert "X has 3 rows but Y has 4" in error_of(capsys, "train", str(tmp_path / "xy.npz"), "-o", "m.npz")
    np.savez(tmp_path / "s.npz", X=np.array(["a", "b"]), Y=np.ones(2))
    assert "X must be a non-empty 1-D or 2-D array of numbers" in error_of(
        capsys, "train", str(tmp_path / "s.npz"), "-o", "m.npz")
    (tmp_path / "bad.npz").write_text("not a zip")
    assert "not a readable .npz file" in error_of(capsys, "train", str(tmp_path / "bad.npz"), "-o", "m.npz")
    blob = bytearray((tmp_path / "xy.npz").read_bytes())
    blob[blob.rindex(b"PK\x01\x02") + 8] ^= 0x01         # the last member's "encrypted" flag
    (tmp_path / "flagged.npz").write_bytes(bytes(blob))
    assert "flagged.npz: not a readable .npz file (File 'Y.npy' is encrypted" in error_of(
        capsys, "train", str(tmp_path / "flagged.npz"), "-o", "m.npz")
    (tmp_path / "cut.npz").write_bytes(b"PK\x03\x04 truncated")
    assert "cut.npz: not a readable .npz file" in error_of(capsys, "train", str(tmp_path / "cut.npz"),
                                                           "-o", "m.npz")
    np.savez_compressed(tmp_path / "packed.npz", X=np.ones((300, 2)), Y=np.ones(300))
    blob = bytearray((tmp_path / "packed.npz").read_bytes())
    with zipfile.ZipFile(tmp_path / "packed.npz") as archive:
        start = archive.getinfo("X.npy").header_offset
    name_len, extra_len = struct.unpack("<HH", blob[start + 26:start + 30])
    blob[start + 30 + name_len + extra_len] = 0xff     # X.npy's deflated data: block type 3
    (tmp_path / "packed.npz").write_bytes(bytes(blob))
    err = error_of(capsys, "train", str(tmp_path / "packed.npz"), "-o", "m.npz")
    assert "packed.npz: not a readable .npz file (Error -3 while decompressing data: invalid block type)" in err
    garbled = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,".ljust(117) + "\n"
    for x, fragment in [(b"1,2\n3,4\n", "raw.npz: X is not an array in .npy format"),
                        (b"\x93NUMPY\x01\x00\x76\x00" + garbled.encode(),
                         "raw.npz: not a readable .npz file (('EOF in multi-line statement'")]:
        with zipfile.ZipFile(tmp_path / "raw.npz", "w") as archive:
            archive.writestr("X.npy", x)
            with archive.open("Y.npy", "w") as f:
                np.save(f, np.ones(2))
        assert fragment in error_of(capsys, "train", str(tmp_path / "raw.npz"), "-o", "m.npz")


def test_npy_files_named_npz_are_refused(tmp_path, capsys):
    with open(tmp_path / "array.npz", "wb") as f:
        np.save(f, np.ones((3, 2)))
    array = str(tmp_path / "array.npz")
    bp.Network([2, 1], seed=0).save(tmp_path / "m.npz")
    expected = f"{array}: not an .npz archive (a single .npy array)"
    assert expected in error_of(capsys, "train", array, "-o", str(tmp_path / "out.npz"))
    assert expected in error_of(capsys, "predict", str(tmp_path / "m.npz"), array)
    for argv in (["info", array], ["predict", array, array]):
        assert f"{array}: not a backprop model file (a single .npy array)" in error_of(capsys, *argv)
    with pytest.raises(bp.ModelFileError, match="a single .npy array"):
        bp.load(array)


def test_out_of_memory_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1125899906842624,)}".ljust(117) + "\n"
    with zipfile.ZipFile(tmp_path / "huge.npz", "w") as archive:        # X claims 8 PiB
        archive.writestr("X.npy", b"\x93NUMPY\x01\x00\x76\x00" + header.encode() + bytes(64))
        archive.writestr("Y.npy", b"")
    err = error_of(capsys, "train", str(tmp_path / "huge.npz"), "-o", str(tmp_path / "m.npz"))
    assert "huge.npz: its arrays need more memory than this machine has (Unable to allocate 8.00 PiB" in err

    bp.Network([2, 1], seed=0).save(tmp_path / "m.npz")
    (tmp_path / "x.csv").write_text("1,2\n")
    for exc, message in [(MemoryError(), "not enough memory"),
                         (MemoryError("no 1 TiB"), "not enough memory (no 1 TiB)")]:
        def predict(self, X, exc=exc):
            raise exc
        monkeypatch.setattr(bp.Network, "predict", predict)
        err = error_of(capsys, "predict", str(tmp_path / "m.npz"), str(tmp_path / "x.csv"))
        assert err == f"backprop predict: error: {message}\n"


def test_model_file_errors(tmp_path, capsys):
    (tmp_path / "cut.npz").write_bytes(b"PK\x03\x04 truncated")
    assert "cut.npz: corrupted or truncated" in error_of(capsys, "info", str(tmp_path / "cut.npz"))
    assert "nothing.npz: No such file or directory" in error_of(capsys, "info", str(tmp_path / "nothing.npz"))
    assert "predict: error:" in error_of(capsys, "predict", str(tmp_path / "cut.npz"), "x.csv")


def with_header(src, dst, text):
    """Copy the model file ``src`` to ``dst`` with ``text`` as its JSON header."""
    with np.load(src, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files if name != "header"}
    np.savez(dst, header=np.frombuffer(text.encode(), dtype=np.uint8), **arrays)
    return str(dst)


def test_hostile_model_files_are_one_line_errors(tmp_path, capsys):
    good = tmp_path / "m.npz"
    bp.Network([2, 1], seed=0).save(good)
    (tmp_path / "x.csv").write_text("1,2\n")
    text = json.dumps(read_header(good))
    blob = bytearray(good.read_bytes())
    blob[blob.rindex(b"PK\x01\x02") + 8] ^= 0x01         # the last member's "encrypted" flag
    (tmp_path / "flagged.npz").write_bytes(bytes(blob))
    cases = {
        with_header(good, tmp_path / "big.npz", text.replace('"samples_seen": 0', f'"samples_seen": {2 ** 63}')):
            "samples_seen must be an integer from 0 to 2**62",
        with_header(good, tmp_path / "deep.npz", "[" * 100_000): "maximum recursion depth",
        with_header(good, tmp_path / "long.npz", text.replace('"seed": 0', '"seed": ' + "9" * 5000)):
            "JSON beyond Python's limits",
        str(tmp_path / "flagged.npz"): "encrypted",
    }
    for path, fragment in cases.items():
        for argv in (["info", path], ["predict", path, str(tmp_path / "x.csv")]):
            err = error_of(capsys, *argv)
            assert path in err and fragment in err, err


@pytest.mark.parametrize("option", ["-o", "--history", "--plot"])
def test_output_folders_are_checked_before_training(tmp_path, capsys, option):
    (tmp_path / "d.csv").write_text("1,2\n3,4\n")
    outputs = {"-o": str(tmp_path / "m.npz"), option: str(tmp_path / "no" / "out")}
    err = error_of(capsys, "train", str(tmp_path / "d.csv"), *(x for kv in outputs.items() for x in kv))
    written = "out.png" if option == "--plot" else "out"      # --plot adds matplotlib's default
    assert f"cannot save to {tmp_path / 'no' / written}: the directory {tmp_path / 'no'} does not exist" in err
    assert not (tmp_path / "m.npz").exists()          # refused before training


def test_missing_plotting_library_is_reported_before_training(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    (tmp_path / "d.csv").write_text("1,2\n3,4\n")
    err = error_of(capsys, "train", str(tmp_path / "d.csv"), "-o", str(tmp_path / "m.npz"),
                   "--plot", str(tmp_path / "p.png"))
    assert "pip install 'cybackprop[plot]'" in err
    assert not (tmp_path / "m.npz").exists()


def test_usage_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "the following arguments are required: data, -o/--output (see backprop train --help)" in err


@pytest.fixture(scope="module")
def iris_like(tmp_path_factory):
    """Three classes with text labels in the middle column of a CSV file."""
    folder = tmp_path_factory.mktemp("classes")
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 150)
    X = np.array([[0, 0], [3, 0], [0, 3]])[labels] + 0.4 * rng.normal(size=(150, 2))
    names = np.array(["setosa", "versicolor", "virginica"])[labels]
    with open(folder / "flowers.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["x1", "species", "x2"])
        writer.writerows([a, name, b] for (a, b), name in zip(X.tolist(), names))
    return folder, X, names


def test_classes_trains_a_classifier_prints_accuracy_and_predicts_labels(iris_like):
    folder, X, names = iris_like
    proc = run("train", "flowers.csv", "--classes", "species", "--epochs", "20", "--lr", "0.05",
               "--seed", "0", "--shuffle", "--validation-split", "0.2", "-o", "flowers.npz", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    net = bp.load(folder / "flowers.npz")
    assert net.sizes == (2, 16, 3) and net.activations == ("logistic", "softmax")
    assert net.loss_function == "cross_entropy"
    assert net.classes.tolist() == ["setosa", "versicolor", "virginica"]
    Y, _ = bp.one_hot(names, net.classes)
    Xt, Yt, Xv, Yv = bp.data.split_validation(X, Y, 0.2, net.seed)
    assert f"accuracy {net.accuracy(Xt, Yt):.4f} on the 120 training samples (3 classes)" in proc.stdout
    assert f"validation accuracy {net.accuracy(Xv, Yv):.4f}" in proc.stdout
    assert net.accuracy(X, Y) > 0.95

    proc = run("predict", "flowers.npz", "flowers.csv", "--classes", "species", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.reader(io.StringIO(proc.stdout)))
    assert rows[0] == ["class", "o1", "o2", "o3"]
    predicted = np.array([row[0] for row in rows[1:]])
    np.testing.assert_array_equal(predicted, net.classes[net.predict_classes(X)])
    np.testing.assert_allclose(np.array([row[1:] for row in rows[1:]], dtype=float), net.predict(X),
                               rtol=0, atol=0)
    assert proc.stderr.strip() == f"accuracy {np.mean(predicted == names):.4f} on 150 samples"


def test_classes_by_index_with_numeric_labels_and_no_header(tmp_path):
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 60) * 10 + 3          # the labels 3 and 13
    X = rng.normal(size=(60, 2)) + (labels[:, None] == 13) * 4.0
    np.savetxt(tmp_path / "d.csv", np.column_stack([labels, X]), delimiter=",", fmt="%g")
    proc = run("train", "d.csv", "--classes", "0", "--activation", "tanh", "--epochs", "10",
               "--seed", "0", "-o", "m.npz", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    net = bp.load(tmp_path / "m.npz")
    assert net.classes.tolist() == [3, 13] and net.activations == ("tanh", "softmax")
    assert net.accuracy(X, bp.one_hot(labels)[0]) > 0.95


@pytest.mark.parametrize("options, fragment", [
    (["--classes", "kind"], "--classes kind: 'kind' is neither a column index nor a column name"),
    (["--classes", "7"], "--classes 7: column 7 is out of range"),
    (["--classes", "species", "--targets", "x1"], "give --classes (a column of class labels) or --targets"),
])
def test_bad_classes_options(iris_like, capsys, options, fragment):
    folder, _, _ = iris_like
    err = error_of(capsys, "train", str(folder / "flowers.csv"), "-o", str(folder / "bad.npz"), *options)
    assert fragment in err


def test_predict_with_classes_needs_a_classifier(data, capsys):
    folder, _, _ = data
    assert run("train", "data.csv", "--targets", "y1,y2", "--activation", "tanh,identity",
               "--epochs", "1", "-o", "reg.npz", cwd=folder).returncode == 0
    err = error_of(capsys, "predict", str(folder / "reg.npz"), str(folder / "data.csv"),
                   "--classes", "a")
    assert "no classifier (it was trained without --classes)" in err


@pytest.mark.parametrize("extra, fragment", [
    (["--history", "adir"], "cannot save to adir: it is a directory"),
    (["--history", "m.npz"], "--history m.npz: that is the file of -o, which this would overwrite"),
    (["--history", "d.csv"], "--history d.csv: that is an input"),
    pytest.param(["--plot", "loss.npz"], "matplotlib cannot write .npz files",
                 marks=pytest.mark.skipif(not HAS_MATPLOTLIB, reason="needs matplotlib")),
])
def test_train_checks_every_output_before_it_replaces_the_model(tmp_path, extra, fragment):
    (tmp_path / "d.csv").write_text("a,b,y\n0.1,0.2,0.5\n0.3,0.4,0.2\n")
    (tmp_path / "adir").mkdir()
    assert run("train", "d.csv", "-o", "m.npz", cwd=tmp_path).returncode == 0
    before = (tmp_path / "m.npz").read_bytes()
    one_line_error(run("train", "d.csv", "-o", "m.npz", "--epochs", "3", *extra, cwd=tmp_path), fragment)
    assert (tmp_path / "m.npz").read_bytes() == before


def test_outputs_that_are_inputs_are_refused(tmp_path):
    (tmp_path / "d.csv").write_text("0.1,0.2,0.5\n0.3,0.4,0.2\n")
    assert run("train", "d.csv", "-o", "m.npz", cwd=tmp_path).returncode == 0
    before = (tmp_path / "m.npz").read_bytes()
    one_line_error(run("export", "m.npz", "--format", "c", "-o", "m.npz", cwd=tmp_path),
                   "-o m.npz: that is an input")
    one_line_error(run("predict", "m.npz", "d.csv", "--targets", "last:1", "-o", "d.csv", cwd=tmp_path),
                   "-o d.csv: that is an input")
    assert (tmp_path / "m.npz").read_bytes() == before


@pytest.mark.skipif(os.name != "posix", reason="needs a POSIX file-size limit")
def test_a_failed_export_or_prediction_leaves_the_old_file(tmp_path):
    # written as save writes a model: a full disk (here a file-size limit of 8 KiB,
    # which Python's ignored SIGXFSZ turns into EFBIG) keeps the old file
    import resource

    def limited():
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))
    net = bp.Network([3, 300, 1], activation=["tanh", "identity"], seed=0)
    net.save(tmp_path / "wide.npz")
    (tmp_path / "d.csv").write_text("\n".join("0.1,0.2,0.3" for _ in range(3000)) + "\n")
    for args in (["export", "wide.npz", "--format", "c", "-o", "out.h"],
                 ["predict", "wide.npz", "d.csv", "-o", "out.csv"]):
        out = tmp_path / args[-1]
        out.write_text("the good file\n")
        proc = subprocess.run([sys.executable, "-m", "backprop", *args], capture_output=True,
                              text=True, cwd=tmp_path, env=ENV, preexec_fn=limited)
        one_line_error(proc, f"cannot save to {args[-1]}")
        assert out.read_text() == "the good file\n"
        assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]


def test_a_byte_order_mark_and_an_index_label_lose_no_row(tmp_path):
    # a BOM is not part of the first field, and --classes by index says nothing
    # of whether the first row is a header (its label may equal the index)
    (tmp_path / "b.csv").write_bytes(b"\xef\xbb\xbf1,2,0.5\n3,4,0.2\n5,6,0.1\n")
    values, names, _ = _read_csv(str(tmp_path / "b.csv"))
    assert values.shape == (3, 3) and names is None
    (tmp_path / "h.csv").write_bytes(b"\xef\xbb\xbfa,b,y\n1,2,0.5\n")
    assert _read_csv(str(tmp_path / "h.csv"))[1] == ["a", "b", "y"]
    (tmp_path / "c.csv").write_text("0.1,0.2,2\n0.3,0.4,1\n0.5,0.6,2\n")
    values, names, labels = _read_csv(str(tmp_path / "c.csv"), label="2")
    assert values.shape == (3, 2) and labels.tolist() == [2, 1, 2]
