"""The command line: the ``backprop`` script, also ``python -m backprop``.

    backprop example [--steps N]                  the worked example, step by step
    backprop train DATA -o MODEL [options]        train a network on a CSV or .npz file
                                                  (--classes COLUMN: a classifier)
    backprop predict MODEL DATA [-o OUT]          predictions as CSV
    backprop info MODEL                           a model file's summary

Errors in the input (missing or malformed files, bad options or widths, a bad
model file, more memory than the machine has) print one line on stderr and exit
with status 2; a training run that diverges exits with status 1 and saves nothing.
"""
import argparse
import csv
import importlib.util
import inspect
import io
import math
import os
import sys

import numpy as np

from . import plotting
from ._atomic import destination, write_file
from ._cli_data import CommandError, _read_data
from .data import one_hot, split_validation
from .examples import format_walkthrough
from .functions import Huber, LeakyReLU
from .io import ModelFileError, load, read_header
from .network import OUTPUT_RANGES, DivergenceError, Network
from .optim import SGD, Adam

DEFAULT_HIDDEN = 16
# The per-epoch losses of a run are a float64 vector: at most this many.
MAX_EPOCHS = sys.maxsize // 8


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ----------------------------------------------------------------- example
def _example(args):
    if args.steps < 1:
        raise CommandError("--steps must be at least 1")
    print(format_walkthrough(args.steps))
    return 0


# ------------------------------------------------------------------- train
def _sizes(spec, n_in, n_out):
    if spec is None:
        return [n_in, DEFAULT_HIDDEN, n_out]
    try:
        sizes = [int(s) for s in spec.split(",")]
    except ValueError:
        raise CommandError(f"--sizes {spec}: expected comma-separated layer widths like 32,16") from None
    if any(n < 1 for n in sizes):
        raise CommandError(f"--sizes {spec}: every layer needs at least one unit")
    if len(sizes) >= 2 and sizes[0] == n_in and sizes[-1] == n_out:
        return sizes
    if len(sizes) >= 2 and sizes[-1] == n_out:
        # Read as hidden widths it would end in two layers of the outputs' width.
        raise CommandError(f"--sizes {spec}: ends with the data's {n_out} outputs but starts with "
                           f"{sizes[0]}, and the data has {n_in} inputs; give the hidden widths "
                           f"only (--sizes {','.join(map(str, sizes[1:-1])) or 'N'}) or every width "
                           f"({n_in},{','.join(map(str, sizes[1:]))})")
    return [n_in, *sizes, n_out]


def _with_param(spec, option, parametrised):
    """A name, or ``name:value`` made into the parameter object
    ``parametrised[name]`` (e.g. ``leaky_relu:0.2`` → ``LeakyReLU(0.2)``)."""
    name, sep, value = spec.partition(":")
    name = name.strip()
    if not sep:
        return name
    if name not in parametrised:
        raise CommandError(f"{option} {spec}: only {', '.join(parametrised)} take a parameter "
                           "(name:value)")
    try:
        return parametrised[name](float(value))
    except ValueError as exc:
        raise CommandError(f"{option} {spec}: {exc}") from None


def _optimizer(args):
    given = {name: getattr(args, name) for name in ("momentum", "beta1", "beta2", "eps")
             if getattr(args, name) is not None}
    allowed = {"sgd": (), "momentum": ("momentum",), "nesterov": ("momentum",),
               "adam": ("beta1", "beta2", "eps")}[args.optimizer]
    for name in given:
        if name not in allowed:
            raise CommandError(f"--{name} does not apply to --optimizer {args.optimizer}")
    decay = {"weight_decay": args.weight_decay}
    if args.optimizer == "adam":
        return Adam(**given, **decay)
    if args.optimizer == "sgd":
        return SGD(**decay)
    return SGD(momentum=given.get("momentum", 0.9), nesterov=args.optimizer == "nesterov", **decay)


def _batch_size(value):
    if value == "full":
        return None
    try:
        k = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer or 'full', got {value!r}") from None
    if k < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer or 'full', got {value!r}")
    return k


def _fraction(value):
    try:
        f = float(value)
    except ValueError:
        f = math.nan
    if not 0 < f < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1, got {value!r}")
    return f


def _epochs(value):
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    if n > MAX_EPOCHS:
        raise argparse.ArgumentTypeError(f"at most {MAX_EPOCHS} epochs (the per-epoch losses are a "
                                         f"float64 vector), got {value!r}")
    return n


def _split(X, Y, fraction, seed):
    """(X_train, Y_train, X_val, Y_val) as ``train(validation_split=...)`` holds them out."""
    try:
        return split_validation(X, Y, fraction, seed)
    except ValueError:
        n, n_val = len(X), round(len(X) * fraction)
        raise CommandError(f"--validation-split {fraction}: {n} rows leave {n - n_val} for training "
                           f"and {n_val} for validation; both need at least one") from None


def _progress(choice):
    """Whether to show a progress bar: as asked, else on a terminal with tqdm."""
    if choice is not None:
        return choice
    return sys.stderr.isatty() and importlib.util.find_spec("tqdm") is not None


def _train(args):
    if args.plot:
        plotting.require_matplotlib()
        args.plot = _plot_file(args.plot)
    _check_outputs((args.output, "-o"), (args.history, "--history"), (args.plot, "--plot"),
                   inputs=(args.data,))
    targets = args.targets
    if targets is None and args.classes is None and not args.data.endswith(".npz"):
        targets = "last:1"
    X, Y = _read_data(args.data, targets, need_y=True, label=args.classes)
    classes = None
    if args.classes is not None:
        Y, classes = one_hot(Y)
        if len(classes) < 2:
            raise CommandError(f"--classes {args.classes}: every row has the label "
                               f"{classes[0]!r}; a classifier needs at least two classes")
    if len(X) != len(Y):
        raise CommandError(f"{args.data}: X has {len(X)} rows but Y has {len(Y)}")
    sizes = _sizes(args.sizes, X.shape[1], Y.shape[1])
    activation = [_with_param(a, "--activation", {"leaky_relu": LeakyReLU})
                  for a in (args.activation or "logistic").split(",")]
    loss = args.loss or "squared"
    if classes is not None:
        # A classifier: softmax outputs and cross-entropy unless told otherwise.
        if len(activation) == 1:
            activation = activation * (len(sizes) - 2) + ["softmax"]
        loss = args.loss or "cross_entropy"
    try:
        net = Network(sizes, activation=activation[0] if len(activation) == 1 else activation,
                      loss=_with_param(loss, "--loss", {"huber": Huber}), seed=args.seed,
                      dtype=args.dtype)
    except MemoryError as exc:
        raise CommandError(f"--sizes: a {'-'.join(map(str, sizes))} network does not fit in memory "
                           f"({exc})") from None
    net.classes = classes
    _refuse_labels_as_numbers(net, Y, targets)
    if args.validation_split:
        X, Y, X_val, Y_val = _split(X, Y, args.validation_split, net.seed)
    options = {"batch_size": args.batch_size, "optimizer": _optimizer(args), "shuffle": args.shuffle}
    accepts = inspect.signature(net.train).parameters
    if args.validation_split and "validation" in accepts:
        options["validation"] = (X_val, Y_val)
    progress = _progress(args.progress)
    if "progress" in accepts:
        options["progress"] = progress
    elif args.progress:
        print(f"{args.prog}: note: this version of backprop shows no progress bar", file=sys.stderr)
    try:
        history = net.train(X, Y, epochs=args.epochs, lr=args.lr, **options)
    except DivergenceError as exc:
        print(f"{args.prog}: error: {exc} Nothing was saved.", file=sys.stderr)
        return 1
    except MemoryError as exc:
        raise CommandError(f"not enough memory to train for {args.epochs} epochs (--epochs) on "
                           f"{len(X)} samples ({exc})") from None
    net.save(args.output)
    summary = [f"trained a {'-'.join(map(str, sizes))} network for {len(history)} epochs on "
               f"{len(X)} samples" + (f": loss {history.loss[-1]:.6g} in the last epoch"
                                       if len(history) else "")]
    if classes is not None:
        summary.append(f"accuracy {net.accuracy(X, Y):.4f} on the {len(X)} training samples "
                       f"({len(classes)} classes)")
    if args.validation_split:
        val = history.val_loss[-1] if len(history.val_loss) else net.loss(X_val, Y_val)
        summary.append(f"validation loss {val:.6g} on {len(X_val)} held-out samples")
        if classes is not None:
            summary.append(f"validation accuracy {net.accuracy(X_val, Y_val):.4f}")
    if history.stop_reason:
        summary.append(f"stopped early: {history.stop_reason}")
    summary.append(f"model saved to {args.output}")
    if args.history:
        _write_history(history, args.history)
        summary.append(f"history saved to {args.history}")
    if args.plot:
        image = io.BytesIO()
        history.plot().figure.savefig(image, format=os.path.splitext(args.plot)[1][1:].lower(),
                                      dpi=150)
        write_file(args.plot, image.getvalue())
        summary.append(f"loss plot saved to {args.plot}")
    print("\n".join(summary))
    return 0


def _refuse_labels_as_numbers(net, Y, targets):
    """A single target column of integers outside the output's range is class
    labels read as numbers: say how to train a classifier instead."""
    out = net.activations[-1]
    if net.classes is not None or Y.shape[1] != 1 or out not in OUTPUT_RANGES:
        return
    lo, hi = OUTPUT_RANGES[out]
    y = Y[:, 0]
    if (y == np.round(y)).all() and (y.min() < lo or y.max() > hi):
        raise CommandError(
            f"--targets {targets}: the target column holds integers from {y.min():g} to "
            f"{y.max():g}, which {out} outputs (range [{lo:g}, {hi:g}]) cannot fit: for class "
            f"labels train a classifier with --classes COLUMN instead of --targets; for a "
            f"regression use an identity output layer (e.g. --activation logistic,identity)")


def _check_outputs(*outputs, inputs=()):
    """Before any work: each (path, option) given names a file that can be
    replaced (destination's checks), and none is an input or another output."""
    seen = {os.path.realpath(p): "an input" for p in inputs}
    for path, option in outputs:
        if path is None:
            continue
        destination(path)
        real = os.path.realpath(path)
        if real in seen:
            raise CommandError(f"{option} {path}: that is {seen[real]}, which this would overwrite")
        seen[real] = f"the file of {option}"


def _plot_file(path):
    """The file --plot writes: PNG when the name has no extension (as
    matplotlib does); an extension matplotlib cannot write is refused."""
    from matplotlib.figure import Figure

    ext = os.path.splitext(path)[1][1:].lower()
    if not ext:
        return path + ".png"
    formats = Figure().canvas.get_supported_filetypes()
    if ext not in formats:
        raise CommandError(f"--plot {path}: matplotlib cannot write .{ext} files; use one of "
                           f"{', '.join('.' + f for f in sorted(formats))}")
    return path


def _write_history(history, path):
    n = len(history)
    columns = {name: np.asarray(getattr(history, name)) for name in
               ("epoch", "loss", "val_loss", "lr", "time", "samples")}
    columns = {name: col for name, col in columns.items() if len(col) == n}
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(columns)
    writer.writerows(zip(*(col.tolist() for col in columns.values())))
    write_file(path, text.getvalue().encode("utf-8"))


# ----------------------------------------------------------------- predict
def _predict(args):
    _check_outputs((args.output, "-o"), inputs=(args.model, args.data))
    net = load(args.model)
    X, labels = _read_data(args.data, args.targets, need_y=False, label=args.classes)
    if args.classes is None:
        labels = None
    elif net.classes is None:
        raise CommandError(f"--classes: {args.model} is no classifier (it was trained without "
                           "--classes), so it has no class labels to compare with")
    n_in, n_out = net.sizes[0], net.sizes[-1]
    if X.shape[1] != n_in:
        hint = (f"; drop the target columns with --targets (e.g. --targets last:{n_out})"
                if X.shape[1] == n_in + n_out and args.targets is None else "")
        raise CommandError(f"{args.data} has {X.shape[1]} input columns but the model takes {n_in} "
                           f"inputs{hint}")
    out = net.predict(X)
    header = [f"o{k + 1}" for k in range(n_out)]
    predicted = None
    if net.classes is not None:
        predicted = net.classes[net.predict_classes(X)]
        header = ["class"] + header
        if labels is not None:
            right = np.mean(predicted.astype(str) == labels.astype(str))
            print(f"accuracy {right:.4f} on {len(X)} samples", file=sys.stderr)
    if args.output:
        text = io.StringIO(newline="")
        _write_rows(text, header, out, predicted)
        write_file(args.output, text.getvalue().encode("utf-8"))
    else:
        _write_rows(sys.stdout, header, out, predicted)
    return 0


def _write_rows(f, header, values, labels=None):
    writer = csv.writer(f, lineterminator="\n")
    writer.writerow(header)
    rows = values.tolist()                   # Python floats: shortest exact repr
    if labels is not None:
        rows = [[label, *row] for label, row in zip(labels.tolist(), rows)]
    writer.writerows(rows)


# -------------------------------------------------------------------- info
def _info(args):
    net = load(args.model)
    header = read_header(args.model)
    n_weights = sum(W.size for W in net.weights)
    acts = []
    for entry in header["activations"]:
        params = ", ".join(f"{k}={v}" for k, v in entry.items() if k != "name")
        acts.append(f"{entry['name']}({params})" if params else entry["name"])
    loss = header["loss"]
    bias = {"neuron": "one per unit", "shared": "one per layer", "none": "none"}[net.bias]
    if net.bias != "none":
        bias += ", trained" if net.train_bias else ", fixed"
    state = [name for name in header["arrays"] if name != "params"]
    rows = [
        ("model file", f"{args.model} (backprop model format {header['format_version']}, "
                       f"written by backprop {header['backprop_version']})"),
        ("layer sizes", "-".join(map(str, net.sizes))),
        ("activations", ", ".join(acts)),
        ("loss", loss["name"] + (f"(delta={loss['delta']})" if "delta" in loss else "")),
        ("bias", f"{net.bias} ({bias})"),
        ("parameters", f"{net.n_params} ({n_weights} weights, {net.n_params - n_weights} biases), "
                       f"{net.dtype}"),
        ("optimizer", repr(net.optimizer)),
        ("optimizer state", f"{header['optimizer_steps']} steps"
                            + (f"; {', '.join(state)}" if state else "")),
        ("epochs trained", str(net.epochs_trained)),
        ("samples seen", str(net.samples_seen)),
        ("seed", str(net.seed)),
    ]
    print("\n".join(f"{name + ':':<17}{value}" for name, value in rows))
    return 0


# ------------------------------------------------------------------ export
def _export(args):
    _check_outputs((args.output, "-o"), inputs=(args.model,))
    net = load(args.model)
    if args.format == "c":
        net.to_c(args.output, name=args.name)
    else:
        net.to_onnx(args.output, **({} if args.opset is None else {"opset": args.opset}))
    return 0


# -------------------------------------------------------------------- main
def build_parser():
    parser = _Parser(prog="backprop", description="backprop: multilayer perceptrons "
                     "trained by backpropagation in a compiled core")
    sub = parser.add_subparsers(dest="command", required=True)

    example = sub.add_parser("example", help="the worked example (Mazur), step by step")
    example.add_argument("--steps", type=int, default=10_000,
                         help="updates to run after the walkthrough (default 10000)")
    example.set_defaults(run=_example)

    train = sub.add_parser(
        "train", help="train a network on a CSV or .npz file and save it",
        description="Train a network on a data file and save it.  A CSV file holds one sample "
        "per row (an optional header row names the columns); --targets picks the target "
        "columns, the others are inputs.  An .npz file holds arrays X (inputs) and Y (targets).")
    train.add_argument("data", help="CSV or .npz data file")
    train.add_argument("-o", "--output", required=True, metavar="MODEL",
                       help="model file to write (e.g. model.npz)")
    train.add_argument("--targets", metavar="SPEC",
                       help="target columns of a CSV file: last:K, first:K, or a comma list of "
                       "column indices (from 0; negative from the end) or header names "
                       "(default last:1)")
    train.add_argument("--classes", metavar="COLUMN",
                       help="train a classifier: the CSV column (a header name or an index) of "
                       "class labels, any text; one-hot encoded, with softmax outputs and "
                       "cross-entropy unless --activation/--loss say otherwise; prints the "
                       "accuracy, and predict writes labels")
    train.add_argument("--sizes", metavar="N,N,...",
                       help=f"hidden layer widths (e.g. 32,16), or all widths when the first and "
                       f"last match the data's inputs and targets (default: one hidden layer of "
                       f"{DEFAULT_HIDDEN})")
    train.add_argument("--activation", metavar="NAME[,NAME...]",
                       help="one activation, or one per weight layer: logistic, tanh, relu, "
                       "leaky_relu[:slope], identity, softmax (default logistic; with --classes "
                       "one name is for the hidden layers, the outputs are softmax)")
    train.add_argument("--loss",
                       help="squared, cross_entropy or huber[:delta] (default squared; "
                       "cross_entropy with --classes)")
    train.add_argument("--optimizer", default="sgd", choices=("sgd", "momentum", "nesterov", "adam"),
                       help="default sgd")
    train.add_argument("--momentum", type=float, help="for momentum and nesterov (default 0.9)")
    train.add_argument("--beta1", type=float, help="for adam (default 0.9)")
    train.add_argument("--beta2", type=float, help="for adam (default 0.999)")
    train.add_argument("--eps", type=float, help="for adam (default 1e-8)")
    train.add_argument("--weight-decay", type=float, default=0.0, help="L2 weight decay (default 0)")
    train.add_argument("--lr", type=float, help="learning rate (default 0.1 for SGD, 0.001 for Adam)")
    train.add_argument("--dtype", default="float64", choices=("float64", "float32"),
                       help="the network's type (default float64)")
    train.add_argument("--epochs", type=_epochs, default=10, help="passes over the data (default 10)")
    train.add_argument("--batch-size", type=_batch_size, default=1, metavar="K|full",
                       help="1 is online learning (default), full is full batch")
    train.add_argument("--seed", type=int, help="seed for the initial weights, the shuffling and "
                       "the validation split (default: a fresh one, recorded in the model)")
    train.add_argument("--shuffle", action="store_true", help="visit the samples in a new order every epoch")
    train.add_argument("--validation-split", type=_fraction, metavar="FRACTION",
                       help="hold out this fraction of the rows, chosen at random, and report "
                       "the loss on them")
    train.add_argument("--history", metavar="CSV", help="write the per-epoch history to this CSV file")
    train.add_argument("--plot", metavar="PNG", help="save a plot of the loss to this file (needs matplotlib)")
    train.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="show a progress bar (default: on a terminal, when tqdm is installed)")
    train.set_defaults(run=_train)

    predict = sub.add_parser("predict", help="predictions of a saved model, as CSV")
    predict.add_argument("model", help="model file")
    predict.add_argument("data", help="CSV or .npz (array X) file of inputs")
    predict.add_argument("--targets", metavar="SPEC",
                         help="target columns to drop from a CSV file (as for train)")
    predict.add_argument("--classes", metavar="COLUMN",
                         help="a column of class labels to drop from a CSV file; the accuracy "
                         "of the model's labels on it goes to stderr")
    predict.add_argument("-o", "--output", metavar="CSV", help="write here instead of to stdout")
    predict.set_defaults(run=_predict)

    info = sub.add_parser("info", help="summary of a model file")
    info.add_argument("model", help="model file")
    info.set_defaults(run=_info)

    export = sub.add_parser("export", help="a saved model as a C header (same bits as predict) or ONNX")
    export.add_argument("model", help="model file")
    export.add_argument("--format", required=True, choices=("c", "onnx"),
                        help="c: one C99 header; onnx: an ONNX model (needs onnx)")
    export.add_argument("-o", "--output", required=True, metavar="FILE", help="file to write")
    export.add_argument("--name", default="mynet", help="C: prefix of NAME_predict (default mynet)")
    export.add_argument("--opset", type=int, help="ONNX: operator set (default 17)")
    export.set_defaults(run=_export)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    args.prog = f"{parser.prog} {args.command}"
    try:
        return args.run(args)
    except BrokenPipeError:
        # whoever read the output stopped early (e.g. "| head"): end quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (CommandError, ModelFileError, ImportError) as exc:
        message = str(exc)
    except OSError as exc:
        named = exc.filename and exc.strerror and not exc.strerror.startswith("cannot ")
        message = f"{exc.filename}: {exc.strerror}" if named else exc.strerror or str(exc)
    except (ValueError, TypeError) as exc:        # the library's checks of the data and options
        message = str(exc)
    except MemoryError as exc:
        message = f"not enough memory ({exc})" if str(exc) else "not enough memory"
    except KeyboardInterrupt:
        print(f"{args.prog}: interrupted", file=sys.stderr)
        return 130
    print(f"{args.prog}: error: {message}", file=sys.stderr)
    return 2
