"""Saving and loading networks: one self-describing, versioned ``.npz`` file.

The archive holds plain arrays of the network's dtype (little-endian float64,
``'<f8'``, or float32, ``'<f4'``) and a JSON header (UTF-8 bytes in a uint8
array), nothing pickled, so ``load`` reads it with
``numpy.load(..., allow_pickle=False)``: a file from a stranger cannot run code.

Arrays (``n_params`` values each, in ``Network.params``' layout):

=====================  ==========================================================
``params``             the flat parameter vector
``momentum_buffer``    SGD's velocity (present once momentum was used)
``exp_avg``            Adam's first moment m
``exp_avg_sq``         Adam's second moment v
=====================  ==========================================================

(the optimiser state names are PyTorch's).  The header records the format
name and version, the backprop version that wrote the file, the network's
dtype (``"float64"`` or ``"float32"``; format version 2 added it, and a file
of version 1, which has none, holds a float64 network), the layer sizes,
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
from ._archive import ARCHIVE_ERRORS, MAX_NPY_HEADER, ModelFileError
from ._atomic import TEMP_PREFIX, as_path
from ._format import (FORMAT, FORMAT_VERSION, MAX_COUNT, MAX_HEADER_BYTES, network_state,
                      read_model, write_model)
from .network import Network

__all__ = ["ARCHIVE_ERRORS", "FORMAT", "FORMAT_VERSION", "MAX_COUNT", "MAX_HEADER_BYTES",
           "MAX_NPY_HEADER", "ModelFileError", "TEMP_PREFIX", "load", "read_header", "save"]


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
    write_model(net, path)


def load(path):
    """The network saved in ``path``, ready to predict or to continue training
    exactly where it stopped.  Raises ``ModelFileError`` for anything but an
    intact backprop model file of a format version this backprop can read.
    ``path`` is a str, bytes or path-like object."""
    path = as_path(path)
    state = network_state(*read_model(path), path)
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
    return read_model(as_path(path))[0]
