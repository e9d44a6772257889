"""The command line's data files: CSV (with an optional header row and a
column of class labels) and .npz archives, read into float64 arrays, and
``CommandError``, the one-line error every command reports."""
import csv
import math
import os
import re

import numpy as np

from .io import ARCHIVE_ERRORS

# A number in a CSV file: decimal, or a spelling of inf or nan (refused later as
# not finite).  float() alone also takes digit groups (1_000) and non-ASCII
# digits (١٠, full-width １０).
_NUMBER = re.compile(r"\s*[+-]?(([0-9]+\.?[0-9]*|\.[0-9]+)(e[+-]?[0-9]+)?|inf|infinity|nan)\s*", re.IGNORECASE)


class CommandError(Exception):
    """A problem with the command's input, reported as one line."""


def _read_csv(path, label=None):
    """(values, column names or None, labels or None) of a CSV file of decimal
    numbers (like 7, -2.5 or 3e-4), with an optional header row; blank lines
    are skipped.  ``label`` (a header name or a column index) names a column
    of class labels, which may be any text: it is returned as ``labels`` (numbers
    where every label is one) and left out of ``values`` and ``names``."""
    # utf-8-sig: a byte-order mark (spreadsheets write one) is not part of the first field
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        rows, lines, names, width, col = [], [], None, None, None
        try:
            for row in reader:
                if not row or all(not field.strip() for field in row):
                    continue
                if width is None:
                    width = len(row)
                    if label is not None:
                        col = _label_column(label, row, path)
                    # a header: text among the inputs, or the row that names the label
                    # column (by name; an index says nothing of the first row)
                    if not all(_is_number(field) for c, field in enumerate(row) if c != col) or \
                            (col is not None and not _is_index(label)):
                        names = [field.strip() for field in row]
                        continue
                elif len(row) != width:
                    raise CommandError(f"{path} line {reader.line_num}: {len(row)} fields, but the "
                                       f"first row has {width}")
                rows.append(row)
                lines.append(reader.line_num)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise CommandError(f"{path} line {reader.line_num}: not a readable CSV file ({exc})") from None
    if not rows:
        raise CommandError(f"{path} holds no rows of data")
    numeric = [c for c in range(width) if c != col]
    values = np.array([[_number(row[c], path, line, c) for c in numeric]
                       for row, line in zip(rows, lines)], dtype=np.float64).reshape(len(rows), -1)
    if col is None:
        return values, names, None
    labels = [row[col].strip() for row in rows]
    if all(_is_number(x) for x in labels):
        numbers = np.array([float(x) for x in labels])
        labels = numbers.astype(np.int64) if (numbers == np.round(numbers)).all() else numbers
    return values, names and [names[c] for c in numeric], np.asarray(labels)


def _is_index(spec):
    """Whether a --classes value is a column index rather than a name."""
    try:
        int(spec)
    except ValueError:
        return False
    return True


def _label_column(spec, first_row, path):
    """The index of the --classes column: a name in the header row, or an
    index (from 0; negative from the end)."""
    width = len(first_row)
    try:
        col = int(spec)
    except ValueError:
        names = [field.strip() for field in first_row]
        if spec.strip() not in names:
            raise CommandError(f"--classes {spec}: {spec!r} is neither a column index nor a column "
                               f"name of {path} (its first row is {names})") from None
        return names.index(spec.strip())
    if not -width <= col < width:
        raise CommandError(f"--classes {spec}: column {col} is out of range (the file has {width} "
                           f"columns, 0 to {width - 1})")
    if width < 2:
        raise CommandError(f"--classes {spec}: {path} has only that column; inputs are needed too")
    return col % width


def _is_number(field):
    return _NUMBER.fullmatch(field) is not None


def _number(field, path, line, col):
    if not _is_number(field):
        what = "an empty field" if not field.strip() else f"{field.strip()!r} is not a number"
        raise CommandError(f"{path} line {line}, column {col}: {what}")
    value = float(field)
    if not math.isfinite(value):
        raise CommandError(f"{path} line {line}, column {col}: {field.strip()!r} is not a finite number")
    return value


def _read_npz(path, need_y):
    try:
        archive = np.load(path, allow_pickle=False)
        if isinstance(archive, np.ndarray):
            raise CommandError(f"{path}: not an .npz archive (a single .npy array); an .npz data file "
                               "holds inputs X and targets Y")
        with archive:
            missing = [k for k in ("X", "Y")[:1 + need_y] if k not in archive.files]
            if missing:
                raise CommandError(f"{path} has no array {missing[0]!r} (it holds {sorted(archive.files)}); "
                                   "an .npz data file holds inputs X and targets Y")
            X = archive["X"]
            Y = archive["Y"] if need_y else None
    except MemoryError as exc:      # before ARCHIVE_ERRORS, which holds it too
        raise CommandError(f"{path}: its arrays need more memory than this machine has ({exc})") from None
    except ARCHIVE_ERRORS as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise CommandError(f"{path}: not a readable .npz file ({exc})") from None
    arrays = []
    for key, arr in (("X", X), ("Y", Y)):
        if arr is None:
            continue
        if not isinstance(arr, np.ndarray):     # numpy's raw bytes of a member that is no .npy file
            raise CommandError(f"{path}: {key} is not an array in .npy format")
        if arr.dtype.kind not in "biuf" or arr.ndim not in (1, 2) or arr.size == 0:
            raise CommandError(f"{path}: {key} must be a non-empty 1-D or 2-D array of numbers, "
                               f"got {arr.dtype} of shape {arr.shape}")
        arrays.append(arr.reshape(len(arr), -1).astype(np.float64))
    return arrays


def _target_columns(spec, names, width, path):
    """Column indices of the targets: ``last:K``, ``first:K`` or a comma list
    of indices (from 0; negative from the end) or header names."""
    kind, _, count = spec.partition(":")
    if kind in ("last", "first") and count:
        try:
            k = int(count)
        except ValueError:
            k = 0
        if not 1 <= k < width:
            raise CommandError(f"--targets {spec}: the count must be from 1 to {width - 1} "
                               f"({path} has {width} columns)")
        return list(range(width - k, width)) if kind == "last" else list(range(k))
    columns = []
    for item in spec.split(","):
        item = item.strip()
        try:
            col = int(item)
        except ValueError:
            if names is None or item not in names:
                known = f"; its columns are {names}" if names else " (it has no header row)"
                raise CommandError(f"--targets {spec}: {item!r} is neither a column index nor a "
                                   f"column name of {path}{known}") from None
            col = names.index(item)
        if not -width <= col < width:
            raise CommandError(f"--targets {spec}: column {col} is out of range (the file has {width} "
                               f"columns, 0 to {width - 1})")
        columns.append(col % width)
    if len(set(columns)) != len(columns):
        raise CommandError(f"--targets {spec}: a column is listed twice")
    if len(columns) == width:
        raise CommandError(f"--targets {spec}: every column is a target; some must be inputs")
    return columns


def _read_data(path, targets, need_y, label=None):
    """(X, Y) from a CSV or .npz file (Y None when not ``need_y``).  For a CSV
    file ``targets`` picks the target columns (dropped from X for predict);
    with ``label`` (``--classes``), Y is that column's class labels."""
    if not os.path.exists(path):
        raise CommandError(f"{path}: no such file")
    if path.endswith(".npz"):
        if targets is not None or label is not None:
            raise CommandError("--targets and --classes are for CSV files; an .npz data file holds "
                               "arrays X and Y")
        X, *rest = _read_npz(path, need_y)
        return X, rest[0] if rest else None
    if label is not None and targets is not None:
        raise CommandError("give --classes (a column of class labels) or --targets, not both")
    values, names, labels = _read_csv(path, label)
    if label is not None:
        return values, labels
    if targets is None:
        return values, None
    cols = _target_columns(targets, names, values.shape[1], path)
    inputs = [c for c in range(values.shape[1]) if c not in cols]
    return values[:, inputs], values[:, cols]
