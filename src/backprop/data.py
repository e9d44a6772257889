"""Preparing data: class labels to one-hot targets, a held-out validation split.

A network's targets are always a float matrix with one column per output unit.
For classification with K classes that is a one-hot matrix (softmax outputs
with ``loss="cross_entropy"``), or, for two classes, one column of 0/1 (one
logistic output):

    >>> import numpy as np, backprop as bp
    >>> Y, classes = bp.one_hot(["cat", "dog", "cat"])
    >>> Y
    array([[1., 0.],
           [0., 1.],
           [1., 0.]])
    >>> classes
    array(['cat', 'dog'], dtype='<U3')

Inputs (and regression targets) train best at about unit scale: subtract each
column's mean and divide by its standard deviation, computed on the training
data, before ``train``; a network fed raw pixel values of 0 to 255 saturates its
units and stops learning.
"""
import numpy as np

from ._validate import as_int


def one_hot(labels, classes=None):
    """One-hot targets for class labels; returns ``(Y, classes)``.

    labels:  a 1-D sequence of labels of any kind numpy can sort (integers,
             strings, booleans)
    classes: the labels of the columns, in order; by default the distinct
             labels, sorted.  Give them when a split of the data may lack a class.

    ``Y[i, k]`` is 1.0 where ``labels[i] == classes[k]`` and 0.0 elsewhere.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D sequence of class labels, got shape "
                         f"{labels.shape}")
    if classes is None:
        classes = np.unique(labels)
    else:
        classes = np.asarray(classes)
        if classes.ndim != 1 or classes.size == 0:
            raise ValueError(f"classes must be a non-empty 1-D sequence of labels, got shape "
                             f"{classes.shape}")
        if np.unique(classes).size != classes.size:
            raise ValueError("classes must not repeat a label")
    index = {label: k for k, label in enumerate(classes.tolist())}
    try:
        columns = np.fromiter((index[label] for label in labels.tolist()), dtype=np.intp,
                              count=labels.size)
    except KeyError as exc:
        raise ValueError(f"labels holds {exc.args[0]!r}, which is not one of classes "
                         f"{classes.tolist()!r:.200}") from None
    Y = np.zeros((labels.size, classes.size))
    Y[np.arange(labels.size), columns] = 1.0
    return Y, classes


def split_validation(X, Y, fraction, seed):
    """``(X_train, Y_train, X_val, Y_val)``: ``round(n * fraction)`` rows held out,
    drawn with ``numpy.random.default_rng(seed)``; both parts keep their order."""
    n = len(X)
    n_val = round(n * fraction)
    if not 1 <= n_val < n:
        raise ValueError(f"validation_split={fraction} of {n} samples leaves {n - n_val} for "
                         f"training and {n_val} for validation; both need at least one")
    held = np.zeros(n, dtype=bool)
    held[np.random.default_rng(as_int(seed, "seed", 0)).permutation(n)[:n_val]] = True
    return X[~held], Y[~held], X[held], Y[held]
